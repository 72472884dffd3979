"""What every HTTP endpoint shares: the request's session, token auth, strict JSON and error shapes."""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Any

import orjson
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

from orderly.auth.service import authenticate
from orderly.core.clock import DateZone, day_or_instant, zone
from orderly.core.db import transaction
from orderly.core.pagination import MAX_ID


class _StrictJSONRequest(Request):
    async def json(self) -> Any:
        # RFC 8259 JSON only: NaN, Infinity, lone surrogates and nesting past 1024 levels are refused
        # here (as invalid JSON, with the position) instead of failing later where they are stored.
        if not hasattr(self, "_json"):
            self._json = orjson.loads(await self.body())
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


class StrictJSONRoute(APIRoute):
    """Strict JSON bodies, and unknown query parameters refused with 422."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        known = frozenset(_query_names(self.dependant))

        async def strict_handler(request: Request) -> Response:
            problem = _unknown_query_parameters(request, known)
            if problem is not None:
                raise problem
            return await handler(_StrictJSONRequest(request.scope, request.receive))

        return strict_handler


def get_factory(request: Request) -> sessionmaker[Session]:
    factory: sessionmaker[Session] = request.app.state.factory
    return factory


Factory = Annotated[sessionmaker[Session], Depends(get_factory)]


def get_session(factory: Factory) -> Iterator[Session]:
    """The request's one transaction: committed if the endpoint returns, rolled back if it raises."""
    with factory() as session, session.begin():
        yield session


# scope="function" commits before the response is sent, so a failed commit is never reported as done.
DbSession = Annotated[Session, Depends(get_session, scope="function")]

_bearer = HTTPBearer(auto_error=False, description="An API token, sent as `Authorization: Bearer <token>`.")


@dataclass(frozen=True)
class Caller:
    token_id: int
    name: str  # recorded as the actor of what the request changes


def _unauthorized(message: str) -> HTTPException:
    return HTTPException(status.HTTP_401_UNAUTHORIZED, message, headers={"WWW-Authenticate": "Bearer"})


def require_token(
    factory: Factory, credentials: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)]
) -> Caller:
    if credentials is None:
        raise _unauthorized("an API token is required: send the header 'Authorization: Bearer <token>'")
    # Checked in a transaction of its own: ingest runs its own transactions, and on SQLite a request
    # transaction held open around them would wait on itself for the write lock.
    with transaction(factory) as session:
        token = authenticate(session, credentials.credentials)
        caller = Caller(token.id, token.name) if token is not None else None
    if caller is None:
        raise _unauthorized("the API token is not valid or has been revoked")
    return caller


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


def date_zone(
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
    401: "No API token, or one that is not valid or revoked.",
    404: "Something the request names does not exist.",
    409: "The request conflicts with the current state (a duplicate, a final status, too little stock).",
    422: "A field is missing or has the wrong type or value; `fields` lists every problem.",
    503: "The database does not answer.",
}


def error_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for these error statuses, all in the one error shape."""
    return {code: {"model": ErrorOut, "description": _ERRORS[code]} for code in codes}


def api_router(tag: str) -> APIRouter:
    """A context's router: strict JSON bodies, documented under ``tag``."""
    return APIRouter(tags=[tag], route_class=StrictJSONRoute)
