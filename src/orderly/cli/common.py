"""What every command shares: the consoles, the database, the actor and how errors are shown."""

from __future__ import annotations

import getpass
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import date, datetime
from typing import Any, NoReturn, Protocol

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.panel import Panel
from rich.table import Table
from rich.text import Text
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session, sessionmaker
from typer.core import TyperGroup

from orderly.core.clock import day_or_instant
from orderly.core.config import get_settings
from orderly.core.db import make_engine, make_session_factory, transaction
from orderly.core.errors import DomainError
from orderly.core.pagination import MAX_ID
from orderly.orders.validation import validation_errors

# Markup and emoji codes are off: SKUs, names and error messages are printed verbatim, never interpreted.
out = Console(markup=False, emoji=False)
err = Console(stderr=True, markup=False, emoji=False, highlight=False)


def id_argument(help_text: str | None = None, metavar: str = "ID", **extra: Any) -> Any:
    """An id argument (or several): a usage error past the largest id the database holds, not a crash."""
    return typer.Argument(metavar=metavar, min=1, max=MAX_ID, help=help_text, **extra)


# Lets ``-3`` be read as a number, not as an unknown option, in commands that take quantities.
NUMBERS: dict[str, Any] = {"ignore_unknown_options": True}


def fail(*lines: str) -> NoReturn:
    for line in lines:
        err.print(line, style="red")
    raise typer.Exit(1)


def _missing_table(exc: DBAPIError) -> bool:
    return getattr(exc.orig, "sqlstate", None) == "42P01" or "no such table" in str(exc.orig)


class Group(TyperGroup):
    """The root command: a refused request is a red message and exit code 1, never a traceback."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except DomainError as exc:
            fail(exc.message)
        except ValidationError as exc:
            fail(*(f"invalid {e['field']}: {e['message']}" for e in validation_errors(exc)))
        except DBAPIError as exc:
            if _missing_table(exc):
                fail("the database has no Orderly tables yet: run `orderly migrate` first")
            if isinstance(exc, OperationalError):
                fail(f"database error: {str(exc.orig).strip().splitlines()[0]}")
            raise


def actor() -> str:
    """Who made a change, for the stock ledger and order history."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # no login name in some containers
        return "cli:unknown"


@contextmanager
def session_factory(*, read_only: bool = False) -> Iterator[sessionmaker[Session]]:
    """Sessions on the configured database; the engine lives as long as the command."""
    engine = make_engine(get_settings().resolved_database_url())
    try:
        yield make_session_factory(engine, read_only=read_only)
    finally:
        engine.dispose()


@contextmanager
def unit_of_work(*, read_only: bool = False) -> Iterator[Session]:
    """The command's one transaction: committed when the block ends, rolled back on any error.
    ``read_only`` for commands that only read: the transaction takes no lock, so it neither waits for
    writers nor holds them up (a write in it fails)."""
    with session_factory(read_only=read_only) as factory, transaction(factory) as session:
        yield session


def date_option(value: str | None, option: str) -> date | datetime | None:
    """A date or instant given on the command line; a bad one is a usage error (exit 2) naming the option."""
    if value is None:
        return None
    try:
        return day_or_instant(value)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint=option) from None


def when(moment: datetime | None) -> str:
    return "" if moment is None else f"{moment:%Y-%m-%d %H:%M} UTC"


class StatusEvent(Protocol):
    from_status: str | None
    to_status: str
    actor: str
    message: str | None
    created_at: datetime


def history(events: Iterable[StatusEvent]) -> Table:
    """A thing's history (a parcel's, a transfer's): each status it took, when, by whom and why."""
    table = Table("When", "Status", "By", "Note")
    for event in events:
        change = event.to_status if event.from_status is None else f"{event.from_status} -> {event.to_status}"
        table.add_row(when(event.created_at), change, event.actor, event.message or "")
    return table


def show_password(username: str, password: str) -> None:
    body = Text.assemble(
        ("Sign in as ", "bold"),
        (username, "bold"),
        (" with the password (shown once): ", "bold"),
        (password, "bold green"),
        "\n\nIt is stored hashed and cannot be shown again: copy it now, and change it once signed in.",
    )
    out.print(Panel(body, title="First admin", border_style="yellow", expand=False))


def show_secret(token: str, name: str) -> None:
    body = Text.assemble(
        ("Your API token (shown once): ", "bold"),
        (token, "bold green"),
        f"\n\nToken {name!r} is stored hashed and cannot be shown again: copy it now."
        "\nSend it as the header `Authorization: Bearer <token>`.",
    )
    out.print(Panel(body, title="API token", border_style="yellow", expand=False))
