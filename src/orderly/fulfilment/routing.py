"""Re-routing an order not yet shipped: route it again with the routing rules in force and the stock as
it stands, release what it holds and reserve where the route now sends it (nothing moves when that is
where it already is). Ingest and the release of held orders route as they allocate
(``review/routing.py``); this is the same decision made again on request. A person may also name the
warehouse to ship from, or split the order over the warehouses its route allows (one parcel from
each): then stock that cannot fill it as asked refuses the change and nothing moves.

Locks in the hub's order: the order first, then its stock rows by id, so a re-route racing a
cancellation, a parcel or another re-route of the order takes turns with it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy.orm import Session

from orderly.catalog import repository as catalog_repo
from orderly.core.clock import utcnow
from orderly.core.errors import Conflict, InvalidTransition, NotFound
from orderly.core.phrases import Phrase, listed
from orderly.fulfilment import repository as repo
from orderly.inventory import repository as inventory_repo
from orderly.inventory.domain import Allocation, allocate
from orderly.inventory.service import StockBook
from orderly.orders import repository as order_repo
from orderly.orders.domain import HoldReason, OrderStatus, check_change, shortage_hold, status_word
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


def reroute(
    session: Session, order_id: int, *, actor: str, warehouse: str | None = None, split: bool = False
) -> Rerouted:
    """Route an order again and reserve its stock where the route sends it, or in ``warehouse`` (a
    person's choice, past the route), or split over the route's warehouses when ``split``. 409 once it
    has a parcel or left the statuses that can change warehouse (approved, allocated, on hold), and when
    the warehouse or the split asked for cannot fill it."""
    order = order_repo.lock_order(session, order_id)
    if order.status not in REROUTABLE:
        raise InvalidTransition(
            Phrase(
                "order %(order)s is %(status)s: only an approved, allocated or held order can be re-routed",
                order=order_id,
                status=status_word(order.status),
            )
        )
    if repo.in_live_shipments(session, order_id):
        raise Conflict(
            Phrase(
                "order %(order)s has parcels not yet shipped: void them before re-routing it", order=order_id
            )
        )
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
    codes = inventory_repo.warehouse_codes(session)
    demand = demand_of(order, needs, routed)
    if warehouse is not None:
        chosen = next((wid for wid in warehouses if codes.get(wid) == warehouse), None)
        if chosen is None:
            raise NotFound(Phrase("no active warehouse %(code)s", code=repr(warehouse)), field="warehouse")
        demand = replace(demand, warehouse_ids=(chosen,), split=False)
    elif split:
        demand = replace(demand, split=True)
    tried = list(demand.warehouse_ids) if demand.warehouse_ids is not None else warehouses
    # What the warehouses tried hold of each product, before this allocation takes from them.
    available = {
        pid: sum(levels[(pid, wid)].available for wid in tried if (pid, wid) in levels)
        for pid in needs[order_id]
    }
    (alloc,) = allocate([demand], levels, warehouses)
    if (warehouse is not None or split) and not alloc.ok:
        tried_as = Phrase("warehouse %(code)s", code=warehouse) if warehouse else Phrase("a split")
        raise Conflict(_cannot(session, order_id, alloc, available, tried_as))
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
    how = (
        Phrase("re-routed to %(code)s as asked", code=warehouse)
        if warehouse
        else Phrase("re-routed split as asked")
        if split
        else Phrase("re-routed")
    )
    places = ", ".join(where)
    if not moved:
        note = Phrase("%(how)s: stays in %(where)s", how=how, where=places)
    elif alloc.ok:
        note = Phrase("%(how)s: stock reserved in %(where)s", how=how, where=places)
    else:
        note = Phrase("re-routed: no warehouse the route allows holds it all; nothing reserved")
    if moved and before_where:
        note = Phrase("%(note)s (was %(where)s)", note=note, where=", ".join(before_where))
    order_repo.add_event(session, order, "rerouted", before, actor, note)
    session.flush()
    return Rerouted(order_id, status, where, moved, note.english(), order.routing)


def _cannot(
    session: Session, order_id: int, alloc: Allocation, available: dict[int, int], asked: Phrase
) -> Phrase:
    """Why the warehouse or split a person asked for cannot fill an order."""
    needs = dict(alloc.needs)
    short = {pid for pid, qty in needs.items() if available.get(pid, 0) < qty} or {
        s.product_id for s in alloc.shortages
    }
    skus = catalog_repo.skus_of(session, short)
    named = listed(
        [
            Phrase(
                "%(sku)s (needs %(needed)s, %(available)s available)",
                sku=skus.get(pid, pid),
                needed=needs[pid],
                available=available.get(pid, 0),
            )
            for pid in sorted(short)
        ],
        commas=True,
    )
    return Phrase(
        "order %(order)s cannot be filled by %(asked)s: short of %(short)s; nothing changed",
        order=order_id,
        asked=asked,
        short=named,
    )
