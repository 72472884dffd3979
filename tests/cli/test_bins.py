"""``orderly stock bin``, ``stock bins`` and ``labels pick-list``: where SKUs are picked, from the
command line, as over the API."""

from __future__ import annotations

from pathlib import Path

from pypdf import PdfReader
from sqlalchemy.orm import Session, sessionmaker

from orderly.orders.ingest import ingest_batch
from tests.cli.conftest import Cli, rows
from tests.factories import order, setup_catalog, stored_order


def test_bins_set_one_at_a_time_and_from_a_file_and_a_pick_list(
    cli: Cli, factory: sessionmaker[Session], tmp_path: Path
) -> None:
    setup_catalog(factory, {"SKU-1": 10, "SKU-2": 10, "SKU-3": 10})
    ingest_batch(factory, [order(("SKU-1", 1), ("SKU-2", 1), ("SKU-3", 1), external_id="#801")])
    order_id = stored_order(factory, "#801").id
    sheet = tmp_path / "bins.csv"
    sheet.write_text("sku,warehouse,bin,walk\nSKU-2,WH-1,A-2,\nSKU-3,WH-1,B-9,1\n", encoding="utf-8")
    bad = tmp_path / "bad.csv"
    bad.write_text("sku,warehouse,bin,walk\nSKU-2,WH-1,A-2,\nSKU-3,WH-1,,x\n", encoding="utf-8")

    one = cli("stock", "bin", "SKU-1", "WH-1", "A-10").stdout
    imported = cli("stock", "bins", "--import", str(sheet)).stdout
    refused = cli("stock", "bins", "--import", str(bad), code=1).stderr
    unknown = cli("stock", "bin", "NOPE", "WH-1", "A-1", code=1).stderr
    listed = cli("stock", "bins", "--warehouse", "WH-1").stdout
    shown = cli("stock", "show", "SKU-1").stdout
    parcel = cli("ship", str(order_id), "--parcel-only").stdout.split()[1]
    printed = cli("labels", "pick-list", "--warehouse", "WH-1", "--out", str(tmp_path / "pick.pdf")).stdout
    picked = cli("shipments", "pick", parcel).stdout
    cleared = cli("stock", "unbin", "SKU-3", "WH-1").stdout
    again = cli("stock", "unbin", "SKU-3", "WH-1", code=1).stderr

    assert "SKU-1 in WH-1: bin A-10" in one
    assert "2 bins set" in imported
    assert "row 3: bin" in refused and "row 3: walk" in refused
    assert "unknown SKU 'NOPE'" in unknown
    assert [r[1:] for r in rows(listed, "WH-1")] == [
        ["B-9", "1", "SKU-3"],
        ["A-2", "", "SKU-2"],
        ["A-10", "", "SKU-1"],
    ]
    assert rows(shown, "WH-1")[0][-1] == "A-10"
    assert "pick.pdf" in printed
    text = "".join(page.extract_text() for page in PdfReader(tmp_path / "pick.pdf").pages)
    assert text.index("B-9") < text.index("A-2") < text.index("A-10")
    assert ": picked" in picked
    assert "SKU-3 in WH-1: no bin" in cleared and "SKU-3 has no bin in WH-1" in again
