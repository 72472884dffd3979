"""``orderly users`` and ``orderly audit``: people, their roles, and who changed what."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.table import Table

from orderly.auth import audit as audit_log
from orderly.auth import service
from orderly.auth.domain import ROLE_PERMISSIONS, Role
from orderly.cli.common import Group, out, show_password, unit_of_work, when
from orderly.core.config import get_settings

users_app = typer.Typer(
    cls=Group,
    help="People who sign in to the hub: add, list, set-role, reset-password, deactivate.",
    no_args_is_help=True,
)

Username = Annotated[str, typer.Argument(help="The username (any case)")]


@users_app.command("add")
def add(
    username: Username,
    role: Annotated[Role, typer.Option(help="What the user may do (`orderly users roles`)")],
    name: Annotated[str | None, typer.Option(help="The name shown; default the username")] = None,
    locale: Annotated[str, typer.Option(help="en or zh_Hans")] = "en",
    timezone: Annotated[str | None, typer.Option(help="IANA name; default ORDERLY_TIMEZONE")] = None,
) -> None:
    """Add a user with a random first password, printed once."""
    password = secrets.token_urlsafe(12)
    with unit_of_work() as session:
        user = service.create_user(
            session,
            username,
            password,
            role=role,
            display_name=name,
            locale=locale,
            timezone=timezone or get_settings().timezone,
        )
    show_password(user.username, password)


@users_app.command("list")
def list_users() -> None:
    """Every user, deactivated ones included."""
    with unit_of_work(read_only=True) as session:
        users = service.list_users(session)
    table = Table("ID", "Username", "Name", "Role", "Locale", "Time zone", "Active", "Created", title="Users")
    for u in users:
        table.add_row(
            str(u.id),
            u.username,
            u.display_name,
            u.role,
            u.locale,
            u.timezone,
            "yes" if u.active else "no",
            when(u.created_at),
        )
    out.print(table)


@users_app.command("set-role")
def set_role(username: Username, role: Annotated[Role, typer.Argument(help="The new role")]) -> None:
    """Change a user's role (seen by a running hub within seconds)."""
    with unit_of_work() as session:
        user = service.update_user(session, service.user_id_of(session, username), role=role)
    out.print(f"{user.username} is now {user.role}.")


@users_app.command("reset-password")
def reset_password(username: Username) -> None:
    """A new random password, printed once: the user's sessions end and a sign-in lock is lifted."""
    password = secrets.token_urlsafe(12)
    with unit_of_work() as session:
        service.set_password(session, service.user_id_of(session, username), password)
    show_password(username, password)


@users_app.command("deactivate")
def deactivate(username: Username) -> None:
    """Stop a user signing in: their sessions end and their tokens stop (users are never deleted)."""
    with unit_of_work() as session:
        user = service.update_user(session, service.user_id_of(session, username), active=False)
    out.print(f"{user.username} is deactivated.")


@users_app.command("roles")
def roles() -> None:
    """Each role and the permissions it holds."""
    table = Table("Role", "Permissions", title="Roles")
    for role, permissions in ROLE_PERMISSIONS.items():
        table.add_row(role.value, ", ".join(sorted(permissions)))
    out.print(table)


def audit(
    actor: Annotated[str | None, typer.Option(help="A username or token name")] = None,
    subject: Annotated[str | None, typer.Option(help="KIND or KIND:ID, e.g. order:42, shop:acme")] = None,
    action: Annotated[str | None, typer.Option(help="A part of 'METHOD /route', e.g. hold")] = None,
    since: Annotated[datetime | None, typer.Option(help="From this UTC time")] = None,
    until: Annotated[datetime | None, typer.Option(help="Before this UTC time")] = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000, help="How many, newest first")] = 50,
) -> None:
    """Who changed what through the API, newest first."""
    kind, _, subject_id = (subject or "").partition(":")
    where = audit_log.AuditFilter(
        actor=actor,
        subject_kind=kind or None,
        subject_id=subject_id or None,
        action=action,
        since=since if since is None or since.tzinfo else since.replace(tzinfo=UTC),
        until=until if until is None or until.tzinfo else until.replace(tzinfo=UTC),
    )
    with unit_of_work(read_only=True) as session:
        events = audit_log.events(session, where, limit=limit, before_id=None)[:limit]
        rows = [(e.id, e.at, e.actor, e.role, e.summary, e.client) for e in events]
    table = Table("ID", "When", "Who", "Role", "What", "From", title="Audit log")
    for event_id, at, who, role, summary, client in rows:
        table.add_row(str(event_id), when(at), who, role, summary, client)
    out.print(table)
