"""The Shopee connector against the sandbox over real HTTP: windows and cursors, details in batches,
stock pushes with partial failures, Shopee's logistics with tracking and label, token renewal, HTTP
failures as the interface's exceptions, pushes."""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from pydantic import TypeAdapter

from orderly.channels.connector import (
    AuthFailed,
    ChannelError,
    Parcel,
    ParcelLine,
    RateLimited,
    Rejected,
    ShopConnection,
    StockPush,
    Unreached,
)
from orderly.channels.registry import connector_class
from orderly.channels.shopee import CONNECTOR, ShopeeConnector, client, webhooks
from orderly.orders.schemas import NormalizedOrder
from orderly.sandbox.serve import serving
from orderly.sandbox.shopee import ShopeeStore, create_app

NOW = datetime.now(UTC)
WIDE = (NOW - timedelta(days=1), NOW + timedelta(days=1))
ORDER = TypeAdapter(NormalizedOrder)


@pytest.fixture
def store() -> ShopeeStore:
    return ShopeeStore(seed=5)


@pytest.fixture
def url(store: ShopeeStore) -> Iterator[str]:
    with serving(create_app(store)) as base_url:
        yield base_url


def credentials(store: ShopeeStore) -> dict[str, str]:
    return {
        "partner_id": str(store.partner_id),
        "partner_key": store.partner_key,
        "access_token": store.access_token,
        "refresh_token": store.refresh_token,
        "expire_at": str(store.access_expires_at),
    }


def connect(
    url: str,
    store: ShopeeStore,
    *,
    timeout: float = 5.0,
    creds: Mapping[str, str] | None = None,
    **settings: Any,
) -> ShopeeConnector:
    connection = ShopConnection(
        shop_id=1,
        shop_code="shopee-my",
        base_url=url,
        credentials=credentials(store) if creds is None else creds,
        settings={"shop_id": store.shop_id, **settings},
    )
    return CONNECTOR(connection, httpx.Client(base_url=url, timeout=timeout))


@pytest.fixture
def shopee(url: str, store: ShopeeStore) -> Iterator[ShopeeConnector]:
    connector = connect(url, store)
    yield connector
    connector.client.close()


def all_orders(connector: ShopeeConnector, after: datetime, before: datetime) -> list[str]:
    found, cursor = [], None
    while True:
        page = connector.fetch_orders(after, before, cursor)
        found += [raw.external_id for raw in page.orders]
        if page.next_cursor is None:
            return found
        cursor = page.next_cursor


def test_the_plugin_declares_shopee() -> None:
    assert connector_class("shopee") is ShopeeConnector
    assert (CONNECTOR.webhooks, CONNECTOR.webhook_polls, CONNECTOR.PLATFORM_LOGISTICS) == (True, True, True)
    assert CONNECTOR.max_push_batch == 50 and CONNECTOR.webhook_credential == "partner_key"


def test_orders_come_page_by_page_with_details_in_batches_of_50(url: str, store: ShopeeStore) -> None:
    store.add_model("SKU-1", stock=1000)
    placed = [store.place_order([("SKU-1", 1)]) for _ in range(120)]
    connector = connect(url, store, page_size=100)
    store.calls.clear()
    assert sorted(all_orders(connector, *WIDE)) == sorted(placed)
    assert store.calls.count("/api/v2/order/get_order_list") == 2
    assert store.calls.count("/api/v2/order/get_order_detail") == 3  # 50 + 50 on the first page, 20
    raw = connector.fetch_order(placed[0])
    assert raw is not None and raw.version == str(store.order(placed[0])["update_time"])
    ORDER.validate_python(connector.map_order(raw))
    assert connector.fetch_order("NOPE0000") is None


def test_a_range_longer_than_15_days_is_read_window_by_window(
    url: str, store: ShopeeStore, shopee: ShopeeConnector
) -> None:
    clock = [time.time() - 40 * 86400]
    store.clock = lambda: clock[0]
    store.add_model("SKU-1", stock=100)
    old = store.place_order([("SKU-1", 1)])
    clock[0] = time.time() - 20 * 86400
    middle = store.place_order([("SKU-1", 1)])
    store.clock = time.time
    recent = store.place_order([("SKU-1", 1)])
    store.calls.clear()
    now = datetime.now(UTC)  # not the module's NOW: a slow run places "recent" minutes after it
    found = all_orders(shopee, now - timedelta(days=45), now + timedelta(minutes=1))
    assert found == [old, middle, recent]
    assert store.calls.count("/api/v2/order/get_order_list") == 4  # 45 days: 15 + 15 + 15 + the second left


def test_only_orders_updated_in_the_window_are_kept(store: ShopeeStore, shopee: ShopeeConnector) -> None:
    store.add_model("SKU-1", stock=100)
    sn = store.place_order([("SKU-1", 1)])
    stamp = datetime.fromtimestamp(store.order(sn)["update_time"], UTC)
    assert all_orders(shopee, stamp, stamp + timedelta(seconds=1)) == [sn]
    assert all_orders(shopee, stamp + timedelta(seconds=0.5), stamp + timedelta(seconds=5)) == []
    assert all_orders(shopee, stamp - timedelta(seconds=5), stamp) == []


def test_a_malformed_detail_answer_is_a_channel_error_not_a_crash(
    store: ShopeeStore, shopee: ShopeeConnector
) -> None:
    store.add_model("SKU-1", stock=100)
    store.place_order([("SKU-1", 1)])
    store.faults.malformed_details = 1
    with pytest.raises(ChannelError, match="malformed JSON") as caught:
        shopee.fetch_orders(*WIDE, None)
    assert caught.value.retryable and caught.value.body is not None and caught.value.body.startswith("{\n{")
    assert len(shopee.fetch_orders(*WIDE, None).orders) == 1  # the next answer is read


def test_stock_pushes_batch_an_items_models_and_read_failure_list(
    store: ShopeeStore, shopee: ShopeeConnector
) -> None:
    item, first = store.add_model("SKU-1", stock=5)
    second = store.add_model("SKU-2", stock=5, item_id=item)[1]
    other, plain = store.add_model("SKU-3", stock=5, variations=False)
    store.refuse_stock(item, second, "Stock is locked by a promotion.")
    store.calls.clear()
    results = shopee.push_stock(
        [
            StockPush(f"{item}:{first}", "SKU-1", 7, {}),
            StockPush(f"{item}:{second}", "SKU-2", 8, {}),
            StockPush(f"{other}:{plain}", "SKU-3", 0, {}),
            StockPush(f"{item}:424242", "SKU-4", 1, {}),
            StockPush("not-a-listing", None, 1, {}),
        ]
    )
    assert [r.ok for r in results] == [True, False, True, False, False]
    assert results[1].error is not None and "Stock is locked by a promotion." in results[1].error
    assert results[3].error is not None and "model_id not found" in results[3].error
    assert store.calls.count("/api/v2/product/update_stock") == 2  # one per item
    assert (store.stock(item, first), store.stock(item, second), store.stock(other, plain)) == (7, 5, 0)
    missing = shopee.push_stock([StockPush("999:0", None, 1, {})])[0]
    assert not missing.ok and missing.error is not None and "product." in missing.error


def test_shipping_with_shopees_logistics_gives_tracking_and_label(url: str, store: ShopeeStore) -> None:
    store.add_model("SKU-1", stock=9)
    for kind in ("pickup", "dropoff"):
        sn = store.place_order([("SKU-1", 1)], channel_kind=kind)
        connector = connect(url, store)
        label = connector.ship_with_platform(parcel(sn))
        assert label.tracking_number == store.order(sn)["tracking_number"] != ""
        assert label.carrier == "SPX Express" and label.platform_ids == (
            store.order(sn)["package_list"][0]["package_number"],
        )
        assert label.label_pdf is not None and label.label_pdf.startswith(b"%PDF")
        assert connector.acted
        [request] = store.shipped(sn)
        assert kind in request and store.order(sn)["order_status"] == "PROCESSED"
    assert request == {"order_sn": sn, "dropoff": {}}


def test_an_arranged_order_is_read_not_shipped_again(
    url: str, store: ShopeeStore, shopee: ShopeeConnector
) -> None:
    store.add_model("SKU-1", stock=9)
    sn = store.place_order([("SKU-1", 1)], channel_kind="pickup")
    first = shopee.ship_with_platform(parcel(sn))
    again = connect(url, store).ship_with_platform(parcel(sn, maybe_sent=True))
    assert again.tracking_number == first.tracking_number and len(store.shipped(sn)) == 1
    store.set_status(sn, "CANCELLED")
    with pytest.raises(Rejected, match="is CANCELLED"):
        shopee.ship_with_platform(parcel(sn))


def test_non_integrated_takes_the_hubs_tracking_number(store: ShopeeStore, shopee: ShopeeConnector) -> None:
    store.add_model("SKU-1", stock=9)
    sn = store.place_order([("SKU-1", 1)], channel_kind="non_integrated")
    with pytest.raises(Rejected, match="needs a tracking number"):
        shopee.ship_with_platform(parcel(sn))
    label = shopee.ship_with_platform(parcel(sn, tracking="AK224200239740W"))
    assert (label.tracking_number, label.label_pdf) == ("AK224200239740W", None)
    with pytest.raises(Rejected, match="cannot ship by pickup"):
        other = store.place_order([("SKU-1", 1)], channel_kind="non_integrated")
        shopee.ship_with_platform(parcel(other), method="pickup")


def test_write_back_ships_non_integrated_once(store: ShopeeStore, shopee: ShopeeConnector) -> None:
    store.add_model("SKU-1", stock=9)
    sn = store.place_order([("SKU-1", 1)], channel_kind="non_integrated")
    done = shopee.write_back(parcel(sn, tracking="1Z999"))
    assert done.platform_ids == (sn,) and store.order(sn)["tracking_number"] == "1Z999"
    assert (
        shopee.write_back(parcel(sn, tracking="1Z999", maybe_sent=True)).note
        == "found taken by an earlier try"
    )
    assert shopee.write_back(parcel(sn, tracking="1Z999", accepted=(sn,))).platform_ids == (sn,)
    assert len(store.shipped(sn)) == 1
    integrated = store.place_order([("SKU-1", 1)], channel_kind="dropoff")
    with pytest.raises(Rejected, match="cannot ship by non_integrated"):
        shopee.write_back(parcel(integrated, tracking="1Z998"))


def test_the_access_token_is_renewed_before_expiry_and_on_refusal(url: str, store: ShopeeStore) -> None:
    stored: list[dict[str, str]] = []

    def keep(renewed: Mapping[str, str]) -> None:
        stored.append(dict(renewed))

    store.add_model("SKU-1", stock=9)
    soon = credentials(store) | {"expire_at": str(int(time.time()) + 60)}
    connector = connect(url, store, creds=soon)
    connector.keep_credentials = keep
    assert connector.fetch_orders(*WIDE, None).orders == []
    assert len(stored) == 1 and stored[0]["access_token"] == store.access_token
    assert int(stored[0]["expire_at"]) >= int(time.time()) + 4 * 3600 - 5
    store.expire_access_token()  # Shopee refuses it early: renewed once, the call made again
    assert connector.fetch_orders(*WIDE, None).next_cursor is None
    assert len(stored) == 2 and stored[1]["refresh_token"] == store.refresh_token
    # A refresh token spent elsewhere (another worker, or revoked): retryable, the next try reads
    # what is stored.
    store.expire_access_token()
    store.refresh_token = "spent"
    with pytest.raises(ChannelError, match="the refresh token was refused") as refused:
        connector.fetch_orders(*WIDE, None)
    assert refused.value.retryable


def test_returns_come_beside_shipped_orders_and_a_return_changed_alone_brings_its_order() -> None:
    offset = [-200.0]  # the store's clock, from the real one (its calls are checked against it)
    store = ShopeeStore(seed=5, clock=lambda: time.time() + offset[0])
    store.add_model("SKU-1", stock=100)
    offset[0] = -40 * 86400.0
    old = store.place_order([("SKU-1", 2)])  # 40 days ago: its returns are read in 15-day windows
    store.ship_outside(old)
    store.set_status(old, "COMPLETED")
    offset[0] = -200.0
    shipped = store.place_order([("SKU-1", 2)])
    store.ship_outside(shipped)
    waiting = store.place_order([("SKU-1", 1)])
    back = store.return_items(old, [("SKU-1", 1)], status="PROCESSING")
    with serving(create_app(store)) as url:
        connector = connect(url, store)
        store.calls.clear()
        raws = {raw.external_id: raw for raw in connector.fetch_orders(*WIDE, None).orders}
        # The old order's own update_time is outside the window: the return changed in it brings it.
        assert sorted(raws) == sorted([old, shipped, waiting])
        assert [entry["return_sn"] for entry in raws[old].body["returns"]] == [back]
        assert raws[shipped].body["returns"] == [] and "returns" not in raws[waiting].body
        assert connector.map_order(raws[old])["lines"][0]["returned"] == 0  # on its way back
        # One list of the returns changed in the window, then the returns created since the old
        # order was, 15 days a call.
        assert store.calls.count("/api/v2/returns/get_return_list") == 1 + 3
        # The seller takes the parcel in and accepts the return, the order itself untouched.
        offset[0] = -100.0
        store.move_return(back, "ACCEPTED")
        later = datetime.fromtimestamp(time.time() - 150, UTC)
        (raw,) = connector.fetch_orders(later, WIDE[1], None).orders
        assert raw.external_id == old and raw.version > raws[old].version
        (entry,) = store.list_returns({"page_no": "0", "page_size": "10"})["return"]
        assert raw.version == str(entry["update_time"]) and entry["status"] == "ACCEPTED"
        order = ORDER.validate_python(connector.map_order(raw))
        assert (order["lines"][0]["shipped"], order["lines"][0]["returned"]) == (2, 1)
        assert order["tags"] == ["returned"]
        fetched = connector.fetch_order(old)
        assert fetched is not None and fetched.version == raw.version
        connector.client.close()


def test_a_wrong_partner_key_is_auth_failed(url: str, store: ShopeeStore) -> None:
    connector = connect(url, store, creds=credentials(store) | {"partner_key": "wrong"})
    with pytest.raises(AuthFailed, match="error_sign"):
        connector.fetch_orders(*WIDE, None)


def test_failures_become_the_interfaces_exceptions(
    url: str, store: ShopeeStore, shopee: ShopeeConnector
) -> None:
    store.set_rate(0.001, 2)  # one first page (its orders, the returns changed in it), then none
    shopee.fetch_orders(*WIDE, None)
    with pytest.raises(RateLimited) as throttled:
        shopee.fetch_orders(*WIDE, None)
    assert throttled.value.operation == "orders" and throttled.value.retry_after == 2.0
    store.set_rate(1000, 1000)
    store.faults.server_errors = 2  # retried in place
    shopee.fetch_orders(*WIDE, None)
    store.faults.server_errors = 10
    with pytest.raises(ChannelError, match="HTTP 500") as failed:
        shopee.fetch_orders(*WIDE, None)
    assert failed.value.retryable
    store.faults.server_errors = 0
    store.faults.slow, store.faults.slow_seconds = 10, 0.5
    slow = connect(url, store, timeout=0.1)
    with pytest.raises(ChannelError, match="timed out"):
        slow.fetch_orders(*WIDE, None)
    store.faults.slow = 0
    closed = connect("http://127.0.0.1:9", store)
    with pytest.raises(Unreached):
        closed.fetch_orders(*WIDE, None)
    with pytest.raises(Rejected, match=r"order\.order_list_invalid_time"):
        shopee.api.call(
            "orders",
            "GET",
            "order/get_order_list",
            params={"time_range_field": "update_time", "time_from": 1, "time_to": 2_000_000, "page_size": 5},
        )  # type: ignore[union-attr]


def test_pushes_verify_over_the_url_and_parse_to_order_events() -> None:
    body = (
        b'{"msg_id":"m1","data":{"completed_scenario":null,"items":[],"ordersn":"251214B9XAB0ST",'
        b'"status":"CANCELLED","update_time":1765689439},"shop_id":336094210,"code":3,"timestamp":1765689440}'
    )
    url = "https://hub.example/api/v1/webhooks/shopee"
    headers = {"Authorization": webhooks.signature("key", url, body)}
    assert CONNECTOR.verify_delivery("key", headers, body, url=url, settings={})
    assert not CONNECTOR.verify_delivery("key", headers, body, url="http://internal:8000/x", settings={})
    assert CONNECTOR.verify_delivery(
        "key", headers, body, url="http://internal:8000/x", settings={"push_url": url}
    )
    event = CONNECTOR.parse_webhook(headers, body)
    assert (event.event_id, event.topic, event.external_id, event.version) == (
        "m1",
        "order_status_push",
        "251214B9XAB0ST",
        "1765689439",
    )


def parcel(
    order_sn: str, *, tracking: str | None = None, maybe_sent: bool = False, accepted: tuple[str, ...] = ()
) -> Parcel:
    return Parcel(
        reference="SHP-1",
        external_id=order_sn,
        carrier=None,
        service=None,
        tracking_number=tracking,
        tracking_url=None,
        shipped_at=NOW,
        lines=[ParcelLine(None, "SKU-1", 1)],
        accepted=accepted,
        maybe_sent=maybe_sent,
    )


def test_a_sellers_authorization_code_gives_the_first_credentials(url: str, store: ShopeeStore) -> None:
    connector = connect(
        url, store, creds={"partner_id": str(store.partner_id), "partner_key": store.partner_key}
    )
    code = store.authorization_code()
    first = connector.authorize(code)
    assert (first["access_token"], first["refresh_token"]) == (store.access_token, store.refresh_token)
    assert int(first["expire_at"]) >= int(time.time()) + 4 * 3600 - 5
    with pytest.raises(AuthFailed, match="error_auth"):
        connector.authorize(code)  # good once
    with pytest.raises(AuthFailed, match="error_auth"):
        connector.authorize("not-a-code")


def test_the_whole_address_shopee_sent_the_seller_to_may_be_pasted_if_it_names_this_shop(
    url: str, store: ShopeeStore
) -> None:
    connector = connect(
        url, store, creds={"partner_id": str(store.partner_id), "partner_key": store.partner_key}
    )
    code = store.authorization_code()
    elsewhere = f"https://seller.example/shopee?code={code}&shop_id={store.shop_id + 1}"
    with pytest.raises(Rejected, match=f"given for Shopee shop {store.shop_id + 1}"):
        connector.authorize(elsewhere)
    assert client.TOKEN_PATH not in store.calls  # the code was not spent on the wrong shop
    with pytest.raises(Rejected, match="no code"):
        connector.authorize(f"https://seller.example/shopee?code=&shop_id={store.shop_id}")
    callback = f"https://seller.example/shopee?code={code}&shop_id={store.shop_id}"
    assert connector.authorize(callback)["access_token"] == store.access_token
    assert connector.authorize(f"code={store.authorization_code()}")["access_token"] == store.access_token
