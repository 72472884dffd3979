"""Order use cases besides ingest: cancel, rejections and their replay. Queries live in ``queries.py``."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from orderly.core.clock import utcnow
from orderly.core.db import transaction
from orderly.core.errors import DomainError, NotFound
from orderly.core.phrases import Phrase
from orderly.inventory import repository as inventory_repo
from orderly.inventory.service import StockBook
from orderly.orders import repository as order_repo
from orderly.orders.domain import (
    CANCELLED_ON_THE_PLATFORM,
    CLOSED,
    HOLDS_RESERVATION,
    IngestReport,
    OrderStatus,
    cancelled_when_closed,
    check_transition,
    figure_changes,
)
from orderly.orders.ingest import ingest_batch
from orderly.orders.models import IngestRejection, Order


def cancel_order(session: Session, order_id: int, *, actor: str, reason: str | Phrase) -> Order:
    """Cancel in the hub (a person's decision, or the platform's as the hub's phrase); any reserved
    stock goes back to the pool."""
    order = order_repo.lock_order(session, order_id)
    current = OrderStatus(order.status)
    check_transition(current, OrderStatus.CANCELLED)
    if current in HOLDS_RESERVATION:
        held = inventory_repo.reserved_by_order(session, [order_id]).get(order_id, {})
        book = StockBook(session, inventory_repo.lock_levels(session, {pid for pid, _ in held}))
        book.release(held, order_id, actor, str(reason))
        book.flush()
    before = order_repo.sale_of(order)
    order.status = OrderStatus.CANCELLED
    order.holds = []
    order.updated_at = utcnow()
    order_repo.add_event(session, order, "cancelled", current, actor, reason)
    session.flush()
    order_repo.add_figures(session, figure_changes([before], [order_repo.sale_of(order)]))
    return order


def rebuild_figures(session: Session) -> int:
    """Count the home page's figures again from the orders (after history was rewritten by hand, or
    to prove the rollup right); returns the rows of ``order_figures`` written."""
    return order_repo.rebuild_figures(session)


def cancel_from_platform(session: Session, shop_id: int, external_ids: Iterable[str], *, actor: str) -> None:
    """The platform cancelled orders it sent no full version of: cancel each here that still can be.

    Every order is locked first, in id order, then the stock they hold, as every writer locks (orders,
    then stock), so a batch of cancellations never deadlocks with ingest. An order already closed
    (shipped, delivered...) keeps its status and the cancellation is noted in its history for a person
    to look at.
    """
    known = order_repo.find_known(session, [(shop_id, external_id) for external_id in external_ids])
    orders = order_repo.lock_orders(session, [k.id for k in known.values()])
    holding = [o.id for o in orders if OrderStatus(o.status) in HOLDS_RESERVATION]
    held = inventory_repo.reserved_by_order(session, holding)
    inventory_repo.lock_levels(session, {pid for by_key in held.values() for pid, _ in by_key})
    for order in orders:
        if order.status == OrderStatus.CANCELLED:
            continue
        if OrderStatus(order.status) in CLOSED:
            note = cancelled_when_closed(order.status)
            order_repo.add_event(session, order, "updated", order.status, actor, note, at=utcnow())
            continue
        cancel_order(session, order.id, actor=actor, reason=CANCELLED_ON_THE_PLATFORM)


def list_rejections(
    session: Session, *, status: str | None = "open", after_id: int = 0, limit: int = 100
) -> list[IngestRejection]:
    return order_repo.rejections_page(session, status=status, after_id=after_id, limit=limit)


def replay_rejections(
    factory: sessionmaker[Session],
    ids: Sequence[int] | None = None,
    *,
    payload: Any = None,
    actor: str = "replay",
) -> IngestReport:
    """Ingest open rejections again (all, or those given), after the cause was fixed.

    ``payload`` replaces the stored payload of a single rejection (a corrected order). Each replayed row
    counts an attempt; one that goes in is marked resolved with its order, one that fails again keeps
    its new reason.
    """
    with transaction(factory) as s:
        rows = order_repo.open_rejection_payloads(s, ids)
    if ids is not None and len(rows) != len(set(ids)):
        missing = sorted(set(ids) - {row_id for row_id, _ in rows})
        raise NotFound(f"no open rejection(s) {', '.join(map(str, missing))}")
    if payload is not None:
        if len(rows) != 1:
            raise DomainError("a corrected payload replays exactly one rejection", field="payload")
        rows = [(rows[0][0], payload)]
    if not rows:
        return IngestReport([])
    report = ingest_batch(factory, [p for _, p in rows], actor=actor, replaying=[i for i, _ in rows])
    now = utcnow()
    with transaction(factory) as s:
        for item, (row_id, body) in zip(report.items, rows, strict=True):
            resolved = None if item.outcome == "rejected" else (item.order_id, body)
            order_repo.count_replay(s, row_id, now, resolved=resolved)
            item.rejection_id = row_id
    return report


def discard_rejection(session: Session, rejection_id: int, *, actor: str) -> None:
    row = order_repo.get_rejection(session, rejection_id)
    if row is None or row.status != "open":
        raise NotFound(f"no open rejection {rejection_id}")
    row.status = "discarded"
    row.reason = f"{row.reason} (discarded by {actor})"[:2000]
    row.updated_at = utcnow()
