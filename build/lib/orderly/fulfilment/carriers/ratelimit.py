"""Per carrier account and operation token buckets in the database, shared by every worker (the shops'
arithmetic, ``channels/ratelimit.py: draw``); a 429 blocks the operation for everyone."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from orderly.channels.connector import RateLimit
from orderly.channels.ratelimit import draw
from orderly.core.clock import utcnow
from orderly.core.db import insert_rows, transaction
from orderly.fulfilment.carriers.models import CarrierRateBucket


def take(factory: sessionmaker[Session], account_id: int, operation: str, limit: RateLimit) -> float:
    with transaction(factory) as session:
        now = utcnow()
        insert_rows(
            session,
            CarrierRateBucket,
            ("account_id", "operation", "tokens", "refreshed_at"),
            [(account_id, operation, float(limit.burst), now)],
            skip_conflicts_on=["account_id", "operation"],
        )
        query = select(CarrierRateBucket).where(
            CarrierRateBucket.account_id == account_id, CarrierRateBucket.operation == operation
        )
        return draw(session.scalars(query.with_for_update()).one(), limit, now)


def block(factory: sessionmaker[Session], account_id: int, operation: str, seconds: float) -> None:
    with transaction(factory) as session:
        bucket = session.get(CarrierRateBucket, (account_id, operation), with_for_update=True)
        if bucket is not None:
            bucket.blocked_until = utcnow() + timedelta(seconds=seconds)
            bucket.tokens = 0.0
