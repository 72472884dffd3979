"""The HTTP face of :class:`TikTokShopStore`: the token endpoints, the 202309 Partner API calls Orderly's
connector makes, and ``/_sandbox`` to script the seller's world.

Every Partner API call passes the same gate, in this order: an injected fault (HTTP 429, HTTP 500 or a
delay), then app key, timestamp and ``sign`` (401 with the live 106001 body), the ``x-tts-access-token``
(401: unknown or expired), the ``shop_cipher`` of shop-scoped calls, and the rate limit (429).
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import asdict
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from orderly.sandbox.tiktok_shop.store import (
    INTERNAL_ERROR,
    RATE_LIMITED,
    Faults,
    Line,
    SandboxError,
    TikTokShopStore,
    envelope,
)
from orderly.sandbox.tiktok_shop.store import Response as StoreResponse


class SkuIn(BaseModel):
    seller_sku: str = Field(min_length=1)
    price: str = "150000"
    stock: int = Field(default=0, ge=0)
    name: str | None = None


class LineIn(BaseModel):
    sku: str
    quantity: int = Field(default=1, ge=1)
    price: str | None = None
    seller_discount: str = "0"
    platform_discount: str = "0"


class OrderIn(BaseModel):
    lines: list[LineIn] = Field(min_length=1)
    paid: bool = True
    fbt: bool = False
    cod: bool = False
    buyer_message: str = ""


class CancelIn(BaseModel):
    by: str = Field(default="SELLER", pattern="^(SELLER|BUYER|SYSTEM)$")
    reason: str = "Out of stock"


class ConfigIn(BaseModel):
    rate: float | None = Field(default=None, gt=0)
    burst: int | None = Field(default=None, ge=1)
    webhook_url: str | None = None
    duplicate_webhooks: bool | None = None


def _json(status: int, body: Any) -> Response:
    return JSONResponse(body, status_code=status)


def _body(raw: bytes) -> Any:
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return "not json"


def create_app(store: TikTokShopStore) -> FastAPI:
    app = FastAPI(title="TikTok Shop Partner API sandbox", docs_url=None, redoc_url=None)

    @app.exception_handler(SandboxError)
    async def _refused(_: Request, exc: SandboxError) -> Response:
        return _json(409, envelope(409, str(exc)))

    @app.exception_handler(KeyError)
    async def _unknown(_: Request, exc: KeyError) -> Response:
        return _json(404, envelope(404, str(exc.args[0]) if exc.args else "not found"))

    async def gate(request: Request, operation: str, answer: Any, *, shop: bool = True) -> Response:
        fault = store.draw_fault()
        if fault == "throttle":
            return _json(429, envelope(RATE_LIMITED, "Too many requests. Please retry later."))
        if fault == "error":
            return _json(500, envelope(INTERNAL_ERROR, "Internal error. Please retry later."))
        if fault == "delay":
            await asyncio.sleep(store.faults().delay_seconds)
        raw = await request.body()
        query = dict(request.query_params)
        refused = store.check(
            operation, request.url.path, query, raw, request.headers.get("x-tts-access-token"), shop=shop
        )
        if refused is not None:
            return _json(*refused)
        result: StoreResponse = answer(query, _body(raw))
        return _json(*result)

    # --- tokens (UNCONFIRMED shapes: CONTRACT.md section 7) -----------------------------------------

    @app.get("/api/v2/token/get")
    @app.get("/api/v2/token/refresh")
    def token(request: Request) -> Response:
        return _json(*store.api_token(dict(request.query_params)))

    @app.get("/authorization/202309/shops")
    async def shops(request: Request) -> Response:
        return await gate(request, "shops", lambda q, b: store.api_authorized_shops(), shop=False)

    # --- orders ---------------------------------------------------------------------------------------

    @app.post("/order/202309/orders/search")
    async def search_orders(request: Request) -> Response:
        return await gate(request, "orders", store.api_search_orders)

    @app.get("/order/202309/orders")
    async def order_detail(request: Request) -> Response:
        return await gate(request, "order_detail", lambda q, b: store.api_order_detail(q))

    # --- products -------------------------------------------------------------------------------------

    @app.post("/product/202309/products/search")
    async def search_products(request: Request) -> Response:
        return await gate(request, "products", lambda q, b: store.api_search_products(b))

    @app.post("/product/202309/products/{product_id}/inventory/update")
    async def update_inventory(request: Request, product_id: str) -> Response:
        return await gate(request, "inventory", lambda q, b: store.api_update_inventory(product_id, b))

    @app.post("/return_refund/202309/returns/search")
    async def search_returns(request: Request) -> Response:
        return await gate(request, "returns", store.api_search_returns)

    # --- fulfillment ----------------------------------------------------------------------------------

    @app.post("/fulfillment/202309/packages/{package_id}/ship")
    async def ship_package(request: Request, package_id: str) -> Response:
        return await gate(request, "ship", lambda q, b: store.api_ship_package(package_id, b))

    @app.get("/fulfillment/202309/packages/{package_id}")
    async def package_detail(request: Request, package_id: str) -> Response:
        return await gate(request, "package", lambda q, b: store.api_package_detail(package_id))

    @app.get("/fulfillment/202309/packages/{package_id}/shipping_documents")
    async def shipping_document(request: Request, package_id: str) -> Response:
        base = str(request.base_url).rstrip("/")
        return await gate(request, "documents", lambda q, b: store.api_shipping_document(package_id, q, base))

    # --- scripting: /_sandbox -------------------------------------------------------------------------

    @app.get("/_sandbox/labels/{package_id}.pdf")
    def label(package_id: str) -> Response:
        return Response(store.label(package_id), media_type="application/pdf")

    @app.post("/_sandbox/skus", status_code=201)
    def add_sku(data: SkuIn) -> dict[str, Any]:
        return asdict(store.add_sku(data.seller_sku, price=data.price, stock=data.stock, name=data.name))

    @app.get("/_sandbox/quantities")
    def quantities() -> dict[str, int]:
        return store.quantities()

    @app.post("/_sandbox/orders", status_code=201)
    def place_order(data: OrderIn) -> dict[str, Any]:
        lines = [Line(**line.model_dump()) for line in data.lines]
        return store.place_order(
            lines, paid=data.paid, fbt=data.fbt, cod=data.cod, buyer_message=data.buyer_message
        )

    @app.get("/_sandbox/orders/{order_id}")
    def order(order_id: str) -> dict[str, Any]:
        return store.order(order_id)

    @app.post("/_sandbox/orders/{order_id}/{move}")
    def move(order_id: str, move: str, data: CancelIn | None = None) -> dict[str, Any]:
        moves = {
            "pay": store.pay,
            "hold": store.hold,
            "release": store.release,
            "request-cancel": store.request_cancel,
            "ship": store.ship_outside,
            "deliver": store.deliver,
            "complete": store.complete,
        }
        if move == "cancel":
            given = data or CancelIn()
            store.cancel(order_id, by=given.by, reason=given.reason)
        elif move in moves:
            moves[move](order_id)
        else:
            raise KeyError(f"no move {move!r}")
        return store.order(order_id)

    @app.get("/_sandbox/shipped")
    def shipped() -> list[dict[str, Any]]:
        return store.shipped()

    @app.get("/_sandbox/stats")
    def stats() -> dict[str, Any]:
        return {
            "calls": dict(store.calls),
            "tokens_issued": store.tokens_issued,
            "bad_signs": store.rejected_signs,
        }

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
