"""``orderly labels print``: parcels' labels as one PDF file, in pick order."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn

from orderly.cli.common import Group, id_argument, out, unit_of_work
from orderly.core.clock import utcnow
from orderly.fulfilment import printing
from orderly.fulfilment.paperwork import Parcel
from orderly.fulfilment.schemas import LabelBatchIn, PickListIn

labels_app = typer.Typer(cls=Group, help="Labels and packing slips.", no_args_is_help=True)


@labels_app.command("print")
def labels_print(
    shipment_ids: Annotated[
        list[int] | None, id_argument("Shipments to print (or --warehouse)", metavar="[SHIPMENT_ID]...")
    ] = None,
    warehouse: Annotated[
        str | None, typer.Option(help="Every labelled parcel of this warehouse not yet handed over")
    ] = None,
    slips: Annotated[bool, typer.Option(help="Each label followed by its packing slip")] = False,
    out_file: Annotated[
        Path | None, typer.Option("--out", help="The PDF to write (default: labels-<time>.pdf here)")
    ] = None,
) -> None:
    """Print parcels' labels as one PDF in pick order; a reprint is the same command again."""
    asked = LabelBatchIn(shipment_ids=shipment_ids or None, warehouse=warehouse, slips=slips)
    path = out_file or Path(f"labels-{utcnow():%Y%m%dT%H%M%SZ}.pdf")
    with unit_of_work(read_only=True) as session:
        parcels = printing.batch_parcels(
            session, shipment_ids=asked.shipment_ids or (), warehouse=asked.warehouse
        )
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
    try:
        with path.open("wb") as pdf, Progress(*columns, console=out, transient=True) as bar:
            task = bar.add_task("labels", total=len(parcels))
            pages = printing.write_batch(_counted(parcels, bar, task), pdf, slips=asked.slips)
    except BaseException:
        path.unlink(missing_ok=True)  # an unfinished PDF would print as garbage
        raise
    out.print(f"{len(parcels)} parcels, {pages} pages: {path}")


@labels_app.command("pick-list")
def labels_pick_list(
    shipment_ids: Annotated[
        list[int] | None, id_argument("Shipments to pick (or --warehouse)", metavar="[SHIPMENT_ID]...")
    ] = None,
    warehouse: Annotated[
        str | None, typer.Option(help="Every parcel of this warehouse still to pick (made or labelled)")
    ] = None,
    out_file: Annotated[
        Path | None, typer.Option("--out", help="The PDF to write (default: pick-list-<time>.pdf here)")
    ] = None,
) -> None:
    """Print a pick list: per warehouse, one stop per bin and SKU in walking order, then totals."""
    asked = PickListIn(shipment_ids=shipment_ids or None, warehouse=warehouse)
    path = out_file or Path(f"pick-list-{utcnow():%Y%m%dT%H%M%SZ}.pdf")
    with unit_of_work(read_only=True) as session:
        pdf = printing.pick_list(session, shipment_ids=asked.shipment_ids or (), warehouse=asked.warehouse)
    path.write_bytes(pdf)
    out.print(f"Pick list: {path}")


def _counted(parcels: list[Parcel], bar: Progress, task: TaskID) -> Iterator[Parcel]:
    for parcel in parcels:
        yield parcel
        bar.advance(task)
