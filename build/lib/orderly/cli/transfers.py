"""``orderly transfers``: stock moving between warehouses, from the command line."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Column, Table

from orderly.cli.common import NUMBERS, Group, actor, history, id_argument, out, unit_of_work, when
from orderly.inventory import service
from orderly.inventory.domain import TransferStatus
from orderly.inventory.schemas import (
    ReceiptLineIn,
    TransferCancelIn,
    TransferIn,
    TransferLineIn,
    TransferOut,
    TransferReceiveIn,
    TransferShipIn,
)

transfers_app = typer.Typer(
    cls=Group,
    help="Stock moving between warehouses: create (held at the source), ship, receive, cancel.",
    no_args_is_help=True,
)

TransferId = Annotated[int, id_argument("The transfer's id")]
Note = Annotated[str | None, typer.Option(help="Kept in the transfer's history")]


def _pairs(texts: list[str]) -> list[tuple[str, int]]:
    """SKU=QUANTITY arguments; a malformed one is a usage error naming it."""
    pairs = []
    for text in texts:
        sku, sep, quantity = text.rpartition("=")
        if not sep or not sku.strip() or not quantity.strip().isdigit():
            raise typer.BadParameter(f"{text!r}: write SKU=QUANTITY, e.g. SKU-1=20")
        pairs.append((sku.strip(), int(quantity)))
    return pairs


@transfers_app.command("create")
def create(
    from_warehouse: Annotated[str, typer.Argument(metavar="FROM", help="Source warehouse code")],
    to_warehouse: Annotated[str, typer.Argument(metavar="TO", help="Destination warehouse code")],
    lines: Annotated[list[str], typer.Argument(metavar="SKU=QTY...", help="What to move, e.g. SKU-1=20")],
    reference: Annotated[str | None, typer.Option(help="Yours: a purchase order, a forwarder's bill")] = None,
    note: Note = None,
) -> None:
    """Create a transfer: its units are held at the source until it ships or is cancelled."""
    data = TransferIn(
        from_warehouse=from_warehouse,
        to_warehouse=to_warehouse,
        lines=[TransferLineIn(sku=sku, quantity=qty) for sku, qty in _pairs(lines)],
        reference=reference,
        note=note,
    )
    with unit_of_work() as session:
        view = service.get_transfer(session, service.create_transfer(session, data, actor=actor()))
    _print(view)


@transfers_app.command("list")
def transfers_list(
    status: Annotated[TransferStatus | None, typer.Option(help="Only transfers in this status")] = None,
    from_warehouse: Annotated[str | None, typer.Option("--from", help="Only from this warehouse")] = None,
    to_warehouse: Annotated[str | None, typer.Option("--to", help="Only to this warehouse")] = None,
    sku: Annotated[str | None, typer.Option(help="Only transfers carrying this SKU")] = None,
    limit: Annotated[int, typer.Option(min=1, max=500, help="Show at most this many")] = 50,
) -> None:
    """Transfers, newest first."""
    with unit_of_work(read_only=True) as session:
        found = service.list_transfers(
            session,
            status=status,
            from_warehouse=from_warehouse,
            to_warehouse=to_warehouse,
            sku=sku,
            limit=limit + 1,
        )
    if not found:
        out.print("No transfers.")
        return
    numbers = [Column(name, justify="right") for name in ("Units", "In transit")]
    table = Table("ID", "From", "To", "Status", *numbers, "Reference", "Created", title="Transfers")
    for view in found[:limit]:
        table.add_row(
            str(view.id),
            view.from_warehouse,
            view.to_warehouse,
            view.status,
            str(sum(line.quantity for line in view.lines)),
            str(sum(line.in_transit for line in view.lines)),
            view.reference or "",
            when(view.created_at),
        )
    out.print(table)
    if len(found) > limit:
        out.print(f"Showing the newest {limit}; use --limit to see more.", style="yellow")


@transfers_app.command("show")
def show(transfer_id: TransferId) -> None:
    """A transfer's lines (received, written off, in transit, differences) and history."""
    with unit_of_work(read_only=True) as session:
        view = service.get_transfer(session, transfer_id)
    _print(view)


@transfers_app.command("ship")
def ship(transfer_id: TransferId, note: Note = None) -> None:
    """The held units leave the source and are in transit."""
    checked = TransferShipIn(note=note).note
    with unit_of_work() as session:
        service.ship_transfer(session, transfer_id, actor=actor(), note=checked)
        view = service.get_transfer(session, transfer_id)
    _print(view)


@transfers_app.command("receive", context_settings=NUMBERS)
def receive(
    transfer_id: TransferId,
    lines: Annotated[
        list[str] | None, typer.Argument(metavar="[SKU=QTY]...", help="What arrived, e.g. SKU-1=18")
    ] = None,
    close: Annotated[
        bool, typer.Option("--close", help="The last receipt: write off what has not arrived")
    ] = False,
    reason: Annotated[
        str | None, typer.Option(help="Why a SKU differs: more than shipped, or short on --close")
    ] = None,
    note: Note = None,
) -> None:
    """Book what arrived at the destination; the rest stays in transit unless --close."""
    data = TransferReceiveIn(
        lines=[ReceiptLineIn(sku=sku, quantity=qty) for sku, qty in _pairs(lines or [])],
        close=close,
        reason=reason,
        note=note,
    )
    with unit_of_work() as session:
        service.receive_transfer(session, transfer_id, data, actor=actor())
        view = service.get_transfer(session, transfer_id)
    _print(view)


@transfers_app.command("cancel")
def cancel(
    transfer_id: TransferId, reason: Annotated[str, typer.Option(help="Why, kept in its history")]
) -> None:
    """Cancel a transfer not yet shipped: its units go back on sale at the source."""
    checked = TransferCancelIn(reason=reason).reason
    with unit_of_work() as session:
        service.cancel_transfer(session, transfer_id, actor=actor(), reason=checked)
        view = service.get_transfer(session, transfer_id)
    _print(view)


def _print(view: TransferOut) -> None:
    reference = f" ({view.reference})" if view.reference else ""
    out.print(f"Transfer {view.id} {view.from_warehouse} -> {view.to_warehouse}: {view.status}{reference}")
    numbers = [
        Column(name, justify="right") for name in ("Quantity", "Received", "Written off", "In transit")
    ]
    lines = Table("SKU", *numbers, "Difference")
    for line in view.lines:
        lines.add_row(
            line.sku,
            *(str(n) for n in (line.quantity, line.received, line.written_off, line.in_transit)),
            line.difference or "",
        )
    out.print(lines)
    out.print(history(view.events))
