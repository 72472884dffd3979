"""Orders over HTTP: ingest, read, filter, paginate, cancel; rejections and their replay."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, event
from sqlalchemy.orm import Session, sessionmaker

from tests.factories import order, setup_catalog


def _ingest(client: TestClient, *orders: dict[str, Any]) -> dict[str, Any]:
    response = client.post("/api/v1/orders/ingest", json={"orders": list(orders)})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _walk(client: TestClient, path: str, **params: Any) -> list[dict[str, Any]]:
    """Every item of a paginated listing, following next_cursor to the end."""
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        page = client.get(path, params={**params, **({"cursor": cursor} if cursor else {})})
        assert page.status_code == 200, page.text
        items += page.json()["items"]
        cursor = page.json()["next_cursor"]
        if cursor is None:
            return items


def _shipping_to(country: str) -> dict[str, str]:
    postal_codes = {"DE": "10115", "US": "48817"}
    return {
        "name": "B",
        "line1": "1 Main St",
        "city": "Somewhere",
        "postal_code": postal_codes.get(country.upper(), "1000"),
        "country": country,
    }


# --- ingest ----------------------------------------------------------------------------------------


def test_ingest_creates_orders_and_rejects_unknown_skus_per_item(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    setup_catalog(factory, {"SKU-1": 10})

    body = _ingest(client, order(("SKU-1", 2), external_id="A1"), order(("NOPE", 1), external_id="A2"))

    assert (body["created"], body["rejected"]) == (1, 1)
    created, rejected = body["items"]
    assert (created["index"], created["outcome"], created["status"]) == (0, "created", "allocated")
    assert rejected["index"] == 1
    assert rejected["outcome"] == "rejected"
    assert rejected["external_id"] == "A2"
    assert rejected["rejection_id"] is not None
    assert rejected["errors"] == [
        {
            "field": "lines[0].platform_sku",
            "message": "unknown SKU 'NOPE' on shop 'shop-a': create the product or map it",
        }
    ]
    assert client.get("/api/v1/stock/SKU-1").json()[0]["reserved"] == 2


def test_ingest_twice_is_unchanged(client: TestClient, factory: sessionmaker[Session]) -> None:
    setup_catalog(factory, {"SKU-1": 10})
    batch = [order(("SKU-1", 1)) for _ in range(3)]

    _ingest(client, *batch)
    again = _ingest(client, *batch)

    assert (again["created"], again["unchanged"]) == (0, 3)
    assert len(client.get("/api/v1/orders").json()["items"]) == 3


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"lines": [{"platform_sku": "SKU-1", "quantity": -1, "unit_price": 100}]}, "lines[0].quantity"),
        ({"lines": [{"platform_sku": "SKU-1", "quantity": "two", "unit_price": 100}]}, "lines[0].quantity"),
        ({"currency": "XYZ"}, "currency"),
        ({"currency": 840}, "currency"),
        ({"placed_at": "2026-11-11T00:00:00"}, "placed_at"),
        ({"shipping_address": _shipping_to("ZZ")}, "shipping_address.country"),
        ({"shop": "no-such-shop"}, "shop"),
        ({"external_id": None}, "external_id"),
    ],
)
def test_ingest_rejects_a_bad_order_naming_the_field(
    client: TestClient, factory: sessionmaker[Session], change: dict[str, Any], field: str
) -> None:
    setup_catalog(factory, {"SKU-1": 10})

    body = _ingest(client, order(("SKU-1", 1)), {**order(("SKU-1", 1)), **change})

    assert (body["created"], body["rejected"]) == (1, 1)
    assert body["items"][1]["outcome"] == "rejected"
    assert field in [e["field"] for e in body["items"][1]["errors"]]


def test_ingest_names_a_missing_field(client: TestClient, factory: sessionmaker[Session]) -> None:
    setup_catalog(factory)
    incomplete = order(("SKU-1", 1))
    del incomplete["currency"]

    (item,) = _ingest(client, incomplete)["items"]

    assert item["errors"] == [{"field": "currency", "message": "Field required"}]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "orders"),
        ({"orders": []}, "orders"),
        ({"orders": {"shop": "shop-a"}}, "orders"),
        ({"orders": [order(), 42]}, "orders[1]"),
        ([order()], "body"),
    ],
)
def test_ingest_request_of_the_wrong_shape_is_422(client: TestClient, body: Any, field: str) -> None:
    response = client.post("/api/v1/orders/ingest", json=body)

    assert response.status_code == 422
    error = response.json()["error"]
    assert error["field"] == field
    assert error["message"].startswith(f"{field}: ")
    assert error["fields"][0]["field"] == field


# --- reading ---------------------------------------------------------------------------------------


def test_get_order_with_lines_money_and_history(client: TestClient, factory: sessionmaker[Session]) -> None:
    setup_catalog(factory, {"SKU-1": 10, "SKU-2": 10})
    (item,) = _ingest(
        client, order(("SKU-1", 2), ("B-ONE", 1), shop="shop-b", external_id="B1", tags=["vip"], tax_total=12)
    )["items"]

    response = client.get(f"/api/v1/orders/{item['order_id']}")

    assert response.status_code == 200
    got = response.json()
    assert got["id"] == item["order_id"]
    assert (got["shop"], got["external_id"], got["status"]) == ("shop-b", "B1", "allocated")
    assert (got["currency"], got["subtotal"], got["shipping_total"], got["tax_total"]) == (
        "USD",
        5997,
        499,
        12,
    )
    assert got["total"] == 5997 + 499 + 12
    assert got["warehouse"] == "WH-1"
    assert got["tags"] == ["vip"]
    assert got["holds"] == []
    assert got["buyer"]["email"].startswith("ada") and got["buyer"]["email"].endswith("@example.com")
    assert got["shipping_address"]["country"] == "US"
    assert got["placed_at"] == "2026-11-11T00:00:00Z"
    assert [(ln["line_no"], ln["sku"], ln["platform_sku"], ln["quantity"]) for ln in got["lines"]] == [
        (1, "SKU-1", "SKU-1", 2),
        (2, "SKU-1", "B-ONE", 1),
    ]
    assert got["lines"][0]["unit_price"] == 1999
    assert [(e["kind"], e["from_status"], e["to_status"], e["actor"]) for e in got["events"]] == [
        ("imported", None, "allocated", "tester")
    ]


def test_order_short_of_stock_shows_its_hold(client: TestClient, factory: sessionmaker[Session]) -> None:
    setup_catalog(factory, {"SKU-1": 1})
    (item,) = _ingest(client, order(("SKU-1", 3)))["items"]

    got = client.get(f"/api/v1/orders/{item['order_id']}").json()

    assert got["status"] == "on_hold"
    assert got["warehouse"] is None
    (hold,) = got["holds"]
    assert hold["reason"] == "out_of_stock"
    assert hold["details"] == [{"sku": "SKU-1", "needed": 3, "available": 1}]


@pytest.mark.parametrize(("order_id", "status"), [("999", 404), ("0", 422), ("abc", 422), (str(2**63), 422)])
def test_get_unknown_or_malformed_order_id(client: TestClient, order_id: str, status: int) -> None:
    response = client.get(f"/api/v1/orders/{order_id}")

    assert response.status_code == status
    if status == 422:
        assert response.json()["error"]["field"] == "order_id"


def test_list_filters(client: TestClient, factory: sessionmaker[Session]) -> None:
    setup_catalog(factory, {"SKU-1": 100, "SKU-2": 100, "SKU-3": 1})
    _ingest(
        client,
        order(("SKU-1", 1), external_id="a-early", placed=0),
        order(("SKU-2", 1), external_id="a-late", placed=3600, shipping_address=_shipping_to("DE")),
        order(("SKU-3", 5), external_id="a-held", placed=7200),
        order(("B-ONE", 1), shop="shop-b", external_id="b-mapped", placed=7200),
        order(
            ("KIT-1", 1),
            shop="shop-b",
            external_id="b-kit",
            placed=10800,
            shipping_address=_shipping_to("de"),
        ),
    )

    def ids(**params: Any) -> list[str]:
        response = client.get("/api/v1/orders", params=params)
        assert response.status_code == 200, response.text
        return sorted(o["external_id"] for o in response.json()["items"])

    assert ids() == ["a-early", "a-held", "a-late", "b-kit", "b-mapped"]
    assert ids(status="on_hold") == ["a-held"]
    assert ids(status="allocated", shop="shop-b") == ["b-kit", "b-mapped"]
    unknown = client.get("/api/v1/orders", params={"shop": "nope"})  # a misspelt shop is not "no orders"
    assert unknown.status_code == 404 and "unknown shop 'nope'" in unknown.text
    assert ids(sku="SKU-1") == ["a-early", "b-mapped"]  # our SKU, whatever the platform called it
    assert ids(sku="B-ONE") == ["b-mapped"]  # the platform's SKU
    assert ids(sku="KIT-1") == ["b-kit"]
    assert ids(country="DE") == ["a-late", "b-kit"]
    assert ids(country="de") == ["a-late", "b-kit"]
    assert ids(placed_from="2026-11-11T01:00:00Z") == ["a-held", "a-late", "b-kit", "b-mapped"]
    assert ids(placed_to="2026-11-11T01:00:00Z") == ["a-early"]  # the end is exclusive
    assert ids(placed_from="2026-11-11T04:00:00+02:00", placed_to="2026-11-11T05:00:00+02:00") == [
        "a-held",
        "b-mapped",
    ]
    assert ids(shop="shop-a", country="DE", placed_from="2026-11-11T00:30:00Z") == ["a-late"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"status": "lost"}, "status"),
        ({"country": "Germany"}, "country"),
        ({"placed_from": "2026-11-11T00:00:00"}, "placed_from"),
        ({"placed_to": "yesterday"}, "placed_to"),
        ({"placed_from": "0001-01-01T00:00:00+01:00"}, "placed_from"),
        ({"sku": "SKU\x00"}, "sku"),
        ({"limit": 0}, "limit"),
        ({"limit": 501}, "limit"),
        ({"limit": "many"}, "limit"),
    ],
)
def test_list_refuses_bad_filters_naming_them(client: TestClient, params: dict[str, Any], field: str) -> None:
    response = client.get("/api/v1/orders", params=params)

    assert response.status_code == 422
    assert response.json()["error"]["field"] == field


@pytest.mark.parametrize("cursor", ["garbage", "aWQ6LTE", "aWQ6eA", "%%%", "aWQ6OTk5OTk5OTk5OTk5OTk5OTk5OTk"])
def test_list_refuses_a_cursor_it_did_not_issue(client: TestClient, cursor: str) -> None:
    response = client.get("/api/v1/orders", params={"cursor": cursor})

    assert response.status_code == 400
    assert response.json()["error"]["field"] == "cursor"


def test_cursor_pagination_walks_every_order_once_newest_first(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    setup_catalog(factory, {"SKU-1": 1000, "SKU-2": 1000})
    _ingest(client, *[order(("SKU-1" if n % 3 else "SKU-2", 1), external_id=f"P{n:02}") for n in range(23)])

    first = client.get("/api/v1/orders", params={"limit": 5}).json()
    everything = _walk(client, "/api/v1/orders", limit=5)
    every_id = [o["id"] for o in everything]
    only_sku2 = _walk(client, "/api/v1/orders", limit=2, sku="SKU-2")

    assert len(first["items"]) == 5
    assert first["next_cursor"] is not None
    assert len(every_id) == 23
    assert len(set(every_id)) == 23
    assert every_id == sorted(every_id, reverse=True)
    assert sorted(o["external_id"] for o in only_sku2) == [f"P{n:02}" for n in range(0, 23, 3)]


def test_last_page_has_no_cursor(client: TestClient, factory: sessionmaker[Session]) -> None:
    setup_catalog(factory, {"SKU-1": 10})
    _ingest(client, order(), order())

    exact = client.get("/api/v1/orders", params={"limit": 2}).json()

    assert len(exact["items"]) == 2
    assert exact["next_cursor"] is None


def test_orders_arriving_between_pages_are_neither_skipped_nor_repeated(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    setup_catalog(factory, {"SKU-1": 100})
    _ingest(client, *[order() for _ in range(4)])
    first = client.get("/api/v1/orders", params={"limit": 2}).json()

    _ingest(client, order(external_id="NEW"))
    rest = client.get("/api/v1/orders", params={"limit": 10, "cursor": first["next_cursor"]}).json()

    seen = [o["id"] for o in first["items"] + rest["items"]]
    assert len(seen) == len(set(seen)) == 4  # the new order is on a fresh first page, not in this walk


@contextmanager
def _statements(engine: Engine) -> Iterator[list[str]]:
    seen: list[str] = []

    def record(*args: Any) -> None:
        seen.append(args[2])

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def test_a_page_costs_the_same_queries_whatever_its_size(
    client: TestClient, factory: sessionmaker[Session], engine: Engine
) -> None:
    setup_catalog(factory, {"SKU-1": 100, "SKU-2": 100})
    _ingest(client, *[order(("SKU-1", 1), ("SKU-2", 1)) for _ in range(30)])

    with _statements(engine) as small:
        client.get("/api/v1/orders", params={"limit": 2})
    with _statements(engine) as large:
        assert len(client.get("/api/v1/orders", params={"limit": 30}).json()["items"]) == 30

    # The token check reads and records its token by the clock (auth/gate.py), not per page, and its
    # use is written by a thread of its own that may run inside either window: only the page counts.
    small, large = ([sql for sql in seen if "api_tokens" not in sql] for seen in (small, large))
    assert len(large) == len(small)
    assert sum("order_lines" in sql for sql in large) == 1


# --- cancel ----------------------------------------------------------------------------------------


def test_cancel_releases_stock_and_records_who_and_why(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    setup_catalog(factory, {"SKU-1": 10})
    (item,) = _ingest(client, order(("SKU-1", 4)))["items"]

    response = client.post(f"/api/v1/orders/{item['order_id']}/cancel", json={"reason": "buyer asked"})

    assert response.status_code == 200
    got = response.json()
    assert got["status"] == "cancelled"
    last = got["events"][-1]
    assert (last["kind"], last["from_status"], last["to_status"], last["actor"], last["message"]) == (
        "cancelled",
        "allocated",
        "cancelled",
        "tester",
        "buyer asked",
    )
    assert client.get("/api/v1/stock/SKU-1").json()[0]["reserved"] == 0
    assert client.get("/api/v1/orders", params={"status": "cancelled"}).json()["items"][0]["id"] == got["id"]


def test_cancel_a_cancelled_order_is_409(client: TestClient, factory: sessionmaker[Session]) -> None:
    setup_catalog(factory, {"SKU-1": 10})
    (item,) = _ingest(client, order(("SKU-1", 1)))["items"]
    url = f"/api/v1/orders/{item['order_id']}/cancel"
    client.post(url, json={"reason": "first"})

    response = client.post(url, json={"reason": "again"})

    assert response.status_code == 409
    assert "cannot go from cancelled to cancelled" in response.json()["error"]["message"]
    events = client.get(f"/api/v1/orders/{item['order_id']}").json()["events"]
    assert [e["kind"] for e in events] == ["imported", "cancelled"]  # the refused request changed nothing


def test_cancel_an_unknown_order_is_404(client: TestClient) -> None:
    response = client.post("/api/v1/orders/12345/cancel", json={"reason": "x"})

    assert response.status_code == 404
    assert response.json()["error"]["message"] == "no order 12345"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "reason"),
        ({"reason": "  "}, "reason"),
        ({"reason": 5}, "reason"),
        ({"reason": "x" * 501}, "reason"),
        ({"reason": "x\x00"}, "reason"),
    ],
)
def test_cancel_needs_a_reason(
    client: TestClient, factory: sessionmaker[Session], body: dict[str, Any], field: str
) -> None:
    setup_catalog(factory, {"SKU-1": 10})
    (item,) = _ingest(client, order())["items"]

    response = client.post(f"/api/v1/orders/{item['order_id']}/cancel", json=body)

    assert response.status_code == 422
    assert response.json()["error"]["field"] == field
    assert client.get(f"/api/v1/orders/{item['order_id']}").json()["status"] == "allocated"


# --- rejections ------------------------------------------------------------------------------------


def test_rejections_list_and_paginate(client: TestClient, factory: sessionmaker[Session]) -> None:
    setup_catalog(factory)
    _ingest(client, *[order(("NOPE", 1), external_id=f"R{n}") for n in range(7)])

    open_ones = _walk(client, "/api/v1/rejections", limit=3)

    assert [r["external_id"] for r in open_ones] == [f"R{n}" for n in range(7)]
    assert {r["status"] for r in open_ones} == {"open"}
    assert open_ones[0]["shop"] == "shop-a"
    assert open_ones[0]["payload"]["external_id"] == "R0"
    assert "unknown SKU 'NOPE'" in open_ones[0]["reason"]
    assert client.get("/api/v1/rejections", params={"status": "resolved"}).json()["items"] == []
    assert client.get("/api/v1/rejections", params={"status": "nope"}).status_code == 422


def test_replay_after_the_cause_is_fixed_resolves_the_rejection(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    setup_catalog(factory, {"SKU-2": 5})
    (item,) = _ingest(client, order(("A-TWO", 1), shop="shop-b", external_id="R1"))["items"]
    mapping = {"shop": "shop-b", "platform_sku": "A-TWO", "sku": "SKU-2"}
    assert client.post("/api/v1/sku-mappings", json=mapping).status_code == 201

    response = client.post(f"/api/v1/rejections/{item['rejection_id']}/replay")

    assert response.status_code == 200
    (replayed,) = response.json()["items"]
    assert (replayed["outcome"], replayed["rejection_id"]) == ("created", item["rejection_id"])
    assert client.get("/api/v1/rejections").json()["items"] == []
    (resolved,) = client.get("/api/v1/rejections", params={"status": "all"}).json()["items"]
    assert (resolved["status"], resolved["order_id"], resolved["attempts"]) == (
        "resolved",
        replayed["order_id"],
        2,
    )
    assert client.post(f"/api/v1/rejections/{item['rejection_id']}/replay").status_code == 404


def test_replay_with_a_corrected_payload(client: TestClient, factory: sessionmaker[Session]) -> None:
    setup_catalog(factory, {"SKU-1": 5})
    bad = order(("SKU-1", 1), external_id="R2", currency="EURO")
    (item,) = _ingest(client, bad)["items"]
    assert item["errors"][0]["field"] == "currency"

    response = client.post(
        f"/api/v1/rejections/{item['rejection_id']}/replay", json={"payload": {**bad, "currency": "EUR"}}
    )

    assert response.status_code == 200
    (replayed,) = response.json()["items"]
    assert replayed["outcome"] == "created"
    assert client.get(f"/api/v1/orders/{replayed['order_id']}").json()["currency"] == "EUR"


def test_replay_that_fails_again_stays_open_with_the_new_reason(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    setup_catalog(factory)
    (item,) = _ingest(client, order(("NOPE", 1), external_id="R3"))["items"]

    response = client.post(
        f"/api/v1/rejections/{item['rejection_id']}/replay", json={"payload": order(("STILL-NOPE", 1))}
    )

    assert response.json()["items"][0]["outcome"] == "rejected"
    (still_open,) = client.get("/api/v1/rejections").json()["items"]
    assert "STILL-NOPE" in still_open["reason"]
    assert still_open["attempts"] == 2


@pytest.mark.parametrize(("body", "field"), [({"payload": "x"}, "payload"), ({"order": {}}, "order")])
def test_replay_body_is_validated(
    client: TestClient, factory: sessionmaker[Session], body: dict[str, Any], field: str
) -> None:
    setup_catalog(factory)
    (item,) = _ingest(client, order(("NOPE", 1)))["items"]

    response = client.post(f"/api/v1/rejections/{item['rejection_id']}/replay", json=body)

    assert response.status_code == 422
    assert response.json()["error"]["field"] == field


def test_discard(client: TestClient, factory: sessionmaker[Session]) -> None:
    setup_catalog(factory)
    (item,) = _ingest(client, order(("NOPE", 1)))["items"]
    url = f"/api/v1/rejections/{item['rejection_id']}/discard"

    response = client.post(url)

    assert response.status_code == 200
    assert response.json()["status"] == "discarded"
    assert "discarded by tester" in response.json()["reason"]
    assert client.get("/api/v1/rejections").json()["items"] == []
    assert (
        client.get("/api/v1/rejections", params={"status": "discarded"}).json()["items"][0]["id"]
        == (item["rejection_id"])
    )
    assert client.post(url).status_code == 404
    assert client.post("/api/v1/rejections/999/discard").status_code == 404


def test_an_order_shows_why_review_held_it(client: TestClient, factory: sessionmaker[Session]) -> None:
    setup_catalog(factory, {"SKU-1": 10})
    body = order(("SKU-1", 1), external_id="WHY", buyer_remark="URGENT please, birthday")
    body["shipping_address"]["postal_code"] = "4881"
    (item,) = _ingest(client, body)["items"]

    got = client.get(f"/api/v1/orders/{item['order_id']}").json()

    assert got["status"] == "on_hold"
    assert sorted(h["reason"] for h in got["holds"]) == ["address", "remark"]
    review = got["review"]
    assert review["outcome"] == "held" and review["risk"]["score"] == 0
    fired = {f["rule"]: f for f in review["fired"]}
    assert set(fired) == {"address.postal_code", "remark.keywords"}
    assert "'4881' does not fit US" in fired["address.postal_code"]["message"]
    assert fired["remark.keywords"]["actions"] == ["hold remark"]
    assert "'urgent'" in fired["remark.keywords"]["message"]


@pytest.mark.parametrize(
    ("change", "field", "expected"),
    [
        (
            {"lines": [{"platform_sku": "SKU-1", "quantity": 1, "unit_price": 19.99}]},
            "lines[0].unit_price",
            "expected an amount in minor units, e.g. 1999 for 19.99 USD",
        ),
        ({"shipping_total": "5.00"}, "shipping_total", "e.g. 1999 for 19.99 USD"),
        (
            {"lines": [{"platform_sku": "SKU-1", "quantity": 1, "unit_price": -5}]},
            "lines[0].unit_price",
            "greater than or equal to 0: expected an amount in minor units",
        ),
        (
            {"shipping_address": _shipping_to("USA")},
            "shipping_address.country",
            "ISO 3166-1 alpha-2 code such as US",
        ),
        ({"currency": "dollars"}, "currency", "ISO 4217 code such as USD"),
    ],
)
def test_a_rejection_says_what_is_expected(
    client: TestClient, factory: sessionmaker[Session], change: dict[str, Any], field: str, expected: str
) -> None:
    setup_catalog(factory, {"SKU-1": 10})

    (item,) = _ingest(client, {**order(("SKU-1", 1)), **change})["items"]

    messages = {e["field"]: e["message"] for e in item["errors"]}
    assert expected in messages[field]


def test_a_rejection_message_is_ours_without_pydantics_prefix(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    setup_catalog(factory, {"SKU-1": 10})

    (item,) = _ingest(client, {**order(("SKU-1", 1)), "shipping_address": _shipping_to("USA")})["items"]

    assert {e["field"]: e["message"] for e in item["errors"]} == {
        "shipping_address.country": "'USA' is not a country: expected an ISO 3166-1 alpha-2 code such as US"
    }


def test_an_orders_history_names_its_warehouse_by_code(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    setup_catalog(factory, {"SKU-1": 10})

    (item,) = _ingest(client, order(("SKU-1", 1)))["items"]

    notes = [e["message"] or "" for e in client.get(f"/api/v1/orders/{item['order_id']}").json()["events"]]
    assert any("stock reserved in warehouse WH-1" in note for note in notes), notes
