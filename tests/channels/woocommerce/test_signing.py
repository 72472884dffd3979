"""WooCommerce's two signatures: OAuth 1.0a one-legged requests over plain HTTP (checked against the
published examples) and webhook deliveries (base64 HMAC-SHA256 of the raw body), and the ping."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from pathlib import Path

import pytest

from orderly.channels.connector import UnusableDelivery
from orderly.channels.woocommerce import WooCommerceConnector, client, webhooks

SAMPLES = Path(__file__).parent / "samples"
ORDER = (SAMPLES / "order_create_response.json").read_bytes()


def test_the_documented_signature_base_string() -> None:
    # WooCommerce's REST API docs, "Authentication over HTTP": the example base string.
    params = {"oauth_consumer_key": "abc123", "oauth_signature_method": "HMAC-SHA1"}
    assert client.base_string("GET", "http://www.example.com/wp-json/wc/v3/orders", params) == (
        "GET&http%3A%2F%2Fwww.example.com%2Fwp-json%2Fwc%2Fv3%2Forders"
        "&oauth_consumer_key%3Dabc123%26oauth_signature_method%3DHMAC-SHA1"
    )


def test_the_rfc_5849_example_signature() -> None:
    # RFC 5849 section 1.2: WooCommerce's docs point to it. Its request carries a token, which
    # WooCommerce's one-legged flow has none of: the base string and the HMAC are the same steps.
    params = {
        "file": "vacation.jpg",
        "size": "original",
        "oauth_consumer_key": "dpf43f3p2l4k3l03",
        "oauth_token": "nnch734d00sl2jdk",
        "oauth_signature_method": "HMAC-SHA1",
        "oauth_timestamp": "137131202",
        "oauth_nonce": "chapoH",
    }
    base = client.base_string("GET", "http://photos.example.net/photos", params)
    assert base == (
        "GET&http%3A%2F%2Fphotos.example.net%2Fphotos&file%3Dvacation.jpg%26oauth_consumer_key%3D"
        "dpf43f3p2l4k3l03%26oauth_nonce%3DchapoH%26oauth_signature_method%3DHMAC-SHA1%26oauth_timestamp"
        "%3D137131202%26oauth_token%3Dnnch734d00sl2jdk%26size%3Doriginal"
    )
    assert client.digest(base, "kd94hf93k423kf44&pfkkdhi9sl3r4s00") == "MdpQcU8iPSUjWoN/UDMsK2sui9I="


def test_woocommerce_keys_with_the_secret_and_an_ampersand() -> None:
    assert client.signing_key("cs_abc") == "cs_abc&"
    signed = client.oauth_params(
        "GET",
        "http://shop.test/wp-json/wc/v3/orders",
        {"per_page": "100", "modified_after": "2026-12-04T06:00:00"},
        "ck_key",
        "cs_secret",
        timestamp=1764828000,
        nonce="n0nce",
    )
    base = client.base_string(
        "GET",
        "http://shop.test/wp-json/wc/v3/orders",
        {"per_page": "100", "modified_after": "2026-12-04T06:00:00", **signed} | {"oauth_signature": ""},
    )
    assert "modified_after%3D2026-12-04T06%253A00%253A00" in base  # values encoded, then the whole
    unsigned = {k: v for k, v in signed.items() if k != "oauth_signature"}
    expected_base = client.base_string(
        "GET",
        "http://shop.test/wp-json/wc/v3/orders",
        {"per_page": "100", "modified_after": "2026-12-04T06:00:00", **unsigned},
    )
    expected = base64.b64encode(hmac.new(b"cs_secret&", expected_base.encode(), hashlib.sha1).digest())
    assert signed["oauth_signature"] == expected.decode()
    sha256 = client.oauth_params(
        "GET", "http://shop.test/x", {}, "ck", "cs", timestamp=1, nonce="n", signature_method="HMAC-SHA256"
    )
    assert len(base64.b64decode(sha256["oauth_signature"])) == 32


def test_percent_encoding_is_rfc_3986() -> None:
    assert client.percent("a b+c/~_.-*") == "a%20b%2Bc%2F~_.-%2A"
    assert client.percent("é") == "%C3%A9"


def signed(body: bytes, secret: str = "whsec", **headers: str) -> dict[str, str]:
    return {
        "X-WC-Webhook-Topic": "order.updated",
        "X-WC-Webhook-Signature": webhooks.signature(secret, body),
        "X-WC-Webhook-Delivery-ID": "d41d8cd98f00b204e9800998ecf8427e",
        **headers,
    }


def test_a_delivery_verifies_only_with_its_secret_and_its_exact_body() -> None:
    headers = signed(ORDER)
    expected = base64.b64encode(hmac.new(b"whsec", ORDER, hashlib.sha256).digest()).decode()
    assert headers["X-WC-Webhook-Signature"] == expected
    assert WooCommerceConnector.verify_webhook("whsec", headers, ORDER)
    lower = {k.lower(): v for k, v in headers.items()}
    assert WooCommerceConnector.verify_webhook("whsec", lower, ORDER)
    assert not WooCommerceConnector.verify_webhook("other", headers, ORDER)
    assert not WooCommerceConnector.verify_webhook("whsec", headers, ORDER + b" ")
    assert not WooCommerceConnector.verify_webhook(None, headers, ORDER)
    assert not WooCommerceConnector.verify_webhook("whsec", {}, ORDER)


def test_an_order_delivery_is_keyed_like_a_poll_of_the_same_version() -> None:
    event = WooCommerceConnector.parse_webhook(signed(ORDER), ORDER)
    assert (event.external_id, event.version, event.topic) == ("727", "2017-03-22T19:28:08Z", "order.updated")
    assert event.body == json.loads(ORDER)
    assert WooCommerceConnector.webhook_topic(signed(ORDER)) == "order.updated"


def test_a_deletion_names_its_order_and_cancels_it() -> None:
    body = b'{"id":727}'
    event = WooCommerceConnector.parse_webhook(signed(body, **{"X-WC-Webhook-Topic": "order.deleted"}), body)
    assert (event.external_id, event.version, event.body) == ("727", "deleted", {"id": 727})
    assert webhooks.is_deletion(event.body)


@pytest.mark.parametrize(
    ("topic", "body", "reason"),
    [
        ("product.updated", ORDER, "only order topics"),
        ("order.updated", b"not json", "not JSON"),
        ("order.updated", b"[1]", "not a JSON object"),
        ("order.updated", b'{"id": "727"}', "no order id"),
        ("order.updated", b'{"id": 727}', "date_modified_gmt"),
    ],
)
def test_what_the_hub_cannot_use_is_kept_with_its_reason(topic: str, body: bytes, reason: str) -> None:
    with pytest.raises(UnusableDelivery, match=reason) as raised:
        WooCommerceConnector.parse_webhook(signed(body, **{"X-WC-Webhook-Topic": topic}), body)
    assert raised.value.topic == topic


def test_the_unsigned_ping_of_a_new_webhook_is_told_apart() -> None:
    assert WooCommerceConnector.ping({}, b"webhook_id=142")
    assert not WooCommerceConnector.ping(signed(b"webhook_id=142"), b"webhook_id=142")
    assert not WooCommerceConnector.ping({}, b"webhook_id=142&x=1")
    assert not WooCommerceConnector.ping({}, ORDER)
