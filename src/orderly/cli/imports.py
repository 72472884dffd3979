"""``orderly import orders|stock|catalog FILE``: a file of rows into the hub with a progress bar and
its report; ``orderly import report RUN`` and ``runs`` read past imports."""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import Annotated, Any, BinaryIO

import typer
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy.orm import Session

from orderly.cli.common import actor, err, fail, id_argument, out, session_factory, unit_of_work, when
from orderly.core.clock import zone
from orderly.core.config import get_settings
from orderly.core.db import transaction
from orderly.imports import repository, service
from orderly.imports.domain import Kind
from orderly.imports.orders import shop_zone
from orderly.imports.service import ImportOptions

import_app = typer.Typer(
    help="Import orders, stock or the catalog from CSV, TSV or XLSX files, and read past imports.",
    no_args_is_help=True,
)

SHOWN_ERRORS = 20

FileArgument = Annotated[
    Path,
    typer.Argument(exists=True, dir_okay=False, readable=True, help="CSV, TSV or XLSX (any encoding seen)"),
]
DryRun = Annotated[bool, typer.Option("--dry-run", help="Check the file and report; write nothing")]
Profile = Annotated[
    str | None, typer.Option(help="A saved column mapping, for a layout the hub does not know")
]
Currency = Annotated[
    str | None, typer.Option(help="The currency of amounts when the file has no currency column")
]
Workers = Annotated[
    int | None,
    typer.Option(
        min=1,
        max=64,
        help="Processes importing an orders file at once (default: ORDERLY_IMPORT_WORKERS, else one per core "
        "up to 4, on PostgreSQL; 1 on SQLite)",
    ),
]
Tz = Annotated[
    str | None,
    typer.Option(
        "--tz", help="Zone of times written without an offset (default: the shop's, else ORDERLY_TIMEZONE)"
    ),
]


@import_app.command("orders")
def import_orders(
    file: FileArgument,
    shop: Annotated[str, typer.Option(help="The shop the orders belong to (its code)")],
    dry_run: DryRun = False,
    profile: Profile = None,
    currency: Currency = None,
    tz: Tz = None,
    workers: Workers = None,
) -> None:
    """Orders: Amazon's order report, Shopify's order export, or any sheet with English or Chinese headers."""
    if tz is None:
        with unit_of_work(read_only=True) as session:
            tz = shop_zone(session, shop)
    options = ImportOptions(shop=shop, currency=currency, time_zone=_zone(tz))
    _run(file, Kind.ORDERS, options, profile, dry_run, workers)


@import_app.command("stock")
def import_stock(
    file: FileArgument,
    mode: Annotated[
        str, typer.Option(help="opening: on-hand where a SKU has none yet; count: on-hand set as counted")
    ] = "opening",
    warehouse: Annotated[
        str | None, typer.Option(help="The warehouse when the file has no warehouse column")
    ] = None,
    dry_run: DryRun = False,
    profile: Profile = None,
) -> None:
    """Stock: opening balances or counts per SKU and warehouse."""
    _run(
        file,
        Kind.STOCK,
        ImportOptions(warehouse=warehouse, mode=mode, time_zone=_zone(None)),
        profile,
        dry_run,
    )


@import_app.command("catalog")
def import_catalog(
    file: FileArgument,
    dry_run: DryRun = False,
    profile: Profile = None,
    currency: Currency = None,
) -> None:
    """The catalog: products with barcodes and costs, and bundles."""
    _run(file, Kind.CATALOG, ImportOptions(currency=currency, time_zone=_zone(None)), profile, dry_run)


@import_app.command("report")
def report(
    run_id: Annotated[int, id_argument("The import run")],
    after_row: Annotated[int, typer.Option(min=0, help="Errors from the row after this one")] = 0,
    limit: Annotated[int, typer.Option(min=1, max=100_000, help="Errors shown at most")] = 1000,
) -> None:
    """An import's figures and its errors by row."""
    with unit_of_work(read_only=True) as session:
        _show(session, run_id, after_row=after_row, limit=limit)


@import_app.command("runs")
def runs(limit: Annotated[int, typer.Option(min=1, max=1000)] = 20) -> None:
    """The latest imports."""
    table = Table("Run", "When", "Kind", "File", "Status", "Read", "Imported", "Unchanged", "Errors")
    with unit_of_work(read_only=True) as session:
        for run in repository.runs(session, limit=limit):
            status = f"{run.status} (dry run)" if run.dry_run else run.status
            table.add_row(
                str(run.id), when(run.created_at), run.kind, run.filename, status,
                f"{run.rows_read:,}", f"{run.imported:,}", f"{run.unchanged:,}", f"{run.failed:,}",
            )  # fmt: skip
    out.print(table)


def _zone(name: str | None) -> str:
    name = name or get_settings().timezone
    try:
        zone(name)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--tz") from None
    return name


def _run(
    file: Path,
    kind: Kind,
    options: ImportOptions,
    profile: str | None,
    dry_run: bool,
    workers: int | None = None,
) -> None:
    options = dataclasses.replace(options, actor=actor())
    size = file.stat().st_size
    started = time.perf_counter()
    with session_factory() as factory, file.open("rb") as source:
        workers = workers or service.default_workers(factory)
        shared = service.shard_count(factory, service.kind_of(kind), source, workers, dry_run=dry_run) > 1
        # Processes sharing a file each read all of it: the bar counts the run's rows, not bytes.
        progress = Progress(
            TextColumn("{task.description}", markup=False),
            BarColumn(),
            *(() if shared else (DownloadColumn(),)),
            TextColumn("{task.fields[rows]:,} rows"),
            TimeElapsedColumn(),
            console=err,
        )
        with progress:
            label = f"Importing ({workers} processes)" if shared else "Dry run" if dry_run else "Importing"
            task = progress.add_task(label, total=None if shared else size, rows=0)

            def advanced(rows: int) -> None:
                completed = None if shared else _position(source, size)
                progress.update(task, completed=completed, rows=rows)

            run_id = service.run_import(
                factory,
                source,
                file.name,
                kind,
                options,
                profile=profile,
                dry_run=dry_run,
                progress=advanced,
                workers=workers,
            )
            progress.update(task, total=size, completed=size)
        elapsed = time.perf_counter() - started
        with transaction(factory) as session:
            status = _show(session, run_id, limit=SHOWN_ERRORS)
    out.print(f"{elapsed:.1f} s. The whole report: orderly import report {run_id}")
    if status == "failed":
        raise typer.Exit(1)


def _position(source: BinaryIO, size: int) -> int:
    """How far into the file reading has got (an XLSX is read by parts, out of order)."""
    try:
        return min(source.tell(), size)
    except (OSError, ValueError):
        return 0


def _show(session: Session, run_id: int, *, after_row: int = 0, limit: int) -> str:
    run = repository.run(session, run_id)
    if run is None:
        fail(f"no import run {run_id}")
    title = f"Import {run.id}: {run.kind} from {run.filename}" + (
        " (dry run: nothing written)" if run.dry_run else ""
    )
    out.print(title)
    figures = Table(show_header=False)
    figures.add_row("Status", run.status)
    figures.add_row("Layout", run.layout or "")
    figures.add_row("Rows read", f"{run.rows_read:,}")
    figures.add_row("Would import" if run.dry_run else "Imported", f"{run.imported:,}")
    figures.add_row("Unchanged", f"{run.unchanged:,}")
    figures.add_row("Errors", f"{run.failed:,}")
    if run.message:
        figures.add_row("Stopped", run.message)
    out.print(figures)
    if run.dry_run and run.preview:
        _preview(run.preview, [spec.name for spec in service.kind_of(Kind(run.kind)).fields])
    errors = repository.errors(session, run_id, after_row, limit)
    if errors:
        table = Table("Row", "Column", "Value", "Reason", title="Rows not imported")
        for error in errors:
            table.add_row(str(error.row), error.column or "", error.value or "", error.reason)
        out.print(table)
        if run.failed > len(errors):
            out.print(
                f"{len(errors)} of {run.failed:,} errors shown; orderly import report {run_id} --after-row N"
            )
    return run.status


def _preview(preview: list[dict[str, Any]], order: list[str]) -> None:
    """The first rows as the hub read them, fields in the kind's order: to check a file's mapping."""
    found = {name for row in preview for name in row["values"]}
    fields = [name for name in order if name in found]
    table = Table("Row", *fields, title="Preview: the first rows as read")
    for row in preview:
        table.add_row(str(row["row"]), *(row["values"].get(name, "") for name in fields))
    out.print(table)
