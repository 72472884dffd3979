"""Products and warehouses edited and deleted over HTTP; a deletion something depends on is refused,
naming what."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from orderly.core.clock import utcnow
from orderly.core.db import transaction
from orderly.inventory.service import STOCK_CHANGED, STOCK_FREED
from orderly.jobs.models import Job
from orderly.orders.ingest import ingest_batch
from tests.factories import order, setup_catalog


def test_a_product_is_edited_field_by_field(client: TestClient, factory: sessionmaker[Session]) -> None:
    setup_catalog(factory)
    client.patch("/api/v1/products/SKU-1", json={"category": "mugs", "barcode": "4006381333931"})

    response = client.patch("/api/v1/products/SKU-1", json={"name": "Blue mug", "barcode": None})

    assert response.status_code == 200, response.text
    got = client.get("/api/v1/products/SKU-1").json()
    assert (got["name"], got["category"], got["barcode"]) == ("Blue mug", "mugs", None)


def test_a_product_edit_refuses_a_new_sku_an_empty_name_and_an_unknown_product(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    setup_catalog(factory)

    renamed = client.patch("/api/v1/products/SKU-1", json={"sku": "SKU-9"})
    nameless = client.patch("/api/v1/products/SKU-1", json={"name": None})
    unknown = client.patch("/api/v1/products/NOPE", json={"name": "x"})

    assert (renamed.status_code, renamed.json()["error"]["field"]) == (422, "sku")
    assert (nameless.status_code, nameless.json()["error"]["field"]) == (422, "name")
    assert unknown.status_code == 404


def test_a_presale_date_is_set_and_clearing_it_releases_waiting_orders(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    setup_catalog(factory)
    until = (utcnow() + timedelta(days=30)).replace(microsecond=0)

    naive = client.patch("/api/v1/products/SKU-2", json={"presale_until": "2027-01-01T00:00:00"})
    far = client.patch("/api/v1/products/SKU-2", json={"presale_until": "9999-12-31T23:59:59-23:00"})
    set_ = client.patch("/api/v1/products/SKU-2", json={"presale_until": until.isoformat()})
    with transaction(factory) as s:
        queued_after_setting = s.scalars(select(Job.kind)).all()
    cleared = client.patch("/api/v1/products/SKU-2", json={"presale_until": None})

    assert naive.status_code == 422
    assert (far.status_code, far.json()["error"]["field"]) == (422, "presale_until")
    assert set_.json()["presale_until"] == until.isoformat().replace("+00:00", "Z")
    assert STOCK_FREED not in queued_after_setting  # a later date frees nothing
    assert cleared.json()["presale_until"] is None
    with transaction(factory) as s:
        assert [j.payload for j in s.scalars(select(Job).where(Job.kind == STOCK_FREED))] == [
            {"product_ids": [2]}
        ]


def test_a_product_nothing_refers_to_is_deleted(client: TestClient, factory: sessionmaker[Session]) -> None:
    setup_catalog(factory)

    deleted = client.delete("/api/v1/products/SKU-3")
    bundle = client.delete("/api/v1/products/KIT-1")  # its components stay

    assert (deleted.status_code, bundle.status_code) == (204, 204)
    assert client.get("/api/v1/products/SKU-3").status_code == 404
    assert client.get("/api/v1/products/SKU-2").status_code == 200


def test_deleting_a_product_something_refers_to_is_refused_naming_what(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    setup_catalog(factory, {"SKU-1": 5})
    ingest_batch(factory, [order(("SKU-1", 1))], actor="test")

    used = client.delete("/api/v1/products/SKU-1")
    component = client.delete("/api/v1/products/SKU-2")

    assert used.status_code == 409
    message = used.json()["error"]["message"]
    assert message.startswith("product 'SKU-1' cannot be deleted: ")
    assert "warehouse(s) WH-1" in message
    assert "1 order line(s)" in message
    assert "shop(s) shop-b" in message
    assert "bundle(s) KIT-1" in message
    assert component.json()["error"]["message"] == (
        "product 'SKU-2' cannot be deleted: it is a component of bundle(s) KIT-1"
    )
    assert client.get("/api/v1/products/SKU-1").status_code == 200


def test_a_warehouse_is_edited_and_switching_it_off_republishes_its_stock(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    setup_catalog(factory, {"SKU-1": 5})
    with transaction(factory) as s:
        s.execute(Job.__table__.delete())

    renamed = client.patch("/api/v1/warehouses/WH-1", json={"name": "Berlin", "country": "de", "priority": 7})
    off = client.patch("/api/v1/warehouses/WH-1", json={"active": False})
    bad = client.patch("/api/v1/warehouses/WH-1", json={"country": "Germany"})
    unknown = client.patch("/api/v1/warehouses/NOPE", json={"name": "x"})

    assert {k: renamed.json()[k] for k in ("name", "country", "priority", "active")} == {
        "name": "Berlin",
        "country": "DE",
        "priority": 7,
        "active": True,
    }
    assert off.json()["active"] is False
    assert (bad.status_code, bad.json()["error"]["field"]) == (422, "country")
    assert unknown.status_code == 404
    with transaction(factory) as s:
        assert [j.payload for j in s.scalars(select(Job).where(Job.kind == STOCK_CHANGED))] == [
            {"product_ids": [1]}
        ]
    assert client.get("/api/v1/stock").json()["items"][0]["sellable"] == 0


def test_only_a_warehouse_that_never_held_stock_is_deleted(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    setup_catalog(factory, {"SKU-1": 5, "SKU-2": 1}, warehouses=2)

    held = client.delete("/api/v1/warehouses/WH-1")
    empty = client.delete("/api/v1/warehouses/WH-2")

    assert held.status_code == 409
    assert held.json()["error"]["message"] == (
        "warehouse 'WH-1' cannot be deleted: it has stock records (and their ledger) of SKU-1, SKU-2; "
        "switch it off instead (active: false)"
    )
    assert empty.status_code == 204
    assert [w["code"] for w in client.get("/api/v1/warehouses").json()] == ["WH-1"]


def test_a_products_cost_is_kept_with_its_currency(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    setup_catalog(factory)
    created = client.post(
        "/api/v1/products", json={"sku": "MUG-9", "name": "Mug", "cost": 450, "cost_currency": "EUR"}
    )
    lonely = client.patch("/api/v1/products/MUG-9", json={"cost": 500})
    unknown = client.patch("/api/v1/products/MUG-9", json={"cost": 500, "cost_currency": "XYZ"})
    changed = client.patch("/api/v1/products/MUG-9", json={"cost": 0, "cost_currency": "USD"})
    cleared = client.patch("/api/v1/products/MUG-9", json={"cost": None, "cost_currency": None})

    assert (created.status_code, created.json()["cost"], created.json()["cost_currency"]) == (201, 450, "EUR")
    assert lonely.status_code == 422 and "go together" in lonely.text
    assert (unknown.status_code, unknown.json()["error"]["field"]) == (422, "cost_currency")
    assert (changed.json()["cost"], changed.json()["cost_currency"]) == (0, "USD")
    assert (cleared.json()["cost"], cleared.json()["cost_currency"]) == (None, None)
