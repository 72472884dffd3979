"""Re-routing racing a cancellation and another re-route, from separate OS processes on both
databases: an order's stock is released and reserved once, a cancelled order holds nothing, and the
ledger always equals the levels."""

from __future__ import annotations

from collections import Counter
from multiprocessing.pool import Pool

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from orderly.core.db import transaction
from orderly.core.errors import DomainError
from orderly.fulfilment.routing import reroute
from orderly.inventory import repository as inventory_repo
from orderly.inventory import service as inventory
from orderly.inventory.models import StockLedgerEntry
from orderly.inventory.schemas import WarehouseIn
from orderly.orders.ingest import ingest_batch
from orderly.orders.models import Order
from orderly.orders.service import cancel_order
from orderly.review import routing
from tests.factories import order, setup_catalog
from tests.races import Calls, hub, race, race_pool

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("races")]

WORKERS = 4
ORDERS = 16


def _each(url: str, work: str, ids: list[int]) -> list[tuple[int, bool]]:
    """Do ``work`` to each order, one transaction each, after every process is ready: (order, whether
    its stock moved) for each it did."""
    with hub(url) as factory:
        done = []
        for order_id in ids:
            try:
                with transaction(factory) as s:
                    if work == "cancel":
                        cancel_order(s, order_id, actor="buyer", reason="changed mind")
                        done.append((order_id, True))
                    else:
                        done.append((order_id, reroute(s, order_id, actor="router").moved))
            except DomainError:
                pass  # cancelled first: refused, nothing moved
        return done


pool = race_pool(WORKERS)


def _orders_then_a_new_route(factory: sessionmaker[Session]) -> list[int]:
    """Orders allocated in WH-1 by priority, then a routing rule that sends every order to WH-2."""
    setup_catalog(factory, {"SKU-1": 100, "SKU-2": 100}, warehouses=2)
    with transaction(factory) as s:
        inventory.receive(s, "SKU-1", "WH-2", 100, actor="test", reason="opening stock")
        inventory.receive(s, "SKU-2", "WH-2", 100, actor="test", reason="opening stock")
        inventory.create_warehouse(s, WarehouseIn(code="WH-3", name="Empty", priority=3))
    report = ingest_batch(factory, [order(("SKU-1", 2), ("KIT-1", 1)) for _ in range(ORDERS)])
    assert [item.status for item in report.items] == ["allocated"] * ORDERS
    with transaction(factory) as s:
        rule = {"key": "second", "then": [{"warehouses": {"prefer": ["WH-2"], "exclude": ["WH-1"]}}]}
        routing.save_rule(s, rule, actor="test")
    return [item.order_id for item in report.items if item.order_id is not None]


def _held(factory: sessionmaker[Session], order_ids: list[int]) -> dict[int, dict[str, int]]:
    """What each order holds, by warehouse code (units of every product)."""
    with transaction(factory) as s:
        assert inventory.verify(s, repair=False, actor="test") == []
        codes = inventory_repo.warehouse_codes(s)
        held = inventory_repo.reserved_by_order(s, order_ids)
    out: dict[int, dict[str, int]] = {}
    for order_id, by_key in held.items():
        for (_, wid), qty in by_key.items():
            out.setdefault(order_id, {}).setdefault(codes[wid], 0)
            out[order_id][codes[wid]] += qty
    return out


def test_re_routes_racing_each_other_move_each_order_once(
    pool: Pool, db_url: str, factory: sessionmaker[Session]
) -> None:
    order_ids = _orders_then_a_new_route(factory)
    calls: Calls = [(_each, (db_url, "route", order_ids[:: 1 if w % 2 else -1])) for w in range(WORKERS)]
    results = race(pool, calls)

    moved = Counter(oid for done in results for oid, did in done if did)
    assert moved == dict.fromkeys(order_ids, 1)  # the first moved it; the others found it in place
    assert _held(factory, order_ids) == {order_id: {"WH-2": 5} for order_id in order_ids}
    with transaction(factory) as s:
        releases = s.scalar(select(func.count()).where(StockLedgerEntry.kind == "release"))
        statuses = Counter(s.scalars(select(Order.status)))
    assert releases == 2 * ORDERS  # SKU-1 and SKU-2 out of WH-1, once per order
    assert statuses == {"allocated": ORDERS}


def test_re_routing_racing_a_cancellation_leaves_stock_held_once_or_not_at_all(
    pool: Pool, db_url: str, factory: sessionmaker[Session]
) -> None:
    order_ids = _orders_then_a_new_route(factory)
    calls: Calls = [
        (_each, (db_url, "route", order_ids)),
        (_each, (db_url, "cancel", order_ids[::-1])),
        (_each, (db_url, "route", order_ids[::-1])),
        (_each, (db_url, "cancel", order_ids)),
    ]
    _, cancelled, _, cancelled_back = race(pool, calls)

    gone = Counter(oid for oid, _ in cancelled + cancelled_back)
    assert set(gone.values()) == {1}  # each cancelled once, by whichever came first
    with transaction(factory) as s:
        statuses = dict(s.execute(select(Order.id, Order.status)).all())
    assert {oid for oid in order_ids if statuses[oid] == "cancelled"} == set(gone)
    # every order still open was re-routed (each router tries them all): its five units are in WH-2
    assert _held(factory, order_ids) == {oid: {"WH-2": 5} for oid in order_ids if oid not in gone}
