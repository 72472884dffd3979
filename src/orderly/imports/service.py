"""The run of one import: read the file as it streams, map each row's cells to the kind's fields, hand
the rows to the kind a batch at a time (each batch one short transaction, rolled back in a dry run),
and keep the run's figures, a preview and every bad row's error as it goes, so a file of any length
imports in bounded memory and a failure part-way leaves a report of what was done."""

from __future__ import annotations

import dataclasses
import importlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, BinaryIO, Protocol

from sqlalchemy import delete
from sqlalchemy.orm import Session, sessionmaker

from orderly.core.clock import utcnow
from orderly.core.db import collector_paused, run_in_transaction, transaction
from orderly.core.errors import DomainError
from orderly.imports import mapping, repository
from orderly.imports.domain import FieldSpec, Kind, Layout, Outcome, Row, RowError, RunStatus
from orderly.imports.files import open_table
from orderly.imports.models import ImportRowError

log = logging.getLogger(__name__)

PREVIEW_ROWS = 20


@dataclass(frozen=True)
class ImportOptions:
    shop: str | None = None  # shop code (orders)
    warehouse: str | None = None  # default warehouse code (stock) when the file has no warehouse column
    time_zone: str = "UTC"  # IANA zone for dates without an offset (the shop's, else the hub's)
    currency: str | None = None  # default currency when the file has none
    mode: str | None = None  # stock: "opening" or "count"
    actor: str = "import"  # who, for the audit and the ledger
    run_id: int | None = None  # the run's own id, set by run_import (the ledger's "count from import 12")


class ImportKind(Protocol):
    kind: Kind
    fields: Sequence[FieldSpec]
    batch_size: int
    #: A field whose rows belong together (an order's lines): a batch never ends between two adjacent
    #: rows with the same value. None: rows stand alone.
    group_by: str | None

    def apply(
        self, session: Session, rows: Sequence[Row], options: ImportOptions, *, dry_run: bool
    ) -> Outcome:
        """Validate and write one batch in the service's transaction (rolled back after a dry run)."""
        ...


_KINDS: dict[Kind, ImportKind] = {}


def register(kind: ImportKind) -> None:
    """Called by each kind's module (``imports/orders.py``, ``stock.py``, ``catalog.py``) as it loads."""
    _KINDS[kind.kind] = kind


def kind_of(kind: Kind) -> ImportKind:
    """The registered kind, its module loaded on first use (named after the kind)."""
    if kind not in _KINDS:
        importlib.import_module(f"orderly.imports.{kind.value}")
    return _KINDS[kind]


def options_json(options: ImportOptions, profile: str | None) -> dict[str, Any]:
    return {**dataclasses.asdict(options), "run_id": None, "profile": profile}


def options_from(stored: dict[str, Any]) -> tuple[ImportOptions, str | None]:
    names = {f.name for f in dataclasses.fields(ImportOptions)}
    return ImportOptions(**{k: v for k, v in stored.items() if k in names}), stored.get("profile")


def add_run(
    session: Session,
    filename: str,
    kind: Kind,
    options: ImportOptions,
    *,
    profile: str | None = None,
    dry_run: bool = False,
    status: RunStatus = RunStatus.RUNNING,
    stored_path: str | None = None,
) -> int:
    """Record a run before it starts (``queued`` for an upload a job will run)."""
    return repository.add_run(
        session,
        kind=str(kind),
        filename=filename[:300],
        options=options_json(options, profile),
        dry_run=dry_run,
        status=str(status),
        actor=options.actor,
        stored_path=stored_path,
        started_at=utcnow() if status == RunStatus.RUNNING else None,
        preview=[],
    )


@dataclass
class _Totals:
    rows_read: int = 0
    imported: int = 0
    unchanged: int = 0
    failed: int = 0

    def add(self, outcome: Outcome, rows: int) -> None:
        self.rows_read += rows
        self.imported += outcome.imported
        self.unchanged += outcome.unchanged
        self.failed += len(outcome.errors)


def run_import(
    factory: sessionmaker[Session],
    source: BinaryIO,
    filename: str,
    kind: Kind,
    options: ImportOptions,
    *,
    profile: str | None = None,
    dry_run: bool = False,
    progress: Callable[[int], None] | None = None,
    run_id: int | None = None,
) -> int:
    """Import ``source`` (seekable) and return its run's id; ``run_id`` runs a queued run instead of
    recording a new one. A file the hub cannot read, or that lacks a required column, fails the run
    with its reason and imports nothing; bad rows are reported and every good row is imported."""
    impl = kind_of(kind)
    with transaction(factory) as session:
        if run_id is None:
            run_id = add_run(session, filename, kind, options, profile=profile, dry_run=dry_run)
        else:  # a job run again after its worker stopped starts over: re-importing changes nothing
            session.execute(delete(ImportRowError).where(ImportRowError.run_id == run_id))
            repository.change_run(
                session,
                run_id,
                status=str(RunStatus.RUNNING),
                started_at=utcnow(),
                **dataclasses.asdict(_Totals()),
            )
    options = dataclasses.replace(options, run_id=run_id)
    totals = _Totals()
    try:
        table = open_table(source, filename)
        with transaction(factory) as session:
            layout = (
                mapping.load_profile(session, profile, kind)
                if profile
                else mapping.detect(kind, impl.fields, table.headers)
            )
        missing = layout.missing(impl.fields, table.headers)
        with transaction(factory) as session:
            repository.change_run(session, run_id, layout=layout.name)
            if missing:
                repository.add_errors(session, run_id, [_no_column(spec, layout) for spec in missing])
        if missing:
            totals.failed = len(missing)
            _finish(
                factory,
                run_id,
                totals,
                RunStatus.FAILED,
                "the file lacks a required column: nothing imported",
            )
            return run_id
        _rows(factory, run_id, table, layout, impl, options, dry_run, totals, progress)
    except DomainError as exc:
        _finish(factory, run_id, totals, RunStatus.FAILED, exc.message)
        return run_id
    except BaseException as exc:
        log.exception("import run %s failed", run_id)
        _finish(factory, run_id, totals, RunStatus.FAILED, f"stopped by an unexpected error: {exc!r}"[:1000])
        raise
    _finish(factory, run_id, totals, RunStatus.DONE, None)
    return run_id


def _no_column(spec: FieldSpec, layout: Layout) -> RowError:
    expected = layout.columns.get(spec.name)
    names = [expected] if expected else [spec.name, *spec.headers]
    return RowError(1, None, None, f"no column for {spec.name}: add one headed {' or '.join(names[:4])}")


def _rows(
    factory: sessionmaker[Session],
    run_id: int,
    table: Any,
    layout: Layout,
    impl: ImportKind,
    options: ImportOptions,
    dry_run: bool,
    totals: _Totals,
    progress: Callable[[int], None] | None,
) -> None:
    reader = layout.reader(table.headers)
    preview: list[dict[str, Any]] = []
    batch: list[Row] = []
    group = impl.group_by
    for number, cells in table:
        row = reader.row(number, cells)
        if len(preview) < PREVIEW_ROWS:
            preview.append({"row": number, "values": dict(row.values)})
            if len(preview) == PREVIEW_ROWS:
                _store_preview(factory, run_id, preview)
        if len(batch) >= impl.batch_size and (
            group is None or row.values.get(group) != batch[-1].values.get(group)
        ):
            _batch(factory, run_id, batch, impl, options, dry_run, totals)
            batch = []
            if progress:
                progress(totals.rows_read)
        batch.append(row)
    if len(preview) < PREVIEW_ROWS:
        _store_preview(factory, run_id, preview)
    if batch:
        _batch(factory, run_id, batch, impl, options, dry_run, totals)
    if progress:
        progress(totals.rows_read)


def _store_preview(factory: sessionmaker[Session], run_id: int, preview: list[dict[str, Any]]) -> None:
    with transaction(factory) as session:
        repository.change_run(session, run_id, preview=preview)


def _batch(
    factory: sessionmaker[Session],
    run_id: int,
    rows: list[Row],
    impl: ImportKind,
    options: ImportOptions,
    dry_run: bool,
    totals: _Totals,
) -> None:
    """One batch: applied and its errors and the run's figures stored in one transaction, so a run
    that stops part-way reports exactly what went in; in a dry run the kind's writes are rolled back
    and the report is written after."""
    with collector_paused():
        if dry_run:

            def trial(session: Session) -> Outcome:
                raise _RolledBack(impl.apply(session, rows, options, dry_run=True))

            try:  # retried like a real batch when it loses a race, then rolled back
                run_in_transaction(factory, trial)
            except _RolledBack as done:
                outcome = done.outcome
            totals.add(outcome, len(rows))
            with transaction(factory) as session:
                _report(session, run_id, outcome, totals)
            return

        def work(session: Session) -> Outcome:
            outcome = impl.apply(session, rows, options, dry_run=False)
            after = dataclasses.replace(totals)
            after.add(outcome, len(rows))
            _report(session, run_id, outcome, after)
            return outcome

        totals.add(run_in_transaction(factory, work), len(rows))


class _RolledBack(Exception):
    """Raised with a dry run's outcome so its transaction rolls back."""

    def __init__(self, outcome: Outcome) -> None:
        super().__init__("dry run")
        self.outcome = outcome


def _report(session: Session, run_id: int, outcome: Outcome, totals: _Totals) -> None:
    if outcome.errors:
        repository.add_errors(session, run_id, outcome.errors)
    repository.change_run(
        session,
        run_id,
        rows_read=totals.rows_read,
        imported=totals.imported,
        unchanged=totals.unchanged,
        failed=totals.failed,
    )


def _finish(
    factory: sessionmaker[Session], run_id: int, totals: _Totals, status: RunStatus, message: str | None
) -> None:
    with transaction(factory) as session:
        repository.change_run(
            session,
            run_id,
            status=str(status),
            message=message,
            finished_at=utcnow(),
            rows_read=totals.rows_read,
            imported=totals.imported,
            unchanged=totals.unchanged,
            failed=totals.failed,
            stored_path=None,
        )
