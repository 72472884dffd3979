"""The pure mapping of WooCommerce orders, checked on the published order sample and on what it does
not show (every status, other currencies, refunds, digital orders, drafts)."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from pydantic import TypeAdapter

from orderly.channels.woocommerce import mapper
from orderly.orders.schemas import NormalizedOrder

SAMPLES = Path(__file__).parent / "samples"
ORDER = TypeAdapter(NormalizedOrder)
PUBLISHED: dict[str, Any] = json.loads((SAMPLES / "order_create_response.json").read_text())


def normalized(order: dict[str, Any]) -> NormalizedOrder:
    return ORDER.validate_python(mapper.map_order(order, "woo"))


def changed(**values: Any) -> dict[str, Any]:
    return {**copy.deepcopy(PUBLISHED), **values}


def test_the_published_order_maps_every_field() -> None:
    order = normalized(PUBLISHED)
    assert (order["shop"], order["external_id"], order["currency"]) == ("woo", "727", "USD")
    # The _gmt twins, read as UTC: not the site's own 16:28:02.
    assert order["placed_at"] == datetime(2017, 3, 22, 19, 28, 2, tzinfo=UTC)
    assert order["updated_at"] == datetime(2017, 3, 22, 19, 28, 8, tzinfo=UTC)
    assert (order["cancelled"], order["payment_status"], order["platform_status"]) == (
        False,
        "paid",
        "processing",
    )
    assert order["payment_method"] == "Direct Bank Transfer"
    assert order["buyer"] == {
        "name": "John Doe",
        "email": "john.doe@example.com",
        "phone": "(555) 555-5555",
        "platform_id": None,  # customer_id 0: a guest
    }
    assert order["shipping_address"] == {
        "name": "John Doe",
        "line1": "969 Market",
        "line2": None,
        "city": "San Francisco",
        "region": "CA",
        "postal_code": "94103",
        "country": "US",
        "phone": "(555) 555-5555",  # the shipping address has none in this version: billing's
    }
    assert order["billing_country"] == "US"
    assert order["lines"] == [
        {
            "platform_sku": None,
            "listing_id": "93",  # a simple product
            "title": "Woo Single #1",
            "quantity": 2,
            "shipped": 0,
            "unit_price": 300,
            "discount": 0,
            "tax": 45,
        },
        {
            "platform_sku": "Bar3",
            "listing_id": "22:23",  # variation 23 of product 22
            "title": "Ship Your Idea \u2013 Color: Black, Size: M Test",  # &ndash; unescaped
            "quantity": 1,
            "shipped": 0,
            "unit_price": 1200,
            "discount": 0,
            "tax": 90,
        },
    ]
    assert (order["shipping_total"], order["discount_total"], order["tax_total"], order["total"]) == (
        1000,
        0,
        135,
        2935,
    )
    assert order["shipments"] is None and order["tags"] == [] and order["buyer_remark"] is None
    assert order["raw"] == PUBLISHED


def test_the_version_is_the_gmt_modified_time_in_one_form() -> None:
    assert mapper.version(PUBLISHED) == "2017-03-22T19:28:08Z"
    assert mapper.version(changed(date_modified_gmt="2017-03-22T21:28:08+02:00")) == "2017-03-22T19:28:08Z"


@pytest.mark.parametrize(
    ("status", "cancelled", "payment", "shipped", "tags"),
    [
        ("pending", False, "pending", 0, []),
        ("processing", False, "paid", 0, []),
        ("on-hold", False, "paid", 0, []),  # the sample was paid (date_paid_gmt) before it was held
        ("completed", False, "paid", 2, []),
        ("cancelled", True, "paid", 0, []),
        ("refunded", True, "refunded", 0, [mapper.REFUNDED]),
        ("failed", False, "failed", 0, []),
        ("trash", True, "paid", 0, [mapper.TRASHED]),
        ("shipped-by-plugin", False, "paid", 0, [mapper.UNKNOWN_STATUS]),  # no stock freed on a guess
    ],
)
def test_each_status_onto_the_hub(
    status: str, cancelled: bool, payment: str, shipped: int, tags: list[str]
) -> None:
    order = normalized(changed(status=status))
    assert (order["cancelled"], order["payment_status"], order["tags"]) == (cancelled, payment, tags)
    assert order["lines"][0]["shipped"] == shipped and order["platform_status"] == status


def test_an_order_not_paid_yet_is_pending_payment() -> None:
    for status in ("pending", "on-hold"):
        order = normalized(changed(status=status, date_paid=None, date_paid_gmt=None))
        assert order["payment_status"] == "pending"


def test_a_checkout_draft_is_not_an_order_yet() -> None:
    assert mapper.is_draft(changed(status="checkout-draft"))
    assert not mapper.is_draft(PUBLISHED)


def test_a_partial_refund_keeps_the_status_and_marks_the_payment() -> None:
    order = normalized(changed(refunds=[{"id": 730, "reason": "broken", "total": "-6.00"}]))
    assert (order["cancelled"], order["payment_status"], order["tags"]) == (
        False,
        "partially_refunded",
        [mapper.PARTLY_REFUNDED],
    )


def test_coupons_come_off_the_lines_and_prices_share_out_exactly() -> None:
    item = {
        **PUBLISHED["line_items"][0],
        "quantity": 3,
        "subtotal": "10.00",  # 3.333... a unit
        "total": "8.00",  # a coupon took 2.00
        "total_tax": "0.60",
    }
    order = normalized(changed(line_items=[item], discount_total="2.00", total="18.60"))
    [line] = order["lines"]
    assert (line["unit_price"], line["discount"], line["tax"]) == (334, 202, 60)
    assert line["unit_price"] * line["quantity"] - line["discount"] == 800  # the line's total
    assert order["discount_total"] == 0  # all of it on the line


@pytest.mark.parametrize(
    ("currency", "amount", "minor"),
    [("USD", "29.35", 2935), ("JPY", "1500", 1500), ("KWD", "1.250", 1250), ("EUR", "9.995", 1000)],
)
def test_money_in_each_currencys_minor_units(currency: str, amount: str, minor: int) -> None:
    # A store set to more decimals than its currency has is rounded half up (EUR 9.995 -> 10.00).
    order = normalized(changed(currency=currency, total=amount))
    assert (order["currency"], order["total"]) == (currency, minor)


def test_a_malformed_amount_is_refused_naming_it() -> None:
    with pytest.raises(ValueError, match="shipping_total"):
        mapper.map_order(changed(shipping_total="ten"), "woo")


def test_an_order_that_ships_nothing_is_addressed_by_its_billing_address() -> None:
    blank = dict.fromkeys(PUBLISHED["shipping"], "")
    order = normalized(changed(shipping=blank, customer_id=12, customer_note="gift, please"))
    assert order["shipping_address"]["line1"] == "969 Market"
    assert order["buyer"]["platform_id"] == "12" and order["buyer_remark"] == "gift, please"


def test_a_payload_without_its_gmt_times_is_refused() -> None:
    broken = changed()
    del broken["date_created_gmt"]
    with pytest.raises(ValueError, match="date_created_gmt"):
        mapper.map_order(broken, "woo")


def test_listing_ids_name_a_product_or_a_variation_under_it() -> None:
    assert mapper.listing_id(93, 0) == "93" and mapper.listing_id(22, 23) == "22:23"
    assert mapper.listing_id(0, 0) is None
    assert mapper.parse_listing("93") == (93, None) and mapper.parse_listing("22:23") == (22, 23)
    assert mapper.parse_listing("SKU-1") is None and mapper.parse_listing("22:x") is None
