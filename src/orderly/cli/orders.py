"""Bulk ingest of normalized orders from a file, the rejections it leaves behind, and holding and releasing
an order by hand."""

from __future__ import annotations

import codecs
import time
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from itertools import islice
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import orjson
import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Column, Table
from rich.text import Text

from orderly.cli.common import (
    actor,
    date_option,
    err,
    fail,
    id_argument,
    out,
    session_factory,
    unit_of_work,
    when,
)
from orderly.core import jsontext
from orderly.core.clock import DateZone, zone
from orderly.core.config import get_settings
from orderly.core.money import display, is_country
from orderly.orders import corrections, holds, queries
from orderly.orders import service as order_service
from orderly.orders.domain import IngestReport, ItemResult, OrderStatus
from orderly.orders.ingest import ingest_batch
from orderly.orders.models import Order
from orderly.orders.schemas import AddressCorrectionIn, CancelIn
from orderly.review.schemas import NoteIn

rejections_app = typer.Typer(
    help="Orders that could not be ingested: list, replay, discard.", no_args_is_help=True
)

OUTCOMES = ("created", "updated", "unchanged", "stale", "rejected")
SHOWN = 10  # rejections and malformed lines printed in full; the rest are counted


class _Source(ABC):
    """Orders read from a file, each with its place in the file for messages."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.consumed = 0  # orders (or lines) read so far, for the progress bar
        self.malformed: list[str] = []  # the first SHOWN lines that are not JSON
        self.malformed_count = 0

    @abstractmethod
    def __iter__(self) -> Iterator[tuple[str, Any]]: ...


class _Document(_Source):
    """A JSON file: a list of orders or ``{"orders": [...]}``, parsed whole before anything is written."""

    def __init__(self, path: Path) -> None:
        try:
            data = jsontext.loads(path.read_bytes().removeprefix(codecs.BOM_UTF8))
        except orjson.JSONDecodeError as exc:
            fail(
                f"{path}: invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}",
                "Nothing was ingested.",
            )
        if isinstance(data, dict) and isinstance(data.get("orders"), list):
            data = data["orders"]
        if not isinstance(data, list):
            fail(f'{path}: expected a JSON list of orders or {{"orders": [...]}}', "Nothing was ingested.")
        super().__init__(len(data))
        self.orders: list[Any] = data

    def __iter__(self) -> Iterator[tuple[str, Any]]:
        for number, payload in enumerate(self.orders, start=1):
            self.consumed = number
            yield f"order {number}", payload


class _JsonLines(_Source):
    """A JSON Lines file, read one line at a time so its size does not matter.

    A line that is not JSON cannot be stored even as a rejection: it is skipped and reported, and the
    command exits 1 at the end.
    """

    def __init__(self, path: Path) -> None:
        with path.open("rb") as lines:
            super().__init__(sum(1 for line in lines if line.strip()))
        self.path = path

    def __iter__(self) -> Iterator[tuple[str, Any]]:
        with self.path.open("rb") as lines:
            for number, line in enumerate(lines, start=1):
                if not line.strip():
                    continue
                self.consumed += 1
                # Without its line break, so a position at the end of the line is reported as such.
                text = line.rstrip(b"\r\n")
                try:
                    payload = jsontext.loads(text.removeprefix(codecs.BOM_UTF8) if number == 1 else text)
                except orjson.JSONDecodeError as exc:
                    self.malformed_count += 1
                    if len(self.malformed) < SHOWN:
                        self.malformed.append(f"line {number}, column {exc.colno}: {exc.msg}")
                    continue
                yield f"line {number}", payload


@dataclass
class _Tally:
    totals: Counter[str] = field(default_factory=Counter)
    rejected: list[tuple[str, ItemResult]] = field(default_factory=list)  # the first SHOWN

    def add(self, report: IngestReport, places: list[str] | None = None) -> None:
        for item in report.items:
            self.totals[item.outcome] += 1
            if item.outcome == "rejected" and len(self.rejected) < SHOWN:
                self.rejected.append((places[item.index] if places else "", item))

    @property
    def processed(self) -> int:
        return sum(self.totals.values())


def _exit_1_if_rejected(tally: _Tally) -> None:
    # A script must see that not everything went in; the rejections are kept for replay.
    if tally.totals["rejected"]:
        raise typer.Exit(1)


class _Rate(ProgressColumn):
    """Orders per second since the start: batches are few and large, so a moving rate says little."""

    def render(self, task: Task) -> Text:
        elapsed = task.finished_time or task.elapsed
        rate = f"{task.completed / elapsed:,.0f} orders/s" if elapsed else ""
        return Text(rate, style="progress.data.speed")


def _summary(tally: _Tally, title: str, *, where: bool = True) -> None:
    table = Table("Outcome", Column("Orders", justify="right"), title=title)
    for name in OUTCOMES:
        table.add_row(
            name, str(tally.totals[name]), style="red" if name == "rejected" and tally.totals[name] else None
        )
    out.print(table)
    if not tally.rejected:
        return
    columns = ("Where", "Rejection") if where else ("Rejection",)
    rejected = Table(*columns, "Shop", "Order", "Field", "Problem", title="Rejected orders")
    for place, item in tally.rejected:
        rejected.add_row(
            *((place,) if where else ()),
            str(item.rejection_id or ""),
            item.shop or "",
            item.external_id or "",
            "\n".join(e["field"] for e in item.errors),
            "\n".join(e["message"] for e in item.errors),
        )
    out.print(rejected)
    more = tally.totals["rejected"] - len(tally.rejected)
    if more:
        out.print(f"... and {more} more.")
    out.print(
        "Rejected orders are kept. Fix the cause (add the product or a mapping), then run "
        "`orderly rejections replay`; see them all with `orderly rejections list`.",
        style="yellow",
    )


def ingest(
    file: Annotated[
        Path,
        typer.Argument(
            exists=True,
            dir_okay=False,
            readable=True,
            help='JSON (a list of orders or {"orders": [...]}) or JSON Lines (.jsonl, one order per line)',
        ),
    ],
    batch_size: Annotated[
        int | None,
        typer.Option(
            min=1, max=50_000, help="Orders per transaction", show_default="ORDERLY_INGEST_BATCH_SIZE"
        ),
    ] = None,
) -> None:
    """Ingest normalized orders from a file, in batches, idempotently."""
    size = batch_size or get_settings().ingest_batch_size
    source: _Source = _JsonLines(file) if file.suffix.lower() in {".jsonl", ".ndjson"} else _Document(file)
    if not source.total:
        out.print(f"No orders in {file}.")
        return
    tally = _Tally()
    who = actor()
    started = time.perf_counter()
    progress = Progress(
        TextColumn("{task.description}", markup=False),
        BarColumn(),
        MofNCompleteColumn(),
        _Rate(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=err,
    )
    try:
        with session_factory() as factory, progress:
            task = progress.add_task("Ingesting", total=source.total)
            records = iter(source)
            while batch := list(islice(records, size)):
                report = ingest_batch(factory, [payload for _, payload in batch], actor=who)
                tally.add(report, [place for place, _ in batch])
                progress.update(task, completed=source.consumed)
            progress.update(task, completed=source.consumed)
    except (Exception, KeyboardInterrupt):
        # Each batch is its own transaction: say exactly what is already in before the error is shown.
        if not tally.processed:
            err.print("Stopped before any order was ingested.", style="red")
            raise
        _summary(tally, "Committed before the stop")
        err.print(
            f"Stopped after {tally.processed} of {source.total} orders: those are stored, "
            "the rest were not ingested. Running the same file again is safe.",
            style="red",
        )
        raise
    elapsed = time.perf_counter() - started
    _summary(tally, f"Ingested {file.name}")
    out.print(
        f"{tally.processed} orders in {elapsed:.1f} s ({tally.processed / max(elapsed, 1e-9):,.0f} orders/s)."
    )
    if source.malformed_count:
        for message in source.malformed:
            err.print(f"{file}: invalid JSON at {message}", style="red")
        fail(
            f"{source.malformed_count} malformed line(s) skipped; the other lines were ingested. "
            "Fix those lines and ingest them again."
        )
    _exit_1_if_rejected(tally)


class RejectionStatus(StrEnum):
    OPEN = "open"
    RESOLVED = "resolved"
    DISCARDED = "discarded"
    ALL = "all"


@rejections_app.command("list")
def rejections_list(
    status: Annotated[RejectionStatus, typer.Option(help="Which rejections")] = RejectionStatus.OPEN,
    limit: Annotated[int, typer.Option(min=1, help="Show at most this many rows")] = 100,
) -> None:
    """List rejected orders and why they were rejected."""
    with unit_of_work(read_only=True) as session:
        rows = order_service.list_rejections(
            session, status=None if status is RejectionStatus.ALL else status.value, limit=limit + 1
        )
    table = Table(
        "ID", "Status", "Shop", "Order", "Attempts", "Reason", "Updated", title=f"Rejections ({status})"
    )
    for row in rows[:limit]:
        table.add_row(
            str(row.id),
            row.status,
            row.shop_code or "",
            row.external_id or "",
            str(row.attempts),
            row.reason,
            when(row.updated_at),
        )
    out.print(table)
    if len(rows) > limit:
        out.print(f"Showing the first {limit}; use --limit to see more.", style="yellow")


@rejections_app.command("replay")
def rejections_replay(
    ids: Annotated[list[int] | None, id_argument("Rejections to replay", show_default="all open")] = None,
) -> None:
    """Ingest rejected orders again, once their cause is fixed."""
    with session_factory() as factory:
        report = order_service.replay_rejections(factory, ids or None, actor=actor())
    if not report.items:
        out.print("No open rejections to replay.")
        return
    tally = _Tally()
    tally.add(report)
    _summary(tally, "Replayed", where=False)
    _exit_1_if_rejected(tally)


@rejections_app.command("discard")
def rejections_discard(rejection_id: Annotated[int, id_argument()]) -> None:
    """Give up on a rejected order: it leaves the open list but is kept for the record."""
    with unit_of_work() as session:
        order_service.discard_rejection(session, rejection_id, actor=actor())
    out.print(f"Rejection {rejection_id} discarded.")


orders_app = typer.Typer(
    help="Orders: find, show and cancel them; hold one by hand, release a held one; recount the figures.",
    no_args_is_help=True,
)

OrderId = Annotated[int, id_argument("The order's id")]
Note = Annotated[str, typer.Option(help="Why, kept in the order's history")]


def _zone(name: str | None) -> ZoneInfo | None:
    try:
        return zone(name) if name else None
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--tz") from None


@orders_app.command("list")
def orders_list(
    status: Annotated[OrderStatus | None, typer.Option(help="Only orders in this status")] = None,
    shop: Annotated[str | None, typer.Option(help="Only this shop's orders (code)")] = None,
    sku: Annotated[str | None, typer.Option(help="Only orders of this SKU (ours or the platform's)")] = None,
    country: Annotated[str | None, typer.Option(help="Shipping country, ISO 3166-1 alpha-2, e.g. DE")] = None,
    q: Annotated[
        str | None,
        typer.Option(
            "--q", help="An order number, a buyer's name (or one word of it), email, phone or tracking number"
        ),
    ] = None,
    placed_from: Annotated[
        str | None,
        typer.Option("--from", help="Placed on or after: a date (that day in --tz) or a time with offset"),
    ] = None,
    placed_to: Annotated[
        str | None,
        typer.Option("--to", help="Placed up to: a date (that whole day in --tz) or a time (excluded)"),
    ] = None,
    tz: Annotated[
        str | None,
        typer.Option(
            help="Time zone of plain dates, e.g. Europe/Berlin",
            show_default="the shop's with --shop, else ORDERLY_TIMEZONE",
        ),
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000, help="Show at most this many orders")] = 50,
) -> None:
    """Orders, newest first; filters combine."""
    named = _zone(tz)
    start, end = date_option(placed_from, "--from"), date_option(placed_to, "--to")
    if country is not None and not (len(country) == 2 and is_country(country.upper())):
        raise typer.BadParameter(
            f"{country!r} is not an ISO 3166-1 alpha-2 code such as DE", param_hint="--country"
        )
    with unit_of_work(read_only=True) as session:
        filters = queries.order_filters(
            session,
            DateZone(named, get_settings().timezone),
            status=status,
            shop=shop,
            sku=sku,
            country=country,
            q=q,
            placed_from=start,
            placed_to=end,
        )
        page = queries.list_orders(session, filters, cursor=None, limit=limit)
    table = Table(
        "ID",
        "Shop",
        "Order",
        "Status",
        "Buyer",
        Column("Total", justify="right"),
        "Placed",
        "Holds",
        title="Orders",
    )
    for o in page.items:
        table.add_row(
            str(o.id),
            o.shop,
            o.external_id,
            o.status,
            o.buyer.name or o.buyer.email or "",
            display(o.total, o.currency),
            when(o.placed_at),
            ", ".join(h.reason for h in o.holds),
        )
    out.print(table)
    if page.next_cursor is not None:
        out.print(f"Showing the newest {limit}; use --limit or narrower filters to see more.", style="yellow")


@orders_app.command("show")
def orders_show(order_id: OrderId) -> None:
    """One order: buyer, address, lines, shipments with tracking, holds and its history."""
    with unit_of_work(read_only=True) as session:
        o = queries.get_order(session, order_id)
    a = o.shipping_address
    out.print(f"Order {o.id}: {o.shop} {o.external_id}, {o.status}, placed {when(o.placed_at)}")
    out.print(
        f"Buyer: {', '.join(x for x in (o.buyer.name, o.buyer.email, o.buyer.phone) if x) or 'unknown'}"
    )
    place = " ".join(x for x in (a.postal_code, a.city) if x)
    address = [a.name, a.line1, a.line2, place, a.region, a.country, a.phone]
    out.print(f"Ship to: {', '.join(x for x in address if x) or 'no address'}")
    out.print(f"Warehouse: {o.warehouse or 'none yet'}; total {display(o.total, o.currency)}")
    lines = Table(
        "#",
        "SKU",
        "Platform SKU",
        "Title",
        Column("Qty", justify="right"),
        Column("Unit price", justify="right"),
    )
    for line in o.lines:
        lines.add_row(
            str(line.line_no),
            line.sku,
            line.platform_sku or "",
            line.title or "",
            str(line.quantity),
            display(line.unit_price, o.currency),
        )
    out.print(lines)
    for shipment in o.shipments:
        parts = [
            f"{shipment.carrier or 'carrier unknown'} {shipment.tracking_number or 'no tracking number'}",
            f"sent {when(shipment.shipped_at)}" if shipment.shipped_at else None,
            shipment.tracking_url,
        ]
        out.print("Shipment: " + ", ".join(part for part in parts if part))
    for hold in o.holds:
        out.print(f"Held ({hold.reason}): {hold.message}", style="yellow")
    history = Table("When", "Event", "Status", "By", "Note", title="History")
    for e in o.events:
        change = e.to_status if e.from_status in (None, e.to_status) else f"{e.from_status} -> {e.to_status}"
        history.add_row(when(e.created_at), e.kind, change or "", e.actor, e.message or "")
    out.print(history)


@orders_app.command("cancel")
def orders_cancel(
    order_id: OrderId, reason: Annotated[str, typer.Option(help="Why, kept in the order's history")]
) -> None:
    """Cancel an order in the hub; the stock it holds goes back to the pool."""
    checked = CancelIn(reason=reason).reason  # the API's limits, so both refuse the same reasons
    with unit_of_work() as session:
        order = order_service.cancel_order(session, order_id, actor=actor(), reason=checked)
    out.print(f"Order {order_id} ({order.external_id}) cancelled; its stock is back in the pool.")


@orders_app.command("rebuild-figures")
def orders_rebuild_figures() -> None:
    """Count the home page's figures (orders, sales, imports per quarter-hour) again from the orders."""
    with unit_of_work() as session:
        rows = order_service.rebuild_figures(session)
    out.print(f"Home page figures counted again: {rows} rows.")


def _part(help_text: str) -> Any:
    return typer.Option(help=help_text)


@orders_app.command("address")
def orders_address(
    order_id: OrderId,
    name: Annotated[str | None, _part("Recipient")] = None,
    line1: Annotated[str | None, _part("Street and number")] = None,
    line2: Annotated[str | None, _part("Second line; '' clears it")] = None,
    city: Annotated[str | None, _part("City")] = None,
    region: Annotated[str | None, _part("State, province or region; '' clears it")] = None,
    postal_code: Annotated[str | None, _part("Postal code; '' clears it")] = None,
    country: Annotated[str | None, _part("ISO 3166-1 alpha-2 code such as DE")] = None,
    phone: Annotated[str | None, _part("Recipient's phone; '' clears it")] = None,
    note: Annotated[str | None, typer.Option(help="Why, kept in the order's history")] = None,
) -> None:
    """Correct an order's shipping address (the parts given); the order is reviewed again, and an
    address hold it no longer earns is lifted."""
    parts = {"name": name, "line1": line1, "city": city, "country": country}
    clearable = {"line2": line2, "region": region, "postal_code": postal_code, "phone": phone}
    given: dict[str, Any] = {k: v for k, v in parts.items() if v is not None}
    given |= {k: v or None for k, v in clearable.items() if v is not None}
    data = AddressCorrectionIn.model_validate({**given, **({"note": note} if note else {})})
    if not given:
        fail("nothing to correct: give at least one part of the address (see --help)")
    with unit_of_work() as session:
        order = corrections.correct_address(session, order_id, data, actor=actor())
        status, reasons = order.status, ", ".join(sorted({h["reason"] for h in order.holds}))
    held = f" (held for {reasons})" if reasons else ""
    out.print(f"Order {order_id}: address corrected and reviewed again; it is now {status}{held}.")


def _decide(order_id: int, note: str, change: Callable[..., Order], done: str) -> None:
    checked = NoteIn(note=note).note  # the API's limits, so both refuse the same notes
    with unit_of_work() as session:
        order = change(session, order_id, actor=actor(), note=checked)
    out.print(f"Order {order_id} {done}; it is now {order.status}.")


@orders_app.command("release")
def orders_release(order_id: OrderId, note: Note) -> None:
    """Lift every hold of an order on hold; it waits, held for stock only, when stock is short."""
    _decide(order_id, note, holds.release_order, "released")


@orders_app.command("hold")
def orders_hold(order_id: OrderId, note: Note) -> None:
    """Hold an order by hand until a person releases it; it keeps any stock it reserved."""
    _decide(order_id, note, holds.hold_order, "held")
