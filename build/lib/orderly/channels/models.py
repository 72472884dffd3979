from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Float, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from orderly.core.clock import utcnow
from orderly.core.db import Base, BigId, JsonValue, UTCDateTime


class Shop(Base):
    """A seller's account on one channel (a Shopify store, an Amazon marketplace account...)."""

    __tablename__ = "shops"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    channel: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # How to reach it: the platform's (or a sandbox's) address and the encrypted credentials.
    base_url: Mapped[str | None] = mapped_column(String(500))
    credentials: Mapped[str | None] = mapped_column(Text)  # Fernet token; see channels/secrets.py
    settings: Mapped[dict[str, Any]] = mapped_column(JsonValue, default=dict)
    sync_enabled: Mapped[bool] = mapped_column(default=False)
    # Order sync state: orders updated before orders_synced_to are in the hub.
    orders_synced_to: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_polled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_reconciled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_resynced_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ShopHealth(Base):
    """How one kind of call to a shop is going (``orders``: polls and reconciliations, ``stock``:
    pushes), so that one kind working never hides another failing: consecutive failures, and
    ``unhealthy_since`` set (with an alert) past a threshold. No row: nothing of that kind ran yet."""

    __tablename__ = "shop_health"

    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    failures: Mapped[int] = mapped_column(default=0)
    unhealthy_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    last_ok_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class InboxEntry(Base):
    """Everything a platform sends or we fetch, stored raw before it is processed.

    Keyed by (shop, event, version): for orders the event is the platform order id and the version
    its last-update stamp with a digest of what the order says (``channels/inbox.py: version_key``), so
    a webhook delivered twice and the same version fetched by polling are one entry, and two changes
    within the stamp's precision (Shopify's is a second) are two. Processed in the order entries were
    last received (``received_at``, then ``id``).
    """

    __tablename__ = "inbox"
    __table_args__ = (
        UniqueConstraint("shop_id", "event_id", "version"),
        Index("ix_inbox_unprocessed", "processed_at", "received_at", "id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id"))
    source: Mapped[str] = mapped_column(String(16))  # webhook, poll, reconcile
    topic: Mapped[str] = mapped_column(String(64))
    event_id: Mapped[str] = mapped_column(String(200))
    version: Mapped[str] = mapped_column(String(64))
    # The JSON text exactly as received (a webhook's raw body): kept verbatim and cheap to store.
    body: Mapped[str] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(Text)


class ListingBinding(Base):
    """A listing on a shop that publishes one of our SKUs: the platform ids its stock pushes need and
    the last quantity sent."""

    __tablename__ = "listing_bindings"
    __table_args__ = (UniqueConstraint("shop_id", "listing_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id"))
    listing_id: Mapped[str] = mapped_column(String(200))
    data: Mapped[dict[str, Any]] = mapped_column(JsonValue, default=dict)
    last_quantity: Mapped[int | None]
    last_pushed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)


class RateBucket(Base):
    """A token bucket per shop and operation, shared by every worker on every machine."""

    __tablename__ = "rate_buckets"

    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id"), primary_key=True)
    operation: Mapped[str] = mapped_column(String(32), primary_key=True)
    tokens: Mapped[float] = mapped_column(Float)
    refreshed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Set from a 429's Retry-After: no call to this operation before then.
    blocked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Backfill(Base):
    """An import of a shop's orders updated in [since, until), run as jobs that read the window slice by
    slice: ``reached`` is how far it got (orders updated before it are in), ``orders`` how many it
    fetched so far."""

    __tablename__ = "backfills"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id"))
    since: Mapped[datetime] = mapped_column(UTCDateTime)
    until: Mapped[datetime] = mapped_column(UTCDateTime)
    reached: Mapped[datetime] = mapped_column(UTCDateTime)
    orders: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
