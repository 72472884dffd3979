"""The REST API: ``/api/v1``, for those signed in (a session cookie or an API token) but for sign-in, the
health check and signed webhooks; each route needs one permission of the caller's role
(``auth/domain.py``). Docs at ``/docs`` and ``/redoc`` (signed in too), served with their assets from
this process (nothing is loaded from outside); the web console (``console/``) at ``/``.

Every error has one shape, ``{"error": {"message": ..., "field": ...}}`` (validation errors, and
refusals that can name several problems, add ``fields``, every problem found), so clients and people
read failures the same way everywhere.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, HTTPException, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi_offline import FastAPIOffline
from pydantic import BaseModel, TypeAdapter
from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import Session, sessionmaker
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.staticfiles import StaticFiles

from orderly import __version__
from orderly.alerts.endpoints import router as alerts_router
from orderly.auth.endpoints import account as account_router
from orderly.auth.endpoints import audit_log as audit_router
from orderly.auth.endpoints import router as auth_router
from orderly.auth.endpoints import sign_in_router
from orderly.auth.endpoints import users as users_router
from orderly.auth.gate import TokenGate
from orderly.catalog.endpoints import router as catalog_router
from orderly.channels.endpoints import router as channels_router
from orderly.channels.endpoints import webhooks as webhooks_router
from orderly.channels.secrets import key_for
from orderly.console import STATIC
from orderly.console.pages import router as console_router
from orderly.console.pages.common import not_for_role, nowhere
from orderly.console.viewer import NotForRole
from orderly.core.admission import (
    IN_FLIGHT_PER_TURN,
    RETRY_AFTER,
    Admission,
    Shedding,
    busy,
    sizes,
    use_threads,
)
from orderly.core.config import Settings, get_settings
from orderly.core.db import engine_of, is_lock_timeout, make_engine, make_session_factory
from orderly.core.errors import DomainError, field_path
from orderly.core.health import DatabaseCheck
from orderly.core.web import AuditTrail, Gatekeeper, SignedInOnly, api_router, error_responses
from orderly.fulfilment.carriers.endpoints import router as carriers_router
from orderly.fulfilment.carriers.endpoints import webhooks as carrier_webhooks_router
from orderly.fulfilment.endpoints import router as fulfilment_router
from orderly.imports.endpoints import router as imports_router
from orderly.inventory.endpoints import router as inventory_router
from orderly.jobs.endpoints import router as jobs_router
from orderly.jobs.worker import start_workers
from orderly.orders.endpoints import router as orders_router
from orderly.orders.schemas import NormalizedOrder
from orderly.review.endpoints import router as review_router

API_PREFIX = "/api/v1"
DOCS_PREFIXES = ("/docs", "/redoc", "/openapi.json", "/static-offline-docs")

health_router = api_router("health", public=True)


class HealthOut(BaseModel):
    status: str


@health_router.get("/health", response_model=HealthOut)
async def health(request: Request) -> HealthOut:
    """Up, and the database answers. Needs no token, for load balancers and monitors; answers within
    about a second however busy the hub is (it waits for no request, thread, pool or lock)."""
    check: DatabaseCheck = request.app.state.health
    if not await check.answers():
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            "the database does not answer",
            headers={"Retry-After": str(RETRY_AFTER)},
        )
    return HealthOut(status="ok")


def create_app(
    settings: Settings | None = None,
    *,
    factory: sessionmaker[Session] | None = None,
    workers: int | None = None,
) -> FastAPI:
    """The app on ``factory``, or on a new engine for ``settings`` (the environment's by default).

    The hub as served (no ``factory`` given) runs ``settings.workers`` job workers in its own process
    for as long as it runs; an app on a caller's factory runs none unless asked.
    """
    settings = settings or get_settings()
    owned: Engine | None = None
    count = (settings.workers if factory is None else 0) if workers is None else workers
    limits = sizes(settings.request_concurrency, count)
    if factory is None:
        key_for(settings)  # the hub as served refuses to run where stored credentials could not be read
        owned = make_engine(
            settings.resolved_database_url(),
            pool_size=limits.pool_size,
            max_overflow=limits.max_overflow,
            pool_timeout=settings.request_wait_s,
        )
        factory = make_session_factory(owned)
    jobs_factory = factory
    engine = engine_of(factory)
    check = DatabaseCheck(engine.url)

    @asynccontextmanager
    async def lifespan(served: FastAPI) -> AsyncIterator[None]:
        use_threads(limits.threads)
        stop = start_workers(jobs_factory, count, settings) if count else None
        yield
        if stop is not None:
            stop()
        check.close()
        served.state.tokens.close()  # waits for the last uses being written
        if owned is not None:  # an engine passed in belongs to the caller
            owned.dispose()

    # The docs pages load Swagger UI and ReDoc from files shipped in a package, never from a CDN, so they
    # work on a machine without internet; the validator badge would call out to swagger.io, so it is off.
    app = FastAPIOffline(
        title="Orderly",
        version=__version__,
        description="One order and inventory hub for sellers on many shops at once.",
        docs_url="/docs",
        redoc_url="/redoc",
        openapi_url="/openapi.json",
        swagger_ui_parameters={"validatorUrl": None},
        lifespan=lifespan,
    )
    # Requests share the jobs' pool but wait for locks only briefly: a busy hub answers 503 at once.
    app.state.factory = make_session_factory(engine, lock_wait=settings.request_lock_wait_s)
    app.state.read_factory = make_session_factory(engine, read_only=True)
    app.state.admission = Admission(settings.request_concurrency, settings.request_wait_s)
    app.state.health = check
    # The request gate's check of who calls (core knows no context, so it is handed auth's here). Tokens
    # and sessions are looked up without the write lock; a use is recorded in the background, given up
    # (and recorded a minute later) when the database is busy.
    # The audit log is written with the jobs' patience, after the change it records has committed.
    tokens: Gatekeeper = TokenGate(app.state.read_factory, app.state.factory, audit=jobs_factory)
    app.state.tokens = tokens
    app.state.settings = settings
    app.include_router(health_router, prefix=API_PREFIX, responses=error_responses(503))
    app.include_router(sign_in_router, prefix=API_PREFIX, responses=error_responses(400, 422, 429, 503))
    for hooks in (webhooks_router, carrier_webhooks_router):
        app.include_router(
            hooks, prefix=API_PREFIX, responses=error_responses(400, 401, 404, 408, 409, 413, 422, 503)
        )
    for router in (
        orders_router,
        fulfilment_router,
        carriers_router,
        review_router,
        inventory_router,
        catalog_router,
        imports_router,
        channels_router,
        jobs_router,
        alerts_router,
        auth_router,
        account_router,
        users_router,
        audit_router,
    ):
        app.include_router(
            router,
            prefix=API_PREFIX,
            responses=error_responses(400, 401, 403, 404, 408, 409, 413, 422, 429, 503),
        )
    # The web console: its pages at /, its assets (shipped in the package) at /static/.
    app.include_router(console_router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    _document_normalized_order(app)
    app.add_exception_handler(DomainError, _domain_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(NotForRole, not_for_role)  # a console page refused: a page, not JSON
    app.add_middleware(AuditTrail)
    # The docs describe every route: like every page, they are for those signed in.
    app.add_middleware(SignedInOnly, prefixes=DOCS_PREFIXES)
    app.add_middleware(
        Shedding,
        prefix=API_PREFIX,
        exempt=frozenset({f"{API_PREFIX}/health"}),
        limit=settings.request_concurrency * IN_FLIGHT_PER_TURN,
    )
    app.add_exception_handler(OperationalError, _database_busy)
    app.add_exception_handler(PoolTimeout, _database_busy)
    return app


def _document_normalized_order(app: FastAPI) -> None:
    """Ingest takes each order as a plain object, so that one bad order cannot fail the batch; the
    spec still describes what an order must look like, under ``NormalizedOrder``."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            spec = generate()
            order = TypeAdapter(NormalizedOrder).json_schema(ref_template="#/components/schemas/{model}")
            schemas = spec.setdefault("components", {}).setdefault("schemas", {})
            schemas.update(order.pop("$defs", {}))
            schemas["NormalizedOrder"] = order
        return app.openapi_schema or {}

    app.openapi = openapi  # type: ignore[method-assign]


def _error(status_code: int, message: str, field: str | None = None, **extra: Any) -> JSONResponse:
    return JSONResponse({"error": {"message": message, "field": field, **extra}}, status_code=status_code)


async def _domain_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DomainError)
    return _error(exc.http_status, exc.message, exc.field, **({"fields": exc.errors} if exc.errors else {}))


async def _database_busy(request: Request, exc: Exception) -> Response:
    """A lock or a connection not had in time: the hub is busy, not broken. Other database errors
    stay server errors."""
    if not (isinstance(exc, PoolTimeout) or is_lock_timeout(exc)):
        raise exc
    return await _http_error(request, busy("the database is busy"))


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    if (
        exc.status_code == status.HTTP_404_NOT_FOUND
        and (page := await nowhere(request, status.HTTP_404_NOT_FOUND)) is not None
    ):
        return page  # a console address leading nowhere: a page saying so
    response = _error(exc.status_code, str(exc.detail))
    response.headers.update(exc.headers or {})
    return response


def request_field(loc: Sequence[int | str]) -> str:
    """``("body", "lines", 0, "quantity")`` -> ``lines[0].quantity``; where it was sent is dropped."""
    return field_path(
        loc[1:] if len(loc) > 1 and loc[0] in {"body", "query", "path", "header", "cookie"} else loc
    )


async def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    if (page := await nowhere(request, status.HTTP_422_UNPROCESSABLE_CONTENT)) is not None:
        return page  # a console page's id that cannot be read: no page there
    errors = exc.errors()
    first = errors[0]
    if first["type"] == "json_invalid":
        doc, pos = str(exc.body), int(first["loc"][-1])
        line, column = doc.count("\n", 0, pos) + 1, pos - doc.rfind("\n", 0, pos)
        reason = first.get("ctx", {}).get("error", "malformed")
        return _error(
            status.HTTP_400_BAD_REQUEST,
            f"the request body is not valid JSON: {reason} at line {line}, column {column}",
            "body",
        )
    fields = [
        {"field": request_field(e["loc"]), "message": str(e["msg"]).removeprefix("Value error, ")}
        for e in errors
    ]
    return _error(
        status.HTTP_422_UNPROCESSABLE_CONTENT,
        f"{fields[0]['field']}: {fields[0]['message']}",
        fields[0]["field"],
        fields=fields,
    )
