"""Shops over HTTP: PATCH changes only what it names; settings a shop's channel does not take are
refused with the ones it does; health is shown per kind of call."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from orderly.jobs.worker import Worker

SHOPIFY = {
    "code": "shopify-us",
    "name": "Shopify US",
    "channel": "shopify",
    "base_url": "http://127.0.0.1:9",
    "settings": {"location_id": 655441491, "poll_interval_s": 120},
}


@pytest.fixture
def shopify(client: TestClient) -> dict[str, Any]:
    response = client.post("/api/v1/shops", json=SHOPIFY)
    assert response.status_code == 201, response.text
    return response.json()


def test_patch_merges_settings_instead_of_replacing_them(client: TestClient, shopify: dict[str, Any]) -> None:
    response = client.patch("/api/v1/shops/shopify-us", json={"settings": {"stock_buffer": 2}})

    assert response.status_code == 200, response.text
    settings = response.json()["settings"]
    assert settings["location_id"] == 655441491  # kept
    assert (settings["stock_buffer"], settings["poll_interval_s"]) == (2, 120)
    assert client.get("/api/v1/shops").json()[0]["settings"] == settings


def test_a_setting_set_to_null_returns_to_its_default(client: TestClient, shopify: dict[str, Any]) -> None:
    response = client.patch(
        "/api/v1/shops/shopify-us", json={"settings": {"poll_interval_s": None, "location_id": None}}
    )

    assert response.status_code == 200, response.text
    settings = response.json()["settings"]
    assert settings["poll_interval_s"] == 60 and "location_id" not in settings


@pytest.mark.parametrize("method", ["post", "patch"])
def test_unknown_settings_are_refused_listing_the_known_ones(
    client: TestClient, shopify: dict[str, Any], method: str
) -> None:
    if method == "post":
        body = {**SHOPIFY, "code": "other", "settings": {"locaton_id": 1}}
        response = client.post("/api/v1/shops", json=body)
    else:
        response = client.patch("/api/v1/shops/shopify-us", json={"settings": {"locaton_id": 1}})

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["field"] == "settings"
    assert "'locaton_id'" in error["message"]
    assert "location_id" in error["message"] and "poll_interval_s" in error["message"]
    assert client.get("/api/v1/shops").json()[0]["settings"]["location_id"] == 655441491


def test_a_channel_without_a_connector_takes_only_the_engine_settings(client: TestClient) -> None:
    body = {"code": "stall", "name": "Stall", "channel": "manual", "settings": {"location_id": 1}}
    response = client.post("/api/v1/shops", json=body)

    assert response.status_code == 400
    assert "a manual shop takes: " in response.json()["error"]["message"]


@pytest.mark.parametrize(
    ("settings", "field"),
    [
        ({"page_size": 0}, "settings.page_size"),
        ({"poll_interval_s": "often"}, "settings.poll_interval_s"),
        ({"location_id": "\u0000"}, "settings.location_id"),
        ({"rate_limits": {"stok": [1, 1]}}, "settings.rate_limits"),
        # Past a week a schedule is no schedule, and past 2^63 s no time can be computed.
        ({"resync_interval_s": 2**63}, "settings.resync_interval_s"),
        ({"reconcile_interval_s": 604_801}, "settings.reconcile_interval_s"),
        ({"stock_buffer": 2**63}, "settings.stock_buffer"),
        ({"low_stock_threshold": 1_000_000_001}, "settings.low_stock_threshold"),
    ],
)
def test_wrong_setting_values_are_refused_naming_the_setting(
    client: TestClient, shopify: dict[str, Any], settings: dict[str, Any], field: str
) -> None:
    response = client.patch("/api/v1/shops/shopify-us", json={"settings": settings})

    assert response.status_code == 400
    assert field in response.json()["error"]["message"]


def test_amazon_sync_needs_its_marketplace_and_seller(client: TestClient) -> None:
    body = {
        "code": "amazon-us",
        "name": "Amazon US",
        "channel": "amazon",
        "base_url": "http://127.0.0.1:9",
        "sync_enabled": True,
    }
    refused = client.post("/api/v1/shops", json=body)
    created = client.post(
        "/api/v1/shops", json={**body, "settings": {"marketplace_id": "ATVPDKIKX0DER", "seller_id": "A1"}}
    )
    emptied = client.patch("/api/v1/shops/amazon-us", json={"settings": {"marketplace_id": None}})

    assert refused.status_code == 400 and "marketplace_id, seller_id" in refused.json()["error"]["message"]
    assert created.status_code == 201
    assert emptied.status_code == 400 and "marketplace_id" in emptied.json()["error"]["message"]


def test_a_new_shop_is_healthy_with_no_calls_yet(client: TestClient, shopify: dict[str, Any]) -> None:
    assert (shopify["healthy"], shopify["health"]) == (True, {})


def test_sync_is_refused_for_a_shop_that_cannot_sync(client: TestClient, shopify: dict[str, Any]) -> None:
    client.post("/api/v1/shops", json={"code": "stall", "name": "Stall", "channel": "manual"})

    no_connector = client.post("/api/v1/shops/stall/sync")
    switched_off = client.post("/api/v1/shops/shopify-us/sync")
    client.patch("/api/v1/shops/shopify-us", json={"sync_enabled": True})
    queued = client.post("/api/v1/shops/shopify-us/sync")

    assert no_connector.status_code == 409
    assert "'manual', which has no connector" in no_connector.json()["error"]["message"]
    assert switched_off.status_code == 409 and "sync is off" in switched_off.json()["error"]["message"]
    assert (queued.status_code, queued.json()) == (202, {"status": "queued"})


# --- where a shop's credentials go ------------------------------------------------------------------


class Recorder:
    """A tiny HTTP server that answers every request with ``{"orders": []}`` and records what reached
    it: the secrets a request carries are in its headers or body."""

    def __init__(self) -> None:
        self.requests: list[str] = []
        recorded = self.requests

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode(errors="replace")
                recorded.append(f"{self.command} {self.path}\n{self.headers}\n{body}")
                payload = b'{"orders": []}'
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def do_GET(self) -> None:
                self._answer()

            def do_POST(self) -> None:
                self._answer()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def carrying(self, *secrets: str) -> list[str]:
        return [request for request in self.requests if any(secret in request for secret in secrets)]


@pytest.fixture
def recorders() -> Iterator[tuple[Recorder, Recorder]]:
    """The shop's platform, and a server someone would like the shop's secrets sent to."""
    platform, lure = Recorder(), Recorder()
    yield platform, lure
    for recorder in (platform, lure):
        recorder.server.shutdown()
        recorder.server.server_close()


def _run_jobs(factory: sessionmaker[Session]) -> None:
    worker = Worker(factory, name="test", idle_sleep=0)
    for _ in range(20):
        if not worker.run_once():
            return


def test_changing_a_shops_address_needs_its_credentials_and_the_old_ones_never_go_there(
    client: TestClient, factory: sessionmaker[Session], recorders: tuple[Recorder, Recorder]
) -> None:
    platform, lure = recorders
    created = client.post(
        "/api/v1/shops",
        json={
            **SHOPIFY,
            "base_url": platform.url,
            "credentials": {"access_token": "shpat_stored", "webhook_secret": "whsec_stored"},
            "sync_enabled": True,
        },
    )
    assert created.status_code == 201, created.text

    refused = client.patch("/api/v1/shops/shopify-us", json={"base_url": lure.url})
    client.post("/api/v1/shops/shopify-us/sync")
    _run_jobs(factory)

    assert refused.status_code == 409
    error = refused.json()["error"]
    assert error["field"] == "credentials" and "give the credentials again" in error["message"]
    assert client.get("/api/v1/shops").json()[0]["base_url"] == platform.url
    assert platform.carrying("shpat_stored") and lure.requests == []

    moved = client.patch(
        "/api/v1/shops/shopify-us", json={"base_url": lure.url, "credentials": {"access_token": "shpat_new"}}
    )
    client.post("/api/v1/shops/shopify-us/sync")
    _run_jobs(factory)

    assert moved.status_code == 200 and moved.json()["base_url"] == lure.url
    assert lure.carrying("shpat_new") and not lure.carrying("shpat_stored", "whsec_stored")


def test_amazons_token_url_and_address_change_only_with_the_credentials(
    client: TestClient, factory: sessionmaker[Session], recorders: tuple[Recorder, Recorder]
) -> None:
    platform, lure = recorders
    secrets = {"client_id": "amzn1.id", "client_secret": "lwa-secret", "refresh_token": "Atzr|stored"}
    body = {
        "code": "amazon-us",
        "name": "Amazon US",
        "channel": "amazon",
        "base_url": platform.url,
        "credentials": secrets,
        "settings": {"marketplace_id": "ATVPDKIKX0DER", "seller_id": "A1", "before_lag_seconds": 0},
        "sync_enabled": True,
    }
    assert client.post("/api/v1/shops", json=body).status_code == 201

    token_url = client.patch(
        "/api/v1/shops/amazon-us", json={"settings": {"token_url": f"{lure.url}/auth/o2/token"}}
    )
    address = client.patch("/api/v1/shops/amazon-us", json={"base_url": lure.url})
    client.post("/api/v1/shops/amazon-us/sync")
    _run_jobs(factory)

    assert (token_url.status_code, address.status_code) == (409, 409)
    assert "settings.token_url" in token_url.json()["error"]["message"]
    assert platform.carrying("lwa-secret", "Atzr|stored")  # the token request went where it always did
    assert lure.requests == []
    # Set again with the credentials, the new token endpoint is taken.
    again = {"settings": {"token_url": f"{lure.url}/auth/o2/token"}, "credentials": secrets}
    assert client.patch("/api/v1/shops/amazon-us", json=again).status_code == 200


def test_the_same_address_again_or_a_shop_without_credentials_needs_none(
    client: TestClient, shopify: dict[str, Any]
) -> None:
    moved = client.patch("/api/v1/shops/shopify-us", json={"base_url": "https://example.com"})
    client.patch(
        "/api/v1/shops/shopify-us", json={"credentials": {"access_token": "shpat"}, "name": "Shopify"}
    )
    same = client.patch("/api/v1/shops/shopify-us", json={"base_url": "https://example.com/"})

    assert (moved.status_code, same.status_code) == (200, 200), same.text
    assert same.json()["base_url"] == "https://example.com"


@pytest.mark.parametrize(
    ("base_url", "problem"),
    [
        ("http://127.0.0.1/" + "a" * 500, "at most 500 characters"),
        ("https://user:secret@shop.example.com", "user name or password"),
        ("https://token@shop.example.com", "user name or password"),
        ("ftp://shop.example.com", "URL scheme should be 'http' or 'https'"),
        ("https://", "empty host"),
        ("shop.example.com", "relative URL without a base"),
    ],
)
@pytest.mark.parametrize("method", ["post", "patch"])
def test_addresses_that_cannot_be_kept_or_carry_credentials_are_refused(
    client: TestClient, shopify: dict[str, Any], method: str, base_url: str, problem: str
) -> None:
    if method == "post":
        response = client.post("/api/v1/shops", json={**SHOPIFY, "code": "other", "base_url": base_url})
    else:
        response = client.patch("/api/v1/shops/shopify-us", json={"base_url": base_url})

    assert response.status_code == 422, response.text
    assert problem in response.text
    assert [shop["base_url"] for shop in client.get("/api/v1/shops").json()] == [SHOPIFY["base_url"]]


def test_amazons_token_url_is_checked_as_an_address(client: TestClient) -> None:
    body = {"code": "amazon-us", "name": "Amazon US", "channel": "amazon"}
    response = client.post(
        "/api/v1/shops", json={**body, "settings": {"token_url": "https://me:pw@lwa.example.com/token"}}
    )

    assert response.status_code in (400, 422) and "user name or password" in response.text


@pytest.mark.parametrize("limit", [[0, 10], [0.0, 1], [1e-300, 1], [5, 0], [-1, 5]])
def test_a_rate_limit_that_would_never_let_a_call_go_is_refused(
    client: TestClient, shopify: dict[str, Any], limit: list[float]
) -> None:
    response = client.patch("/api/v1/shops/shopify-us", json={"settings": {"rate_limits": {"orders": limit}}})

    assert response.status_code == 400
    message = response.json()["error"]["message"]
    assert "settings.rate_limits.orders" in message and "no call to the platform would ever go" in message
    assert client.get("/api/v1/shops").json()[0]["settings"]["rate_limits"] == {}
