from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from orderly.core.clock import utcnow
from orderly.core.db import Base, BigId, JsonValue, UTCDateTime


class RawPayload(Base):
    """A platform payload exactly as received, kept so any order can be re-mapped or audited."""

    __tablename__ = "raw_payloads"
    __table_args__ = (Index("ix_raw_payloads_shop_external", "shop_id", "external_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id"))
    kind: Mapped[str] = mapped_column(String(40))  # order, order_page, webhook...
    external_id: Mapped[str | None] = mapped_column(String(200))
    body: Mapped[Any] = mapped_column(JsonValue)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


# The high-volume tables below (orders, order_lines, order_events and the stock ledger) carry no
# foreign keys: ingest resolves every id it writes in the same transaction, a product or warehouse is
# deleted only while nothing refers to it (catalog and inventory services check), and on PostgreSQL
# the per-row FK triggers cost three to four times the insert itself. Reference tables (mappings,
# bundles, stock levels) keep theirs.


class Order(Base):
    __tablename__ = "orders"
    __table_args__ = (
        # The database, not the code, guarantees an order is imported once.
        UniqueConstraint("shop_id", "external_id"),
        Index("ix_orders_status_id", "status", "id"),
        # The home page's sales read only this index on PostgreSQL (an index-only scan of the month).
        Index(
            "ix_orders_placed_at", "placed_at", postgresql_include=["shop_id", "currency", "total", "status"]
        ),
        # Pay-to-ship: the orders shipped in a period with when they were placed and paid.
        Index(
            "ix_orders_shipped_at",
            "shipped_at",
            postgresql_include=["placed_at", "payment_status"],
            sqlite_where=text("shipped_at IS NOT NULL"),
            postgresql_where=text("shipped_at IS NOT NULL"),
        ),
        # The order list's country filter, newest first (a rare country among many orders).
        Index("ix_orders_country_id", "ship_country", "id"),
        # The order list's tag and hold-reason filters: JSONB containment, on PostgreSQL only. SQLite
        # walks each order's list (json_each), which an index of the whole JSON text cannot serve, and
        # every order written would pay for it.
        Index(
            "ix_orders_tags", "tags", postgresql_using="gin", postgresql_ops={"tags": "jsonb_path_ops"}
        ).ddl_if(dialect="postgresql"),
        Index(
            "ix_orders_holds", "holds", postgresql_using="gin", postgresql_ops={"holds": "jsonb_path_ops"}
        ).ddl_if(dialect="postgresql"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    shop_id: Mapped[int] = mapped_column(BigId)
    external_id: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20))
    payment_status: Mapped[str] = mapped_column(String(24))
    payment_method: Mapped[str | None] = mapped_column(String(64))
    platform_status: Mapped[str | None] = mapped_column(String(64))
    currency: Mapped[str] = mapped_column(String(3))
    subtotal: Mapped[int] = mapped_column(BigInteger)
    shipping_total: Mapped[int] = mapped_column(BigInteger, default=0)
    discount_total: Mapped[int] = mapped_column(BigInteger, default=0)
    tax_total: Mapped[int] = mapped_column(BigInteger, default=0)
    total: Mapped[int] = mapped_column(BigInteger)
    buyer_name: Mapped[str | None] = mapped_column(String(200))
    buyer_email: Mapped[str | None] = mapped_column(String(320))
    buyer_phone: Mapped[str | None] = mapped_column(String(40))
    buyer_platform_id: Mapped[str | None] = mapped_column(String(200))
    # An address may lack any part (the platform withholds it, a cancelled or platform-fulfilled order
    # has none): such an order is held for its address until a person completes it.
    ship_name: Mapped[str | None] = mapped_column(String(200))
    ship_line1: Mapped[str | None] = mapped_column(String(300))
    ship_line2: Mapped[str | None] = mapped_column(String(300))
    ship_city: Mapped[str | None] = mapped_column(String(120))
    ship_region: Mapped[str | None] = mapped_column(String(120))
    ship_postal_code: Mapped[str | None] = mapped_column(String(20))
    ship_country: Mapped[str | None] = mapped_column(String(2))
    ship_phone: Mapped[str | None] = mapped_column(String(40))
    billing_country: Mapped[str | None] = mapped_column(String(2))
    buyer_remark: Mapped[str | None] = mapped_column(Text)
    seller_remark: Mapped[str | None] = mapped_column(Text)
    tags: Mapped[list[str]] = mapped_column(JsonValue, default=list)
    holds: Mapped[list[dict[str, Any]]] = mapped_column(JsonValue, default=list)
    # The parcels the platform reports sent (carrier, tracking number and url, when), as its latest
    # version lists them; kept on the order, read with it, searched through order_search_keys.
    shipments: Mapped[list[dict[str, Any]]] = mapped_column(JsonValue, default=list, server_default="[]")
    # The auto-review decision: which rules fired and why, the risk score and its factors.
    review: Mapped[dict[str, Any] | None] = mapped_column(JsonValue)
    # The routing decision: the routing rules that fired, why each warehouse was chosen or passed
    # over, split or not and why (``review.domain.routing``); null while no routing rule applies.
    routing: Mapped[dict[str, Any] | None] = mapped_column(JsonValue)
    warehouse_id: Mapped[int | None] = mapped_column(BigId)
    placed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    platform_updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # ``orders.domain.content_digest`` of the version stored: platforms stamp to the second, so a
    # version with the same stamp and other content is applied, the same one is unchanged. Null for
    # orders stored before it was kept (an equal stamp then applies once).
    content_digest: Mapped[str | None] = mapped_column(String(32))
    raw_payload_id: Mapped[int | None] = mapped_column(BigId)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # When its last units left in the hub's parcels or the platform reported it shipped; None for
    # orders not shipped, or imported already shipped (the hub did not see them leave).
    shipped_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class OrderLine(Base):
    __tablename__ = "order_lines"
    __table_args__ = (
        Index("ix_order_lines_order", "order_id"),
        Index("ix_order_lines_product", "product_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    order_id: Mapped[int] = mapped_column(BigId)
    line_no: Mapped[int]
    platform_sku: Mapped[str | None] = mapped_column(String(200))
    listing_id: Mapped[str | None] = mapped_column(String(200))
    product_id: Mapped[int] = mapped_column(BigId)
    title: Mapped[str | None] = mapped_column(String(500))
    quantity: Mapped[int]
    # Units shipped, in the hub's parcels or as the platform reports (never fewer than stored: a
    # platform takes no shipment back): the line reserves only quantity - shipped.
    shipped: Mapped[int] = mapped_column(default=0, server_default="0")
    unit_price: Mapped[int] = mapped_column(BigInteger)
    discount: Mapped[int] = mapped_column(BigInteger, default=0)
    tax: Mapped[int] = mapped_column(BigInteger, default=0)


class OrderEvent(Base):
    """The order's history: every status change and update, with who and why."""

    __tablename__ = "order_events"
    __table_args__ = (
        Index("ix_order_events_order", "order_id", "id"),
        # The share approved on arrival: each order's import, by when, with the status it got.
        Index(
            "ix_order_events_imported",
            "created_at",
            postgresql_include=["to_status"],
            sqlite_where=text("kind = 'imported'"),
            postgresql_where=text("kind = 'imported'"),
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    order_id: Mapped[int] = mapped_column(BigId)
    kind: Mapped[str] = mapped_column(String(32))
    from_status: Mapped[str | None] = mapped_column(String(20))
    to_status: Mapped[str | None] = mapped_column(String(20))
    actor: Mapped[str] = mapped_column(String(100))
    message: Mapped[str | None] = mapped_column(Text)
    # The hub's own message as a phrase the console translates (core/phrases.py); None for a person's
    # words and for rows written before phrases were kept.
    phrase: Mapped[dict[str, Any] | None] = mapped_column(JsonValue)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class IngestRejection(Base):
    """An order that could not be taken in, with why, kept whole so it can be replayed."""

    __tablename__ = "ingest_rejections"
    __table_args__ = (Index("ix_ingest_rejections_key", "shop_code", "external_id", "status"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    shop_code: Mapped[str | None] = mapped_column(String(64))
    external_id: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), default="open")  # open, resolved, discarded
    reason: Mapped[str] = mapped_column(Text)
    errors: Mapped[list[dict[str, Any]]] = mapped_column(JsonValue)
    payload: Mapped[Any] = mapped_column(JsonValue)
    attempts: Mapped[int] = mapped_column(default=1)
    order_id: Mapped[int | None] = mapped_column(BigId)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class OrderFigure(Base):
    """The home page's figures summed per UTC quarter-hour (``orders.domain.quarter``), shop and
    currency, kept in the transaction of every change that moves them (``orders/figures.py``): orders
    placed and their totals, cancelled ones left out; imports the review decided and those it approved."""

    __tablename__ = "order_figures"

    quarter: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    shop_id: Mapped[int] = mapped_column(BigId, primary_key=True)
    currency: Mapped[str] = mapped_column(String(3), primary_key=True)
    orders: Mapped[int] = mapped_column(default=0)  # placed in the quarter, not cancelled
    sales: Mapped[int] = mapped_column(BigInteger, default=0)  # their totals, minor units
    reviewed: Mapped[int] = mapped_column(default=0)  # imported in the quarter, decided by the review
    approved: Mapped[int] = mapped_column(default=0)  # of those, approved on arrival


class ShipFigure(Base):
    """Paid-to-shipped summed per UTC day shipped and bin of minutes (``orders.domain.pay_to_ship_bin``),
    kept in the transaction of every change that moves it (a shipment, in the hub or on the platform;
    a payment; a corrected placing time): how many paid orders took that long."""

    __tablename__ = "ship_figures"

    day: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    minutes: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    orders: Mapped[int] = mapped_column(default=0)


class OrderSearchKey(Base):
    """One hashed, normalized value a person may search an order by (``orders/search.py``)."""

    __tablename__ = "order_search_keys"

    # The key is the lookup; no foreign key, like the other high-volume tables.
    key: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    order_id: Mapped[int] = mapped_column(BigId, primary_key=True)
