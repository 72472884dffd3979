"""The eBay connector against the sandbox over HTTP: orders page by page within the window asked, with
what left; tokens refreshed, shared and kept; stock in bulk updates read SKU by SKU; tracking written
once per parcel; eBay's throttling, errors and slow answers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from orderly.channels.connector import (
    AuthFailed,
    ChannelError,
    Parcel,
    ParcelLine,
    RateLimited,
    Rejected,
    StockPush,
)
from orderly.channels.ebay import mapper
from orderly.sandbox.ebay import EbayStore, Faults, Line
from tests.channels.ebay.conftest import Connect

WIDE = (datetime(2020, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC))


def every_order(connector: Any, after: datetime = WIDE[0], before: datetime = WIDE[1]) -> list[Any]:
    found, cursor = [], None
    while True:
        page = connector.fetch_orders(after, before, cursor)
        found += page.orders
        if page.next_cursor is None:
            return found
        cursor = page.next_cursor


def test_orders_are_read_page_by_page_and_only_within_the_window(store: EbayStore, connect: Connect) -> None:
    store.add_listing("MUG-1", quantity=50)
    placed = [store.place_order([Line("MUG-1", 1)])["orderId"] for _ in range(5)]
    connector = connect(page_size=2)
    found = every_order(connector)
    assert sorted(raw.external_id for raw in found) == sorted(placed)
    assert store.calls["orders"] == 3  # 2 + 2 + 1, the next page at eBay's next offset
    first = found[-1].body["lastModifiedDate"]
    moment = mapper.instant(first, "lastModifiedDate")
    store.advance(5)
    store.pay(placed[0])  # modified later: outside a window ending before now
    inside = every_order(connector, moment, moment + timedelta(seconds=2))
    assert placed[0] not in {raw.external_id for raw in inside}
    assert all(
        moment <= mapper.instant(r.body["lastModifiedDate"], "") < moment + timedelta(seconds=2)
        for r in inside
    )
    assert found[0].version == mapper.version(found[0].body)


def test_an_order_modified_while_pages_are_read_moves_none_past_the_reader(
    store: EbayStore, connect: Connect
) -> None:
    store.add_listing("MUG-1", quantity=50)
    placed = [store.place_order([Line("MUG-1", 1)])["orderId"] for _ in range(5)]
    connector = connect(page_size=2)
    before = datetime.now(UTC) + timedelta(milliseconds=1)
    first = connector.fetch_orders(WIDE[0], before, None)
    assert [raw.external_id for raw in first.orders] == [placed[4], placed[3]]  # newest first
    store.advance(1)
    store.pay(placed[4])  # modified after the window's end: it leaves it, the others move up one place
    found, cursor = list(first.orders), first.next_cursor
    while cursor is not None:
        page = connector.fetch_orders(WIDE[0], before, cursor)
        found += page.orders
        cursor = page.next_cursor
    assert {raw.external_id for raw in found} == set(placed)  # placed[2] moved into page one's places


def test_an_order_that_left_comes_with_its_fulfillments(store: EbayStore, connect: Connect) -> None:
    store.add_listing("MUG-1", quantity=50)
    order = store.place_order([Line("MUG-1", 2)])["orderId"]
    store.ship_outside(order, tracking="1Z999", carrier="UPS")
    raw = connect().fetch_order(order)
    assert raw is not None and raw.body[mapper.FULFILLMENTS][0]["shipmentTrackingNumber"] == "1Z999"
    mapped = connect().map_order(raw)
    assert mapped["lines"][0]["shipped"] == 2 and mapped["shipments"][0]["carrier"] == "UPS"
    assert connect().fetch_order("99-99999-99999") is None
    assert connect().fetch_order("not an id") is None


def test_getorder_shows_the_buyers_cancel_request(store: EbayStore, connect: Connect) -> None:
    store.add_listing("MUG-1", quantity=50)
    order = store.place_order([Line("MUG-1", 1)])["orderId"]
    store.request_cancel(order)
    (listed,) = every_order(connect())
    assert listed.body["cancelStatus"]["cancelRequests"] == []  # as getOrders always shows it
    detail = connect().fetch_order(order)
    assert (
        detail is not None and detail.body["cancelStatus"]["cancelRequests"][0]["cancelInitiator"] == "BUYER"
    )
    assert connect().map_order(detail)["cancel_requested"] is True


def test_an_expired_token_is_refreshed_once_shared_and_kept(store: EbayStore, connect: Connect) -> None:
    store.add_listing("MUG-1", quantity=5)
    store.place_order([Line("MUG-1", 1)])
    store.expire_tokens()
    kept: list[dict[str, str]] = []
    first = connect()
    first.keep_credentials = lambda credentials: kept.append(dict(credentials))
    assert len(every_order(first)) == 1
    assert store.tokens_issued == 2 and len(kept) == 1
    assert kept[0]["access_token"] == store.access_token
    assert kept[0]["refresh_token"] == store.refresh_token  # eBay keeps the refresh token
    assert int(kept[0]["access_token_expires_at"]) > store.now().timestamp() + 7000
    # Another connector of the shop, built from the stored (now stale) credentials, takes the new token.
    assert len(every_order(connect())) == 1 and store.tokens_issued == 2


def test_a_token_about_to_expire_is_refreshed_before_it_is_used(store: EbayStore, connect: Connect) -> None:
    soon = str(int(store.now().timestamp()) + 60)
    every_order(connect(access_token_expires_at=soon))
    assert store.tokens_issued == 2 and store.calls.get("orders") == 1  # no refused call first


def test_a_refused_refresh_token_needs_the_seller_again(store: EbayStore, connect: Connect) -> None:
    store.expire_tokens()
    with pytest.raises(AuthFailed, match=r"invalid_grant.*authorise the shop again"):
        every_order(connect(refresh_token="v^1.1#revoked"))
    with pytest.raises(AuthFailed, match="invalid_client"):
        every_order(connect(client_secret="wrong"))


def test_an_authorisation_code_becomes_the_shops_tokens_once(store: EbayStore, connect: Connect) -> None:
    code = store.authorization_code()
    tokens = connect(refresh_token="", access_token="").authorize(code)
    assert tokens["refresh_token"] == store.refresh_token and tokens["access_token"] == store.access_token
    assert int(tokens["refresh_token_expires_at"]) > int(tokens["access_token_expires_at"])
    with pytest.raises(AuthFailed, match="invalid_grant"):
        connect().authorize(code)
    with pytest.raises(AuthFailed, match="ru_name"):
        connect(ru_name="").authorize(store.authorization_code())


def push(listing: str, sku: str | None, quantity: int, **ids: str) -> StockPush:
    return StockPush(listing, sku, quantity, {}, platform_ids=ids)


def test_stock_goes_in_one_bulk_update_and_only_skus_ebay_took_count(
    store: EbayStore, connect: Connect
) -> None:
    mug, cap, tee = (store.add_listing(sku, quantity=1) for sku in ("MUG-1", "CAP-1", "TEE-1"))
    store.set_faults(Faults(failing_skus=("TEE-1",)))
    results = connect().push_stock(
        [
            push(mug.item_id, "MUG-1", 7),
            push(cap.item_id, "CAP-1", -2, offer_id=cap.offer_id),  # oversold: 0
            push(tee.item_id, "TEE-1", 4),
            push("1100", "GONE-1", 3),
            push("1101", None, 3),
        ]
    )
    assert [r.ok for r in results] == [True, True, False, False, False]
    assert "25001" in str(results[2].error) and "25710" in str(results[3].error)
    assert "names no platform SKU" in str(results[4].error)
    assert store.quantities() == {"MUG-1": 7, "CAP-1": 0, "TEE-1": 1}
    assert store.listing("CAP-1").offer_quantity == 0
    assert store.bulk_calls() == [{"skus": ["MUG-1", "CAP-1", "TEE-1", "GONE-1"], "status": 207}]
    wrong_offer = connect().push_stock([push(mug.item_id, "MUG-1", 2, offer_id="999")])
    assert not wrong_offer[0].ok and "offer 999" in str(wrong_offer[0].error)


def parcel(order: dict[str, Any], units: int = 1, **changes: Any) -> Parcel:
    item = order["lineItems"][0]
    fields: dict[str, Any] = {
        "reference": "P-1",
        "external_id": order["orderId"],
        "carrier": "UPS",
        "service": None,
        "tracking_number": "1Z0001",
        "tracking_url": None,
        "shipped_at": datetime(2026, 12, 4, 7, 0, tzinfo=UTC),
        "lines": [ParcelLine(item["legacyItemId"], item["sku"], units)],
    }
    return Parcel(**(fields | changes))


def test_a_parcel_becomes_one_fulfillment_and_a_retry_sends_nothing_again(
    store: EbayStore, connect: Connect
) -> None:
    store.add_listing("MUG-1", quantity=9)
    order = store.place_order([Line("MUG-1", 3)])
    connector = connect()
    done = connector.write_back(parcel(order, 2))
    assert connector.acted and len(done.platform_ids) == 1
    (sent,) = store.shipped()
    assert sent["body"] == {
        "lineItems": [{"lineItemId": order["lineItems"][0]["lineItemId"], "quantity": 2}],
        "shippedDate": "2026-12-04T07:00:00.000Z",
        "trackingNumber": "1Z0001",
        "shippingCarrierCode": "UPS",
    }
    again = connect().write_back(parcel(order, 2, maybe_sent=True))
    assert again.platform_ids == done.platform_ids and len(store.shipped()) == 1
    # The rest, in a parcel of its own with another carrier: a second fulfillment.
    rest = connect().write_back(
        parcel(order, 1, reference="P-2", carrier="Royal Mail", tracking_number="RM1GB")
    )
    assert rest.platform_ids != done.platform_ids
    assert store.order(order["orderId"])["orderFulfillmentStatus"] == "FULFILLED"
    assert store.shipped()[1]["body"]["shippingCarrierCode"] == "RoyalMail"


def test_a_changed_tracking_number_is_added_as_a_new_fulfillment(store: EbayStore, connect: Connect) -> None:
    store.add_listing("MUG-1", quantity=9)
    order = store.place_order([Line("MUG-1", 1)])
    first = connect().write_back(parcel(order))
    changed = connect().write_back(parcel(order, tracking_number="1Z0002", accepted=first.platform_ids))
    assert changed.platform_ids[0] == first.platform_ids[0] and len(changed.platform_ids) == 2
    assert [s["shipmentTrackingNumber"] for s in store.shipped()] == ["1Z0001", "1Z0002"]
    # Sent again after a lost answer: both fulfillments kept, nothing made.
    again = connect().write_back(
        parcel(order, tracking_number="1Z0002", accepted=first.platform_ids, maybe_sent=True)
    )
    assert again.platform_ids == changed.platform_ids and len(store.shipped()) == 2


def test_write_backs_ebay_refuses_are_refused_with_its_reason(store: EbayStore, connect: Connect) -> None:
    store.add_listing("MUG-1", quantity=9)
    order = store.place_order([Line("MUG-1", 1)])
    with pytest.raises(Rejected, match="has fewer"):
        connect().write_back(parcel(order, 2))
    with pytest.raises(Rejected, match="32300"):
        connect(carrier_codes={"UPS": "NoSuchCarrier"}).write_back(parcel(order))
    cancelled = store.place_order([Line("MUG-1", 1)])
    store.cancel(cancelled["orderId"])
    with pytest.raises(Rejected, match="cancelled on eBay"):
        connect().write_back(parcel(cancelled))
    assert store.shipped() == []


def test_an_unknown_carrier_goes_as_other_and_the_shops_own_codes_win(
    store: EbayStore, connect: Connect
) -> None:
    store.add_listing("MUG-1", quantity=9)
    order = store.place_order([Line("MUG-1", 2)])
    connect().write_back(parcel(order, carrier="Acme Couriers", tracking_number="AC1"))
    connect(carrier_codes={"acme couriers": "DPD"}).write_back(
        parcel(order, carrier="Acme Couriers", tracking_number="AC2")
    )
    assert [s["body"]["shippingCarrierCode"] for s in store.shipped()] == ["Other", "DPD"]


def test_a_throttle_waits_conservatively_and_names_its_operation(store: EbayStore, connect: Connect) -> None:
    store.set_faults(Faults(throttle=1.0, retry_after=None))
    with pytest.raises(RateLimited) as caught:
        every_order(connect())
    assert caught.value.retry_after == 60.0 and caught.value.operation == "orders"
    assert "2001" in str(caught.value)
    store.set_faults(Faults(throttle=1.0, retry_after=30))  # a Retry-After, where eBay gives one, is kept
    with pytest.raises(RateLimited) as caught:
        every_order(connect())
    assert caught.value.retry_after == 30.0


def test_errors_and_slow_answers_are_retried_in_place(
    store: EbayStore, connect: Connect, base_url: str
) -> None:
    store.add_listing("MUG-1", quantity=9)
    store.place_order([Line("MUG-1", 1)])
    store.set_faults(Faults(error=0.5, seed=1))
    assert len(every_order(connect())) == 1
    assert store.calls["orders"] == 1  # the 500 was answered before the token was checked: one retry
    store.set_faults(Faults(delay=1.0, delay_seconds=1.0))
    with (
        httpx.Client(base_url=base_url, timeout=0.2) as impatient,
        pytest.raises(ChannelError, match="timed out"),
    ):
        every_order(connect(http_client=impatient))
    store.set_faults(Faults(error=1.0))
    with pytest.raises(ChannelError, match="HTTP 500") as caught:
        every_order(connect())
    assert caught.value.retryable
