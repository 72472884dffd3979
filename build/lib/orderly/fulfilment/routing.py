"""Re-routing an order not yet shipped: route it again with the routing rules in force and the stock as
it stands, release what it holds and reserve where the route now sends it (nothing moves when that is
where it already is). Ingest and the release of held orders route as they allocate
(``review/routing.py``); this is the same decision made again on request.

Locks in the hub's order: the order first, then its stock rows by id, so a re-route racing a
cancellation, a parcel or another re-route of the order takes turns with it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from orderly.catalog import repository as catalog_repo
from orderly.core.clock import utcnow
from orderly.core.errors import Conflict, InvalidTransition
from orderly.fulfilment import repository as repo
from orderly.inventory import repository as inventory_repo
from orderly.inventory.domain import allocate
from orderly.inventory.service import StockBook
from orderly.orders import repository as order_repo
from orderly.orders.domain import HoldReason, OrderStatus, check_change, shortage_hold
from orderly.orders.holds import demand_of, needs_left
from orderly.review.routing import route_stored

#: Statuses an order can be re-routed in: decided, not yet labelled or shipped.
REROUTABLE = frozenset({OrderStatus.APPROVED, OrderStatus.ALLOCATED, OrderStatus.ON_HOLD})


@dataclass(frozen=True, slots=True)
class Rerouted:
    order_id: int
    status: str
    warehouses: list[str]  # where its stock is reserved now (several when split)
    moved: bool  # whether its reservation changed
    note: str
    routing: dict[str, Any] | None


def reroute(session: Session, order_id: int, *, actor: str) -> Rerouted:
    """Route an order again and reserve its stock where the route sends it. 409 once it has a parcel or
    left the statuses that can change warehouse (approved, allocated, on hold)."""
    order = order_repo.lock_order(session, order_id)
    if order.status not in REROUTABLE:
        raise InvalidTransition(
            f"order {order_id} is {order.status}: only an approved, allocated or held order can be re-routed"
        )
    if repo.in_live_shipments(session, order_id):
        raise Conflict(f"order {order_id} has parcels not yet shipped: void them before re-routing it")
    now = utcnow()
    held = inventory_repo.reserved_by_order(session, [order_id]).get(order_id, {})
    needs = needs_left(session, [order_id])
    routed = route_stored(session, [order], now=now)
    book = StockBook(
        session, inventory_repo.lock_levels(session, set(needs[order_id]) | {pid for pid, _ in held})
    )
    levels = book.snapshot()
    for key, qty in held.items():  # planned as if released: the order may stay where it is
        levels[key].reserved -= qty
    warehouses = inventory_repo.active_warehouse_ids(session)
    (alloc,) = allocate([demand_of(order, needs, routed)], levels, warehouses)
    codes = inventory_repo.warehouse_codes(session)
    before_where = sorted({codes.get(wid, str(wid)) for (_, wid) in held})
    moved = not (alloc.ok and dict(alloc.reservations()) == held)
    if moved:
        book.release(held, order_id, actor, "re-routed")
        if alloc.ok:
            book.reserve(alloc, order_id, actor)
        book.flush()
    where = sorted({codes.get(wid, str(wid)) for (_, wid), _ in alloc.reservations()}) if alloc.ok else []
    holds = [h for h in order.holds if h.get("reason") != HoldReason.OUT_OF_STOCK]
    before = order.status
    if not alloc.ok and before != OrderStatus.APPROVED:  # a backorder keeps waiting approved
        skus = catalog_repo.skus_of(session, {s.product_id for s in alloc.shortages})
        holds.append(shortage_hold(alloc.shortages, skus).as_json())
    status = OrderStatus.ON_HOLD if holds else OrderStatus.ALLOCATED if alloc.ok else OrderStatus(before)
    check_change(before, status)
    order.status, order.holds, order.updated_at = status, holds, now
    order.warehouse_id = alloc.warehouse_id if alloc.ok else None
    order.routing = routed.as_json(("order", order_id), alloc)
    was = f" (was {', '.join(before_where)})" if before_where else ""
    if not moved:
        note = f"re-routed: stays in {', '.join(where)}"
    elif alloc.ok:
        note = f"re-routed: stock reserved in {', '.join(where)}{was}"
    else:
        note = f"re-routed: no warehouse the route allows holds it all; nothing reserved{was}"
    order_repo.add_event(session, order, "rerouted", before, actor, note)
    session.flush()
    return Rerouted(order_id, status, where, moved, note, order.routing)
