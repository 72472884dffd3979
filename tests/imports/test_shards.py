"""An orders file imported by several processes at once (``imports/shards.py``) gives exactly what one
process gives: the same orders, lines, stock, run figures and errors, an order whose rows are far apart
included; a process that stops fails the run with its reason; importing the file again changes nothing.
SQLite, a dry run and an upload held in memory stay one process."""

from __future__ import annotations

import dataclasses
import io
import multiprocessing
import os
import signal
import time
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session, sessionmaker

from orderly.catalog.models import Product
from orderly.core.config import Settings, get_settings
from orderly.core.db import engine_of, make_engine, make_session_factory, transaction
from orderly.imports import repository, service, shards, tasks
from orderly.imports.domain import Kind, Layout
from orderly.imports.models import ImportRun
from orderly.imports.service import ImportOptions
from orderly.inventory.models import StockLevel, Warehouse
from orderly.jobs.worker import Worker
from orderly.models import Base
from orderly.orders.models import IngestRejection, Order, OrderLine
from orderly.review.caches import CACHES as REVIEW_CACHES
from tests.factories import setup_catalog

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("races")]

SAMPLES = Path(__file__).parent / "samples"
WORKERS = 2
BATCH = 6  # rows: small, so the far-apart order's rows land in different batches in every process
STOCK = {"SKU-1": 500, "SKU-2": 500, "SKU-3": 500}
#: What an order keeps that says when or by which row id it was written, not what it is.
_WRITTEN = {"id", "raw_payload_id", "created_at", "updated_at", "content_digest", "warehouse_id"}


def _file() -> str:
    """Orders of one to three adjacent lines, an order whose second row is the file's last, a bad
    quantity (its order's other row says so), a row without an order number and an unknown SKU."""
    rows = ["Order ID,Order Date,SKU,Quantity,Unit Price,Currency,Recipient,Phone,Address,City,Zip,Country"]

    orders: dict[str, int] = {}

    def row(number: str, sku: str, quantity: str = "1", price: str = "9.99") -> str:
        # The rows of an order agree on its header, as an export's do; no two orders share a buyer or
        # an address (review's merge and velocity rules see the other orders each has when it arrives).
        n = orders.setdefault(number, len(orders))
        return (
            f"{number},2026-12-04 10:{n % 60:02d},{sku},{quantity},{price},USD,"
            f"Buyer {number},+1 415 555 {n:04d},{n} Main St,Springfield,2134,US"
        )

    rows.append(row("FAR-1", "SKU-1", "2"))
    for n in range(40):
        number = f"P-{n:03d}"
        for line in range(n % 3 + 1):
            quantity = "x" if n == 17 and line == 1 else str(line + 1)
            rows.append(row(number, f"SKU-{line + 1}", quantity, f"{n}.{line}5"))
        if n == 25:
            rows.append(row("", "SKU-1"))
        if n == 30:
            rows.append(row("P-UNKNOWN", "NOPE-1"))
    rows.append(row("FAR-1", "SKU-3", "1", "4.50"))
    return "\n".join(rows) + "\n"


@pytest.fixture
def sharded(monkeypatch: pytest.MonkeyPatch) -> None:
    """Small files shard too; every process imports batches of ``BATCH`` rows."""
    monkeypatch.setattr(service, "SHARD_MIN_BYTES", 0)
    monkeypatch.setattr(service.kind_of(Kind.ORDERS), "batch_size", BATCH)


def _postgres_only(factory: sessionmaker[Session]) -> None:
    if engine_of(factory).dialect.name != "postgresql":
        pytest.skip("SQLite imports with one process (one writer)")


def _import(
    factory: sessionmaker[Session], path: Path, workers: int, *, shop: str = "shop-a"
) -> tuple[int, tuple[Any, ...]]:
    options = ImportOptions(shop=shop, actor="import:test")
    with path.open("rb") as source:
        run_id = service.run_import(factory, source, path.name, Kind.ORDERS, options, workers=workers)
    with transaction(factory) as s:
        run = repository.run(s, run_id)
        assert run is not None
        figures = (run.status, run.message, run.rows_read, run.imported, run.unchanged, run.failed)
    return run_id, figures


def _errors(factory: sessionmaker[Session], run_id: int) -> list[tuple[Any, ...]]:
    with transaction(factory) as s:
        return [(e.row, e.column, e.value, e.reason) for e in repository.errors(s, run_id, limit=1000)]


def _hub(factory: sessionmaker[Session]) -> dict[str, Any]:
    """Every order with its lines, the stock, and the rejections, by what they are (not their ids)."""
    with transaction(factory) as s:
        orders = {}
        for order in s.scalars(select(Order)):
            fields = {c.key: getattr(order, c.key) for c in Order.__mapper__.column_attrs}
            lines = s.execute(
                select(
                    Product.sku,
                    OrderLine.platform_sku,
                    OrderLine.title,
                    OrderLine.quantity,
                    OrderLine.shipped,
                    OrderLine.unit_price,
                    OrderLine.discount,
                    OrderLine.tax,
                )
                .join(Product, Product.id == OrderLine.product_id)
                .where(OrderLine.order_id == order.id)
                .order_by(OrderLine.platform_sku, OrderLine.unit_price)
            )
            fields = {k: _unstamped(v) for k, v in fields.items() if k not in _WRITTEN}
            orders[order.external_id] = (fields, [tuple(line) for line in lines])
        stock = sorted(
            tuple(level)
            for level in s.execute(
                select(Product.sku, Warehouse.code, StockLevel.on_hand, StockLevel.reserved)
                .join(Product, Product.id == StockLevel.product_id)
                .join(Warehouse, Warehouse.id == StockLevel.warehouse_id)
            )
        )
        rejected = sorted(s.scalars(select(IngestRejection.external_id)), key=str)
    return {"orders": orders, "stock": stock, "rejected": rejected}


def _unstamped(value: Any) -> Any:
    """A stored document without the times it was written at (``reviewed_at``)."""
    if isinstance(value, dict):
        return {k: _unstamped(v) for k, v in value.items() if not k.endswith("_at")}
    return value


def _empty(engine: Engine) -> None:
    """The database as the ``factory`` fixture leaves it, with the test's catalog and stock."""
    tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
    REVIEW_CACHES.clear()


def _shared_file(factory: sessionmaker[Session], tmp_path: Path) -> Path:
    """The test's orders file on disk and the catalog it names, on PostgreSQL (SQLite never shares)."""
    _postgres_only(factory)
    path = tmp_path / "orders.csv"
    path.write_text(_file(), encoding="utf-8")
    setup_catalog(factory, STOCK)
    return path


def test_several_processes_import_a_file_exactly_as_one_does(
    factory: sessionmaker[Session], tmp_path: Path, sharded: None
) -> None:
    path = _shared_file(factory, tmp_path)
    one_id, one = _import(factory, path, 1)
    alone, alone_errors = _hub(factory), _errors(factory, one_id)

    _empty(engine_of(factory))
    setup_catalog(factory, STOCK)
    run_id, shared = _import(factory, path, WORKERS)
    assert shared == one
    assert _errors(factory, run_id) == alone_errors
    assert _hub(factory) == alone

    # The far-apart order has both its lines, merged from two batches; the bad rows are reported.
    fields, lines = alone["orders"]["FAR-1"]
    assert [(line[0], line[3]) for line in lines] == [("SKU-1", 2), ("SKU-3", 1)]
    assert fields["status"] == "allocated"
    assert "P-017" not in alone["orders"]
    assert {error[3].split(":")[0] for error in alone_errors} >= {
        "'x' is not a whole number of units",
        "the order number is empty",
        "not imported",
    }
    assert one[5] == len(alone_errors) and one[3] == len(alone["orders"]) + 1  # FAR-1 counted twice


@pytest.mark.parametrize("workers", [1, WORKERS])
def test_importing_the_same_file_again_with_several_processes_changes_nothing(
    factory: sessionmaker[Session], tmp_path: Path, sharded: None, workers: int
) -> None:
    path = _shared_file(factory, tmp_path)
    _, first = _import(factory, path, workers)
    before = _hub(factory)
    _, again = _import(factory, path, workers)
    assert _hub(factory) == before
    status, message, rows, imported, unchanged, failed = again
    assert (status, message, rows, imported, failed) == ("done", None, first[2], 0, first[5])
    assert unchanged == first[3]


def test_an_unknown_shop_fails_the_run_shared_by_processes_as_it_fails_one(
    factory: sessionmaker[Session], tmp_path: Path, sharded: None
) -> None:
    path = _shared_file(factory, tmp_path)
    _, one = _import(factory, path, 1, shop="nope")
    _, shared = _import(factory, path, WORKERS, shop="nope")
    assert shared[:2] == one[:2] == ("failed", "unknown shop 'nope'")


def _dies(shard: shards.Shard, sender: Connection) -> None:
    """In a spawned process: the second process of the run dies at once, the first works on."""
    if shard.index == 1:
        os._exit(3)
    shards._shard(shard, sender)


def _loses_its_database(shard: shards.Shard, sender: Connection) -> None:
    """In a spawned process: a process whose database is gone stops on an unexpected error."""
    shards._shard(dataclasses.replace(shard, url="postgresql+psycopg://nobody@127.0.0.1:9/gone"), sender)


@pytest.mark.parametrize(
    ("target", "reason"),
    [
        (_dies, "stopped: import process 2 of 2 exited with code 3"),
        (_loses_its_database, "stopped by an unexpected error: OperationalError("),
    ],
)
def test_a_process_that_stops_fails_the_run_with_its_reason(
    factory: sessionmaker[Session],
    tmp_path: Path,
    sharded: None,
    monkeypatch: pytest.MonkeyPatch,
    target: Any,
    reason: str,
) -> None:
    path = _shared_file(factory, tmp_path)
    monkeypatch.setattr(shards, "_TARGET", target)
    run_id, (status, message, *_) = _import(factory, path, WORKERS)
    assert status == "failed"
    assert message is not None and message.startswith(reason)
    with transaction(factory) as s:
        run = repository.run(s, run_id)
        assert run is not None and run.finished_at is not None


def _parent_killed(url: str, path: str) -> None:
    """In a spawned process: the parent of a run shared by two processes, killed at its first look at
    the run's figures (its processes are still starting)."""
    service.SHARD_MIN_BYTES = 0
    engine = make_engine(url)
    with open(path, "rb") as source:
        service.run_import(
            make_session_factory(engine),
            source,
            "o.csv",
            Kind.ORDERS,
            ImportOptions(shop="shop-a"),
            workers=WORKERS,
            progress=lambda rows: os.kill(os.getpid(), signal.SIGKILL),
        )


def test_the_processes_of_a_run_whose_parent_was_killed_fail_the_run(
    factory: sessionmaker[Session], db_url: str, tmp_path: Path
) -> None:
    path = _shared_file(factory, tmp_path)
    parent = multiprocessing.get_context("spawn").Process(target=_parent_killed, args=(db_url, str(path)))
    parent.start()
    parent.join(timeout=120)
    assert parent.exitcode == -signal.SIGKILL
    deadline = time.monotonic() + 120
    while True:
        with transaction(factory) as s:
            run = s.scalars(select(ImportRun)).one()
            # Failed by the first process that noticed, once both have imported their shards.
            done = run.status != "running" and run.rows_read == len(_file().splitlines()) - 1
            if done or time.monotonic() > deadline:
                break
        time.sleep(0.2)
    assert (run.status, run.message) == (
        "failed",
        "stopped: the process that started the import ended before it",
    )
    assert run.finished_at is not None


def test_an_upload_on_disk_is_imported_by_the_job_with_several_processes(
    factory: sessionmaker[Session], tmp_path: Path, sharded: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    _postgres_only(factory)
    setup_catalog(factory, STOCK)
    monkeypatch.setattr(service, "default_workers", lambda factory: WORKERS)
    runs: list[int] = []
    real = shards.run

    def counted(*args: Any) -> None:
        runs.append(args[7])  # how many processes
        real(*args)

    monkeypatch.setattr(shards, "run", counted)
    settings = Settings(data_dir=tmp_path, database_url="sqlite://")
    with transaction(factory) as s:
        source = io.BytesIO(_file().encode())
        run_id = tasks.queue_upload(s, settings, source, "o.csv", Kind.ORDERS, ImportOptions(shop="shop-a"))
    worker = Worker(factory, name="test", settings=settings, batch=10)
    while worker.run_once():
        pass
    assert runs == [WORKERS]
    with transaction(factory) as s:
        run = repository.run(s, run_id)
        assert run is not None and (run.status, run.stored_path) == ("done", None)
        assert run.rows_read == len(_file().splitlines()) - 1


@pytest.mark.parametrize("why", ["in memory", "dry run", "small", "xlsx"])
def test_some_runs_stay_one_process(
    factory: sessionmaker[Session], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, why: str
) -> None:
    setup_catalog(factory, STOCK)
    if why != "small":
        monkeypatch.setattr(service, "SHARD_MIN_BYTES", 0)
    path = tmp_path / "orders.csv"
    path.write_text(_file(), encoding="utf-8")
    if why == "xlsx":
        path = tmp_path / "orders.xlsx"
        path.write_bytes((SAMPLES / "orders_zh.xlsx").read_bytes())
    impl = service.kind_of(Kind.ORDERS)
    with path.open("rb") as on_disk:
        source: Any = io.BytesIO(path.read_bytes()) if why == "in memory" else on_disk
        assert service.shard_count(factory, impl, source, WORKERS, dry_run=why == "dry run") == 1
        monkeypatch.setattr(shards, "run", lambda *args: pytest.fail("sharded"))
        run_id = service.run_import(
            factory, source, "o.csv", Kind.ORDERS, ImportOptions(shop="shop-a"), workers=WORKERS,
            dry_run=why == "dry run",
        )  # fmt: skip
    with transaction(factory) as s:
        run = repository.run(s, run_id)
        assert run is not None and run.status == "done"


def test_only_postgresql_shares_a_large_file_among_processes(
    factory: sessionmaker[Session], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(service, "SHARD_MIN_BYTES", 0)
    path = tmp_path / "orders.csv"
    path.write_text(_file(), encoding="utf-8")
    postgres = engine_of(factory).dialect.name == "postgresql"
    with path.open("rb") as source:
        assert service.shard_count(factory, service.kind_of(Kind.ORDERS), source, 3, dry_run=False) == (
            3 if postgres else 1
        )
        for kind in (Kind.STOCK, Kind.CATALOG):
            assert service.shard_count(factory, service.kind_of(kind), source, 3, dry_run=False) == 1
    monkeypatch.delenv("ORDERLY_IMPORT_WORKERS", raising=False)
    get_settings.cache_clear()
    assert service.default_workers(factory) == (min(os.cpu_count() or 1, 4) if postgres else 1)
    monkeypatch.setenv("ORDERLY_IMPORT_WORKERS", "7")  # the operator's choice, where processes can share
    get_settings.cache_clear()
    try:
        assert service.default_workers(factory) == (7 if postgres else 1)
    finally:
        monkeypatch.delenv("ORDERLY_IMPORT_WORKERS")
        get_settings.cache_clear()


def test_a_shard_is_the_same_for_the_same_order_number() -> None:
    assert shards.shard_of("114-3941689-8772232", 4) == shards.shard_of("114-3941689-8772232", 4)
    assert shards.shard_of(None, 4) == shards.shard_of("", 4) == 0
    assert {shards.shard_of(f"P-{n}", 4) for n in range(100)} == {0, 1, 2, 3}


@given(st.lists(st.sampled_from(["", " ", "'", "'7", "'+86 1", "' 7", " A-1 ", "x"]), max_size=4))
def test_a_row_is_sent_to_its_shard_by_the_order_number_the_row_reads(cells: list[str]) -> None:
    layout = Layout("t", Kind.ORDERS, {"order_number": "Order ID", "sku": "SKU"}, {"currency": "USD"})
    reader = layout.reader(["SKU", "Order ID", "Order ID"])
    row = reader.row(2, cells)
    for name in ("order_number", "sku", "currency", "quantity"):
        assert reader.value(name, cells) == row.values.get(name)
