"""``orderly import``: a file in with a progress bar, its report, and past runs."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from orderly.imports import service
from tests.cli.conftest import Cli, rows
from tests.factories import setup_catalog

SAMPLES = Path(__file__).parent.parent / "imports" / "samples"


def test_orders_import_prints_the_report_and_where_to_read_it(
    cli: Cli, factory: sessionmaker[Session]
) -> None:
    setup_catalog(factory, {"SKU-1": 10, "SKU-2": 10, "SKU-3": 10})
    sample = str(SAMPLES / "orders_zh_gb18030.csv")
    dry = cli("import", "orders", sample, "--shop", "shop-a", "--dry-run")
    assert "dry run: nothing written" in dry.output
    assert rows(dry.output, "Would import")[0][1] == "2"
    assert "Preview: the first rows as read" in dry.output
    assert rows(dry.output, "2")[0][:4] == ["2", "CN20261204001", "2026/12/04 13:05", "SKU-1"]

    done = cli("import", "orders", sample, "--shop", "shop-a", "--tz", "Asia/Shanghai")
    assert rows(done.output, "Imported")[0][1] == "2"
    assert rows(done.output, "4") == [["4", "数量", "两个", "'两个' is not a whole number of units"]]
    run_id = done.output.split("orderly import report ")[1].split()[0]

    again = cli("import", "orders", sample, "--shop", "shop-a", "--tz", "Asia/Shanghai")
    assert rows(again.output, "Unchanged")[0][1] == "2"

    report = cli("import", "report", run_id, "--after-row", "4")
    assert [r[0] for r in rows(report.output, "6")] == ["6"]
    assert not rows(report.output, "4")
    listed = cli("import", "runs")
    assert len(rows(listed.output, run_id)) == 1


def test_a_file_that_cannot_be_imported_exits_with_1(
    cli: Cli, factory: sessionmaker[Session], tmp_path: Path
) -> None:
    setup_catalog(factory)
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    result = cli("import", "orders", str(empty), "--shop", "shop-a", code=1)
    assert "empty.csv is empty" in result.output
    cli("import", "orders", str(empty), "--shop", "shop-a", "--tz", "Mars/Base", code=2)


def test_orders_import_with_workers_gives_the_report_of_one_process(
    cli: Cli, factory: sessionmaker[Session], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On PostgreSQL the file is shared by two processes; on SQLite one imports it: the same report."""
    monkeypatch.setattr(service, "SHARD_MIN_BYTES", 0)
    setup_catalog(factory, {"SKU-1": 10, "SKU-2": 10, "SKU-3": 10})
    lines = ["Order ID,Order Date,SKU,Quantity,Unit Price,Currency,Country"]
    lines += [f"W-{n},2026-12-04 10:00,SKU-{n % 3 + 1},1,2.50,USD,US" for n in range(30)]
    lines.append("W-x,2026-12-04 10:00,SKU-1,lots,2.50,USD,US")
    path = tmp_path / "orders.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    done = cli("import", "orders", str(path), "--shop", "shop-a", "--workers", "2")
    assert rows(done.output, "Status")[0][1] == "done"
    assert rows(done.output, "Rows read")[0][1] == "31"
    assert rows(done.output, "Imported")[0][1] == "30"
    assert rows(done.output, "32")[0][2:] == ["lots", "'lots' is not a whole number of units"]
    cli("import", "orders", str(path), "--shop", "shop-a", "--workers", "0", code=2)
