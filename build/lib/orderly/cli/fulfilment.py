"""``orderly ship`` and ``orderly shipments``: an order's parcels from the command line."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from orderly.cli.common import Group, actor, history, id_argument, out, unit_of_work, when
from orderly.core.clock import utcnow
from orderly.fulfilment import service
from orderly.fulfilment.domain import TrackingEvent, TrackingKind
from orderly.fulfilment.schemas import (
    ShipIn,
    ShipmentIn,
    ShipmentLineIn,
    ShipmentOut,
    TrackingEventIn,
    VoidIn,
)

shipments_app = typer.Typer(
    cls=Group, help="An order's parcels: list, pick, hand over, void, track.", no_args_is_help=True
)

OrderId = Annotated[int, id_argument("The order's id")]
ShipmentId = Annotated[int, id_argument("The shipment's id")]


def _line(text: str) -> ShipmentLineIn:
    number, sep, quantity = text.partition("=")
    if not sep or not number.strip().isdigit() or not quantity.strip().isdigit():
        raise typer.BadParameter(f"{text!r}: write LINE=QUANTITY, e.g. 1=2")
    return ShipmentLineIn(line_no=int(number), quantity=int(quantity))


def ship(
    order_id: OrderId,
    carrier: Annotated[str | None, typer.Option(help="Carrier as the buyer reads it, e.g. UPS")] = None,
    tracking: Annotated[str | None, typer.Option(help="Tracking number of a label bought elsewhere")] = None,
    service_name: Annotated[str | None, typer.Option("--service", help="Carrier service")] = None,
    tracking_url: Annotated[str | None, typer.Option(help="Where the buyer follows the parcel")] = None,
    warehouse: Annotated[
        str | None, typer.Option(help="Warehouse code (default: where the stock is held)")
    ] = None,
    line: Annotated[
        list[str] | None, typer.Option(help="LINE=QUANTITY, repeatable (default: all left to ship)")
    ] = None,
    hand_over: Annotated[
        bool,
        typer.Option(
            "--hand-over/--parcel-only", help="Hand it over now (its stock leaves), or only make it"
        ),
    ] = True,
) -> None:
    """Ship an order (or some of its lines) with a carrier and tracking number you have."""
    data = ShipmentIn(
        warehouse=warehouse,
        lines=[_line(text) for text in line] if line else None,
        carrier=carrier,
        service=service_name,
        tracking_number=tracking,
        tracking_url=tracking_url,
        ship=hand_over,
    )
    with unit_of_work() as session:
        shipment = service.create_shipment(session, order_id, data, actor=actor())
        view = service.get_shipment(session, shipment.id)
    _print(view)


@shipments_app.command("list")
def shipments_list(order_id: OrderId) -> None:
    """An order's parcels, with their lines and history."""
    with unit_of_work(read_only=True) as session:
        views = service.order_shipments(session, order_id)
    if not views:
        out.print(f"Order {order_id} has no parcels.")
    for view in views:
        _print(view)


@shipments_app.command("ship")
def shipments_ship(
    shipment_id: ShipmentId, note: Annotated[str | None, typer.Option(help="Kept in its history")] = None
) -> None:
    """Hand a parcel over: its stock leaves the warehouse."""
    checked = ShipIn(note=note).note
    with unit_of_work() as session:
        service.ship_shipment(session, shipment_id, actor=actor(), note=checked)
        view = service.get_shipment(session, shipment_id)
    _print(view)


@shipments_app.command("pick")
def shipments_pick(
    shipment_id: ShipmentId, note: Annotated[str | None, typer.Option(help="Kept in its history")] = None
) -> None:
    """Mark a parcel's items picked off the shelves."""
    checked = ShipIn(note=note).note
    with unit_of_work() as session:
        service.pick_shipment(session, shipment_id, actor=actor(), note=checked)
        view = service.get_shipment(session, shipment_id)
    _print(view)


@shipments_app.command("void")
def shipments_void(
    shipment_id: ShipmentId, reason: Annotated[str, typer.Option(help="Why, kept in its history")]
) -> None:
    """Void a parcel not yet handed over."""
    checked = VoidIn(reason=reason).reason
    with unit_of_work() as session:
        service.void_shipment(session, shipment_id, actor=actor(), reason=checked)
        view = service.get_shipment(session, shipment_id)
    _print(view)


@shipments_app.command("track")
def shipments_track(
    shipment_id: ShipmentId,
    record: Annotated[
        TrackingKind | None,
        typer.Option("--record", help="Record an event you learnt of (e.g. delivered) before showing"),
    ] = None,
    note: Annotated[str | None, typer.Option(help="What was said, kept with the event")] = None,
) -> None:
    """A parcel's journey: every carrier event heard of it, oldest first."""
    with unit_of_work(read_only=record is None) as session:
        if record is not None:
            body = TrackingEventIn(kind=record, description=note)
            heard = TrackingEvent(record, utcnow(), record, body.description)
            service.record_tracking(session, shipment_id, [heard], source=actor(), actor=actor())
        view = service.tracking_of(session, shipment_id)
    promised = f", promised by {when(view.promised_by)}" if view.promised_by else ""
    out.print(f"Shipment {view.shipment_id}: {view.status}{promised}")
    timeline = Table("When", "Event", "Where", "Carrier says", "From")
    for event in view.events:
        timeline.add_row(
            when(event.occurred_at),
            event.kind or "-",
            event.location or "",
            event.description or event.code,
            event.source,
        )
    out.print(timeline)


def _print(view: ShipmentOut) -> None:
    carrier = (
        " ".join(filter(None, (view.carrier, view.service, view.tracking_number))) or "no tracking number"
    )
    out.print(f"Shipment {view.id} of order {view.order_id} from {view.warehouse}: {view.status} ({carrier})")
    lines = ", ".join(f"line {line.line_no} x {line.quantity}" for line in view.lines)
    out.print(f"  {lines}")
    out.print(history(view.events))
