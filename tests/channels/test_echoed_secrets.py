"""A platform whose errors echo the request they answer (headers, form) never gets the shop's secrets into
what the hub stores or logs: shop health, alerts, jobs, inbox, any row, any log record; on both
databases."""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import parse_qsl

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from orderly.channels import service as shops
from orderly.channels import tasks
from orderly.channels.amazon import client as amazon_client
from orderly.channels.ebay import client as ebay_client
from orderly.channels.schemas import ShopIn, SyncSettings
from orderly.channels.tokens import TokenShelf
from orderly.core.db import transaction
from orderly.jobs import service as jobs
from orderly.jobs.registry import Registry, load
from orderly.jobs.worker import Worker
from orderly.models import Base

SHOPIFY = {"access_token": "shpat_0123456789abcdef0123456789abcdef", "webhook_secret": "whsec-echoed-1234"}
AMAZON = {
    "client_id": "amzn1.application-oa2-client.echo5678",
    "client_secret": "amzn-client-secret-echo-9012",
    "refresh_token": "Atzr|IwEBIechoed+refresh/token==",
}
WOOCOMMERCE = {
    "consumer_key": "ck_echoed0123456789abcdef0123456789abcdef",
    "consumer_secret": "cs_echoed0123456789abcdef0123456789abcdef",
    "webhook_secret": "woo-webhook-echoed-5678",
}
EBAY = {
    "client_id": "Echoed-Orderly-PRD-0123456789ab-cdef0123",
    "client_secret": "PRD-echoed0123456789abcdef-0123",
    "refresh_token": "v^1.1#i^1#r^1#echoed-refresh-token-4567",
    "verification_token": "ebay-verification-echoed-token-0123456789",
}
LWA_TOKEN = "Atza|IwEBIfresh-access-token-3456"
EBAY_TOKEN = "v^1.1#i^1#p^3#fresh-ebay-access-token-7890"
# eBay's token endpoint takes the keyset as HTTP Basic auth: its base64 is a secret too.
EBAY_BASIC = base64.b64encode(f"{EBAY['client_id']}:{EBAY['client_secret']}".encode()).decode()
SECRETS = [
    *SHOPIFY.values(),
    *AMAZON.values(),
    *WOOCOMMERCE.values(),
    *EBAY.values(),
    LWA_TOKEN,
    EBAY_TOKEN,
    EBAY_BASIC,
]
CREDENTIALS = {"shopify": SHOPIFY, "amazon": AMAZON, "woocommerce": WOOCOMMERCE, "ebay": EBAY}

Echo = Callable[[httpx.Request], httpx.Response]


def _headers_as_text(request: httpx.Request) -> str:
    return "\n".join(f"{name}: {value}" for name, value in request.headers.items())


def shopify_echoes_headers(request: httpx.Request) -> httpx.Response:
    """401 with the request's header lines as the body, as some proxies answer."""
    return httpx.Response(401, text=f"Unauthorized\n{_headers_as_text(request)}")


def woocommerce_echoes_the_url(request: httpx.Request) -> httpx.Response:
    """A host refusing a WooCommerce call keyed in the query string, quoting the URL and its headers."""
    return httpx.Response(403, text=f"Forbidden: {request.url}\n{_headers_as_text(request)}")


def lwa_echoes_its_form(request: httpx.Request) -> httpx.Response:
    """Login with Amazon refusing the grant, quoting the form it was sent, escaped and not."""
    form = request.content.decode()
    fields = dict(parse_qsl(form))
    return httpx.Response(
        400,
        json={"error": "invalid_grant", "error_description": f"bad grant in {form} ({json.dumps(fields)})"},
    )


def sp_api_echoes_headers(request: httpx.Request) -> httpx.Response:
    """A token from LWA, then SP-API refusing every call with the request's headers in its error."""
    if request.url.path.endswith("/auth/o2/token"):
        return httpx.Response(200, json={"access_token": LWA_TOKEN, "expires_in": 3600})
    headers = dict(request.headers)
    return httpx.Response(
        403,
        json={"errors": [{"code": "Unauthorized", "message": f"denied: {headers}", "details": str(headers)}]},
    )


def ebay_token_echoes_its_form(request: httpx.Request) -> httpx.Response:
    """eBay's token endpoint refusing the refresh, quoting the form and headers it was sent."""
    return httpx.Response(
        400,
        json={
            "error": "invalid_grant",
            "error_description": f"bad grant {request.content.decode()} {_headers_as_text(request)}",
        },
    )


def ebay_api_echoes_headers(request: httpx.Request) -> httpx.Response:
    """A token from eBay, then the Sell API refusing every call with the request's headers."""
    if request.url.path.endswith("/oauth2/token"):
        return httpx.Response(200, json={"access_token": EBAY_TOKEN, "expires_in": 7200})
    message = f"denied: {dict(request.headers)}"
    return httpx.Response(
        403, json={"errors": [{"errorId": 1100, "message": message, "longMessage": message}]}
    )


@pytest.fixture
def worker(factory: sessionmaker[Session]) -> Worker:
    # No periodic schedules: a failing poll would otherwise be queued again every second for as long
    # as the loops below run jobs, and a poll paced to the platform's limits can outlast a second.
    return Worker(factory, name="test", idle_sleep=0, registry=Registry(handlers=dict(load().handlers)))


def _connect(
    factory: sessionmaker[Session], channel: str, echo: Echo, monkeypatch: pytest.MonkeyPatch
) -> int:
    def client(shop: Any) -> httpx.Client:
        return httpx.Client(base_url=shop.base_url, transport=httpx.MockTransport(echo))

    monkeypatch.setattr(shops, "http_client", client)
    monkeypatch.setattr(amazon_client, "_tokens", {})  # each case logs in anew
    monkeypatch.setattr(ebay_client, "_SHELF", TokenShelf())
    settings: dict[str, Any] = {"poll_interval_s": 3600}
    if channel == "amazon":
        settings |= {"marketplace_id": "ATVPDKIKX0DER", "seller_id": "SELLER", "before_lag_seconds": 0}
    if channel == "woocommerce":
        settings |= {"auth": "query"}  # the key in the URL, where a host's error page quotes it
    with transaction(factory) as s:
        shop = shops.create_shop(
            s,
            ShopIn(
                code=channel,
                name=channel,
                channel=channel,
                base_url="https://platform.example",
                credentials=CREDENTIALS[channel],
                settings=SyncSettings.model_validate(settings),
                sync_enabled=True,
            ),
        )
    return shop.id


def _every_row(factory: sessionmaker[Session]) -> Iterator[str]:
    with transaction(factory) as s:
        for table in Base.metadata.sorted_tables:
            for row in s.execute(select(table)):
                yield f"{table.name}: {tuple(row)}"


@pytest.mark.parametrize(
    ("channel", "echo"),
    [
        ("shopify", shopify_echoes_headers),
        ("amazon", lwa_echoes_its_form),
        ("amazon", sp_api_echoes_headers),
        ("woocommerce", woocommerce_echoes_the_url),
        ("ebay", ebay_token_echoes_its_form),
        ("ebay", ebay_api_echoes_headers),
    ],
    ids=[
        "shopify-headers",
        "amazon-lwa-form",
        "amazon-sp-api-headers",
        "woocommerce-url",
        "ebay-token-form",
        "ebay-api-headers",
    ],
)
def test_an_error_echoing_the_request_leaves_no_secret_in_any_row_or_log(
    factory: sessionmaker[Session],
    worker: Worker,
    channel: str,
    echo: Echo,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    shop_id = _connect(factory, channel, echo, monkeypatch)
    for _ in range(shops.UNHEALTHY_AFTER):  # enough failures for the shop to go unhealthy, and alert
        with transaction(factory) as s:
            jobs.enqueue(s, [jobs.NewJob(tasks.POLL, {"shop_id": shop_id})])
        while worker.run_once():
            pass

    rows = list(_every_row(factory))
    stored = "\n".join(rows)
    for secret in SECRETS:
        for part in (secret, secret[:12]):  # nor the start of one cut off by a truncated message
            assert part not in stored
            assert part not in caplog.text
    # The failures were stored, alerted and logged all the same.
    assert any(r.startswith("shop_health:") and "[redacted]" in r for r in rows), stored
    assert any(r.startswith("alerts:") and "shop_unhealthy" in r for r in rows), stored
    assert any(r.startswith("jobs:") and "dead" in r for r in rows), stored
    assert "failed for good" in caplog.text
