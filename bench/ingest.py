"""Ingest throughput on SQLite and PostgreSQL: ``python bench/ingest.py [--orders N]``.

Builds the sandbox catalog (stock sized so most orders reserve and some go on hold), then feeds
generated orders through :func:`orderly.orders.ingest.ingest_batch` in batches of
``settings.ingest_batch_size``. Only the ``ingest_batch`` calls are timed: each batch is generated
before its clock starts. PostgreSQL is measured twice: from one process, and from ``--workers``
processes at once (default one per core), which is how the hub runs ingest on a multi-core machine;
``postgres_orders_per_s`` is the latter, ``postgres_orders_per_s_one_process`` the former. After each
run the result is checked (one order per key, ledger equal to the levels, nothing negative). The last
line printed is one JSON object with the figures.

PostgreSQL is the server of ``ORDERLY_DATABASE_URL`` when that points at PostgreSQL, else the local one
(postgresql+psycopg://postgres@127.0.0.1:5432); the benchmark always uses a database of its own,
``orderly_bench``, dropped and created again on each run.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import resource
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from common import postgres_url
from orderly.core.config import get_settings
from orderly.core.db import make_engine, make_session_factory, transaction
from orderly.core.migrate import upgrade
from orderly.inventory import service as inventory
from orderly.inventory.models import StockLevel
from orderly.orders.ingest import ingest_batch
from orderly.orders.models import Order
from orderly.sandbox import Catalog, OrderGenerator, build_catalog, default_catalog

BENCH_DATABASE = "orderly_bench"

console = Console(stderr=True)


@dataclass
class Run:
    database: str
    orders: int
    seconds: float = 0.0  # inside ingest_batch only
    outcomes: Counter[str] = field(default_factory=Counter)
    statuses: Counter[str] = field(default_factory=Counter)

    @property
    def per_second(self) -> float:
        return self.orders / self.seconds if self.seconds else 0.0


def run(name: str, url: str, catalog: Catalog, orders: int, batch_size: int, seed: int) -> Run:
    engine = make_engine(url)
    factory = make_session_factory(engine)
    build_catalog(factory, catalog)
    generator = OrderGenerator(seed, catalog)
    result = Run(name, orders)
    columns = (
        TextColumn(f"[bold]{name:<10}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]:>8,.0f} orders/s"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console, transient=False) as progress:
        task = progress.add_task(name, total=orders, rate=0.0)
        done = 0
        while done < orders:
            batch = list(generator.orders(min(batch_size, orders - done)))
            started = time.perf_counter()
            report = ingest_batch(factory, batch, actor="bench")
            result.seconds += time.perf_counter() - started
            result.outcomes.update(item.outcome for item in report.items)
            result.statuses.update(item.status for item in report.items if item.status)
            done += len(batch)
            progress.update(task, completed=done, rate=result.per_second)
    check(factory, result)
    engine.dispose()
    return result


def run_workers(url: str, catalog: Catalog, orders: int, batch_size: int, seed: int, workers: int) -> Run:
    """The same ingest from several OS processes at once, as the hub runs with several workers.

    Each worker generates its share before the start signal; the figure is all orders over the wall
    time from the signal to the last worker's end.
    """
    engine = make_engine(url)
    factory = make_session_factory(engine)
    build_catalog(factory, catalog)
    engine.dispose()
    context = multiprocessing.get_context("spawn")
    start, reports = context.Event(), context.Queue()
    shares = [orders // workers + (1 if k < orders % workers else 0) for k in range(workers)]
    firsts = [1 + sum(shares[:k]) for k in range(workers)]
    processes = [
        context.Process(
            target=_worker,
            args=(url, catalog, share, first, batch_size, seed + k, start, reports),
            daemon=True,
        )
        for k, (share, first) in enumerate(zip(shares, firsts, strict=True))
    ]
    for process in processes:
        process.start()
    ready = 0
    while ready < workers:
        reports.get()  # each worker says when its orders are generated
        ready += 1
    result = Run(f"postgresql x{workers}", orders)
    with console.status(f"{workers} workers ingesting {orders:,} orders"):
        started = time.perf_counter()
        start.set()
        for _ in processes:
            outcomes, statuses = reports.get()
            result.outcomes.update(outcomes)
            result.statuses.update(statuses)
        result.seconds = time.perf_counter() - started
    for process in processes:
        process.join()
    check(make_session_factory(make_engine(url)), result)
    return result


def _worker(
    url: str,
    catalog: Catalog,
    orders: int,
    first_number: int,
    batch_size: int,
    seed: int,
    start: Any,
    reports: Any,
) -> None:
    factory = make_session_factory(make_engine(url))
    batches = []
    generator = OrderGenerator(seed, catalog, first_number=first_number)
    for done in range(0, orders, batch_size):
        batches.append(list(generator.orders(min(batch_size, orders - done))))
    reports.put("ready")
    start.wait()
    outcomes: Counter[str] = Counter()
    statuses: Counter[str] = Counter()
    for batch in batches:
        report = ingest_batch(factory, batch, actor="bench")
        outcomes.update(item.outcome for item in report.items)
        statuses.update(item.status for item in report.items if item.status)
    reports.put((outcomes, statuses))


def check(factory: sessionmaker[Session], result: Run) -> None:
    """Cheap correctness checks: every generated key stored once, ledger == levels, nothing negative."""
    problems: list[str] = []
    with transaction(factory) as s:
        stored = s.scalar(select(func.count()).select_from(Order))
        keys = s.scalar(
            select(func.count()).select_from(select(Order.shop_id, Order.external_id).distinct().subquery())
        )
        if not stored == keys == result.orders == result.outcomes["created"]:
            problems.append(
                f"{stored} orders stored, {keys} distinct keys, {result.orders} generated, "
                f"{result.outcomes['created']} created"
            )
        drifts = inventory.verify(s, repair=False, actor="bench")
        if drifts:
            problems.append(f"{len(drifts)} stock levels differ from the ledger, e.g. {drifts[0]}")
        negative = s.scalar(
            select(func.count())
            .select_from(StockLevel)
            .where(
                (StockLevel.reserved < 0)
                | (StockLevel.safety < 0)
                | (StockLevel.on_hand - StockLevel.reserved - StockLevel.safety < 0)
            )
        )
        if negative:
            problems.append(f"{negative} stock levels with a negative figure or available")
    if problems:
        for problem in problems:
            console.print(f"[red]{result.database}: {problem}")
        raise SystemExit(1)
    console.print(f"{result.database}: checks passed (orders once each, ledger == levels, none negative)")


def describe(result: Run) -> None:
    statuses = ", ".join(f"{status} {count:,}" for status, count in sorted(result.statuses.items()))
    console.print(
        f"[bold]{result.database}[/]: {result.orders:,} orders in {result.seconds:.1f} s of ingest "
        f"= [bold]{result.per_second:,.0f} orders/s[/] ({statuses})"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--orders", type=int, default=200_000, help="orders to ingest (default 200000)")
    parser.add_argument("--batch-size", type=int, default=get_settings().ingest_batch_size)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument(
        "--workers",
        type=int,
        default=os.cpu_count() or 2,
        help="ingest processes for the PostgreSQL multi-worker run (default: one per core)",
    )
    args = parser.parse_args(argv)

    catalog = default_catalog(orders=args.orders)
    started = time.perf_counter()
    generated = sum(1 for _ in OrderGenerator(args.seed, catalog).orders(min(args.orders, 50_000)))
    generate_rate = generated / (time.perf_counter() - started)
    console.print(
        f"{args.orders:,} orders in batches of {args.batch_size:,}; the generator alone makes "
        f"{generate_rate:,.0f} orders/s (not timed below)"
    )

    results: list[Run] = []
    with tempfile.TemporaryDirectory(prefix="orderly-bench-") as tmp:
        sqlite_url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        upgrade(sqlite_url)
        results.append(run("sqlite", sqlite_url, catalog, args.orders, args.batch_size, args.seed))
        describe(results[-1])
    results.append(
        run("postgresql", postgres_url(BENCH_DATABASE), catalog, args.orders, args.batch_size, args.seed)
    )
    describe(results[-1])
    results.append(
        run_workers(
            postgres_url(BENCH_DATABASE), catalog, args.orders, args.batch_size, args.seed, args.workers
        )
    )
    describe(results[-1])

    # ru_maxrss is in KiB on Linux; the workers are children, each reported on its own.
    peak_rss_mb = (
        max(
            resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
            resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,
        )
        / 1024
    )
    sqlite, postgres, postgres_workers = results
    figures = {
        "orders": args.orders,
        "sqlite_orders_per_s": round(sqlite.per_second, 1),
        "postgres_orders_per_s": round(postgres_workers.per_second, 1),
        "postgres_workers": args.workers,
        "postgres_orders_per_s_one_process": round(postgres.per_second, 1),
        "peak_rss_mb": round(peak_rss_mb, 1),
        "batch_size": args.batch_size,
        "generator_orders_per_s": round(generate_rate),
        "sqlite_seconds": round(sqlite.seconds, 2),
        "postgres_seconds_one_process": round(postgres.seconds, 2),
        "postgres_seconds": round(postgres_workers.seconds, 2),
        "statuses": dict(sorted(postgres.statuses.items())),
    }
    sys.stdout.write(json.dumps(figures) + "\n")


if __name__ == "__main__":
    main()
