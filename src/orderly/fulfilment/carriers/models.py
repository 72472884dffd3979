from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Date, Float, ForeignKey, Index, LargeBinary, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from orderly.core.clock import utcnow
from orderly.core.db import Base, BigId, JsonValue, UTCDateTime


class LabelState(StrEnum):
    """Where a parcel's carrier label stands (``ShipmentLabel``)."""

    BUYING = "buying"  # a job is out
    BOUGHT = "bought"
    VOIDING = "voiding"  # a job is out
    VOIDED = "voided"
    FAILED = "failed"  # refused: a new purchase may be asked
    UNKNOWN = "unknown"  # a purchase's answer was lost and the carrier cannot tell: a person checks


class CarrierAccount(Base):
    """The seller's account with one carrier plugin: where it is reached (the carrier, or a sandbox)
    and its encrypted credentials (``channels/secrets.py``, the shops' key)."""

    __tablename__ = "carrier_accounts"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    plugin: Mapped[str] = mapped_column(String(40))
    base_url: Mapped[str | None] = mapped_column(String(500))
    credentials: Mapped[str | None] = mapped_column(Text)  # Fernet token
    settings: Mapped[dict[str, Any]] = mapped_column(JsonValue, default=dict)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CarrierRateBucket(Base):
    """A token bucket per carrier account and operation, shared by every worker (as shops' are)."""

    __tablename__ = "carrier_rate_buckets"

    account_id: Mapped[int] = mapped_column(ForeignKey("carrier_accounts.id"), primary_key=True)
    operation: Mapped[str] = mapped_column(String(32), primary_key=True)
    tokens: Mapped[float] = mapped_column(Float)
    refreshed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    blocked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ShipmentLabel(Base):
    """A parcel's label from a carrier account: the purchase under way, then the label file itself
    (reprints never call the carrier), and its void; ``state`` is a :class:`LabelState`. ``offer`` is
    what is being or was bought; ``carrier_shipment_id`` is set before the purchase is sent, so a lost
    answer can be looked up."""

    __tablename__ = "shipment_labels"
    __table_args__ = (
        # The labels a person must check (the board's exceptions), found without reading every label.
        Index(
            "ix_shipment_labels_unknown",
            "shipment_id",
            sqlite_where=text("state = 'unknown'"),
            postgresql_where=text("state = 'unknown'"),
        ),
    )

    shipment_id: Mapped[int] = mapped_column(ForeignKey("shipments.id"), primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("carrier_accounts.id"))
    state: Mapped[str] = mapped_column(String(10))
    service: Mapped[str] = mapped_column(String(100))  # as asked: a service code, or "cheapest"
    deliver_by: Mapped[date | None] = mapped_column(Date)
    preference: Mapped[dict[str, Any]] = mapped_column(JsonValue, default=dict)
    offer: Mapped[dict[str, Any] | None] = mapped_column(JsonValue)
    carrier_shipment_id: Mapped[str | None] = mapped_column(String(100))
    content: Mapped[bytes | None] = mapped_column(LargeBinary)
    file_format: Mapped[str | None] = mapped_column(String(10))
    extra: Mapped[dict[str, Any]] = mapped_column(JsonValue, default=dict)
    error: Mapped[str | None] = mapped_column(Text)  # the carrier's last refusal, shown on the parcel
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
