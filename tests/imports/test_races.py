"""Imports racing from several OS processes on both databases: the same file imported at once by each
stores every order once with all its lines, reserves its stock once, and never oversells."""

from __future__ import annotations

import io
from collections import Counter
from multiprocessing.pool import Pool

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from orderly.catalog.models import Product
from orderly.core.db import transaction
from orderly.imports import repository, service
from orderly.imports.domain import Kind
from orderly.imports.service import ImportOptions
from orderly.inventory import service as inventory
from orderly.inventory.models import StockLevel
from orderly.orders.models import Order, OrderLine
from tests.factories import setup_catalog
from tests.races import Calls, hub, race, race_pool

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("races")]

WORKERS = 4
ORDERS = 60

pool = race_pool(WORKERS)


def _file() -> bytes:
    """Orders of one or two lines; the second lines of a few orders sit further down the file."""
    lines = ["Order ID,Order Date,SKU,Quantity,Unit Price,Currency,Recipient,Address,City,Country"]
    late = []
    for n in range(ORDERS):
        head = f"R-{n:03d},2026-12-04 10:{n % 60:02d}"
        tail = f"USD,Buyer {n},{n} Main St,Springfield,US"
        lines.append(f"{head},SKU-1,1,9.99,{tail}")
        if n % 3 == 0:
            (late if n % 2 else lines).append(f"{head},SKU-2,2,4.50,{tail}")
    return "\n".join(lines + late).encode()


def _import(url: str, data: bytes, batch: int) -> tuple[int, int, int]:
    with hub(url) as factory:
        kind = service.kind_of(Kind.ORDERS)
        kind.batch_size = batch  # type: ignore[misc]  # the process's own kind: smaller batches race more
        run_id = service.run_import(
            factory, io.BytesIO(data), "race.csv", Kind.ORDERS, ImportOptions(shop="shop-a", actor="race")
        )
        with transaction(factory) as s:
            run = repository.run(s, run_id)
            assert run is not None and run.status == "done", run and run.message
            return run.rows_read, run.imported, run.failed


def test_the_same_file_imported_by_several_processes_at_once_goes_in_once(
    pool: Pool, db_url: str, factory: sessionmaker[Session]
) -> None:
    setup_catalog(factory, {"SKU-1": 50, "SKU-2": 100})
    data = _file()
    calls: Calls = [(_import, (db_url, data, 7 + 5 * w)) for w in range(WORKERS)]
    results = race(pool, calls)
    assert {failed for _, _, failed in results} == {0}

    late = [n for n in range(ORDERS) if n % 3 == 0]
    with transaction(factory) as s:
        assert s.scalar(select(func.count()).select_from(Order)) == ORDERS
        lines = Counter(s.scalars(select(Product.sku).join(OrderLine, OrderLine.product_id == Product.id)))
        assert lines == {"SKU-1": ORDERS, "SKU-2": len(late)}
        assert inventory.verify(s, repair=False, actor="test") == []
        needed: Counter[str] = Counter()
        for sku, quantity in s.execute(
            select(Product.sku, OrderLine.quantity)
            .join(Order, Order.id == OrderLine.order_id)
            .join(Product, Product.id == OrderLine.product_id)
            # Orders held after reserving keep their stock (the platform sold those units).
            .where(
                (Order.status == "allocated")
                | ((Order.status == "on_hold") & Order.warehouse_id.is_not(None))
            )
        ):
            needed[sku] += quantity
        reserved = Counter(
            {
                sku: held
                for sku, held in s.execute(
                    select(Product.sku, StockLevel.reserved).join(
                        Product, Product.id == StockLevel.product_id
                    )
                )
            }
        )
        assert +reserved == +needed
        assert reserved["SKU-1"] <= 50


SHARED = 40  # orders every file of the next race gives a part of; the first half is stored before it
PARTS = [("SKU-2", 1), ("SKU-3", 1), ("KIT-1", 1), ("SKU-1", 3)]  # what each process's file says


def _part(sku: str, quantity: int, numbers: range) -> bytes:
    lines = ["Order ID,Order Date,SKU,Quantity,Unit Price,Currency,Recipient,Address,City,Country"]
    for n in numbers:
        lines.append(
            f"S-{n:03d},2026-12-04 11:00,{sku},{quantity},5.00,USD,Buyer {n},{n} Main St,Springfield,US"
        )
    return "\n".join(lines).encode()


def test_files_giving_different_lines_of_one_order_at_once_lose_none(
    pool: Pool, db_url: str, factory: sessionmaker[Session]
) -> None:
    """Each process imports its own file with one line of the same orders: the order ends with every
    file's line (a file adds and changes lines, never removes one), whoever came first."""
    setup_catalog(factory, {"SKU-1": 1000, "SKU-2": 1000, "SKU-3": 1000})
    service.run_import(
        factory,
        io.BytesIO(_part("SKU-1", 1, range(SHARED // 2))),
        "first.csv",
        Kind.ORDERS,
        ImportOptions(shop="shop-a", actor="test"),
    )
    calls: Calls = [
        (_import, (db_url, _part(sku, quantity, range(SHARED)), 1 + 3 * w))
        for w, (sku, quantity) in enumerate(PARTS)
    ]
    results = race(pool, calls)
    assert {failed for _, _, failed in results} == {0}

    with transaction(factory) as s:
        assert s.scalar(select(func.count()).select_from(Order)) == SHARED
        lines: dict[str, dict[str, int]] = {}
        for number, sku, quantity in s.execute(
            select(Order.external_id, Product.sku, OrderLine.quantity)
            .join(OrderLine, OrderLine.order_id == Order.id)
            .join(Product, Product.id == OrderLine.product_id)
        ):
            lines.setdefault(number, {})[sku] = quantity
        assert lines == {f"S-{n:03d}": dict(PARTS) for n in range(SHARED)}
        assert inventory.verify(s, repair=False, actor="test") == []
