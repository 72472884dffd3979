"""Orders in every state the platform can send them in, on both databases: shipped or partly shipped
outside the hub, cancelled before the hub saw them, fulfilled by the platform, a buyer's cancellation
request, an incomplete address. The stock ledger always equals the levels."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from orderly.channels.models import Shop
from orderly.core.db import transaction
from orderly.inventory import service as inventory
from orderly.inventory.models import StockLedgerEntry
from orderly.orders import holds as order_holds
from orderly.orders.ingest import ingest_batch
from orderly.orders.models import OrderEvent, OrderLine
from tests.factories import T0, order, setup_catalog, stored_order


def _stock(factory: sessionmaker[Session], sku: str) -> tuple[int, int, int]:
    """(on hand, reserved, available) in WH-1."""
    with transaction(factory) as s:
        (figure,) = inventory.stock_of(s, sku)
        return figure.on_hand, figure.reserved, figure.available


def _ledger(factory: sessionmaker[Session], order_id: int) -> list[tuple[str, int, int]]:
    """(kind, on hand delta, reserved delta) of the order's ledger rows, oldest first."""
    with transaction(factory) as s:
        rows = s.execute(
            select(StockLedgerEntry.kind, StockLedgerEntry.on_hand_delta, StockLedgerEntry.reserved_delta)
            .where(StockLedgerEntry.order_id == order_id)
            .order_by(StockLedgerEntry.id)
        ).all()
        return [tuple(row) for row in rows]


def _joined(factory: sessionmaker[Session], seconds_after_t0: int) -> None:
    """Date the shops' connection to the hub (the factories' orders are placed from ``T0`` on)."""
    with transaction(factory) as s:
        s.execute(update(Shop).values(created_at=T0 + timedelta(seconds=seconds_after_t0)))


def _ledger_equals_levels(factory: sessionmaker[Session]) -> bool:
    with transaction(factory) as s:
        return inventory.verify(s, repair=False, actor="test") == []


def _shipped(body: dict[str, Any], *shipped: int) -> dict[str, Any]:
    for line, count in zip(body["lines"], shipped, strict=True):
        line["shipped"] = count
    return body


# --- point 1: shipped outside the hub -------------------------------------------------------------------


def test_an_order_first_seen_shipped_is_imported_shipped_and_reserves_nothing(
    factory: sessionmaker[Session],
) -> None:
    setup_catalog(factory, {"SKU-1": 10})
    report = ingest_batch(factory, [_shipped(order(("SKU-1", 2), external_id="S1"), 2)])

    assert (report.items[0].outcome, report.items[0].status) == ("created", "shipped")
    assert _stock(factory, "SKU-1") == (10, 0, 10)
    assert _ledger(factory, stored_order(factory, "S1").id) == []


def test_an_order_first_seen_shipped_from_the_hubs_shelves_takes_its_units_out_as_shipped_at_once(
    factory: sessionmaker[Session],
) -> None:
    setup_catalog(factory, {"SKU-1": 10})
    _joined(factory, -60)
    body = _shipped(order(("SKU-1", 2), external_id="S1", shipped_from_stock=True), 2)
    (item,) = ingest_batch(factory, [body]).items

    assert (item.outcome, item.status) == ("created", "shipped")
    assert _stock(factory, "SKU-1") == (8, 0, 8)  # gone from the shelf, never left reserved
    assert _ledger(factory, item.order_id or 0) == [("reservation", 0, 2), ("shipment", -2, -2)]
    assert _ledger_equals_levels(factory)
    with transaction(factory) as s:
        (note,) = s.scalars(select(OrderEvent.message).where(OrderEvent.order_id == item.order_id))
    assert "left the hub's stock as shipped (WH-1)" in (note or "")
    # The same version again, or a later one, takes nothing more.
    again = _shipped(order(("SKU-1", 2), external_id="S1", shipped_from_stock=True, updated=5), 2)
    ingest_batch(factory, [body, again])
    assert _stock(factory, "SKU-1") == (8, 0, 8)
    # First seen shipped and returned: its units left too, and none come back.
    back = _shipped(order(("SKU-1", 1), external_id="S2", shipped_from_stock=True), 1)
    back["lines"][0]["returned"] = 1
    (returned,) = ingest_batch(factory, [back]).items
    assert returned.status == "returned" and _stock(factory, "SKU-1") == (7, 0, 7)


def test_an_order_first_seen_partly_shipped_from_the_hubs_shelves_takes_those_units_out_and_reserves_the_rest(
    factory: sessionmaker[Session],
) -> None:
    setup_catalog(factory, {"SKU-1": 10, "SKU-2": 5})
    _joined(factory, -60)
    body = _shipped(order(("SKU-1", 3), ("SKU-2", 1), external_id="P2", shipped_from_stock=True), 1, 0)
    (item,) = ingest_batch(factory, [body]).items

    assert (item.outcome, item.status) == ("created", "allocated")
    assert _stock(factory, "SKU-1") == (9, 2, 7)  # 1 gone from the shelf, the 2 left to ship reserved
    assert _stock(factory, "SKU-2") == (5, 1, 4)
    assert sorted(_ledger(factory, item.order_id or 0)) == [
        ("reservation", 0, 1),
        ("reservation", 0, 1),
        ("reservation", 0, 2),
        ("shipment", -1, -1),
    ]
    with transaction(factory) as s:
        (note,) = s.scalars(select(OrderEvent.message).where(OrderEvent.order_id == item.order_id))
    assert "partly shipped" in (note or "") and "left the hub's stock as shipped (WH-1)" in (note or "")
    # The platform ships the rest: what the hub reserved leaves, nothing twice.
    rest = _shipped(
        order(("SKU-1", 3), ("SKU-2", 1), external_id="P2", shipped_from_stock=True, updated=5), 3, 1
    )
    (shipped,) = ingest_batch(factory, [rest]).items
    assert shipped.status == "shipped"
    assert _stock(factory, "SKU-1") == (7, 0, 7)
    assert _stock(factory, "SKU-2") == (4, 0, 4)
    assert _ledger_equals_levels(factory)
    # A partly shipped order that says nothing of where it shipped from takes only what is left.
    unsaid = _shipped(order(("SKU-1", 2), external_id="P3"), 1)
    ingest_batch(factory, [unsaid])
    assert _stock(factory, "SKU-1") == (7, 1, 6)


def test_an_order_first_seen_partly_shipped_and_the_rest_cancelled_takes_the_shipped_units_out(
    factory: sessionmaker[Session],
) -> None:
    setup_catalog(factory, {"SKU-1": 10, "SKU-2": 5})
    _joined(factory, -60)
    body = _shipped(
        order(("SKU-1", 3), ("SKU-2", 1), external_id="PC1", shipped_from_stock=True, cancelled=True), 2, 0
    )
    (item,) = ingest_batch(factory, [body]).items

    assert (item.outcome, item.status) == ("created", "cancelled")
    # The 2 units that shipped left the shelf; the cancelled rest was never reserved.
    assert _stock(factory, "SKU-1") == (8, 0, 8)
    assert _stock(factory, "SKU-2") == (5, 0, 5)
    assert _ledger(factory, item.order_id or 0) == [("reservation", 0, 2), ("shipment", -2, -2)]
    with transaction(factory) as s:
        (note,) = s.scalars(select(OrderEvent.message).where(OrderEvent.order_id == item.order_id))
    assert "the rest cancelled" in (note or "") and "left the hub's stock as shipped (WH-1)" in (note or "")
    # The same version again takes nothing more; one that shipped nothing from the hub takes nothing.
    ingest_batch(factory, [body])
    unsaid = _shipped(order(("SKU-1", 2), external_id="PC2", cancelled=True), 1)
    ingest_batch(factory, [unsaid])
    assert _stock(factory, "SKU-1") == (8, 0, 8)
    assert _ledger_equals_levels(factory)


def test_an_order_first_seen_shipped_beyond_what_the_hub_holds_books_nothing_and_says_to_count(
    factory: sessionmaker[Session],
) -> None:
    setup_catalog(factory, {"SKU-1": 3})
    _joined(factory, -60)
    ingest_batch(factory, [order(("SKU-1", 2), external_id="R1")])  # 2 of the 3 reserved
    body = _shipped(order(("SKU-1", 2), external_id="S1", shipped_from_stock=True), 2)
    (item,) = ingest_batch(factory, [body]).items

    assert item.status == "shipped"
    assert _stock(factory, "SKU-1") == (3, 2, 1)
    assert _ledger(factory, item.order_id or 0) == []
    with transaction(factory) as s:
        (note,) = s.scalars(select(OrderEvent.message).where(OrderEvent.order_id == item.order_id))
    assert "SKU-1 needs 2, 1 available" in (note or "") and "count the stock" in (note or "")


def test_an_order_that_left_the_shelves_before_the_shop_joined_the_hub_takes_nothing_from_its_count(
    factory: sessionmaker[Session],
) -> None:
    """A first poll reaching back a month finds orders shipped before the seller counted the stock the
    hub keeps: they took nothing from that count. One that left after the shop joined did."""
    setup_catalog(factory, {"SKU-1": 10})
    _joined(factory, 100)
    before = _shipped(order(("SKU-1", 2), external_id="B1", shipped_from_stock=True, updated=99), 2)
    # Placed before the shop joined, shipped after it (the platform's parcel says when).
    after = _shipped(order(("SKU-1", 1), external_id="A1", shipped_from_stock=True, updated=50), 1)
    after["shipments"] = [
        {"carrier": "SPX", "tracking_number": "T1", "shipped_at": (T0 + timedelta(seconds=120)).isoformat()}
    ]
    # No parcel time: the version's own time is the latest the goods can have left.
    unsure = _shipped(order(("SKU-1", 3), external_id="U1", shipped_from_stock=True, updated=100), 3)
    # A parcel that left before the shop joined, in a version updated since (completed, say).
    earlier = _shipped(order(("SKU-1", 4), external_id="E1", shipped_from_stock=True, updated=500), 4)
    earlier["shipments"] = [
        {"carrier": "SPX", "tracking_number": "T2", "shipped_at": (T0 + timedelta(seconds=99)).isoformat()}
    ]
    report = ingest_batch(factory, [before, after, unsure, earlier])

    assert [item.status for item in report.items] == ["shipped"] * 4
    assert _stock(factory, "SKU-1") == (6, 0, 6)  # 1 + 3 booked out; 2 and 4 left before
    ids = {item.index: item.order_id or 0 for item in report.items}
    assert [_ledger(factory, ids[n]) != [] for n in range(4)] == [False, True, True, False]
    assert _ledger_equals_levels(factory)


def test_a_partly_shipped_order_reserves_only_what_is_left_to_ship(factory: sessionmaker[Session]) -> None:
    setup_catalog(factory, {"SKU-1": 10, "SKU-2": 5})
    body = _shipped(order(("SKU-1", 3), ("SKU-2", 1), external_id="P1"), 1, 1)
    report = ingest_batch(factory, [body])

    assert report.items[0].status == "allocated"
    assert _stock(factory, "SKU-1") == (10, 2, 8)
    assert _stock(factory, "SKU-2") == (5, 0, 5)
    with transaction(factory) as s:
        lines = s.execute(select(OrderLine.quantity, OrderLine.shipped).order_by(OrderLine.line_no)).all()
        assert [tuple(line) for line in lines] == [(3, 1), (1, 1)]


def test_a_reserved_order_later_reported_shipped_ships_its_reserved_stock(
    factory: sessionmaker[Session],
) -> None:
    setup_catalog(factory, {"SKU-1": 10})
    ingest_batch(factory, [order(("SKU-1", 2), external_id="F1", updated=1)])
    assert _stock(factory, "SKU-1") == (10, 2, 8)

    report = ingest_batch(factory, [_shipped(order(("SKU-1", 2), external_id="F1", updated=2), 2)])

    assert (report.items[0].outcome, report.items[0].status) == ("updated", "shipped")
    # The units left the shelf: on hand and reserved fall together, what is available stays.
    assert _stock(factory, "SKU-1") == (8, 0, 8)
    stored = stored_order(factory, "F1")
    assert _ledger(factory, stored.id) == [("reservation", 0, 2), ("shipment", -2, -2)]
    assert _ledger_equals_levels(factory)


def test_shipments_in_parts_ship_what_each_version_adds_and_keep_the_rest_reserved(
    factory: sessionmaker[Session],
) -> None:
    setup_catalog(factory, {"SKU-1": 10, "SKU-2": 5})
    ingest_batch(factory, [order(("SKU-1", 3), ("SKU-2", 1), external_id="F2", updated=1)])

    first = ingest_batch(
        factory, [_shipped(order(("SKU-1", 3), ("SKU-2", 1), external_id="F2", updated=2), 1, 0)]
    )
    assert first.items[0].status == "allocated"
    assert _stock(factory, "SKU-1") == (9, 2, 7)
    assert _stock(factory, "SKU-2") == (5, 1, 4)

    again = ingest_batch(
        factory, [_shipped(order(("SKU-1", 3), ("SKU-2", 1), external_id="F2", updated=3), 1, 0)]
    )
    assert again.items[0].status == "allocated"
    assert _stock(factory, "SKU-1") == (9, 2, 7)  # the same shipment reported again ships nothing more

    last = ingest_batch(
        factory, [_shipped(order(("SKU-1", 3), ("SKU-2", 1), external_id="F2", updated=4), 3, 1)]
    )
    assert last.items[0].status == "shipped"
    assert _stock(factory, "SKU-1") == (7, 0, 7)
    assert _stock(factory, "SKU-2") == (4, 0, 4)
    assert _ledger_equals_levels(factory)


def test_an_order_that_never_reserved_takes_nothing_when_shipped_on_the_platform(
    factory: sessionmaker[Session],
) -> None:
    setup_catalog(factory, {"SKU-1": 1})
    ingest_batch(factory, [order(("SKU-1", 2), external_id="N1", updated=1)])
    assert stored_order(factory, "N1").status == "on_hold"  # out of stock: nothing reserved

    report = ingest_batch(factory, [_shipped(order(("SKU-1", 2), external_id="N1", updated=2), 2)])

    assert report.items[0].status == "shipped"
    assert stored_order(factory, "N1").holds == []
    assert _stock(factory, "SKU-1") == (1, 0, 1)
    assert _ledger(factory, stored_order(factory, "N1").id) == []


def test_a_bundle_shipped_on_the_platform_ships_its_components(factory: sessionmaker[Session]) -> None:
    setup_catalog(factory, {"SKU-1": 10, "SKU-2": 10})
    ingest_batch(factory, [order(("KIT-1", 1), external_id="K1", updated=1)])
    ingest_batch(factory, [_shipped(order(("KIT-1", 1), external_id="K1", updated=2), 1)])

    assert stored_order(factory, "K1").status == "shipped"
    assert _stock(factory, "SKU-1") == (8, 0, 8)
    assert _stock(factory, "SKU-2") == (9, 0, 9)
    assert _ledger_equals_levels(factory)


def test_more_shipped_than_ordered_is_refused(factory: sessionmaker[Session]) -> None:
    setup_catalog(factory, {"SKU-1": 10})
    report = ingest_batch(factory, [_shipped(order(("SKU-1", 1), external_id="X1"), 2)])

    assert report.items[0].outcome == "rejected"
    assert report.items[0].errors[0]["field"] == "lines[0].shipped"


# --- point 2: cancelled before the hub saw it, fulfilled by the platform ----------------------------------


def test_an_order_first_seen_cancelled_without_an_address_is_imported_cancelled(
    factory: sessionmaker[Session],
) -> None:
    setup_catalog(factory, {"SKU-1": 10})
    body = order(("SKU-1", 1), external_id="C1", cancelled=True, shipping_address=None)
    report = ingest_batch(factory, [body])

    assert (report.items[0].outcome, report.items[0].status) == ("created", "cancelled")
    stored = stored_order(factory, "C1")
    assert (stored.ship_line1, stored.ship_country, stored.holds) == (None, None, [])
    assert _stock(factory, "SKU-1") == (10, 0, 10)


def test_a_platform_fulfilled_order_is_imported_and_never_takes_the_hubs_stock(
    factory: sessionmaker[Session],
) -> None:
    setup_catalog(factory, {"SKU-1": 10})
    report = ingest_batch(
        factory, [order(("SKU-1", 3), external_id="FBA1", fulfillment="platform", updated=1)]
    )

    assert (report.items[0].outcome, report.items[0].status) == ("created", "platform_fulfilled")
    assert _stock(factory, "SKU-1") == (10, 0, 10)

    shipped = _shipped(order(("SKU-1", 3), external_id="FBA1", fulfillment="platform", updated=2), 3)
    assert ingest_batch(factory, [shipped]).items[0].status == "platform_fulfilled"
    cancelled = order(("SKU-1", 3), external_id="FBA1", fulfillment="platform", cancelled=True, updated=3)
    assert ingest_batch(factory, [cancelled]).items[0].status == "cancelled"
    assert _stock(factory, "SKU-1") == (10, 0, 10)
    assert _ledger(factory, stored_order(factory, "FBA1").id) == []


# --- point 3: the buyer asks to cancel ------------------------------------------------------------------


def test_a_cancel_request_on_an_allocated_order_holds_it_with_its_stock(
    factory: sessionmaker[Session],
) -> None:
    setup_catalog(factory, {"SKU-1": 10})
    ingest_batch(factory, [order(("SKU-1", 2), external_id="R1", updated=1)])
    assert stored_order(factory, "R1").status == "allocated"

    report = ingest_batch(factory, [order(("SKU-1", 2), external_id="R1", updated=2, cancel_requested=True)])

    assert report.items[0].status == "on_hold"
    stored = stored_order(factory, "R1")
    assert [h["reason"] for h in stored.holds] == ["cancel_request"]
    assert _stock(factory, "SKU-1") == (10, 2, 8)  # kept: the request may be refused

    # A later version (the request still open, or gone) does not review the hold away.
    ingest_batch(factory, [order(("SKU-1", 2), external_id="R1", updated=3, cancel_requested=True)])
    ingest_batch(factory, [order(("SKU-1", 2), external_id="R1", updated=4)])
    assert [h["reason"] for h in stored_order(factory, "R1").holds] == ["cancel_request"]
    with transaction(factory) as s:
        assert order_holds.release_waiting(s) == 0
    assert stored_order(factory, "R1").status == "on_hold"


def test_a_new_order_with_a_cancel_request_is_held(factory: sessionmaker[Session]) -> None:
    setup_catalog(factory, {"SKU-1": 10})
    report = ingest_batch(factory, [order(("SKU-1", 1), external_id="R2", cancel_requested=True)])

    assert report.items[0].status == "on_hold"
    assert [h["reason"] for h in stored_order(factory, "R2").holds] == ["cancel_request"]
    assert _stock(factory, "SKU-1") == (10, 1, 9)


def test_a_cancel_request_adds_to_the_holds_an_order_already_has(factory: sessionmaker[Session]) -> None:
    setup_catalog(factory, {"SKU-1": 1})
    ingest_batch(factory, [order(("SKU-1", 2), external_id="R3", updated=1)])
    ingest_batch(factory, [order(("SKU-1", 2), external_id="R3", updated=2, cancel_requested=True)])

    stored = stored_order(factory, "R3")
    assert stored.status == "on_hold"
    assert [h["reason"] for h in stored.holds] == ["out_of_stock", "cancel_request"]


# --- point 6: incomplete addresses enter, held ------------------------------------------------------------


def test_an_order_without_street_or_city_enters_held_for_its_address_and_reserves(
    factory: sessionmaker[Session],
) -> None:
    setup_catalog(factory, {"SKU-1": 10})
    body = order(("SKU-1", 2), external_id="A1")
    body["shipping_address"] |= {"line1": None, "city": "  "}
    report = ingest_batch(factory, [body])

    assert (report.items[0].outcome, report.items[0].status) == ("created", "on_hold")
    stored = stored_order(factory, "A1")
    assert [h["reason"] for h in stored.holds] == ["address"]
    assert "street" in stored.holds[0]["message"] and "city" in stored.holds[0]["message"]
    assert (stored.ship_line1, stored.ship_city) == (None, None)
    assert _stock(factory, "SKU-1") == (10, 2, 8)


def test_an_order_without_any_address_is_held_even_with_the_address_rule_off(
    factory: sessionmaker[Session],
) -> None:
    from orderly.review import service as review

    setup_catalog(factory, {"SKU-1": 10})
    with transaction(factory) as s:
        review.save_rule(s, {"key": "address.missing", "enabled": False}, actor="test")
    report = ingest_batch(factory, [order(("SKU-1", 1), external_id="A2", shipping_address=None)])

    assert report.items[0].status == "on_hold"
    (hold,) = stored_order(factory, "A2").holds
    assert (hold["reason"], hold["message"]) == ("address", "no shipping address: add one before it ships")


def test_only_an_order_that_cannot_be_identified_is_rejected(factory: sessionmaker[Session]) -> None:
    setup_catalog(factory, {"SKU-1": 10})
    no_shop, no_id = order(external_id="I1"), order()
    del no_shop["shop"]
    del no_id["external_id"]
    report = ingest_batch(factory, [no_shop, no_id])

    assert [(i.outcome, i.errors[0]["field"]) for i in report.items] == [
        ("rejected", "shop"),
        ("rejected", "external_id"),
    ]
