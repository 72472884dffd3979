"""Transfers raced from separate OS processes on both databases: a transfer ships once (its stock
leaves once), is received once (arrives once), is shipped or cancelled but never both, and a
transfer racing orders for the last units never oversells: the ledger equals the levels throughout."""

from __future__ import annotations

from collections import Counter
from multiprocessing.pool import Pool
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from orderly.core.db import transaction
from orderly.core.errors import DomainError
from orderly.inventory import service as inventory
from orderly.inventory.models import StockLedgerEntry, StockLevel, Transfer
from orderly.inventory.schemas import TransferIn, TransferLineIn, TransferReceiveIn
from orderly.orders.ingest import ingest_batch
from orderly.orders.models import Order
from tests.factories import order, setup_catalog
from tests.races import Calls, hub, race, race_pool

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("races")]

WORKERS = 4
TRANSFERS = 12


def _new(quantity: int) -> TransferIn:
    return TransferIn(
        from_warehouse="WH-1",
        to_warehouse="WH-2",
        lines=[TransferLineIn(sku="SKU-1", quantity=quantity), TransferLineIn(sku="SKU-2", quantity=1)],
    )


def _each(url: str, work: str, items: list[Any]) -> list[Any]:
    """Do ``work`` to each item, one transaction each, after every process is ready; those it did."""
    with hub(url) as factory:
        done = []
        for item in items:
            if work == "ingest":
                (outcome,) = ingest_batch(factory, [item]).items
                if outcome.status == "allocated":
                    done.append(item["external_id"])
                continue
            try:
                with transaction(factory) as s:
                    result = item
                    if work == "ship":
                        inventory.ship_transfer(s, item, actor="race")
                    elif work == "receive":
                        receipt = {
                            "lines": [{"sku": "SKU-1", "quantity": 2}, {"sku": "SKU-2", "quantity": 1}]
                        }
                        inventory.receive_transfer(
                            s, item, TransferReceiveIn.model_validate(receipt), actor="race"
                        )
                    elif work == "cancel":
                        inventory.cancel_transfer(s, item, actor="race", reason="race")
                    else:
                        result = inventory.create_transfer(s, _new(1), actor="race")
                done.append(result)
            except DomainError:
                pass  # another process got there first, or the stock is gone: refused, nothing moved
        return done


pool = race_pool(WORKERS)


def _transfers(factory: sessionmaker[Session], *, shipped: bool) -> list[int]:
    """TRANSFERS transfers of 2 x SKU-1 and 1 x SKU-2 from WH-1 (100 and 50 there) to WH-2."""
    setup_catalog(factory, {"SKU-1": 100, "SKU-2": 50}, warehouses=2)
    with transaction(factory) as s:
        ids = [inventory.create_transfer(s, _new(2), actor="test") for _ in range(TRANSFERS)]
        if shipped:
            for transfer_id in ids:
                inventory.ship_transfer(s, transfer_id, actor="test")
    return ids


def _figures(factory: sessionmaker[Session]) -> dict[tuple[int, int], tuple[int, int]]:
    """(product, warehouse) -> (on hand, reserved), after checking the levels equal the ledger."""
    with transaction(factory) as s:
        assert inventory.verify(s, repair=False, actor="test") == []
        rows = s.execute(
            select(StockLevel.product_id, StockLevel.warehouse_id, StockLevel.on_hand, StockLevel.reserved)
        ).all()
    return {(pid, wid): (on_hand, reserved) for pid, wid, on_hand, reserved in rows}


def _kinds(factory: sessionmaker[Session]) -> Counter[str]:
    with transaction(factory) as s:
        return Counter(
            dict(s.execute(select(StockLedgerEntry.kind, func.count()).group_by(StockLedgerEntry.kind)).all())
        )


def _both_ways(work: str, url: str, ids: list[int]) -> Calls:
    return [(_each, (url, work, ids[:: 1 if w % 2 else -1])) for w in range(WORKERS)]


def test_shipping_the_same_transfers_from_several_processes_takes_the_stock_once(
    pool: Pool, db_url: str, factory: sessionmaker[Session]
) -> None:
    ids = _transfers(factory, shipped=False)

    won = Counter(tid for done in race(pool, _both_ways("ship", db_url, ids)) for tid in done)

    assert won == dict.fromkeys(ids, 1)
    assert _kinds(factory)["transfer_out"] == 2 * TRANSFERS
    figures = _figures(factory)
    assert figures[(1, 1)] == (100 - 2 * TRANSFERS, 0)
    assert figures[(2, 1)] == (50 - TRANSFERS, 0)
    assert figures[(1, 2)] == (0, 0)
    with transaction(factory) as s:
        assert inventory.stock_of(s, "SKU-1")[1].in_transit == 2 * TRANSFERS


def test_receiving_the_same_transfers_from_several_processes_brings_the_stock_in_once(
    pool: Pool, db_url: str, factory: sessionmaker[Session]
) -> None:
    ids = _transfers(factory, shipped=True)

    won = Counter(tid for done in race(pool, _both_ways("receive", db_url, ids)) for tid in done)

    assert won == dict.fromkeys(ids, 1)
    assert _kinds(factory)["transfer_in"] == 2 * TRANSFERS
    figures = _figures(factory)
    assert figures[(1, 2)] == (2 * TRANSFERS, 0)
    assert figures[(2, 2)] == (TRANSFERS, 0)
    with transaction(factory) as s:
        assert set(s.scalars(select(Transfer.status))) == {"received"}
        assert inventory.stock_of(s, "SKU-1")[1].in_transit == 0


def test_shipping_racing_a_cancellation_moves_each_transfer_one_way(
    pool: Pool, db_url: str, factory: sessionmaker[Session]
) -> None:
    ids = _transfers(factory, shipped=False)
    calls: Calls = [
        (_each, (db_url, "ship", ids)),
        (_each, (db_url, "cancel", ids[::-1])),
        (_each, (db_url, "ship", ids[::-1])),
        (_each, (db_url, "cancel", ids)),
    ]
    shipped, cancelled, shipped_back, cancelled_back = race(pool, calls)

    went = Counter(shipped + shipped_back)
    stayed = Counter(cancelled + cancelled_back)
    assert set(went.values()) <= {1} and set(stayed.values()) <= {1}
    assert sorted([*went, *stayed]) == sorted(ids)
    with transaction(factory) as s:
        statuses = dict(s.execute(select(Transfer.id, Transfer.status)).all())
    assert statuses == {tid: "shipped" if tid in went else "cancelled" for tid in ids}
    figures = _figures(factory)
    assert figures[(1, 1)] == (100 - 2 * len(went), 0)  # nothing left held either way
    assert _kinds(factory)["transfer_release"] == 2 * len(stayed)


def test_transfers_racing_orders_for_the_last_units_never_oversell(
    pool: Pool, db_url: str, factory: sessionmaker[Session]
) -> None:
    """10 x SKU-1 and 50 x SKU-2 in WH-1; two processes make transfers of one SKU-1 (and one SKU-2),
    two ingest one-unit orders of SKU-1: twenty asked for ten units."""
    setup_catalog(factory, {"SKU-1": 10, "SKU-2": 50}, warehouses=2)
    orders = [order(("SKU-1", 1), external_id=f"RACE-{n}") for n in range(10)]
    calls: Calls = [
        (_each, (db_url, "create", [None] * 5)),
        (_each, (db_url, "ingest", orders[:5])),
        (_each, (db_url, "create", [None] * 5)),
        (_each, (db_url, "ingest", orders[5:])),
    ]
    made, allocated, made_too, allocated_too = race(pool, calls)

    transfers, allocations = len(made + made_too), len(allocated + allocated_too)
    assert transfers + allocations == 10  # every unit went to exactly one of them, none twice
    figures = _figures(factory)
    assert figures[(1, 1)] == (10, 10)  # all held: available 0, never below
    with transaction(factory) as s:
        assert s.scalar(select(func.count()).where(Order.status == "allocated")) == allocations
        assert s.scalar(select(func.count()).where(Order.status == "on_hold")) == 10 - allocations
        assert s.scalar(select(func.count()).select_from(Transfer)) == transfers
    kinds = _kinds(factory)
    assert (kinds["transfer_hold"], kinds["reservation"]) == (2 * transfers, allocations)
