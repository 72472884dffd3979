"""The request gate: a protected route's token is checked before its body is read, bodies are capped
per route (413) and must arrive in time (408). Driven as raw ASGI, so what the hub pulls of a body is
counted exactly."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import anyio
import orjson
import pytest
from fastapi import FastAPI
from sqlalchemy.orm import Session, sessionmaker

from orderly.api import create_app
from orderly.channels.endpoints import WEBHOOK_BODY_MAX
from orderly.core.config import Settings
from orderly.core.web import BODY_MAX
from orderly.orders.endpoints import INGEST_BODY_MAX

MB = 1 << 20


@dataclass
class Exchange:
    """One request sent to the app: its body offered in chunks, and how much of it the app pulled."""

    chunks: list[bytes]
    stall: bool = False  # after the chunks, the client sends nothing more (and never ends the body)
    pulled: int = 0
    status: int = 0
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""

    async def receive(self) -> dict[str, Any]:
        if self.chunks:
            chunk = self.chunks.pop(0)
            self.pulled += len(chunk)
            return {"type": "http.request", "body": chunk, "more_body": bool(self.chunks) or self.stall}
        if self.stall:
            await anyio.sleep_forever()
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(self, message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
            self.headers = {k.decode(): v.decode() for k, v in message["headers"]}
        elif message["type"] == "http.response.body":
            self.body += message.get("body", b"")

    def json(self) -> Any:
        return orjson.loads(self.body)


def _send(
    app: FastAPI, path: str, exchange: Exchange, headers: dict[str, str], method: str = "POST"
) -> Exchange:
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        "client": ("127.0.0.1", 5000),
        "server": ("127.0.0.1", 8000),
    }

    async def call() -> None:
        with anyio.fail_after(60):  # a hub that waits for ever on a stalled body fails here
            await app(scope, exchange.receive, exchange.send)

    anyio.run(call)
    return exchange


def _chunks(total: int, size: int = MB) -> list[bytes]:
    whole, rest = divmod(total, size)
    return [b"x" * size] * whole + [b"x" * rest] * bool(rest)  # one block, sent again and again


def test_a_100_mb_body_without_a_token_is_401_and_never_read(app: FastAPI) -> None:
    sent = Exchange(_chunks(100 * MB))
    _send(
        app,
        "/api/v1/orders/ingest",
        sent,
        {"content-type": "application/json", "content-length": str(100 * MB)},
    )

    assert sent.status == 401
    assert sent.pulled == 0
    assert sent.headers["www-authenticate"] == "Bearer"
    assert sent.headers["connection"] == "close"  # so the server reads no more of it either
    assert "Authorization: Bearer" in sent.json()["error"]["message"]


def test_a_chunked_body_with_a_wrong_token_is_401_and_never_read(app: FastAPI) -> None:
    sent = Exchange(_chunks(10 * MB))
    headers = {"authorization": "Bearer oly_wrong", "transfer-encoding": "chunked"}

    _send(app, "/api/v1/products", sent, headers | {"content-type": "application/json"})

    assert (sent.status, sent.pulled) == (401, 0)
    assert sent.headers["connection"] == "close"


@pytest.mark.parametrize(
    ("path", "limit"),
    [("/api/v1/products", BODY_MAX), ("/api/v1/orders/ingest", INGEST_BODY_MAX)],
)
def test_a_body_announced_over_the_cap_is_413_before_it_is_read(
    app: FastAPI, token: str, path: str, limit: int
) -> None:
    sent = Exchange(_chunks(limit + 1))
    headers = {"authorization": f"Bearer {token}", "content-type": "application/json"}

    _send(app, path, sent, headers | {"content-length": str(limit + 1)})

    assert (sent.status, sent.pulled) == (413, 0)
    assert sent.headers["connection"] == "close"
    assert sent.json() == {
        "error": {
            "message": f"the request body is larger than this route takes (at most {limit:,} bytes)",
            "field": None,
        }
    }


def test_a_chunked_body_growing_past_the_cap_is_413_and_no_more_is_read(app: FastAPI, token: str) -> None:
    sent = Exchange(_chunks(50 * MB, size=64 * 1024))
    headers = {"authorization": f"Bearer {token}", "content-type": "application/json"}

    _send(app, "/api/v1/products", sent, headers | {"transfer-encoding": "chunked"})

    assert sent.status == 413
    assert BODY_MAX < sent.pulled <= BODY_MAX + 64 * 1024
    assert "at most 1,048,576 bytes" in sent.json()["error"]["message"]


def test_a_webhook_has_its_own_cap_and_is_refused_before_its_signature_is_read(app: FastAPI) -> None:
    sent = Exchange(_chunks(WEBHOOK_BODY_MAX + 1))
    headers = {"content-type": "application/json", "content-length": str(WEBHOOK_BODY_MAX + 1)}

    _send(app, "/api/v1/webhooks/web", sent, headers)

    assert (sent.status, sent.pulled) == (413, 0)


def test_an_ingest_body_under_its_cap_but_over_the_default_goes_in(app: FastAPI, token: str) -> None:
    order = {"shop": "nowhere", "external_id": "1", "note": "x" * 1000}
    body = orjson.dumps({"orders": [order | {"external_id": str(i)} for i in range(BODY_MAX // 1000)]})
    assert BODY_MAX < len(body) < INGEST_BODY_MAX
    sent = Exchange([body])
    headers = {"authorization": f"Bearer {token}", "content-type": "application/json"}

    _send(app, "/api/v1/orders/ingest", sent, headers | {"content-length": str(len(body))})

    assert sent.status == 200  # each order is rejected on its own (no such shop), the batch is taken
    assert sent.pulled == len(body)


def test_a_body_that_stops_arriving_is_408(factory: sessionmaker[Session], token: str) -> None:
    app = create_app(Settings(body_timeout_s=0.3), factory=factory)
    sent = Exchange([b'{"sku": "SKU-1", '], stall=True)
    headers = {"authorization": f"Bearer {token}", "content-type": "application/json"}

    _send(app, "/api/v1/products", sent, headers | {"content-length": "100"})

    assert sent.status == 408
    assert sent.headers["connection"] == "close"
    assert sent.json()["error"]["message"] == "the request body did not arrive within 0.3 s"
