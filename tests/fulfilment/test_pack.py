"""Scan to pack over the API on both databases: a parcel's code, then each unit's barcode or SKU;
wrong items, one too many and missing units refused by name and count; packed when complete, and
shipped at once only where the warehouse ships on pack."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from orderly.core.db import transaction
from orderly.fulfilment import service
from orderly.fulfilment.schemas import ShipmentIn
from orderly.orders.ingest import ingest_batch
from tests.factories import order, setup_catalog, stored_order

EAN = "4006381333931"  # SKU-1's, an EAN-13
UPC = "036000291452"  # SKU-2's, a UPC-A (GTIN-12): scanners may read it as the EAN-13 0036000291452
KIT_EAN8 = "96385074"  # KIT-1's own barcode, an EAN-8


@pytest.fixture
def catalog(client: TestClient, factory: sessionmaker[Session]) -> None:
    setup_catalog(factory, {"SKU-1": 10, "SKU-2": 10, "SKU-3": 10})
    for sku, barcode in (("SKU-1", EAN), ("SKU-2", UPC), ("SKU-3", "MUG-BLUE"), ("KIT-1", KIT_EAN8)):
        assert client.patch(f"/api/v1/products/{sku}", json={"barcode": barcode}).status_code == 200


def _parcels(
    factory: sessionmaker[Session], number: str, *lines: tuple[str, int], parcels: int = 1
) -> list[int]:
    """An order and its parcels (the first line's units split over them when several)."""
    ingest_batch(factory, [order(*lines, external_id=number)])
    order_id = stored_order(factory, number).id
    with transaction(factory) as s:
        if parcels == 1:
            return [service.create_shipment(s, order_id, ShipmentIn(tracking_number="TRK1"), actor="t").id]
        one = ShipmentIn.model_validate({"lines": [{"line_no": 1, "quantity": 1}]})
        return [service.create_shipment(s, order_id, one, actor="t").id for _ in range(parcels)]


def _scan(client: TestClient, code: str, **body: Any) -> Any:
    return client.post("/api/v1/pack/scans", json={"code": code, **body})


def _ok(client: TestClient, code: str, **body: Any) -> Any:
    response = _scan(client, code, **body)
    assert response.status_code == 200, response.text
    return response.json()


def _refused(client: TestClient, code: str, status: int = 409, **body: Any) -> str:
    response = _scan(client, code, **body)
    assert response.status_code == status, response.text
    message: str = response.json()["error"]["message"]
    return message


def _stock(client: TestClient, sku: str) -> tuple[int, int]:
    (row,) = client.get(f"/api/v1/stock/{sku}").json()
    return row["on_hand"], row["reserved"]


@pytest.mark.usefixtures("catalog")
def test_a_parcel_is_packed_by_its_code_then_each_unit_and_waits_to_be_shipped(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    (parcel,) = _parcels(factory, "#7001", ("SKU-1", 2), ("SKU-2", 1))

    opened = _ok(client, f"SHP-{parcel}")
    first = _ok(client, EAN)
    ean13 = _ok(client, "0" + UPC)  # the UPC as an EAN-13 scanner reads it
    progress = client.get(f"/api/v1/shipments/{parcel}/pack").json()
    last = _ok(client, "sku-1")  # a SKU typed, in lower case: caps lock on a keyboard-wedge scanner

    assert "3 units to scan" in opened["message"]
    assert opened["parcel"]["order_number"] == "#7001" and opened["parcel"]["status"] == "label_bought"
    assert first["message"] == "SKU-1: 1 of 2" and first["sku"] == "SKU-1"
    assert ean13["sku"] == "SKU-2"
    assert [(i["sku"], i["scanned"], i["expected"]) for i in progress["items"]] == [
        ("SKU-1", 1, 2),
        ("SKU-2", 1, 1),
    ]
    assert progress["complete"] is False
    assert last["parcel"]["status"] == "packed" and last["parcel"]["complete"] is True
    assert "waits for the carrier or your confirmation" in last["message"]
    # Packed is not shipped: the stock is still on the shelf, reserved, until it is handed over.
    assert _stock(client, "SKU-1") == (10, 2)
    shipped = client.post(f"/api/v1/shipments/{parcel}/ship", json={"note": "picked up"})
    assert shipped.json()["status"] == "shipped"
    assert [e["to_status"] for e in shipped.json()["events"]] == [
        "created",
        "label_bought",
        "packed",
        "shipped",
    ]
    assert _stock(client, "SKU-1") == (8, 0)


@pytest.mark.usefixtures("catalog")
def test_wrong_items_one_too_many_and_missing_units_are_refused_by_sku_and_count(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    (parcel,) = _parcels(factory, "#7101", ("SKU-1", 2), ("SKU-3", 1))
    _ok(client, f"SHP-{parcel}")

    wrong = _refused(client, UPC)
    _ok(client, "MUG-BLUE")
    too_many = _refused(client, "mug-blue")
    _ok(client, EAN)
    closing = _refused(client, f"SHP-{parcel}")  # its code again: the packer asks to close it
    button = client.post(f"/api/v1/shipments/{parcel}/pack", json={})
    progress = client.get(f"/api/v1/shipments/{parcel}/pack").json()
    done = _ok(client, EAN)
    after = _refused(client, EAN)

    assert wrong == "wrong item: SKU-2 is not in this parcel; it holds 2 x SKU-1, 1 x SKU-3"
    assert too_many == "one too many: SKU-3 is in the parcel 1 times, and 1 are scanned already"
    assert closing == f"shipment {parcel} is not complete: SKU-1: 1 of 2 scanned, 1 missing"
    assert button.status_code == 409 and button.json()["error"]["message"] == closing
    assert [(i["sku"], i["scanned"]) for i in progress["items"]] == [("SKU-1", 1), ("SKU-3", 1)]
    assert done["parcel"]["status"] == "packed"
    assert after == f"shipment {parcel} is packed: it is packed already; nothing more is scanned into it"


@pytest.mark.usefixtures("catalog")
def test_a_warehouse_that_ships_on_pack_hands_the_parcel_over_with_the_last_unit(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    assert client.get("/api/v1/warehouses").json()[0]["ship_on_pack"] is False  # the default
    patched = client.patch("/api/v1/warehouses/WH-1", json={"ship_on_pack": True})
    assert patched.status_code == 200 and patched.json()["ship_on_pack"] is True
    (parcel,) = _parcels(factory, "#7201", ("SKU-2", 1))

    _ok(client, f"SHP-{parcel}")
    last = _ok(client, UPC)

    assert last["parcel"]["status"] == "shipped"
    assert "packed and shipped" in last["message"]
    assert _stock(client, "SKU-2") == (9, 0)
    order_id = last["parcel"]["order_id"]
    assert client.get(f"/api/v1/orders/{order_id}").json()["status"] == "shipped"
    assert _refused(client, f"SHP-{parcel}").startswith(f"shipment {parcel} is shipped: it has left")


@pytest.mark.usefixtures("catalog")
def test_a_bundle_is_packed_by_scanning_its_components_not_the_kit(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    (parcel,) = _parcels(factory, "#7301", ("KIT-1", 1))
    _ok(client, f"SHP-{parcel}")

    kit = _refused(client, KIT_EAN8)
    kit_sku = _refused(client, "KIT-1")
    scans = [_ok(client, code)["message"] for code in (EAN, UPC, EAN)]

    assert kit == (
        "KIT-1 is a bundle: its stock is its components, so scan each of them (2 x SKU-1, 1 x SKU-2 per kit)"
    )
    assert kit_sku == kit
    assert scans[:2] == ["SKU-1: 1 of 2", "SKU-2: 1 of 1"]
    assert scans[2].startswith("SKU-1: 2 of 2; shipment") and "is packed" in scans[2]
    items = client.get(f"/api/v1/shipments/{parcel}/pack").json()["items"]
    assert [(i["sku"], i["expected"]) for i in items] == [("SKU-1", 2), ("SKU-2", 1)]


@pytest.mark.usefixtures("catalog")
def test_an_order_number_opens_its_one_parcel_to_pack_and_names_several(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    (one,) = _parcels(factory, "#7401", ("SKU-1", 1))
    two = _parcels(factory, "#7402", ("SKU-2", 2), parcels=2)

    by_number = _ok(client, "#7401")
    without_hash = _ok(client, "7401", packer="table 2")
    several = _refused(client, "#7402")
    client.post(f"/api/v1/shipments/{two[0]}/void", json={"reason": "box too small"})
    now_one = _ok(client, "#7402")

    assert by_number["parcel"]["shipment_id"] == one
    assert without_hash["parcel"]["shipment_id"] == one
    assert (
        several
        == f"order #7402 has 2 parcels to pack (SHP-{two[0]}, SHP-{two[1]}): scan the parcel's own code"
    )
    assert now_one["parcel"]["shipment_id"] == two[1]
    _ok(client, UPC)
    assert _refused(client, "#7402") == "order #7402 has no parcel to pack: each is packed, shipped or voided"
    # Each packer keeps their own parcel: table 2 is still on #7401.
    assert _ok(client, EAN, packer="table 2")["parcel"]["status"] == "packed"


@pytest.mark.usefixtures("catalog")
def test_unknown_codes_items_before_a_parcel_and_voided_or_shipped_parcels_are_refused(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    voided, shipped, fresh = (_parcels(factory, f"#75{n}", ("SKU-1", 1))[0] for n in range(3))
    client.post(f"/api/v1/shipments/{voided}/void", json={"reason": "address wrong"})
    client.post(f"/api/v1/shipments/{shipped}/ship", json={})

    first_item = _refused(client, EAN)
    unknown = _refused(client, "NO-SUCH-THING", status=404)
    no_parcel = _refused(client, "SHP-999999", status=404)
    was_voided = _refused(client, f"SHP-{voided}")
    has_left = _refused(client, f"SHP-{shipped}")
    _ok(client, f"SHP-{fresh}")
    other = _refused(client, f"SHP-{voided}", shipment_id=fresh)
    bad_gtin = _refused(client, "4006381333932", status=404)  # a misread: its check digit is wrong

    assert (
        first_item == "'4006381333931' is SKU-1: scan the parcel's code (SHP-...) or its order number first"
    )
    assert unknown == "unknown code 'NO-SUCH-THING': no parcel, order number, SKU or barcode reads so"
    assert no_parcel == "no shipment 999999"
    assert was_voided == f"shipment {voided} is voided: it was voided; nothing more is scanned into it"
    assert has_left.startswith(f"shipment {shipped} is shipped: it has left")
    assert other == f"SHP-{voided} is another parcel's code: these scans are for shipment {fresh}"
    assert "unknown code" in bad_gtin
    for body in ({"code": ""}, {"code": "x" * 201}, {"code": "A", "shipment_id": 0}, {"code": "A", "x": 1}):
        assert client.post("/api/v1/pack/scans", json=body).status_code == 422
    assert client.get("/api/v1/shipments/999999/pack").status_code == 404


@pytest.mark.usefixtures("catalog")
def test_a_named_parcel_is_scanned_into_directly_and_reset_forgets_its_scans(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    (parcel,) = _parcels(factory, "#7601", ("SKU-1", 2))

    none = client.get("/api/v1/pack/current")
    first = _ok(client, EAN, shipment_id=parcel)
    current = client.get("/api/v1/pack/current")
    elsewhere = client.get("/api/v1/pack/current", params={"packer": "table 9"})
    reset = client.post(f"/api/v1/shipments/{parcel}/pack/reset", json={})
    again = _ok(client, EAN)  # the reset made it the packer's parcel
    _ok(client, EAN)
    refused = client.post(f"/api/v1/shipments/{parcel}/pack/reset", json={})

    assert none.status_code == 404 and "packing no parcel" in none.text
    assert first["message"] == "SKU-1: 1 of 2"
    assert current.status_code == 200 and current.json() == first["parcel"]
    assert elsewhere.status_code == 404
    assert reset.status_code == 200 and [i["scanned"] for i in reset.json()["items"]] == [0]
    assert again["message"] == "SKU-1: 1 of 2"
    assert refused.status_code == 409 and "packed already" in refused.text


@pytest.mark.usefixtures("catalog")
def test_a_held_orders_parcel_is_not_packed(client: TestClient, factory: sessionmaker[Session]) -> None:
    (parcel,) = _parcels(factory, "#7701", ("SKU-1", 1))
    _ok(client, f"SHP-{parcel}")
    order_id = client.get(f"/api/v1/shipments/{parcel}").json()["order_id"]
    held = client.post(f"/api/v1/orders/{order_id}/hold", json={"note": "buyer called"})

    refused = _refused(client, EAN)

    assert held.status_code == 200, held.text
    assert refused.startswith(f"order {order_id} is on_hold: parcels are made and shipped only for")


@pytest.mark.usefixtures("catalog")
def test_a_packed_parcel_leaves_when_the_carrier_reports_it_picked_up(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    (parcel,) = _parcels(factory, "#7801", ("SKU-2", 1))
    _ok(client, f"SHP-{parcel}")
    assert _ok(client, UPC)["parcel"]["status"] == "packed"

    picked_up = client.post(f"/api/v1/shipments/{parcel}/tracking", json={"kind": "picked_up"})

    assert picked_up.status_code == 200, picked_up.text
    statuses = [e["to_status"] for e in client.get(f"/api/v1/shipments/{parcel}").json()["events"]]
    assert statuses[:4] == ["created", "label_bought", "packed", "shipped"]
    assert _stock(client, "SKU-2") == (9, 0)
