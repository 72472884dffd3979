from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column

from orderly.core.clock import utcnow
from orderly.core.db import Base, BigId, UTCDateTime


class Warehouse(Base):
    __tablename__ = "warehouses"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20), default="own")  # own, overseas, 3pl, fba
    # A parcel packed by scan is handed over at once (stock leaves), else when the carrier or the
    # packer confirms it (POST /shipments/{id}/ship).
    ship_on_pack: Mapped[bool] = mapped_column(default=False, server_default=false())
    country: Mapped[str | None] = mapped_column(String(2))
    # The default policy tries warehouses in ascending priority, then id.
    priority: Mapped[int] = mapped_column(default=100)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class StockLevel(Base):
    """The current figures; always equal to the ledger summed (``orderly stock verify``)."""

    __tablename__ = "stock_levels"
    __table_args__ = (
        UniqueConstraint("product_id", "warehouse_id"),
        CheckConstraint("on_hand >= 0", name="on_hand_not_negative"),
        CheckConstraint("reserved >= 0 AND reserved <= on_hand", name="reserved_within_on_hand"),
        CheckConstraint("safety >= 0", name="safety_not_negative"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    warehouse_id: Mapped[int] = mapped_column(ForeignKey("warehouses.id"))
    on_hand: Mapped[int] = mapped_column(default=0)
    reserved: Mapped[int] = mapped_column(default=0)
    safety: Mapped[int] = mapped_column(default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class StockLedgerEntry(Base):
    """Append-only: one row per change of a level, with who and why."""

    __tablename__ = "stock_ledger"
    # No foreign keys, like the other high-volume tables: see orderly/orders/models.py.
    __table_args__ = (
        # A SKU's page of its ledger, newest first: without it PostgreSQL walks the whole ledger
        # backwards for a SKU that has not moved lately (or sorts every entry of a busy one).
        Index("ix_stock_ledger_product_id", "product_id", "id"),
        Index("ix_stock_ledger_order", "order_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    product_id: Mapped[int] = mapped_column(BigId)
    warehouse_id: Mapped[int] = mapped_column(BigId)
    kind: Mapped[str] = mapped_column(String(20))
    on_hand_delta: Mapped[int] = mapped_column(default=0)
    reserved_delta: Mapped[int] = mapped_column(default=0)
    safety_delta: Mapped[int] = mapped_column(default=0)
    order_id: Mapped[int | None] = mapped_column(BigId)
    actor: Mapped[str] = mapped_column(String(100))
    reason: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class BinLocation(Base):
    """Where a SKU is picked in a warehouse: its bin, and perhaps the bin's place on the picker's walk
    (``inventory/domain.py: walk_key``). One bin per SKU and warehouse: the one its picks come from."""

    __tablename__ = "bin_locations"
    __table_args__ = (
        UniqueConstraint("product_id", "warehouse_id"),
        Index("ix_bin_locations_warehouse", "warehouse_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    # A bin is no history: it goes with its product or warehouse.
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"))
    warehouse_id: Mapped[int] = mapped_column(ForeignKey("warehouses.id", ondelete="CASCADE"))
    bin: Mapped[str] = mapped_column(String(32))
    walk: Mapped[int | None]
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Transfer(Base):
    """Units moving from one warehouse to another (``inventory/domain.py``, transfers, for its life)."""

    __tablename__ = "transfers"
    __table_args__ = (
        # The open ones are read for every stock figure's ``in_transit``; few, found by status.
        Index("ix_transfers_status_id", "status", "id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    from_warehouse_id: Mapped[int] = mapped_column(ForeignKey("warehouses.id"))
    to_warehouse_id: Mapped[int] = mapped_column(ForeignKey("warehouses.id"))
    status: Mapped[str] = mapped_column(String(20))
    reference: Mapped[str | None] = mapped_column(String(100))  # the seller's: a PO, a forwarder's bill
    note: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    shipped_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    received_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class TransferLine(Base):
    """One SKU of a transfer: shipped, received so far, written off, and why it differs if it does."""

    __tablename__ = "transfer_lines"
    __table_args__ = (
        # What is in transit is read by product, for every stock figure shown.
        Index("ix_transfer_lines_product", "product_id"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("received >= 0 AND written_off >= 0", name="received_not_negative"),
    )

    transfer_id: Mapped[int] = mapped_column(ForeignKey("transfers.id"), primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), primary_key=True)
    quantity: Mapped[int]
    received: Mapped[int] = mapped_column(default=0)
    written_off: Mapped[int] = mapped_column(default=0)
    difference: Mapped[str | None] = mapped_column(Text)


class TransferEvent(Base):
    """A transfer's history: each status it took, with who and why."""

    __tablename__ = "transfer_events"
    __table_args__ = (Index("ix_transfer_events_transfer", "transfer_id", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    transfer_id: Mapped[int] = mapped_column(ForeignKey("transfers.id"))
    from_status: Mapped[str | None] = mapped_column(String(20))
    to_status: Mapped[str] = mapped_column(String(20))
    actor: Mapped[str] = mapped_column(String(100))
    message: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
