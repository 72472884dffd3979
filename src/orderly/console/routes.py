"""The console's pages: server-rendered HTML, htmx swapping parts of them (the order list's rows).

Pages read through the contexts' own read side (``orders/queries.py`` and its search, fulfilment's
parcels, inventory's reservations), in one read-only transaction per request, like the API.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import parse_qsl, quote, urlencode

from fastapi import APIRouter, HTTPException, Path, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from orderly.auth import service as users
from orderly.auth.web import set_session_cookie, sign_in_request, sign_out_request
from orderly.catalog.models import Product
from orderly.channels import inbox
from orderly.channels import service as channels
from orderly.channels.models import Shop
from orderly.console.formatting import LOCALES, supported_locale
from orderly.console.i18n import N_, environment
from orderly.console.viewer import LOCALE_COOKIE, ZONE_COOKIE, SignedIn, Viewer, allowed, locale_of, zone_of
from orderly.core.clock import DateZone, day_or_instant, utcnow, zone
from orderly.core.db import transaction
from orderly.core.errors import DomainError, NotFound
from orderly.core.pagination import MAX_ID
from orderly.core.text import refuse_nul
from orderly.core.web import ReadSession
from orderly.fulfilment.service import order_shipments, tracking_of
from orderly.inventory import service as inventory
from orderly.inventory.domain import MovementKind
from orderly.inventory.models import Warehouse
from orderly.inventory.repository import reserved_by_order
from orderly.inventory.schemas import AdjustIn, CountIn, ReceiveIn
from orderly.jobs import service as jobs
from orderly.orders import queries
from orderly.orders.domain import HoldReason, OrderStatus
from orderly.orders.models import Order, RawPayload

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 50
YEAR = 365 * 24 * 3600

#: How each order status and hold reason reads (translated where shown).
STATUS_NAMES = {
    OrderStatus.PENDING_REVIEW: N_("Pending review"),
    OrderStatus.ON_HOLD: N_("On hold"),
    OrderStatus.APPROVED: N_("Approved"),
    OrderStatus.ALLOCATED: N_("Allocated"),
    OrderStatus.LABEL_PRINTED: N_("Label printed"),
    OrderStatus.PARTLY_SHIPPED: N_("Partly shipped"),
    OrderStatus.SHIPPED: N_("Shipped"),
    OrderStatus.DELIVERED: N_("Delivered"),
    OrderStatus.CANCELLED: N_("Cancelled"),
    OrderStatus.RETURNED: N_("Returned"),
    OrderStatus.PLATFORM_FULFILLED: N_("Fulfilled by the platform"),
}
HOLD_NAMES = {
    HoldReason.OUT_OF_STOCK: N_("Out of stock"),
    HoldReason.ADDRESS: N_("Address incomplete"),
    HoldReason.RISK: N_("Risk"),
    HoldReason.REMARK: N_("Buyer's remark"),
    HoldReason.PAYMENT: N_("Payment"),
    HoldReason.MANUAL: N_("Held by a person"),
    HoldReason.CANCEL_REQUEST: N_("Cancellation requested"),
}
#: How a review's outcome reads.
OUTCOME_NAMES = {"approved": N_("approved"), "held": N_("held")}
LANGUAGE_NAMES = {"en": "English", "zh_Hans": "简体中文"}


#: The navigation: each page for those holding its permission.
NAV = [
    ("/orders", N_("Orders"), "orders:read"),
    ("/stock", N_("Stock"), "stock:read"),
    ("/shops", N_("Shops"), "shops:read"),
]


def render(request: Request, template: str, viewer: Viewer | None, **context: Any) -> HTMLResponse:
    locale = viewer.locale if viewer else locale_of(request)
    page = environment(locale).get_template(template)
    return HTMLResponse(
        page.render(
            viewer=viewer,
            zone=viewer.timezone if viewer else zone_of(request),
            path=request.url.path,
            languages=[(code, LANGUAGE_NAMES[code]) for code in LOCALES],
            nav=[(href, label) for href, label, needs in NAV if viewer and viewer.may(needs)],
            status_names=STATUS_NAMES,
            hold_names=HOLD_NAMES,
            outcome_names=OUTCOME_NAMES,
            **context,
        )
    )


@router.get("/sign-in", response_class=HTMLResponse)
def sign_in_page(request: Request) -> HTMLResponse:
    return render(request, "sign_in.html", None)


@router.post("/sign-in", response_class=HTMLResponse)
async def sign_in(request: Request) -> Response:
    """The sign-in form: the session cookie, then the order list; a refusal is said on the page."""
    form = await _form(request)
    try:
        cookie, _ = await sign_in_request(
            request, request.app.state.factory, form.get("username", ""), form.get("password", "")
        )
    except DomainError as refused:  # wrong name or password, or locked
        return _refused(request, refused.message, refused.http_status, {})
    except HTTPException as refused:  # too many failures from this address
        return _refused(request, str(refused.detail), refused.status_code, refused.headers or {})
    answer = RedirectResponse("/orders", status.HTTP_303_SEE_OTHER)
    set_session_cookie(request, answer, cookie)
    return answer


def _refused(request: Request, message: str, code: int, headers: Mapping[str, str]) -> HTMLResponse:
    page = render(request, "sign_in.html", None, problem=message)
    page.status_code = code
    page.headers.update(headers)
    return page


@router.post("/sign-out")
async def sign_out(request: Request, _: SignedIn) -> Response:
    # htmx would follow a 303 itself and swap the sign-in page in: it is told where to go instead.
    answer: Response = (
        Response(status_code=status.HTTP_204_NO_CONTENT, headers={"HX-Redirect": "/sign-in"})
        if request.headers.get("hx-request")
        else RedirectResponse("/sign-in", status.HTTP_303_SEE_OTHER)
    )
    await sign_out_request(request, answer, request.app.state.factory)
    return answer


@router.get("/")
def home(_: SignedIn) -> RedirectResponse:
    return RedirectResponse("/orders", status.HTTP_303_SEE_OTHER)


async def _form(request: Request) -> dict[str, str]:
    # A form of a few short fields, read without a multipart parser (the console posts none).
    body = await request.body()
    if len(body) > 4096:
        raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE, "the form is larger than this page sends")
    return dict(parse_qsl(body.decode("utf-8", "replace")))


@router.post("/preferences")
async def preferences(request: Request, viewer: SignedIn) -> Response:
    """The viewer's language and time zone, remembered in this browser; the page then reloads."""
    form = await _form(request)
    answer = Response(status_code=status.HTTP_204_NO_CONTENT, headers={"HX-Refresh": "true"})
    locale = timezone = None
    if "locale" in form:
        locale = supported_locale(form["locale"])
        if locale is None:
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"locale: one of {', '.join(LOCALES)}")
    if "timezone" in form:
        try:
            zone(form["timezone"])
        except ValueError as problem:
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"timezone: {problem}") from None
        timezone = form["timezone"]
    if viewer.user_id is not None:  # a person: kept in their profile, whichever browser they use next
        with transaction(request.app.state.factory) as session:
            users.update_user(session, viewer.user_id, locale=locale, timezone=timezone)
        request.app.state.tokens.forget(user_id=viewer.user_id)
        return answer
    if locale is not None:
        answer.set_cookie(LOCALE_COOKIE, locale, max_age=YEAR, httponly=True, samesite="lax")
    if timezone is not None:
        answer.set_cookie(ZONE_COOKIE, timezone, max_age=YEAR, httponly=True, samesite="lax")
    return answer


FILTERS = (
    "q",
    "placed_from",
    "placed_to",
    "shop",
    "channel",
    "status",
    "country",
    "sku",
    "tag",
    "hold_reason",
)


@dataclass
class Listing:
    orders: list[Any]
    next_cursor: str | None
    problem: str | None


def _listing(session: Session, viewer: Viewer, asked: dict[str, str], cursor: str | None) -> Listing:
    """The order list's page for the filters as typed; a filter that cannot be read is said, not a 500."""
    try:
        for name, value in asked.items():
            if len(value) > 320:
                raise ValueError(f"{name}: at most 320 characters")
            refuse_nul(value)
        placed = {name: day_or_instant(asked[name]) for name in ("placed_from", "placed_to") if name in asked}
        order_status = OrderStatus(asked["status"]) if "status" in asked else None
        filters = queries.order_filters(
            session,
            DateZone(zone(viewer.timezone), viewer.timezone),
            status=order_status,
            shop=asked.get("shop"),
            sku=asked.get("sku"),
            country=asked.get("country"),
            q=asked.get("q"),
            channel=asked.get("channel"),
            tag=asked.get("tag"),
            hold_reason=HoldReason(asked["hold_reason"]) if "hold_reason" in asked else None,
            **placed,
        )
        page = queries.list_orders(session, filters, cursor=cursor, limit=PAGE_SIZE)
    except (DomainError, ValueError) as problem:
        return Listing([], None, str(getattr(problem, "message", problem)))
    return Listing(page.items, page.next_cursor, None)


@router.get("/orders", response_class=HTMLResponse)
def order_list(request: Request, session: ReadSession, viewer: SignedIn) -> HTMLResponse:
    """The order list; an htmx request (a filter changed, or the next page) gets only the rows."""
    allowed(viewer, "orders:read")
    asked = {name: value.strip() for name in FILTERS if (value := request.query_params.get(name, "").strip())}
    cursor = request.query_params.get("cursor") or None
    listing = _listing(session, viewer, asked, cursor)
    more = f"/orders?{urlencode({**asked, 'cursor': listing.next_cursor})}" if listing.next_cursor else None
    if request.headers.get("hx-request") and request.headers.get("hx-target") != "page":
        return render(request, "_order_rows.html", viewer, listing=listing, more=more, appended=bool(cursor))
    shops = session.execute(select(Shop.code, Shop.channel).order_by(Shop.code)).all()
    return render(
        request,
        "orders.html",
        viewer,
        listing=listing,
        more=more,
        appended=False,
        asked=asked,
        shops=[code for code, _ in shops],
        channels=sorted({channel for _, channel in shops}),
    )


@router.get("/orders/{order_id}", response_class=HTMLResponse)
def order_page(
    request: Request, session: ReadSession, viewer: SignedIn, order_id: Annotated[int, Path(ge=1, le=MAX_ID)]
) -> HTMLResponse:
    """An order's whole story: lines, the review's rules, routing, reservations, parcels and their
    tracking, its history and notes, and the platform's payload as received."""
    allowed(viewer, "orders:read")
    try:
        order = queries.get_order(session, order_id)
    except NotFound as missing:
        page = render(request, "missing.html", viewer, message=missing.message)
        page.status_code = status.HTTP_404_NOT_FOUND
        return page
    raw_id = session.scalar(select(Order.raw_payload_id).where(Order.id == order_id))
    payload = session.scalar(select(RawPayload.body).where(RawPayload.id == raw_id)) if raw_id else None
    held = reserved_by_order(session, [order_id]).get(order_id, {})
    skus = dict(
        session.execute(select(Product.id, Product.sku).where(Product.id.in_({p for p, _ in held}))).all()
    )
    warehouses = dict(
        session.execute(
            select(Warehouse.id, Warehouse.code).where(Warehouse.id.in_({w for _, w in held}))
        ).all()
    )
    parcels = order_shipments(session, order_id)
    # The carrier's scans of each parcel, beside its own status changes (an order has few parcels).
    tracking = {
        parcel.id: tracking_of(session, parcel.id).events for parcel in parcels if parcel.tracking_number
    }
    reservations = sorted((skus[p], warehouses[w], quantity) for (p, w), quantity in held.items())
    return render(
        request,
        "order.html",
        viewer,
        order=order,
        payload=payload,
        reservations=reservations,
        parcels=parcels,
        tracking=tracking,
    )


#: How each ledger movement reads.
MOVEMENT_NAMES = {
    MovementKind.RECEIPT: N_("Received"),
    MovementKind.ADJUSTMENT: N_("Adjusted"),
    MovementKind.COUNT: N_("Counted"),
    MovementKind.SAFETY: N_("Safety stock set"),
    MovementKind.RESERVATION: N_("Reserved for an order"),
    MovementKind.RELEASE: N_("Released"),
    MovementKind.SHIPMENT: N_("Shipped"),
    MovementKind.RETURN: N_("Returned"),
    MovementKind.TRANSFER_HOLD: N_("Held for a transfer"),
    MovementKind.TRANSFER_RELEASE: N_("Released from a transfer"),
    MovementKind.TRANSFER_OUT: N_("Sent on a transfer"),
    MovementKind.TRANSFER_IN: N_("Received from a transfer"),
}
#: At or below this many to sell, a SKU is on the stock page's low-stock list.
LOW_STOCK = 5
#: The stock page's movements: what the form says, the API's body for it, and the service's use case.
MOVEMENTS: dict[str, tuple[type[ReceiveIn | AdjustIn | CountIn], str, Callable[..., object]]] = {
    "receive": (ReceiveIn, "quantity", inventory.receive),
    "adjust": (AdjustIn, "delta", inventory.adjust),
    "count": (CountIn, "counted", inventory.count),
}


@router.get("/stock", response_model=None)
def stock_list(request: Request, session: ReadSession, viewer: SignedIn) -> Response:
    """Every SKU's figures summed over the warehouses (the first page of them), and those running low;
    a SKU typed in the box opens its page."""
    allowed(viewer, "stock:read")
    if sku := request.query_params.get("sku", "").strip():
        return RedirectResponse(f"/stock/{quote(sku, safe='')}", status.HTTP_303_SEE_OTHER)
    rows = inventory.list_stock(session, limit=200)
    low = [row for row in rows if not row.is_bundle and row.sellable <= LOW_STOCK]
    return render(request, "stock.html", viewer, rows=rows, low=low, low_stock=LOW_STOCK)


def _stock_figures(session: Session, sku: str) -> dict[str, Any]:
    return {
        "sku": sku,
        "figures": inventory.stock_of(session, sku),
        "movements": inventory.latest_movements(session, sku, limit=30),
        "movement_names": MOVEMENT_NAMES,
    }


@router.get("/stock/{sku:path}", response_class=HTMLResponse)
def stock_page(request: Request, session: ReadSession, viewer: SignedIn, sku: str) -> HTMLResponse:
    """A SKU in each warehouse, its latest movements, and (for those who may) the forms to move it."""
    allowed(viewer, "stock:read")
    try:
        figures = _stock_figures(session, sku)
    except NotFound as missing:
        page = render(request, "missing.html", viewer, message=missing.message)
        page.status_code = status.HTTP_404_NOT_FOUND
        return page
    warehouses = [w.code for w in inventory.list_warehouses(session) if w.active]
    return render(request, "stock_sku.html", viewer, warehouses=warehouses, **figures)


@router.post("/stock/{sku:path}", response_class=HTMLResponse)
async def move_stock(request: Request, viewer: SignedIn, sku: str) -> HTMLResponse:
    """Receive, adjust or count one SKU in a warehouse through the API's use case, in one transaction;
    a refusal is said above the figures (htmx swaps only 2xx answers, so it is sent as 200 to htmx)."""
    allowed(viewer, "stock:write")
    form = await _form(request)
    problem = None
    code: int = status.HTTP_200_OK
    kind = form.get("kind", "")
    factory = request.app.state.factory
    try:
        if kind not in MOVEMENTS:
            raise DomainError(f"kind: one of {', '.join(MOVEMENTS)}", field="kind")
        body, amount, use_case = MOVEMENTS[kind]
        asked = body.model_validate(
            {
                "sku": sku,
                "warehouse": form.get("warehouse", ""),
                "reason": form.get("reason") or None,
                amount: form.get("quantity", ""),
            }
        )
        with transaction(factory) as session:
            use_case(
                session,
                asked.sku,
                asked.warehouse,
                getattr(asked, amount),
                actor=viewer.name,
                reason=asked.reason,
            )
    except ValidationError as invalid:
        first = invalid.errors()[0]
        field = "quantity" if first["loc"] and first["loc"][0] in {"delta", "counted"} else first["loc"][0]
        problem, code = f"{field}: {first['msg']}", status.HTTP_422_UNPROCESSABLE_CONTENT
    except DomainError as refused:
        problem, code = refused.message, refused.http_status
    with transaction(factory) as session:
        try:
            figures = _stock_figures(session, sku)
            page = render(
                request, "_stock_panel.html", viewer, problem=problem, done=problem is None, **figures
            )
        except NotFound as missing:
            page = render(request, "missing.html", viewer, message=missing.message)
    if not request.headers.get("hx-request"):
        page.status_code = code
    return page


#: How many failing inbox entries and dead jobs the shops page lists (the oldest first).
SYNC_ROWS = 50


def _shops_page(
    request: Request, session: Session, viewer: Viewer, *, problem: str | None = None, done: str | None = None
) -> HTMLResponse:
    shops = channels.list_shops(session)
    now = utcnow()
    # How far behind each shop's orders are: from the last moment they are synced to, until now.
    lag = {shop.code: now - shop.orders_synced_to for shop in shops if shop.orders_synced_to}
    failing = inbox.list_inbox(session, failed=True, limit=SYNC_ROWS)
    codes = {shop.id: shop.code for shop in shops}
    dead = jobs.list_jobs(session, status="dead", limit=SYNC_ROWS) if viewer.may("jobs:read") else []
    return render(
        request,
        "shops.html",
        viewer,
        shops=shops,
        lag=lag,
        failing=failing,
        dead=dead,
        codes=codes,
        problem=problem,
        done=done,
    )


@router.get("/shops", response_class=HTMLResponse)
def shops_page(request: Request, session: ReadSession, viewer: SignedIn) -> HTMLResponse:
    """Each shop's sync health, the inbox entries that fail and the jobs that died, with their errors."""
    allowed(viewer, "shops:read")
    return _shops_page(request, session, viewer)


def _replayed(
    request: Request, viewer: Viewer, replay: Callable[[Session], object], done: str
) -> HTMLResponse:
    """Replay through the API's use case in one transaction, then the page again, saying how it went
    (to htmx always as 200: it swaps only 2xx answers)."""
    factory = request.app.state.factory
    problem, code = None, status.HTTP_200_OK
    try:
        with transaction(factory) as session:
            replay(session)
    except DomainError as refused:
        problem, code = refused.message, refused.http_status
    with transaction(factory) as session:
        page = _shops_page(request, session, viewer, problem=problem, done=None if problem else done)
    if not request.headers.get("hx-request"):
        page.status_code = code
    return page


@router.post("/shops/inbox/{entry_id}/replay", response_class=HTMLResponse)
def replay_inbox_entry(
    request: Request, viewer: SignedIn, entry_id: Annotated[int, Path(ge=1, le=MAX_ID)]
) -> HTMLResponse:
    allowed(viewer, "shops:write")  # as POST /api/v1/inbox/replay
    return _replayed(request, viewer, lambda s: inbox.replay(s, [entry_id]), f"inbox #{entry_id}")


@router.post("/shops/jobs/{job_id}/replay", response_class=HTMLResponse)
def replay_job(
    request: Request, viewer: SignedIn, job_id: Annotated[int, Path(ge=1, le=MAX_ID)]
) -> HTMLResponse:
    allowed(viewer, "jobs:write")  # as POST /api/v1/jobs/{id}/replay
    return _replayed(request, viewer, lambda s: jobs.replay(s, job_id), f"job #{job_id}")
