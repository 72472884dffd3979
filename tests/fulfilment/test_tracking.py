"""A parcel's journey on both databases: carrier events fill its timeline and move it and its order;
a resent history adds nothing; an old event undoes nothing; silence and broken promises raise alerts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from orderly.alerts.models import Alert
from orderly.core.clock import utcnow
from orderly.core.db import transaction
from orderly.fulfilment import service
from orderly.fulfilment.domain import TrackingEvent, TrackingKind
from orderly.fulfilment.models import Shipment
from tests.factories import order, setup_catalog

K = TrackingKind
T0 = datetime(2026, 12, 1, 8, tzinfo=UTC)


def _order(client: TestClient, *lines: tuple[str, int]) -> int:
    response = client.post("/api/v1/orders/ingest", json={"orders": [order(*lines)]})
    (item,) = response.json()["items"]
    assert item["status"] == "allocated", item
    order_id: int = item["order_id"]
    return order_id


def _parcel(client: TestClient, order_id: int, **body: Any) -> int:
    body = {"carrier": "DHL", "tracking_number": "1234567890", **body}
    response = client.post(f"/api/v1/orders/{order_id}/shipments", json=body)
    assert response.status_code == 201, response.text
    shipment_id: int = response.json()["id"]
    return shipment_id


def _carrier(factory: sessionmaker[Session], shipment_id: int, **values: Any) -> None:
    """Make the parcel one a carrier plugin bought (as if through it), so the watch follows it."""
    with transaction(factory) as s:
        s.execute(
            update(Shipment).where(Shipment.id == shipment_id).values(carrier_plugin="dhl_express", **values)
        )


def _track(factory: sessionmaker[Session], shipment_id: int, *events: TrackingEvent) -> int:
    with transaction(factory) as s:
        return service.record_tracking(s, shipment_id, events, source="dhl_express", actor="carrier")


def _get(client: TestClient, path: str) -> Any:
    response = client.get(path)
    assert response.status_code == 200, response.text
    return response.json()


def _open_alerts(factory: sessionmaker[Session]) -> set[tuple[str, str]]:
    with transaction(factory) as s:
        return set(s.execute(select(Alert.kind, Alert.subject).where(Alert.resolved_at.is_(None))).all())


def _stock(client: TestClient, sku: str) -> tuple[int, int]:
    (row,) = [r for r in _get(client, f"/api/v1/stock/{sku}") if r["warehouse"] == "WH-1"]
    return row["on_hand"], row["reserved"]


JOURNEY = [
    TrackingEvent(K.LABEL_CREATED, T0, "PRE", "Shipment information received"),
    TrackingEvent(K.PICKED_UP, T0 + timedelta(hours=3), "PU", "Shipment picked up", "HONG KONG"),
    TrackingEvent(K.IN_TRANSIT, T0 + timedelta(hours=20), "AF", "Arrived at DHL Sort Facility", "LEIPZIG"),
    TrackingEvent(K.OUT_FOR_DELIVERY, T0 + timedelta(days=2), "WC", "Out with courier for delivery"),
    TrackingEvent(K.DELIVERED, T0 + timedelta(days=2, hours=4), "OK", "Delivered", "BERLIN"),
]


def test_carrier_events_move_a_parcel_to_delivered_and_close_its_order_once(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    setup_catalog(factory, {"SKU-1": 10})
    order_id = _order(client, ("SKU-1", 2))
    shipment_id = _parcel(client, order_id, ship=True)

    assert _track(factory, shipment_id, *JOURNEY[:3]) == 3
    tracking = _get(client, f"/api/v1/shipments/{shipment_id}/tracking")
    assert tracking["status"] == "in_transit"
    assert [e["kind"] for e in tracking["events"]] == ["label_created", "picked_up", "in_transit"]
    assert tracking["events"][1]["location"] == "HONG KONG"
    assert tracking["last_event_at"] == "2026-12-02T04:00:00Z"
    assert _get(client, f"/api/v1/orders/{order_id}")["status"] == "shipped"

    # a carrier resends its whole history with each poll: only the new events count
    assert _track(factory, shipment_id, *JOURNEY) == 2
    assert _track(factory, shipment_id, *JOURNEY) == 0
    tracking = _get(client, f"/api/v1/shipments/{shipment_id}/tracking")
    assert tracking["status"] == "delivered"
    assert len(tracking["events"]) == 5
    assert tracking["delivered_at"] == "2026-12-03T12:00:00Z"
    detail = _get(client, f"/api/v1/orders/{order_id}")
    assert detail["status"] == "delivered"
    assert [e["to_status"] for e in detail["events"]].count("delivered") == 1
    statuses = [e["to_status"] for e in _get(client, f"/api/v1/shipments/{shipment_id}")["events"]]
    assert statuses == ["created", "label_bought", "shipped", "in_transit", "delivered"]


def test_a_parcel_still_on_the_shelf_that_the_carrier_picks_up_is_handed_over_its_stock_leaving_once(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    setup_catalog(factory, {"SKU-1": 10})
    order_id = _order(client, ("SKU-1", 2))
    shipment_id = _parcel(client, order_id)  # label bought, not handed over
    assert _stock(client, "SKU-1") == (10, 2)

    _track(factory, shipment_id, JOURNEY[0])
    assert _get(client, f"/api/v1/shipments/{shipment_id}")["status"] == "label_bought"
    _track(factory, shipment_id, *JOURNEY[:2])

    assert _get(client, f"/api/v1/shipments/{shipment_id}")["status"] == "in_transit"
    assert _stock(client, "SKU-1") == (8, 0)
    assert _get(client, f"/api/v1/orders/{order_id}")["status"] == "shipped"
    _track(factory, shipment_id, *JOURNEY)
    assert _stock(client, "SKU-1") == (8, 0)


def test_an_event_that_arrives_late_joins_the_timeline_but_undoes_nothing(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    setup_catalog(factory, {"SKU-1": 10})
    shipment_id = _parcel(client, _order(client, ("SKU-1", 1)), ship=True)
    problem = TrackingEvent(K.EXCEPTION, T0 + timedelta(days=1), "NH", "Not home")
    _track(factory, shipment_id, problem)
    _track(factory, shipment_id, JOURNEY[2])  # older than the exception

    tracking = _get(client, f"/api/v1/shipments/{shipment_id}/tracking")
    assert tracking["status"] == "exception"
    assert [e["code"] for e in tracking["events"]] == ["AF", "NH"]  # in the order they happened
    _track(factory, shipment_id, TrackingEvent(K.IN_TRANSIT, T0 + timedelta(days=1, hours=2), "AF"))
    assert _get(client, f"/api/v1/shipments/{shipment_id}/tracking")["status"] == "in_transit"


def test_an_order_in_two_parcels_is_delivered_only_when_both_arrived(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    setup_catalog(factory, {"SKU-1": 10, "SKU-2": 10})
    order_id = _order(client, ("SKU-1", 1), ("SKU-2", 1))
    first = _parcel(client, order_id, lines=[{"line_no": 1, "quantity": 1}], ship=True)
    second = _parcel(client, order_id, tracking_number="222", ship=True)
    _track(factory, first, JOURNEY[-1])
    assert _get(client, f"/api/v1/orders/{order_id}")["status"] == "shipped"
    _track(factory, second, JOURNEY[-1])
    assert _get(client, f"/api/v1/orders/{order_id}")["status"] == "delivered"


def test_a_pickup_of_a_cancelled_order_s_parcel_moves_no_stock_and_asks_a_person(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    setup_catalog(factory, {"SKU-1": 10})
    order_id = _order(client, ("SKU-1", 2))
    shipment_id = _parcel(client, order_id)
    response = client.post(f"/api/v1/orders/{order_id}/cancel", json={"reason": "buyer asked"})
    assert response.status_code == 200, response.text

    _track(factory, shipment_id, *JOURNEY[:2])

    assert _get(client, f"/api/v1/shipments/{shipment_id}")["status"] == "label_bought"
    assert _stock(client, "SKU-1") == (10, 0)
    assert ("parcel_left_unshippable", f"shipment:{shipment_id}") in _open_alerts(factory)
    assert len(_get(client, f"/api/v1/shipments/{shipment_id}/tracking")["events"]) == 2


def test_a_quiet_parcel_raises_a_stale_alert_and_a_late_one_a_late_alert_until_events_resolve_them(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    setup_catalog(factory, {"SKU-1": 10})
    now = utcnow()
    quiet = _parcel(client, _order(client, ("SKU-1", 1)), ship=True)
    heard = _parcel(client, _order(client, ("SKU-1", 1)), tracking_number="2", ship=True)
    manual = _parcel(client, _order(client, ("SKU-1", 1)), tracking_number="3", ship=True)
    _carrier(factory, quiet, shipped_at=now - timedelta(hours=25), promised_by=now - timedelta(hours=1))
    _carrier(factory, heard, shipped_at=now - timedelta(hours=30), promised_by=now + timedelta(days=1))
    with transaction(factory) as s:
        s.execute(update(Shipment).where(Shipment.id == manual).values(shipped_at=now - timedelta(days=9)))
    _track(factory, heard, TrackingEvent(K.IN_TRANSIT, now - timedelta(hours=2), "AF"))

    with transaction(factory) as s:
        service.watch_parcels(s, now, timedelta(hours=24))
        service.watch_parcels(s, now, timedelta(hours=24))  # once per parcel, however often it looks

    assert _open_alerts(factory) == {
        ("parcel_stale", f"shipment:{quiet}"),
        ("parcel_late", f"shipment:{quiet}"),
    }
    alerts = _get(client, "/api/v1/alerts")
    assert sum(a["kind"] == "parcel_stale" for a in alerts) == 1

    _track(factory, quiet, TrackingEvent(K.IN_TRANSIT, now - timedelta(minutes=5), "AF"))
    assert _open_alerts(factory) == {("parcel_late", f"shipment:{quiet}")}
    _track(factory, quiet, TrackingEvent(K.DELIVERED, now, "OK"))
    assert _open_alerts(factory) == set()


def test_a_person_records_the_delivery_of_a_parcel_whose_carrier_reports_to_nobody(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    setup_catalog(factory, {"SKU-1": 10})
    order_id = _order(client, ("SKU-1", 1))
    shipment_id = _parcel(client, order_id, ship=True)

    response = client.post(
        f"/api/v1/shipments/{shipment_id}/tracking",
        json={"kind": "delivered", "description": "buyer confirmed by message"},
    )

    assert response.status_code == 200, response.text
    (event,) = response.json()["events"]
    assert (event["kind"], event["source"]) == ("delivered", "tester")
    assert response.json()["status"] == "delivered"
    assert _get(client, f"/api/v1/orders/{order_id}")["status"] == "delivered"


def test_bad_tracking_input_is_refused_with_its_reason(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    setup_catalog(factory, {"SKU-1": 10})
    shipment_id = _parcel(client, _order(client, ("SKU-1", 1)))
    path = f"/api/v1/shipments/{shipment_id}/tracking"
    ahead = (utcnow() + timedelta(days=1)).isoformat()
    for body, field in [
        ({"kind": "teleported"}, "kind"),
        ({"kind": "delivered", "occurred_at": ahead}, "occurred_at"),
        ({"kind": "delivered", "occurred_at": "2026-12-01T10:00:00"}, "occurred_at"),
        ({"kind": "delivered", "colour": "red"}, "colour"),
    ]:
        response = client.post(path, json=body)
        assert response.status_code == 422, (body, response.text)
        assert field in response.text
    assert client.post("/api/v1/shipments/999999/tracking", json={"kind": "delivered"}).status_code == 404
    assert client.get("/api/v1/shipments/999999/tracking").status_code == 404

    void = client.post(f"/api/v1/shipments/{shipment_id}/void", json={"reason": "wrong size"})
    assert void.status_code == 200
    recorded = client.post(path, json={"kind": "delivered"})
    assert recorded.status_code == 200
    assert recorded.json()["status"] == "voided"  # kept on the timeline, moving nothing
