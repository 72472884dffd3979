"""Carrier names to each platform's codes: pure tables, checked against the platforms' published
samples, and the write-back requests each connector makes have the samples' shape."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from orderly.channels.amazon import mapper as amazon_mapper
from orderly.channels.amazon.connector import AmazonConnector
from orderly.channels.connector import Parcel, ParcelLine, ShopConnection
from orderly.channels.domain import CARRIER_ALIASES, carrier_key, known_carrier
from orderly.channels.shopify import mapper as shopify_mapper
from orderly.channels.shopify.connector import ShopifyConnector
from tests.sandbox.amazon.support import sample as amazon_sample
from tests.sandbox.shopify.helpers import sample as shopify_sample

SHIPPED_AT = datetime(2022, 2, 11, 1, 0, tzinfo=UTC)


@pytest.mark.parametrize("written", ["UPS", "ups", "United Parcel Service", " U.P.S "])
def test_a_carrier_is_known_however_it_is_written(written: str) -> None:
    assert known_carrier(written) == "ups"


def test_every_alias_is_folded_and_every_carrier_has_a_code_on_each_platform_or_a_fallback() -> None:
    assert all(carrier_key(alias) == alias for alias in CARRIER_ALIASES)
    carriers = set(CARRIER_ALIASES.values())
    assert set(amazon_mapper.CARRIER_CODES) <= carriers
    assert set(shopify_mapper.TRACKING_COMPANIES) <= carriers
    # Every carrier Shopify has no name for is one Amazon does: none is unknown to both.
    assert carriers <= set(amazon_mapper.CARRIER_CODES) | set(shopify_mapper.TRACKING_COMPANIES) | {"cainiao"}


@pytest.mark.parametrize(
    ("ours", "shopify"),
    [("UPS", "UPS"), ("dhl_express", "DHL Express"), ("DHL", "DHL Express"), ("Fedex", "FedEx"),
     ("usps", "USPS"), ("4px", "4PX"), ("YunExpress", "YunExpress"), ("Royal Mail", "Royal Mail"),
     ("Cainiao", "Cainiao"), ("Our Own Van", "Our Own Van"), (None, None)],
)  # fmt: skip
def test_shopify_gets_its_own_spelling_of_known_companies_and_others_as_written(
    ours: str | None, shopify: str | None
) -> None:
    assert shopify_mapper.tracking_company(ours) == shopify


def test_shopifys_sample_company_is_its_own_spelling() -> None:
    company = shopify_sample("fulfillment_create_request.json")["fulfillment"]["tracking_info"]["company"]
    assert shopify_mapper.tracking_company(company.lower()) == company


@pytest.mark.parametrize(
    ("ours", "code", "name"),
    [("FedEx", "FedEx", "FedEx"), ("dhl express", "DHL", "dhl express"), ("UPS", "UPS", "UPS"),
     ("Evri", "Hermes", "Evri"), ("Yanwen", "Yanwen", "Yanwen"), ("Cainiao", "Other", "Cainiao"),
     ("Our Own Van", "Other", "Our Own Van")],
)  # fmt: skip
def test_amazon_gets_its_carrier_code_or_other_with_the_name(ours: str, code: str, name: str) -> None:
    assert amazon_mapper.carrier_fields(ours) == {"carrierCode": code, "carrierName": name}


def test_amazons_sample_carrier_maps_to_itself() -> None:
    package = amazon_sample("confirm_shipment_request_sandbox.json")["packageDetail"]
    fields = amazon_mapper.carrier_fields(package["carrierName"])
    assert fields == {"carrierCode": package["carrierCode"], "carrierName": package["carrierName"]}


def _recording(answers: dict[str, Any]) -> tuple[httpx.Client, list[httpx.Request]]:
    seen: list[httpx.Request] = []

    def platform(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        for suffix, answer in answers.items():
            if request.url.path.endswith(suffix):
                status, body = answer
                return httpx.Response(status, json=body) if body is not None else httpx.Response(status)
        return httpx.Response(404, json={"errors": "Not Found"})

    return httpx.Client(base_url="http://platform", transport=httpx.MockTransport(platform)), seen


def test_the_shopify_fulfillment_has_the_published_requests_shape() -> None:
    listed = shopify_sample("fulfillment_orders_list_response.json")
    listed["fulfillment_orders"][0]["supported_actions"] = ["create_fulfillment"]  # ours, not Shipwire's
    fo_line = listed["fulfillment_orders"][0]["line_items"][0]
    client, seen = _recording(
        {
            "fulfillment_orders.json": (200, listed),
            "fulfillments.json": (201, shopify_sample("fulfillment_create_response.json")),
            "update_tracking.json": (200, shopify_sample("fulfillment_update_tracking_response.json")),
        }
    )
    connection = ShopConnection(1, "shop", "http://platform", {"access_token": "t"}, {})
    shopify = ShopifyConnector(connection, client)
    parcel = Parcel(
        "9", "450789469", "ups", None, "1Z001985YW99744790", None, SHIPPED_AT,
        [ParcelLine(str(fo_line["variant_id"]), None, 1)],
    )  # fmt: skip

    made = shopify.write_back(parcel)

    published = shopify_sample("fulfillment_create_request.json")["fulfillment"]
    sent = json.loads(seen[-1].content)["fulfillment"]
    assert set(sent) == set(published) - {"message"}
    assert sent["tracking_info"] == published["tracking_info"]
    assert sent["line_items_by_fulfillment_order"] == [
        {"fulfillment_order_id": fo_line["fulfillment_order_id"],
         "fulfillment_order_line_items": [{"id": fo_line["id"], "quantity": 1}]}
    ]  # fmt: skip
    assert made.platform_ids == ("1069019875",)

    shopify.write_back(Parcel(**{**parcel.__dict__, "accepted": made.platform_ids}))
    assert seen[-1].url.path.endswith("fulfillments/1069019875/update_tracking.json")
    assert json.loads(seen[-1].content) == {
        **shopify_sample("fulfillment_update_tracking_request.json"),
        "fulfillment": {**shopify_sample("fulfillment_update_tracking_request.json")["fulfillment"],
                        "notify_customer": False},
    }  # fmt: skip


def test_the_amazon_confirmation_has_the_published_requests_shape() -> None:
    items = amazon_sample("order_items_response_sandbox_TEST_CASE_200.json")
    item = items["payload"]["OrderItems"][0]
    item["QuantityShipped"] = 0
    client, seen = _recording(
        {
            "/auth/o2/token": (200, amazon_sample("lwa_token_response_example.json")),
            "/orderItems": (200, items),
            "/shipmentConfirmation": (204, None),
        }
    )
    connection = ShopConnection(
        1, "amazon", "http://platform",
        {"client_id": "c", "client_secret": "s", "refresh_token": "Atzr|r"},
        {"marketplace_id": "ATVPDKIKX0DER", "seller_id": "S"},
    )  # fmt: skip
    amazon = AmazonConnector(connection, client)
    parcel = Parcel(
        "1", items["payload"]["AmazonOrderId"], "FedEx", "FedEx Ground", "112345678", None, SHIPPED_AT,
        [ParcelLine(None, item["SellerSKU"], 1)],
    )  # fmt: skip

    amazon.write_back(parcel)

    published = amazon_sample("confirm_shipment_request_sandbox.json")
    sent = json.loads(seen[-1].content)
    optional = {"shipFromSupplySourceId"}  # a supply source the seller may name; we name none
    assert set(sent) == set(published)
    assert set(sent["packageDetail"]) == set(published["packageDetail"]) - optional
    assert {k: v for k, v in sent["packageDetail"].items() if k != "orderItems"} == {
        k: v for k, v in published["packageDetail"].items() if k not in optional | {"orderItems"}
    }
    assert sent["packageDetail"]["orderItems"] == [{"orderItemId": item["OrderItemId"], "quantity": 1}]
