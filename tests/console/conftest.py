"""A hub with a few orders that tell the console's filters apart: shops on two channels, a tag, a
stock hold, buyers to search for, and times either side of midnight in Shanghai."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from orderly.channels import service as channels
from orderly.channels.schemas import ShopIn
from orderly.core.db import transaction
from tests.api.conftest import app, token
from tests.factories import order, setup_catalog

__all__ = ["app", "token"]

HOUR = 3600


@pytest.fixture
def client(app: FastAPI, token: str) -> Iterator[TestClient]:
    with TestClient(app, headers={"Authorization": f"Bearer {token}"}, follow_redirects=False) as c:
        yield c


@pytest.fixture
def anonymous(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, follow_redirects=False) as c:
        yield c


ORDERS: list[dict[str, Any]] = [
    # 2026-11-11 00:00 UTC: 08:00 that day in Shanghai
    order(
        ("SKU-1", 1),
        external_id="#1001",
        currency="EUR",
        tags=["vip"],
        buyer={"name": "Zoë Müller", "email": "zoe@example.de", "phone": "+49 30 1234567"},
        shipping_address={
            "name": "Zoë Müller",
            "line1": "Hauptstr. 1",
            "city": "Berlin",
            "postal_code": "10115",
            "country": "DE",
        },
        seller_remark="gift wrap",
    ),
    # 2026-11-10 20:00 UTC: already the 11th in Shanghai
    order(
        ("SKU-1", 2),
        external_id="1002",
        shop="shop-b",
        placed=-4 * HOUR,
        buyer={"name": "Li Wei", "email": "li@example.cn"},
    ),
    # SKU-3 has no stock: held for it
    order(
        ("SKU-3", 1),
        external_id="1003",
        placed=2 * 24 * HOUR,
        buyer={"name": "Ann Other", "email": "ann@example.com"},
    ),
    order(
        ("SKU-1", 1),
        external_id="114-0001",
        shop="amz-eu",
        placed=3 * 24 * HOUR,
        buyer={"name": "Bo Amazon", "email": "bo@example.com"},
    ),
]


@pytest.fixture
def orders(client: TestClient, factory: sessionmaker[Session]) -> dict[str, int]:
    """The orders' ids by number."""
    setup_catalog(factory, {"SKU-1": 100})
    with transaction(factory) as s:
        channels.create_shop(s, ShopIn(code="amz-eu", name="Amazon EU", channel="amazon"))
    response = client.post("/api/v1/orders/ingest", json={"orders": ORDERS})
    assert response.status_code == 200, response.text
    listed = client.get("/api/v1/orders").json()["items"]
    return {o["external_id"]: o["id"] for o in listed}
