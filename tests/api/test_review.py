"""Auto-review over HTTP: rules and their versions, refusals with the field at fault, the rule set as
YAML, settings, what a rule can use, and the dry run."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient
from sqlalchemy import delete
from sqlalchemy.orm import Session, sessionmaker

from orderly.core.db import transaction
from orderly.orders.models import Order
from orderly.review.checks import CHECKS
from orderly.review.facts import FACTS
from orderly.review.models import ReviewRule, ReviewRuleVersion
from tests.factories import order, setup_catalog

RULES = "/api/v1/review/rules"
BIG = {
    "name": "Big orders",
    "when": {"fact": "order.total", "gt": 10_000},
    "then": [{"hold": {"reason": "risk", "message": "over 100"}}],
}


def _ok(response: Any) -> Any:
    assert response.status_code == 200, response.text
    return response.json()


def _refused(response: Any) -> dict[str, Any]:
    """The error of a 422; its ``fields`` list every problem, the first one also in ``field``."""
    assert response.status_code == 422, response.text
    error: dict[str, Any] = response.json()["error"]
    assert error["fields"][0]["field"] == error["field"]
    return error


def _clear_rules(factory: sessionmaker[Session]) -> None:
    """Back to a hub that never saved a rule."""
    with transaction(factory) as s:
        s.execute(delete(ReviewRule))
        s.execute(delete(ReviewRuleVersion))


def _import(client: TestClient, document: str | bytes, **params: Any) -> Any:
    return client.post(
        "/api/v1/review/import", content=document, params=params, headers={"Content-Type": "application/yaml"}
    )


# --- rules -----------------------------------------------------------------------------------------


def test_the_list_has_every_built_in_check_as_shipped_in_running_order(client: TestClient) -> None:
    listed = _ok(client.get(RULES))

    assert [r["key"] for r in listed] == sorted(CHECKS, key=lambda key: (CHECKS[key].priority, key))
    velocity = next(r for r in listed if r["key"] == "risk.velocity")
    assert velocity["builtin"] is True
    assert (velocity["kind"], velocity["enabled"], velocity["version"]) == ("factor", True, 0)
    assert (velocity["updated_by"], velocity["updated_at"]) == (None, None)
    assert velocity["spec"]["params"]["weight"] == 60
    assert {r["kind"] for r in listed} == {"hold", "factor", "merge", "split"}


def test_a_custom_rule_is_saved_and_read_back(client: TestClient) -> None:
    saved = _ok(client.put(f"{RULES}/big-orders", json=BIG))

    assert saved == _ok(client.get(f"{RULES}/big-orders"))
    assert (saved["key"], saved["name"], saved["builtin"], saved["kind"]) == (
        "big-orders",
        "Big orders",
        False,
        "custom",
    )
    assert (saved["version"], saved["priority"], saved["enabled"]) == (1, 1000, True)
    assert saved["spec"]["when"] == BIG["when"]
    assert saved["spec"]["then"] == BIG["then"]
    assert saved["updated_by"] == "tester"
    assert saved["updated_at"] is not None
    assert _ok(client.get(RULES))[-1]["key"] == "big-orders"  # priority 1000 runs after the built-ins


def test_every_save_is_a_new_version_with_who_made_it(client: TestClient) -> None:
    client.put(f"{RULES}/big-orders", json=BIG)
    second = _ok(client.put(f"{RULES}/big-orders", json={**BIG, "key": "big-orders", "priority": 5}))
    client.delete(f"{RULES}/big-orders")

    versions = _ok(client.get(f"{RULES}/big-orders/versions"))

    assert second["version"] == 2
    assert [(v["version"], v["change"], v["actor"]) for v in versions] == [
        (1, "created", "tester"),
        (2, "updated", "tester"),
        (3, "deleted", "tester"),
    ]
    assert versions[1]["spec"]["priority"] == 5
    assert versions[2]["spec"] is None
    assert client.get(f"{RULES}/big-orders").status_code == 404


@pytest.mark.parametrize(
    ("key", "body", "field", "message"),
    [
        (
            "big",
            {**BIG, "when": {"fact": "order.totl", "gt": 1}},
            "when.fact",
            "unknown fact 'order.totl'; did you mean 'order.total'?",
        ),
        ("big", {**BIG, "when": {"fact": "order.shop", "gt": 5}}, "when.gt", "order.shop is text"),
        ("big", {**BIG, "when": {"fact": "order.total", "gt": "lots"}}, "when.gt", "gt needs a number"),
        ("big", {**BIG, "then": [{"frobnicate": True}]}, "then[0]", "unknown action 'frobnicate'"),
        ("big", {**BIG, "then": [{"hold": "nope"}]}, "then[0].hold.reason", "unknown hold reason 'nope'"),
        ("big", {**BIG, "scope": {"shop": ["shop-a"]}}, "scope.shop", "unknown scope 'shop'"),
        ("risk.velocity", {"params": {"weight": -5}}, "params.weight", "greater than or equal to 0"),
        ("risk.foo", BIG, "key", "'risk.foo' is not a built-in check"),
        ("big", {**BIG, "key": "other"}, "key", "'other' is not the key in the path, 'big'"),
    ],
)
def test_a_bad_rule_is_422_naming_the_field_and_nothing_is_saved(
    client: TestClient, key: str, body: dict[str, Any], field: str, message: str
) -> None:
    before = client.get(f"{RULES}/{key}").json()

    error = _refused(client.put(f"{RULES}/{key}", json=body))

    assert error["field"].endswith(field), error
    assert message in error["fields"][0]["message"]
    assert message in error["message"]
    assert client.get(f"{RULES}/{key}").json() == before


def test_unknown_rules_are_404(client: TestClient) -> None:
    for response in (
        client.get(f"{RULES}/nope"),
        client.delete(f"{RULES}/nope"),
        client.post(f"{RULES}/nope/enable"),
        client.get(f"{RULES}/nope/versions"),
    ):
        assert response.status_code == 404, response.text
        assert "review rule 'nope'" in response.json()["error"]["message"]


def test_deleting_a_built_in_rule_resets_it(client: TestClient) -> None:
    tuned = _ok(client.put(f"{RULES}/risk.velocity", json={"params": {"weight": 10}}))
    assert (tuned["version"], tuned["spec"]["params"]["weight"]) == (1, 10)

    assert client.delete(f"{RULES}/risk.velocity").status_code == 204

    shipped = _ok(client.get(f"{RULES}/risk.velocity"))
    assert (shipped["version"], shipped["updated_by"], shipped["spec"]["params"]["weight"]) == (0, None, 60)
    versions = _ok(client.get(f"{RULES}/risk.velocity/versions"))
    assert [(v["change"], v["spec"]) for v in versions[1:]] == [("reset", None)]
    assert client.delete(f"{RULES}/risk.velocity").status_code == 404  # nothing saved to reset


def test_enable_and_disable(client: TestClient) -> None:
    off = _ok(client.post(f"{RULES}/address.po_box/disable"))
    on = _ok(client.post(f"{RULES}/address.po_box/enable"))

    assert (off["enabled"], off["version"]) == (False, 1)
    assert (on["enabled"], on["version"]) == (True, 2)
    assert _ok(client.get(f"{RULES}/address.po_box"))["enabled"] is True


def test_review_needs_a_token(anonymous: TestClient) -> None:
    assert anonymous.get(RULES).status_code == 401


# --- the rule set as YAML --------------------------------------------------------------------------


def test_export_then_import_into_a_fresh_hub_round_trips(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    client.put(f"{RULES}/big-orders", json=BIG)
    client.put(f"{RULES}/risk.velocity", json={"params": {"weight": 10, "max_orders": 4}})
    client.post(f"{RULES}/address.po_box/disable")
    client.put("/api/v1/review/settings", json={"base_currency": "EUR", "rates": {"USD": 0.9}})
    exported = client.get("/api/v1/review/export")
    assert exported.status_code == 200
    assert exported.headers["content-type"].startswith("application/yaml")
    document = yaml.safe_load(exported.text)
    assert document["settings"]["base_currency"] == "EUR"
    assert [r["key"] for r in document["rules"]] == [r["key"] for r in _ok(client.get(RULES))]

    _clear_rules(factory)
    assert client.get("/api/v1/review/export").text != exported.text
    imported = _ok(_import(client, exported.text))

    assert client.get("/api/v1/review/export").text == exported.text
    assert [r["key"] for r in imported] == [r["key"] for r in document["rules"]]
    assert next(r for r in imported if r["key"] == "big-orders")["updated_by"] == "tester"
    # Rules the document leaves as shipped stay unsaved.
    assert next(r for r in imported if r["key"] == "address.missing")["version"] == 0


def test_import_leaves_unchanged_rules_alone_and_replace_removes_the_rest(client: TestClient) -> None:
    client.put(f"{RULES}/big-orders", json=BIG)
    client.put(
        f"{RULES}/small-orders", json={**BIG, "name": "Small", "when": {"fact": "order.total", "lt": 100}}
    )
    client.put(f"{RULES}/risk.velocity", json={"params": {"weight": 10}})
    document = yaml.safe_dump({"rules": [{**BIG, "key": "big-orders"}]})

    _ok(_import(client, document))
    assert _ok(client.get(f"{RULES}/big-orders"))["version"] == 1  # the same rule: no new version
    assert client.get(f"{RULES}/small-orders").status_code == 200

    changed = yaml.safe_dump({"rules": [{**BIG, "key": "big-orders", "priority": 7}]})
    imported = {r["key"]: r for r in _ok(_import(client, changed, replace="true"))}

    assert (imported["big-orders"]["version"], imported["big-orders"]["priority"]) == (2, 7)
    assert "small-orders" not in imported
    assert imported["risk.velocity"]["version"] == 0
    assert _ok(client.get(f"{RULES}/risk.velocity/versions"))[-1]["change"] == "reset"


@pytest.mark.parametrize(
    ("rules", "field", "message"),
    [
        (
            [{**BIG, "key": "fine"}, {**BIG, "key": "bad", "then": [{"hold": "nope"}]}],
            "then[0].hold.reason",
            "nope",
        ),
        ([{**BIG, "key": "twice"}, {**BIG, "key": "twice"}], "rules[1].key", "'twice' appears twice"),
    ],
)
def test_import_is_all_or_nothing(
    client: TestClient, rules: list[dict[str, Any]], field: str, message: str
) -> None:
    before = client.get("/api/v1/review/export").text

    error = _refused(_import(client, yaml.safe_dump({"rules": rules})))

    assert error["field"].endswith(field), error
    assert message in error["message"]
    assert client.get("/api/v1/review/export").text == before
    assert client.get(f"{RULES}/fine").status_code == 404


@pytest.mark.parametrize(
    ("content", "field", "message"),
    [
        (b"rules: [\n  {key: a", "line 2", "not valid YAML"),
        (b"- 1\n- 2\n", "rules[0]", "a rule is an object"),
        (b"rulez: []\n", "rulez", "only rules and settings"),
        (b"rules: []\nsettings: {base_currency: XYZ}\n", "settings.base_currency", "ISO 4217"),
        (b"rules: [\xff]", "body", "unicode"),
        # Once a 500: PyYAML recursed past Python's stack.
        (b"[" * 50_000 + b"]" * 50_000, "line 1, column 101", "nested deeper than 100 levels"),
        (b"rules:\n" + b"- " * 50_000 + b"x", "line 2, column 199", "nested deeper than 100 levels"),
    ],
)
def test_import_of_a_document_that_is_not_a_rule_set_is_422(
    client: TestClient, content: bytes, field: str, message: str
) -> None:
    error = _refused(_import(client, content))

    assert error["field"].startswith(field), error
    assert message in error["message"]


# --- settings, facts, checks -----------------------------------------------------------------------


def test_settings_round_trip(client: TestClient) -> None:
    assert _ok(client.get("/api/v1/review/settings")) == {
        "base_currency": "USD",
        "rates": {},
        "history_hours": 24,
    }

    saved = _ok(client.put("/api/v1/review/settings", json={"base_currency": "eur", "rates": {"usd": 0.9}}))

    assert saved == {"base_currency": "EUR", "rates": {"USD": 0.9}, "history_hours": 24}
    assert _ok(client.get("/api/v1/review/settings")) == saved


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"base_currency": "XYZ"}, "base_currency"),
        ({"rates": {"USD": 0}}, "rates.USD"),
        ({"rates": {"USD": -1.5}}, "rates.USD"),
        ({"history_hours": 0}, "history_hours"),
        ({"currency": "USD"}, "currency"),
    ],
)
def test_bad_settings_are_422_and_not_saved(client: TestClient, body: dict[str, Any], field: str) -> None:
    error = _refused(client.put("/api/v1/review/settings", json=body))

    assert error["field"] == field
    assert _ok(client.get("/api/v1/review/settings"))["base_currency"] == "USD"


def test_facts_list_what_a_condition_can_use(client: TestClient) -> None:
    facts = {f["name"]: f for f in _ok(client.get("/api/v1/review/facts"))}

    assert set(facts) == set(FACTS)
    assert facts["order.total"] == {
        "name": "order.total",
        "type": "number",
        "description": FACTS["order.total"].description,
    }
    assert facts["order.skus"]["type"] == "list"


def test_checks_list_their_kind_and_params(client: TestClient) -> None:
    checks = {c["key"]: c for c in _ok(client.get("/api/v1/review/checks"))}

    assert set(checks) == set(CHECKS)
    velocity = checks["risk.velocity"]
    assert (velocity["kind"], velocity["title"], velocity["priority"]) == (
        "factor",
        CHECKS["risk.velocity"].title,
        300,
    )
    assert velocity["params"]["weight"] == 60
    assert velocity["params_schema"]["properties"]["weight"]["minimum"] == 0
    assert checks["stock.available"]["then"] == [{"hold": "out_of_stock"}]


# --- dry run ---------------------------------------------------------------------------------------


def _ingest(client: TestClient, *orders: dict[str, Any]) -> dict[int, str]:
    """Every order's external id by its id."""
    body = _ok(client.post("/api/v1/orders/ingest", json={"orders": list(orders)}))
    assert body["created"] == len(orders), body
    listed = _ok(client.get("/api/v1/orders"))["items"]
    return {o["id"]: o["external_id"] for o in listed}


def _priced(external_id: str, quantity: int) -> dict[str, Any]:
    """An order of ``quantity`` x 19.99 (plus 4.99 shipping)."""
    return order(("SKU-1", quantity), external_id=external_id)


def test_a_dry_run_compares_a_candidate_with_the_live_rules(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    setup_catalog(factory, {"SKU-1": 100})
    ids = _ingest(client, _priced("SMALL", 1), _priced("MID", 3), _priced("LARGE", 6))
    candidate = {**BIG, "key": "big-orders", "when": {"fact": "order.total", "gt": 5_000}}

    report = _ok(client.post("/api/v1/review/dry-run", json={"rules": [candidate], "last": 10}))

    assert report["orders"] == 3
    assert report["live"]["pass_rate"] == 1.0
    assert (report["candidate"]["approved"], report["candidate"]["held"]) == (1, 2)
    assert report["candidate"]["pass_rate"] == pytest.approx(1 / 3, abs=1e-4)
    assert report["candidate"]["held_by_reason"] == {"risk": 2}
    assert report["candidate"]["fired_by_rule"]["big-orders"] == 2
    assert report["changed"] == 2
    changed = {c["external_id"]: c for c in report["changes"]}
    assert set(changed) == {"MID", "LARGE"}
    large = changed["LARGE"]
    assert ids[large["order_id"]] == "LARGE"
    assert large["live"]["outcome"] == "approved"
    assert large["candidate"] == {
        "outcome": "held",
        "reasons": ["risk"],
        "rules": ["big-orders"],
        "messages": ["over 100"],
    }
    assert {h["external_id"] for h in report["would_hold"]} == {"MID", "LARGE"}


def test_a_dry_run_takes_yaml_reviews_only_the_last_orders_and_saves_nothing(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    setup_catalog(factory, {"SKU-1": 100})
    _ingest(client, _priced("OLD", 6))
    _ingest(client, _priced("NEW", 6))
    before = client.get("/api/v1/review/export").text
    document = yaml.safe_dump({"rules": [{**BIG, "key": "big-orders"}]})

    report = _ok(client.post("/api/v1/review/dry-run", json={"yaml": document, "last": 1}))

    assert report["orders"] == 1
    assert [c["external_id"] for c in report["changes"]] == ["NEW"]
    assert client.get("/api/v1/review/export").text == before
    assert client.get(f"{RULES}/big-orders").status_code == 404


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"rules": [{**BIG, "key": "big"}], "yaml": "rules: []"}, "yaml"),
        ({"rules": [{**BIG, "key": "big", "then": [{"hold": "nope"}]}]}, "then[0].hold.reason"),
        ({"yaml": "rules: [oops"}, "line 1"),
        ({"rules": [], "settings": {"rates": {"USD": 0}}}, "settings.rates.USD"),
        ({"rules": [], "last": 0}, "last"),
    ],
)
def test_a_bad_dry_run_is_422(client: TestClient, body: dict[str, Any], field: str) -> None:
    error = _refused(client.post("/api/v1/review/dry-run", json=body))

    assert field in error["field"], error


# --- a person holds and releases -------------------------------------------------------------------


def _held_by_review(client: TestClient, factory: sessionmaker[Session]) -> int:
    """An order the PO box check held, with its 2 units of SKU-1 reserved."""
    setup_catalog(factory, {"SKU-1": 5})
    body = order(("SKU-1", 2), external_id="PO")
    body["shipping_address"]["line1"] = "PO Box 4471"
    (order_id,) = _ingest(client, body)
    held = _ok(client.get(f"/api/v1/orders/{order_id}"))
    assert (held["status"], [h["reason"] for h in held["holds"]]) == ("on_hold", ["address"])
    return order_id


def _reserved(client: TestClient) -> int:
    return sum(level["reserved"] for level in _ok(client.get("/api/v1/stock/SKU-1")))


def test_a_person_releases_a_held_order_and_holds_it_again(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    order_id = _held_by_review(client, factory)

    released = _ok(
        client.post(f"/api/v1/orders/{order_id}/release", json={"note": " street address confirmed "})
    )

    assert (released["status"], released["holds"], released["warehouse"]) == ("allocated", [], "WH-1")
    event = released["events"][-1]
    assert (event["kind"], event["actor"], event["from_status"], event["to_status"]) == (
        "released",
        "tester",
        "on_hold",
        "allocated",
    )
    assert event["message"].startswith("street address confirmed (lifted: address")
    assert released == _ok(client.get(f"/api/v1/orders/{order_id}"))

    held = _ok(client.post(f"/api/v1/orders/{order_id}/hold", json={"note": "buyer asked to wait"}))

    assert held["status"] == "on_hold"
    assert [(h["reason"], h["message"]) for h in held["holds"]] == [("manual", "buyer asked to wait")]
    assert (held["events"][-1]["kind"], held["events"][-1]["actor"]) == ("held", "tester")
    assert _reserved(client) == 2  # a held order keeps its stock


def test_hold_and_release_refusals(client: TestClient, factory: sessionmaker[Session]) -> None:
    order_id = _held_by_review(client, factory)
    client.post(f"/api/v1/orders/{order_id}/release", json={"note": "ok"})

    not_held = client.post(f"/api/v1/orders/{order_id}/release", json={"note": "again"})
    assert not_held.status_code == 409
    assert "not on hold" in not_held.json()["error"]["message"]
    assert client.post("/api/v1/orders/999/hold", json={"note": "x"}).status_code == 404
    for note in ({}, {"note": "   "}, {"note": "x" * 1001}, {"note": "a\x00b"}, {"note": "x", "why": "y"}):
        assert _refused(client.post(f"/api/v1/orders/{order_id}/hold", json=note))["field"] in {"note", "why"}
    assert _ok(client.get(f"/api/v1/orders/{order_id}"))["status"] == "allocated"


def test_a_dry_run_of_yaml_nested_too_deep_is_422(client: TestClient) -> None:
    error = _refused(client.post("/api/v1/review/dry-run", json={"yaml": "[" * 50_000 + "]" * 50_000}))

    assert "nested deeper than 100 levels" in error["message"]


def test_approve_lifts_the_holds_of_an_order_pending_review_or_on_hold(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    order_id = _held_by_review(client, factory)
    approved = _ok(client.post(f"/api/v1/orders/{order_id}/approve", json={"note": "looked fine"}))
    assert approved["status"] == "allocated" and approved["holds"] == []
    assert (approved["events"][-1]["kind"], approved["events"][-1]["from_status"]) == ("approved", "on_hold")
    assert approved["events"][-1]["message"].startswith("looked fine (lifted: address")

    again = client.post(f"/api/v1/orders/{order_id}/approve", json={"note": "again"})
    assert (
        again.status_code == 409
        and "only an order pending review or on hold" in again.json()["error"]["message"]
    )
    with transaction(factory) as s:  # no ingest leaves one pending review: made so by hand
        row = s.get(Order, order_id)
        assert row is not None
        row.status = "pending_review"
    assert (
        _ok(client.post(f"/api/v1/orders/{order_id}/approve", json={"note": "ok"}))["status"] == "allocated"
    )
