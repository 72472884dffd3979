"""The sandbox over HTTP: Shopee Open Platform v2's paths under ``/api/v2`` for one shop, and
``/_sandbox`` for scripts in other processes (demos, benchmarks) to drive the store.

Every ``/api/v2`` call carries the common parameters in its query string and is signed (contract
§1-2); it answers Shopee's envelope ``{"request_id", "error", "message", "response"}``. A throttled
call gets HTTP 429 with the envelope (UNCONFIRMED: the contract found no published limit nor its
error code).
"""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from orderly.sandbox.shopee.store import ApiError, ShopeeStore

PUBLIC = frozenset({"/api/v2/auth/token/get", "/api/v2/auth/access_token/get"})
THROTTLED = "error_too_many_request"  # UNCONFIRMED: Shopee's throttling error code


def envelope(response: Any = None, *, error: str = "", message: str = "", status: int = 200) -> Response:
    body: dict[str, Any] = {"request_id": uuid.uuid4().hex, "error": error, "message": message}
    if response is not None:
        body["response"] = response
    return JSONResponse(body, status)


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ModelIn(_In):
    sku: str = Field(min_length=1)
    stock: int = Field(default=0, ge=0)
    price: str = "10.00"
    variations: bool = True


class OrderIn(_In):
    lines: list[tuple[str, int]] = Field(min_length=1)
    status: str = "READY_TO_SHIP"
    message_to_seller: str = ""
    fulfilled_by_shopee: bool = False
    channel_kind: str = "dropoff"


class StatusIn(_In):
    status: str
    cancel_reason: str = ""


class PushTarget(_In):
    url: str | None


def create_app(store: ShopeeStore) -> FastAPI:
    app = FastAPI(title="Shopee sandbox", openapi_url=None, docs_url=None, redoc_url=None)
    app.include_router(_platform(store), prefix="/api/v2")
    app.include_router(_scripting(store), prefix="/_sandbox")

    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError) -> Response:
        return envelope(error=exc.error, message=exc.message, status=exc.status)

    @app.middleware("http")
    async def gate(request: Request, call_next: Any) -> Response:
        path = request.url.path
        if not path.startswith("/api/v2/"):
            response: Response = await call_next(request)
            return response
        status, delay = store.admit()
        if status == 429:
            return envelope(error=THROTTLED, message="Too many requests, please retry later.", status=429)
        if status is not None:
            return JSONResponse({"error": "error_server", "message": "Internal Server Error"}, status)
        try:
            store.check_call(path, request.query_params, public=path in PUBLIC)
        except ApiError as exc:
            return envelope(error=exc.error, message=exc.message, status=exc.status)
        if delay:
            await asyncio.sleep(delay)
        response = await call_next(request)
        return response

    return app


async def _json(request: Request) -> dict[str, Any]:
    try:
        body = json.loads(await request.body())
    except ValueError as exc:
        raise ApiError("error_param", "The request body is not JSON.") from exc
    if not isinstance(body, dict):
        raise ApiError("error_param", "The request body is not a JSON object.")
    return body


def _platform(store: ShopeeStore) -> APIRouter:
    api = APIRouter()

    @api.post("/auth/token/get")
    async def token_get(request: Request) -> Response:
        return JSONResponse({"request_id": uuid.uuid4().hex, "error": "", "message": "",
                             **store.token_get(await _json(request))})  # fmt: skip

    @api.post("/auth/access_token/get")
    async def access_token_get(request: Request) -> Response:
        return JSONResponse({"request_id": uuid.uuid4().hex, "error": "", "message": "",
                             **store.access_token_get(await _json(request))})  # fmt: skip

    @api.get("/order/get_order_list")
    def order_list(request: Request) -> Response:
        return envelope(store.list_orders(request.query_params))

    @api.get("/order/get_order_detail")
    def order_detail(request: Request) -> Response:
        answer = envelope(store.order_details(request.query_params))
        if store.take_malformed():
            return Response(b"{\n" + answer.body, media_type="application/json")
        return answer

    @api.get("/returns/get_return_list")
    def return_list(request: Request) -> Response:
        return envelope(store.list_returns(request.query_params))

    @api.post("/product/update_stock")
    async def update_stock(request: Request) -> Response:
        return envelope(store.update_stock(await _json(request)))

    @api.get("/logistics/get_shipping_parameter")
    def shipping_parameter(request: Request) -> Response:
        return envelope(store.shipping_parameter(request.query_params.get("order_sn", "")))

    @api.post("/logistics/ship_order")
    async def ship_order(request: Request) -> Response:
        body = await _json(request)
        await asyncio.to_thread(store.ship_order, body)  # it pushes: never from the event loop
        return envelope()

    @api.get("/logistics/get_tracking_number")
    def tracking_number(request: Request) -> Response:
        return envelope(store.tracking_number(request.query_params.get("order_sn", "")))

    @api.post("/logistics/create_shipping_document")
    async def create_document(request: Request) -> Response:
        return envelope(store.create_document(await _json(request)))

    @api.post("/logistics/get_shipping_document_result")
    async def document_result(request: Request) -> Response:
        return envelope(store.document_result(await _json(request)))

    @api.post("/logistics/download_shipping_document")
    async def download_document(request: Request) -> Response:
        return Response(store.document(await _json(request)), media_type="application/pdf")

    return api


def _scripting(store: ShopeeStore) -> APIRouter:
    api = APIRouter()

    @api.get("/shop")
    def shop() -> dict[str, Any]:
        return {
            "partner_id": store.partner_id,
            "partner_key": store.partner_key,
            "shop_id": store.shop_id,
            "access_token": store.access_token,
            "refresh_token": store.refresh_token,
            "access_expires_at": store.access_expires_at,
        }

    @api.post("/models")
    def add_model(data: ModelIn) -> dict[str, int]:
        item_id, model_id = store.add_model(
            data.sku, stock=data.stock, price=data.price, variations=data.variations
        )
        return {"item_id": item_id, "model_id": model_id}

    @api.get("/stock/{item_id}/{model_id}")
    def stock(item_id: int, model_id: int) -> dict[str, int]:
        return {"stock": store.stock(item_id, model_id)}

    @api.post("/orders")
    def place(data: OrderIn) -> dict[str, str]:
        try:
            sn = store.place_order(
                data.lines,
                status=data.status,
                message_to_seller=data.message_to_seller,
                fulfilled_by_shopee=data.fulfilled_by_shopee,
                channel_kind=data.channel_kind,
            )
        except (ValueError, StopIteration) as exc:
            raise ApiError("error_param", str(exc) or "unknown sku") from exc
        return {"order_sn": sn}

    @api.post("/orders/{order_sn}/status")
    def set_status(order_sn: str, data: StatusIn) -> dict[str, str]:
        store.set_status(order_sn, data.status, cancel_reason=data.cancel_reason)
        return {"order_sn": order_sn}

    @api.put("/push")
    def push_target(data: PushTarget) -> dict[str, str | None]:
        store.push_url = data.url
        return {"url": data.url}

    return api
