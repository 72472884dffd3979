"""What every HTTP endpoint shares: the request's session, token auth, strict JSON and error shapes.

The request gate (:class:`StrictJSONRoute`) has a protected route's token checked from the headers
alone (by the :class:`Gatekeeper` the app is assembled with), before a byte of the body is read, then
lets the body in only up to the route's cap (``max_body_size``, else :data:`BODY_MAX`) and within
``body_timeout_s``: an outsider cannot make the hub read, buffer or parse what it sends.
"""

from __future__ import annotations

import functools
import secrets
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Any, Protocol
from urllib.parse import parse_qsl

import anyio
from fastapi import (
    APIRouter,
    Depends,
    Header,
    HTTPException,
    Path,
    Query,
    Request,
    Response,
    Security,
    status,
)
from fastapi.dependencies.models import Dependant
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import AfterValidator, BaseModel, BeforeValidator
from sqlalchemy.orm import Session, sessionmaker
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from orderly.core import jsontext
from orderly.core.admission import Admission
from orderly.core.clock import DateZone, day_or_instant, zone
from orderly.core.pagination import MAX_ID


class _StrictJSONRequest(Request):
    async def json(self) -> Any:
        # RFC 8259 JSON only: NaN, Infinity, lone surrogates and nesting past 1024 levels are refused
        # here (as invalid JSON, with the position) instead of failing later where they are stored;
        # integers stay exact, so an id past 64 bits is refused as too large, not read as a float.
        if not hasattr(self, "_json"):
            self._json = jsontext.loads(await self.body())
        return self._json


def _query_names(dependant: Dependant) -> set[str]:
    """Every query parameter a route reads, its dependencies' included."""
    names = {param.alias for param in dependant.query_params}
    for dependency in dependant.dependencies:
        names |= _query_names(dependency)
    return names


def _unknown_query_parameters(request: Request, known: frozenset[str]) -> RequestValidationError | None:
    """A misspelt filter must not be ignored: ``?stauts=open`` would list every order."""
    unknown = sorted(set(request.query_params) - known)
    if not unknown:
        return None
    takes = f"this route takes {', '.join(sorted(known))}" if known else "this route takes none"
    return RequestValidationError(
        [
            {
                "type": "extra_forbidden",
                "loc": ("query", name),
                "msg": f"unknown query parameter; {takes}",
                "input": request.query_params[name],
            }
            for name in unknown
        ]
    )


#: The largest body an ordinary JSON route takes: its fields are a few names, notes and figures.
BODY_MAX = 1 << 20  # 1 MiB


def _too_large(limit: int) -> HTTPException:
    return HTTPException(
        status.HTTP_413_CONTENT_TOO_LARGE,
        f"the request body is larger than this route takes (at most {limit:,} bytes)",
        headers={"Connection": "close"},  # the rest of the body is not read: the connection cannot go on
    )


def _capped(receive: Receive, limit: int, timeout: float) -> Receive:
    """``receive`` that refuses a body growing past ``limit`` bytes (a chunked one has no length to
    check first) or still arriving ``timeout`` seconds after the route began to read it."""
    received = 0
    deadline: float | None = None

    async def capped() -> Message:
        nonlocal received, deadline
        if deadline is None:
            deadline = anyio.current_time() + timeout
        try:
            with anyio.fail_after(max(deadline - anyio.current_time(), 0)):
                message = await receive()
        except TimeoutError:
            raise HTTPException(
                status.HTTP_408_REQUEST_TIMEOUT,
                f"the request body did not arrive within {timeout:g} s",
                headers={"Connection": "close"},
            ) from None
        received += len(message.get("body", b""))
        if received > limit:
            raise _too_large(limit)
        return message

    return capped


def _announced_length(request: Request) -> int | None:
    value = request.headers.get("content-length", "")
    return int(value) if value.isdecimal() else None


class StrictJSONRoute(APIRoute):
    """The request gate: a protected route's token checked before the body, the body capped
    (``max_body_size``, else :data:`BODY_MAX`) and timed, strict JSON, unknown query parameters
    refused with 422."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        # The cap is kept here, not handed to FastAPI: its limiter would answer 413 in plain text, and
        # turn a 401 for a large unauthenticated body into a 413.
        limit = kwargs.pop("max_body_size", None)
        self.body_max: int = BODY_MAX if limit is None else limit
        super().__init__(path, endpoint, **kwargs)

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        known = frozenset(_query_names(self.dependant))
        # The one permission the route declares (None: public), found once its dependencies are known.
        self.permission = permission = declared_permission(self)
        protected = permission is not None or signed_in in _calls(self.dependant)
        limit = self.body_max

        async def strict_handler(request: Request) -> Response:
            if protected:
                await _admit(request, permission)
            announced = _announced_length(request)
            if announced is not None and announced > limit:
                raise _too_large(limit)
            problem = _unknown_query_parameters(request, known)
            if problem is not None:
                raise problem
            timeout = request.app.state.settings.body_timeout_s
            response = await handler(
                _StrictJSONRequest(request.scope, _capped(request.receive, limit, timeout))
            )
            return response

        return strict_handler


class AuditTrail:
    """Every change a signed-in caller made (an unsafe request answered below 400, by any route: the
    API's or a page's) recorded in the audit log as its answer starts: the route's transaction has
    committed by then (FastAPI closes it before sending), so only what was done is recorded, and the
    answer waits for the record."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in SAFE_METHODS:
            await self.app(scope, receive, send)
            return

        async def recorded(message: Message) -> None:
            viewer: Viewer | None = scope.get(_VIEWER)
            route = scope.get("route")
            if (
                message["type"] == "http.response.start"
                and message["status"] < 400
                and viewer is not None
                and route is not None
            ):
                check: Gatekeeper = scope["app"].state.tokens
                await check.audit(Request(scope), viewer, route.path, message["status"])
            await send(message)

        await self.app(scope, receive, recorded)


def _calls(dependant: Dependant) -> set[Callable[..., Any]]:
    """Every dependency a route runs, its dependencies' included."""
    found: set[Callable[..., Any]] = set()
    for dependency in dependant.dependencies:
        if dependency.call is not None:
            found.add(dependency.call)
        found |= _calls(dependency)
    return found


async def admitted(request: Request) -> AsyncIterator[None]:
    """A turn to use the database (see ``core/admission.py``), held until the response is sent."""
    admission: Admission = request.app.state.admission
    async with admission.turn():
        yield


Admitted = Depends(admitted)


# Async, as every dependency that does no I/O: a sync one would wait for a worker thread.
async def get_factory(request: Request, _: Annotated[None, Admitted]) -> sessionmaker[Session]:
    """Writing transactions, whose waits for locks are short (jobs have a factory of their own)."""
    factory: sessionmaker[Session] = request.app.state.factory
    return factory


async def get_read_factory(request: Request, _: Annotated[None, Admitted]) -> sessionmaker[Session]:
    """Reading transactions: no lock taken on SQLite, ``READ ONLY`` on PostgreSQL."""
    factory: sessionmaker[Session] = request.app.state.read_factory
    return factory


Factory = Annotated[sessionmaker[Session], Depends(get_factory)]
ReadFactory = Annotated[sessionmaker[Session], Depends(get_read_factory)]


def get_session(factory: Factory) -> Iterator[Session]:
    """The request's one transaction: committed if the endpoint returns, rolled back if it raises."""
    with factory() as session, session.begin():
        yield session


def get_read_session(factory: ReadFactory) -> Iterator[Session]:
    """The one transaction of a request that only reads (every GET): it fails if it tries to write."""
    with factory() as session, session.begin():
        yield session


# scope="function" commits before the response is sent, so a failed commit is never reported as done.
DbSession = Annotated[Session, Depends(get_session, scope="function")]


async def raw_body(request: Request) -> bytes:
    """The body as sent: a signature is checked on its bytes, before any parsing."""
    return await request.body()


RawBody = Annotated[bytes, Depends(raw_body)]
ReadSession = Annotated[Session, Depends(get_read_session, scope="function")]

_bearer = HTTPBearer(auto_error=False, description="An API token, sent as `Authorization: Bearer <token>`.")

Bearer = Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)]

#: The browser's session (``POST /api/v1/auth/sign-in``): HTTP-only, SameSite=Lax.
SESSION_COOKIE = "orderly_session"
#: Where an unsafe request authenticated by the session cookie echoes the session's CSRF token.
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"  # the same, as a form field (server-rendered forms)
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_VIEWER = "orderly.viewer"  # where the request's scope keeps who was admitted


@dataclass(frozen=True)
class Viewer:
    """Who sends a request: a signed-in user (session cookie) or an API token's holder."""

    user_id: int | None  # None: a token of no user
    name: str  # recorded as the actor of what the request changes: the username, else the token's name
    role: str
    permissions: frozenset[str]
    locale: str
    timezone: str
    csrf_token: str | None  # a session's; None for a bearer token, whose requests need none


class Gatekeeper(Protocol):
    """Who sends a request, and the record of what they changed: ``app.state.tokens``, given by the
    app's assembly (``api.py``), as core knows no context (auth implements it)."""

    async def admit(self, request: Request, token: str | None, session: str | None) -> Viewer:
        """The holder of the bearer ``token``, else of the ``session`` cookie; else an
        ``HTTPException`` (401, 429)."""
        ...

    async def audit(self, request: Request, viewer: Viewer, route: str, status_code: int) -> None:
        """Record a change ``viewer`` made through ``route`` (its path template)."""
        ...


async def _identify(request: Request, *, form: bool) -> Viewer:
    """The request's viewer, checked once per request; a session's unsafe request must carry its CSRF
    token (in the header, or where ``form`` allows it, a form field: a form's body may be read)."""
    found: Viewer | None = request.scope.get(_VIEWER)
    if found is not None:
        return found
    check: Gatekeeper = request.app.state.tokens
    credentials = await _bearer(request)
    try:
        viewer = await check.admit(
            request, credentials.credentials if credentials else None, request.cookies.get(SESSION_COOKIE)
        )
    except HTTPException as refusal:
        raise _refused(request, refusal) from None
    if viewer.csrf_token is not None and request.method not in SAFE_METHODS:
        sent = request.headers.get(CSRF_HEADER)
        if sent is None and form:
            sent = await _form_field(request, CSRF_FIELD)
        if sent is None or not secrets.compare_digest(sent.encode(), viewer.csrf_token.encode()):
            raise _refused(
                request,
                HTTPException(
                    status.HTTP_403_FORBIDDEN,
                    f"a change made with the session cookie must send the header '{CSRF_HEADER}' "
                    "with the session's csrf_token (GET /api/v1/auth/me)",
                ),
            )
    request.scope[_VIEWER] = viewer
    return viewer


class SignedInOnly:
    """Pages that are not API routes (the API docs and their assets) for signed-in callers only:
    nothing the hub serves is open without signing in but sign-in, health and signed webhooks."""

    def __init__(self, app: ASGIApp, prefixes: tuple[str, ...]) -> None:
        self.app = app
        self.prefixes = prefixes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope.get("path", "")
        if scope["type"] == "http" and any(path == p or path.startswith(f"{p}/") for p in self.prefixes):
            try:
                await _identify(Request(scope, receive), form=False)
            except HTTPException as refusal:
                refused = JSONResponse(
                    {"error": {"message": refusal.detail, "field": None}},
                    status_code=refusal.status_code,
                    headers=refusal.headers,
                )
                await refused(scope, receive, send)
                return
        await self.app(scope, receive, send)


#: The largest form whose CSRF field is looked for: the console's forms are a few short fields.
FORM_MAX = 64 << 10


async def _form_field(request: Request, name: str) -> str | None:
    """A field of a URL-encoded form (read without a multipart parser; the body stays readable by the
    route, which gets this same request)."""
    if not request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        return None
    announced = _announced_length(request)
    if announced is not None and announced > FORM_MAX:
        raise _too_large(FORM_MAX)
    body = await request.body()
    if len(body) > FORM_MAX:
        raise _too_large(FORM_MAX)
    return dict(parse_qsl(body.decode("utf-8", "replace"))).get(name)


def _allow(viewer: Viewer, permission: str) -> None:
    if permission not in viewer.permissions:
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            f"this needs the permission '{permission}', which the role '{viewer.role}' lacks",
        )


async def _admit(request: Request, permission: str | None) -> Viewer:
    """The gate of a protected API route: who, before a byte of the body is read, and whether they
    may (a JSON API: the CSRF token comes in the header)."""
    viewer = await _identify(request, form=False)
    if permission is not None:
        try:
            _allow(viewer, permission)
        except HTTPException as refusal:
            raise _refused(request, refusal) from None
    return viewer


def _refused(request: Request, error: HTTPException) -> HTTPException:
    """A refusal sent before the body is read closes the connection, so the body is never read at all."""
    if _announced_length(request) or "chunked" in request.headers.get("transfer-encoding", ""):
        error.headers = {**(error.headers or {}), "Connection": "close"}
    return error


async def signed_in(request: Request) -> Viewer:
    """Whoever is signed in (session cookie) or sends a live bearer token; 401 otherwise, 403 for a
    session's change without its CSRF token (header or form field)."""
    return await _identify(request, form=True)


SignedIn = Annotated[Viewer, Depends(signed_in)]


class _Requirement:
    """A route's one permission (``require``), found by the request gate among its dependencies."""

    def __init__(self, permission: str) -> None:
        self.permission = permission

    # The bearer credentials are the gate's; named here so the OpenAPI documents how to send them.
    async def __call__(self, request: Request, _: Bearer) -> Viewer:
        viewer = await signed_in(request)
        _allow(viewer, self.permission)
        return viewer

    def __repr__(self) -> str:
        return f"require({self.permission!r})"


class _Area(_Requirement):
    """A router's default: ``area:read`` for GET and HEAD, ``area:write`` (``area:admin``) for the rest."""

    def __init__(self, area: str, *, admin: bool) -> None:
        super().__init__(area)
        self.admin = admin

    async def __call__(self, request: Request, _: Bearer) -> Viewer:
        viewer = await signed_in(request)
        route = request.scope.get("route")
        _allow(viewer, getattr(route, "permission", None) or self.of(request.method))
        return viewer

    def of(self, method: str) -> str:
        if self.admin:
            return f"{self.permission}:admin"
        return f"{self.permission}:read" if method in {"GET", "HEAD"} else f"{self.permission}:write"


@functools.cache
def require(permission: str) -> _Requirement:
    """A dependency admitting only a viewer holding ``permission`` (403 otherwise); the route's one
    permission when given in its ``dependencies`` (``Depends(require("holds:write"))``)."""
    return _Requirement(permission)


def declared_permission(route: APIRoute) -> str | None:
    """The one permission a route declares: the ``require`` in its dependencies, else its router's
    area's for its method; None for a public route."""
    found = {call for call in _calls(route.dependant) if isinstance(call, _Requirement)}
    named = {call.permission for call in found if not isinstance(call, _Area)}
    if len(named) > 1:
        raise TypeError(f"{route.path} declares several permissions: {sorted(named)}; a route has one")
    if named:
        return named.pop()
    areas = [call for call in found if isinstance(call, _Area)]
    if not areas:
        return None
    methods = route.methods or {"GET"}
    permissions = {areas[0].of(method) for method in methods - {"HEAD"}}
    if len(permissions) != 1:
        raise TypeError(f"{route.path}: one route for reading and writing; give it one permission")
    return permissions.pop()


#: Kept for endpoints that name their caller: whoever the route's gate admitted.
Authenticated = SignedIn

Limit = Annotated[int, Query(ge=1, le=500, description="items per page")]
Cursor = Annotated[
    str | None, Query(max_length=100, description="`next_cursor` of the previous page; omit for the first")
]


#: A filter bound: a plain date, read in the viewer's zone (see :class:`DateZone`), or an aware time.
DayOrTime = Annotated[
    date | datetime,
    BeforeValidator(lambda value: day_or_instant(value) if isinstance(value, str) else value),
    Query(
        description="a date (2026-12-01: that day in the time zone `tz`) or a time with offset",
        examples=["2026-12-01", "2026-12-01T09:00:00+01:00"],
    ),
]


def _zone_name(name: str | None) -> str | None:
    if name is not None:
        zone(name)
    return name


async def date_zone(
    request: Request,
    tz: Annotated[
        str | None,
        AfterValidator(_zone_name),
        Query(
            max_length=64,
            description="time zone for plain dates in filters (IANA name, e.g. Europe/Berlin); default: "
            "the `X-Timezone` header, then the shop's zone when one shop is asked for, then the hub's",
        ),
    ] = None,
    x_timezone: Annotated[str | None, AfterValidator(_zone_name), Header(max_length=64)] = None,
) -> DateZone:
    named = tz or x_timezone
    return DateZone(zone(named) if named else None, request.app.state.settings.timezone)


DateZoneOf = Annotated[DateZone, Depends(date_zone)]


def id_path(what: str) -> Any:
    return Path(ge=1, le=MAX_ID, description=f"the {what}'s id")


class FieldProblem(BaseModel):
    field: str
    message: str


class ErrorDetail(BaseModel):
    message: str
    field: str | None = None
    fields: list[FieldProblem] | None = None


class StatusOut(BaseModel):
    """The answer to a request whose work goes on in the background."""

    status: str


class ErrorOut(BaseModel):
    error: ErrorDetail


_ERRORS: dict[int, str] = {
    400: "The request is refused: the body is not valid JSON, or the domain rejects it.",
    401: "Not signed in: no session cookie or API token, or one that is not valid, revoked or expired.",
    403: "The caller's role lacks the permission the route needs, or a change made with the session "
    "cookie lacks its CSRF token.",
    404: "Something the request names does not exist.",
    408: "The request body did not arrive in time (`ORDERLY_BODY_TIMEOUT_S`).",
    409: "The request conflicts with the current state (a duplicate, a final status, too little stock).",
    413: "The request body is larger than the route takes.",
    422: "A field is missing or has the wrong type or value; `fields` lists every problem.",
    429: "Too many failed sign-ins or tokens from this address (or for this username): try again after "
    "`Retry-After` s.",
    502: "A carrier or platform the hub asked on the request's behalf failed or did not answer.",
    503: "The hub is busy or the database does not answer: try again after `Retry-After` seconds.",
}


def error_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for these error statuses, all in the one error shape."""
    return {code: {"model": ErrorOut, "description": _ERRORS[code]} for code in codes}


def api_router(tag: str, *, area: str | None = None, public: bool = False, admin: bool = False) -> APIRouter:
    """A context's router: every route needs a signed-in caller holding the permission of ``area``
    (``area:read`` for GET, ``area:write`` for the rest; ``area:admin`` for all if ``admin``) unless
    the route names its own (``require``) or the router is ``public``; strict JSON bodies, documented
    under ``tag``."""
    dependencies = [] if public else [Depends(_Area(area or tag, admin=admin))]
    return APIRouter(tags=[tag], route_class=StrictJSONRoute, dependencies=dependencies)
