"""The token check of every protected request, cheap under load, and the throttle on failures.

A checked token is believed for :data:`BELIEVED_S` seconds (a digest -> holder map in this process),
so a busy hub reads ``api_tokens`` once per token per few seconds and writes nothing on the way:
``last_used_at`` is written at most once a minute per token, by a thread of its own, never by the
request. Revoking through this process's API takes effect at once; anywhere else (the CLI, another
hub process) within :data:`BELIEVED_S`.

Failures are counted per client address, in memory of this process: after :data:`FAILURES` within
:data:`WINDOW_S`, requests from that address are answered 429 without a lookup until the oldest
failure is a window old, except those carrying a token that worked recently (a client sharing the
address with a guesser keeps working).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from orderly.auth.service import Holder, holder, record_use
from orderly.core.clock import utcnow
from orderly.core.db import transaction

log = logging.getLogger(__name__)

BELIEVED_S = 5.0
USE_RECORDED_S = 60.0
FAILURES = 20
WINDOW_S = 60.0
_KEPT = 10_000  # tokens believed, and addresses counted; the least recent go first


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
    believed for ``believed_s``; uses recorded through ``write`` in the background."""

    def __init__(
        self,
        read: sessionmaker[Session],
        write: sessionmaker[Session],
        *,
        believed_s: float = BELIEVED_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._read = read
        self._write = write
        self._believed_s = believed_s
        self._clock = clock
        self._beliefs: OrderedDict[str, _Belief] = OrderedDict()
        self._mutex = threading.Lock()
        # Concurrent first requests with one token make one lookup, not one each (striped by digest).
        self._lookups = [threading.Lock() for _ in range(16)]
        self._recorded: dict[int, datetime] = {}
        self._recorder = ThreadPoolExecutor(max_workers=1, thread_name_prefix="token-use")
        self.throttle = Throttle(clock=clock)

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

    def forget(self, token_id: int) -> None:
        """A token revoked here is refused from the next request on."""
        with self._mutex:
            for key in [k for k, belief in self._beliefs.items() if belief.holder.id == token_id]:
                del self._beliefs[key]

    def used(self, who: Holder) -> None:
        """Note a use: ``last_used_at`` is written if a minute has passed, without waiting for it."""
        now = utcnow()
        last = self._recorded.get(who.id, who.last_used_at)
        if last is not None and (now - last).total_seconds() < USE_RECORDED_S:
            return
        self._recorded[who.id] = now
        self._recorder.submit(self._record, who.id, now)

    def _record(self, token_id: int, at: datetime) -> None:
        try:
            with transaction(self._write) as session:
                record_use(session, token_id, at)
        except SQLAlchemyError:
            # A busy database: the use is recorded with the next one a minute on.
            log.warning("could not record the use of API token %s", token_id, exc_info=True)

    def close(self) -> None:
        self._recorder.shutdown(wait=True)
