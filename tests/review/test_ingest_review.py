"""The review inside ingest, on both databases: what the rules decide reaches the stock and the order."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from orderly.alerts.service import open_alerts
from orderly.core.clock import utcnow
from orderly.core.db import transaction
from orderly.inventory import repository as inventory_repo
from orderly.inventory import service as inventory
from orderly.inventory.models import Warehouse
from orderly.orders.ingest import ingest_batch
from orderly.review import service as review
from tests.factories import order, setup_catalog, stored_order


def _reserved_in(factory: sessionmaker[Session], order_id: int) -> dict[str, int]:
    with transaction(factory) as s:
        codes = dict(s.execute(select(Warehouse.id, Warehouse.code)).all())
        held = inventory_repo.reserved_by_order(s, [order_id]).get(order_id, {})
    totals: dict[str, int] = {}
    for (_, warehouse_id), qty in held.items():
        totals[codes[warehouse_id]] = totals.get(codes[warehouse_id], 0) + qty
    return totals


def _rule(factory: sessionmaker[Session], spec: dict[str, Any]) -> None:
    with transaction(factory) as s:
        review.save_rule(s, spec, actor="test")


def test_an_order_no_one_warehouse_can_fill_is_split_over_two(factory: sessionmaker[Session]) -> None:
    setup_catalog(factory, {"SKU-1": 5}, warehouses=2)
    with transaction(factory) as s:
        inventory.receive(s, "SKU-2", "WH-2", 5, actor="test", reason="delivery")
    ingest_batch(factory, [order(("SKU-1", 2), ("SKU-2", 1), external_id="SPLIT")])

    split = stored_order(factory, "SPLIT")
    assert split.status == "allocated"
    assert split.review is not None and split.review["split"] is True
    assert [f["rule"] for f in split.review["fired"]] == ["stock.split"]
    assert _reserved_in(factory, split.id) == {"WH-1": 2, "WH-2": 1}


def test_with_the_split_rule_off_the_same_order_waits_for_stock(factory: sessionmaker[Session]) -> None:
    setup_catalog(factory, {"SKU-1": 5}, warehouses=2)
    with transaction(factory) as s:
        inventory.receive(s, "SKU-2", "WH-2", 5, actor="test", reason="delivery")
        review.set_enabled(s, "stock.split", False, actor="test")
    ingest_batch(factory, [order(("SKU-1", 2), ("SKU-2", 1), external_id="WHOLE")])
    held = stored_order(factory, "WHOLE")
    assert held.status == "on_hold" and held.holds[0]["reason"] == "out_of_stock"
    assert _reserved_in(factory, held.id) == {}


def test_a_rule_chooses_the_warehouse(factory: sessionmaker[Session]) -> None:
    setup_catalog(factory, {"SKU-1": 5}, warehouses=2)
    with transaction(factory) as s:
        inventory.receive(s, "SKU-1", "WH-2", 5, actor="test", reason="delivery")
    _rule(
        factory,
        {"key": "de-from-wh2", "scope": {"countries": ["DE"]}, "then": [{"warehouse": {"use": "WH-2"}}]},
    )
    german = order(("SKU-1", 1), external_id="DE1")
    german["shipping_address"] |= {"country": "DE", "postal_code": "10115", "phone": "+49 30 901820"}
    ingest_batch(factory, [german, order(("SKU-1", 1), external_id="US1")])
    assert _reserved_in(factory, stored_order(factory, "DE1").id) == {"WH-2": 1}
    assert _reserved_in(factory, stored_order(factory, "US1").id) == {"WH-1": 1}


def test_orders_of_one_buyer_to_one_address_are_merged(factory: sessionmaker[Session]) -> None:
    setup_catalog(factory, {"SKU-1": 5, "SKU-2": 5})
    first = order(("SKU-1", 1), external_id="M1", placed=0)
    second = order(("SKU-2", 1), external_id="M2", placed=3600)
    second["buyer"], second["shipping_address"] = first["buyer"], first["shipping_address"]
    ingest_batch(factory, [first])
    ingest_batch(factory, [second])
    third = order(("SKU-2", 1), external_id="M3", placed=7200)
    third["buyer"], third["shipping_address"] = first["buyer"], first["shipping_address"]
    other = order(("SKU-1", 1), external_id="OTHER", placed=7200)
    ingest_batch(factory, [third, other])

    ids = {name: stored_order(factory, name).id for name in ("M1", "M2")}
    assert (stored_order(factory, "M2").review or {}).get("merge_with") == [ids["M1"]]
    assert (stored_order(factory, "M3").review or {}).get("merge_with") == sorted(ids.values())
    assert "merge_with" not in (stored_order(factory, "OTHER").review or {})
    assert all(stored_order(factory, name).status == "allocated" for name in ("M1", "M2", "M3"))


def test_an_order_names_the_one_of_its_own_batch_it_ships_with(factory: sessionmaker[Session]) -> None:
    setup_catalog(factory, {"SKU-1": 5, "SKU-2": 5})
    first = order(("SKU-1", 1), external_id="B1", placed=0)
    second = order(("SKU-2", 1), external_id="B2", placed=3600)
    second["buyer"], second["shipping_address"] = first["buyer"], first["shipping_address"]
    ingest_batch(factory, [first, second])

    assert (stored_order(factory, "B2").review or {}).get("merge_with") == [stored_order(factory, "B1").id]
    assert "merge_with" not in (stored_order(factory, "B1").review or {})


def test_an_unpaid_order_is_held_until_the_platform_says_it_is_paid(factory: sessionmaker[Session]) -> None:
    setup_catalog(factory, {"SKU-1": 5})
    body = order(("SKU-1", 1), external_id="PAY", payment_status="pending", payment_method="bank_transfer")
    ingest_batch(factory, [body])
    held = stored_order(factory, "PAY")
    assert held.status == "on_hold" and [h["reason"] for h in held.holds] == ["payment"]
    assert "unpaid (bank_transfer) for" in held.holds[0]["message"]  # placed days ago: past the timeout

    ingest_batch(factory, [{**body, "payment_status": "paid", "updated_at": utcnow().isoformat()}])
    assert stored_order(factory, "PAY").status == "allocated"


def test_rules_tag_an_order_and_raise_an_alert(factory: sessionmaker[Session]) -> None:
    setup_catalog(factory, {"SKU-1": 50})
    _rule(
        factory,
        {
            "key": "bulk",
            "when": {"fact": "order.item_count", "gte": 10},
            "then": [{"tag": ["bulk", "check"]}, {"priority": 50}, {"notify": "a bulk order to pack"}],
        },
    )
    ingest_batch(factory, [order(("SKU-1", 12), external_id="BULK", tags=["vip"]), order(("SKU-1", 1))])
    bulk = stored_order(factory, "BULK")
    assert bulk.status == "allocated" and bulk.tags == ["vip", "bulk", "check"]
    assert bulk.review is not None and bulk.review["priority"] == 50
    with transaction(factory) as s:
        alerts = [a.message for a in open_alerts(s) if a.kind == "review"]
    assert alerts == ["order BULK on shop-a: a bulk order to pack"]


def test_a_velocity_burst_is_held_across_batches(factory: sessionmaker[Session]) -> None:
    setup_catalog(factory, {"SKU-1": 50})
    first = order(("SKU-1", 1), external_id="V1", placed=0)
    burst = []
    for n in range(2, 5):
        again = order(("SKU-1", 1), external_id=f"V{n}", placed=60 * n)
        again["buyer"], again["shipping_address"] = first["buyer"], first["shipping_address"]
        burst.append(again)
    ingest_batch(factory, [first])
    ingest_batch(factory, burst[:1])
    ingest_batch(factory, burst[1:])
    statuses = [stored_order(factory, f"V{n}").status for n in range(1, 5)]
    assert statuses == ["allocated", "allocated", "on_hold", "on_hold"]
    third = stored_order(factory, "V3")
    assert third.holds[0]["reason"] == "risk" and "similar orders" in third.holds[0]["message"]
    assert third.review is not None and third.review["risk"]["score"] == 60


def _expensive(external_id: str, placed: int) -> dict[str, object]:
    body = order(("SKU-1", 1), external_id=external_id, placed=placed)
    body["lines"][0]["unit_price"] = 400_000  # a hundred times the shop's usual order
    return body


def test_a_backlog_on_a_fresh_hub_holds_what_is_far_above_the_shops_normal(
    factory: sessionmaker[Session],
) -> None:
    setup_catalog(factory, {"SKU-1": 200})
    # The hub starts: one order is seen before the backlog, while the shop has no normal yet.
    ingest_batch(factory, [order(("SKU-1", 1), external_id="FIRST", placed=0)])
    backlog = [order(("SKU-1", 1), external_id=f"B{n}", placed=10 + n) for n in range(40)]
    # One batch: its own earlier orders make the shop's normal for the later ones.
    ingest_batch(factory, [*backlog, _expensive("HIGH-1", 100)])
    # The next batch sees the stored ones at once, not a remembered "no normal yet".
    ingest_batch(factory, [_expensive("HIGH-2", 200)])

    for external_id in ("HIGH-1", "HIGH-2"):
        held = stored_order(factory, external_id)
        assert held.status == "on_hold", external_id
        assert held.holds[0]["reason"] == "risk" and "the shop's usual" in held.holds[0]["message"]
    assert stored_order(factory, "B39").status == "allocated"
