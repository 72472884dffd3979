"""The WooCommerce connector against the sandbox over real HTTP: signed requests, order pages and
windows, stock batches with refusals inside a 200, tracking written back with and without the Shipment
Tracking extension, and the host's throttles and failures."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest

from orderly.channels.connector import (
    AuthFailed,
    ChannelError,
    Parcel,
    ParcelLine,
    RateLimited,
    Rejected,
    ShopConnection,
    StockPush,
    retrying,
)
from orderly.channels.woocommerce import WooCommerceConnector, client
from orderly.sandbox.woocommerce import Faults, WooStore, create_app
from tests.channels.woocommerce.conftest import Connect
from tests.sandbox.amazon.support import Switch

WIDE = (datetime(2020, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC))


def all_orders(connector: WooCommerceConnector, after: datetime, before: datetime) -> list[str]:
    found, cursor = [], None
    while True:
        page = connector.fetch_orders(after, before, cursor)
        found += [raw.external_id for raw in page.orders]
        if page.next_cursor is None:
            return found
        cursor = page.next_cursor


def test_orders_come_page_by_page_each_once_however_the_pages_overlap(
    store: WooStore, connect: Connect
) -> None:
    store.add_product("MUG", quantity=100, price="12.50")
    placed = [str(store.place_order([("MUG", 1)])) for _ in range(23)]
    connector = connect(page_size=10)
    found = all_orders(connector, *WIDE)
    assert sorted(set(found)) == sorted(placed) and len(found) > len(placed)  # pages overlap
    raw = connector.fetch_order(placed[0])
    assert raw is not None and raw.version.endswith("Z") and raw.body["id"] == int(placed[0])
    assert connector.fetch_order("999999") is None and connector.fetch_order("abc") is None


def test_the_window_is_kept_exactly_though_woocommerce_is_asked_a_wider_one(
    store: WooStore, connect: Connect
) -> None:
    store.add_product("MUG", quantity=100)
    at = datetime(2026, 12, 1, 10, 0, 0, tzinfo=UTC)
    inside = store.place_order([("MUG", 1)], at=at)
    before = store.place_order([("MUG", 1)], at=at - timedelta(seconds=1))
    after = store.place_order([("MUG", 1)], at=at + timedelta(seconds=5))
    found = all_orders(connect(), at, at + timedelta(seconds=5))
    assert found == [str(inside)]
    assert str(before) not in found and str(after) not in found


def test_drafts_and_deletions_wait_and_a_deletion_cancels(store: WooStore, connect: Connect) -> None:
    store.add_product("MUG", quantity=100)
    draft = connect().fetch_order(str(store.place_order([("MUG", 1)], status="checkout-draft")))
    assert draft is not None and not connect().ready(draft)
    placed = connect().fetch_order(str(store.place_order([("MUG", 1)])))
    assert placed is not None and connect().ready(placed) and not connect().cancelled(placed)


def test_a_wrong_secret_or_a_replayed_nonce_is_refused_for_good(store: WooStore, connect: Connect) -> None:
    with pytest.raises(AuthFailed, match="Invalid signature"):
        connect(consumer_secret="cs_wrong").fetch_orders(*WIDE, None)
    with pytest.raises(AuthFailed, match="Consumer key is invalid"):
        connect(consumer_key="ck_wrong").fetch_orders(*WIDE, None)
    fixed = connect()
    fixed.api.clock = lambda: 1_000_000_000.0  # 2001: far outside WooCommerce's 15 minutes
    with pytest.raises(AuthFailed, match="Invalid timestamp"):
        fixed.fetch_orders(*WIDE, None)
    with pytest.raises(AuthFailed, match="lack consumer_secret"):
        connect(consumer_secret=None)


def test_basic_and_query_auth_need_https(store: WooStore, connect: Connect) -> None:
    with pytest.raises(AuthFailed, match="https"):
        connect(auth="basic")
    assert client.default_mode("https://shop.example") == "basic"
    assert client.default_mode("http://shop.example") == "oauth"


@pytest.mark.parametrize("mode", ["basic", "query"])
def test_over_https_the_key_goes_as_basic_auth_or_in_the_query(mode: str) -> None:
    store = WooStore(https=True)
    store.add_product("MUG", quantity=3)
    seen: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        query = dict(request.url.params)
        refused = store.check(
            request.method, str(request.url), request.url.path, query, dict(request.headers)
        )
        answer = refused or store.list_orders(query)
        return httpx.Response(answer.status, json=answer.body, headers=answer.headers)

    credentials = {"consumer_key": store.consumer_key, "consumer_secret": store.consumer_secret}
    with httpx.Client(base_url="https://shop.example", transport=httpx.MockTransport(handle)) as http:
        connection = ShopConnection(9, "woo", "https://shop.example", credentials, {"auth": mode})
        assert WooCommerceConnector(connection, http).fetch_orders(*WIDE, None).orders == []
    header = seen[0].headers.get("Authorization", "")
    assert header.startswith("Basic ") if mode == "basic" else seen[0].url.params["consumer_key"]


def test_stock_goes_in_batches_and_a_refused_object_is_a_failed_push(
    store: WooStore, connect: Connect
) -> None:
    simple = store.add_product("MUG", quantity=0)
    other = store.add_product("CUP", quantity=0)
    tee_m, tee_l = store.add_variable_product("Tee", [("TEE-M", "20.00", 0), ("TEE-L", "20.00", 0)])
    store.fail_sku("CUP", "woocommerce_rest_product_invalid_id", "Invalid ID.")
    pushes = [
        StockPush(simple, "MUG", 7, {}),
        StockPush(other, "CUP", 4, {}),
        StockPush(tee_m, "TEE-M", 3, {}),
        StockPush(tee_l, "TEE-L", -2, {}),  # oversold: WooCommerce is told 0
        StockPush("SKU-X", "SKU-X", 1, {}),
        StockPush("1:999999", None, 1, {}),  # no such product
    ]
    results = connect().push_stock(pushes)
    assert [(r.listing_id, r.ok) for r in results] == [
        (simple, True),
        (other, False),
        (tee_m, True),
        (tee_l, True),
        ("SKU-X", False),
        ("1:999999", False),
    ]
    assert results[1].error == "woocommerce_rest_product_invalid_id: Invalid ID."
    assert (
        store.quantity("MUG"),
        store.quantity("CUP"),
        store.quantity("TEE-M"),
        store.quantity("TEE-L"),
    ) == (
        7,
        0,
        3,
        0,
    )
    assert store.calls()["POST /wp-json/wc/v3/products/batch"] == 1


def parcel(
    order_id: int, reference: str, lines: list[ParcelLine], number: str = "1Z999", **more: object
) -> Parcel:
    return Parcel(
        reference,
        str(order_id),
        "UPS",
        None,
        number,
        f"https://track.example/{number}",
        datetime(2026, 12, 4, 8, 0, tzinfo=UTC),
        lines,
        **more,  # type: ignore[arg-type]
    )


def test_tracking_goes_back_as_a_note_and_a_tracking_item_and_the_last_parcel_completes(
    store: WooStore, connect: Connect
) -> None:
    mug = store.add_product("MUG", quantity=10)
    [tee] = store.add_variable_product("Tee", [("TEE-M", "20.00", 10)])
    order_id = store.place_order([("MUG", 2), ("TEE-M", 1)])
    connector = connect()
    first = connector.write_back(parcel(order_id, "P-1", [ParcelLine(mug, "MUG", 2)]))
    assert store.order_view(order_id)["status"] == "processing"  # the tee is still to ship
    second = connector.write_back(parcel(order_id, "P-2", [ParcelLine(tee, "TEE-M", 1)], number="1Z888"))
    assert store.order_view(order_id)["status"] == "completed"
    notes = store.notes_of(order_id)
    assert [n["customer_note"] for n in notes] == [True, True]
    assert (
        notes[0]["note"]
        == f"Shipped with UPS, tracking number 1Z999: https://track.example/1Z999\nParcel P-1: 2 x {mug}"
    )
    assert [t["tracking_number"] for t in store.trackings_of(order_id)] == ["1Z999", "1Z888"]
    assert first.platform_ids[0].startswith("note:") and first.platform_ids[1].startswith("tracking:")
    assert "completed" in second.note and "completed" not in first.note


def test_a_retry_after_a_lost_answer_makes_nothing_twice(store: WooStore, connect: Connect) -> None:
    mug = store.add_product("MUG", quantity=10)
    order_id = store.place_order([("MUG", 1)])
    sent = parcel(order_id, "P-1", [ParcelLine(mug, "MUG", 1)])
    first = connect().write_back(sent)
    again = connect().write_back(parcel(order_id, "P-1", [ParcelLine(mug, "MUG", 1)], maybe_sent=True))
    assert again.platform_ids == first.platform_ids
    assert len(store.notes_of(order_id)) == 1 and len(store.trackings_of(order_id)) == 1


def test_a_changed_tracking_number_replaces_the_item_and_adds_a_note(
    store: WooStore, connect: Connect
) -> None:
    mug = store.add_product("MUG", quantity=10)
    order_id = store.place_order([("MUG", 1)])
    first = connect().write_back(parcel(order_id, "P-1", [ParcelLine(mug, "MUG", 1)]))
    updated = connect().write_back(
        parcel(order_id, "P-1", [ParcelLine(mug, "MUG", 1)], number="1Z777", accepted=first.platform_ids)
    )
    assert [t["tracking_number"] for t in store.trackings_of(order_id)] == ["1Z777"]
    assert len(store.notes_of(order_id)) == 2 and updated.platform_ids != first.platform_ids


def test_without_the_extension_a_note_carries_the_tracking(woo_server: tuple[Switch, str]) -> None:
    switch, url = woo_server
    store = WooStore(tracking_extension=False)
    switch.app, store.base_url = create_app(store), url
    mug = store.add_product("MUG", quantity=10)
    order_id = store.place_order([("MUG", 1)])
    credentials = {"consumer_key": store.consumer_key, "consumer_secret": store.consumer_secret}
    with httpx.Client(base_url=url, timeout=5) as http:
        woo = WooCommerceConnector(ShopConnection(9, "woo", url, credentials, {}), http)
        result = woo.write_back(parcel(order_id, "P-1", [ParcelLine(mug, "MUG", 1)]))
    assert result.platform_ids[0].startswith("note:") and len(result.platform_ids) == 1
    assert store.order_view(order_id)["status"] == "completed" and store.trackings_of(order_id) == []
    assert result.note == "WooCommerce: a note; the order is completed"


def test_a_cancelled_or_unknown_order_refuses_the_parcel(store: WooStore, connect: Connect) -> None:
    mug = store.add_product("MUG", quantity=10)
    order_id = store.place_order([("MUG", 1)])
    store.set_status(order_id, "cancelled")
    with pytest.raises(Rejected, match="cancelled"):
        connect().write_back(parcel(order_id, "P-1", [ParcelLine(mug, "MUG", 1)]))
    with pytest.raises(Rejected, match="no order"):
        connect().write_back(parcel(999999, "P-1", [ParcelLine(mug, "MUG", 1)]))


def test_a_hosts_throttle_names_its_wait_and_500s_are_retried(store: WooStore, connect: Connect) -> None:
    store.set_faults(Faults(throttle=1.0, retry_after=7))
    with pytest.raises(RateLimited) as throttled:
        connect().fetch_orders(*WIDE, None)
    assert throttled.value.retry_after == 7 and throttled.value.status == 429
    store.set_faults(Faults(unavailable=1.0, retry_after=9))
    with pytest.raises(RateLimited) as unavailable:
        connect().fetch_orders(*WIDE, None)
    assert unavailable.value.retry_after == 9 and unavailable.value.status == 503
    store.set_faults(Faults(error=1.0))
    with pytest.raises(ChannelError) as failed:
        connect().fetch_orders(*WIDE, None)
    assert failed.value.status == 500 and failed.value.retryable
    store.set_faults(Faults(error=0.5, seed=3))
    assert retrying(lambda: connect().fetch_orders(*WIDE, None), sleep=lambda _: None).orders == []


def test_a_throttle_without_retry_after_waits_conservatively() -> None:
    def handle(request: httpx.Request) -> httpx.Response:
        return httpx.Response(429, text="slow down")

    credentials = {"consumer_key": "ck", "consumer_secret": "cs"}
    with httpx.Client(base_url="http://shop.test", transport=httpx.MockTransport(handle)) as http:
        woo = WooCommerceConnector(ShopConnection(9, "woo", "http://shop.test", credentials, {}), http)
        with pytest.raises(RateLimited) as throttled:
            woo.fetch_orders(*WIDE, None)
    assert throttled.value.retry_after == client.DEFAULT_RETRY_AFTER


def test_a_timeout_is_retryable_and_a_refused_connection_never_reached() -> None:
    def slow(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    credentials = {"consumer_key": "ck", "consumer_secret": "cs"}
    with httpx.Client(base_url="http://shop.test", transport=httpx.MockTransport(slow)) as http:
        woo = WooCommerceConnector(ShopConnection(9, "woo", "http://shop.test", credentials, {}), http)
        with pytest.raises(ChannelError, match="timed out") as timed_out:
            woo.api._request("orders", "GET", "/wp-json/wc/v3/orders", {}, None)
    assert timed_out.value.retryable
