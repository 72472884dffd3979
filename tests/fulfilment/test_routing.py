"""Warehouse routing through the hub, on SQLite and PostgreSQL: routing rules saved over the API (and
refused with the field named), orders ingested where the rules send them, splits and the threshold,
the decision readable on the order, the release of held orders, and re-routing (API and CLI)."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from orderly.catalog import service as catalog
from orderly.catalog.schemas import ProductIn
from orderly.core.db import transaction
from orderly.inventory import service as inventory
from orderly.inventory.schemas import WarehouseIn
from tests.cli.conftest import Cli
from tests.factories import order, setup_catalog
from tests.fulfilment.test_routing_rules import EXAMPLES

API = "/api/v1"


def _world(factory: sessionmaker[Session], stock: dict[tuple[str, str], int]) -> None:
    """HOME (priority 1), LOCAL (2) and OVERSEAS (3); a light LAMP (800 g) and a bulky SOFA (30 kg,
    2 m long) besides the usual SKUs; ``stock`` by (SKU, warehouse)."""
    setup_catalog(factory, warehouses=0)
    with transaction(factory) as s:
        for priority, code in enumerate(("HOME", "LOCAL", "OVERSEAS"), start=1):
            inventory.create_warehouse(s, WarehouseIn(code=code, name=code.title(), priority=priority))
        catalog.create_product(s, ProductIn(sku="LAMP", name="Lamp", weight_g=800))
        catalog.create_product(s, ProductIn(sku="SOFA", name="Sofa", weight_g=30_000, length_mm=2_000))
        for (sku, warehouse), qty in stock.items():
            inventory.receive(s, sku, warehouse, qty, actor="test", reason="opening stock")


EVERYWHERE = {(sku, wh): 10 for sku in ("LAMP", "SOFA") for wh in ("HOME", "LOCAL", "OVERSEAS")}


def _rules(client: TestClient, rules: list[dict[str, Any]] = EXAMPLES, **settings: Any) -> None:
    for rule in rules:
        response = client.put(f"{API}/routing/rules/{rule['key']}", json=rule)
        assert response.status_code == 200, response.text
    if settings:
        assert client.put(f"{API}/routing/settings", json=settings).status_code == 200


POSTAL_CODES = {"SG": "018956", "DE": "10115", "FR": "75001"}


def _ingest(
    client: TestClient, *lines: tuple[str, int], country: str = "US", **fields: Any
) -> dict[str, Any]:
    body = order(*lines, **fields)
    if country != "US":
        body["shipping_address"] |= {
            "country": country,
            "region": None,
            "postal_code": POSTAL_CODES[country],
            "phone": None,
        }
    response = client.post(f"{API}/orders/ingest", json={"orders": [body]})
    assert response.status_code == 200, response.text
    (item,) = response.json()["items"]
    found: dict[str, Any] = client.get(f"{API}/orders/{item['order_id']}").json()
    return found


def _reserved(client: TestClient, sku: str) -> dict[str, int]:
    found = {row["warehouse"]: row["reserved"] for row in client.get(f"{API}/stock/{sku}").json()}
    return {code: found.get(code, 0) for code in ("HOME", "LOCAL", "OVERSEAS")}


def test_the_three_example_rules_send_orders_where_the_seller_said(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    _world(factory, EVERYWHERE)
    _rules(client)

    light_to_singapore = _ingest(client, ("LAMP", 1), country="SG")
    bulky_to_germany = _ingest(client, ("SOFA", 1), country="DE")
    domestic = _ingest(client, ("LAMP", 1), country="US")

    assert light_to_singapore["warehouse"] == "LOCAL"
    assert bulky_to_germany["warehouse"] == "OVERSEAS"
    assert domestic["warehouse"] == "HOME"
    routing = bulky_to_germany["routing"]
    assert [f["rule"] for f in routing["fired"]] == ["eu-bulky"]
    assert routing["chosen"] == ["OVERSEAS"]
    assert routing["passed_over"] == {"LOCAL": "excluded by rule eu-bulky"}
    assert routing["explanation"][-1] == "outcome: OVERSEAS: first in the order, holds every line"
    assert light_to_singapore["routing"]["carrier"] == {
        "carrier": "dhl_express",
        "service": "P",
        "rule": "sea-light",
    }
    assert _reserved(client, "LAMP") == {"HOME": 1, "LOCAL": 1, "OVERSEAS": 0}


def test_without_routing_rules_nothing_is_routed_and_orders_go_by_priority(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    _world(factory, EVERYWHERE)
    placed = _ingest(client, ("SOFA", 1), country="DE")
    assert placed["warehouse"] == "HOME" and placed["routing"] is None


def test_stock_decides_when_the_preferred_warehouse_lacks_it(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    _world(factory, {("LAMP", "HOME"): 5, ("LAMP", "OVERSEAS"): 5})
    _rules(client)
    placed = _ingest(client, ("LAMP", 2), country="SG")
    assert placed["warehouse"] == "HOME"
    assert placed["routing"]["warehouses"]["LOCAL"] == (
        "preferred by rule sea-light; short: LAMP needs 2, has 0"
    )
    assert placed["routing"]["outcome"] == "HOME: the first in the order that holds every line"


def test_an_order_no_one_warehouse_fills_splits_unless_below_the_threshold(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    _world(factory, {("LAMP", "HOME"): 1, ("LAMP", "OVERSEAS"): 1, ("SOFA", "HOME"): 1, ("SOFA", "LOCAL"): 1})
    _rules(client, [], split=True, split_min_total=10_000)

    big = _ingest(client, ("SOFA", 2), country="US")  # 2 x 19.99 + 4.99 = 44.97 USD
    assert big["status"] == "on_hold"
    assert big["routing"]["split"] is False
    assert big["routing"]["split_reason"] == (
        "total 44.97 USD is below the split threshold 100.00 USD: it waits for one warehouse to hold it all"
    )
    assert "SOFA" in big["holds"][0]["message"]

    client.put(f"{API}/routing/settings", json={"split": True, "split_min_total": 4_000})
    split = _ingest(client, ("LAMP", 2), country="US")
    assert split["status"] == "allocated"
    assert split["routing"]["chosen"] == ["HOME", "OVERSEAS"]
    assert split["routing"]["outcome"] == "split over HOME, OVERSEAS: no one warehouse held every line"
    assert _reserved(client, "LAMP") == {"HOME": 1, "LOCAL": 0, "OVERSEAS": 1}


def test_an_excluded_warehouse_is_never_used_even_when_it_alone_has_the_stock(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    _world(factory, {("SOFA", "LOCAL"): 5})
    _rules(client)
    placed = _ingest(client, ("SOFA", 1), country="FR")
    assert placed["status"] == "on_hold"
    assert placed["routing"]["passed_over"] == {"LOCAL": "excluded by rule eu-bulky"}
    assert placed["routing"]["outcome"].startswith("nothing reserved")
    assert _reserved(client, "SOFA") == {"HOME": 0, "LOCAL": 0, "OVERSEAS": 0}


def test_a_held_order_released_when_stock_arrives_is_routed_as_ingest_routes(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    _world(factory, {})
    _rules(client)
    waiting = _ingest(client, ("LAMP", 1), country="SG")
    assert waiting["status"] == "on_hold"
    with transaction(factory) as s:
        for warehouse in ("HOME", "LOCAL"):
            inventory.receive(s, "LAMP", warehouse, 3, actor="test", reason="delivery")
    from orderly.orders.holds import release_waiting

    with transaction(factory) as s:
        assert release_waiting(s) == 1
    released = client.get(f"{API}/orders/{waiting['id']}").json()
    assert released["warehouse"] == "LOCAL" and released["status"] == "allocated"
    assert released["routing"]["chosen"] == ["LOCAL"]


def test_re_routing_moves_the_reservation_where_the_rules_now_send_it(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    _world(factory, EVERYWHERE)
    placed = _ingest(client, ("SOFA", 1), country="DE")
    assert placed["warehouse"] == "HOME"

    same = client.post(f"{API}/orders/{placed['id']}/route")
    assert same.status_code == 200 and same.json()["moved"] is False
    assert same.json()["note"] == "re-routed: stays in HOME"

    _rules(client)
    moved = client.post(f"{API}/orders/{placed['id']}/route").json()
    assert moved["moved"] is True and moved["warehouses"] == ["OVERSEAS"]
    assert moved["note"] == "re-routed: stock reserved in OVERSEAS (was HOME)"
    assert _reserved(client, "SOFA") == {"HOME": 0, "LOCAL": 0, "OVERSEAS": 1}
    after = client.get(f"{API}/orders/{placed['id']}").json()
    assert after["warehouse"] == "OVERSEAS" and after["routing"]["chosen"] == ["OVERSEAS"]
    assert after["events"][-1]["kind"] == "rerouted" and after["events"][-1]["message"] == moved["note"]


def test_a_person_re_routes_to_a_warehouse_of_their_choosing_or_splits_or_is_refused(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    _world(factory, {("LAMP", "HOME"): 1, ("LAMP", "OVERSEAS"): 1, ("SOFA", "LOCAL"): 2})
    assert client.post(f"{API}/review/rules/stock.split/disable").status_code == 200
    short = _ingest(client, ("LAMP", 2))  # no one warehouse holds 2, and the review does not split it
    assert short["status"] == "on_hold" and short["holds"][0]["reason"] == "out_of_stock"

    elsewhere = client.post(f"{API}/orders/{short['id']}/route", json={"warehouse": "LOCAL"})
    assert elsewhere.status_code == 409
    assert elsewhere.json()["error"]["message"] == (
        f"order {short['id']} cannot be filled by warehouse LOCAL: short of LAMP (needs 2, 0 available); "
        "nothing changed"
    )
    unknown = client.post(f"{API}/orders/{short['id']}/route", json={"warehouse": "MOON"})
    assert unknown.status_code == 404 and unknown.json()["error"]["field"] == "warehouse"
    both = client.post(f"{API}/orders/{short['id']}/route", json={"warehouse": "HOME", "split": True})
    assert both.status_code == 422

    split = client.post(f"{API}/orders/{short['id']}/route", json={"split": True})
    assert split.status_code == 200, split.text
    assert split.json()["warehouses"] == ["HOME", "OVERSEAS"] and split.json()["status"] == "allocated"
    assert split.json()["note"] == "re-routed split as asked: stock reserved in HOME, OVERSEAS"
    assert _reserved(client, "LAMP") == {"HOME": 1, "LOCAL": 0, "OVERSEAS": 1}
    too_much = _ingest(client, ("LAMP", 1))
    refused = client.post(f"{API}/orders/{too_much['id']}/route", json={"split": True})
    assert refused.status_code == 409 and "short of LAMP (needs 1, 0 available)" in refused.text

    sofa = _ingest(client, ("SOFA", 1))
    assert sofa["warehouse"] == "LOCAL"
    kept = client.post(f"{API}/orders/{sofa['id']}/route", json={"warehouse": "HOME"})
    assert kept.status_code == 409  # HOME has no sofa: it stays reserved in LOCAL
    assert _reserved(client, "SOFA") == {"HOME": 0, "LOCAL": 1, "OVERSEAS": 0}
    with transaction(factory) as s:
        inventory.receive(s, "SOFA", "OVERSEAS", 1, actor="test", reason="delivery")
    moved = client.post(f"{API}/orders/{sofa['id']}/route", json={"warehouse": "OVERSEAS"}).json()
    assert moved["warehouses"] == ["OVERSEAS"] and moved["note"] == (
        "re-routed to OVERSEAS as asked: stock reserved in OVERSEAS (was LOCAL)"
    )
    assert _reserved(client, "SOFA") == {"HOME": 0, "LOCAL": 0, "OVERSEAS": 1}


def test_re_routing_is_refused_for_an_order_with_a_parcel_or_already_cancelled(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    _world(factory, EVERYWHERE)
    parcel = _ingest(client, ("LAMP", 1))
    assert client.post(f"{API}/orders/{parcel['id']}/shipments", json={}).status_code == 201
    refused = client.post(f"{API}/orders/{parcel['id']}/route")
    assert refused.status_code == 409
    assert "void them before re-routing" in refused.json()["error"]["message"]
    gone = _ingest(client, ("LAMP", 1))
    client.post(f"{API}/orders/{gone['id']}/cancel", json={"reason": "buyer asked"})
    assert client.post(f"{API}/orders/{gone['id']}/route").status_code == 409
    assert client.post(f"{API}/orders/999999/route").status_code == 404


def test_the_cli_re_routes_an_order_and_prints_why(
    cli: Cli, factory: sessionmaker[Session], client: TestClient
) -> None:
    _world(factory, EVERYWHERE)
    placed = _ingest(client, ("SOFA", 1), country="DE")
    _rules(client)
    result = cli("route", str(placed["id"]))
    assert (
        f"Order {placed['id']} is allocated: re-routed: stock reserved in OVERSEAS (was HOME)."
        in result.output
    )
    assert "LOCAL: excluded by rule eu-bulky" in result.output
    assert "no order 999999" in cli("route", "999999", code=1).output


def test_routing_rules_round_trip_through_yaml_keeping_versions(
    client: TestClient, factory: sessionmaker[Session], cli: Cli, tmp_path: Any
) -> None:
    _world(factory, {})
    lanes = [{"warehouse": "HOME", "to": ["*"], "cost": 900, "days": 5}]
    _rules(client, split=True, split_min_total=2_500, lanes=lanes)
    exported = client.get(f"{API}/routing/export")
    assert exported.status_code == 200 and exported.headers["content-type"].startswith("application/yaml")
    document = yaml.safe_load(exported.text)
    assert [r["key"] for r in document["rules"]] == ["sea-light", "eu-bulky", "domestic"]
    assert document["settings"]["lanes"][0] == {"warehouse": "HOME", "to": ["*"], "cost": 900, "days": 5}

    again = client.post(
        f"{API}/routing/import", content=exported.text, headers={"content-type": "application/yaml"}
    )
    assert again.status_code == 200, again.text
    assert [r["version"] for r in again.json()] == [1, 1, 1]  # nothing changed: no new versions

    file = tmp_path / "routing.yaml"
    cli("routing", "export", str(file))
    document["rules"] = document["rules"][:1]
    file.write_text(yaml.safe_dump(document))
    cli("routing", "import", str(file), "--replace")
    assert [r["key"] for r in client.get(f"{API}/routing/rules").json()] == ["sea-light"]
    assert client.get(f"{API}/routing/rules/domestic/versions").json()[-1]["change"] == "deleted"
    # The review's rules are a rule set of their own: a routing rule is not one of them.
    assert "sea-light" not in {r["key"] for r in client.get(f"{API}/review/rules").json()}


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"then": [{"warehouses": {"prefer": "HOME", "exclude": "HOME"}}]}, "then[0].warehouses", "both"),
        ({"then": [{"rank": "cheapest"}]}, "then[0].rank", "rank takes one of"),
        (
            {"when": {"fact": "order.size", "eq": "small"}, "then": [{"split": True}]},
            "when.fact",
            "size_class",
        ),
        ({"then": [{"approve": True}]}, "then[0]", "unknown routing action 'approve'"),
        ({"scope": {"planets": ["mars"]}, "then": [{"split": True}]}, "scope.planets", "unknown scope"),
    ],
)
def test_a_bad_routing_rule_is_a_422_naming_the_field(
    client: TestClient, factory: sessionmaker[Session], body: dict[str, Any], field: str, message: str
) -> None:
    response = client.put(f"{API}/routing/rules/bad", json=body)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["field"] == field
    assert message in error["message"]


def test_bad_routing_yaml_and_settings_are_422s_naming_where(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    headers = {"content-type": "application/yaml"}
    broken = client.post(f"{API}/routing/import", content="rules: [ {key: a", headers=headers)
    assert broken.status_code == 422 and broken.json()["error"]["field"].startswith("line ")
    wrong = client.post(
        f"{API}/routing/import", content="rules:\n- key: a\n  then: [{split: maybe}]\n", headers=headers
    )
    assert wrong.status_code == 422 and wrong.json()["error"]["field"] == "rules[0].then[0].split"
    lanes = "settings:\n  lanes: [{warehouse: HOME, to: [Asia]}]\nrules: []\n"
    refused = client.post(f"{API}/routing/import", content=lanes, headers=headers)
    assert refused.status_code == 422 and refused.json()["error"]["field"] == "settings.lanes[0].to"
    assert client.put(f"{API}/routing/settings", json={"split_min_total": -1}).status_code == 422
    assert client.get(f"{API}/routing/rules").json() == []


def test_a_dry_run_compares_a_candidate_routing_with_the_live_one(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    _world(factory, EVERYWHERE)
    for country in ("SG", "DE", "US"):
        _ingest(client, ("LAMP", 1), country=country)
    report = client.post(f"{API}/routing/dry-run", json={"rules": EXAMPLES, "last": 10}).json()
    assert report["orders"] == 3
    assert report["live"]["first_choice"] == {"HOME": 3}
    assert report["candidate"]["first_choice"] == {"HOME": 2, "LOCAL": 1}
    assert report["changed"] == 1 and report["changes"][0]["candidate"]["rules"] == ["sea-light"]
    assert client.get(f"{API}/routing/rules").json() == []  # nothing saved


def test_a_routing_rule_is_switched_off_and_on_and_keeps_every_version(
    client: TestClient, factory: sessionmaker[Session], cli: Cli
) -> None:
    _world(factory, EVERYWHERE)
    _rules(client)
    off = client.post(f"{API}/routing/rules/eu-bulky/disable").json()
    assert off["enabled"] is False and off["version"] == 2
    assert _ingest(client, ("SOFA", 1), country="DE")["warehouse"] == "HOME"  # the rule no longer fires
    assert client.post(f"{API}/routing/rules/eu-bulky/enable").json()["version"] == 3
    assert _ingest(client, ("SOFA", 1), country="DE")["warehouse"] == "OVERSEAS"
    changes = [v["change"] for v in client.get(f"{API}/routing/rules/eu-bulky/versions").json()]
    assert changes == ["created", "updated", "updated"]
    listed = cli("routing", "rules").output
    assert "eu-bulky" in listed and "prefer OVERSEAS; exclude LOCAL" in listed
    assert client.delete(f"{API}/routing/rules/eu-bulky").status_code == 204
    assert client.get(f"{API}/routing/rules/eu-bulky").status_code == 404
    assert client.put(f"{API}/routing/rules/settings", json={"then": [{"split": True}]}).status_code == 422
