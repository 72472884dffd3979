"""The order list's filters beyond status, shop, SKU, country and dates: the shops' channel, a tag, a
hold's reason (the console's filters, through the API)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from orderly.channels import service as channels
from orderly.channels.schemas import ShopIn
from orderly.core.db import transaction
from tests.factories import order, setup_catalog


@pytest.fixture
def orders(client: TestClient, factory: sessionmaker[Session]) -> None:
    setup_catalog(factory, {"SKU-1": 100})
    with transaction(factory) as s:
        channels.create_shop(s, ShopIn(code="amz-eu", name="Amazon EU", channel="amazon"))
    batch = [
        order(("SKU-1", 1), external_id="A-1", tags=["vip", "gift"]),
        order(("SKU-3", 1), external_id="A-2", tags=["vipx"]),  # no stock: held
        order(("SKU-1", 1), external_id="A-3", shop="amz-eu"),
    ]
    response = client.post("/api/v1/orders/ingest", json={"orders": batch})
    assert response.status_code == 200, response.text


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"channel": "amazon"}, ["A-3"]),
        ({"channel": "manual"}, ["A-1", "A-2"]),
        ({"tag": "vip"}, ["A-1"]),  # a whole tag, not a prefix of one
        ({"tag": "gift"}, ["A-1"]),
        ({"tag": "none"}, []),
        ({"hold_reason": "out_of_stock"}, ["A-2"]),
        ({"hold_reason": "address"}, []),
        ({"hold_reason": "out_of_stock", "tag": "vipx", "channel": "manual"}, ["A-2"]),
    ],
)
def test_filters(client: TestClient, orders: None, params: dict[str, str], expected: list[str]) -> None:
    response = client.get("/api/v1/orders", params=params)
    assert response.status_code == 200, response.text
    assert sorted(o["external_id"] for o in response.json()["items"]) == expected


def test_an_unknown_hold_reason_is_refused(client: TestClient, orders: None) -> None:
    response = client.get("/api/v1/orders", params={"hold_reason": "bored"})
    assert response.status_code == 422 and response.json()["error"]["field"] == "hold_reason"
