"""Lazada's two signatures: requests (uppercase hex HMAC-SHA256 over the API path and the sorted
parameters) and pushes (lowercase hex HMAC-SHA256 over the app key and the body)."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

from orderly.channels.lazada import LazadaConnector, webhooks
from orderly.channels.lazada.client import sign
from orderly.sandbox.lazada import push_signature
from orderly.sandbox.lazada import sign as sandbox_sign

SAMPLES = Path(__file__).parent / "samples"


def test_the_documented_example_signature() -> None:
    # Lazada's "HTTP request sample" (GetOrder, app secret "helloworld"), published with its result.
    params = {
        "app_key": "123456",
        "access_token": "test",
        "timestamp": "1517820392000",
        "sign_method": "sha256",
        "order_id": "1234",
    }
    expected = "4190D32361CFB9581350222F345CB77F3B19F0E31D162316848A2C1FFD5FAB4A"
    assert sign("helloworld", "/order/get", params) == expected
    assert sign("helloworld", "/order/get", {**params, "sign": expected}) == expected  # sign is left out
    assert sandbox_sign("helloworld", "/order/get", params) == expected


def test_the_contract_examples_sign_in_the_published_form() -> None:
    # The contract's /orders/get example carries a placeholder sign (the same in both examples, with
    # no app secret published): what can be checked is its form, and that every parameter counts.
    line = (SAMPLES / "orders_get_request_example.txt").read_text().split()[1]
    params = dict(parse_qsl(urlsplit(line).query))
    published = params["sign"]
    assert len(published) == 64 and published == published.upper()
    ours = sign("secret", "/orders/get", params)
    assert len(ours) == 64 and ours == ours.upper() and ours != published
    assert sign("secret", "/orders/get", {**params, "limit": "11"}) != ours
    assert sign("secret", "/orders/getx", params) != ours
    assert params["update_after"] == "2017-02-10T09:00:00+08:00"  # signed decoded, not URL-encoded


def test_a_push_verifies_only_with_its_app_key_and_secret() -> None:
    body = (SAMPLES / "webhook_trade_order_status.json").read_bytes()
    good = push_signature("100132", "app-secret", body)
    assert good == good.lower() and len(good) == 64
    secret = "100132\napp-secret"
    assert LazadaConnector.verify_webhook(secret, {"authorization": good}, body)
    assert LazadaConnector.verify_webhook(secret, {"Authorization": good.upper()}, body)
    assert not LazadaConnector.verify_webhook(secret, {"Authorization": good}, body + b" ")
    assert not LazadaConnector.verify_webhook("100133\napp-secret", {"Authorization": good}, body)
    assert not LazadaConnector.verify_webhook(secret, {}, body)
    assert not LazadaConnector.verify_webhook(None, {"Authorization": good}, body)
    assert not LazadaConnector.verify_webhook("app-secret", {"Authorization": good}, body)


def test_the_published_pushes_are_about_their_orders_and_stored_once_per_content() -> None:
    trade = (SAMPLES / "webhook_trade_order_status.json").read_bytes()
    event = webhooks.parse(trade)
    assert (event.external_id, event.topic) == ("260422900198363", "trade_order:0")
    assert LazadaConnector.webhook_polls  # a push names its order: the hub reads it
    assert event.version == "push:1603698638:260422900298363:unpaid"
    assert webhooks.parse(trade) == event
    reverse = webhooks.parse((SAMPLES / "webhook_reverse_order_status.json").read_bytes())
    assert (reverse.external_id, reverse.topic) == ("252883361348153", "reverse_order:0")
    assert reverse.body["data"]["order_status"] == "returned"
    # The published HTTP sample's body carries # comments: not JSON, kept as unusable.
    published = (SAMPLES / "webhook_trade_order_push.published.txt").read_text()
    body = published.split("#body\n", 1)[1].encode()
    try:
        webhooks.parse(body)
    except webhooks.UnusableDelivery as exc:
        assert "not JSON" in str(exc)
    else:
        raise AssertionError("a commented body was read as JSON")
    assert json.loads(trade)["data"]["trade_order_id"] == event.external_id
