"""Holds after ingest: review holds keep their stock, a person releases or holds (audited), and orders
waiting for stock or a presale date are released when the condition clears."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from orderly.catalog.models import Product
from orderly.core.clock import utcnow
from orderly.core.db import transaction
from orderly.core.errors import InvalidTransition
from orderly.inventory import service as inventory
from orderly.inventory.service import STOCK_FREED
from orderly.jobs.models import Job
from orderly.jobs.worker import Worker
from orderly.orders.holds import hold_order, presale_due, release_order, release_waiting
from orderly.orders.ingest import ingest_batch
from orderly.orders.models import OrderEvent
from orderly.review import service as review
from tests.factories import order, setup_catalog, stored_order


def _reserved(factory: sessionmaker[Session], sku: str = "SKU-1") -> int:
    with transaction(factory) as s:
        return sum(f.reserved for f in inventory.stock_of(s, sku))


def _events(factory: sessionmaker[Session], order_id: int) -> list[tuple[str, str, str | None]]:
    with transaction(factory) as s:
        rows = s.execute(
            select(OrderEvent.kind, OrderEvent.actor, OrderEvent.message)
            .where(OrderEvent.order_id == order_id)
            .order_by(OrderEvent.id)
        ).all()
    return [(kind, actor, message) for kind, actor, message in rows]


def _po_box(**fields: Any) -> dict[str, Any]:
    body = order(("SKU-1", 2), **fields)
    body["shipping_address"]["line1"] = "PO Box 4471"
    return body


def test_an_order_held_by_review_keeps_its_stock_and_a_person_releases_it_with_a_note(
    factory: sessionmaker[Session],
) -> None:
    setup_catalog(factory, {"SKU-1": 5})
    ingest_batch(factory, [_po_box(external_id="PO")])
    held = stored_order(factory, "PO")
    assert held.status == "on_hold" and held.warehouse_id is not None
    assert [h["reason"] for h in held.holds] == ["address"] and "PO box" in held.holds[0]["message"]
    assert held.review is not None and held.review["outcome"] == "held"
    assert [f["rule"] for f in held.review["fired"]] == ["address.po_box"]
    assert _reserved(factory) == 2  # the platform sold these units: nobody else may take them

    with transaction(factory) as s:
        release_order(s, held.id, actor="alice", note="called the buyer, street address confirmed")

    released = stored_order(factory, "PO")
    assert (released.status, released.holds) == ("allocated", [])
    assert _reserved(factory) == 2
    kind, actor, message = _events(factory, held.id)[-1]
    assert (kind, actor) == ("released", "alice")
    assert message is not None and "street address confirmed" in message and "address" in message


def test_releasing_an_order_that_is_not_held_is_refused(factory: sessionmaker[Session]) -> None:
    setup_catalog(factory, {"SKU-1": 5})
    ingest_batch(factory, [order(("SKU-1", 1), external_id="OK")])
    with transaction(factory) as s, pytest.raises(InvalidTransition, match="not on hold"):
        release_order(s, stored_order(factory, "OK").id, actor="alice", note="why not")


def test_a_person_holds_an_order_it_keeps_its_stock_and_platform_updates_do_not_lift_the_hold(
    factory: sessionmaker[Session],
) -> None:
    setup_catalog(factory, {"SKU-1": 5})
    body = order(("SKU-1", 1), external_id="M1")
    ingest_batch(factory, [body])
    order_id = stored_order(factory, "M1").id
    with transaction(factory) as s:
        hold_order(s, order_id, actor="bob", note="buyer asked to wait")
    assert stored_order(factory, "M1").status == "on_hold" and _reserved(factory) == 1

    ingest_batch(factory, [{**body, "updated_at": (utcnow()).isoformat(), "seller_remark": "noted"}])
    still = stored_order(factory, "M1")
    assert still.status == "on_hold" and [h["reason"] for h in still.holds] == ["manual"]
    assert _events(factory, order_id)[1][:2] == ("held", "bob")

    with transaction(factory) as s:
        release_order(s, order_id, actor="bob", note="go")
    assert stored_order(factory, "M1").status == "allocated" and _reserved(factory) == 1


def test_a_person_releasing_an_order_short_of_stock_leaves_it_waiting_for_stock(
    factory: sessionmaker[Session],
) -> None:
    setup_catalog(factory, {"SKU-1": 1, "SKU-2": 1})
    ingest_batch(factory, [order(("SKU-2", 3), external_id="SHORT")])
    short = stored_order(factory, "SHORT")
    assert short.status == "on_hold" and short.holds[0]["reason"] == "out_of_stock"
    with transaction(factory) as s:
        release_order(s, short.id, actor="alice", note="try again")
    after = stored_order(factory, "SHORT")
    assert after.status == "on_hold" and after.holds[0]["reason"] == "out_of_stock"
    assert "needs 3, 1 available" in after.holds[0]["message"]


def test_stock_arriving_releases_waiting_orders_first_placed_first_served(
    factory: sessionmaker[Session],
) -> None:
    setup_catalog(factory, {"SKU-1": 1})
    ingest_batch(factory, [order(("SKU-1", 1), external_id=f"W{n}", placed=n) for n in range(4)])
    assert [stored_order(factory, f"W{n}").status for n in range(4)] == ["allocated"] + ["on_hold"] * 3

    with transaction(factory) as s:
        inventory.receive(s, "SKU-1", "WH-1", 2, actor="test", reason="delivery")
        freed = s.scalars(select(Job.payload).where(Job.kind == STOCK_FREED)).all()
    assert freed  # receiving announced it through the outbox
    with transaction(factory) as s:
        assert release_waiting(s, freed[-1]["product_ids"]) == 2

    assert [stored_order(factory, f"W{n}").status for n in range(4)] == ["allocated"] * 3 + ["on_hold"]
    kind, actor, message = _events(factory, stored_order(factory, "W1").id)[-1]
    assert (kind, actor) == ("released", "review") and message and "condition cleared" in message


def test_a_presale_order_waits_for_its_date_then_is_released(factory: sessionmaker[Session]) -> None:
    setup_catalog(factory, {"SKU-1": 1})  # the one unit stays reserved for it while it waits
    with transaction(factory) as s:
        s.execute(
            update(Product).where(Product.sku == "SKU-1").values(presale_until=utcnow() + timedelta(days=3))
        )
    ingest_batch(factory, [order(("SKU-1", 1), external_id="PRE")])
    held = stored_order(factory, "PRE")
    assert held.status == "on_hold" and "presale: SKU-1 ships from" in held.holds[0]["message"]
    assert _reserved(factory) == 1
    with transaction(factory) as s:
        assert presale_due(s) == []
        assert release_waiting(s) == 0  # the date has not come

    with transaction(factory) as s:
        s.execute(update(Product).values(presale_until=utcnow() - timedelta(minutes=1)))
        due = presale_due(s)
    with transaction(factory) as s:
        assert release_waiting(s, due) == 1
    assert stored_order(factory, "PRE").status == "allocated" and _reserved(factory) == 1


def test_with_the_stock_check_off_an_order_short_of_stock_waits_approved_as_a_backorder(
    factory: sessionmaker[Session],
) -> None:
    setup_catalog(factory, {"SKU-1": 1})
    with transaction(factory) as s:
        review.set_enabled(s, "stock.available", False, actor="test")
    ingest_batch(factory, [order(("SKU-1", 3), external_id="BACK")])
    waiting = stored_order(factory, "BACK")
    assert (waiting.status, waiting.warehouse_id, waiting.holds) == ("approved", None, [])

    with transaction(factory) as s:
        inventory.receive(s, "SKU-1", "WH-1", 1, actor="test", reason="delivery")
    with transaction(factory) as s:
        assert release_waiting(s) == 0  # 2 of 3: still waiting, still approved
    assert stored_order(factory, "BACK").status == "approved"
    with transaction(factory) as s:
        inventory.receive(s, "SKU-1", "WH-1", 1, actor="test", reason="delivery")
    with transaction(factory) as s:
        assert release_waiting(s) == 1
    assert stored_order(factory, "BACK").status == "allocated" and _reserved(factory) == 3


def test_a_worker_releases_waiting_orders_once_stock_is_received(factory: sessionmaker[Session]) -> None:
    setup_catalog(factory, {"SKU-1": 1})
    ingest_batch(factory, [order(("SKU-1", 1), external_id=f"J{n}", placed=n) for n in range(3)])
    with transaction(factory) as s:
        for _ in range(3):  # a burst of deliveries: one look at the waiting orders
            inventory.receive(s, "SKU-1", "WH-1", 1, actor="test", reason="delivery")
    worker = Worker(factory, name="test", idle_sleep=0)
    ran = 0
    while worker.run_once():
        ran += 1
        assert ran < 20, "jobs kept coming"

    assert [stored_order(factory, f"J{n}").status for n in range(3)] == ["allocated"] * 3
    assert _reserved(factory) == 3
