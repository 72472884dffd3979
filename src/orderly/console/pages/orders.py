"""The order list (filters, search, pages of rows swapped by htmx) and an order's page."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import select
from sqlalchemy.orm import Session

from orderly.catalog.models import Product
from orderly.channels.models import Shop
from orderly.console.pages.common import missing, render
from orderly.console.viewer import SignedIn, Viewer, allowed
from orderly.core.clock import DateZone, day_or_instant, zone
from orderly.core.errors import DomainError, NotFound
from orderly.core.pagination import MAX_ID
from orderly.core.text import refuse_nul
from orderly.core.web import ReadSession
from orderly.fulfilment.service import order_shipments, tracking_of
from orderly.inventory.models import Warehouse
from orderly.inventory.repository import reserved_by_order
from orderly.orders import queries
from orderly.orders.domain import HoldReason, OrderStatus
from orderly.orders.models import Order, RawPayload

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
        order=order,
        payload=payload,
        reservations=reservations,
        parcels=parcels,
        tracking=tracking,
    )
