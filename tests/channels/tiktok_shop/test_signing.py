"""TikTok Shop's request signature and webhook signature, against the contract's steps and samples."""

from __future__ import annotations

import hashlib
import hmac
from urllib.parse import urlsplit

from orderly.channels.tiktok_shop import TikTokShopConnector, webhooks
from orderly.channels.tiktok_shop.client import sign
from orderly.sandbox.tiktok_shop import expected_sign
from tests.channels.tiktok_shop.samples import SAMPLES, sample

SECRET = "e59af819cc"  # the samples publish no app secret: any secret shows the steps


def _request(name: str) -> tuple[str, dict[str, str]]:
    _, url = (SAMPLES / name).read_text().split()
    parts = urlsplit(url)
    # Taken as written: the page token's "+" and "/" are its own characters (sent, they are escaped).
    return parts.path, dict(pair.split("=", 1) for pair in parts.query.split("&"))


def test_the_published_sign_is_a_placeholder_no_request_reproduces() -> None:
    """The three request samples carry one ``sign`` for three different paths and parameters: it is the
    documentation's placeholder, made with an app secret the samples do not give. What can be checked
    is the contract's steps, written out by hand for the order-search sample."""
    signs = {_request(name)[1]["sign"] for name in (
        "orders_search_202309_request_query.txt",
        "inventory_update_202309_request_query.txt",
        "ship_package_202309_request_query.txt",
    )}  # fmt: skip
    assert signs == {"5361235029d141222525e303d742f9e38aea052d10896d3197ab9d6233730b8c"}

    path, query = _request("orders_search_202309_request_query.txt")
    body = (SAMPLES / "orders_search_202309_request_body.json").read_bytes()
    assert path == "/order/202309/orders/search"
    # Steps 1-5: the parameters but sign, by key, as keyvalue; after the path; the body; in the secret.
    written = (
        SECRET
        + "/order/202309/orders/search"
        + "app_key123abc"
        + "page_size20"
        + "page_token6AsPQsUMvH3RkchNUPPh22NROHkE0D8pmq/N5M1kHYcZmtRyv9aVrNv65W7Q6tFA+7D1ud64MPNz5OaT"
        + "shop_cipherROW_RHkDDABBAAB8tKAVoAqsMTjsQZFLyNfY"
        + "sort_fieldcreate_time"
        + "sort_orderASC"
        + "timestamp1625484268"
        + body.decode()
        + SECRET
    )
    # Step 6: lowercase hex HMAC-SHA256 keyed with the secret.
    wanted = hmac.new(SECRET.encode(), written.encode(), hashlib.sha256).hexdigest()
    assert sign(SECRET, path, query, body) == wanted
    assert expected_sign(SECRET, path, query, body) == wanted  # the sandbox checks the same steps


def test_sign_leaves_out_sign_and_access_token_and_covers_the_body() -> None:
    path, query = _request("inventory_update_202309_request_query.txt")
    body = (SAMPLES / "inventory_update_202309_request_body.json").read_bytes()
    plain = sign(SECRET, path, query, body)
    assert sign(SECRET, path, {**query, "access_token": "tok", "sign": "x"}, body) == plain
    assert sign(SECRET, path, dict(reversed(list(query.items()))), body) == plain
    assert sign(SECRET, path, query, body + b" ") != plain
    assert sign(SECRET, path, {**query, "timestamp": "1625484269"}, body) != plain
    assert sign(SECRET + "x", path, query, body) != plain
    assert len(plain) == 64 and plain == plain.lower()


def test_webhooks_verify_the_best_supported_scheme_only() -> None:
    body = (SAMPLES / "webhook_order_status_change_type1.json").read_bytes()
    good = hmac.new(b"secret", b"appkey" + body, hashlib.sha256).hexdigest()
    assert webhooks.verify("appkey\nsecret", {"Authorization": good}, body)
    assert webhooks.verify("appkey\nsecret", {"authorization": good.upper()}, body)
    for headers, secret in (
        ({"Authorization": good}, "appkey\nother"),
        ({"Authorization": good}, "other\nsecret"),
        ({"Authorization": good}, None),
        ({"Authorization": good}, "secret"),
        ({}, "appkey\nsecret"),
        # The other scheme a source gives (the body alone) does not verify.
        ({"Authorization": hmac.new(b"secret", body, hashlib.sha256).hexdigest()}, "appkey\nsecret"),
    ):
        assert not TikTokShopConnector.verify_webhook(secret, headers, body)
    assert not webhooks.verify("appkey\nsecret", {"Authorization": good}, body + b"\n")


def test_the_published_notification_is_an_order_event() -> None:
    body = (SAMPLES / "webhook_order_status_change_type1.json").read_bytes()
    event = TikTokShopConnector.parse_webhook({}, body)
    assert (event.event_id, event.topic, event.external_id) == (
        "7327112393057371910",
        "ORDER_STATUS_CHANGE",
        "576486316948490001",
    )
    assert event.version == "notified:1644412885"
    assert event.body == sample("webhook_order_status_change_type1.json")
