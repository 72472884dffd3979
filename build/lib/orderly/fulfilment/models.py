from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from orderly.core.clock import utcnow
from orderly.core.db import Base, BigId, JsonValue, UTCDateTime


class Shipment(Base):
    """One parcel of one order, from one warehouse (``fulfilment/domain.py`` for its life)."""

    __tablename__ = "shipments"
    __table_args__ = (
        Index("ix_shipments_order", "order_id"),
        Index("ix_shipments_status_id", "status", "id"),
        Index("ix_shipments_tracking", "tracking_number"),
        Index("ix_shipments_on_the_way", "status", "last_event_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    order_id: Mapped[int] = mapped_column(BigId)
    warehouse_id: Mapped[int] = mapped_column(ForeignKey("warehouses.id"))
    status: Mapped[str] = mapped_column(String(20))
    # The plugin that bought the label ("manual": typed in by a person, or printed elsewhere).
    carrier_plugin: Mapped[str] = mapped_column(String(40), default="manual")
    carrier: Mapped[str | None] = mapped_column(String(100))  # as the buyer would read it: "UPS", "4PX"
    service: Mapped[str | None] = mapped_column(String(100))
    tracking_number: Mapped[str | None] = mapped_column(String(100))
    tracking_url: Mapped[str | None] = mapped_column(String(500))
    # What the label cost the seller, in integer minor units of ``cost_currency``.
    cost: Mapped[int | None] = mapped_column(BigInteger)
    cost_currency: Mapped[str | None] = mapped_column(String(3))
    weight_g: Mapped[int | None]
    length_mm: Mapped[int | None]
    width_mm: Mapped[int | None]
    height_mm: Mapped[int | None]
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    shipped_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When the carrier promised delivery (the stale and late alerts watch parcels on their way).
    promised_by: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The time of the latest carrier event heard of the parcel.
    last_event_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ShipmentLine(Base):
    """Units of one order line in a shipment."""

    __tablename__ = "shipment_lines"

    shipment_id: Mapped[int] = mapped_column(ForeignKey("shipments.id"), primary_key=True)
    line_no: Mapped[int] = mapped_column(primary_key=True)
    quantity: Mapped[int]


class ShipmentEvent(Base):
    """A shipment's history: each status it took, with who and why."""

    __tablename__ = "shipment_events"
    __table_args__ = (Index("ix_shipment_events_shipment", "shipment_id", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    shipment_id: Mapped[int] = mapped_column(ForeignKey("shipments.id"))
    from_status: Mapped[str | None] = mapped_column(String(20))
    to_status: Mapped[str] = mapped_column(String(20))
    actor: Mapped[str] = mapped_column(String(100))
    message: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class TrackingEventRow(Base):
    """A parcel's journey as its carrier (or a person, for the manual carrier) tells it."""

    __tablename__ = "shipment_tracking_events"
    __table_args__ = (
        UniqueConstraint("shipment_id", "digest"),
        Index("ix_tracking_events_shipment", "shipment_id", "occurred_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    shipment_id: Mapped[int] = mapped_column(ForeignKey("shipments.id"))
    kind: Mapped[str | None] = mapped_column(String(20))
    code: Mapped[str] = mapped_column(String(60))
    description: Mapped[str | None] = mapped_column(Text)
    location: Mapped[str | None] = mapped_column(String(300))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    digest: Mapped[str] = mapped_column(String(32))
    source: Mapped[str] = mapped_column(String(100))  # the carrier plugin, or who typed it in
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class TrackingWriteback(Base):
    """Whether a shipped parcel's carrier and tracking number reached its shop, one row per parcel of
    an order from a shop that takes them (``fulfilment/tasks.py``). ``accepted`` with the platform's
    ids is what keeps a parcel from being written twice."""

    __tablename__ = "tracking_writebacks"
    __table_args__ = (Index("ix_tracking_writebacks_status", "status"),)

    shipment_id: Mapped[int] = mapped_column(ForeignKey("shipments.id"), primary_key=True)
    shop_id: Mapped[int] = mapped_column(BigId)
    # queued, sending (a worker holds the claim until claimed_until), accepted, refused, skipped
    status: Mapped[str] = mapped_column(String(12))
    attempts: Mapped[int] = mapped_column(default=0)
    # A try ended without knowing whether the platform acted: the next one looks there first.
    maybe_sent: Mapped[bool] = mapped_column(default=False)
    claimed_by: Mapped[str | None] = mapped_column(String(200))
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # What the platform recorded (Shopify fulfillment ids, Amazon's package reference), and the
    # carrier and number it holds: a later change of either is sent as an update of these.
    platform_ids: Mapped[list[str]] = mapped_column(JsonValue, default=list)
    sent_carrier: Mapped[str | None] = mapped_column(String(100))
    sent_tracking_number: Mapped[str | None] = mapped_column(String(100))
    note: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(
        Text
    )  # the platform's reason for a refusal, or the last failure
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class PackScan(Base):
    """One unit a packer scanned into a parcel (a stock unit: a bundle's components are scanned)."""

    __tablename__ = "pack_scans"
    __table_args__ = (Index("ix_pack_scans_shipment", "shipment_id", "product_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    shipment_id: Mapped[int] = mapped_column(ForeignKey("shipments.id"))
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    code: Mapped[str] = mapped_column(String(200))  # as scanned
    actor: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PackStation(Base):
    """The parcel each packer is packing: the one whose code they scanned last."""

    __tablename__ = "pack_stations"

    packer: Mapped[str] = mapped_column(String(200), primary_key=True)
    shipment_id: Mapped[int] = mapped_column(ForeignKey("shipments.id"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
