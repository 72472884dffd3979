"""The eBay mapper against the published getOrders sample, and the states an order takes."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import TypeAdapter

from orderly.channels.ebay import mapper
from orderly.orders.schemas import NormalizedOrder
from tests.channels.ebay.samples import sample, sample_order

NORMALIZED: TypeAdapter[NormalizedOrder] = TypeAdapter(NormalizedOrder)


def mapped(order: dict[str, Any]) -> NormalizedOrder:
    return NORMALIZED.validate_python(mapper.map_order(order, "ebay"))


def eur(value: str) -> dict[str, str]:
    return {"value": value, "currency": "EUR"}


def test_the_published_order_maps_every_field() -> None:
    order = sample_order()
    result = mapper.map_order(order, "ebay")
    assert result["raw"] == order
    checked = NORMALIZED.validate_python(result)
    assert checked["external_id"] == "1********5"
    assert checked["placed_at"] == datetime(2023, 8, 2, 8, 26, 18, tzinfo=UTC)
    assert checked["updated_at"] == datetime(2023, 8, 2, 8, 35, 1, tzinfo=UTC)
    # What the buyer paid, in the order's currency; the payout in GBP (convertedFrom EUR) is not it.
    assert checked["currency"] == "EUR"
    assert (checked["total"], checked["shipping_total"], checked["tax_total"]) == (11626, 1626, 0)
    assert checked["discount_total"] == 0
    line = {
        "platform_sku": None,  # a listing made outside the Inventory API has no SKU
        "listing_id": "2********1",
        "title": "OSS:UK Bus Seller-IT Loc-Price 123-Regular-SellerVat23%",
        "quantity": 1,
        "shipped": 0,
        "unit_price": 10000,
        "discount": 0,
        "tax": 0,  # the VAT eBay collects and remits is not the seller's
    }
    assert checked["lines"] == [
        line,
        {**line, "listing_id": "95********1", "title": "New " + line["title"]},  # type: ignore[operator]
    ]
    assert (checked["payment_status"], checked["platform_status"]) == ("paid", "NOT_STARTED/PAID")
    assert (checked["cancelled"], checked["cancel_requested"], checked["fulfillment"]) == (
        False,
        False,
        "merchant",
    )
    assert checked["payment_method"] == "EBAY"
    assert checked["buyer"] == {
        "name": "q********r",
        "email": "2********@********.com",
        "phone": "********",
        "platform_id": "e********7",
    }
    assert checked["shipping_address"] == {
        "name": "B********y",
        "line1": "C********7",
        "line2": None,
        "city": "A********e",
        "region": "M********d",
        "postal_code": "2***9",
        "country": "ES",
        "phone": None,  # primaryPhone is {}
    }
    assert checked["billing_country"] == "BE"
    assert (checked["buyer_remark"], checked["seller_remark"]) == (None, None)
    assert checked["tags"] == ["ebay-collects-tax"]
    assert checked["shipments"] is None  # nothing has left yet


def test_the_version_is_the_last_modification_in_one_width() -> None:
    assert mapper.version(sample_order()) == "2023-08-02T08:35:01.000000Z"
    later = sample_order(lastModifiedDate="2023-08-02T10:35:01.5+02:00")
    assert mapper.version(later) == "2023-08-02T08:35:01.500000Z"
    assert mapper.version(later) > mapper.version(sample_order())
    with pytest.raises(ValueError, match="lastModifiedDate"):
        mapper.version(sample_order(lastModifiedDate="2023-08-02 08:35"))


@pytest.mark.parametrize(
    ("state", "cancelled", "asked"),
    [("NONE_REQUESTED", False, False), ("IN_PROGRESS", False, True), ("CANCELED", True, False)],
)
def test_the_cancel_state_onto_the_hub(state: str, cancelled: bool, asked: bool) -> None:
    order = mapped(sample_order(cancelStatus={"cancelState": state, "cancelRequests": []}))
    assert (order["cancelled"], order["cancel_requested"]) == (cancelled, asked)
    assert ("cancel-requested" in order["tags"]) is asked
    assert (order["buyer_remark"] == "Buyer asked to cancel on eBay") is asked


@pytest.mark.parametrize(
    ("status", "hub"),
    [
        ("PAID", "paid"),
        ("PENDING", "pending"),
        ("FAILED", "failed"),
        ("FULLY_REFUNDED", "refunded"),
        ("PARTIALLY_REFUNDED", "partially_refunded"),
        ("SOMETHING_NEW", "pending"),
    ],
)
def test_every_payment_status_onto_the_hub(status: str, hub: str) -> None:
    assert mapped(sample_order(orderPaymentStatus=status))["payment_status"] == hub


def test_units_in_shipping_fulfillments_count_as_shipped_with_their_tracking() -> None:
    order = sample_order(orderFulfillmentStatus="IN_PROGRESS")
    first, second = order["lineItems"]
    second["quantity"] = 3
    second["lineItemCost"] = eur("300.0")
    order[mapper.FULFILLMENTS] = [
        {
            "fulfillmentId": "9405509699937003457459",
            "shipmentTrackingNumber": "H1000",
            "shippingCarrierCode": "Hermes",
            "shippedDate": "2023-08-03T10:00:00.000Z",
            "lineItems": [
                {"lineItemId": first["lineItemId"]},
                {"lineItemId": second["lineItemId"], "quantity": 2},
            ],
        },
        {"fulfillmentId": "2", "lineItems": [{"lineItemId": second["lineItemId"], "quantity": 5}]},
    ]
    checked = mapped(order)
    assert [(line["quantity"], line["shipped"]) for line in checked["lines"]] == [(1, 1), (3, 3)]
    assert checked["shipments"] == [
        {
            "carrier": "Hermes",
            "tracking_number": "H1000",
            "tracking_url": None,
            "shipped_at": datetime(2023, 8, 3, 10, tzinfo=UTC),
        }
    ]
    assert mapper.needs_fulfillments(order) and not mapper.needs_fulfillments(sample_order())


def test_a_fulfilled_line_item_is_shipped_whole_before_its_fulfillments_are_read() -> None:
    order = sample_order()
    order["lineItems"][0]["lineItemFulfillmentStatus"] = "FULFILLED"
    assert [line["shipped"] for line in mapped(order)["lines"]] == [1, 0]
    assert mapper.needs_fulfillments(order)


def test_line_amounts_are_exact_minor_units() -> None:
    order = sample_order(buyerCheckoutNotes="  Please gift wrap  ")
    item = order["lineItems"][0]
    item.update(
        quantity=3,
        lineItemCost=eur("10.00"),  # 3.33... a unit: priced up to 3.34, 0.02 given back
        sku="MUG-1",
        appliedPromotions=[{"discountAmount": eur("1.50"), "promotionId": "P1"}],
        taxes=[{"amount": eur("0.70"), "taxType": "STATE_SALES_TAX"}],
    )
    order["pricingSummary"]["deliveryDiscount"] = eur("-2.00")
    order["pricingSummary"]["tax"] = eur("0.70")
    checked = mapped(order)
    line = checked["lines"][0]
    assert (line["platform_sku"], line["unit_price"], line["discount"], line["tax"]) == (
        "MUG-1",
        334,
        152,
        70,
    )
    assert line["unit_price"] * line["quantity"] - line["discount"] == 1000 - 150
    assert (checked["discount_total"], checked["tax_total"]) == (200, 70)
    assert checked["buyer_remark"] == "Please gift wrap"


@pytest.mark.parametrize(
    ("amount", "message"),
    [
        ({"value": "10.001", "currency": "EUR"}, "finer than"),
        ({"value": "ten", "currency": "EUR"}, "not a decimal"),
        ({"value": "10.00", "currency": "GBP"}, "in GBP, the order in EUR"),
        ("10.00", "not an amount object"),
    ],
)
def test_amounts_that_cannot_be_read_exactly_are_refused(amount: Any, message: str) -> None:
    order = sample_order()
    order["lineItems"][0]["lineItemCost"] = amount
    with pytest.raises(ValueError, match=message):
        mapper.map_order(order, "ebay")


def test_a_currency_without_minor_units_keeps_whole_amounts() -> None:
    order = sample_order()
    for place in (order["pricingSummary"], *order["lineItems"]):
        for key, value in list(place.items()):
            if isinstance(value, dict) and "currency" in value:
                place[key] = {"value": "1500", "currency": "JPY"}
    checked = mapped(order)
    assert checked["currency"] == "JPY" and checked["total"] == 1500
    assert checked["lines"][0]["unit_price"] == 1500


def test_managed_shipping_pickup_and_digital_orders_are_tagged() -> None:
    order = sample_order()
    order["fulfillmentStartInstructions"][0]["ebaySupportedFulfillment"] = True
    assert "ebay-managed-shipping" in mapped(order)["tags"]
    pickup = sample_order(ebayCollectAndRemitTax=False)
    pickup["fulfillmentStartInstructions"] = [{"fulfillmentInstructionsType": "PREPARE_FOR_PICKUP"}]
    checked = mapped(pickup)
    assert checked["tags"] == ["pickup"] and checked["shipping_address"]["line1"] is None


@pytest.mark.parametrize(
    "changes",
    [{"orderId": None}, {"lineItems": []}, {"pricingSummary": {}}, {"creationDate": "yesterday"}],
)
def test_an_order_without_its_essentials_is_refused(changes: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        mapper.map_order(sample_order(**changes), "ebay")


def test_the_sample_page_links_its_next_page_by_offset() -> None:
    page = sample()
    assert (page["offset"], page["limit"], page["total"]) == (0, 200, 2190)
    assert page["next"].endswith("offset=200")


@pytest.mark.parametrize(
    ("carrier", "code"),
    [
        ("UPS", "UPS"),
        ("DHL Express", "DHL"),
        ("Royal Mail", "RoyalMail"),
        ("Evri", "Hermes"),
        ("Acme", "Other"),
    ],
)
def test_carriers_are_named_by_ebays_codes(carrier: str, code: str) -> None:
    assert mapper.carrier_code(carrier) == code


def test_times_are_written_as_ebay_filters_take_them() -> None:
    moment = datetime(2026, 12, 4, 7, 5, 3, 123456, tzinfo=UTC)
    assert mapper.stamp(moment) == "2026-12-04T07:05:03.123Z"
