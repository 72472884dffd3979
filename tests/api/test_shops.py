"""Shops over HTTP: PATCH changes only what it names; settings a shop's channel does not take are
refused with the ones it does; health is shown per kind of call."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

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
