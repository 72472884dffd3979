"""A person's release of one held order, raced from separate OS processes on both databases: people
release the same held orders from several processes at once while others ingest orders for the same
SKUs, receive and adjust stock, cancel some of the held orders and release orders waiting for stock.
An order released once reserves once (or ships with the stock it kept), each release that went through
is in its history once, nothing is oversold, the ledger equals the levels, and the shops are told every
figure that changed."""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from multiprocessing.pool import Pool

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from orderly.core.db import transaction
from orderly.core.errors import InvalidTransition
from orderly.inventory import repository as inventory_repo
from orderly.inventory import service as inventory
from orderly.orders.holds import hold_order, needs_left, release_order
from orderly.orders.ingest import ingest_batch
from orderly.orders.models import Order, OrderEvent
from tests.factories import order, setup_catalog
from tests.inventory.test_verify_races import _move
from tests.orders.test_races import _assert_consistent, _cancel, _ingest, _release_waiting
from tests.races import Calls, assert_shops_told, hub, race, race_pool

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("races")]

WORKERS = 8
PEOPLE = 3  # processes releasing the same held orders


def _release(url: str, order_ids: list[int], actor: str) -> list[tuple[int, str]]:
    """Release each held order as a person does, one transaction each; (order, its status after) of
    every release that went through."""
    with hub(url) as factory:
        done = []
        for order_id in order_ids:
            try:
                with transaction(factory) as s:
                    released = release_order(s, order_id, actor=actor, note="checked with the buyer")
                    done.append((order_id, released.status))
            except InvalidTransition:
                pass  # released (or cancelled) by another process first: no longer on hold
        return done


pool = race_pool(WORKERS)


def _assert_reservations_are_the_orders(factory: sessionmaker[Session]) -> None:
    """Each order holds, in the ledger, exactly what it has left to ship when it keeps stock (allocated,
    or held after reserving) and nothing otherwise: never twice."""
    with transaction(factory) as s:
        orders = s.execute(select(Order.id, Order.status, Order.warehouse_id)).all()
        holding = [
            i for i, status, wh in orders if status == "allocated" or (status == "on_hold" and wh is not None)
        ]
        needs = needs_left(s, holding)
        held = inventory_repo.reserved_by_order(s, [i for i, _, _ in orders])
    reserved: dict[int, Counter[int]] = defaultdict(Counter)
    for order_id, keys in held.items():
        for (product_id, _), quantity in keys.items():
            reserved[order_id][product_id] += quantity
    assert {i: dict(+by) for i, by in reserved.items()} == {i: needs[i] for i in holding}


def test_people_releasing_the_same_held_orders_reserve_once_and_never_oversell(
    pool: Pool, db_url: str, factory: sessionmaker[Session]
) -> None:
    setup_catalog(factory, {"SKU-1": 8, "SKU-2": 20}, warehouses=2)
    # Eight orders reserve the eight SKU-1 and are held by a person: they keep their stock.
    kept = ingest_batch(factory, [order(("SKU-1", 1), external_id=f"KEEP-{n}", placed=n) for n in range(8)])
    # Sixteen more wait for SKU-1 and are held by a person too: released, they reserve.
    asks = [("SKU-1", 2), ("KIT-1", 1)]
    waiting = ingest_batch(
        factory, [order(asks[n % 2], external_id=f"WAIT-{n}", placed=10 + n) for n in range(16)]
    )
    keep_ids = [item.order_id for item in kept.items if item.order_id]
    wait_ids = [item.order_id for item in waiting.items if item.order_id]
    with transaction(factory) as s:
        for order_id in keep_ids + wait_ids:
            hold_order(s, order_id, actor="alice", note="address to check")
        assert {o.status for o in s.scalars(select(Order))} == {"on_hold"}
        assert s.scalar(select(Order.warehouse_id).where(Order.id == wait_ids[0])) is None
        # 24 more SKU-1 for the 32 the waiting ones need once released, and the new orders' 16: short.
        inventory.receive(s, "SKU-1", "WH-1", 14, actor="test", reason="delivery")
        inventory.receive(s, "SKU-1", "WH-2", 10, actor="test", reason="delivery")
    targets = keep_ids + wait_ids
    cancelled = [keep_ids[0], keep_ids[5], wait_ids[2], wait_ids[9]]
    moves = [(("SKU-1", "SKU-2")[n % 2], ("WH-1", "WH-2")[n % 3 == 0], 2 if n % 4 else -1) for n in range(16)]
    calls: Calls = [
        *(
            (_release, (db_url, random.Random(w).sample(targets, len(targets)), f"person-{w}"))
            for w in range(PEOPLE)
        ),
        *(
            (
                _ingest,
                (
                    db_url,
                    [order(asks[n % 2], external_id=f"NEW-{w}-{n}", placed=100 + n) for n in range(8)],
                    2,
                ),
            )
            for w in range(2)
        ),
        (_move, (db_url, moves)),
        (_cancel, (db_url, cancelled)),
        (_release_waiting, (db_url, 6)),
    ]
    results = race(pool, calls)

    releases = [done for worker in results[:PEOPLE] for done in worker]
    went_through = Counter(order_id for order_id, _ in releases)
    allocated = Counter(order_id for order_id, status in releases if status == "allocated")
    hub_cancelled = set(results[PEOPLE + 3])
    assert hub_cancelled == set(cancelled)  # nobody else cancels them
    # An order held with its stock is released once, by one person, and ships with that stock.
    for order_id in set(keep_ids) - hub_cancelled:
        assert (went_through[order_id], allocated[order_id]) == (1, 1)
    # A waiting one is released until it finds stock (it may wait again meanwhile), then never again.
    assert all(went_through[order_id] >= 1 for order_id in set(wait_ids) - hub_cancelled)
    assert set(allocated.values()) <= {1}
    with transaction(factory) as s:
        events = Counter(
            s.scalars(
                select(OrderEvent.order_id).where(
                    OrderEvent.kind == "released", OrderEvent.actor.like("person-%")
                )
            )
        )
        by_review = s.scalar(
            select(func.count()).where(OrderEvent.kind == "released", OrderEvent.actor == "review")
        )
        left = s.execute(select(Order.id, Order.status, Order.holds).where(Order.id.in_(targets))).all()
    assert events == went_through  # each release that went through is in the history, once
    assert by_review == results[-1]
    for order_id, status, holds in left:
        if order_id in hub_cancelled:
            assert status == "cancelled" and holds == []
        else:  # every person's hold was lifted: allocated, or waiting for stock only
            assert (status, [h["reason"] for h in holds]) in [
                ("allocated", []),
                ("on_hold", ["out_of_stock"]),
            ]
    _assert_reservations_are_the_orders(factory)
    _assert_consistent(factory)
    assert_shops_told(factory)
