"""The MyDHL API sandbox over HTTP, under ``/mydhlapi/test`` as ``docs/carriers/dhl-express.md``
describes it, and ``/_sandbox`` for scripts (faults, checkpoints).

Calls need Basic auth with the sandbox's key and secret; each echoes ``Message-Reference`` (or makes
one) with an ``Invocation-Id``, passes the rate limit and the injected faults, and errors carry DHL's
problem body as ``application/problem+json`` (§8).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import uuid
from typing import Any

from fastapi import APIRouter, FastAPI, Query, Request, Response
from pydantic import BaseModel, ConfigDict

from orderly.sandbox.dhl_express.store import DhlStore, Faults, ProblemError
from orderly.sandbox.faults import answer_lost

PREFIX = "/mydhlapi/test"


class FaultsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    fail_next: int = 0
    fail_status: int = 500
    slow_next: int = 0
    slow_s: float = 2.0
    lose_next_shipment: int = 0


class ScanIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    typeCode: str  # noqa: N815 - DHL's spelling
    place: str = "MADRID-ES"


def _problem(exc: ProblemError, reference: str) -> Response:
    return Response(
        json.dumps(exc.body()),
        exc.status,
        media_type="application/problem+json",
        headers={"Message-Reference": reference, "Invocation-Id": str(uuid.uuid4())},
    )


def _basic(request: Request) -> tuple[str | None, str | None]:
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return None, None
    try:
        user, _, password = base64.b64decode(value, validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None, None
    return user, password


async def _json(request: Request) -> Any:
    try:
        return await request.json()
    except ValueError:
        return None


def create_app(store: DhlStore) -> Any:
    app = FastAPI(title="MyDHL API sandbox", openapi_url=None, docs_url=None, redoc_url=None)
    api = APIRouter()

    @app.middleware("http")
    async def gate(request: Request, call_next: Any) -> Response:
        reference = request.headers.get("Message-Reference") or str(uuid.uuid4())
        if request.url.path.startswith(PREFIX):
            instance = "/expressapi" + request.url.path.removeprefix(PREFIX)
            try:
                store.check_auth(*_basic(request), instance)
                stall = store.admit(request.method, request.url.path, instance)
            except ProblemError as exc:
                return _problem(exc, reference)
            if stall:
                await asyncio.sleep(stall)
            try:
                response: Response = await call_next(request)
            except ProblemError as exc:
                return _problem(exc, reference)
        else:
            response = await call_next(request)
        response.headers["Message-Reference"] = reference
        response.headers["Invocation-Id"] = str(uuid.uuid4())
        return response

    @app.exception_handler(ProblemError)
    async def problem(request: Request, exc: ProblemError) -> Response:
        return _problem(exc, request.headers.get("Message-Reference") or str(uuid.uuid4()))

    @api.post("/rates")
    async def rates(request: Request) -> Any:
        return store.rates(await _json(request))

    @api.post("/shipments", status_code=201)
    async def shipments(request: Request, response: Response) -> Any:
        created = store.create_shipment(await _json(request))
        response.headers["Location"] = f"/shipments/{created['shipmentTrackingNumber']}"
        return created

    @api.get("/shipments/{number}/tracking")
    def track_one(number: str) -> Any:
        return store.tracking([number], None, None, f"/expressapi/shipments/{number}/tracking")

    @api.get("/tracking")
    def track_many(
        shipmentTrackingNumber: list[str] = Query(default=[]),  # noqa: N803 - DHL's spelling
        shipmentReference: str | None = None,  # noqa: N803
        shipperAccountNumber: str | None = None,  # noqa: N803
    ) -> Any:
        return store.tracking(
            shipmentTrackingNumber, shipmentReference, shipperAccountNumber, "/expressapi/tracking"
        )

    @api.delete("/pickups/{number}")
    def cancel_pickup(number: str, requestorName: str | None = None, reason: str | None = None) -> Any:  # noqa: N803
        return store.cancel_pickup(number, requestorName, reason)

    app.include_router(api, prefix=PREFIX)

    @app.put("/_sandbox/faults")
    def set_faults(body: FaultsIn) -> Any:
        store.faults = Faults(**body.model_dump())
        return body

    @app.post("/_sandbox/shipments/{number}/scans")
    def scan(number: str, body: ScanIn) -> Any:
        store.scan(number, body.typeCode, body.place)
        return {"ok": True}

    async def asgi(scope: Any, receive: Any, send: Any) -> None:
        if (
            scope["type"] == "http"
            and scope["method"] == "POST"
            and scope["path"] == f"{PREFIX}/shipments"
            and store.lose_this_shipment()
        ):
            await answer_lost(app, scope, receive, send)
            return
        await app(scope, receive, send)

    return asgi
