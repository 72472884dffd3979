"""The sandbox over HTTP: Shopify's Admin REST API (2024-01) for one shop under ``/admin/api/2024-01``,
and ``/_sandbox`` for scripts in other processes (demos, benchmarks) to drive the store.

Admin API calls need ``X-Shopify-Access-Token``; each goes through the store's leaky bucket and
injected faults and is answered with ``X-Shopify-Shop-Api-Call-Limit``. ``/_sandbox`` is open.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hmac
import json
import math
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from orderly.core.errors import field_path
from orderly.sandbox.shopify.models import (
    CancelIn,
    Faults,
    LocationIn,
    OrderChange,
    OrderIn,
    ProductIn,
    WebhookTarget,
)
from orderly.sandbox.shopify.store import (
    API_VERSION,
    FINANCIAL_STATUSES,
    FULFILLMENT_STATUSES,
    ORDER_STATUSES,
    ApiError,
    OrderFilters,
    ShopifyStore,
)

INVALID_TOKEN = "[API] Invalid API key or access token (unrecognized login or wrong password)"  # noqa: S105
THROTTLED = (
    "Exceeded 2 calls per second for api client. Reduce request rates to resume uninterrupted service."
)
DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 250
_STAMP_FILTERS = tuple(
    f"{stamp}_at_{end}" for stamp in ("created", "updated", "processed") for end in ("min", "max")
)
ORDER_COUNT_FILTERS = ("status", "financial_status", "fulfillment_status", *_STAMP_FILTERS[:4])
ORDER_LIST_FILTERS = ("ids", "since_id", *ORDER_COUNT_FILTERS, *_STAMP_FILTERS[4:])
# Filters Shopify honours and the sandbox does not implement: refused, never silently ignored.
UNSUPPORTED_ORDER_FILTERS = frozenset({"attribution_app_id", "name"})
# Along with a page_info Shopify takes these only: the other filters travel inside it.
PAGE_INFO_COMPANIONS = frozenset({"page_info", "limit", "fields"})


def create_app(store: ShopifyStore) -> FastAPI:
    app = FastAPI(title="Shopify sandbox", openapi_url=None, docs_url=None, redoc_url=None)
    app.include_router(_admin_api(store), prefix=f"/admin/api/{API_VERSION}")
    app.include_router(_scripting_api(store), prefix="/_sandbox")

    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError) -> Response:
        return JSONResponse({"errors": exc.errors}, exc.status)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        return JSONResponse(
            {"errors": "Not Found" if exc.status_code == 404 else exc.detail}, exc.status_code
        )

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> Response:
        errors: dict[str, list[str]] = {}
        for error in exc.errors():
            errors.setdefault(field_path(error["loc"][1:]) or "body", []).append(error["msg"])
        return JSONResponse({"errors": errors}, 400)

    @app.middleware("http")
    async def admin_gate(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        if not request.url.path.startswith("/admin/"):
            return await call_next(request)
        token = request.headers.get("X-Shopify-Access-Token", "")
        if not hmac.compare_digest(token.encode(), store.access_token.encode()):
            return JSONResponse({"errors": INVALID_TOKEN}, 401)
        admission = store.admit()
        headers = {"X-Shopify-Shop-Api-Call-Limit": admission.call_limit}
        if admission.status == 429:
            headers["Retry-After"] = _seconds(admission.retry_after or 0.0)
            return JSONResponse({"errors": THROTTLED}, 429, headers=headers)
        if admission.status is not None:
            return JSONResponse({"errors": "Internal Server Error"}, admission.status, headers=headers)
        if admission.delay:
            await asyncio.sleep(admission.delay)
        response = await call_next(request)
        response.headers.update(headers)
        return response

    return app


def _admin_api(store: ShopifyStore) -> APIRouter:
    api = APIRouter()

    @api.get("/orders.json")
    def list_orders(request: Request) -> Response:
        params = request.query_params
        limit = _limit(params.get("limit"))
        page_info = params.get("page_info")
        if page_info is None:
            refused = UNSUPPORTED_ORDER_FILTERS & set(params)
            if refused:
                raise ApiError(400, {name: ["is not supported by the sandbox"] for name in sorted(refused)})
            given = {name: params[name] for name in ORDER_LIST_FILTERS if name in params}
            cursor: dict[str, Any] = {}
        else:
            extra = set(params) - PAGE_INFO_COMPANIONS
            if extra:
                raise ApiError(
                    400, {"page_info": [f"only limit and fields may go with it, not {sorted(extra)}"]}
                )
            cursor = _decode_page_info(page_info)
            given = cursor["filters"]
        orders, more_after, more_before = store.orders_page(
            _order_filters(given, store),
            limit=limit,
            after_id=cursor.get("last_id"),
            before_id=cursor.get("first_id"),
        )
        fields = _fields(params.get("fields"))
        links = []
        for rel, more, key, order in (
            ("previous", more_before, "first_id", 0),
            ("next", more_after, "last_id", -1),
        ):
            if more:
                token = _encode_page_info({"filters": given, key: orders[order]["id"]})
                query = {
                    "limit": limit,
                    "page_info": token,
                    **({"fields": params["fields"]} if fields else {}),
                }
                links.append(f'<{request.url.replace_query_params(**query)}>; rel="{rel}"')
        body = json.dumps({"orders": [_only(o, fields) for o in orders]}, separators=(",", ":")).encode()
        if store.take_malformed_page():
            body = body[: len(body) // 2]
        return Response(
            body, media_type="application/json", headers={"Link": ", ".join(links)} if links else None
        )

    @api.get("/orders/count.json")
    def count_orders(request: Request) -> Response:
        given = {
            name: request.query_params[name] for name in ORDER_COUNT_FILTERS if name in request.query_params
        }
        return JSONResponse({"count": store.orders_count(_order_filters(given, store))})

    @api.get("/orders/{order_id:int}.json")
    def get_order(order_id: int, fields: str | None = None) -> Response:
        return JSONResponse({"order": _only(store.order(order_id), _fields(fields))})

    @api.get("/orders/{order_id:int}/fulfillment_orders.json")
    def fulfillment_orders(order_id: int) -> Response:
        return JSONResponse({"fulfillment_orders": store.fulfillment_orders(order_id)})

    @api.post("/fulfillments.json")
    def create_fulfillment(body: Annotated[dict[str, Any], Body()]) -> Response:
        return JSONResponse({"fulfillment": store.create_fulfillment(body)}, 201)

    @api.post("/fulfillments/{fulfillment_id:int}/update_tracking.json")
    def update_tracking(fulfillment_id: int, body: Annotated[dict[str, Any], Body()]) -> Response:
        return JSONResponse({"fulfillment": store.update_tracking(fulfillment_id, body)})

    @api.get("/variants/{variant_id:int}.json")
    def get_variant(variant_id: int) -> Response:
        return JSONResponse({"variant": store.variant(variant_id)})

    @api.get("/locations.json")
    def locations() -> Response:
        return JSONResponse({"locations": store.locations()})

    @api.post("/inventory_levels/adjust.json")
    def adjust_inventory_level(body: Annotated[dict[str, Any], Body()]) -> Response:
        return JSONResponse({"inventory_level": store.adjust_inventory_level(body)})

    @api.post("/inventory_levels/set.json")
    def set_inventory_level(body: Annotated[dict[str, Any], Body()]) -> Response:
        return JSONResponse({"inventory_level": store.set_inventory_level(body)})

    @api.get("/inventory_levels.json")
    def inventory_levels(inventory_item_ids: str | None = None, location_ids: str | None = None) -> Response:
        levels = store.inventory_levels(
            _ids(inventory_item_ids, "inventory_item_ids"), _ids(location_ids, "location_ids")
        )
        return JSONResponse({"inventory_levels": levels})

    @api.get("/shop.json")
    def shop(fields: str | None = None) -> Response:
        return JSONResponse({"shop": _only(store.shop_resource(), _fields(fields))})

    @api.get("/webhooks.json")
    def webhooks(
        topic: str | None = None,
        address: str | None = None,
        since_id: int | None = None,
        limit: str | None = None,
        fields: str | None = None,
    ) -> Response:
        found = store.webhooks(topic=topic, address=address, since_id=since_id)[: _limit(limit)]
        return JSONResponse({"webhooks": [_only(hook, _fields(fields)) for hook in found]})

    @api.get("/webhooks/count.json")
    def count_webhooks(topic: str | None = None, address: str | None = None) -> Response:
        return JSONResponse({"count": len(store.webhooks(topic=topic, address=address))})

    @api.post("/webhooks.json")
    def create_webhook(body: Annotated[dict[str, Any], Body()]) -> Response:
        return JSONResponse({"webhook": store.create_webhook(body)}, 201)

    @api.get("/webhooks/{webhook_id:int}.json")
    def get_webhook(webhook_id: int) -> Response:
        return JSONResponse({"webhook": store.webhook(webhook_id)})

    @api.put("/webhooks/{webhook_id:int}.json")
    def update_webhook(webhook_id: int, body: Annotated[dict[str, Any], Body()]) -> Response:
        return JSONResponse({"webhook": store.update_webhook(webhook_id, body)})

    @api.delete("/webhooks/{webhook_id:int}.json")
    def delete_webhook(webhook_id: int) -> Response:
        store.delete_webhook(webhook_id)
        return JSONResponse({})

    return api


def _scripting_api(store: ShopifyStore) -> APIRouter:
    api = APIRouter()

    @api.get("/shop")
    def shop() -> dict[str, Any]:
        return {
            "id": store.shop.id,
            "domain": store.shop.domain,
            "currency": store.shop.currency,
            "api_version": API_VERSION,
            "access_token": store.access_token,
            "client_secret": store.client_secret,
            "location_id": store.location_id,
        }

    @api.post("/locations", status_code=201)
    def add_location(spec: LocationIn) -> dict[str, Any]:
        return store.add_location(spec.name, spec.country_code, spec.fulfillment_service)

    @api.post("/products", status_code=201)
    def add_product(spec: ProductIn) -> dict[str, Any]:
        return store.add_product(spec)

    @api.get("/products")
    def products() -> list[dict[str, Any]]:
        return store.products()

    @api.post("/orders", status_code=201)
    def place_order(spec: OrderIn) -> dict[str, Any]:
        return store.place_order(spec)

    @api.get("/orders")
    def orders() -> list[dict[str, Any]]:
        return store.orders()

    @api.get("/orders/{order_id:int}")
    def order(order_id: int) -> dict[str, Any]:
        return store.order(order_id)

    @api.patch("/orders/{order_id:int}")
    def update_order(order_id: int, change: OrderChange) -> dict[str, Any]:
        return store.update_order(order_id, change)

    @api.post("/orders/{order_id:int}/pay")
    def pay(order_id: int) -> dict[str, Any]:
        return store.pay(order_id)

    @api.post("/orders/{order_id:int}/cancel")
    def cancel(order_id: int, spec: Annotated[CancelIn | None, Body()] = None) -> dict[str, Any]:
        return store.cancel(order_id, spec)

    @api.get("/inventory_levels")
    def stock_levels() -> list[dict[str, Any]]:
        return store.stock_levels()

    @api.get("/orders/{order_id:int}/fulfillment_orders")
    def fulfillment_orders_of(order_id: int) -> list[dict[str, Any]]:
        return store.fulfillment_orders(order_id)

    @api.get("/fulfillments")
    def fulfillments(order_id: int | None = None) -> list[dict[str, Any]]:
        return store.fulfillments(order_id)

    @api.put("/webhook", status_code=204)
    def set_webhook(target: WebhookTarget) -> None:
        store.set_webhook(target)

    @api.delete("/webhook", status_code=204)
    def clear_webhook() -> None:
        store.set_webhook(None)

    @api.get("/webhooks")
    def webhook_deliveries() -> list[dict[str, Any]]:
        return store.webhook_deliveries()

    @api.post("/webhooks/wait")
    def wait_for_webhooks(timeout: float = 10.0) -> dict[str, bool]:
        return {"done": store.wait_for_webhooks(timeout)}

    @api.get("/faults")
    def faults() -> Faults:
        return store.faults

    @api.put("/faults")
    def set_faults(faults: Faults) -> Faults:
        return store.set_faults(faults)

    @api.get("/stats")
    def stats() -> dict[str, int]:
        return store.stats()

    return api


def _seconds(value: float) -> str:
    """Retry-After as Shopify writes it ("2.0"), rounded up to a tenth so a client never comes early."""
    return f"{math.ceil(value * 10) / 10:.1f}"


def _limit(value: str | None) -> int:
    if value is None:
        return DEFAULT_PAGE_SIZE
    if not value.isdigit() or not 1 <= int(value) <= MAX_PAGE_SIZE:
        raise ApiError(400, {"limit": [f"must be a whole number from 1 to {MAX_PAGE_SIZE}"]})
    return int(value)


def _order_filters(given: Mapping[str, str], store: ShopifyStore) -> OrderFilters:
    """The filters of an orders request, checked; what Shopify would refuse is answered 400."""
    choices = {
        "status": ORDER_STATUSES,
        "financial_status": FINANCIAL_STATUSES,
        "fulfillment_status": FULFILLMENT_STATUSES,
    }
    for name, allowed in choices.items():
        if name in given and given[name] not in allowed:
            raise ApiError(400, {name: [f"must be one of {sorted(allowed)}"]})
    since_id = given.get("since_id")
    if since_id is not None and not since_id.isdigit():
        raise ApiError(400, {"since_id": ["must be an order id"]})
    ids = _ids(given.get("ids"), "ids")
    return OrderFilters(
        status=given.get("status", "open"),
        financial_status=given.get("financial_status", "any"),
        fulfillment_status=given.get("fulfillment_status", "any"),
        ids=frozenset(ids) if ids is not None else None,
        since_id=int(since_id) if since_id is not None else None,
        created_at_min=_time(given, "created_at_min", store),
        created_at_max=_time(given, "created_at_max", store),
        updated_at_min=_time(given, "updated_at_min", store),
        updated_at_max=_time(given, "updated_at_max", store),
        processed_at_min=_time(given, "processed_at_min", store),
        processed_at_max=_time(given, "processed_at_max", store),
    )


def _time(filters: Mapping[str, Any], name: str, store: ShopifyStore) -> datetime | None:
    """A timestamp filter; one without an offset is in the shop's time zone."""
    value = filters.get(name)
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as exc:
        raise ApiError(400, {name: ["is not an ISO 8601 timestamp"]}) from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=store.shop.timezone)


def _ids(value: str | None, name: str) -> set[int] | None:
    if not value:
        return None
    parts = [part.strip() for part in value.split(",")]
    if not all(part.isdigit() for part in parts):
        raise ApiError(400, {name: ["must be comma-separated ids"]})
    return {int(part) for part in parts}


def _fields(value: str | None) -> list[str] | None:
    return [name.strip() for name in value.split(",")] if value else None


def _only(resource: dict[str, Any], fields: list[str] | None) -> dict[str, Any]:
    return resource if fields is None else {k: v for k, v in resource.items() if k in fields}


def _encode_page_info(cursor: dict[str, Any]) -> str:
    """Opaque to clients, as Shopify's is; here base64 JSON of the filters and where the page ends."""
    return base64.urlsafe_b64encode(json.dumps(cursor, separators=(",", ":")).encode()).decode().rstrip("=")


def _decode_page_info(token: str) -> dict[str, Any]:
    try:
        cursor: Any = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (binascii.Error, ValueError) as exc:
        raise ApiError(400, {"page_info": ["Invalid value."]}) from exc
    filters = cursor.get("filters") if isinstance(cursor, dict) else None
    valid = (
        isinstance(filters, dict)
        and all(name in ORDER_LIST_FILTERS and isinstance(value, str) for name, value in filters.items())
        and all(isinstance(cursor.get(k, 0), int) for k in ("first_id", "last_id"))
    )
    if not valid:
        raise ApiError(400, {"page_info": ["Invalid value."]})
    decoded: dict[str, Any] = cursor
    return decoded
