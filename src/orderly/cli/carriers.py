"""``orderly carriers``: carrier accounts (their credentials are stored encrypted, never shown)."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.table import Table

from orderly.cli.common import Group, out, unit_of_work
from orderly.cli.sync import credentials_given
from orderly.fulfilment.carriers import service
from orderly.fulfilment.carriers.schemas import CarrierAccountIn, CarrierSettings

carriers_app = typer.Typer(cls=Group, help="Carrier accounts: add, list.", no_args_is_help=True)


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
