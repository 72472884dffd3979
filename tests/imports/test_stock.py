"""Opening balances and counts imported per SKU and warehouse: booked through the ledger and the outbox
like any stock change; a bad row is reported while the rest go on; the same file twice changes nothing."""

from __future__ import annotations

from dataclasses import replace

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from orderly.core.db import transaction
from orderly.core.errors import DomainError
from orderly.imports.domain import Outcome, Row, RowError
from orderly.imports.service import ImportOptions
from orderly.imports.stock import StockKind
from orderly.inventory import service as inventory
from orderly.inventory.models import StockLedgerEntry
from orderly.inventory.service import STOCK_CHANGED
from orderly.jobs.models import Job
from orderly.orders.ingest import ingest_batch
from tests.factories import order, setup_catalog

HEADERS = {"sku": "SKU", "warehouse": "仓库", "quantity": "Qty"}
OPTIONS = ImportOptions(
    shop=None, warehouse=None, time_zone="UTC", currency=None, mode="count", actor="ops", run_id=7
)


def rows(*cells: tuple[str, ...], first: int = 2) -> list[Row]:
    """Rows of (sku, warehouse, quantity) as the file has them, numbered from ``first``: as the run
    reads them, a blank cell gives no value."""
    made = []
    for number, values in enumerate(cells, start=first):
        mapped = dict(zip(("sku", "warehouse", "quantity"), values, strict=False))
        given = {name: value.strip() for name, value in mapped.items() if value.strip()}
        made.append(Row(number, given, {name: HEADERS[name] for name in mapped}))
    return made


def run(
    factory: sessionmaker[Session],
    lines: list[Row],
    options: ImportOptions = OPTIONS,
    *,
    dry_run: bool = False,
) -> Outcome:
    with transaction(factory) as s:
        outcome = StockKind().apply(s, lines, options, dry_run=dry_run)
        if dry_run:
            s.rollback()
    return outcome


def on_hand(factory: sessionmaker[Session], sku: str) -> dict[str, int]:
    with transaction(factory) as s:
        return {row.warehouse: row.on_hand for row in inventory.stock_of(s, sku)}


def test_a_count_sets_on_hand_through_the_ledger_and_tells_the_shops(factory: sessionmaker[Session]) -> None:
    setup_catalog(factory, {"SKU-1": 10}, warehouses=2)

    outcome = run(factory, rows(("SKU-1", "WH-1", "7"), ("SKU-2", "WH-2", "3"), ("SKU-3", "WH-1", "0")))

    assert outcome == Outcome(imported=2, unchanged=1)
    assert on_hand(factory, "SKU-1") == {"WH-1": 7}
    assert on_hand(factory, "SKU-2") == {"WH-2": 3}
    assert on_hand(factory, "SKU-3") == {}  # a zero for stock never held writes nothing
    with transaction(factory) as s:
        ledger = s.execute(
            select(
                StockLedgerEntry.kind,
                StockLedgerEntry.on_hand_delta,
                StockLedgerEntry.actor,
                StockLedgerEntry.reason,
            )
            .where(StockLedgerEntry.reason.like("count%"))
            .order_by(StockLedgerEntry.id)
        ).all()
        jobs = s.scalars(select(Job.payload).where(Job.kind == STOCK_CHANGED)).all()
    assert [tuple(row) for row in ledger] == [
        ("count", -3, "ops", "count from import 7"),
        ("count", 3, "ops", "count from import 7"),
    ]
    assert any(set(payload["product_ids"]) >= {1, 2} for payload in jobs)


def test_bad_rows_are_reported_with_their_cell_while_the_rest_go_on(factory: sessionmaker[Session]) -> None:
    setup_catalog(factory, warehouses=1)

    outcome = run(
        factory,
        rows(
            ("NOPE", "WH-1", "1"),
            ("SKU-1", "WH-9", "1"),
            ("SKU-1", "WH-1", "two"),
            ("KIT-1", "WH-1", "1"),
            ("SKU-2", "WH-1", "-4"),
            ("", "WH-1", "1"),
            ("SKU-3", "WH-1", "5"),
            ("SKU-3", "WH-1", "6"),
            ("SKU-2", "WH-1", " "),
        ),
    )

    assert outcome.imported == 1
    assert outcome.errors == [
        RowError(2, "SKU", "NOPE", "unknown SKU 'NOPE'"),
        RowError(3, "仓库", "WH-9", "unknown warehouse 'WH-9'"),
        RowError(4, "Qty", "two", "'two' is not a whole number of units"),
        RowError(5, "SKU", "KIT-1", "'KIT-1' is a bundle: its stock is that of its components"),
        RowError(6, "Qty", "-4", "'-4' is not a whole number of units"),
        RowError(7, "SKU", None, "the SKU is empty"),
        RowError(9, None, None, "SKU-3 in WH-1 is on row 8 already: give each once"),
        RowError(10, "Qty", None, "the quantity is empty"),
    ]
    assert on_hand(factory, "SKU-3") == {"WH-1": 5}


def test_the_same_file_imported_again_changes_nothing(factory: sessionmaker[Session]) -> None:
    setup_catalog(factory, warehouses=2)
    lines = rows(("SKU-1", "WH-1", "4"), ("SKU-2", "WH-2", "9"))
    run(factory, lines, replace(OPTIONS, mode="opening"))
    with transaction(factory) as s:
        booked = s.query(StockLedgerEntry).count()

    again = run(factory, lines, replace(OPTIONS, mode="opening"))
    counted = run(factory, lines)

    assert again == counted == Outcome(unchanged=2)
    with transaction(factory) as s:
        assert s.query(StockLedgerEntry).count() == booked


def test_an_opening_balance_never_overwrites_stock_the_hub_holds(factory: sessionmaker[Session]) -> None:
    setup_catalog(factory, {"SKU-1": 10}, warehouses=1)

    outcome = run(
        factory, rows(("SKU-1", "WH-1", "4"), ("SKU-2", "WH-1", "6")), replace(OPTIONS, mode="opening")
    )

    assert outcome.imported == 1
    assert [(e.row, e.column, e.reason.split(":")[0]) for e in outcome.errors] == [
        (2, "Qty", "SKU-1 already has 10 on hand in WH-1")
    ]
    assert on_hand(factory, "SKU-1") == {"WH-1": 10}
    with transaction(factory) as s:
        reasons = s.scalars(select(StockLedgerEntry.reason).where(StockLedgerEntry.product_id == 2)).all()
    assert reasons == ["opening balance from import 7"]


def test_a_count_below_what_open_orders_reserve_is_refused_for_that_row(
    factory: sessionmaker[Session],
) -> None:
    setup_catalog(factory, {"SKU-1": 10}, warehouses=1)
    ingest_batch(factory, [order(("SKU-1", 6))])

    outcome = run(factory, rows(("SKU-1", "WH-1", "5")))

    assert outcome.imported == 0
    assert outcome.errors[0].reason == (
        "SKU-1 in WH-1: count of 5 is below the 6 reserved by open orders; release or cancel them first"
    )


def test_the_files_warehouse_serves_rows_without_one(factory: sessionmaker[Session]) -> None:
    setup_catalog(factory, warehouses=2)

    named = run(factory, [Row(2, {"sku": "SKU-1", "quantity": "3"}, {"sku": "SKU", "quantity": "Qty"})])
    both = run(
        factory,
        [Row(3, {"sku": "SKU-2", "quantity": "3"}, {"sku": "SKU", "quantity": "Qty"})],
        replace(OPTIONS, warehouse="WH-2"),
    )

    assert named.errors == [
        RowError(2, None, None, "no warehouse: the row names none and none was chosen for the file")
    ]
    assert both.imported == 1
    assert on_hand(factory, "SKU-2") == {"WH-2": 3}


def test_a_dry_run_reports_the_same_and_keeps_nothing(factory: sessionmaker[Session]) -> None:
    setup_catalog(factory, warehouses=1)
    lines = rows(("SKU-1", "WH-1", "4"), ("NOPE", "WH-1", "1"))

    dry = run(factory, lines, dry_run=True)

    assert (dry.imported, len(dry.errors)) == (1, 1)
    assert on_hand(factory, "SKU-1") == {}


def test_an_unknown_mode_is_refused_for_the_whole_file(factory: sessionmaker[Session]) -> None:
    setup_catalog(factory)
    with pytest.raises(DomainError, match="'opening' balance or a 'count'"):
        run(factory, rows(("SKU-1", "WH-1", "4")), replace(OPTIONS, mode="guess"))
