"""Inputs that still get a 500 from a service behind the API. Each test states the promise the API
makes and is expected to fail (strictly) where the bug is, until the service is fixed; then it passes
and the marker has to go."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from tests.factories import order, setup_catalog


def _fails_on(request: pytest.FixtureRequest, engine: Engine, backends: set[str], reason: str) -> None:
    if engine.dialect.name in backends:
        request.applymarker(pytest.mark.xfail(reason=reason, strict=True))


@pytest.mark.parametrize(
    "change",
    [
        {"buyer_remark": "gift\x00wrap"},
        {"lines": [{"platform_sku": "SKU-1\x00", "quantity": 1, "unit_price": 1}]},
    ],
)
def test_ingest_answers_an_order_with_nul_text_per_item(
    request: pytest.FixtureRequest,
    engine: Engine,
    client: TestClient,
    factory: sessionmaker[Session],
    change: dict[str, Any],
) -> None:
    _fails_on(
        request,
        engine,
        {"postgresql"},
        "ingest: NormalizedOrder accepts U+0000, which PostgreSQL text and JSONB refuse; ingest_batch then "
        "stores the same payload as a rejection, JSONB refuses that too and the DataError escapes",
    )
    setup_catalog(factory, {"SKU-1": 10})

    response = client.post("/api/v1/orders/ingest", json={"orders": [order(), {**order(), **change}]})

    assert response.status_code == 200
    assert response.json()["items"][0]["outcome"] == "created"


@pytest.mark.parametrize(
    "amounts", [{"shipping_total": 2**63}, {"shipping_total": 2**62, "tax_total": 2**62}]
)
def test_ingest_rejects_money_beyond_64_bits_per_item(
    request: pytest.FixtureRequest,
    engine: Engine,
    client: TestClient,
    factory: sessionmaker[Session],
    amounts: dict[str, int],
) -> None:
    _fails_on(
        request,
        engine,
        {"sqlite"},
        "orders.schemas: MinorUnits has no upper bound; on SQLite the driver raises OverflowError, which "
        "is not a DBAPIError, so ingest_batch's fallback (reject the one order) never runs",
    )
    setup_catalog(factory, {"SKU-1": 10})

    response = client.post("/api/v1/orders/ingest", json={"orders": [order(**amounts)]})

    assert response.status_code == 200
    assert response.json()["items"][0]["outcome"] == "rejected"


@pytest.mark.parametrize("placed_at", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"])
@pytest.mark.xfail(
    reason="orders.schemas: NormalizedOrder._utc calls as_utc, whose OverflowError (no UTC time for this "
    "instant) is not a ValueError, so pydantic does not turn it into a validation error and it escapes",
    strict=True,
)
def test_ingest_rejects_a_time_outside_the_utc_range_per_item(
    client: TestClient, factory: sessionmaker[Session], placed_at: str
) -> None:
    setup_catalog(factory, {"SKU-1": 10})

    response = client.post("/api/v1/orders/ingest", json={"orders": [order(placed_at=placed_at)]})

    assert response.status_code == 200
    assert response.json()["items"][0]["outcome"] == "rejected"


@pytest.mark.xfail(
    reason="catalog.schemas: ProductIn.weight_g has no upper bound; the column is a 32-bit INTEGER on "
    "PostgreSQL (DataError) and SQLite's driver raises OverflowError past 64 bits",
    strict=True,
)
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
    request: pytest.FixtureRequest,
    engine: Engine,
    client: TestClient,
    factory: sessionmaker[Session],
    path: str,
    body: dict[str, Any],
) -> None:
    _fails_on(
        request,
        engine,
        {"postgresql"},
        "channels/catalog/inventory schemas accept U+0000 in text, which PostgreSQL refuses (DataError); "
        "orderly.core.text.StorableStr is a ready fix",
    )
    setup_catalog(factory)

    response = client.post(path, json=body)

    assert response.status_code < 500
