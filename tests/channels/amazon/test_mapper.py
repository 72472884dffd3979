"""The pure Amazon mapper on the published SP-API samples."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import TypeAdapter

from orderly.channels.amazon import mapper
from orderly.orders.schemas import NormalizedOrder, amounts
from tests.sandbox.amazon.support import sample

NORMALIZED: TypeAdapter[NormalizedOrder] = TypeAdapter(NormalizedOrder)

ADDRESS = {
    "Name": "Michigan address",
    "AddressLine1": "1 Cross St.",
    "City": "Canton",
    "StateOrRegion": "MI",
    "PostalCode": "48817",
    "CountryCode": "US",
}


def orders(name: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = sample(name)["payload"]["Orders"]
    return found


def items(name: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = sample(name)["payload"]["OrderItems"]
    return found


def normalized(order: dict[str, Any], order_items: list[dict[str, Any]]) -> NormalizedOrder:
    assert mapper.missing(order, order_items) is None
    return NORMALIZED.validate_python(mapper.map_order("amazon-us", order, order_items))


def test_unshipped_sample_with_its_items() -> None:
    """The sandbox's TEST_CASE_200 order and items belong together (902-1845936-5435065)."""
    order = orders("orders_list_response_sandbox_TEST_CASE_200.json")[0]
    order_items = items("order_items_response_sandbox_TEST_CASE_200.json")
    # Without a Restricted Data Token Amazon shows no shipping address: the order is sold all the
    # same, so it maps (and the hub holds it until its address is complete).
    assert mapper.missing(order, order_items) is None
    assert set(normalized(order, order_items)["shipping_address"].values()) == {None}

    result = normalized({**order, "ShippingAddress": order["DefaultShipFromLocationAddress"]}, order_items)
    assert result["external_id"] == "902-1845936-5435065"
    assert result["placed_at"] == datetime(1970, 1, 19, 3, 58, 30, tzinfo=UTC)
    assert result["updated_at"] == datetime(1970, 1, 19, 3, 58, 32, tzinfo=UTC)
    assert (
        result["placed_at"].utcoffset() is not None and result["placed_at"].utcoffset().total_seconds() == 0
    )  # type: ignore[union-attr]
    assert (result["currency"], result["payment_status"], result["cancelled"]) == ("USD", "paid", False)
    assert result["platform_status"] == "Unshipped"
    [line] = result["lines"]
    assert line == {
        "platform_sku": "NABetaASINB00551Q3CS",
        "listing_id": "B00551Q3CS",
        "title": "B00551Q3CS [Card Book]",
        "quantity": 1,
        "shipped": 0,
        "unit_price": 1000,
        "discount": 0,
        "tax": 101,
    }
    assert (result["shipping_total"], result["tax_total"], result["total"]) == (0, 101, 1101)
    assert amounts(result) == (1000, 1101)
    assert result["shipping_address"]["phone"] == "+1 480-386-0930 ext. 73824"
    assert result["shipping_address"]["postal_code"] == "98121-2778"
    # "IsBuyerRequestedCancel": "true" is a string: the request is kept, the order is not cancelled.
    assert mapper.CANCEL_REQUESTED in result["tags"]
    assert result["buyer_remark"] == "Buyer asked to cancel: Found cheaper somewhere else."
    assert result["raw"] == {
        "order": {**order, "ShippingAddress": order["DefaultShipFromLocationAddress"]},
        "items": order_items,
    }


def test_pending_doc_example_with_an_address_maps_as_unpaid() -> None:
    """The doc example shows a Pending order with an address, buyer info and no OrderTotal; the
    currency then comes from the items."""
    [order] = orders("orders_list_response_doc_example.json")
    order_items = items("order_items_response_sandbox_TEST_CASE_200.json")
    result = normalized(order, order_items)
    assert (result["payment_status"], result["platform_status"], result["total"]) == (
        "pending",
        "Pending",
        None,
    )
    assert result["currency"] == "USD"
    assert result["buyer"] == {
        "name": "John Doe",
        "email": "user@example.com",
        "phone": None,
        "platform_id": None,
    }
    assert result["shipping_address"] == {
        "name": "Michigan address",
        "line1": "1 Cross St.",
        "line2": None,
        "city": "Canton",
        "region": "MI",
        "postal_code": "48817",
        "country": "US",
        "phone": None,
    }
    assert result["payment_method"] == "Other"


@pytest.mark.parametrize(
    "name",
    [
        "orders_list_response_sandbox_page1_with_NextToken.json",
        "orders_list_response_sandbox_page2_last.json",
    ],
)
def test_pending_orders_wait_for_their_prices_not_for_an_address(name: str) -> None:
    order_items = items("order_items_response_sandbox_TEST_CASE_200.json")
    unpriced = [{k: v for k, v in item.items() if k != "ItemPrice"} for item in order_items]
    for order in orders(name):
        assert order["OrderStatus"] == "Pending"
        assert "no item prices yet" in (mapper.missing(order, unpriced) or "")
        assert mapper.version(order) == "2017-01-20T19:49:35.000000Z"
        result = normalized(order, order_items)
        assert result["payment_status"] == "pending"
        assert result["shipping_address"]["line1"] is None


def test_every_sample_order_is_either_mapped_or_explained() -> None:
    order_items = items("order_items_response_sandbox_TEST_CASE_200.json")
    for name in (
        "orders_list_response_doc_example.json",
        "orders_list_response_sandbox_TEST_CASE_200.json",
        "orders_list_response_sandbox_page1_with_NextToken.json",
        "orders_list_response_sandbox_page2_last.json",
    ):
        for order in orders(name):
            reason = mapper.missing(order, order_items)
            if reason is None:
                normalized(order, order_items)
            else:
                assert order["AmazonOrderId"] in reason
                with pytest.raises(ValueError, match=order["AmazonOrderId"]):
                    mapper.map_order("amazon-us", order, order_items)


def test_doc_example_items_in_yen_with_cents_are_refused() -> None:
    """The doc example prices JPY items at "25.99": yen have no minor unit, so it is refused, not rounded."""
    [order] = orders("orders_list_response_doc_example.json")
    order_items = items("order_items_response_doc_example.json")
    assert all(mapper.is_true(i["BuyerRequestedCancel"]["IsBuyerRequestedCancel"]) for i in order_items)
    with pytest.raises(ValueError, match=r"25\.99 JPY is finer than the currency's minor unit"):
        mapper.map_order("amazon-jp", order, order_items)

    whole_yen = copy.deepcopy(order_items)
    for item, amount in zip(whole_yen, ("2599.00", "1795"), strict=True):
        item["ItemPrice"]["Amount"] = amount
        item.pop("ShippingPrice", None)
    result = normalized(order, whole_yen)
    assert result["currency"] == "JPY"
    # 1795 yen for two does not divide: the unit price rounds up and the yen left over is a discount.
    assert [(ln["quantity"], ln["unit_price"], ln["discount"]) for ln in result["lines"]] == [
        (1, 2599, 0),
        (2, 898, 1),
    ]
    assert amounts(result)[0] == 2599 + 1795


def test_amounts_become_minor_units() -> None:
    [order] = orders("orders_list_response_doc_example.json")
    order = {**order, "OrderTotal": {"CurrencyCode": "USD", "Amount": "34.46"}, "IsPrime": True}
    item = {
        "ASIN": "B000MUG001",
        "SellerSKU": "MUG-1",
        "OrderItemId": "1",
        "QuantityOrdered": 3,
        "ItemPrice": {"CurrencyCode": "USD", "Amount": "30.00"},
        "ItemTax": {"CurrencyCode": "USD", "Amount": "1.95"},
        "PromotionDiscount": {"CurrencyCode": "USD", "Amount": "3.00"},
        "ShippingPrice": {"CurrencyCode": "USD", "Amount": "5.99"},
        "ShippingTax": {"CurrencyCode": "USD", "Amount": "0.52"},
        "ShippingDiscount": {"CurrencyCode": "USD", "Amount": "1.00"},
        "BuyerRequestedCancel": {"IsBuyerRequestedCancel": "false", "BuyerCancelReason": ""},
    }
    cancelled_item = {**item, "OrderItemId": "2", "SellerSKU": "CAP-1", "QuantityOrdered": 0}
    result = normalized(order, [item, cancelled_item])
    [line] = result["lines"]
    assert (line["unit_price"], line["discount"], line["tax"]) == (1000, 300, 195)
    assert (result["shipping_total"], result["tax_total"], result["discount_total"]) == (599, 247, 100)
    assert amounts(result) == (2700, 3446)  # 27.00 + 5.99 + 2.47 - 1.00, as Amazon's total says
    assert result["tags"] == [mapper.PRIME]  # "false" as a string is not a cancellation request
    assert result["buyer_remark"] is None

    with pytest.raises(ValueError, match="in EUR, the order in USD"):
        mapper.map_order("amazon-us", order, [{**item, "ItemTax": {"CurrencyCode": "EUR", "Amount": "1.95"}}])
    with pytest.raises(ValueError, match="no decimal Amount"):
        mapper.map_order("amazon-us", order, [{**item, "ItemTax": {"CurrencyCode": "USD", "Amount": "n/a"}}])
    # A malformed quantity is not taken for a cancelled item: the order is ready, and mapping says why not.
    assert mapper.missing(order, [{**item, "QuantityOrdered": "3"}]) is None
    with pytest.raises(ValueError, match="QuantityOrdered is not a positive count"):
        mapper.map_order("amazon-us", order, [{**item, "QuantityOrdered": "3"}])
    assert "no items with a quantity" in (mapper.missing(order, [cancelled_item]) or "")
    assert "no item prices" in (
        mapper.missing(order, [{k: v for k, v in item.items() if k != "ItemPrice"}]) or ""
    )


def test_address_lines_and_restricted_addresses() -> None:
    [order] = orders("orders_list_response_doc_example.json")
    order_items = items("order_items_response_sandbox_TEST_CASE_200.json")
    # Amazon sometimes leaves AddressLine1 empty and puts the street further down.
    shifted = {**ADDRESS, "AddressLine1": "", "AddressLine2": "Suite 5", "AddressLine3": "1 Cross St."}
    address = normalized({**order, "ShippingAddress": shifted}, order_items)["shipping_address"]
    assert (address["line1"], address["line2"]) == ("Suite 5", "1 Cross St.")
    # What getOrders shows without a Restricted Data Token: no name, no street. It is kept as shown.
    restricted = {"City": "Canton", "StateOrRegion": "MI", "PostalCode": "48817", "CountryCode": "US"}
    assert mapper.missing({**order, "ShippingAddress": restricted}, order_items) is None
    address = normalized({**order, "ShippingAddress": restricted}, order_items)["shipping_address"]
    assert (address["name"], address["line1"], address["city"], address["country"]) == (
        None,
        None,
        "Canton",
        "US",
    )


def test_versions_compare_as_text_in_time_order() -> None:
    stamps = [
        "2017-01-20T19:49:35Z",
        "2017-01-20T19:49:35.001Z",
        "2017-01-20T19:49:36Z",
        "2017-01-20T19:49:36.5Z",
    ]
    versions = [mapper.version({"LastUpdateDate": s}) for s in stamps]
    assert versions == sorted(versions)
    assert len(set(versions)) == 4
    assert mapper.amazon_time(datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)) == "2026-01-02T03:04:05.678Z"


def test_stock_patch_body() -> None:
    body = mapper.patch_quantity(20)
    assert body["productType"] == "PRODUCT"
    merge = sample("listings_patch_quantity_request_merge.json")["patches"][0]
    assert body["patches"] == [{**merge, "op": "replace"}]


# --- orders the platform shipped, cancelled or fulfils itself ----------------------------------------


def _whole_yen_doc_items() -> list[dict[str, Any]]:
    order_items = copy.deepcopy(items("order_items_response_doc_example.json"))
    for item, amount in zip(order_items, ("2599.00", "1795"), strict=True):
        item["ItemPrice"]["Amount"] = amount
        item.pop("ShippingPrice", None)
    return order_items


def test_quantity_shipped_of_the_doc_example_is_kept_per_line() -> None:
    """The doc example's first item shows QuantityShipped 1 of 1, the second null of 2."""
    [order] = orders("orders_list_response_doc_example.json")
    partly = {**order, "OrderStatus": "PartiallyShipped", "ShippingAddress": ADDRESS}
    result = normalized(partly, _whole_yen_doc_items())
    assert [(ln["quantity"], ln["shipped"]) for ln in result["lines"]] == [(1, 1), (2, 0)]
    assert result["fulfillment"] == "merchant"

    shipped = normalized({**partly, "OrderStatus": "Shipped"}, _whole_yen_doc_items())
    assert [(ln["quantity"], ln["shipped"]) for ln in shipped["lines"]] == [(1, 1), (2, 2)]


def test_an_fba_order_is_fulfilled_by_the_platform() -> None:
    [order] = orders("orders_list_response_sandbox_TEST_CASE_200.json")[:1]
    order_items = items("order_items_response_sandbox_TEST_CASE_200.json")
    assert normalized(order, order_items)["fulfillment"] == "merchant"  # MFN
    assert normalized({**order, "FulfillmentChannel": "AFN"}, order_items)["fulfillment"] == "platform"


def test_an_order_first_seen_cancelled_maps_without_address_or_prices() -> None:
    """Amazon drops the address of a Canceled order, and one cancelled before payment shows no prices:
    it still maps, cancelled, its currency from its marketplace."""
    [order] = orders("orders_list_response_sandbox_TEST_CASE_200.json")[:1]
    cancelled = {k: v for k, v in order.items() if k != "OrderTotal"} | {"OrderStatus": "Canceled"}
    unpriced = [
        {k: v for k, v in item.items() if k not in ("ItemPrice", "ItemTax", "PromotionDiscount")}
        | {"QuantityOrdered": 0}
        for item in items("order_items_response_sandbox_TEST_CASE_200.json")
    ]
    assert "ShippingAddress" not in cancelled
    result = normalized(cancelled, unpriced)
    assert (result["cancelled"], result["cancel_requested"], result["currency"]) == (True, False, "USD")
    assert [(ln["quantity"], ln["unit_price"]) for ln in result["lines"]] == [(0, 0)]
    assert set(result["shipping_address"].values()) == {None}

    unknown_market = {**cancelled, "MarketplaceId": "NOT-A-MARKETPLACE"}
    assert "shows no currency" in (mapper.missing(unknown_market, unpriced) or "")


def test_a_buyers_cancel_request_is_a_cancel_request() -> None:
    """TEST_CASE_200's item says IsBuyerRequestedCancel "true" (a string)."""
    [order] = orders("orders_list_response_sandbox_TEST_CASE_200.json")[:1]
    order_items = items("order_items_response_sandbox_TEST_CASE_200.json")
    assert normalized(order, order_items)["cancel_requested"] is True
    withdrawn = [{k: v for k, v in item.items() if k != "BuyerRequestedCancel"} for item in order_items]
    assert normalized(order, withdrawn)["cancel_requested"] is False
