"""File import throughput: ``python bench/import.py [--csv-rows N] [--xlsx-rows N] [--workers N]
[--baseline-rows N] [--database sqlite]``.

Generates, in a temporary folder, a CSV of ``--csv-rows`` order lines (default 1,000,000: orders of one
to three lines with a buyer, a phone, an address and a postal code to clean, a few bad rows) and an XLSX
of ``--xlsx-rows`` (default 100,000) with Chinese headers, then imports each through
``orderly.imports.service.run_import`` into one shop, as ``orderly import orders`` does, with
``--workers`` processes (default: as the CLI, one per core up to four on PostgreSQL, one on SQLite;
an XLSX is always read by one, ``service.shard_count``); only the imports are timed. Last, for the
ratio, the first ``--baseline-rows`` rows of the same CSV (default 100,000) are imported with one
process into a fresh shop of a fresh database of its own (as empty as the run's was at its start), in a
process of its own. The goal: at least 20,000 rows/s for the CSV on PostgreSQL, with a peak RSS of at
most 300 MB.

Peak memory is resident set size as ``resource.getrusage`` gives it, read right after the CSV's import:
the bench's own process's peak (the parent of the run: the preview and the polling) and the largest peak
of the processes it has waited for (``RUSAGE_CHILDREN``: the CSV's import processes). ``peak_rss_mb`` is
their sum, an upper bound on what the parent and one import process held at once; the processes of a
run together hold about ``workers`` times the largest one's. A streamed import keeps each flat whatever
the file's length. ``xlsx_peak_rss_mb`` is the bench's own peak after the XLSX, which it imports in
this process.

PostgreSQL (the default) is the server of ``ORDERLY_DATABASE_URL`` when that points at PostgreSQL,
else the local one, in databases of its own, ``orderly_bench_import`` (and ``_baseline``), dropped and
created again on each run; ``--database sqlite`` uses files in the temporary folder (one process). The
last line printed is one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import csv
import json
import multiprocessing
import random
import resource
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

from openpyxl import Workbook
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from sqlalchemy.orm import Session, sessionmaker

from common import postgres_url
from orderly.catalog import service as catalog
from orderly.catalog.schemas import ProductIn
from orderly.channels import service as channels
from orderly.channels.schemas import ShopIn
from orderly.core.db import make_engine, make_session_factory, transaction
from orderly.core.migrate import upgrade
from orderly.imports import repository, service
from orderly.imports.domain import Kind
from orderly.imports.service import ImportOptions
from orderly.inventory import service as inventory
from orderly.inventory.schemas import WarehouseIn

BENCH_DATABASE = "orderly_bench_import"
SKUS = 300
SHOP = "bench-files"
BASELINE_SHOP = "bench-baseline"  # the one-process baseline's orders, apart from the run's
BAD_EVERY = 5000  # one row in this many has a quantity no one can read

console = Console(stderr=True)

CITIES = [
    ("US", "Seattle", "WA", "98109", "+1 206 555 {:04d}"),
    ("US", "Austin", "TX", "78701", "+1 512 555 {:04d}"),
    ("GB", "London", "", "sw1a 1aa", "+44 20 7946 {:04d}"),
    ("DE", "Berlin", "", "10115", "+49 30 1234{:04d}"),
    ("CN", "上海", "上海", "200120", "138{:04d}5678"),
    ("CN", "杭州", "浙江", "310012", "139{:04d}1111"),
]


def order_rows(count: int, seed: int, prefix: str) -> Iterator[tuple[str, ...]]:
    """``count`` order lines: orders of one to three adjacent lines, in USD."""
    rng = random.Random(seed)
    start = datetime(2026, 11, 1, 8, 0)
    made, number = 0, 0
    while made < count:
        number += 1
        country, city, region, postal, phone = CITIES[number % len(CITIES)]
        placed = (start + timedelta(seconds=number * 7)).strftime("%Y-%m-%d %H:%M:%S")
        head = (
            f"{prefix}{number:08d}", placed, f"Buyer {number}", phone.format(number % 10_000),
            f"{number} Market St", city, region, postal, country,
        )  # fmt: skip
        for _ in range(min(rng.randint(1, 3), count - made)):
            made += 1
            quantity = "x" if made % BAD_EVERY == 0 else str(rng.randint(1, 3))
            sku = f"BENCH-{rng.randrange(SKUS):04d}"
            yield (*head[:2], sku, quantity, f"{rng.randint(100, 9999) / 100:.2f}", "USD", *head[2:])


CSV_HEADERS = ("Order ID", "Order Date", "SKU", "Quantity", "Unit Price", "Currency",
               "Recipient", "Phone", "Address", "City", "State", "Postal Code", "Country")  # fmt: skip
XLSX_HEADERS = ("订单号", "下单时间", "商品编码", "数量", "单价", "币种",
                "收件人姓名", "手机", "收货地址", "城市", "省份", "邮编", "国家")  # fmt: skip


def write_csv(path: Path, rows: int) -> None:
    with path.open("w", encoding="utf-8-sig", newline="") as target:
        writer = csv.writer(target)
        writer.writerow(CSV_HEADERS)
        writer.writerows(order_rows(rows, 1, "C"))


def write_xlsx(path: Path, rows: int) -> None:
    book = Workbook(write_only=True)
    sheet = book.create_sheet("订单")
    sheet.append(XLSX_HEADERS)
    for row in order_rows(rows, 2, "X"):
        sheet.append([*row[:3], int(row[3]) if row[3].isdigit() else row[3], float(row[4]), *row[5:]])
    book.save(path)


def setup(factory: sessionmaker[Session]) -> None:
    with transaction(factory) as session:
        for code in (SHOP, BASELINE_SHOP):
            channels.create_shop(session, ShopIn(code=code, name=code.title(), channel="manual"))
        inventory.create_warehouse(session, WarehouseIn(code="WH-B", name="Bench", priority=1))
        for n in range(SKUS):
            catalog.create_product(session, ProductIn(sku=f"BENCH-{n:04d}", name=f"Bench product {n}"))
    with transaction(factory) as session:
        for n in range(SKUS):
            inventory.receive(session, f"BENCH-{n:04d}", "WH-B", 100_000_000, actor="bench", reason="bench")


def timed_import(
    factory: sessionmaker[Session], path: Path, rows: int, label: str, *, workers: int, shop: str = SHOP
) -> dict[str, float | int]:
    columns = (
        TextColumn(f"[bold]{label:<8}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]:>8,.0f} rows/s"),
        TimeElapsedColumn(),
    )
    options = ImportOptions(shop=shop, time_zone="Asia/Shanghai", actor="bench")
    with Progress(*columns, console=console) as progress, path.open("rb") as source:
        task = progress.add_task(label, total=rows, rate=0.0)
        started = time.perf_counter()

        def advanced(done: int) -> None:
            progress.update(task, completed=done, rate=done / max(time.perf_counter() - started, 1e-9))

        run_id = service.run_import(
            factory, source, path.name, Kind.ORDERS, options, progress=advanced, workers=workers
        )
        seconds = time.perf_counter() - started
    with transaction(factory) as session:
        run = repository.run(session, run_id)
        assert run is not None and run.status == "done", run and run.message
        figures = {
            "rows": run.rows_read,
            "seconds": round(seconds, 2),
            "rows_per_s": round(run.rows_read / seconds),
            "orders": run.imported,
            "unchanged": run.unchanged,
            "errors": run.failed,
        }
    assert figures["rows"] == rows, figures
    console.print(f"{label} ({workers} process{'es' if workers > 1 else ''}): {figures}")
    return figures


def baseline(url: str, path: str, rows: int) -> dict[str, float | int]:
    """In a process of its own: the one-process import of the baseline slice into a fresh database."""
    engine = make_engine(url)
    try:
        factory = make_session_factory(engine)
        setup(factory)
        return timed_import(factory, Path(path), rows, "baseline", workers=1, shop=BASELINE_SHOP)
    finally:
        engine.dispose()


def peak_rss_mb(who: int = resource.RUSAGE_SELF) -> float:
    return round(resource.getrusage(who).ru_maxrss / 1024, 1)  # KiB on Linux


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--csv-rows", type=int, default=1_000_000)
    parser.add_argument("--xlsx-rows", type=int, default=100_000)
    parser.add_argument("--baseline-rows", type=int, default=100_000, help="0: no one-process baseline")
    parser.add_argument("--workers", type=int, default=None, help="processes per import (default as the CLI)")
    parser.add_argument("--database", choices=("postgresql", "sqlite"), default="postgresql")
    args = parser.parse_args()
    baseline_rows = min(args.baseline_rows, args.csv_rows)
    with tempfile.TemporaryDirectory(prefix="orderly-bench-import-") as folder:
        here = Path(folder)
        with console.status("Writing the files"):
            write_csv(here / "orders.csv", args.csv_rows)
            write_csv(here / "baseline.csv", baseline_rows)  # the same first rows
            write_xlsx(here / "orders.xlsx", args.xlsx_rows)
        if args.database == "sqlite":
            url, base_url = f"sqlite:///{here / 'bench.db'}", f"sqlite:///{here / 'baseline.db'}"
            upgrade(url)
            upgrade(base_url)
        else:
            url, base_url = postgres_url(BENCH_DATABASE), postgres_url(f"{BENCH_DATABASE}_baseline")
        engine = make_engine(url)
        factory = make_session_factory(engine)
        workers = args.workers or service.default_workers(factory)
        with console.status("Building the catalog"):
            setup(factory)
        before = peak_rss_mb()
        csv_figures = timed_import(factory, here / "orders.csv", args.csv_rows, "CSV", workers=workers)
        csv_peaks = peak_rss_mb(), peak_rss_mb(resource.RUSAGE_CHILDREN)
        xlsx_figures = timed_import(factory, here / "orders.xlsx", args.xlsx_rows, "XLSX", workers=workers)
        xlsx_peak = peak_rss_mb()
        engine.dispose()
        base: dict[str, float | int] = {}
        if baseline_rows:  # last, in a process and a database of its own: the peaks above are the run's
            with multiprocessing.get_context("spawn").Pool(1) as pool:
                base = pool.apply(baseline, (base_url, str(here / "baseline.csv"), baseline_rows))
    result = {
        "database": args.database,
        "workers": workers,
        "csv_rows": csv_figures["rows"],
        "csv_orders": csv_figures["orders"],
        "csv_seconds": csv_figures["seconds"],
        "csv_rows_per_s": csv_figures["rows_per_s"],
        "xlsx_rows": xlsx_figures["rows"],
        "xlsx_seconds": xlsx_figures["seconds"],
        "xlsx_rows_per_s": xlsx_figures["rows_per_s"],
        "baseline_rows": base.get("rows", 0),
        "baseline_rows_per_s": base.get("rows_per_s", 0),
        "speedup": round(csv_figures["rows_per_s"] / base["rows_per_s"], 2) if base else None,
        "rss_before_imports_mb": before,
        "parent_peak_rss_mb": csv_peaks[0],
        "child_peak_rss_mb": csv_peaks[1],
        "peak_rss_mb": round(csv_peaks[0] + csv_peaks[1], 1),
        "xlsx_peak_rss_mb": xlsx_peak,
    }
    print(json.dumps(result))


if __name__ == "__main__":
    sys.exit(main())
