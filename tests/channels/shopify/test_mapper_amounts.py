"""The Shopify mapper on a small hand-made order whose every amount is known: lines, line and order
discounts, taxes, shipping, amounts given only as plain strings (older payloads) or left out, and
where the buyer's details are taken from when the order itself lacks them."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from pydantic import TypeAdapter

from orderly.channels.shopify.mapper import map_order
from orderly.orders.schemas import NormalizedOrder, amounts

ORDER = TypeAdapter(NormalizedOrder)

PAYLOAD: dict[str, Any] = {
    "id": 1001,
    "created_at": "2026-03-01T10:00:00-05:00",
    "updated_at": "2026-03-01T10:05:00-05:00",
    "currency": "usd",
    "financial_status": "paid",
    "email": "",
    "phone": None,
    "customer": {
        "id": 77,
        "email": "ada@example.com",
        "phone": "+1 734 555 0100",
        "first_name": "Ada",
        "last_name": "Buyer",
    },
    "shipping_address": {
        "first_name": "Ada",
        "last_name": "Buyer",
        "address1": "1 Cross St.",
        "address2": "Suite 5",
        "city": "Canton",
        "province": "Michigan",
        "zip": "48817",
        "country_code": "US",
    },
    "line_items": [
        {
            "sku": "MUG-1",
            "variant_id": 11,
            "title": "Mug",
            "quantity": 3,
            "price": "10.00",
            "discount_allocations": [{"amount": "1.00"}, {"amount": "0.50"}],
            "tax_lines": [{"price": "0.60"}, {"price": "0.30"}],
        },
        {"sku": "CAP-1", "variant_id": 12, "title": "Cap", "quantity": 2, "price": "5.00"},
    ],
    # Amounts as plain strings only, as older payloads carry them (no *_set).
    "total_shipping_price": "8.00",
    "total_discounts": "6.50",  # 1.50 on the lines, 5.00 off the order (a shipping discount)
    "total_tax": "0.90",
    "total_price": "42.40",
}


def normalized(payload: dict[str, Any]) -> NormalizedOrder:
    return ORDER.validate_python(map_order(payload, "shopify-us"))


def test_every_amount_of_a_plain_payload_in_minor_units() -> None:
    order = normalized(PAYLOAD)
    assert order["currency"] == "USD"
    lines = [(li["quantity"], li["unit_price"], li["discount"], li["tax"]) for li in order["lines"]]
    assert lines == [(3, 1000, 150, 90), (2, 500, 0, 0)]
    assert (order["shipping_total"], order["tax_total"], order["discount_total"], order["total"]) == (
        800,
        90,
        500,  # what is left of total_discounts once the lines' own discounts are off the lines
        4240,
    )
    subtotal, total = amounts(order)
    assert (subtotal, total) == (3850, 4240)


def test_amounts_a_payload_leaves_out_are_zero_and_the_total_still_adds_up() -> None:
    payload = copy.deepcopy(PAYLOAD)
    for name in ("total_shipping_price", "total_discounts", "total_tax"):
        del payload[name]
    payload["total_price"] = "38.50"
    order = normalized(payload)
    assert (order["shipping_total"], order["tax_total"], order["discount_total"]) == (0, 0, 0)
    assert amounts(order) == (3850, 3850)


def test_set_amounts_are_read_in_the_shops_money() -> None:
    payload = copy.deepcopy(PAYLOAD)
    payload["total_price"] = "0.00"  # a plain field that disagrees: the *_set is what counts
    payload["total_price_set"] = {
        "shop_money": {"amount": "42.40", "currency_code": "USD"},
        "presentment_money": {"amount": "39.00", "currency_code": "EUR"},
    }
    assert normalized(payload)["total"] == 4240


def test_the_buyer_comes_from_the_customer_when_the_order_has_none() -> None:
    order = normalized(PAYLOAD)
    buyer = order["buyer"]
    assert (buyer["name"], buyer["email"], buyer["phone"]) == (
        "Ada Buyer",
        "ada@example.com",
        "+1 734 555 0100",
    )
    assert buyer["platform_id"] == "77"
    address = order["shipping_address"]
    assert address is not None
    assert (address["name"], address["line2"], address["region"]) == ("Ada Buyer", "Suite 5", "Michigan")
    assert [li["title"] for li in order["lines"]] == ["Mug", "Cap"]

    guest = {
        **copy.deepcopy(PAYLOAD),
        "customer": None,
        "email": "guest@example.com",
        "phone": "+1 734 555 0199",
    }
    guest["shipping_address"] |= {"first_name": None, "last_name": None, "name": "Grace Guest"}
    order = normalized(guest)
    assert (order["buyer"]["name"], order["buyer"]["email"]) == ("Grace Guest", "guest@example.com")
    assert (order["buyer"]["phone"], order["buyer"]["platform_id"]) == ("+1 734 555 0199", None)


@pytest.mark.parametrize(
    ("address", "buyer", "expected"),
    [
        ({"name": "Named", "first_name": "First", "company": "Co"}, "Buyer", "Named"),
        ({"first_name": "First", "last_name": "Last", "company": "Co"}, "Buyer", "First Last"),
        ({"company": "Co"}, "Buyer", "Co"),
        ({}, "Buyer", "Buyer"),
    ],
)
def test_who_a_parcel_is_addressed_to(address: dict[str, Any], buyer: str, expected: str) -> None:
    payload = copy.deepcopy(PAYLOAD)
    payload["customer"] = {"first_name": buyer}
    payload["shipping_address"] = {
        "address1": "1 Cross St.",
        "city": "Canton",
        "zip": "48817",
        "country_code": "US",
        **address,
    }
    shipping = normalized(payload)["shipping_address"]
    assert shipping is not None and shipping["name"] == expected


def test_units_shipped_add_up_over_the_successful_fulfillments_only() -> None:
    payload = copy.deepcopy(PAYLOAD)
    payload["line_items"][0]["id"], payload["line_items"][1]["id"] = 501, 502
    payload["fulfillments"] = [
        {"status": "cancelled", "line_items": [{"id": 501, "quantity": 3}]},
        {"status": "success", "line_items": [{"id": 501, "quantity": 1}]},
        {"status": "success", "line_items": [{"id": 501, "quantity": 1}, {"id": 502, "quantity": 2}]},
    ]
    assert [line["shipped"] for line in normalized(payload)["lines"]] == [2, 2]  # of 3 and of 2
