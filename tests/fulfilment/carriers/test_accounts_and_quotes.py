"""Carrier accounts over the API and the CLI (credentials never come back), and a parcel's quote over
real HTTP against the EasyPost sandbox, on both databases."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from orderly.auth.domain import Scope
from orderly.auth.service import create_token
from orderly.core.db import transaction
from orderly.fulfilment.carriers.models import CarrierAccount
from tests.cli.conftest import Cli, rows
from tests.factories import order, setup_catalog
from tests.fulfilment.carriers.conftest import EASYPOST_KEY, SHIP_FROM, Sandbox


def add_account(client: TestClient, url: str, code: str = "ep", **more: Any) -> dict[str, Any]:
    body = {
        "code": code,
        "name": "EasyPost",
        "plugin": "easypost",
        "base_url": f"{url}/v2",
        "credentials": {"api_key": EASYPOST_KEY, "webhook_secret": "sécret"},
        "settings": {
            "ship_from": SHIP_FROM,
            "default_parcel": {"length_mm": 250, "width_mm": 180, "height_mm": 60},
        },
        **more,
    }
    response = client.post("/api/v1/carrier-accounts", json=body)
    assert response.status_code == 201, response.text
    account: dict[str, Any] = response.json()
    return account


def parcel_for(client: TestClient, factory: sessionmaker[Session], **address: Any) -> int:
    """An allocated order of two SKU-1 and its parcel (500 g), to ``address`` (default: a US one)."""
    setup_catalog(factory, {"SKU-1": 10})
    fields = {"shipping_address": {**order()["shipping_address"], **address}} if address else {}
    response = client.post("/api/v1/orders/ingest", json={"orders": [order(("SKU-1", 2), **fields)]})
    (item,) = response.json()["items"]
    assert item["status"] == "allocated", response.json()
    made = client.post(f"/api/v1/orders/{item['order_id']}/shipments", json={"weight_g": 500})
    assert made.status_code == 201, made.text
    shipment_id: int = made.json()["id"]
    return shipment_id


def test_an_account_keeps_its_credentials_sealed_and_shows_only_their_names(
    client: TestClient, factory: sessionmaker[Session], easypost: Sandbox
) -> None:
    account = add_account(client, easypost.url)
    assert account["credentials"] == ["api_key", "webhook_secret"]
    assert EASYPOST_KEY not in str(client.get("/api/v1/carrier-accounts").json())
    assert client.get("/api/v1/carrier-accounts/ep").json() == account
    with transaction(factory) as s:
        stored = s.scalar(select(CarrierAccount.credentials))
    assert stored and EASYPOST_KEY not in stored
    twice = client.post("/api/v1/carrier-accounts", json={"code": "ep", "name": "x", "plugin": "manual"})
    assert twice.status_code == 409


def test_an_account_is_refused_without_what_its_plugin_needs(client: TestClient) -> None:
    missing = client.post("/api/v1/carrier-accounts", json={"code": "ep", "name": "EP", "plugin": "easypost"})
    assert missing.status_code == 400
    assert missing.json()["error"]["field"] == "credentials"
    assert "api_key" in missing.json()["error"]["message"]
    unknown = client.post(
        "/api/v1/carrier-accounts", json={"code": "x", "name": "X", "plugin": "fedex", "credentials": {}}
    )
    assert unknown.status_code == 422
    extra = client.post(
        "/api/v1/carrier-accounts",
        json={"code": "ep", "name": "EP", "plugin": "easypost", "credentials": {"api_key": "k", "pin": "1"}},
    )
    assert extra.status_code == 400 and "pin" in extra.json()["error"]["message"]


def test_moving_an_account_needs_its_credentials_again_and_only_an_admin_may(
    client: TestClient, app: FastAPI, factory: sessionmaker[Session], easypost: Sandbox
) -> None:
    add_account(client, easypost.url)
    moved = client.patch("/api/v1/carrier-accounts/ep", json={"base_url": "https://evil.example/v2"})
    assert moved.status_code == 409 and moved.json()["error"]["field"] == "credentials"
    off = client.patch("/api/v1/carrier-accounts/ep", json={"active": False, "name": "Old"})
    assert off.status_code == 200 and (off.json()["active"], off.json()["name"]) == (False, "Old")
    with transaction(factory) as s:
        writer = create_token(s, "clerk", scope=Scope.WRITE).token
    with TestClient(app, headers={"Authorization": f"Bearer {writer}"}) as clerk:
        assert clerk.get("/api/v1/carrier-accounts").status_code == 200
        refused = clerk.post("/api/v1/carrier-accounts", json={"code": "m", "name": "M", "plugin": "manual"})
        assert refused.status_code == 403


def test_the_cli_adds_and_lists_accounts_without_showing_secrets(cli: Cli, easypost: Sandbox) -> None:
    added = cli(
        "carriers",
        "add",
        "ep",
        "--plugin",
        "easypost",
        "--base-url",
        f"{easypost.url}/v2",
        "--credential",
        "api_key",
        "--settings",
        '{"ship_from": {"name": "WH", "line1": "1 Dock Rd", "city": "Oakland", "country": "US"}}',
        input=f"{EASYPOST_KEY}\n",
    )
    assert "Carrier account 'ep' added (easypost" in added.output
    listed = cli("carriers", "list").output
    assert rows(listed, "ep")[0][2:] == ["easypost", f"{easypost.url}/v2", "api_key", "yes"]
    assert EASYPOST_KEY not in listed
    refused = cli("carriers", "add", "x", "--plugin", "easypost", code=1)
    assert "api_key" in refused.output


def test_a_quote_lists_the_offers_and_picks_the_cheapest_meeting_the_promise(
    client: TestClient, factory: sessionmaker[Session], easypost: Sandbox
) -> None:
    add_account(client, easypost.url)
    shipment_id = parcel_for(client, factory)
    body: dict[str, Any] = {"carrier_account": "ep", "ship_date": "2026-12-04"}

    cheapest = client.post(f"/api/v1/shipments/{shipment_id}/rates", json=body)
    assert cheapest.status_code == 200, cheapest.text
    offers = cheapest.json()["offers"]
    assert len(offers) == 4 and {o["currency"] for o in offers} == {"USD"}
    assert cheapest.json()["chosen"]["service"] == "GroundAdvantage"
    sent = easypost.store.shipments[offers[0]["service"] and next(iter(easypost.store.shipments))]
    assert sent["parcel"]["weight"] == 17.6 and sent["to_address"]["country"] == "US"

    promised = client.post(
        f"/api/v1/shipments/{shipment_id}/rates", json={**body, "deliver_by": "2026-12-06"}
    )
    assert promised.json()["chosen"]["service"] == "Priority"
    assert promised.json()["chosen"]["arrives"] == "2026-12-06"

    ups = {**body, "preference": {"carriers": ["UPS"]}}
    assert (
        client.post(f"/api/v1/shipments/{shipment_id}/rates", json=ups).json()["chosen"]["carrier"] == "UPS"
    )

    never = client.post(f"/api/v1/shipments/{shipment_id}/rates", json={**body, "deliver_by": "2026-12-04"})
    assert never.status_code == 200
    assert never.json()["chosen"] is None
    assert "no offer delivers by 2026-12-04" in never.json()["reason"]
    assert not any(o["meets_promise"] for o in never.json()["offers"])


def test_a_quote_refuses_what_the_carrier_cannot_be_asked_and_says_when_it_fails(
    client: TestClient, factory: sessionmaker[Session], easypost: Sandbox
) -> None:
    add_account(client, easypost.url, settings={})
    shipment_id = parcel_for(client, factory)
    body = {"carrier_account": "ep"}
    no_origin = client.post(f"/api/v1/shipments/{shipment_id}/rates", json=body)
    assert no_origin.status_code == 409 and "ship_from" in no_origin.json()["error"]["message"]
    client.patch("/api/v1/carrier-accounts/ep", json={"settings": {"ship_from": SHIP_FROM}})
    no_box = client.post(f"/api/v1/shipments/{shipment_id}/rates", json=body)
    assert no_box.status_code == 409 and no_box.json()["error"]["field"] == "parcel"
    box = {"length_mm": 200, "width_mm": 150, "height_mm": 100}
    easypost.store.faults.fail_next = 10
    failing = client.post(f"/api/v1/shipments/{shipment_id}/rates", json={**body, "parcel": box})
    assert failing.status_code == 502 and "HTTP 500" in failing.json()["error"]["message"]
    easypost.store.faults.fail_next = 0
    assert (
        client.post(f"/api/v1/shipments/{shipment_id}/rates", json={**body, "parcel": box}).status_code == 200
    )
    assert client.post("/api/v1/shipments/999/rates", json=body).status_code == 404
    assert (
        client.post(f"/api/v1/shipments/{shipment_id}/rates", json={"carrier_account": "nope"}).status_code
        == 404
    )


def test_a_parcel_abroad_is_quoted_with_its_customs_lines(
    client: TestClient, factory: sessionmaker[Session], easypost: Sandbox
) -> None:
    add_account(client, easypost.url)
    shipment_id = parcel_for(
        client,
        factory,
        line1="Calle 5 12",
        city="Madrid",
        region=None,
        postal_code="28013",
        country="ES",
        phone="+34 910 000 000",
    )
    quoted = client.post(f"/api/v1/shipments/{shipment_id}/rates", json={"carrier_account": "ep"})
    assert quoted.status_code == 200, quoted.text
    (sent,) = easypost.store.shipments.values()
    (item,) = sent["customs_info"]["customs_items"]
    assert (item["quantity"], item["value"], item["code"]) == (2, 39.98, "SKU-1")


def test_the_cli_quotes_a_parcel_and_asks_for_its_label(
    cli: Cli, client: TestClient, factory: sessionmaker[Session], easypost: Sandbox
) -> None:
    settings = '{"ship_from": {"name": "WH", "line1": "1 Dock Rd", "city": "Oakland", "country": "US"}, ' + (
        '"default_parcel": {"length_mm": 250, "width_mm": 180, "height_mm": 60}}'
    )
    cli(
        "carriers",
        "add",
        "ep",
        "--plugin",
        "easypost",
        "--base-url",
        f"{easypost.url}/v2",
        "--credential",
        f"api_key={EASYPOST_KEY}",
        "--settings",
        settings,
    )
    shipment_id = parcel_for(client, factory)
    quoted = cli(
        "carriers", "quote", str(shipment_id), "--account", "ep", "--deliver-by", "2099-01-01"
    ).output
    assert rows(quoted, "USPS")[0][1:3] == ["GroundAdvantage", "7.51 USD"]
    assert "Cheapest meeting the promise: USPS GroundAdvantage." in quoted
    asked = cli("carriers", "buy", str(shipment_id), "--account", "ep", "--service", "Priority").output
    assert "asked of 'ep' (Priority)" in asked
    assert client.get(f"/api/v1/shipments/{shipment_id}").json()["carrier_label"]["state"] == "buying"
    refused = cli("carriers", "buy", str(shipment_id), "--account", "ep", code=1).output
    assert "a label purchase is under way" in refused
