"""The Lazada sandbox answers as the contract sheet says the gateway does, driven with plain signed
HTTP requests (no hub code): signatures, timestamps, tokens, paging and filters, throttles, faults,
partial failures, pack and ready-to-ship, pushes."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from orderly.sandbox.lazada import Faults, LazadaStore, push_signature, sign


def call(
    http: httpx.Client, base_url: str, store: LazadaStore, path: str, method: str = "GET", **params: str
) -> Any:
    signed = {
        "app_key": store.app_key,
        "timestamp": str(int(time.time() * 1000)),
        "sign_method": "sha256",
        "access_token": store.access_token,
        **params,
    }
    signed["sign"] = sign(store.app_secret, path, signed)
    if method == "GET":
        return http.get(base_url + path, params=signed).json()
    return http.post(base_url + path, data=signed).json()


def test_a_bad_signature_gets_the_gateways_error_body(
    http: httpx.Client, base_url: str, store: LazadaStore
) -> None:
    good = call(http, base_url, store, "/orders/get", update_after="2020-01-01T00:00:00+08:00")
    assert good["code"] == "0" and good["data"]["countTotal"] == "0"
    signed = {"app_key": store.app_key, "timestamp": str(int(time.time() * 1000)), "sign_method": "sha256"}
    signed |= {
        "access_token": store.access_token,
        "update_after": "2020-01-01T00:00:00+08:00",
        "sign": "0" * 64,
    }
    answer = http.get(f"{base_url}/orders/get", params=signed)
    assert answer.status_code == 200
    body = answer.json()
    assert (body["code"], body["type"]) == ("IncompleteSignature", "ISV") and body["request_id"]


def test_missing_parameters_old_timestamps_and_expired_tokens(
    http: httpx.Client, base_url: str, store: LazadaStore
) -> None:
    body = http.get(f"{base_url}/orders/get").json()
    assert (body["code"], body["message"]) == ("MISSING_PARAMETER", "missing required parameter: app_key")
    old = {
        "app_key": store.app_key,
        "timestamp": str(int((time.time() - 7300) * 1000)),
        "sign_method": "sha256",
    }
    old |= {"access_token": store.access_token, "update_after": "2020-01-01T00:00:00+08:00"}
    old["sign"] = sign(store.app_secret, "/orders/get", old)
    assert http.get(f"{base_url}/orders/get", params=old).json()["code"] == "InvalidTimestamp"
    store.expire_tokens()
    expired = call(http, base_url, store, "/orders/get", update_after="2020-01-01T00:00:00+08:00")
    assert expired["code"] == "IllegalAccessToken"
    refreshed = call(http, base_url, store, "/auth/token/refresh", "POST", refresh_token=store.refresh_token)
    assert refreshed["code"] == "0" and refreshed["expires_in"] == store.token_lifetime
    store.access_token = refreshed["access_token"]
    assert call(http, base_url, store, "/orders/get", update_after="2020-01-01T00:00:00+08:00")["code"] == "0"
    code = store.authorization_code()
    created = call(http, base_url, store, "/auth/token/create", "POST", code=code)
    assert created["code"] == "0" and created["country_user_info"][0]["seller_id"] == store.seller_id
    assert call(http, base_url, store, "/auth/token/create", "POST", code=code)["code"] == "InvalidCode"


def test_orders_page_by_offset_and_filter_by_update_time(
    http: httpx.Client, base_url: str, store: LazadaStore
) -> None:
    store.add_product("MUG-1", quantity=100)
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=2)
    ids = [store.place_order([("MUG-1", 1)], at=start + timedelta(minutes=n)) for n in range(25)]
    params = {
        "update_after": (start + timedelta(minutes=5)).isoformat(),
        "sort_by": "updated_at",
        "sort_direction": "ASC",
    }
    seen = []
    for offset in range(0, 40, 10):
        page = call(http, base_url, store, "/orders/get", **params, offset=str(offset), limit="10")["data"]
        assert page["countTotal"] == "20"
        seen += [order["order_id"] for order in page["orders"]]
    assert seen == ids[5:]
    order = call(http, base_url, store, "/orders/get", **params, limit="1")["data"]["orders"][0]
    assert order["created_at"].endswith("+08:00") and order["statuses"] == ["pending"]
    assert call(http, base_url, store, "/orders/get", **params, limit="101")["code"] == "InvalidParameter"
    items = call(http, base_url, store, "/orders/items/get", order_ids=f"[{ids[0]},{ids[1]}]")["data"]
    assert [entry["order_id"] for entry in items] == ids[:2]
    assert items[0]["order_items"][0]["created_at"][-5:] == "+0800"


def test_throttles_and_faults(http: httpx.Client, base_url: str, store: LazadaStore) -> None:
    store.rate = (0.1, 2)
    answers = [
        call(http, base_url, store, "/orders/get", update_after="2020-01-01T00:00:00+08:00") for _ in range(3)
    ]
    assert [a["code"] for a in answers] == ["0", "0", "ApiCallLimit"]
    store.add_product("MUG-1")
    sku = "<Sku><SellerSku>MUG-1</SellerSku><Quantity>1</Quantity></Sku>"
    payload = f"<Request><Product><Skus>{sku}</Skus></Product></Request>"
    codes = [
        call(http, base_url, store, "/product/price_quantity/update", "POST", payload=payload)["code"]
        for _ in range(3)
    ]
    assert codes == ["0", "0", "E901"]
    store.rate = (1000.0, 1000)
    store.set_faults(Faults(error=1.0))
    signed = {"app_key": store.app_key}
    assert http.get(f"{base_url}/orders/get", params=signed).status_code == 500


def test_a_stock_update_fails_per_sku_inside_a_successful_answer(
    http: httpx.Client, base_url: str, store: LazadaStore
) -> None:
    store.add_product("A", quantity=1)
    store.add_product("B", quantity=1)
    store.fail_sku("B", "SELLER_SKU_INVALID")
    skus = "".join(f"<Sku><SellerSku>{s}</SellerSku><Quantity>7</Quantity></Sku>" for s in ("A", "B", "C"))
    body = call(
        http,
        base_url,
        store,
        "/product/price_quantity/update",
        "POST",
        payload=f"<Request><Product><Skus>{skus}</Skus></Product></Request>",
    )
    assert body["code"] == "0"
    assert [(d["seller_sku"], d["message"]) for d in body["detail"]] == [
        ("B", "SELLER_SKU_INVALID"),
        ("C", "SELLER_SKU_INVALID"),
    ]
    assert (store.quantity("A"), store.quantity("B")) == (7, 1)
    many = "".join("<Sku><SellerSku>A</SellerSku><Quantity>1</Quantity></Sku>" for _ in range(51))
    refused = call(
        http,
        base_url,
        store,
        "/product/price_quantity/update",
        "POST",
        payload=f"<Request><Product><Skus>{many}</Skus></Product></Request>",
    )
    assert refused["code"] == "InvalidParameter"


def test_pack_then_ready_to_ship_then_the_label(
    http: httpx.Client, base_url: str, store: LazadaStore
) -> None:
    import json

    store.add_product("MUG-1", quantity=5)
    order_id = store.place_order([("MUG-1", 2)])
    items = store.order_view(order_id)["items"]
    ids = [i["order_item_id"] for i in items]
    pack = {
        "pack_order_list": [{"order_id": order_id, "order_item_list": ids}],
        "delivery_type": "dropship",
        "shipping_provider_code": "LEX",
    }
    packed = call(http, base_url, store, "/order/fulfill/pack", "POST", packReq=json.dumps(pack))
    results = packed["result"]["data"]["pack_order_list"][0]["order_item_list"]
    assert {r["item_err_code"] for r in results} == {"0"} and len({r["package_id"] for r in results}) == 1
    again = call(http, base_url, store, "/order/fulfill/pack", "POST", packReq=json.dumps(pack))
    assert {r["item_err_code"] for r in again["result"]["data"]["pack_order_list"][0]["order_item_list"]} == {
        "82"
    }
    package = results[0]["package_id"]
    rts = call(
        http,
        base_url,
        store,
        "/order/package/rts",
        "POST",
        readyToShipReq=json.dumps({"packages": [{"package_id": package}]}),
    )
    assert rts["result"]["data"]["packages"][0]["item_err_code"] == "0"
    assert {i["status"] for i in store.order_view(order_id)["items"]} == {"ready_to_ship"}
    doc = call(
        http,
        base_url,
        store,
        "/order/package/document/get",
        getDocumentReq=json.dumps({"doc_type": "PDF", "packages": [{"package_id": package}]}),
    )
    assert http.get(doc["result"]["data"]["pdf_url"]).content.startswith(b"%PDF")


def test_pushes_are_signed_and_sent_per_item(store: LazadaStore) -> None:
    received: list[tuple[bytes, str]] = []

    async def hub(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        received.append((body, dict(scope["headers"])[b"authorization"].decode()))
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    from orderly.sandbox.serve import serving

    store.add_product("MUG-1", quantity=5)
    with serving(hub) as url:
        store.set_webhook(url, duplicates=True)
        order_id = store.place_order([("MUG-1", 1)])
        store.cancel(order_id)
        assert store.wait_for_pushes()
    import json

    statuses = [json.loads(body)["data"]["order_status"] for body, _ in received]
    assert statuses == ["unpaid", "unpaid", "pending", "pending", "canceled", "canceled"]
    assert all(
        signature == push_signature(store.app_key, store.app_secret, body) for body, signature in received
    )
    assert store.quantity("MUG-1") == 5
