"""Imports over HTTP: a file uploaded and run by the jobs (a dry run first, to see its preview and
errors), its run's figures, preview and errors (paged, or as CSV) kept afterwards, saved profiles."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import File, Form, HTTPException, Path, Query, Request, UploadFile, status
from fastapi.responses import StreamingResponse

from orderly.core.clock import zone
from orderly.core.errors import DomainError
from orderly.core.pagination import decode_cursor, paginate
from orderly.core.text import StorableStr
from orderly.core.web import (
    Authenticated,
    Cursor,
    DbSession,
    Limit,
    ReadFactory,
    ReadSession,
    api_router,
    id_path,
)
from orderly.imports import mapping, repository, tasks
from orderly.imports.domain import Kind
from orderly.imports.models import ImportRun
from orderly.imports.queries import KIND_PERMISSIONS, error_page, errors_csv, may_import, run_of
from orderly.imports.schemas import (
    FieldOut,
    KindOut,
    ProfileIn,
    ProfileName,
    ProfileOut,
    RowErrorPage,
    RunDetailOut,
    RunOut,
    RunPage,
)
from orderly.imports.service import ImportOptions, kind_of

router = api_router("imports", area="imports")

#: An upload is spooled to a temporary file as it arrives, never held in memory: a year of a big
#: shop's order export fits.
UPLOAD_BODY_MAX = 256 << 20

RunId = Annotated[int, id_path("import run")]
ProfilePath = Annotated[ProfileName, Path(description="the profile's name")]
Code = Annotated[StorableStr | None, Form(min_length=1, max_length=64)]


@router.post(
    "/imports",
    response_model=RunOut,
    status_code=status.HTTP_202_ACCEPTED,
    max_body_size=UPLOAD_BODY_MAX,
)
def upload(
    request: Request,
    session: DbSession,
    viewer: Authenticated,
    file: Annotated[UploadFile, File(description="CSV, TSV or XLSX; UTF-8, UTF-16 or GB18030")],
    kind: Annotated[Kind, Form()],
    profile: Annotated[
        ProfileName | None, Form(description="a saved profile; default: the layout found from the headers")
    ] = None,
    shop: Annotated[Code, Form(description="orders: the shop they are of")] = None,
    warehouse: Annotated[Code, Form(description="stock: the warehouse of rows that name none")] = None,
    mode: Annotated[
        Literal["opening", "count"] | None,
        Form(description="stock: opening (set on hand where the hub holds none; the default) or count"),
    ] = None,
    time_zone: Annotated[
        StorableStr | None,
        Form(max_length=64, description="IANA zone of times without an offset; default: the hub's"),
    ] = None,
    currency: Annotated[
        str | None,
        Form(pattern=r"^[A-Z]{3}$", description="ISO 4217 currency of amounts whose row names none"),
    ] = None,
    dry_run: Annotated[
        bool, Form(description="check and preview only: nothing is kept but the report")
    ] = False,
) -> ImportRun:
    """Upload a file to import: 202 with its run, which a worker takes up at once; follow it with
    ``GET /imports/runs/{id}``. Importing orders, stock or the catalog needs the permission to change
    them too (``orders:write``, ``stock:write``, ``catalog:write``)."""
    if not may_import(viewer.permissions, kind):
        needed = KIND_PERMISSIONS[kind]
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            f"importing {kind} needs the permission '{needed}', which the role '{viewer.role}' lacks",
        )
    settings = request.app.state.settings
    where = time_zone or settings.timezone
    try:
        zone(where)
    except ValueError as error:
        raise DomainError(str(error), field="time_zone") from None
    options = ImportOptions(
        shop=shop, warehouse=warehouse, time_zone=where, currency=currency, mode=mode, actor=viewer.name
    )
    run_id = tasks.queue_upload(
        session,
        settings,
        file.file,
        file.filename or "upload",
        kind,
        options,
        profile=profile,
        dry_run=dry_run,
    )
    return run_of(session, run_id)


@router.get("/imports/runs", response_model=RunPage)
def list_runs(session: ReadSession, limit: Limit = 50, cursor: Cursor = None) -> RunPage:
    """Past runs, the newest first."""
    before = decode_cursor(cursor) if cursor else None
    runs = repository.runs(session, limit=limit + 1, before_id=before)
    items, next_cursor = paginate(runs, limit, lambda run: run.id)
    return RunPage(items=[RunOut.model_validate(run) for run in items], next_cursor=next_cursor)


@router.get("/imports/runs/{run_id}", response_model=RunDetailOut)
def get_run(session: ReadSession, run_id: RunId) -> ImportRun:
    """A run's figures as they stand (it may still be running) and the first rows as read."""
    return run_of(session, run_id)


@router.get("/imports/runs/{run_id}/errors", response_model=RowErrorPage)
def list_errors(
    session: ReadSession,
    run_id: RunId,
    after_row: Annotated[int, Query(ge=0, le=2**31, description="`next_after_row` of the previous page")] = 0,
    limit: Limit = 100,
) -> RowErrorPage:
    """A run's errors by row: each bad cell (or row) with the file's column, its value and why."""
    run_of(session, run_id)
    items, next_after_row = error_page(session, run_id, after_row, limit)
    return RowErrorPage(items=items, next_after_row=next_after_row)


@router.get(
    "/imports/runs/{run_id}/errors.csv",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {}}, "description": "row, column, value, reason"}},
)
def download_errors(session: ReadSession, factory: ReadFactory, run_id: RunId) -> StreamingResponse:
    """A run's errors as a CSV file, to fix the rows in a spreadsheet and import them again."""
    run = run_of(session, run_id)
    name = f"import-{run.id}-errors.csv"
    return StreamingResponse(
        errors_csv(factory, run.id),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.get("/imports/kinds", response_model=list[KindOut])
def list_kinds() -> list[KindOut]:
    """The kinds of file the hub imports, each with its fields and the headers known for them."""
    return [
        KindOut(
            kind=kind,
            fields=[
                FieldOut(name=f.name, required=f.required, headers=list(f.headers))
                for f in kind_of(kind).fields
            ],
        )
        for kind in Kind
    ]


@router.get("/imports/profiles", response_model=list[ProfileOut])
def list_profiles(
    session: ReadSession, kind: Annotated[Kind | None, Query(description="only those of this kind")] = None
) -> list[ProfileOut]:
    return [ProfileOut.model_validate(p) for p in mapping.profiles(session, kind)]


@router.put("/imports/profiles/{name}", response_model=ProfileOut)
def save_profile(session: DbSession, name: ProfilePath, body: ProfileIn) -> ProfileOut:
    """Save a column mapping under a name (replacing one of that name), for files of a layout the hub
    does not know; every field must be one of the kind's and each required one given."""
    saved = mapping.save_profile(
        session, name, body.kind, kind_of(body.kind).fields, body.columns, body.fixed
    )
    return ProfileOut.model_validate(saved)


@router.delete("/imports/profiles/{name}", status_code=status.HTTP_204_NO_CONTENT)
def delete_profile(session: DbSession, name: ProfilePath) -> None:
    mapping.delete_profile(session, name)
