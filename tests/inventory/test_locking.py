"""Stock rows are locked in one global id order, however many products a transaction needs."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from orderly.catalog.models import Product
from orderly.core.clock import utcnow
from orderly.core.db import insert_rows, transaction
from orderly.inventory import repository
from orderly.inventory import service as inventory
from orderly.inventory.schemas import WarehouseIn


def test_levels_of_more_products_than_one_statement_takes_are_locked_in_ascending_row_id(
    factory: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    with transaction(factory) as s:
        warehouse = inventory.create_warehouse(s, WarehouseIn(code="WH-1", name="One", priority=1)).id
        insert_rows(
            s,
            Product,
            ("sku", "name", "is_bundle", "created_at"),
            [(f"SKU-{n:04}", f"Product {n}", False, utcnow()) for n in range(1000)],
        )
        ids = sorted(s.scalars(select(Product.id)))
        # The last products' rows are made first, so product order and row order disagree across chunks.
        repository.ensure_levels(s, [(pid, warehouse) for pid in ids[900:]])
        repository.ensure_levels(s, [(pid, warehouse) for pid in ids[:900]])

    locked: list[int] = []
    levels = repository._levels

    def recording(session: Session, where: Any, *, lock: bool = False) -> Any:
        found = levels(session, where, lock=lock)
        if lock:
            locked.extend(row_id for row_id, _ in found.values())
        return found

    monkeypatch.setattr(repository, "_levels", recording)
    with transaction(factory) as s:
        found = repository.lock_levels(s, ids)

    assert len(found) == 1000
    assert locked == sorted(locked) and len(locked) == 1000
