"""Finding orders: `q=` by platform order number, buyer name, email, phone or tracking number, and
plain dates read in the viewer's time zone. An order shows the shipments the platform reports."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from orderly.api import create_app
from orderly.core.config import Settings
from tests.factories import order, setup_catalog


def _ingest(client: TestClient, *orders: dict[str, Any]) -> None:
    response = client.post("/api/v1/orders/ingest", json={"orders": list(orders)})
    assert response.status_code == 200, response.text
    assert all(item["outcome"] == "created" for item in response.json()["items"]), response.text


def _found(client: TestClient, **params: Any) -> list[str]:
    response = client.get("/api/v1/orders", params=params)
    assert response.status_code == 200, response.text
    return sorted(o["external_id"] for o in response.json()["items"])


@pytest.fixture
def buyers(client: TestClient, factory: sessionmaker[Session]) -> None:
    setup_catalog(factory, {"SKU-1": 100})
    _ingest(
        client,
        order(
            external_id="#1001",
            buyer={"name": "Zoë  Müller", "email": "Zoe.Mueller@Example.COM", "phone": "+49 30 1234567"},
        ),
        order(
            external_id="113-4455667-8899001",
            buyer={"name": "Li Wei", "email": "li@example.cn"},
            shipping_address={
                "name": "Wei Li",
                "line1": "1 Road",
                "city": "Canton",
                "country": "US",
                "phone": "(734) 555-0100",
            },
        ),
        order(external_id="1002", buyer={"name": "Ann Other", "email": "ann@example.com"}),
    )


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("#1001", ["#1001"]),  # the order number as the platform shows it
        ("1001", ["#1001"]),  # or without its sign
        ("113-4455667-8899001", ["113-4455667-8899001"]),
        ("zoë müller", ["#1001"]),  # the full name, whatever its case and spacing
        ("MÜLLER", ["#1001"]),  # one word of it
        ("wei", ["113-4455667-8899001"]),  # a word of the buyer's or the recipient's name
        ("zoe.mueller@example.com", ["#1001"]),
        ("030 1234567", ["#1001"]),  # the phone as a person in Germany writes it
        ("+1 734-555-0100", ["113-4455667-8899001"]),  # the recipient's phone
        ("nobody@example.com", []),
        ("10", []),  # whole values only: no accidental partial matches
    ],
)
def test_q_finds_orders_by_what_a_person_has_at_hand(
    client: TestClient, buyers: None, q: str, expected: list[str]
) -> None:
    assert _found(client, q=q) == expected


def test_q_combines_with_the_other_filters(client: TestClient, buyers: None) -> None:
    assert _found(client, q="li wei", shop="shop-a") == ["113-4455667-8899001"]
    assert _found(client, q="li wei", shop="shop-b") == []


def test_an_order_is_found_by_the_email_of_its_newer_version(client: TestClient, buyers: None) -> None:
    newer = order(
        external_id="1002",
        updated=60,
        buyer={"name": "Ann Other", "email": "ann.new@example.com"},
    )
    response = client.post("/api/v1/orders/ingest", json={"orders": [newer]})
    assert response.json()["items"][0]["outcome"] == "updated"

    assert _found(client, q="ann.new@example.com") == ["1002"]


@pytest.fixture
def evening_orders(client: TestClient, factory: sessionmaker[Session]) -> None:
    """Orders placed from 00:00 to 03:00 UTC on 11 November: the evening of the 10th in New York."""
    setup_catalog(factory, {"SKU-1": 100})
    _ingest(client, *(order(external_id=f"E{hour}", placed=hour * 3600) for hour in range(4)))


def test_a_plain_date_is_that_whole_day_in_the_zone_asked_for(
    client: TestClient, evening_orders: None
) -> None:
    every = ["E0", "E1", "E2", "E3"]

    assert _found(client, placed_from="2026-11-11", placed_to="2026-11-11") == every  # UTC by default
    assert _found(client, placed_to="2026-11-10") == []
    assert _found(client, placed_to="2026-11-10", tz="America/New_York") == every
    assert _found(client, placed_from="2026-11-11", tz="America/New_York") == []
    assert _found(client, placed_from="2026-11-11", placed_to="2026-11-11", tz="Asia/Tokyo") == every
    assert _found(client, placed_from="2026-11-12", tz="Asia/Tokyo") == []
    assert _found(client, placed_from="2026-11-11T01:00:00Z", placed_to="2026-11-11") == ["E1", "E2", "E3"]


def test_the_zone_may_come_in_a_header_and_defaults_to_the_setting(
    client: TestClient, evening_orders: None, factory: sessionmaker[Session], token: str
) -> None:
    response = client.get(
        "/api/v1/orders", params={"placed_to": "2026-11-10"}, headers={"X-Timezone": "America/New_York"}
    )
    assert len(response.json()["items"]) == 4

    app = create_app(Settings(timezone="America/New_York"), factory=factory)
    with TestClient(app, headers={"Authorization": f"Bearer {token}"}) as in_new_york:
        assert _found(in_new_york, placed_to="2026-11-10") == ["E0", "E1", "E2", "E3"]
        assert _found(in_new_york, placed_to="2026-11-10", tz="UTC") == []


def test_a_shops_own_zone_reads_the_dates_of_its_orders(client: TestClient, evening_orders: None) -> None:
    response = client.patch("/api/v1/shops/shop-a", json={"settings": {"timezone": "America/New_York"}})
    assert response.status_code == 200, response.text

    assert _found(client, shop="shop-a", placed_to="2026-11-10") == ["E0", "E1", "E2", "E3"]
    assert _found(client, shop="shop-a", placed_to="2026-11-10", tz="UTC") == []  # the request's zone wins
    assert _found(client, placed_to="2026-11-10") == []  # across shops: the hub's zone
    refused = client.patch("/api/v1/shops/shop-a", json={"settings": {"timezone": "Mars/Olympus"}})
    assert refused.status_code == 400 and "timezone" in refused.text  # as every refused setting


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"tz": "Mars/Olympus"}, "tz"),
        ({"tz": "../../etc/passwd"}, "tz"),
        ({"placed_from": "2026-13-01"}, "placed_from"),
        ({"placed_to": "9999-12-31"}, "placed_to"),  # its end would be past the calendar
        ({"placed_from": "0001-01-01", "tz": "Asia/Tokyo"}, "placed_from"),
        ({"placed_to": "2026-11-11T00:00:00"}, "placed_to"),  # a time without offset is not guessed
        ({"q": ""}, "q"),
    ],
)
def test_bad_zones_dates_and_searches_are_422_naming_the_field(
    client: TestClient, params: dict[str, Any], field: str
) -> None:
    response = client.get("/api/v1/orders", params=params)

    assert response.status_code == 422, response.text
    assert response.json()["error"]["field"] == field


UPS = {
    "carrier": "UPS",
    "tracking_number": "1Z001985YW99744790",
    "tracking_url": "https://www.ups.com/WebTracking?trackNums=1Z001985YW99744790",
    "shipped_at": "2026-11-12T09:01:51-05:00",
}


def _shipments_of(client: TestClient, external_id: str) -> list[dict[str, Any]]:
    listed = client.get("/api/v1/orders", params={"q": external_id}).json()["items"]
    detail = client.get(f"/api/v1/orders/{listed[0]['id']}")
    assert detail.status_code == 200, detail.text
    return list(detail.json()["shipments"])


def test_an_order_shows_its_shipments_and_is_found_by_tracking_number(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    setup_catalog(factory, {"SKU-1": 100})
    _ingest(client, order(external_id="#2001", shipments=[UPS]), order(external_id="#2002"))

    assert _shipments_of(client, "#2001") == [UPS | {"shipped_at": "2026-11-12T14:01:51Z"}]
    assert _shipments_of(client, "#2002") == []
    assert _found(client, q="1Z001985YW99744790") == ["#2001"]
    assert _found(client, q="1z 0019 85yw 9974 4790") == ["#2001"]  # as printed on a label, in any case
    assert _found(client, q="1Z001985YW9974479") == []  # whole numbers only


def test_a_newer_version_brings_its_shipments_and_one_that_does_not_say_keeps_them(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    setup_catalog(factory, {"SKU-1": 100})
    _ingest(client, order(external_id="#3001"))
    dhl = {"carrier": "DHL", "tracking_number": "JD014600003828", "tracking_url": None, "shipped_at": None}

    def update(updated: int, **fields: Any) -> None:
        response = client.post(
            "/api/v1/orders/ingest", json={"orders": [order(external_id="#3001", updated=updated, **fields)]}
        )
        assert response.json()["items"][0]["outcome"] == "updated", response.text

    update(60, shipments=[dhl])
    assert _shipments_of(client, "#3001") == [dhl]
    assert _found(client, q="JD014600003828") == ["#3001"]

    update(120)  # a version that names no shipments (Amazon's never do)
    assert _shipments_of(client, "#3001") == [dhl]

    update(180, shipments=[UPS])  # the platform replaced the tracking number
    assert [s["tracking_number"] for s in _shipments_of(client, "#3001")] == ["1Z001985YW99744790"]
    assert _found(client, q="1Z001985YW99744790") == ["#3001"]
    assert _found(client, q="JD014600003828") == ["#3001"]  # keys are never removed
