"""Ingest on both databases: idempotence, versions, reservation, holds, rejections."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from orderly.core.db import transaction
from orderly.inventory import service as inventory
from orderly.orders.ingest import ingest_batch
from orderly.orders.models import IngestRejection, Order, OrderEvent, OrderLine
from tests.factories import order, setup_catalog


def _stock(factory: sessionmaker[Session], sku: str) -> tuple[int, int, int]:
    with transaction(factory) as s:
        (figure,) = inventory.stock_of(s, sku)
        return figure.on_hand, figure.reserved, figure.available


def _order(factory: sessionmaker[Session], external_id: str) -> Order:
    with transaction(factory) as s:
        return s.scalars(select(Order).where(Order.external_id == external_id)).one()


def test_new_order_is_stored_with_lines_and_reserves_stock(factory: sessionmaker[Session]) -> None:
    setup_catalog(factory, {"SKU-1": 10, "SKU-2": 5})
    report = ingest_batch(
        factory, [order(("SKU-1", 3), ("SKU-2", 1), external_id="A1", buyer_remark="leave at the door")]
    )

    assert report.totals["created"] == 1
    stored = _order(factory, "A1")
    assert stored.status == "allocated"
    assert stored.currency == "USD"
    assert stored.subtotal == 4 * 1999
    assert stored.total == 4 * 1999 + 499
    assert stored.ship_country == "US"
    assert stored.buyer_remark == "leave at the door"
    assert stored.placed_at.tzinfo is not None
    assert _stock(factory, "SKU-1") == (10, 3, 7)
    assert _stock(factory, "SKU-2") == (5, 1, 4)
    with transaction(factory) as s:
        assert s.scalar(select(func.count()).select_from(OrderLine)) == 2
        event = s.scalars(select(OrderEvent).where(OrderEvent.order_id == stored.id)).one()
        assert (event.kind, event.to_status) == ("imported", "allocated")


def test_same_batch_twice_yields_each_order_once(factory: sessionmaker[Session]) -> None:
    setup_catalog(factory, {"SKU-1": 100})
    batch = [order(("SKU-1", 1)) for _ in range(20)]
    first = ingest_batch(factory, batch)
    second = ingest_batch(factory, batch)

    assert first.totals["created"] == 20
    assert second.totals == {"created": 0, "updated": 0, "unchanged": 20, "stale": 0, "rejected": 0}
    with transaction(factory) as s:
        assert s.scalar(select(func.count()).select_from(Order)) == 20
    assert _stock(factory, "SKU-1") == (100, 20, 80)


def test_newer_version_updates_and_older_is_ignored(factory: sessionmaker[Session]) -> None:
    setup_catalog(factory, {"SKU-1": 10})
    ingest_batch(factory, [order(("SKU-1", 1), external_id="V1", updated=10)])
    newer = order(
        ("SKU-1", 1), external_id="V1", updated=20, payment_status="refunded", seller_remark="called"
    )
    newer["shipping_address"]["line1"] = "2 New Road"
    older = order(("SKU-1", 1), external_id="V1", updated=5)

    assert ingest_batch(factory, [newer]).items[0].outcome == "updated"
    assert ingest_batch(factory, [older]).items[0].outcome == "stale"
    stored = _order(factory, "V1")
    assert (stored.payment_status, stored.ship_line1, stored.seller_remark) == (
        "refunded",
        "2 New Road",
        "called",
    )
    assert stored.status == "allocated"
    assert _stock(factory, "SKU-1") == (10, 1, 9)  # an address change does not touch stock


def test_cancellation_releases_the_reservation(factory: sessionmaker[Session]) -> None:
    setup_catalog(factory, {"SKU-1": 10})
    ingest_batch(factory, [order(("SKU-1", 4), external_id="C1")])
    assert _stock(factory, "SKU-1") == (10, 4, 6)

    report = ingest_batch(factory, [order(("SKU-1", 4), external_id="C1", updated=60, cancelled=True)])

    assert report.items[0].status == "cancelled"
    assert _stock(factory, "SKU-1") == (10, 0, 10)
    with transaction(factory) as s:
        assert inventory.verify(s, repair=False, actor="test") == []


def test_changed_lines_release_and_reserve_again(factory: sessionmaker[Session]) -> None:
    setup_catalog(factory, {"SKU-1": 10, "SKU-2": 10})
    ingest_batch(factory, [order(("SKU-1", 4), external_id="L1")])
    ingest_batch(factory, [order(("SKU-1", 1), ("SKU-2", 2), external_id="L1", updated=30)])

    assert _stock(factory, "SKU-1") == (10, 1, 9)
    assert _stock(factory, "SKU-2") == (10, 2, 8)
    assert _order(factory, "L1").status == "allocated"


def test_short_order_is_held_listing_every_short_line_and_reserves_nothing(
    factory: sessionmaker[Session],
) -> None:
    setup_catalog(factory, {"SKU-1": 2, "SKU-2": 1, "SKU-3": 50})
    report = ingest_batch(factory, [order(("SKU-1", 3), ("SKU-2", 2), ("SKU-3", 1), external_id="S1")])

    assert report.items[0].status == "on_hold"
    held = _order(factory, "S1")
    (hold,) = held.holds
    assert hold["reason"] == "out_of_stock"
    assert "SKU-1 needs 3, 2 available" in hold["message"]
    assert "SKU-2 needs 2, 1 available" in hold["message"]
    assert {d["sku"] for d in hold["details"]} == {"SKU-1", "SKU-2"}
    assert _stock(factory, "SKU-3") == (50, 0, 50)  # all or nothing


def test_held_order_is_allocated_when_an_update_arrives_after_stock(factory: sessionmaker[Session]) -> None:
    setup_catalog(factory, {"SKU-1": 1})
    ingest_batch(factory, [order(("SKU-1", 2), external_id="H1")])
    with transaction(factory) as s:
        inventory.receive(s, "SKU-1", "WH-1", 5, actor="test", reason="restock")
    ingest_batch(factory, [order(("SKU-1", 2), external_id="H1", updated=99, payment_status="paid")])

    assert _order(factory, "H1").status == "allocated"
    assert _stock(factory, "SKU-1") == (6, 2, 4)


def test_bundle_reserves_its_components(factory: sessionmaker[Session]) -> None:
    setup_catalog(factory, {"SKU-1": 10, "SKU-2": 10})
    ingest_batch(factory, [order(("KIT-1", 3), external_id="K1")])

    assert _stock(factory, "SKU-1") == (10, 6, 4)
    assert _stock(factory, "SKU-2") == (10, 3, 7)


def test_lines_resolve_by_mapping_then_listing_then_our_sku(factory: sessionmaker[Session]) -> None:
    setup_catalog(factory, {"SKU-1": 10})
    by_listing = order(shop="shop-b", external_id="M2")
    by_listing["lines"] = [{"listing_id": "L-1", "quantity": 1, "unit_price": 500}]
    report = ingest_batch(factory, [order(("B-ONE", 1), shop="shop-b", external_id="M1"), by_listing])

    assert [i.outcome for i in report.items] == ["created", "created"]
    assert _stock(factory, "SKU-1") == (10, 2, 8)


def test_each_bad_order_is_rejected_with_its_reason_and_the_rest_go_in(
    factory: sessionmaker[Session],
) -> None:
    setup_catalog(factory, {"SKU-1": 10})
    no_address = order(external_id="R4")
    del no_address["shipping_address"]
    batch = [
        order(("SKU-1", 1), external_id="OK1"),
        order(("NOPE", 1), external_id="R1"),
        order(external_id="R2", currency="XXY"),
        order(("SKU-1", -2), external_id="R3"),
        no_address,
        "not an order",
        order(("SKU-1", 1), external_id="OK2"),
        order(external_id="R5", shop="unknown-shop"),
    ]
    report = ingest_batch(factory, batch)

    outcomes = {item.external_id: item for item in report.items}
    assert outcomes["OK1"].outcome == outcomes["OK2"].outcome == "created"
    assert outcomes["R1"].errors == [
        {
            "field": "lines[0].platform_sku",
            "message": "unknown SKU 'NOPE' on shop 'shop-a': create the product or map it",
        }
    ]
    assert outcomes["R2"].errors[0]["field"] == "currency"
    assert outcomes["R3"].errors[0]["field"] == "lines[0].quantity"
    # An order without an address is sold all the same: it enters, held for its address.
    assert (outcomes["R4"].outcome, outcomes["R4"].status) == ("created", "on_hold")
    assert outcomes["R5"].errors[0]["message"] == "unknown shop 'unknown-shop'"
    assert report.items[5].outcome == "rejected"
    assert report.count("rejected") == 5
    with transaction(factory) as s:
        rows = s.scalars(select(IngestRejection).order_by(IngestRejection.id)).all()
        assert len(rows) == 5
        assert all(r.status == "open" and r.payload is not None and r.reason for r in rows)


def test_a_line_discount_beyond_the_line_is_rejected_and_one_of_the_whole_line_goes_in(
    factory: sessionmaker[Session],
) -> None:
    setup_catalog(factory, {"SKU-1": 10})
    beyond, whole = order(("SKU-1", 2), external_id="BEYOND"), order(("SKU-1", 2), external_id="WHOLE")
    beyond["lines"][0]["discount"] = 2 * 1999 + 1  # once accepted, with a negative subtotal
    whole["lines"][0]["discount"] = 2 * 1999

    report = ingest_batch(factory, [beyond, whole])

    refused, free = report.items
    assert refused.outcome == "rejected"
    assert refused.errors == [
        {
            "field": "lines[0].discount",
            "message": "3999 is more than the line's price (2 x 1999): a line's discount is for the whole "
            "line, in minor units",
        }
    ]
    assert free.outcome == "created"
    with transaction(factory) as s:
        assert s.scalar(select(Order.subtotal).where(Order.external_id == "WHOLE")) == 0


def test_an_order_with_nul_in_its_key_is_rejected_and_kept_with_each_nul_escaped(
    factory: sessionmaker[Session],
) -> None:
    setup_catalog(factory, {"SKU-1": 10})
    bad = order(("SKU-1", 1), external_id="\x00EXT", shop="shop-\x00a", buyer_remark="gift\x00wrap")
    bad["shipping_address"]["\x00"] = "x"  # a field name too (PostgreSQL's JSON refuses NUL as well)

    for _ in range(2):  # the second time renews the same rejection
        (item,) = ingest_batch(factory, [bad]).items
        assert (item.outcome, item.shop, item.external_id) == ("rejected", "shop-\\u0000a", "\\u0000EXT")

    with transaction(factory) as s:
        (rejection,) = s.scalars(select(IngestRejection)).all()
    assert (rejection.shop_code, rejection.external_id) == ("shop-\\u0000a", "\\u0000EXT")
    assert rejection.attempts == 2
    assert [e["field"] for e in rejection.errors] == [
        "shop",
        "external_id",
        "shipping_address.\\u0000",
        "buyer_remark",
    ]
    assert rejection.reason.startswith("shop: must not contain NUL (U+0000) characters; external_id: ")
    assert rejection.payload["buyer_remark"] == "gift\\u0000wrap"
    assert rejection.payload["shipping_address"]["\\u0000"] == "x"


def test_versions_inside_one_batch_keep_the_newest(factory: sessionmaker[Session]) -> None:
    setup_catalog(factory, {"SKU-1": 10})
    report = ingest_batch(
        factory,
        [
            order(("SKU-1", 1), external_id="D1", updated=5),
            order(("SKU-1", 2), external_id="D1", updated=9),
            order(("SKU-1", 3), external_id="D1", updated=1),
        ],
    )

    assert [i.outcome for i in report.items] == ["stale", "created", "stale"]
    assert _stock(factory, "SKU-1") == (10, 2, 8)


def test_raw_payload_is_kept_and_referenced(factory: sessionmaker[Session]) -> None:
    setup_catalog(factory, {"SKU-1": 10})
    ingest_batch(factory, [order(external_id="P1", raw={"id": 5612, "name": "#1001"})])
    from orderly.orders.models import RawPayload

    with transaction(factory) as s:
        stored = s.scalars(select(Order).where(Order.external_id == "P1")).one()
        assert stored.raw_payload_id is not None
        assert s.get(RawPayload, stored.raw_payload_id).body == {"id": 5612, "name": "#1001"}


def test_rejection_is_replayed_after_the_cause_is_fixed(factory: sessionmaker[Session]) -> None:
    setup_catalog(factory, {"SKU-1": 10})
    first = ingest_batch(factory, [order(("LATE-SKU", 2), external_id="F1")])
    rejection_id = first.items[0].rejection_id
    assert rejection_id is not None

    from orderly.catalog import service as catalog
    from orderly.catalog.schemas import MappingIn
    from orderly.orders.service import replay_rejections

    assert replay_rejections(factory, [rejection_id]).items[0].outcome == "rejected"
    with transaction(factory) as s:
        catalog.create_mapping(s, MappingIn(shop="shop-a", platform_sku="LATE-SKU", sku="SKU-1"))
    report = replay_rejections(factory)

    assert report.items[0].outcome == "created"
    with transaction(factory) as s:
        row = s.get(IngestRejection, rejection_id)
        assert (row.status, row.attempts, row.order_id) == ("resolved", 3, report.items[0].order_id)
    assert _stock(factory, "SKU-1") == (10, 2, 8)


def test_a_later_delivery_of_a_rejected_order_resolves_its_rejection(factory: sessionmaker[Session]) -> None:
    setup_catalog(factory, {"SKU-1": 10})
    bad = order(external_id="G1", currency="???")
    rejection_id = ingest_batch(factory, [bad]).items[0].rejection_id
    ingest_batch(factory, [order(external_id="G1")])

    with transaction(factory) as s:
        assert s.get(IngestRejection, rejection_id).status == "resolved"


def test_the_same_bad_order_again_renews_its_open_rejection_instead_of_adding_one(
    factory: sessionmaker[Session],
) -> None:
    setup_catalog(factory, {"SKU-1": 10})
    first = ingest_batch(
        factory, [order(("NO-SUCH", 1), external_id="R1"), order(external_id="R2", currency="?")]
    )
    again = ingest_batch(
        factory,
        [
            order(("NO-SUCH", 1), external_id="R1"),
            order(("NO-SUCH", 2), external_id="R3", tags=["a"]),
            order(("NO-SUCH", 3), external_id="R3", tags=["b"]),  # one order twice in one batch
        ],
    )

    assert again.items[0].rejection_id == first.items[0].rejection_id
    assert again.items[1].rejection_id == again.items[2].rejection_id
    with transaction(factory) as s:
        rows = s.execute(
            select(IngestRejection.external_id, IngestRejection.attempts, IngestRejection.payload).order_by(
                IngestRejection.external_id
            )
        ).all()
    assert [(external_id, attempts) for external_id, attempts, _ in rows] == [("R1", 2), ("R2", 1), ("R3", 1)]
    assert rows[2].payload["tags"] == ["b"]  # the later version of the order is the one kept


def test_cancel_in_the_hub_releases_stock_and_is_in_the_history(factory: sessionmaker[Session]) -> None:
    from orderly.core.errors import InvalidTransition
    from orderly.orders.service import cancel_order

    setup_catalog(factory, {"SKU-1": 10})
    order_id = ingest_batch(factory, [order(("SKU-1", 3), external_id="X1")]).items[0].order_id
    assert order_id is not None
    with transaction(factory) as s:
        cancel_order(s, order_id, actor="ops", reason="buyer asked")
    assert _stock(factory, "SKU-1") == (10, 0, 10)
    with transaction(factory) as s:
        kinds = [e.kind for e in s.scalars(select(OrderEvent).where(OrderEvent.order_id == order_id))]
        assert kinds == ["imported", "cancelled"]
        try:
            cancel_order(s, order_id, actor="ops", reason="again")
            raise AssertionError("a cancelled order was cancelled twice")
        except InvalidTransition as exc:
            assert "cannot go from cancelled" in exc.message


def test_changed_lines_after_the_label_keep_the_order_and_flag_it(factory: sessionmaker[Session]) -> None:
    from sqlalchemy import update

    setup_catalog(factory, {"SKU-1": 10, "SKU-2": 10})
    order_id = ingest_batch(factory, [order(("SKU-1", 2), external_id="LP1")]).items[0].order_id
    with transaction(factory) as s:
        s.execute(update(Order).where(Order.id == order_id).values(status="label_printed"))

    report = ingest_batch(factory, [order(("SKU-2", 1), external_id="LP1", updated=40)])

    assert report.items[0].status == "label_printed"
    assert _stock(factory, "SKU-1") == (10, 2, 8)  # the packed parcel keeps its stock
    with transaction(factory) as s:
        last = s.scalars(
            select(OrderEvent).where(OrderEvent.order_id == order_id).order_by(OrderEvent.id)
        ).all()[-1]
        assert "check the parcel" in (last.message or "")
        assert inventory.verify(s, repair=False, actor="test") == []


def test_a_plan_made_on_stale_stock_is_corrected_under_the_lock(
    factory: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another writer may take stock between the unlocked read and the lock; nothing is oversold."""
    from orderly.inventory import repository as inventory_repo
    from orderly.inventory.domain import Level

    setup_catalog(factory, {"SKU-1": 5})
    real = inventory_repo.read_levels
    unlocked_reads: list[bool] = []

    def stale(session: Session, product_ids: object) -> object:
        found = real(session, product_ids)  # type: ignore[arg-type]
        unlocked_reads.append(True)  # what the planner saw before someone else took the stock
        return {key: Level(level.on_hand + 100, level.reserved, level.safety) for key, level in found.items()}

    monkeypatch.setattr(inventory_repo, "read_levels", stale)
    report = ingest_batch(factory, [order(("SKU-1", 1), placed=n) for n in range(10)])

    assert unlocked_reads == [True]  # planned once on the stale figures, corrected under the lock
    assert [i.status for i in report.items] == ["allocated"] * 5 + ["on_hold"] * 5
    assert _stock(factory, "SKU-1") == (5, 5, 0)
