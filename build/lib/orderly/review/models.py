from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from orderly.core.clock import utcnow
from orderly.core.db import Base, BigId, JsonValue, UTCDateTime


class ReviewRule(Base):
    """A rule as the seller saved it: a custom rule, or a built-in one's tuned settings.

    Built-in rules with no row run as shipped. ``spec`` is the checked rule in its YAML shape.
    """

    __tablename__ = "review_rules"
    __table_args__ = (UniqueConstraint("kind", "key"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    # Which rule set: "review" (holds, tags...) or "routing" (which warehouses serve an order).
    kind: Mapped[str] = mapped_column(String(16), default="review", server_default="review")
    key: Mapped[str] = mapped_column(String(64))
    spec: Mapped[dict[str, Any]] = mapped_column(JsonValue)
    version: Mapped[int] = mapped_column(default=1)
    updated_by: Mapped[str] = mapped_column(String(100))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ReviewRuleVersion(Base):
    """Every saved version of every rule (and of the review settings, under the key ``settings``).

    The highest id of a kind is the version of its live rule set, which each decision records.
    """

    __tablename__ = "review_rule_versions"
    __table_args__ = (UniqueConstraint("kind", "key", "version"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), default="review", server_default="review")
    key: Mapped[str] = mapped_column(String(64))
    version: Mapped[int]
    change: Mapped[str] = mapped_column(String(16))  # created, updated, deleted, reset
    spec: Mapped[dict[str, Any] | None] = mapped_column(JsonValue)
    actor: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class OrderIdentity(Base):
    """Who placed an order and where it goes, hashed, so the recent orders of a buyer, an email, a
    phone or an address are found with one index range (velocity and merge checks). Each row also
    carries the order's buyer and address, so the checks need nothing else of it."""

    __tablename__ = "order_identities"

    # The key is the lookup: identity, then time. Rows are only ever inserted with their new order.
    identity: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    placed_at: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True)
    order_id: Mapped[int] = mapped_column(BigId, primary_key=True)
    buyer: Mapped[int] = mapped_column(BigInteger)
    address: Mapped[int] = mapped_column(BigInteger)
