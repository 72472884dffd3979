"""The run of one import: read the file as it streams, map each row's cells to the kind's fields, hand
the rows to the kind a batch at a time (each batch one short transaction, rolled back in a dry run),
and keep the run's figures, a preview and every bad row's error as it goes, so a file of any length
imports in bounded memory and a failure part-way leaves a report of what was done."""

from __future__ import annotations

import dataclasses
import importlib
import logging
import multiprocessing
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Protocol

from sqlalchemy import delete
from sqlalchemy.orm import Session, sessionmaker

from orderly.core.clock import utcnow
from orderly.core.config import get_settings
from orderly.core.db import collector_paused, engine_of, run_in_transaction, transaction
from orderly.core.errors import DomainError
from orderly.imports import mapping, repository
from orderly.imports.domain import FieldSpec, Kind, Layout, Outcome, Row, RowError, RunStatus
from orderly.imports.files import is_spreadsheet, open_table
from orderly.imports.models import ImportRowError

log = logging.getLogger(__name__)

PREVIEW_ROWS = 20
#: A file smaller than this (some 8,000 rows of orders) is imported by one process whatever the
#: workers asked: starting a process (a fresh interpreter) costs a second or two.
SHARD_MIN_BYTES = 1 << 20


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
    #: A field whose rows must all be imported by one process, in file order (an order's number): a
    #: file on disk may then be imported by several processes at once, each taking the rows whose
    #: value hashes to it (``shards.py``). None: the kind runs in one process (rows that depend on
    #: the rows before them, such as a catalog's bundles).
    shard_by: str | None

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
    workers: int = 1,
) -> int:
    """Import ``source`` (seekable) and return its run's id; ``run_id`` runs a queued run instead of
    recording a new one. A file the hub cannot read, or that lacks a required column, fails the run
    with its reason and imports nothing; bad rows are reported and every good row is imported.

    ``workers`` above one imports a file on disk with that many processes where it can
    (:func:`shard_count`); ``progress`` is then called as the processes' figures grow."""
    impl = kind_of(kind)
    shards = shard_count(factory, impl, source, workers, dry_run=dry_run)
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
    kept: _Totals | None = totals  # the figures the run's end writes (None: as the processes added them)
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
        if shards > 1:
            kept = None  # the processes add their figures to the run's themselves
            _store_preview(factory, run_id, _preview(table, layout))
            source_path = _path_of(source)
            assert source_path is not None and impl.shard_by is not None
            from orderly.imports import shards as sharded  # noqa: PLC0415 - it builds on this module

            sharded.run(factory, run_id, source_path, filename, kind, options, layout, shards, progress)
        else:
            _rows(factory, run_id, table, layout, impl, options, dry_run, totals, progress)
    except DomainError as exc:
        _finish(factory, run_id, kept, RunStatus.FAILED, exc.message)
        return run_id
    except BaseException as exc:
        log.exception("import run %s failed", run_id)
        _finish(factory, run_id, kept, RunStatus.FAILED, f"stopped by an unexpected error: {exc!r}"[:1000])
        raise
    _finish(factory, run_id, kept, RunStatus.DONE, None)
    return run_id


def default_workers(factory: sessionmaker[Session]) -> int:
    """Processes an import of a file uses unless told: ``ORDERLY_IMPORT_WORKERS``, else one per core up
    to four, on PostgreSQL; one on SQLite (one writer at a time)."""
    if engine_of(factory).dialect.name != "postgresql":
        return 1
    chosen = get_settings().import_workers
    return chosen if chosen is not None else max(1, min(os.cpu_count() or 1, 4))


def shard_count(
    factory: sessionmaker[Session], impl: ImportKind, source: BinaryIO, workers: int, *, dry_run: bool
) -> int:
    """How many processes import this file: ``workers`` for a kind that shards (orders), from a text
    file (CSV, TSV) on disk each process can open, of at least ``SHARD_MIN_BYTES``, into PostgreSQL;
    else one (a dry run, an upload held in memory, a small file, an XLSX, SQLite, or a process that may
    not start others, such as a daemon). Each process reads the whole file: reading an XLSX costs about
    as much as importing its rows (openpyxl), so a shared one would be read that many times over for
    little gain."""
    path = _path_of(source)
    if (
        workers <= 1
        or impl.shard_by is None
        or dry_run
        or path is None
        or path.stat().st_size < SHARD_MIN_BYTES
        or is_spreadsheet(path)
        or engine_of(factory).dialect.name != "postgresql"
        or multiprocessing.current_process().daemon
    ):
        return 1
    return workers


def _path_of(source: BinaryIO) -> Path | None:
    """Where ``source`` is on disk, when it is a file opened from a path."""
    name = getattr(source, "name", None)
    if isinstance(name, str) and os.path.isfile(name):
        return Path(name).resolve()
    return None


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
    *,
    keep: Callable[[Sequence[str]], bool] | None = None,
    preview: bool = True,
    batch_size: int | None = None,
) -> None:
    """Read the rows and import them batch by batch; ``keep`` picks the rows of a shard (a process of
    a run shared by several: the preview is then stored by the parent, not here)."""
    reader = layout.reader(table.headers)
    first: list[dict[str, Any]] = []
    batch: list[Row] = []
    group = impl.group_by
    size = batch_size or impl.batch_size
    for number, cells in table:
        if keep is not None and not keep(cells):
            continue
        row = reader.row(number, cells)
        if preview and len(first) < PREVIEW_ROWS:
            first.append({"row": number, "values": dict(row.values)})
            if len(first) == PREVIEW_ROWS:
                _store_preview(factory, run_id, first)
        if len(batch) >= size and (group is None or row.values.get(group) != batch[-1].values.get(group)):
            _batch(factory, run_id, batch, impl, options, dry_run, totals)
            batch = []
            if progress:
                progress(totals.rows_read)
        batch.append(row)
    if preview and len(first) < PREVIEW_ROWS:
        _store_preview(factory, run_id, first)
    if batch:
        _batch(factory, run_id, batch, impl, options, dry_run, totals)
    if progress:
        progress(totals.rows_read)


def run_shard(
    factory: sessionmaker[Session],
    run_id: int,
    table: Any,
    layout: Layout,
    impl: ImportKind,
    options: ImportOptions,
    keep: Callable[[Sequence[str]], bool],
    batch_size: int,
) -> None:
    """One process's share of a run shared by several (``shards.py``): the rows ``keep`` picks, imported
    in batches of ``batch_size`` as one process imports them, their figures added to the run's."""
    _rows(
        factory, run_id, table, layout, impl, options, False, _Totals(), None,
        keep=keep, preview=False, batch_size=batch_size,
    )  # fmt: skip


def _preview(table: Any, layout: Layout) -> list[dict[str, Any]]:
    """The first rows of a table, as :func:`_rows` keeps them (the rest of the table is left unread)."""
    reader = layout.reader(table.headers)
    first: list[dict[str, Any]] = []
    for number, cells in table:
        first.append({"row": number, "values": dict(reader.row(number, cells).values)})
        if len(first) == PREVIEW_ROWS:
            break
    return first


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
                _report(session, run_id, outcome, len(rows))
            return

        def work(session: Session) -> Outcome:
            outcome = impl.apply(session, rows, options, dry_run=False)
            _report(session, run_id, outcome, len(rows))
            return outcome

        totals.add(run_in_transaction(factory, work), len(rows))


class _RolledBack(Exception):
    """Raised with a dry run's outcome so its transaction rolls back."""

    def __init__(self, outcome: Outcome) -> None:
        super().__init__("dry run")
        self.outcome = outcome


def _report(session: Session, run_id: int, outcome: Outcome, rows: int) -> None:
    """A batch's errors, and its figures added to the run's (several processes may add to one run)."""
    if outcome.errors:
        repository.add_errors(session, run_id, outcome.errors)
    repository.add_to_run(
        session,
        run_id,
        rows_read=rows,
        imported=outcome.imported,
        unchanged=outcome.unchanged,
        failed=len(outcome.errors),
    )


def _finish(
    factory: sessionmaker[Session],
    run_id: int,
    totals: _Totals | None,
    status: RunStatus,
    message: str | None,
) -> None:
    """End the run; ``totals`` None keeps the figures its batches added."""
    figures = dataclasses.asdict(totals) if totals is not None else {}
    with transaction(factory) as session:
        repository.change_run(
            session,
            run_id,
            status=str(status),
            message=message,
            finished_at=utcnow(),
            stored_path=None,
            **figures,
        )
