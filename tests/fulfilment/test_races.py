"""Packers and carrier events racing each other and a cancellation, from separate OS processes on both
databases: a parcel ships once, an order's stock leaves once, and a cancelled order ships nothing."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from multiprocessing.pool import Pool

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from orderly.core.db import transaction
from orderly.core.errors import DomainError
from orderly.fulfilment import service
from orderly.fulfilment.domain import TrackingEvent, TrackingKind
from orderly.fulfilment.models import Shipment, ShipmentEvent, TrackingEventRow
from orderly.fulfilment.schemas import ShipmentIn
from orderly.inventory import service as inventory
from orderly.inventory.models import StockLedgerEntry, StockLevel
from orderly.orders.ingest import ingest_batch
from orderly.orders.models import Order, OrderLine
from orderly.orders.service import cancel_order
from tests.factories import figures_recounted, order, setup_catalog
from tests.races import Calls, hub, race, race_pool

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("races")]

WORKERS = 4
ORDERS = 16
PICKUP = TrackingEvent(
    TrackingKind.PICKED_UP, datetime(2026, 12, 1, 9, tzinfo=UTC), "PU", "Shipment picked up"
)


def _each(url: str, work: str, ids: list[int]) -> list[int]:
    """Do ``work`` to each id, one transaction each, after every process is ready; the ids it did."""
    with hub(url) as factory:
        done = []
        for item in ids:
            try:
                with transaction(factory) as s:
                    if work == "ship":
                        service.ship_shipment(s, item, actor="packer")
                    elif work == "pickup":
                        service.record_tracking(s, item, [PICKUP], source="carrier", actor="carrier")
                    elif work == "cancel":
                        cancel_order(s, item, actor="buyer", reason="changed mind")
                    else:
                        service.create_shipment(s, item, ShipmentIn(ship=True), actor="packer")
                done.append(item)
            except DomainError:
                pass  # another process got there first: refused, nothing moved
        return done


pool = race_pool(WORKERS)


def _orders_with_parcels(factory: sessionmaker[Session], *, parcels: bool) -> tuple[list[int], list[int]]:
    setup_catalog(factory, {"SKU-1": 100, "SKU-2": 100})
    report = ingest_batch(factory, [order(("SKU-1", 2), ("KIT-1", 1)) for _ in range(ORDERS)])
    order_ids = [item.order_id for item in report.items if item.order_id is not None]
    assert [item.status for item in report.items] == ["allocated"] * ORDERS
    shipment_ids = []
    if parcels:
        with transaction(factory) as s:
            for order_id in order_ids:
                shipment_ids.append(service.create_shipment(s, order_id, ShipmentIn(), actor="test").id)
    return order_ids, shipment_ids


def _check(factory: sessionmaker[Session], shipped_orders: int) -> None:
    """Ledger == levels, each shipped order took 4 x SKU-1 and 1 x SKU-2 off the shelf once, what stays
    reserved is what the orders still holding stock have left to ship, and the home page's rollups
    equal a recount."""
    with transaction(factory) as s:
        assert inventory.verify(s, repair=False, actor="test") == []
        levels = dict(s.execute(select(StockLevel.product_id, StockLevel.on_hand)).all())
        reserved = s.scalar(select(func.sum(StockLevel.reserved)))
        left = s.scalar(
            select(func.sum(OrderLine.quantity - OrderLine.shipped))
            .join(Order, Order.id == OrderLine.order_id)
            .where(Order.status.in_(["allocated", "label_printed", "partly_shipped"]))
        )
        shipments = s.scalar(select(func.count()).where(StockLedgerEntry.kind == "shipment"))
    assert sorted(levels.values()) == sorted([100 - 4 * shipped_orders, 100 - shipped_orders])
    assert shipments == 2 * shipped_orders
    # each unit left on allocated orders: line 1 reserves 2 x SKU-1, the kit 2 x SKU-1 + SKU-2
    assert reserved == (left or 0) // 3 * 5
    kept, counted = figures_recounted(factory)  # the home page's rollups too, paid-to-shipped above all
    assert kept == counted and sum(kept[2].values()) == shipped_orders


def test_packers_shipping_the_same_parcels_ship_each_once(
    pool: Pool, db_url: str, factory: sessionmaker[Session]
) -> None:
    _, shipment_ids = _orders_with_parcels(factory, parcels=True)
    calls: Calls = [(_each, (db_url, "ship", shipment_ids[:: 1 if w % 2 else -1])) for w in range(WORKERS)]
    won = Counter(sid for done in race(pool, calls) for sid in done)

    assert won == dict.fromkeys(shipment_ids, 1)
    with transaction(factory) as s:
        shipped_events = s.scalar(select(func.count()).where(ShipmentEvent.to_status == "shipped"))
        statuses = Counter(s.scalars(select(Order.status)))
    assert shipped_events == ORDERS
    assert statuses == {"shipped": ORDERS}
    _check(factory, ORDERS)


def test_packers_making_parcels_for_the_same_orders_ship_each_order_once(
    pool: Pool, db_url: str, factory: sessionmaker[Session]
) -> None:
    order_ids, _ = _orders_with_parcels(factory, parcels=False)
    calls: Calls = [(_each, (db_url, "parcel", order_ids[:: 1 if w % 2 else -1])) for w in range(WORKERS)]
    won = Counter(oid for done in race(pool, calls) for oid in done)

    assert won == dict.fromkeys(order_ids, 1)
    with transaction(factory) as s:
        assert s.scalar(select(func.count()).select_from(Shipment)) == ORDERS
    _check(factory, ORDERS)


def test_shipping_racing_a_cancellation_moves_stock_once_either_way(
    pool: Pool, db_url: str, factory: sessionmaker[Session]
) -> None:
    order_ids, shipment_ids = _orders_with_parcels(factory, parcels=True)
    calls: Calls = [
        (_each, (db_url, "ship", shipment_ids)),
        (_each, (db_url, "cancel", order_ids[::-1])),
        (_each, (db_url, "ship", shipment_ids[::-1])),
        (_each, (db_url, "cancel", order_ids)),
    ]
    shipped, cancelled, shipped_back, cancelled_back = race(pool, calls)

    with transaction(factory) as s:
        statuses = dict(s.execute(select(Order.id, Order.status)).all())
        parcel_of = dict(s.execute(select(Shipment.order_id, Shipment.status)).all())
    went = {oid for oid in order_ids if parcel_of[oid] == "shipped"}
    assert Counter(shipped + shipped_back) == dict.fromkeys(
        (sid for sid, oid in zip(shipment_ids, order_ids, strict=True) if oid in went), 1
    )
    assert Counter(cancelled + cancelled_back) == dict.fromkeys(set(order_ids) - went, 1)
    assert {oid: statuses[oid] for oid in order_ids} == {
        oid: "shipped" if oid in went else "cancelled" for oid in order_ids
    }
    _check(factory, len(went))


def test_a_pickup_reported_by_several_workers_hands_each_parcel_over_once(
    pool: Pool, db_url: str, factory: sessionmaker[Session]
) -> None:
    _, shipment_ids = _orders_with_parcels(factory, parcels=True)
    calls: Calls = [(_each, (db_url, "pickup", shipment_ids[:: 1 if w % 2 else -1])) for w in range(WORKERS)]
    race(pool, calls)

    with transaction(factory) as s:
        shipped_events = s.scalar(select(func.count()).where(ShipmentEvent.to_status == "shipped"))
        timeline = Counter(s.scalars(select(TrackingEventRow.shipment_id)))
        parcels = Counter(s.scalars(select(Shipment.status)))
    assert shipped_events == ORDERS
    assert timeline == dict.fromkeys(shipment_ids, 1)
    assert parcels == {"in_transit": ORDERS}
    _check(factory, ORDERS)


def test_a_pickup_racing_a_cancellation_moves_stock_once_either_way(
    pool: Pool, db_url: str, factory: sessionmaker[Session]
) -> None:
    order_ids, shipment_ids = _orders_with_parcels(factory, parcels=True)
    calls: Calls = [
        (_each, (db_url, "pickup", shipment_ids)),
        (_each, (db_url, "cancel", order_ids[::-1])),
        (_each, (db_url, "pickup", shipment_ids[::-1])),
        (_each, (db_url, "cancel", order_ids)),
    ]
    race(pool, calls)

    with transaction(factory) as s:
        statuses = dict(s.execute(select(Order.id, Order.status)).all())
        parcel_of = dict(s.execute(select(Shipment.order_id, Shipment.status)).all())
    went = {oid for oid in order_ids if parcel_of[oid] == "in_transit"}
    assert {oid: statuses[oid] for oid in order_ids} == {
        oid: "shipped" if oid in went else "cancelled" for oid in order_ids
    }
    _check(factory, len(went))
