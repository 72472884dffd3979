"""What the Shopify sandbox and connector tests share: a store with a catalog, the sandbox served over
real HTTP, a controllable clock, a webhook receiver, and the published samples."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from orderly.sandbox.serve import serving
from orderly.sandbox.shopify import ShopifyStore, create_app

TOKEN = "shpat_test_token"
SECRET = "test_webhook_secret"
SAMPLES = Path(__file__).resolve().parents[2] / "channels" / "shopify" / "samples"


def sample(name: str) -> Any:
    return json.loads((SAMPLES / name).read_text())


class Clock:
    """The shop's clock, moved by the test."""

    def __init__(self, start: datetime = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> datetime:
        self.now += timedelta(seconds=seconds)
        return self.now


def new_store(**options: Any) -> ShopifyStore:
    """A store with two products (three variants) whose limits never get in a test's way unless asked."""
    settings: dict[str, Any] = {
        "access_token": TOKEN,
        "bucket_size": 10_000,
        "leak_per_second": 10_000.0,
        "webhook_retry_delay": 0.05,
        "webhook_timeout": 2.0,
    }
    store = ShopifyStore(**(settings | options))
    store.add_product(
        {
            "title": "Linen shirt",
            "variants": [
                {"sku": "SHIRT-S", "price": "39.90", "title": "S", "available": 5},
                {"sku": "SHIRT-M", "price": "39.90", "title": "M", "available": 5},
            ],
        }
    )
    store.add_product({"title": "Gift wrap", "variants": [{"sku": "", "price": "2.50"}]})
    return store


def variant_ids(store: ShopifyStore) -> dict[str, int]:
    """Variant id by SKU ("" for the one without)."""
    return {v["sku"]: v["id"] for p in store.products() for v in p["variants"]}


def place(store: ShopifyStore, **spec: Any) -> dict[str, Any]:
    return store.place_order({"lines": [{"sku": "SHIRT-S", "quantity": 2}, {"sku": "SHIRT-M"}], **spec})


@contextmanager
def served(store: ShopifyStore, *, timeout: float = 5.0) -> Iterator[httpx.Client]:
    """The sandbox over HTTP and a client authenticated for it."""
    with (
        serving(create_app(store)) as url,
        httpx.Client(base_url=url, headers={"X-Shopify-Access-Token": TOKEN}, timeout=timeout) as client,
    ):
        yield client


def hmac_base64(secret: str, body: bytes) -> str:
    """Written out here rather than imported, so the tests check the code instead of repeating it."""
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


class Receiver:
    """A webhook endpoint recording each delivery; answers with ``statuses`` in turn, then 200."""

    def __init__(self, statuses: list[int] | None = None) -> None:
        self.deliveries: list[tuple[dict[str, str], bytes]] = []
        self.statuses = list(statuses or [])
        self._lock = threading.Lock()
        self.app = Starlette(routes=[Route("/hooks", self._receive, methods=["POST"])])

    async def _receive(self, request: Request) -> Response:
        body = await request.body()
        with self._lock:
            self.deliveries.append((dict(request.headers), body))
            status = self.statuses.pop(0) if self.statuses else 200
        return Response(status_code=status)

    @contextmanager
    def running(self) -> Iterator[str]:
        """The receiver over HTTP; yields the URL to deliver to."""
        with serving(self.app) as url:
            yield f"{url}/hooks"

    @contextmanager
    def serving(self, store: ShopifyStore, secret: str = SECRET) -> Iterator[Receiver]:
        """The receiver over HTTP as ``store``'s webhook target."""
        with self.running() as url:
            store.set_webhook({"url": url, "secret": secret})
            yield self
            store.set_webhook(None)
