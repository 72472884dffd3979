"""The HTTP face of :class:`AmazonStore`: LWA, Tokens 2021-03-01, Orders v0, Listings Items 2021-08-01,
and ``/_sandbox``.

Every SP-API call goes through the same gate, in this order: an injected fault (429, 500 or a delay),
the ``x-amz-access-token`` check (403: an LWA access token, or a Restricted Data Token naming the
resource), the operation's token bucket (429), then the store. getOrders and getOrder show the buyer's
name and email and the street, name and phone of the address only to a call carrying an RDT for them.
Responses carry ``x-amzn-RequestId`` and ``x-amzn-RateLimit-Limit``; no ``Retry-After``, which the
models do not document.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Callable
from dataclasses import asdict
from typing import Any
from urllib.parse import parse_qsl

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from orderly.channels.connector import RateLimit
from orderly.core.errors import field_path
from orderly.sandbox.amazon.store import (
    INTERNAL_FAILURE,
    NOT_FOUND,
    QUOTA_EXCEEDED,
    AmazonStore,
    Faults,
    Line,
    SandboxError,
    error_body,
)
from orderly.sandbox.amazon.store import Response as StoreResponse

# What a truncated getOrders page looks like on the wire: a 200 whose JSON stops mid-object.
_MALFORMED = b'{"payload": {"Orders": [{"AmazonOrderId": "902-'


class ListingIn(BaseModel):
    sku: str = Field(min_length=1)
    asin: str | None = None
    title: str | None = None
    price: str = "19.99"
    fulfillment_channel: str = Field(default="DEFAULT", pattern=r"^(DEFAULT|AMAZON_[A-Z]{2})$")


class LineIn(BaseModel):
    sku: str
    quantity: int = Field(ge=1)
    price: str | None = None
    tax: str = "0"
    discount: str = "0"
    shipping: str = "0"


class OrderIn(BaseModel):
    lines: list[LineIn] = Field(min_length=1)
    paid: bool = False
    order_id: str | None = None
    address: dict[str, str] | None = None
    buyer_name: str | None = None
    buyer_email: str | None = None
    prime: bool = False


class UpdateIn(BaseModel):
    address: dict[str, str] | None = None
    buyer_name: str | None = None
    buyer_email: str | None = None


class CancelRequestIn(BaseModel):
    reason: str = "Found cheaper somewhere else."


class ConfigIn(BaseModel):
    rates: dict[str, RateLimit] | None = None
    token_lifetime: int | None = Field(default=None, ge=1)
    before_lag_seconds: float | None = Field(default=None, ge=0)
    items_page_size: int | None = Field(default=None, ge=1, le=100)


def _json(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    return JSONResponse(body, status_code=status, headers=headers)


def _body(raw: bytes) -> Any:
    """The request's JSON, or None when it is not JSON (the store then answers 400)."""
    try:
        return json.loads(raw)
    except ValueError:
        return None


def create_app(store: AmazonStore) -> FastAPI:
    app = FastAPI(title="Amazon SP-API sandbox", docs_url=None, redoc_url=None)

    # Every refusal, of an SP-API call or a scripted move, in the SP-API's ErrorList: a client library
    # reads a body without "errors" as a success, whatever the status.
    @app.exception_handler(SandboxError)
    async def _refused(_: Request, exc: SandboxError) -> Response:
        return _json(409, error_body("Conflict", "The request conflicts with the current state.", str(exc)))

    @app.exception_handler(KeyError)
    async def _unknown(_: Request, exc: KeyError) -> Response:
        return _json(404, error_body("NotFound", NOT_FOUND, exc.args[0] if exc.args else ""))

    @app.exception_handler(StarletteHTTPException)
    async def _no_route(request: Request, exc: StarletteHTTPException) -> Response:
        # UNCONFIRMED: the code Amazon gives an unknown path or method; the envelope is the ErrorList.
        code = {404: "NotFound", 405: "MethodNotAllowed"}.get(exc.status_code, "InvalidInput")
        details = f"{request.method} {request.url.path}"
        return _json(exc.status_code, error_body(code, str(exc.detail), details), dict(exc.headers or {}))

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> Response:
        # Only the scripting routes take a typed body (the SP-API routes check theirs as Amazon does).
        details = "; ".join(f"{field_path(e['loc'][1:]) or 'body'}: {e['msg']}" for e in exc.errors())
        return _json(422, error_body("InvalidInput", "Invalid Input", details))

    async def gate(request: Request, op: str, answer: Callable[[], StoreResponse]) -> Response:
        limit = store.rates()[op]
        headers = {"x-amzn-RequestId": str(uuid.uuid4()), "x-amzn-RateLimit-Limit": f"{limit.per_second:g}"}
        fault = store.draw_fault()
        if fault == "throttle":
            return _json(429, QUOTA_EXCEEDED, headers)
        if fault == "error":
            return _json(500, INTERNAL_FAILURE, headers)
        if fault == "delay":
            await asyncio.sleep(store.faults().delay_seconds)
        token = request.headers.get("x-amz-access-token")
        denied = store.check_token(token, request.method, request.url.path)
        if denied is not None:
            return _json(403, denied, headers)
        if not store.take(op):
            return _json(429, QUOTA_EXCEEDED, headers)
        status, body = answer()
        if body is None:
            return Response(status_code=status, headers=headers)
        if op == "getOrders" and status == 200 and store.take_malformed():
            return Response(_MALFORMED, status_code=200, headers=headers, media_type="application/json")
        return _json(status, body, headers)

    # --- Login with Amazon -------------------------------------------------------------------------

    @app.post("/auth/o2/token")
    async def token(request: Request) -> Response:
        form = dict(parse_qsl((await request.body()).decode("utf-8", "replace")))
        status, body = store.api_token(form)
        return _json(status, body, {"Cache-Control": "no-store"})

    def shown(request: Request) -> frozenset[str]:
        """The restricted data the call's token unlocks for its resource."""
        token = request.headers.get("x-amz-access-token")
        return store.data_elements(token, request.method, request.url.path)

    # --- Tokens 2021-03-01 -------------------------------------------------------------------------

    @app.post("/tokens/2021-03-01/restrictedDataToken")
    async def restricted_data_token(request: Request) -> Response:
        body = _body(await request.body())
        return await gate(request, "createRestrictedDataToken", lambda: store.api_restricted_data_token(body))

    # --- Orders v0 ---------------------------------------------------------------------------------

    @app.get("/orders/v0/orders")
    async def get_orders(request: Request) -> Response:
        return await gate(
            request, "getOrders", lambda: store.api_get_orders(request.query_params, shown(request))
        )

    @app.get("/orders/v0/orders/{order_id}")
    async def get_order(request: Request, order_id: str) -> Response:
        return await gate(request, "getOrder", lambda: store.api_get_order(order_id, shown(request)))

    @app.get("/orders/v0/orders/{order_id}/orderItems")
    async def get_order_items(request: Request, order_id: str) -> Response:
        return await gate(
            request, "getOrderItems", lambda: store.api_get_order_items(order_id, request.query_params)
        )

    @app.post("/orders/v0/orders/{order_id}/shipmentConfirmation")
    async def confirm_shipment(request: Request, order_id: str) -> Response:
        body = _body(await request.body())
        return await gate(request, "confirmShipment", lambda: store.api_confirm_shipment(order_id, body))

    # --- Listings Items 2021-08-01 -----------------------------------------------------------------

    @app.patch("/listings/2021-08-01/items/{seller_id}/{sku:path}")
    async def patch_listing(request: Request, seller_id: str, sku: str) -> Response:
        body = _body(await request.body())
        return await gate(
            request,
            "patchListingsItem",
            lambda: store.api_patch_listing(seller_id, sku, request.query_params, body),
        )

    # --- scripting: /_sandbox ----------------------------------------------------------------------

    @app.post("/_sandbox/listings", status_code=201)
    def add_listing(data: ListingIn) -> dict[str, Any]:
        return store.add_listing(
            data.sku,
            asin=data.asin,
            title=data.title,
            price=data.price,
            fulfillment_channel=data.fulfillment_channel,
        )

    @app.get("/_sandbox/listings")
    def listings() -> list[dict[str, Any]]:
        return store.listings()

    @app.post("/_sandbox/orders", status_code=201)
    def place_order(data: OrderIn) -> dict[str, Any]:
        order_id = store.place_order(
            [Line(**line.model_dump()) for line in data.lines],
            paid=data.paid,
            order_id=data.order_id,
            address=data.address,
            buyer_name=data.buyer_name,
            buyer_email=data.buyer_email,
            prime=data.prime,
        )
        return store.order(order_id)

    @app.get("/_sandbox/orders/{order_id}")
    def order(order_id: str) -> dict[str, Any]:
        return store.order(order_id)

    @app.post("/_sandbox/orders/{order_id}/pay")
    def pay(order_id: str) -> dict[str, Any]:
        store.pay(order_id)
        return store.order(order_id)

    @app.post("/_sandbox/orders/{order_id}/update")
    def update(order_id: str, data: UpdateIn) -> dict[str, Any]:
        store.update_order(
            order_id, address=data.address, buyer_name=data.buyer_name, buyer_email=data.buyer_email
        )
        return store.order(order_id)

    @app.post("/_sandbox/orders/{order_id}/request-cancel")
    def request_cancel(order_id: str, data: CancelRequestIn) -> dict[str, Any]:
        store.request_cancel(order_id, data.reason)
        return store.order(order_id)

    @app.post("/_sandbox/orders/{order_id}/cancel")
    def cancel(order_id: str) -> dict[str, Any]:
        store.cancel(order_id)
        return store.order(order_id)

    @app.get("/_sandbox/quantities")
    def quantities() -> dict[str, int]:
        return store.quantities()

    @app.get("/_sandbox/shipments")
    def shipments() -> list[dict[str, Any]]:
        return store.shipments()

    @app.get("/_sandbox/stats")
    def stats() -> dict[str, Any]:
        return {"tokens_issued": store.tokens_issued, "denied": store.denied, "calls": store.calls()}

    @app.put("/_sandbox/faults")
    def set_faults(faults: Faults) -> dict[str, Any]:
        store.set_faults(faults)
        return asdict(store.faults())

    @app.delete("/_sandbox/faults")
    def clear_faults() -> dict[str, Any]:
        store.clear_faults()
        return asdict(store.faults())

    @app.put("/_sandbox/config")
    def configure(data: ConfigIn) -> dict[str, Any]:
        store.configure(
            rates=data.rates,
            token_lifetime=data.token_lifetime,
            before_lag_seconds=data.before_lag_seconds,
            items_page_size=data.items_page_size,
        )
        return {
            "rates": {op: asdict(limit) for op, limit in store.rates().items()},
            "token_lifetime": store.token_lifetime,
            "before_lag_seconds": store.before_lag_seconds,
            "items_page_size": store.items_page_size,
        }

    @app.post("/_sandbox/tokens/expire", status_code=204)
    def expire_tokens() -> None:
        store.expire_tokens()

    return app
