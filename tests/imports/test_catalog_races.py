"""The same catalog file imported by several processes at once, on both databases: each SKU is made
once, with its bundle's components once, and every run ends done, the losers' rows unchanged."""

from __future__ import annotations

import io
from multiprocessing.pool import Pool

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from orderly.catalog.models import BundleComponent, Product
from orderly.core.db import transaction
from orderly.imports import repository
from orderly.imports.domain import Kind
from orderly.imports.service import ImportOptions, run_import
from tests.races import Calls, hub, race, race_pool

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("races")]

WORKERS = 3
FILE = (
    "SKU,Name,Barcode,Components\n"
    + "".join(f"NEW-{n},Product {n},,\n" for n in range(40))
    + "SET-1,Set,,NEW-1*2;NEW-2\n"
)


def _import(url: str) -> tuple[str, int, int, int]:
    with hub(url) as factory:
        run_id = run_import(factory, io.BytesIO(FILE.encode()), "catalog.csv", Kind.CATALOG, ImportOptions())
        with transaction(factory) as s:
            run = repository.run(s, run_id)
            assert run is not None
            return run.status, run.imported, run.unchanged, run.failed


pool = race_pool(WORKERS)


def test_the_same_new_products_imported_at_once_are_made_once(
    pool: Pool, db_url: str, factory: sessionmaker[Session]
) -> None:
    calls: Calls = [(_import, (db_url,)) for _ in range(WORKERS)]

    results = race(pool, calls)

    assert all(status == "done" and failed == 0 for status, _, _, failed in results)
    assert sum(imported for _, imported, _, _ in results) == 41  # each row made by exactly one run
    assert all(imported + unchanged == 41 for _, imported, unchanged, _ in results)
    with transaction(factory) as s:
        assert s.scalar(select(func.count()).select_from(Product)) == 41
        assert s.scalar(select(func.count()).select_from(BundleComponent)) == 2
