"""Stored parcels printed, over the API and the CLI, on both databases: labels, slips, batches."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pypdf import PdfReader
from sqlalchemy.orm import Session, sessionmaker

from orderly.core.db import transaction
from orderly.fulfilment import service
from orderly.fulfilment.schemas import ShipmentIn
from orderly.orders.ingest import ingest_batch
from tests.cli.conftest import Cli
from tests.factories import order, setup_catalog, stored_order

LABEL = (288.0, 432.0)  # 4x6 in, in points


def _orders(factory: sessionmaker[Session], *external_ids: str) -> list[int]:
    setup_catalog(factory, {"SKU-1": 10, "SKU-2": 5})
    ingest_batch(factory, [order(("SKU-1", 2), ("SKU-2", 1), external_id=e) for e in external_ids])
    return [stored_order(factory, e).id for e in external_ids]


def _parcel(factory: sessionmaker[Session], order_id: int, tracking: str | None, **fields: object) -> int:
    with transaction(factory) as s:
        data = ShipmentIn.model_validate({"carrier": "UPS", "tracking_number": tracking, **fields})
        return service.create_shipment(s, order_id, data, actor="test").id


def _pdf(content: bytes) -> PdfReader:
    return PdfReader(io.BytesIO(content))


def _texts(reader: PdfReader) -> list[str]:
    return ["".join(page.extract_text().split()) for page in reader.pages]


def _sizes(reader: PdfReader) -> set[tuple[float, float]]:
    return {(float(p.mediabox.width), float(p.mediabox.height)) for p in reader.pages}


def test_a_parcels_label_and_slip_and_a_reprint(client: TestClient, factory: sessionmaker[Session]) -> None:
    (order_id,) = _orders(factory, "#3001")
    shipment_id = _parcel(factory, order_id, "1Z999AA10123456784", service="Ground")

    first = client.get(f"/api/v1/shipments/{shipment_id}/label")
    again = client.get(f"/api/v1/shipments/{shipment_id}/label")
    slip = client.get(f"/api/v1/shipments/{shipment_id}/packing-slip")

    assert first.status_code == 200, first.text
    assert first.headers["content-type"] == "application/pdf"
    label = _pdf(first.content)
    assert len(label.pages) == 1 and _sizes(label) == {LABEL}
    (text,) = _texts(label)
    assert "1Z999AA10123456784" in text and "AdaBuyer" in text and "Warehouse1" in text
    assert _texts(_pdf(again.content)) == [text]
    assert slip.status_code == 200 and slip.headers["content-type"] == "application/pdf"
    slip_text = "".join(_texts(_pdf(slip.content)))
    assert "SKU-1" in slip_text and "SKU-2" in slip_text and "#3001" in slip_text
    assert f"SHP-{shipment_id}" in slip_text


def test_a_warehouse_batch_is_one_pdf_in_pick_order(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    first, second, third, fourth = _orders(factory, "#3101", "#3102", "#3103", "#3104")
    a = _parcel(factory, second, "TRK-A")
    b = _parcel(factory, first, "TRK-B")
    _parcel(factory, third, None)  # no label yet: not in the warehouse's batch
    _parcel(factory, fourth, "TRK-GONE", ship=True)  # handed over: not either

    by_warehouse = client.post("/api/v1/labels/batch", json={"warehouse": "WH-1"})
    by_ids = client.post("/api/v1/labels/batch", json={"shipment_ids": [b, a, b], "slips": True})

    assert by_warehouse.status_code == 200, by_warehouse.text
    assert by_warehouse.headers["content-type"] == "application/pdf"
    labels = _pdf(by_warehouse.content)
    assert _sizes(labels) == {LABEL}
    texts = _texts(labels)
    assert len(texts) == 2 and "TRK-A" in texts[0] and "TRK-B" in texts[1]
    assert by_ids.status_code == 200, by_ids.text
    assert len(_pdf(by_ids.content).pages) == 4  # each label followed by its slip


def test_voided_unknown_and_unlabelled_parcels_are_refused(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    first, second = _orders(factory, "#3201", "#3202")
    voided = _parcel(factory, first, "TRK-V")
    with transaction(factory) as s:
        service.void_shipment(s, voided, actor="test", reason="wrong box")
    unlabelled = _parcel(factory, second, None)

    assert client.get(f"/api/v1/shipments/{voided}/label").status_code == 409
    assert client.get(f"/api/v1/shipments/{voided}/packing-slip").status_code == 409
    assert client.get("/api/v1/shipments/999999/label").status_code == 404
    refused = client.get(f"/api/v1/shipments/{unlabelled}/label")
    assert refused.status_code == 409
    assert "no label yet" in refused.json()["error"]["message"]
    assert client.get(f"/api/v1/shipments/{unlabelled}/packing-slip").status_code == 200
    batch = client.post("/api/v1/labels/batch", json={"shipment_ids": [voided]})
    assert batch.status_code == 409 and "voided" in batch.json()["error"]["message"]
    assert client.post("/api/v1/labels/batch", json={"shipment_ids": [999999]}).status_code == 404
    assert client.post("/api/v1/labels/batch", json={"warehouse": "WH-9"}).status_code == 404
    assert client.post("/api/v1/labels/batch", json={"warehouse": "WH-1"}).status_code == 409
    both = client.post("/api/v1/labels/batch", json={"warehouse": "WH-1", "shipment_ids": [voided]})
    assert both.status_code == 422


def test_labels_print_writes_the_merged_pdf(
    cli: Cli, factory: sessionmaker[Session], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second, third = _orders(factory, "#3301", "#3302", "#3303")
    a = _parcel(factory, first, "TRK-1")
    b = _parcel(factory, second, "TRK-2")
    monkeypatch.chdir(tmp_path)

    named = cli("labels", "print", "--warehouse", "WH-1", "--out", str(tmp_path / "wh.pdf")).stdout
    default = cli("labels", "print", str(b), str(a)).stdout
    voided = _parcel(factory, third, None)
    with transaction(factory) as s:
        service.void_shipment(s, voided, actor="test", reason="wrong box")
    refused = cli("labels", "print", str(voided), "--out", "voided.pdf", code=1)

    assert "2 parcels, 2 pages" in named
    labels = PdfReader(tmp_path / "wh.pdf")
    assert _sizes(labels) == {LABEL}
    assert ["TRK-1" in t for t in _texts(labels)] == [True, False]
    (written,) = tmp_path.glob("labels-*.pdf")
    assert written.name in default
    assert [("TRK-1" in t, "TRK-2" in t) for t in _texts(PdfReader(written))] == [
        (True, False),
        (False, True),
    ]
    assert "voided" in refused.stderr
    assert not (tmp_path / "voided.pdf").exists()
