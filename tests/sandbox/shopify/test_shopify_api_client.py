"""The Shopify sandbox driven by ShopifyAPI, Shopify's own Python library: whatever it reads, filters,
pages through, changes or is refused, the sandbox must answer as Shopify does. The library's site is
set to the sandbox's URL, so nothing leaves the machine."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import shopify
from pyactiveresource.connection import BadRequest, ResourceInvalid, ResourceNotFound, UnauthorizedAccess

from orderly.sandbox.shopify import ShopifyStore
from tests.sandbox.shopify.helpers import TOKEN, Clock, Receiver, hmac_base64, new_store, place, served


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def shop(clock: Clock) -> Iterator[ShopifyStore]:
    """A store whose Admin API the library is pointed at."""
    store = new_store(clock=clock)
    with served(store) as api:
        shopify.ShopifyResource.site = f"{api.base_url}/admin/api/2024-01"
        shopify.ShopifyResource.set_version("2024-01")
        shopify.ShopifyResource.headers["X-Shopify-Access-Token"] = TOKEN
        yield store
        shopify.ShopifyResource.clear_session()
    store.close()


def ship(store: ShopifyStore, order: dict[str, Any], *lines: tuple[int, int]) -> None:
    """Fulfil (line index, quantity) of ``order``, or all of it when no line is named."""
    [fulfillment_order] = store.fulfillment_orders(order["id"])
    group: dict[str, Any] = {"fulfillment_order_id": fulfillment_order["id"]}
    if lines:
        group["fulfillment_order_line_items"] = [
            {"id": fulfillment_order["line_items"][index]["id"], "quantity": quantity}
            for index, quantity in lines
        ]
    store.create_fulfillment({"fulfillment": {"line_items_by_fulfillment_order": [group]}})


def ids(orders: Any) -> list[int]:
    return [order.id for order in orders]


def test_shop_current_describes_the_shop(shop: ShopifyStore) -> None:
    current = shopify.Shop.current()

    assert current.id == shop.shop.id
    assert current.myshopify_domain == shop.shop.domain
    assert current.currency == "USD"
    assert current.iana_timezone == "America/New_York"
    assert current.primary_location_id == shop.location_id
    assert current.timezone == "(GMT-05:00) America/New_York"


def test_order_find_honours_every_filter(shop: ShopifyStore, clock: Clock) -> None:
    placed = []
    for _ in range(6):
        placed.append(place(shop))
        clock.advance(3600)
    unshipped, shipped, partial, cancelled, fifth, sixth = (o["id"] for o in placed)
    ship(shop, placed[1])
    ship(shop, placed[2], (0, 1))
    shop.cancel(cancelled)
    shop.place_order({"lines": [{"sku": "SHIRT-S"}], "financial_status": "pending"})  # placed last
    pending_id = max(o["id"] for o in shop.orders())

    everything = [pending_id, *reversed([o["id"] for o in placed])]
    assert ids(shopify.Order.find(status="any")) == everything  # newest first
    assert cancelled not in ids(shopify.Order.find())  # open by default
    assert ids(shopify.Order.find(status="cancelled")) == [cancelled]
    assert ids(shopify.Order.find(status="any", fulfillment_status="shipped")) == [shipped]
    assert ids(shopify.Order.find(status="any", fulfillment_status="partial")) == [partial]
    assert shipped not in ids(shopify.Order.find(status="any", fulfillment_status="unshipped"))
    assert set(ids(shopify.Order.find(status="any", fulfillment_status="unfulfilled"))) == (
        set(everything) - {shipped}
    )
    assert ids(shopify.Order.find(status="any", financial_status="pending")) == [pending_id]
    assert ids(shopify.Order.find(status="any", ids=f"{shipped},{sixth}")) == [sixth, shipped]
    # since_id: the orders after that id, oldest first
    assert ids(shopify.Order.find(status="any", since_id=partial)) == [cancelled, fifth, sixth, pending_id]
    later = placed[3]["created_at"]
    assert ids(shopify.Order.find(status="any", created_at_min=later)) == [
        pending_id,
        sixth,
        fifth,
        cancelled,
    ]
    assert ids(shopify.Order.find(status="any", created_at_max=placed[0]["created_at"])) == [unshipped]

    assert shopify.Order.count(status="any") == 7
    assert shopify.Order.count() == 6
    assert shopify.Order.count(status="any", fulfillment_status="shipped") == 1
    assert shopify.Order.count(status="any", created_at_min=later) == 4

    with pytest.raises(BadRequest):
        shopify.Order.find(status="any", fulfillment_status="sent")
    with pytest.raises(BadRequest):  # a filter Shopify honours and the sandbox lacks is never ignored
        shopify.Order.find(status="any", attribution_app_id="current")


def test_pages_follow_the_link_header_to_the_last_order(shop: ShopifyStore) -> None:
    placed = [place(shop)["id"] for _ in range(7)]

    page = shopify.Order.find(status="any", limit=3)
    pages = [ids(page)]
    while page.has_next_page():
        page = page.next_page()
        pages.append(ids(page))
    assert pages == [placed[:3:-1], placed[3:0:-1], placed[:1]]
    assert ids(page.previous_page()) == placed[3:0:-1]

    forward = shopify.Order.find(status="any", since_id=placed[1], limit=2)
    walked = ids(forward)
    while forward.has_next_page():
        forward = forward.next_page()
        walked += ids(forward)
    assert walked == placed[2:]  # the filters travel inside page_info


def test_inventory_levels_adjust_and_set(shop: ShopifyStore) -> None:
    level = next(lv for lv in shop.stock_levels() if lv["sku"] == "SHIRT-S")
    item, location = level["inventory_item_id"], level["location_id"]

    adjusted = shopify.InventoryLevel.adjust(location, item, -2)
    assert (adjusted.inventory_item_id, adjusted.location_id, adjusted.available) == (item, location, 3)
    assert shopify.InventoryLevel.adjust(location, item, 4).available == 7
    assert shopify.InventoryLevel.set(location, item, 42).available == 42
    [listed] = shopify.InventoryLevel.find(inventory_item_ids=str(item))
    assert listed.available == 42

    elsewhere = shop.add_location("Warehouse")["id"]
    with pytest.raises(ResourceInvalid):  # adjust, unlike set, needs the item stocked there
        shopify.InventoryLevel.adjust(elsewhere, item, 1)
    with pytest.raises(ResourceInvalid):
        shopify.InventoryLevel.adjust(1, item, 1)


def test_webhook_subscriptions_are_kept_and_delivered(shop: ShopifyStore) -> None:
    receiver = Receiver()
    with receiver.running() as url:
        hook = shopify.Webhook.create(
            {"topic": "orders/create", "address": url, "format": "json", "fields": ["id", "note"]}
        )
        assert hook.id and not hook.errors.full_messages()
        assert ids(shopify.Webhook.find()) == [hook.id]
        cancelled = shopify.Webhook.create({"topic": "orders/cancelled", "address": url})
        assert ids(shopify.Webhook.find(since_id=hook.id)) == [cancelled.id]
        assert ids(shopify.Webhook.find(topic="orders/cancelled")) == [cancelled.id]
        assert ids(shopify.Webhook.find(limit=1)) == [hook.id]
        cancelled.destroy()
        assert shopify.Webhook.find(hook.id).address == url
        assert shopify.Webhook.count(topic="orders/create") == 1

        order = place(shop, note="gift")
        shop.update_order(order["id"], {"note": "gift, wrapped"})
        assert shop.wait_for_webhooks(5)
        [(headers, body)] = receiver.deliveries  # orders/updated has no subscription
        assert headers["x-shopify-topic"] == "orders/create"
        assert headers["x-shopify-hmac-sha256"] == hmac_base64(shop.client_secret, body)
        assert json.loads(body) == {"id": order["id"], "note": "gift"}

        again = shopify.Webhook.create({"topic": "orders/create", "address": url})
        assert again.errors.full_messages() == ["address for this topic has already been taken"]
        assert again.id is None
        unknown = shopify.Webhook.create({"topic": "orders/nothing", "address": url})
        assert unknown.errors.on("topic")

        hook.address = f"{url}?moved=1"
        assert hook.save()
        assert shopify.Webhook.find(hook.id).address == f"{url}?moved=1"
        hook.destroy()
        assert shopify.Webhook.find() == []
        with pytest.raises(ResourceNotFound):
            shopify.Webhook.find(hook.id)


def test_the_library_is_refused_without_the_token() -> None:
    store = new_store()
    with served(store) as api:
        shopify.ShopifyResource.site = f"{api.base_url}/admin/api/2024-01"
        shopify.ShopifyResource.headers["X-Shopify-Access-Token"] = "wrong"
        try:
            with pytest.raises(UnauthorizedAccess):
                shopify.Shop.current()
        finally:
            shopify.ShopifyResource.clear_session()
    store.close()
