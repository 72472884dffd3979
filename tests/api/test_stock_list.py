"""Stock of every SKU over HTTP and the CLI, with what a bundle can sell from its components."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from orderly.core.db import transaction
from orderly.inventory import service as inventory
from orderly.inventory.models import Warehouse
from orderly.orders.ingest import ingest_batch
from tests.factories import order, setup_catalog


def _stock(factory: sessionmaker[Session]) -> None:
    """SKU-1: 7 in WH-1 and 3 in WH-2, one reserved; SKU-2: 2; KIT-1 is 2 x SKU-1 + SKU-2."""
    setup_catalog(factory, {"SKU-1": 7, "SKU-2": 2}, warehouses=2)
    with transaction(factory) as s:
        inventory.receive(s, "SKU-1", "WH-2", 3, actor="test", reason=None)
    ingest_batch(factory, [order(("SKU-1", 1))], actor="test")


def test_every_sku_is_listed_with_its_totals_and_what_it_can_sell(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    _stock(factory)

    items = client.get("/api/v1/stock").json()["items"]

    summary = {i["sku"]: (i["is_bundle"], i["on_hand"], i["reserved"], i["sellable"]) for i in items}
    assert summary == {
        "SKU-1": (False, 10, 1, 9),
        "SKU-2": (False, 2, 0, 2),
        "SKU-3": (False, 0, 0, 0),
        "KIT-1": (True, 0, 0, 2),  # limited by SKU-2; SKU-1 would allow 4
    }
    (sku1,) = [i for i in items if i["sku"] == "SKU-1"]
    assert [(w["warehouse"], w["available"]) for w in sku1["warehouses"]] == [("WH-1", 6), ("WH-2", 3)]


def test_an_inactive_warehouse_sells_nothing(client: TestClient, factory: sessionmaker[Session]) -> None:
    _stock(factory)
    with transaction(factory) as s:
        s.execute(update(Warehouse).where(Warehouse.code == "WH-1").values(active=False))

    items = client.get("/api/v1/stock").json()["items"]

    assert {i["sku"]: i["sellable"] for i in items} == {"SKU-1": 3, "SKU-2": 0, "SKU-3": 0, "KIT-1": 0}


def test_the_list_is_paged(client: TestClient, factory: sessionmaker[Session]) -> None:
    _stock(factory)

    first = client.get("/api/v1/stock", params={"limit": 3}).json()
    rest = client.get("/api/v1/stock", params={"limit": 3, "cursor": first["next_cursor"]}).json()

    assert [i["sku"] for i in first["items"] + rest["items"]] == ["SKU-1", "SKU-2", "SKU-3", "KIT-1"]
    assert rest["next_cursor"] is None
