"""The TikTok Shop sandbox against the contract, driven over HTTP as any client would (signing with the
contract's steps, not the connector): its answers, refusals and scripted world."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote, urlencode

import httpx
import pytest
from fastapi import FastAPI, Request

from orderly.sandbox.serve import serving
from orderly.sandbox.tiktok_shop import (
    Faults,
    Line,
    SandboxError,
    TikTokShopStore,
    create_app,
    expected_sign,
)
from tests.channels.tiktok_shop.samples import sample

SEARCH = "/order/202309/orders/search"


class Api:
    """A bare signed client of the sandbox."""

    def __init__(self, store: TikTokShopStore, http: httpx.Client) -> None:
        self.store, self.http = store, http
        self.token = store.access_token

    def call(
        self, method: str, path: str, body: Any = None, *, sign: str | None = None, **params: Any
    ) -> httpx.Response:
        query = {"app_key": self.store.app_key, "timestamp": str(int(time.time()))}
        query |= {k: str(v) for k, v in params.items()}
        query.setdefault("shop_cipher", self.store.shop_cipher)
        content = b"" if body is None else json.dumps(body).encode()
        query["sign"] = sign or expected_sign(self.store.app_secret, path, query, content)
        url = f"{path}?{urlencode(query, quote_via=quote, safe='')}"
        headers = {"x-tts-access-token": self.token, "content-type": "application/json"}
        return self.http.request(method, url, content=content or None, headers=headers)


@pytest.fixture
def store() -> Iterator[TikTokShopStore]:
    store = TikTokShopStore(seed=9)
    yield store
    store.close()


@pytest.fixture
def api(store: TikTokShopStore) -> Iterator[Api]:
    with serving(create_app(store)) as url, httpx.Client(base_url=url, timeout=5) as http:
        yield Api(store, http)


def test_a_bad_sign_gets_the_live_106001_answer(store: TikTokShopStore, api: Api) -> None:
    answer = api.call("POST", SEARCH, {}, sign="0" * 64, page_size=10)
    live = sample("error_invalid_sign_106001_live.json")
    assert answer.status_code == 401
    body = answer.json()
    assert sorted(body) == sorted(live) and (body["code"], body["data"], body["message"]) == (
        live["code"],
        live["data"],
        live["message"],
    )
    answer = api.call("POST", SEARCH, {}, page_size=10, timestamp=str(int(time.time()) - 3600))
    assert answer.json()["code"] == 106001  # a stale timestamp is no valid sign either
    assert api.call("POST", SEARCH, {}, page_size=10).json()["code"] == 0


def test_tokens_expire_and_a_refresh_token_is_spent_once(store: TikTokShopStore, api: Api) -> None:
    store.expire_tokens()
    assert api.call("POST", SEARCH, {}, page_size=10).json()["code"] == 105002
    refresh = {
        "app_key": store.app_key,
        "app_secret": store.app_secret,
        "refresh_token": store.refresh_token,
        "grant_type": "refresh_token",
    }
    answer = api.http.get("/api/v2/token/refresh", params=refresh).json()
    assert answer["code"] == 0 and answer["data"]["access_token_expire_in"] > store.now()
    assert api.http.get("/api/v2/token/refresh", params=refresh).json()["code"] != 0
    api.token = answer["data"]["access_token"]
    assert api.call("POST", SEARCH, {}, page_size=10).json()["code"] == 0
    api.token = "ROW_unknown"
    assert api.call("POST", SEARCH, {}, page_size=10).json()["code"] == 105001
    code = {"app_key": store.app_key, "app_secret": store.app_secret, "auth_code": store.auth_code}
    got = api.http.get("/api/v2/token/get", params={**code, "grant_type": "authorized_code"}).json()
    assert got["code"] == 0 and got["data"]["refresh_token"] == store.refresh_token


def test_search_pages_by_token_within_update_times(store: TikTokShopStore, api: Api) -> None:
    store.add_sku("MUG-1", stock=50)
    first = [store.place_order([Line("MUG-1")])["id"] for _ in range(5)]
    store.advance(100)
    second = [store.place_order([Line("MUG-1")])["id"] for _ in range(3)]
    now = store.now()
    window = {"update_time_ge": now - 50, "update_time_lt": now + 1}
    seen, token, pages = [], None, 0
    while True:
        params: dict[str, Any] = {"page_size": 2, "sort_field": "update_time", "sort_order": "ASC"}
        if token:
            params["page_token"] = token
        data = api.call("POST", SEARCH, window, **params).json()["data"]
        seen += [o["id"] for o in data["orders"]]
        assert data["total_count"] == 3
        pages += 1
        token = data["next_page_token"]
        if not token:
            break
    assert (seen, pages) == (second, 2)
    everything = api.call("POST", SEARCH, {}, page_size=100).json()["data"]
    assert {o["id"] for o in everything["orders"]} == set(first + second)
    # A token is bound to the filters it was made with; page_size stays within 1..100.
    forged = api.call(
        "POST", SEARCH, {"update_time_ge": 0}, page_size=2, page_token=data["next_page_token"] or "eA=="
    )
    assert forged.json()["code"] != 0
    assert api.call("POST", SEARCH, {}, page_size=101).json()["code"] != 0


def test_returns_are_searched_by_order_and_update_time_page_by_page(store: TikTokShopStore, api: Api) -> None:
    store.add_sku("MUG-1", stock=50)
    orders = [store.place_order([Line("MUG-1", 2)])["id"] for _ in range(12)]
    for order_id in orders:
        store.ship_outside(order_id)
        store.deliver(order_id)
    returns = [store.return_items(order_id) for order_id in orders[:11]]
    store.advance(100)
    store.move_return(returns[0], "RETURN_OR_REFUND_REQUEST_CANCEL")
    notified = store.notifications()[-1]
    assert (notified["type"], notified["data"]["return_id"], notified["data"]["order_id"]) == (
        12,
        returns[0],
        orders[0],
    )
    assert notified["data"]["return_status"] == "RETURN_OR_REFUND_REQUEST_CANCEL"
    path = "/return_refund/202309/returns/search"
    seen, token = [], None
    while True:
        params: dict[str, Any] = {"page_size": 10} | ({"page_token": token} if token else {})
        data = api.call("POST", path, {"order_ids": orders}, **params).json()["data"]
        seen += [entry["return_id"] for entry in data["return_orders"]]
        token = data["next_page_token"]
        if not token:
            break
    assert seen == returns
    (entry,) = api.call("POST", path, {"order_ids": [orders[3]]}, page_size=10).json()["data"][
        "return_orders"
    ]
    assert (entry["return_type"], entry["return_status"]) == (
        "RETURN_AND_REFUND",
        "RETURN_OR_REFUND_REQUEST_COMPLETE",
    )
    assert len(entry["return_line_items"]) == 2 and entry["can_buyer_keep_item"] is False
    now = store.now()
    window = {"update_time_ge": now - 50, "update_time_lt": now + 1}
    changed = api.call("POST", path, window, page_size=10).json()["data"]["return_orders"]
    assert [e["return_id"] for e in changed] == [returns[0]]
    assert api.call("POST", path, {}, page_size=5).json()["code"] != 0  # page_size is 10..50
    with pytest.raises(SandboxError, match="not delivered"):
        store.return_items(store.place_order([Line("MUG-1")])["id"])


def test_unpaid_and_held_orders_show_no_address(store: TikTokShopStore, api: Api) -> None:
    store.add_sku("MUG-1", stock=5)
    unpaid = store.place_order([Line("MUG-1")], paid=False)["id"]
    held = store.place_order([Line("MUG-1")])["id"]
    store.hold(held)
    data = api.call("GET", "/order/202309/orders", ids=f"{unpaid},{held}").json()["data"]
    assert [("recipient_address" in o, o["status"]) for o in data["orders"]] == [
        (False, "UNPAID"),
        (False, "ON_HOLD"),
    ]


def test_throttles_and_faults(store: TikTokShopStore, api: Api) -> None:
    store.configure(rate=0.001, burst=2)
    codes = [api.call("POST", SEARCH, {}, page_size=1).status_code for _ in range(3)]
    assert codes == [200, 200, 429]
    store.configure(rate=1000, burst=1000)
    store.set_faults(Faults(error=1.0))
    assert api.call("POST", SEARCH, {}, page_size=1).status_code == 500
    store.set_faults(Faults(throttle=1.0))
    assert api.call("POST", SEARCH, {}, page_size=1).status_code == 429
    with pytest.raises(ValueError, match="add up"):
        Faults(error=0.7, throttle=0.7)


def test_inventory_updates_report_failures_inside_a_success(store: TikTokShopStore, api: Api) -> None:
    sku = store.add_sku("MUG-1", stock=5)
    path = f"/product/202309/products/{sku.product_id}/inventory/update"
    good = {"skus": [{"id": sku.id, "inventory": [{"warehouse_id": store.warehouse_id, "quantity": 0}]}]}
    assert api.call("POST", path, good).json() | {"request_id": ""} == {
        "code": 0,
        "data": {},
        "message": "Success",
        "request_id": "",
    }
    assert store.quantity("MUG-1") == 0
    bad = {"skus": [{"id": sku.id, "inventory": [{"warehouse_id": "7068517275539719942", "quantity": 9}]}]}
    answer = api.call("POST", path, bad).json()
    published = sample("inventory_update_202309_response_with_errors.json")
    assert answer["code"] == 0
    (error,) = answer["data"]["errors"]
    (wanted,) = published["data"]["errors"]
    assert (error["code"], error["message"], error["detail"]["extra_errors"]) == (
        wanted["code"],
        wanted["message"],
        wanted["detail"]["extra_errors"],
    )
    assert store.quantity("MUG-1") == 0


def test_ship_package_and_its_label(store: TikTokShopStore, api: Api) -> None:
    store.add_sku("MUG-1", stock=5)
    order = store.place_order([Line("MUG-1", 2)])
    package = order["packages"][0]["id"]
    ship = f"/fulfillment/202309/packages/{package}/ship"
    before = api.call(
        "GET", f"/fulfillment/202309/packages/{package}/shipping_documents", document_type="SHIPPING_LABEL"
    )
    assert before.json()["code"] != 0  # nothing to print before it ships
    unknown = {"self_shipment": {"tracking_number": "JX1", "shipping_provider_id": "1"}}
    assert api.call("POST", ship, unknown).json()["code"] != 0  # a provider the shop does not know
    answer = api.call("POST", ship, sample("ship_package_202309_request_body.json")).json()
    assert answer | {"request_id": ""} == sample("ship_package_202309_response.json") | {"request_id": ""}
    assert store.order(order["id"])["status"] == "IN_TRANSIT"
    again = api.call("POST", ship, {"handover_method": "PICKUP"})
    assert again.json()["code"] != 0  # a package ships once
    doc = api.call(
        "GET", f"/fulfillment/202309/packages/{package}/shipping_documents", document_type="SHIPPING_LABEL"
    )
    url = doc.json()["data"]["doc_url"]
    assert api.http.get(url).content.startswith(b"%PDF")


def test_orders_move_on_the_platform_and_fbt_takes_no_seller_stock(store: TikTokShopStore) -> None:
    store.add_sku("MUG-1", stock=5)
    fbt = store.place_order([Line("MUG-1", 2)], fbt=True)
    assert fbt["fulfillment_type"] == "FULFILLMENT_BY_TIKTOK" and store.quantity("MUG-1") == 5
    order = store.place_order([Line("MUG-1", 2)])
    assert store.quantity("MUG-1") == 3
    store.cancel(order["id"], by="BUYER", reason="Changed mind")
    cancelled = store.order(order["id"])
    assert (cancelled["status"], cancelled["cancellation_initiator"]) == ("CANCELLED", "BUYER")
    assert store.quantity("MUG-1") == 5
    shipped = store.place_order([Line("MUG-1")])
    store.ship_outside(shipped["id"], tracking="JX1")
    store.deliver(shipped["id"])
    assert store.order(shipped["id"])["status"] == "DELIVERED"
    with pytest.raises(ValueError, match="too late"):
        store.cancel(shipped["id"])


def test_notifications_are_pushed_signed_and_duplicates_on_demand(store: TikTokShopStore) -> None:
    received: list[tuple[dict[str, Any], str]] = []
    hub = FastAPI()

    @hub.post("/hook")
    async def hook(request: Request) -> dict[str, str]:
        received.append((json.loads(await request.body()), request.headers["authorization"]))
        return {}

    store.add_sku("MUG-1", stock=5)
    with serving(hub) as url:
        store.webhook_url = f"{url}/hook"
        store.duplicate_webhooks = True
        order = store.place_order([Line("MUG-1")])
        store.cancel(order["id"])
        assert store.wait_for_webhooks(10)
    assert [(n["type"], n["data"]["order_status"]) for n, _ in received] == [
        (1, "AWAITING_SHIPMENT"),
        (1, "AWAITING_SHIPMENT"),
        (1, "CANCEL"),
        (1, "CANCEL"),
    ]
    published = sample("webhook_order_status_change_type1.json")
    for notification, signature in received:
        assert sorted(notification) == sorted(published)
        body = json.dumps(notification, separators=(",", ":")).encode()
        assert signature == store.webhook_signature(body)
