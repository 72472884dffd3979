"""Carrier tracking over real HTTP against the sandboxes, on both databases: polled through the jobs
(EasyPost one parcel at a time, DHL 200 to a call) and pushed (EasyPost's signed tracker webhooks, to a
served hub); a carrier's pickup hands a parcel still on the shelf over, delivery closes the order, and a
throttled or failing carrier delays the news but loses none."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from orderly.api import create_app
from orderly.core.db import transaction
from orderly.fulfilment.carriers import tracking
from orderly.jobs.worker import Worker
from orderly.sandbox.serve import serving
from tests.fulfilment.carriers.conftest import Sandbox
from tests.fulfilment.carriers.test_accounts_and_quotes import add_account, parcel_for
from tests.fulfilment.carriers.test_labels import _buy, _dhl_account, _jobs, run_jobs, worker

__all__ = ["worker"]


def _bought(
    client: TestClient, factory: sessionmaker[Session], worker: Worker, account: str, **to: Any
) -> Any:
    shipment_id = parcel_for(client, factory, **to)
    box = {"length_mm": 250, "width_mm": 180, "height_mm": 60}
    asked = _buy(client, shipment_id, carrier_account=account, parcel=box)
    assert asked.status_code == 202, asked.text
    run_jobs(worker, factory)
    parcel = client.get(f"/api/v1/shipments/{shipment_id}").json()
    assert parcel["status"] == "label_bought", parcel
    return parcel


def _poll(factory: sessionmaker[Session], worker: Worker) -> None:
    with transaction(factory) as s:
        tracking.schedule_polls(s)
    run_jobs(worker, factory)


def _timeline(client: TestClient, shipment_id: int) -> Any:
    return client.get(f"/api/v1/shipments/{shipment_id}/tracking").json()


def _stock(client: TestClient) -> tuple[int, int]:
    (row,) = client.get("/api/v1/stock/SKU-1").json()
    return row["on_hand"], row["reserved"]


def test_easypost_scans_polled_hand_the_parcel_over_and_deliver_the_order(
    client: TestClient, factory: sessionmaker[Session], easypost: Sandbox, worker: Worker
) -> None:
    add_account(client, easypost.url)
    parcel = _bought(client, factory, worker, "ep")
    number = parcel["tracking_number"]
    assert _stock(client) == (10, 2)

    easypost.store.advance(number, "pre_transit")
    _poll(factory, worker)
    assert _timeline(client, parcel["id"])["status"] == "label_bought"  # a label made is no movement

    easypost.store.advance(number, "in_transit", "Accepted at USPS origin facility")
    easypost.store.faults.fail_next = 2  # the carrier fails twice: the poll is retried
    _poll(factory, worker)
    assert _timeline(client, parcel["id"])["status"] == "in_transit"
    assert _stock(client) == (8, 0)  # the carrier holds it: its stock left
    assert client.get(f"/api/v1/orders/{parcel['order_id']}").json()["status"] == "shipped"

    easypost.store.advance(number, "out_for_delivery")
    easypost.store.advance(number, "delivered")
    _poll(factory, worker)
    _poll(factory, worker)  # a parcel delivered is no longer asked about; nothing is added twice
    journey = _timeline(client, parcel["id"])
    assert journey["status"] == "delivered"
    kinds = [e["kind"] for e in journey["events"]]
    assert kinds == ["label_created", "picked_up", "out_for_delivery", "delivered"]
    assert {e["source"] for e in journey["events"]} == {"easypost"}
    assert client.get(f"/api/v1/orders/{parcel['order_id']}").json()["status"] == "delivered"
    assert _stock(client) == (8, 0)
    assert {status for status, _ in _jobs(factory, tracking.TRACK_PARCELS)} == {"done"}


def test_easypost_pushes_signed_tracker_updates_to_the_hub_and_forged_ones_are_refused(
    client: TestClient, factory: sessionmaker[Session], easypost: Sandbox, worker: Worker
) -> None:
    add_account(client, easypost.url)
    parcel = _bought(client, factory, worker, "ep")
    with serving(create_app(factory=factory, workers=0)) as hub:
        easypost.store.create_webhook(
            {"webhook": {"url": f"{hub}/api/v1/webhooks/carriers/ep", "webhook_secret": "sécret"}}
        )
        easypost.store.advance(parcel["tracking_number"], "in_transit")
        easypost.store.advance(parcel["tracking_number"], "delivered")

    assert [status for status, _ in easypost.store.deliveries] == [200, 200]
    assert _timeline(client, parcel["id"])["status"] == "delivered"
    assert client.get(f"/api/v1/orders/{parcel['order_id']}").json()["status"] == "delivered"

    _, event = easypost.store.deliveries[-1]
    path = "/api/v1/webhooks/carriers/ep"
    forged = client.post(path, json=event, headers={"X-Hmac-Signature": "hmac-sha256-hex=00"})
    assert forged.status_code == 401
    assert client.post("/api/v1/webhooks/carriers/nobody", json=event).status_code == 404


def test_a_push_about_a_parcel_the_hub_did_not_buy_is_acknowledged_and_changes_nothing(
    client: TestClient, factory: sessionmaker[Session], easypost: Sandbox
) -> None:
    from orderly.fulfilment.carriers.easypost.webhooks import signature

    add_account(client, easypost.url)
    body = (
        b'{"object":"Event","id":"evt_1","description":"tracker.updated","result":{"object":"Tracker",'
        b'"id":"trk_1","tracking_code":"EZ4000000004","status":"delivered","carrier":"USPS",'
        b'"shipment_id":"shp_x","tracking_details":[]}}'
    )
    answer = client.post(
        "/api/v1/webhooks/carriers/ep",
        content=body,
        headers={"Content-Type": "application/json", "X-Hmac-Signature": signature("sécret", body)},
    )
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"status": "ignored", "new_events": 0}
    bad = b'{"object":"Nope"}'
    refused = client.post(
        "/api/v1/webhooks/carriers/ep",
        content=bad,
        headers={"Content-Type": "application/json", "X-Hmac-Signature": signature("sécret", bad)},
    )
    assert refused.status_code == 400
    assert "EasyPost Event" in refused.text


def test_dhl_checkpoints_polled_in_batches_move_parcels_to_delivered(
    client: TestClient, factory: sessionmaker[Session], dhl: Sandbox, worker: Worker
) -> None:
    _dhl_account(client, dhl)
    spain = {"line1": "Calle 5 12", "city": "Madrid", "region": None, "postal_code": "28013", "country": "ES"}
    parcel = _bought(client, factory, worker, "dhl", phone="+34 910 000 000", **spain)
    number = parcel["tracking_number"]

    _poll(factory, worker)  # nothing scanned yet: DHL answers 404, which is no failure
    assert _timeline(client, parcel["id"])["events"] == []
    for code in ("PU", "AF", "DF"):
        dhl.store.scan(number, code)
    dhl.store.faults.fail_next = 1
    _poll(factory, worker)
    journey = _timeline(client, parcel["id"])
    assert journey["status"] == "in_transit"
    assert [e["kind"] for e in journey["events"]] == ["picked_up", "in_transit", "in_transit"]
    for code in ("WC", "OK"):
        dhl.store.scan(number, code)
    _poll(factory, worker)
    assert _timeline(client, parcel["id"])["status"] == "delivered"
    assert client.get(f"/api/v1/orders/{parcel['order_id']}").json()["status"] == "delivered"
