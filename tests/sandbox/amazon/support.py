"""Helpers shared by the Amazon sandbox and connector tests."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from orderly.sandbox.amazon import FAST_RATES, AmazonStore
from orderly.sandbox.serve import serving

#: The published SP-API samples (copied verbatim from shared/platforms/amazon_sp_api).
SAMPLES = Path(__file__).parents[2] / "channels" / "amazon" / "samples"


#: A fresh connection per request: serving()'s listening socket is made without IPPROTO_TCP, so asyncio
#: leaves Nagle on and every kept-alive request with a response body waits ~40 ms for a delayed ACK.
NO_KEEPALIVE = httpx.Limits(max_keepalive_connections=0)


def sample(name: str) -> Any:
    return json.loads((SAMPLES / name).read_text())


def make_store(**overrides: Any) -> AmazonStore:
    """A store with fast rates and the 2-minute rule off. Its own refresh token keeps connectors in
    one test process from sharing a cached access token across stores."""
    options: dict[str, Any] = {
        "rates": FAST_RATES,
        "before_lag_seconds": 0,
        "refresh_token": f"Atzr|{uuid.uuid4().hex}",
    }
    return AmazonStore(**(options | overrides))


class Switch:
    """An ASGI app that hands each request to the current sandbox app, so one server (started once
    per test process) serves a fresh store in every test."""

    def __init__(self) -> None:
        self.app: Any = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                kind = message["type"].rsplit(".", 1)[1]
                await send({"type": f"lifespan.{kind}.complete"})
                if kind == "shutdown":
                    return
        await self.app(scope, receive, send)


@contextmanager
def switched() -> Iterator[tuple[Switch, str]]:
    switch = Switch()
    with serving(switch) as url:
        yield switch, url
