"""The admin's pages: people (create, change role, disable or enable, reset a password, through the
API's use cases in ``auth/service.py``) and the audit log, filtered by who, what and when (in the
viewer's zone), a page at a time."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Path, Request, status
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session

from orderly.auth import audit
from orderly.auth import service as users
from orderly.auth.domain import PASSWORD_MIN, Role, password_problem, username_problem
from orderly.console.pages.common import ROLE_NAMES, read_form, render
from orderly.console.viewer import SignedIn, Viewer, allowed
from orderly.core.clock import range_end, range_start, zone
from orderly.core.db import transaction
from orderly.core.errors import DomainError
from orderly.core.pagination import MAX_ID, decode_cursor, encode_cursor
from orderly.core.text import refuse_nul
from orderly.core.web import ReadSession

router = APIRouter(include_in_schema=False)

#: The roles a person is given (``writer`` and ``reader`` are for old API tokens).
PEOPLES_ROLES = (Role.ADMIN, Role.OPERATIONS, Role.WAREHOUSE, Role.FINANCE, Role.CUSTOMER_SERVICE)
AUDIT_PAGE = 50


def _users_page(
    request: Request,
    session: Session,
    viewer: Viewer,
    *,
    problems: dict[str, str] | None = None,
    done: str | None = None,
    asked: dict[str, str] | None = None,
) -> HTMLResponse:
    people = users.list_users(session)
    return render(
        request,
        "users.html",
        viewer,
        people=people,
        last_sign_in=audit.last_sign_ins(session, [person.username for person in people]),
        roles=PEOPLES_ROLES,
        role_names=ROLE_NAMES,
        password_min=PASSWORD_MIN,
        problems=problems or {},
        done=done,
        asked=asked or {},
        hub_zone=str(request.app.state.settings.timezone),
    )


@router.get("/users", response_class=HTMLResponse)
def users_page(request: Request, session: ReadSession, viewer: SignedIn) -> HTMLResponse:
    """Every user with their role, status and last sign-in, and the forms to manage them."""
    allowed(viewer, "users:admin")
    return _users_page(request, session, viewer)


def _answer(
    request: Request,
    viewer: Viewer,
    change: Callable[[Session], str],
    *,
    user_id: int | None = None,
    asked: dict[str, str] | None = None,
) -> HTMLResponse:
    """Make the change through the API's use case in one transaction, then the page again, saying how
    it went: each refusal beside its field (to htmx always as 200: it swaps only 2xx answers)."""
    factory = request.app.state.factory
    problems: dict[str, str] = {}
    done = None
    code = status.HTTP_200_OK
    try:
        with transaction(factory) as session:
            done = change(session)
    except DomainError as refused:
        said = refused.errors or [{"field": refused.field or "form", "message": refused.message}]
        problems = {e["field"]: e["message"].removeprefix(f"{e['field']}: ") for e in said}
        code = refused.http_status
    if done is not None and user_id is not None:
        request.app.state.tokens.forget(user_id=user_id)  # their role or status, from the next request
    with transaction(factory) as session:
        page = _users_page(request, session, viewer, problems=problems, done=done, asked=asked)
    if not request.headers.get("hx-request"):
        page.status_code = code
    return page


def _role(value: str) -> Role:
    if value not in {role.value for role in PEOPLES_ROLES}:
        raise DomainError(f"role: one of {', '.join(PEOPLES_ROLES)}", field="role")
    return Role(value)


def _refuse(problems: dict[str, str | None]) -> None:
    """Every field's refusal at once, each beside its field."""
    errors = [{"field": field, "message": message} for field, message in problems.items() if message]
    if errors:
        error = DomainError("; ".join(e["message"] for e in errors), field=errors[0]["field"])
        error.errors = errors
        raise error


def _zone_problem(name: str) -> str | None:
    try:
        zone(name)
    except ValueError as problem:
        return str(problem)
    return None


@router.post("/users", response_class=HTMLResponse)
async def create_user(request: Request, viewer: SignedIn) -> HTMLResponse:
    """A person with a role and a first password (the API's rules: at least 10 characters)."""
    allowed(viewer, "users:admin")
    form = await read_form(request)
    hub_zone = str(request.app.state.settings.timezone)

    def create(session: Session) -> str:
        for value in form.values():
            refuse_nul(value)
        role = form.get("role", "")
        _refuse(
            {
                "username": username_problem(form.get("username", "")),
                "role": None
                if role in {r.value for r in PEOPLES_ROLES}
                else f"one of {', '.join(PEOPLES_ROLES)}",
                "password": password_problem(form.get("password", "")),
                "timezone": _zone_problem(form.get("timezone") or hub_zone),
            }
        )
        made = users.create_user(
            session,
            form["username"],
            form["password"],
            role=_role(form["role"]),
            display_name=form.get("display_name") or None,
            locale=form.get("locale") or "en",
            timezone=form.get("timezone") or hub_zone,
        )
        return f"created {made.username}"

    kept = {name: value for name, value in form.items() if name != "password"}  # never sent back
    return _answer(request, viewer, create, asked=kept)


UserId = Annotated[int, Path(ge=1, le=MAX_ID)]


@router.post("/users/{user_id}", response_class=HTMLResponse)
async def change_user(request: Request, viewer: SignedIn, user_id: UserId) -> HTMLResponse:
    """Change a person's role, disable or enable them, or set a new password (their sessions end)."""
    allowed(viewer, "users:admin")
    form = await read_form(request)
    action = form.get("action", "")

    def change(session: Session) -> str:
        name = users.get_user(session, user_id).username
        if action == "role":
            users.update_user(session, user_id, role=_role(form.get("role", "")))
            return f"{name}: role {form['role']}"
        if action in {"disable", "enable"}:
            users.update_user(session, user_id, active=action == "enable")
            return f"{name}: {action}d"
        if action == "password":
            users.set_password(session, user_id, form.get("password", ""))
            return f"{name}: password reset"
        raise DomainError("action: one of role, disable, enable, password", field="action")

    return _answer(request, viewer, change, user_id=user_id)


# --- the audit log ------------------------------------------------------------------------------------


def _bound(text: str, where: str) -> date | datetime:
    """A filter's bound as typed in the viewer's zone: a day, or a day and time (the browser's
    datetime-local, without an offset)."""
    if len(text) == 10:
        return date.fromisoformat(text)
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=zone(where))


@router.get("/audit", response_class=HTMLResponse)
def audit_page(request: Request, session: ReadSession, viewer: SignedIn) -> HTMLResponse:
    """Who changed what, newest first: by who, what (the kind of thing changed) and when, in the
    viewer's zone, a page at a time."""
    allowed(viewer, "audit:read")
    names = ("actor", "subject_kind", "since", "until")
    asked = {name: value for name in names if (value := request.query_params.get(name, "").strip())}
    cursor = request.query_params.get("cursor")
    here = zone(viewer.timezone)
    events: list[Any] = []
    more = problem = None
    try:
        for name, value in asked.items():
            if len(value) > 100:
                raise ValueError(f"{name}: at most 100 characters")
            refuse_nul(value)
        since = _bound(asked["since"], viewer.timezone) if "since" in asked else None
        until = _bound(asked["until"], viewer.timezone) if "until" in asked else None
        where = audit.AuditFilter(
            actor=asked.get("actor"),
            subject_kind=asked.get("subject_kind"),
            since=None if since is None else range_start(since, here),
            until=None if until is None else range_end(until, here),
        )
        events = audit.events(
            session, where, limit=AUDIT_PAGE, before_id=decode_cursor(cursor) if cursor else None
        )
    except ValueError as unreadable:
        problem = str(unreadable)
    except DomainError as refused:
        problem = refused.message
    if len(events) > AUDIT_PAGE:
        events = events[:AUDIT_PAGE]
        more = "/audit?" + urlencode({**asked, "cursor": encode_cursor(events[-1].id)})
    return render(
        request,
        "audit.html",
        viewer,
        events=events,
        asked=asked,
        more=more,
        problem=problem,
        kinds=audit.subject_kinds(session),
        people=[person.username for person in users.list_users(session)],
        role_names=ROLE_NAMES,
    )
