"""The order list and the stock list as files, CSV or XLSX, for a spreadsheet or an accountant.

The rows come from one place per list (:func:`order_rows`, :func:`stock_rows`) and go to either
writer (``console/spreadsheet.py``; XLSX through openpyxl's write-only workbook). The order list's file
holds every order its filters match, not a page (the stock list's, every SKU its search matches): it
is walked by the list's own keyset pages (``orders.queries.list_orders``), a page at a time, in a
read-only transaction of its own (the request's ends before a stream is sent). CSV streams as it is
written; an XLSX is a zip, written to a temporary file, then sent.

Money is a decimal amount in its currency's unit, beside a currency column (``24.98`` and ``EUR``);
times are in the viewer's zone, named in the column's header; headers are in the viewer's language.
A file needs the list's read permission and ``exports:read`` (finance, operations, admin).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Literal
from urllib.parse import quote
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Path, Request
from fastapi.responses import FileResponse, Response, StreamingResponse
from sqlalchemy.orm import Session, sessionmaker
from starlette.background import BackgroundTask

from orderly.console import spreadsheet
from orderly.console.i18n import N_, gettext
from orderly.console.pages.common import HOLD_NAMES, STATUS_NAMES, missing
from orderly.console.pages.orders import asked_filters, order_filters
from orderly.console.pages.stock import searched
from orderly.console.viewer import SignedIn, Viewer, allowed
from orderly.core.clock import utcnow
from orderly.core.errors import DomainError
from orderly.core.money import minor_unit_exponent
from orderly.inventory import service as inventory
from orderly.orders import queries
from orderly.orders.queries import OrderFilters
from orderly.orders.schemas import OrderOut

router = APIRouter(include_in_schema=False)

#: Orders (or SKUs) read per query while a file is written.
BATCH = 1000

Format = Literal["csv", "xlsx"]
MEDIA = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}

ORDER_HEADER = (
    N_("Order"),
    N_("Shop"),
    N_("Status"),
    N_("Hold reasons"),
    N_("Placed (%(zone)s)"),
    N_("Buyer"),
    N_("Email"),
    N_("Phone"),
    N_("Country/region"),
    N_("City"),
    N_("Warehouse"),
    N_("Lines"),
    N_("Tags"),
    N_("Currency"),
    N_("Subtotal"),
    N_("Shipping"),
    N_("Discount"),
    N_("Tax"),
    N_("Total"),
)
STOCK_HEADER = (
    N_("SKU"),
    N_("Name"),
    N_("Bundle"),
    N_("On hand"),
    N_("Reserved"),
    N_("Safety"),
    N_("Available to sell"),
    N_("In transit"),
)


def amount(minor: int, currency: str) -> Decimal:
    """Integer minor units as the currency's decimal amount: ``2498`` EUR is ``24.98``."""
    return Decimal(minor).scaleb(-minor_unit_exponent(currency))


def order_rows(
    factory: sessionmaker[Session], filters: OrderFilters, zone: str, translate: Callable[[str], str]
) -> Iterator[list[spreadsheet.Cell]]:
    """Every order the filters match, newest first, as the file's rows."""
    where = ZoneInfo(zone)
    cursor = None
    with factory() as session, session.begin():
        while True:
            page = queries.list_orders(session, filters, cursor=cursor, limit=BATCH)
            for order in page.items:
                yield _order_row(order, where, translate)
            if page.next_cursor is None:
                return
            cursor = page.next_cursor


def _order_row(order: OrderOut, zone: ZoneInfo, translate: Callable[[str], str]) -> list[spreadsheet.Cell]:
    money = order.currency
    return [
        order.external_id,
        order.shop,
        translate(STATUS_NAMES.get(order.status, order.status)),
        ", ".join(translate(HOLD_NAMES.get(hold.reason, hold.reason)) for hold in order.holds),
        _moment(order.placed_at, zone),
        order.buyer.name,
        order.buyer.email,
        order.buyer.phone,
        order.shipping_address.country,
        order.shipping_address.city,
        order.warehouse,
        "; ".join(f"{line.sku} x {line.quantity}" for line in order.lines),
        ", ".join(order.tags),
        money,
        amount(order.subtotal, money),
        amount(order.shipping_total, money),
        amount(order.discount_total, money),
        amount(order.tax_total, money),
        amount(order.total, money),
    ]


def _moment(value: datetime, zone: ZoneInfo) -> str:
    return value.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S")


def stock_rows(
    factory: sessionmaker[Session], text: str | None, translate: Callable[[str], str]
) -> Iterator[list[spreadsheet.Cell]]:
    """Every SKU's figures over the warehouses (those whose SKU or name holds ``text``, when given), as
    the stock page lists them."""
    after = 0
    with factory() as session, session.begin():
        while rows := inventory.list_stock(session, after_id=after, limit=BATCH, text=text):
            for row in rows:
                yield [
                    row.sku,
                    row.name,
                    translate(N_("yes")) if row.is_bundle else "",
                    row.on_hand,
                    row.reserved,
                    row.safety,
                    row.sellable,
                    row.in_transit,
                ]
            after = rows[-1].id


def _file(
    kind: Format, name: str, sheet: str, header: Sequence[str], rows: Iterator[list[spreadsheet.Cell]]
) -> Response:
    filename = f"{name}-{utcnow():%Y%m%d-%H%M%S}.{kind}"
    disposition = {"Content-Disposition": f"attachment; filename*=UTF-8''{quote(filename)}"}
    if kind == "csv":
        return StreamingResponse(
            spreadsheet.csv_chunks(header, rows), media_type=MEDIA[kind], headers=disposition
        )
    # A zip is written whole before it is sent: into a temporary file, deleted once sent.
    spool = tempfile.NamedTemporaryFile(suffix=".xlsx", delete=False)  # noqa: SIM115 (closed below)
    try:
        spreadsheet.write_xlsx(spool, sheet, header, rows)
    finally:
        spool.close()
    return FileResponse(
        spool.name,
        media_type=MEDIA[kind],
        headers=disposition,
        background=BackgroundTask(_remove, spool.name),
    )


def _remove(path: str) -> None:
    os.unlink(path)


def _header(viewer: Viewer, names: Sequence[str]) -> tuple[Callable[[str], str], list[str]]:
    translate = gettext(viewer.locale)
    return translate, [
        translate(name) % {"zone": viewer.timezone} if "%(zone)s" in name else translate(name)
        for name in names
    ]


@router.get("/orders/export.{kind}", response_model=None)
def export_orders(request: Request, viewer: SignedIn, kind: Format = Path()) -> Response:
    """Every order the list's filters match, as a file."""
    allowed(viewer, "orders:read")
    allowed(viewer, "exports:read")
    factory = request.app.state.read_factory
    try:
        with factory() as session, session.begin():
            filters = order_filters(session, viewer, asked_filters(request.query_params))
    except (DomainError, ValueError) as problem:
        page = missing(request, viewer, str(getattr(problem, "message", problem)))
        page.status_code = 422
        return page
    translate, header = _header(viewer, ORDER_HEADER)
    rows = order_rows(factory, filters, viewer.timezone, translate)
    return _file(kind, "orders", translate("Orders"), header, rows)


@router.get("/stock/export.{kind}", response_model=None)
def export_stock(request: Request, viewer: SignedIn, kind: Format = Path()) -> Response:
    """Every SKU's stock figures (those the stock page's search matches, when one is typed), as a file."""
    allowed(viewer, "stock:read")
    allowed(viewer, "exports:read")
    translate, header = _header(viewer, STOCK_HEADER)
    rows = stock_rows(request.app.state.read_factory, searched(request), translate)
    return _file(kind, "stock", translate("Stock"), header, rows)
