"""Order and stock sync: the jobs that keep every shop and the hub in step.

Orders: ``poll_orders`` reads each shop's orders updated since its stored cursor (less an overlap
window) slice by slice, stores every order raw in the inbox, moving the cursor with each slice's last
page, then processes the inbox (also when a later request failed: what was fetched goes in). A
backfill (``start_backfill``, ``backfill_orders``) reads a window from a chosen date the same way,
recording its progress. Webhooks land in the same inbox (``store_webhook``) and wake
``process_inbox``. Inbox entries are keyed by (shop, order, version), the version being the platform's
stamp and a digest of the mapped order (``version_key``), so a webhook delivered twice and a poll of
the same version are one entry, two changes within one stamp (Shopify's are to the second) are two,
and ingest is idempotent on top. ``reconcile_orders`` re-reads a wide window and takes in whatever the
hub lacks or has older.

Stock: every transaction that changes stock enqueues one ``stock_changed`` job (inventory's outbox);
it fans out into ``push_stock`` jobs, one per (shop, listing), each due after the shop's coalescing
window (``stock_coalesce_s``) and coalesced while queued, so a burst of a thousand changes within the
window sends one update per listing. Pushes of one listing run one at a time. A push computes the
*current* available figure at run time, less the shop's buffer, and sends that absolute value.
``resync_stock`` pushes every listing of a shop again to correct drift.
"""

from __future__ import annotations

import hashlib
import logging
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session

from orderly.alerts.service import raise_alert, resolve
from orderly.catalog import repository as catalog_repo
from orderly.catalog.domain import MERCHANT
from orderly.catalog.models import Product, SkuMapping
from orderly.channels import ratelimit
from orderly.channels import service as shops
from orderly.channels.connector import (
    ChannelError,
    Connector,
    RateLimit,
    RateLimited,
    RawOrder,
    StockPush,
    UnusableDelivery,
)
from orderly.channels.models import Backfill, InboxEntry, ListingBinding, Shop
from orderly.channels.schemas import BackfillIn, BackfillOut
from orderly.core import jsontext
from orderly.core.clock import utcnow
from orderly.core.db import collector_paused, insert_rows, transaction
from orderly.core.errors import Conflict, DomainError, NotFound
from orderly.core.text import escape_nul
from orderly.inventory.service import STOCK_CHANGED, sellable
from orderly.jobs.models import Job
from orderly.jobs.service import Claimed, NewJob, enqueue
from orderly.jobs.worker import SCHEDULERS, JobContext, handler
from orderly.orders.domain import content_digest
from orderly.orders.ingest import ingest_batch
from orderly.orders.service import cancel_from_platform

log = logging.getLogger(__name__)

POLL, INBOX, PUSH, RECONCILE, RESYNC, BACKFILL = (
    "poll_orders",
    "process_inbox",
    "push_stock",
    "reconcile_orders",
    "resync_stock",
    "backfill_orders",
)
#: A poll or backfill reads its window in slices of at most this long (one getOrders call at least
#: each, at Amazon's one a minute: not too many for a year), moving its cursor with each.
SLICE = timedelta(days=7)
INBOX_BATCH = 2000
INBOX_MAX_ATTEMPTS = 5  # an entry that keeps failing to map waits for a replay
LONGEST_WAIT = 5.0  # a rate-limit wait longer than this reschedules the job instead of sleeping
#: Sources that read what the platform shows now (a webhook tells of a moment that may have passed).
READS_CURRENT = frozenset({"poll", "reconcile", "backfill"})
DIGEST_CHARS = 16
#: The most of one webhook delivery the inbox keeps: a platform's order with hundreds of lines is well
#: under it. A larger delivery (the request gate lets in up to ``endpoints.WEBHOOK_BODY_MAX``) is kept
#: once, cut to this, with the reason, and not processed.
KEPT_BODY_MAX = 1 << 20
#: The event id of a delivery kept unprocessed: this and a digest of its topic and content.
KEPT = "unusable:"


# --- the connection to a shop ----------------------------------------------------------------------


class Paced(RateLimited):
    """Our own rate limiter asks for a wait; the platform did not fail."""


@contextmanager
def _connected(ctx: JobContext, shop_id: int, health: str | None) -> Iterator[tuple[Shop, Connector]]:
    """The shop and a connector for it; the block's platform calls count for the shop's ``health`` of
    that kind (None: the block calls the platform for nothing that health tracks)."""
    with transaction(ctx.factory) as session:
        shop = session.get(Shop, shop_id)
        if shop is None:
            raise LookupError(f"shop {shop_id} is gone")
        session.expunge(shop)
    # One client per worker and shop, kept: building one costs more than most platform calls.
    key = f"http:{shop.id}:{shop.base_url}"
    client = ctx.extras.get(key)
    if client is None:
        client = ctx.extras[key] = shops.http_client(shop)
    connector = shops.connector_for(shop, client, ctx.settings)
    connector.pace = partial(_pace, ctx, connector)  # every request draws from the shop's budget
    try:
        yield shop, connector
    except Paced:
        raise
    except ChannelError as exc:
        if health is not None:
            with transaction(ctx.factory) as session:
                shops.record_failure(session, shop_id, health, f"{type(exc).__name__}: {exc}")
        if isinstance(exc, RateLimited):
            operation = getattr(exc, "operation", None)
            limits = connector.rate_limits
            names: list[str] = (
                [operation] if isinstance(operation, str) and operation in limits else list(limits)
            )
            for bucket in {limits[name].bucket or name for name in names}:
                ratelimit.block(ctx.factory, shop_id, bucket, exc.retry_after)
        raise
    if health is not None:
        with transaction(ctx.factory) as session:
            shops.record_success(session, shop_id, health)


def _pace(ctx: JobContext, connector: Connector, operation: str) -> None:
    """The connector's pacer (``Connector.pace``): before each request, wait for the shop's shared
    bucket; a long wait becomes a retry at the right time."""
    limit = connector.rate_limits.get(operation)
    override = shops.sync_settings_of(connector.connection.settings).rate_limits.get(operation)
    if override is not None:
        limit = RateLimit(override[0], override[1], limit.bucket if limit else None)
    if limit is None:
        return
    wait = ratelimit.take(ctx.factory, connector.connection.shop_id, limit.bucket or operation, limit)
    if wait > LONGEST_WAIT:
        raise Paced(f"{operation}: waiting for the shop's rate limit", retry_after=wait, status=None)
    if wait > 0:
        ctx.sleep(wait)


# --- orders ------------------------------------------------------------------------------------------


def version_key(connector: Connector, raw: RawOrder) -> str:
    """The inbox version of a raw order: the platform's stamp and a digest of what the order says.
    The digest is of the mapped order (what the hub takes from it, so a webhook and a poll of one
    version agree however their payloads differ), or of the payload when it does not map."""
    try:
        content: Any = connector.map_order(raw)
    except Exception:  # the entry keeps its mapping error when it is processed
        content = raw.body
    stamp = escape_nul(raw.version)[: 64 - DIGEST_CHARS - 1]
    return f"{stamp}#{content_digest(content)[:DIGEST_CHARS]}"


def _stamp_of(version: str) -> str:
    """The platform's stamp in an inbox version ("" for one stored before versions had a digest)."""
    return version.rpartition("#")[0]


def _store(
    session: Session,
    connector: Connector,
    source: str,
    topic: str,
    raws: Sequence[RawOrder],
    text: bytes | None = None,
) -> None:
    """Keep raw orders in the inbox; ``text`` is the body exactly as received, when there is one. A
    platform's order id is kept as the column can (a NUL escaped: ingest rejects and names it)."""
    shop_id, now = connector.connection.shop_id, utcnow()
    keys = [(escape_nul(r.external_id)[:200], version_key(connector, r)) for r in raws]
    rows = [
        (shop_id, source, topic, event_id, key, (text or jsontext.dumps(r.body)).decode(), now, 0)
        for r, (event_id, key) in zip(raws, keys, strict=True)
    ]
    insert_rows(
        session,
        InboxEntry,
        ("shop_id", "source", "topic", "event_id", "version", "body", "received_at", "attempts"),
        rows,
        skip_conflicts_on=["shop_id", "event_id", "version"],
    )
    if source in READS_CURRENT:
        _take_again(session, shop_id, set(keys), now)


def _take_again(session: Session, shop_id: int, read: set[tuple[str, str]], now: datetime) -> None:
    """A version read from the platform again while another of the order carries the same stamp goes
    through ingest again, after everything received before it: two versions with one stamp may have
    been applied in either order, and this is the one the platform shows now."""
    stored: dict[str, list[tuple[int, str]]] = defaultdict(list)
    query = select(InboxEntry.id, InboxEntry.event_id, InboxEntry.version).where(
        InboxEntry.shop_id == shop_id, InboxEntry.event_id.in_(sorted({event for event, _ in read}))
    )
    for entry_id, event_id, version in session.execute(query):
        stored[event_id].append((entry_id, version))
    again = [
        entry_id
        for event_id, entries in stored.items()
        for entry_id, version in entries
        if (event_id, version) in read
        and any(other != version and _stamp_of(other) == _stamp_of(version) for _, other in entries)
    ]
    if again:
        session.execute(
            update(InboxEntry)
            .where(InboxEntry.id.in_(again))
            .values(processed_at=None, attempts=0, last_error=None, received_at=now)
        )


#: Called in the transaction that stores each page of a pull, with the orders on the page and, on a
#: slice's last page, the point every order updated before which is now in the inbox.
Progress = Callable[[Session, int, datetime | None], None]


def _pull(
    ctx: JobContext,
    shop_id: int,
    start: datetime,
    end: datetime,
    source: str,
    progress: Progress | None = None,
) -> datetime:
    """Store every order updated in [start, end) in the inbox, slice by slice, page by page; returns up
    to when the shop's orders are now in (``end``, or earlier where the platform lists recent changes
    late). A slice read whole is a point to go on from: a failure costs only the slice it came in."""
    with _connected(ctx, shop_id, "orders") as (_, connector):
        end = min(end, utcnow() - connector.lag)
        after = start
        while after < end:
            before = min(end, after + SLICE)
            cursor: str | None = None
            while True:
                page = connector.fetch_orders(after, before, cursor)
                cursor = page.next_cursor
                with transaction(ctx.factory) as session:
                    _store(session, connector, source, "order", page.orders)
                    if progress is not None:
                        progress(session, len(page.orders), before if cursor is None else None)
                if cursor is None:
                    break
            after = before
        return end


@contextmanager
def _fetched_goes_in(ctx: JobContext, shop_id: int) -> Iterator[None]:
    """Whatever a pull stored goes through the inbox, even when a later request failed."""
    try:
        yield
    finally:
        _process_inbox(ctx, shop_id)


def _go_on_later(
    ctx: JobContext, kind: str, payload: dict[str, Any], key: str, shop_id: int, wait: float
) -> None:
    """Waiting for the shop's rate limit is no failure: the job goes on from where it got to once the
    budget allows, without spending one of its attempts."""
    with transaction(ctx.factory) as session:
        enqueue(session, [NewJob(kind, payload, key=key, shop_id=shop_id, delay=wait)])


def _syncing_shop(ctx: JobContext, job: Claimed) -> Shop | None:
    """The job's shop, detached, if it still exists and syncs; a job for any other is done."""
    with transaction(ctx.factory) as session:
        shop = session.get(Shop, int(job.payload["shop_id"]))
        if shop is None or not shop.sync_enabled:
            return None
        session.expunge(shop)
        return shop


@handler(POLL)
def poll_orders(ctx: JobContext, job: Claimed) -> None:
    now = utcnow()
    shop = _syncing_shop(ctx, job)
    if shop is None:
        return
    shop_id = shop.id
    settings = shops.sync_settings(shop)
    first = now - timedelta(days=settings.first_poll_days)
    start = (shop.orders_synced_to or first) - timedelta(seconds=settings.overlap_s)

    def advance(session: Session, _: int, reached: datetime | None) -> None:
        # The cursor moves with each slice's last page: a failure after it re-reads from here.
        if reached is not None:
            session.execute(
                update(Shop)
                .where(
                    Shop.id == shop_id, or_(Shop.orders_synced_to.is_(None), Shop.orders_synced_to < reached)
                )
                .values(orders_synced_to=reached)
            )

    try:
        with _fetched_goes_in(ctx, shop_id):
            _pull(ctx, shop_id, start, now, "poll", advance)
    except Paced as exc:
        _go_on_later(ctx, POLL, {"shop_id": shop_id}, f"{POLL}:{shop_id}", shop_id, exc.retry_after)
        return
    with transaction(ctx.factory) as session:
        session.execute(update(Shop).where(Shop.id == shop_id).values(last_polled_at=now))


@handler(RECONCILE)
def reconcile_orders(ctx: JobContext, job: Claimed) -> None:
    """Take in every order the shop has in the window that the hub lacks, or holds in an older version."""
    now = utcnow()
    shop = _syncing_shop(ctx, job)
    if shop is None:
        return
    shop_id = shop.id
    days = shops.sync_settings(shop).reconcile_days
    try:
        _pull(ctx, shop_id, now - timedelta(days=days), now, "reconcile")
    finally:
        missing = _process_inbox(ctx, shop_id)  # what was fetched goes in, even when a request failed
    with transaction(ctx.factory) as session:
        session.execute(update(Shop).where(Shop.id == shop_id).values(last_reconciled_at=now))
        if missing:
            # Polling and webhooks should have brought these: a person should know they did not.
            shown = ", ".join(missing[:20]) + (f" and {len(missing) - 20} more" if len(missing) > 20 else "")
            raise_alert(
                session,
                "reconcile_missing",
                f"shop:{shop.code}",
                f"reconciliation took in {len(missing)} order(s) the hub lacked: {shown}",
            )


@handler(INBOX)
def process_inbox(ctx: JobContext, job: Claimed) -> None:
    _process_inbox(ctx, int(job.payload["shop_id"]))


def _process_inbox(ctx: JobContext, shop_id: int) -> list[str]:
    """Map and ingest the shop's unprocessed entries; returns the orders that were new to the hub."""
    created: list[str] = []
    # Mapping what is already stored calls no platform: a webhook's order going in says nothing of
    # whether the shop's polls work.
    with _connected(ctx, shop_id, None) as (_, connector):
        while True:
            with transaction(ctx.factory) as session:
                entries = session.execute(
                    select(InboxEntry.id, InboxEntry.event_id, InboxEntry.version, InboxEntry.body)
                    .where(
                        InboxEntry.shop_id == shop_id,
                        InboxEntry.processed_at.is_(None),
                        InboxEntry.attempts < INBOX_MAX_ATTEMPTS,
                    )
                    # Of two versions with one stamp, the one received last is applied last.
                    .order_by(InboxEntry.received_at, InboxEntry.id)
                    .limit(INBOX_BATCH)
                ).all()
            if not entries:
                return created
            with collector_paused():  # thousands of short-lived payload dicts, as in ingest
                created += _ingest_entries(ctx, connector, entries)


def _ingest_entries(ctx: JobContext, connector: Connector, entries: Sequence[Any]) -> list[str]:
    orders: list[dict[str, Any]] = []
    mapped_ids: list[int] = []
    failed: list[dict[str, Any]] = []
    waiting: list[int] = []
    cancelled: list[str] = []
    for entry_id, event_id, version, body in entries:
        try:  # a payload that cannot be read must not stop the others
            raw = RawOrder(event_id, version, jsontext.loads(body))
            if not connector.ready(raw):
                waiting.append(entry_id)  # e.g. an Amazon order still Pending, without an address yet
                if connector.cancelled(raw):
                    cancelled.append(event_id)
                continue
            order = connector.map_order(raw)
            # The inbox already keeps every version verbatim: ingest need not store it a second time.
            order["raw"] = None
            orders.append(order)
            mapped_ids.append(entry_id)
        except Exception as exc:
            error = escape_nul(f"cannot map: {type(exc).__name__}: {exc}")[:2000]
            failed.append({"id": entry_id, "last_error": error})
    actor = f"sync:{connector.connection.shop_code}"
    report = ingest_batch(ctx.factory, orders, actor=actor) if orders else None
    now = utcnow()
    with transaction(ctx.factory) as session:
        for external_id in cancelled:
            cancel_from_platform(session, connector.connection.shop_id, external_id, actor=actor)
        done = mapped_ids + waiting
        if done:
            session.execute(
                update(InboxEntry)
                .where(InboxEntry.id.in_(done))
                .values(processed_at=now, attempts=InboxEntry.attempts + 1)
            )
        for row in failed:
            session.execute(
                update(InboxEntry)
                .where(InboxEntry.id == row["id"])
                .values(last_error=row["last_error"], attempts=InboxEntry.attempts + 1)
            )
    return [item.external_id or "" for item in report.items if item.outcome == "created"] if report else []


def store_webhook(
    session: Session, shop: Shop, connector: Connector, headers: Any, body: bytes
) -> str | None:
    """Keep a verified delivery in the inbox and, for an order, wake the shop's inbox job. A delivery the
    hub does not process (another topic, one it cannot read, one too large to keep whole) is kept once
    per content, given up at once with its reason, which is returned."""
    if len(body) > KEPT_BODY_MAX:
        # Not parsed: it will not be processed, and its size is reason enough.
        topic = connector.webhook_topic(headers)
        reason = (
            f"{topic or 'a delivery'}: {len(body):,} bytes, more than the {KEPT_BODY_MAX:,} the hub keeps "
            f"of one: kept cut to that, not processed (polls and reconciliation read the order instead)"
        )
        _keep(session, shop.id, topic, reason, body)
        return reason
    try:
        event = connector.parse_webhook(headers, body)
    except UnusableDelivery as exc:
        _keep(session, shop.id, exc.topic, str(exc), body)
        return str(exc)
    if event.external_id is None:
        reason = f"{event.topic}: the hub processes only order events"
        _keep(session, shop.id, event.topic, reason, body)
        return reason
    # Order deliveries share their key with polls of the same version.
    raw = RawOrder(event.external_id, event.version or "-", event.body)
    _store(session, connector, "webhook", event.topic[:64], [raw], body)
    enqueue(session, [NewJob(INBOX, {"shop_id": shop.id}, key=f"inbox:{shop.id}", shop_id=shop.id)])
    return None


def kept(entry_event_id: str) -> bool:
    """Whether an inbox entry is a delivery kept unprocessed (see ``store_webhook``)."""
    return entry_event_id.startswith(KEPT)


def _keep(session: Session, shop_id: int, topic: str, reason: str, body: bytes) -> None:
    """One entry per topic and content, whatever the delivery ids (a platform, or anyone replaying a
    signed delivery, sending it again adds nothing), never processed: it waits, with its reason, for a
    person. The body is kept as text the database can store, cut to ``KEPT_BODY_MAX`` bytes."""
    digest = hashlib.sha256(topic.encode() + b"\n" + body).hexdigest()
    text = body[:KEPT_BODY_MAX].decode("utf-8", errors="replace").replace("\x00", "\ufffd")
    insert_rows(
        session,
        InboxEntry,
        (
            "shop_id",
            "source",
            "topic",
            "event_id",
            "version",
            "body",
            "received_at",
            "attempts",
            "last_error",
        ),
        [
            (
                shop_id,
                "webhook",
                topic.replace("\x00", "")[:64],
                f"{KEPT}{digest}",
                "-",
                text,
                utcnow(),
                INBOX_MAX_ATTEMPTS,
                reason.replace("\x00", "")[:2000],
            )
        ],
        skip_conflicts_on=["shop_id", "event_id", "version"],
    )


def request_sync(session: Session, code: str) -> None:
    """Poll the shop's orders now and push every listing's stock again; refused for a shop that cannot
    sync, rather than queued to do nothing."""
    shop = shops.get_shop(session, code)
    shops.check_syncs(shop)
    enqueue(
        session,
        [
            NewJob(kind, {"shop_id": shop.id}, key=f"{kind}:{shop.id}", shop_id=shop.id)
            for kind in (POLL, RESYNC)
        ],
    )


def replay_inbox(session: Session, entry_ids: Sequence[int] | None = None) -> int:
    """Process inbox entries again (those given, or all that gave up); returns how many were reset.
    Deliveries kept unprocessed are never replayed: they would fail the same way."""
    query = update(InboxEntry).values(processed_at=None, attempts=0, last_error=None)
    if entry_ids is not None:
        refused = session.scalars(
            select(InboxEntry.id)
            .where(InboxEntry.id.in_(list(entry_ids)), InboxEntry.event_id.startswith(KEPT))
            .order_by(InboxEntry.id)
        ).all()
        if refused:
            raise Conflict(
                f"inbox entr{'ies' if len(refused) > 1 else 'y'} {', '.join(map(str, refused))}: deliveries "
                "the hub does not process, kept with the reason (`orderly inbox list` shows it); a replay "
                "would change nothing",
                field="entry_ids",
            )
        query = query.where(InboxEntry.id.in_(list(entry_ids)))
    else:
        query = query.where(
            InboxEntry.processed_at.is_(None),
            InboxEntry.attempts >= INBOX_MAX_ATTEMPTS,
            ~InboxEntry.event_id.startswith(KEPT),
        )
    reset = dict(session.execute(query.returning(InboxEntry.id, InboxEntry.shop_id)).all())
    missing = sorted(set(entry_ids or ()) - set(reset))
    if missing:
        raise NotFound(f"no inbox entry {', '.join(map(str, missing))}: `orderly inbox list` shows them")
    shop_ids = sorted(set(reset.values()))
    enqueue(session, [NewJob(INBOX, {"shop_id": s}, key=f"inbox:{s}", shop_id=s) for s in shop_ids])
    return len(reset)


# --- backfills: a shop's orders from a chosen date ----------------------------------------------------


@handler(BACKFILL)
def backfill_orders(ctx: JobContext, job: Claimed) -> None:
    """Read the backfill's window on from where it got to, slice by slice, recording its progress."""
    backfill_id = int(job.payload["backfill_id"])
    with transaction(ctx.factory) as session:
        backfill = session.get(Backfill, backfill_id)
        if backfill is None or backfill.finished_at is not None:
            return
        shop_id, start, until = backfill.shop_id, backfill.reached, backfill.until

    def advance(session: Session, orders: int, reached: datetime | None) -> None:
        values: dict[str, Any] = {"orders": Backfill.orders + orders}
        if reached is not None:
            values["reached"] = reached
        session.execute(update(Backfill).where(Backfill.id == backfill_id).values(values))

    try:
        with _fetched_goes_in(ctx, shop_id):
            reached = _pull(ctx, shop_id, start, until, "backfill", advance)
    except Paced as exc:
        _go_on_later(ctx, BACKFILL, job.payload, _backfill_key(backfill_id), shop_id, exc.retry_after)
        return
    with transaction(ctx.factory) as session:
        # Where the platform lists recent changes late, the last minutes are the polls' to read.
        session.execute(
            update(Backfill)
            .where(Backfill.id == backfill_id)
            .values(reached=max(start, reached), finished_at=utcnow())
        )


def _backfill_key(backfill_id: int) -> str:
    return f"{BACKFILL}:{backfill_id}"


def start_backfill(session: Session, code: str, data: BackfillIn) -> BackfillOut:
    """Queue the import of the shop's orders updated since ``data.since``; one per shop at a time."""
    shop = shops.get_shop(session, code, lock=True)
    if not shop.sync_enabled:  # syncing shops are those with a connector and an address
        raise DomainError(
            f"shop {code!r} does not sync: `orderly shop connect {code} --enable` first", field="shop"
        )
    now = utcnow()
    until = min(data.until or now, now)
    if data.since >= until:
        raise DomainError(f"since must be before {until.isoformat()}", field="since")
    running = session.scalar(
        select(Backfill.id).where(Backfill.shop_id == shop.id, Backfill.finished_at.is_(None)).limit(1)
    )
    if running is not None:
        raise Conflict(f"backfill {running} of shop {code!r} is still running", field="shop")
    backfill = Backfill(shop_id=shop.id, since=data.since, until=until, reached=data.since, orders=0)
    session.add(backfill)
    session.flush()
    key = _backfill_key(backfill.id)
    enqueue(session, [NewJob(BACKFILL, {"backfill_id": backfill.id}, key=key, shop_id=shop.id)])
    return _backfill_out(session, code, backfill)


def backfills(session: Session, code: str, backfill_id: int | None = None) -> list[BackfillOut]:
    """The shop's backfills, newest first (or the one asked for), each with its progress and job."""
    shop = shops.get_shop(session, code)
    query = select(Backfill).where(Backfill.shop_id == shop.id).order_by(Backfill.id.desc())
    if backfill_id is not None:
        query = query.where(Backfill.id == backfill_id)
    found = [_backfill_out(session, code, b) for b in session.scalars(query)]
    if backfill_id is not None and not found:
        raise NotFound(f"shop {code!r} has no backfill {backfill_id}", field="backfill_id")
    return found


def _backfill_out(session: Session, code: str, backfill: Backfill) -> BackfillOut:
    job = session.execute(
        select(Job.id, Job.status, Job.last_error)
        .where(Job.kind == BACKFILL, Job.key == _backfill_key(backfill.id))
        .order_by(Job.id.desc())
        .limit(1)
    ).first()
    span = (backfill.until - backfill.since).total_seconds()
    done = backfill.finished_at is not None
    return BackfillOut(
        id=backfill.id,
        shop=code,
        since=backfill.since,
        until=backfill.until,
        reached=backfill.reached,
        orders=backfill.orders,
        progress=1.0 if done else min(1.0, (backfill.reached - backfill.since).total_seconds() / span),
        status="done" if done else ("dead" if job is not None and job.status == "dead" else "running"),
        job_id=job.id if job is not None else None,
        last_error=job.last_error if job is not None else None,
        created_at=backfill.created_at,
        finished_at=backfill.finished_at,
    )


# --- stock --------------------------------------------------------------------------------------------


@handler(STOCK_CHANGED)
def stock_changed(ctx: JobContext, job: Claimed) -> None:
    with transaction(ctx.factory) as session:
        schedule_pushes(session, [int(p) for p in job.payload["product_ids"]])


def schedule_pushes(session: Session, product_ids: Sequence[int], *, shop_id: int | None = None) -> int:
    """Queue one push per listing (on syncing shops) that sells our stock and whose figure depends on
    these products. Each waits for its shop's coalescing window, so the changes that follow within it
    ride on the same push."""
    products = set(product_ids)
    if not products:
        return 0
    products |= catalog_repo.bundles_containing(session, products)
    query = (
        select(SkuMapping.shop_id, SkuMapping.listing_id, Shop.settings)
        .join(Shop, Shop.id == SkuMapping.shop_id)
        .where(
            SkuMapping.product_id.in_(products),
            SkuMapping.listing_id.is_not(None),
            SkuMapping.fulfilled_by == MERCHANT,
            Shop.sync_enabled,
        )
    )
    if shop_id is not None:
        query = query.where(SkuMapping.shop_id == shop_id)
    windows: dict[int, float] = {}
    pushes = []
    for shop, listing, settings in session.execute(query).all():
        if shop not in windows:
            windows[shop] = shops.sync_settings_of(settings).stock_coalesce_s
        if listing is not None:
            pushes.append(_push_job(shop, listing, delay=windows[shop]))
    enqueue(session, pushes)
    return len(pushes)


def _push_job(shop_id: int, listing_id: str, *, force: bool = False, delay: float = 0.0) -> NewJob:
    """A push of one listing; its key makes pushes of the listing coalesce and run one at a time."""
    payload: dict[str, Any] = {"shop_id": shop_id, "listing_id": listing_id}
    if force:
        payload["force"] = True
    return NewJob(PUSH, payload, key=f"{shop_id}:{listing_id}", shop_id=shop_id, delay=delay)


def available_for(session: Session, product_id: int) -> int:
    """What can still be sold of a product across active warehouses; a bundle, of its components."""
    return sellable(session, [product_id])[product_id]


def publishable(shop: Shop, available: int) -> tuple[int, bool]:
    """The quantity to publish on this shop, and whether it is low stock."""
    settings = shops.sync_settings(shop)
    held_back = settings.stock_buffer + available * settings.stock_buffer_percent // 100
    quantity = max(0, available - held_back)
    low = quantity <= settings.low_stock_threshold
    if low and settings.low_stock_publish_zero:
        quantity = 0
    return quantity, low


@handler(PUSH)
def push_stock(ctx: JobContext, job: Claimed) -> None:
    """Publish the listing's current figure, unless the record says the shop shows it already.

    The record (``listing_bindings``) holds what the platform was last told: while a push is out it
    holds "unknown" (``last_quantity`` None) under the push's start stamp (``last_pushed_at``), and
    only the push that set the stamp may write its answer. Pushes of one listing run one at a time
    (jobs with one key do); should two ever overlap all the same, neither records its figure and a
    new push settles what the shop shows."""
    shop_id, listing_id = int(job.payload["shop_id"]), str(job.payload["listing_id"])
    force = bool(job.payload.get("force"))
    with transaction(ctx.factory) as session:
        shop = session.get(Shop, shop_id)
        mapping = session.execute(
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
        # A listing the platform fulfils from its own stock is never told the hub's figure, even forced.
        if shop is None or mapping is None or not shop.sync_enabled or mapping.fulfilled_by != MERCHANT:
            return
        quantity, low = publishable(shop, available_for(session, mapping.product_id))
        insert_rows(
            session,
            ListingBinding,
            ("shop_id", "listing_id", "data"),
            [(shop_id, listing_id, {})],
            skip_conflicts_on=["shop_id", "listing_id"],
        )
        binding = session.scalars(
            select(ListingBinding)
            .where(ListingBinding.shop_id == shop_id, ListingBinding.listing_id == listing_id)
            .with_for_update()
        ).one()
        subject = f"listing:{shop.code}:{listing_id}"
        if low:
            raise_alert(
                session, "low_stock", subject, f"{mapping.sku} on {shop.code}: {quantity} left to sell"
            )
        else:
            resolve(session, "low_stock", subject)
        if binding.last_quantity == quantity and not force and binding.last_error is None:
            return  # the shop already shows this figure
        shown, data = binding.last_quantity, dict(binding.data or {})
        started = utcnow()
        binding.last_quantity, binding.last_pushed_at = None, started
        shop_code = shop.code
    with _connected(ctx, shop_id, "stock") as (_, connector):
        push = StockPush(
            listing_id, mapping.platform_sku, quantity, data, mapping.location, mapping.platform_ids or {}
        )
        (result,) = connector.push_stock([push])
        this_listing = (ListingBinding.shop_id == shop_id) & (ListingBinding.listing_id == listing_id)
        with transaction(ctx.factory) as session:
            # A refused update left the shop showing what it showed.
            told = quantity if result.ok else shown
            # Locked as an edit of the mapping locks it: moved elsewhere meanwhile, the listing where it
            # is now was told nothing yet, and the push the edit queued must not skip it.
            place = session.execute(
                select(SkuMapping.location, SkuMapping.platform_ids)
                .where(SkuMapping.shop_id == shop_id, SkuMapping.listing_id == listing_id)
                .with_for_update()
            ).first()
            if place is None or tuple(place) != (mapping.location, mapping.platform_ids):
                told = None
            values: dict[str, Any] = {"last_error": result.error, "last_quantity": told}
            if result.binding is not None:
                values["data"] = dict(result.binding)
            ours = this_listing & (ListingBinding.last_pushed_at == started)
            recorded = session.execute(update(ListingBinding).where(ours).values(values))
            if not recorded.rowcount:  # type: ignore[attr-defined]
                # Another push started while this one was out: which figure the shop took last is
                # unknown. A new stamp keeps that one from recording either, and a push after both
                # settles it.
                session.execute(
                    update(ListingBinding)
                    .where(this_listing)
                    .values(last_quantity=None, last_pushed_at=utcnow())
                )
                enqueue(session, [_push_job(shop_id, listing_id)])
            # A listing refused while others go through leaves the shop healthy: it alerts on its own.
            if result.ok:
                resolve(session, "push_refused", subject)
            else:
                raise_alert(
                    session,
                    "push_refused",
                    subject,
                    f"{shop_code} refused the stock of {listing_id}: {result.error}",
                )
        if not result.ok:
            # Refused inside an answer that succeeded: a failed push all the same, for the shop's health.
            raise ChannelError(f"shop {shop_code} refused the stock of listing {listing_id}: {result.error}")


@handler(RESYNC)
def resync_stock(ctx: JobContext, job: Claimed) -> None:
    """Push every listing of the shop again, whatever was sent before: drift does not survive this."""
    shop_id = int(job.payload["shop_id"])
    with transaction(ctx.factory) as session:
        listings = session.scalars(
            select(SkuMapping.listing_id).where(
                SkuMapping.shop_id == shop_id,
                SkuMapping.listing_id.is_not(None),
                SkuMapping.fulfilled_by == MERCHANT,
            )
        ).all()
        # A push waiting out its coalescing window would absorb the forced one (keys coalesce) and might
        # skip: the forced push takes its place, due now.
        session.execute(delete(Job).where(Job.kind == PUSH, Job.shop_id == shop_id, Job.status == "queued"))
        enqueue(session, [_push_job(shop_id, lid, force=True) for lid in listings if lid is not None])
        session.execute(update(Shop).where(Shop.id == shop_id).values(last_resynced_at=utcnow()))


# --- periodic work -------------------------------------------------------------------------------------


def schedule_periodic(session: Session) -> None:
    """Queue the polls, reconciliations and resyncs that are due; keys keep one of each queued."""
    now = utcnow()
    due: list[NewJob] = []
    for shop in session.scalars(select(Shop).where(Shop.sync_enabled)):
        settings = shops.sync_settings(shop)
        for kind, last, every in (
            (POLL, shop.last_polled_at, settings.poll_interval_s),
            # The first poll reads a wide window already; the first reconciliation can wait its turn.
            (RECONCILE, shop.last_reconciled_at or shop.created_at, settings.reconcile_interval_s),
            (RESYNC, shop.last_resynced_at, settings.resync_interval_s),
        ):
            if last is None or (now - last).total_seconds() >= every:
                due.append(NewJob(kind, {"shop_id": shop.id}, key=f"{kind}:{shop.id}", shop_id=shop.id))
    # A poll still running has not stamped last_polled_at yet: do not start a second one beside it.
    running = set(
        session.execute(
            select(Job.kind, Job.key).where(Job.status == "running", Job.kind.in_([POLL, RECONCILE, RESYNC]))
        ).all()
    )
    enqueue(session, [job for job in due if (job.kind, job.key) not in running])


SCHEDULERS.append(schedule_periodic)
