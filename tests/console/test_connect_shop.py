"""Connecting a shop through the console's form: the channel among the installed connectors, the
credentials and settings its connector declares, credentials sealed as the API seals them and never
sent back into the page, each refusal beside its field; syncing a shop now."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from orderly.auth.domain import Role
from orderly.auth.service import create_token
from orderly.channels.models import Shop
from orderly.channels.registry import installed_channels
from orderly.channels.secrets import unseal
from orderly.core.config import get_settings
from orderly.core.db import transaction
from orderly.jobs.models import Job

SHOPIFY = {
    "channel": "shopify",
    "code": "acme-us",
    "name": "Acme US",
    "base_url": "https://acme.myshopify.com/",
    "credentials.access_token": "shpat_not_a_real_token_123",
    "credentials.webhook_secret": "whsec_not_real_456",
    "settings.location_id": "8675309",
    "settings.notify_customer": "0",
    "settings.poll_interval_s": "120",
    "sync_enabled": "1",
}


def _shop(factory: sessionmaker[Session], code: str) -> Shop | None:
    with transaction(factory) as s:
        found = s.scalars(select(Shop).where(Shop.code == code)).one_or_none()
        if found is not None:
            s.expunge(found)
        return found


def test_the_form_offers_every_installed_connector_and_what_it_declares(client: TestClient) -> None:
    page = client.get("/shops/new")
    assert page.status_code == 200
    offered = page.text.split('name="channel"')[1].split("</select>")[0]
    for channel in installed_channels():
        assert f">{channel}</option>" in offered
    assert {"shopify", "amazon"} <= set(installed_channels())
    amazon = client.get("/shops/new", params={"channel": "amazon"}).text
    for name in ("credentials.client_id", "credentials.client_secret", "credentials.refresh_token"):
        assert f'type="password" name="{name}"' in amazon
    assert 'name="settings.marketplace_id"' in amazon and "needed to sync" in amazon
    assert 'name="settings.poll_interval_s"' in amazon and 'name="settings.rate_limits"' not in amazon
    shopify = client.get("/shops/new", params={"channel": "shopify"}).text
    assert 'name="credentials.access_token"' in shopify and 'name="settings.location_id"' in shopify
    assert 'name="credentials.client_id"' not in shopify


def test_connecting_a_shop_seals_its_credentials(client: TestClient, factory: sessionmaker[Session]) -> None:
    made = client.post("/shops/new", data=SHOPIFY)
    assert made.status_code == 303 and made.headers["location"] == "/shops?connected=acme-us"
    shop = _shop(factory, "acme-us")
    assert shop is not None
    assert (shop.channel, shop.name, shop.base_url, shop.sync_enabled) == (
        "shopify",
        "Acme US",
        "https://acme.myshopify.com",
        True,
    )
    assert shop.settings["location_id"] == 8675309 and shop.settings["poll_interval_s"] == 120
    assert shop.credentials is not None and "shpat_" not in shop.credentials  # sealed
    assert unseal(get_settings(), shop.credentials) == {
        "access_token": "shpat_not_a_real_token_123",
        "webhook_secret": "whsec_not_real_456",
    }
    listed = client.get("/shops?connected=acme-us").text
    assert "Shop acme-us connected." in listed and 'data-shop="acme-us"' in listed
    assert "shpat_" not in listed and "whsec_" not in listed
    api = client.get("/api/v1/shops").json()
    assert [s["has_credentials"] for s in api if s["code"] == "acme-us"] == [True]


def test_bad_input_is_refused_by_field_and_no_secret_is_sent_back(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    bad = {
        **SHOPIFY,
        "code": "Acme US",
        "base_url": "ftp://user:pw@acme",
        "settings.location_id": "-3",
        "settings.poll_interval_s": "1",
    }
    page = client.post("/shops/new", data=bad)
    assert page.status_code == 422
    problems = {
        part.split('"')[0]: part.split(">", 1)[1].split("</span>")[0]
        for part in page.text.split('<span class="field-problem" id="problem-')[1:]
    }
    assert {"code", "base_url", "settings.poll_interval_s"} <= set(problems)
    assert "pattern" in problems["code"] or "match" in problems["code"]
    assert "shpat_" not in page.text and "whsec_" not in page.text  # never echoed
    assert 'value="Acme US"' in page.text  # what is not secret stays as typed
    htmx = client.post("/shops/new", data=bad, headers={"HX-Request": "true"})
    assert htmx.status_code == 200 and "field-problem" in htmx.text
    # The service's own checks: Shopify's location id is a number of its own model
    location = client.post("/shops/new", data={**SHOPIFY, "settings.location_id": "-3"})
    assert location.status_code in {400, 422} and "settings.location_id" in location.text
    assert _shop(factory, "acme-us") is None
    # A code taken, and a channel with no connector installed
    assert client.post("/shops/new", data=SHOPIFY).status_code == 303
    taken = client.post("/shops/new", data={**SHOPIFY, "name": "Again"})
    assert taken.status_code == 409 and "already exists" in taken.text
    nowhere = client.post("/shops/new", data={**SHOPIFY, "code": "x", "channel": "myspace"})
    assert nowhere.status_code == 422 and "problem-channel" in nowhere.text
    assert _shop(factory, "x") is None


def test_only_admins_connect_and_operations_syncs_now(
    client: TestClient, anonymous: TestClient, factory: sessionmaker[Session]
) -> None:
    with transaction(factory) as s:
        ops = {"Authorization": f"Bearer {create_token(s, 'ops', role=Role.OPERATIONS).token}"}
        finance = {"Authorization": f"Bearer {create_token(s, 'fin', role=Role.FINANCE).token}"}
    assert anonymous.get("/shops/new", headers=ops).status_code == 403
    assert anonymous.post("/shops/new", data=SHOPIFY, headers=ops).status_code == 403
    assert _shop(factory, "acme-us") is None
    assert client.post("/shops/new", data=SHOPIFY).status_code == 303
    shops = anonymous.get("/shops", headers=ops).text
    assert 'hx-post="/shops/acme-us/sync"' in shops and 'href="/shops/new"' not in shops
    synced = anonymous.post("/shops/acme-us/sync", headers=ops)
    assert synced.status_code == 200 and "Sync of acme-us queued" in synced.text
    with transaction(factory) as s:
        kinds = set(s.scalars(select(Job.kind).where(Job.status == "queued")))
    assert {"poll_orders", "resync_stock"} <= kinds
    assert anonymous.post("/shops/acme-us/sync", headers=finance).status_code == 403
    assert 'hx-post="/shops/acme-us/sync"' not in anonymous.get("/shops", headers=finance).text
