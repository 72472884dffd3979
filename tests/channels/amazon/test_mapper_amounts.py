"""The Amazon mapper on an order of several items whose every amount is known: each item's shipping,
taxes and discounts add up over the order, quantities are whole positive counts, and Amazon's string
booleans and timestamps are read as Amazon means them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import TypeAdapter

from orderly.channels.amazon import mapper
from orderly.orders.schemas import NormalizedOrder, amounts

NORMALIZED: TypeAdapter[NormalizedOrder] = TypeAdapter(NormalizedOrder)

ORDER: dict[str, Any] = {
    "AmazonOrderId": "111-0000001-0000001",
    "PurchaseDate": "2026-03-01T10:00:00Z",
    "LastUpdateDate": "2026-03-01T10:05:00Z",
    "OrderStatus": "Unshipped",
    "OrderTotal": {"CurrencyCode": "USD", "Amount": "58.00"},
    "ShippingAddress": {
        "Name": "Ada Buyer",
        "AddressLine1": "1 Cross St.",
        "City": "Canton",
        "StateOrRegion": "MI",
        "PostalCode": "48817",
        "CountryCode": "US",
    },
}


def _usd(amount: str) -> dict[str, str]:
    return {"CurrencyCode": "USD", "Amount": amount}


ITEMS: list[dict[str, Any]] = [
    {
        "ASIN": "B000MUG001",
        "SellerSKU": "MUG-1",
        "QuantityOrdered": 2,
        "ItemPrice": _usd("20.00"),
        "ItemTax": _usd("1.00"),
        "PromotionDiscount": _usd("2.00"),
        "ShippingPrice": _usd("5.00"),
        "ShippingTax": _usd("0.50"),
        "ShippingDiscount": _usd("1.00"),
    },
    {
        "ASIN": "B000CAP001",
        "SellerSKU": "CAP-1",
        "QuantityOrdered": 1,
        "ItemPrice": _usd("30.00"),
        "ItemTax": _usd("2.00"),
        "ShippingPrice": _usd("3.00"),
        "ShippingTax": _usd("0.25"),
        "ShippingDiscount": _usd("0.75"),
    },
]


def normalized(order: dict[str, Any], items: list[dict[str, Any]]) -> NormalizedOrder:
    return NORMALIZED.validate_python(mapper.map_order("amazon-us", order, items))


def test_every_items_shipping_tax_and_discount_add_up_over_the_order() -> None:
    order = normalized(ORDER, ITEMS)
    lines = [(li["quantity"], li["unit_price"], li["discount"], li["tax"]) for li in order["lines"]]
    assert lines == [(2, 1000, 200, 100), (1, 3000, 0, 200)]
    assert (order["shipping_total"], order["tax_total"], order["discount_total"]) == (
        800,  # 5.00 + 3.00
        375,  # item taxes 1.00 + 2.00, shipping taxes 0.50 + 0.25
        175,  # shipping discounts 1.00 + 0.75
    )
    assert amounts(order) == (4800, 5800)
    assert order["total"] == 5800


def test_an_order_without_a_total_is_read_in_its_items_currency() -> None:
    order = {k: v for k, v in ORDER.items() if k != "OrderTotal"}
    mapped = normalized(order, ITEMS)
    assert (mapped["currency"], mapped["total"]) == ("USD", None)


@pytest.mark.parametrize("quantity", [-1, 0.5, True, "2", None])
def test_a_quantity_that_is_not_a_whole_positive_count_is_refused(quantity: object) -> None:
    with pytest.raises(ValueError, match="MUG-1 QuantityOrdered is not a positive count"):
        mapper.map_order("amazon-us", ORDER, [{**ITEMS[0], "QuantityOrdered": quantity}, ITEMS[1]])


def test_an_item_without_a_seller_sku_is_named_by_its_asin() -> None:
    item = {k: v for k, v in ITEMS[0].items() if k != "SellerSKU"}
    with pytest.raises(ValueError, match="B000MUG001 QuantityOrdered"):
        mapper.map_order("amazon-us", ORDER, [{**item, "QuantityOrdered": -1}])


@pytest.mark.parametrize(
    ("flags", "tags"),
    [({"IsPrime": True}, ["prime"]), ({"IsBusinessOrder": True}, ["business"]), ({}, [])],
)
def test_prime_and_business_orders_are_tagged(flags: dict[str, bool], tags: list[str]) -> None:
    assert normalized({**ORDER, **flags}, ITEMS)["tags"] == tags


def test_a_cancelled_order_is_cancelled() -> None:
    assert normalized({**ORDER, "OrderStatus": "Canceled"}, ITEMS)["cancelled"] is True
    assert normalized(ORDER, ITEMS)["cancelled"] is False


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (True, True),
        ("true", True),
        (" TRUE ", True),
        (False, False),
        ("false", False),
        (1, False),
        (None, False),
    ],
)
def test_amazon_booleans_may_be_strings(value: object, expected: bool) -> None:
    assert mapper.is_true(value) is expected


@pytest.mark.parametrize("field", ["City", "Municipality", "District", "County"])
def test_the_city_is_taken_from_whichever_field_amazon_fills(field: str) -> None:
    address = {k: v for k, v in ORDER["ShippingAddress"].items() if k != "City"} | {field: "Canton"}
    shipping = normalized({**ORDER, "ShippingAddress": address}, ITEMS)["shipping_address"]
    assert shipping is not None and shipping["city"] == "Canton"


def test_timestamps_are_utc_to_the_millisecond_both_ways() -> None:
    assert mapper.instant("2026-03-01T12:00:00.5+02:00") == datetime(2026, 3, 1, 10, 0, 0, 500000, tzinfo=UTC)
    with pytest.raises(ValueError, match="no time zone"):
        mapper.instant("2026-03-01T12:00:00")
    assert (
        mapper.amazon_time(datetime(2026, 3, 1, 10, 0, 0, 999999, tzinfo=UTC)) == "2026-03-01T10:00:00.999Z"
    )


@pytest.mark.parametrize(
    ("reported", "shipped"),
    [(1, 1), (2, 2), (5, 2), (0, 0), (-1, 0), (None, 0), (True, 0), ("1", 0)],
)
def test_units_already_shipped_are_a_count_between_none_and_all(reported: object, shipped: int) -> None:
    """What Amazon reports shipped of a line not yet all shipped; anything but a count is none."""
    items = [{**ITEMS[0], "QuantityShipped": reported}, ITEMS[1]]
    assert [line["shipped"] for line in normalized(ORDER, items)["lines"]] == [shipped, 0]
