"""``orderly carriers``: carrier accounts (their credentials are stored encrypted, never shown)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated

import typer
from rich.table import Table

from orderly.cli.common import Group, actor, id_argument, out, session_factory, unit_of_work
from orderly.cli.sync import credentials_given
from orderly.core.money import display
from orderly.fulfilment.carriers import labels, service
from orderly.fulfilment.carriers.schemas import CarrierAccountIn, CarrierSettings, LabelIn, RatesIn

carriers_app = typer.Typer(
    cls=Group,
    help="Carrier accounts (add, list), a parcel's quote, and buying its label.",
    no_args_is_help=True,
)
ShipmentId = Annotated[int, id_argument("The shipment's id")]
Account = Annotated[str, typer.Option("--account", help="The carrier account's code")]
DeliverBy = Annotated[
    datetime | None, typer.Option(formats=["%Y-%m-%d"], help="The delivery promise (default: none, cheapest)")
]


@carriers_app.command("add")
def carriers_add(
    code: Annotated[str, typer.Argument(help="Short code, e.g. 'easypost-main'")],
    plugin: Annotated[str, typer.Option(help="manual, easypost or dhl_express")],
    name: Annotated[str | None, typer.Option(help="Display name (default: the code)")] = None,
    base_url: Annotated[str | None, typer.Option(help="The carrier's (or a sandbox's) API address")] = None,
    credential: Annotated[
        list[str] | None,
        typer.Option(
            help="NAME (its value is asked for, not shown), NAME=@FILE or NAME=VALUE (shown in the process "
            "list: avoid it); repeatable"
        ),
    ] = None,
    credentials_file: Annotated[
        typer.FileText | None, typer.Option(help="A file of NAME=VALUE lines (- reads standard input)")
    ] = None,
    settings: Annotated[
        str | None,
        typer.Option(help='Settings as JSON, e.g. \'{"ship_from": {...}, "account_number": "123456789"}\''),
    ] = None,
) -> None:
    """Add a carrier account."""
    data = CarrierAccountIn.model_validate(
        {
            "code": code,
            "name": name or code,
            "plugin": plugin,
            "base_url": base_url,
            "credentials": credentials_given(credential or [], credentials_file),
            "settings": CarrierSettings.model_validate(json.loads(settings) if settings else {}),
        }
    )
    with unit_of_work() as session:
        account = service.create_account(session, data)
    out.print(f"Carrier account {account.code!r} added ({account.plugin}, id {account.id}).")


@carriers_app.command("list")
def carriers_list() -> None:
    """List carrier accounts (credential names only)."""
    with unit_of_work(read_only=True) as session:
        accounts = service.list_accounts(session)
    table = Table("Code", "Name", "Plugin", "Address", "Credentials", "Active", title="Carrier accounts")
    for a in accounts:
        table.add_row(
            a.code, a.name, a.plugin, a.base_url or "", ", ".join(a.credentials), "yes" if a.active else "no"
        )
    out.print(table)


@carriers_app.command("quote")
def carriers_quote(shipment_id: ShipmentId, account: Account, deliver_by: DeliverBy = None) -> None:
    """The account's offers for a parcel, and the one rate shopping picks."""
    data = RatesIn(carrier_account=account, deliver_by=deliver_by.date() if deliver_by else None)
    with session_factory() as factory, session_factory(read_only=True) as reader:
        quoted = service.quote(factory, reader, shipment_id, data)
    table = Table(
        "Carrier", "Service", "Cost", "Days", "Arrives", "Meets promise", title=f"Shipment {shipment_id}"
    )
    for o in quoted.offers:
        days = "" if o.transit_days is None else str(o.transit_days)
        arrives = "unknown" if o.arrives is None else o.arrives.isoformat()
        table.add_row(
            o.carrier,
            o.service,
            display(o.cost, o.currency),
            days,
            arrives,
            "yes" if o.meets_promise else "no",
        )
    out.print(table)
    if quoted.chosen is not None:
        out.print(f"Cheapest meeting the promise: {quoted.chosen.carrier} {quoted.chosen.service}.")
    else:
        out.print(f"Nothing fits: {quoted.reason}", style="yellow")


@carriers_app.command("buy")
def carriers_buy(
    shipment_id: ShipmentId,
    account: Account,
    service_code: Annotated[str, typer.Option("--service", help="A service code, or cheapest")] = "cheapest",
    deliver_by: DeliverBy = None,
    confirm_nothing_bought: Annotated[
        bool, typer.Option(help="The last purchase's outcome was unknown and you checked: nothing was bought")
    ] = False,
) -> None:
    """Buy a parcel's label (the workers do it; `orderly shipments list ORDER` shows where it stands)."""
    data = LabelIn(
        carrier_account=account,
        service=service_code,
        deliver_by=deliver_by.date() if deliver_by else None,
        confirm_nothing_bought=confirm_nothing_bought,
    )
    with unit_of_work() as session:
        labels.request_label(session, shipment_id, data, actor=actor())
    out.print(f"Label for shipment {shipment_id} asked of {account!r} ({service_code}): the workers buy it.")
