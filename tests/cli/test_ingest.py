"""``orderly ingest``: JSON and JSON Lines files, rejections, malformed input and a stop half-way."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from orderly.cli import orders as cli_orders
from orderly.core.db import transaction
from orderly.inventory import service as inventory
from orderly.orders.domain import IngestReport
from orderly.orders.ingest import ingest_batch
from orderly.orders.models import IngestRejection, Order
from tests.cli.conftest import Cli, rows
from tests.factories import order, setup_catalog


def _write_json(path: Path, body: Any) -> str:
    path.write_text(json.dumps(body))
    return str(path)


def _orders(factory: sessionmaker[Session]) -> list[str]:
    with transaction(factory) as s:
        return list(s.scalars(select(Order.external_id).order_by(Order.external_id)))


def _rejections(factory: sessionmaker[Session]) -> list[tuple[str | None, str]]:
    with transaction(factory) as s:
        query = select(IngestRejection.external_id, IngestRejection.status).order_by(IngestRejection.id)
        return [(e, st) for e, st in s.execute(query).all()]


def _reserved(factory: sessionmaker[Session], sku: str = "SKU-1") -> int:
    with transaction(factory) as s:
        return sum(f.reserved for f in inventory.stock_of(s, sku))


@pytest.fixture
def batches(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The sizes of the batches the command hands to ``ingest_batch``."""
    sizes: list[int] = []
    real = ingest_batch

    def counting(factory: sessionmaker[Session], items: list[Any], **kwargs: Any) -> IngestReport:
        sizes.append(len(items))
        return real(factory, items, **kwargs)

    monkeypatch.setattr(cli_orders, "ingest_batch", counting)
    return sizes


def test_json_list_stores_good_orders_reports_bad_ones_and_exits_1(
    cli: Cli, factory: sessionmaker[Session], tmp_path: Path
) -> None:
    setup_catalog(factory, {"SKU-1": 10})
    body = [
        order(("SKU-1", 1), external_id="A1"),
        order(("SHOP-SKU-9", 1), external_id="A2"),
        order(("SKU-1", 2), external_id="A3"),
        {"shop": "shop-a", "external_id": "A4"},
    ]

    result = cli("ingest", _write_json(tmp_path / "orders.json", body), code=1)

    assert _orders(factory) == ["A1", "A3"]
    assert _reserved(factory) == 3
    assert _rejections(factory) == [("A2", "open"), ("A4", "open")]
    assert rows(result.stdout, "created") == [["created", "2"]]
    assert rows(result.stdout, "rejected") == [["rejected", "2"]]
    (a2,) = rows(result.stdout, "order 2")
    assert a2[3:] == [
        "A2",
        "lines[0].platform_sku",
        "unknown SKU 'SHOP-SKU-9' on shop 'shop-a': create the product or map it",
    ]
    (a4,) = rows(result.stdout, "order 4")
    assert (a4[3], a4[4], a4[5]) == ("A4", "placed_at", "Field required")
    assert "orderly rejections list" in result.stdout


def test_orders_object_in_batches_and_again_unchanged(
    cli: Cli, factory: sessionmaker[Session], tmp_path: Path, batches: list[int]
) -> None:
    setup_catalog(factory, {"SKU-1": 10})
    path = _write_json(tmp_path / "orders.json", {"orders": [order(("SKU-1", 1)) for _ in range(5)]})

    first = cli("ingest", path, "--batch-size", "2")

    assert batches == [2, 2, 1]
    assert rows(first.stdout, "created") == [["created", "5"]]

    second = cli("ingest", path)
    assert rows(second.stdout, "unchanged") == [["unchanged", "5"]]
    assert rows(second.stdout, "created") == [["created", "0"]]
    assert len(_orders(factory)) == 5
    assert _reserved(factory) == 5


def test_batch_size_comes_from_settings(
    cli: Cli,
    factory: sessionmaker[Session],
    tmp_path: Path,
    batches: list[int],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    setup_catalog(factory, {"SKU-1": 10})
    path = _write_json(tmp_path / "orders.json", [order(("SKU-1", 1)) for _ in range(3)])
    monkeypatch.setenv("ORDERLY_INGEST_BATCH_SIZE", "2")

    cli("ingest", path)

    assert batches == [2, 1]


def test_json_lines_skips_a_malformed_line_and_stores_the_rest(
    cli: Cli, factory: sessionmaker[Session], tmp_path: Path
) -> None:
    setup_catalog(factory, {"SKU-1": 10})
    lines = [
        json.dumps(order(("SKU-1", 1), external_id="L1")),
        json.dumps(order(("SKU-1", 1), external_id="L2")),
        '{"shop": "shop-a", "external_id": "L3",',
        "",
        json.dumps(order(("SHOP-SKU-9", 1), external_id="L5")),
        json.dumps(order(("SKU-1", 2), external_id="L6")),
    ]
    path = tmp_path / "orders.jsonl"
    path.write_text("\n".join(lines) + "\n")

    result = cli("ingest", str(path), "--batch-size", "2", code=1)

    assert _orders(factory) == ["L1", "L2", "L6"]
    assert _rejections(factory) == [("L5", "open")]
    assert _reserved(factory) == 4
    assert rows(result.stdout, "created") == [["created", "3"]]
    assert rows(result.stdout, "rejected") == [["rejected", "1"]]
    assert rows(result.stdout, "line 5")[0][3] == "L5"
    assert f"{path}: invalid JSON at line 3, column 40: unexpected end of data" in result.stderr
    assert "1 malformed line(s) skipped; the other lines were ingested" in result.stderr


def test_malformed_json_file_names_the_position_and_stores_nothing(
    cli: Cli, factory: sessionmaker[Session], tmp_path: Path
) -> None:
    setup_catalog(factory, {"SKU-1": 10})
    good = json.dumps(order(("SKU-1", 1)))
    path = tmp_path / "orders.json"
    path.write_text(f"[\n{good},\n{good[:-1]}\n]\n")

    result = cli("ingest", str(path), code=1)

    assert f"{path}: invalid JSON at line 4, column 1:" in result.stderr
    assert "Nothing was ingested." in result.stderr
    assert result.stdout == ""
    assert _orders(factory) == []
    assert _rejections(factory) == []


def test_a_file_that_is_not_a_list_of_orders_is_refused(cli: Cli, tmp_path: Path) -> None:
    result = cli("ingest", _write_json(tmp_path / "orders.json", {"order": []}), code=1)
    assert 'expected a JSON list of orders or {"orders": [...]}' in result.stderr


def test_empty_file_and_missing_file(cli: Cli, tmp_path: Path) -> None:
    assert "No orders in" in cli("ingest", _write_json(tmp_path / "orders.json", [])).stdout
    (tmp_path / "empty.jsonl").write_text("\n\n")
    assert "No orders in" in cli("ingest", str(tmp_path / "empty.jsonl")).stdout
    cli("ingest", str(tmp_path / "missing.json"), code=2)


def test_only_the_first_ten_rejections_are_listed(
    cli: Cli, factory: sessionmaker[Session], tmp_path: Path
) -> None:
    setup_catalog(factory)
    body = [order(("SHOP-SKU-9", 1), external_id=f"R{n:02}") for n in range(12)]

    result = cli("ingest", _write_json(tmp_path / "orders.json", body), code=1)

    assert rows(result.stdout, "order 10") and not rows(result.stdout, "order 11")
    assert "... and 2 more." in result.stdout
    assert len(_rejections(factory)) == 12


def test_a_stop_half_way_keeps_and_reports_the_committed_batches(
    cli: Cli, factory: sessionmaker[Session], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    setup_catalog(factory, {"SKU-1": 10})
    path = _write_json(tmp_path / "orders.json", [order(("SKU-1", 1), external_id=f"S{n}") for n in range(6)])
    real = ingest_batch
    calls: list[int] = []

    def failing_second(factory: sessionmaker[Session], items: list[Any], **kwargs: Any) -> IngestReport:
        calls.append(len(items))
        if len(calls) == 2:
            raise OperationalError("INSERT", {}, Exception("server closed the connection unexpectedly"))
        return real(factory, items, **kwargs)

    monkeypatch.setattr(cli_orders, "ingest_batch", failing_second)

    result = cli("ingest", path, "--batch-size", "2", code=1)

    assert _orders(factory) == ["S0", "S1"]
    assert rows(result.stdout, "created") == [["created", "2"]]
    assert "Stopped after 2 of 6 orders" in result.stderr
    assert "database error: server closed the connection unexpectedly" in result.stderr
    with transaction(factory) as s:
        assert s.scalar(select(func.count()).select_from(Order)) == 2
