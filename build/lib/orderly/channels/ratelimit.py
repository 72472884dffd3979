"""Per shop and operation token buckets kept in the database, so every worker on every machine shares
one budget with the platform; a 429's Retry-After blocks the operation for everyone."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from orderly.channels.connector import RateLimit
from orderly.channels.models import RateBucket
from orderly.core.clock import utcnow
from orderly.core.db import insert_rows, transaction


def take(
    factory: sessionmaker[Session],
    shop_id: int,
    operation: str,
    limit: RateLimit,
    *,
    longest_wait: float = 0.0,
) -> float:
    """Take one call from the bucket: 0 if the call may go now, else the seconds to wait first (see
    :func:`draw` for ``longest_wait``)."""
    with transaction(factory) as session:
        now = utcnow()
        insert_rows(
            session,
            RateBucket,
            ("shop_id", "operation", "tokens", "refreshed_at"),
            [(shop_id, operation, float(limit.burst), now)],
            skip_conflicts_on=["shop_id", "operation"],
        )
        bucket = session.scalars(
            select(RateBucket)
            .where(RateBucket.shop_id == shop_id, RateBucket.operation == operation)
            .with_for_update()
        ).one()
        return draw(bucket, limit, now, longest_wait=longest_wait)


class Bucket(Protocol):
    tokens: float
    refreshed_at: datetime
    blocked_until: datetime | None


def draw(bucket: Bucket, limit: RateLimit, now: datetime, *, longest_wait: float = 0.0) -> float:
    """Take one call from a locked bucket row (a shop's, or a carrier account's): 0 if it may go now,
    else the seconds to wait first. A caller that will wait that long (at most ``longest_wait``) has
    its token taken now, the bucket going below zero, so the next caller waits behind it: callers
    that wait never wake together and go at once, over the limit."""
    if bucket.blocked_until is not None and bucket.blocked_until > now:
        return (bucket.blocked_until - now).total_seconds()
    elapsed = max(0.0, (now - bucket.refreshed_at).total_seconds())
    tokens = min(float(limit.burst), bucket.tokens + elapsed * limit.per_second)
    bucket.refreshed_at = now
    wait = max(0.0, (1 - tokens) / limit.per_second)
    bucket.tokens = tokens - 1 if wait <= longest_wait else tokens
    return wait


def block(factory: sessionmaker[Session], shop_id: int, operation: str, seconds: float) -> None:
    """The platform said to wait: nobody calls this operation of this shop before then."""
    with transaction(factory) as session:
        bucket = session.get(RateBucket, (shop_id, operation), with_for_update=True)
        if bucket is not None:
            bucket.blocked_until = utcnow() + timedelta(seconds=seconds)
            bucket.tokens = 0.0
