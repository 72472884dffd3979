"""The HTTP face of :class:`EbayStore`: the OAuth token endpoint, the Sell API calls Orderly's connector
makes, eBay's notification public key, and ``/_sandbox`` to script the seller's world.

Every API call passes the same gate, in this order: an injected fault (HTTP 429, HTTP 500 or a delay),
then the bearer token (401, errorId 1001: unknown or expired), and the rate limit (429).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import asdict
from typing import Any
from urllib.parse import parse_qsl

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from orderly.sandbox.ebay.store import INTERNAL, THROTTLED, EbayStore, Faults, Line, SandboxError, error


class ListingIn(BaseModel):
    sku: str = Field(min_length=1)
    price: str = "19.99"
    quantity: int = Field(default=0, ge=0)
    title: str | None = None


class LineIn(BaseModel):
    sku: str
    quantity: int = Field(default=1, ge=1)
    price: str | None = None
    discount: str = "0"


class OrderIn(BaseModel):
    lines: list[LineIn] = Field(min_length=1)
    paid: bool = True
    notes: str | None = None
    managed_shipping: bool = False


class ShipIn(BaseModel):
    tracking: str = "9400100000000000000000"
    carrier: str = "USPS"


class DeletionIn(BaseModel):
    username: str = Field(min_length=1)


class ConfigIn(BaseModel):
    rate: float | None = Field(default=None, gt=0)
    burst: int | None = Field(default=None, ge=1)
    webhook_url: str | None = None
    duplicate_webhooks: bool | None = None


def _json(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    if status == 201 and body == {}:
        return Response(status_code=201, headers=headers)  # eBay's empty 201
    return JSONResponse(body, status_code=status, headers=headers)


def _body(raw: bytes) -> Any:
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return "not json"


def create_app(store: EbayStore) -> FastAPI:
    app = FastAPI(title="eBay Sell APIs sandbox", docs_url=None, redoc_url=None)

    @app.exception_handler(SandboxError)
    async def _refused(_: Request, exc: SandboxError) -> Response:
        return _json(*error(409, 0, str(exc)))

    @app.exception_handler(KeyError)
    async def _unknown(_: Request, exc: KeyError) -> Response:
        return _json(*error(404, 0, str(exc.args[0]) if exc.args else "not found"))

    async def gate(request: Request, operation: str, answer: Callable[[Any], Any]) -> Response:
        fault = store.draw_fault()
        if fault == "throttle":
            wait = store.faults().retry_after
            return _json(*THROTTLED, headers=None if wait is None else {"Retry-After": f"{wait:g}"})
        if fault == "error":
            return _json(*INTERNAL)
        if fault == "delay":
            await asyncio.sleep(store.faults().delay_seconds)
        refused = store.check(operation, request.headers.get("authorization"))
        if refused is not None:
            return _json(*refused)
        result = answer(_body(await request.body()))
        return _json(*result)

    # --- OAuth ------------------------------------------------------------------------------------

    @app.post("/identity/v1/oauth2/token")
    async def token(request: Request) -> Response:
        form = dict(parse_qsl((await request.body()).decode(errors="replace")))
        return _json(*store.api_token(request.headers.get("authorization"), form))

    # --- Fulfillment ------------------------------------------------------------------------------

    @app.get("/sell/fulfillment/v1/order")
    async def get_orders(request: Request) -> Response:
        query = dict(request.query_params)
        return await gate(request, "orders", lambda _: store.api_get_orders(query))

    @app.get("/sell/fulfillment/v1/order/{order_id}")
    async def get_order(request: Request, order_id: str) -> Response:
        return await gate(request, "order", lambda _: store.api_get_order(order_id))

    @app.get("/sell/fulfillment/v1/order/{order_id}/shipping_fulfillment")
    async def get_fulfillments(request: Request, order_id: str) -> Response:
        return await gate(request, "fulfillments", lambda _: store.api_get_fulfillments(order_id))

    @app.get("/sell/fulfillment/v1/order/{order_id}/shipping_fulfillment/{fulfillment_id}")
    async def get_fulfillment(request: Request, order_id: str, fulfillment_id: str) -> Response:
        return await gate(
            request, "fulfillments", lambda _: store.api_get_fulfillment(order_id, fulfillment_id)
        )

    @app.post("/sell/fulfillment/v1/order/{order_id}/shipping_fulfillment")
    async def create_fulfillment(request: Request, order_id: str) -> Response:
        return await gate(request, "fulfill", lambda body: store.api_create_fulfillment(order_id, body))

    # --- Inventory --------------------------------------------------------------------------------

    @app.post("/sell/inventory/v1/bulk_update_price_quantity")
    async def bulk_update(request: Request) -> Response:
        return await gate(request, "inventory", store.api_bulk_update)

    # --- Notification API -------------------------------------------------------------------------

    @app.get("/commerce/notification/v1/public_key/{key_id}")
    async def public_key(request: Request, key_id: str) -> Response:
        return await gate(request, "public_key", lambda _: store.api_public_key(key_id))

    # --- scripting: /_sandbox ---------------------------------------------------------------------

    @app.post("/_sandbox/listings", status_code=201)
    def add_listing(data: ListingIn) -> dict[str, Any]:
        return asdict(store.add_listing(data.sku, price=data.price, quantity=data.quantity, title=data.title))

    @app.get("/_sandbox/quantities")
    def quantities() -> dict[str, int]:
        return store.quantities()

    @app.post("/_sandbox/orders", status_code=201)
    def place_order(data: OrderIn) -> dict[str, Any]:
        lines = [Line(**line.model_dump()) for line in data.lines]
        return store.place_order(
            lines, paid=data.paid, notes=data.notes, managed_shipping=data.managed_shipping
        )

    @app.get("/_sandbox/orders/{order_id}")
    def order(order_id: str) -> dict[str, Any]:
        return store.order(order_id)

    @app.post("/_sandbox/orders/{order_id}/{move}")
    def move(order_id: str, move: str, data: ShipIn | None = None) -> dict[str, Any]:
        moves = {"pay": store.pay, "request-cancel": store.request_cancel, "cancel": store.cancel}
        if move == "ship":
            given = data or ShipIn()
            store.ship_outside(order_id, tracking=given.tracking, carrier=given.carrier)
        elif move in moves:
            moves[move](order_id)
        else:
            raise KeyError(f"no move {move!r}")
        return store.order(order_id)

    @app.get("/_sandbox/shipped")
    def shipped() -> list[dict[str, Any]]:
        return store.shipped()

    @app.post("/_sandbox/authorization-code")
    def authorization_code() -> dict[str, str]:
        return {"code": store.authorization_code()}

    @app.post("/_sandbox/account-deletions", status_code=201)
    def delete_account(data: DeletionIn) -> dict[str, Any]:
        return store.delete_account(data.username)

    @app.get("/_sandbox/stats")
    def stats() -> dict[str, Any]:
        return {"calls": dict(store.calls), "tokens_issued": store.tokens_issued, "bulk": store.bulk_calls()}

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
        store.configure(rate=data.rate, burst=data.burst)
        if data.webhook_url is not None:
            store.webhook_url = data.webhook_url or None
        if data.duplicate_webhooks is not None:
            store.duplicate_webhooks = data.duplicate_webhooks
        return {"webhook_url": store.webhook_url, "duplicate_webhooks": store.duplicate_webhooks}

    @app.post("/_sandbox/tokens/expire", status_code=204)
    def expire_tokens() -> None:
        store.expire_tokens()

    return app
