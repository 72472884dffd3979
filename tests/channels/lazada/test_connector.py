"""The Lazada connector against the sandbox, over real HTTP."""

from __future__ import annotations

import time
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

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
)
from orderly.channels.lazada import LazadaConnector
from orderly.channels.lazada.client import HOSTS
from orderly.channels.registry import connector_class
from orderly.orders.schemas import NormalizedOrder
from orderly.sandbox.lazada import Faults, LazadaStore
from tests.channels.lazada.conftest import Connect

NORMALIZED: TypeAdapter[NormalizedOrder] = TypeAdapter(NormalizedOrder)


def window() -> tuple[datetime, datetime]:
    return datetime.now(UTC) - timedelta(hours=3), datetime.now(UTC) + timedelta(seconds=1)


def test_registered_with_its_settings_and_hosts(http: httpx.Client) -> None:
    assert connector_class("lazada") is LazadaConnector
    assert (LazadaConnector.webhooks, LazadaConnector.webhook_polls, LazadaConnector.PLATFORM_LOGISTICS) == (
        True,
        True,
        True,
    )
    assert LazadaConnector.max_push_batch == 20
    given = {"app_key": "1", "app_secret": "s", "access_token": "t"}
    sg = LazadaConnector(ShopConnection(1, "l", HOSTS["SG"], given, {"country": "SG"}), http)
    assert sg.lazop.auth_url == "https://auth.lazada.com/rest"
    with pytest.raises(AuthFailed, match=r"api\.lazada\.co\.th"):
        LazadaConnector(ShopConnection(1, "l", HOSTS["SG"], given, {"country": "TH"}), http)
    with pytest.raises(AuthFailed, match="app_secret"):
        LazadaConnector(ShopConnection(1, "l", HOSTS["SG"], {"app_key": "1", "access_token": "t"}, {}), http)
    reader = LazadaConnector(ShopConnection(1, "l", HOSTS["SG"], {}, {}), http)  # reads pushes, calls nothing
    with pytest.raises(AuthFailed):
        reader.fetch_order("1")
    assert LazadaConnector.listing_problems(None, {"sku_id": "66x"}) == [
        ("platform_ids", "sku_id '66x' is not a Lazada id (digits)")
    ]


def test_fetch_orders_pages_by_offset_with_items_fifty_orders_a_call(
    store: LazadaStore, connect: Connect
) -> None:
    store.add_product("MUG-1", quantity=1000, price="12.50")
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=2)
    placed = [store.place_order([("MUG-1", 2)], at=start + timedelta(seconds=n)) for n in range(120)]
    lazada = connect(page_size=100)
    first = lazada.fetch_orders(start, datetime.now(UTC) - timedelta(minutes=5), None)
    assert [raw.external_id for raw in first.orders] == placed[:100]  # oldest change first
    assert first.next_cursor == "95"  # the next page overlaps this one
    rest = lazada.fetch_orders(start, datetime.now(UTC) - timedelta(minutes=5), first.next_cursor)
    assert [raw.external_id for raw in rest.orders] == placed[95:] and rest.next_cursor is None
    assert store.calls()["/orders/items/get"] == 3  # 100 = 50 + 50, then 25
    order = NORMALIZED.validate_python(lazada.map_order(first.orders[0]))
    assert (order["total"], order["lines"][0]["quantity"], order["currency"]) == (2500 + 199, 2, "SGD")
    # A window is [after, before): an order updated before it is not listed.
    page = lazada.fetch_orders(start + timedelta(seconds=100), datetime.now(UTC), None)
    assert [raw.external_id for raw in page.orders] == placed[100:]


def test_orders_updated_while_pages_are_read_skip_none(store: LazadaStore, connect: Connect) -> None:
    store.add_product("MUG-1", quantity=1000)
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=2)
    placed = [store.place_order([("MUG-1", 1)], at=start + timedelta(seconds=n)) for n in range(60)]
    lazada = connect(page_size=20)
    window = (start, datetime.now(UTC) - timedelta(minutes=5))
    seen, cursor = set(), None
    while True:
        page = lazada.fetch_orders(*window, cursor)
        seen |= {raw.external_id for raw in page.orders}
        if cursor is None:
            for order_id in placed[:3]:  # updated now: out of the window, the rest move up three
                store.cancel(order_id)
        cursor = page.next_cursor
        if cursor is None:
            break
    assert seen == set(placed)


def test_fetch_order_and_unknown_orders(store: LazadaStore, connect: Connect) -> None:
    store.add_product("MUG-1", quantity=5)
    order_id = store.place_order([("MUG-1", 1)], paid=False, remarks="leave at the door")
    lazada = connect()
    raw = lazada.fetch_order(order_id)
    assert raw is not None and lazada.ready(raw)
    order = lazada.map_order(raw)
    assert (order["payment_status"], order["buyer_remark"]) == ("pending", "leave at the door")
    assert lazada.fetch_order("999") is None
    assert lazada.fetch_order("not-an-id") is None


def test_a_token_near_its_expiry_is_refreshed_first_and_the_new_one_kept(
    store: LazadaStore, connect: Connect
) -> None:
    kept: list[Mapping[str, str]] = []
    lazada = connect(access_expires_at=str(int(time.time()) + 60))
    lazada.keep_credentials = kept.append
    lazada.fetch_orders(*window(), None)
    assert store.calls()["/auth/token/refresh"] == 1
    [new] = kept
    assert new["access_token"] != store.access_token and int(new["access_expires_at"]) > time.time() + 3600
    assert new["refresh_token"] != store.refresh_token
    lazada.fetch_orders(*window(), None)
    assert store.calls()["/auth/token/refresh"] == 1  # good for a week now


def test_an_expired_token_gets_one_refresh_and_one_more_try(store: LazadaStore, connect: Connect) -> None:
    kept: list[Mapping[str, str]] = []
    lazada = connect()
    lazada.keep_credentials = kept.append
    store.expire_tokens()
    assert lazada.fetch_orders(*window(), None).orders == []
    assert store.calls()["/auth/token/refresh"] == 1 and len(kept) == 1
    store.expire_tokens()
    store._refresh.clear()  # the seller withdrew the authorization
    with pytest.raises(AuthFailed, match="connect the shop again"):
        lazada.fetch_orders(*window(), None)


def test_a_pasted_code_is_exchanged_once_for_tokens(store: LazadaStore, connect: Connect) -> None:
    kept: list[Mapping[str, str]] = []
    lazada = connect(access_token=None, refresh_token=None, code=store.authorization_code())
    lazada.keep_credentials = kept.append
    lazada.fetch_orders(*window(), None)
    lazada.fetch_orders(*window(), None)
    assert store.calls()["/auth/token/create"] == 1
    assert kept[0]["code"] == "" and kept[0]["access_token"] and kept[0]["refresh_token"]
    spent = connect(access_token=None, refresh_token=None, code="0_100132_spent")
    with pytest.raises(AuthFailed, match="Invalid authorization code"):
        spent.fetch_orders(*window(), None)


def test_refused_credentials_and_bad_requests(store: LazadaStore, connect: Connect) -> None:
    with pytest.raises(AuthFailed, match="IncompleteSignature"):
        connect(app_secret="wrong").fetch_orders(*window(), None)
    with pytest.raises(Rejected, match="InvalidParameter"):
        connect().lazop.call("orders", "GET", "/orders/get", {"update_after": "yesterday"})


def test_stock_goes_twenty_skus_a_call_and_failures_inside_a_success_are_failures(
    store: LazadaStore, connect: Connect
) -> None:
    for sku in ("A", "B", "C"):
        store.add_product(sku, quantity=1)
    store.fail_sku("B")
    pushes = [
        StockPush("661", "A", 7, {}),
        StockPush("662", "B", 8, {}),
        StockPush("663", "C", -2, {}, platform_ids={"item_id": "2342343"}),
        StockPush("664", None, 1, {}),
    ]
    results = connect().push_stock(pushes)
    assert [(r.listing_id, r.ok) for r in results] == [
        ("661", True),
        ("662", False),
        ("663", True),
        ("664", False),
    ]
    assert results[1].error == "SellerSku: SELLER_SKU_INVALID"
    assert "seller SKU" in (results[3].error or "")
    assert (store.quantity("A"), store.quantity("B"), store.quantity("C")) == (7, 1, 0)
    assert store.calls()["/product/price_quantity/update"] == 1


def test_throttles_and_server_errors_are_retried_in_place_then_raised(
    store: LazadaStore, connect: Connect
) -> None:
    store.set_faults(Faults(error=0.5, seed=1))
    lazada = connect()
    for _ in range(5):
        lazada.fetch_orders(*window(), None)  # each 500 tried again: four tries each
    store.set_faults(Faults(throttle=1.0))
    with pytest.raises(RateLimited) as throttled:
        lazada.fetch_orders(*window(), None)
    assert (throttled.value.operation, throttled.value.retry_after) == ("orders", 1.0)
    store.set_faults(Faults(error=1.0))
    with pytest.raises(ChannelError, match="HTTP 500") as failed:
        lazada.fetch_orders(*window(), None)
    assert failed.value.retryable


def test_a_slow_answer_times_out_as_a_retryable_failure(store: LazadaStore, base_url: str) -> None:
    store.set_faults(Faults(slow=0.5))
    with httpx.Client(timeout=0.1) as impatient:
        given = {"app_key": store.app_key, "app_secret": store.app_secret, "access_token": store.access_token}
        lazada = LazadaConnector(ShopConnection(9, "lazada-sg", base_url, given, {}), impatient)
        with pytest.raises(ChannelError, match="timed out") as timed_out:
            lazada.fetch_order("1")
    assert timed_out.value.retryable


def _parcel(order_id: str, quantity: int = 2, *, maybe_sent: bool = False) -> Parcel:
    return Parcel(
        reference="P1",
        external_id=order_id,
        carrier=None,
        service=None,
        tracking_number=None,
        tracking_url=None,
        shipped_at=datetime.now(UTC),
        lines=[ParcelLine("666", "MUG-1", quantity)],
        maybe_sent=maybe_sent,
    )


def test_shipping_with_lazada_packs_sets_ready_to_ship_and_gets_the_label(
    store: LazadaStore, connect: Connect
) -> None:
    store.add_product("MUG-1", quantity=5)
    order_id = store.place_order([("MUG-1", 2)])
    lazada = connect()
    label = lazada.ship_with_platform(_parcel(order_id))
    items = store.order_view(order_id)["items"]
    assert {i["status"] for i in items} == {"ready_to_ship"}
    assert label.tracking_number == items[0]["tracking_code"] and label.carrier == "LEX SG"
    assert label.platform_ids == (items[0]["package_id"],)
    assert label.label_pdf is not None and label.label_pdf.startswith(b"%PDF")
    # Called again after a lost answer: Lazada's package is taken, nothing packed twice.
    again = lazada.ship_with_platform(_parcel(order_id, maybe_sent=True))
    assert again.platform_ids == label.platform_ids and again.tracking_number == label.tracking_number
    assert store.calls()["/order/fulfill/pack"] == 1


def test_shipping_refuses_what_lazada_cannot_pack(store: LazadaStore, connect: Connect) -> None:
    store.add_product("MUG-1", quantity=5)
    unpaid = store.place_order([("MUG-1", 1)], paid=False)
    with pytest.raises(Rejected, match="not packable"):
        connect().ship_with_platform(_parcel(unpaid, 1))
    cancelled = store.place_order([("MUG-1", 1)])
    store.cancel(cancelled)
    with pytest.raises(Rejected, match="has fewer"):
        connect().ship_with_platform(_parcel(cancelled, 1))
    assert store.calls().get("/order/fulfill/pack", 0) == 0
