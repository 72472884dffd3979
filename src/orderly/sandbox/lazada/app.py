"""The HTTP face of :class:`LazadaStore`: the Lazada Open Platform gateway under ``/rest`` (the API
host's path, as ``https://api.lazada.sg/rest``), the auth host's token calls at the same place, and
``/_sandbox`` to script the seller's world from another process (a benchmark, a demo).

GET calls carry their parameters in the query; POST calls as ``application/x-www-form-urlencoded``
fields (CONTRACT section 1). Every API call passes the store's gateway checks first."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from orderly.sandbox.lazada.store import Answer, Faults, LazadaStore, SandboxError


class LineIn(BaseModel):
    sku: str
    quantity: int = Field(default=1, ge=1)


class OrderIn(BaseModel):
    lines: list[LineIn] = Field(min_length=1)
    paid: bool = True
    remarks: str = ""


class ProductIn(BaseModel):
    sku: str
    quantity: int = 0
    price: str = "19.90"
    fbl: bool = False


def create_app(store: LazadaStore) -> FastAPI:
    app = FastAPI(title="Lazada Open Platform sandbox", docs_url=None, redoc_url=None)
    handlers: dict[str, tuple[Callable[[dict[str, str]], Answer], bool]] = {
        "/orders/get": (store.orders_get, True),
        "/order/get": (store.order_get, True),
        "/order/items/get": (store.order_items_get, True),
        "/orders/items/get": (store.orders_items_get, True),
        "/product/price_quantity/update": (store.price_quantity_update, True),
        "/order/shipment/providers/get": (lambda _: store.shipment_providers(), True),
        "/order/fulfill/pack": (store.pack, True),
        "/order/package/rts": (store.ready_to_ship, True),
        "/order/package/document/get": (store.document, True),
        "/auth/token/create": (store.token_create, False),
        "/auth/token/refresh": (store.token_refresh, False),
    }

    @app.api_route("/rest/{api_path:path}", methods=["GET", "POST"])
    async def gateway(api_path: str, request: Request) -> Response:
        path = "/" + api_path
        params = dict(request.query_params)
        if request.method == "POST":
            params |= dict(parse_qsl((await request.body()).decode(), keep_blank_values=True))
        found = handlers.get(path)
        if found is None:
            answer = Answer(200, {"code": "InvalidApiPath", "type": "ISV", "message": f"no API {path}"})
        else:
            handler, needs_token = found
            answer = store.check(path, params, token=needs_token) or handler(params)
        if store.delay():
            await asyncio.sleep(store.delay())
        return JSONResponse(answer.body, status_code=answer.status)

    @app.exception_handler(SandboxError)
    async def _refused(_: Request, exc: SandboxError) -> Response:
        return JSONResponse({"error": str(exc)}, status_code=409)

    @app.get("/_sandbox/labels/{package_id}.pdf")
    def label(package_id: str) -> Response:
        return Response(store.label(package_id), media_type="application/pdf")

    @app.post("/_sandbox/products")
    def add_product(product: ProductIn) -> dict[str, Any]:
        store.add_product(product.sku, quantity=product.quantity, price=product.price, fbl=product.fbl)
        return {"sku": product.sku, "quantity": store.quantity(product.sku)}

    @app.get("/_sandbox/products/{sku}")
    def product(sku: str) -> dict[str, Any]:
        return {"sku": sku, "quantity": store.quantity(sku)}

    @app.post("/_sandbox/orders")
    def place_order(order: OrderIn) -> dict[str, Any]:
        lines = [(line.sku, line.quantity) for line in order.lines]
        order_id = store.place_order(lines, paid=order.paid, remarks=order.remarks)
        return {"order_id": order_id}

    @app.post("/_sandbox/orders/{order_id}/{move}")
    def move(order_id: str, move: str) -> dict[str, Any]:
        moves: dict[str, Callable[[str], Any]] = {
            "pay": store.pay,
            "cancel": store.cancel,
            "ship": store.ship,
            "deliver": store.deliver,
            "return": store.return_items,
        }
        if move not in moves:
            raise SandboxError(f"no move {move}; moves: {', '.join(moves)}")
        moves[move](order_id)
        return store.order_view(order_id)

    @app.post("/_sandbox/faults")
    def faults(faults: dict[str, float]) -> dict[str, str]:
        store.set_faults(
            Faults(**{k: v for k, v in faults.items() if k != "seed"}, seed=int(faults.get("seed", 0)))
        )
        return {"status": "ok"}

    return app
