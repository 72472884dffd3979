"""All inventory queries. Levels are read with ``read_levels`` (no lock) and locked with ``lock_levels``
(or ``lock_all_levels``), the only places stock rows are locked, always in id order. A transfer is
locked (``lock_transfer``) before the stock it moves."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import case, delete, func, literal, select, union_all
from sqlalchemy.orm import Session

from orderly.catalog.models import Product
from orderly.core.clock import utcnow
from orderly.core.db import Rows, chunks, insert_rows, update_rows
from orderly.core.errors import NotFound
from orderly.core.phrases import Phrase
from orderly.inventory.domain import IN_TRANSIT, Level, StockKey
from orderly.inventory.models import (
    BinLocation,
    StockLedgerEntry,
    StockLevel,
    Transfer,
    TransferEvent,
    TransferLine,
    Warehouse,
)


def active_warehouse_ids(session: Session) -> list[int]:
    query = select(Warehouse.id).where(Warehouse.active.is_(True)).order_by(Warehouse.priority, Warehouse.id)
    return list(session.scalars(query))


def warehouses_in_order(session: Session) -> list[Warehouse]:
    """Every warehouse, in the order allocation tries them: by priority, then id."""
    return list(session.scalars(select(Warehouse).order_by(Warehouse.priority, Warehouse.id)))


def warehouse_id(session: Session, code: str) -> int | None:
    return session.scalar(select(Warehouse.id).where(Warehouse.code == code))


def lock_warehouse(session: Session, code: str) -> Warehouse | None:
    return session.scalar(select(Warehouse).where(Warehouse.code == code).with_for_update())


def products_stocked_in(session: Session, warehouse_id: int) -> list[int]:
    """The products with a level in the warehouse (whatever its figures)."""
    query = select(StockLevel.product_id).where(StockLevel.warehouse_id == warehouse_id)
    return sorted(session.scalars(query))


def skus_stocked_in(session: Session, warehouse_id: int, *, limit: int) -> list[str]:
    query = (
        select(Product.sku)
        .join(StockLevel, StockLevel.product_id == Product.id)
        .where(StockLevel.warehouse_id == warehouse_id)
        .order_by(Product.sku)
        .limit(limit)
    )
    return list(session.scalars(query))


def warehouses_stocking(session: Session, product_id: int) -> list[str]:
    """The codes of the warehouses with a level of the product, by code."""
    query = (
        select(Warehouse.code)
        .join(StockLevel, StockLevel.warehouse_id == Warehouse.id)
        .where(StockLevel.product_id == product_id)
        .order_by(Warehouse.code)
    )
    return list(session.scalars(query))


def levels_by_warehouse(session: Session, product_id: int) -> list[tuple[int, str, Level]]:
    """(warehouse id, code, level) of one product, in the order allocation tries the warehouses."""
    query = (
        select(Warehouse.id, Warehouse.code, StockLevel.on_hand, StockLevel.reserved, StockLevel.safety)
        .join(Warehouse, Warehouse.id == StockLevel.warehouse_id)
        .where(StockLevel.product_id == product_id)
        .order_by(Warehouse.priority, Warehouse.id)
    )
    return [(wid, code, Level(a, b, c)) for wid, code, a, b, c in session.execute(query).all()]


def warehouse_codes(session: Session) -> dict[int, str]:
    """Every warehouse's code by id, for messages people read (the table is small)."""
    rows = session.execute(select(Warehouse.id, Warehouse.code))
    return {warehouse_id: code for warehouse_id, code in rows}


def read_levels(session: Session, product_ids: Iterable[int]) -> dict[StockKey, Level]:
    """The levels of these products (all warehouses) as they stand, without locking: a plan made on
    them is checked again under :func:`lock_levels` before anything is booked."""
    found: dict[StockKey, Level] = {}
    for part in chunks(sorted(set(product_ids))):
        found.update(
            (key, level) for key, (_, level) in _levels(session, StockLevel.product_id.in_(part)).items()
        )
    return found


def lock_levels(session: Session, product_ids: Iterable[int]) -> dict[StockKey, tuple[int, Level]]:
    """Lock every level of these products (all warehouses) and return ``(row id, level)`` by key.

    Rows are locked in primary-key order by every caller, so two transactions that need overlapping
    stock queue behind each other instead of deadlocking. On SQLite the transaction already holds the
    database's write lock (``BEGIN IMMEDIATE``).
    """
    products = sorted(set(product_ids))
    parts = list(chunks(products))
    if len(parts) <= 1:
        return _levels(session, StockLevel.product_id.in_(products), lock=True)
    # Locked chunk by chunk, the rows must still come in one global id order: chunks cut by product
    # would let a later chunk's lower ids be taken after a higher one and two writers deadlock.
    row_ids = sorted(
        row_id
        for part in parts
        for row_id in session.scalars(select(StockLevel.id).where(StockLevel.product_id.in_(part)))
    )
    found: dict[StockKey, tuple[int, Level]] = {}
    for id_part in chunks(row_ids):
        found.update(_levels(session, StockLevel.id.in_(id_part), lock=True))
    return found


def _levels(session: Session, where: Any, *, lock: bool = False) -> dict[StockKey, tuple[int, Level]]:
    query = select(
        StockLevel.id,
        StockLevel.product_id,
        StockLevel.warehouse_id,
        StockLevel.on_hand,
        StockLevel.reserved,
        StockLevel.safety,
    ).order_by(StockLevel.id)
    if where is not None:
        query = query.where(where)
    if lock:
        query = query.with_for_update()
    return {
        (pid, wid): (row_id, Level(a, b, c)) for row_id, pid, wid, a, b, c in session.execute(query).all()
    }


def ensure_level(session: Session, product_id: int, warehouse_id: int) -> None:
    """Create the zero level a first receipt needs; racing creators both succeed, one row results."""
    ensure_levels(session, [(product_id, warehouse_id)])


def ensure_levels(session: Session, keys: Iterable[StockKey]) -> None:
    """:func:`ensure_level` for several, in one statement."""
    now = utcnow()
    insert_rows(
        session,
        StockLevel,
        ("product_id", "warehouse_id", "on_hand", "reserved", "safety", "updated_at"),
        [(pid, wid, 0, 0, 0, now) for pid, wid in sorted(set(keys))],
        skip_conflicts_on=["product_id", "warehouse_id"],
    )


def apply_deltas(session: Session, deltas: dict[int, tuple[int, int, int]], now: datetime) -> None:
    """Add (on hand, reserved, safety) deltas to locked level rows, one statement for all."""
    rows = [
        {"id": lid, "on_hand": d[0], "reserved": d[1], "safety": d[2], "updated_at": now}
        for lid, d in sorted(deltas.items())
        if d != (0, 0, 0)
    ]
    update_rows(session, StockLevel, rows, increment=frozenset({"on_hand", "reserved", "safety"}))


LEDGER_COLUMNS = (
    "product_id",
    "warehouse_id",
    "kind",
    "on_hand_delta",
    "reserved_delta",
    "safety_delta",
    "order_id",
    "actor",
    "reason",
    "created_at",
)


def append_ledger(session: Session, rows: Rows) -> None:
    """Rows in ``LEDGER_COLUMNS`` order."""
    insert_rows(session, StockLedgerEntry, LEDGER_COLUMNS, rows)


def reserved_by_order(session: Session, order_ids: Iterable[int]) -> dict[int, dict[StockKey, int]]:
    """What each order still holds, from the ledger: its reservations less its releases and shipments."""
    held: dict[int, dict[StockKey, int]] = defaultdict(dict)
    ledger = StockLedgerEntry
    for part in chunks(sorted(set(order_ids))):
        query = (
            select(ledger.order_id, ledger.product_id, ledger.warehouse_id, func.sum(ledger.reserved_delta))
            .where(ledger.order_id.in_(part))
            .group_by(ledger.order_id, ledger.product_id, ledger.warehouse_id)
        )
        for order_id, pid, wid, qty in session.execute(query).all():
            if order_id is not None and qty:
                held[order_id][(pid, wid)] = int(qty)
    return dict(held)


def latest_movements(
    session: Session, product_id: int, *, limit: int, before_id: int | None = None
) -> list[tuple[str, StockLedgerEntry]]:
    """A product's newest ledger entries with their warehouse's code, newest first; those before
    ``before_id`` when given (the next page)."""
    query = (
        select(Warehouse.code, StockLedgerEntry)
        .join(Warehouse, Warehouse.id == StockLedgerEntry.warehouse_id)
        .where(StockLedgerEntry.product_id == product_id)
        .order_by(StockLedgerEntry.id.desc())
        .limit(limit)
    )
    if before_id is not None:
        query = query.where(StockLedgerEntry.id < before_id)
    return [(code, entry) for code, entry in session.execute(query).all()]


def running_low(session: Session, threshold: int, *, limit: int) -> tuple[list[int], int]:
    """The products (bundles aside) with at most ``threshold`` units available over the active
    warehouses, the fewest first, and how many there are in all. A product never stocked has none."""
    left = StockLevel.on_hand - StockLevel.reserved - StockLevel.safety
    available = (
        select(StockLevel.product_id, func.sum(case((left > 0, left), else_=0)).label("units"))
        .join(Warehouse, Warehouse.id == StockLevel.warehouse_id)
        .where(Warehouse.active.is_(True))
        .group_by(StockLevel.product_id)
        .subquery()
    )
    units = func.coalesce(available.c.units, 0)
    low = (
        select(Product.id, units.label("units"))
        .outerjoin(available, available.c.product_id == Product.id)
        .where(Product.is_bundle.is_(False), units <= threshold)
    )
    total = session.scalar(select(func.count()).select_from(low.subquery())) or 0
    found = session.execute(low.order_by(units, Product.sku).limit(limit)).all()
    return [product_id for product_id, _ in found], int(total)


def ledger_totals(session: Session) -> dict[StockKey, Level]:
    ledger = StockLedgerEntry
    query = select(
        ledger.product_id,
        ledger.warehouse_id,
        func.sum(ledger.on_hand_delta),
        func.sum(ledger.reserved_delta),
        func.sum(ledger.safety_delta),
    ).group_by(ledger.product_id, ledger.warehouse_id)
    return {(pid, wid): Level(int(a), int(b), int(c)) for pid, wid, a, b, c in session.execute(query).all()}


def levels_and_ledger(session: Session) -> tuple[dict[StockKey, Level], dict[StockKey, Level]]:
    """Every level and the ledger's totals, read by one statement: at one moment even while stock moves
    (two statements would each see the movements committed by then, and a receipt between them would
    look like drift)."""
    level, ledger = StockLevel, StockLedgerEntry
    query = union_all(
        select(
            literal(True), level.product_id, level.warehouse_id, level.on_hand, level.reserved, level.safety
        ),
        select(
            literal(False),
            ledger.product_id,
            ledger.warehouse_id,
            func.sum(ledger.on_hand_delta),
            func.sum(ledger.reserved_delta),
            func.sum(ledger.safety_delta),
        ).group_by(ledger.product_id, ledger.warehouse_id),
    )
    levels: dict[StockKey, Level] = {}
    totals: dict[StockKey, Level] = {}
    for is_level, pid, wid, on_hand, reserved, safety in session.execute(query):
        (levels if is_level else totals)[(pid, wid)] = Level(int(on_hand), int(reserved), int(safety))
    return levels, totals


def lock_all_levels(session: Session) -> dict[StockKey, tuple[int, Level]]:
    """Every level row, locked in id order (``stock verify --repair``)."""
    return _levels(session, None, lock=True)


#: A SKU's bin in a warehouse and the bin's walk sequence, if any.
Bin = tuple[str, int | None]


def bins_of(session: Session, product_ids: Iterable[int]) -> dict[StockKey, Bin]:
    """The bins of these products, in every warehouse."""
    found: dict[StockKey, Bin] = {}
    for part in chunks(sorted(set(product_ids))):
        query = select(BinLocation.product_id, BinLocation.warehouse_id, BinLocation.bin, BinLocation.walk)
        for pid, wid, code, walk in session.execute(query.where(BinLocation.product_id.in_(part))):
            found[(pid, wid)] = (code, walk)
    return found


def bins_in(session: Session, warehouse_id: int | None) -> list[tuple[str, str, str, int | None]]:
    """(SKU, warehouse code, bin, walk) of a warehouse, or of every warehouse."""
    query = (
        select(Product.sku, Warehouse.code, BinLocation.bin, BinLocation.walk)
        .join(Product, Product.id == BinLocation.product_id)
        .join(Warehouse, Warehouse.id == BinLocation.warehouse_id)
    )
    if warehouse_id is not None:
        query = query.where(BinLocation.warehouse_id == warehouse_id)
    return [(sku, code, bin_code, walk) for sku, code, bin_code, walk in session.execute(query)]


def delete_bin(session: Session, product_id: int, warehouse_id: int) -> bool:
    """Take a SKU out of its bin in a warehouse; whether it had one."""
    gone = session.execute(
        delete(BinLocation).where(
            BinLocation.product_id == product_id, BinLocation.warehouse_id == warehouse_id
        )
    )
    return bool(gone.rowcount)  # type: ignore[attr-defined]


def put_bins(session: Session, bins: dict[StockKey, Bin], now: datetime) -> None:
    """Set these bins: missing rows are added (a racing writer's row is kept), then every row is set,
    one statement each."""
    rows = sorted(bins.items())
    insert_rows(
        session,
        BinLocation,
        ("product_id", "warehouse_id", "bin", "walk", "updated_at"),
        [(pid, wid, code, walk, now) for (pid, wid), (code, walk) in rows],
        skip_conflicts_on=["product_id", "warehouse_id"],
    )
    ids: dict[StockKey, int] = {}
    for part in chunks(sorted({pid for pid, _ in bins})):
        query = select(BinLocation.id, BinLocation.product_id, BinLocation.warehouse_id)
        for row_id, pid, wid in session.execute(query.where(BinLocation.product_id.in_(part))):
            ids[(pid, wid)] = row_id
    update_rows(
        session,
        BinLocation,
        [{"id": ids[key], "bin": code, "walk": walk, "updated_at": now} for key, (code, walk) in rows],
    )


# --- transfers --------------------------------------------------------------------------------------


def lock_transfer(session: Session, transfer_id: int) -> Transfer:
    """The transfer, locked: taken before any stock row it moves, so two people shipping or receiving
    it take turns and the second sees what the first did."""
    query = (
        select(Transfer)
        .where(Transfer.id == transfer_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    found = session.scalar(query)
    if found is None:
        raise NotFound(Phrase("no transfer %(transfer)s", transfer=transfer_id))
    return found


def transfer_lines(session: Session, transfer_ids: list[int]) -> dict[int, list[TransferLine]]:
    found: dict[int, list[TransferLine]] = {tid: [] for tid in transfer_ids}
    for part in chunks(sorted(set(transfer_ids))):
        query = (
            select(TransferLine)
            .where(TransferLine.transfer_id.in_(part))
            .order_by(TransferLine.transfer_id, TransferLine.product_id)
            .execution_options(populate_existing=True)
        )
        for line in session.scalars(query):
            found[line.transfer_id].append(line)
    return found


def transfer_events(session: Session, transfer_ids: list[int]) -> dict[int, list[TransferEvent]]:
    found: dict[int, list[TransferEvent]] = {tid: [] for tid in transfer_ids}
    for part in chunks(sorted(set(transfer_ids))):
        query = (
            select(TransferEvent)
            .where(TransferEvent.transfer_id.in_(part))
            .order_by(TransferEvent.transfer_id, TransferEvent.id)
        )
        for event in session.scalars(query):
            found[event.transfer_id].append(event)
    return found


def transfers_page(
    session: Session,
    *,
    status: str | None,
    from_warehouse_id: int | None,
    to_warehouse_id: int | None,
    product_id: int | None,
    before_id: int | None,
    limit: int,
) -> list[Transfer]:
    """Transfers matching every filter given, newest first, before ``before_id`` when given."""
    query = select(Transfer).order_by(Transfer.id.desc()).limit(limit)
    if status is not None:
        query = query.where(Transfer.status == status)
    if from_warehouse_id is not None:
        query = query.where(Transfer.from_warehouse_id == from_warehouse_id)
    if to_warehouse_id is not None:
        query = query.where(Transfer.to_warehouse_id == to_warehouse_id)
    if product_id is not None:
        carries = select(TransferLine.transfer_id).where(TransferLine.product_id == product_id)
        query = query.where(Transfer.id.in_(carries))
    if before_id is not None:
        query = query.where(Transfer.id < before_id)
    return list(session.scalars(query))


def transfers_naming(session: Session, warehouse_id: int, *, limit: int) -> list[int]:
    """The ids of the transfers from or to a warehouse, oldest first."""
    query = (
        select(Transfer.id)
        .where((Transfer.from_warehouse_id == warehouse_id) | (Transfer.to_warehouse_id == warehouse_id))
        .order_by(Transfer.id)
        .limit(limit)
    )
    return list(session.scalars(query))


def in_transit(session: Session, product_ids: Iterable[int]) -> dict[StockKey, int]:
    """Units of these products on the road to each warehouse: shipped on open transfers, less what was
    received or written off (an over-receipt counts as none left, not as less than none)."""
    left = TransferLine.quantity - TransferLine.received - TransferLine.written_off
    # The status is wrapped so no database drives the join from the status index: SQLite, without
    # statistics, would look up every open transfer's line for each product asked (20 ms for a page of
    # 100 SKUs against 1,000 open transfers, 2 ms from the products' index).
    status = func.coalesce(Transfer.status, "")
    found: dict[StockKey, int] = {}
    for part in chunks(sorted(set(product_ids))):
        query = (
            select(
                TransferLine.product_id, Transfer.to_warehouse_id, func.sum(case((left > 0, left), else_=0))
            )
            .join(Transfer, Transfer.id == TransferLine.transfer_id)
            .where(status.in_(sorted(IN_TRANSIT)), TransferLine.product_id.in_(part))
            .group_by(TransferLine.product_id, Transfer.to_warehouse_id)
        )
        found.update(((pid, wid), int(qty)) for pid, wid, qty in session.execute(query).all() if qty)
    return found
