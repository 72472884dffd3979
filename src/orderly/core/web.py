"""What every HTTP endpoint shares: the request's session, token auth, strict JSON and error shapes.

The request gate (:class:`StrictJSONRoute`) has a protected route's token checked from the headers
alone (by the :class:`TokenCheck` the app is assembled with), before a byte of the body is read, then
lets the body in only up to the route's cap (``max_body_size``, else :data:`BODY_MAX`) and within
``body_timeout_s``: an outsider cannot make the hub read, buffer or parse what it sends.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Any, Protocol

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
from starlette.types import Message, Receive

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
        calls = _calls(self.dependant)
        admin = require_admin in calls
        protected = admin or require_token in calls
        limit = self.body_max

        async def strict_handler(request: Request) -> Response:
            if protected:
                await _admit(request, admin=admin)
            announced = _announced_length(request)
            if announced is not None and announced > limit:
                raise _too_large(limit)
            problem = _unknown_query_parameters(request, known)
            if problem is not None:
                raise problem
            timeout = request.app.state.settings.body_timeout_s
            return await handler(_StrictJSONRequest(request.scope, _capped(request.receive, limit, timeout)))

        return strict_handler


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


@dataclass(frozen=True)
class Caller:
    token_id: int
    name: str  # recorded as the actor of what the request changes


class TokenCheck(Protocol):
    """Who sends a request: ``app.state.tokens``, given by the app's assembly (``api.py``), as core
    knows no context (auth implements it)."""

    async def admit(self, request: Request, token: str | None, *, admin: bool) -> Caller:
        """The holder of ``token`` if it may make ``request`` (an admin's, if ``admin``); else an
        ``HTTPException`` (401, 403, 429)."""
        ...


async def _admit(request: Request, *, admin: bool = False) -> Caller:
    check: TokenCheck = request.app.state.tokens
    credentials = await _bearer(request)
    try:
        return await check.admit(request, credentials.credentials if credentials else None, admin=admin)
    except HTTPException as refusal:
        raise _refused(request, refusal) from None


def _refused(request: Request, error: HTTPException) -> HTTPException:
    """A refusal sent before the body is read closes the connection, so the body is never read at all."""
    if _announced_length(request) or "chunked" in request.headers.get("transfer-encoding", ""):
        error.headers = {**(error.headers or {}), "Connection": "close"}
    return error


async def require_token(
    request: Request, _: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)]
) -> Caller:
    """A live token with the scope the method needs (read: GET and HEAD; write: the rest); checked by
    the route's gate before the body is read (``Security`` documents it)."""
    return await _admit(request)


async def require_admin(request: Request) -> Caller:
    """A live token with the admin scope, for routes that manage tokens or shops."""
    return await _admit(request, admin=True)


Authenticated = Annotated[Caller, Depends(require_token)]

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
    401: "No API token, or one that is not valid, revoked or expired.",
    403: "The token lacks the scope the request needs (read: GET; write: changes; admin: tokens, shops).",
    404: "Something the request names does not exist.",
    408: "The request body did not arrive in time (`ORDERLY_BODY_TIMEOUT_S`).",
    409: "The request conflicts with the current state (a duplicate, a final status, too little stock).",
    413: "The request body is larger than the route takes.",
    422: "A field is missing or has the wrong type or value; `fields` lists every problem.",
    429: "Too many requests without a valid token from this address: try again after `Retry-After` s.",
    502: "A carrier or platform the hub asked on the request's behalf failed or did not answer.",
    503: "The hub is busy or the database does not answer: try again after `Retry-After` seconds.",
}


def error_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for these error statuses, all in the one error shape."""
    return {code: {"model": ErrorOut, "description": _ERRORS[code]} for code in codes}


def api_router(tag: str, *, public: bool = False, admin: bool = False) -> APIRouter:
    """A context's router: every route needs a token unless ``public`` (an admin token if ``admin``);
    strict JSON bodies, documented under ``tag``."""
    dependencies = [] if public else [Depends(require_token)]
    if admin:
        dependencies.append(Depends(require_admin))
    return APIRouter(tags=[tag], route_class=StrictJSONRoute, dependencies=dependencies)
