"""Stock: every SKU's figures (searched, paged) and those running low; a SKU's page with its figures per
warehouse, what each listing was last sent, its transfers and its whole ledger, and the forms that move
it (receive, adjust, count, safety stock, transfer between warehouses)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from orderly.catalog import repository as catalog_repo
from orderly.catalog import service as catalog
from orderly.catalog.schemas import MappingOut
from orderly.channels import repository as channels_repo
from orderly.channels.tasks import latest_pushes
from orderly.console.i18n import N_, told, told_of
from orderly.console.pages.common import missing, read_form, render
from orderly.console.viewer import SignedIn, Viewer, allowed
from orderly.core.db import transaction
from orderly.core.errors import DomainError, NotFound
from orderly.core.pagination import decode_cursor, encode_cursor
from orderly.core.phrases import Arg, Phrase
from orderly.core.web import ReadSession
from orderly.inventory import service as inventory
from orderly.inventory.domain import IN_TRANSIT, MovementKind, TransferStatus
from orderly.inventory.schemas import (
    AdjustIn,
    CountIn,
    ReceiveIn,
    SafetyIn,
    TransferCancelIn,
    TransferIn,
    TransferOut,
    TransferReceiveIn,
)

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
#: How a transfer's status reads.
TRANSFER_NAMES = {
    TransferStatus.CREATED: N_("Held at the source"),
    TransferStatus.SHIPPED: N_("In transit"),
    TransferStatus.PARTLY_RECEIVED: N_("Partly received"),
    TransferStatus.RECEIVED: N_("Received"),
    TransferStatus.CANCELLED: N_("Cancelled"),
}
#: At or below this many to sell, a SKU is on the stock page's low-stock list. The catalog keeps no
#: reorder point per SKU, so this one threshold is every SKU's (README: The web console).
LOW_STOCK = 5
#: SKUs per page of the stock list, and the most SKUs the low-stock list shows.
STOCK_PAGE = 100
#: Ledger entries per page of a SKU's ledger, and transfers of the SKU shown (newest first).
LEDGER_PAGE = 30
TRANSFERS_SHOWN = 20
#: The stock page's movements: the API's body for each, the field of its figure, and the use case.
MOVEMENTS: dict[str, tuple[type[ReceiveIn | AdjustIn | CountIn | SafetyIn], str, Callable[..., object]]] = {
    "receive": (ReceiveIn, "quantity", inventory.receive),
    "adjust": (AdjustIn, "delta", inventory.adjust),
    "count": (CountIn, "counted", inventory.count),
    "safety": (SafetyIn, "safety", inventory.set_safety),
}


def searched(request: Request) -> str | None:
    """What the stock page's search box asks for (the list and its files read it alike)."""
    return request.query_params.get("q", "").strip()[:64] or None


@router.get("/stock", response_model=None)
def stock_list(request: Request, session: ReadSession, viewer: SignedIn) -> Response:
    """The SKUs running low (over all of them), and every SKU's figures summed over the warehouses, a
    page at a time, those matching the search when one is typed; a SKU typed in the box opens its page."""
    allowed(viewer, "stock:read")
    if sku := request.query_params.get("sku", "").strip():
        return RedirectResponse(f"/stock/{quote(sku, safe='')}", status.HTTP_303_SEE_OTHER)
    text = searched(request)
    problem = None
    try:
        cursor = request.query_params.get("cursor")
        after = decode_cursor(cursor) if cursor else 0
    except DomainError as unreadable:
        after, problem = 0, unreadable.message
    rows = inventory.list_stock(session, after_id=after, limit=STOCK_PAGE + 1, text=text)
    more = None
    if len(rows) > STOCK_PAGE:
        rows = rows[:STOCK_PAGE]
        more = "/stock?" + urlencode({**({"q": text} if text else {}), "cursor": encode_cursor(rows[-1].id)})
    low, low_count = inventory.running_low(session, LOW_STOCK, limit=STOCK_PAGE)
    return render(
        request,
        "stock.html",
        viewer,
        rows=rows,
        low=low,
        low_count=low_count,
        low_stock=LOW_STOCK,
        q=text or "",
        more=more,
        paged=bool(after),
        problem=problem,
    )


@dataclass(frozen=True)
class ListingFigure:
    """What one listing selling the SKU (or a bundle of it) was last told, and how its push is going."""

    shop: str
    listing: str
    via: str | None  # the bundle the listing sells, when it is not the SKU itself
    by_platform: bool  # the platform fulfils it from its own stock: it is never told ours
    last_quantity: int | None
    last_pushed_at: datetime | None
    state: str  # pending, failed, sent, never
    due_at: datetime | None
    error: str | None


def _listings(session: Session, sku: str) -> list[ListingFigure]:
    product = catalog_repo.product_by_sku(session, sku)
    assert product is not None  # the page found it first
    bundles = catalog_repo.skus_of(session, catalog_repo.bundles_containing(session, {product.id}))
    mappings: list[tuple[str | None, MappingOut]] = [
        (None, m) for m in catalog.list_mappings(session, sku=sku)
    ]
    for bundle in sorted(bundles.values()):
        mappings += [(bundle, m) for m in catalog.list_mappings(session, sku=bundle)]
    shop_ids = {shop.code: shop.id for shop in channels_repo.all_shops(session)}
    keys = [(shop_ids[m.shop], m.listing_id) for _, m in mappings if m.listing_id is not None]
    pushes = latest_pushes(session, keys)
    figures = []
    for via, mapping in mappings:
        push = pushes.get((shop_ids[mapping.shop], mapping.listing_id or ""))
        pending = push is not None and push.status in {"queued", "running"}
        error = mapping.last_error or (
            push.last_error if push is not None and push.status == "dead" else None
        )
        state = "pending" if pending else "failed" if error else "sent" if mapping.last_pushed_at else "never"
        figures.append(
            ListingFigure(
                shop=mapping.shop,
                listing=mapping.listing_id or mapping.platform_sku or "",
                via=via,
                by_platform=mapping.fulfilled_by != "merchant",
                last_quantity=mapping.last_quantity,
                last_pushed_at=mapping.last_pushed_at,
                state=state,
                due_at=push.run_after if pending and push is not None else None,
                error=error,
            )
        )
    return figures


def _transfers(session: Session, sku: str) -> list[tuple[TransferOut, Any]]:
    """The SKU's newest transfers, each with its line of the SKU."""
    found = inventory.list_transfers(session, sku=sku, limit=TRANSFERS_SHOWN)
    return [(t, next(line for line in t.lines if line.sku == sku)) for t in found]


def _sku_page(session: Session, sku: str, before: int | None = None) -> dict[str, Any]:
    """Everything the SKU's panel shows: figures, listings, transfers and a page of its ledger."""
    movements = inventory.latest_movements(session, sku, limit=LEDGER_PAGE + 1, before_id=before)
    older = None
    if len(movements) > LEDGER_PAGE:
        movements = movements[:LEDGER_PAGE]
        older = f"/stock/{quote(sku, safe='')}?before={movements[-1][1].id}"
    return {
        "sku": sku,
        "figures": inventory.stock_of(session, sku),
        "listings": _listings(session, sku),
        "transfers": _transfers(session, sku),
        "open_transfer": IN_TRANSIT | {TransferStatus.CREATED},
        "movements": movements,
        "older": older,
        "movement_names": MOVEMENT_NAMES,
        "transfer_names": TRANSFER_NAMES,
    }


def _before(request: Request) -> int | None:
    asked = request.query_params.get("before", "")
    return int(asked) if asked.isdigit() and 0 < len(asked) < 19 else None


@router.get("/stock/{sku:path}", response_class=HTMLResponse)
def stock_page(request: Request, session: ReadSession, viewer: SignedIn, sku: str) -> HTMLResponse:
    """A SKU in each warehouse, what its listings were last sent, its transfers and ledger, and (for
    those who may) the forms to move it; htmx asking for older ledger entries gets only those rows."""
    allowed(viewer, "stock:read")
    try:
        page = _sku_page(session, sku, _before(request))
    except NotFound as absent:
        return missing(request, viewer, absent.message)
    if request.headers.get("hx-request") and request.headers.get("hx-target") == "ledger-more":
        return render(request, "_stock_ledger_rows.html", viewer, **page)
    warehouses = [w.code for w in inventory.list_warehouses(session) if w.active]
    return render(request, "stock_sku.html", viewer, warehouses=warehouses, **page)


#: The form's fields as a refusal names them (their English the field's name).
FIELD_WORDS = {
    "quantity": Phrase("quantity"),
    "reason": Phrase("reason"),
    "warehouse": Phrase("warehouse"),
    "from_warehouse": Phrase("from_warehouse"),
    "to_warehouse": Phrase("to_warehouse"),
}


def _problem(invalid: ValidationError, locale: str) -> str:
    """The first thing wrong with a form, named as the form names it, in the viewer's language when it
    is one a person meets (a figure left empty, not a whole number, out of bounds; a field left empty);
    its English pydantic's."""
    first = invalid.errors()[0]
    where = [str(part) for part in first["loc"]]
    field = "quantity" if set(where) & {"delta", "counted", "safety", "lines"} else ".".join(where)
    english = f"{field}: {first['msg']}"
    phrase = _worded(first["type"], FIELD_WORDS.get(field) or field, first.get("ctx") or {})
    return told(english, phrase if phrase is not None and phrase.english() == english else None, locale)


def _worded(kind: str, name: Arg, bound: dict[str, Any]) -> Phrase | None:
    """A validation error a person meets on the form, as a phrase whose English is pydantic's."""
    if kind == "int_parsing":
        return Phrase(
            "%(field)s: Input should be a valid integer, unable to parse string as an integer", field=name
        )
    if kind == "greater_than":
        return Phrase("%(field)s: Input should be greater than %(bound)s", field=name, bound=bound["gt"])
    if kind == "greater_than_equal":
        return Phrase(
            "%(field)s: Input should be greater than or equal to %(bound)s", field=name, bound=bound["ge"]
        )
    if kind == "less_than_equal":
        return Phrase(
            "%(field)s: Input should be less than or equal to %(bound)s", field=name, bound=bound["le"]
        )
    if kind == "string_too_short" and bound.get("min_length") == 1:
        return Phrase("%(field)s: String should have at least 1 character", field=name)
    return None


def _movement(session: Session, form: dict[str, str], sku: str, viewer: Viewer) -> None:
    body, amount, use_case = MOVEMENTS[form["kind"]]
    asked = body.model_validate(
        {
            "sku": sku,
            "warehouse": form.get("warehouse", ""),
            "reason": form.get("reason") or None,
            amount: form.get("quantity", ""),
        }
    )
    use_case(
        session, asked.sku, asked.warehouse, getattr(asked, amount), actor=viewer.name, reason=asked.reason
    )


def _transfer(session: Session, form: dict[str, str], sku: str, viewer: Viewer) -> None:
    """A new transfer of the SKU, its units held at the source; shipped at once when asked."""
    asked = TransferIn.model_validate(
        {
            "from_warehouse": form.get("from_warehouse", ""),
            "to_warehouse": form.get("to_warehouse", ""),
            "lines": [{"sku": sku, "quantity": form.get("quantity", "")}],
            "note": form.get("reason") or None,
        }
    )
    transfer_id = inventory.create_transfer(session, asked, actor=viewer.name)
    if form.get("ship"):
        inventory.ship_transfer(session, transfer_id, actor=viewer.name)


def _transfer_id(form: dict[str, str]) -> int:
    asked = form.get("transfer", "")
    if not (asked.isdigit() and 0 < len(asked) < 19):
        raise DomainError("transfer: the number of one of this SKU's transfers", field="transfer")
    return int(asked)


def _ship(session: Session, form: dict[str, str], sku: str, viewer: Viewer) -> None:
    inventory.ship_transfer(session, _transfer_id(form), actor=viewer.name)


def _arrived(session: Session, form: dict[str, str], sku: str, viewer: Viewer) -> None:
    """What of the SKU arrived on a transfer; the rest stays in transit."""
    asked = TransferReceiveIn.model_validate(
        {"lines": [{"sku": sku, "quantity": form.get("quantity", "")}], "reason": form.get("reason") or None}
    )
    inventory.receive_transfer(session, _transfer_id(form), asked, actor=viewer.name)


def _cancel(session: Session, form: dict[str, str], sku: str, viewer: Viewer) -> None:
    asked = TransferCancelIn.model_validate({"reason": form.get("reason", "")})
    inventory.cancel_transfer(session, _transfer_id(form), actor=viewer.name, reason=asked.reason)


#: What the SKU page's forms may ask, each through the API's use case for it.
ACTIONS: dict[str, Callable[[Session, dict[str, str], str, Viewer], None]] = {
    **dict.fromkeys(MOVEMENTS, _movement),
    "transfer": _transfer,
    "ship": _ship,
    "arrived": _arrived,
    "cancel": _cancel,
}


@router.post("/stock/{sku:path}", response_class=HTMLResponse)
async def move_stock(request: Request, viewer: SignedIn, sku: str) -> HTMLResponse:
    """Receive, adjust, count, set the safety stock of one SKU in a warehouse, or transfer it between
    warehouses (create, ship, receive, cancel), through the API's use cases in one transaction; a
    refusal is said above the figures (htmx swaps only 2xx answers, so it is sent as 200 to htmx)."""
    allowed(viewer, "stock:write")
    form = await read_form(request)
    problem = None
    code: int = status.HTTP_200_OK
    factory = request.app.state.factory
    try:
        action = ACTIONS.get(form.get("kind", ""))
        if action is None:
            raise DomainError(f"kind: one of {', '.join(ACTIONS)}", field="kind")
        with transaction(factory) as session:
            action(session, form, sku, viewer)
    except ValidationError as invalid:
        problem, code = _problem(invalid, viewer.locale), status.HTTP_422_UNPROCESSABLE_CONTENT
    except DomainError as refused:
        problem, code = told_of(refused, viewer.locale), refused.http_status
    with transaction(factory) as session:
        try:
            page = render(
                request,
                "_stock_panel.html",
                viewer,
                problem=problem,
                done=problem is None,
                **_sku_page(session, sku),
            )
        except NotFound as absent:
            page = missing(request, viewer, absent.message)
    if not request.headers.get("hx-request"):
        page.status_code = code
    return page
