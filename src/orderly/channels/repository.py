"""Every query of the channels context: shops and their health, the inbox, backfills, and the listings
stock is pushed to. Set-based: one statement per batch, not per row. (The shared rate-limit buckets
keep theirs in ``ratelimit.py``: each is one short transaction of its own.)"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, all_, any_, cast, or_, select, tuple_, update
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session, aliased

from orderly.catalog.domain import MERCHANT
from orderly.catalog.models import Product, SkuMapping
from orderly.channels.models import Backfill, InboxEntry, ListingBinding, Shop, ShopHealth
from orderly.core.db import in_conditions, insert_rows, update_rows

# --- shops ---------------------------------------------------------------------------------------------


def shop_by_code(session: Session, code: str, *, lock: bool = False) -> Shop | None:
    query = select(Shop).where(Shop.code == code)
    if lock:
        query = query.with_for_update()
    return session.scalar(query)


def locked_shop(session: Session, shop_id: int) -> Shop | None:
    return session.scalar(select(Shop).where(Shop.id == shop_id).with_for_update())


def shop_id_of(session: Session, code: str) -> int | None:
    return session.scalar(select(Shop.id).where(Shop.code == code))


def all_shops(session: Session) -> list[Shop]:
    return list(session.scalars(select(Shop).order_by(Shop.id)))


def syncing_shops(session: Session) -> list[Shop]:
    return list(session.scalars(select(Shop).where(Shop.sync_enabled)))


def detached_shop(session: Session, shop_id: int) -> Shop | None:
    """The shop, usable after the transaction ends (None if it is gone)."""
    shop = session.get(Shop, shop_id)
    if shop is not None:
        session.expunge(shop)
    return shop


def stamp_shop(session: Session, shop_id: int, **stamps: datetime) -> None:
    """Record when the shop was last polled, reconciled or resynced (``last_polled_at=...``)."""
    session.execute(update(Shop).where(Shop.id == shop_id).values(**stamps))


def advance_orders_cursor(session: Session, shop_id: int, reached: datetime) -> None:
    """Every order updated before ``reached`` is in the inbox; the cursor never moves back."""
    session.execute(
        update(Shop)
        .where(Shop.id == shop_id, or_(Shop.orders_synced_to.is_(None), Shop.orders_synced_to < reached))
        .values(orders_synced_to=reached)
    )


def health_of(session: Session, shop_ids: Sequence[int]) -> dict[int, list[ShopHealth]]:
    found: dict[int, list[ShopHealth]] = {shop_id: [] for shop_id in shop_ids}
    query = select(ShopHealth).where(ShopHealth.shop_id.in_(list(shop_ids))).order_by(ShopHealth.kind)
    for health in session.scalars(query):
        found[health.shop_id].append(health)
    return found


def locked_health(session: Session, shop_id: int, kind: str) -> ShopHealth:
    """The shop's health row for this kind, locked, created on first use."""
    insert_rows(
        session,
        ShopHealth,
        ("shop_id", "kind", "failures"),
        [(shop_id, kind, 0)],
        skip_conflicts_on=["shop_id", "kind"],
    )
    return session.scalars(
        select(ShopHealth).where(ShopHealth.shop_id == shop_id, ShopHealth.kind == kind).with_for_update()
    ).one()


# --- the inbox ----------------------------------------------------------------------------------------

INBOX_COLUMNS = ("shop_id", "source", "topic", "event_id", "version", "body", "received_at", "attempts")


def add_entries(session: Session, rows: Sequence[tuple[Any, ...]], *, with_error: bool = False) -> None:
    """Insert inbox entries (``INBOX_COLUMNS``, and ``last_error`` last ``with_error``); one already
    stored under its (shop, event, version) stays as it is."""
    columns = (*INBOX_COLUMNS, "last_error") if with_error else INBOX_COLUMNS
    insert_rows(
        session, InboxEntry, columns, list(rows), skip_conflicts_on=["shop_id", "event_id", "version"]
    )


def versions_of(session: Session, shop_id: int, event_ids: Sequence[str]) -> dict[str, list[tuple[int, str]]]:
    """The stored entries (id, version) of these orders of the shop, by order."""
    stored: dict[str, list[tuple[int, str]]] = defaultdict(list)
    query = select(InboxEntry.id, InboxEntry.event_id, InboxEntry.version).where(
        InboxEntry.shop_id == shop_id, InboxEntry.event_id.in_(sorted(set(event_ids)))
    )
    for entry_id, event_id, version in session.execute(query):
        stored[event_id].append((entry_id, version))
    return stored


def receive_again(session: Session, entry_ids: Sequence[int], now: datetime) -> None:
    """Entries to process again as if just received: after everything received before them."""
    if entry_ids:
        session.execute(
            update(InboxEntry)
            .where(InboxEntry.id.in_(list(entry_ids)))
            .values(processed_at=None, attempts=0, last_error=None, received_at=now)
        )


def unprocessed(
    session: Session, shop_id: int, max_attempts: int, limit: int, *, claim: bool = False
) -> Sequence[tuple[int, str, str, str]]:
    """The shop's next entries to process (id, event_id, version, body), in the order last received.
    ``claim`` (PostgreSQL) locks them for the transaction and passes over those another holds."""
    query = (
        select(InboxEntry.id, InboxEntry.event_id, InboxEntry.version, InboxEntry.body)
        .where(
            InboxEntry.shop_id == shop_id,
            InboxEntry.processed_at.is_(None),
            InboxEntry.attempts < max_attempts,
        )
        # Of two versions with one stamp, the one received last is applied last.
        .order_by(InboxEntry.received_at, InboxEntry.id)
        .limit(limit)
    )
    if claim:
        query = query.with_for_update(skip_locked=True)
    return session.execute(query).all()


def behind_others(session: Session, entry_ids: Sequence[int], max_attempts: int) -> set[str]:
    """The orders (event ids) among these entries that have an earlier unprocessed entry outside them:
    one another transaction holds, to be processed first (PostgreSQL)."""
    if not entry_ids:
        return set()
    mine, other = aliased(InboxEntry), aliased(InboxEntry)
    # One array parameter: a batch's thousands of ids as an IN list cost more to write out and parse
    # than the query takes to run.
    ids = cast(list(entry_ids), postgresql.ARRAY(BigInteger))
    query = (
        select(mine.event_id)
        .distinct()
        .join(other, (other.shop_id == mine.shop_id) & (other.event_id == mine.event_id))
        .where(
            mine.id == any_(ids),
            other.id != all_(ids),
            other.processed_at.is_(None),
            other.attempts < max_attempts,
            tuple_(other.received_at, other.id) < tuple_(mine.received_at, mine.id),
        )
    )
    return set(session.scalars(query))


def mark_processed(session: Session, entry_ids: Sequence[int], now: datetime) -> None:
    if entry_ids:
        for condition in in_conditions(session, InboxEntry.id, entry_ids, BigInteger):
            session.execute(
                update(InboxEntry)
                .where(condition)
                .values(processed_at=now, attempts=InboxEntry.attempts + 1)
                # No entry is loaded as an object here: nothing in the session to bring up to date, and
                # looking for each of a batch's thousands of entries costs more than the UPDATE.
                .execution_options(synchronize_session=False)
            )


def mark_failed(session: Session, errors: Mapping[int, str]) -> None:
    """Count a failed attempt on each entry, keeping its error."""
    rows = [{"id": entry_id, "last_error": error, "attempts": 1} for entry_id, error in errors.items()]
    update_rows(session, InboxEntry, rows, increment=frozenset({"attempts"}))


def kept_among(session: Session, entry_ids: Sequence[int], kept_prefix: str) -> list[int]:
    """Which of these entries are deliveries kept unprocessed (their event id starts ``kept_prefix``)."""
    return list(
        session.scalars(
            select(InboxEntry.id)
            .where(InboxEntry.id.in_(list(entry_ids)), InboxEntry.event_id.startswith(kept_prefix))
            .order_by(InboxEntry.id)
        )
    )


def reset_entries(
    session: Session, entry_ids: Sequence[int] | None, *, max_attempts: int, kept_prefix: str
) -> dict[int, int]:
    """Make entries processable again (those given, or every one that gave up and was not kept
    unprocessed); returns the shop of each reset, by entry."""
    query = update(InboxEntry).values(processed_at=None, attempts=0, last_error=None)
    if entry_ids is not None:
        query = query.where(InboxEntry.id.in_(list(entry_ids)))
    else:
        query = query.where(
            InboxEntry.processed_at.is_(None),
            InboxEntry.attempts >= max_attempts,
            ~InboxEntry.event_id.startswith(kept_prefix),
        )
    reset = session.execute(query.returning(InboxEntry.id, InboxEntry.shop_id))
    return {entry_id: shop_id for entry_id, shop_id in reset}


def inbox_page(
    session: Session, *, shop_id: int | None, failed: bool, after_id: int, limit: int
) -> list[tuple[InboxEntry, str]]:
    """Entries after ``after_id``, oldest first, with their shop's code."""
    query = (
        select(InboxEntry, Shop.code)
        .join(Shop, Shop.id == InboxEntry.shop_id)
        .where(InboxEntry.id > after_id)
        .order_by(InboxEntry.id)
        .limit(limit)
    )
    if shop_id is not None:
        query = query.where(InboxEntry.shop_id == shop_id)
    if failed:
        query = query.where(InboxEntry.processed_at.is_(None), InboxEntry.last_error.is_not(None))
    return [(entry, code) for entry, code in session.execute(query)]


# --- backfills ------------------------------------------------------------------------------------------


def running_backfill(session: Session, shop_id: int) -> int | None:
    return session.scalar(
        select(Backfill.id).where(Backfill.shop_id == shop_id, Backfill.finished_at.is_(None)).limit(1)
    )


def backfills_of(session: Session, shop_id: int, backfill_id: int | None = None) -> list[Backfill]:
    """The shop's backfills, newest first (or the one asked for)."""
    query = select(Backfill).where(Backfill.shop_id == shop_id).order_by(Backfill.id.desc())
    if backfill_id is not None:
        query = query.where(Backfill.id == backfill_id)
    return list(session.scalars(query))


def advance_backfill(session: Session, backfill_id: int, orders: int, reached: datetime | None) -> None:
    values: dict[str, Any] = {"orders": Backfill.orders + orders}
    if reached is not None:
        values["reached"] = reached
    session.execute(update(Backfill).where(Backfill.id == backfill_id).values(values))


def finish_backfill(session: Session, backfill_id: int, reached: datetime, now: datetime) -> None:
    session.execute(
        update(Backfill).where(Backfill.id == backfill_id).values(reached=reached, finished_at=now)
    )


# --- listings and their stock pushes ---------------------------------------------------------------


def listings_selling(
    session: Session, product_ids: set[int], shop_id: int | None = None
) -> Sequence[tuple[int, str | None, Any, datetime | None]]:
    """(shop_id, listing_id, shop settings, when its last push started) of every listing on a syncing
    shop that sells our stock of these products."""
    query = (
        select(SkuMapping.shop_id, SkuMapping.listing_id, Shop.settings, ListingBinding.last_pushed_at)
        .join(Shop, Shop.id == SkuMapping.shop_id)
        .outerjoin(
            ListingBinding,
            (ListingBinding.shop_id == SkuMapping.shop_id)
            & (ListingBinding.listing_id == SkuMapping.listing_id),
        )
        .where(
            SkuMapping.product_id.in_(product_ids),
            SkuMapping.listing_id.is_not(None),
            SkuMapping.fulfilled_by == MERCHANT,
            Shop.sync_enabled,
        )
    )
    if shop_id is not None:
        query = query.where(SkuMapping.shop_id == shop_id)
    return [(shop, listing, settings, pushed) for shop, listing, settings, pushed in session.execute(query)]


def merchant_listings(session: Session, shop_id: int) -> list[str]:
    """The shop's listings that sell our stock (not those the platform fulfils)."""
    found = session.scalars(
        select(SkuMapping.listing_id).where(
            SkuMapping.shop_id == shop_id,
            SkuMapping.listing_id.is_not(None),
            SkuMapping.fulfilled_by == MERCHANT,
        )
    )
    return [listing for listing in found if listing is not None]


def listing(session: Session, shop_id: int, listing_id: str) -> Any:
    """What a push of the listing needs from its mapping, and our SKU code."""
    return session.execute(
        select(
            SkuMapping.product_id,
            SkuMapping.platform_sku,
            SkuMapping.location,
            SkuMapping.platform_ids,
            SkuMapping.fulfilled_by,
            Product.sku,
        )
        .join(Product, Product.id == SkuMapping.product_id)
        .where(SkuMapping.shop_id == shop_id, SkuMapping.listing_id == listing_id)
    ).first()


def locked_place(session: Session, shop_id: int, listing_id: str) -> tuple[Any, Any] | None:
    """The listing's (location, platform_ids), locked as an edit of its mapping locks it."""
    found = session.execute(
        select(SkuMapping.location, SkuMapping.platform_ids)
        .where(SkuMapping.shop_id == shop_id, SkuMapping.listing_id == listing_id)
        .with_for_update()
    ).first()
    return None if found is None else (found[0], found[1])


def locked_binding(session: Session, shop_id: int, listing_id: str) -> ListingBinding:
    """The listing's binding, locked, created on first use."""
    insert_rows(
        session,
        ListingBinding,
        ("shop_id", "listing_id", "data"),
        [(shop_id, listing_id, {})],
        skip_conflicts_on=["shop_id", "listing_id"],
    )
    return session.scalars(
        select(ListingBinding)
        .where(ListingBinding.shop_id == shop_id, ListingBinding.listing_id == listing_id)
        .with_for_update()
    ).one()


def record_push(
    session: Session, shop_id: int, listing_id: str, started: datetime, values: Mapping[str, Any]
) -> bool:
    """Write a push's outcome if the binding still carries the push's start stamp; False if another
    push started meanwhile (nothing written)."""
    ours = (
        (ListingBinding.shop_id == shop_id)
        & (ListingBinding.listing_id == listing_id)
        & (ListingBinding.last_pushed_at == started)
    )
    recorded = session.execute(update(ListingBinding).where(ours).values(dict(values)))
    return bool(recorded.rowcount)  # type: ignore[attr-defined]


def mark_shown_unknown(session: Session, shop_id: int, listing_id: str, now: datetime) -> None:
    """What the shop shows of the listing is unknown as of ``now``: no push started before may record."""
    session.execute(
        update(ListingBinding)
        .where(ListingBinding.shop_id == shop_id, ListingBinding.listing_id == listing_id)
        .values(last_quantity=None, last_pushed_at=now)
    )
