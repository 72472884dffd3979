"""What the hub stored in English for people (a hold's reason, a rule that fired, the routing's
sentences, a parcel's status) reads in the viewer's language on the order page, while the API keeps
the English alone; rows stored before phrases were kept read as their English."""
# ruff: noqa: RUF001 - Chinese is written with its own punctuation.

from __future__ import annotations

import re
from datetime import datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from orderly.core.db import transaction
from orderly.orders.models import Order, OrderEvent
from tests.console.conftest import ORDERS
from tests.factories import order

API = "/api/v1"


def _section(page: str, name: str) -> str:
    found = re.search(rf'<section class="{name}">.*?</section>', page, re.S)
    assert found is not None, name
    return found.group(0)


def _chinese(client: TestClient) -> None:
    assert client.post("/preferences", data={"locale": "zh_Hans"}).status_code == 204


def test_a_chinese_viewer_reads_why_an_order_is_held_and_which_rule_fired(
    client: TestClient, orders: dict[str, int]
) -> None:
    _chinese(client)
    page = client.get(f"/orders/{orders['1003']}").text
    holds, review = _section(page, "holds"), _section(page, "review")
    assert "缺货：SKU-3 需要 1，可用 0" in holds and "out of stock" not in holds
    assert "<td>stock.available (v0)</td><td>缺货：SKU-3 需要 1，可用 0</td>" in review
    queue = client.get("/exceptions").text
    assert "缺货：SKU-3 需要 1，可用 0" in queue


def test_the_api_keeps_the_english_alone(client: TestClient, orders: dict[str, int]) -> None:
    order = client.get(f"{API}/orders/{orders['1003']}").json()
    assert order["holds"][0]["message"] == "out of stock: SKU-3 needs 1, 0 available"
    assert set(order["holds"][0]) == {"reason", "message", "details"}
    assert order["review"]["fired"][0]["message"] == "out of stock: SKU-3 needs 1, 0 available"
    assert "phrase" not in order["review"]["fired"][0]


def test_a_chinese_viewer_reads_the_routing_decision(client: TestClient, orders: dict[str, int]) -> None:
    rule = {"key": "de-first", "name": "Germany first", "then": [{"warehouses": {"prefer": ["WH-1"]}}]}
    assert client.put(f"{API}/routing/rules/de-first", json=rule).status_code == 200
    answer = client.post(f"{API}/orders/ingest", json={"orders": [order(("SKU-1", 1), external_id="1005")]})
    assert answer.status_code == 200, answer.text
    new = next(o for o in client.get(f"{API}/orders").json()["items"] if o["external_id"] == "1005")
    english = client.get(f"{API}/orders/{new['id']}").json()["routing"]
    assert english["outcome"] == "WH-1: first in the order, holds every line"
    assert "phrases" not in english
    _chinese(client)
    routing = _section(client.get(f"/orders/{new['id']}").text, "routing")
    assert "<p>WH-1：顺序第一，每一行都有货</p>" in routing
    assert "规则 de-first 触发：Germany first" in routing  # the rule's name stays as the seller wrote it
    assert "WH-1：规则 de-first 优先" in routing


def test_a_chinese_viewer_reads_a_parcels_status_and_its_history(
    client: TestClient, orders: dict[str, int]
) -> None:
    parcel = client.post(
        f"{API}/orders/{orders['#1001']}/shipments",
        json={"carrier": "DHL", "tracking_number": "JD014600006281230", "ship": True},
    )
    assert parcel.status_code == 201, parcel.text
    _chinese(client)
    page = client.get(f"/orders/{orders['#1001']}").text
    assert '<span class="parcel-status">已发货</span>' in page
    assert "已导入" in page  # the history's first event, by its name


def test_a_hold_stored_before_phrases_reads_as_its_english(
    client: TestClient, orders: dict[str, int], factory: sessionmaker[Session]
) -> None:
    with transaction(factory) as s:
        stored = s.get(Order, orders["1003"])
        assert stored is not None
        stored.holds = [
            {"reason": "out_of_stock", "message": "out of stock: SKU-3 (an old row)", "details": []}
        ]
    _chinese(client)
    assert "out of stock: SKU-3 (an old row)" in client.get(f"/orders/{orders['1003']}").text


def test_a_chinese_viewer_reads_the_payment_status(client: TestClient, orders: dict[str, int]) -> None:
    assert "<dt>Payment</dt><dd>paid</dd>" in client.get(f"/orders/{orders['#1001']}").text
    _chinese(client)
    assert "<dt>付款</dt><dd>已付款</dd>" in client.get(f"/orders/{orders['#1001']}").text


def test_a_chinese_viewer_reads_what_a_fired_rule_did(client: TestClient, orders: dict[str, int]) -> None:
    assert "<td>hold out_of_stock</td>" in _section(client.get(f"/orders/{orders['1003']}").text, "review")
    fired = client.get(f"{API}/orders/{orders['1003']}").json()["review"]["fired"][0]
    assert fired["actions"] == ["hold out_of_stock"] and "phrases" not in fired
    _chinese(client)
    assert "<td>暂停 缺货</td>" in _section(client.get(f"/orders/{orders['1003']}").text, "review")


def test_a_chinese_viewer_reads_the_history_ingest_wrote(client: TestClient, orders: dict[str, int]) -> None:
    english = client.get(f"{API}/orders/{orders['1003']}").json()["events"][0]
    assert english["message"] == "held: out of stock: SKU-3 needs 1, 0 available" and "phrase" not in english
    _chinese(client)
    held = _section(client.get(f"/orders/{orders['1003']}").text, "history")
    assert "暂停：缺货：SKU-3 需要 1，可用 0" in held and "held:" not in held
    approved = _section(client.get(f"/orders/{orders['#1001']}").text, "history")
    assert "已通过；已在仓库 WH-1 预留库存" in approved and "approved;" not in approved


def test_a_chinese_viewer_reads_the_history_a_release_wrote(
    client: TestClient, orders: dict[str, int]
) -> None:
    held = {"order": str(orders["1003"]), "from": "order", "action": "release", "note": "buyer phoned"}
    assert client.post("/orders/bulk", data=held, headers={"HX-Request": "true"}).status_code == 200
    story = client.get(f"{API}/orders/{orders['1003']}").json()["events"]
    assert story[-1]["message"] == (
        "buyer phoned (lifted: out_of_stock; out of stock: SKU-3 needs 1, 0 available)"
    )
    _chinese(client)
    history = _section(client.get(f"/orders/{orders['1003']}").text, "history")
    assert "buyer phoned（解除：缺货；缺货：SKU-3 需要 1，可用 0）" in history  # the note as written
    assert "lifted" not in history


def test_history_stored_before_phrases_reads_as_its_english(
    client: TestClient, orders: dict[str, int], factory: sessionmaker[Session]
) -> None:
    with transaction(factory) as s:
        for event in s.scalars(select(OrderEvent).where(OrderEvent.order_id == orders["#1001"])):
            event.phrase = None
    _chinese(client)
    history = _section(client.get(f"/orders/{orders['#1001']}").text, "history")
    assert "approved; stock reserved in warehouse WH-1" in history


def test_a_chinese_viewer_reads_what_ingest_wrote_of_the_platform(
    client: TestClient, orders: dict[str, int]
) -> None:
    settled = order(("SKU-1", 1), external_id="1006", cancelled=True)
    later = (datetime.fromisoformat(ORDERS[0]["updated_at"]) + timedelta(minutes=1)).isoformat()
    cancelled = {**ORDERS[0], "updated_at": later, "cancelled": True}
    answer = client.post(f"{API}/orders/ingest", json={"orders": [settled, cancelled]})
    assert answer.status_code == 200, answer.text
    new = next(o for o in client.get(f"{API}/orders").json()["items"] if o["external_id"] == "1006")
    assert client.get(f"{API}/orders/{new['id']}").json()["events"][0]["message"] == "imported as cancelled"
    story = client.get(f"{API}/orders/{orders['#1001']}").json()["events"]
    assert story[-1]["message"] == "cancelled on the platform"
    _chinese(client)
    assert "导入时已取消" in _section(client.get(f"/orders/{new['id']}").text, "history")
    history = _section(client.get(f"/orders/{orders['#1001']}").text, "history")
    assert "已在平台上取消" in history and "on the platform" not in history


def test_a_chinese_viewer_reads_an_address_correction_and_its_review(
    client: TestClient, orders: dict[str, int]
) -> None:
    fixed = {"city": "Munich", "note": "buyer emailed"}
    assert client.patch(f"{API}/orders/{orders['#1001']}/address", json=fixed).status_code == 200
    story = [e["message"] for e in client.get(f"{API}/orders/{orders['#1001']}").json()["events"]]
    assert story[-2:] == [
        "address corrected: city: 'Berlin' -> 'Munich' (buyer emailed)",
        "reviewed again: nothing to hold",
    ]
    _chinese(client)
    history = _section(client.get(f"/orders/{orders['#1001']}").text, "history")
    assert (
        "地址已更正：城市：&#39;Berlin&#39; → &#39;Munich&#39;（buyer emailed）" in history
    )  # the note as written
    assert "已重新审核：无需暂停" in history and "reviewed again" not in history


def test_a_chinese_viewer_reads_what_fulfilment_wrote(client: TestClient, orders: dict[str, int]) -> None:
    tracked = client.post(
        f"{API}/orders/{orders['#1001']}/shipments", json={"tracking_number": "JD0146", "ship": True}
    )
    assert tracked.status_code == 201, tracked.text
    untracked = client.post(f"{API}/orders/{orders['114-0001']}/shipments", json={"ship": True})
    assert untracked.status_code == 201, untracked.text
    story = [e["message"] for e in client.get(f"{API}/orders/{orders['#1001']}").json()["events"]]
    assert story[-2:] == ["label bought", f"shipment {tracked.json()['id']} (JD0146)"]
    last = client.get(f"{API}/orders/{orders['114-0001']}").json()["events"][-1]
    assert last["message"] == f"shipment {untracked.json()['id']} (no tracking number)"
    _chinese(client)
    history = _section(client.get(f"/orders/{orders['#1001']}").text, "history")
    assert "已购面单" in history and f"包裹 {tracked.json()['id']}（JD0146）" in history
    history = _section(client.get(f"/orders/{orders['114-0001']}").text, "history")
    assert f"包裹 {untracked.json()['id']}（无运单号）" in history
