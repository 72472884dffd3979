"""The warehouse's screens: waves to pick with their pick lists and label batches (and the missing
labels bought through the jobs), scan to pack, and the parcels gone quiet or late on their way.

Every screen is fulfilment's own use cases (``printing``, ``carriers.labels``, ``packing``,
``service.parcels_to_chase``), as the API's routes call them. They are the warehouse's (and an
admin's): they need ``fulfilment:write``, which the roles that only read parcels lack.
"""

from __future__ import annotations

import io
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Path, Request, status
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from orderly.console.i18n import N_, gettext, told_of
from orderly.console.pages.common import read_form, render
from orderly.console.viewer import SignedIn, Viewer, allowed
from orderly.core.clock import utcnow
from orderly.core.db import transaction
from orderly.core.errors import DomainError, NotFound
from orderly.core.pagination import MAX_ID
from orderly.core.web import ReadSession
from orderly.fulfilment import packing, printing
from orderly.fulfilment import repository as fulfilment_repo
from orderly.fulfilment import service as fulfilment
from orderly.fulfilment.carriers import labels
from orderly.fulfilment.carriers import repository as carriers_repo
from orderly.fulfilment.carriers.models import LabelState
from orderly.fulfilment.carriers.registry import connector_class
from orderly.fulfilment.carriers.schemas import LabelIn, LabelOutcomeIn
from orderly.fulfilment.domain import WAVE_SIZE, ShipmentStatus
from orderly.fulfilment.schemas import PackIn, PackScanIn
from orderly.inventory import service as inventory

router = APIRouter(include_in_schema=False)

#: What the warehouse's screens need: the API's permission for parcels, labels, picking and packing.
PERMISSION = "fulfilment:write"
#: Parcels named in one request at most (a wave's, with room to spare).
MOST_PARCELS = 4 * WAVE_SIZE
#: How often (seconds) the page asks how a wave's label purchases stand while any is under way.
POLL_EVERY = 2
PDF = "application/pdf"
#: A parcel's status once its last unit is scanned: packed, and shipped where the warehouse ships on pack.
DONE = frozenset({ShipmentStatus.PACKED, ShipmentStatus.SHIPPED})
#: The packing table this browser stands at, when several tables pack under one person's sign-in:
#: kept by the browser, so each table's screen carries on with its own parcel (``packer_name``).
TABLE_COOKIE = "orderly_pack_table"
YEAR = 365 * 24 * 3600
#: Parcels to chase listed at most, the longest unheard of first.
CHASE_ROWS = 500


def _shipment_ids(raw: str) -> list[int]:
    """The parcels a wave's link or form names: shipment ids separated by commas."""
    try:
        ids = [int(part) for part in raw.split(",") if part.strip()]
    except ValueError:
        raise DomainError("shipments: shipment ids separated by commas", field="shipments") from None
    if not ids or len(ids) > MOST_PARCELS or not all(1 <= i <= MAX_ID for i in ids):
        raise DomainError(f"shipments: 1 to {MOST_PARCELS} shipment ids", field="shipments")
    return list(dict.fromkeys(ids))


def _refused(request: Request, viewer: Viewer, refusal: DomainError) -> HTMLResponse:
    page = render(request, "missing.html", viewer, message=refusal.message)
    page.status_code = refusal.http_status
    return page


# --- waves ----------------------------------------------------------------------------------------


@router.get("/warehouse", response_class=HTMLResponse)
def waves_page(request: Request, session: ReadSession, viewer: SignedIn) -> HTMLResponse:
    """Each warehouse's parcels to pick (or one's, ``?warehouse=``), in waves
    (``fulfilment.domain.form_waves``)."""
    allowed(viewer, PERMISSION)
    chosen = request.query_params.get("warehouse") or None
    try:
        waves = printing.waves(session, chosen)
    except NotFound as absent:
        return _refused(request, viewer, absent)
    accounts = [
        account
        for account in carriers_repo.accounts(session)
        if account.active and (klass := connector_class(account.plugin)) is not None and klass.buys
    ]
    return render(
        request,
        "warehouse.html",
        viewer,
        waves=waves,
        warehouses=[w.code for w in inventory.list_warehouses(session) if w.active],
        chosen=chosen,
        accounts=accounts,
        wave_size=WAVE_SIZE,
    )


@router.get("/warehouse/pick-list.pdf", response_model=None)
def wave_pick_list(request: Request, session: ReadSession, viewer: SignedIn) -> Response:
    """The pick list of a wave's parcels: stops in walking order (as ``POST /api/v1/pick-lists``)."""
    allowed(viewer, PERMISSION)
    try:
        ids = _shipment_ids(request.query_params.get("shipments", ""))
        pdf = printing.pick_list(session, shipment_ids=ids)
    except DomainError as refusal:
        return _refused(request, viewer, refusal)
    return Response(pdf, media_type=PDF, headers={"Content-Disposition": 'inline; filename="pick-list.pdf"'})


@router.get("/warehouse/labels.pdf", response_model=None)
def wave_labels(request: Request, session: ReadSession, viewer: SignedIn) -> Response:
    """A wave's labels as one PDF in pick order (as ``POST /api/v1/labels/batch``)."""
    allowed(viewer, PERMISSION)
    out = io.BytesIO()
    try:
        ids = _shipment_ids(request.query_params.get("shipments", ""))
        printing.write_batch(printing.batch_parcels(session, shipment_ids=ids), out)
    except DomainError as refusal:
        return _refused(request, viewer, refusal)
    disposition = 'inline; filename="labels.pdf"'
    return Response(out.getvalue(), media_type=PDF, headers={"Content-Disposition": disposition})


def _label_progress(
    request: Request, session: Session, viewer: Viewer, ids: list[int], refusals: dict[int, str]
) -> HTMLResponse:
    """How the labels of these parcels stand; the page asks again while any purchase is under way."""
    found = fulfilment_repo.shipments_by_id(session, ids)
    parcels = fulfilment.shipment_views(session, [found[i] for i in ids if i in found])
    buying = any(p.carrier_label and p.carrier_label.state == LabelState.BUYING for p in parcels)
    return render(
        request,
        "_warehouse_labels.html",
        viewer,
        parcels=parcels,
        refusals=refusals,
        buying=buying,
        shipments=",".join(map(str, ids)),
        poll_every=POLL_EVERY,
    )


@router.get("/warehouse/labels", response_class=HTMLResponse)
def label_progress(request: Request, session: ReadSession, viewer: SignedIn) -> HTMLResponse:
    allowed(viewer, PERMISSION)
    try:
        ids = _shipment_ids(request.query_params.get("shipments", ""))
    except DomainError as refusal:
        return _refused(request, viewer, refusal)
    return _label_progress(request, session, viewer, ids, {})


@router.post("/warehouse/labels", response_class=HTMLResponse)
async def buy_wave_labels(request: Request, viewer: SignedIn) -> HTMLResponse:
    """Ask for the labels a wave lacks, one purchase job per parcel (as ``POST
    /api/v1/shipments/{id}/label``), in one transaction; a parcel refused (a label already, a purchase
    under way, an unknown outcome) is said beside it and the others are asked all the same."""
    allowed(viewer, PERMISSION)
    form = await read_form(request)
    factory = request.app.state.factory
    refusals: dict[int, str] = {}
    try:
        ids = _shipment_ids(form.get("shipments", ""))
        asked = LabelIn.model_validate(
            {"carrier_account": form.get("carrier_account", ""), "service": form.get("service") or "cheapest"}
        )
        with transaction(factory) as session:
            refusals = labels.request_labels(session, ids, asked, actor=viewer.name)
    except ValidationError as invalid:
        first = invalid.errors()[0]
        problem = f"{'.'.join(map(str, first['loc']))}: {first['msg']}"
        return _problem(request, viewer, problem, status.HTTP_422_UNPROCESSABLE_CONTENT)
    except DomainError as refusal:
        return _problem(request, viewer, refusal.message, refusal.http_status)
    with transaction(factory) as session:
        return _label_progress(request, session, viewer, ids, refusals)


@router.post("/warehouse/labels/{shipment_id}/outcome", response_class=HTMLResponse)
async def settle_label(
    request: Request, viewer: SignedIn, shipment_id: Annotated[int, Path(ge=1, le=MAX_ID)]
) -> HTMLResponse:
    """A person's answer to a label purchase of unknown outcome, from the carrier's account (as ``POST
    /api/v1/shipments/{id}/label/outcome``). From the waves' labels the panel is read again with it;
    from an order's page, the page."""
    allowed(viewer, PERMISSION)
    form = await read_form(request)
    factory = request.app.state.factory
    from_order = form.get("from") == "order"
    refusals: dict[int, str] = {}
    try:
        ids = [shipment_id] if from_order else _shipment_ids(form.get("shipments") or str(shipment_id))
        answer = LabelOutcomeIn.model_validate(
            {
                "bought": form.get("bought") == "yes",
                "tracking_number": form.get("tracking_number") or None,
                "note": form.get("note", ""),
            }
        )
        with transaction(factory) as session:
            labels.settle_unknown(session, shipment_id, answer, actor=viewer.name)
    except ValidationError as invalid:
        first = invalid.errors()[0]
        where = ".".join(map(str, first["loc"]))
        return _problem(
            request, viewer, f"{where}: {first['msg']}".lstrip(": "), status.HTTP_422_UNPROCESSABLE_CONTENT
        )
    except DomainError as refusal:
        if from_order:
            return _problem(request, viewer, refusal.message, refusal.http_status)
        refusals[shipment_id] = refusal.message
    if from_order:  # the order's page is read again, with the parcel as it now stands
        page = HTMLResponse("")
        page.headers["HX-Refresh"] = "true"
        return page
    with transaction(factory) as session:
        return _label_progress(request, session, viewer, ids, refusals)


def _problem(request: Request, viewer: Viewer, problem: str, code: int) -> HTMLResponse:
    """A refusal said where the answer goes (to htmx as 200: it swaps only 2xx answers)."""
    page = render(request, "_warehouse_problem.html", viewer, problem=problem)
    if not request.headers.get("hx-request"):
        page.status_code = code
    return page


# --- scan to pack ---------------------------------------------------------------------------------


def _table(typed: str | None) -> str | None:
    """A packing table's name as the API's ``packer`` takes it; None for none (or one it refuses)."""
    try:
        return PackIn(packer=typed.strip() or None).packer if typed else None
    except ValidationError:
        return None


def _packer(request: Request, viewer: Viewer) -> tuple[str, str | None]:
    """Who scans at this browser (the person, at its packing table), and the table."""
    table = _table(request.cookies.get(TABLE_COOKIE))
    return packing.packer_name(viewer.name, table), table


@router.get("/warehouse/pack", response_class=HTMLResponse)
def pack_page(request: Request, session: ReadSession, viewer: SignedIn) -> HTMLResponse:
    """The scan box, the packing table it stands at, and the parcel packed there (the last one scanned
    into). ``?table=NAME`` names this browser's table (kept in a cookie; blank: none)."""
    allowed(viewer, PERMISSION)
    packer, table = _packer(request, viewer)
    asked = request.query_params.get("table")
    if asked is not None:
        table = _table(asked)
        packer = packing.packer_name(viewer.name, table)
    try:
        parcel = packing.packing_now(session, packer)
    except NotFound:
        parcel = None
    page = render(
        request, "warehouse_pack.html", viewer, parcel=parcel, message=None, outcome=None, table=table
    )
    if asked is not None and table is None:
        page.delete_cookie(TABLE_COOKIE, path="/warehouse")
    elif asked is not None and table is not None:
        page.set_cookie(
            TABLE_COOKIE, table, max_age=YEAR, path="/warehouse", httponly=True, samesite="strict"
        )
    return page


@router.post("/warehouse/pack/restart", response_class=HTMLResponse)
async def pack_restart(request: Request, viewer: SignedIn) -> HTMLResponse:
    """Start the parcel packed at this table again, every unit scanned into it forgotten (as ``POST
    /api/v1/shipments/{id}/pack/reset``)."""
    allowed(viewer, PERMISSION)
    form = await read_form(request)
    packer, _ = _packer(request, viewer)
    factory = request.app.state.factory
    asked = form.get("shipment", "")
    parcel = None
    code: int = status.HTTP_200_OK
    try:
        if not asked.isdigit() or not 1 <= int(asked) <= MAX_ID:
            raise DomainError("shipment: a parcel's id", field="shipment")
        with transaction(factory) as session:
            parcel = packing.reset(session, int(asked), packer=packer)
        message, outcome = gettext(viewer.locale)(N_("Started again: scan each item anew.")), "scanned"
    except DomainError as refused:
        message, outcome, code = (
            told_of(refused, viewer.locale),
            "refused",
            refused.http_status,
        )
    page = render(request, "_warehouse_pack.html", viewer, parcel=parcel, message=message, outcome=outcome)
    if not request.headers.get("hx-request"):
        page.status_code = code
    return page


@router.post("/warehouse/pack", response_class=HTMLResponse)
async def pack_scan(request: Request, viewer: SignedIn) -> HTMLResponse:
    """One code from the scanner through the packing service (as ``POST /api/v1/pack/scans``): what it
    did, or why it was refused, above the parcel's lines."""
    allowed(viewer, PERMISSION)
    form = await read_form(request)
    factory = request.app.state.factory
    packer, _ = _packer(request, viewer)
    code: int = status.HTTP_200_OK
    try:
        scan = PackScanIn.model_validate({"code": form.get("code", "")})
        with transaction(factory) as session:
            done = packing.scan(session, scan.code, packer=packer)
        message, parcel = told_of(done, viewer.locale), done.parcel
        outcome = "complete" if parcel.status in DONE else "scanned"
    except ValidationError:
        message, parcel, outcome, code = "scan a code", None, "refused", status.HTTP_422_UNPROCESSABLE_CONTENT
    except DomainError as refused:
        message, outcome, code = (
            told_of(refused, viewer.locale),
            "refused",
            refused.http_status,
        )
        parcel = None
    if parcel is None:
        with transaction(factory) as session:
            try:
                parcel = packing.packing_now(session, packer)
            except NotFound:
                parcel = None
    page = render(request, "_warehouse_pack.html", viewer, parcel=parcel, message=message, outcome=outcome)
    if not request.headers.get("hx-request"):
        page.status_code = code
    return page


# --- parcels to chase -----------------------------------------------------------------------------


@router.get("/warehouse/stale", response_class=HTMLResponse)
def stale_page(request: Request, session: ReadSession, viewer: SignedIn) -> HTMLResponse:
    """The parcels on their way the stale and late alerts are about (``watch_parcels``' rule)."""
    allowed(viewer, PERMISSION)
    hours = request.app.state.settings.tracking_stale_hours
    parcels = fulfilment.parcels_to_chase(session, utcnow(), timedelta(hours=hours))
    shown = parcels[:CHASE_ROWS]
    return render(
        request,
        "warehouse_stale.html",
        viewer,
        parcels=shown,
        total=len(parcels),
        hours=f"{hours:g}",
    )
