"""The imports' read side, shared by the API and the console: a run, its errors a page at a time (by
whole rows) and as a CSV file, and which kinds of file a caller may import."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

from sqlalchemy.orm import Session, sessionmaker

from orderly.core.db import transaction
from orderly.core.errors import NotFound
from orderly.imports import repository
from orderly.imports.domain import Kind
from orderly.imports.models import ImportRun
from orderly.imports.schemas import RowErrorOut

#: What importing each kind of file changes, and so the permission it needs besides ``imports:write``.
KIND_PERMISSIONS = {Kind.ORDERS: "orders:write", Kind.STOCK: "stock:write", Kind.CATALOG: "catalog:write"}
_CSV_PAGE = 1000


def may_import(permissions: frozenset[str], kind: Kind) -> bool:
    return KIND_PERMISSIONS[kind] in permissions


def run_of(session: Session, run_id: int) -> ImportRun:
    found = repository.run(session, run_id)
    if found is None:
        raise NotFound(f"no import run {run_id}", field="id")
    return found


def error_page(
    session: Session, run_id: int, after_row: int, limit: int
) -> tuple[list[RowErrorOut], int | None]:
    """A page of a run's errors by row, never ending inside a row (a row's errors stay together), and
    the ``after_row`` of the next page (None: the last)."""
    found = repository.errors(session, run_id, after_row, limit + 1)
    if len(found) <= limit:
        return [RowErrorOut.model_validate(e) for e in found], None
    following = found[limit].row  # the next page starts with this row, whole
    page = [e for e in found[:limit] if e.row < following]
    if not page:  # one row with more errors than a page holds: its first ones only
        page, following = found[:limit], following + 1
    return [RowErrorOut.model_validate(e) for e in page], following - 1


def errors_csv(factory: sessionmaker[Session], run_id: int) -> Iterator[str]:
    """A run's errors as CSV (row, column, value, reason), a page per short transaction."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["row", "column", "value", "reason"])
    after: int | None = 0
    while after is not None:
        with transaction(factory) as session:
            page, after = error_page(session, run_id, after, _CSV_PAGE)
        for error in page:
            # A leading = + - @ would make a spreadsheet run the cell as a formula.
            writer.writerow(
                [error.row, *(_inert(text) for text in (error.column, error.value, error.reason))]
            )
        yield out.getvalue()
        out.seek(0)
        out.truncate()


def _inert(text: str | None) -> str:
    if text and text[0] in "=+-@\t\r":
        return f"'{text}"
    return text or ""
