"""The EasyPost sandbox over HTTP: API v2 under ``/v2`` as ``docs/carriers/easypost.md`` describes it,
label files under ``/_files``, and ``/_sandbox`` for scripts (faults, tracker scans, refunds settled).

API calls need the key as the Basic username (empty password) or a Bearer token (§1); each passes the
rate limit (429) and the injected faults first. Errors carry EasyPost's ``{"error": {...}}`` body (§10).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
from typing import Any

from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict

from orderly.sandbox.easypost.store import ApiError, EasyPostStore, Faults
from orderly.sandbox.faults import answer_lost


class FaultsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    fail_next: int = 0
    fail_status: int = 500
    slow_next: int = 0
    slow_s: float = 2.0
    lose_next_buy: int = 0
    refund_status: str | None = None


class ScanIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: str
    message: str | None = None


def _key(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value:
        return value.strip()
    if scheme.lower() == "basic" and value:
        try:
            user, _, _ = base64.b64decode(value, validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return None
        return user or None
    return None


async def _json(request: Request) -> Any:
    raw = await request.body()
    if not raw:
        return None
    try:
        return await request.json()
    except ValueError as exc:
        raise ApiError(400, "BAD_REQUEST", "The request body is not valid JSON.") from exc


def create_app(store: EasyPostStore) -> Any:
    app = FastAPI(title="EasyPost sandbox", openapi_url=None, docs_url=None, redoc_url=None)
    api = APIRouter()

    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError) -> Response:
        return JSONResponse(exc.body(), exc.status, headers={"x-ep-request-uuid": "sandbox"})

    @app.middleware("http")
    async def gate(request: Request, call_next: Any) -> Response:
        if request.url.path.startswith("/v2/"):
            try:
                store.check_key(_key(request))
                stall = store.admit(request.method, request.url.path)
            except ApiError as exc:
                return JSONResponse(exc.body(), exc.status, headers={"x-ep-request-uuid": "sandbox"})
            if stall:
                await asyncio.sleep(stall)
        response: Response = await call_next(request)
        response.headers["x-ep-request-uuid"] = "sandbox"
        return response

    @api.post("/shipments", status_code=201)
    async def create_shipment(request: Request) -> Any:
        return store.create_shipment(await _json(request))

    @api.get("/shipments/{shipment_id}")
    def get_shipment(shipment_id: str) -> Any:
        return store.get_shipment(shipment_id)

    @api.post("/shipments/{shipment_id}/buy")
    async def buy(shipment_id: str, request: Request) -> Any:
        return store.buy(shipment_id, await _json(request))

    @api.post("/shipments/{shipment_id}/refund")
    def refund(shipment_id: str) -> Any:
        return store.refund(shipment_id)

    @api.post("/trackers", status_code=201)
    async def create_tracker(request: Request) -> Any:
        return store.create_tracker(await _json(request))

    @api.get("/trackers")
    def list_trackers(tracking_code: str | None = None) -> Any:
        return store.list_trackers(tracking_code)

    @api.get("/trackers/{tracker_id}")
    def get_tracker(tracker_id: str) -> Any:
        return store.get_tracker(tracker_id)

    @api.post("/webhooks", status_code=201)
    async def create_webhook(request: Request) -> Any:
        return store.create_webhook(await _json(request))

    app.include_router(api, prefix="/v2")

    @app.get("/_files/{name}")
    def label_file(name: str) -> Response:
        content = store.files.get(name.removesuffix(".pdf"))
        if content is None:
            return Response(status_code=404)
        return Response(content, media_type="application/pdf")

    @app.put("/_sandbox/faults")
    def set_faults(body: FaultsIn) -> Any:
        store.faults = Faults(**body.model_dump())
        return body

    @app.post("/_sandbox/trackers/{tracking_code}/scans")
    def scan(tracking_code: str, body: ScanIn) -> Any:
        return store.advance(tracking_code, body.status, body.message)

    @app.post("/_sandbox/shipments/{shipment_id}/settle-refund")
    def settle(shipment_id: str) -> Any:
        store.settle_refund(shipment_id)
        return store.get_shipment(shipment_id)

    async def asgi(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"].endswith("/buy") and store.lose_this_buy():
            await answer_lost(app, scope, receive, send)
            return
        await app(scope, receive, send)

    return asgi
