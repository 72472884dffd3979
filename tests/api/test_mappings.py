"""SKU mappings over HTTP: one mapping, edits that merge, deletion refused with why, the last figure
each listing was told."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from orderly.channels import service as shops
from orderly.channels.models import ListingBinding
from orderly.core.clock import utcnow
from orderly.core.db import insert_rows, transaction
from orderly.orders.ingest import ingest_batch
from tests.factories import order, setup_catalog


def test_a_mapping_is_read_edited_and_deleted(client: TestClient, factory: sessionmaker[Session]) -> None:
    setup_catalog(factory)
    client.post(
        "/api/v1/shops",
        json={"code": "web", "name": "Web", "channel": "shopify", "settings": {"location_id": 655441491}},
    )
    created = client.post(
        "/api/v1/sku-mappings", json={"shop": "web", "listing_id": "1001", "sku": "SKU-1"}
    ).json()
    url = f"/api/v1/sku-mappings/{created['id']}"
    assert client.get(url).json() == created
    assert created["effective_location"] == "655441491"

    moved = client.patch(
        url, json={"location": "487838322", "platform_ids": {"inventory_item_id": "808950810"}}
    )
    assert moved.status_code == 200
    assert {
        k: moved.json()[k] for k in ("sku", "location", "effective_location", "platform_ids", "fulfilled_by")
    } == {
        "sku": "SKU-1",
        "location": "487838322",
        "effective_location": "487838322",
        "platform_ids": {"inventory_item_id": "808950810"},
        "fulfilled_by": "merchant",
    }
    fba = client.patch(url, json={"fulfilled_by": "platform", "sku": "SKU-2"}).json()
    assert (fba["fulfilled_by"], fba["sku"], fba["location"]) == ("platform", "SKU-2", "487838322")

    assert client.patch(url, json={"location": "Berlin"}).json()["error"]["field"] == "location"
    assert client.patch(url, json={"sku": None}).status_code == 422
    assert client.patch(url, json={"fulfilled_by": "amazon"}).status_code == 422
    assert client.patch(url, json={"listing_id": "1002"}).status_code == 422  # not something an edit changes
    assert client.get("/api/v1/sku-mappings/999999").status_code == 404

    assert client.delete(url).status_code == 204
    assert client.get(url).status_code == 404
    assert client.delete(url).status_code == 404


def test_deleting_a_mapping_open_orders_came_in_through_is_409_with_why(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    setup_catalog(factory)
    ingest_batch(factory, [order(("B-ONE", 1), shop="shop-b", external_id="B-1001")], actor="test")
    [mapping] = client.get("/api/v1/sku-mappings", params={"shop": "shop-b"}).json()

    refused = client.delete(f"/api/v1/sku-mappings/{mapping['id']}")

    assert refused.status_code == 409
    assert "open orders of shop 'shop-b' came in through it (B-1001)" in refused.json()["error"]["message"]


def test_the_last_figure_each_listing_was_told_is_listed_per_shop(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    setup_catalog(factory)
    pushed_at = utcnow()
    with transaction(factory) as s:
        shop_id = shops.get_shop(s, "shop-b").id
        insert_rows(
            s,
            ListingBinding,
            ("shop_id", "listing_id", "data", "last_quantity", "last_pushed_at", "last_error"),
            [(shop_id, "L-1", {"inventory_item_id": 5}, 7, pushed_at, "HTTP 503")],
        )

    [listed] = client.get("/api/v1/sku-mappings", params={"shop": "shop-b"}).json()

    assert {k: listed[k] for k in ("listing_id", "last_quantity", "last_error", "learned_ids")} == {
        "listing_id": "L-1",
        "last_quantity": 7,
        "last_error": "HTTP 503",
        "learned_ids": {"inventory_item_id": 5},
    }
    assert listed["last_pushed_at"] == pushed_at.isoformat().replace("+00:00", "Z")
