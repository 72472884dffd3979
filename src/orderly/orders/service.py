"""Order use cases besides ingest: cancel, rejections and their replay. Queries live in ``queries.py``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from orderly.core.clock import utcnow
from orderly.core.db import transaction
from orderly.core.errors import DomainError, NotFound
from orderly.inventory import repository as inventory_repo
from orderly.inventory.service import StockBook
from orderly.orders.domain import CLOSED, HOLDS_RESERVATION, OrderStatus, check_transition
from orderly.orders.ingest import IngestReport, ingest_batch
from orderly.orders.models import IngestRejection, Order, OrderEvent


def cancel_order(session: Session, order_id: int, *, actor: str, reason: str) -> Order:
    """Cancel in the hub (a person's decision); any reserved stock goes back to the pool."""
    order = session.scalar(select(Order).where(Order.id == order_id).with_for_update())
    if order is None:
        raise NotFound(f"no order {order_id}")
    current = OrderStatus(order.status)
    check_transition(current, OrderStatus.CANCELLED)
    if current in HOLDS_RESERVATION:
        held = inventory_repo.reserved_by_order(session, [order_id]).get(order_id, {})
        book = StockBook(session, {pid for pid, _ in held})
        book.release(held, order_id, actor, reason)
        book.flush()
    order.status = OrderStatus.CANCELLED
    order.holds = []
    order.updated_at = utcnow()
    session.add(
        OrderEvent(
            order_id=order_id,
            kind="cancelled",
            from_status=current,
            to_status=OrderStatus.CANCELLED,
            actor=actor,
            message=reason,
            created_at=order.updated_at,
        )
    )
    session.flush()
    return order


def cancel_from_platform(session: Session, shop_id: int, external_id: str, *, actor: str) -> bool:
    """The platform cancelled an order it sent no full version of: cancel it here if it still can be.

    Returns whether the order was cancelled now. An order already closed (shipped, delivered...) keeps
    its status and the cancellation is noted in its history for a person to look at.
    """
    order = session.scalar(
        select(Order).where(Order.shop_id == shop_id, Order.external_id == external_id).with_for_update()
    )
    if order is None or order.status == OrderStatus.CANCELLED:
        return False
    if OrderStatus(order.status) in CLOSED:
        note = f"the platform reports a cancellation but the order is already {order.status}"
        session.add(
            OrderEvent(
                order_id=order.id,
                kind="updated",
                from_status=order.status,
                to_status=order.status,
                actor=actor,
                message=note,
                created_at=utcnow(),
            )
        )
        return False
    cancel_order(session, order.id, actor=actor, reason="cancelled on the platform")
    return True


def list_rejections(
    session: Session, *, status: str | None = "open", after_id: int = 0, limit: int = 100
) -> list[IngestRejection]:
    query = (
        select(IngestRejection).where(IngestRejection.id > after_id).order_by(IngestRejection.id).limit(limit)
    )
    if status:
        query = query.where(IngestRejection.status == status)
    return list(session.scalars(query))


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
        query = select(IngestRejection.id, IngestRejection.payload).where(IngestRejection.status == "open")
        if ids is not None:
            query = query.where(IngestRejection.id.in_(list(ids)))
        rows: list[tuple[int, Any]] = [(i, p) for i, p in s.execute(query.order_by(IngestRejection.id))]
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
            values: dict[str, Any] = {"attempts": IngestRejection.attempts + 1, "updated_at": now}
            if item.outcome != "rejected":
                values |= {"status": "resolved", "order_id": item.order_id, "payload": body}
            s.execute(update(IngestRejection).where(IngestRejection.id == row_id).values(values))
            item.rejection_id = row_id
    return report


def discard_rejection(session: Session, rejection_id: int, *, actor: str) -> None:
    row = session.get(IngestRejection, rejection_id)
    if row is None or row.status != "open":
        raise NotFound(f"no open rejection {rejection_id}")
    row.status = "discarded"
    row.reason = f"{row.reason} (discarded by {actor})"[:2000]
    row.updated_at = utcnow()
