"""Running the hub: ``start``, ``migrate`` and API tokens."""

from __future__ import annotations

import asyncio
import re
import secrets
from contextlib import ExitStack
from datetime import datetime, timedelta
from typing import Annotated, Any

import h11
import typer
import uvicorn
from rich.table import Table
from sqlalchemy.engine import make_url
from uvicorn.protocols.http.h11_impl import H11Protocol

from orderly.auth import service as auth
from orderly.auth.domain import Role, Scope, expired
from orderly.channels.secrets import key_for
from orderly.cli.common import (
    id_argument,
    out,
    session_factory,
    show_password,
    show_secret,
    unit_of_work,
    when,
)
from orderly.core.clock import utcnow
from orderly.core.config import get_settings
from orderly.core.db import make_engine
from orderly.core.migrate import schema_state, upgrade
from orderly.sandbox.demo import DEMO_SHOPS, start_demo

token_app = typer.Typer(help="API tokens: create, list, revoke.", no_args_is_help=True)


class HeadTimedH11(H11Protocol):
    """uvicorn's HTTP/1.1 with a deadline for each request head: uvicorn has none, so clients
    trickling header bytes kept their connections (and the server's file descriptors) for ever.

    From a connection's opening, and from each answer on a kept-alive one, the client has
    ``head_timeout_s`` to send a whole request line and headers; otherwise the connection is closed.
    (The body's deadline is the request gate's: ``core.web``, ``ORDERLY_BODY_TIMEOUT_S``.)"""

    head_timeout_s: float = 10.0
    _head_deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._await_head()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._await_head()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._head_deadline is not None:
            self._head_deadline.cancel()
        super().connection_lost(exc)

    def _await_head(self) -> None:
        if self._head_deadline is not None:
            self._head_deadline.cancel()
        self._head_deadline = self.loop.call_later(self.head_timeout_s, self._head_overdue)

    def _head_overdue(self) -> None:
        self._head_deadline = None
        # IDLE: the client has not yet sent a whole request head since the deadline was set.
        if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
            self.transport.close()


def head_timed(head_timeout_s: float) -> type[HeadTimedH11]:
    """The HTTP protocol ``orderly start`` serves with, closing connections that are slow to send a
    request head."""
    attributes: dict[str, Any] = {"head_timeout_s": head_timeout_s}
    return type("HeadTimedH11", (HeadTimedH11,), attributes)


def migrate() -> None:
    """Create or upgrade the database schema."""
    url = get_settings().resolved_database_url()
    upgrade(url)
    out.print(f"Database schema is up to date: {make_url(url).render_as_string(hide_password=True)}")


def status() -> None:
    """Where this command's configuration, data and database are, and whether the schema is current.

    Every command works on that database directly, as whoever can read its configuration; API tokens
    guard the HTTP API only."""
    settings = get_settings()
    url = settings.resolved_database_url(create=False)
    if settings.database_url or (settings.data_dir / "orderly.db").exists():
        engine = make_engine(url)
        try:
            state = schema_state(engine)
        finally:
            engine.dispose()
    else:
        state = "empty"  # looking must not create the embedded database
    advice = {"empty": " (no tables yet: run `orderly migrate`)", "behind": " (run `orderly migrate`)"}
    out.print(f"Configuration: {settings.env_file or 'environment only (no .env file)'}")
    out.print(f"Data folder:   {settings.data_dir}")
    out.print(f"Database:      {make_url(url).render_as_string(hide_password=True)}")
    out.print(f"Schema:        {state}{advice.get(state, '')}")
    out.print(f"API:           http://{settings.host}:{settings.port}/api/v1 (token required)")
    out.print("Commands work on the database directly; API tokens guard the HTTP API only.")
    if state != "up to date":
        raise typer.Exit(1)


def start(
    host: Annotated[
        str | None, typer.Option(help="Interface to listen on", show_default="ORDERLY_HOST")
    ] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on", show_default="ORDERLY_PORT")] = None,
    no_migrate: Annotated[bool, typer.Option("--no-migrate", help="Do not upgrade the schema first")] = False,
    demo: Annotated[
        bool,
        typer.Option(
            "--demo",
            help="Also run a sandbox shop of each platform that has one, taking orders, and sandbox carriers",
        ),
    ] = False,
) -> None:
    """Migrate the database, make sure an admin (user and API token) exists, and serve the API (and its
    job workers)."""
    settings = get_settings()
    key_for(settings)  # refused before anything runs where stored credentials could not be read
    host = settings.host if host is None else host
    port = settings.port if port is None else port
    if not no_migrate:
        migrate()
    with unit_of_work() as session:
        # The first token, and a new one whenever no live admin token is left (revoked, expired).
        issued = None if auth.has_admin(session) else auth.create_token(session, "admin", role=Role.ADMIN)
        # The first user, once: later, users are managed by an admin (`orderly users`).
        password = None if auth.has_admin_user(session) else secrets.token_urlsafe(12)
        if password is not None:
            auth.create_user(
                session, "admin", password, role=Role.ADMIN, timezone=settings.timezone, display_name="Admin"
            )
    # Shown only after the commit: a secret printed for what was rolled back would not work.
    if issued is not None:
        show_secret(issued.token, issued.name)
    if password is not None:
        show_password("admin", password)
    base = f"http://{f'[{host}]' if ':' in host else host}:{port}"
    out.print(f"Console:  {base}/ (sign in as a user, e.g. admin)")
    out.print(f"API:      {base}/api/v1")
    out.print(f"API docs: {base}/docs")
    out.print(f"Health:   {base}/api/v1/health")
    with ExitStack() as stack:
        if demo:
            factory = stack.enter_context(session_factory())
            stack.callback(start_demo(factory, base))
            out.print(
                f"Demo: sandbox shops {', '.join(repr(shop) for shop in DEMO_SHOPS)} take orders; watch with "
                f"`orderly stock show DEMO-TEE-BLK-M` or {base}/api/v1/orders; the carrier accounts "
                "'demo-easypost' and 'demo-dhl' quote and buy labels "
                "(`orderly carriers quote SHIPMENT --account demo-easypost`)"
            )
        # Servers in one process share uvicorn's access logger: with the demo's sandboxes in here it
        # would print every platform call they answer.
        uvicorn.run(
            "orderly.api:create_app",
            factory=True,
            host=host,
            port=port,
            access_log=not demo,
            http=head_timed(settings.header_timeout_s),
            # uvicorn believes X-Forwarded-For from 127.0.0.1 unless told otherwise.
            proxy_headers=bool(settings.trusted_proxies),
            forwarded_allow_ips=settings.trusted_proxies or None,
        )


def _expiry(text: str) -> datetime:
    """``90d``, ``12h`` from now, or a time with offset (``2027-01-31T00:00Z``)."""
    match = re.fullmatch(r"(\d{1,5})([dh])", text.strip())
    if match:
        amount = int(match[1])
        return utcnow() + (timedelta(days=amount) if match[2] == "d" else timedelta(hours=amount))
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise typer.BadParameter(
            "give a number of days or hours (90d, 12h) or a time with offset (2027-01-31T00:00Z)",
            param_hint="--expires",
        )
    return moment


@token_app.command("create")
def token_create(
    name: Annotated[str, typer.Argument(help="What the token is for, e.g. 'shopify-sync'")],
    role: Annotated[
        Role | None, typer.Option(help="its rights (see `orderly users roles`); default writer")
    ] = None,
    user: Annotated[
        str | None, typer.Option(help="the username it belongs to: it carries that user's role")
    ] = None,
    scope: Annotated[
        Scope | None,
        typer.Option(help="before roles: read (the reader role), write (writer), admin (admin)"),
    ] = None,
    expires: Annotated[
        str | None,
        typer.Option(help="When it stops working: 90d, 12h, or a time with offset; default never"),
    ] = None,
) -> None:
    """Create a token and print its secret, once."""
    if not 0 < len(name.strip()) <= 100:
        raise typer.BadParameter("must be 1 to 100 characters", param_hint="NAME")
    expires_at = None if expires is None else _expiry(expires)
    with unit_of_work() as session:
        owner = None if user is None else auth.user_id_of(session, user)
        issued = auth.create_token(
            session,
            name.strip(),
            role=role,
            scope=scope,
            user_id=owner,
            expires_at=expires_at,
        )
    show_secret(issued.token, issued.name)
    out.print(f"Role: {issued.role}; expires: {when(issued.expires_at) or 'never'}")


@token_app.command("list")
def token_list() -> None:
    """List tokens (never their secrets)."""
    with unit_of_work(read_only=True) as session:
        tokens = auth.list_tokens(session)
    now = utcnow()
    table = Table(
        "ID",
        "Name",
        "Starts with",
        "Role",
        "User",
        "Created",
        "Expires",
        "Last used",
        "Status",
        title="API tokens",
    )
    for t in tokens:
        if t.revoked_at:
            status = f"revoked {when(t.revoked_at)}"
        elif expired(t.expires_at, now):
            status = "expired"
        else:
            status = "live"
        table.add_row(
            str(t.id),
            t.name,
            f"{t.prefix}…",
            t.role,
            "" if t.user_id is None else str(t.user_id),
            when(t.created_at),
            when(t.expires_at),
            when(t.last_used_at),
            status,
        )
    out.print(table)


@token_app.command("revoke")
def token_revoke(token_id: Annotated[int, id_argument()]) -> None:
    """Revoke a token: requests with it are refused from now on."""
    with unit_of_work() as session:
        auth.revoke_token(session, token_id)
    out.print(f"Token {token_id} revoked.")
