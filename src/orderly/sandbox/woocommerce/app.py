"""The HTTP face of :class:`WooStore`: WooCommerce's REST API under ``/wp-json/wc/v3``, the Shipment
Tracking extension under ``/wp-json/wc-shipment-tracking/v3`` (``rest_no_route`` where the store has
none), and ``/_sandbox`` to script the store from another process (a demo, a benchmark). Every API call
passes the store's checks (faults, authentication) first; a route WordPress does not know answers the
published ``rest_no_route``."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from orderly.core import jsontext
from orderly.sandbox.woocommerce.store import NO_ROUTE, Answer, Faults, SandboxError, WooStore, error

API = "/wp-json/wc/v3"
TRACKING = "/wp-json/wc-shipment-tracking/v3"


class LineIn(BaseModel):
    sku: str
    quantity: int = Field(default=1, ge=1)


class OrderIn(BaseModel):
    lines: list[LineIn] = Field(min_length=1)
    status: str = "processing"
    customer_note: str = ""


class ProductIn(BaseModel):
    sku: str
    quantity: int = 0
    price: str = "19.99"


def _route(method: str, path: str, store: WooStore, query: dict[str, str], body: Any) -> Answer:
    """The API's answer to one authenticated call."""
    parts = path.strip("/").split("/")
    numbers = [int(p) if p.isascii() and p.isdigit() else None for p in parts]
    routes: dict[tuple[str, tuple[str, ...]], Callable[[], Answer]] = {}
    if path.startswith(API):
        rest = tuple("#" if n is not None else p for p, n in zip(parts[3:], numbers[3:], strict=True))
        ids = [n for n in numbers[3:] if n is not None]
        routes = {
            ("GET", ("orders",)): lambda: store.list_orders(query),
            ("GET", ("orders", "#")): lambda: store.get_order(ids[0]),
            ("PUT", ("orders", "#")): lambda: store.update_order(ids[0], body or {}),
            ("GET", ("orders", "#", "notes")): lambda: store.list_notes(ids[0]),
            ("POST", ("orders", "#", "notes")): lambda: store.add_note(ids[0], body or {}),
            ("GET", ("products",)): lambda: store.list_products(query),
            ("GET", ("products", "#")): lambda: store.get_product(ids[0]),
            ("POST", ("products", "batch")): lambda: store.batch(None, body),
            ("POST", ("products", "#", "variations", "batch")): lambda: store.batch(ids[0], body),
        }
    elif path.startswith(TRACKING):
        rest = tuple("#" if n is not None else p for p, n in zip(parts[3:], numbers[3:], strict=True))
        ids = [n for n in numbers[3:] if n is not None]
        last = parts[-1]
        routes = {
            ("GET", ("orders", "#", "shipment-trackings")): lambda: store.list_trackings(ids[0]),
            ("POST", ("orders", "#", "shipment-trackings")): lambda: store.add_tracking(ids[0], body or {}),
            ("DELETE", ("orders", "#", "shipment-trackings", last)): lambda: store.delete_tracking(
                ids[0], last
            ),
        }
    else:
        return NO_ROUTE
    handler = routes.get((method, rest))
    return handler() if handler is not None else NO_ROUTE


def create_app(store: WooStore) -> FastAPI:
    app = FastAPI(title="WooCommerce REST API sandbox", docs_url=None, redoc_url=None)

    @app.api_route("/wp-json/{path:path}", methods=["GET", "POST", "PUT", "DELETE"])
    async def api(path: str, request: Request) -> Response:
        full = f"/wp-json/{path}"
        query = dict(request.query_params)
        url = str(request.url.replace(query=""))
        answer = store.check(request.method, url, full, query, dict(request.headers))
        if answer is None:
            raw = await request.body()
            try:
                body = jsontext.loads(raw) if raw else None
            except ValueError:
                answer = error(400, "rest_invalid_json", "Invalid JSON body passed.")
            else:
                answer = _route(request.method, full, store, query, body)
        if store.delay():
            await asyncio.sleep(store.delay())
        return JSONResponse(answer.body, status_code=answer.status, headers=answer.headers)

    @app.exception_handler(SandboxError)
    async def _refused(_: Request, exc: SandboxError) -> Response:
        return JSONResponse({"error": str(exc)}, status_code=409)

    @app.post("/_sandbox/products")
    def add_product(product: ProductIn) -> dict[str, Any]:
        listing = store.add_product(product.sku, quantity=product.quantity, price=product.price)
        return {"sku": product.sku, "listing_id": listing, "quantity": store.quantity(product.sku)}

    @app.get("/_sandbox/products/{sku}")
    def product(sku: str) -> dict[str, Any]:
        return {"sku": sku, "quantity": store.quantity(sku)}

    @app.post("/_sandbox/orders")
    def place_order(order: OrderIn) -> dict[str, Any]:
        lines = [(line.sku, line.quantity) for line in order.lines]
        return {"order_id": store.place_order(lines, status=order.status, customer_note=order.customer_note)}

    @app.post("/_sandbox/orders/{order_id}/status/{status}")
    def set_status(order_id: int, status: str) -> dict[str, Any]:
        return store.set_status(order_id, status)

    @app.post("/_sandbox/faults")
    def faults(faults: dict[str, float]) -> dict[str, str]:
        store.set_faults(
            Faults(**{k: v for k, v in faults.items() if k != "seed"}, seed=int(faults.get("seed", 0)))
        )
        return {"status": "ok"}

    return app
