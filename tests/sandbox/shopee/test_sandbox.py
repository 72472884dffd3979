"""The Shopee sandbox against the contract sheet and its samples: signing, tokens, order list windows
and cursors, details, update_stock's partial failures, logistics, pushes, throttling and faults."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request

from orderly.sandbox.serve import serving
from orderly.sandbox.shopee import ShopeeStore
from tests.sandbox.shopee.helpers import get, post, signed

SAMPLES = Path(__file__).parents[2] / "channels" / "shopee" / "samples"


def sample(name: str) -> Any:
    return json.loads((SAMPLES / name).read_text())


def window(**extra: Any) -> dict[str, Any]:
    now = int(time.time())
    return {
        "time_range_field": "update_time",
        "time_from": now - 3600,
        "time_to": now + 60,
        "page_size": 10,
    } | extra


def test_a_wrong_sign_gets_shopees_error_body(http: httpx.Client, store: ShopeeStore) -> None:
    params = signed(store, "/api/v2/order/get_order_list", **window())
    params["sign"] = "0" * 64
    answer = http.get("/api/v2/order/get_order_list", params=params)
    body = answer.json()
    assert (body["error"], body["message"]) == ("error_sign", "Wrong sign.")
    assert set(body) == {"request_id", "error", "message"}
    # Signed for another path: wrong too.
    params = signed(store, "/api/v2/order/get_order_detail", **window())
    assert http.get("/api/v2/order/get_order_list", params=params).json()["error"] == "error_sign"


def test_a_stale_timestamp_and_a_wrong_token_are_refused(http: httpx.Client, store: ShopeeStore) -> None:
    params = signed(store, "/api/v2/order/get_order_list", **window())
    params["timestamp"] = int(params["timestamp"]) - 600
    assert http.get("/api/v2/order/get_order_list", params=params).json()["error"] == "error_param"
    answer = get(http, store, "order/get_order_list", token="f" * 32, **window())
    assert answer.json()["error"] == "error_auth"


def test_an_expired_token_is_refused_until_refreshed_and_a_refresh_token_is_good_once(
    http: httpx.Client, store: ShopeeStore
) -> None:
    store.expire_access_token()
    assert get(http, store, "order/get_order_list", **window()).json()["error"] == "error_auth"
    refresh = store.refresh_token
    body = {"refresh_token": refresh, "partner_id": store.partner_id, "shop_id": store.shop_id}
    answer = post(http, store, "auth/access_token/get", body, public=True).json()
    assert answer["error"] == "" and answer["expire_in"] == 4 * 3600
    assert (answer["access_token"], answer["refresh_token"]) == (store.access_token, store.refresh_token)
    assert answer["refresh_token"] != refresh
    assert get(http, store, "order/get_order_list", **window()).json()["error"] == ""
    again = post(http, store, "auth/access_token/get", body, public=True).json()
    assert again["error"] == "error_auth"
    # A public call signed as a shop call is a wrong sign.
    assert post(http, store, "auth/access_token/get", body).json()["error"] == "error_sign"


def test_the_authorization_code_gives_the_first_tokens_once(http: httpx.Client, store: ShopeeStore) -> None:
    code = store.authorization_code()
    body = {"code": code, "partner_id": store.partner_id, "shop_id": store.shop_id}
    answer = post(http, store, "auth/token/get", body, public=True).json()
    assert answer["access_token"] == store.access_token
    assert post(http, store, "auth/token/get", body, public=True).json()["error"] == "error_auth"


def test_the_list_pages_with_the_cursor_and_more(http: httpx.Client, store: ShopeeStore) -> None:
    store.add_model("SKU-1", stock=100)
    placed = [store.place_order([("SKU-1", 1)]) for _ in range(25)]
    seen, cursor, pages = [], "", 0
    while True:
        answer = get(http, store, "order/get_order_list", **window(cursor=cursor)).json()["response"]
        seen += [o["order_sn"] for o in answer["order_list"]]
        pages += 1
        if not answer["more"]:
            assert answer["next_cursor"] == ""
            break
        cursor = answer["next_cursor"]
    assert (sorted(seen), pages) == (sorted(placed), 3)
    with_status = get(http, store, "order/get_order_list", **window(response_optional_fields="order_status"))
    assert with_status.json()["response"]["order_list"][0]["order_status"] == "READY_TO_SHIP"
    shaped = sample("get_order_list_response.json")["response"]
    assert set(answer) == set(shaped)


def test_a_window_over_15_days_is_the_published_error(http: httpx.Client, store: ShopeeStore) -> None:
    now = int(time.time())
    answer = get(http, store, "order/get_order_list", **window(time_from=now - 15 * 86400 - 1, time_to=now))
    published = sample("get_order_list_error_invalid_time.json")
    assert {k: answer.json()[k] for k in ("error", "message")} == {
        k: published[k] for k in ("error", "message")
    }
    assert (
        get(http, store, "order/get_order_list", **window(time_from=now - 15 * 86400, time_to=now)).json()[
            "error"
        ]
        == ""
    )
    assert get(http, store, "order/get_order_list", **window(page_size=101)).json()["error"] == "error_param"


def test_details_come_in_batches_of_50_with_the_fields_asked(http: httpx.Client, store: ShopeeStore) -> None:
    store.add_model("SKU-1", stock=100)
    sn = store.place_order([("SKU-1", 2)], message_to_seller="hi")
    bare = get(http, store, "order/get_order_detail", order_sn_list=sn).json()["response"]["order_list"][0]
    assert "item_list" not in bare and "recipient_address" not in bare
    full = get(
        http,
        store,
        "order/get_order_detail",
        order_sn_list=sn,
        response_optional_fields="item_list,recipient_address",
    )
    order = full.json()["response"]["order_list"][0]
    assert order["item_list"][0]["model_quantity_purchased"] == 2 and "recipient_address" in order
    published = sample("get_order_detail_response.json")["response"]["order_list"][0]
    assert set(order["item_list"][0]) <= set(published["item_list"][0])
    assert (
        get(http, store, "order/get_order_detail", order_sn_list=",".join([sn] * 51)).json()["error"]
        == "error_param"
    )
    missing = get(http, store, "order/get_order_detail", order_sn_list="NOPE").json()
    assert missing["error"] == sample("get_order_detail_error_not_found.json")["error"]


def test_returns_are_listed_by_create_and_update_windows_page_by_page(
    http: httpx.Client, store: ShopeeStore
) -> None:
    store.add_model("MUG-1", stock=100)
    store.add_model("MUG-2", stock=100)
    orders = [store.place_order([("MUG-1", 2), ("MUG-2", 1)]) for _ in range(5)]
    for sn in orders:
        store.ship_outside(sn)
    returns = [store.return_items(sn, status="REQUESTED") for sn in orders]
    part = store.return_items(orders[0], [("MUG-2", 1)], status="ACCEPTED")
    refund = store.return_items(orders[1], status="ACCEPTED", needs_logistics=False, solution=1)
    now = int(time.time())
    created = {"create_time_from": now - 60, "create_time_to": now + 60}
    seen, page_no = [], 0
    while True:
        answer = get(http, store, "returns/get_return_list", page_no=page_no, page_size=3, **created).json()
        assert answer["error"] == ""
        seen += [entry["return_sn"] for entry in answer["response"]["return"]]
        if not answer["response"]["more"]:
            break
        page_no += 1
    assert seen == [*returns, part, refund] and page_no == 2
    listed = get(http, store, "returns/get_return_list", page_no=0, page_size=100, **created).json()
    entry = next(e for e in listed["response"]["return"] if e["return_sn"] == part)
    assert (entry["order_sn"], entry["status"], entry["needs_logistics"], entry["return_solution"]) == (
        orders[0],
        "ACCEPTED",
        True,
        0,
    )
    model = store.model("MUG-2")
    assert [(i["item_id"], i["model_id"], i["amount"]) for i in entry["item"]] == [
        (model.item_id, model.model_id, 1)
    ]
    assert (
        next(e for e in listed["response"]["return"] if e["return_sn"] == refund)["needs_logistics"] is False
    )
    # A return moved later is found by its update_time; the order it names keeps its own.
    before = store.order(orders[2])["update_time"]
    time.sleep(1.1)
    store.move_return(returns[2], "ACCEPTED")
    later = int(time.time())
    changed = get(
        http, store, "returns/get_return_list", page_no=0, page_size=10,
        update_time_from=later, update_time_to=later + 60,
    ).json()["response"]  # fmt: skip
    assert [e["return_sn"] for e in changed["return"]] == [returns[2]] and changed["more"] is False
    assert store.order(orders[2])["update_time"] == before
    # Windows over 15 days, pages over 100 and an update window starting before the create window are
    # refused.
    wide = {"create_time_from": now - 16 * 86400, "create_time_to": now}
    for params in (
        {"page_no": 0, "page_size": 10, **wide},
        {"page_no": 0, "page_size": 101},
        {"page_no": 0, "page_size": 10, **created, "update_time_from": now - 61, "update_time_to": now},
    ):
        assert get(http, store, "returns/get_return_list", **params).json()["error"] == "error_param"
    with pytest.raises(ValueError, match="not shipped"):
        store.return_items(store.place_order([("MUG-1", 1)]))


def test_update_stock_answers_partial_failures_inside_a_success(
    http: httpx.Client, store: ShopeeStore
) -> None:
    item, first = store.add_model("SKU-1", stock=5)
    second = store.add_model("SKU-2", stock=1, item_id=item)[1]
    store.refuse_stock(item, second, "Stock is locked by a promotion.")
    body = {
        "item_id": item,
        "stock_list": [{"model_id": m, "seller_stock": [{"stock": 9}]} for m in (first, second, 5)],
    }
    answer = post(http, store, "product/update_stock", body).json()
    assert answer["error"] == ""
    assert answer["response"]["success_list"] == [{"model_id": first, "location_id": "", "stock": 9}]
    assert [f["model_id"] for f in answer["response"]["failure_list"]] == [second, 5]
    assert answer["response"]["failure_list"][0]["failed_reason"] == "Stock is locked by a promotion."
    assert store.stock(item, first) == 9 and store.stock(item, second) == 1
    template = sample("update_stock_response_template.json")["response"]
    assert set(answer["response"]) == set(template)
    refused = post(http, store, "product/update_stock", {"stock_list": []}).json()
    assert refused["error"] == sample("update_stock_error_example.json")["error"]


def test_logistics_ship_then_tracking_then_document(http: httpx.Client, store: ShopeeStore) -> None:
    store.add_model("SKU-1", stock=5)
    sn = store.place_order([("SKU-1", 1)], channel_kind="pickup")
    parameter = get(http, store, "logistics/get_shipping_parameter", order_sn=sn).json()["response"]
    assert parameter["info_needed"] == {"pickup": ["address_id", "pickup_time_id"]}
    slot = parameter["pickup"]["address_list"][0]["time_slot_list"][0]["pickup_time_id"]
    wrong = post(http, store, "logistics/ship_order", {"order_sn": sn, "dropoff": {}}).json()
    assert wrong["error"].startswith("logistics.")
    shipped = post(
        http,
        store,
        "logistics/ship_order",
        {"order_sn": sn, "pickup": {"address_id": 2826, "pickup_time_id": slot}},
    )
    assert set(shipped.json()) == set(sample("ship_order_response.json"))
    again = post(
        http,
        store,
        "logistics/ship_order",
        {"order_sn": sn, "pickup": {"address_id": 2826, "pickup_time_id": slot}},
    )
    assert again.json()["message"] == "logistic status not ready to ship"
    number = get(http, store, "logistics/get_tracking_number", order_sn=sn).json()["response"][
        "tracking_number"
    ]
    assert number.startswith("SPXMY") and store.order(sn)["order_status"] == "PROCESSED"
    assert (
        get(http, store, "logistics/get_tracking_number", order_sn="NOPE").json()["error"]
        == "logistics.invalid_error"
    )
    order_list = [{"order_sn": sn, "tracking_number": number}]
    assert post(http, store, "logistics/download_shipping_document", {"order_list": order_list}).json()[
        "error"
    ]
    post(http, store, "logistics/create_shipping_document", {"order_list": order_list})
    ready = post(http, store, "logistics/get_shipping_document_result", {"order_list": order_list}).json()
    assert ready["response"]["result_list"][0]["status"] == "READY"
    pdf = post(http, store, "logistics/download_shipping_document", {"order_list": order_list})
    assert pdf.headers["content-type"] == "application/pdf" and pdf.content.startswith(b"%PDF")


def test_non_integrated_takes_the_sellers_tracking_number(http: httpx.Client, store: ShopeeStore) -> None:
    store.add_model("SKU-1", stock=5)
    sn = store.place_order([("SKU-1", 1)], channel_kind="non_integrated")
    request = sample("ship_order_request_non_integrated.json") | {"order_sn": sn}
    assert post(http, store, "logistics/ship_order", request).json()["error"] == ""
    assert store.order(sn)["tracking_number"] == "AK224200239740W"


def test_pushes_are_signed_over_url_and_body(store: ShopeeStore) -> None:
    received: list[tuple[str, bytes]] = []
    hook = FastAPI()

    @hook.post("/push")
    async def push(request: Request) -> dict[str, str]:
        received.append((request.headers["authorization"], await request.body()))
        return {}

    with serving(hook) as hook_url:
        store.push_url = f"{hook_url}/push"
        store.add_model("SKU-1", stock=5)
        sn = store.place_order([("SKU-1", 1)])
        store.set_status(sn, "CANCELLED")
        store.push_status(sn, times=2)
    assert len(received) == 4
    for authorization, body in received:
        expected = hmac.new(store.partner_key.encode(), f"{hook_url}/push|".encode() + body, hashlib.sha256)
        assert authorization == expected.hexdigest()
    payload = json.loads(received[1][1])
    shape = sample("webhook_order_status_push_code3_capture.json")
    assert set(payload) == set(shape) and set(payload["data"]) == set(shape["data"])
    assert (payload["data"]["ordersn"], payload["data"]["status"], payload["code"]) == (sn, "CANCELLED", 3)
    assert received[2][1] == received[3][1]  # a push sent again is the same message
    model = store.model("SKU-1")
    assert store.stock(model.item_id, model.model_id) == 5  # the cancelled unit given back


def test_throttling_and_faults(http: httpx.Client, store: ShopeeStore) -> None:
    store.set_rate(0.001, 1)
    assert get(http, store, "order/get_order_list", **window()).status_code == 200
    throttled = get(http, store, "order/get_order_list", **window())
    assert throttled.status_code == 429 and throttled.json()["error"] == "error_too_many_request"
    store.set_rate(1000, 1000)
    store.faults.server_errors = 1
    assert get(http, store, "order/get_order_list", **window()).status_code == 500
    store.faults.slow, store.faults.slow_seconds = 1, 0.3
    started = time.monotonic()
    assert get(http, store, "order/get_order_list", **window()).status_code == 200
    assert time.monotonic() - started >= 0.3


def test_scripting_over_http(http: httpx.Client, store: ShopeeStore) -> None:
    ids = http.post("/_sandbox/models", json={"sku": "SKU-9", "stock": 4}).json()
    sn = http.post("/_sandbox/orders", json={"lines": [["SKU-9", 3]]}).json()["order_sn"]
    assert http.get(f"/_sandbox/stock/{ids['item_id']}/{ids['model_id']}").json() == {"stock": 1}
    assert http.post(f"/_sandbox/orders/{sn}/status", json={"status": "CANCELLED"}).status_code == 200
    assert store.stock(ids["item_id"], ids["model_id"]) == 4  # given back on cancellation
    assert http.post("/_sandbox/orders", json={"lines": [["NOPE", 1]]}).json()["error"] == "error_param"
    assert http.get("/_sandbox/shop").json()["shop_id"] == store.shop_id


@pytest.mark.parametrize("fbs", [True, False])
def test_a_shopee_fulfilled_order_takes_no_seller_stock(store: ShopeeStore, fbs: bool) -> None:
    item, model = store.add_model("SKU-1", stock=5)
    sn = store.place_order([("SKU-1", 2)], fulfilled_by_shopee=fbs)
    assert store.stock(item, model) == (5 if fbs else 3)
    assert store.order(sn)["fulfillment_flag"] == (
        "fulfilled_by_shopee" if fbs else "fulfilled_by_local_seller"
    )
