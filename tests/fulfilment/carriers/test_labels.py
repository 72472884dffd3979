"""Labels bought through the jobs over real HTTP against the carrier sandboxes, on both databases:
quote, buy, the label kept (reprints call nobody), void through the carrier; a lost answer is looked up
and never bought twice; refusals stay visible on the parcel."""

from __future__ import annotations

import io
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pypdf import PdfReader
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from orderly.auth.models import AuditEvent
from orderly.core.clock import utcnow
from orderly.core.db import transaction
from orderly.fulfilment.carriers.models import ShipmentLabel
from orderly.fulfilment.models import Shipment
from orderly.jobs.models import Job
from orderly.jobs.worker import Worker
from tests.factories import order
from tests.fulfilment.carriers.conftest import DHL_ACCOUNT, DHL_SECRET, DHL_USER, SHIP_FROM, Sandbox
from tests.fulfilment.carriers.test_accounts_and_quotes import add_account, parcel_for


@pytest.fixture
def worker(factory: sessionmaker[Session]) -> Worker:
    return Worker(factory, name="test", idle_sleep=0)


def run_jobs(worker: Worker, factory: sessionmaker[Session], rounds: int = 30) -> None:
    """Run label jobs until none is left to run, retries made due at once."""
    for _ in range(rounds):
        with transaction(factory) as s:
            s.execute(update(Job).where(Job.status == "queued").values(run_after=utcnow()))
        if not worker.run_once():
            return
    raise AssertionError("jobs kept coming")


def _jobs(factory: sessionmaker[Session], kind: str) -> list[tuple[str, str | None]]:
    with transaction(factory) as s:
        return [
            (j.status, j.last_error) for j in s.scalars(select(Job).where(Job.kind == kind).order_by(Job.id))
        ]


def _buy(client: TestClient, shipment_id: int, **body: Any) -> Any:
    return client.post(f"/api/v1/shipments/{shipment_id}/label", json={"carrier_account": "ep", **body})


def test_a_label_is_bought_stored_reprinted_without_the_carrier_and_voided_through_it(
    client: TestClient, factory: sessionmaker[Session], easypost: Sandbox, worker: Worker
) -> None:
    add_account(client, easypost.url)
    shipment_id = parcel_for(client, factory)
    order_id = client.get(f"/api/v1/shipments/{shipment_id}").json()["order_id"]

    asked = _buy(client, shipment_id, deliver_by="2099-01-01")
    assert asked.status_code == 202, asked.text
    assert asked.json()["status"] == "created"
    assert asked.json()["carrier_label"]["state"] == "buying"
    twice = _buy(client, shipment_id)
    assert twice.status_code == 409 and "a label purchase is under way" in twice.json()["error"]["message"]
    handed = client.post(f"/api/v1/shipments/{shipment_id}/ship", json={})
    assert handed.status_code == 409  # not while its label is being bought
    run_jobs(worker, factory)

    parcel = client.get(f"/api/v1/shipments/{shipment_id}").json()
    assert parcel["status"] == "label_bought"
    assert parcel["carrier_label"]["state"] == "bought" and parcel["carrier_label"]["has_file"]
    assert (parcel["carrier_plugin"], parcel["carrier"], parcel["service"]) == (
        "easypost",
        "USPS",
        "GroundAdvantage",
    )
    assert parcel["cost"] == 751 and parcel["cost_currency"] == "USD"  # "7.51": 5.40 + 0.12 x 17.6 oz
    assert parcel["tracking_number"].startswith("94001")
    assert parcel["tracking_url"].startswith("https://track.easypost.com/")
    assert client.get(f"/api/v1/orders/{order_id}").json()["status"] == "label_printed"
    assert len(easypost.store.purchases) == 1

    calls = len(easypost.store.calls)
    first = client.get(f"/api/v1/shipments/{shipment_id}/label")
    again = client.get(f"/api/v1/shipments/{shipment_id}/label")
    assert first.status_code == 200 and first.content == again.content
    (label_id,) = (s["postage_label"]["id"] for s in easypost.store.shipments.values() if s["postage_label"])
    assert first.content == easypost.store.files[label_id]  # the carrier's own file, as bought
    batch = client.post("/api/v1/labels/batch", json={"shipment_ids": [shipment_id]})
    assert batch.status_code == 200 and batch.content.startswith(b"%PDF")
    assert len(easypost.store.calls) == calls  # reprints never call the carrier

    voiding = client.post(f"/api/v1/shipments/{shipment_id}/void", json={"reason": "wrong box"})
    assert voiding.status_code == 200
    assert voiding.json()["status"] == "label_bought"
    assert voiding.json()["carrier_label"]["state"] == "voiding"
    assert "a label void is under way" in client.post(f"/api/v1/shipments/{shipment_id}/ship", json={}).text
    run_jobs(worker, factory)
    voided = client.get(f"/api/v1/shipments/{shipment_id}").json()
    assert voided["status"] == "voided" and voided["carrier_label"]["state"] == "voided"
    assert (
        easypost.store.shipments[voided["carrier_label"]["carrier_shipment_id"]]["refund_status"]
        == "submitted"
    )
    assert client.get(f"/api/v1/orders/{order_id}").json()["status"] == "allocated"
    assert client.get(f"/api/v1/shipments/{shipment_id}/label").status_code == 409
    assert any("wrong box" in (e["message"] or "") for e in voided["events"])


def test_a_named_service_is_bought_and_one_not_offered_fails_visibly(
    client: TestClient, factory: sessionmaker[Session], easypost: Sandbox, worker: Worker
) -> None:
    add_account(client, easypost.url)
    shipment_id = parcel_for(client, factory)
    _buy(client, shipment_id, service="Overnight")
    run_jobs(worker, factory)
    failed = client.get(f"/api/v1/shipments/{shipment_id}").json()
    assert failed["status"] == "created"
    assert failed["carrier_label"]["state"] == "failed"
    assert "service Overnight" in failed["carrier_label"]["error"]
    assert _jobs(factory, "buy_label")[0][0] == "dead"
    assert easypost.store.purchases == []

    assert _buy(client, shipment_id, service="Express").status_code == 202  # asked again
    run_jobs(worker, factory)
    bought = client.get(f"/api/v1/shipments/{shipment_id}").json()
    assert (bought["status"], bought["service"]) == ("label_bought", "Express")


def test_a_buy_whose_answer_is_lost_is_found_again_not_bought_twice(
    client: TestClient, factory: sessionmaker[Session], easypost: Sandbox, worker: Worker
) -> None:
    add_account(client, easypost.url)
    shipment_id = parcel_for(client, factory)
    easypost.store.faults.lose_next_buy = 1
    _buy(client, shipment_id)
    run_jobs(worker, factory)
    parcel = client.get(f"/api/v1/shipments/{shipment_id}").json()
    assert parcel["status"] == "label_bought"
    assert len(easypost.store.purchases) == 1
    assert sum(1 for _, path in easypost.store.calls if path.endswith("/buy")) == 1
    (job,) = _jobs(factory, "buy_label")
    assert job[0] == "done"


def test_a_buy_failing_before_it_is_sent_is_retried_and_a_throttle_waits(
    client: TestClient, factory: sessionmaker[Session], easypost: Sandbox, worker: Worker
) -> None:
    add_account(client, easypost.url)
    shipment_id = parcel_for(client, factory)
    easypost.store.faults.fail_next = 5  # the quote fails (each try retried in place), then works
    _buy(client, shipment_id)
    run_jobs(worker, factory)
    assert client.get(f"/api/v1/shipments/{shipment_id}").json()["status"] == "label_bought"
    assert len(easypost.store.purchases) == 1


def test_a_refused_refund_leaves_the_parcel_labelled_with_the_refusal_shown(
    client: TestClient, factory: sessionmaker[Session], easypost: Sandbox, worker: Worker
) -> None:
    add_account(client, easypost.url)
    shipment_id = parcel_for(client, factory)
    _buy(client, shipment_id)
    run_jobs(worker, factory)
    easypost.store.faults.refund_status = "rejected"
    client.post(f"/api/v1/shipments/{shipment_id}/void", json={"reason": "changed mind"})
    run_jobs(worker, factory)
    parcel = client.get(f"/api/v1/shipments/{shipment_id}").json()
    assert parcel["status"] == "label_bought"
    assert parcel["carrier_label"]["state"] == "bought"
    assert (
        "void refused" in parcel["carrier_label"]["error"] and "rejected" in parcel["carrier_label"]["error"]
    )
    assert client.get(f"/api/v1/shipments/{shipment_id}/label").status_code == 200
    easypost.store.faults.refund_status = None  # may be voided again
    client.post(f"/api/v1/shipments/{shipment_id}/void", json={"reason": "again"})
    run_jobs(worker, factory)
    assert client.get(f"/api/v1/shipments/{shipment_id}").json()["status"] == "voided"


def test_a_label_is_refused_for_a_parcel_that_has_one_or_left_or_a_manual_account(
    client: TestClient, factory: sessionmaker[Session], easypost: Sandbox
) -> None:
    add_account(client, easypost.url)
    client.post("/api/v1/carrier-accounts", json={"code": "hand", "name": "By hand", "plugin": "manual"})
    shipment_id = parcel_for(client, factory)
    manual = _buy(client, shipment_id, carrier_account="hand")
    assert manual.status_code == 409 and "sells no labels" in manual.json()["error"]["message"]
    assert _buy(client, shipment_id, carrier_account="nope").status_code == 404
    client.patch("/api/v1/carrier-accounts/ep", json={"active": False})
    assert "switched off" in _buy(client, shipment_id).json()["error"]["message"]
    client.post(f"/api/v1/shipments/{shipment_id}/ship", json={})
    client.patch("/api/v1/carrier-accounts/ep", json={"active": True})
    left = _buy(client, shipment_id)
    assert left.status_code == 409 and "shipped" in left.json()["error"]["message"]
    with transaction(factory) as s:
        assert s.scalar(select(ShipmentLabel)) is None


def _dhl_account(client: TestClient, dhl: Sandbox) -> None:
    add_account(
        client,
        dhl.url,
        code="dhl",
        plugin="dhl_express",
        base_url=f"{dhl.url}/mydhlapi/test",
        credentials={"username": DHL_USER, "password": DHL_SECRET},
        settings={"ship_from": SHIP_FROM, "account_number": DHL_ACCOUNT},
    )


def test_a_dhl_label_is_bought_kept_reprinted_and_voided_in_the_hub(
    client: TestClient, factory: sessionmaker[Session], dhl: Sandbox, worker: Worker
) -> None:
    _dhl_account(client, dhl)
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
    box = {"length_mm": 250, "width_mm": 180, "height_mm": 60}
    quoted = client.post(
        f"/api/v1/shipments/{shipment_id}/rates", json={"carrier_account": "dhl", "parcel": box}
    )
    assert quoted.status_code == 200, quoted.text
    assert quoted.json()["chosen"]["service"] == "W"  # ECONOMY SELECT: the cheapest, no promise
    asked = client.post(
        f"/api/v1/shipments/{shipment_id}/label",
        json={
            "carrier_account": "dhl",
            "deliver_by": "2099-12-31",
            "parcel": box,
            "preference": {"services": ["P", "K"]},
        },
    )
    assert asked.status_code == 202, asked.text
    run_jobs(worker, factory)
    parcel = client.get(f"/api/v1/shipments/{shipment_id}").json()
    assert parcel["status"] == "label_bought", parcel["carrier_label"]
    assert (parcel["carrier"], parcel["service"], parcel["cost_currency"]) == ("DHL Express", "P", "EUR")
    (number,) = dhl.store.shipments
    assert parcel["tracking_number"] == number
    sent = dhl.store.shipments[number]["request"]
    assert sent["content"]["exportDeclaration"]["lineItems"][0]["description"] == "SKU-1"
    with transaction(factory) as s:
        (promised,) = s.execute(select(Shipment.promised_by)).one()
    assert promised is not None

    calls = len(dhl.store.calls)
    label = client.get(f"/api/v1/shipments/{shipment_id}/label")
    assert label.status_code == 200 and label.content.startswith(b"%PDF")
    assert PdfReader(io.BytesIO(label.content)).pages[0].mediabox.height == 432  # DHL's 8x4 in placed on 4x6
    assert client.post("/api/v1/labels/batch", json={"shipment_ids": [shipment_id]}).status_code == 200
    assert len(dhl.store.calls) == calls

    client.post(f"/api/v1/shipments/{shipment_id}/void", json={"reason": "customer cancelled"})
    run_jobs(worker, factory)
    voided = client.get(f"/api/v1/shipments/{shipment_id}").json()
    assert (voided["status"], voided["carrier_label"]["state"]) == ("voided", "voided")
    assert any("voids no waybill by API" in (e["message"] or "") for e in voided["events"])


def test_a_dhl_buy_whose_answer_is_lost_waits_for_a_person_and_is_not_bought_again(
    client: TestClient, factory: sessionmaker[Session], dhl: Sandbox, worker: Worker
) -> None:
    _dhl_account(client, dhl)
    shipment_id = parcel_for(client, factory)
    client.patch(
        "/api/v1/carrier-accounts/dhl",
        json={
            "settings": {
                "ship_from": SHIP_FROM,
                "account_number": DHL_ACCOUNT,
                "default_parcel": {"length_mm": 200, "width_mm": 150, "height_mm": 100},
            }
        },
    )
    dhl.store.faults.lose_next_shipment = 1
    client.post(f"/api/v1/shipments/{shipment_id}/label", json={"carrier_account": "dhl"})
    run_jobs(worker, factory)
    parcel = client.get(f"/api/v1/shipments/{shipment_id}").json()
    assert parcel["status"] == "created"
    assert parcel["carrier_label"]["state"] == "unknown"
    assert "made waybill" in parcel["carrier_label"]["error"]
    ((status, error),) = _jobs(factory, "buy_label")
    assert status == "dead" and "SHP-" in (error or "")
    assert len(dhl.store.shipments) == 1

    with transaction(factory) as s:  # a replay looks again, and still buys nothing
        (job_id,) = s.scalars(select(Job.id).where(Job.kind == "buy_label"))
    assert client.post(f"/api/v1/jobs/{job_id}/replay").status_code in (200, 202)
    run_jobs(worker, factory)
    assert len(dhl.store.shipments) == 1
    assert client.get(f"/api/v1/shipments/{shipment_id}").json()["carrier_label"]["state"] == "unknown"

    refused = client.post(f"/api/v1/shipments/{shipment_id}/label", json={"carrier_account": "dhl"})
    assert refused.status_code == 409 and refused.json()["error"]["field"] == "confirm_nothing_bought"
    again = client.post(
        f"/api/v1/shipments/{shipment_id}/label",
        json={"carrier_account": "dhl", "confirm_nothing_bought": True},
    )
    assert again.status_code == 202
    run_jobs(worker, factory)
    assert client.get(f"/api/v1/shipments/{shipment_id}").json()["status"] == "label_bought"
    assert len(dhl.store.shipments) == 2  # bought again only on a person's word


def _lost_dhl_label(client: TestClient, factory: sessionmaker[Session], dhl: Sandbox, worker: Worker) -> int:
    """A parcel whose DHL purchase lost its answer: the label's outcome is unknown."""
    _dhl_account(client, dhl)
    shipment_id = parcel_for(client, factory)
    settings = {
        "ship_from": SHIP_FROM,
        "account_number": DHL_ACCOUNT,
        "default_parcel": {"length_mm": 200, "width_mm": 150, "height_mm": 100},
    }
    client.patch("/api/v1/carrier-accounts/dhl", json={"settings": settings})
    dhl.store.faults.lose_next_shipment = 1
    client.post(f"/api/v1/shipments/{shipment_id}/label", json={"carrier_account": "dhl"})
    run_jobs(worker, factory)
    assert client.get(f"/api/v1/shipments/{shipment_id}").json()["carrier_label"]["state"] == "unknown"
    return shipment_id


def test_a_person_who_finds_the_lost_label_bought_records_it_with_its_tracking_number(
    client: TestClient, factory: sessionmaker[Session], dhl: Sandbox, worker: Worker
) -> None:
    shipment_id = _lost_dhl_label(client, factory, dhl, worker)
    (waybill,) = dhl.store.shipments
    outcome = f"/api/v1/shipments/{shipment_id}/label/outcome"
    assert client.post(outcome, json={"bought": True, "note": "seen"}).status_code == 422  # which one?
    settled = client.post(outcome, json={"bought": True, "tracking_number": waybill, "note": "in MyDHL"})
    assert settled.status_code == 200, settled.text
    parcel = settled.json()
    assert (parcel["status"], parcel["tracking_number"]) == ("label_bought", waybill)
    assert parcel["carrier_label"]["state"] == "bought" and parcel["carrier_label"]["error"] is None
    assert any("the label was bought" in (e["message"] or "") for e in parcel["events"])
    assert client.post(outcome, json={"bought": False, "note": "again"}).status_code == 409  # settled
    assert len(dhl.store.shipments) == 1  # nothing bought by the hub's word
    with transaction(factory) as s:
        actions = s.scalars(select(AuditEvent.action).where(AuditEvent.subject_id == str(shipment_id))).all()
    assert "POST /shipments/{shipment_id}/label/outcome" in actions


def test_a_person_who_finds_nothing_bought_frees_the_parcel_for_a_new_label(
    client: TestClient, factory: sessionmaker[Session], dhl: Sandbox, worker: Worker
) -> None:
    shipment_id = _lost_dhl_label(client, factory, dhl, worker)
    outcome = f"/api/v1/shipments/{shipment_id}/label/outcome"
    assert (
        client.post(outcome, json={"bought": False, "tracking_number": "X", "note": "n"}).status_code == 422
    )
    settled = client.post(outcome, json={"bought": False, "note": "nothing under SHP- in MyDHL"})
    assert settled.status_code == 200, settled.text
    label = settled.json()["carrier_label"]
    assert label["state"] == "failed" and "nothing was bought" in label["error"]
    again = client.post(f"/api/v1/shipments/{shipment_id}/label", json={"carrier_account": "dhl"})
    assert again.status_code == 202  # no confirm_nothing_bought needed: a person said so
    run_jobs(worker, factory)
    assert client.get(f"/api/v1/shipments/{shipment_id}").json()["status"] == "label_bought"


def test_a_routing_rule_s_carrier_preference_steers_rate_shopping_unless_the_person_names_one(
    client: TestClient, factory: sessionmaker[Session], easypost: Sandbox, worker: Worker
) -> None:
    add_account(client, easypost.url)
    rule = {
        "key": "fast-usps",
        "name": "Domestic parcels go USPS Priority",
        "scope": {"countries": ["US"]},
        "then": [{"carrier": {"use": "USPS", "service": "Priority"}}],
    }
    assert client.put("/api/v1/routing/rules/fast-usps", json=rule).status_code == 200
    steered = parcel_for(client, factory)
    response = client.post("/api/v1/orders/ingest", json={"orders": [order(("SKU-1", 1))]})
    (item,) = response.json()["items"]
    named = client.post(f"/api/v1/orders/{item['order_id']}/shipments", json={"weight_g": 300}).json()["id"]

    assert _buy(client, steered).status_code == 202  # cheapest: GroundAdvantage, but the rule says Priority
    assert _buy(client, named, service="GroundAdvantage").status_code == 202
    run_jobs(worker, factory)

    first, second = (client.get(f"/api/v1/shipments/{sid}").json() for sid in (steered, named))
    assert (first["carrier"], first["service"]) == ("USPS", "Priority")
    assert any(
        "routing rule fast-usps: carrier USPS, service Priority" in (e["message"] or "")
        for e in first["events"]
    )
    assert second["service"] == "GroundAdvantage"


def test_a_cancelled_order_s_bought_label_is_refunded_through_the_carrier_and_a_refusal_not_asked_again(
    client: TestClient, factory: sessionmaker[Session], easypost: Sandbox, worker: Worker
) -> None:
    from orderly.fulfilment import service as fulfilment

    def sweep() -> int:
        with transaction(factory) as s:
            return fulfilment.void_parcels_of_cancelled_orders(s)

    def cancel(shipment_id: int) -> None:
        order_id = client.get(f"/api/v1/shipments/{shipment_id}").json()["order_id"]
        assert client.post(f"/api/v1/orders/{order_id}/cancel", json={"reason": "fraud"}).status_code == 200

    add_account(client, easypost.url)
    refunded = parcel_for(client, factory)
    response = client.post("/api/v1/orders/ingest", json={"orders": [order(("SKU-1", 1))]})
    (item,) = response.json()["items"]
    refused = client.post(f"/api/v1/orders/{item['order_id']}/shipments", json={"weight_g": 300}).json()["id"]
    for shipment_id in (refunded, refused):
        assert _buy(client, shipment_id).status_code == 202
    run_jobs(worker, factory)

    cancel(refused)
    easypost.store.faults.refund_status = "rejected"
    assert sweep() == 1
    assert sweep() == 0  # the void job is out
    run_jobs(worker, factory)
    easypost.store.faults.refund_status = None
    cancel(refunded)
    assert sweep() == 1  # a refusal is not asked again: a person reads it on the parcel
    run_jobs(worker, factory)
    assert sweep() == 0

    first, second = (client.get(f"/api/v1/shipments/{sid}").json() for sid in (refunded, refused))
    assert first["status"] == "voided" and first["carrier_label"]["state"] == "voided"
    assert second["status"] == "label_bought" and "rejected" in second["carrier_label"]["error"]
    refunds = sorted(s["refund_status"] for s in easypost.store.shipments.values() if s["refund_status"])
    assert refunds == ["rejected", "submitted"]
