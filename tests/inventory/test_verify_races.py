"""``orderly stock verify --repair`` raced from separate OS processes on both databases, while orders
reserve the same SKUs, stock arrives (the first of some SKUs in a warehouse) and is adjusted, orders
are cancelled and waiting ones released: every drift is repaired once and no drift is reported that is
not there, the ledger equals the levels after, nothing is oversold, and the shops are told every figure
a repair changed."""

from __future__ import annotations

import time
from collections import Counter
from multiprocessing.pool import Pool

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from orderly.catalog import service as catalog
from orderly.catalog.models import Product
from orderly.catalog.schemas import ProductIn
from orderly.core.db import transaction
from orderly.core.errors import DomainError
from orderly.inventory import service as inventory
from orderly.inventory.models import StockLedgerEntry, StockLevel, Warehouse
from orderly.orders.ingest import ingest_batch
from tests.factories import order, setup_catalog
from tests.orders.test_races import _assert_consistent, _cancel, _ingest, _levels, _release_waiting
from tests.races import Calls, assert_shops_told, hub, race, race_pool

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("races")]

WORKERS = 8
FRESH = [f"FRESH-{n}" for n in range(16)]  # SKUs with no stock anywhere until the race
#: level less ledger (on hand, reserved, safety) of each drift made before the race
DRIFTS = {("SKU-1", "WH-1"): (-5, 0, 0), ("SKU-2", "WH-1"): (0, 3, 0), ("SKU-3", "WH-1"): (30, 0, 0)}

Drift = tuple[str, str, tuple[int, int, int]]


def _repair(url: str, first_receipts: int, repair: bool = True) -> list[list[Drift]]:
    """Repair (or only verify), one transaction a round, until the first receipts of the fresh SKUs are
    all booked; the drifts each round reported (SKU, warehouse, level less ledger)."""
    with hub(url) as factory:
        rounds: list[list[Drift]] = []
        until = time.monotonic() + 60
        while time.monotonic() < until:
            with transaction(factory) as s:
                drifts = inventory.verify(s, repair=repair, actor="race")
            rounds.append(
                [
                    (
                        d.sku or "",
                        d.warehouse or "",
                        (d.level[0] - d.ledger[0], d.level[1] - d.ledger[1], d.level[2] - d.ledger[2]),
                    )
                    for d in drifts
                ]
            )
            with transaction(factory) as s:
                booked = s.scalar(
                    select(func.count())
                    .select_from(StockLedgerEntry)
                    .join(Product, Product.id == StockLedgerEntry.product_id)
                    .where(Product.sku.in_(FRESH))
                )
            if (booked or 0) >= first_receipts and len(rounds) >= 3:
                return rounds
        raise AssertionError("the receipts were not booked in time")


def _move(url: str, moves: list[tuple[str, str, int]]) -> int:
    """Receive (positive) or adjust (negative) stock, one transaction each; how many were refused."""
    with hub(url) as factory:
        refused = 0
        for sku, warehouse, quantity in moves:
            try:
                with transaction(factory) as s:
                    if quantity > 0:
                        inventory.receive(s, sku, warehouse, quantity, actor="race", reason="delivery")
                    else:
                        inventory.adjust(s, sku, warehouse, quantity, actor="race", reason="damaged")
            except DomainError:
                refused += 1  # not below what is reserved: refused, nothing booked
        return refused


pool = race_pool(WORKERS)


def _drift(factory: sessionmaker[Session]) -> None:
    """Make the levels differ from the ledger by ``DRIFTS``, as a hand-edited database would."""
    with transaction(factory) as s:
        for (sku, code), (on_hand, reserved, safety) in DRIFTS.items():
            product = select(Product.id).where(Product.sku == sku).scalar_subquery()
            warehouse = select(Warehouse.id).where(Warehouse.code == code).scalar_subquery()
            s.execute(
                update(StockLevel)
                .where(StockLevel.product_id == product, StockLevel.warehouse_id == warehouse)
                .values(
                    on_hand=StockLevel.on_hand + on_hand,
                    reserved=StockLevel.reserved + reserved,
                    safety=StockLevel.safety + safety,
                )
            )


def _race_movements(
    pool: Pool, db_url: str, factory: sessionmaker[Session], repair: bool
) -> tuple[list[list[list[Drift]]], list[tuple[str, str, int]]]:
    """Two processes verify (and repair) while the others reserve, receive, adjust, cancel and release;
    what each round of the two reported, and the first receipts of the fresh SKUs."""
    setup_catalog(factory, {"SKU-1": 60, "SKU-2": 40, "SKU-3": 10}, warehouses=2)
    with transaction(factory) as s:
        for sku in FRESH:
            catalog.create_product(s, ProductIn(sku=sku, name=sku))
    lines = [("SKU-1", 2), ("KIT-1", 1), ("SKU-2", 1)]
    placed = ingest_batch(factory, [order(lines[n % 3], external_id=f"OLD-{n}", placed=n) for n in range(24)])
    to_cancel = [item.order_id for item in placed.items if item.order_id and item.index % 3 == 0]
    _drift(factory)
    # The first receipt of each fresh SKU makes its level while the repairs run, among other movements.
    first = [(sku, ("WH-1", "WH-2")[n % 2], 4 + n % 3) for n, sku in enumerate(FRESH)]
    moves = [
        [
            step
            for n, receipt in enumerate(first[w::2])
            for step in (receipt, (("SKU-1", "SKU-2")[n % 2], "WH-1", 3))
        ]
        for w in range(2)
    ]
    adjustments = [(("SKU-1", "SKU-2")[n % 2], "WH-1", -1) for n in range(8)]
    new_orders = [
        [order(lines[n % 3], external_id=f"NEW-{w}-{n}", placed=100 + n) for n in range(15)] for w in range(2)
    ]
    calls: Calls = [
        (_repair, (db_url, len(first), repair)),
        (_repair, (db_url, len(first), repair)),
        (_ingest, (db_url, new_orders[0], 3)),
        (_ingest, (db_url, new_orders[1], 2)),
        (_move, (db_url, moves[0] + adjustments[:4])),
        (_move, (db_url, adjustments[4:] + moves[1])),
        (_cancel, (db_url, to_cancel)),
        (_release_waiting, (db_url, 5)),
    ]
    results = race(pool, calls)
    return results[:2], first


def test_repairs_racing_reservations_and_receipts_repair_each_drift_once_and_tell_the_shops(
    pool: Pool, db_url: str, factory: sessionmaker[Session]
) -> None:
    verifiers, first = _race_movements(pool, db_url, factory, repair=True)

    reported = Counter(drift for worker in verifiers for drifts in worker for drift in drifts)
    # Each drift made is repaired once, by one repair, and none is found that is not there.
    assert reported == {(sku, code, delta): 1 for (sku, code), delta in DRIFTS.items()}
    _assert_consistent(factory)  # the ledger equals the levels; reservations are those of the orders
    levels = _levels(factory)
    assert {key: level for key, level in levels.items() if key[0] in FRESH} == {
        (sku, code): (quantity, 0, 0) for sku, code, quantity in first
    }
    assert levels[("SKU-3", "WH-1")] == (10, 0, 0)  # the ledger's figure, not the 40 the level said
    assert_shops_told(factory)


def test_a_verify_racing_reservations_and_receipts_reports_the_drifts_there_are_and_no_other(
    pool: Pool, db_url: str, factory: sessionmaker[Session]
) -> None:
    verifiers, _ = _race_movements(pool, db_url, factory, repair=False)

    # Levels and ledger are read at one moment: a movement booked between two reads is no drift.
    made = sorted((sku, code, delta) for (sku, code), delta in DRIFTS.items())
    rounds = [sorted(drifts) for worker in verifiers for drifts in worker]
    assert len(rounds) >= 6 and all(found == made for found in rounds)
