"""Dropped connections for any sandbox app: the fault neither sandbox's own faults can make, since an
answer (even a 500) always reaches the client from inside the app.

``Drops(app)`` is an ASGI app in front of a sandbox; after ``set(share, seed)`` a ``share`` of its
platform requests (not the ``/_sandbox`` scripting routes) lose their connection: half of them
before the platform saw the request, half after it acted on it (only its answer lost, the case a
client must not take as "not done"). The status line goes out, then the connection closes without
the body. Drawn from ``seed``:
the same share and seed, the same requests dropped.
"""

from __future__ import annotations

import random
import threading
from typing import Any

SCRIPTING = "/_sandbox"


class _Cut(Exception):
    """The connection is gone from here on."""


class Drops:
    def __init__(self, app: Any) -> None:
        self.app = app
        self.share = 0.0
        self.dropped = 0
        self._rng = random.Random(0)
        self._lock = threading.Lock()

    def set(self, share: float, seed: int = 0) -> None:
        with self._lock:
            self.share, self._rng = share, random.Random(seed)

    def _draw(self) -> str | None:
        """For one request: "before" or "after" it is acted on, or None to answer it."""
        with self._lock:
            draw = self._rng.random()
            if draw >= self.share:
                return None
            self.dropped += 1
        return "before" if draw < self.share / 2 else "after"

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        drop = None
        if scope["type"] == "http" and not scope["path"].startswith(SCRIPTING):
            drop = self._draw()
        if drop is None:
            await self.app(scope, receive, send)
            return
        if drop == "before":
            # A status line with a body promised, and nothing after: the server returns without
            # completing the response and closes the connection.
            await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]})
            return

        await answer_lost(self.app, scope, receive, send)


async def answer_lost(app: Any, scope: Any, receive: Any, send: Any) -> None:
    """Run ``app`` on the request (it acts), and close the connection once its status line is out: the
    client never reads the answer."""

    async def cut(message: Any) -> None:
        await send(message)
        if message["type"] == "http.response.start":
            raise _Cut

    try:
        await app(scope, receive, cut)
    except _Cut:
        return
