"""The Shopify connector against the sandbox over real HTTP: paging, one order, stock pushes that
learn their binding, shipments, HTTP failures as the interface's exceptions, webhooks."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from pydantic import TypeAdapter

from orderly.channels.connector import (
    RETRIES,
    AuthFailed,
    ChannelError,
    Parcel,
    ParcelLine,
    RateLimit,
    RateLimited,
    Rejected,
    ShopConnection,
    StockPush,
    Unreached,
)
from orderly.channels.registry import connector_class
from orderly.channels.shopify import CONNECTOR, ShopifyConnector
from orderly.orders.schemas import NormalizedOrder
from orderly.sandbox.serve import serving
from orderly.sandbox.shopify import ShopifyStore, create_app
from tests.sandbox.shopify.helpers import SECRET, TOKEN, Clock, Receiver, new_store, place, variant_ids

NOW = datetime.now(UTC)
WIDE = (NOW - timedelta(days=1), NOW + timedelta(days=1))


@pytest.fixture
def store() -> Iterator[ShopifyStore]:
    store = new_store()
    yield store
    store.close()


@pytest.fixture
def url(store: ShopifyStore) -> Iterator[str]:
    with serving(create_app(store)) as base_url:
        yield base_url


def connect(
    url: str, store: ShopifyStore, *, token: str = TOKEN, timeout: float = 5.0, **settings: Any
) -> ShopifyConnector:
    connection = ShopConnection(
        shop_id=1,
        shop_code="shopify-us",
        base_url=url,
        credentials={"access_token": token, "webhook_secret": SECRET},
        settings={"location_id": store.location_id, **settings},
    )
    return CONNECTOR(connection, httpx.Client(base_url=url, timeout=timeout))


@pytest.fixture
def shopify(url: str, store: ShopifyStore) -> Iterator[ShopifyConnector]:
    connector = connect(url, store)
    yield connector
    connector.client.close()


def test_the_plugin_declares_shopify() -> None:
    assert connector_class("shopify") is ShopifyConnector
    assert (CONNECTOR.channel, CONNECTOR.webhooks, CONNECTOR.max_push_batch) == ("shopify", True, 1)
    assert set(CONNECTOR.rate_limits) == {"orders", "stock", "shipments"}
    assert set(CONNECTOR.rate_limits.values()) == {RateLimit(per_second=2.0, burst=40, bucket="admin")}


def test_fetch_orders_follows_the_cursor_through_every_page(url: str, store: ShopifyStore) -> None:
    placed = [place(store) for _ in range(7)]
    shopify = connect(url, store, page_size=3)

    pages, cursor = [], None
    while True:
        page = shopify.fetch_orders(*WIDE, cursor)
        pages.append(page)
        if (cursor := page.next_cursor) is None:
            break

    assert [len(p.orders) for p in pages] == [3, 3, 1]
    raws = [raw for p in pages for raw in p.orders]
    assert sorted(raw.external_id for raw in raws) == sorted(str(o["id"]) for o in placed)
    for raw in raws:
        assert raw.version == raw.body["updated_at"]  # exactly as Shopify wrote it
        assert raw.external_id == str(raw.body["id"]) and int(raw.external_id) > 2**53
    TypeAdapter(list[NormalizedOrder]).validate_python([shopify.map_order(raw) for raw in raws])


def test_fetch_orders_keeps_the_window_half_open() -> None:
    clock = Clock()
    store = new_store(clock=clock)
    with serving(create_app(store)) as base_url:
        shopify = connect(base_url, store)
        stamps = []
        for _ in range(4):
            stamps.append(datetime.fromisoformat(place(store)["updated_at"]))
            clock.advance(1)
        store.cancel(store.orders()[0]["id"])  # an update: still found, at its new updated_at
        page = shopify.fetch_orders(stamps[1], stamps[3], None)
        later = shopify.fetch_orders(
            stamps[3] - timedelta(microseconds=1), clock.now + timedelta(seconds=1), None
        )
    store.close()
    assert [datetime.fromisoformat(raw.version) for raw in page.orders] == [stamps[2], stamps[1]]
    assert len(later.orders) == 2  # the last one placed, and the cancelled first one


def test_fetch_order_returns_it_as_it_is_now_or_none(shopify: ShopifyConnector, store: ShopifyStore) -> None:
    order = place(store)
    store.update_order(order["id"], {"note": "call first"})

    raw = shopify.fetch_order(str(order["id"]))
    assert raw is not None and raw.body["note"] == "call first" and raw.version == raw.body["updated_at"]
    assert shopify.fetch_order(str(order["id"] + 1)) is None
    assert shopify.fetch_order("../variants/1") is None


def test_push_stock_learns_the_inventory_item_then_sets_the_level(
    shopify: ShopifyConnector, store: ShopifyStore
) -> None:
    variant = str(variant_ids(store)["SHIRT-S"])

    [first] = shopify.push_stock([StockPush(variant, "SHIRT-S", 42, {})])
    item = next(lv["inventory_item_id"] for lv in store.stock_levels() if lv["sku"] == "SHIRT-S")
    assert first.ok and first.listing_id == variant
    assert first.binding == {"inventory_item_id": item, "stocked_at": {str(item): [store.location_id]}}
    calls = store.stats()["calls"]
    [second] = shopify.push_stock([StockPush(variant, "SHIRT-S", 7, first.binding or {})])
    assert second.ok and second.binding is None  # nothing new to keep
    assert store.stats()["calls"] == calls + 1  # no second look at the variant or its levels

    level = next(lv for lv in store.stock_levels() if lv["sku"] == "SHIRT-S")
    assert (level["available"], level["location_id"], level["sets"]) == (7, store.location_id, 2)


def test_a_listing_stocked_at_another_location_is_set_there_and_the_default_level_is_untouched(
    shopify: ShopifyConnector, store: ShopifyStore
) -> None:
    second = store.add_location("Warehouse")["id"]
    product = store.add_product(
        {"title": "Lamp", "variants": [{"sku": "LAMP", "available": 2, "location_id": second}]}
    )
    variant, item = product["variants"][0]["id"], product["variants"][0]["inventory_item_id"]

    [result] = shopify.push_stock([StockPush(str(variant), "LAMP", 7, {}, location=str(second))])

    assert result.ok
    levels = [
        (lv["location_id"], lv["available"], lv["sets"]) for lv in store.stock_levels() if lv["sku"] == "LAMP"
    ]
    assert levels == [(second, 7, 1)]  # nothing was set, or connected, at the shop's default location
    calls = store.stats()["calls"]
    known = {"stocked_at": {str(item): [second]}}
    named = StockPush(str(variant), "LAMP", 6, known, str(second), {"inventory_item_id": str(item)})
    [given] = shopify.push_stock([named])
    assert given.ok and given.binding is None
    assert store.stats()["calls"] == calls + 1  # the item the mapping names is not looked up


def test_a_listing_is_never_set_at_a_location_its_item_is_not_stocked_at(
    shopify: ShopifyConnector, store: ShopifyStore
) -> None:
    """Shopify would connect the item there: the default location would offer stock it does not hold."""
    second = store.add_location("Warehouse")["id"]
    product = store.add_product(
        {"title": "Lamp", "variants": [{"sku": "LAMP", "available": 2, "location_id": second}]}
    )
    variant, item = product["variants"][0]["id"], product["variants"][0]["inventory_item_id"]

    [refused] = shopify.push_stock([StockPush(str(variant), "LAMP", 7, {})])  # the shop's default location

    assert not refused.ok
    assert refused.error == (
        f"variant {variant} is not stocked at location {store.location_id} but at {second}: "
        "set that location on its SKU mapping"
    )
    assert refused.binding == {"inventory_item_id": item, "stocked_at": {str(item): [second]}}
    assert [(lv["location_id"], lv["available"]) for lv in store.stock_levels() if lv["sku"] == "LAMP"] == [
        (second, 2)
    ]
    # Stocked there since: what was learned is looked up again before refusing.
    store.set_inventory_level({"location_id": store.location_id, "inventory_item_id": item, "available": 0})
    [now_stocked] = shopify.push_stock([StockPush(str(variant), "LAMP", 7, refused.binding or {})])
    assert now_stocked.ok
    assert now_stocked.binding == {
        "inventory_item_id": item,
        "stocked_at": {str(item): sorted([store.location_id, second])},
    }


def test_listing_ids_are_checked_before_they_are_stored() -> None:
    assert CONNECTOR.location_setting == "location_id"
    assert CONNECTOR.listing_problems("655441491", {"inventory_item_id": "808950810"}) == []
    assert CONNECTOR.listing_problems("Main warehouse", {}) == [
        ("location", "location 'Main warehouse' is not a Shopify location id (a number)")
    ]
    assert CONNECTOR.listing_problems(str(2**63), {"inventory_item_id": str(2**63 - 1)}) == [
        ("location", f"location '{2**63}' is not a Shopify location id (a number)")
    ]
    [(field, unknown)] = CONNECTOR.listing_problems(None, {"variant": "1"})
    assert field == "platform_ids"
    assert "unknown platform id(s) variant" in unknown and "inventory_item_id" in unknown


def test_push_stock_failures_are_results_not_exceptions(
    shopify: ShopifyConnector, store: ShopifyStore, url: str
) -> None:
    variant = str(variant_ids(store)["SHIRT-M"])

    [unknown] = shopify.push_stock([StockPush("1", None, 1, {})])
    assert not unknown.ok and unknown.error == "no such variant on the shop"
    [not_an_id] = shopify.push_stock([StockPush("SHIRT-M", "SHIRT-M", 1, {})])
    assert not not_an_id.ok
    [stale] = shopify.push_stock([StockPush(variant, None, 1, {"inventory_item_id": 5, "note": "kept"})])
    assert not stale.ok and "stocked at no location" in (stale.error or "")
    assert stale.binding == {"note": "kept"}  # the stale item is forgotten, to be learned again
    known = {"inventory_item_id": 5, "stocked_at": {"5": [store.location_id]}}
    [refused] = shopify.push_stock([StockPush(variant, None, 1, known)])
    assert not refused.ok and "422" in (refused.error or "") and refused.binding == {}
    [elsewhere] = shopify.push_stock([StockPush(variant, None, 1, {}, location="3")])
    assert not elsewhere.ok and elsewhere.binding is not None and "inventory_item_id" in elsewhere.binding
    [given_wrong] = shopify.push_stock(
        [StockPush(variant, None, 1, {}, platform_ids={"inventory_item_id": "5"})]
    )
    assert not given_wrong.ok and given_wrong.binding is None  # a person's id is not forgotten

    nowhere = connect(url, store, location_id=None)
    [no_location] = nowhere.push_stock([StockPush(variant, None, 1, {})])
    assert not no_location.ok and "location_id" in (no_location.error or "")
    assert no_location.binding is not None  # what it learned is still worth keeping


def parcel(order_id: int | str, *lines: tuple[str | None, str | None, int], **fields: Any) -> Parcel:
    """A parcel of (listing id, SKU, units) lines."""
    values: dict[str, Any] = {
        "reference": "1",
        "carrier": "UPS",
        "service": None,
        "tracking_number": "1Z001985YW99744790",
        "tracking_url": None,
        "shipped_at": NOW,
    }
    return Parcel(external_id=str(order_id), lines=[ParcelLine(*line) for line in lines], **(values | fields))


def test_write_back_fulfils_the_parcels_lines_with_tracking(
    shopify: ShopifyConnector, store: ShopifyStore
) -> None:
    order = place(store)
    ids = variant_ids(store)
    whole = parcel(order["id"], (str(ids["SHIRT-S"]), "SHIRT-S", 2), (str(ids["SHIRT-M"]), "SHIRT-M", 1))

    result = shopify.write_back(whole)
    [fulfillment] = store.fulfillments(order["id"])
    assert result.platform_ids == (str(fulfillment["id"]),)
    assert (fulfillment["tracking_company"], fulfillment["tracking_number"]) == ("UPS", "1Z001985YW99744790")
    assert sum(item["quantity"] for item in fulfillment["line_items"]) == 3
    assert store.order(order["id"])["fulfillment_status"] == "fulfilled"

    # A retry after a lost answer finds it made and sends nothing.
    again = shopify.write_back(dataclasses.replace(whole, maybe_sent=True))
    assert again.platform_ids == result.platform_ids and "earlier try" in again.note
    assert len(store.fulfillments(order["id"])) == 1
    # A new label on an accepted parcel updates its fulfillment's tracking.
    relabel = parcel(order["id"], carrier="usps", tracking_number="9400111", accepted=result.platform_ids)
    shopify.write_back(relabel)
    [fulfillment] = store.fulfillments(order["id"])
    assert (fulfillment["tracking_company"], fulfillment["tracking_number"]) == ("USPS", "9400111")


def test_write_back_of_some_lines_by_variant_or_sku(shopify: ShopifyConnector, store: ShopifyStore) -> None:
    order = place(store)
    shirt_m = str(variant_ids(store)["SHIRT-M"])

    shopify.write_back(
        parcel(order["id"], (None, "SHIRT-S", 1), (shirt_m, None, 1), carrier="DHL", tracking_number="JD1")
    )
    assert store.order(order["id"])["fulfillment_status"] == "partial"
    with pytest.raises(Rejected, match="x2 to ship but only x1 is left"):
        shopify.write_back(parcel(order["id"], (None, "SHIRT-S", 2), tracking_number="JD2"))
    shopify.write_back(
        parcel(order["id"], (None, "SHIRT-S", 1), carrier="DHL Express", tracking_url="https://t.example/JD2",
               tracking_number="JD2")
    )  # fmt: skip
    assert store.order(order["id"])["fulfillment_status"] == "fulfilled"
    second = store.fulfillments(order["id"])[1]
    assert (second["tracking_company"], second["tracking_url"]) == ("DHL Express", "https://t.example/JD2")
    assert [f["tracking_number"] for f in store.fulfillments(order["id"])] == ["JD1", "JD2"]


def test_write_back_covers_every_location_and_leaves_a_3pl_its_own(url: str) -> None:
    store = new_store()
    with serving(create_app(store)) as base_url:
        shopify = connect(base_url, store)
        overseas = store.add_location("Overseas", "DE")["id"]
        third = store.add_location("Shipwire", "US", fulfillment_service="shipwire")["id"]
        store.add_product(
            {"title": "Mug", "variants": [{"sku": "MUG", "available": 9, "location_id": overseas}]}
        )
        store.add_product(
            {"title": "Cap", "variants": [{"sku": "CAP", "available": 9, "location_id": third}]}
        )
        order = store.place_order(
            {"lines": [{"sku": "SHIRT-S", "quantity": 2}, {"sku": "MUG"}, {"sku": "CAP"}]}
        )
        assert {fo["assigned_location_id"] for fo in store.fulfillment_orders(order["id"])} == {
            store.location_id,
            overseas,
            third,
        }

        result = shopify.write_back(
            parcel(order["id"], (None, "SHIRT-S", 1), (None, "MUG", 1), (None, "CAP", 1))
        )

        made = store.fulfillments(order["id"])
        assert {f["location_id"] for f in made} == {store.location_id, overseas}
        assert result.platform_ids == tuple(
            str(f["id"]) for f in sorted(made, key=lambda f: f["location_id"])
        )
        assert "left to the fulfillment service: CAP x1" in result.note
        assert all(f["tracking_number"] == "1Z001985YW99744790" for f in made)
        # Half of it reached Shopify before a failure: the retry makes only the other half.
        again = shopify.write_back(
            parcel(order["id"], (None, "SHIRT-S", 2), (None, "MUG", 1), maybe_sent=True)
        )
        assert len(again.platform_ids) == 3 and len(store.fulfillments(order["id"])) == 3
    store.close()


def test_write_back_of_what_cannot_ship_is_rejected(shopify: ShopifyConnector, store: ShopifyStore) -> None:
    order = place(store)
    store.cancel(order["id"])
    for external_id in (str(order["id"]), str(order["id"] + 1), "#1001"):
        with pytest.raises(Rejected) as refused:
            shopify.write_back(parcel(external_id, (None, "SHIRT-S", 1)))
        assert not refused.value.retryable


def test_a_full_bucket_is_waited_out_in_place_for_its_retry_after() -> None:
    store = new_store(bucket_size=2, leak_per_second=2.0)
    with serving(create_app(store)) as base_url:
        shopify = connect(base_url, store)
        for _ in range(3):
            assert shopify.fetch_order("1") is None  # the third was throttled, waited, sent again
    store.close()
    assert store.stats()["throttled"] >= 1


def test_each_call_is_retried_on_its_own_through_429s_and_500s(url: str, store: ShopifyStore) -> None:
    placed = {str(place(store)["id"]) for _ in range(12)}
    store.set_faults({"seed": 3, "rate_limited": 0.25, "retry_after": 0.01, "server_error": 0.25})
    shopify = connect(url, store, page_size=2)
    fetched, cursor = set(), None
    while True:
        page = shopify.fetch_orders(*WIDE, cursor)
        fetched |= {raw.external_id for raw in page.orders}
        cursor = page.next_cursor
        if cursor is None:
            break
    assert fetched == placed
    stats = store.stats()
    assert stats.get("injected_429") and stats.get("injected_500")  # met, and each retried in place


def test_a_fulfillment_shopify_may_have_made_is_not_sent_again() -> None:
    sent: list[str] = []
    line = {"id": 8, "fulfillable_quantity": 1, "variant_id": 5, "line_item_id": 9}
    open_order = {
        "id": 7, "status": "open", "assigned_location_id": 1, "supported_actions": ["create_fulfillment"],
        "line_items": [line],
    }  # fmt: skip

    def platform(request: httpx.Request) -> httpx.Response:
        sent.append(f"{request.method} {request.url.path.rsplit('/', 1)[-1]}")
        if request.method == "GET":
            return httpx.Response(200 if len(sent) > 1 else 500, json={"fulfillment_orders": [open_order]})
        return httpx.Response(500, json={"errors": "Internal Server Error"})

    connection = ShopConnection(1, "shopify-us", "http://shop", {"access_token": TOKEN}, {})
    shopify = CONNECTOR(
        connection, httpx.Client(base_url="http://shop", transport=httpx.MockTransport(platform))
    )
    with pytest.raises(ChannelError) as failed:
        shopify.write_back(parcel("1001", ("5", None, 1)))
    assert failed.value.status == 500
    # The read was retried; the fulfillment, which Shopify may have made before failing, went once.
    assert sent == ["GET fulfillment_orders.json", "GET fulfillment_orders.json", "POST fulfillments.json"]


def test_a_long_429_goes_back_to_the_job_with_its_wait(
    shopify: ShopifyConnector, store: ShopifyStore
) -> None:
    store.set_faults({"rate_limited": 1.0, "retry_after": 30})
    with pytest.raises(RateLimited) as injected:
        shopify.fetch_orders(*WIDE, None)
    assert injected.value.retry_after == 30 and store.stats()["calls"] == 1


def test_a_refused_token_is_auth_failed(url: str, store: ShopifyStore) -> None:
    shopify = connect(url, store, token="revoked")
    with pytest.raises(AuthFailed) as refused:
        shopify.fetch_orders(*WIDE, None)
    assert refused.value.status == 401 and not refused.value.retryable
    assert "Invalid API key or access token" in (refused.value.body or "")
    with pytest.raises(AuthFailed):
        connect(url, store, token="").fetch_order("1")


@pytest.mark.parametrize(
    "faults",
    [{"server_error": 1.0}, {"slow": 1.0, "slow_seconds": 0.5}, {"malformed_pages": 1}],
    ids=["500", "timeout", "malformed"],
)
def test_server_errors_timeouts_and_bad_json_are_retryable(
    url: str, store: ShopifyStore, faults: dict[str, Any]
) -> None:
    place(store)
    store.set_faults(faults)
    shopify = connect(url, store, timeout=0.2)
    with pytest.raises(ChannelError) as failed:
        shopify.fetch_orders(*WIDE, None)
    assert failed.value.retryable and type(failed.value) is ChannelError
    assert store.stats()["calls"] == (1 if "malformed_pages" in faults else RETRIES.tries)


def test_an_unreachable_shop_is_retryable(store: ShopifyStore) -> None:
    with serving(create_app(store)) as gone:
        pass
    with pytest.raises(Unreached) as failed:
        connect(gone, store, timeout=0.5).fetch_order("1")
    assert failed.value.retryable


def test_webhooks_verify_and_key_like_the_poll(shopify: ShopifyConnector, store: ShopifyStore) -> None:
    with Receiver().serving(store) as receiver:
        order = place(store)
        assert store.wait_for_webhooks(5)
    [(headers, body)] = receiver.deliveries

    secret = SECRET
    assert CONNECTOR.verify_webhook(secret, headers, body)
    assert not CONNECTOR.verify_webhook(secret, headers, body.replace(b'"note":null', b'"note":"x"'))
    assert not CONNECTOR.verify_webhook(secret, {k: v for k, v in headers.items() if "hmac" not in k}, body)
    assert not CONNECTOR.verify_webhook("other", headers, body)
    assert not CONNECTOR.verify_webhook(None, headers, body)

    event = CONNECTOR.parse_webhook(headers, body)
    raw = shopify.fetch_order(str(order["id"]))
    assert raw is not None
    assert (event.event_id, event.external_id, event.version) == (
        raw.external_id,
        raw.external_id,
        raw.version,
    )
    assert event.topic == "orders/create" and event.body == raw.body
    with pytest.raises(Rejected):
        shopify.parse_webhook(headers, b"[]")


def test_requests_as_the_contract_writes_them() -> None:
    """Against canned answers: the first page's filters, the Link header in the pagination page's
    own unquoted form, and a page_info sent back with the limit alone."""
    requests: list[httpx.Request] = []
    link = (
        "<https://shop.myshopify.com/admin/api/2024-01/orders.json?page_info=prev1&limit=250>; rel=previous, "
        "<https://shop.myshopify.com/admin/api/2024-01/orders.json?page_info=next%2B2&limit=250>; rel=next"
    )

    def answer(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        return httpx.Response(200, json={"orders": []}, headers={"Link": link})

    client = httpx.Client(base_url="https://shop.myshopify.com", transport=httpx.MockTransport(answer))
    connection = ShopConnection(1, "s", "https://shop.myshopify.com", {"access_token": TOKEN})
    shopify = CONNECTOR(connection, client)
    after = datetime(2024, 5, 1, 10, 0, 0, 250_000, tzinfo=UTC)
    before = datetime(2024, 5, 1, 11, 0, 0, 250_000, tzinfo=UTC)

    assert shopify.fetch_orders(after, before, None).next_cursor == "next+2"
    shopify.fetch_orders(after, before, "next+2")

    first, second = requests
    assert first.url.path == "/admin/api/2024-01/orders.json"
    assert first.headers["X-Shopify-Access-Token"] == TOKEN
    assert dict(first.url.params) == {
        "status": "any",
        "updated_at_min": "2024-05-01T10:00:00+00:00",  # whole seconds, widened; [after, before) kept locally
        "updated_at_max": "2024-05-01T11:00:01+00:00",
        "limit": "250",
    }
    assert dict(second.url.params) == {"page_info": "next+2", "limit": "250"}
