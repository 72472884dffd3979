"""All order queries, including the set-based statements of the ingest path."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from sqlalchemy import bindparam, delete, exists, insert, select, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from orderly.catalog.models import Product
from orderly.core.clock import as_utc
from orderly.core.db import (
    RetryTransaction,
    Rows,
    chunks,
    insert_rows,
    is_unique_violation,
    next_ids,
    select_by_keys,
    update_rows,
)
from orderly.orders.models import IngestRejection, Order, OrderEvent, OrderLine

OrderKey = tuple[int, str]  # (shop_id, external_id)


def insert_new(session: Session, columns: Sequence[str], rows: Rows) -> dict[OrderKey, int]:
    """Insert orders unless (shop, external id) exists; return the ids of those this call inserted.

    On PostgreSQL the ids come from the sequence first and the rows are COPYed straight in; the unique
    key still decides, and a duplicate (another writer won a race) retries the whole transaction.
    """
    ids = next_ids(session, Order, len(rows))
    if ids is not None:
        shop_at, external_at = columns.index("shop_id"), columns.index("external_id")
        try:
            insert_rows(
                session, Order, ("id", *columns), [(i, *row) for i, row in zip(ids, rows, strict=True)]
            )
        except (DBAPIError, psycopg.Error) as exc:
            if is_unique_violation(exc):
                raise RetryTransaction("another writer imported some of these orders first") from exc
            raise
        return {(row[shop_at], row[external_at]): i for i, row in zip(ids, rows, strict=True)}
    inserted = insert_rows(
        session,
        Order,
        columns,
        rows,
        skip_conflicts_on=["shop_id", "external_id"],
        returning=["id", "shop_id", "external_id"],
    )
    return {(shop_id, external_id): order_id for order_id, shop_id, external_id in inserted}


@dataclass(frozen=True)
class KnownOrder:
    id: int
    status: str
    platform_updated_at: datetime
    holds: list[dict[str, Any]]
    content_digest: str | None


def find_known(
    session: Session, keys: Sequence[OrderKey], *, lock: bool = False
) -> dict[OrderKey, KnownOrder]:
    rows = select_by_keys(
        session,
        Order,
        ["shop_id", "external_id"],
        list(keys),
        ["id", "shop_id", "external_id", "status", "platform_updated_at", "holds", "content_digest"],
        lock=lock,
    )
    return {
        (shop_id, external_id): KnownOrder(order_id, status, as_utc(updated), holds or [], digest)
        for order_id, shop_id, external_id, status, updated, holds, digest in rows
    }


def line_products(session: Session, order_ids: Iterable[int]) -> dict[int, list[tuple[int, int, int]]]:
    """(product, quantity, units shipped outside the hub) of each order's lines."""
    lines: dict[int, list[tuple[int, int, int]]] = defaultdict(list)
    for part in chunks(sorted(set(order_ids))):
        query = select(OrderLine.order_id, OrderLine.product_id, OrderLine.quantity, OrderLine.shipped).where(
            OrderLine.order_id.in_(part)
        )
        for order_id, product_id, quantity, shipped in session.execute(query).all():
            lines[order_id].append((product_id, quantity, shipped))
    return dict(lines)


LINE_COLUMNS = (
    "order_id",
    "line_no",
    "platform_sku",
    "listing_id",
    "product_id",
    "title",
    "quantity",
    "shipped",
    "unit_price",
    "discount",
    "tax",
)
EVENT_COLUMNS = ("order_id", "kind", "from_status", "to_status", "actor", "message", "created_at")


def insert_lines(session: Session, rows: Rows) -> None:
    """Rows in ``LINE_COLUMNS`` order."""
    insert_rows(session, OrderLine, LINE_COLUMNS, rows)


def replace_lines(session: Session, order_ids: list[int], rows: Rows) -> None:
    for part in chunks(order_ids):
        session.execute(delete(OrderLine).where(OrderLine.order_id.in_(part)))
    insert_lines(session, rows)


def insert_events(session: Session, rows: Rows) -> None:
    """Rows in ``EVENT_COLUMNS`` order."""
    insert_rows(session, OrderEvent, EVENT_COLUMNS, rows)


def has_open_rejections(session: Session) -> bool:
    return bool(session.scalar(select(exists().where(IngestRejection.status == "open"))))


def resolve_rejections(session: Session, resolved: list[dict[str, Any]]) -> None:
    """Close the open rejections of orders that have now gone in.

    Rows carry ``p_shop_code``, ``p_external_id``, ``p_order_id`` and ``p_now``.
    """
    if not resolved:
        return
    stmt = (
        update(IngestRejection)
        .where(
            IngestRejection.status == "open",
            IngestRejection.shop_code == bindparam("p_shop_code"),
            IngestRejection.external_id == bindparam("p_external_id"),
        )
        .values(status="resolved", order_id=bindparam("p_order_id"), updated_at=bindparam("p_now"))
    )
    session.connection().execute(stmt, resolved)


def insert_rejections(session: Session, rows: list[dict[str, Any]]) -> list[int]:
    if not rows:
        return []
    stmt = insert(IngestRejection).returning(IngestRejection.id, sort_by_parameter_order=True)
    result = session.connection().execute(stmt, rows)
    return [row_id for (row_id,) in result.all()]


def update_rejections(
    session: Session, rows: list[dict[str, Any]], *, increment: frozenset[str] = frozenset()
) -> None:
    if rows:
        update_rows(session, IngestRejection, rows, increment=increment)


def open_rejection_ids(session: Session, keys: set[tuple[str, str]]) -> dict[tuple[str, str], int]:
    """The open rejection of each (shop code, order id) among ``keys``; the newest where there are several."""
    rows = select_by_keys(
        session,
        IngestRejection,
        ["shop_code", "external_id"],
        sorted(keys),
        ["id", "shop_code", "external_id", "status"],
    )
    open_rows = (row for row in sorted(rows) if row[3] == "open")
    return {(shop, external_id): row_id for row_id, shop, external_id, _ in open_rows}


def orders_with_sku(sku: str) -> Any:
    """An EXISTS clause: the order has a line of this SKU (ours) or of this platform SKU."""
    return exists().where(
        OrderLine.order_id == Order.id,
        (OrderLine.platform_sku == sku)
        | OrderLine.product_id.in_(select(Product.id).where(Product.sku == sku).scalar_subquery()),
    )


def add_event(session: Session, order: Order, kind: str, before: str, actor: str, message: str) -> None:
    """A line in the order's history: what happened, from which status to its status now, by whom."""
    session.add(
        OrderEvent(
            order_id=order.id,
            kind=kind,
            from_status=before,
            to_status=order.status,
            actor=actor,
            message=message,
            created_at=order.updated_at,
        )
    )
