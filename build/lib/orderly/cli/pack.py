"""``orderly pack``: scan to pack at a packing table. A USB scanner types each code and Enter like a
keyboard, so the command reads codes line by line from stdin; or takes them as arguments."""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.table import Table
from sqlalchemy.orm import Session, sessionmaker

from orderly.cli.common import actor, err, fail, out, session_factory, unit_of_work
from orderly.core.db import transaction
from orderly.core.errors import DomainError
from orderly.core.pagination import MAX_ID
from orderly.fulfilment import packing
from orderly.fulfilment.schemas import PackIn, PackOut, PackScanIn

SCAN_HELP = "Codes to scan in turn (default: read from stdin, one a line, as a scanner types them)"


def pack(
    codes: Annotated[list[str] | None, typer.Argument(metavar="[CODE]...", help=SCAN_HELP)] = None,
    shipment: Annotated[
        int | None,
        typer.Option(min=1, max=MAX_ID, help="The parcel the codes are for (default: the one scanned last)"),
    ] = None,
    packer: Annotated[str | None, typer.Option(help="Who packs, when several tables run as one user")] = None,
    reset: Annotated[bool, typer.Option(help="Forget the units scanned into --shipment")] = False,
    show: Annotated[
        bool,
        typer.Option(help="Show what --shipment (or the parcel you are packing) holds and what is scanned"),
    ] = False,
) -> None:
    """Pack parcels by scanning: the parcel's code (SHP-<id>, or its order's number), then each item's
    barcode or SKU (a bundle's components, not the kit). The last unit packs the parcel (and ships it,
    in a warehouse that ships on pack); its code again closes it, naming what is missing. With codes
    given, the first refused stops the command (exit 1); from stdin a refusal is shown and scanning
    goes on."""
    who = packing.packer_name(actor(), PackIn(packer=packer).packer)  # the same checks as over the API
    if reset:
        if shipment is None:
            fail("--reset needs --shipment")
        with unit_of_work() as session:
            _table(packing.reset(session, shipment, packer=who))
        return
    if show:
        with unit_of_work(read_only=True) as session:
            view = (
                packing.packing_now(session, who) if shipment is None else packing.progress(session, shipment)
            )
        _table(view)
        return
    with session_factory() as factory:
        if codes:
            for code in codes:
                if not _scan(factory, code, who, shipment):
                    raise typer.Exit(1)
            return
        interactive = sys.stdin.isatty()
        if interactive:
            out.print("Scan a parcel's code, then its items; Ctrl-D ends.")
        for line in sys.stdin:
            if line.strip():
                _scan(factory, line, who, shipment)


def _scan(factory: sessionmaker[Session], code: str, packer: str, shipment: int | None) -> bool:
    """One code in its own transaction; a refusal is printed, not raised."""
    try:
        asked = PackScanIn(code=code, shipment_id=shipment)
        with transaction(factory) as session:
            done = packing.scan(session, asked.code, packer=packer, shipment_id=asked.shipment_id)
    except DomainError as exc:
        err.print(f"REFUSED {code.strip()}: {exc.message}", style="bold red")
        return False
    except ValueError as exc:  # pydantic's ValidationError: an empty or oversized code
        err.print(f"REFUSED {code.strip()!r}: {str(exc).splitlines()[-1].strip()}", style="bold red")
        return False
    style = "bold green" if done.parcel.complete else "green"
    out.print(f"OK {done.message}", style=style)
    return True


def _table(view: PackOut) -> None:
    table = Table(
        "SKU",
        "Item",
        "Barcode",
        "Scanned",
        "Expected",
        title=f"{view.reference} (order {view.order_number}, {view.warehouse}): {view.status}",
    )
    for item in view.items:
        style = "green" if item.scanned == item.expected else None
        table.add_row(
            item.sku, item.name, item.barcode or "", str(item.scanned), str(item.expected), style=style
        )
    out.print(table)
