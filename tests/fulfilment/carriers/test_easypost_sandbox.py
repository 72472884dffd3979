"""The EasyPost sandbox keeps the contract sheet (checked with plain HTTP), and the connector works
against it over real HTTP: quote, buy, a lost answer found again, refund, trackers, webhooks."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request

from orderly.fulfilment.carriers.connector import (
    AuthFailed,
    BoughtLabel,
    CarrierAccountRef,
    CarrierError,
    Party,
    RateLimited,
    Rejected,
    TrackingKind,
    VoidOutcome,
)
from orderly.fulfilment.carriers.easypost import EasyPostConnector as EasyPost
from orderly.fulfilment.carriers.easypost import mapper
from orderly.sandbox.serve import serving
from tests.fulfilment.carriers.conftest import EASYPOST_KEY, Sandbox, parcel


@pytest.fixture
def api(easypost: Sandbox) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=f"{easypost.url}/v2", auth=(EASYPOST_KEY, ""), timeout=5) as client:
        yield client


def _connector(easypost: Sandbox, key: str = EASYPOST_KEY, timeout: float = 5) -> Any:
    account = CarrierAccountRef(1, "ep", f"{easypost.url}/v2", {"api_key": key})
    return EasyPost(account, httpx.Client(base_url=account.base_url, timeout=timeout))


def _created(api: httpx.Client) -> dict[str, Any]:
    response = api.post("shipments", json=mapper.shipment_request(parcel()))
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def test_a_call_without_a_key_or_with_a_wrong_one_is_refused_401(easypost: Sandbox) -> None:
    none = httpx.post(f"{easypost.url}/v2/shipments", json={})
    assert none.status_code == 401
    assert none.json()["error"]["code"] == "APIKEY.REQUIRED"
    wrong = httpx.post(f"{easypost.url}/v2/shipments", json={}, auth=("EZTKwrong", ""))
    assert wrong.status_code == 401
    bearer = httpx.get(f"{easypost.url}/v2/trackers", headers={"Authorization": f"Bearer {EASYPOST_KEY}"})
    assert bearer.status_code == 200  # the official client's form (§1)


def test_an_empty_shipment_is_the_recorded_422_body(api: httpx.Client) -> None:
    response = api.post("shipments", json={"shipment": {}})
    assert response.status_code == 422
    assert response.json() == {
        "error": {
            "code": "PARAMETER.REQUIRED",
            "message": "Missing required parameter.",
            "errors": [{"field": "shipment", "message": "cannot be blank"}],
        }
    }
    assert response.headers["x-ep-request-uuid"]


def test_a_shipment_has_several_rates_in_string_money_and_no_label(api: httpx.Client) -> None:
    created = _created(api)
    assert created["id"].startswith("shp_") and created["status"] == "unknown"
    assert created["postage_label"] is None and created["tracking_code"] is None
    assert len(created["rates"]) >= 3
    assert len({r["rate"] for r in created["rates"]}) == len(created["rates"])
    assert all(isinstance(r["rate"], str) and r["rate"].count(".") == 1 for r in created["rates"])
    assert {r["delivery_days"] for r in created["rates"]} >= {3, 7}


def test_a_label_is_bought_once_and_its_pdf_is_served(api: httpx.Client, easypost: Sandbox) -> None:
    created = _created(api)
    rate = created["rates"][0]["id"]
    bought = api.post(f"shipments/{created['id']}/buy", json={"rate": {"id": rate}})
    assert bought.status_code == 200, bought.text
    label = bought.json()["postage_label"]
    assert bought.json()["tracking_code"] and label["label_size"] == "4x6"
    pdf = httpx.get(label["label_url"])
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    again = api.post(f"shipments/{created['id']}/buy", json={"rate": {"id": rate}})
    assert again.status_code == 422
    assert easypost.store.purchases == [created["id"]]
    refund = api.post(f"shipments/{created['id']}/refund")
    assert refund.json()["refund_status"] == "submitted"


def test_bursts_are_throttled_429_with_an_error_body(easypost: Sandbox, api: httpx.Client) -> None:
    easypost.store.bucket.size = easypost.store.bucket.tokens = 2
    easypost.store.bucket.per_second = 0.001
    statuses = [api.get("trackers") for _ in range(3)]
    assert [r.status_code for r in statuses] == [200, 200, 429]
    assert statuses[2].json()["error"]["code"] == "RATE_LIMITED"


def test_the_connector_quotes_buys_voids_and_tracks(easypost: Sandbox) -> None:
    connector = _connector(easypost)
    offers = connector.quote(parcel())
    assert len(offers) == 4 and all(o.currency == "USD" and o.cost > 0 for o in offers)
    label = connector.buy(parcel(), offers[1])
    assert label.content.startswith(b"%PDF") and label.file_format == "pdf"
    assert (label.cost, label.service) == (offers[1].cost, offers[1].service)
    assert label.tracking_url and label.carrier_shipment_id == offers[1].carrier_shipment_id
    bought = BoughtLabel(label.carrier_shipment_id, label.tracking_number)
    for status in ("pre_transit", "in_transit", "out_for_delivery", "delivered"):
        easypost.store.advance(label.tracking_number, status)
    events = connector.track([bought])[label.tracking_number]
    assert [e.kind for e in events] == [
        TrackingKind.LABEL_CREATED,
        TrackingKind.PICKED_UP,
        TrackingKind.OUT_FOR_DELIVERY,
        TrackingKind.DELIVERED,
    ]
    assert connector.void(bought).outcome == VoidOutcome.VOIDED
    easypost.store.faults.refund_status = "rejected"
    refused = connector.void(bought)
    assert refused.outcome == VoidOutcome.REFUSED and "rejected" in refused.reason


def test_a_buy_whose_answer_is_lost_is_found_by_rereading_the_shipment(easypost: Sandbox) -> None:
    connector = _connector(easypost)
    offer = connector.quote(parcel())[0]
    assert connector.find_bought(parcel(), offer) is None  # not bought: buying is safe
    easypost.store.faults.lose_next_buy = 1
    with pytest.raises(CarrierError) as lost:
        connector.buy(parcel(), offer)
    assert lost.value.retryable and not isinstance(lost.value, Rejected)
    found = connector.find_bought(parcel(), offer)
    assert found is not None and found.content.startswith(b"%PDF")
    assert easypost.store.purchases == [offer.carrier_shipment_id]  # bought once, never twice


def test_a_slow_buy_is_not_sent_twice(easypost: Sandbox) -> None:
    connector = _connector(easypost, timeout=0.3)
    offer = connector.quote(parcel())[0]
    easypost.store.faults.slow_next, easypost.store.faults.slow_s = 1, 1.0
    with pytest.raises(CarrierError, match="no answer"):
        connector.buy(parcel(), offer)
    assert easypost.store.calls[-1][1].endswith("/buy")
    assert sum(1 for _, path in easypost.store.calls if path.endswith("/buy")) == 1


def test_failures_become_the_error_kinds(easypost: Sandbox) -> None:
    with pytest.raises(AuthFailed):
        _connector(easypost, key="EZTKwrong").quote(parcel())
    easypost.store.faults.fail_next = 2  # a 500 on a quote is retried in place
    assert _connector(easypost).quote(parcel())
    easypost.store.faults.fail_next = 10
    with pytest.raises(CarrierError) as failed:
        _connector(easypost).quote(parcel())
    assert failed.value.status == 500 and failed.value.retryable
    easypost.store.faults.fail_next = 0
    easypost.store.bucket.size = easypost.store.bucket.tokens = 0
    with pytest.raises(RateLimited) as throttled:
        _connector(easypost).quote(parcel())
    assert throttled.value.operation == "rates"
    easypost.store.bucket.size = easypost.store.bucket.tokens = 50
    nowhere = parcel(recipient=Party("Ana", "Calle 5", "Madrid", "28013", ""))
    with pytest.raises(Rejected, match=r"HTTP 422 PARAMETER.REQUIRED.*to_address.country: cannot be blank"):
        _connector(easypost).quote(nowhere)


def test_scans_post_signed_tracker_webhooks_that_the_plugin_verifies(
    easypost: Sandbox, api: httpx.Client
) -> None:
    received: list[tuple[dict[str, str], bytes]] = []
    hooks = FastAPI()
    lock = threading.Lock()

    @hooks.post("/hooks/easypost")
    async def take(request: Request) -> dict[str, str]:
        with lock:
            received.append((dict(request.headers), await request.body()))
        return {}

    with serving(hooks) as hub:
        made = api.post(
            "webhooks", json={"webhook": {"url": f"{hub}/hooks/easypost", "webhook_secret": "sécret"}}
        )
        assert made.status_code == 201 and "webhook_secret" not in made.json()
        tracker = api.post("trackers", json={"tracker": {"tracking_code": "EZ1000000001", "carrier": "USPS"}})
        assert tracker.json()["status"] == "pre_transit"
        easypost.store.advance("EZ1000000001", "in_transit")
    (headers, body) = received[0]
    assert EasyPost.verify_webhook("sécret", headers, body)
    assert not EasyPost.verify_webhook("other", headers, body)
    update = EasyPost.parse_webhook(headers, body)
    assert update is not None and update.tracking_number == "EZ1000000001"
    assert [e.kind for e in update.events] == [TrackingKind.LABEL_CREATED, TrackingKind.PICKED_UP]
    assert json.loads(body)["previous_attributes"] == {"status": "pre_transit"}


@pytest.mark.parametrize(
    ("code", "status"),
    [
        ("EZ1000000001", "pre_transit"),
        ("EZ2000000002", "in_transit"),
        ("EZ3000000003", "out_for_delivery"),
        ("EZ4000000004", "delivered"),
        ("EZ5000000005", "return_to_sender"),
        ("EZ6000000006", "failure"),
        ("EZ7000000007", "unknown"),
    ],
)
def test_the_seven_test_codes_show_their_status(api: httpx.Client, code: str, status: str) -> None:
    tracker = api.post("trackers", json={"tracker": {"tracking_code": code}}).json()
    assert tracker["status"] == status
    assert api.get(f"trackers/{tracker['id']}").json()["tracking_details"][-1]["status"] == status
