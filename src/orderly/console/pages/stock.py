"""Stock: every SKU's figures, a SKU's page with its ledger, and the forms that move it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from orderly.console.i18n import N_
from orderly.console.pages.common import missing, read_form, render
from orderly.console.viewer import SignedIn, allowed
from orderly.core.db import transaction
from orderly.core.errors import DomainError, NotFound
from orderly.core.web import ReadSession
from orderly.inventory import service as inventory
from orderly.inventory.domain import MovementKind
from orderly.inventory.schemas import AdjustIn, CountIn, ReceiveIn

router = APIRouter(include_in_schema=False)

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
    except NotFound as absent:
        return missing(request, viewer, absent.message)
    warehouses = [w.code for w in inventory.list_warehouses(session) if w.active]
    return render(request, "stock_sku.html", viewer, warehouses=warehouses, **figures)


@router.post("/stock/{sku:path}", response_class=HTMLResponse)
async def move_stock(request: Request, viewer: SignedIn, sku: str) -> HTMLResponse:
    """Receive, adjust or count one SKU in a warehouse through the API's use case, in one transaction;
    a refusal is said above the figures (htmx swaps only 2xx answers, so it is sent as 200 to htmx)."""
    allowed(viewer, "stock:write")
    form = await read_form(request)
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
        except NotFound as absent:
            page = missing(request, viewer, absent.message)
    if not request.headers.get("hx-request"):
        page.status_code = code
    return page
