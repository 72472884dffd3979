"""A shop with a second location: levels are kept per inventory item and location, as Shopify does."""

from __future__ import annotations

import httpx

from orderly.sandbox.shopify import ShopifyStore

ADMIN = "/admin/api/2024-01"


def test_a_variant_stocked_at_a_second_location_is_set_there_and_nowhere_else(
    store: ShopifyStore, api: httpx.Client
) -> None:
    warehouse = api.post("/_sandbox/locations", json={"name": "Warehouse", "country_code": "DE"})
    assert warehouse.status_code == 201
    second = warehouse.json()["id"]
    assert {place["id"] for place in api.get(f"{ADMIN}/locations.json").json()["locations"]} == {
        store.location_id,
        second,
    }
    product = api.post(
        "/_sandbox/products",
        json={"title": "Lamp", "variants": [{"sku": "LAMP", "available": 4, "location_id": second}]},
    ).json()
    item = product["variants"][0]["inventory_item_id"]

    request = {"location_id": second, "inventory_item_id": item, "available": 9}
    assert api.post(f"{ADMIN}/inventory_levels/set.json", json=request).status_code == 200

    levels = api.get(f"{ADMIN}/inventory_levels.json", params={"inventory_item_ids": str(item)}).json()
    assert [(lv["location_id"], lv["available"]) for lv in levels["inventory_levels"]] == [(second, 9)]
    at_primary = api.get(f"{ADMIN}/inventory_levels.json", params={"location_ids": str(store.location_id)})
    assert item not in {lv["inventory_item_id"] for lv in at_primary.json()["inventory_levels"]}

    # An order for it is fulfilled from where it is stocked.
    order = store.place_order({"lines": [{"sku": "LAMP", "quantity": 2}]})
    [fulfillment_order] = store.fulfillment_orders(order["id"])
    assert fulfillment_order["assigned_location_id"] == second
    assert [(lv["location_id"], lv["available"]) for lv in store.stock_levels() if lv["sku"] == "LAMP"] == [
        (second, 7)
    ]


def test_setting_a_level_at_another_location_connects_the_item_there_and_leaves_the_first(
    store: ShopifyStore, api: httpx.Client
) -> None:
    second = store.add_location("Pop-up")["id"]
    item = next(lv["inventory_item_id"] for lv in store.stock_levels() if lv["sku"] == "SHIRT-S")

    set_there = {"location_id": second, "inventory_item_id": item, "available": 3}
    assert api.post(f"{ADMIN}/inventory_levels/set.json", json=set_there).status_code == 200

    shirts = [lv for lv in store.stock_levels() if lv["sku"] == "SHIRT-S"]
    levels = {(lv["location_id"], lv["available"], lv["sets"]) for lv in shirts}
    assert levels == {(store.location_id, 5, 0), (second, 3, 1)}
    nowhere = api.post(f"{ADMIN}/inventory_levels/set.json", json={**set_there, "location_id": 1})
    assert nowhere.status_code == 422


def test_a_variant_cannot_be_stocked_at_a_location_the_shop_lacks(api: httpx.Client) -> None:
    refused = api.post(
        "/_sandbox/products", json={"title": "Lamp", "variants": [{"sku": "LAMP", "location_id": 1}]}
    )
    assert refused.status_code == 422 and "location_id" in refused.json()["errors"]
