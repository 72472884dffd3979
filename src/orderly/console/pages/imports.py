"""Imports: a file uploaded (orders, stock, the catalog) with its kind, layout and options, checked
first by a dry run whose preview and errors show below the form, then imported for real; the past
runs, and a run's report with its errors a page at a time and as a CSV download.

The upload goes through the same job as the API's (``imports.tasks.queue_upload``); the report polls
its run until the job has finished."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, status
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from orderly.channels import repository as channels_repo
from orderly.console.i18n import N_, told_of
from orderly.console.pages.common import missing, render
from orderly.console.viewer import SignedIn, Viewer, allowed
from orderly.core.clock import zone
from orderly.core.db import transaction
from orderly.core.errors import DomainError, NotFound
from orderly.core.pagination import decode_cursor, encode_cursor
from orderly.core.phrases import Phrase
from orderly.core.web import ReadSession
from orderly.imports import mapping, repository, tasks
from orderly.imports.domain import Kind, RunStatus
from orderly.imports.queries import KIND_PERMISSIONS, error_page, may_import, run_of
from orderly.imports.service import ImportOptions
from orderly.imports.stock import COUNT, OPENING
from orderly.inventory import service as inventory

router = APIRouter(include_in_schema=False)

KIND_NAMES = {Kind.ORDERS: N_("Orders"), Kind.STOCK: N_("Stock"), Kind.CATALOG: N_("Products and bundles")}
STATUS_NAMES = {
    RunStatus.QUEUED: N_("Waiting"),
    RunStatus.RUNNING: N_("Running"),
    RunStatus.DONE: N_("Done"),
    RunStatus.FAILED: N_("Failed"),
}
MODE_NAMES = {
    OPENING: N_("Opening balance (only where the hub holds none)"),
    COUNT: N_("Count (set on hand as counted)"),
}
RUNS_PAGE = 20
ERRORS_PAGE = 50
_FIELDS = ("kind", "profile", "shop", "warehouse", "mode", "time_zone", "currency", "dry_run")


def _names() -> dict[str, Any]:
    return {"kind_names": KIND_NAMES, "run_status_names": STATUS_NAMES, "mode_names": MODE_NAMES}


def _form_choices(session: Session, viewer: Viewer) -> dict[str, Any]:
    return {
        "kinds": [kind for kind in Kind if may_import(viewer.permissions, kind)],
        "profiles": mapping.profiles(session),
        "shops": [shop.code for shop in channels_repo.all_shops(session)],
        "warehouses": [w.code for w in inventory.list_warehouses(session) if w.active],
    }


@router.get("/imports", response_class=HTMLResponse)
def imports_page(request: Request, session: ReadSession, viewer: SignedIn) -> HTMLResponse:
    """The upload form (for those who may import) and the past runs, newest first."""
    allowed(viewer, "imports:read")
    problem = None
    try:
        cursor = request.query_params.get("cursor")
        before = decode_cursor(cursor) if cursor else None
    except DomainError as unreadable:
        before, problem = None, unreadable.message
    runs = repository.runs(session, limit=RUNS_PAGE + 1, before_id=before)
    more = f"/imports?cursor={encode_cursor(runs[RUNS_PAGE - 1].id)}" if len(runs) > RUNS_PAGE else None
    return render(
        request,
        "imports.html",
        viewer,
        runs=runs[:RUNS_PAGE],
        more=more,
        paged=before is not None,
        problem=problem,
        **_form_choices(session, viewer),
        **_names(),
    )


def _options(form: dict[str, str], viewer: Viewer) -> tuple[Kind, ImportOptions]:
    try:
        kind = Kind(form.get("kind", ""))
    except ValueError:
        raise DomainError(Phrase("kind: one of %(kinds)s", kinds=", ".join(Kind)), field="kind") from None
    if not may_import(viewer.permissions, kind):
        raise DomainError(
            Phrase(
                "importing %(kind)s needs the permission '%(permission)s'",
                kind=kind.value,
                permission=KIND_PERMISSIONS[kind],
            ),
            field="kind",
        )
    mode = form.get("mode") or None
    if mode not in (None, OPENING, COUNT):
        raise DomainError(
            Phrase("mode: %(opening)s or %(count)s", opening=OPENING, count=COUNT), field="mode"
        )
    where = form.get("time_zone") or viewer.timezone
    try:
        zone(where)
    except ValueError as wrong:
        raise DomainError(
            Phrase("time zone: %(zone)s is not a time zone name such as Europe/Berlin or UTC", zone=where),
            field="time_zone",
        ) from wrong
    currency = (form.get("currency") or "").strip().upper() or None
    if currency is not None and not (len(currency) == 3 and currency.isalpha()):
        raise DomainError(Phrase("currency: an ISO 4217 code such as USD or CNY"), field="currency")
    options = ImportOptions(
        shop=form.get("shop") or None,
        warehouse=form.get("warehouse") or None,
        time_zone=where,
        currency=currency,
        mode=mode,
        actor=viewer.name,
    )
    return kind, options


@router.post("/imports", response_class=HTMLResponse)
async def upload(request: Request, viewer: SignedIn) -> HTMLResponse:
    """Queue the uploaded file (a dry run unless "import" was pressed) and answer with its report,
    which polls until the run is done; a refusal is said in the report's place."""
    allowed(viewer, "imports:write")
    problem = None
    # The file is spooled to disk as it arrives; copying it into the data folder and recording the run
    # happen on a worker thread, off the event loop.
    async with request.form(max_files=1, max_fields=len(_FIELDS) + 2) as form:
        upload = form.get("file")
        fields = {name: str(form.get(name) or "").strip() for name in _FIELDS}
        try:
            if not isinstance(upload, UploadFile) or not upload.filename:
                raise DomainError(Phrase("choose a file to import"), field="file")
            kind, options = _options(fields, viewer)
            run_id = await run_in_threadpool(_queue, request, upload, kind, options, fields)
        except DomainError as refused:
            problem = told_of(refused, viewer.locale)
    if problem is not None:
        page = render(request, "_import_problem.html", viewer, problem=problem)
        if not request.headers.get("hx-request"):
            page.status_code = status.HTTP_422_UNPROCESSABLE_CONTENT
        return page
    with transaction(request.app.state.read_factory) as session:
        return _report(request, session, viewer, run_id, "_import_report.html")


def _queue(
    request: Request, upload: UploadFile, kind: Kind, options: ImportOptions, fields: dict[str, str]
) -> int:
    with transaction(request.app.state.factory) as session:
        return tasks.queue_upload(
            session,
            request.app.state.settings,
            upload.file,
            upload.filename or "upload",
            kind,
            options,
            profile=fields["profile"] or None,
            dry_run=fields["dry_run"] == "1",
        )


def _report(request: Request, session: Session, viewer: Viewer, run_id: int, template: str) -> HTMLResponse:
    try:
        run = run_of(session, run_id)
    except NotFound as absent:
        return missing(request, viewer, absent.message)
    after = request.query_params.get("after", "")
    errors, next_after = error_page(
        session, run_id, int(after) if after.isdigit() and len(after) < 10 else 0, ERRORS_PAGE
    )
    columns = list(dict.fromkeys(name for row in run.preview for name in row["values"]))
    return render(
        request,
        template,
        viewer,
        run=run,
        errors=errors,
        next_after=next_after,
        preview_columns=columns,
        finished=run.status in {RunStatus.DONE, RunStatus.FAILED},
        **_names(),
    )


@router.get("/imports/runs/{run_id}", response_class=HTMLResponse)
def run_page(request: Request, session: ReadSession, viewer: SignedIn, run_id: int) -> HTMLResponse:
    """A run's report: its figures, the first rows as read and its errors a page at a time (htmx asking
    for the next page, or polling a run still going, gets the part it swaps)."""
    allowed(viewer, "imports:read")
    target = request.headers.get("hx-target") if request.headers.get("hx-request") else None
    if target == "more-errors":
        return _report(request, session, viewer, run_id, "_import_error_rows.html")
    if target and target.startswith("report-"):
        return _report(request, session, viewer, run_id, "_import_report.html")
    return _report(request, session, viewer, run_id, "import_run.html")
