"""The Amazon sandbox withholds buyer data from order calls without a Restricted Data Token, as the
SP-API does, and issues RDTs through the Tokens API (2021-03-01)."""

from __future__ import annotations

from typing import Any

import httpx

from orderly.sandbox.amazon import AmazonStore, Line
from tests.sandbox.amazon.test_sandbox import auth, get_orders

RDT_PATH = "/tokens/2021-03-01/restrictedDataToken"
PII = ["buyerInfo", "shippingAddress"]


def rdt(http: httpx.Client, headers: dict[str, str], *resources: dict[str, Any]) -> httpx.Response:
    return http.post(RDT_PATH, json={"restrictedResources": list(resources)}, headers=headers)


def test_orders_without_an_rdt_show_no_buyer_name_email_street_or_phone(
    http: httpx.Client, store: AmazonStore
) -> None:
    store.add_listing("MUG-1")
    order_id = store.place_order([Line("MUG-1", 1)], paid=True, buyer_name="Jane Smith")
    headers = auth(http, store)

    listed = get_orders(http, headers, CreatedAfter="2020-01-01T00:00:00Z").json()["payload"]["Orders"][0]
    single = http.get(f"/orders/v0/orders/{order_id}", headers=headers).json()["payload"]
    for order in (listed, single):
        assert order["BuyerInfo"] == {}
        address = order["ShippingAddress"]
        assert set(address) <= {"City", "StateOrRegion", "PostalCode", "CountryCode", "AddressType"}
        assert address["City"] and address["CountryCode"] == "US"


def test_an_rdt_shows_what_it_names_and_opens_nothing_else(http: httpx.Client, store: AmazonStore) -> None:
    store.add_listing("MUG-1")
    order_id = store.place_order([Line("MUG-1", 1)], paid=True, buyer_name="Jane Smith")
    headers = auth(http, store)
    issued = rdt(
        http,
        headers,
        {"method": "GET", "path": "/orders/v0/orders", "dataElements": PII},
        {"method": "GET", "path": "/orders/v0/orders/{orderId}", "dataElements": ["shippingAddress"]},
    )
    assert issued.status_code == 200
    body = issued.json()
    assert set(body) == {"restrictedDataToken", "expiresIn"} and body["expiresIn"] == store.token_lifetime
    restricted = {"x-amz-access-token": body["restrictedDataToken"]}

    listed = get_orders(http, restricted, CreatedAfter="2020-01-01T00:00:00Z").json()["payload"]["Orders"][0]
    assert listed["BuyerInfo"]["BuyerName"] == "Jane Smith" and listed["BuyerInfo"]["BuyerEmail"]
    assert {"Name", "AddressLine1", "Phone"} <= set(listed["ShippingAddress"])
    single = http.get(f"/orders/v0/orders/{order_id}", headers=restricted).json()["payload"]
    assert single["BuyerInfo"] == {} and single["ShippingAddress"]["Name"] == "Jane Smith"
    # An RDT is no access token for the resources it does not name.
    items = http.get(f"/orders/v0/orders/{order_id}/orderItems", headers=restricted)
    assert items.status_code == 403 and items.json()["errors"][0]["code"] == "Unauthorized"

    store.expire_tokens()
    expired = get_orders(http, restricted, CreatedAfter="2020-01-01T00:00:00Z")
    assert expired.status_code == 403 and "expired" in expired.json()["errors"][0]["details"]


def test_an_rdt_for_one_order_opens_only_that_order(http: httpx.Client, store: AmazonStore) -> None:
    store.add_listing("MUG-1")
    first, second = (store.place_order([Line("MUG-1", 1)], paid=True) for _ in range(2))
    headers = auth(http, store)
    token = rdt(http, headers, {"method": "GET", "path": f"/orders/v0/orders/{first}", "dataElements": PII})
    restricted = {"x-amz-access-token": token.json()["restrictedDataToken"]}
    assert http.get(f"/orders/v0/orders/{first}", headers=restricted).json()["payload"]["BuyerInfo"]
    assert http.get(f"/orders/v0/orders/{second}", headers=restricted).status_code == 403


def test_the_tokens_api_refuses_what_it_cannot_grant(http: httpx.Client, store: AmazonStore) -> None:
    headers = auth(http, store)
    orders = {"method": "GET", "path": "/orders/v0/orders", "dataElements": PII}
    for resources, wording in (
        ([], "restrictedResources"),
        ([orders] * 51, "restrictedResources"),
        ([{**orders, "method": "PATCH"}], "method"),
        ([{**orders, "path": "/listings/2021-08-01/items/A/B"}], "not a restricted resource"),
        ([{**orders, "dataElements": ["everything"]}], "dataElements"),
        ([{"method": "GET", "path": "/orders/v0/orders"}], "dataElements"),
    ):
        refused = rdt(http, headers, *resources)
        assert refused.status_code == 400, resources
        assert wording in refused.json()["errors"][0]["details"]
    assert rdt(http, {}, orders).status_code == 403  # the Tokens API itself needs an access token
    assert store.rdts_issued == 0
