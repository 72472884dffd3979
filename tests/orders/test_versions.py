"""Versions of one order with one stamp, on both databases: platforms stamp an order's updates to the
second (Shopify), so two changes within a second are two versions with one ``updated_at``. The one
with other content is applied, the same one again is unchanged, an older stamp stays stale."""

from __future__ import annotations

import copy
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from orderly.core.db import transaction
from orderly.inventory import service as inventory
from orderly.inventory.models import StockLedgerEntry
from orderly.orders.ingest import ingest_batch
from orderly.orders.models import Order
from tests.factories import order, setup_catalog, stored_order


def _available(factory: sessionmaker[Session]) -> int:
    with transaction(factory) as s:
        (figure,) = inventory.stock_of(s, "SKU-1")
        return figure.available


def _outcome(factory: sessionmaker[Session], version: dict[str, Any]) -> str:
    return ingest_batch(factory, [copy.deepcopy(version)]).items[0].outcome


def _same_second(version: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """The order changed again within the second its last version was stamped in."""
    return {**copy.deepcopy(version), **changes}


def test_a_change_within_the_same_second_is_applied_and_the_same_version_again_is_unchanged(
    factory: sessionmaker[Session],
) -> None:
    setup_catalog(factory, {"SKU-1": 10})
    placed = order(("SKU-1", 2), external_id="SS1", updated=0)
    paid = _same_second(placed, updated_at=order(external_id="SS1", updated=10)["updated_at"])
    assert _outcome(factory, placed) == "created"
    assert _outcome(factory, paid) == "updated"
    cancelled = _same_second(paid, cancelled=True, payment_status="refunded")

    assert _outcome(factory, cancelled) == "updated"
    assert stored_order(factory, "SS1").status == "cancelled"
    assert _available(factory) == 10  # the cancellation released the reservation

    assert _outcome(factory, cancelled) == "unchanged"  # the same delivery twice
    assert _outcome(factory, placed) == "stale"  # an older stamp


def test_of_two_versions_with_one_stamp_in_a_batch_the_later_wins(factory: sessionmaker[Session]) -> None:
    setup_catalog(factory, {"SKU-1": 10})
    placed = order(("SKU-1", 1), external_id="SS2", updated=0)
    ingest_batch(factory, [copy.deepcopy(placed)])
    edited = _same_second(placed, updated_at=order(external_id="SS2", updated=5)["updated_at"], tags=["a"])
    edited_again = _same_second(edited, tags=["b"])

    report = ingest_batch(factory, [edited, edited_again])

    assert [item.outcome for item in report.items] == ["stale", "updated"]
    assert stored_order(factory, "SS2").tags == ["b"]


def test_versions_with_one_stamp_in_either_order_end_at_the_one_read_last(
    factory: sessionmaker[Session],
) -> None:
    """A webhook may bring the earlier of two same-second versions last; a poll or reconciliation then
    reads what the platform shows now, and the hub takes it."""
    setup_catalog(factory, {"SKU-1": 10})
    placed = order(("SKU-1", 1), external_id="SS3", updated=0)
    ingest_batch(factory, [copy.deepcopy(placed)])
    stamp = order(external_id="SS3", updated=7)["updated_at"]
    first, current = (
        _same_second(placed, updated_at=stamp, tags=["a"]),
        _same_second(placed, updated_at=stamp),
    )
    current["shipping_address"]["line1"] = "9 Moved Lane"

    assert _outcome(factory, current) == "updated"
    assert _outcome(factory, first) == "updated"  # delivered late
    assert _outcome(factory, current) == "updated"  # the platform read again

    stored = stored_order(factory, "SS3")
    assert (stored.tags, stored.ship_line1) == ([], "9 Moved Lane")
    assert _outcome(factory, current) == "unchanged"


def test_a_version_with_one_stamp_and_fewer_units_shipped_is_stale_and_ships_nothing_twice(
    factory: sessionmaker[Session],
) -> None:
    """The platform never takes a shipment back: such a version came before the stored one."""
    setup_catalog(factory, {"SKU-1": 10})
    placed = order(("SKU-1", 2), external_id="SS4", updated=0)
    ingest_batch(factory, [copy.deepcopy(placed)])
    stamp = order(external_id="SS4", updated=3)["updated_at"]
    before = _same_second(placed, updated_at=stamp, seller_remark="packing")
    shipped = _same_second(placed, updated_at=stamp)
    shipped["lines"][0]["shipped"] = 1

    assert _outcome(factory, shipped) == "updated"
    assert _outcome(factory, before) == "stale"
    assert _outcome(factory, shipped) == "unchanged"

    order_id = stored_order(factory, "SS4").id
    with transaction(factory) as s:
        kinds = s.scalars(
            select(StockLedgerEntry.kind)
            .where(StockLedgerEntry.order_id == order_id)
            .order_by(StockLedgerEntry.id)
        ).all()
        assert kinds == ["reservation", "shipment"]
        assert inventory.verify(s, repair=False, actor="test") == []


def test_an_order_stored_before_digests_were_kept_takes_a_version_with_its_stamp_once(
    factory: sessionmaker[Session],
) -> None:
    setup_catalog(factory, {"SKU-1": 10})
    placed = order(("SKU-1", 1), external_id="SS5")
    ingest_batch(factory, [copy.deepcopy(placed)])
    with transaction(factory) as s:
        s.execute(update(Order).where(Order.external_id == "SS5").values(content_digest=None))

    assert _outcome(factory, placed) == "updated"
    assert _outcome(factory, placed) == "unchanged"
