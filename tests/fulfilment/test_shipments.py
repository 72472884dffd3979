"""Parcels over the API on both databases: made, handed over, voided; stock leaves once, with the order."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from orderly.core.db import transaction
from orderly.inventory.models import StockLedgerEntry
from orderly.orders.ingest import ingest_batch
from tests.factories import order, setup_catalog, stored_order


def _order(client: TestClient, *lines: tuple[str, int], **fields: Any) -> int:
    response = client.post("/api/v1/orders/ingest", json={"orders": [order(*lines, **fields)]})
    assert response.status_code == 200, response.text
    (item,) = response.json()["items"]
    assert item["status"] == "allocated", item
    order_id: int = item["order_id"]
    return order_id


def _stock(client: TestClient, sku: str, warehouse: str = "WH-1") -> tuple[int, int]:
    (row,) = [r for r in client.get(f"/api/v1/stock/{sku}").json() if r["warehouse"] == warehouse]
    return row["on_hand"], row["reserved"]


def _status(client: TestClient, order_id: int) -> str:
    status: str = client.get(f"/api/v1/orders/{order_id}").json()["status"]
    return status


def _parcel(client: TestClient, order_id: int, **body: Any) -> Any:
    return client.post(f"/api/v1/orders/{order_id}/shipments", json=body)


def test_shipping_a_whole_order_takes_its_stock_off_the_shelf_bundles_as_components(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    setup_catalog(factory, {"SKU-1": 10, "SKU-2": 5})
    order_id = _order(client, ("SKU-1", 2), ("KIT-1", 1))
    assert _stock(client, "SKU-1") == (10, 4)

    response = _parcel(client, order_id, carrier="UPS", tracking_number="1Z999AA10123456784", ship=True)

    assert response.status_code == 201, response.text
    shipment = response.json()
    assert shipment["status"] == "shipped"
    assert shipment["warehouse"] == "WH-1"
    assert shipment["lines"] == [{"line_no": 1, "quantity": 2}, {"line_no": 2, "quantity": 1}]
    assert [e["to_status"] for e in shipment["events"]] == ["created", "label_bought", "shipped"]
    assert _stock(client, "SKU-1") == (6, 0)
    assert _stock(client, "SKU-2") == (4, 0)
    assert _status(client, order_id) == "shipped"
    with transaction(factory) as s:
        ledger = s.execute(
            select(StockLedgerEntry.kind, StockLedgerEntry.on_hand_delta, StockLedgerEntry.order_id).where(
                StockLedgerEntry.kind == "shipment"
            )
        ).all()
    assert sorted(ledger) == [("shipment", -4, order_id), ("shipment", -1, order_id)]
    history = client.get(f"/api/v1/orders/{order_id}").json()["events"]
    assert history[-1]["to_status"] == "shipped"
    assert "UPS 1Z999AA10123456784" in history[-1]["message"]
    assert client.get(f"/api/v1/orders/{order_id}/shipments").json() == [shipment]
    assert client.get(f"/api/v1/shipments/{shipment['id']}").json() == shipment


def test_an_order_ships_in_parcels_partly_shipped_until_the_last(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    setup_catalog(factory, {"SKU-1": 10, "SKU-2": 5})
    order_id = _order(client, ("SKU-1", 3), ("SKU-2", 1))

    first = _parcel(client, order_id, lines=[{"line_no": 1, "quantity": 2}], ship=True).json()
    assert _status(client, order_id) == "partly_shipped"
    assert _stock(client, "SKU-1") == (8, 1)
    refused = _parcel(client, order_id, lines=[{"line_no": 1, "quantity": 2}])
    assert refused.status_code == 400
    assert "line 1: 2 asked, 1 left to ship" in refused.json()["error"]["message"]

    rest = _parcel(client, order_id).json()  # everything left: one of line 1, line 2
    assert rest["status"] == "created"
    assert rest["lines"] == [{"line_no": 1, "quantity": 1}, {"line_no": 2, "quantity": 1}]
    nothing = _parcel(client, order_id)
    assert nothing.status_code == 409
    assert "nothing of this order is left to ship" in nothing.json()["error"]["message"]

    shipped = client.post(f"/api/v1/shipments/{rest['id']}/ship", json={"note": "courier came"})
    assert shipped.status_code == 200, shipped.text
    assert _status(client, order_id) == "shipped"
    assert _stock(client, "SKU-1") == (7, 0)
    assert _stock(client, "SKU-2") == (4, 0)
    assert first["id"] != rest["id"]


def test_a_label_marks_the_order_and_voiding_it_puts_the_order_back_with_its_stock_untouched(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    setup_catalog(factory, {"SKU-1": 10})
    order_id = _order(client, ("SKU-1", 2))
    parcel = _parcel(client, order_id, carrier="DHL", tracking_number="JD014600003828312345").json()
    assert parcel["status"] == "label_bought"
    assert _status(client, order_id) == "label_printed"

    voided = client.post(f"/api/v1/shipments/{parcel['id']}/void", json={"reason": "wrong box size"})

    assert voided.status_code == 200
    assert voided.json()["status"] == "voided"
    assert _status(client, order_id) == "allocated"
    assert _stock(client, "SKU-1") == (10, 2)
    again = _parcel(client, order_id, ship=True)  # the voided parcel's units are free again
    assert again.status_code == 201
    assert _stock(client, "SKU-1") == (8, 0)
    assert client.post(f"/api/v1/shipments/{parcel['id']}/ship", json={}).status_code == 409
    twice = client.post(f"/api/v1/shipments/{again.json()['id']}/void", json={"reason": "too late"})
    assert twice.status_code == 409
    assert "from shipped to voided" in twice.json()["error"]["message"]


def test_parcels_are_refused_for_orders_not_ready_and_stock_the_order_does_not_hold(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    setup_catalog(factory, {"SKU-1": 10}, warehouses=2)
    order_id = _order(client, ("SKU-1", 1))

    elsewhere = _parcel(client, order_id, warehouse="WH-2")
    assert elsewhere.status_code == 409
    assert "SKU-1: needs 1, the order holds 0 there" in elsewhere.json()["error"]["message"]
    assert _parcel(client, order_id, warehouse="WH-9").status_code == 404
    assert _parcel(client, 999_999).status_code == 404
    bad = _parcel(client, order_id, cost=500, tracking_url="ftp://x", lines=[{"line_no": 1, "quantity": 0}])
    assert bad.status_code == 422
    assert {f["field"] for f in bad.json()["error"]["fields"]} >= {"tracking_url", "lines[0].quantity"}

    held = client.post(f"/api/v1/orders/{order_id}/hold", json={"note": "buyer called"})
    assert held.status_code == 200, held.text
    refused = _parcel(client, order_id)
    assert refused.status_code == 409
    assert f"order {order_id} is on_hold" in refused.json()["error"]["message"]
    assert client.get(f"/api/v1/orders/{order_id}/shipments").json() == []


def test_a_cancelled_order_ships_nothing_and_a_partly_shipped_one_gives_back_only_the_rest(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    setup_catalog(factory, {"SKU-1": 10})
    labelled = _order(client, ("SKU-1", 2))
    parcel = _parcel(client, labelled, tracking_number="TRK1").json()
    assert client.post(f"/api/v1/orders/{labelled}/cancel", json={"reason": "buyer asked"}).status_code == 200

    refused = client.post(f"/api/v1/shipments/{parcel['id']}/ship", json={})

    assert refused.status_code == 409
    assert "is cancelled" in refused.json()["error"]["message"]
    assert _stock(client, "SKU-1") == (10, 0)
    assert (
        client.post(f"/api/v1/shipments/{parcel['id']}/void", json={"reason": "cancelled"}).status_code == 200
    )

    partly = _order(client, ("SKU-1", 3))
    _parcel(client, partly, lines=[{"line_no": 1, "quantity": 1}], ship=True)
    assert client.post(f"/api/v1/orders/{partly}/cancel", json={"reason": "rest unwanted"}).status_code == 200
    assert _stock(client, "SKU-1") == (9, 0)


def test_a_platform_version_after_the_hub_shipped_takes_no_stock_twice(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    setup_catalog(factory, {"SKU-1": 10, "SKU-2": 10})
    body = order(("SKU-1", 2), ("SKU-2", 1), external_id="P-1")
    (item,) = ingest_batch(factory, [body]).items
    assert item.order_id is not None
    _parcel(client, item.order_id, lines=[{"line_no": 1, "quantity": 2}], ship=True)
    assert _stock(client, "SKU-1") == (8, 0)

    # The platform has not heard of the parcel yet: a newer version says nothing is shipped.
    unaware = {**body, "updated_at": "2026-11-11T01:00:00+00:00", "buyer_remark": "ring twice"}
    ingest_batch(factory, [unaware])
    assert _stock(client, "SKU-1") == (8, 0)
    assert _stock(client, "SKU-2") == (10, 1)
    assert stored_order(factory, "P-1").status == "partly_shipped"
    again = _parcel(client, item.order_id, lines=[{"line_no": 1, "quantity": 1}])
    assert again.status_code == 400
    assert "line 1: 1 asked, 0 left to ship" in again.json()["error"]["message"]

    # Then it hears of it (our tracking number went back): line 1 shipped, nothing more left.
    told = {**unaware, "updated_at": "2026-11-11T02:00:00+00:00"}
    told["lines"] = [{**told["lines"][0], "shipped": 2}, told["lines"][1]]
    ingest_batch(factory, [told])
    assert _stock(client, "SKU-1") == (8, 0)
    assert _stock(client, "SKU-2") == (10, 1)

    # And the seller ships the rest outside the hub: that stock leaves now, once.
    outside = {**told, "updated_at": "2026-11-11T03:00:00+00:00"}
    outside["lines"] = [told["lines"][0], {**told["lines"][1], "shipped": 1}]
    ingest_batch(factory, [outside])
    assert _stock(client, "SKU-2") == (9, 0)
    assert stored_order(factory, "P-1").status == "shipped"


def test_the_hub_s_parcels_and_the_platform_s_own_shipments_together_ship_the_order_whole(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    setup_catalog(factory, {"SKU-1": 10, "SKU-2": 10})
    body = order(("SKU-1", 2), ("SKU-2", 1), external_id="P-2")
    (item,) = ingest_batch(factory, [body]).items
    assert item.order_id is not None
    _parcel(client, item.order_id, lines=[{"line_no": 1, "quantity": 2}], ship=True)

    # The platform knows only of line 2, shipped outside the hub; with the hub's parcel, nothing is left.
    outside = {**body, "updated_at": "2026-11-11T01:00:00+00:00"}
    outside["lines"] = [body["lines"][0], {**body["lines"][1], "shipped": 1}]
    (update,) = ingest_batch(factory, [outside]).items

    assert update.status == "shipped"
    assert _stock(client, "SKU-1") == (8, 0)
    assert _stock(client, "SKU-2") == (9, 0)


def test_parcels_of_a_cancelled_order_are_voided_by_the_sweep_whoever_cancelled_it(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    from orderly.fulfilment import service

    setup_catalog(factory, {"SKU-1": 10})
    cancelled, kept = _order(client, ("SKU-1", 2)), _order(client, ("SKU-1", 1))
    parcel = _parcel(client, cancelled, carrier="UPS", tracking_number="1ZCANCEL1").json()
    other = _parcel(client, kept).json()
    assert (
        client.post(f"/api/v1/orders/{cancelled}/cancel", json={"reason": "buyer asked"}).status_code == 200
    )

    with transaction(factory) as s:
        assert service.void_parcels_of_cancelled_orders(s) == 1
    with transaction(factory) as s:
        assert service.void_parcels_of_cancelled_orders(s) == 0  # nothing left to do

    voided = client.get(f"/api/v1/shipments/{parcel['id']}").json()
    assert voided["status"] == "voided"
    assert voided["events"][-1]["message"] == "its order was cancelled"
    assert client.get(f"/api/v1/shipments/{other['id']}").json()["status"] == "created"
    assert _status(client, cancelled) == "cancelled"
    assert _stock(client, "SKU-1") == (10, 1)
