"""Holds after ingest: a person releases or holds an order, and orders waiting for stock or for a
presale date are released when the condition clears. Every release is in the order's history with who
and why. Orders are locked in id order, then stock through :class:`StockBook`, like every writer."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, cast

from sqlalchemy.orm import Session

from orderly.catalog import repository as catalog_repo
from orderly.core.clock import utcnow
from orderly.core.errors import InvalidTransition
from orderly.core.phrases import Arg, Phrase
from orderly.inventory import repository as inventory_repo
from orderly.inventory.domain import Demand, allocate
from orderly.inventory.service import StockBook
from orderly.orders import repository as order_repo
from orderly.orders.domain import (
    Hold,
    HoldReason,
    OrderStatus,
    check_transition,
    left_to_ship,
    reasons_named,
    reserved_in,
    shortage_hold,
    status_word,
)
from orderly.orders.models import Order
from orderly.review.routing import Routed, route_stored

RECHECK_BATCH = 500  # held orders re-checked per job, oldest first


def hold_order(session: Session, order_id: int, *, actor: str, note: str) -> Order:
    """A person holds an order; it keeps any stock it reserved, and only a person releases it."""
    order = order_repo.lock_order(session, order_id)
    before = order.status
    if before != OrderStatus.ON_HOLD:
        check_transition(OrderStatus(before), OrderStatus.ON_HOLD)
    order.status = OrderStatus.ON_HOLD
    order.holds = [*order.holds, Hold(HoldReason.MANUAL, note, [{"by": actor}]).as_json()]
    order.updated_at = utcnow()
    order_repo.add_event(session, order, "held", before, actor, note)
    session.flush()
    return order


def release_order(session: Session, order_id: int, *, actor: str, note: Arg) -> Order:
    """A person releases a held order with a note (the hub's own as a phrase, when a review releases
    it): every hold is lifted. The order ships with the stock it kept, or reserves stock now; when
    stock is short it waits, held for stock only."""
    order = order_repo.lock_order(session, order_id)
    if order.status != OrderStatus.ON_HOLD:
        raise InvalidTransition(
            Phrase(
                "order %(order)s is %(status)s, not on hold: nothing to release",
                order=order_id,
                status=status_word(order.status),
            )
        )
    return _lift(session, order, "released", actor, note)


def approve_order(session: Session, order_id: int, *, actor: str, note: str) -> Order:
    """A person approves an order pending review or on hold, with a note: it goes on as a released one
    does (every hold lifted, the stock it kept or reserves now; held for stock only when short)."""
    order = order_repo.lock_order(session, order_id)
    if order.status not in {OrderStatus.PENDING_REVIEW, OrderStatus.ON_HOLD}:
        raise InvalidTransition(
            Phrase(
                "order %(order)s is %(status)s: only an order pending review or on hold can be approved",
                order=order_id,
                status=status_word(order.status),
            )
        )
    return _lift(session, order, "approved", actor, note)


def _lift(session: Session, order: Order, kind: str, actor: str, note: Arg) -> Order:
    before = order.status
    lifted = reasons_named(h["reason"] for h in order.holds) if order.holds else Phrase("none")
    outcome = _release(session, [order], actor)[order.id]
    said = Phrase("%(note)s (lifted: %(lifted)s; %(outcome)s)", note=note, lifted=lifted, outcome=outcome)
    order_repo.add_event(session, order, kind, before, actor, said)
    session.flush()
    return order


def _release(session: Session, orders: Sequence[Order], actor: str) -> dict[int, Arg]:
    """Lift every hold of these (locked) orders: each goes to allocated with the stock it holds or can
    reserve now, first placed first served; the others stay held for stock. What happened, by order."""
    now = utcnow()
    held = inventory_repo.reserved_by_order(session, [o.id for o in orders])
    needs = needs_left(session, [o.id for o in orders if o.id not in held])
    book = StockBook(
        session, inventory_repo.lock_levels(session, {pid for by in needs.values() for pid in by})
    )
    warehouses = inventory_repo.active_warehouse_ids(session)
    warehouse_codes = inventory_repo.warehouse_codes(session)
    waiting = sorted((o for o in orders if o.id not in held), key=lambda o: (o.placed_at, o.id))
    routed = route_stored(session, waiting, now=now)  # nothing when no routing rule applies
    allocations = {
        a.order_key: a for a in book.allocate([demand_of(o, needs, routed) for o in waiting], warehouses)
    }
    outcomes: dict[int, Arg] = {}
    codes = catalog_repo.skus_of(session, {s.product_id for a in allocations.values() for s in a.shortages})
    for order in orders:
        order.updated_at = now
        if order.id in held:
            order.status, order.holds = OrderStatus.ALLOCATED, []
            outcomes[order.id] = Phrase(
                "ships with the stock it kept in warehouse %(warehouse)s",
                warehouse=str(warehouse_codes.get(order.warehouse_id or 0)),
            )
            continue
        alloc = allocations[order.id]
        if routed.routes:
            order.routing = routed.as_json(("order", order.id), alloc)
        if alloc.ok:
            book.reserve(alloc, order.id, actor)
            order.status, order.warehouse_id, order.holds = OrderStatus.ALLOCATED, alloc.warehouse_id, []
            outcomes[order.id] = reserved_in(str(warehouse_codes.get(alloc.warehouse_id or 0)))
        else:
            hold = shortage_hold(alloc.shortages, codes)
            order.status, order.holds = OrderStatus.ON_HOLD, [hold.as_json()]
            outcomes[order.id] = hold.phrase or hold.message
    book.flush()
    return outcomes


def demand_of(order: Order, needs: dict[int, dict[int, int]], routed: Routed) -> Demand:
    """What a waiting order asks of the stock: as routed, else the default warehouse order (split when
    its review said so)."""
    options = routed.options(("order", order.id))
    if options is not None:
        return Demand(order.id, needs[order.id], *options)
    return Demand(order.id, needs[order.id], None, bool((order.review or {}).get("split")))


def needs_left(session: Session, order_ids: list[int]) -> dict[int, dict[int, int]]:
    lines = order_repo.line_products(session, order_ids)
    parts = catalog_repo.bundle_parts(session, {pid for group in lines.values() for pid, _, _ in group})
    return {order_id: left_to_ship(lines.get(order_id, []), parts) for order_id in order_ids}


def _only_stock(holds: list[dict[str, Any]]) -> bool:
    return all(hold.get("reason") == HoldReason.OUT_OF_STOCK for hold in holds)


def _unreleased_presale(session: Session, order_ids: list[int]) -> set[int]:
    """Those of these orders that need a presale item (itself or in a bundle) not yet released."""
    presale = catalog_repo.presale_products(session, now=utcnow())
    if not presale:
        return set()
    presale |= catalog_repo.bundles_containing(session, presale)
    return order_repo.orders_needing(session, order_ids, presale)


def release_waiting(
    session: Session, product_ids: Iterable[int] | None = None, *, actor: str = "review"
) -> int:
    """Release, oldest first, orders that only wait for stock (held for stock, a presale date that
    has passed, or approved as backorders), among those needing these products (all when None).
    Returns how many were released."""
    needing: set[int] | None = None
    if product_ids is not None:
        products = set(product_ids)
        needing = products | catalog_repo.bundles_containing(session, products)
    rows = order_repo.waiting_for_stock(session, needing, limit=RECHECK_BATCH * 4)
    looked = [order_id for order_id, holds in rows if _only_stock(holds)]
    waiting_for_date = _unreleased_presale(session, looked)
    candidates = _fillable(session, [order_id for order_id in looked if order_id not in waiting_for_date])
    if not candidates:
        return 0
    locked = order_repo.lock_orders(session, candidates)
    # Another transaction may have changed them between the look and the lock.
    locked = [
        o
        for o in locked
        if (o.status == OrderStatus.ON_HOLD or (o.status == OrderStatus.APPROVED and o.warehouse_id is None))
        and _only_stock(o.holds)
    ]
    before = {o.id: (o.status, o.holds) for o in locked}
    outcomes = _release(session, locked, actor)
    released = 0
    for order in locked:
        status, holds = before[order.id]
        if order.status == OrderStatus.ALLOCATED:
            released += 1
            order_repo.add_event(
                session,
                order,
                "released",
                status,
                actor,
                Phrase("condition cleared: %(outcome)s", outcome=outcomes[order.id]),
            )
        elif status == OrderStatus.APPROVED:
            order.status, order.holds = status, holds  # a backorder keeps waiting as it was
    session.flush()
    return released


def _fillable(session: Session, order_ids: list[int]) -> list[int]:
    """Those of these waiting orders (oldest first) that the stock as it stands can fill, so that only
    they are locked and tried; the allocation under the locks decides."""
    kept = inventory_repo.reserved_by_order(session, order_ids)  # held with their stock: nothing to find
    needs = needs_left(session, [i for i in order_ids if i not in kept])
    levels = inventory_repo.read_levels(session, {pid for by in needs.values() for pid in by})
    warehouses = inventory_repo.active_warehouse_ids(session)
    plan = allocate([Demand(i, needs[i], None, True) for i in order_ids if i not in kept], levels, warehouses)
    fillable = {cast(int, a.order_key) for a in plan if a.ok} | set(kept)
    return [i for i in order_ids if i in fillable][:RECHECK_BATCH]


def presale_due(session: Session) -> list[int]:
    """Products whose presale date has passed and that held orders may be waiting for."""
    return catalog_repo.presale_products_due(session, now=utcnow())
