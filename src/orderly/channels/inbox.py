"""The inbox as a person sees it: what each platform sent, and which entries failed to map and why.
Replaying entries is ``sync.replay_inbox``."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from orderly.channels.models import InboxEntry, Shop
from orderly.channels.schemas import InboxEntryOut
from orderly.channels.sync import INBOX_MAX_ATTEMPTS, kept
from orderly.core.errors import NotFound


def _state(entry: InboxEntry) -> str:
    if entry.processed_at is not None:
        return "processed"
    if kept(entry.event_id):
        return "kept"  # never processed
    if entry.attempts >= INBOX_MAX_ATTEMPTS:
        return "gave_up"  # waits for a replay
    return "failing" if entry.last_error else "waiting"


def list_inbox(
    session: Session, *, shop: str | None = None, failed: bool = False, after_id: int = 0, limit: int = 50
) -> list[InboxEntryOut]:
    """Oldest first; ``failed`` keeps the unprocessed entries that could not be mapped."""
    query = (
        select(InboxEntry, Shop.code)
        .join(Shop, Shop.id == InboxEntry.shop_id)
        .where(InboxEntry.id > after_id)
        .order_by(InboxEntry.id)
        .limit(limit)
    )
    if shop is not None:
        shop_id = session.scalar(select(Shop.id).where(Shop.code == shop))
        if shop_id is None:
            raise NotFound(f"unknown shop {shop!r}", field="shop")
        query = query.where(InboxEntry.shop_id == shop_id)
    if failed:
        query = query.where(InboxEntry.processed_at.is_(None), InboxEntry.last_error.is_not(None))
    return [
        InboxEntryOut(
            id=entry.id,
            shop=code,
            source=entry.source,
            topic=entry.topic,
            external_id=entry.event_id,
            version=entry.version,
            state=_state(entry),
            attempts=entry.attempts,
            last_error=entry.last_error,
            received_at=entry.received_at,
            processed_at=entry.processed_at,
        )
        for entry, code in session.execute(query).all()
    ]
