"""The stock kind: opening balances and counts per SKU and warehouse.

Every figure is booked like any other stock change: as a count in the ledger, through inventory's
``StockBook`` under the levels' locks, announced through the outbox so the shops' listings are told.
A batch reads its SKUs and warehouses in a few statements, then locks the stock of its products once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from sqlalchemy.orm import Session

from orderly.catalog import repository as catalog_repo
from orderly.core.errors import DomainError
from orderly.imports import cleaning
from orderly.imports.domain import FieldSpec, Kind, Outcome, Row
from orderly.imports.service import ImportOptions, register
from orderly.inventory import domain as inventory
from orderly.inventory import repository as inventory_repo
from orderly.inventory.domain import StockKey
from orderly.inventory.service import StockBook

#: Set on-hand where the hub holds none yet; a SKU already stocked is refused, never overwritten.
OPENING: Final = "opening"
#: Set on-hand to what was counted, whatever the hub held.
COUNT: Final = "count"
MODES = (OPENING, COUNT)

FIELDS = (
    FieldSpec("sku", True, ("SKU", "Seller SKU", "Item SKU", "商品编码", "SKU编码", "货号", "商家编码")),
    FieldSpec("warehouse", False, ("Warehouse", "Warehouse code", "仓库", "仓库编码", "仓库代码")),
    FieldSpec(
        "quantity",
        True,
        ("Quantity", "Qty", "On hand", "Counted", "Count", "Stock", "数量", "库存", "库存数量", "盘点数量"),
    ),
)


@dataclass(frozen=True)
class _Line:
    row: Row
    key: StockKey
    sku: str
    warehouse: str
    quantity: int


class StockKind:
    kind = Kind.STOCK
    fields: Sequence[FieldSpec] = FIELDS
    batch_size = 500
    group_by: str | None = None
    shard_by: str | None = None

    def apply(
        self, session: Session, rows: Sequence[Row], options: ImportOptions, *, dry_run: bool
    ) -> Outcome:
        mode = options.mode or OPENING
        if mode not in MODES:
            raise DomainError(
                f"a stock import is an {OPENING!r} balance or a {COUNT!r}, not {mode!r}", field="mode"
            )
        outcome = Outcome()
        lines = self._read(session, rows, options, outcome)
        if lines:
            self._book(session, lines, mode, options, outcome)
        outcome.errors.sort(key=lambda error: error.row)
        return outcome

    def _read(
        self, session: Session, rows: Sequence[Row], options: ImportOptions, outcome: Outcome
    ) -> list[_Line]:
        """The rows that name a known SKU and warehouse and a quantity; the others become errors."""
        cells: list[tuple[Row, str, str, int]] = []
        for row in rows:
            sku = cleaning.text(row.values.get("sku", ""))
            warehouse = cleaning.text(row.values.get("warehouse", "")) or options.warehouse
            if sku is None:
                outcome.errors.append(row.error("sku", "the SKU is empty"))
                continue
            if warehouse is None:
                where = "warehouse" if "warehouse" in row.columns else None  # a blank cell, or no column
                reason = "no warehouse: the row names none and none was chosen for the file"
                outcome.errors.append(row.error(where, reason))
                continue
            written = cleaning.text(row.values.get("quantity", ""))
            if written is None:
                outcome.errors.append(row.error("quantity", "the quantity is empty"))
                continue
            try:
                quantity = cleaning.quantity(written, zero=True)
            except cleaning.Invalid as invalid:
                outcome.errors.append(row.error("quantity", str(invalid)))
                continue
            cells.append((row, sku, warehouse, quantity))
        products = catalog_repo.product_ids_by_sku(session, [sku for _, sku, _, _ in cells])
        bundles = catalog_repo.bundles_among(session, products.values())
        warehouses = {code: wid for wid, code in inventory_repo.warehouse_codes(session).items()}
        lines: list[_Line] = []
        seen: dict[StockKey, int] = {}
        for row, sku, warehouse, quantity in cells:
            product_id, warehouse_id = products.get(sku), warehouses.get(warehouse)
            if product_id is None:
                outcome.errors.append(row.error("sku", f"unknown SKU {sku!r}"))
            elif product_id in bundles:
                outcome.errors.append(
                    row.error("sku", f"{sku!r} is a bundle: its stock is that of its components")
                )
            elif warehouse_id is None:
                name = "warehouse" if "warehouse" in row.columns else None
                outcome.errors.append(row.error(name, f"unknown warehouse {warehouse!r}"))
            elif (product_id, warehouse_id) in seen:
                first = seen[product_id, warehouse_id]
                outcome.errors.append(
                    row.error(None, f"{sku} in {warehouse} is on row {first} already: give each once")
                )
            else:
                seen[product_id, warehouse_id] = row.number
                lines.append(_Line(row, (product_id, warehouse_id), sku, warehouse, quantity))
        return lines

    def _book(
        self, session: Session, lines: list[_Line], mode: str, options: ImportOptions, outcome: Outcome
    ) -> None:
        """Book each figure on the locked levels; one that would change nothing is left alone."""
        product_ids = {line.key[0] for line in lines}
        known = inventory_repo.read_levels(session, product_ids)
        # A level row is made only where a figure is to be booked: a zero for stock never held is no change.
        inventory_repo.ensure_levels(
            session, [line.key for line in lines if line.key not in known and line.quantity]
        )
        book = StockBook(session, inventory_repo.lock_levels(session, product_ids))
        source = f"import {options.run_id}" if options.run_id is not None else "an import"
        for line in lines:
            level = book.level(line.key)
            if level.on_hand == line.quantity:
                outcome.unchanged += 1
                continue
            if mode == OPENING and level.on_hand:
                outcome.errors.append(
                    line.row.error(
                        "quantity",
                        f"{line.sku} already has {level.on_hand} on hand in {line.warehouse}: an opening "
                        "balance only sets stock the hub holds none of; import the file as a count to set it",
                    )
                )
                continue
            try:
                movement = inventory.count(level, line.quantity)
            except DomainError as refused:
                outcome.errors.append(
                    line.row.error("quantity", f"{line.sku} in {line.warehouse}: {refused}")
                )
                continue
            reason = f"opening balance from {source}" if mode == OPENING else f"count from {source}"
            book.record(line.key, movement, actor=options.actor, reason=reason)
            outcome.imported += 1
        book.flush()


register(StockKind())
