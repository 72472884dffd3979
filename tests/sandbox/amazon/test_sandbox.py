"""The Amazon sandbox against the SP-API contract, over real HTTP."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from orderly.channels.connector import RateLimit
from orderly.sandbox.amazon import AmazonStore, Faults, Line, SandboxError
from tests.sandbox.amazon.support import sample

MARKETPLACE = "ATVPDKIKX0DER"


def token(http: httpx.Client, store: AmazonStore, **changes: str) -> httpx.Response:
    form = {
        "grant_type": "refresh_token",
        "refresh_token": store.refresh_token,
        "client_id": store.client_id,
        "client_secret": store.client_secret,
    }
    return http.post("/auth/o2/token", data=form | changes)


def auth(http: httpx.Client, store: AmazonStore) -> dict[str, str]:
    return {"x-amz-access-token": token(http, store).json()["access_token"]}


def iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def get_orders(http: httpx.Client, headers: dict[str, str], **params: Any) -> httpx.Response:
    return http.get("/orders/v0/orders", params={"MarketplaceIds": MARKETPLACE, **params}, headers=headers)


# --- Login with Amazon -----------------------------------------------------------------------------


def test_token_exchange_answers_like_lwa(http: httpx.Client, store: AmazonStore) -> None:
    response = token(http, store)
    assert response.status_code == 200
    body = response.json()
    assert body.keys() == sample("lwa_token_response_example.json").keys()
    assert body["access_token"].startswith("Atza|")
    assert (body["token_type"], body["expires_in"], body["refresh_token"]) == (
        "bearer",
        3600,
        store.refresh_token,
    )
    assert store.tokens_issued == 1


@pytest.mark.parametrize(
    ("changes", "status", "error"),
    [
        ({"client_secret": "wrong"}, 401, "invalid_client"),
        ({"client_id": "amzn1.application-oa2-client.other"}, 401, "invalid_client"),
        ({"refresh_token": "Atzr|revoked"}, 400, "invalid_grant"),
        ({"grant_type": "client_credentials"}, 400, "unsupported_grant_type"),
        ({"client_secret": ""}, 400, "invalid_request"),
    ],
)
def test_token_exchange_refuses_wrong_credentials(
    http: httpx.Client, store: AmazonStore, changes: dict[str, str], status: int, error: str
) -> None:
    response = token(http, store, **changes)
    assert response.status_code == status
    assert response.json()["error"] == error
    assert response.json()["error_description"]
    assert store.tokens_issued == 0


def test_calls_need_a_live_token(http: httpx.Client, store: AmazonStore) -> None:
    after = {"LastUpdatedAfter": "2020-01-01T00:00:00Z"}
    missing = get_orders(http, {}, **after)
    assert missing.status_code == 403
    assert missing.json() == sample("error_403_unauthorized.json")

    unknown = get_orders(http, {"x-amz-access-token": "Atza|forged"}, **after)
    assert unknown.status_code == 403
    assert unknown.json()["errors"][0]["code"] == "Unauthorized"
    assert "revoked, malformed or invalid" in unknown.json()["errors"][0]["details"]

    store.configure(token_lifetime=1)
    headers = auth(http, store)
    assert get_orders(http, headers, **after).status_code == 200
    time.sleep(1.05)
    expired = get_orders(http, headers, **after)
    assert expired.status_code == 403
    assert expired.json()["errors"][0]["message"] == "Access to requested resource is denied."
    assert "expired" in expired.json()["errors"][0]["details"]
    assert store.denied == 3


# --- getOrders -------------------------------------------------------------------------------------


def test_next_token_walks_every_order_exactly_once(http: httpx.Client, store: AmazonStore) -> None:
    store.clock = lambda: datetime(2026, 5, 1, 12, tzinfo=UTC)  # every order shares one LastUpdateDate
    store.add_listing("MUG-1")
    placed = {store.place_order([Line("MUG-1", 1)], paid=n % 2 == 0) for n in range(23)}
    headers = auth(http, store)

    first = get_orders(http, headers, LastUpdatedAfter="2026-05-01T00:00:00Z", MaxResultsPerPage="7")
    assert first.status_code == 200
    payload = first.json()["payload"]
    assert payload["LastUpdatedBefore"] == "2026-05-01T12:00:00.000Z"
    seen = [order["AmazonOrderId"] for order in payload["Orders"]]
    pages = 1
    while "NextToken" in payload:
        # A NextToken request carries the marketplace and the token, nothing else.
        page = http.get(
            "/orders/v0/orders",
            params={"MarketplaceIds": MARKETPLACE, "NextToken": payload["NextToken"]},
            headers=headers,
        )
        assert page.status_code == 200
        payload = page.json()["payload"]
        seen += [order["AmazonOrderId"] for order in payload["Orders"]]
        pages += 1
    assert pages == 4
    assert sorted(seen) == sorted(placed)


def test_last_updated_window_filters_orders(http: httpx.Client, store: AmazonStore) -> None:
    store.add_listing("MUG-1")
    start = datetime(2026, 3, 1, tzinfo=UTC)
    ids = [store.place_order([Line("MUG-1", 1)], paid=True, at=start + timedelta(hours=h)) for h in range(5)]
    headers = auth(http, store)

    def window(**params: str) -> list[str]:
        response = get_orders(http, headers, **params)
        assert response.status_code == 200
        return [order["AmazonOrderId"] for order in response.json()["payload"]["Orders"]]

    assert window(LastUpdatedAfter=iso(start + timedelta(hours=2))) == ids[2:]
    # Both bounds are inclusive, as Amazon documents them.
    assert (
        window(
            LastUpdatedAfter=iso(start + timedelta(hours=1)),
            LastUpdatedBefore=iso(start + timedelta(hours=3)),
        )
        == ids[1:4]
    )
    assert window(CreatedAfter=iso(start + timedelta(hours=4))) == ids[4:]
    assert window(LastUpdatedAfter=iso(start), OrderStatuses="Pending") == []


def test_before_must_be_two_minutes_in_the_past(http: httpx.Client, store: AmazonStore) -> None:
    store.configure(before_lag_seconds=120)
    headers = auth(http, store)
    now = datetime.now(UTC)
    refused = get_orders(
        http, headers, LastUpdatedAfter=iso(now - timedelta(hours=1)), LastUpdatedBefore=iso(now)
    )
    assert refused.status_code == 400
    error = refused.json()["errors"][0]
    assert (error["code"], error["message"]) == (
        sample("error_400_invalid_input_sandbox.json")["errors"][0]["code"],
        "Invalid Input",
    )
    accepted = get_orders(
        http,
        headers,
        LastUpdatedAfter=iso(now - timedelta(hours=1)),
        LastUpdatedBefore=iso(now - timedelta(minutes=3)),
    )
    assert accepted.status_code == 200
    # Without LastUpdatedBefore Amazon takes now minus the 2 minutes, and says so.
    default = get_orders(http, headers, LastUpdatedAfter=iso(now - timedelta(hours=1)))
    before = datetime.fromisoformat(default.json()["payload"]["LastUpdatedBefore"])
    assert now - timedelta(seconds=125) < before <= now - timedelta(seconds=119)


@pytest.mark.parametrize(
    "params",
    [
        {"MarketplaceIds": "", "LastUpdatedAfter": "2026-01-01T00:00:00Z"},
        {"MarketplaceIds": "A1PA6795UKMFR9", "LastUpdatedAfter": "2026-01-01T00:00:00Z"},
        {"MarketplaceIds": MARKETPLACE},
        {
            "MarketplaceIds": MARKETPLACE,
            "LastUpdatedAfter": "2026-01-01T00:00:00Z",
            "CreatedAfter": "2026-01-01",
        },
        {
            "MarketplaceIds": MARKETPLACE,
            "LastUpdatedAfter": "2026-01-01T00:00:00Z",
            "CreatedBefore": "2026-01-02",
        },
        {"MarketplaceIds": MARKETPLACE, "LastUpdatedAfter": "yesterday"},
        {
            "MarketplaceIds": MARKETPLACE,
            "LastUpdatedAfter": "2026-01-01T00:00:00Z",
            "MaxResultsPerPage": "101",
        },
        {"MarketplaceIds": MARKETPLACE, "NextToken": "bm90IGEgdG9rZW4"},
    ],
)
def test_get_orders_refuses_invalid_input(
    http: httpx.Client, store: AmazonStore, params: dict[str, str]
) -> None:
    response = http.get("/orders/v0/orders", params=params, headers=auth(http, store))
    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == "InvalidInput"


def test_empty_bucket_answers_429_quota_exceeded(http: httpx.Client, store: AmazonStore) -> None:
    store.configure(rates={"getOrders": RateLimit(0.0167, 2)})
    headers = auth(http, store)
    after = {"LastUpdatedAfter": "2026-01-01T00:00:00Z"}
    for _ in range(2):
        response = get_orders(http, headers, **after)
        assert response.status_code == 200
        assert response.headers["x-amzn-RateLimit-Limit"] == "0.0167"
        assert response.headers["x-amzn-RequestId"]
    throttled = get_orders(http, headers, **after)
    assert throttled.status_code == 429
    assert throttled.json() == sample("error_429_quota_exceeded.json")
    assert throttled.headers["x-amzn-RateLimit-Limit"] == "0.0167"
    # Other operations have buckets of their own.
    assert http.get("/orders/v0/orders/nope", headers=headers).status_code == 404


# --- orders and items ------------------------------------------------------------------------------


def test_orders_show_address_and_prices_only_once_paid(http: httpx.Client, store: AmazonStore) -> None:
    store.add_listing("MUG-1", asin="B000MUG001", price="12.50")
    store.add_listing("CAP-1", price="9.99")
    store.configure(items_page_size=1)
    order_id = store.place_order([Line("MUG-1", 2, tax="2.00"), Line("CAP-1", 1, shipping="4.99")])
    headers = auth(http, store)

    def order() -> dict[str, Any]:
        response = http.get(f"/orders/v0/orders/{order_id}", headers=headers)
        assert response.status_code == 200
        payload: dict[str, Any] = response.json()["payload"]
        return payload

    def items() -> list[dict[str, Any]]:
        found, params = [], {}
        while True:
            response = http.get(f"/orders/v0/orders/{order_id}/orderItems", params=params, headers=headers)
            payload = response.json()["payload"]
            assert payload["AmazonOrderId"] == order_id
            found += payload["OrderItems"]
            if "NextToken" not in payload:
                return found
            params = {"NextToken": payload["NextToken"]}

    pending = order()
    assert pending["OrderStatus"] == "Pending"
    assert "ShippingAddress" not in pending and "OrderTotal" not in pending
    assert [i["SellerSKU"] for i in items()] == ["MUG-1", "CAP-1"]
    assert all("ItemPrice" not in i for i in items())

    store.pay(order_id)
    paid = order()
    assert paid["OrderStatus"] == "Unshipped"
    assert paid["LastUpdateDate"] > pending["LastUpdateDate"]
    assert paid["ShippingAddress"]["CountryCode"] == "US"
    assert paid["OrderTotal"] == {"CurrencyCode": "USD", "Amount": "41.98"}  # 25.00 + 2.00 + 9.99 + 4.99
    mug = items()[0]
    assert (mug["ASIN"], mug["QuantityOrdered"], mug["ItemPrice"]["Amount"]) == ("B000MUG001", 2, "25.00")
    assert mug["ItemTax"] == {"CurrencyCode": "USD", "Amount": "2.00"}

    store.request_cancel(order_id)
    request = items()[0]["BuyerRequestedCancel"]
    assert request["IsBuyerRequestedCancel"] == "true"
    store.cancel(order_id)
    cancelled = order()
    assert cancelled["OrderStatus"] == "Canceled"
    assert "ShippingAddress" not in cancelled


def test_shipment_confirmation(http: httpx.Client, store: AmazonStore) -> None:
    store.add_listing("MUG-1")
    order_id = store.place_order([Line("MUG-1", 3)], paid=True)
    headers = auth(http, store)
    item_id = store.order(order_id)["items"][0]["OrderItemId"]
    path = f"/orders/v0/orders/{order_id}/shipmentConfirmation"

    bad = sample("confirm_shipment_request_sandbox_400_bad_shipDate.json")
    bad["packageDetail"]["orderItems"][0]["orderItemId"] = item_id
    refused = http.post(path, json=bad, headers=headers)
    assert refused.status_code == 400
    expected = sample("confirm_shipment_response_400_sandbox.json")["errors"][0]
    assert {k: refused.json()["errors"][0][k] for k in ("code", "message")} == expected

    good = sample("confirm_shipment_request_sandbox.json")
    good["packageDetail"]["orderItems"][0]["orderItemId"] = item_id
    accepted = http.post(path, json=good, headers=headers)
    assert (accepted.status_code, accepted.content) == (204, b"")
    assert store.order(order_id)["order"]["OrderStatus"] == "PartiallyShipped"

    # The same packageReferenceId edits that package; it does not ship its items again.
    good["packageDetail"]["trackingNumber"] = "999"
    assert http.post(path, json=good, headers=headers).status_code == 204
    assert store.order(order_id)["items"][0]["QuantityShipped"] == 1

    too_many = {**good, "packageDetail": {**good["packageDetail"], "packageReferenceId": "2"}}
    too_many["packageDetail"]["orderItems"] = [{"orderItemId": item_id, "quantity": 3}]
    assert http.post(path, json=too_many, headers=headers).status_code == 400
    too_many["packageDetail"]["orderItems"] = [{"orderItemId": item_id, "quantity": 2}]
    assert http.post(path, json=too_many, headers=headers).status_code == 204
    assert store.order(order_id)["order"]["OrderStatus"] == "Shipped"
    assert [s["body"]["packageDetail"]["trackingNumber"] for s in store.shipments()] == [
        "112345678",
        "999",
        "999",
    ]
    assert http.post(path, content=b"{not json", headers=headers).status_code == 400
    assert (
        http.post("/orders/v0/orders/nope/shipmentConfirmation", json=good, headers=headers).status_code
        == 404
    )


def test_shipment_confirmation_refusals_name_what_is_wrong(http: httpx.Client, store: AmazonStore) -> None:
    store.add_listing("MUG-1")
    store.add_listing("FBA-1", fulfillment_channel="AMAZON_NA")
    order_id = store.place_order([Line("MUG-1", 1)], paid=True)
    fba = store.place_order([Line("FBA-1", 1)], paid=True, fba=True)
    headers = auth(http, store)
    item_id = store.order(order_id)["items"][0]["OrderItemId"]
    good = sample("confirm_shipment_request_sandbox.json")
    good["packageDetail"]["orderItems"] = [{"orderItemId": item_id, "quantity": 1}]

    def refusal(order: str, change: dict[str, Any]) -> str:
        body = {**good, "packageDetail": {**good["packageDetail"], **change}}
        answer = http.post(f"/orders/v0/orders/{order}/shipmentConfirmation", json=body, headers=headers)
        assert answer.status_code == 400, answer.text
        [error] = answer.json()["errors"]
        assert (error["code"], error["message"]) == ("Invalid Input", "Invalid Input")
        return str(error["details"])

    assert "unknown orderItemId" in refusal(order_id, {"orderItems": [{"orderItemId": "1", "quantity": 1}]})
    assert "positive integer" in refusal(order_id, {"orderItems": [{"orderItemId": item_id, "quantity": 0}]})
    assert "only 1 left" in refusal(order_id, {"orderItems": [{"orderItemId": item_id, "quantity": 2}]})
    assert "carrierName is required" in refusal(order_id, {"carrierCode": "Other", "carrierName": ""})
    assert "fulfilled by Amazon" in refusal(fba, {})
    path = f"/orders/v0/orders/{order_id}/shipmentConfirmation"
    assert http.post(path, json=good, headers=headers).status_code == 204
    # Everything shipped: a new package is refused, the same one again is an edit.
    assert f"order {order_id} is Shipped" in refusal(order_id, {"packageReferenceId": "2"})
    assert http.post(path, json=good, headers=headers).status_code == 204
    assert store.order(order_id)["items"][0]["QuantityShipped"] == 1


# --- Listings Items --------------------------------------------------------------------------------


def test_listing_patch_sets_the_quantity(http: httpx.Client, store: AmazonStore) -> None:
    store.add_listing("GM-ZDPI-9B4E")
    headers = auth(http, store)
    path = f"/listings/2021-08-01/items/{store.seller_id}/GM-ZDPI-9B4E"
    params = {"marketplaceIds": MARKETPLACE}

    docs_example = sample("listings_patch_quantity_request_merge.json")
    refused = http.patch(path, params=params, json=docs_example, headers=headers)
    assert (refused.status_code, refused.json()["errors"][0]["details"]) == (400, "productType is required")
    merged = http.patch(path, params=params, json={"productType": "PRODUCT", **docs_example}, headers=headers)
    assert merged.status_code == 200
    assert merged.json().keys() == sample("listings_patch_response_accepted.json").keys()
    assert (merged.json()["sku"], merged.json()["status"], merged.json()["issues"]) == (
        "GM-ZDPI-9B4E",
        "ACCEPTED",
        [],
    )
    assert store.quantities() == {"GM-ZDPI-9B4E": 20}

    replace = {
        "productType": "PRODUCT",
        "patches": [
            {
                "op": "replace",
                "path": "/attributes/fulfillment_availability",
                "value": [{"fulfillment_channel_code": "DEFAULT", "quantity": 0}],
            }
        ],
    }
    assert http.patch(path, params=params, json=replace, headers=headers).json()["status"] == "ACCEPTED"
    assert store.quantities() == {"GM-ZDPI-9B4E": 0}

    replace["patches"][0]["value"][0]["quantity"] = -1  # type: ignore[index]
    refused = http.patch(path, params=params, json=replace, headers=headers)
    assert refused.status_code == 400
    expected = sample("listings_patch_response_400_sandbox.json")["errors"][0]
    assert {k: refused.json()["errors"][0][k] for k in ("code", "message")} == {
        k: expected[k] for k in ("code", "message")
    }
    assert http.patch(path, json=replace, headers=headers).status_code == 400  # no marketplaceIds

    unknown = http.patch(
        path.replace("GM-ZDPI-9B4E", "NOPE"), params=params, content=merged.request.content, headers=headers
    )
    assert (unknown.status_code, unknown.json()["status"]) == (200, "INVALID")
    other_seller = http.patch(
        path.replace(store.seller_id, "A2OTHERSELLER"), params=params, json=replace, headers=headers
    )
    assert other_seller.status_code == 403
    assert store.quantities() == {"GM-ZDPI-9B4E": 0}


# --- faults ----------------------------------------------------------------------------------------


def test_injected_faults(store: AmazonStore, http: httpx.Client) -> None:
    headers = auth(http, store)
    after = {"LastUpdatedAfter": "2026-01-01T00:00:00Z"}
    store.set_faults(Faults(throttle=1.0))
    throttled = get_orders(http, headers, **after)
    assert (throttled.status_code, throttled.json()) == (429, sample("error_429_quota_exceeded.json"))
    store.set_faults(Faults(error=1.0))
    failed = get_orders(http, headers, **after)
    assert (failed.status_code, failed.json()["errors"][0]["code"]) == (500, "InternalFailure")

    store.set_faults(Faults(malformed_once=True))
    with pytest.raises(ValueError):
        get_orders(http, headers, **after).json()
    assert get_orders(http, headers, **after).json()["payload"]["Orders"] == []

    store.set_faults(Faults(delay=1.0, delay_seconds=0.5))
    with pytest.raises(httpx.ReadTimeout):
        http.get(
            "/orders/v0/orders", params={"MarketplaceIds": MARKETPLACE, **after}, headers=headers, timeout=0.1
        )
    store.clear_faults()
    assert get_orders(http, headers, **after).status_code == 200


def test_fault_draws_follow_the_seed() -> None:
    def draws(seed: int) -> list[str | None]:
        store = AmazonStore()
        store.set_faults(Faults(throttle=0.2, error=0.2, delay=0.2, seed=seed))
        return [store.draw_fault() for _ in range(50)]

    assert draws(7) == draws(7) != draws(8)
    assert {"throttle", "error", "delay", None} == set(draws(7))
    with pytest.raises(SandboxError):
        Faults(throttle=0.6, error=0.6)


# --- scripting over HTTP ---------------------------------------------------------------------------


def test_sandbox_endpoints_script_the_store(http: httpx.Client, store: AmazonStore) -> None:
    assert http.post("/_sandbox/listings", json={"sku": "MUG-1", "price": "12.50"}).status_code == 201
    conflict = http.post("/_sandbox/listings", json={"sku": "MUG-1"})
    assert (conflict.status_code, conflict.json()["errors"][0]["code"]) == (409, "Conflict")
    assert "exists" in conflict.json()["errors"][0]["details"]
    assert [row["sku"] for row in http.get("/_sandbox/listings").json()] == ["MUG-1"]

    placed = http.post("/_sandbox/orders", json={"lines": [{"sku": "MUG-1", "quantity": 2}]})
    assert placed.status_code == 201
    order_id = placed.json()["order"]["AmazonOrderId"]
    assert placed.json()["order"]["OrderStatus"] == "Pending"
    assert http.post(f"/_sandbox/orders/{order_id}/pay").json()["order"]["OrderStatus"] == "Unshipped"
    assert http.post(f"/_sandbox/orders/{order_id}/pay").status_code == 409
    moved = {"Name": "Jo Doe", "AddressLine1": "2 Main St", "City": "Boise", "CountryCode": "US"}
    updated = http.post(f"/_sandbox/orders/{order_id}/update", json={"address": moved}).json()["order"]
    assert updated["ShippingAddress"] == moved
    asked = http.post(f"/_sandbox/orders/{order_id}/request-cancel", json={"reason": "changed my mind"})
    assert asked.json()["items"][0]["BuyerRequestedCancel"]["BuyerCancelReason"] == "changed my mind"
    assert http.post(f"/_sandbox/orders/{order_id}/cancel").json()["order"]["OrderStatus"] == "Canceled"
    missing = http.get("/_sandbox/orders/nope")
    assert (missing.status_code, missing.json()["errors"][0]["code"]) == (404, "NotFound")
    invalid = http.post("/_sandbox/orders", json={"lines": []})
    assert (invalid.status_code, invalid.json()["errors"][0]["code"]) == (422, "InvalidInput")
    assert http.post("/_sandbox/orders", json={"lines": [{"sku": "NOPE", "quantity": 1}]}).status_code == 409

    faults = http.put("/_sandbox/faults", json={"throttle": 0.5, "seed": 3})
    assert faults.json()["throttle"] == 0.5 and store.faults().seed == 3
    assert http.delete("/_sandbox/faults").json()["throttle"] == 0
    config = http.put(
        "/_sandbox/config",
        json={
            "rates": {"getOrders": {"per_second": 2, "burst": 5}},
            "token_lifetime": 60,
            "before_lag_seconds": 0,
        },
    ).json()
    assert config["rates"]["getOrders"] == {"per_second": 2, "burst": 5, "bucket": None}
    assert store.rates()["getOrders"] == RateLimit(2, 5) and store.token_lifetime == 60
    assert (
        http.put(
            "/_sandbox/config", json={"rates": {"getNothing": {"per_second": 1, "burst": 1}}}
        ).status_code
        == 409
    )

    headers = auth(http, store)
    assert http.post("/_sandbox/tokens/expire").status_code == 204
    assert get_orders(http, headers, LastUpdatedAfter="2026-01-01T00:00:00Z").status_code == 403
    assert http.get("/_sandbox/quantities").json() == {}
    assert http.get("/_sandbox/shipments").json() == []
    assert http.get("/_sandbox/stats").json() == {"tokens_issued": 1, "denied": 1, "calls": {}}
