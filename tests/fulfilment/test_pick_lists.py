"""Bin locations and the picker's walk, over the API on both databases: where each SKU is picked, pick
lists in walking order (bundles as their components), labels batched in the same order, and parcels
marked picked."""

from __future__ import annotations

import io

from fastapi.testclient import TestClient
from pypdf import PdfReader
from sqlalchemy.orm import Session, sessionmaker

from orderly.core.db import transaction
from orderly.fulfilment import service
from orderly.fulfilment.schemas import ShipmentIn
from orderly.orders.ingest import ingest_batch
from tests.factories import order, setup_catalog, stored_order


def _bins(client: TestClient, *rows: tuple[str, str, str, int | None]) -> None:
    body = {"bins": [{"sku": s, "warehouse": w, "bin": b, "walk": n} for s, w, b, n in rows]}
    response = client.put("/api/v1/bins", json=body)
    assert response.status_code == 200, response.text


def _parcels(factory: sessionmaker[Session], *orders: tuple[str, list[tuple[str, int]]]) -> list[int]:
    """One parcel (with a tracking number) per order, from WH-1."""
    ingest_batch(factory, [order(*lines, external_id=number) for number, lines in orders])
    order_ids = {number: stored_order(factory, number).id for number, _ in orders}
    ids = []
    with transaction(factory) as s:
        for number, order_id in order_ids.items():
            data = ShipmentIn(carrier="UPS", tracking_number=f"TRK{number.strip('#')}")
            ids.append(service.create_shipment(s, order_id, data, actor="t").id)
    return ids


def _text(content: bytes) -> str:
    return "".join("".join(page.extract_text().split()) for page in PdfReader(io.BytesIO(content)).pages)


def test_bins_are_set_in_bulk_listed_in_walking_order_and_shown_on_the_stock(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    setup_catalog(factory, {"SKU-1": 5, "SKU-2": 5}, warehouses=2)
    _bins(
        client,
        ("SKU-1", "WH-1", "A-10", None),
        ("SKU-2", "WH-1", "A-2", None),
        ("SKU-3", "WH-1", "Z-1", 1),  # numbered: walked first, whatever its code
        ("SKU-1", "WH-2", "B-1", None),
    )
    _bins(client, ("SKU-1", "WH-1", "a-3", None))  # moved

    listed = client.get("/api/v1/bins", params={"warehouse": "WH-1"}).json()
    every = client.get("/api/v1/bins").json()
    stock = client.get("/api/v1/stock/SKU-1").json()

    assert [(b["bin"], b["sku"], b["walk"]) for b in listed] == [
        ("Z-1", "SKU-3", 1),
        ("A-2", "SKU-2", None),
        ("a-3", "SKU-1", None),
    ]
    assert [b["warehouse"] for b in every] == ["WH-1"] * 3 + ["WH-2"]
    assert [(f["warehouse"], f["bin"]) for f in stock] == [("WH-1", "a-3")]
    page = client.get("/api/v1/stock").json()["items"]
    assert {row["sku"]: [f["bin"] for f in row["warehouses"]] for row in page}["SKU-2"] == ["A-2"]

    assert client.delete("/api/v1/bins/WH-1/SKU-3").status_code == 204
    assert client.delete("/api/v1/bins/WH-1/SKU-3").status_code == 404
    assert client.delete("/api/v1/bins/WH-9/SKU-1").status_code == 404
    assert [b["sku"] for b in client.get("/api/v1/bins", params={"warehouse": "WH-1"}).json()] == [
        "SKU-2",
        "SKU-1",
    ]


def test_bad_bins_are_refused_all_together_and_nothing_is_set(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    setup_catalog(factory)

    unknown = client.put(
        "/api/v1/bins",
        json={
            "bins": [
                {"sku": "SKU-1", "warehouse": "WH-1", "bin": "A-1"},
                {"sku": "NOPE", "warehouse": "WH-1", "bin": "A-2"},
                {"sku": "SKU-2", "warehouse": "WH-9", "bin": "A-3"},
            ]
        },
    )
    bundle = client.put("/api/v1/bins", json={"bins": [{"sku": "KIT-1", "warehouse": "WH-1", "bin": "K"}]})
    twice = client.put(
        "/api/v1/bins",
        json={"bins": [{"sku": "SKU-1", "warehouse": "WH-1", "bin": b} for b in ("A-1", "A-2")]},
    )
    bad_code = client.put("/api/v1/bins", json={"bins": [{"sku": "SKU-1", "warehouse": "WH-1", "bin": "-x"}]})
    negative = client.put(
        "/api/v1/bins", json={"bins": [{"sku": "SKU-1", "warehouse": "WH-1", "bin": "A", "walk": -1}]}
    )

    assert unknown.status_code == 404
    fields = [f["field"] for f in unknown.json()["error"]["fields"]]
    assert fields == ["bins[1].sku", "bins[2].warehouse"]
    assert "'NOPE'" in unknown.json()["error"]["message"]
    assert bundle.status_code == 400 and "components are picked" in bundle.json()["error"]["message"]
    assert twice.status_code == 422 and "given twice" in twice.text
    assert bad_code.status_code == 422
    assert negative.status_code == 422
    assert client.get("/api/v1/bins").json() == []
    assert client.get("/api/v1/bins", params={"warehouse": "WH-9"}).status_code == 404


def test_a_pick_list_walks_the_bins_in_order_with_bundles_as_their_components(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    setup_catalog(factory, {"SKU-1": 20, "SKU-2": 20, "SKU-3": 20})
    _bins(
        client,
        ("SKU-1", "WH-1", "A-10", None),
        ("SKU-2", "WH-1", "A-2", None),
        ("SKU-3", "WH-1", "C-7", 0),  # walk 0: the first stop
    )
    first, _, _ = _parcels(
        factory,
        ("#501", [("SKU-1", 1)]),
        ("#502", [("KIT-1", 1)]),  # 2 x SKU-1 + 1 x SKU-2
        ("#503", [("SKU-3", 2), ("SKU-2", 1)]),
    )

    by_warehouse = client.post("/api/v1/pick-lists", json={"warehouse": "WH-1"})
    named = client.post("/api/v1/pick-lists", json={"shipment_ids": [first]})

    assert by_warehouse.status_code == 200, by_warehouse.text
    assert by_warehouse.headers["content-type"] == "application/pdf"
    text = _text(by_warehouse.content)
    stops = ["C-7SKU-3", "A-2SKU-2", "A-10SKU-1", "TotalsperSKU"]
    assert [text.index(stop) for stop in stops] == sorted(text.index(stop) for stop in stops)
    assert "A-10SKU-1SKU-13#501,#502" in text  # one stop for both orders: 1 + 2 units
    assert "KIT-1" not in text  # a kit has no shelf: its components are picked
    assert "A-2SKU-2Product22#502,#503" in text
    assert named.status_code == 200 and "#502" not in _text(named.content)

    # Labels come out in the same order: each parcel by the first bin on its walk.
    labels = client.post("/api/v1/labels/batch", json={"warehouse": "WH-1"})
    pages = ["".join(page.extract_text().split()) for page in PdfReader(io.BytesIO(labels.content)).pages]
    assert [next(n for n in ("TRK501", "TRK502", "TRK503") if n in page) for page in pages] == [
        "TRK503",  # C-7 (walk 0)
        "TRK502",  # A-2 (its SKU-2)
        "TRK501",
    ]


def test_a_picked_parcel_leaves_the_warehouses_pick_list(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    setup_catalog(factory, {"SKU-1": 20, "SKU-2": 20})
    first, second = _parcels(factory, ("#601", [("SKU-1", 1)]), ("#602", [("SKU-2", 1)]))

    picked = client.post(f"/api/v1/shipments/{first}/pick", json={"note": "trolley 3"})
    again = client.post(f"/api/v1/shipments/{first}/pick", json={})
    listed = client.post("/api/v1/pick-lists", json={"warehouse": "WH-1"})
    client.post(f"/api/v1/shipments/{second}/void", json={"reason": "wrong box"})
    voided = client.post(f"/api/v1/shipments/{second}/pick", json={})
    nothing = client.post("/api/v1/pick-lists", json={"warehouse": "WH-1"})

    assert picked.status_code == 200, picked.text
    assert picked.json()["status"] == "picked"
    assert picked.json()["events"][-1]["message"] == "trolley 3"
    assert again.status_code == 409
    assert "#601" not in _text(listed.content) and "#602" in _text(listed.content)
    assert voided.status_code == 409
    assert nothing.status_code == 409 and "nothing waits to be picked" in nothing.text
    assert client.post("/api/v1/shipments/999999/pick", json={}).status_code == 404
    assert client.post("/api/v1/pick-lists", json={"warehouse": "WH-9"}).status_code == 404
    assert client.post("/api/v1/pick-lists", json={"shipment_ids": [second]}).status_code == 409
    assert client.post("/api/v1/pick-lists", json={}).status_code == 422
    # Shipping a picked parcel works as before.
    assert client.post(f"/api/v1/shipments/{first}/ship", json={}).json()["status"] == "shipped"
