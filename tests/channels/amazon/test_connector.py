"""The Amazon connector against the sandbox, over real HTTP."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from pydantic import TypeAdapter

from orderly.channels.amazon import AmazonConnector, mapper
from orderly.channels.amazon.connector import BEFORE_MARGIN
from orderly.channels.connector import (
    AuthFailed,
    ChannelError,
    Parcel,
    ParcelLine,
    RateLimit,
    RateLimited,
    Rejected,
    ShopConnection,
    StockPush,
)
from orderly.channels.registry import connector_class
from orderly.orders.schemas import NormalizedOrder
from orderly.sandbox.amazon import PUBLISHED_RATES, AmazonStore, Faults, Line
from tests.channels.amazon.conftest import Connect
from tests.sandbox.amazon.support import NO_KEEPALIVE

NORMALIZED: TypeAdapter[NormalizedOrder] = TypeAdapter(NormalizedOrder)
HOUR_AGO = datetime.now(UTC) - timedelta(hours=1)


def window() -> tuple[datetime, datetime]:
    return HOUR_AGO, datetime.now(UTC)


def test_registered_with_the_published_limits() -> None:
    assert connector_class("amazon") is AmazonConnector
    assert (AmazonConnector.channel, AmazonConnector.webhooks, AmazonConnector.max_push_batch) == (
        "amazon",
        False,
        1,
    )
    operations = {
        "orders": "getOrders",
        "order": "getOrder",
        "order_items": "getOrderItems",
        "stock": "patchListingsItem",
        "shipments": "confirmShipment",
        "rdt": "createRestrictedDataToken",
    }
    assert {
        ours: PUBLISHED_RATES[theirs] for ours, theirs in operations.items()
    } == AmazonConnector.rate_limits


def test_settings_and_token_url(client: httpx.Client) -> None:
    credentials = {"client_id": "id", "client_secret": "secret", "refresh_token": "Atzr|x"}
    settings = {"marketplace_id": "ATVPDKIKX0DER", "seller_id": "A1SELLER"}

    def make(base_url: str, **extra: str) -> AmazonConnector:
        return AmazonConnector(ShopConnection(1, "amz", base_url, credentials, settings | extra), client)

    assert (
        make("https://sellingpartnerapi-na.amazon.com").api.token_url
        == "https://api.amazon.com/auth/o2/token"
    )
    assert make("http://127.0.0.1:9000/").api.token_url == "http://127.0.0.1:9000/auth/o2/token"
    assert make("http://x", token_url="http://lwa/token").api.token_url == "http://lwa/token"
    # Amazon's two minutes and a margin for our clocks' difference; a sandbox without the rule: none.
    assert make("http://x").lag == timedelta(minutes=2) + BEFORE_MARGIN > timedelta(minutes=2)
    assert make("http://x", before_lag_seconds="0").lag == timedelta(0)
    with pytest.raises(AuthFailed, match="seller_id"):
        AmazonConnector(ShopConnection(1, "amz", "http://x", credentials, {"marketplace_id": "M"}), client)
    with pytest.raises(AuthFailed, match="client_secret"):
        AmazonConnector(
            ShopConnection(1, "amz", "http://x", {**credentials, "client_secret": ""}, settings), client
        )


def test_fetch_orders_walks_every_page_with_items(store: AmazonStore, connect: Connect) -> None:
    store.configure(items_page_size=1)  # two lines each: every order's items come in two pages
    store.add_listing("MUG-1", price="12.50")
    store.add_listing("CAP-1", price="9.99")
    placed = [
        store.place_order([Line("MUG-1", 2), Line("CAP-1", 1, tax="0.80")], paid=n % 3 != 0)
        for n in range(65)
    ]
    amazon = connect()
    pages, cursor, raws = 0, None, []
    while True:
        page = amazon.fetch_orders(*window(), cursor)
        raws += page.orders
        pages += 1
        cursor = page.next_cursor
        if cursor is None:
            break
    assert pages == 3  # pages of 30
    assert sorted(r.external_id for r in raws) == sorted(placed)
    for raw in raws:
        order = raw.body["order"]
        assert raw.version == mapper.version(order)
        assert [i["SellerSKU"] for i in raw.body["items"]] == ["MUG-1", "CAP-1"]
        assert amazon.ready(raw) is (order["OrderStatus"] == "Unshipped")
        if amazon.ready(raw):
            result = NORMALIZED.validate_python(amazon.map_order(raw))
            assert (result["shop"], result["total"]) == ("amazon-us", 2500 + 999 + 80)
    assert store.calls()["getOrderItems"] == 2 * 65


def test_window_ends_two_minutes_before_now(store: AmazonStore, connect: Connect) -> None:
    store.configure(before_lag_seconds=120)  # Amazon's rule, on
    store.add_listing("MUG-1")
    old = store.place_order([Line("MUG-1", 1)], paid=True, at=datetime.now(UTC) - timedelta(minutes=10))
    store.place_order([Line("MUG-1", 1)], paid=True)  # too fresh to be asked for yet
    amazon = connect(before_lag_seconds=120)
    assert amazon.lag == timedelta(minutes=2) + BEFORE_MARGIN
    page = amazon.fetch_orders(*window(), None)
    assert [raw.external_id for raw in page.orders] == [old]
    # A window that lies entirely within the last two minutes needs no call at all.
    calls = store.calls()["getOrders"]
    assert (
        amazon.fetch_orders(datetime.now(UTC) - timedelta(seconds=30), datetime.now(UTC), None).orders == []
    )
    assert store.calls()["getOrders"] == calls


def test_fetch_order(store: AmazonStore, connect: Connect) -> None:
    store.add_listing("MUG-1")
    order_id = store.place_order([Line("MUG-1", 1)])
    amazon = connect()
    raw = amazon.fetch_order(order_id)
    assert raw is not None and raw.external_id == order_id
    assert not amazon.ready(raw)  # Pending: no address yet
    store.pay(order_id)
    paid = amazon.fetch_order(order_id)
    assert paid is not None and paid.version > raw.version and amazon.ready(paid)
    assert amazon.fetch_order("999-0000000-0000000") is None


def test_cancellations(store: AmazonStore, connect: Connect) -> None:
    store.add_listing("MUG-1")
    order_id = store.place_order([Line("MUG-1", 1)], paid=True)
    amazon = connect()
    store.request_cancel(order_id, "ordered by mistake")
    asked = amazon.fetch_order(order_id)
    assert asked is not None and amazon.ready(asked) and not amazon.cancelled(asked)
    result = amazon.map_order(asked)
    assert mapper.CANCEL_REQUESTED in result["tags"] and not result["cancelled"]
    store.cancel(order_id)
    cancelled = amazon.fetch_order(order_id)
    assert cancelled is not None and amazon.cancelled(cancelled)
    # Amazon hides the address of a cancelled order: it maps all the same, cancelled.
    assert amazon.ready(cancelled) and amazon.map_order(cancelled)["cancelled"]


def test_token_is_cached_and_renewed(store: AmazonStore, connect: Connect) -> None:
    def issued() -> tuple[int, int, int]:
        return store.tokens_issued, store.rdts_issued, store.denied

    amazon = connect()
    amazon.fetch_orders(*window(), None)
    amazon.fetch_orders(*window(), None)
    connect().fetch_orders(*window(), None)  # another connector for the same seller shares the tokens
    assert issued() == (1, 1, 0)

    # Revoked early (or expired by Amazon's clock): the RDT's 403 gets a new RDT, whose request's 403
    # gets a new access token; the call goes through.
    store.expire_tokens()
    amazon.fetch_orders(*window(), None)
    assert issued() == (2, 2, 2)

    # Short-lived tokens are renewed before they run out, without a 403.
    store.configure(token_lifetime=1)
    store.expire_tokens()
    amazon.fetch_orders(*window(), None)
    assert issued() == (3, 3, 4)
    time.sleep(1.0)
    amazon.fetch_orders(*window(), None)
    assert issued() == (4, 4, 4)


def test_orders_are_read_with_a_restricted_data_token_and_carry_the_buyer(
    store: AmazonStore, connect: Connect
) -> None:
    store.add_listing("MUG-1")
    order_id = store.place_order([Line("MUG-1", 1)], paid=True, buyer_name="Mei Chen")
    amazon = connect()
    page = amazon.fetch_orders(*window(), None)
    single = amazon.fetch_order(order_id)
    assert single is not None
    for raw in (*page.orders, single):
        assert amazon.ready(raw)
        mapped = amazon.map_order(raw)
        assert mapped["buyer"]["name"] == "Mei Chen" and mapped["buyer"]["email"]
        address = mapped["shipping_address"]
        assert address["name"] == "Mei Chen" and address["line1"] and address["phone"]
    assert store.rdts_issued == 1  # one RDT for every batch and every single order, until it expires
    assert store.calls()["createRestrictedDataToken"] == 1


def test_refused_credentials_are_auth_failed(store: AmazonStore, connect: Connect) -> None:
    with pytest.raises(AuthFailed, match="invalid_grant") as refused:
        connect(refresh_token="Atzr|revoked").fetch_orders(*window(), None)
    assert not refused.value.retryable
    with pytest.raises(AuthFailed, match="invalid_client"):
        connect(client_secret="wrong").fetch_orders(*window(), None)
    assert store.tokens_issued == 0


def test_forbidden_after_a_new_token_is_auth_failed(store: AmazonStore, connect: Connect) -> None:
    store.add_listing("MUG-1")
    amazon = connect(seller_id="A2NOTTHISSELLER")
    amazon.fetch_orders(*window(), None)  # a token in the cache
    with pytest.raises(AuthFailed, match="Unauthorized") as denied:
        amazon.push_stock([StockPush("MUG-1", "MUG-1", 5, {})])
    assert (denied.value.status, denied.value.retryable) == (403, False)
    assert store.tokens_issued == 2  # the 403 got a new token and one more try
    assert store.quantities() == {}


def test_push_stock(store: AmazonStore, connect: Connect) -> None:
    store.add_listing("MUG-1")
    store.add_listing("CAP/2")  # a SKU that needs escaping in the path
    amazon = connect()
    assert amazon.push_stock([StockPush("MUG-1", "MUG-1", 12, {})]) == [
        amazon.push_stock([StockPush("MUG-1", None, 12, {})])[0]
    ]
    [cap] = amazon.push_stock([StockPush("CAP/2", "CAP/2", -3, {})])
    assert cap.ok and cap.listing_id == "CAP/2"
    assert store.quantities() == {"MUG-1": 12, "CAP/2": 0}
    [unknown] = amazon.push_stock([StockPush("NOPE", "NOPE", 1, {})])
    assert not unknown.ok and unknown.error is not None and unknown.error.startswith("INVALID")
    assert store.calls()["patchListingsItem"] == 4


def _parcel(order_id: str, ref: str, *lines: tuple[str, int], **fields: object) -> Parcel:
    values: dict[str, object] = {
        "carrier": "UPS",
        "service": None,
        "tracking_number": "1Z999AA10123456784",
        "tracking_url": None,
        "shipped_at": datetime(2026, 11, 20, 9, 30, tzinfo=UTC),
    }
    values.update(fields)
    return Parcel(ref, order_id, lines=[ParcelLine(None, sku, n) for sku, n in lines], **values)  # type: ignore[arg-type]


def test_write_back_confirms_each_parcel_as_its_own_package(store: AmazonStore, connect: Connect) -> None:
    store.add_listing("MUG-1", asin="B000MUG001")
    store.add_listing("CAP-1")
    order_id = store.place_order([Line("MUG-1", 2), Line("CAP-1", 1)], paid=True)
    amazon = connect()

    first = amazon.write_back(_parcel(order_id, "41", ("MUG-1", 1)))
    assert first.platform_ids == ("41",)
    assert store.order(order_id)["order"]["OrderStatus"] == "PartiallyShipped"
    amazon.write_back(
        _parcel(
            order_id, "42", ("MUG-1", 1), ("CAP-1", 1), carrier="Yanwen", tracking_number="YW1", service="Air"
        )
    )
    assert store.order(order_id)["order"]["OrderStatus"] == "Shipped"
    items = {i["SellerSKU"]: i["OrderItemId"] for i in store.order(order_id)["items"]}
    one, two = (s["body"]["packageDetail"] for s in store.shipments())
    assert one == {
        "packageReferenceId": "41",
        "carrierCode": "UPS",
        "carrierName": "UPS",
        "shippingMethod": "UPS",
        "trackingNumber": "1Z999AA10123456784",
        "shipDate": "2026-11-20T09:30:00.000Z",
        "orderItems": [{"orderItemId": items["MUG-1"], "quantity": 1}],
    }
    assert (two["carrierCode"], two["carrierName"], two["shippingMethod"]) == ("Yanwen", "Yanwen", "Air")
    assert two["orderItems"] == [
        {"orderItemId": items["MUG-1"], "quantity": 1},
        {"orderItemId": items["CAP-1"], "quantity": 1},
    ]


def test_a_parcel_sent_again_is_the_same_package_and_ships_nothing_twice(
    store: AmazonStore, connect: Connect
) -> None:
    store.add_listing("MUG-1")
    order_id = store.place_order([Line("MUG-1", 3)], paid=True)
    amazon = connect()
    amazon.write_back(_parcel(order_id, "7", ("MUG-1", 2)))
    # After a lost answer: Amazon shows the units shipped, so nothing is sent.
    again = amazon.write_back(_parcel(order_id, "7", ("MUG-1", 2), maybe_sent=True))
    assert again.platform_ids == ("7",) and "taken as confirmed" in again.note
    assert len(store.shipments()) == 1
    # A new tracking number of an accepted parcel replaces the package's details; nothing more ships.
    amazon.write_back(_parcel(order_id, "7", ("MUG-1", 2), tracking_number="NEW1", accepted=("7",)))
    assert store.order(order_id)["items"][0]["QuantityShipped"] == 2
    assert store.shipments()[-1]["body"]["packageDetail"]["trackingNumber"] == "NEW1"


def test_write_back_refused(store: AmazonStore, connect: Connect) -> None:
    store.add_listing("MUG-1")
    pending = store.place_order([Line("MUG-1", 1)])
    amazon = connect()
    with pytest.raises(Rejected, match="Invalid Input") as refused:
        amazon.write_back(_parcel(pending, "1", ("MUG-1", 1)))
    assert (refused.value.status, refused.value.retryable) == (400, False)
    with pytest.raises(Rejected, match="NOPE x1 to ship"):
        amazon.write_back(_parcel(pending, "1", ("NOPE", 1)))
    with pytest.raises(Rejected, match="carrier and tracking number"):
        amazon.write_back(_parcel(pending, "1", ("MUG-1", 1), tracking_number=None))
    with pytest.raises(Rejected) as unknown:
        amazon.write_back(_parcel("999-0000000-0000000", "1", ("MUG-1", 1)))
    assert unknown.value.status == 404


def test_throttling_longer_than_a_retry_waits_is_rate_limited(store: AmazonStore, connect: Connect) -> None:
    store.configure(rates={"getOrders": RateLimit(0.1, 1)})
    amazon = connect()
    amazon.fetch_orders(*window(), None)
    with pytest.raises(RateLimited) as throttled:
        amazon.fetch_orders(*window(), None)
    # No Retry-After from Amazon: one token's worth of the rate in x-amzn-RateLimit-Limit.
    assert (throttled.value.retry_after, throttled.value.operation) == (10.0, "orders")
    assert (throttled.value.status, throttled.value.retryable) == (429, True)
    assert "QuotaExceeded" in str(throttled.value)


def test_throttled_items_are_waited_out(store: AmazonStore, connect: Connect) -> None:
    store.configure(rates={"getOrderItems": RateLimit(50.0, 1)})
    store.add_listing("MUG-1")
    for _ in range(4):
        store.place_order([Line("MUG-1", 1)], paid=True)
    page = connect().fetch_orders(*window(), None)
    assert len(page.orders) == 4 and all(raw.body["items"] for raw in page.orders)
    assert store.calls()["getOrderItems"] > 4  # some were throttled, then waited out


def test_server_faults_are_retryable_channel_errors(
    store: AmazonStore, connect: Connect, base_url: str
) -> None:
    store.add_listing("MUG-1")
    store.place_order([Line("MUG-1", 1)], paid=True)
    amazon = connect()
    amazon.fetch_orders(*window(), None)

    store.set_faults(Faults(error=1.0))
    with pytest.raises(ChannelError, match="InternalFailure") as failed:
        amazon.fetch_orders(*window(), None)
    assert type(failed.value) is ChannelError and failed.value.retryable and failed.value.status == 500

    store.set_faults(Faults(malformed_once=True))  # a truncated page is read again in place
    assert len(amazon.fetch_orders(*window(), None).orders) == 1

    store.set_faults(Faults(delay=1.0, delay_seconds=0.5))
    with httpx.Client(timeout=0.1, limits=NO_KEEPALIVE) as impatient:
        slow = connect(http=impatient)
        with pytest.raises(ChannelError, match="timed out") as timed_out:
            slow.push_stock([StockPush("MUG-1", "MUG-1", 1, {})])
    assert type(timed_out.value) is ChannelError and timed_out.value.retryable


def test_each_call_is_retried_on_its_own_so_a_failing_item_call_loses_no_page(
    store: AmazonStore, connect: Connect
) -> None:
    store.add_listing("MUG-1")
    placed = {store.place_order([Line("MUG-1", 1)], paid=True) for _ in range(24)}
    store.set_faults(Faults(throttle=0.1, error=0.1, seed=11))  # 10 % 429s, 10 % 500s
    amazon = connect()
    page = amazon.fetch_orders(*window(), None)
    # Seed 11 fails 8 of the first 26 requests: each was sent again on its own.
    assert {raw.external_id for raw in page.orders} == placed and all(r.body["items"] for r in page.orders)


def test_a_window_amazon_finds_too_recent_waits_for_a_retry_instead_of_dying(
    store: AmazonStore, connect: Connect
) -> None:
    store.add_listing("MUG-1")
    order_id = store.place_order([Line("MUG-1", 1)], paid=True, at=datetime.now(UTC) - timedelta(minutes=10))
    # Amazon's clock 20 s behind ours: a window ending exactly two minutes before our now is refused.
    store.clock = lambda: datetime.now(UTC) - timedelta(seconds=20)
    store.configure(before_lag_seconds=120)
    amazon = connect(before_lag_seconds=120)
    assert [raw.external_id for raw in amazon.fetch_orders(*window(), None).orders] == [order_id]

    store.clock = lambda: datetime.now(UTC) - timedelta(minutes=5)  # beyond any margin
    with pytest.raises(ChannelError, match="too recent") as refused:
        amazon.fetch_orders(*window(), None)
    assert refused.value.retryable and not isinstance(refused.value, Rejected)


def test_a_poll_reads_items_only_of_orders_that_changed_since_it_last_read_them(
    store: AmazonStore, connect: Connect
) -> None:
    store.add_listing("MUG-1", price="12.50")
    kept, changed = (store.place_order([Line("MUG-1", 2)], paid=True) for _ in range(2))
    amazon = connect()
    first = {raw.external_id: raw for raw in amazon.fetch_orders(*window(), None).orders}
    assert store.calls()["getOrderItems"] == 2
    first[kept].body["items"][0]["SellerSKU"] = "EDITED"  # a caller's copy, not what is kept
    store.ship(changed)
    # The overlap of the next poll: the unchanged order costs no items call, the shipped one does.
    again = {raw.external_id: raw for raw in connect().fetch_orders(*window(), None).orders}
    assert store.calls()["getOrderItems"] == 3
    assert again[kept].body["order"] == first[kept].body["order"]
    assert [i["SellerSKU"] for i in again[kept].body["items"]] == ["MUG-1"]
    assert again[changed].version > first[changed].version
    assert again[changed].body["items"][0]["QuantityShipped"] == 2
