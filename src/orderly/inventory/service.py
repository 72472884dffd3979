"""Inventory use cases. Services never commit: the request or job owns the transaction."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import Row
from sqlalchemy.orm import Session

from orderly.catalog import repository as catalog_repo
from orderly.core.clock import utcnow
from orderly.core.db import flush_or_conflict
from orderly.core.errors import Conflict, DomainError, NotFound
from orderly.core.phrases import Phrase
from orderly.inventory import domain
from orderly.inventory import repository as repo
from orderly.inventory.domain import (
    Allocation,
    Demand,
    Level,
    Movement,
    StockKey,
    TransferStatus,
    why_unrepairable,
)
from orderly.inventory.models import StockLedgerEntry, Transfer, TransferEvent, TransferLine, Warehouse
from orderly.inventory.schemas import (
    BinIn,
    BinOut,
    StockOut,
    StockRowOut,
    TransferEventOut,
    TransferIn,
    TransferLineOut,
    TransferOut,
    TransferReceiveIn,
    WarehouseIn,
    WarehouseOut,
    WarehouseUpdate,
)
from orderly.jobs.service import NewJob, enqueue

STOCK_CHANGED = "stock_changed"
#: Announced when stock became available (received, released, returned...): orders waiting for it
#: may now be filled.
STOCK_FREED = "stock_freed"


class StockBook:
    """The locked levels of some products and the movements made on them in this transaction.

    Every stock change goes through :meth:`record`: the movement is checked against the level, then
    becomes one ledger row and one delta on the level row, written together by :meth:`flush`.
    """

    def __init__(self, session: Session, locked: dict[StockKey, tuple[int, Level]]) -> None:
        """``locked``: the level rows as :func:`repository.lock_levels` locked them."""
        self.session = session
        self._rows = locked
        self._ledger: list[tuple[Any, ...]] = []  # in repo.LEDGER_COLUMNS order
        self._deltas: dict[int, list[int]] = defaultdict(lambda: [0, 0, 0])
        self.now = utcnow()

    def level(self, key: StockKey) -> Level:
        row = self._rows.get(key)
        return row[1] if row else Level()

    def snapshot(self) -> dict[StockKey, Level]:
        return {key: level.copy() for key, (_, level) in self._rows.items()}

    def record(
        self,
        key: StockKey,
        movement: Movement,
        *,
        actor: str,
        reason: str | None,
        order_id: int | None = None,
    ) -> None:
        if key not in self._rows:
            raise NotFound(f"no stock of product {key[0]} in warehouse {key[1]}")
        row_id, level = self._rows[key]
        level.apply(movement)
        delta = self._deltas[row_id]
        delta[0] += movement.on_hand_delta
        delta[1] += movement.reserved_delta
        delta[2] += movement.safety_delta
        self._ledger.append(
            (
                key[0],
                key[1],
                str(movement.kind),
                movement.on_hand_delta,
                movement.reserved_delta,
                movement.safety_delta,
                order_id,
                actor,
                reason,
                self.now,
            )
        )

    def allocate(self, demands: list[Demand], warehouse_ids: list[int]) -> list[Allocation]:
        """Plan reservations on a copy; :meth:`reserve` then books the ones that went through."""
        return domain.allocate(demands, self.snapshot(), warehouse_ids)

    def reserve(self, allocation: Allocation, order_id: int, actor: str) -> None:
        assert allocation.ok
        for key, qty in allocation.reservations():
            self.record(
                key, domain.reservation(self.level(key), qty), actor=actor, reason=None, order_id=order_id
            )

    def release(self, held: dict[StockKey, int], order_id: int, actor: str, reason: str) -> None:
        for key, qty in sorted(held.items()):
            self.record(
                key, domain.release(self.level(key), qty), actor=actor, reason=reason, order_id=order_id
            )

    def ship(self, shipped: dict[StockKey, int], order_id: int, actor: str, reason: str) -> None:
        """Reserved units of an order left the shelves (shipped outside the hub): on hand and
        reserved fall together, so what is available stays as it was."""
        for key, qty in sorted(shipped.items()):
            self.record(
                key, domain.shipment(self.level(key), qty), actor=actor, reason=reason, order_id=order_id
            )

    def flush(self) -> None:
        repo.apply_deltas(self.session, {k: (v[0], v[1], v[2]) for k, v in self._deltas.items()}, self.now)
        repo.append_ledger(self.session, self._ledger)
        changed = {row[0] for row in self._ledger}
        # on hand up, reserved down or safety down: more is available than before
        freed = {row[0] for row in self._ledger if row[3] > 0 or row[4] < 0 or row[5] < 0}
        announce(self.session, changed, freed)
        self._deltas.clear()
        self._ledger = []


def announce(session: Session, changed: Iterable[int], freed: Iterable[int]) -> None:
    """Announce through the outbox, in this transaction, that these products' figures changed and that
    more of some is available: whoever publishes stock (the channels) or waits for it (held orders)
    reacts after commit; inventory knows neither."""
    products = sorted(set(changed))
    if not products:
        return
    announced = [NewJob(STOCK_CHANGED, {"product_ids": products})]
    # One job per product, keyed, so a burst of receipts is one look at the waiting orders.
    announced += [
        NewJob(STOCK_FREED, {"product_ids": [pid]}, key=f"{STOCK_FREED}:{pid}") for pid in sorted(set(freed))
    ]
    enqueue(session, announced)


# --- stock movements by people and imports --------------------------------------------------------


def _figure(
    sku: str, warehouse: str, level: Level, in_transit: int, where: repo.Bin | None = None
) -> StockOut:
    return StockOut(
        sku=sku,
        warehouse=warehouse,
        on_hand=level.on_hand,
        reserved=level.reserved,
        safety=level.safety,
        available=level.available,
        bin=where[0] if where else None,
        walk=where[1] if where else None,
        in_transit=in_transit,
    )


def _resolve(session: Session, sku: str, warehouse_code: str) -> tuple[int, int]:
    product = catalog_repo.product_by_sku(session, sku)
    if product is None:
        raise NotFound(Phrase("unknown SKU %(sku)s", sku=repr(sku)), field="sku")
    if product.is_bundle:
        raise DomainError(
            Phrase("%(sku)s is a bundle: its stock is that of its components", sku=repr(sku)), field="sku"
        )
    warehouse_id = repo.warehouse_id(session, warehouse_code)
    if warehouse_id is None:
        raise NotFound(Phrase("unknown warehouse %(code)s", code=repr(warehouse_code)), field="warehouse")
    return product.id, warehouse_id


def move_stock(
    session: Session,
    sku: str,
    warehouse_code: str,
    make_movement: Callable[[Level], Movement],
    *,
    actor: str,
    reason: str | None,
) -> StockOut:
    """Apply one manual movement (receipt, adjustment, count, safety) under the level's lock."""
    product_id, warehouse_id = _resolve(session, sku, warehouse_code)
    repo.ensure_level(session, product_id, warehouse_id)
    book = StockBook(session, repo.lock_levels(session, [product_id]))
    key = (product_id, warehouse_id)
    book.record(key, make_movement(book.level(key)), actor=actor, reason=reason)
    book.flush()
    level = book.level(key)
    return _figure(sku, warehouse_code, level, repo.in_transit(session, [product_id]).get(key, 0))


def receive(
    session: Session, sku: str, warehouse: str, quantity: int, *, actor: str, reason: str | None
) -> StockOut:
    return move_stock(session, sku, warehouse, lambda _: domain.receipt(quantity), actor=actor, reason=reason)


def adjust(
    session: Session, sku: str, warehouse: str, delta: int, *, actor: str, reason: str | None
) -> StockOut:
    return move_stock(
        session, sku, warehouse, lambda lv: domain.adjustment(lv, delta), actor=actor, reason=reason
    )


def count(
    session: Session, sku: str, warehouse: str, counted: int, *, actor: str, reason: str | None
) -> StockOut:
    return move_stock(
        session, sku, warehouse, lambda lv: domain.count(lv, counted), actor=actor, reason=reason
    )


def set_safety(
    session: Session, sku: str, warehouse: str, safety: int, *, actor: str, reason: str | None
) -> StockOut:
    return move_stock(
        session, sku, warehouse, lambda lv: domain.safety(lv, safety), actor=actor, reason=reason
    )


def stock_of(session: Session, sku: str) -> list[StockOut]:
    product = catalog_repo.product_by_sku(session, sku)
    if product is None:
        raise NotFound(f"unknown SKU {sku!r}", field="sku")
    bins = repo.bins_of(session, [product.id])
    on_road = repo.in_transit(session, [product.id])
    return [
        _figure(sku, code, level, on_road.get((product.id, wid), 0), bins.get((product.id, wid)))
        for wid, code, level in repo.levels_by_warehouse(session, product.id)
    ]


def latest_movements(
    session: Session, sku: str, *, limit: int = 50, before_id: int | None = None
) -> list[tuple[str, StockLedgerEntry]]:
    """The SKU's newest ledger entries (warehouse code, entry): who moved what, and why; those before
    entry ``before_id`` when given."""
    product = catalog_repo.product_by_sku(session, sku)
    if product is None:
        raise NotFound(f"unknown SKU {sku!r}", field="sku")
    return repo.latest_movements(session, product.id, limit=limit, before_id=before_id)


def sellable(session: Session, product_ids: Iterable[int]) -> dict[int, int]:
    """What can still be sold of each product across active warehouses; a bundle, of its components."""
    wanted = set(product_ids)
    parts = catalog_repo.bundle_parts(session, wanted)
    needed = wanted | {component for components in parts.values() for component, _ in components}
    levels = repo.read_levels(session, needed)
    return domain.sellable(wanted, parts, levels, set(repo.active_warehouse_ids(session)))


def list_stock(
    session: Session, *, after_id: int = 0, limit: int = 100, text: str | None = None
) -> list[StockRowOut]:
    """Every SKU in the order it was created (those whose SKU or name holds ``text``, when given), with
    its figures per warehouse and what can be sold."""
    return _stock_rows(
        session, catalog_repo.products_page(session, after_id=after_id, limit=limit, text=text)
    )


def running_low(session: Session, threshold: int, *, limit: int = 100) -> tuple[list[StockRowOut], int]:
    """The SKUs (bundles aside: their components are) with at most ``threshold`` units left to sell,
    the fewest first (the first ``limit``), and how many there are in all."""
    ids, total = repo.running_low(session, threshold, limit=limit)
    rows = {row.id: row for row in _stock_rows(session, catalog_repo.products_of(session, ids))}
    return [rows[product_id] for product_id in ids], total


def _stock_rows(session: Session, products: Sequence[Row[int, str, str, bool]]) -> list[StockRowOut]:
    ids = [p.id for p in products]
    levels = repo.read_levels(session, ids)
    on_road = repo.in_transit(session, ids)
    warehouses = repo.warehouses_in_order(session)
    can_sell = sellable(session, ids)
    bins = repo.bins_of(session, ids)
    rows = []
    for product in products:
        figures = [
            _figure(
                product.sku,
                w.code,
                levels[(product.id, w.id)],
                on_road.get((product.id, w.id), 0),
                bins.get((product.id, w.id)),
            )
            for w in warehouses
            if (product.id, w.id) in levels
        ]
        rows.append(
            StockRowOut(
                id=product.id,
                sku=product.sku,
                name=product.name,
                is_bundle=product.is_bundle,
                on_hand=sum(f.on_hand for f in figures),
                reserved=sum(f.reserved for f in figures),
                safety=sum(f.safety for f in figures),
                in_transit=sum(f.in_transit for f in figures),
                sellable=can_sell[product.id],
                warehouses=figures,
            )
        )
    return rows


# --- bins ------------------------------------------------------------------------------------------


def set_bins(session: Session, items: list[BinIn]) -> list[BinOut]:
    """Put each SKU in its bin in a warehouse (in one go: every unknown SKU or warehouse, or bundle,
    is named and nothing is set). A bundle has no bin: it is picked as its components."""
    products = catalog_repo.product_ids_by_sku(session, {item.sku for item in items})
    bundles = catalog_repo.bundles_among(session, products.values())
    codes = {code: wid for wid, code in repo.warehouse_codes(session).items()}
    problems = []
    for n, item in enumerate(items):
        if item.sku not in products:
            problems.append({"field": f"bins[{n}].sku", "message": f"unknown SKU {item.sku!r}"})
        elif products[item.sku] in bundles:
            problems.append(
                {
                    "field": f"bins[{n}].sku",
                    "message": f"{item.sku!r} is a bundle: it has no bin, its components are picked",
                }
            )
        if item.warehouse not in codes:
            problems.append(
                {"field": f"bins[{n}].warehouse", "message": f"unknown warehouse {item.warehouse!r}"}
            )
    if problems:
        # An unknown name is 404 as in every stock movement; a bundle's bin is a bad request.
        unknown = any(p["message"].startswith("unknown") for p in problems)
        error = (NotFound if unknown else DomainError)(
            "; ".join(p["message"] for p in problems), field=problems[0]["field"]
        )
        error.errors = problems
        raise error
    repo.put_bins(
        session,
        {(products[item.sku], codes[item.warehouse]): (item.bin, item.walk) for item in items},
        utcnow(),
    )
    return [BinOut(sku=i.sku, warehouse=i.warehouse, bin=i.bin, walk=i.walk) for i in items]


def clear_bin(session: Session, sku: str, warehouse: str) -> None:
    """The SKU is picked from no bin in the warehouse any more (it goes last on the walk)."""
    product = catalog_repo.product_by_sku(session, sku)
    if product is None:
        raise NotFound(f"unknown SKU {sku!r}", field="sku")
    warehouse_id = repo.warehouse_id(session, warehouse)
    if warehouse_id is None:
        raise NotFound(f"unknown warehouse {warehouse!r}", field="warehouse")
    if not repo.delete_bin(session, product.id, warehouse_id):
        raise NotFound(f"{sku} has no bin in {warehouse}", field="sku")


def list_bins(session: Session, warehouse: str | None) -> list[BinOut]:
    """The bins of a warehouse (or of all), each warehouse in the picker's walking order."""
    warehouse_id = None
    if warehouse is not None:
        warehouse_id = repo.warehouse_id(session, warehouse)
        if warehouse_id is None:
            raise NotFound(f"unknown warehouse {warehouse!r}", field="warehouse")
    rows = sorted(
        repo.bins_in(session, warehouse_id),
        key=lambda r: (domain.natural_key(r[1]), domain.walk_key(r[2], r[3]), domain.natural_key(r[0])),
    )
    return [BinOut(sku=sku, warehouse=code, bin=bin_code, walk=walk) for sku, code, bin_code, walk in rows]


# --- ledger check -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Drift:
    product_id: int
    warehouse_id: int
    level: tuple[int, int, int]
    ledger: tuple[int, int, int]
    sku: str | None = None
    warehouse: str | None = None
    cannot_repair: str | None = None  # why the level cannot take the ledger's figures


def verify(session: Session, *, repair: bool, actor: str) -> list[Drift]:
    """Compare every level with its ledger; with ``repair`` set the level to what the ledger says.

    The ledger is the record of what happened, so it wins: the level rows are rewritten under lock,
    and the products whose figures changed are announced as any movement's are (``announce``). A
    level the ledger's figures cannot fill (``why_unrepairable``) keeps its own and says why; the
    others are repaired.
    """
    if repair:
        locked, totals = _locked_with_ledger(session)
        levels = {key: level for key, (_, level) in locked.items()}
    else:
        levels, totals = repo.levels_and_ledger(session)
    drifts: list[Drift] = []
    for key in sorted(set(levels) | set(totals)):
        current = levels.get(key, Level())
        expected = totals.get(key, Level())
        if (current.on_hand, current.reserved, current.safety) != (
            expected.on_hand,
            expected.reserved,
            expected.safety,
        ):
            drifts.append(
                Drift(
                    key[0],
                    key[1],
                    (current.on_hand, current.reserved, current.safety),
                    (expected.on_hand, expected.reserved, expected.safety),
                    cannot_repair=why_unrepairable(expected.on_hand, expected.reserved, expected.safety),
                )
            )
    if drifts:  # named for people
        skus = catalog_repo.skus_of(session, {d.product_id for d in drifts})
        codes = repo.warehouse_codes(session)
        drifts = [replace(d, sku=skus.get(d.product_id), warehouse=codes.get(d.warehouse_id)) for d in drifts]
    repairable = [d for d in drifts if d.cannot_repair is None]
    if repair and repairable:
        repo.apply_deltas(
            session,
            {
                locked[(d.product_id, d.warehouse_id)][0]: (
                    d.ledger[0] - d.level[0],
                    d.ledger[1] - d.level[1],
                    d.ledger[2] - d.level[2],
                )
                for d in repairable
            },
            utcnow(),
        )
        # The shops show the figures the levels said, and orders may wait for stock the ledger has.
        announce(
            session,
            (d.product_id for d in repairable),
            (d.product_id for d in repairable if _available(d.ledger) > _available(d.level)),
        )
    return drifts


def _available(figures: tuple[int, int, int]) -> int:
    on_hand, reserved, safety = figures
    return on_hand - reserved - safety


def _locked_with_ledger(session: Session) -> tuple[dict[StockKey, tuple[int, Level]], dict[StockKey, Level]]:
    """Every level locked, then the ledger's totals: stock is booked only on locked levels, so the two
    agree, except for a level made after the lock (the first receipt of a SKU in a warehouse, booked
    meanwhile) or one the ledger has and the levels lack; those are made (when missing) and the whole
    is locked and read again, so a receipt is never taken for a missing level and booked twice."""
    while True:
        locked = repo.lock_all_levels(session)
        totals = repo.ledger_totals(session)
        missing = set(totals) - set(locked)
        if not missing:
            return locked, totals
        repo.ensure_levels(session, missing)


def create_warehouse(session: Session, data: WarehouseIn) -> WarehouseOut:
    warehouse = Warehouse(**data.model_dump(), active=True)
    session.add(warehouse)
    flush_or_conflict(session, f"warehouse {data.code!r}")
    return WarehouseOut.model_validate(warehouse)


def list_warehouses(session: Session) -> list[WarehouseOut]:
    return [WarehouseOut.model_validate(w) for w in repo.warehouses_in_order(session)]


def _warehouse(session: Session, code: str) -> Warehouse:
    warehouse = repo.lock_warehouse(session, code)
    if warehouse is None:
        raise NotFound(f"unknown warehouse {code!r}", field="code")
    return warehouse


def update_warehouse(session: Session, code: str, data: WarehouseUpdate) -> WarehouseOut:
    """Change what was sent; switched off (``active`` false), a warehouse is no longer allocated from
    and its stock is no longer offered to shops."""
    warehouse = _warehouse(session, code)
    changes = data.model_dump(exclude_unset=True)
    for name, value in changes.items():
        setattr(warehouse, name, value)
    session.flush()
    if "active" in changes:  # what the shops are offered changed with it
        held = repo.products_stocked_in(session, warehouse.id)
        if held:
            enqueue(session, [NewJob(STOCK_CHANGED, {"product_ids": sorted(held)})])
    return WarehouseOut.model_validate(warehouse)


def delete_warehouse(session: Session, code: str) -> None:
    """Delete a warehouse nothing refers to; otherwise refuse, naming what does."""
    warehouse = _warehouse(session, code)
    # Stock levels are never deleted and every ledger row and reservation has one: they stand for both.
    skus = repo.skus_stocked_in(session, warehouse.id, limit=6)
    if skus:
        named = ", ".join(skus[:5]) + (" and more" if len(skus) > 5 else "")
        raise Conflict(
            f"warehouse {code!r} cannot be deleted: it has stock records (and their ledger) of {named}; "
            "switch it off instead (active: false)",
            field="code",
        )
    # A transfer to a warehouse that never received stock (cancelled before shipping) still names it.
    transfers = repo.transfers_naming(session, warehouse.id, limit=6)
    if transfers:
        named = ", ".join(map(str, transfers[:5])) + (" and more" if len(transfers) > 5 else "")
        raise Conflict(
            f"warehouse {code!r} cannot be deleted: transfers {named} go from or to it; "
            "switch it off instead (active: false)",
            field="code",
        )
    session.delete(warehouse)
    session.flush()


# --- transfers between warehouses -----------------------------------------------------------------
# Each use case locks the transfer first, then the stock rows it moves (by id): two people shipping
# or receiving one transfer take turns, and the second is refused by the transfer's state machine.


def create_transfer(session: Session, data: TransferIn, *, actor: str) -> int:
    """Record a transfer and hold its units at the source; nothing leaves until it ships."""
    from_id = _warehouse_id(session, data.from_warehouse, "from_warehouse")
    to_id = _warehouse_id(session, data.to_warehouse, "to_warehouse")
    products = _line_products(session, [line.sku for line in data.lines])
    lines = {products[line.sku]: line.quantity for line in data.lines}
    domain.check_transfer(from_id, to_id, lines)
    now = utcnow()
    transfer = Transfer(
        from_warehouse_id=from_id,
        to_warehouse_id=to_id,
        status=TransferStatus.CREATED,
        reference=data.reference,
        note=data.note,
        created_by=actor,
        created_at=now,
        updated_at=now,
    )
    session.add(transfer)
    session.flush()
    session.add_all(
        TransferLine(transfer_id=transfer.id, product_id=pid, quantity=qty, received=0, written_off=0)
        for pid, qty in sorted(lines.items())
    )
    book = StockBook(session, repo.lock_levels(session, lines))
    skus = {pid: sku for sku, pid in products.items()}
    _book(book, domain.transfer_hold(book.snapshot(), from_id, lines, skus), transfer, actor)
    _transfer_event(session, transfer, None, actor, data.note)
    session.flush()
    return transfer.id


def ship_transfer(session: Session, transfer_id: int, *, actor: str, note: str | None = None) -> None:
    """The held units leave the source and are in transit to the destination."""
    transfer = repo.lock_transfer(session, transfer_id)
    domain.check_transfer_transition(TransferStatus(transfer.status), TransferStatus.SHIPPED)
    lines = _lines(session, transfer.id)
    # The destination's levels exist from now on, so its stock figures show what is on the way.
    repo.ensure_levels(session, ((line.product_id, transfer.to_warehouse_id) for line in lines))
    book = StockBook(session, repo.lock_levels(session, (line.product_id for line in lines)))
    _book(book, domain.transfer_out(transfer.from_warehouse_id, lines), transfer, actor)
    transfer.shipped_at = book.now
    _move_transfer(session, transfer, TransferStatus.SHIPPED, actor, note)


def receive_transfer(session: Session, transfer_id: int, data: TransferReceiveIn, *, actor: str) -> None:
    """Book what arrived at the destination; with ``close``, write off what did not (short)."""
    transfer = repo.lock_transfer(session, transfer_id)
    status = TransferStatus(transfer.status)
    if status not in domain.IN_TRANSIT:
        domain.check_transfer_transition(status, TransferStatus.RECEIVED)
    rows = {row.product_id: row for row in repo.transfer_lines(session, [transfer.id])[transfer.id]}
    products = _line_products(session, [line.sku for line in data.lines])
    skus = catalog_repo.skus_of(session, set(rows) | set(products.values()))
    arrived = {products[line.sku]: line.quantity for line in data.lines}
    reasons = {pid: data.reason for pid in rows if data.reason is not None}
    reasons.update((products[line.sku], line.reason) for line in data.lines if line.reason is not None)
    receipts, target = domain.transfer_receipt(
        [_domain_line(row) for row in rows.values()], arrived, reasons, close=data.close, skus=skus
    )
    domain.check_transfer_transition(status, target)
    book = StockBook(session, repo.lock_levels(session, (r.product_id for r in receipts if r.received)))
    for receipt in receipts:
        row = rows[receipt.product_id]
        row.received += receipt.received
        row.written_off += receipt.written_off
        if receipt.difference is not None:
            row.difference = "; ".join(filter(None, (row.difference, receipt.difference)))
        if receipt.movement is not None:
            key = (receipt.product_id, transfer.to_warehouse_id)
            book.record(key, receipt.movement, actor=actor, reason=_ledger_reason(transfer))
    book.flush()
    if target == TransferStatus.RECEIVED:
        transfer.received_at = book.now
    arrivals = ", ".join(f"{skus[r.product_id]} x {r.received}" for r in receipts if r.received)
    said = [f"received {arrivals}" if arrivals else None, data.note]
    said += [f"{skus[r.product_id]} {r.difference}" for r in receipts if r.difference is not None]
    _move_transfer(session, transfer, target, actor, "; ".join(filter(None, said)) or None)


def cancel_transfer(session: Session, transfer_id: int, *, actor: str, reason: str) -> None:
    """Give a transfer's held units back to its source; only before it ships."""
    transfer = repo.lock_transfer(session, transfer_id)
    domain.check_transfer_transition(TransferStatus(transfer.status), TransferStatus.CANCELLED)
    lines = _lines(session, transfer.id)
    book = StockBook(session, repo.lock_levels(session, (line.product_id for line in lines)))
    _book(book, domain.transfer_release(transfer.from_warehouse_id, lines), transfer, actor)
    _move_transfer(session, transfer, TransferStatus.CANCELLED, actor, reason)


def get_transfer(session: Session, transfer_id: int) -> TransferOut:
    transfer = session.get(Transfer, transfer_id, populate_existing=True)
    if transfer is None:
        raise NotFound(Phrase("no transfer %(transfer)s", transfer=transfer_id))
    return transfer_views(session, [transfer])[0]


def list_transfers(
    session: Session,
    *,
    status: TransferStatus | None = None,
    from_warehouse: str | None = None,
    to_warehouse: str | None = None,
    sku: str | None = None,
    before_id: int | None = None,
    limit: int = 50,
) -> list[TransferOut]:
    """Transfers matching every filter given, newest first."""
    product_id = None
    if sku is not None:
        product_id = _line_products(session, [sku], field="sku")[sku]
    found = repo.transfers_page(
        session,
        status=status,
        from_warehouse_id=None
        if from_warehouse is None
        else _warehouse_id(session, from_warehouse, "from_warehouse"),
        to_warehouse_id=None
        if to_warehouse is None
        else _warehouse_id(session, to_warehouse, "to_warehouse"),
        product_id=product_id,
        before_id=before_id,
        limit=limit,
    )
    return transfer_views(session, found)


def transfer_views(session: Session, transfers: list[Transfer]) -> list[TransferOut]:
    ids = [t.id for t in transfers]
    lines = repo.transfer_lines(session, ids)
    events = repo.transfer_events(session, ids)
    codes = repo.warehouse_codes(session)
    skus = catalog_repo.skus_of(session, {row.product_id for rows in lines.values() for row in rows})
    return [
        TransferOut(
            id=t.id,
            from_warehouse=codes[t.from_warehouse_id],
            to_warehouse=codes[t.to_warehouse_id],
            status=t.status,
            reference=t.reference,
            note=t.note,
            created_by=t.created_by,
            lines=[
                TransferLineOut(
                    sku=skus[row.product_id],
                    quantity=row.quantity,
                    received=row.received,
                    written_off=row.written_off,
                    # Units only travel once the transfer has shipped and while it is open.
                    in_transit=_domain_line(row).in_transit if t.status in domain.IN_TRANSIT else 0,
                    difference=row.difference,
                )
                for row in lines[t.id]
            ],
            events=[TransferEventOut.model_validate(e) for e in events[t.id]],
            created_at=t.created_at,
            updated_at=t.updated_at,
            shipped_at=t.shipped_at,
            received_at=t.received_at,
        )
        for t in transfers
    ]


def _warehouse_id(session: Session, code: str, field: str) -> int:
    found = repo.warehouse_id(session, code)
    if found is None:
        raise NotFound(Phrase("unknown warehouse %(code)s", code=repr(code)), field=field)
    return found


def _line_products(session: Session, skus: list[str], *, field: str | None = None) -> dict[str, int]:
    """The product of each SKU a transfer names; an unknown SKU (404) or a bundle is refused, naming
    its line (or ``field``). A bundle has no stock of its own: the message names its components."""
    found = catalog_repo.product_ids_by_sku(session, skus)
    parts = catalog_repo.bundle_parts(session, found.values())
    for index, sku in enumerate(skus):
        where = field or f"lines[{index}].sku"
        if sku not in found:
            raise NotFound(Phrase("unknown SKU %(sku)s", sku=repr(sku)), field=where)
        components = parts.get(found[sku])
        if components:
            names = catalog_repo.skus_of(session, (pid for pid, _ in components))
            each = ", ".join(f"{names[pid]} x {qty}" for pid, qty in components)
            raise DomainError(
                f"{sku!r} is a bundle: its stock is that of its components; "
                f"transfer those ({each} per bundle)",
                field=where,
            )
    return found


def _domain_line(row: TransferLine) -> domain.TransferLine:
    return domain.TransferLine(row.product_id, row.quantity, row.received, row.written_off)


def _lines(session: Session, transfer_id: int) -> list[domain.TransferLine]:
    return [_domain_line(row) for row in repo.transfer_lines(session, [transfer_id])[transfer_id]]


def _ledger_reason(transfer: Transfer) -> str:
    return " ".join(filter(None, (f"transfer {transfer.id}", transfer.reference)))


def _book(
    book: StockBook, movements: list[tuple[StockKey, Movement]], transfer: Transfer, actor: str
) -> None:
    for key, movement in movements:
        book.record(key, movement, actor=actor, reason=_ledger_reason(transfer))
    book.flush()


def _move_transfer(
    session: Session, transfer: Transfer, target: TransferStatus, actor: str, message: str | None
) -> None:
    before = TransferStatus(transfer.status)
    domain.check_transfer_transition(before, target)
    transfer.status = target
    transfer.updated_at = utcnow()
    _transfer_event(session, transfer, before, actor, message)
    session.flush()


def _transfer_event(
    session: Session, transfer: Transfer, before: str | None, actor: str, message: str | None
) -> None:
    session.add(
        TransferEvent(
            transfer_id=transfer.id,
            from_status=before,
            to_status=transfer.status,
            actor=actor,
            message=message,
            created_at=transfer.updated_at,
        )
    )
