"""Stock counts imported while orders reserve the same SKUs, from separate OS processes on both
databases: the ledger stays equal to the levels, reserved stays within on hand and equal to what
allocated orders hold, and a count below what is reserved is refused for its row, never booked."""

from __future__ import annotations

import io
from multiprocessing.pool import Pool

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from orderly.core.db import transaction
from orderly.imports import repository
from orderly.imports.domain import Kind
from orderly.imports.service import ImportOptions, run_import
from orderly.inventory.models import StockLedgerEntry
from tests.factories import order, setup_catalog
from tests.orders.test_races import _assert_consistent, _ingest, _levels
from tests.races import Calls, hub, race, race_pool

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("races")]

WORKERS = 4
OPTIONS = ImportOptions(
    shop=None, warehouse="WH-1", time_zone="UTC", currency=None, mode="count", actor="race"
)


def _import_counts(url: str, files: list[list[tuple[str, int]]]) -> list[tuple[int, int, list[str]]]:
    """Import each file of (SKU, counted) as a count through the import's run, as a person's upload
    is; (imported, unchanged, reasons of the refused rows) of each."""
    with hub(url) as factory:
        results = []
        for counts in files:
            text = "SKU,Qty\n" + "".join(f"{sku},{counted}\n" for sku, counted in counts)
            run_id = run_import(factory, io.BytesIO(text.encode()), "counts.csv", Kind.STOCK, OPTIONS)
            with transaction(factory) as s:
                run = repository.run(s, run_id)
                assert run is not None and run.status == "done", run and run.message
                reasons = [error.reason for error in repository.errors(s, run_id)]
                booked = s.scalars(
                    select(StockLedgerEntry.reason).where(
                        StockLedgerEntry.reason.like(f"count from import {run_id}")
                    )
                ).all()
            assert len(booked) == run.imported  # each count names the import that booked it
            results.append((run.imported, run.unchanged, reasons))
        return results


pool = race_pool(WORKERS)


def test_counts_imported_while_orders_reserve_never_oversell(
    pool: Pool, db_url: str, factory: sessionmaker[Session]
) -> None:
    setup_catalog(factory, {"SKU-1": 30, "SKU-2": 30})
    orders = [
        [
            order(("SKU-1", 1), *([("SKU-2", 2)] if n % 2 else []), external_id=f"W{w}-{n}", placed=n)
            for n in range(20)
        ]
        for w in range(2)
    ]
    files = [[("SKU-1", 10 + 3 * n % 25), ("SKU-2", 40 - 2 * n)] for n in range(12)]
    calls: Calls = [
        (_ingest, (db_url, orders[0], 2)),
        (_ingest, (db_url, orders[1], 3)),
        (_import_counts, (db_url, files)),
        (_import_counts, (db_url, files[::-1])),
    ]

    results = race(pool, calls)

    refusals = [reason for imported in results[2:] for _, _, reasons in imported for reason in reasons]
    assert all("reserved by open orders" in reason for reason in refusals)
    assert sum(imported for worker in results[2:] for imported, _, _ in worker) > 0
    levels = _levels(factory)
    assert all(0 <= reserved <= on_hand for on_hand, reserved, _ in levels.values())
    _assert_consistent(factory)
