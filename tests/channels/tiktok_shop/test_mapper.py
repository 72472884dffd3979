"""The TikTok Shop mapper against the published 202309 samples, and the states an order takes."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from pydantic import TypeAdapter

from orderly.channels.connector import RawOrder, ShopConnection
from orderly.channels.tiktok_shop import TikTokShopConnector, mapper
from orderly.orders.domain import OrderStatus, left_the_hubs_shelves
from orderly.orders.schemas import NormalizedOrder
from tests.channels.tiktok_shop.samples import sample, sample_order

NORMALIZED: TypeAdapter[NormalizedOrder] = TypeAdapter(NormalizedOrder)


def mapped(order: dict[str, Any]) -> NormalizedOrder:
    return NORMALIZED.validate_python(mapper.map_order(order, "tiktok"))


def test_the_published_order_maps_every_field() -> None:
    order = sample_order()
    result = mapper.map_order(order, "tiktok")
    assert result["raw"] == order
    checked = NORMALIZED.validate_python(result)
    assert checked["external_id"] == "576461413038785752"
    assert checked["placed_at"] == datetime(2021, 4, 28, 12, 6, 1, tzinfo=UTC)  # 1619611561
    assert checked["updated_at"] == datetime(2021, 4, 28, 14, 49, 15, tzinfo=UTC)  # 1619621355
    # IDR keeps two decimals in ISO 4217: "5000" is 500000 minor units, "0.01" is 1, "21.2" is 2120.
    assert checked["currency"] == "IDR"
    assert (checked["total"], checked["shipping_total"], checked["tax_total"]) == (500000, 500000, 500000)
    assert checked["discount_total"] == 0
    (line,) = checked["lines"]
    assert line == {
        "platform_sku": "red_iphone_256",
        "listing_id": "2729382476852921560",
        "title": "Women's Winter Crochet Clothes - Iphone",
        "quantity": 1,
        "shipped": 0,
        "returned": 0,
        "unit_price": 1,
        "discount": 0,
        "tax": 2120,
    }
    assert (checked["payment_status"], checked["platform_status"]) == ("pending", "UNPAID")
    assert (checked["cancelled"], checked["cancel_requested"], checked["fulfillment"]) == (
        False,
        False,
        "merchant",
    )
    assert checked["payment_method"] == "CCDC"
    assert checked["buyer"] == {
        "name": None,
        "email": "v2b2V5@chat.seller.tiktok.com",
        "phone": None,
        "platform_id": "7021436810468230477",
    }
    assert checked["shipping_address"] == {
        "name": "David Kong",
        "line1": "TikTok 5800 bristol Pkwy",
        "line2": "Suite 100, Unit one building 8",  # lines 3 and 4 are blank
        "city": "Ribbleton",  # no city level in district_info: the post town
        "region": None,
        "postal_code": "95110",
        "country": "US",
        "phone": None,  # "(+1)213-***-1234": masked, no number
    }
    assert (checked["buyer_remark"], checked["seller_remark"]) == ("Please ship asap!", "seller note")
    assert checked["tags"] == ["pre-order"]
    assert checked["shipments"] is None  # nothing has left yet


def test_every_status_onto_the_hub() -> None:
    expected = {
        "UNPAID": ("pending", False, 0),
        "ON_HOLD": ("paid", False, 0),
        "AWAITING_SHIPMENT": ("paid", False, 0),
        "PARTIALLY_SHIPPING": ("paid", False, 0),
        "AWAITING_COLLECTION": ("paid", False, 0),
        "IN_TRANSIT": ("paid", False, 1),
        "DELIVERED": ("paid", False, 1),
        "COMPLETED": ("paid", False, 1),
        "CANCELLED": ("paid", True, 0),
    }
    for status, (payment, cancelled, shipped) in expected.items():
        result = mapped(sample_order(status=status))
        assert (result["payment_status"], result["cancelled"], result["lines"][0]["shipped"]) == (
            payment,
            cancelled,
            shipped,
        ), status
        assert result["platform_status"] == status
    held = mapped(sample_order(status="ON_HOLD", is_on_hold_order=True))
    assert "on-hold" in held["tags"]


def test_shipped_orders_carry_their_tracking() -> None:
    result = mapped(sample_order(status="IN_TRANSIT"))
    assert result["shipments"] == [
        {
            "carrier": "TT Virtual express",
            "tracking_number": "JX12345",
            "tracking_url": None,
            "shipped_at": datetime.fromtimestamp(1678389618, UTC),
        }
    ]


def _units(order: dict[str, Any], count: int) -> dict[str, Any]:
    """The sample's one line item made ``count`` units, each its own item (as TikTok lists them)."""
    item = order["line_items"][0]
    order["line_items"] = [{**copy.deepcopy(item), "id": f"{item['id']}{n}"} for n in range(count)]
    return order


def test_units_of_one_sku_count_into_one_line_and_a_unit_cancelled_alone_counts_none() -> None:
    order = _units(sample_order(status="PARTIALLY_SHIPPING"), 3)
    order["line_items"][0]["display_status"] = "CANCELLED"
    order["line_items"][1]["display_status"] = "IN_TRANSIT"
    order["line_items"][2]["display_status"] = "AWAITING_SHIPMENT"
    (line,) = mapped(order)["lines"]
    assert (line["quantity"], line["shipped"], line["tax"]) == (2, 1, 2 * 2120)
    # A cancelled order keeps every unit for the record.
    (line,) = mapped(_units(sample_order(status="CANCELLED"), 3))["lines"]
    assert line["quantity"] == 3


def test_discounts_take_the_original_price_down_to_the_sale_price() -> None:
    order = sample_order()
    order["line_items"][0].update(original_price="120.00", sale_price="99.50", currency="IDR")
    order["payment"].update(original_shipping_fee="15", shipping_fee="10")
    result = mapped(order)
    (line,) = result["lines"]
    assert (line["unit_price"], line["discount"]) == (12000, 2050)
    assert (result["shipping_total"], result["discount_total"]) == (1500, 500)


def test_fulfilled_by_tiktok_never_reserves_the_hubs_stock() -> None:
    assert mapped(sample_order(fulfillment_type="FULFILLMENT_BY_TIKTOK"))["fulfillment"] == "platform"


def test_an_order_first_seen_shipped_left_the_hubs_shelves_when_its_parcel_left_after_the_shop_joined() -> (
    None
):
    shipped = mapped(sample_order(status="IN_TRANSIT"))
    assert shipped["shipped_from_stock"] is True
    left = datetime.fromtimestamp(1678389618, UTC)  # the line item's rts_time
    assert [parcel["shipped_at"] for parcel in shipped["shipments"] or []] == [left]
    settled = OrderStatus.SHIPPED
    assert left_the_hubs_shelves(shipped, settled, left - timedelta(days=1))
    assert left_the_hubs_shelves(shipped, settled, left)
    assert not left_the_hubs_shelves(shipped, settled, left + timedelta(seconds=1))
    # Without an rts_time, the carrier's collection_time is when the parcel left.
    order = sample_order(status="DELIVERED", rts_time=None, collection_time=1678400000)
    for item in order["line_items"]:
        item["rts_time"] = None
    collected = mapped(order)
    assert [parcel["shipped_at"] for parcel in collected["shipments"] or []] == [
        datetime.fromtimestamp(1678400000, UTC)
    ]
    # TikTok's warehouse ships FBT orders: their units never were on the hub's shelves.
    fbt = mapped(sample_order(status="IN_TRANSIT", fulfillment_type="FULFILLMENT_BY_TIKTOK"))
    assert fbt["shipped_from_stock"] is False


def _returned(order: dict[str, Any], status: str, **more: Any) -> dict[str, Any]:
    """``order`` with a return of its first line item (as returns/search gives it) beside it."""
    entry = {
        "order_id": order["id"],
        "return_id": "4035318504086604100",
        "return_type": "RETURN_AND_REFUND",
        "return_status": status,
        "update_time": 1690453136,
        "return_line_items": [{"order_line_item_id": order["line_items"][0]["id"], "sku_id": "1"}],
        **more,
    }
    return {**order, "return_orders": [*order.get("return_orders", []), entry]}


def test_units_back_through_tiktoks_returns_are_returned_and_every_one_back_is_the_whole_order() -> None:
    order = _units(sample_order(status="DELIVERED"), 2)
    one_back = mapped(_returned(order, "RETURN_OR_REFUND_REQUEST_COMPLETE"))
    (line,) = one_back["lines"]
    assert (line["quantity"], line["shipped"], line["returned"]) == (2, 2, 1)
    assert "returned" in one_back["tags"]
    # The order changed when its return did, though its own update_time did not move.
    assert one_back["updated_at"] == datetime.fromtimestamp(1690453136, UTC)
    assert mapper.version(_returned(order, "RETURN_OR_REFUND_REQUEST_COMPLETE")) > mapper.version(order)
    second = {**order["line_items"][1]}
    both = _returned(order, "RETURN_OR_REFUND_REQUEST_SUCCESS")
    both["return_orders"][0]["return_line_items"].append({"order_line_item_id": second["id"]})
    assert mapped(both)["lines"][0]["returned"] == 2
    # Nothing came back: still pending or on its way, refused, cancelled, a refund without return,
    # a replacement, or an item the buyer keeps.
    for status, more in (
        ("RETURN_OR_REFUND_REQUEST_PENDING", {}),
        ("AWAITING_BUYER_SHIP", {}),
        ("BUYER_SHIPPED_ITEM", {}),
        ("REJECT_RECEIVE_PACKAGE", {}),
        ("RETURN_OR_REFUND_REQUEST_CANCEL", {}),
        ("RETURN_OR_REFUND_REQUEST_COMPLETE", {"return_type": "REFUND"}),
        ("REPLACEMENT_REQUEST_COMPLETE", {"return_type": "REPLACEMENT"}),
        ("RETURN_OR_REFUND_REQUEST_COMPLETE", {"can_buyer_keep_item": True}),
    ):
        result = mapped(_returned(order, status, **more))
        assert result["lines"][0]["returned"] == 0 and "returned" not in result["tags"], (status, more)


def test_a_buyers_cancellation_request_is_held_with_its_reason() -> None:
    result = mapped(sample_order(status="AWAITING_SHIPMENT", is_buyer_request_cancel=True))
    assert result["cancel_requested"] is True
    assert "cancel-requested" in result["tags"]
    assert result["buyer_remark"] == "Please ship asap!\nBuyer asked to cancel: Pricing error"
    cancelled = mapped(sample_order(status="CANCELLED", is_buyer_request_cancel=True))
    assert (cancelled["cancelled"], cancelled["cancel_requested"]) == (True, False)


def test_unix_seconds_and_the_legacy_millisecond_strings_are_utc() -> None:
    legacy = sample("legacy_v1_order_detail_response.json")["data"]["order_list"][0]
    assert mapper.instant(legacy["create_time"], "create_time") == datetime(
        2021, 4, 28, 12, 6, 1, 674000, UTC
    )
    assert (
        mapper.instant(1619611561, "t")
        == mapper.instant("1619611561", "t")
        == datetime(2021, 4, 28, 12, 6, 1, tzinfo=UTC)
    )
    for bad in ("", "12:00", -5, 1.5, True, None):
        with pytest.raises(ValueError, match="not a Unix time"):
            mapper.instant(bad, "t")
    # Versions compare as text in time order, seconds or milliseconds.
    assert mapper.version({"update_time": "1619611561674"}) > mapper.version({"update_time": 1619611561})


def test_amounts_finer_than_the_currency_are_refused_not_rounded() -> None:
    order = sample_order()
    order["payment"]["currency"] = "VND"  # no decimals
    order["line_items"][0]["sale_price"] = "1.5"
    order["line_items"][0]["original_price"] = "1.5"
    with pytest.raises(ValueError, match="finer than the currency"):
        mapper.map_order(order, "tiktok")
    order = sample_order()
    order["payment"]["total_amount"] = "lots"
    with pytest.raises(ValueError, match="not a decimal amount"):
        mapper.map_order(order, "tiktok")


@pytest.mark.parametrize(
    ("currency", "wire", "minor"),
    [
        ("IDR", "5000", 500000),  # the published sample's: two decimals in ISO 4217 (core/money.py)
        ("VND", "150000", 150000),  # no minor unit
        ("MYR", "19.9", 1990),
        ("SGD", "12.99", 1299),
        ("PHP", "1099.75", 109975),
        ("THB", "349.50", 34950),
    ],
)
def test_each_currency_of_tiktoks_south_east_asian_shops_in_its_minor_units(
    currency: str, wire: str, minor: int
) -> None:
    order = sample_order(status="AWAITING_SHIPMENT")
    order["payment"] = {
        "currency": currency,
        "sub_total": wire,
        "original_total_product_price": wire,
        "shipping_fee": wire,
        "original_shipping_fee": wire,
        "total_amount": f"{2 * Decimal(wire)}",
        "tax": "0",
    }
    order["line_items"] = [
        {
            **order["line_items"][0],
            "sale_price": wire,
            "original_price": wire,
            "currency": currency,
            "item_tax": [],
        }
    ]
    result = mapped(order)
    assert result["currency"] == currency
    (line,) = result["lines"]
    assert (line["unit_price"], line["discount"], line["tax"]) == (minor, 0, 0)
    assert (result["shipping_total"], result["discount_total"], result["total"]) == (minor, 0, 2 * minor)


def test_payloads_without_the_essentials_are_refused() -> None:
    for change in ({"id": None}, {"payment": {}}, {"line_items": []}, {"create_time": None}):
        with pytest.raises(ValueError):
            mapper.map_order(sample_order(**change), "tiktok")


def test_a_phone_shown_whole_is_kept() -> None:
    order = sample_order()
    order["recipient_address"]["phone_number"] = "(+1)213-555-1234"
    assert mapped(order)["shipping_address"]["phone"] == "(+1)213-555-1234"


def test_unpaid_and_on_hold_orders_come_without_an_address() -> None:
    order = sample_order(status="ON_HOLD")
    del order["recipient_address"]
    result = mapped(order)
    assert result["shipping_address"]["line1"] is None


def test_a_notification_is_not_an_order_but_a_cancel_is_applied_at_once() -> None:
    connector = TikTokShopConnector(ShopConnection(1, "tiktok", "http://127.0.0.1:9", {}, {}), None)  # type: ignore[arg-type]
    notification = sample("webhook_order_status_change_type1.json")
    raw = RawOrder("576486316948490001", "notified:1644412885", notification)
    assert (connector.ready(raw), connector.cancelled(raw)) == (False, False)
    notification["data"]["order_status"] = "CANCEL"
    assert (connector.ready(raw), connector.cancelled(raw)) == (False, True)
    order = RawOrder("576461413038785752", mapper.version(sample_order()), sample_order(status="CANCELLED"))
    assert (connector.ready(order), connector.cancelled(order)) == (True, False)
