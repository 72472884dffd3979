"""Overload protection: how many requests use the database at once, and what an overloaded hub answers.

A request that uses the database waits for a turn (:class:`Admission`) before it takes a worker thread
or a connection, so nothing is held while it waits; one that cannot get a turn, a connection or a lock
within a short time is answered ``503`` with ``Retry-After`` at once instead of hanging. The turns, the
worker threads and the connection pool are sized together (:func:`sizes`), so an admitted request
never waits for a thread or a connection. Past a few waiting requests per turn, API requests are
refused before any work is done on them (:class:`Shedding`), so a flood costs the event loop little
and ``/health`` stays quick.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import anyio
import anyio.to_thread
from anyio.lowlevel import RunVar
from fastapi import HTTPException, status
from starlette.types import ASGIApp, Receive, Scope, Send

#: Seconds an overloaded hub asks a client to wait before it tries again.
RETRY_AFTER = 1
#: Worker threads beyond the admitted requests' own: for work done outside a turn (token checks,
#: files of the docs pages).
SPARE_THREADS = 4
#: Connections each job worker in the hub process may hold at once (its work and its lease heartbeat).
CONNECTIONS_PER_WORKER = 2
#: API requests in the hub at once, per turn, beyond which more are refused before any work is done.
IN_FLIGHT_PER_TURN = 4


def busy(what: str) -> HTTPException:
    return HTTPException(
        status.HTTP_503_SERVICE_UNAVAILABLE,
        f"the hub is busy ({what}): try again in a moment",
        headers={"Retry-After": str(RETRY_AFTER)},
    )


@dataclass(frozen=True)
class Sizes:
    threads: int  # the default thread limiter's tokens: sync endpoints and dependencies run there
    pool_size: int
    max_overflow: int


def sizes(concurrency: int, workers: int) -> Sizes:
    """Threads and connections that agree with ``concurrency`` admitted requests: each uses at most
    one thread and one connection at a time, and so do the spare threads; job workers have their own
    connections on top."""
    threads = concurrency + SPARE_THREADS
    return Sizes(threads=threads, pool_size=threads + CONNECTIONS_PER_WORKER * workers, max_overflow=0)


def use_threads(count: int) -> None:
    """Size the running event loop's default thread limiter (sync endpoints and dependencies)."""
    anyio.to_thread.current_default_thread_limiter().total_tokens = count


class Admission:
    """At most ``limit`` requests hold a turn at once; one that waits ``wait`` seconds without getting
    one is refused with 503 and ``Retry-After``. Waiting takes no thread, connection or lock."""

    def __init__(self, limit: int, wait: float) -> None:
        self.limit = limit
        self.wait = wait
        self._turns: RunVar[anyio.Semaphore] = RunVar("orderly_admission")  # one per event loop

    def _semaphore(self) -> anyio.Semaphore:
        try:
            return self._turns.get()
        except LookupError:
            semaphore = anyio.Semaphore(self.limit)
            self._turns.set(semaphore)
            return semaphore

    @asynccontextmanager
    async def turn(self) -> AsyncIterator[None]:
        semaphore = self._semaphore()
        with anyio.move_on_after(self.wait) as waited:
            await semaphore.acquire()
        if waited.cancelled_caught:
            raise busy("too many requests at once")
        try:
            yield
        finally:
            semaphore.release()


class Shedding:
    """ASGI middleware: past ``limit`` requests under ``prefix`` in the hub at once (``exempt`` ones
    aside), more are answered 503 with ``Retry-After`` before they are routed, authenticated or read,
    the least the event loop can spend on a request it cannot serve soon."""

    def __init__(self, app: ASGIApp, *, prefix: str, exempt: frozenset[str], limit: int) -> None:
        self.app = app
        self.prefix = prefix
        self.exempt = exempt
        self.limit = limit
        self.in_flight = 0
        refusal = busy("too many requests at once")
        self._body = json.dumps({"error": {"message": refusal.detail, "field": None}}).encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or not path.startswith(self.prefix) or path in self.exempt:
            await self.app(scope, receive, send)
            return
        if self.in_flight >= self.limit:
            await self._refuse(send)
            return
        self.in_flight += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.in_flight -= 1

    async def _refuse(self, send: Send) -> None:
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(self._body)).encode()),
            (b"retry-after", str(RETRY_AFTER).encode()),
        ]
        await send({"type": "http.response.start", "status": 503, "headers": headers})
        await send({"type": "http.response.body", "body": self._body})
