"""The pure mapping of Shopify orders, checked on Shopify's published payloads and on the edges they
do not show (other currencies, absent fields, ids past 2**53)."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import TypeAdapter

from orderly.channels.shopify.mapper import PAYMENT_STATUS, map_order
from orderly.orders.schemas import NormalizedOrder, amounts
from tests.sandbox.shopify.helpers import new_store, place, sample

ORDER = TypeAdapter(NormalizedOrder)
LISTED = sample("orders_list_response.json")["orders"]
WEBHOOK = sample("webhook_orders_create_test_payload.json")


def normalized(payload: dict[str, Any]) -> NormalizedOrder:
    return ORDER.validate_python(map_order(payload, "shopify-us"))


@pytest.mark.parametrize("payload", [*LISTED, WEBHOOK], ids=lambda p: str(p["id"]))
def test_every_published_order_maps_to_a_valid_order_whose_parts_add_up(payload: dict[str, Any]) -> None:
    order = normalized(payload)
    subtotal, total = amounts(order)
    assert total == subtotal + order["shipping_total"] + order["tax_total"] - order["discount_total"]
    assert order["raw"] == payload


def test_the_listed_sample() -> None:
    order = normalized(LISTED[0])

    assert (order["shop"], order["external_id"], order["currency"]) == ("shopify-us", "450789469", "USD")
    assert order["placed_at"] == datetime(2008, 1, 10, 16, 0, tzinfo=UTC)  # 11:00-05:00
    assert order["updated_at"] == datetime(2008, 1, 10, 16, 0, tzinfo=UTC)
    assert (order["payment_status"], order["cancelled"]) == ("partially_refunded", False)
    assert order["platform_status"] == "unfulfilled/partially_refunded"
    assert order["payment_method"] == "bogus"
    assert order["buyer"] == {
        "name": "Bob Norman",
        "email": "bob.norman@mail.example.com",
        "phone": "+557734881234",
        "platform_id": "207119551",
    }
    assert order["shipping_address"] == {
        "name": "Bob Norman",
        "line1": "Chestnut Street 92",
        "line2": None,  # "" in the payload
        "city": "Louisville",
        "region": "KY",
        "postal_code": "40202",
        "country": "US",
        "phone": "+1(502)-459-2181",
    }
    assert order["billing_country"] == "US"
    assert [(li["platform_sku"], li["listing_id"], li["title"]) for li in order["lines"]] == [
        ("IPOD2008GREEN", "39072856", "IPod Nano - 8gb - green"),
        ("IPOD2008RED", "49148385", "IPod Nano - 8gb - red"),
        ("IPOD2008BLACK", "457924702", "IPod Nano - 8gb - black"),
    ]
    assert [(li["quantity"], li["unit_price"], li["discount"], li["tax"]) for li in order["lines"]] == [
        (1, 19900, 334, 398),
        (1, 19900, 333, 398),
        (1, 19900, 333, 398),
    ]
    # TENOFF is spread over the lines, so no order discount is left over
    assert (order["shipping_total"], order["discount_total"], order["tax_total"], order["total"]) == (
        0,
        0,
        1194,
        59894,
    )
    assert (order["buyer_remark"], order["tags"]) == (None, [])


def test_the_webhook_sample() -> None:
    order = normalized(WEBHOOK)

    assert order["external_id"] == "820982911946154500"  # rounded by JavaScript before it was captured
    assert order["placed_at"] == datetime(2020, 9, 10, 8, 26, 51, tzinfo=UTC)  # 04:26:51-04:00
    assert (order["cancelled"], order["payment_status"]) == (True, "failed")  # voided
    assert order["platform_status"] == "pending/voided"
    assert [(li["platform_sku"], li["listing_id"]) for li in order["lines"]] == [
        ("SKU2006-001", None),  # a line without a variant is known by its SKU
        ("SKU2006-020", None),
    ]
    assert [li["discount"] for li in order["lines"]] == [0, 500]
    assert (order["shipping_total"], order["discount_total"], order["total"]) == (1000, 0, 25498)
    assert order["buyer"]["name"] == "John Smith" and order["buyer"]["email"] == "jon@doe.ca"
    assert order["shipping_address"]["name"] == "Steve Shipper"


def test_ids_past_2_to_the_53_stay_exact() -> None:
    payload = json.loads(
        json.dumps(LISTED[0])
        .replace('"id": 450789469', '"id": 9223372036854775807')
        .replace('"variant_id": 39072856', '"variant_id": 9007199254740993')
    )
    order = normalized(payload)
    assert order["external_id"] == "9223372036854775807"
    assert order["lines"][0]["listing_id"] == "9007199254740993"


def test_ids_past_64_bits_stay_exact_and_a_float_id_is_refused() -> None:
    payload = json.loads(json.dumps(LISTED[0]).replace('"id": 450789469', f'"id": {2**70}'))
    assert normalized(payload)["external_id"] == "1180591620717411303424"

    # A float has lost digits: as text it would be another order's id.
    with pytest.raises(ValueError, match="not a Shopify id"):
        map_order({**payload, "id": float(2**70)}, "shopify-us")
    with pytest.raises(ValueError, match="not a Shopify id"):
        map_order({**payload, "customer": {**payload["customer"], "id": 1.5}}, "shopify-us")


def _with_amounts(currency: str, amount: str) -> dict[str, Any]:
    """The listed sample in another currency, with every amount (all its *_set) set to ``amount``."""
    payload = copy.deepcopy(LISTED[0])
    payload["currency"] = currency

    def visit(node: Any) -> None:
        if isinstance(node, dict):
            if "shop_money" in node:
                node["shop_money"] = {"amount": amount, "currency_code": currency}
            for value in node.values():
                visit(value)
        elif isinstance(node, list):
            for value in node:
                visit(value)

    visit(payload)
    return payload


@pytest.mark.parametrize(
    ("currency", "amount", "minor"),
    [("JPY", "1500", 1500), ("JPY", "1500.00", 1500), ("KWD", "1.250", 1250), ("EUR", "0.10", 10)],
)
def test_amounts_use_the_currencys_exponent(currency: str, amount: str, minor: int) -> None:
    order = normalized(_with_amounts(currency, amount))
    assert order["currency"] == currency
    assert order["total"] == minor and order["lines"][0]["unit_price"] == minor


def test_amounts_finer_than_the_currency_are_refused() -> None:
    with pytest.raises(ValueError, match="more decimals"):
        map_order(_with_amounts("JPY", "1500.5"), "s")
    with pytest.raises(ValueError, match="not a decimal"):
        map_order(_with_amounts("USD", "ten"), "s")


@pytest.mark.parametrize("missing", ["id", "currency", "created_at", "total_price_set"])
def test_a_payload_without_the_essentials_is_refused(missing: str) -> None:
    payload = copy.deepcopy(LISTED[0])
    del payload[missing]
    if missing == "total_price_set":
        del payload["total_price"]
    with pytest.raises(ValueError):
        map_order(payload, "s")


def test_blank_skus_tags_and_notes() -> None:
    payload = copy.deepcopy(LISTED[0])
    payload["line_items"][0]["sku"] = ""
    payload["tags"] = " wholesale,, rush , "
    payload["note"] = "  please gift wrap "
    order = normalized(payload)
    assert order["lines"][0]["platform_sku"] is None and order["lines"][0]["listing_id"] == "39072856"
    assert order["tags"] == ["wholesale", "rush"]
    assert order["buyer_remark"] == "please gift wrap"


def test_an_order_that_ships_nothing_is_addressed_to_the_billing_address() -> None:
    payload = copy.deepcopy(WEBHOOK)
    payload["shipping_address"] = None
    assert normalized(payload)["shipping_address"]["line1"] == "123 Billing Street"


@pytest.mark.parametrize(("financial_status", "expected"), [*PAYMENT_STATUS.items(), (None, "pending")])
def test_financial_status(financial_status: str | None, expected: str) -> None:
    assert map_order({**LISTED[0], "financial_status": financial_status}, "s")["payment_status"] == expected


def test_sandbox_orders_map_and_add_up_to_their_total() -> None:
    store = new_store()
    payload = place(store, discount="10.00", tax_rate="0.06", shipping_price="4.90", tags=["a", "b"])
    store.close()
    order = normalized(payload)
    assert amounts(order) == (10970, 12118)
    assert order["total"] == 12118 and order["tags"] == ["a", "b"]
    assert [li["platform_sku"] for li in order["lines"]] == ["SHIRT-S", "SHIRT-M"]


# --- what the shop already shipped ----------------------------------------------------------------------


def test_the_listed_samples_failed_fulfillment_ships_nothing() -> None:
    """The sample's only fulfillment has status "failure": nothing left the building."""
    assert LISTED[0]["fulfillments"][0]["status"] == "failure"
    assert [line["shipped"] for line in normalized(LISTED[0])["lines"]] == [0, 0, 0]


def test_successful_fulfillments_count_per_line() -> None:
    payload = copy.deepcopy(LISTED[0])
    payload["fulfillments"][0]["status"] = "success"  # the sample's fulfillment of its first line
    payload["fulfillment_status"] = "partial"
    twice = copy.deepcopy(payload["fulfillments"][0])
    payload["fulfillments"].append(twice)  # more than the line's quantity is never counted
    lines = normalized(payload)["lines"]
    assert [(line["quantity"], line["shipped"]) for line in lines] == [(1, 1), (1, 0), (1, 0)]


def test_without_its_fulfillments_a_fulfilled_line_counts_as_shipped() -> None:
    payload = copy.deepcopy(LISTED[0])
    del payload["fulfillments"]
    payload["line_items"][1]["fulfillment_status"] = "fulfilled"
    assert [line["shipped"] for line in normalized(payload)["lines"]] == [0, 1, 0]


# --- shipments and their tracking -----------------------------------------------------------------------

CREATED_FULFILLMENT = sample("fulfillment_create_response.json")["fulfillment"]


def test_the_listed_samples_failed_fulfillment_is_no_shipment() -> None:
    assert normalized(LISTED[0])["shipments"] == []


def test_a_successful_fulfillment_is_a_shipment_with_carrier_tracking_and_time() -> None:
    payload = copy.deepcopy(LISTED[0])
    payload["fulfillments"].append(CREATED_FULFILLMENT)  # as Shopify lists it once it is created

    assert normalized(payload)["shipments"] == [
        {
            "carrier": "UPS",
            "tracking_number": "1Z001985YW99744790",
            "tracking_url": "https://www.ups.com/WebTracking?loc=en_US&requester=ST&trackNums=1Z001985YW99744790",
            "shipped_at": datetime(2024, 1, 2, 14, 1, 51, tzinfo=UTC),  # 09:01:51-05:00
        }
    ]


def test_each_tracking_number_of_a_fulfillment_is_a_shipment_and_one_without_is_still_sent() -> None:
    several = copy.deepcopy(LISTED[0]["fulfillments"][0])  # the sample's USPS fulfillment
    several |= {"status": "success", "tracking_numbers": ["9400 1", "9400 2"], "tracking_urls": []}
    untracked = copy.deepcopy(CREATED_FULFILLMENT)
    untracked |= {"tracking_company": None, "tracking_number": None, "tracking_numbers": []}
    untracked |= {"tracking_url": None, "tracking_urls": []}
    payload = copy.deepcopy(LISTED[0]) | {"fulfillments": [several, untracked]}

    shipments = normalized(payload)["shipments"]

    assert shipments is not None
    assert [(s["carrier"], s["tracking_number"], s["tracking_url"]) for s in shipments] == [
        ("USPS", "9400 1", None),  # urls that do not pair with the numbers are not guessed
        ("USPS", "9400 2", None),
        (None, None, None),
    ]
    assert shipments[2]["shipped_at"] == datetime(2024, 1, 2, 14, 1, 51, tzinfo=UTC)


def test_a_payload_without_fulfillments_says_nothing_of_shipments() -> None:
    payload = copy.deepcopy(LISTED[0])
    del payload["fulfillments"]
    assert normalized(payload)["shipments"] is None


def test_an_order_left_the_hubs_shelves_when_every_parcel_came_from_its_location() -> None:
    payload = copy.deepcopy(LISTED[0])
    (fulfillment,) = payload["fulfillments"]
    assert (fulfillment["status"], fulfillment["location_id"]) == ("failure", 655441491)
    # The published parcel failed: nothing left from anywhere, so nothing says another location.
    assert map_order(payload, "shopify-us", 1)["shipped_from_stock"] is True
    fulfillment["status"] = "success"
    assert map_order(payload, "shopify-us", 655441491)["shipped_from_stock"] is True
    assert map_order(payload, "shopify-us", "655441491")["shipped_from_stock"] is True
    assert map_order(payload, "shopify-us", 1)["shipped_from_stock"] is False
    assert map_order(payload, "shopify-us")["shipped_from_stock"] is True  # no location set: in doubt
    fulfillment["location_id"] = None
    assert map_order(payload, "shopify-us", 1)["shipped_from_stock"] is True
