"""The imports' queries: runs and their errors, saved profiles."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from orderly.core.clock import utcnow
from orderly.core.db import chunks, insert_rows, select_by_keys
from orderly.imports.domain import Kind, RowError
from orderly.imports.models import ImportProfile, ImportRowError, ImportRun
from orderly.orders import repository as order_repo
from orderly.orders.models import Order, RawPayload

_ERROR_COLUMNS = ("run_id", "row", "column_name", "value", "reason")


def add_run(session: Session, **values: Any) -> int:
    run = ImportRun(**values)
    session.add(run)
    session.flush()
    return run.id


def change_run(session: Session, run_id: int, **values: Any) -> None:
    session.execute(update(ImportRun).where(ImportRun.id == run_id).values(**values))


def add_to_run(session: Session, run_id: int, **figures: int) -> None:
    """Add to a run's figures (``rows_read = rows_read + n``): the processes of one run never overwrite
    each other's."""
    values = {name: getattr(ImportRun, name) + amount for name, amount in figures.items()}
    session.execute(update(ImportRun).where(ImportRun.id == run_id).values(**values))


def add_errors(session: Session, run_id: int, errors: Sequence[RowError]) -> None:
    """Store a batch's errors with one statement."""
    insert_rows(
        session,
        ImportRowError,
        _ERROR_COLUMNS,
        [(run_id, e.row, e.column, e.value, e.reason) for e in errors],
    )


def run(session: Session, run_id: int) -> ImportRun | None:
    return session.get(ImportRun, run_id)


def runs(session: Session, *, limit: int, before_id: int | None = None) -> list[ImportRun]:
    """The newest runs first, those with an id below ``before_id`` when given (the next page)."""
    query = select(ImportRun).order_by(ImportRun.id.desc()).limit(limit)
    if before_id is not None:
        query = query.where(ImportRun.id < before_id)
    return list(session.scalars(query))


def errors(session: Session, run_id: int, after_row: int = 0, limit: int = 100) -> list[ImportRowError]:
    """A run's errors by row, from the row after ``after_row`` (paging by row number)."""
    query = (
        select(ImportRowError)
        .where(ImportRowError.run_id == run_id, ImportRowError.row > after_row)
        .order_by(ImportRowError.row, ImportRowError.id)
        .limit(limit)
    )
    return list(session.scalars(query))


def profile(session: Session, name: str) -> ImportProfile | None:
    return session.scalars(select(ImportProfile).where(ImportProfile.name == name)).one_or_none()


def profiles(session: Session, kind: Kind | None = None) -> list[ImportProfile]:
    query = select(ImportProfile).order_by(ImportProfile.name)
    if kind is not None:
        query = query.where(ImportProfile.kind == kind)
    return list(session.scalars(query))


def save_profile(
    session: Session, name: str, kind: Kind, columns: Mapping[str, str], fixed: Mapping[str, str]
) -> ImportProfile:
    found = profile(session, name)
    if found is None:
        found = ImportProfile(name=name)
        session.add(found)
    found.kind = kind
    found.columns = dict(columns)
    found.fixed = dict(fixed)
    found.updated_at = utcnow()
    session.flush()
    return found


def delete_profile(session: Session, name: str) -> bool:
    return bool(session.execute(delete(ImportProfile).where(ImportProfile.name == name)).rowcount)  # type: ignore[attr-defined]


def file_versions(session: Session, shop_id: int, external_ids: Sequence[str], source: str) -> dict[str, Any]:
    """The payload each of these orders of the shop was last stored with, where a file gave it, and
    only the payloads whose ``source`` says so (an order a channel gave keeps its body in the database).

    A file's lines are merged into the version read here, so no other import may store a version of
    the same order until the caller's transaction ends, or the lines it added would be lost: each
    order number is locked first (``lock_order_keys``), whether or not it is stored yet, then the stored
    orders found by their key (``select_by_keys``: the same plan on a fresh hub whose tables grow
    through its first import as on one the database has analyzed) and locked (``lock_orders``), which
    reads them as any import this one waited for left them."""
    found: dict[str, Any] = {}
    keys = [(shop_id, external_id) for external_id in sorted(set(external_ids))]
    order_repo.lock_order_keys(session, keys)
    stored = select_by_keys(session, Order, ["shop_id", "external_id"], keys, ["id"])
    locked = order_repo.lock_orders(session, [order_id for (order_id,) in stored])
    named = {order.raw_payload_id: order.external_id for order in locked if order.raw_payload_id is not None}
    said = RawPayload.body["source"].as_string() == source
    for part in chunks(sorted(named)):
        query = select(RawPayload.id, RawPayload.body).where(RawPayload.id.in_(part), said)
        found.update((named[payload_id], body) for payload_id, body in session.execute(query))
    return found
