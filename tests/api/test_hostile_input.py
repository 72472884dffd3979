"""Hostile input that once got a 500 from a service behind the API: NUL characters, money beyond 64
bits, instants with no UTC equivalent, numbers beyond a column. Each must be a 4xx or a rejected item."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from tests.factories import order, setup_catalog


@pytest.mark.parametrize(
    "change",
    [
        {"buyer_remark": "gift\x00wrap"},
        {"lines": [{"platform_sku": "SKU-1\x00", "quantity": 1, "unit_price": 1}]},
        # Found by schemathesis: a NUL in the order's key or a field name reached the rejections table.
        {"external_id": "\x00EXT", "shop": "shop-\x00a"},
        {"shipping_address": {"\x00": 1}, "currency": "\x00US"},
    ],
)
def test_ingest_answers_an_order_with_nul_text_per_item(
    client: TestClient,
    factory: sessionmaker[Session],
    change: dict[str, Any],
) -> None:
    setup_catalog(factory, {"SKU-1": 10})

    response = client.post("/api/v1/orders/ingest", json={"orders": [order(), {**order(), **change}]})

    assert response.status_code == 200
    assert response.json()["items"][0]["outcome"] == "created"


@pytest.mark.parametrize(
    "amounts", [{"shipping_total": 2**63}, {"shipping_total": 2**62, "tax_total": 2**62}]
)
def test_ingest_rejects_money_beyond_64_bits_per_item(
    client: TestClient,
    factory: sessionmaker[Session],
    amounts: dict[str, int],
) -> None:
    setup_catalog(factory, {"SKU-1": 10})

    response = client.post("/api/v1/orders/ingest", json={"orders": [order(**amounts)]})

    assert response.status_code == 200
    assert response.json()["items"][0]["outcome"] == "rejected"


@pytest.mark.parametrize("placed_at", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"])
def test_ingest_rejects_a_time_outside_the_utc_range_per_item(
    client: TestClient, factory: sessionmaker[Session], placed_at: str
) -> None:
    setup_catalog(factory, {"SKU-1": 10})

    response = client.post("/api/v1/orders/ingest", json={"orders": [order(placed_at=placed_at)]})

    assert response.status_code == 200
    assert response.json()["items"][0]["outcome"] == "rejected"


def test_product_weight_beyond_the_column_is_a_4xx(client: TestClient) -> None:
    response = client.post("/api/v1/products", json={"sku": "HEAVY", "name": "Heavy", "weight_g": 2**63})

    assert response.status_code < 500


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/v1/shops", {"code": "nul", "name": "a\x00b", "channel": "manual"}),
        ("/api/v1/products", {"sku": "NUL-1", "name": "a\x00b"}),
        ("/api/v1/warehouses", {"code": "NUL", "name": "a\x00b"}),
        ("/api/v1/stock/receive", {"sku": "SKU-1", "warehouse": "WH-1", "quantity": 1, "reason": "a\x00b"}),
    ],
)
def test_text_with_nul_is_a_4xx(
    client: TestClient,
    factory: sessionmaker[Session],
    path: str,
    body: dict[str, Any],
) -> None:
    setup_catalog(factory)

    response = client.post(path, json=body)

    assert response.status_code < 500
