"""The order list (filters, search, pages of rows swapped by htmx) and an order's page."""

from __future__ import annotations

import io
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import parse_qsl, urlencode

from fastapi import APIRouter, HTTPException, Path, Request, status
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from orderly.catalog.models import Product
from orderly.channels.models import Shop
from orderly.console.i18n import N_, gettext, told_of
from orderly.console.pages.common import missing, render
from orderly.console.viewer import SignedIn, Viewer, allowed
from orderly.core.clock import DateZone, day_or_instant, zone
from orderly.core.db import transaction
from orderly.core.errors import Conflict, DomainError, NotFound
from orderly.core.pagination import MAX_ID
from orderly.core.phrases import Phrase
from orderly.core.text import refuse_nul
from orderly.core.web import ReadSession
from orderly.fulfilment import printing
from orderly.fulfilment import repository as fulfilment_repo
from orderly.fulfilment.service import order_shipments, tracking_of
from orderly.inventory.models import Warehouse
from orderly.inventory.repository import reserved_by_order
from orderly.orders import holds, queries, service
from orderly.orders.domain import HoldReason, OrderStatus
from orderly.orders.models import Order, RawPayload
from orderly.orders.schemas import CancelIn
from orderly.review.schemas import NoteIn

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 50

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


def order_filters(session: Session, viewer: Viewer, asked: dict[str, str]) -> queries.OrderFilters:
    """The list's filters as typed, in the viewer's zone; DomainError or ValueError saying what cannot
    be read."""
    for name, value in asked.items():
        if len(value) > 320:
            raise ValueError(f"{name}: at most 320 characters")
        refuse_nul(value)
    placed = {name: day_or_instant(asked[name]) for name in ("placed_from", "placed_to") if name in asked}
    order_status = OrderStatus(asked["status"]) if "status" in asked else None
    return queries.order_filters(
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


def _listing(session: Session, viewer: Viewer, asked: dict[str, str], cursor: str | None) -> Listing:
    """The order list's page for the filters as typed; a filter that cannot be read is said, not a 500."""
    try:
        filters = order_filters(session, viewer, asked)
        page = queries.list_orders(session, filters, cursor=cursor, limit=PAGE_SIZE)
    except (DomainError, ValueError) as problem:
        return Listing([], None, str(getattr(problem, "message", problem)))
    return Listing(page.items, page.next_cursor, None)


def asked_filters(given: Mapping[str, str]) -> dict[str, str]:
    """The list's filters as typed (blank ones dropped)."""
    return {name: value.strip() for name in FILTERS if (value := given.get(name, "").strip())}


def _more(asked: dict[str, str], listing: Listing) -> str | None:
    return f"/orders?{urlencode({**asked, 'cursor': listing.next_cursor})}" if listing.next_cursor else None


def _list_page(
    request: Request,
    session: Session,
    viewer: Viewer,
    asked: dict[str, str],
    cursor: str | None = None,
    **extra: Any,
) -> HTMLResponse:
    listing = _listing(session, viewer, asked, cursor)
    shops = session.execute(select(Shop.code, Shop.channel).order_by(Shop.code)).all()
    return render(
        request,
        "orders.html",
        viewer,
        listing=listing,
        more=_more(asked, listing),
        appended=False,
        asked=asked,
        query=urlencode(asked),
        shops=[code for code, _ in shops],
        channels=sorted({channel for _, channel in shops}),
        actions=[(name, label) for name, (label, needs, _) in BULK_ACTIONS.items() if viewer.may(needs)],
        **extra,
    )


@router.get("/orders", response_class=HTMLResponse)
def order_list(request: Request, session: ReadSession, viewer: SignedIn) -> HTMLResponse:
    """The order list; an htmx request (a filter changed, or the next page) gets only the rows."""
    allowed(viewer, "orders:read")
    asked = asked_filters(request.query_params)
    cursor = request.query_params.get("cursor") or None
    if request.headers.get("hx-request") and request.headers.get("hx-target") != "page":
        listing = _listing(session, viewer, asked, cursor)
        return render(
            request,
            "_order_rows.html",
            viewer,
            listing=listing,
            more=_more(asked, listing),
            appended=bool(cursor),
        )
    return _list_page(request, session, viewer, asked, cursor)


# --- bulk actions on the selected orders ----------------------------------------------------------

#: The most orders one bulk action takes (a page of rows with a few "More orders" under it).
BULK_MAX = 500
#: A bulk form: its order ids and filters, far larger than the console's other forms.
BULK_FORM_BYTES = 64 * 1024


def _approve(session: Session, order_id: int, actor: str, note: str) -> object:
    return holds.approve_order(session, order_id, actor=actor, note=note)


def _hold(session: Session, order_id: int, actor: str, note: str) -> object:
    return holds.hold_order(session, order_id, actor=actor, note=note)


def _release(session: Session, order_id: int, actor: str, note: str) -> object:
    return holds.release_order(session, order_id, actor=actor, note=note)


def _cancel(session: Session, order_id: int, actor: str, note: str) -> object:
    return service.cancel_order(session, order_id, actor=actor, reason=note)


#: Each bulk action: its button, the permission of its API route, and the API route's use case,
#: given the order, who acts, and the note (validated by the API route's body: ``NoteIn`` for
#: approve, hold and release, ``CancelIn`` for cancel).
BULK_ACTIONS: dict[str, tuple[str, str, Callable[[Session, int, str, str], object] | None]] = {
    "approve": (N_("Approve"), "holds:write", _approve),  # POST /api/v1/orders/{id}/approve
    "hold": (N_("Hold"), "holds:write", _hold),  # POST /api/v1/orders/{id}/hold
    "release": (N_("Release"), "holds:write", _release),  # POST /api/v1/orders/{id}/release
    "cancel": (N_("Cancel"), "cancels:write", _cancel),  # POST /api/v1/orders/{id}/cancel
    "labels": (N_("Print labels"), "fulfilment:write", None),  # POST /api/v1/labels/batch
}


@dataclass
class Outcome:
    order_id: int
    number: str
    refused: str | None = None


async def _bulk_form(request: Request) -> list[tuple[str, str]]:
    body = await request.body()
    if len(body) > BULK_FORM_BYTES:
        raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE, "the form is larger than this page sends")
    return parse_qsl(body.decode("utf-8", "replace"))


def _order_ids(values: list[str]) -> list[int]:
    ids = []
    for value in values:
        if not value.isdigit() or not 1 <= int(value) <= MAX_ID:
            raise DomainError(Phrase("order: %(value)s is not an order id", value=repr(value)), field="order")
        ids.append(int(value))
    if not ids:
        raise DomainError(Phrase("select at least one order"), field="order")
    if len(set(ids)) > BULK_MAX:
        raise DomainError(Phrase("at most %(count)s orders at once", count=BULK_MAX), field="order")
    return sorted(set(ids))  # the hub's lock order: orders by id


@router.post("/orders/bulk", response_class=HTMLResponse)
async def bulk_action(request: Request, viewer: SignedIn) -> HTMLResponse:
    """One action on the selected orders, each order in its own transaction through the API route's use
    case: an order refused (its status, a lock) is listed with why and the others go on. The outcome
    goes above the list, whose rows are read again for the filters in force (or, from an order's page,
    the page is read again)."""
    allowed(viewer, "orders:read")
    form = await _bulk_form(request)
    fields = dict(form)
    action = fields.get("action", "")
    if action not in BULK_ACTIONS:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT, f"action: one of {', '.join(BULK_ACTIONS)}"
        )
    label, needs, use_case = BULK_ACTIONS[action]
    allowed(viewer, needs)
    factory = request.app.state.factory
    problem: str | None = None
    outcomes: list[Outcome] = []
    printable: list[int] = []
    try:
        ids = _order_ids([value for name, value in form if name == "order"])
        with transaction(factory) as session:
            numbers = {card.id: card.external_id for card in queries.cards(session, ids).values()}
            if use_case is None:
                outcomes, printable = _labels_outcome(session, ids, numbers, gettext(viewer.locale))
        if use_case is not None:
            note = _note(action, fields.get("note", ""))
            outcomes = [_one(factory, use_case, order_id, numbers, viewer, note) for order_id in ids]
    except DomainError as refused:
        problem = told_of(refused, viewer.locale)
    asked = asked_filters(fields)
    context = {
        "bulk": {
            "action": label,
            "problem": problem,
            "done": [o for o in outcomes if o.refused is None],
            "refused": [o for o in outcomes if o.refused is not None],
            "labels": f"/orders/labels?{urlencode([('order', i) for i in printable])}" if printable else None,
        }
    }
    if fields.get("from") == "order" and request.headers.get("hx-request"):
        # From an order's page: the outcome alone, and the page read again once the order changed.
        answer = render(request, "_bulk_result.html", viewer, **context)
        if context["bulk"]["done"]:
            answer.headers["HX-Refresh"] = "true"
        return answer
    with transaction(factory) as session:
        if request.headers.get("hx-request"):
            listing = _listing(session, viewer, asked, None)
            return render(
                request, "_bulk_outcome.html", viewer, listing=listing, more=_more(asked, listing), **context
            )
        page = _list_page(request, session, viewer, asked, None, **context)
    if problem is not None or (outcomes and all(o.refused for o in outcomes)):
        page.status_code = (
            status.HTTP_409_CONFLICT if problem is None else status.HTTP_422_UNPROCESSABLE_CONTENT
        )
    return page


def _note(action: str, typed: str) -> str:
    """The note as the API route's body takes it, or why not."""
    try:
        if action == "cancel":
            return CancelIn(reason=typed).reason
        return NoteIn(note=typed).note
    except ValidationError as invalid:
        first = invalid.errors()[0]
        problem: str | Phrase = f"note: {first['msg']}"
        if first["type"] == "string_too_short":  # none typed: the one a person meets
            problem = Phrase("note: String should have at least 1 character")
        elif first["type"] == "string_too_long":
            limit = (first.get("ctx") or {}).get("max_length", "")
            problem = Phrase("note: String should have at most %(limit)s characters", limit=limit)
        raise DomainError(problem, field="note") from None


def _one(
    factory: sessionmaker[Session],
    use_case: Callable[[Session, int, str, str], object],
    order_id: int,
    numbers: dict[int, str],
    viewer: Viewer,
    note: str,
) -> Outcome:
    number = numbers.get(order_id, str(order_id))
    try:
        with transaction(factory) as session:
            use_case(session, order_id, viewer.name, note)
    except DomainError as refused:
        return Outcome(order_id, number, told_of(refused, viewer.locale))
    return Outcome(order_id, number)


def _labels_outcome(
    session: Session, ids: list[int], numbers: dict[int, str], translate: Callable[[str], str]
) -> tuple[list[Outcome], list[int]]:
    """Which selected orders have a label to print (their parcels labelled and not yet handed over),
    and those that have none, named."""
    labelled = {parcel.order_id for parcel in fulfilment_repo.labelled_of_orders(session, ids)}
    none = translate(N_("no labelled parcel waits to be printed"))
    outcomes = [Outcome(i, numbers.get(i, str(i)), None if i in labelled else none) for i in ids]
    return outcomes, sorted(labelled)


@router.get("/orders/labels", response_model=None)
def order_labels(request: Request, session: ReadSession, viewer: SignedIn) -> Response:
    """The labels of these orders' labelled parcels not yet handed over, as one PDF in pick order (as
    ``POST /api/v1/labels/batch`` prints them); orders without one are left out (the bulk action names
    them)."""
    allowed(viewer, "fulfilment:write")  # as POST /api/v1/labels/batch
    try:
        ids = _order_ids(request.query_params.getlist("order"))
        parcels = fulfilment_repo.labelled_of_orders(session, ids)
        if not parcels:
            raise Conflict("none of these orders has a labelled parcel waiting")
        batch = printing.batch_parcels(session, shipment_ids=[parcel.id for parcel in parcels])
        out = io.BytesIO()
        printing.write_batch(batch, out)
    except DomainError as refused:
        page = missing(request, viewer, refused.message)
        page.status_code = refused.http_status
        return page
    return Response(
        out.getvalue(),
        media_type="application/pdf",
        headers={"Content-Disposition": 'inline; filename="labels.pdf"'},
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
    except NotFound as absent:
        return missing(request, viewer, absent.message)
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
        actions=[
            (name, label)
            for name, (label, needs, use_case) in BULK_ACTIONS.items()
            if use_case is not None and viewer.may(needs)
        ],
        order=order,
        payload=payload,
        reservations=reservations,
        parcels=parcels,
        tracking=tracking,
    )
