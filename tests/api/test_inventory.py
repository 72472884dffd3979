"""Inventory over HTTP: stock figures, movements with their actor, the ledger check, warehouses."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session, sessionmaker

from orderly.core.db import transaction
from orderly.inventory.domain import MAX_QUANTITY
from orderly.inventory.models import StockLedgerEntry, StockLevel
from orderly.jobs.models import Job
from tests.factories import order, setup_catalog


def _move(client: TestClient, kind: str, **body: Any) -> dict[str, Any]:
    response = client.post(f"/api/v1/stock/{kind}", json={"sku": "SKU-1", "warehouse": "WH-1", **body})
    assert response.status_code == 200, response.text
    figure: dict[str, Any] = response.json()
    return figure


def test_stock_per_warehouse(client: TestClient, factory: sessionmaker[Session]) -> None:
    setup_catalog(factory, {"SKU-1": 7}, warehouses=2)
    _move(client, "receive", warehouse="WH-2", quantity=3)

    response = client.get("/api/v1/stock/SKU-1")

    assert response.status_code == 200
    assert response.json() == [
        {
            "sku": "SKU-1",
            "warehouse": "WH-1",
            "on_hand": 7,
            "reserved": 0,
            "safety": 0,
            "available": 7,
            "bin": None,
            "walk": None,
            "in_transit": 0,
        },
        {
            "sku": "SKU-1",
            "warehouse": "WH-2",
            "on_hand": 3,
            "reserved": 0,
            "safety": 0,
            "available": 3,
            "bin": None,
            "walk": None,
            "in_transit": 0,
        },
    ]
    assert client.get("/api/v1/stock/SKU-2").json() == []


def test_stock_of_an_unknown_sku_is_404(client: TestClient, factory: sessionmaker[Session]) -> None:
    setup_catalog(factory)

    response = client.get("/api/v1/stock/NOPE")

    assert response.status_code == 404
    assert response.json() == {"error": {"message": "unknown SKU 'NOPE'", "field": "sku"}}


def test_movements_change_the_figures_and_record_the_token_as_actor(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    setup_catalog(factory)

    assert _move(client, "receive", quantity=10, reason="PO-7")["on_hand"] == 10
    assert _move(client, "adjust", delta=-3)["on_hand"] == 7
    assert _move(client, "count", counted=5)["on_hand"] == 5
    figure = _move(client, "safety", safety=2)

    assert (figure["on_hand"], figure["safety"], figure["available"]) == (5, 2, 3)
    with transaction(factory) as s:
        ledger = s.execute(
            select(StockLedgerEntry.kind, StockLedgerEntry.actor, StockLedgerEntry.reason).order_by(
                StockLedgerEntry.id
            )
        ).all()
    assert [tuple(row) for row in ledger] == [
        ("receipt", "tester", "PO-7"),
        ("adjustment", "tester", None),
        ("count", "tester", None),
        ("safety", "tester", None),
    ]


def test_removing_reserved_stock_is_409_and_changes_nothing(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    setup_catalog(factory, {"SKU-1": 5})
    client.post("/api/v1/orders/ingest", json={"orders": [order(("SKU-1", 4))]})

    adjust = client.post("/api/v1/stock/adjust", json={"sku": "SKU-1", "warehouse": "WH-1", "delta": -2})
    count = client.post("/api/v1/stock/count", json={"sku": "SKU-1", "warehouse": "WH-1", "counted": 3})

    assert adjust.status_code == 409
    assert "reserved by open orders" in adjust.json()["error"]["message"]
    assert count.status_code == 409
    assert client.get("/api/v1/stock/SKU-1").json()[0]["on_hand"] == 5


@pytest.mark.parametrize(
    ("kind", "body", "status", "field"),
    [
        ("receive", {"quantity": -5}, 422, "quantity"),
        ("receive", {"quantity": 0}, 422, "quantity"),
        ("receive", {"quantity": "5"}, 200, None),  # the schema is lax: a numeric string is taken as a number
        ("receive", {"quantity": "five"}, 422, "quantity"),
        ("receive", {"quantity": 1.5}, 422, "quantity"),
        ("receive", {}, 422, "quantity"),
        ("receive", {"quantity": 1, "sku": None}, 422, "sku"),
        ("receive", {"quantity": 1, "sku": "NOPE"}, 404, "sku"),
        ("receive", {"quantity": 1, "warehouse": "WH-9"}, 404, "warehouse"),
        ("receive", {"quantity": 1, "sku": "KIT-1"}, 400, "sku"),
        ("receive", {"quantity": 1, "colour": "red"}, 422, "colour"),
        ("adjust", {"delta": 0}, 400, "delta"),
        ("adjust", {"delta": -1}, 409, None),
        ("count", {"counted": -1}, 422, "counted"),
        ("safety", {"safety": -1}, 422, "safety"),
    ],
)
def test_movement_errors_name_the_field(
    client: TestClient,
    factory: sessionmaker[Session],
    kind: str,
    body: dict[str, Any],
    status: int,
    field: str | None,
) -> None:
    setup_catalog(factory)

    response = client.post(f"/api/v1/stock/{kind}", json={"sku": "SKU-1", "warehouse": "WH-1", **body})

    assert response.status_code == status, response.text
    if status != 200:
        assert response.json()["error"]["field"] == field


def test_stock_beyond_the_bound_is_422_and_changes_nothing(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    """Once the 215th receipt of 10,000,000 overflowed a 32-bit column on PostgreSQL (a 500)."""
    setup_catalog(factory)
    _move(client, "count", counted=MAX_QUANTITY - 10_000_000)

    assert _move(client, "receive", quantity=10_000_000)["on_hand"] == MAX_QUANTITY
    for kind, body in [("receive", {"quantity": 1}), ("adjust", {"delta": 1})]:
        response = client.post(f"/api/v1/stock/{kind}", json={"sku": "SKU-1", "warehouse": "WH-1", **body})
        assert response.status_code == 422, response.text
        assert "would leave on hand 1,000,000,001" in response.json()["error"]["message"]
    fields = [("receive", "quantity"), ("adjust", "delta"), ("count", "counted"), ("safety", "safety")]
    for kind, field in fields:
        response = client.post(
            f"/api/v1/stock/{kind}", json={"sku": "SKU-1", "warehouse": "WH-1", field: MAX_QUANTITY + 1}
        )
        assert response.status_code == 422, response.text
        assert response.json()["error"]["field"] == field

    assert client.get("/api/v1/stock/SKU-1").json()[0]["on_hand"] == MAX_QUANTITY
    assert client.post("/api/v1/stock/verify", json={}).json()["drifts"] == []


def test_wrong_type_error_lists_every_problem(client: TestClient) -> None:
    response = client.post("/api/v1/stock/receive", json={"sku": 1, "warehouse": [], "quantity": "x"})

    assert response.status_code == 422
    error = response.json()["error"]
    assert error["message"] == "sku: Input should be a valid string"
    assert [f["field"] for f in error["fields"]] == ["sku", "warehouse", "quantity"]


def test_verify_finds_and_repairs_drift(client: TestClient, factory: sessionmaker[Session]) -> None:
    setup_catalog(factory, {"SKU-1": 10})
    assert client.post("/api/v1/stock/verify").json() == {"repaired": False, "drifts": []}
    with transaction(factory) as s:  # a level changed behind the ledger's back
        s.execute(update(StockLevel).values(on_hand=StockLevel.on_hand + 3))

    found = client.post("/api/v1/stock/verify").json()
    repaired = client.post("/api/v1/stock/verify", params={"repair": "true"}).json()

    assert found["repaired"] is False
    assert [(d["level"], d["ledger"]) for d in found["drifts"]] == [([13, 0, 0], [10, 0, 0])]
    assert repaired["repaired"] is True
    assert repaired["drifts"] == found["drifts"]
    assert client.post("/api/v1/stock/verify").json() == {"repaired": False, "drifts": []}
    assert client.get("/api/v1/stock/SKU-1").json()[0]["on_hand"] == 10


def test_a_repair_tells_the_shops_and_the_orders_waiting_for_stock(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    setup_catalog(factory, {"SKU-1": 10, "SKU-2": 10})
    with transaction(factory) as s:
        s.execute(delete(Job))
        # Behind the ledger's back, SKU-1 shows 3 units more than the hub has and SKU-2 3 fewer.
        s.execute(update(StockLevel).where(StockLevel.product_id == 1).values(on_hand=StockLevel.on_hand + 3))
        s.execute(update(StockLevel).where(StockLevel.product_id == 2).values(on_hand=StockLevel.on_hand - 3))

    assert client.post("/api/v1/stock/verify", params={"repair": "true"}).json()["repaired"] is True

    with transaction(factory) as s:
        jobs = s.execute(select(Job.kind, Job.payload).order_by(Job.id)).all()
    # Both figures go to the shops; the orders waiting for SKU-2 are looked at again.
    assert [tuple(job) for job in jobs] == [
        ("stock_changed", {"product_ids": [1, 2]}),
        ("stock_freed", {"product_ids": [2]}),
    ]


def test_a_repair_the_ledger_cannot_fill_is_refused_with_its_reason_and_the_rest_repaired(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    setup_catalog(factory, {"SKU-1": 10, "SKU-2": 10})
    with transaction(factory) as s:  # SKU-1 shows 3 units the hub never had; SKU-2 one fewer than it has
        s.execute(update(StockLevel).where(StockLevel.product_id == 1).values(on_hand=StockLevel.on_hand + 3))
        s.execute(update(StockLevel).where(StockLevel.product_id == 2).values(on_hand=StockLevel.on_hand - 1))
    # An order reserves 12 of SKU-1: the ledger books them against the 10 it has.
    reserved = client.post("/api/v1/orders/ingest", json={"orders": [order(("SKU-1", 12))]}).json()
    (item,) = reserved["items"]
    assert item["status"] == "allocated"

    repaired = client.post("/api/v1/stock/verify", params={"repair": "true"}).json()

    assert repaired["repaired"] is True
    refused = {d["product_id"]: d["cannot_repair"] for d in repaired["drifts"]}
    assert refused[2] is None
    assert refused[1] is not None and "12 reserved" in refused[1] and "10 on hand" in refused[1]
    # SKU-2 now agrees with its ledger; SKU-1 keeps its figures until a person frees 2 units.
    left = client.post("/api/v1/stock/verify").json()["drifts"]
    assert [(d["product_id"], d["level"], d["ledger"]) for d in left] == [(1, [13, 12, 0], [10, 12, 0])]

    cancelled = client.post(f"/api/v1/orders/{item['order_id']}/cancel", json={"reason": "oversold"})
    assert cancelled.status_code == 200
    again = client.post("/api/v1/stock/verify", params={"repair": "true"}).json()
    assert [(d["product_id"], d["cannot_repair"]) for d in again["drifts"]] == [(1, None)]
    assert client.post("/api/v1/stock/verify").json() == {"repaired": False, "drifts": []}


def test_verify_repair_flag_must_be_a_boolean(client: TestClient) -> None:
    response = client.post("/api/v1/stock/verify", params={"repair": "perhaps"})

    assert response.status_code == 422
    assert response.json()["error"]["field"] == "repair"


def test_warehouses(client: TestClient, factory: sessionmaker[Session]) -> None:
    setup_catalog(factory)

    created = client.post(
        "/api/v1/warehouses",
        json={"code": "EU-1", "name": "Rotterdam", "kind": "3pl", "country": "nl", "priority": 0},
    )
    duplicate = client.post("/api/v1/warehouses", json={"code": "EU-1", "name": "Again"})
    listed = client.get("/api/v1/warehouses").json()

    assert created.status_code == 201
    assert {k: created.json()[k] for k in ("code", "kind", "country", "priority", "active")} == {
        "code": "EU-1",
        "kind": "3pl",
        "country": "NL",
        "priority": 0,
        "active": True,
    }
    assert duplicate.status_code == 409
    assert duplicate.json()["error"]["message"] == "warehouse 'EU-1' already exists"
    assert [w["code"] for w in listed] == ["EU-1", "WH-1"]  # allocation order: priority first


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "x"}, "code"),
        ({"code": "bad code", "name": "x"}, "code"),
        ({"code": "W", "name": "x", "kind": "moon"}, "kind"),
        ({"code": "W", "name": "x", "country": "XX"}, "country"),
        ({"code": "W", "name": "x", "priority": -1}, "priority"),
    ],
)
def test_warehouse_validation(client: TestClient, body: dict[str, Any], field: str) -> None:
    response = client.post("/api/v1/warehouses", json=body)

    assert response.status_code == 422
    assert response.json()["error"]["field"] == field
