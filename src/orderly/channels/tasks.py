"""The sync jobs that keep every shop and the hub in step, and their schedule.

Orders: ``poll_orders`` reads each shop's orders updated since its stored cursor (less an overlap
window) slice by slice, stores every order raw in the inbox (``inbox.py``), moving the cursor with each
slice's last page, then processes the inbox (also when a later request failed: what was fetched goes
in). ``backfill_orders`` reads a backfill's window (``backfills.py``) the same way, recording its
progress. Webhooks land in the same inbox and wake ``process_inbox``. ``reconcile_orders`` re-reads a
wide window and takes in whatever the hub lacks or has older.

Stock: every transaction that changes stock enqueues one ``stock_changed`` job (inventory's outbox);
it fans out into ``push_stock`` jobs, one per (shop, listing), coalesced while queued: due at once
when the listing was not pushed within the shop's coalescing window (``stock_coalesce_s``), else when
that window ends, so a burst of a thousand changes sends at most two updates per listing and window.
Pushes of one listing run one at a time. A push computes the *current* figure at run time
(``domain.publishable``) and sends that absolute value. ``resync_stock`` pushes every listing of a shop
again to correct drift.

A handler opens several short transactions: none is held across a platform call.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from sqlalchemy.orm import Session

from orderly.alerts.service import raise_alert, resolve
from orderly.catalog import repository as catalog_repo
from orderly.catalog.domain import MERCHANT
from orderly.channels import domain, inbox, ratelimit
from orderly.channels import repository as repo
from orderly.channels import service as shops
from orderly.channels.backfills import BACKFILL, backfill_job
from orderly.channels.connector import ChannelError, Connector, RateLimit, RateLimited, StockPush
from orderly.channels.inbox import INBOX
from orderly.channels.models import Backfill, Shop
from orderly.core.clock import utcnow
from orderly.core.db import transaction
from orderly.inventory.service import STOCK_CHANGED, sellable
from orderly.jobs import service as jobs
from orderly.jobs.models import Job
from orderly.jobs.registry import JobContext, Schedule, Tasks
from orderly.jobs.service import Claimed, NewJob, enqueue

POLL, PUSH, RECONCILE, RESYNC = ("poll_orders", "push_stock", "reconcile_orders", "resync_stock")
#: A poll or backfill reads its window in slices of at most this long (one getOrders call at least
#: each, at Amazon's one a minute: not too many for a year), moving its cursor with each.
SLICE = timedelta(days=7)
LONGEST_WAIT = 5.0  # a rate-limit wait longer than this reschedules the job instead of sleeping


# --- the connection to a shop ----------------------------------------------------------------------


class Paced(RateLimited):
    """Our own rate limiter asks for a wait; the platform did not fail."""


@contextmanager
def connected(ctx: JobContext, shop_id: int, health: str | None) -> Iterator[tuple[Shop, Connector]]:
    """The shop and a connector for it; the block's platform calls count for the shop's ``health`` of
    that kind (None: the block calls the platform for nothing that health tracks)."""
    with transaction(ctx.factory) as session:
        shop = repo.detached_shop(session, shop_id)
    if shop is None:
        raise LookupError(f"shop {shop_id} is gone")
    # One client per worker and shop, kept: building one costs more than most platform calls.
    key = f"http:{shop.id}:{shop.base_url}"
    client = ctx.extras.get(key)
    if client is None:
        client = ctx.extras[key] = shops.http_client(shop)
    connector = shops.connector_for(shop, client, ctx.settings)
    connector.pace = partial(_pace, ctx, connector)  # every request draws from the shop's budget
    connector.keep_credentials = partial(_keep_credentials, ctx, shop.id)
    try:
        yield shop, connector
    except Paced:
        raise
    except ChannelError as exc:
        if health is not None:
            with transaction(ctx.factory) as session:
                shops.record_failure(session, shop_id, health, f"{type(exc).__name__}: {exc}")
        if isinstance(exc, RateLimited):
            limits = connector.rate_limits
            operation = exc.operation
            names = [operation] if operation is not None and operation in limits else list(limits)
            for bucket in {limits[name].bucket or name for name in names}:
                ratelimit.block(ctx.factory, shop_id, bucket, exc.retry_after)
        raise
    if health is not None:
        with transaction(ctx.factory) as session:
            shops.record_success(session, shop_id, health)


def _keep_credentials(ctx: JobContext, shop_id: int, credentials: Mapping[str, str]) -> None:
    """The connector's credential keeper (``Connector.keep_credentials``): sealed and stored at once,
    in a transaction of their own, so new tokens outlive the job whatever becomes of it."""
    with transaction(ctx.factory) as session:
        shops.keep_credentials(session, shop_id, credentials, ctx.settings)


def _pace(ctx: JobContext, connector: Connector, operation: str) -> None:
    """The connector's pacer (``Connector.pace``): before each request, wait for the shop's shared
    bucket; a long wait becomes a retry at the right time."""
    limit = connector.rate_limits.get(operation)
    override = shops.sync_settings_of(connector.connection.settings).rate_limits.get(operation)
    if override is not None:
        limit = RateLimit(override[0], override[1], limit.bucket if limit else None)
    if limit is None:
        return
    shop_id, bucket = connector.connection.shop_id, limit.bucket or operation
    wait = ratelimit.take(ctx.factory, shop_id, bucket, limit, longest_wait=LONGEST_WAIT)
    if wait > LONGEST_WAIT:
        raise Paced(f"{operation}: waiting for the shop's rate limit", retry_after=wait, status=None)
    if wait > 0:
        ctx.sleep(wait)


# --- orders ------------------------------------------------------------------------------------------

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
    with connected(ctx, shop_id, "orders") as (_, connector):
        end = min(end, utcnow() - connector.lag)
        after = start
        while after < end:
            before = min(end, after + SLICE)
            cursor: str | None = None
            while True:
                page = connector.fetch_orders(after, before, cursor)
                cursor = page.next_cursor
                with transaction(ctx.factory) as session:
                    inbox.store(session, connector, source, "order", page.orders)
                    if progress is not None:
                        progress(session, len(page.orders), before if cursor is None else None)
                if cursor is None:
                    break
            after = before
        return end


def _process_inbox(ctx: JobContext, shop_id: int, *, helpers: bool = True) -> list[str]:
    """Map and ingest the shop's unprocessed entries; returns the orders that were new to the hub."""
    # Mapping what is already stored calls no platform: a webhook's order going in says nothing of
    # whether the shop's polls work.
    with connected(ctx, shop_id, None) as (_, connector):
        return inbox.process(ctx.factory, connector, helpers=helpers)


@contextmanager
def _fetched_goes_in(ctx: JobContext, shop_id: int) -> Iterator[None]:
    """Whatever a pull stored goes through the inbox, even when a later request failed."""
    try:
        yield
    finally:
        _process_inbox(ctx, shop_id)


def _go_on_later(ctx: JobContext, job: NewJob) -> None:
    """Waiting for the shop's rate limit is no failure: the job goes on from where it got to once the
    budget allows (``job.delay``), without spending one of its attempts."""
    with transaction(ctx.factory) as session:
        enqueue(session, [job])


def _syncing_shop(ctx: JobContext, job: Claimed) -> Shop | None:
    """The job's shop, detached, if it still exists and syncs; a job for any other is done."""
    with transaction(ctx.factory) as session:
        shop = repo.detached_shop(session, int(job.payload["shop_id"]))
    return shop if shop is not None and shop.sync_enabled else None


def _shop_job(kind: str, shop_id: int, *, delay: float = 0.0) -> NewJob:
    """A job about one shop; its key keeps one of each kind queued per shop."""
    return NewJob(kind, {"shop_id": shop_id}, key=f"{kind}:{shop_id}", shop_id=shop_id, delay=delay)


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
            repo.advance_orders_cursor(session, shop_id, reached)

    try:
        with _fetched_goes_in(ctx, shop_id):
            _pull(ctx, shop_id, start, now, "poll", advance)
    except Paced as exc:
        _go_on_later(ctx, _shop_job(POLL, shop_id, delay=exc.retry_after))
        return
    with transaction(ctx.factory) as session:
        repo.stamp_shop(session, shop_id, last_polled_at=now)


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
        # What was fetched goes in, even when a request failed; by this job alone, so that it knows
        # every order it took in.
        missing = _process_inbox(ctx, shop_id, helpers=False)
    with transaction(ctx.factory) as session:
        repo.stamp_shop(session, shop_id, last_reconciled_at=now)
        if missing:
            # Polling and webhooks should have brought these: a person should know they did not.
            raise_alert(session, "reconcile_missing", f"shop:{shop.code}", domain.missing_note(missing))


def process_inbox(ctx: JobContext, job: Claimed) -> None:
    _process_inbox(ctx, int(job.payload["shop_id"]))


def backfill_orders(ctx: JobContext, job: Claimed) -> None:
    """Read the backfill's window on from where it got to, slice by slice, recording its progress."""
    backfill_id = int(job.payload["backfill_id"])
    with transaction(ctx.factory) as session:
        backfill = session.get(Backfill, backfill_id)
        if backfill is None or backfill.finished_at is not None:
            return
        shop_id, start, until = backfill.shop_id, backfill.reached, backfill.until

    def advance(session: Session, orders: int, reached: datetime | None) -> None:
        repo.advance_backfill(session, backfill_id, orders, reached)

    try:
        with _fetched_goes_in(ctx, shop_id):
            reached = _pull(ctx, shop_id, start, until, "backfill", advance)
    except Paced as exc:
        _go_on_later(ctx, backfill_job(backfill_id, shop_id, delay=exc.retry_after))
        return
    with transaction(ctx.factory) as session:
        # Where the platform lists recent changes late, the last minutes are the polls' to read.
        repo.finish_backfill(session, backfill_id, max(start, reached), utcnow())


def poll_soon(session: Session, shop_id: int) -> None:
    """Poll the shop's orders as soon as a worker is free (one poll queued per shop at a time): a
    delivery named an order that changed without carrying it (``Connector.webhook_polls``)."""
    enqueue(session, [_shop_job(POLL, shop_id)])


def request_sync(session: Session, code: str) -> None:
    """Poll the shop's orders now and push every listing's stock again; refused for a shop that cannot
    sync, rather than queued to do nothing."""
    shop = shops.get_shop(session, code)
    shops.check_syncs(shop)
    enqueue(session, [_shop_job(kind, shop.id) for kind in (POLL, RESYNC)])


# --- stock --------------------------------------------------------------------------------------------


def stock_changed(ctx: JobContext, job: Claimed) -> None:
    with transaction(ctx.factory) as session:
        schedule_pushes(session, [int(p) for p in job.payload["product_ids"]])


def schedule_pushes(session: Session, product_ids: Sequence[int], *, shop_id: int | None = None) -> int:
    """Queue one push per listing (on syncing shops) that sells our stock and whose figure depends on
    these products: at once when the listing was not pushed within its shop's coalescing window, else
    when the window ends (``domain.push_delay``), so the changes that follow ride on the same push."""
    products = set(product_ids)
    if not products:
        return 0
    products |= catalog_repo.bundles_containing(session, products)
    windows: dict[int, float] = {}
    pushes = []
    now = utcnow()
    for shop, listing, settings, last_pushed_at in repo.listings_selling(session, products, shop_id):
        if shop not in windows:
            windows[shop] = shops.sync_settings_of(settings).stock_coalesce_s
        if listing is not None:
            delay = domain.push_delay(windows[shop], last_pushed_at, now)
            pushes.append(_push_job(shop, listing, delay=delay))
    enqueue(session, pushes)
    return len(pushes)


def _push_job(shop_id: int, listing_id: str, *, force: bool = False, delay: float = 0.0) -> NewJob:
    """A push of one listing; its key makes pushes of the listing coalesce and run one at a time."""
    payload: dict[str, Any] = {"shop_id": shop_id, "listing_id": listing_id}
    if force:
        payload["force"] = True
    return NewJob(PUSH, payload, key=_push_key(shop_id, listing_id), shop_id=shop_id, delay=delay)


def _push_key(shop_id: int, listing_id: str) -> str:
    return f"{shop_id}:{listing_id}"


def latest_pushes(session: Session, listings: Sequence[tuple[int, str]]) -> dict[tuple[int, str], Job]:
    """The newest push of each (shop id, listing id) still on record: queued or running (on its way),
    dead (given up), or done (finished jobs are purged after a while)."""
    found = jobs.latest(session, PUSH, [_push_key(*listing) for listing in listings])
    return {listing: found[key] for listing in listings if (key := _push_key(*listing)) in found}


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
        mapping = repo.listing(session, shop_id, listing_id)
        # A listing the platform fulfils from its own stock is never told the hub's figure, even forced.
        if shop is None or mapping is None or not shop.sync_enabled or mapping.fulfilled_by != MERCHANT:
            return
        available = sellable(session, [mapping.product_id])[mapping.product_id]
        quantity, low = domain.publishable(shops.sync_settings(shop), available)
        binding = repo.locked_binding(session, shop_id, listing_id)
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
    with connected(ctx, shop_id, "stock") as (_, connector):
        push = StockPush(
            listing_id, mapping.platform_sku, quantity, data, mapping.location, mapping.platform_ids or {}
        )
        (result,) = connector.push_stock([push])
        with transaction(ctx.factory) as session:
            # A refused update left the shop showing what it showed.
            told = quantity if result.ok else shown
            # Locked as an edit of the mapping locks it: moved elsewhere meanwhile, the listing where it
            # is now was told nothing yet, and the push the edit queued must not skip it.
            place = repo.locked_place(session, shop_id, listing_id)
            if place != (mapping.location, mapping.platform_ids):
                told = None
            values: dict[str, Any] = {"last_error": result.error, "last_quantity": told}
            if result.binding is not None:
                values["data"] = dict(result.binding)
            if not repo.record_push(session, shop_id, listing_id, started, values):
                # Another push started while this one was out: which figure the shop took last is
                # unknown. A new stamp keeps that one from recording either, and a push after both
                # settles it.
                repo.mark_shown_unknown(session, shop_id, listing_id, utcnow())
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


def resync_stock(ctx: JobContext, job: Claimed) -> None:
    """Push every listing of the shop again, whatever was sent before: drift does not survive this."""
    shop_id = int(job.payload["shop_id"])
    with transaction(ctx.factory) as session:
        listings = repo.merchant_listings(session, shop_id)
        # A push waiting out its coalescing window would absorb the forced one (keys coalesce) and might
        # skip: the forced push takes its place, due now.
        jobs.drop_queued(session, PUSH, shop_id)
        enqueue(session, [_push_job(shop_id, listing, force=True) for listing in listings])
        repo.stamp_shop(session, shop_id, last_resynced_at=utcnow())


# --- periodic work -------------------------------------------------------------------------------------


def schedule_periodic(session: Session) -> None:
    """Queue the polls, reconciliations and resyncs that are due; keys keep one of each queued."""
    now = utcnow()
    due: list[NewJob] = []
    for shop in repo.syncing_shops(session):
        settings = shops.sync_settings(shop)
        for kind, last, every in (
            (POLL, shop.last_polled_at, settings.poll_interval_s),
            # The first poll reads a wide window already; the first reconciliation can wait its turn.
            (RECONCILE, shop.last_reconciled_at or shop.created_at, settings.reconcile_interval_s),
            (RESYNC, shop.last_resynced_at, settings.resync_interval_s),
        ):
            if last is None or (now - last).total_seconds() >= every:
                due.append(_shop_job(kind, shop.id))
    # A poll still running has not stamped last_polled_at yet: do not start a second one beside it.
    running = jobs.running_keys(session, [POLL, RECONCILE, RESYNC])
    enqueue(session, [job for job in due if (job.kind, job.key) not in running])


#: Due polls, reconciliations and resyncs are looked for about once a second.
SCHEDULE_EVERY = 1.0

TASKS = Tasks(
    handlers={
        POLL: poll_orders,
        RECONCILE: reconcile_orders,
        INBOX: process_inbox,
        BACKFILL: backfill_orders,
        STOCK_CHANGED: stock_changed,
        PUSH: push_stock,
        RESYNC: resync_stock,
    },
    schedules=[Schedule("shop_sync", SCHEDULE_EVERY, schedule_periodic)],
)
