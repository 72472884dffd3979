"""Channel sync end to end, sandbox shops on loopback: ``python bench/sync.py [--quick]``.

Everything runs in this process as ``orderly serve`` would run it: the hub's API (webhooks) over real
HTTP, ``--workers`` job workers, and the Shopify, Amazon, TikTok Shop, Shopee and Lazada sandboxes,
each served on its own port.

Part 1, stock propagation (PostgreSQL): the same SKUs listed on one sandbox shop of each of the five
platforms. One order at a time is placed on ``shopify``; the time until every other shop has received
the new available figure is one sample (the sandboxes are objects in this process, read every
millisecond). First with webhooks (polls held off), orders at most one per ``--interval`` so Shopify's
published 2 calls/s, which the hub keeps to, is not what is measured; then with webhooks off and the
real scheduler polling every 5 s (the minimum), each order placed at a random point of the poll cycle.
Between the two, webhooks again while the sandbox catalog's shops (none of the bench's) stream
``--load-rate`` orders/s into ingest from another process (``webhook_under_load``). Last, a sale on
each of the five shops in turn (``--origin-samples`` each, placed through the sandbox as a buyer's
order), reaching the hub as its platform announces one: Shopify's webhook carries the order; TikTok
Shop's, Shopee's and Lazada's signed pushes name it and wake the shop's poll; Amazon sends nothing, so
its shop is polled every 5 s during its turn (its sales at random points of the cycle, its listing lag
and quotas for reading orders the sandbox's: what is measured is the hub). ``propagation_p95_s`` is over every
shop's sales, ``propagation_p95_s_by_origin`` per shop sold on. Samples are at least the shops'
coalescing window (``stock_coalesce_s``, 2 s) apart, so each is a change to listings not pushed within
it, which goes at once; a change within it waits for its end by design (one push per window), which
``tests/channels/test_stock_pushes.py`` shows. The engine is let settle between samples. Each sample
is broken down into hops from the database's stamps and a probe around the workers' handlers.

Part 2, raw orders/s: ``--orders`` orders placed on a Shopify sandbox with webhooks off, then taken in
by one ``poll_orders`` job (enqueued as the scheduler would) over HTTP: every page fetched into the
inbox, then the inbox mapped, ingested and reserved (``process_inbox``'s work: on PostgreSQL the
workers share it), stock fanned out to Shopify and Amazon meanwhile. ``raw_orders_per_s_postgres`` is
the inbox phase: platform payloads already in the inbox -> mapped -> ingested -> reserved.
``polled_orders_per_s_postgres`` is from the poll's start to the last order ingested, fetching
included (bounded by Shopify's 2 calls/s of 250 orders). Then the same again with ``--inbox-processes``
worker processes beside the hub that take only inbox jobs, as ``orderly worker`` runs on a multi-core
machine (``raw_orders_per_s_postgres_with_inbox_processes``): the hub's threads share one interpreter.
SQLite gets the first with ``--sqlite-orders``.

After each part: every order placed is in the hub exactly once, and every listing on every shop shows
what the hub computes (``inventory.service.sellable`` + ``channels.domain.publishable``). The last
line printed is one JSON object.
The database is ``orderly_bench_sync`` on the server of ``ORDERLY_DATABASE_URL`` when that points at
PostgreSQL, else the local one; it is dropped and created again for each part.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import multiprocessing
import os
import random
import sys
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy import func, select

from common import postgres_url
from orderly.channels.inbox import INBOX
from orderly.channels.models import InboxEntry
from orderly.channels.tasks import POLL, PUSH
from orderly.core.config import Settings
from orderly.core.db import make_engine, make_session_factory, transaction
from orderly.inventory.service import STOCK_CHANGED
from orderly.jobs.models import Job
from orderly.jobs.registry import Registry, load
from orderly.jobs.service import NewJob, enqueue, listen_for_work
from orderly.jobs.worker import Worker
from orderly.orders.ingest import ingest_batch
from orderly.orders.models import Order
from orderly.sandbox import Catalog, OrderGenerator, build_catalog, default_catalog
from orderly.sandbox.shopify.models import numbered_buyer
from sync_world import (
    BY_POLLING,
    BY_PUSH,
    BY_WEBHOOK,
    DATABASE,
    NEVER,
    PLATFORMS,
    JobRun,
    ShopifyShop,
    World,
    settings,
    sqlite_url,
    wall_seconds,
    world,
)

console = Console(stderr=True)
ORIGIN = "shopify"  # the shop whose sales parts 1 and 2 measure
MIN_POLL_INTERVAL = 5  # SyncSettings.poll_interval_s's lower bound
SHOPIFY_PAGE = 250  # orders per orders.json page the connector asks for
SHOPIFY_BURST, SHOPIFY_RATE = 40, 2.0  # Shopify's published REST bucket, which the hub paces itself to
STALLED = 120  # seconds without a new order in the inbox or the hub: part 2 gives up
LOAD_WARMUP = 3.0  # seconds the other shops' stream runs before the samples under load start


# --- part 1: propagation -----------------------------------------------------------------------------


@dataclass
class Sample:
    order_id: str
    sku: str
    placed: float  # wall clock, just before the order is placed
    received: dict[str, float] = field(default_factory=dict)  # shop code -> when it showed the figure

    @property
    def latency(self) -> float | None:
        return max(self.received.values()) - self.placed if self.received else None


@dataclass
class Propagation:
    mode: str
    origin: str
    way_in: str  # how the origin's sales reached the hub: sync_world's BY_WEBHOOK, BY_PUSH or BY_POLLING
    targets: list[str]
    samples: list[Sample]
    hops: Hops

    def complete(self) -> list[Sample]:
        return [s for s in self.samples if len(s.received) == len(self.targets)]

    def latencies(self, code: str | None = None) -> list[float]:
        """Per sample that reached every shop: seconds until ``code`` (default: the last shop) had it."""
        return [(s.received[code] if code else max(s.received.values())) - s.placed for s in self.complete()]


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest rank: the smallest value with at least ``q`` of the values at or below it."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)] if ordered else math.nan


def run_samples(
    w: World,
    count: int,
    *,
    origin: str,
    way_in: str,
    mode: str,
    interval: float,
    phase: float,
    timeout: float,
    seed: int,
    after: float = 0.0,
) -> Propagation:
    """``count`` sales on ``origin``, one at a time; each waits ``interval`` after the previous one (the
    first: after ``after``) plus a random part of ``phase``, and only once the engine is idle."""
    shop = w.shops[origin]
    targets = [code for code in w.shops if code != origin]
    figures = w.hub_figures()
    skus = sorted(shop.listings)
    rng = random.Random(seed)
    samples: list[Sample] = []
    last = after
    columns = (
        TextColumn(f"[bold]{mode:<8}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("last {task.fields[last]:>7.1f} ms"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console) as progress:
        task = progress.add_task(mode, total=count, last=0.0)
        for n in range(count):
            w.settle()
            # From now, not from the last order: a poll has just run, the next order lands anywhere in
            # the cycle.
            time.sleep(max(0.0, last + interval - time.time()) + rng.uniform(0, phase))
            sku = skus[n % len(skus)]
            wanted = {code: figures[code][sku] - 1 for code in targets}
            placed = time.time()
            order_id = shop.sell(sku)
            last = placed
            sample = Sample(order_id, sku, placed)
            while len(sample.received) < len(targets) and time.time() < placed + timeout:
                for code in targets:
                    if code not in sample.received and w.shops[code].levels().get(sku) == wanted[code]:
                        sample.received[code] = time.time()
                time.sleep(0.001)
            for code in figures:
                figures[code][sku] -= 1
            samples.append(sample)
            progress.update(task, advance=1, last=1000 * (sample.latency or timeout))
    w.settle()
    return Propagation(mode, origin, way_in, targets, samples, hop_times(w, origin, way_in, samples, targets))


@dataclass
class Hops:
    """Each sample's way to the shop that received the figure last, hop by hop."""

    times: dict[str, list[float]] = field(default_factory=dict)  # hop -> its duration in each sample
    pushes: list[int] = field(default_factory=list)  # the fan-out's pushes, per sample
    ahead: list[int] = field(default_factory=list)  # of those, how many started before the last shop's
    one_worker: int = 0  # samples whose pushes all ran on one worker, one after the other


def hop_times(w: World, origin: str, way_in: str, samples: list[Sample], targets: list[str]) -> Hops:
    origin_id = w.shop_id(origin)
    shop_ids = {code: w.shop_id(code) for code in targets}
    listed = set(w.product_ids().values())
    with transaction(w.factory) as s:
        inbox: dict[str, float] = {}
        for event_id, received_at in s.execute(
            select(InboxEntry.event_id, InboxEntry.received_at)
            .where(InboxEntry.shop_id == origin_id)
            .order_by(InboxEntry.received_at.desc())
        ):
            inbox[event_id] = wall_seconds(received_at)  # the earliest version wins
        # Only the stock changes of the listed SKUs: under load, other shops' orders announce theirs.
        reserved = sorted(
            (wall_seconds(created_at), job_id)
            for job_id, created_at, payload in s.execute(
                select(Job.id, Job.created_at, Job.payload).where(Job.kind == STOCK_CHANGED)
            )
            if listed & set(payload["product_ids"])
        )
    runs = sorted(w.probe.runs, key=lambda r: r.started)
    hops = Hops()
    for n, sample in enumerate(samples):
        end = samples[n + 1].placed if n + 1 < len(samples) else math.inf
        in_inbox = inbox.get(sample.order_id)
        stamp, job_id = next(((t, i) for t, i in reserved if sample.placed <= t < end), (None, None))
        fan_out = next((r for r in runs if r.job_id == job_id), None)
        if len(sample.received) < len(targets) or in_inbox is None or stamp is None or fan_out is None:
            continue
        last_code = max(sample.received, key=lambda code: sample.received[code])
        # From the fan-out's start: a worker may claim a push between its commit and the probe's stamp.
        pushes = [r for r in runs if r.kind == PUSH and fan_out.started <= r.started < end]
        push = next((r for r in pushes if r.shop_id == shop_ids[last_code]), None)
        if way_in == BY_WEBHOOK:
            job = _first(runs, INBOX, in_inbox, end, origin_id)
            middle = [("inbox", in_inbox), ("inbox job", job.started if job else None)]
        elif way_in == BY_PUSH:
            # The push is kept in the inbox under the order's id (never processed) and wakes a poll.
            poll = _first(runs, POLL, in_inbox, end, origin_id)
            middle = [("push in inbox", in_inbox), ("poll", poll.started if poll else None)]
        else:
            poll = next(
                (
                    r
                    for r in runs
                    if r.kind == POLL and r.shop_id == origin_id and r.started <= in_inbox <= r.ended
                ),
                None,
            )
            middle = [("poll", poll.started if poll else None), ("inbox", in_inbox)]
        instants = [
            ("placed", sample.placed),
            *middle,
            ("reserved", stamp),
            ("fan-out", fan_out.started),
            ("pushes queued", fan_out.ended),
            ("push", push.started if push else None),
            ("received", sample.received[last_code]),
        ]
        if push is None or any(t is None for _, t in instants):
            continue
        for (a, t0), (b, t1) in itertools.pairwise(instants):
            assert t0 is not None and t1 is not None
            hops.times.setdefault(f"{a} -> {b}", []).append(t1 - t0)
        hops.pushes.append(len(pushes))
        hops.ahead.append(pushes.index(push))
        hops.one_worker += len({r.worker for r in pushes}) == 1
    return hops


def _first(
    runs: list[JobRun], kind: str, start: float, end: float, shop_id: int | None = None
) -> JobRun | None:
    """The first run of ``kind`` (for ``shop_id``) that started in [start, end)."""
    return next(
        (r for r in runs if r.kind == kind and start <= r.started < end and shop_id in (None, r.shop_id)),
        None,
    )


@dataclass
class Load:
    """What the other shops' stream ingested while the samples ran."""

    orders: int = 0
    seconds: float = 0.0

    @property
    def per_s(self) -> float:
        return self.orders / self.seconds if self.seconds else 0.0


@contextmanager
def other_shops_ingesting(w: World, url: str, args: argparse.Namespace) -> Iterator[Load]:
    """The sandbox catalog's shops (none of them the bench's) send ``--load-rate`` orders/s to ingest,
    reviewed and reserved on SKUs of their own, from another process, as a second hub process would;
    the block runs while they stream. Their stock changes reach no syncing shop, yet each is a job the
    workers run beside the propagation's."""
    seconds = args.load_samples * (args.interval + 1.0) + LOAD_WARMUP + 60
    catalog = default_catalog(orders=int(args.load_rate * seconds))
    with console.status("the load's catalog"):
        build_catalog(w.factory, catalog, actor="bench")
    context = multiprocessing.get_context("spawn")
    start, stop, reports = context.Event(), context.Event(), context.Queue()
    process = context.Process(
        target=_ingest_at, args=(url, catalog, args.load_rate, args.seed, start, stop, reports), daemon=True
    )
    process.start()
    load = Load()
    try:
        reports.get()  # the load's process is up
        start.set()
        w.unawaited = frozenset({STOCK_CHANGED})
        with console.status(f"other shops ingesting {args.load_rate:,} orders/s: warming up"):
            time.sleep(LOAD_WARMUP)
        yield load
    finally:
        stop.set()
        load.orders, load.seconds = reports.get(timeout=300)
        process.join()
        w.unawaited = frozenset()


def _ingest_at(url: str, catalog: Catalog, rate: int, seed: int, start: Any, stop: Any, reports: Any) -> None:
    """Ingest generated orders at ``rate`` a second (as fast as it can, if that is slower) until told
    to stop; reports how many went in and over how long."""
    engine = make_engine(url)
    factory = make_session_factory(engine)
    generator = OrderGenerator(seed, catalog)
    batch = max(1, rate // 10)  # ten batches a second: a steady stream, not bursts
    reports.put("ready")
    start.wait()
    began, done = time.perf_counter(), 0
    while not stop.is_set():
        ingest_batch(factory, list(generator.orders(batch)), actor="bench-load")
        done += batch
        time.sleep(max(0.0, began + done / rate - time.perf_counter()))
    reports.put((done, time.perf_counter() - began))
    engine.dispose()


def propagation(
    args: argparse.Namespace, config: Settings
) -> tuple[list[Propagation], list[Propagation], Load | None, list[str]]:
    """Part 1 on one five-shop world: the modes of a sale on ``ORIGIN``, then a sale on each shop."""
    stock = {f"SKU-{n}": 10_000 for n in range(1, args.skus + 1)}
    url = postgres_url(DATABASE)
    load = None
    with world(url, stock, platforms=PLATFORMS, workers=args.workers, settings=config) as w:
        with console.status("first polls and stock pushes"):
            w.settle()
        problems = w.stock_problems()
        if problems:
            return [], [], None, [f"before the samples: {p}" for p in problems]
        w.webhooks(ORIGIN, on=True)
        idle = run_samples(
            w,
            args.samples,
            origin=ORIGIN,
            way_in=BY_WEBHOOK,
            mode="webhook",
            interval=args.interval,
            phase=0.0,
            timeout=10.0,
            seed=args.seed,
        )
        parts = [idle]
        if args.load_samples:
            with other_shops_ingesting(w, url, args) as load:
                parts.append(
                    run_samples(
                        w,
                        args.load_samples,
                        origin=ORIGIN,
                        way_in=BY_WEBHOOK,
                        mode="webhook_under_load",
                        interval=args.interval,
                        phase=0.0,
                        timeout=10.0,
                        seed=args.seed + 2,
                    )
                )
            with console.status("the load's last jobs"):
                w.settle()
        w.webhooks(ORIGIN, on=False)
        w.set_poll_interval(ORIGIN, MIN_POLL_INTERVAL)
        parts.append(
            run_samples(
                w,
                args.poll_samples,
                origin=ORIGIN,
                way_in=BY_POLLING,
                mode="polling",
                interval=0.0,
                phase=float(MIN_POLL_INTERVAL),
                timeout=30.0,
                seed=args.seed + 1,
            )
        )
        w.set_poll_interval(ORIGIN, NEVER)
        origins = each_origin(w, args, after=parts[-1].samples[-1].placed if parts[-1].samples else 0.0)
        placed: dict[str, list[str]] = {code: [] for code in w.shops}
        for part in parts + origins:
            placed[part.origin] += [s.order_id for s in part.samples]
        for code, ids in placed.items():
            problems += w.order_problems(code, ids)
        problems += w.stock_problems()
        for part in parts + origins:
            lost = len(part.samples) - len(part.complete())
            if lost:
                problems.append(f"{part.mode}: {lost} samples never reached every shop")
    return parts, origins, load, problems


def each_origin(w: World, args: argparse.Namespace, *, after: float) -> list[Propagation]:
    """``--origin-samples`` sales on each shop in turn, each announced to the hub as its platform does:
    Shopify's webhook carries the order; TikTok Shop's, Shopee's and Lazada's pushes name it and wake
    the shop's poll; Amazon sends nothing, so its shop is polled every 5 s (the minimum) while its
    sales are placed at random points of the cycle. Only the origin's way in is on during its turn."""
    parts = []
    for n, (code, shop) in enumerate(w.shops.items()):
        polled = shop.way_in == BY_POLLING
        if polled:
            w.set_poll_interval(code, MIN_POLL_INTERVAL)
        else:
            w.webhooks(code, on=True)
        part = run_samples(
            w,
            args.origin_samples,
            origin=code,
            way_in=shop.way_in,
            mode=f"from {code}",
            interval=0.0 if polled else args.interval,
            phase=float(MIN_POLL_INTERVAL) if polled else 0.0,
            timeout=30.0,
            seed=args.seed + 10 + n,
            after=after,
        )
        if polled:
            w.set_poll_interval(code, NEVER)
        else:
            w.webhooks(code, on=False)
        parts.append(part)
        after = part.samples[-1].placed if part.samples else after
    return parts


def show_propagation(parts: list[Propagation]) -> None:
    table = Table(title=f"Stock propagation: order on {ORIGIN} -> figure on every other shop (ms)")
    for column in ("mode", "to", "samples", "p50", "p90", "p99", "max"):
        table.add_column(column, justify="left" if column in ("mode", "to") else "right")
    for part in parts:
        for code in [None, *part.targets]:
            values = part.latencies(code)
            table.add_row(
                part.mode if code is None else "",
                code or "[bold]all shops",
                str(len(values)),
                *(f"{1000 * percentile(values, q):,.1f}" for q in (0.5, 0.9, 0.99)),
                f"{1000 * max(values, default=math.nan):,.1f}",
            )
    console.print(table)


def show_origins(origins: list[Propagation]) -> None:
    table = Table(title="Stock propagation: a sale on each shop -> the figure on every other shop (s)")
    for column in ("from", "way in", "to", "samples", "p50", "p95", "max"):
        table.add_column(column, justify="left" if column in ("from", "way in", "to") else "right")

    def row(origin: str, way_in: str, to: str, values: list[float]) -> None:
        table.add_row(
            origin,
            way_in,
            to,
            str(len(values)),
            *(f"{percentile(values, q):,.3f}" for q in (0.5, 0.95)),
            f"{max(values, default=math.nan):,.3f}",
        )

    for part in origins:
        row(part.origin, part.way_in, "[bold]all others", part.latencies())
        for code in part.targets:
            row("", "", code, part.latencies(code))
    row("[bold]any shop", "", "[bold]all others", [v for part in origins for v in part.latencies()])
    console.print(table)


def show_hops(parts: list[Propagation]) -> None:
    for part in parts:
        table = Table(title=f"{part.mode}: hops on the way to the shop that received last (ms)")
        for column in ("hop", "samples", "p50", "p90", "p99", "max"):
            table.add_column(column, justify="left" if column == "hop" else "right")
        for name, values in part.hops.times.items():
            table.add_row(
                name,
                str(len(values)),
                *(f"{1000 * percentile(values, q):,.1f}" for q in (0.5, 0.9, 0.99)),
                f"{1000 * max(values):,.1f}",
            )
        console.print(table)
        hops = part.hops
        if hops.pushes:
            console.print(
                f"{part.mode}: a fan-out queued {percentile(hops.pushes, 0.5):.0f} pushes (one per shop); "
                f"in {hops.one_worker} of {len(hops.pushes)} samples one worker ran them all, one after "
                f"the other; the last shop's push started after {percentile(hops.ahead, 0.5):.0f} "
                "others (p50)"
            )


# --- part 2: raw orders per second -------------------------------------------------------------------


@dataclass
class Throughput:
    database: str
    orders: int
    pages: int
    fetch_s: float  # the poll's start -> the last page in the inbox
    inbox_s: float  # the last page in the inbox -> the last order ingested (map + ingest + reserve)
    statuses: Counter[str]

    @property
    def total_s(self) -> float:
        return self.fetch_s + self.inbox_s

    @property
    def raw_per_s(self) -> float:
        return self.orders / self.inbox_s

    @property
    def polled_per_s(self) -> float:
        return self.orders / self.total_s


def throughput(
    database: str, url: str, orders: int, args: argparse.Namespace, config: Settings, *, processes: int = 0
) -> tuple[Throughput, list[str]]:
    """Raw orders through the inbox: the hub's own worker threads, and ``processes`` worker processes
    beside it that take only inbox jobs (``orderly worker`` on a multi-core machine)."""
    skus = [f"SKU-{n:02d}" for n in range(1, 9)]
    # About 1 in 15 orders finds its stock gone by the end and goes on hold, as on a busy day.
    stock = {sku: orders * 35 // 100 + 10 for sku in skus}
    with (
        world(url, stock, platforms=(ORIGIN, "amazon"), workers=args.workers, settings=config) as w,
        inbox_processes(url, processes, config),
    ):
        with console.status(f"{database}: first polls and stock pushes"):
            w.settle()
        shop = w.shops[ORIGIN]
        assert isinstance(shop, ShopifyShop)
        store = shop.store
        rng = random.Random(args.seed)
        placed = []
        with console.status(f"{database}: placing {orders:,} orders on {ORIGIN} (webhooks off)"):
            for _ in range(orders):
                lines = [
                    {"sku": sku, "quantity": rng.randint(1, 2)} for sku in rng.sample(skus, rng.randint(1, 3))
                ]
                # Many buyers, some of whom come back, as on a real shop.
                buyer = numbered_buyer(rng.randrange(orders))
                placed.append(str(store.place_order({"lines": lines, **buyer})["id"]))
        shop_id = w.shop_id(ORIGIN)
        enqueued = time.time()
        with transaction(w.factory) as s:
            # The job the scheduler (or "sync now") queues for a due poll, with the same key.
            enqueue(s, [NewJob(POLL, {"shop_id": shop_id}, key=f"{POLL}:{shop_id}", shop_id=shop_id)])
        columns = (
            TextColumn(f"[bold]{database:<10}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[stage]}"),
            TimeElapsedColumn(),
        )
        with Progress(*columns, console=console) as progress:
            task = progress.add_task(database, total=orders, stage="fetching")
            seen, moved = (-1, -1), time.monotonic()
            while True:
                with transaction(w.factory) as s:
                    fetched = (
                        s.scalar(
                            select(func.count()).select_from(InboxEntry).where(InboxEntry.shop_id == shop_id)
                        )
                        or 0
                    )
                    ingested = (
                        s.scalar(select(func.count()).select_from(Order).where(Order.shop_id == shop_id)) or 0
                    )
                stage = "fetching" if ingested == 0 else "mapping, ingesting, reserving"
                progress.update(task, completed=ingested if ingested else fetched, stage=stage)
                if ingested == orders:
                    break
                if (fetched, ingested) != seen:
                    seen, moved = (fetched, ingested), time.monotonic()
                elif time.monotonic() - moved > STALLED:
                    raise SystemExit(
                        f"{database}: nothing moved for {STALLED} s ({fetched:,} orders in the inbox, "
                        f"{ingested:,} of {orders:,} ingested)"
                    )
                time.sleep(0.25)
        w.settle()
        poll = next(
            r for r in w.probe.runs if r.kind == POLL and r.shop_id == shop_id and r.started >= enqueued
        )
        with transaction(w.factory) as s:
            last_in, last_done = s.execute(
                select(func.max(InboxEntry.received_at), func.max(InboxEntry.processed_at)).where(
                    InboxEntry.shop_id == shop_id
                )
            ).one()
            statuses = Counter(
                {
                    status: n
                    for status, n in s.execute(select(Order.status, func.count()).group_by(Order.status))
                }
            )
        result = Throughput(
            database,
            orders,
            math.ceil(orders / SHOPIFY_PAGE),
            wall_seconds(last_in) - poll.started,
            wall_seconds(last_done) - wall_seconds(last_in),
            statuses,
        )
        problems = w.order_problems(ORIGIN, placed) + w.stock_problems()
    return result, [f"{database}: {p}" for p in problems]


@contextmanager
def inbox_processes(url: str, count: int, config: Settings) -> Iterator[None]:
    """``count`` worker processes for the duration of the block, each running inbox jobs only: they
    split one shop's inbox with the hub's own workers (``FOR UPDATE SKIP LOCKED``), each on a core."""
    context = multiprocessing.get_context("spawn")
    stop = context.Event()
    processes = [
        context.Process(target=_inbox_worker, args=(url, config, stop), daemon=True) for _ in range(count)
    ]
    for process in processes:
        process.start()
    try:
        yield
    finally:
        stop.set()
        for process in processes:
            process.join(timeout=30)


def _inbox_worker(url: str, config: Settings, stop: Any) -> None:
    engine = make_engine(url)
    factory = make_session_factory(engine)
    stop_listening = listen_for_work(factory)
    try:
        Worker(factory, settings=config, registry=Registry(handlers={INBOX: load().handlers[INBOX]})).run(
            stop
        )
    finally:
        stop_listening()
        engine.dispose()


def show_throughput(results: list[Throughput]) -> None:
    table = Table(title="Raw Shopify orders -> hub orders (one poll_orders job)")
    for column in ("database", "orders", "fetch s", "inbox s", "inbox orders/s", "poll orders/s"):
        table.add_column(column, justify="left" if column == "database" else "right")
    for r in results:
        table.add_row(
            r.database,
            f"{r.orders:,}",
            f"{r.fetch_s:.1f}",
            f"{r.inbox_s:.1f}",
            f"[bold]{r.raw_per_s:,.0f}",
            f"{r.polled_per_s:,.0f}",
        )
    console.print(table)
    for r in results:
        console.print(f"{r.database}: " + ", ".join(f"{k} {v:,}" for k, v in sorted(r.statuses.items())))
    r = results[0]
    floor = max(0.0, (r.pages - SHOPIFY_BURST) / SHOPIFY_RATE)
    console.print(
        "inbox = map + ingest + reserve from raw payloads already in the inbox; poll = from the poll's "
        f"start, fetching {r.pages} pages included (Shopify's 2 calls/s alone takes >= {floor:.0f} s)"
    )


# --- the run ---------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--samples", type=int, default=100, help="webhook samples (default 100)")
    parser.add_argument("--poll-samples", type=int, default=20, help="polling samples (default 20)")
    parser.add_argument(
        "--origin-samples", type=int, default=20, help="sales on each of the five shops (default 20)"
    )
    parser.add_argument("--orders", type=int, default=20_000, help="orders for orders/s (default 20000)")
    parser.add_argument(
        "--sqlite-orders",
        type=int,
        default=None,
        help="orders/s on SQLite too (default --orders / 4; 0: skip)",
    )
    parser.add_argument("--workers", type=int, default=2, help="job workers in this process (default 2)")
    parser.add_argument(
        "--inbox-processes",
        type=int,
        default=os.cpu_count() or 2,
        help="inbox worker processes in a second PostgreSQL orders/s run (default one per core; 0: none)",
    )
    parser.add_argument("--skus", type=int, default=4, help="SKUs in the propagation catalog (default 4)")
    parser.add_argument(
        "--interval",
        type=float,
        default=2.0,
        help="least seconds between webhook samples (default 2.0, the shops' coalescing window)",
    )
    parser.add_argument(
        "--load-rate", type=int, default=2000, help="other shops' orders/s under load (default 2000)"
    )
    parser.add_argument(
        "--load-samples", type=int, default=None, help="webhook samples under load (default --samples)"
    )
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument(
        "--quick", action="store_true", help="20 + 20 + 5 samples, 5 on each shop, 2000 orders"
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.samples, args.poll_samples, args.origin_samples, args.orders = 20, 5, 5, 2000
    if args.load_samples is None:
        args.load_samples = args.samples
    if args.sqlite_orders is None:
        args.sqlite_orders = args.orders // 4
    config = settings()
    started = time.monotonic()

    parts, origins, load, problems = propagation(args, config)
    if parts:
        show_propagation(parts)
        show_hops(parts)
    if origins:
        show_origins(origins)
        show_hops(origins)
    if load is not None:
        short = (
            " [red](short of --load-rate: the machine is busy)" if load.per_s < 0.95 * args.load_rate else ""
        )
        console.print(
            f"under load: other shops' orders went in at {load.per_s:,.0f} orders/s "
            f"({load.orders:,} in {load.seconds:.0f} s, from a process of their own){short}"
        )
    results: list[Throughput] = []
    result, found = throughput("postgresql", postgres_url(DATABASE), args.orders, args, config)
    results.append(result)
    problems += found
    if args.inbox_processes:
        url = postgres_url(DATABASE)
        shared, found = throughput(
            f"postgresql +{args.inbox_processes}p",
            url,
            args.orders,
            args,
            config,
            processes=args.inbox_processes,
        )
        results.append(shared)
        problems += found
    if args.sqlite_orders:
        with sqlite_url() as url:
            result, found = throughput("sqlite", url, args.sqlite_orders, args, config)
        results.append(result)
        problems += found
    show_throughput(results)
    for problem in problems:
        console.print(f"[red]{problem}")
    if not problems:
        console.print("checks passed: every order in the hub exactly once, every shop shows the hub's figure")
    console.print(f"whole run: {time.monotonic() - started:.0f} s")

    figures: dict[str, object] = {}
    for part in parts:
        values = part.latencies()
        figures[f"propagation_p50_ms_{part.mode}"] = round(1000 * percentile(values, 0.5), 1)
        figures[f"propagation_p99_ms_{part.mode}"] = round(1000 * percentile(values, 0.99), 1)
        figures[f"samples_{part.mode}"] = len(values)
    if origins:
        anywhere = [v for part in origins for v in part.latencies()]
        for name, q in (("p50", 0.5), ("p95", 0.95)):
            figures[f"propagation_{name}_s"] = _seconds(percentile(anywhere, q))
            figures[f"propagation_{name}_s_by_origin"] = {
                part.origin: _seconds(percentile(part.latencies(), q)) for part in origins
            }
        figures["propagation_max_s"] = _seconds(max(anywhere, default=math.nan))
        figures["propagation_max_s_by_origin"] = {
            part.origin: _seconds(max(part.latencies(), default=math.nan)) for part in origins
        }
        figures["samples_by_origin"] = {part.origin: len(part.latencies()) for part in origins}
        figures["way_in_by_origin"] = {part.origin: part.way_in for part in origins}
    if load is not None:
        figures["load_orders_per_s"] = round(load.per_s, 1)
    pg = results[0]
    figures |= {
        "raw_orders_per_s_postgres": round(pg.raw_per_s, 1),
        "raw_orders_per_s_postgres_is": "inbox -> mapped -> ingested -> reserved (process_inbox), workers",
        "polled_orders_per_s_postgres": round(pg.polled_per_s, 1),
        "orders": pg.orders,
        "fetch_s_postgres": round(pg.fetch_s, 2),
        "inbox_s_postgres": round(pg.inbox_s, 2),
    }
    for r in results[1:]:
        if r.database.startswith("postgresql"):
            figures |= {
                "raw_orders_per_s_postgres_with_inbox_processes": round(r.raw_per_s, 1),
                "inbox_processes": args.inbox_processes,
            }
            continue
        figures |= {
            f"raw_orders_per_s_{r.database}": round(r.raw_per_s, 1),
            f"polled_orders_per_s_{r.database}": round(r.polled_per_s, 1),
            f"orders_{r.database}": r.orders,
        }
    figures |= {"workers": args.workers, "checks_passed": not problems}
    sys.stdout.write(json.dumps(figures) + "\n")
    if problems:
        raise SystemExit(1)


def _seconds(value: float) -> float | None:
    """Seconds to the millisecond for the JSON line; None where no sample completed (JSON has no NaN)."""
    return None if math.isnan(value) else round(value, 3)


if __name__ == "__main__":
    main()
