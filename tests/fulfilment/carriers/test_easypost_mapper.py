"""The EasyPost mapper against the shapes of ``docs/carriers/easypost.md``: pure, no HTTP."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from orderly.fulfilment.carriers.connector import Offer, TrackingKind, VoidOutcome
from orderly.fulfilment.carriers.easypost import mapper, webhooks
from tests.fulfilment.carriers.conftest import parcel

# §4's response, trimmed as the sheet shows it.
CREATED: dict[str, Any] = {
    "id": "shp_7f3a",
    "object": "Shipment",
    "mode": "test",
    "status": "unknown",
    "reference": "ord-1042/1",
    "tracking_code": None,
    "postage_label": None,
    "selected_rate": None,
    "tracker": None,
    "refund_status": None,
    "messages": [{"carrier": "FedEx", "carrier_account_id": "ca_1", "type": "rate_error", "message": "no"}],
    "rates": [
        {
            "id": "rate_a1",
            "object": "Rate",
            "mode": "test",
            "carrier": "USPS",
            "service": "Express",
            "rate": "14.35",
            "currency": "USD",
            "list_rate": "14.35",
            "list_currency": "USD",
            "retail_rate": "16.10",
            "retail_currency": "USD",
            "delivery_days": 7,
            "est_delivery_days": 7,
            "delivery_date": None,
            "delivery_date_guaranteed": False,
            "billing_type": "easypost",
            "shipment_id": "shp_7f3a",
            "carrier_account_id": "ca_96",
        },
        {
            "id": "rate_b2",
            "carrier": "USPS",
            "service": "Priority",
            "rate": "8.20",
            "currency": "USD",
            "delivery_days": None,
            "est_delivery_days": None,
            "delivery_date": "2026-12-09T00:00:00Z",
            "shipment_id": "shp_7f3a",
        },
    ],
}


def test_a_shipment_request_is_wrapped_in_ounces_and_inches_with_customs_across_a_border() -> None:
    body = mapper.shipment_request(parcel())["shipment"]
    assert body["reference"] == "SHP-1"
    assert body["parcel"] == {"length": 9.8, "width": 7.1, "height": 2.4, "weight": 17.6}
    assert body["options"]["label_format"] == "PDF"
    assert body["from_address"]["street1"] == "1 Dock Rd" and body["from_address"]["state"] == "CA"
    assert body["to_address"] == {
        "name": "Ana Ruiz",
        "street1": "Calle 5 12",
        "city": "Madrid",
        "zip": "28013",
        "country": "ES",
        "phone": "34910000000",
    }
    (item,) = body["customs_info"]["customs_items"]
    assert item == {
        "description": "Cotton T-shirt",
        "quantity": 2,
        "value": 30.0,  # the line's total, in its currency's major units
        "weight": 14.1,  # the line's total, ounces
        "origin_country": "US",
        "code": "TSHIRT-M",
    }
    assert "customs_info" not in mapper.shipment_request(parcel(cross_border=False))["shipment"]


def test_rates_become_offers_in_minor_units_with_unknown_delivery_left_unknown() -> None:
    express, priority = mapper.offers(CREATED)
    assert express == Offer(
        carrier="USPS",
        service="Express",
        service_name="USPS Express",
        cost=1435,
        currency="USD",
        transit_days=7,
        delivery_date=None,
        offer_id="rate_a1",
        carrier_shipment_id="shp_7f3a",
    )
    assert priority.cost == 820
    assert priority.transit_days is None
    assert str(priority.delivery_date) == "2026-12-09"
    assert mapper.buy_request(express) == {"rate": {"id": "rate_a1"}}


def test_a_rate_with_a_bad_amount_is_a_bad_answer_not_a_zero() -> None:
    broken = {**CREATED, "rates": [{**CREATED["rates"][0], "rate": "cheap"}]}
    with pytest.raises(mapper.BadAnswer, match="not a number"):
        mapper.offers(broken)


def test_a_bought_shipment_gives_its_tracking_code_label_url_and_cost() -> None:
    bought = {
        **CREATED,
        "tracking_code": "9400100000000000000001",
        "selected_rate": CREATED["rates"][1],
        "postage_label": {
            "id": "pl_1",
            "object": "PostageLabel",
            "label_size": "4x6",
            "label_file_type": "application/pdf",
            "label_url": "https://easypost-files.s3.amazonaws.com/files/postage_label/x.pdf",
            "label_pdf_url": "https://easypost-files.s3.amazonaws.com/files/postage_label/x.pdf",
        },
        "tracker": {"id": "trk_1", "status": "unknown", "public_url": "https://track.easypost.com/djE6"},
    }
    found = mapper.bought(bought)
    assert found is not None
    assert found["tracking_number"] == "9400100000000000000001"
    assert (found["cost"], found["currency"], found["carrier"], found["service"]) == (
        820,
        "USD",
        "USPS",
        "Priority",
    )
    assert found["file_format"] == "pdf"
    assert found["tracking_url"] == "https://track.easypost.com/djE6"
    assert mapper.bought(CREATED) is None  # no postage_label: not bought


@pytest.mark.parametrize(
    ("status", "outcome"),
    [
        ("submitted", VoidOutcome.VOIDED),
        ("refunded", VoidOutcome.VOIDED),
        ("not_applicable", VoidOutcome.VOIDED),
        ("rejected", VoidOutcome.REFUSED),
    ],
)
def test_refund_statuses_map_as_the_hub_decided(status: str, outcome: VoidOutcome) -> None:
    assert mapper.refund({**CREATED, "refund_status": status}).outcome == outcome


def _detail(status: str, when: str) -> dict[str, Any]:
    return {
        "object": "TrackingDetail",
        "message": status,
        "status": status,
        "status_detail": "status_update",
        "datetime": when,
        "carrier_code": "XX",
        "tracking_location": {
            "object": "TrackingLocation",
            "city": "OAKLAND",
            "state": "CA",
            "country": None,
        },
    }


def test_tracking_details_map_to_hub_kinds_the_first_in_transit_being_the_pickup() -> None:
    statuses = ["pre_transit", "in_transit", "in_transit", "unknown", "out_for_delivery", "delivered"]
    tracker = {
        "tracking_code": "EZ4000000004",
        "tracking_details": [_detail(s, f"2026-12-0{i + 1}T10:00:00Z") for i, s in enumerate(statuses)],
    }
    events = mapper.tracking_events(tracker)
    assert [e.kind for e in events] == [
        TrackingKind.LABEL_CREATED,
        TrackingKind.PICKED_UP,
        TrackingKind.IN_TRANSIT,
        None,
        TrackingKind.OUT_FOR_DELIVERY,
        TrackingKind.DELIVERED,
    ]
    assert events[0].occurred_at == datetime(2026, 12, 1, 10, tzinfo=UTC)
    assert events[0].place == "OAKLAND, CA"


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        ("available_for_pickup", TrackingKind.OUT_FOR_DELIVERY),
        ("return_to_sender", TrackingKind.EXCEPTION),
        ("failure", TrackingKind.EXCEPTION),
        ("cancelled", TrackingKind.EXCEPTION),
        ("error", None),
    ],
)
def test_every_other_status_maps_as_the_readme_says(status: str, kind: TrackingKind | None) -> None:
    tracker = {"tracking_code": "EZ1", "tracking_details": [_detail(status, "2025-05-09T20:39:17.000Z")]}
    assert [e.kind for e in mapper.tracking_events(tracker)] == [kind]


def test_a_webhook_is_verified_on_the_raw_body_with_the_nfkd_secret() -> None:
    body = b'{"object":"Event","id":"evt_1","description":"tracker.updated","result":{}}'
    composed, decomposed = "s\u00e9cret", "se\u0301cret"
    signed = {"X-Hmac-Signature": webhooks.signature(composed, body)}
    assert signed["X-Hmac-Signature"].startswith("hmac-sha256-hex=")
    assert webhooks.verify(decomposed, signed, body)
    assert webhooks.verify(composed, {"x-hmac-signature": signed["X-Hmac-Signature"]}, body)
    assert not webhooks.verify(composed, signed, body + b" ")
    assert not webhooks.verify(composed, {}, body)
    assert not webhooks.verify(None, signed, body)


def test_a_tracker_event_parses_to_its_events_and_other_events_to_none() -> None:
    event = {
        "id": "evt_2c1",
        "object": "Event",
        "description": "tracker.updated",
        "result": {
            "id": "trk_9b",
            "object": "Tracker",
            "tracking_code": "EZ2000000002",
            "status": "in_transit",
            "shipment_id": "shp_7f3a",
            "tracking_details": [_detail("in_transit", "2026-12-03T19:05:00Z")],
        },
    }
    import json

    update = webhooks.parse(json.dumps(event).encode())
    assert update is not None
    assert (update.event_id, update.tracking_number, update.carrier_shipment_id) == (
        "evt_2c1",
        "EZ2000000002",
        "shp_7f3a",
    )
    assert [e.kind for e in update.events] == [TrackingKind.PICKED_UP]
    batch = {"id": "evt_3", "object": "Event", "description": "batch.updated", "result": {}}
    assert webhooks.parse(json.dumps(batch).encode()) is None
    with pytest.raises(mapper.BadAnswer):
        webhooks.parse(b"not json")
