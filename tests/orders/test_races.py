"""Races between OS processes on both databases: the stock never oversells, an order is stored once.

Eight spawned worker processes are started once for the module and released together through a
barrier for every race, each building its own engine from the URL, as separate hub processes would.
"""

from __future__ import annotations

import random
from collections import Counter
from datetime import datetime, timedelta
from multiprocessing.pool import Pool
from typing import Any

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from orderly.catalog.models import Product
from orderly.channels.models import Shop
from orderly.core.db import transaction
from orderly.core.errors import InvalidTransition
from orderly.inventory import repository as inventory_repo
from orderly.inventory import service as inventory
from orderly.inventory.models import StockLedgerEntry, StockLevel, Warehouse
from orderly.orders.holds import release_waiting
from orderly.orders.ingest import ingest_batch
from orderly.orders.models import Order, OrderEvent, OrderLine
from orderly.orders.service import cancel_order
from tests.factories import T0, figures_recounted, order, setup_catalog
from tests.races import Calls, hub, race, race_pool

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("races")]

WORKERS = 8
KIT = {"KIT-1": {"SKU-1": 2, "SKU-2": 1}}  # as tests.factories.setup_catalog makes it

# --- in the worker processes --------------------------------------------------------------------------


def _ingest(url: str, bodies: list[dict[str, Any]], batch: int, times: int = 1) -> list[tuple[str, str]]:
    """Ingest ``bodies`` in batches, ``times`` over; (external id, outcome) of every item."""
    with hub(url) as factory:
        results = []
        for _ in range(times):
            for start in range(0, len(bodies), batch):
                report = ingest_batch(factory, bodies[start : start + batch])
                results += [(item.external_id or "", item.outcome) for item in report.items]
        return results


def _cancel(url: str, order_ids: list[int]) -> list[int]:
    """Cancel each order in the hub, one transaction each; the ids this process cancelled."""
    with hub(url) as factory:
        won = []
        for order_id in order_ids:
            try:
                with transaction(factory) as s:
                    cancel_order(s, order_id, actor="race", reason="buyer asked")
                won.append(order_id)
            except InvalidTransition:
                pass  # another process (or the platform) cancelled it first
        return won


def _receive(url: str, receipts: list[tuple[str, str, int]]) -> None:
    with hub(url) as factory:
        for sku, warehouse, quantity in receipts:
            with transaction(factory) as s:
                inventory.receive(s, sku, warehouse, quantity, actor="race", reason="delivery")


def _release_waiting(url: str, rounds: int) -> int:
    """Release orders waiting for stock, ``rounds`` times, one transaction each; how many it released."""
    with hub(url) as factory:
        released = 0
        for _ in range(rounds):
            with transaction(factory) as s:
                released += release_waiting(s)
        return released


# --- in the test process ------------------------------------------------------------------------------


pool = race_pool(WORKERS)


def _levels(factory: sessionmaker[Session]) -> dict[tuple[str, str], tuple[int, int, int]]:
    with transaction(factory) as s:
        rows = s.execute(
            select(Product.sku, Warehouse.code, StockLevel.on_hand, StockLevel.reserved, StockLevel.safety)
            .join(Product, Product.id == StockLevel.product_id)
            .join(Warehouse, Warehouse.id == StockLevel.warehouse_id)
        ).all()
    return {(sku, wh): (on_hand, reserved, safety) for sku, wh, on_hand, reserved, safety in rows}


def _assert_consistent(factory: sessionmaker[Session]) -> None:
    """Ledger == levels, nothing negative, and reserved stock is exactly what allocated orders still
    have to ship."""
    with transaction(factory) as s:
        assert inventory.verify(s, repair=False, actor="test") == []
        needed: Counter[str] = Counter()
        for sku, qty in s.execute(
            select(Product.sku, OrderLine.quantity - OrderLine.shipped)
            .join(Order, Order.id == OrderLine.order_id)
            .join(Product, Product.id == OrderLine.product_id)
            # Orders held after reserving keep their stock (the platform sold those units).
            .where(
                (Order.status == "allocated")
                | ((Order.status == "on_hold") & Order.warehouse_id.is_not(None))
            )
        ):
            for component, per_kit in KIT.get(sku, {sku: 1}).items():
                needed[component] += per_kit * qty
    reserved: Counter[str] = Counter()
    for (sku, _), (on_hand, held, safety) in _levels(factory).items():
        assert 0 <= held <= on_hand and safety >= 0
        reserved[sku] += held
    assert +reserved == +needed
    kept, counted = figures_recounted(factory)
    assert kept == counted


def test_eight_processes_never_oversell_one_sku(
    pool: Pool, db_url: str, factory: sessionmaker[Session]
) -> None:
    setup_catalog(factory, {"SKU-1": 100})
    per_worker = 25
    calls: Calls = [
        (
            _ingest,
            (db_url, [order(("SKU-1", 1), external_id=f"W{w}-{n}", placed=n) for n in range(per_worker)], 5),
        )
        for w in range(WORKERS)
    ]
    outcomes = [outcome for results in race(pool, calls) for _, outcome in results]

    assert outcomes == ["created"] * WORKERS * per_worker
    assert _levels(factory) == {("SKU-1", "WH-1"): (100, 100, 0)}
    with transaction(factory) as s:
        statuses = Counter(s.scalars(select(Order.status)))
        holds = s.scalars(select(Order.holds).where(Order.status == "on_hold")).all()
    assert statuses == {"allocated": 100, "on_hold": WORKERS * per_worker - 100}
    assert all(len(h) == 1 and h[0]["reason"] == "out_of_stock" for h in holds)
    _assert_consistent(factory)


def test_the_same_batch_from_many_processes_is_stored_and_reserved_once(
    pool: Pool, db_url: str, factory: sessionmaker[Session]
) -> None:
    setup_catalog(factory, {"SKU-1": 100, "SKU-2": 100})
    batch = [
        order(
            ("SKU-1", 1 + n % 2), *([("SKU-2", 1)] if n % 3 == 0 else []), external_id=f"SAME-{n}", placed=n
        )
        for n in range(40)
    ]
    # Each process ingests it twice, half of them in the reverse order, in batches of different sizes.
    calls: Calls = [
        (_ingest, (db_url, batch[:: 1 if w % 2 else -1], 10 + 5 * (w % 3), 2)) for w in range(WORKERS)
    ]
    results = [item for worker in race(pool, calls) for item in worker]

    created = Counter(external_id for external_id, outcome in results if outcome == "created")
    assert created == dict.fromkeys((b["external_id"] for b in batch), 1)
    assert Counter(outcome for _, outcome in results) == {"created": 40, "unchanged": 2 * WORKERS * 40 - 40}
    with transaction(factory) as s:
        per_key = s.execute(
            select(Order.shop_id, Order.external_id, func.count()).group_by(Order.shop_id, Order.external_id)
        ).all()
        assert len(per_key) == 40 and {n for _, _, n in per_key} == {1}
        assert s.scalar(select(func.count()).select_from(OrderLine)) == sum(len(b["lines"]) for b in batch)
        assert s.scalar(select(func.count()).where(OrderEvent.kind == "imported")) == 40
    sku_1 = sum(line["quantity"] for b in batch for line in b["lines"] if line["platform_sku"] == "SKU-1")
    sku_2 = sum(line["quantity"] for b in batch for line in b["lines"] if line["platform_sku"] == "SKU-2")
    assert _levels(factory) == {("SKU-1", "WH-1"): (100, sku_1, 0), ("SKU-2", "WH-1"): (100, sku_2, 0)}
    _assert_consistent(factory)


def test_cancels_race_with_ingests_and_receipts(
    pool: Pool, db_url: str, factory: sessionmaker[Session]
) -> None:
    setup_catalog(factory, {"SKU-1": 40, "SKU-2": 30}, warehouses=2)
    lines = [("KIT-1", 1), ("SKU-1", 1), ("SKU-2", 2)]
    existing = [order(lines[n % 3], external_id=f"OLD-{n}", placed=n) for n in range(60)]
    report = ingest_batch(factory, existing)
    targets = [item.order_id for item in report.items if item.order_id and item.index % 2 == 0]
    # The platform cancels ten of the targets too, racing the hub.
    platform_cancels = [
        order(lines[n % 3], external_id=f"OLD-{n}", placed=n, updated=1, cancelled=True)
        for n in range(0, 20, 2)
    ]
    receipts = [
        [(("SKU-1", "SKU-2")[n % 2], ("WH-1", "WH-2")[(n // 2) % 2], 1 + n % 3) for n in range(12)]
        for _ in range(2)
    ]
    shuffled = [random.Random(k).sample(targets, len(targets)) for k in range(3)]
    calls: Calls = [
        *((_cancel, (db_url, ids)) for ids in shuffled),
        *(
            (_ingest, (db_url, [order(lines[n % 3], external_id=f"NEW-{w}-{n}") for n in range(16)], 4))
            for w in range(2)
        ),
        (_ingest, (db_url, platform_cancels, 2)),
        *((_receive, (db_url, r)) for r in receipts),
    ]
    results = race(pool, calls)

    hub_wins = Counter(order_id for won in results[:3] for order_id in won)
    assert all(n == 1 for n in hub_wins.values())  # no order cancelled twice in the hub
    by_platform = {b["external_id"] for b in platform_cancels}
    platform_targets = {item.order_id for item in report.items if item.external_id in by_platform}
    assert set(targets) - platform_targets <= set(hub_wins)  # those only the hub cancels, it did
    assert all(outcome == "created" for worker in results[3:5] for _, outcome in worker)
    with transaction(factory) as s:
        statuses = dict(s.execute(select(Order.id, Order.status).where(Order.id.in_(targets))).all())
        assert set(statuses.values()) == {"cancelled"}
        cancel_events = Counter(
            s.scalars(
                select(OrderEvent.order_id).where(
                    OrderEvent.order_id.in_(targets),
                    OrderEvent.to_status == "cancelled",
                    OrderEvent.from_status != "cancelled",  # a later platform update is no cancellation
                )
            )
        )
        assert cancel_events == dict.fromkeys(targets, 1)  # cancelled once, by the hub or the platform
        assert inventory_repo.reserved_by_order(s, targets) == {}  # and nothing left reserved for them
        assert s.scalar(select(func.count()).select_from(Order)) == 60 + 2 * 16
    received: Counter[tuple[str, str]] = Counter({("SKU-1", "WH-1"): 40, ("SKU-2", "WH-1"): 30})
    for sku, warehouse, quantity in (r for worker in receipts for r in worker):
        received[(sku, warehouse)] += quantity
    assert {key: level[0] for key, level in _levels(factory).items()} == received
    _assert_consistent(factory)


def test_ingests_racing_into_one_quarter_hour_leave_the_home_figures_equal_to_a_recount(
    pool: Pool, db_url: str, factory: sessionmaker[Session]
) -> None:
    setup_catalog(factory, {"SKU-1": 1000})

    def versions(w: int) -> list[dict[str, Any]]:
        """Twenty orders placed in one quarter-hour of one shop, in two currencies (the same rollup rows
        for every process), then every other one again with another total or currency, some cancelled."""
        first = [
            order(("SKU-1", 1), external_id=f"Q{w}-{n}", placed=n, currency=("USD", "EUR")[n % 2])
            for n in range(20)
        ]
        again = [
            order(
                ("SKU-1", 1 + n % 4),
                external_id=f"Q{w}-{n}",
                placed=n,
                updated=60,
                currency="EUR" if n % 4 else "USD",
                cancelled=n % 6 == 0,
            )
            for n in range(0, 20, 2)
        ]
        return first + again

    results = race(pool, [(_ingest, (db_url, versions(w), 5)) for w in range(WORKERS)])

    assert Counter(outcome for worker in results for _, outcome in worker) == {
        "created": WORKERS * 20,
        "updated": WORKERS * 10,
    }
    kept, counted = figures_recounted(factory)
    assert kept == counted
    sales, imports, _ = kept
    assert sum(orders for orders, _ in sales.values()) == WORKERS * (20 - 4)  # 0, 6, 12 and 18 cancelled
    assert sum(reviewed for reviewed, _ in imports.values()) == WORKERS * 20
    _assert_consistent(factory)


def test_stock_arriving_while_processes_release_waiting_orders_is_never_oversold(
    pool: Pool, db_url: str, factory: sessionmaker[Session]
) -> None:
    setup_catalog(factory, {"SKU-1": 1})
    ingest_batch(factory, [order(("SKU-1", 1), placed=n) for n in range(61)])  # one fits, 60 wait
    calls: Calls = [(_receive, (db_url, [("SKU-1", "WH-1", 5)] * 2)) for _ in range(WORKERS // 2)] + [
        (_release_waiting, (db_url, 6)) for _ in range(WORKERS // 2)
    ]
    released_in_race = sum(r for r in race(pool, calls) if isinstance(r, int))
    with transaction(factory) as s:
        released_after = release_waiting(s)  # what arrived after the last look

    assert released_in_race + released_after == 40
    assert _levels(factory) == {("SKU-1", "WH-1"): (41, 41, 0)}
    with transaction(factory) as s:
        statuses = Counter(s.scalars(select(Order.status)))
        released = s.scalar(select(func.count()).select_from(OrderEvent).where(OrderEvent.kind == "released"))
    assert statuses == {"allocated": 41, "on_hold": 20}
    assert released == 40  # each release is in the order's history, once
    _assert_consistent(factory)


def test_shipments_reported_by_the_platform_race_with_receipts_and_ship_each_unit_once(
    pool: Pool, db_url: str, factory: sessionmaker[Session]
) -> None:
    """The platform reports orders partly, then fully shipped, each version delivered by three processes
    at once in any order, while stock arrives: every unit leaves the shelf exactly once."""
    setup_catalog(factory, {"SKU-1": 200})
    placed = [order(("SKU-1", 3), external_id=f"S{n}", placed=n) for n in range(30)]
    ingest_batch(factory, placed)

    def version(body: dict[str, Any], shipped: int, later: int) -> dict[str, Any]:
        stamp = datetime.fromisoformat(body["updated_at"]) + timedelta(seconds=later)
        lines = [{**body["lines"][0], "shipped": shipped}]
        return {**body, "updated_at": stamp.isoformat(), "lines": lines}

    rng = random.Random(11)
    partly = [version(body, 1, 10) for body in placed]
    fully = [version(body, 3, 20) for body in placed]
    calls: Calls = []
    for versions in (partly, fully):
        for _ in range(3):
            calls.append((_ingest, (db_url, rng.sample(versions, len(versions)), 5)))
    calls += [(_receive, (db_url, [("SKU-1", "WH-1", 1)] * 10))] * 2
    race(pool, calls)

    _assert_consistent(factory)
    with transaction(factory) as s:
        orders = s.execute(
            select(Order.id, Order.status, OrderLine.shipped).join(OrderLine, OrderLine.order_id == Order.id)
        ).all()
        shipped_per_order = dict(
            s.execute(
                select(StockLedgerEntry.order_id, -func.sum(StockLedgerEntry.on_hand_delta))
                .where(StockLedgerEntry.kind == "shipment")
                .group_by(StockLedgerEntry.order_id)
            ).all()
        )
    assert {(status, shipped) for _, status, shipped in orders} == {("shipped", 3)}
    assert shipped_per_order == {order_id: 3 for order_id, _, _ in orders}  # never twice, never lost
    assert _levels(factory)[("SKU-1", "WH-1")] == (200 + 20 - 90, 0, 0)


def test_orders_first_seen_shipped_from_the_shelves_race_with_reserving_ingests_and_leave_once(
    pool: Pool, db_url: str, factory: sessionmaker[Session]
) -> None:
    """Orders the seller shipped before the hub saw them (``shipped_from_stock``), each delivered by
    three processes at once, race with new orders reserving the same SKU and with receipts: each
    such order's units leave the shelf exactly once, as shipped, whatever came first, and the
    reservations stay exact."""
    setup_catalog(factory, {"SKU-1": 130})
    with transaction(factory) as s:  # the shop joined before these orders left
        s.execute(update(Shop).values(created_at=T0 - timedelta(days=1)))
    rng = random.Random(13)
    left = [
        order(("SKU-1", 2), external_id=f"L{n}", placed=n, shipped_from_stock=True, platform_status="SHIPPED")
        for n in range(20)
    ]
    for body in left:
        body["lines"][0]["shipped"] = 2
    reserving = [order(("SKU-1", 3), external_id=f"R{n}", placed=n) for n in range(30)]
    calls: Calls = [(_ingest, (db_url, rng.sample(left, len(left)), 4)) for _ in range(3)]
    calls += [(_ingest, (db_url, reserving[n::3], 5)) for n in range(3)]
    calls += [(_receive, (db_url, [("SKU-1", "WH-1", 1)] * 5))] * 2
    race(pool, calls)

    _assert_consistent(factory)
    with transaction(factory) as s:
        shipped = dict(
            s.execute(
                select(Order.external_id, -func.sum(StockLedgerEntry.on_hand_delta))
                .join(Order, Order.id == StockLedgerEntry.order_id)
                .where(StockLedgerEntry.kind == "shipment")
                .group_by(Order.external_id)
            ).all()
        )
        statuses = Counter(s.scalars(select(Order.status)))
    assert shipped == {f"L{n}": 2 for n in range(20)}  # each once, never twice, never lost
    # 130 + 10 received - 40 left unseen: 100 on the shelf, 90 of it reserved by the 30 new orders.
    assert _levels(factory)[("SKU-1", "WH-1")] == (100, 90, 0)
    assert statuses == Counter({"allocated": 30, "shipped": 20})
