"""The rules pages: both rule sets with their versions, a rule set's YAML refused with the API's own
messages (nothing changed), a dry run's report of the orders that would change, switching the draft
in, an older version made active again, and the permissions of the API's rules routes."""

from __future__ import annotations

from typing import Any

import yaml
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from orderly.auth.domain import Role
from orderly.auth.service import create_token
from orderly.core.db import transaction
from tests.factories import order, setup_catalog

HTMX = {"HX-Request": "true"}
BIG = {
    "key": "big-orders",
    "name": "Big orders",
    "when": {"fact": "order.total_base", "gt": 3000},
    "then": [{"hold": {"reason": "risk", "message": "over 30"}}],
}


def _as(factory: sessionmaker[Session], role: Role) -> dict[str, str]:
    with transaction(factory) as s:
        return {"Authorization": f"Bearer {create_token(s, f'a {role}', role=role).token}"}


def _orders(client: TestClient, factory: sessionmaker[Session]) -> None:
    """One small order (24.98 USD) and one big (44.97 USD), both approved by the rules as shipped."""
    setup_catalog(factory, {"SKU-1": 50})
    bodies = [order(("SKU-1", 1), external_id="SMALL"), order(("SKU-1", 2), external_id="BIG")]
    assert client.post("/api/v1/orders/ingest", json={"orders": bodies}).status_code == 200


def _draft(client: TestClient, *rules: dict[str, Any]) -> str:
    document = yaml.safe_load(client.get("/api/v1/review/export").text)
    document["rules"] += list(rules)
    return str(yaml.safe_dump(document, sort_keys=False))


def test_the_rules_page_lists_both_sets_and_a_rules_versions(client: TestClient) -> None:
    assert client.put("/api/v1/review/rules/big-orders", json=BIG).status_code == 200
    route = {"key": "home-first", "name": "Home first", "then": [{"warehouses": {"prefer": ["WH-1"]}}]}
    assert client.put("/api/v1/routing/rules/home-first", json=route).status_code == 200
    page = client.get("/rules")
    assert page.status_code == 200
    review = page.text.split('data-kind="review"')[1].split("</section>")[0]
    routing = page.text.split('data-kind="routing"')[1].split("</section>")[0]
    assert 'data-rule="big-orders"' in review and 'data-rule="home-first"' in routing
    assert 'data-rule="stock.split"' in review and "as shipped" in review
    assert "rule set version" in review
    versions = client.get("/rules/review/rules/big-orders")
    assert versions.status_code == 200 and 'data-version="1"' in versions.text and "created" in versions.text
    assert client.get("/rules/review/rules/nope").status_code == 404
    assert client.get("/rules/other").status_code == 422
    assert "规则" in client.get("/rules", headers={"Cookie": "orderly_locale=zh_Hans"}).text


def test_bad_yaml_shows_the_apis_messages_and_changes_nothing(client: TestClient) -> None:
    before = client.get("/api/v1/review/export").text
    for text in (
        "rules: [\n  - key: x\n   bad",
        _draft(client, {**BIG, "when": {"fact": "order.nope", "gt": 1}}),
    ):
        api = client.post("/api/v1/review/import", content=text, headers={"content-type": "application/yaml"})
        assert api.status_code == 422
        page = client.post("/rules/review", data={"yaml": text})
        assert page.status_code == 422 and "nothing changed" in page.text
        dry = client.post("/rules/review/dry-run", data={"yaml": text}, headers=HTMX)
        assert dry.status_code == 200
        for problem in api.json()["error"]["fields"]:
            shown = f"<code>{problem['field']}</code>: {problem['message']}"
            assert shown.replace("'", "&#39;") in page.text and shown.replace("'", "&#39;") in dry.text
    assert (
        "line 2, column 3" in client.post("/rules/review", data={"yaml": "rules: [\n  - key: x\n   bad"}).text
    )
    assert client.get("/api/v1/review/export").text == before


def test_a_dry_run_shows_the_orders_that_would_change_then_the_draft_is_switched_in(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    _orders(client, factory)
    draft = _draft(client, BIG)
    report = client.post("/rules/review/dry-run", data={"yaml": draft, "last": "100"}, headers=HTMX)
    assert report.status_code == 200, report.text
    assert "Dry run over 2 orders" in report.text and "1 orders would change" in report.text
    changes = report.text.split('class="changes"')[1]
    assert "BIG" in changes and "SMALL" not in changes and "over 30" in changes and "big-orders" in changes
    assert client.get("/api/v1/review/rules/big-orders").status_code == 404  # nothing saved

    switched = client.post("/rules/review", data={"yaml": draft}, headers=HTMX)
    assert switched.status_code == 200 and "Switched: rule set version" in switched.text
    assert client.get("/api/v1/review/rules/big-orders").json()["version"] == 1
    again = client.post("/rules/review/dry-run", data={"yaml": draft}, headers=HTMX)
    assert "0 orders would change" in again.text

    routing = client.post("/rules/routing/dry-run", data={"yaml": "rules: []"}, headers=HTMX)
    assert routing.status_code == 200 and "Dry run over 2 orders" in routing.text
    bad_last = client.post("/rules/review/dry-run", data={"yaml": draft, "last": "0"})
    assert bad_last.status_code == 422 and "<code>last</code>" in bad_last.text


def test_an_older_version_is_switched_back_in(client: TestClient) -> None:
    assert client.put("/api/v1/review/rules/big-orders", json=BIG).status_code == 200
    bigger = {**BIG, "when": {"fact": "order.total_base", "gt": 9000}}
    assert client.put("/api/v1/review/rules/big-orders", json=bigger).status_code == 200
    page = client.post("/rules/review/rules/big-orders/versions/1", headers=HTMX)
    assert page.status_code == 200 and "Version 1 is in force again" in page.text
    now = client.get("/api/v1/review/rules/big-orders").json()
    assert now["version"] == 3 and now["spec"]["when"] == BIG["when"]
    missing = client.post("/rules/review/rules/big-orders/versions/9")
    assert missing.status_code == 404 and "no version 9" in missing.text


def test_rules_need_the_apis_permissions(anonymous: TestClient, factory: sessionmaker[Session]) -> None:
    reader = _as(factory, Role.READER)  # may read rules, not change them
    page = anonymous.get("/rules/review", headers=reader)
    assert page.status_code == 200 and "readonly" in page.text and "Save and switch" not in page.text
    for path in ("/rules/review", "/rules/review/dry-run", "/rules/review/rules/stock.split/versions/1"):
        assert anonymous.post(path, data={"yaml": "rules: []"}, headers=reader).status_code == 403
    service = _as(factory, Role.CUSTOMER_SERVICE)
    assert anonymous.get("/rules", headers=service).status_code == 403
    assert 'href="/rules"' not in anonymous.get("/orders", headers=service).text
    operations = _as(factory, Role.OPERATIONS)
    assert 'href="/rules"' in anonymous.get("/orders", headers=operations).text
