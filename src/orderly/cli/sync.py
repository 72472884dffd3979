"""Connecting shops and running their sync: ``shop connect``, ``shop backfill``, ``worker``, ``jobs`` and
``alerts``."""

from __future__ import annotations

import json
import signal
import threading
import time
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, TextIO

import typer
from cryptography.fernet import Fernet
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn
from rich.table import Table

from orderly.alerts.service import open_alerts
from orderly.channels import backfills
from orderly.channels import service as channels
from orderly.channels.connector import ChannelError
from orderly.channels.inbox import list_inbox, replay
from orderly.channels.schemas import BackfillIn, BackfillOut, ShopUpdate
from orderly.channels.secrets import key_for
from orderly.channels.tasks import request_sync
from orderly.cli.common import date_option, fail, id_argument, out, session_factory, unit_of_work, when
from orderly.core.config import get_settings
from orderly.core.db import transaction
from orderly.jobs import service as jobs
from orderly.jobs.worker import start_workers


class JobStatus(StrEnum):
    queued = "queued"
    running = "running"
    done = "done"
    dead = "dead"


jobs_app = typer.Typer(help="Background jobs: see what failed and run it again.", no_args_is_help=True)


def _pairs(values: list[str], what: str) -> dict[str, str]:
    found: dict[str, str] = {}
    for value in values:
        key, sep, rest = value.partition("=")
        if not sep or not key:
            fail(f"--{what} takes KEY=VALUE, got {value!r}")
        found[key] = rest
    return found


def credentials_given(given: list[str], file: TextIO | None) -> dict[str, str] | None:
    """The credentials given (None: none): a file's NAME=VALUE lines, then each ``--credential``. A
    value read from a file or asked for never shows in the process list, and no message repeats it."""
    if not given and file is None:
        return None
    found: dict[str, str] = {}
    for number, line in enumerate(file.read().splitlines() if file is not None else [], 1):
        if line.strip() and not line.lstrip().startswith("#"):
            name, sep, value = line.partition("=")
            if not sep or not name.strip():
                fail(f"--credentials-file: line {number} is not NAME=VALUE")
            found[name.strip()] = value
    for item in given:
        name, sep, value = item.partition("=")
        if not name:
            fail("--credential takes NAME, NAME=@FILE or NAME=VALUE; one had no NAME")
        if not sep:
            value = typer.prompt(name, hide_input=True)
        elif value.startswith("@"):
            path = Path(value[1:]).expanduser()
            try:
                value = path.read_text().rstrip("\r\n")
            except (OSError, UnicodeDecodeError) as exc:
                fail(f"--credential {name}: cannot read {path}: {exc}")
        found[name] = value
    return found


def _setting_value(text: str) -> Any:
    """An empty value returns the setting to its default; an object or list is read as JSON."""
    if not text:
        return None
    if text[0] in "{[":
        try:
            return json.loads(text)
        except ValueError:
            fail(f"--setting: {text!r} is not valid JSON")
    return text


def shop_connect(
    code: Annotated[str, typer.Argument(help="The shop's code")],
    base_url: Annotated[str | None, typer.Option(help="The platform's (or a sandbox's) address")] = None,
    credential: Annotated[
        list[str] | None,
        typer.Option(
            help="NAME (its value is asked for, not shown), NAME=@FILE (the file's content) or NAME=VALUE "
            "(shown in the process list: avoid it); repeatable. The credentials given replace all stored."
        ),
    ] = None,
    credentials_file: Annotated[
        typer.FileText | None,
        typer.Option(
            help="A file of NAME=VALUE lines (- reads them from standard input); --credential adds to them"
        ),
    ] = None,
    setting: Annotated[
        list[str] | None,
        typer.Option(
            help="KEY=VALUE sync setting, repeatable; other settings keep their values. KEY= returns one "
            "to its default; an object or list VALUE is JSON, e.g. rate_limits='{\"stock\": [5, 10]}'"
        ),
    ] = None,
    enable: Annotated[bool | None, typer.Option("--enable/--disable", help="Switch sync on or off")] = None,
) -> None:
    """Point a shop at its platform, store its credentials (encrypted) and switch its sync on or off."""
    changes = {key: _setting_value(value) for key, value in _pairs(setting or [], "setting").items()}
    update = ShopUpdate(
        base_url=base_url,
        credentials=credentials_given(credential or [], credentials_file),
        settings=changes or None,
        sync_enabled=enable,
    )
    with unit_of_work() as session:
        shop = channels.update_shop(session, code, update)
    state = "on" if shop.sync_enabled else "off"
    secrets = "set" if shop.has_credentials else "none"
    out.print(f"Shop {shop.code!r}: {shop.base_url or 'no address'}, credentials {secrets}, sync {state}.")


def shop_authorize(
    code: Annotated[str, typer.Argument(help="The shop's code")],
    auth_code: Annotated[
        str,
        typer.Option(
            prompt="Authorisation code",
            hide_input=True,
            help="The code the platform's authorisation page gave the seller (asked for, not shown)",
        ),
    ],
) -> None:
    """Exchange the code a platform gave the seller for the shop's tokens, stored (encrypted) with its
    other credentials (TikTok Shop: give the app key and secret with `shop connect` first; Shopee: the
    partner id and key, and the shop_id setting)."""
    with unit_of_work(read_only=True) as session:
        shop = channels.shop_to_call(session, code)
    with channels.http_client(shop) as http:
        try:
            connector = channels.connector_for(shop, http)
        except ChannelError as exc:
            # The shop is not set up to call its platform yet: no code was sent, none refused.
            fail(f"shop {code!r}: {exc}")
        try:
            tokens = connector.authorize(auth_code.strip())
        except NotImplementedError as exc:
            fail(str(exc))
        except ChannelError as exc:
            fail(f"shop {code!r}: the platform refused the code: {exc}")
    with unit_of_work() as session:
        channels.keep_credentials(session, shop.id, tokens)
    out.print(f"Shop {code!r}: authorised; its tokens are stored, encrypted, with its credentials.")


def shop_backfill(
    code: Annotated[str, typer.Argument(help="The shop's code")],
    since: Annotated[
        str,
        typer.Option(
            help="Import orders updated since this date (2025-01-01: from its first moment anywhere) or "
            "instant with its zone (2025-01-01T00:00:00+08:00)"
        ),
    ],
    until: Annotated[
        str | None, typer.Option(help="...and before this date (through it) or instant; default now")
    ] = None,
    wait: Annotated[bool, typer.Option("--wait/--no-wait", help="Show the progress until it is done")] = True,
) -> None:
    """Import a shop's orders from a chosen date, older than its first poll reached.

    The workers (``orderly start`` or ``orderly worker``) do it, slice by slice; Ctrl-C stops only the
    progress shown here. ``orderly shop backfills CODE`` shows how far every backfill got."""
    with unit_of_work() as session:
        started = backfills.start_backfill(
            session,
            code,
            BackfillIn.model_validate(
                {"since": date_option(since, "--since"), "until": date_option(until, "--until")}
            ),
        )
    out.print(
        f"Backfill {started.id} of {code!r} queued: orders updated from {when(started.since)} "
        f"to {when(started.until)}, read by the workers."
    )
    if not wait:
        return
    try:
        finished = _follow(code, started)
    except KeyboardInterrupt:
        out.print(f"It goes on in the workers: `orderly shop backfills {code}` shows how far it got.")
        return
    if finished.status == "dead":
        fail(
            f"Backfill {finished.id} stopped at {when(finished.reached)}: {finished.last_error}",
            f"`orderly jobs replay {finished.job_id}` goes on from there.",
        )
    out.print(f"Backfill {finished.id} done: {finished.orders} orders fetched.")


def _follow(code: str, backfill: BackfillOut) -> BackfillOut:
    """A progress bar of the backfill until it is done or its job gave up."""
    columns = (TextColumn("{task.description}"), BarColumn(), TaskProgressColumn())
    with session_factory() as factory, Progress(*columns, console=out) as bar:
        task = bar.add_task(code, total=1.0)
        while True:
            with transaction(factory) as session:
                (backfill,) = backfills.backfills(session, code, backfill.id)
            shown = f"{code}: {backfill.orders} orders, up to {when(backfill.reached)}"
            bar.update(task, completed=backfill.progress, description=shown)
            if backfill.status != "running":
                return backfill
            time.sleep(1.0)


def shop_backfills(code: Annotated[str, typer.Argument(help="The shop's code")]) -> None:
    """A shop's backfills, newest first, with how far each got."""
    with unit_of_work(read_only=True) as session:
        found = backfills.backfills(session, code)
    table = Table("ID", "Since", "Until", "Reached", "Orders", "Done", "Status", "Job", "Last error")
    for b in found:
        table.add_row(
            str(b.id),
            when(b.since),
            when(b.until),
            when(b.reached),
            str(b.orders),
            f"{b.progress:.0%}",
            b.status,
            str(b.job_id or ""),
            b.last_error or "",
        )
    out.print(table)


def shop_sync(code: Annotated[str, typer.Argument(help="The shop's code")]) -> None:
    """Poll the shop's orders now and push every listing's stock again (the workers do it)."""
    with unit_of_work() as session:
        request_sync(session, code)
    out.print(f"Shop {code!r}: a poll and a stock resync are queued for the workers.")


def worker(
    count: Annotated[int, typer.Option(min=1, max=64, help="Worker threads in this process")] = 2,
) -> None:
    """Run background jobs (order polls, webhooks, stock pushes) until stopped with Ctrl-C.

    Run as many of these as you like, on any machine that reaches the database."""
    stopped = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stopped.set())
    settings = get_settings()
    key_for(settings)  # refused where stored credentials could not be read
    with session_factory() as factory:
        stop = start_workers(factory, count, settings)
        out.print(f"{count} workers running; Ctrl-C stops them after the jobs in hand.")
        stopped.wait()
        stop()


@jobs_app.command("list")
def jobs_list(
    status: Annotated[JobStatus, typer.Option(help="Jobs in this state")] = JobStatus.dead,
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 50,
) -> None:
    """Jobs by status; dead ones by default, with the error that stopped them."""
    with unit_of_work(read_only=True) as session:
        found = jobs.list_jobs(session, status=status.value, limit=limit)
    table = Table("ID", "Kind", "Key", "Attempts", "Next run", "Last error", title=f"Jobs: {status.value}")
    for job in found:
        table.add_row(
            str(job.id), job.kind, job.key or "", str(job.attempts), when(job.run_after), job.last_error or ""
        )
    out.print(table)


@jobs_app.command("replay")
def jobs_replay(job_id: Annotated[int, id_argument()]) -> None:
    """Run a dead job again."""
    with unit_of_work() as session:
        jobs.replay(session, job_id)
    out.print(f"Job {job_id} queued again.")


def alerts() -> None:
    """Open alerts: unhealthy shops, low stock, jobs that gave up."""
    with unit_of_work(read_only=True) as session:
        found = open_alerts(session)
    table = Table("Since", "Kind", "About", "Message", title="Open alerts")
    for alert in found:
        table.add_row(when(alert.created_at), alert.kind, alert.subject, alert.message)
    out.print(table)


def secret_key() -> None:
    """Print a new key for ORDERLY_SECRET_KEY, which encrypts shop credentials at rest."""
    out.print(Fernet.generate_key().decode())


inbox_app = typer.Typer(
    help="What platforms sent: see what failed to map, process stored deliveries again.", no_args_is_help=True
)


@inbox_app.command("list")
def inbox_list(
    shop: Annotated[str | None, typer.Option(help="Only this shop's entries (code)")] = None,
    failed: Annotated[bool, typer.Option("--failed", help="Only entries that could not be mapped")] = False,
    limit: Annotated[int, typer.Option(min=1, max=10_000, help="Show at most this many rows")] = 100,
) -> None:
    """Inbox entries, oldest first, with their state and the error that stopped them."""
    with unit_of_work(read_only=True) as session:
        entries = list_inbox(session, shop=shop, failed=failed, limit=limit + 1)
    table = Table(
        "ID", "Shop", "Source", "Order", "State", "Attempts", "Received", "Last error", title="Inbox"
    )
    for entry in entries[:limit]:
        table.add_row(
            str(entry.id),
            entry.shop,
            entry.source,
            entry.external_id,
            entry.state,
            str(entry.attempts),
            when(entry.received_at),
            entry.last_error or "",
        )
    out.print(table)
    if len(entries) > limit:
        out.print(f"Showing the first {limit}; use --limit to see more.", style="yellow")
    elif any(entry.state in {"failing", "gave_up"} for entry in entries):
        out.print(
            "Fix the cause (a mapping, a product), then `orderly inbox replay ID...` processes them again.",
            style="yellow",
        )


@inbox_app.command("replay")
def inbox_replay(
    entry_ids: Annotated[
        list[int] | None, id_argument("Entries; default: those that gave up", metavar="[ID]...")
    ] = None,
) -> None:
    """Process inbox entries again, e.g. after fixing a mapping; the workers take them up."""
    with unit_of_work() as session:
        count = replay(session, entry_ids or None)
    out.print(f"{count} inbox entr{'y' if count == 1 else 'ies'} queued again.")
