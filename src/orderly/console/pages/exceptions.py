"""The exceptions queue: every held order grouped by the reason it is held, oldest first, each with what
it needs and the fixes a person may make from the row (through the API's use cases, one transaction
each): correct the address, release with a note, cancel with a reason, ship from another warehouse,
or split it over the warehouses its route allows (one parcel from each)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request, status
from fastapi.responses import HTMLResponse
from pydantic import ValidationError
from sqlalchemy.orm import Session

from orderly.console.i18n import N_, told, told_of
from orderly.console.pages.common import read_form, render
from orderly.console.viewer import SignedIn, Viewer, allowed
from orderly.core.db import transaction
from orderly.core.errors import DomainError, NotFound, field_path
from orderly.core.pagination import MAX_ID
from orderly.core.phrases import Phrase
from orderly.core.web import ReadSession
from orderly.fulfilment import routing
from orderly.fulfilment.schemas import RerouteIn
from orderly.inventory import service as inventory
from orderly.orders import corrections, holds, queries, service
from orderly.orders.domain import HoldReason, OrderStatus
from orderly.orders.schemas import AddressCorrectionIn, CancelIn, OrderOut
from orderly.review.schemas import NoteIn

router = APIRouter(include_in_schema=False)

#: How many of each reason's oldest orders the queue shows; the order list filtered shows them all.
PER_REASON = 20
#: What an order held for each reason needs of a person.
NEEDS = {
    HoldReason.OUT_OF_STOCK: N_(
        "Stock to fill it: receive it, ship from another warehouse, or split it over several."
    ),
    HoldReason.ADDRESS: N_("A complete shipping address: correct it and the order is reviewed again."),
    HoldReason.RISK: N_("A look at the buyer and the payment: release it if it is genuine, else cancel it."),
    HoldReason.REMARK: N_("Someone to read the buyer's remark and act on it, then release it."),
    HoldReason.PAYMENT: N_("The payment to clear: release it once paid, or cancel it."),
    HoldReason.MANUAL: N_("The person who held it to release it when ready."),
    HoldReason.CANCEL_REQUEST: N_("An answer to the buyer: cancel it, or release it to ship after all."),
}
#: Each fix: the permission the API's route needs, and what is done with the form in a transaction.
Fix = Callable[[Session, int, dict[str, str], Viewer], object]


def _release(session: Session, order_id: int, form: dict[str, str], viewer: Viewer) -> object:
    asked = NoteIn.model_validate({"note": form.get("note", "")})
    return holds.release_order(session, order_id, actor=viewer.name, note=asked.note)


def _cancel(session: Session, order_id: int, form: dict[str, str], viewer: Viewer) -> object:
    asked = CancelIn.model_validate({"reason": form.get("reason", "")})
    return service.cancel_order(session, order_id, actor=viewer.name, reason=asked.reason)


def _address(session: Session, order_id: int, form: dict[str, str], viewer: Viewer) -> object:
    # Only the parts the person changed are sent, as the API takes them; an emptied part clears it.
    current = queries.get_order(session, order_id).shipping_address.model_dump()
    sent: dict[str, Any] = {
        part: form[part].strip() or None
        for part in corrections.ADDRESS_COLUMNS
        if part in form and (form[part].strip() or None) != current[part]
    }
    if form.get("note", "").strip():
        sent["note"] = form["note"]
    return corrections.correct_address(
        session, order_id, AddressCorrectionIn.model_validate(sent), actor=viewer.name
    )


def _warehouse(session: Session, order_id: int, form: dict[str, str], viewer: Viewer) -> object:
    asked = RerouteIn.model_validate({"warehouse": form.get("warehouse", "")})
    return routing.reroute(session, order_id, actor=viewer.name, warehouse=asked.warehouse)


def _split(session: Session, order_id: int, form: dict[str, str], viewer: Viewer) -> object:
    return routing.reroute(session, order_id, actor=viewer.name, split=True)


FIXES: dict[str, tuple[str, Fix]] = {
    "release": ("holds:write", _release),  # as POST /api/v1/orders/{id}/release
    "cancel": ("cancels:write", _cancel),  # as POST /api/v1/orders/{id}/cancel
    "address": ("addresses:write", _address),  # as PATCH /api/v1/orders/{id}/address
    "warehouse": ("orders:write", _warehouse),  # as POST /api/v1/orders/{id}/route
    "split": ("orders:write", _split),
}
#: What a fix done says.
DONE = {
    "release": N_("Released"),
    "cancel": N_("Cancelled"),
    "address": N_("Address corrected"),
    "warehouse": N_("Re-routed"),
    "split": N_("Split"),
}


#: A fix's note or reason left empty, as the form's refusal says it (its English pydantic's).
UNWRITTEN = {
    "note": Phrase("note: String should have at least 1 character"),
    "reason": Phrase("reason: String should have at least 1 character"),
}


def _warehouses(session: Session) -> list[str]:
    return [w.code for w in inventory.list_warehouses(session) if w.active]


@router.get("/exceptions", response_class=HTMLResponse)
def exceptions_page(request: Request, session: ReadSession, viewer: SignedIn) -> HTMLResponse:
    """Held orders grouped by reason with their counts, the oldest first, and their fixes."""
    allowed(viewer, "orders:read")
    groups = queries.held_orders(session, per_reason=PER_REASON)
    return render(
        request,
        "exceptions.html",
        viewer,
        groups=groups,
        total=sum(group.count for group in groups),
        per_reason=PER_REASON,
        needs=NEEDS,
        warehouses=_warehouses(session),
    )


@router.post("/exceptions/{order_id}/{fix}", response_class=HTMLResponse)
async def fix_order(
    request: Request,
    viewer: SignedIn,
    order_id: Annotated[int, Path(ge=1, le=MAX_ID)],
    fix: str,
) -> HTMLResponse:
    """One fix of a held order in one transaction. The row comes back in its place: gone from the
    queue with what became of the order once it is no longer held, else as it now stands with the
    refusal or what was done; the groups' counts come along (htmx swaps only 2xx answers, so a
    refusal is sent to htmx as 200)."""
    if fix not in FIXES:
        page = render(request, "missing.html", viewer, message=f"no fix {fix!r}")
        page.status_code = status.HTTP_404_NOT_FOUND
        return page
    needs, use_case = FIXES[fix]
    allowed(viewer, needs)
    form = await read_form(request)
    factory = request.app.state.factory
    problem, code = None, status.HTTP_200_OK
    try:
        with transaction(factory) as session:
            use_case(session, order_id, form, viewer)
    except ValidationError as invalid:
        first = invalid.errors(include_url=False)[0]
        where = field_path(first["loc"])
        problem = f"{where}: {first['msg']}" if where else str(first["msg"])
        if first["type"] == "string_too_short" and where in UNWRITTEN:  # the reason or note left empty
            problem = told(problem, UNWRITTEN[where], viewer.locale)
        code = status.HTTP_422_UNPROCESSABLE_CONTENT
    except DomainError as refused:
        problem, code = told_of(refused, viewer.locale), refused.http_status
    with transaction(factory) as session:
        try:
            order: OrderOut | None = queries.get_order(session, order_id)
        except NotFound:
            order = None
        page = render(
            request,
            "_exceptions_row.html",
            viewer,
            order=order,
            order_id=order_id,
            held=order is not None and order.status == OrderStatus.ON_HOLD,
            problem=problem,
            fix=fix,
            done=None if problem else DONE[fix],
            counts=queries.held_counts(session),
            needs=NEEDS,
            warehouses=_warehouses(session),
        )
    if not request.headers.get("hx-request"):
        page.status_code = code
    return page
