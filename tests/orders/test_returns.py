"""Returns the platform reports, on both databases: a shipped order returned on the platform ends
returned with its history naming the platform's status, an older version arriving afterwards does not
undo it, a part returned is noted and the order stays shipped; no stock is ever put back (the goods
wait for after-sales), and the ledger equals the levels."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from orderly.core.db import transaction
from orderly.inventory import service as inventory
from orderly.orders.ingest import ingest_batch
from orderly.orders.models import OrderEvent
from tests.factories import order, setup_catalog, stored_order


def _version(
    updated: int, status: str, *, shipped: tuple[int, ...], returned: tuple[int, ...] = ()
) -> dict[str, Any]:
    body = order(("SKU-1", 2), ("SKU-2", 1), external_id="R1", updated=updated, platform_status=status)
    for n, line in enumerate(body["lines"]):
        line["shipped"] = shipped[n]
        line["returned"] = returned[n] if returned else 0
    return body


def _stock(factory: sessionmaker[Session]) -> list[tuple[int, int]]:
    with transaction(factory) as s:
        figures = [f for sku in ("SKU-1", "SKU-2") for f in inventory.stock_of(s, sku)]
        assert inventory.verify(s, repair=False, actor="test") == []
        return [(f.on_hand, f.reserved) for f in figures]


def _history(factory: sessionmaker[Session], order_id: int) -> list[tuple[str | None, str | None, str]]:
    with transaction(factory) as s:
        rows = s.execute(
            select(OrderEvent.from_status, OrderEvent.to_status, OrderEvent.message)
            .where(OrderEvent.order_id == order_id)
            .order_by(OrderEvent.id)
        ).all()
        return [(a, b, message or "") for a, b, message in rows]


def test_a_shipped_order_returned_on_the_platform_ends_returned_and_an_older_version_does_not_undo_it(
    factory: sessionmaker[Session],
) -> None:
    setup_catalog(factory, {"SKU-1": 10, "SKU-2": 5})
    ingest_batch(factory, [_version(0, "READY_TO_SHIP", shipped=(0, 0))])
    assert _stock(factory) == [(10, 2), (5, 1)]
    ingest_batch(factory, [_version(10, "SHIPPED", shipped=(2, 1))])
    assert _stock(factory) == [(8, 0), (4, 0)]

    report = ingest_batch(factory, [_version(20, "TO_RETURN", shipped=(2, 1), returned=(2, 1))])
    assert (report.items[0].outcome, report.items[0].status) == ("updated", "returned")
    stored = stored_order(factory, "R1")
    assert (stored.status, stored.platform_status) == ("returned", "TO_RETURN")
    *_, (before, after, note) = _history(factory, stored.id)
    assert (before, after) == ("shipped", "returned")
    assert "(TO_RETURN)" in note and "no stock is put back" in note
    assert _stock(factory) == [(8, 0), (4, 0)]  # the goods wait for after-sales, not on the shelf

    # The shipped version again, late (an older stamp), or under the returned one's stamp: stale.
    for late in (_version(10, "SHIPPED", shipped=(2, 1)), _version(20, "SHIPPED", shipped=(2, 1))):
        (item,) = ingest_batch(factory, [late]).items
        assert (item.outcome, item.status) == ("stale", "returned")
    # A newer version that no longer says so (the platform closed the return) keeps it returned.
    (item,) = ingest_batch(factory, [_version(30, "COMPLETED", shipped=(2, 1))]).items
    assert (item.outcome, item.status) == ("updated", "returned")
    assert stored_order(factory, "R1").status == "returned"
    assert _stock(factory) == [(8, 0), (4, 0)]


def test_a_part_returned_is_noted_and_the_order_stays_shipped(factory: sessionmaker[Session]) -> None:
    setup_catalog(factory, {"SKU-1": 10, "SKU-2": 5})
    ingest_batch(factory, [_version(0, "pending", shipped=(0, 0))])
    ingest_batch(factory, [_version(10, "delivered", shipped=(2, 1))])
    report = ingest_batch(factory, [_version(20, "delivered,returned", shipped=(2, 1), returned=(0, 1))])
    assert report.items[0].status == "shipped"
    stored = stored_order(factory, "R1")
    *_, (before, after, note) = _history(factory, stored.id)
    assert (before, after) == ("shipped", "shipped")
    assert "1 of 3 units returned on the platform (delivered,returned)" in note
    assert _stock(factory) == [(8, 0), (4, 0)]


def test_an_order_reserved_then_reported_shipped_and_returned_at_once_ships_its_stock_and_ends_returned(
    factory: sessionmaker[Session],
) -> None:
    setup_catalog(factory, {"SKU-1": 10, "SKU-2": 5})
    ingest_batch(factory, [_version(0, "READY_TO_SHIP", shipped=(0, 0))])
    ingest_batch(factory, [_version(10, "TO_RETURN", shipped=(2, 1), returned=(2, 1))])
    stored = stored_order(factory, "R1")
    assert stored.status == "returned" and stored.shipped_at is not None
    *_, (before, after, note) = _history(factory, stored.id)
    assert (before, after) == ("allocated", "returned") and "shipped and returned" in note
    assert _stock(factory) == [(8, 0), (4, 0)]  # left as shipped, not put back


def test_an_order_first_seen_returned_is_imported_returned_and_a_return_beyond_shipped_is_refused(
    factory: sessionmaker[Session],
) -> None:
    setup_catalog(factory, {"SKU-1": 10, "SKU-2": 5})
    (item,) = ingest_batch(factory, [_version(0, "TO_RETURN", shipped=(2, 1), returned=(2, 1))]).items
    assert (item.outcome, item.status) == ("created", "returned")
    (_, after, note), *_ = _history(factory, stored_order(factory, "R1").id)
    assert after == "returned" and "(TO_RETURN)" in note
    body = _version(0, "TO_RETURN", shipped=(1, 0), returned=(2, 0))
    body["external_id"] = "R2"
    (refused,) = ingest_batch(factory, [body]).items
    assert refused.outcome == "rejected"
    assert refused.errors[0]["field"] == "lines[0].returned"
