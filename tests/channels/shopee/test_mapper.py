"""The pure mapping of Shopee orders, on the published samples (the malformed one included) and on
what they do not show (two-decimal currencies, every status, Shopee-fulfilled orders)."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
from pydantic import TypeAdapter

from orderly.channels.shopee import mapper
from orderly.channels.shopee.mapper import map_order
from orderly.core import jsontext
from orderly.orders.schemas import NormalizedOrder, amounts

SAMPLES = Path(__file__).parent / "samples"
ORDER = TypeAdapter(NormalizedOrder)


def sample(name: str) -> Any:
    return json.loads((SAMPLES / name).read_text())


DETAIL = sample("get_order_detail_response.json")["response"]["order_list"][0]


def normalized(payload: dict[str, Any]) -> NormalizedOrder:
    return ORDER.validate_python(map_order(payload, "shopee-vn"))


def test_the_published_detail_maps_every_field() -> None:
    order = normalized(DETAIL)

    assert (order["shop"], order["external_id"], order["currency"]) == ("shopee-vn", "2404098R48U37H", "VND")
    assert order["placed_at"] == datetime.fromtimestamp(1712601591, UTC)
    assert order["updated_at"] == datetime(2024, 4, 15, 0, 12, 28, tzinfo=UTC)  # 1713139948
    assert (order["platform_status"], order["payment_status"], order["payment_method"]) == (
        "COMPLETED",
        "paid",
        "Cash on Delivery",
    )
    assert (order["cancelled"], order["cancel_requested"], order["fulfillment"]) == (False, False, "merchant")
    [line] = order["lines"]
    # VND has no minor unit: 48000 VND is 48000; the original price and the flash-sale discount kept.
    assert line == {
        "platform_sku": "QAZ-SADOER-05",
        "listing_id": "23620853561:221404189791",
        "title": line["title"],
        "quantity": 1,
        "shipped": 1,  # COMPLETED: it left
        "returned": 0,
        "unit_price": 300000,
        "discount": 252000,
        "tax": 0,
    }
    item = DETAIL["item_list"][0]
    assert line["title"] == f"{item['item_name']} ({item['model_name']})"
    assert (order["total"], order["shipping_total"], order["tax_total"]) == (32119, 5000, 0)
    subtotal, total = amounts(order)
    assert subtotal + order["shipping_total"] - order["discount_total"] == total == 32119
    assert order["buyer"] == {
        "name": "P******n",
        "email": None,
        "phone": "******64",
        "platform_id": "1170319091",
    }
    assert order["shipping_address"] == {
        "name": "P******n",
        "line1": "Ấp******",
        "line2": "Xã Phong Thạnh Tây B",
        "city": "Huyện Phước Long",
        "region": "Bạc Liêu",
        "postal_code": None,
        "country": "VN",
        "phone": "******64",
    }
    assert order["shipments"] == [
        {
            "carrier": "5-Day Delivery (SPX)",
            "tracking_number": None,
            "tracking_url": None,
            "shipped_at": datetime.fromtimestamp(1712726577, UTC),
        }
    ]
    assert (order["buyer_remark"], order["seller_remark"]) == (None, None)
    assert order["raw"] == DETAIL


def test_the_malformed_published_sample_is_refused_clearly_never_a_crash() -> None:
    text = (SAMPLES / "get_order_detail_response.published.txt").read_bytes()
    with pytest.raises(orjson.JSONDecodeError):
        jsontext.loads(text)
    # What the connector gets from such an answer: see test_connector (a ChannelError, kept on the shop).


@pytest.mark.parametrize(
    ("status", "payment", "cancelled", "requested", "shipped"),
    [
        ("UNPAID", "pending", False, False, 0),
        ("PENDING", "pending", False, False, 0),
        ("READY_TO_SHIP", "paid", False, False, 0),
        ("PROCESSED", "paid", False, False, 0),
        ("RETRY_SHIP", "paid", False, False, 0),
        ("INVOICE_PENDING", "paid", False, False, 0),
        ("SHIPPED", "paid", False, False, 1),
        ("TO_CONFIRM_RECEIVE", "paid", False, False, 1),
        ("COMPLETED", "paid", False, False, 1),
        ("TO_RETURN", "paid", False, False, 1),
        ("IN_CANCEL", "paid", False, True, 0),
        ("CANCELLED", "paid", True, False, 0),
    ],
)
def test_every_status_onto_the_hubs(
    status: str, payment: str, cancelled: bool, requested: bool, shipped: int
) -> None:
    order = normalized({**DETAIL, "order_status": status})
    assert (order["payment_status"], order["cancelled"], order["cancel_requested"]) == (
        payment,
        cancelled,
        requested,
    )
    assert order["lines"][0]["shipped"] == shipped
    assert order["lines"][0]["returned"] == (shipped if status == "TO_RETURN" else 0)
    assert (order["shipments"] is None) == (shipped == 0)


def test_the_published_detail_returned_is_every_unit_back_with_its_shipment() -> None:
    """The published COMPLETED order, as Shopee lists it once the buyer starts a return."""
    order = normalized({**DETAIL, "order_status": "TO_RETURN"})
    assert [(line["quantity"], line["shipped"], line["returned"]) for line in order["lines"]] == [(1, 1, 1)]
    assert order["platform_status"] == "TO_RETURN" and order["shipments"]


def _two_units(status: str) -> dict[str, Any]:
    payload = copy.deepcopy(DETAIL) | {"order_status": status}
    payload["item_list"][0]["model_quantity_purchased"] = 2
    return payload


def _with_return(order: dict[str, Any], status: str, amount: int = 1, **more: Any) -> dict[str, Any]:
    """``order`` with a return of ``amount`` units of its first item beside it, as the connector puts
    get_return_list's entries (``returns``)."""
    item = order["item_list"][0]
    entry = {
        "return_sn": "200203171852695",
        "order_sn": order["order_sn"],
        "status": status,
        "needs_logistics": True,
        "return_solution": 0,
        "create_time": 1713139000,
        "update_time": 1713200000,
        "item": [{"item_id": item["item_id"], "model_id": item["model_id"], "amount": amount}],
        **more,
    }
    return {**order, "returns": [*order.get("returns", []), entry]}


def test_units_back_through_shopees_returns_module_tell_a_part_from_the_whole() -> None:
    order = _two_units("COMPLETED")
    one = normalized(_with_return(order, "ACCEPTED"))
    [line] = one["lines"]
    assert (line["quantity"], line["shipped"], line["returned"]) == (2, 2, 1)
    assert one["tags"] == ["returned"] and one["platform_status"] == "COMPLETED"
    # The order changed when its return did, though its own update_time did not move.
    assert one["updated_at"] == datetime.fromtimestamp(1713200000, UTC)
    assert mapper.changed(_with_return(order, "ACCEPTED")) == 1713200000
    both = _with_return(_with_return(order, "ACCEPTED"), "ACCEPTED", return_sn="200203171852696")
    assert normalized(both)["lines"][0]["returned"] == 2
    # Never more than the line shipped; an item the order does not have gives nothing back.
    assert normalized(_with_return(order, "ACCEPTED", amount=5))["lines"][0]["returned"] == 2
    stranger = _with_return(order, "ACCEPTED")
    stranger["returns"][0]["item"][0]["item_id"] = 1
    assert normalized(stranger)["lines"][0]["returned"] == 0
    # Nothing came back: still requested, on its way, in dispute, judged, closed, cancelled, a refund
    # without return (no logistics, or the refund-only solution).
    for status, more in (
        ("REQUESTED", {}),
        ("PROCESSING", {}),
        ("SELLER_DISPUTE", {}),
        ("JUDGING", {}),
        ("CLOSED", {}),
        ("CANCELLED", {}),
        ("ACCEPTED", {"needs_logistics": False}),
        ("ACCEPTED", {"return_solution": 1}),
    ):
        result = normalized(_with_return(order, status, **more))
        assert result["lines"][0]["returned"] == 0 and result["tags"] == [], (status, more)


def test_to_return_is_every_unit_back_only_when_the_returns_module_lists_no_return() -> None:
    order = _two_units("TO_RETURN")
    fallback = normalized(order | {"returns": []})
    assert fallback["lines"][0]["returned"] == 2 and fallback["tags"] == ["returned"]
    # The returns module tells: one unit asked back and not there yet, then one of two accepted.
    assert normalized(_with_return(order, "PROCESSING"))["lines"][0]["returned"] == 0
    assert normalized(_with_return(order, "ACCEPTED"))["lines"][0]["returned"] == 1


def test_an_unknown_status_is_refused() -> None:
    with pytest.raises(ValueError, match="'LOST_IN_SPACE' is not one the hub knows"):
        map_order({**DETAIL, "order_status": "LOST_IN_SPACE"}, "shopee-vn")


def test_two_decimal_currencies_are_scaled_exactly_and_finer_amounts_refused() -> None:
    payload = copy.deepcopy(DETAIL)
    payload |= {
        "currency": "MYR",
        "total_amount": 33.9,
        "estimated_shipping_fee": 4.9,
        "actual_shipping_fee": 4.9,
    }
    payload["item_list"][0] |= {"model_original_price": 29, "model_discounted_price": 29.0}
    order = normalized(payload)
    assert (order["lines"][0]["unit_price"], order["shipping_total"], order["total"]) == (2900, 490, 3390)
    assert order["discount_total"] == 0
    idr = normalized(payload | {"currency": "IDR", "total_amount": 150000})
    assert idr["total"] == 15000000  # IDR's two decimals in the hub; Shopee writes whole rupiah
    with pytest.raises(ValueError, match="more decimals than the currency"):
        map_order(payload | {"total_amount": 33.905}, "shopee-my")
    with pytest.raises(ValueError, match="more decimals than the currency"):
        map_order(payload | {"currency": "VND", "total_amount": 32119.5}, "shopee-vn")


@pytest.mark.parametrize(
    ("currency", "wire", "minor"),
    [
        ("VND", "48000", 48000),  # no minor unit (the published sample's currency)
        ("IDR", "150000", 15000000),  # two decimals in ISO 4217 (core/money.py); Shopee writes whole rupiah
        ("MYR", "19.9", 1990),
        ("SGD", "12.99", 1299),
        ("PHP", "1099.75", 109975),
        ("THB", "349.50", 34950),
    ],
)
def test_each_currency_of_shopees_sites_in_its_minor_units(currency: str, wire: str, minor: int) -> None:
    # The amount as Shopee's JSON writes it (a number, read by a JSON parser: a float for decimals).
    amount = json.loads(f'{{"amount": {wire}}}')["amount"]
    payload = copy.deepcopy(DETAIL)
    payload |= {
        "currency": currency,
        "total_amount": amount,
        "estimated_shipping_fee": amount,
        "actual_shipping_fee": 0,
    }
    payload["item_list"] = [
        payload["item_list"][0]
        | {"model_original_price": amount, "model_discounted_price": amount, "model_quantity_purchased": 1}
    ]
    order = normalized(payload)
    assert order["currency"] == currency
    # The fee Shopee charged (actual, 0 here) wins over the estimate.
    assert (order["lines"][0]["unit_price"], order["shipping_total"], order["total"]) == (minor, 0, minor)
    assert (order["lines"][0]["discount"], order["discount_total"]) == (0, 0)


def test_a_shopee_fulfilled_order_never_takes_the_hubs_stock() -> None:
    assert normalized({**DETAIL, "fulfillment_flag": "fulfilled_by_shopee"})["fulfillment"] == "platform"
    assert normalized({**DETAIL, "fulfillment_flag": "fulfilled_by_cb_seller"})["fulfillment"] == "merchant"


def test_buyer_messages_and_cancellation_reasons_are_remarks() -> None:
    order = normalized(
        {
            **DETAIL,
            "order_status": "IN_CANCEL",
            "message_to_seller": "Please wrap it",
            "cancel_by": "buyer",
            "buyer_cancel_reason": "Need to change delivery address",
            "note": "VIP",
        }
    )
    assert order["buyer_remark"] == "Please wrap it\nCancellation (buyer): Need to change delivery address"
    assert order["seller_remark"] == "VIP"


def test_an_item_without_variations_is_its_item_with_model_0() -> None:
    payload = copy.deepcopy(DETAIL)
    payload["item_list"][0] |= {"model_id": 0, "model_sku": "", "model_name": "", "item_sku": "PLAIN-1"}
    [line] = normalized(payload)["lines"]
    assert (line["listing_id"], line["platform_sku"]) == ("23620853561:0", "PLAIN-1")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"create_time": "2024-04-09"}, "create_time is not Unix seconds"),
        ({"update_time": None}, "update_time is not Unix seconds"),
        ({"total_amount": -1}, "negative"),
        ({"total_amount": True}, "not an amount"),
        ({"currency": None}, "not a Shopee order payload|currency"),
        ({"order_sn": ""}, "order_sn is not an order number"),
    ],
)
def test_payloads_without_the_essentials_are_refused_with_the_reason(
    change: dict[str, Any], message: str
) -> None:
    with pytest.raises((ValueError, KeyError), match=message):
        ORDER.validate_python(map_order({**DETAIL, **change}, "shopee-vn"))


def test_the_detail_fields_asked_for_cover_what_is_mapped() -> None:
    asked = set(mapper.DETAIL_FIELDS.split(","))
    assert {"item_list", "recipient_address", "package_list", "pay_time", "buyer_cancel_reason"} <= asked
