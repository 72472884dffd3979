"""Order webhooks: what Shopify posts, signed; retried with the same id; dropped or sent twice on
request, the same way for the same seed."""

from __future__ import annotations

import json
import uuid
from collections import Counter

from orderly.sandbox.shopify import ShopifyStore
from tests.sandbox.shopify.helpers import SECRET, Receiver, hmac_base64, new_store, place, sample


def test_order_events_are_posted_signed_with_shopifys_headers(store: ShopifyStore) -> None:
    with Receiver().serving(store) as receiver:
        order = place(store)
        store.pay(place(store, financial_status="pending")["id"])
        store.update_order(order["id"], {"note": "leave at the door"})
        store.cancel(order["id"])
        assert store.wait_for_webhooks(5)

    topics = [headers["x-shopify-topic"] for headers, _ in receiver.deliveries]
    assert topics == [
        "orders/create",
        "orders/create",
        "orders/updated",
        "orders/updated",
        "orders/cancelled",
    ]
    captured = {k for k in sample("webhook_orders_create_test_headers.json") if k.startswith("x-shopify-")}
    for headers, body in receiver.deliveries:
        assert headers["x-shopify-hmac-sha256"] == hmac_base64(SECRET, body)
        assert captured - {"x-shopify-test"} <= set(headers)
        assert headers["x-shopify-shop-domain"] == store.shop.domain
        assert headers["x-shopify-api-version"] == "2024-01"
        assert headers["content-type"] == "application/json"
        assert uuid.UUID(headers["x-shopify-webhook-id"])
    assert len({h["x-shopify-webhook-id"] for h, _ in receiver.deliveries}) == 5

    headers, body = receiver.deliveries[-1]
    cancelled = json.loads(body)
    assert cancelled == store.order(order["id"])  # the REST representation, ids exact
    assert headers["x-shopify-order-id"] == str(order["id"]) and f'"id":{order["id"]},'.encode() in body
    assert cancelled["cancelled_at"] is not None and cancelled["cancel_reason"] == "customer"
    assert json.loads(receiver.deliveries[3][1])["note"] == "leave at the door"


def test_no_target_no_deliveries(store: ShopifyStore) -> None:
    place(store)
    assert store.wait_for_webhooks(1)
    assert store.webhook_deliveries() == []


def test_a_refused_delivery_is_retried_with_the_same_webhook_id(store: ShopifyStore) -> None:
    with Receiver(statuses=[500, 503]).serving(store) as receiver:
        place(store)
        assert store.wait_for_webhooks(5)

    ids = [headers["x-shopify-webhook-id"] for headers, _ in receiver.deliveries]
    assert len(ids) == 3 and len(set(ids)) == 1
    assert [(d["outcome"], d["attempts"], d["status"]) for d in store.webhook_deliveries()] == [
        ("delivered", 3, 200)
    ]


def test_a_delivery_nobody_takes_is_given_up(store: ShopifyStore) -> None:
    with Receiver(statuses=[500, 500, 500]).serving(store):
        place(store)
        assert store.wait_for_webhooks(5)
    assert [(d["outcome"], d["attempts"], d["status"]) for d in store.webhook_deliveries()] == [
        ("failed", 3, 500)
    ]


def _faulty_run() -> tuple[list[dict[str, object]], list[str]]:
    store = new_store()
    store.set_faults({"seed": 11, "webhook_drop": 0.25, "webhook_duplicate": 0.25})
    try:
        with Receiver().serving(store) as receiver:
            for _ in range(16):
                place(store)
            assert store.wait_for_webhooks(5)
        received = [headers["x-shopify-webhook-id"] for headers, _ in receiver.deliveries]
        return store.webhook_deliveries(), received
    finally:
        store.close()


def test_faults_drop_some_deliveries_and_send_others_twice_reproducibly() -> None:
    log, received = _faulty_run()

    dropped = [d for d in log if d["outcome"] == "dropped"]
    duplicates = [d for d in log if d["duplicate"]]
    assert dropped and duplicates
    assert len(received) == 16 - len(dropped) + len(duplicates)
    twice = [webhook_id for webhook_id, n in Counter(received).items() if n == 2]
    assert sorted(twice) == sorted(str(d["webhook_id"]) for d in duplicates)
    assert not {d["webhook_id"] for d in dropped} & set(received)

    def fates(entries: list[dict[str, object]]) -> list[tuple[str, str, bool]]:
        return sorted((str(d["webhook_id"]), str(d["outcome"]), bool(d["duplicate"])) for d in entries)

    again, _ = _faulty_run()
    assert fates(again) == fates(log)  # the same seed drops and repeats the same deliveries
