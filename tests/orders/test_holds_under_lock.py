"""Releasing waiting orders looks first without locks, then decides under them: what changed in between
(stock taken, an order held by a person or cancelled) is what counts. On both databases.

The window between the look and the lock is opened where the look reads stock without locking
(``inventory.repository.read_levels``), as another writer would use it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from orderly.core.db import transaction
from orderly.inventory import repository as inventory_repo
from orderly.inventory import service as inventory
from orderly.inventory.domain import Level
from orderly.orders.holds import hold_order, release_waiting
from orderly.orders.ingest import ingest_batch
from orderly.orders.models import OrderEvent
from orderly.orders.service import cancel_order
from tests.factories import order, setup_catalog, stored_order


@contextmanager
def _between_look_and_lock(
    monkeypatch: pytest.MonkeyPatch, session: Session, meanwhile: Callable[[Session], None] | None = None
) -> Iterator[None]:
    """Runs ``meanwhile`` once the unlocked look has read the stock, before anything is locked; the
    look sees 100 more units of everything than there are (someone took them since)."""
    real = inventory_repo.read_levels
    looks: list[bool] = []

    def look_then_change(s: Session, product_ids: object) -> object:
        found = real(s, product_ids)  # type: ignore[arg-type]
        looks.append(True)
        if meanwhile is not None:
            meanwhile(session)
        return {key: Level(lv.on_hand + 100, lv.reserved, lv.safety) for key, lv in found.items()}

    monkeypatch.setattr(inventory_repo, "read_levels", look_then_change)
    yield
    assert looks, "release_waiting no longer looks before it locks: this test must find the new window"


def _waiting(factory: sessionmaker[Session], count: int) -> list[str]:
    """SKU-1 with one unit, taken by W0; W1.. wait for stock, then two units arrive."""
    setup_catalog(factory, {"SKU-1": 1})
    names = [f"W{n}" for n in range(count + 1)]
    ingest_batch(factory, [order(("SKU-1", 1), external_id=name, placed=n) for n, name in enumerate(names)])
    assert [stored_order(factory, name).status for name in names] == ["allocated"] + ["on_hold"] * count
    with transaction(factory) as s:
        inventory.receive(s, "SKU-1", "WH-1", 2, actor="test", reason="delivery")
    return names


def _stock(factory: sessionmaker[Session]) -> tuple[int, int]:
    with transaction(factory) as s:
        (figure,) = inventory.stock_of(s, "SKU-1")
        assert inventory.verify(s, repair=False, actor="test") == []  # levels equal the ledger
    return figure.on_hand, figure.reserved


def test_orders_are_released_on_the_stock_found_under_the_lock_not_on_the_look(
    factory: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    names = _waiting(factory, 3)
    with transaction(factory) as s, _between_look_and_lock(monkeypatch, s):
        released = release_waiting(s)

    assert released == 2  # the look promised all three; the locked figures fill two
    assert [stored_order(factory, name).status for name in names] == ["allocated"] * 3 + ["on_hold"]
    assert stored_order(factory, "W3").holds[0]["reason"] == "out_of_stock"
    assert _stock(factory) == (3, 3)


def test_an_order_a_person_held_after_the_look_stays_held(
    factory: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    _waiting(factory, 2)
    target = stored_order(factory, "W1").id

    def held_by_a_person(s: Session) -> None:
        hold_order(s, target, actor="alice", note="buyer asked to wait")

    with transaction(factory) as s, _between_look_and_lock(monkeypatch, s, held_by_a_person):
        released = release_waiting(s)

    assert released == 1
    kept = stored_order(factory, "W1")
    assert kept.status == "on_hold" and "manual" in {h["reason"] for h in kept.holds}
    assert stored_order(factory, "W2").status == "allocated"  # the stock went to the next in line
    assert _stock(factory) == (3, 2)


def test_an_order_cancelled_after_the_look_stays_cancelled_and_reserves_nothing(
    factory: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    _waiting(factory, 2)
    target = stored_order(factory, "W1").id

    def cancelled(s: Session) -> None:
        cancel_order(s, target, actor="alice", reason="buyer cancelled")

    with transaction(factory) as s, _between_look_and_lock(monkeypatch, s, cancelled):
        released = release_waiting(s)

    assert released == 1
    assert stored_order(factory, "W1").status == "cancelled"
    assert stored_order(factory, "W2").status == "allocated"
    assert _stock(factory) == (3, 2)
    with transaction(factory) as s:
        kinds = s.scalars(select(OrderEvent.kind).where(OrderEvent.order_id == target)).all()
    assert "released" not in kinds
