"""The WooCommerce sandbox, driven by WooCommerce's own Python client (``woocommerce``, which signs with
OAuth 1.0a over plain HTTP) and by hand: authentication refused as WooCommerce refuses it, order lists
with their filters and paging headers, the published error bodies, stock batches, notes, Shipment
Tracking, seeded faults and signed webhooks after an unsigned ping."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request
from fastapi.responses import Response
from woocommerce import API

from orderly.sandbox.serve import serving
from orderly.sandbox.woocommerce import Faults, WooStore, webhook_signature

SAMPLES = Path(__file__).parents[2] / "channels" / "woocommerce" / "samples"


def sample(name: str) -> Any:
    return json.loads((SAMPLES / name).read_text())


@pytest.fixture
def wcapi(store: WooStore, base_url: str) -> API:
    return API(
        url=base_url,
        consumer_key=store.consumer_key,
        consumer_secret=store.consumer_secret,
        wp_api=True,
        version="wc/v3",
        timeout=5,
    )


def test_the_official_client_lists_orders_with_the_paging_headers(store: WooStore, wcapi: API) -> None:
    store.add_product("MUG", quantity=50, price="12.50")
    placed = [store.place_order([("MUG", 1)]) for _ in range(12)]
    first = wcapi.get("orders", params={"per_page": 5, "orderby": "id", "order": "asc"})
    assert first.status_code == 200, first.text
    assert [o["id"] for o in first.json()] == placed[:5]
    assert (first.headers["X-WP-Total"], first.headers["X-WP-TotalPages"]) == ("12", "3")
    assert 'rel="next"' in first.headers["Link"] and 'rel="prev"' not in first.headers["Link"]
    last = wcapi.get("orders", params={"per_page": 5, "page": 3, "orderby": "id", "order": "asc"})
    assert [o["id"] for o in last.json()] == placed[10:] and 'rel="next"' not in last.headers["Link"]


def test_an_order_has_the_published_shape(store: WooStore, wcapi: API) -> None:
    store.add_product("MUG", quantity=5, price="3.00")
    order = wcapi.get(f"orders/{store.place_order([('MUG', 2)])}").json()
    published = sample("order_create_response.json")
    assert set(published) <= set(order)
    assert set(published["line_items"][0]) <= set(order["line_items"][0])
    assert order["date_created_gmt"] != order["date_created"]  # the site's zone is not UTC


def test_the_published_errors(store: WooStore, wcapi: API) -> None:
    assert wcapi.get("orders/123456").json() == {
        "code": "woocommerce_rest_shop_order_invalid_id",
        "message": "Invalid ID.",
        "data": {"status": 404},
    }
    assert wcapi.get("no/such/thing").json() == sample("error_wp_rest_no_route_404.json")
    assert wcapi.get("products/123456").status_code == 404


def test_refused_keys_signatures_timestamps_and_nonces(store: WooStore, base_url: str, wcapi: API) -> None:
    wrong = API(url=base_url, consumer_key=store.consumer_key, consumer_secret="cs_x", version="wc/v3")
    refused = wrong.get("orders")
    assert refused.status_code == 401
    assert refused.json()["code"] == "woocommerce_rest_authentication_error"
    anonymous = httpx.get(f"{base_url}/wp-json/wc/v3/orders")
    assert anonymous.json()["code"] == "woocommerce_rest_cannot_view"
    # Basic auth over plain HTTP is not taken: the request stays anonymous.
    basic = httpx.get(f"{base_url}/wp-json/wc/v3/orders", auth=(store.consumer_key, store.consumer_secret))
    assert basic.status_code == 401
    # The same signed request twice: its nonce was spent.
    signed = wcapi.get("orders").request.url
    assert httpx.get(signed).json()["message"] == "Invalid nonce - nonce has already been used."
    partial = httpx.get(f"{base_url}/wp-json/wc/v3/orders", params={"oauth_consumer_key": store.consumer_key})
    assert partial.json()["code"] == "woocommerce_rest_authentication_missing_parameter"


def test_modified_after_filters_in_gmt(store: WooStore, wcapi: API) -> None:
    store.add_product("MUG", quantity=5)
    order_id = store.place_order([("MUG", 1)])
    stamp = store.order_view(order_id)["date_modified_gmt"]
    params = {"modified_after": stamp, "dates_are_gmt": "true"}
    assert wcapi.get("orders", params=params).json() == []  # after is exclusive
    params = {"modified_before": "2100-01-01T00:00:00", "modified_after": "2000-01-01T00:00:00"}
    assert [o["id"] for o in wcapi.get("orders", params=params).json()] == [order_id]


def test_stock_batches_answer_each_object(store: WooStore, wcapi: API) -> None:
    mug = int(store.add_product("MUG", quantity=5))
    [tee] = store.add_variable_product("Tee", [("TEE-M", "20.00", 1)])
    product, variation = (int(part) for part in tee.split(":"))
    store.fail_sku("MUG", "woocommerce_rest_product_invalid_id", "Invalid ID.")
    answer = wcapi.post("products/batch", {"update": [{"id": mug, "stock_quantity": 9}]}).json()
    assert answer["update"][0]["error"]["code"] == "woocommerce_rest_product_invalid_id"
    answer = wcapi.post(
        f"products/{product}/variations/batch", {"update": [{"id": variation, "stock_quantity": 9}]}
    ).json()
    assert answer["update"][0]["stock_quantity"] == 9 and store.quantity("TEE-M") == 9
    too_many = wcapi.post("products/batch", {"update": [{"id": mug}] * 101})
    assert too_many.status_code == 413


def test_notes_statuses_and_shipment_tracking(store: WooStore, wcapi: API) -> None:
    store.add_product("MUG", quantity=5)
    order_id = store.place_order([("MUG", 1)])
    note = wcapi.post(f"orders/{order_id}/notes", {"note": "Shipped", "customer_note": True})
    assert note.status_code == 201 and note.json()["customer_note"] is True
    assert wcapi.put(f"orders/{order_id}", {"status": "completed"}).json()["status"] == "completed"
    tracker = API(
        url=wcapi.url,
        consumer_key=store.consumer_key,
        consumer_secret=store.consumer_secret,
        wp_api=True,
        version="wc-shipment-tracking/v3",
    )
    made = tracker.post(
        f"orders/{order_id}/shipment-trackings",
        {
            "custom_tracking_provider": "UPS",
            "custom_tracking_link": "https://t.example/%1$s",
            "tracking_number": "1Z",
        },
    )
    assert made.status_code == 201 and made.json()["tracking_link"] == "https://t.example/1Z"
    assert [t["tracking_number"] for t in tracker.get(f"orders/{order_id}/shipment-trackings").json()] == [
        "1Z"
    ]
    plain = WooStore(tracking_extension=False)
    assert plain.list_trackings(order_id).body == sample("error_wp_rest_no_route_404.json")


def test_seeded_faults_name_their_wait(store: WooStore, wcapi: API) -> None:
    store.set_faults(Faults(throttle=1.0, retry_after=4))
    throttled = wcapi.get("orders")
    assert (throttled.status_code, throttled.headers["Retry-After"]) == (429, "4")
    store.set_faults(Faults(unavailable=1.0))
    assert wcapi.get("orders").status_code == 503
    store.set_faults(Faults(error=1.0))
    assert wcapi.get("orders").status_code == 500


@pytest.fixture
def receiver() -> Iterator[tuple[str, list[tuple[dict[str, str], bytes]]]]:
    got: list[tuple[dict[str, str], bytes]] = []
    lock = threading.Lock()
    app = FastAPI()

    @app.post("/hook")
    async def hook(request: Request) -> Response:
        with lock:
            got.append((dict(request.headers), await request.body()))
        return Response(status_code=200)

    with serving(app) as url:
        yield f"{url}/hook", got


def test_webhooks_are_pinged_then_signed_and_a_trashed_order_is_named(
    store: WooStore, receiver: tuple[str, list[tuple[dict[str, str], bytes]]]
) -> None:
    url, got = receiver
    assert store.set_webhook(url, "whsec", duplicates=True) == 200
    store.add_product("MUG", quantity=5)
    order_id = store.place_order([("MUG", 1)])
    store.trash(order_id)
    assert store.wait_for_deliveries()
    ping, *deliveries = got
    assert ping[1].startswith(b"webhook_id=") and "x-wc-webhook-signature" not in ping[0]
    assert [headers["x-wc-webhook-topic"] for headers, _ in deliveries] == [
        "order.created",
        "order.created",
        "order.deleted",
        "order.deleted",
    ]
    for headers, body in deliveries:
        assert headers["x-wc-webhook-signature"] == webhook_signature("whsec", body)
        assert headers["x-wc-webhook-delivery-id"]
    assert json.loads(deliveries[2][1]) == {"id": order_id}
