"""The eBay sandbox against the contract and the sample, driven over HTTP as any client would (not
through the connector): its tokens, pages, filters, refusals and the world it scripts."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request

from orderly.sandbox.ebay import EbayStore, Faults, Line, create_app
from orderly.sandbox.serve import serving
from tests.channels.ebay.samples import sample

ORDERS = "/sell/fulfillment/v1/order"
BULK = "/sell/inventory/v1/bulk_update_price_quantity"


class Api:
    """A bare client of the sandbox with the seller's bearer token."""

    def __init__(self, store: EbayStore, http: httpx.Client) -> None:
        self.store, self.http = store, http
        self.token = store.access_token

    def call(self, method: str, path: str, body: Any = None, **params: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.token}"}
        return self.http.request(method, path, params=params, json=body, headers=headers)


@pytest.fixture
def store() -> Iterator[EbayStore]:
    store = EbayStore(seed=9)
    yield store
    store.close()


@pytest.fixture
def api(store: EbayStore) -> Iterator[Api]:
    with serving(create_app(store)) as url, httpx.Client(base_url=url, timeout=5) as http:
        yield Api(store, http)


def errors(response: httpx.Response) -> list[int]:
    return [e["errorId"] for e in response.json()["errors"]]


def test_an_order_has_the_samples_shape(store: EbayStore, api: Api) -> None:
    store.add_listing("MUG-1", price="12.50", quantity=5)
    store.place_order([Line("MUG-1", 2)], notes="Gift")
    page = api.call("GET", ORDERS).json()
    published = sample()
    assert set(published) - {"prev"} <= set(page) | {"next"}
    (order,) = page["orders"]
    assert set(published["orders"][0]) <= set(order)
    assert set(published["orders"][0]["lineItems"][0]) - {
        "itemLocation",
        "lineItemFulfillmentInstructions",
    } <= set(order["lineItems"][0])
    assert order["pricingSummary"]["total"] == {"value": "30.00", "currency": "USD"}  # 2 x 12.50 + 5.00
    assert order["buyerCheckoutNotes"] == "Gift" and order["creationDate"].endswith("Z")
    assert store.quantity("MUG-1") == 3


def test_calls_need_a_live_bearer_token(store: EbayStore, api: Api) -> None:
    api.token = "v^1.1#forged"
    refused = api.call("GET", ORDERS)
    assert refused.status_code == 401 and errors(refused) == [1001]
    assert refused.json()["errors"][0]["domain"] == "OAuth"
    api.token = store.access_token
    store.expire_tokens()
    assert api.call("GET", ORDERS).status_code == 401


def test_the_token_endpoint_takes_the_keyset_and_keeps_the_refresh_token(store: EbayStore, api: Api) -> None:
    basic = base64.b64encode(f"{store.client_id}:{store.client_secret}".encode()).decode()
    refresh = {"grant_type": "refresh_token", "refresh_token": store.refresh_token, "scope": "x"}
    answer = api.http.post(
        "/identity/v1/oauth2/token", data=refresh, headers={"Authorization": f"Basic {basic}"}
    )
    assert answer.status_code == 200 and "refresh_token" not in answer.json()
    assert answer.json()["expires_in"] == 7200 and answer.json()["token_type"] == "User Access Token"
    api.token = answer.json()["access_token"]
    assert api.call("GET", ORDERS).status_code == 200
    wrong = api.http.post("/identity/v1/oauth2/token", data=refresh, headers={"Authorization": "Basic eDp5"})
    assert wrong.status_code == 401 and wrong.json()["error"] == "invalid_client"
    code = {"grant_type": "authorization_code", "code": "v^1.1#nope", "redirect_uri": store.ru_name}
    bad = api.http.post("/identity/v1/oauth2/token", data=code, headers={"Authorization": f"Basic {basic}"})
    assert bad.status_code == 400 and bad.json()["error"] == "invalid_grant"


def test_pages_follow_limit_and_offset_with_a_next_link(store: EbayStore, api: Api) -> None:
    store.add_listing("MUG-1", quantity=50)
    ids = [store.place_order([Line("MUG-1", 1)])["orderId"] for _ in range(5)]
    first = api.call("GET", ORDERS, limit=2).json()
    assert (first["total"], first["limit"], first["offset"], len(first["orders"])) == (5, 2, 0, 2)
    assert first["next"].endswith("offset=2") and "prev" not in first
    last = api.call("GET", ORDERS, limit=2, offset=4).json()
    assert "next" not in last and len(last["orders"]) == 1
    assert [o["orderId"] for o in api.call("GET", ORDERS, limit=200).json()["orders"]] == ids[::-1]
    assert errors(api.call("GET", ORDERS, limit=201)) == [30800]
    chosen = api.call("GET", ORDERS, orderIds=",".join(ids[:2]), filter="nonsense").json()
    assert {o["orderId"] for o in chosen["orders"]} == set(ids[:2])  # orderIds: the filter is ignored
    assert errors(api.call("GET", ORDERS, orderIds=",".join(["1"] * 51))) == [30900]


def test_filters_on_modification_creation_and_fulfillment(store: EbayStore, api: Api) -> None:
    store.add_listing("MUG-1", quantity=50)
    old = store.place_order([Line("MUG-1", 1)])
    store.advance(60)
    new = store.place_order([Line("MUG-1", 1)])
    cut = new["creationDate"]
    modified = api.call("GET", ORDERS, filter=f"lastmodifieddate:[{cut}..]").json()["orders"]
    assert [o["orderId"] for o in modified] == [new["orderId"]]
    store.advance(60)
    store.ship_outside(old["orderId"])
    modified = api.call("GET", ORDERS, filter=f"lastmodifieddate:[{cut}..]").json()["orders"]
    assert {o["orderId"] for o in modified} == {old["orderId"], new["orderId"]}
    both = f"creationdate:[{cut}..],lastmodifieddate:[{cut}..]"  # creationdate wins
    assert [o["orderId"] for o in api.call("GET", ORDERS, filter=both).json()["orders"]] == [new["orderId"]]
    shipped = api.call("GET", ORDERS, filter="orderfulfillmentstatus:{FULFILLED|IN_PROGRESS}").json()
    assert [o["orderId"] for o in shipped["orders"]] == [old["orderId"]]
    assert errors(api.call("GET", ORDERS, filter="lastmodifieddate:[2023-08-02..]")) == [30810]
    assert errors(api.call("GET", ORDERS, filter="orderfulfillmentstatus:{FULFILLED}")) == [30820]


def test_bulk_updates_answer_per_sku_with_207_when_some_fail(store: EbayStore, api: Api) -> None:
    mug = store.add_listing("MUG-1", quantity=1)
    store.add_listing("CAP-1", quantity=1)
    store.set_faults(Faults(failing_skus=("CAP-1",)))
    body = {
        "requests": [
            {
                "sku": "MUG-1",
                "shipToLocationAvailability": {"quantity": 4},
                "offers": [{"offerId": mug.offer_id, "availableQuantity": 3}],
            },
            {"sku": "CAP-1", "shipToLocationAvailability": {"quantity": 4}},
            {"sku": "NOPE", "shipToLocationAvailability": {"quantity": 4}},
        ]
    }
    answer = api.call("POST", BULK, body)
    assert answer.status_code == 207
    assert [(r["sku"], r["statusCode"]) for r in answer.json()["responses"]] == [
        ("MUG-1", 200),
        ("CAP-1", 500),
        ("NOPE", 404),
    ]
    assert (store.quantity("MUG-1"), store.listing("MUG-1").offer_quantity, store.quantity("CAP-1")) == (
        4,
        3,
        1,
    )
    store.clear_faults()
    assert api.call("POST", BULK, {"requests": body["requests"][:1]}).status_code == 200
    too_many = {"requests": [{"sku": "MUG-1", "shipToLocationAvailability": {"quantity": 1}}] * 26}
    assert api.call("POST", BULK, too_many).status_code == 400


def test_fulfillments_are_checked_as_ebay_documents(store: EbayStore, api: Api) -> None:
    store.add_listing("MUG-1", quantity=9)
    order = store.place_order([Line("MUG-1", 2)])
    path = f"{ORDERS}/{order['orderId']}/shipping_fulfillment"
    item = order["lineItems"][0]["lineItemId"]
    good = {
        "lineItems": [{"lineItemId": item, "quantity": 1}],
        "shippingCarrierCode": "UPS",
        "trackingNumber": "1Z1",
    }
    refusals = {
        32200: {**good, "lineItems": [{"lineItemId": "999", "quantity": 1}]},
        32210: {**good, "lineItems": [{"lineItemId": item}, {"lineItemId": item}]},
        32300: {**good, "shippingCarrierCode": "Pigeon"},
        32500: {**good, "shippedDate": "yesterday"},
    }
    for error_id, body in refusals.items():
        answer = api.call("POST", path, body)
        assert (answer.status_code, errors(answer)) == (400, [error_id])
    made = api.call("POST", path, good)
    assert made.status_code == 201 and made.content == b""
    fulfillment_id = made.headers["Location"].rsplit("/", 1)[-1]
    listed = api.call("GET", path).json()
    assert [f["fulfillmentId"] for f in listed["fulfillments"]] == [fulfillment_id]
    assert api.call("GET", f"{path}/{fulfillment_id}").json()["shipmentTrackingNumber"] == "1Z1"
    shown = api.call("GET", f"{ORDERS}/{order['orderId']}").json()
    assert (
        shown["orderFulfillmentStatus"] == "IN_PROGRESS"
        and shown["lineItems"][0]["lineItemFulfillmentStatus"] == "IN_PROGRESS"
    )
    assert errors(api.call("GET", f"{ORDERS}/00-00000-00000")) == [32100]


def test_faults_answer_ebays_throttle_and_system_error(store: EbayStore, api: Api) -> None:
    store.set_faults(Faults(throttle=1.0))
    throttled = api.call("GET", ORDERS)
    assert throttled.status_code == 429 and errors(throttled) == [2001]
    store.set_faults(Faults(error=1.0))
    assert api.call("GET", ORDERS).status_code == 500
    store.clear_faults()
    store.configure(rate=0.001, burst=1)
    assert api.call("GET", ORDERS).status_code == 200
    assert api.call("GET", ORDERS).status_code == 429


def test_a_cancellation_refunds_and_puts_the_units_back(store: EbayStore, api: Api) -> None:
    store.add_listing("MUG-1", quantity=5)
    order = store.place_order([Line("MUG-1", 2)])["orderId"]
    store.request_cancel(order)
    listed = api.call("GET", ORDERS).json()["orders"][0]["cancelStatus"]
    assert listed == {"cancelState": "IN_PROGRESS", "cancelRequests": []}
    store.cancel(order)
    shown = api.call("GET", f"{ORDERS}/{order}").json()
    assert (shown["cancelStatus"]["cancelState"], shown["orderPaymentStatus"]) == (
        "CANCELED",
        "FULLY_REFUNDED",
    )
    assert store.quantity("MUG-1") == 5


def test_notifications_are_sent_only_to_an_endpoint_that_answers_the_challenge(store: EbayStore) -> None:
    received: list[tuple[str, bytes]] = []
    hook = FastAPI()

    @hook.get("/hook")
    def challenge(challenge_code: str, request: Request) -> dict[str, str]:
        endpoint = str(request.url).split("?")[0]
        digest = hashlib.sha256((challenge_code + store.verification_token + endpoint).encode()).hexdigest()
        return {"challengeResponse": digest}

    @hook.post("/hook", status_code=204)
    async def deliver(request: Request) -> None:
        received.append((request.headers["x-ebay-signature"], await request.body()))

    with serving(hook) as url:
        assert store.validate_endpoint(f"{url}/hook")
        store.webhook_url = f"{url}/hook"
        notice = store.delete_account("gone_user")
        assert store.wait_for_webhooks(5)
    ((signature, body),) = received
    assert notice["notification"]["data"]["username"] == "gone_user" and b"gone_user" in body
    assert store.signature(body) != signature  # ECDSA: a fresh signature each time, each one valid
    key = store.api_public_key(store.key_id)[1]
    assert key["key"].startswith("-----BEGIN PUBLIC KEY-----") and key["digest"] == "SHA1"
