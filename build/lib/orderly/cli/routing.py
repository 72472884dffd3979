"""``orderly route`` and ``orderly routing``: route an order again, and the warehouse routing rules as a
YAML file (the review's rule language, a rule set of its own)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Column, Table

from orderly.cli.common import Group, actor, id_argument, out, unit_of_work
from orderly.cli.review import RuleFile, every_problem, read_text, write_document
from orderly.fulfilment.routing import reroute
from orderly.review import routing

routing_app = typer.Typer(
    cls=Group, help="Warehouse routing rules: list, export and import.", no_args_is_help=True
)


def route(order_id: Annotated[int, id_argument("The order's id")]) -> None:
    """Route an order not yet shipped again: its stock is reserved where the routing rules now send it."""
    with unit_of_work() as session:
        done = reroute(session, order_id, actor=actor())
    out.print(f"Order {done.order_id} is {done.status}: {done.note}.")
    for line in (done.routing or {}).get("explanation", []):
        out.print(f"  {line}")


def _table(title: str) -> None:
    with unit_of_work(read_only=True) as session:
        found = routing.rules(session)
    table = Table(
        Column("Priority", justify="right"), "Key", "Enabled", "Version", "Name", "Then", title=title
    )
    for rule, _ in found:
        actions = "; ".join(a.describe() for a in rule.actions)
        table.add_row(
            str(rule.priority),
            rule.key,
            "yes" if rule.enabled else "no",
            str(rule.version),
            rule.name,
            actions,
        )
    out.print(table)


@routing_app.command("rules")
def rules() -> None:
    """Every routing rule, in the order they run."""
    _table("Routing rules")


@routing_app.command("export")
def export(
    file: Annotated[
        Path | None, typer.Argument(dir_okay=False, help="Write it here", show_default="standard output")
    ] = None,
) -> None:
    """The routing settings (splits, lanes) and every routing rule as one YAML document."""
    with unit_of_work(read_only=True) as session:
        text = routing.export_yaml(session)
    write_document(text, file, "Routing rules")


@routing_app.command("import")
def import_(
    file: RuleFile,
    replace: Annotated[bool, typer.Option("--replace", help="Also delete rules the file leaves out")] = False,
) -> None:
    """Save a YAML routing rule set: every rule in it, or none if any is wrong."""
    text = read_text(file)
    with every_problem(f"{file}: nothing was imported."), unit_of_work() as session:
        routing.import_yaml(session, text, actor=actor(), replace=replace)
    _table(f"Routing rules after importing {file.name}")
