from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from orderly.core.clock import utcnow
from orderly.core.db import Base, BigId, UTCDateTime


class Shipment(Base):
    """One parcel of one order, from one warehouse (``fulfilment/domain.py`` for its life)."""

    __tablename__ = "shipments"
    __table_args__ = (
        Index("ix_shipments_order", "order_id"),
        Index("ix_shipments_status_id", "status", "id"),
        Index("ix_shipments_tracking", "tracking_number"),
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
