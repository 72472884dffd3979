"""Catalog and shops over HTTP: products, bundles, SKU mappings, shops."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from tests.factories import setup_catalog


def test_create_and_get_product(client: TestClient) -> None:
    created = client.post("/api/v1/products", json={"sku": "TEE/RED-L", "name": "Tee", "weight_g": 180})

    assert created.status_code == 201
    assert created.json()["is_bundle"] is False
    got = client.get("/api/v1/products/TEE/RED-L")  # a SKU may hold a slash
    assert got.status_code == 200
    assert {k: got.json()[k] for k in ("sku", "name", "weight_g", "components")} == {
        "sku": "TEE/RED-L",
        "name": "Tee",
        "weight_g": 180,
        "components": [],
    }
    assert got.json()["created_at"].endswith("Z")


def test_products_paginate_in_creation_order(client: TestClient) -> None:
    for n in range(7):
        client.post("/api/v1/products", json={"sku": f"P-{n}", "name": f"Product {n}"})

    skus, cursor, pages = [], None, 0
    while True:
        page = client.get(
            "/api/v1/products", params={"limit": 3, **({"cursor": cursor} if cursor else {})}
        ).json()
        skus += [p["sku"] for p in page["items"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break

    assert skus == [f"P-{n}" for n in range(7)]
    assert pages == 3


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"sku": "SKU-1", "name": "Again"}, 409, None),
        ({"sku": "-bad", "name": "x"}, 400, "sku"),
        ({"sku": "OK-1"}, 422, "name"),
        ({"sku": "OK-1", "name": "x", "weight_g": -1}, 422, "weight_g"),
        ({"sku": "OK-1", "name": "x", "weight_g": "heavy"}, 422, "weight_g"),
        ({"sku": "OK-1", "name": "x", "is_bundle": True}, 422, "is_bundle"),
    ],
)
def test_product_errors(
    client: TestClient, factory: sessionmaker[Session], body: dict[str, Any], status: int, field: str | None
) -> None:
    setup_catalog(factory)

    response = client.post("/api/v1/products", json=body)

    assert response.status_code == status
    assert response.json()["error"]["field"] == field


def test_unknown_product_is_404(client: TestClient) -> None:
    response = client.get("/api/v1/products/NOPE")

    assert response.status_code == 404
    assert response.json()["error"] == {"message": "unknown SKU 'NOPE'", "field": "sku"}


def test_bundle_lists_its_components(client: TestClient, factory: sessionmaker[Session]) -> None:
    setup_catalog(factory)

    created = client.post(
        "/api/v1/bundles",
        json={
            "sku": "DUO",
            "name": "Duo",
            "components": [{"sku": "SKU-3", "quantity": 2}, {"sku": "SKU-2", "quantity": 1}],
        },
    )

    assert created.status_code == 201
    assert created.json()["is_bundle"] is True
    assert created.json()["components"] == [{"sku": "SKU-2", "quantity": 1}, {"sku": "SKU-3", "quantity": 2}]
    assert client.get("/api/v1/products/DUO").json()["components"] == created.json()["components"]


@pytest.mark.parametrize(
    ("components", "status", "field"),
    [
        ([], 422, "components"),
        ([{"sku": "SKU-1", "quantity": -1}], 422, "components[0].quantity"),
        ([{"sku": "SKU-1", "quantity": 1}, {"sku": "SKU-2"}], 422, "components[1].quantity"),
        ([{"sku": "NOPE", "quantity": 1}], 404, "components"),
        ([{"sku": "KIT-1", "quantity": 1}], 400, "components"),
        ([{"sku": "SKU-1", "quantity": 1}, {"sku": "SKU-1", "quantity": 2}], 400, "components"),
    ],
)
def test_bundle_errors(
    client: TestClient, factory: sessionmaker[Session], components: list[Any], status: int, field: str
) -> None:
    setup_catalog(factory)

    response = client.post("/api/v1/bundles", json={"sku": "BAD", "name": "Bad", "components": components})

    assert response.status_code == status
    assert response.json()["error"]["field"] == field
    assert client.get("/api/v1/products/BAD").status_code == 404  # nothing half-made survives


def test_sku_mappings(client: TestClient, factory: sessionmaker[Session]) -> None:
    setup_catalog(factory)

    created = client.post(
        "/api/v1/sku-mappings", json={"shop": "shop-a", "listing_id": "L-9", "sku": "SKU-3"}
    )

    assert created.status_code == 201
    assert created.json() == {
        "id": created.json()["id"],
        "shop": "shop-a",
        "platform_sku": None,
        "listing_id": "L-9",
        "sku": "SKU-3",
        "location": None,
        "effective_location": None,
        "fulfilled_by": "merchant",
        "platform_ids": {},
        "learned_ids": {},
        "last_quantity": None,
        "last_pushed_at": None,
        "last_error": None,
    }
    assert [m["shop"] for m in client.get("/api/v1/sku-mappings").json()] == ["shop-b", "shop-a"]
    assert [m["sku"] for m in client.get("/api/v1/sku-mappings", params={"shop": "shop-a"}).json()] == [
        "SKU-3"
    ]
    assert client.get("/api/v1/sku-mappings", params={"shop": "nope"}).status_code == 404  # not "none"
    assert len(client.get("/api/v1/sku-mappings", params={"limit": 1}).json()) == 1


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"shop": "shop-b", "platform_sku": "B-ONE", "sku": "SKU-2"}, 409, None),
        ({"shop": "shop-a", "sku": "SKU-1"}, 400, "platform_sku"),
        ({"shop": "nope", "platform_sku": "X", "sku": "SKU-1"}, 404, "shop"),
        ({"shop": "shop-a", "platform_sku": "X", "sku": "NOPE"}, 404, "sku"),
        ({"shop": "shop-a", "platform_sku": "X"}, 422, "sku"),
    ],
)
def test_sku_mapping_errors(
    client: TestClient, factory: sessionmaker[Session], body: dict[str, Any], status: int, field: str | None
) -> None:
    setup_catalog(factory)

    response = client.post("/api/v1/sku-mappings", json=body)

    assert response.status_code == status
    assert response.json()["error"]["field"] == field


def test_shops(client: TestClient) -> None:
    created = client.post("/api/v1/shops", json={"code": "etsy-main", "name": "Etsy", "channel": "etsy"})
    duplicate = client.post("/api/v1/shops", json={"code": "etsy-main", "name": "Again", "channel": "etsy"})

    assert created.status_code == 201
    assert created.json()["code"] == "etsy-main"
    assert duplicate.status_code == 409
    assert [s["code"] for s in client.get("/api/v1/shops").json()] == ["etsy-main"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"code": "Etsy Main", "name": "x", "channel": "etsy"}, "code"),
        ({"code": "etsy", "channel": "etsy"}, "name"),
        ({"code": "etsy", "name": "x", "channel": ""}, "channel"),
    ],
)
def test_shop_validation(client: TestClient, body: dict[str, Any], field: str) -> None:
    response = client.post("/api/v1/shops", json=body)

    assert response.status_code == 422
    assert response.json()["error"]["field"] == field
