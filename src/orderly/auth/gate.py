"""Who sends each protected request (the request gate's ``core.web.Gatekeeper``), cheap under load,
the throttle on failures, and the audit log's record of every change.

A bearer token, else the session cookie, is looked up by its digest. A checked one is believed for
:data:`BELIEVED_S` seconds (a digest -> holder map in this process), so a busy hub reads
``api_tokens`` (``user_sessions``) once per token per few seconds and writes nothing on the way:
``last_used_at`` (a session's ``last_seen_at``) is written at most once a minute, by a thread of its
own, never by the request. Revoking, signing out, deactivating a user or changing
their role through this process's API takes effect at once; anywhere else (the CLI, another hub
process) within :data:`BELIEVED_S`.

Failures are counted per client address, in memory of this process: after :data:`FAILURES` within
:data:`WINDOW_S`, requests from that address are answered 429 without a lookup until the oldest
failure is a window old, except those carrying a token that worked recently (a client sharing the
address with a guesser keeps working). Failed sign-ins count in the same window.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime

from fastapi import HTTPException, Request, status
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from orderly.auth.audit import record_change
from orderly.auth.service import Holder, digest, holder, record_use
from orderly.core.clock import utcnow
from orderly.core.db import transaction
from orderly.core.web import Viewer

log = logging.getLogger(__name__)

BELIEVED_S = 5.0
USE_RECORDED_S = 60.0
FAILURES = 20
WINDOW_S = 60.0
_KEPT = 10_000  # tokens believed, and addresses counted; the least recent go first
_HOLDER = "orderly.holder"  # where the request's scope keeps the holder once checked


def client_address(request: Request) -> str:
    """As the server saw it (uvicorn believes ``X-Forwarded-For`` only from trusted proxies)."""
    return request.client.host if request.client else ""


class Throttle:
    """Auth failures per client address in a sliding window."""

    def __init__(
        self, failures: int = FAILURES, window: float = WINDOW_S, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._limit = failures
        self._window = window
        self._clock = clock
        self._failed: OrderedDict[str, deque[float]] = OrderedDict()

    def wait(self, address: str) -> float:
        """Seconds until ``address`` may try again; 0 when it may now."""
        stamps = self._failed.get(address)
        if stamps is None:
            return 0.0
        now = self._clock()
        while stamps and stamps[0] <= now - self._window:
            stamps.popleft()
        if len(stamps) < self._limit:
            return 0.0
        return stamps[0] + self._window - now

    def failed(self, address: str) -> None:
        stamps = self._failed.setdefault(address, deque(maxlen=self._limit))
        stamps.append(self._clock())
        self._failed.move_to_end(address)
        if len(self._failed) > _KEPT:
            self._failed.popitem(last=False)


@dataclass(frozen=True)
class _Belief:
    holder: Holder
    checked: float


class TokenGate:
    """Who holds a token digest, read from ``read`` (transactions that take no write lock) and
    believed for ``believed_s``; uses recorded through ``write`` in the background, given up when the
    database is busy; changes recorded in the audit log through ``audit`` (default ``write``), which
    should wait for its lock as long as a job does: the change it records is done."""

    def __init__(
        self,
        read: sessionmaker[Session],
        write: sessionmaker[Session],
        *,
        audit: sessionmaker[Session] | None = None,
        believed_s: float = BELIEVED_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._read = read
        self._write = write
        self._audit_factory = audit or write
        self._believed_s = believed_s
        self._clock = clock
        self._beliefs: OrderedDict[str, _Belief] = OrderedDict()
        self._mutex = threading.Lock()
        # Concurrent first requests with one token make one lookup, not one each (striped by digest).
        self._lookups = [threading.Lock() for _ in range(16)]
        self._recorded: dict[tuple[str, int], datetime] = {}
        self._recorder = ThreadPoolExecutor(max_workers=1, thread_name_prefix="token-use")
        self.throttle = Throttle(clock=clock)

    async def admit(self, request: Request, token: str | None, session: str | None) -> Viewer:
        """The holder of the bearer ``token``, else of the ``session`` cookie, if live."""
        found = await self._check(request, token if token is not None else session, bearer=token is not None)
        return found.viewer(request.app.state.settings.timezone)

    async def _check(self, request: Request, secret: str | None, *, bearer: bool) -> Holder:
        address = client_address(request)
        secret_digest = digest(secret) if secret is not None else None
        wait = self.throttle.wait(address)
        if wait and not (secret_digest is not None and self.worked_recently(secret_digest)):
            seconds = math.ceil(wait)
            message = f"too many failed sign-ins or API tokens from this address: try again in {seconds} s"
            raise HTTPException(
                status.HTTP_429_TOO_MANY_REQUESTS, message, headers={"Retry-After": str(seconds)}
            )
        found: Holder | None = None
        if secret_digest is not None:
            found = self.believed(secret_digest) or await run_in_threadpool(self.look_up, secret_digest)
        if found is not None and (found.kind == "token") != bearer:
            found = None  # a session's secret is no bearer token, nor a token's a cookie
        if found is None or not found.live(utcnow(), self._recorded.get((found.kind, found.id))):
            if secret is not None:
                self.throttle.failed(address)
            if secret is None:
                message = (
                    "sign in first (POST /api/v1/auth/sign-in), or send an API token: "
                    "'Authorization: Bearer <token>'"
                )
            elif found is None:
                message = (
                    "the API token is not valid or has been revoked" if bearer else "the session has ended"
                )
            elif found.kind == "session":
                message = "the session has ended: sign in again"
            else:
                message = f"the API token expired at {found.expires_at:%Y-%m-%dT%H:%M:%SZ}: ask for a new one"
            raise HTTPException(status.HTTP_401_UNAUTHORIZED, message, headers={"WWW-Authenticate": "Bearer"})
        self.used(found)
        request.scope[_HOLDER] = found
        return found

    def believed(self, token_digest: str) -> Holder | None:
        """The holder checked within ``believed_s``, or None (then :meth:`look_up`)."""
        belief = self._beliefs.get(token_digest)
        if belief is None or self._clock() - belief.checked >= self._believed_s:
            return None
        return belief.holder

    def worked_recently(self, token_digest: str) -> bool:
        return token_digest in self._beliefs

    def look_up(self, token_digest: str) -> Holder | None:
        """Read the token from the database (blocking: run it off the event loop)."""
        with self._lookups[int(token_digest[:8], 16) % len(self._lookups)]:
            found = self.believed(token_digest)
            if found is not None:
                return found
            with transaction(self._read) as session:
                found = holder(session, token_digest)
            with self._mutex:
                if found is None:
                    self._beliefs.pop(token_digest, None)
                else:
                    self._beliefs[token_digest] = _Belief(found, self._clock())
                    self._beliefs.move_to_end(token_digest)
                    if len(self._beliefs) > _KEPT:
                        self._beliefs.popitem(last=False)
            return found

    def forget(self, *, token_id: int | None = None, user_id: int | None = None) -> None:
        """A token revoked here, or a user changed (role, deactivated, signed out), is seen from the
        next request on."""
        with self._mutex:
            for key in [
                k
                for k, belief in self._beliefs.items()
                if (belief.holder.kind == "token" and belief.holder.id == token_id)
                or (user_id is not None and belief.holder.user_id == user_id)
            ]:
                del self._beliefs[key]

    def forget_secret(self, secret: str) -> None:
        """A session signed out here is refused from the next request on."""
        with self._mutex:
            self._beliefs.pop(digest(secret), None)

    def used(self, who: Holder) -> None:
        """Note a use: ``last_used_at`` is written if a minute has passed, without waiting for it."""
        now = utcnow()
        last = self._recorded.get((who.kind, who.id), who.last_used_at)
        if last is not None and (now - last).total_seconds() < USE_RECORDED_S:
            return
        self._recorded[who.kind, who.id] = now
        self._recorder.submit(self._record, who.kind, who.id, now)

    def _record(self, kind: str, holder_id: int, at: datetime) -> None:
        try:
            with transaction(self._write) as session:
                record_use(session, kind, holder_id, at)
        except SQLAlchemyError:
            # A busy database: the use is recorded with the next one a minute on.
            log.warning("could not record the use of %s %s", kind, holder_id, exc_info=True)

    async def audit(self, request: Request, viewer: Viewer, route: str, status_code: int) -> None:
        """One ``audit_events`` row for a change made, in a transaction of its own once the change's
        has committed."""
        who: Holder = request.scope[_HOLDER]
        await run_in_threadpool(
            self._audit,
            who,
            viewer.role,
            request.method,
            route,
            {name: str(value) for name, value in request.path_params.items()},
            status_code,
            client_address(request),
        )

    def _audit(
        self, who: Holder, role: str, method: str, route: str, params: dict[str, str], code: int, client: str
    ) -> None:
        with transaction(self._audit_factory) as session:
            record_change(session, who, role, method, route, params, code, client)

    def close(self) -> None:
        self._recorder.shutdown(wait=True)
