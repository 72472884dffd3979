"""The sandbox's Admin REST API against the contract: auth, the call bucket, cursor pagination,
filters, the payload shapes of Shopify's published samples, stock levels and fulfillments."""

from __future__ import annotations

import json
import re
import time
from typing import Any

import httpx
import pytest

from orderly.sandbox.shopify import ShopifyStore
from tests.sandbox.shopify.helpers import Clock, new_store, place, sample, served, variant_ids

ADMIN = "/admin/api/2024-01"
OFFSET_STAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d$")
DECIMAL = re.compile(r"^\d+\.\d\d$")


def _next_link(response: httpx.Response) -> str | None:
    found = re.search(r'<([^>]+)>; rel="next"', response.headers.get("Link", ""))
    return found.group(1) if found else None


def test_calls_without_the_right_token_are_refused_with_shopifys_401(
    store: ShopifyStore, api: httpx.Client
) -> None:
    for headers in ({"X-Shopify-Access-Token": "wrong"}, {"X-Shopify-Access-Token": ""}):
        response = api.get(f"{ADMIN}/orders.json", headers=headers)
        assert response.status_code == 401
        assert response.json() == {
            "errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"
        }
    assert api.get(f"{ADMIN}/locations.json").status_code == 200
    assert api.get("/_sandbox/shop", headers={"X-Shopify-Access-Token": ""}).status_code == 200
    assert store.stats()["calls"] == 1  # refused calls never reach the bucket


def test_every_answer_says_how_full_the_bucket_is() -> None:
    store = new_store(bucket_size=40, leak_per_second=2.0)
    with served(store) as api:
        limits = [
            api.get(path).headers["X-Shopify-Shop-Api-Call-Limit"]
            for path in (f"{ADMIN}/orders.json", f"{ADMIN}/orders/1.json", f"{ADMIN}/locations.json")
        ]
    assert limits == ["1/40", "2/40", "3/40"]  # the 404 in the middle counts too


def test_a_full_bucket_answers_429_with_retry_after_until_it_has_leaked() -> None:
    # A slow leak, so four calls made back to back on a busy machine still overflow the bucket.
    store = new_store(bucket_size=3, leak_per_second=0.5)
    with served(store) as api:
        answers = [api.get(f"{ADMIN}/locations.json") for _ in range(4)]
        assert [a.status_code for a in answers] == [200, 200, 200, 429]
        throttled = answers[-1]
        assert throttled.headers["X-Shopify-Shop-Api-Call-Limit"] == "3/3"
        assert throttled.json() == {
            "errors": "Exceeded 2 calls per second for api client. "
            "Reduce request rates to resume uninterrupted service."
        }
        wait = float(throttled.headers["Retry-After"])
        assert 0 < wait <= 2.0  # one call leaks out in 2 s, rounded up to a tenth

        time.sleep(wait)
        assert api.get(f"{ADMIN}/locations.json").status_code == 200
    assert store.stats()["throttled"] == 1


def test_pagination_walks_every_order_exactly_once_newest_first(
    store: ShopifyStore, api: httpx.Client
) -> None:
    placed = {place(store)["id"] for _ in range(23)}

    seen: list[int] = []
    url: str | None = f"{ADMIN}/orders.json?status=any&limit=5"
    pages = []
    while url:
        response = api.get(url)
        assert response.status_code == 200
        pages.append(response)
        seen += [o["id"] for o in response.json()["orders"]]
        url = _next_link(response)

    assert [len(p.json()["orders"]) for p in pages] == [5, 5, 5, 5, 3]
    assert seen == sorted(placed, reverse=True)
    assert 'rel="previous"' not in pages[0].headers["Link"]
    assert 'rel="previous"' in pages[1].headers["Link"] and 'rel="next"' in pages[1].headers["Link"]
    assert 'rel="next"' not in pages[-1].headers["Link"]
    next_url = httpx.URL(_next_link(pages[0]) or "")
    assert set(next_url.params) == {"limit", "page_info"}  # the filters travel inside page_info


def test_the_previous_link_leads_back(store: ShopifyStore, api: httpx.Client) -> None:
    for _ in range(6):
        place(store)
    first = api.get(f"{ADMIN}/orders.json?limit=4")
    second = api.get(_next_link(first) or "")
    previous = re.search(r'<([^>]+)>; rel="previous"', second.headers["Link"])
    assert previous is not None
    assert api.get(previous.group(1)).json() == first.json()


def test_page_info_goes_with_limit_and_fields_only(store: ShopifyStore, api: httpx.Client) -> None:
    for _ in range(3):
        place(store)
    first = api.get(f"{ADMIN}/orders.json", params={"limit": 1})
    page_info = httpx.URL(_next_link(first) or "").params["page_info"]

    refused = api.get(f"{ADMIN}/orders.json", params={"page_info": page_info, "status": "any"})
    assert refused.status_code == 400
    assert "page_info" in refused.json()["errors"]
    fine = api.get(f"{ADMIN}/orders.json", params={"page_info": page_info, "limit": 1, "fields": "id,name"})
    assert fine.status_code == 200
    assert [set(o) for o in fine.json()["orders"]] == [{"id", "name"}]
    bad = api.get(f"{ADMIN}/orders.json", params={"page_info": "not-a-cursor"})
    assert bad.status_code == 400
    assert bad.json() == {"errors": {"page_info": ["Invalid value."]}}
    assert api.get(f"{ADMIN}/orders.json", params={"limit": 251}).status_code == 400


def test_updated_at_bounds_are_inclusive_and_hold_across_pages() -> None:
    clock = Clock()
    store = new_store(clock=clock)
    stamps = []
    for _ in range(8):
        stamps.append(place(store)["updated_at"])
        clock.advance(60)
    with served(store) as api:
        params = {"status": "any", "updated_at_min": stamps[2], "updated_at_max": stamps[5], "limit": 2}
        response = api.get(f"{ADMIN}/orders.json", params=params)
        found = [o["updated_at"] for o in response.json()["orders"]]
        while url := _next_link(response):
            response = api.get(url)
            found += [o["updated_at"] for o in response.json()["orders"]]
        utc = api.get(
            f"{ADMIN}/orders.json",
            params={"status": "any", "updated_at_min": clock.now.isoformat(), "limit": 250},
        )
    assert sorted(found) == stamps[2:6]
    assert utc.json()["orders"] == []  # bounds in any offset compare as instants


def test_status_defaults_to_open_and_any_includes_cancelled(store: ShopifyStore, api: httpx.Client) -> None:
    kept, cancelled = place(store), place(store)
    store.cancel(cancelled["id"])

    def ids(**params: Any) -> list[int]:
        return [o["id"] for o in api.get(f"{ADMIN}/orders.json", params=params).json()["orders"]]

    assert ids() == [kept["id"]]
    assert ids(status="any") == [cancelled["id"], kept["id"]]
    assert ids(status="cancelled") == [cancelled["id"]]
    assert ids(status="closed") == []


def test_orders_have_the_shape_of_the_published_sample(store: ShopifyStore, api: httpx.Client) -> None:
    place(store, discount="5.00", tax_rate="0.06", shipping_price="4.90", note="ring twice", tags=["vip"])
    response = api.get(f"{ADMIN}/orders.json", params={"status": "any"})
    order = response.json()["orders"][0]
    published = sample("orders_list_response.json")["orders"][0]

    assert set(order) == set(published)
    for key in ("line_items", "shipping_lines"):
        assert set(order[key][0]) == set(published[key][0])
    assert set(order["discount_applications"][0]) == set(published["discount_applications"][0])
    assert set(order["line_items"][0]["discount_allocations"][0]) == set(
        published["line_items"][0]["discount_allocations"][0]
    )
    assert set(order["shipping_address"]) == set(published["shipping_address"])
    assert set(order["customer"]) == set(published["customer"])
    # ids past 2**53, written as plain JSON integers
    assert order["id"] > 2**53 and f'"id":{order["id"]},' in response.text
    assert all(item["variant_id"] > 2**53 for item in order["line_items"])
    assert order["admin_graphql_api_id"] == f"gid://shopify/Order/{order['id']}"
    # money as decimal strings beside *_set; timestamps with the shop's offset, whole seconds
    assert DECIMAL.match(order["total_price"])
    assert order["total_price_set"]["shop_money"] == {"amount": order["total_price"], "currency_code": "USD"}
    assert OFFSET_STAMP.match(order["created_at"]) and order["created_at"].endswith(("-05:00", "-04:00"))
    assert order["note"] == "ring twice" and order["tags"] == "vip"
    assert (order["cancelled_at"], order["financial_status"], order["fulfillment_status"]) == (
        None,
        "paid",
        None,
    )


def test_order_totals_add_up_like_shopifys(store: ShopifyStore) -> None:
    # 2 x 39.90 + 39.90 = 119.70; 10.00 off spread 6.67 / 3.33; 6 % tax on each line after it.
    order = place(store, discount="10.00", tax_rate="0.06", shipping_price="4.90")
    items = order["line_items"]
    assert [a["amount"] for i in items for a in i["discount_allocations"]] == ["6.67", "3.33"]
    assert [t["price"] for i in items for t in i["tax_lines"]] == ["4.39", "2.19"]
    assert order["total_line_items_price"] == "119.70"
    assert order["subtotal_price"] == "109.70"
    assert order["total_tax"] == "6.58"
    assert order["total_price"] == "121.18"  # 109.70 + 4.90 + 6.58


def test_one_order_by_id_or_not_found(store: ShopifyStore, api: httpx.Client) -> None:
    order = place(store)
    found = api.get(f"{ADMIN}/orders/{order['id']}.json")
    assert found.json() == {"order": order}
    missing = api.get(f"{ADMIN}/orders/{order['id'] + 1}.json")
    assert (missing.status_code, missing.json()) == (404, {"errors": "Not Found"})
    assert api.get(f"{ADMIN}/orders/{order['id']}.json", params={"fields": "id"}).json() == {
        "order": {"id": order["id"]}
    }


def test_stock_levels_are_set_absolutely_per_item_and_location(
    store: ShopifyStore, api: httpx.Client
) -> None:
    variant = api.get(f"{ADMIN}/variants/{variant_ids(store)['SHIRT-M']}.json").json()["variant"]
    item = variant["inventory_item_id"]
    assert item > 2**53 and variant["sku"] == "SHIRT-M" and variant["inventory_quantity"] == 5

    request = {"location_id": store.location_id, "inventory_item_id": item, "available": 42}
    answer = api.post(f"{ADMIN}/inventory_levels/set.json", json=request)
    assert answer.status_code == 200
    level = answer.json()["inventory_level"]
    assert set(level) == set(sample("inventory_levels_set_response.json")["inventory_level"])
    assert (level["inventory_item_id"], level["location_id"], level["available"]) == (
        item,
        store.location_id,
        42,
    )

    listed = api.get(f"{ADMIN}/inventory_levels.json", params={"inventory_item_ids": str(item)}).json()
    assert [lv["available"] for lv in listed["inventory_levels"]] == [42]
    recorded = next(lv for lv in store.stock_levels() if lv["inventory_item_id"] == item)
    assert (recorded["sku"], recorded["available"], recorded["sets"]) == ("SHIRT-M", 42, 1)

    unknown = api.post(f"{ADMIN}/inventory_levels/set.json", json={**request, "inventory_item_id": 1})
    assert unknown.status_code == 422
    no_quantity = api.post(f"{ADMIN}/inventory_levels/set.json", json={**request, "available": None})
    assert no_quantity.status_code == 400
    assert api.get(f"{ADMIN}/inventory_levels.json").status_code == 422


def test_an_order_takes_its_quantities_off_the_stock_and_a_cancel_puts_them_back(store: ShopifyStore) -> None:
    def available(sku: str) -> int:
        return next(lv["available"] for lv in store.stock_levels() if lv["sku"] == sku)

    order = place(store)
    assert (available("SHIRT-S"), available("SHIRT-M")) == (3, 4)
    store.cancel(order["id"])
    assert (available("SHIRT-S"), available("SHIRT-M")) == (5, 5)


def test_fulfillment_orders_then_fulfillments_with_tracking(store: ShopifyStore, api: httpx.Client) -> None:
    order = place(store)
    listed = api.get(f"{ADMIN}/orders/{order['id']}/fulfillment_orders.json").json()["fulfillment_orders"]
    assert len(listed) == 1
    fo = listed[0]
    published = sample("fulfillment_orders_list_response.json")["fulfillment_orders"][0]
    assert set(fo) == set(published) and set(fo["line_items"][0]) == set(published["line_items"][0])
    assert fo["status"] == "open" and fo["assigned_location_id"] == store.location_id
    shirt_s = next(line for line in fo["line_items"] if line["quantity"] == 2)

    def fulfil(lines: list[dict[str, int]] | None, number: str) -> httpx.Response:
        group: dict[str, Any] = {"fulfillment_order_id": fo["id"]}
        if lines is not None:
            group["fulfillment_order_line_items"] = lines
        body = {
            "fulfillment": {
                "notify_customer": False,
                "tracking_info": {"number": number, "company": "UPS"},
                "line_items_by_fulfillment_order": [group],
            }
        }
        return api.post(f"{ADMIN}/fulfillments.json", json=body)

    too_many = fulfil([{"id": shirt_s["id"], "quantity": 3}], "1Z1")
    assert too_many.status_code == 422
    first = fulfil([{"id": shirt_s["id"], "quantity": 1}], "1Z1")
    assert first.status_code == 201
    fulfillment = first.json()["fulfillment"]
    assert set(fulfillment) == set(sample("fulfillment_create_response.json")["fulfillment"])
    assert (fulfillment["tracking_company"], fulfillment["tracking_number"]) == ("UPS", "1Z1")
    assert fulfillment["tracking_url"].endswith("trackNums=1Z1")
    assert store.order(order["id"])["fulfillment_status"] == "partial"

    assert fulfil(None, "1Z2").status_code == 201  # everything that is left
    after = store.order(order["id"])
    assert after["fulfillment_status"] == "fulfilled"
    assert [f["tracking_number"] for f in store.fulfillments(order["id"])] == ["1Z1", "1Z2"]
    closed = api.get(f"{ADMIN}/orders/{order['id']}/fulfillment_orders.json").json()["fulfillment_orders"][0]
    assert closed["status"] == "closed"
    assert fulfil(None, "1Z3").status_code == 422

    retrack = api.post(
        f"{ADMIN}/fulfillments/{fulfillment['id']}/update_tracking.json",
        json={
            "fulfillment": {"notify_customer": True, "tracking_info": {"company": "USPS", "number": "9400"}}
        },
    )
    assert retrack.status_code == 200
    assert store.fulfillments(order["id"])[0]["tracking_number"] == "9400"
    assert store.fulfillments(order["id"])[0]["tracking_company"] == "USPS"


def test_injected_faults_follow_their_seed() -> None:
    store = new_store()
    faults = {"seed": 3, "rate_limited": 0.3, "server_error": 0.3, "retry_after": 3.0}

    def run() -> list[int]:
        store.set_faults(faults)
        return [api.get(f"{ADMIN}/locations.json").status_code for _ in range(12)]

    with served(store) as api:
        statuses = run()
        assert run() == statuses
        assert {200, 429, 500} == set(statuses)
        store.set_faults({"rate_limited": 1.0, "retry_after": 3.0})
        throttled = api.get(f"{ADMIN}/locations.json")
    assert (throttled.status_code, throttled.headers["Retry-After"]) == (429, "3.0")
    assert "X-Shopify-Shop-Api-Call-Limit" in throttled.headers


def test_a_slow_answer_outlasts_the_client_timeout(store: ShopifyStore) -> None:
    store.set_faults({"slow": 1.0, "slow_seconds": 0.6})
    with served(store, timeout=0.2) as api, pytest.raises(httpx.ReadTimeout):
        api.get(f"{ADMIN}/locations.json")


def test_a_malformed_page_comes_once(store: ShopifyStore, api: httpx.Client) -> None:
    place(store)
    store.set_faults({"malformed_pages": 1})
    broken = api.get(f"{ADMIN}/orders.json")
    assert broken.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        broken.json()
    assert len(api.get(f"{ADMIN}/orders.json").json()["orders"]) == 1
