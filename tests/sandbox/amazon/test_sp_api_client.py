"""The Amazon sandbox driven by python-amazon-sp-api, a client written against the real SP-API: what
that library accepts, pages through or raises on, the sandbox must answer the same way.

The library's endpoint comes from the marketplace it is given and its Login with Amazon URL from its
token client's ``scheme`` and ``host``; both are pointed at the sandbox here, so nothing leaves the
machine. (It has no setting for either: ``AWS_ENV=SANDBOX`` only swaps in Amazon's own sandbox hosts.)
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sp_api.api import ListingsItems, Orders, Sellers
from sp_api.auth import AccessTokenClient
from sp_api.base import ApiResponse
from sp_api.base.credential_provider import FromCodeCredentialProvider
from sp_api.base.exceptions import (
    SellingApiBadRequestException,
    SellingApiForbiddenException,
    SellingApiNotFoundException,
    SellingApiRequestThrottledException,
    SellingApiServerException,
)
from sp_api.util import load_all_pages

from orderly.sandbox.amazon import AmazonStore, Faults, Line, create_app
from tests.sandbox.amazon.support import Switch, sample

SINCE = (datetime.now(UTC) - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class SandboxMarketplace:
    """What the library reads from a ``Marketplaces`` member, with the sandbox's URL as endpoint."""

    endpoint: str
    marketplace_id: str
    region: str = "us-east-1"


@pytest.fixture
def client_options(
    server: tuple[Switch, str], store: AmazonStore, monkeypatch: pytest.MonkeyPatch
) -> Iterator[dict[str, Any]]:
    """Keyword arguments that make any of the library's API clients talk to ``store``."""
    switch, url = server
    switch.app = create_app(store)
    # The library lets this variable override the marketplace it is given, endpoint and all.
    monkeypatch.delenv("SP_API_DEFAULT_MARKETPLACE", raising=False)
    token_client = type(
        "SandboxTokenClient", (AccessTokenClient,), {"scheme": "http://", "host": url.removeprefix("http://")}
    )
    yield {
        "marketplace": SandboxMarketplace(url, store.marketplace_id),
        "credentials": {
            "refresh_token": store.refresh_token,
            "lwa_app_id": store.client_id,
            "lwa_client_secret": store.client_secret,
        },
        "credential_providers": [FromCodeCredentialProvider],  # never the machine's env or config files
        "auth_token_client_class": token_client,
        "timeout": 5,
    }


def paid_orders(store: AmazonStore, count: int) -> list[str]:
    store.add_listing("MUG-1", price="12.50")
    store.add_listing("TEE-1", price="20.00")
    return [
        store.place_order([Line("MUG-1", 1), Line("TEE-1", 2, tax="1.60")], paid=True) for _ in range(count)
    ]


def test_get_orders_pages_with_next_token_to_every_order_once(
    store: AmazonStore, client_options: dict[str, Any]
) -> None:
    placed = paid_orders(store, 5)
    orders = Orders(**client_options)

    @load_all_pages(throttle_by_seconds=0)
    def every_page(**kwargs: Any) -> ApiResponse:
        return orders.get_orders(**kwargs)

    pages = list(every_page(LastUpdatedAfter=SINCE, MaxResultsPerPage=2))

    assert [len(page.payload["Orders"]) for page in pages] == [2, 2, 1]
    assert [o["AmazonOrderId"] for page in pages for o in page.payload["Orders"]] == placed
    assert pages[0].next_token and pages[-1].next_token is None
    assert pages[0].headers["x-amzn-RateLimit-Limit"]
    assert store.tokens_issued == 1  # one LWA exchange, then the library's cached token


def test_get_orders_refusals_raise_the_librarys_bad_request(
    store: AmazonStore, client_options: dict[str, Any]
) -> None:
    orders = Orders(**client_options)
    with pytest.raises(SellingApiBadRequestException) as both:
        orders.get_orders(CreatedAfter=SINCE, LastUpdatedAfter=SINCE)
    assert both.value.amzn_code == "InvalidInput"
    with pytest.raises(SellingApiBadRequestException):
        orders.get_orders(LastUpdatedAfter=SINCE, NextToken="not-a-token")
    # A filter Amazon honours and the sandbox lacks is refused, never ignored (every order would come).
    with pytest.raises(SellingApiBadRequestException) as unsupported:
        orders.get_orders(LastUpdatedAfter=SINCE, BuyerEmail="someone@example.com")
    assert "BuyerEmail" in unsupported.value.error[0]["details"]


def test_get_orders_by_amazon_order_ids(store: AmazonStore, client_options: dict[str, Any]) -> None:
    first, _, third = paid_orders(store, 3)
    chosen = Orders(**client_options).get_orders(LastUpdatedAfter=SINCE, AmazonOrderIds=[first, third])
    assert [o["AmazonOrderId"] for o in chosen.payload["Orders"]] == [first, third]


def test_get_order_items_pages_with_next_token(store: AmazonStore, client_options: dict[str, Any]) -> None:
    (order_id,) = paid_orders(store, 1)
    store.configure(items_page_size=1)
    orders = Orders(**client_options)

    first = orders.get_order_items(order_id)
    second = orders.get_order_items(order_id, NextToken=first.next_token)

    assert second.next_token is None
    items = first.payload["OrderItems"] + second.payload["OrderItems"]
    assert [(i["SellerSKU"], i["QuantityOrdered"]) for i in items] == [("MUG-1", 1), ("TEE-1", 2)]
    assert items[1]["ItemPrice"] == {"CurrencyCode": "USD", "Amount": "40.00"}
    assert orders.get_order(order_id).payload["AmazonOrderId"] == order_id


def test_confirm_shipment_answers_204_and_refuses_a_bad_ship_date(
    store: AmazonStore, client_options: dict[str, Any]
) -> None:
    (order_id,) = paid_orders(store, 1)
    orders = Orders(**client_options)
    items = orders.get_order_items(order_id).payload["OrderItems"]
    package = {
        "packageReferenceId": "1",
        "carrierCode": "UPS",
        "trackingNumber": "1Z999AA10123456784",
        "shipDate": "2026-01-02T10:00:00Z",
        "orderItems": [{"orderItemId": i["OrderItemId"], "quantity": i["QuantityOrdered"]} for i in items],
    }

    with pytest.raises(SellingApiBadRequestException) as refused:
        orders.confirm_shipment(
            order_id, marketplaceId=store.marketplace_id, packageDetail={**package, "shipDate": "yesterday"}
        )
    assert refused.value.amzn_code == "Invalid Input"  # spelt with a space, as the sandbox sample has it
    confirmed = orders.confirm_shipment(order_id, marketplaceId=store.marketplace_id, packageDetail=package)
    assert confirmed.payload == {"status_code": 204}
    assert orders.get_order(order_id).payload["OrderStatus"] == "Shipped"


def quantity_patch(quantity: int, *, op: str = "replace") -> dict[str, Any]:
    return {
        "op": op,
        "path": "/attributes/fulfillment_availability",
        "value": [{"fulfillment_channel_code": "DEFAULT", "quantity": quantity}],
    }


def test_listings_patch_sets_the_quantity_and_takes_several_patches(
    store: AmazonStore, client_options: dict[str, Any]
) -> None:
    store.add_listing("MUG-1")
    listings = ListingsItems(**client_options)

    accepted = listings.patch_listings_item(
        store.seller_id, "MUG-1", body={"productType": "PRODUCT", "patches": [quantity_patch(7)]}
    )
    assert accepted.payload.keys() == sample("listings_patch_response_accepted.json").keys()
    assert (accepted.payload["status"], accepted.payload["issues"]) == ("ACCEPTED", [])
    assert store.quantities() == {"MUG-1": 7}

    price = {
        "op": "replace",
        "path": "/attributes/purchasable_offer",
        "value": [{"currency": "USD", "our_price": [{"schedule": [{"value_with_tax": 11.5}]}]}],
    }
    both = listings.patch_listings_item(
        store.seller_id,
        "MUG-1",
        body={"productType": "PRODUCT", "patches": [price, quantity_patch(3, op="merge")]},
    )
    assert both.payload["status"] == "ACCEPTED"
    assert store.quantities() == {"MUG-1": 3}

    preview = listings.patch_listings_item(
        store.seller_id,
        "MUG-1",
        mode="VALIDATION_PREVIEW",
        body={"productType": "PRODUCT", "patches": [quantity_patch(99)]},
    )
    assert preview.payload["status"] == "ACCEPTED"
    assert store.quantities() == {"MUG-1": 3}  # a preview checks, it does not apply


@pytest.mark.parametrize(
    "body",
    [
        sample("listings_patch_quantity_request_merge.json"),  # the docs' example leaves productType out
        {"productType": "PRODUCT", "patches": []},
        {"productType": "PRODUCT", "patches": [quantity_patch(-1)]},
        {"productType": "PRODUCT", "patches": [{**quantity_patch(1), "path": "/attributes/a/b"}]},
        {"productType": "PRODUCT", "patches": [{**quantity_patch(1), "op": "move"}]},
    ],
    ids=["no-productType", "no-patches", "negative", "nested-path", "unknown-op"],
)
def test_listings_patch_refusals_raise_the_librarys_bad_request(
    store: AmazonStore, client_options: dict[str, Any], body: dict[str, Any]
) -> None:
    store.add_listing("MUG-1")
    with pytest.raises(SellingApiBadRequestException) as refused:
        ListingsItems(**client_options).patch_listings_item(store.seller_id, "MUG-1", body=body)
    assert refused.value.amzn_code == sample("listings_patch_response_400_sandbox.json")["errors"][0]["code"]
    assert store.quantities() == {}


def test_every_error_reaches_the_library_as_its_exception(
    store: AmazonStore, client_options: dict[str, Any]
) -> None:
    orders = Orders(**client_options)
    with pytest.raises(SellingApiNotFoundException) as unknown_order:
        orders.get_order("111-0000000-0000000")
    assert unknown_order.value.amzn_code == "NotFound"

    # A route the sandbox does not serve must fail as loudly as any other error, never pass as success.
    with pytest.raises(SellingApiNotFoundException) as no_route:
        Sellers(**client_options).get_marketplace_participation()
    assert no_route.value.amzn_code == "NotFound"

    store.set_faults(Faults(throttle=1.0))
    with pytest.raises(SellingApiRequestThrottledException) as throttled:
        orders.get_orders(LastUpdatedAfter=SINCE)
    assert throttled.value.error == sample("error_429_quota_exceeded.json")["errors"]
    store.set_faults(Faults(error=1.0))
    with pytest.raises(SellingApiServerException):
        orders.get_orders(LastUpdatedAfter=SINCE)
    store.clear_faults()

    store.expire_tokens()  # the library still holds the token it cached
    with pytest.raises(SellingApiForbiddenException) as expired:
        orders.get_orders(LastUpdatedAfter=SINCE)
    assert expired.value.amzn_code == sample("error_403_unauthorized.json")["errors"][0]["code"]
