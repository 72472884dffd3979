"""Shops and sync health: each shop's lag, failing inbox entries and dead jobs, and replaying them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Path, Request, status
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session

from orderly.channels import inbox
from orderly.channels import service as channels
from orderly.console.pages.common import render
from orderly.console.viewer import SignedIn, Viewer, allowed
from orderly.core.clock import utcnow
from orderly.core.db import transaction
from orderly.core.errors import DomainError
from orderly.core.pagination import MAX_ID
from orderly.core.web import ReadSession
from orderly.jobs import service as jobs

router = APIRouter(include_in_schema=False)

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
