"""Workers: claim due jobs, run each with its handler, record the outcome. Run as many as you like,
in the hub process (the embedded SQLite setup) or as ``orderly worker`` processes on any machine.

A handler gets the job and a :class:`JobContext`; it opens its own short transactions through
``ctx.factory`` (no transaction is held open across a platform call) and raises to fail. Platform
errors decide the retry: :class:`RateLimited` waits for the platform's ``Retry-After``, a retryable
:class:`ChannelError` backs off, a non-retryable one (refused credentials, an invalid request) is
dead at once. Every platform failure also counts against the shop's health.

While a worker holds jobs, a heartbeat thread renews their leases, so leases can be short: a worker
killed mid-job stops renewing, and another takes the job over within ``jobs.LEASE``.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from orderly.alerts.service import raise_alert
from orderly.channels.connector import ChannelError, RateLimited
from orderly.core.config import Settings, get_settings
from orderly.core.db import transaction
from orderly.core.redact import redact
from orderly.core.text import escape_nul
from orderly.jobs import service as jobs
from orderly.jobs.service import Claimed

log = logging.getLogger(__name__)

Handler = Callable[["JobContext", Claimed], None]
HANDLERS: dict[str, Handler] = {}
#: Called by a worker about once a second to enqueue periodic work (polls, resyncs).
SCHEDULERS: list[Callable[[Session], None]] = []


_PURGE_EVERY = 600.0  # seconds between purges of finished jobs, per worker
_last_purge = [0.0]


def _purge(session: Session) -> None:
    if time.monotonic() - _last_purge[0] >= _PURGE_EVERY:
        _last_purge[0] = time.monotonic()
        jobs.purge_finished(session)


SCHEDULERS.append(_purge)


def handler(kind: str) -> Callable[[Handler], Handler]:
    def register(function: Handler) -> Handler:
        HANDLERS[kind] = function
        return function

    return register


@dataclass
class JobContext:
    factory: sessionmaker[Session]
    settings: Settings
    worker: str
    sleep: Callable[[float], None] = time.sleep
    extras: dict[str, Any] = field(default_factory=dict)


class Worker:
    def __init__(
        self,
        factory: sessionmaker[Session],
        *,
        name: str | None = None,
        settings: Settings | None = None,
        batch: int = 1,
        idle_sleep: float = 0.05,
        lease: timedelta = jobs.LEASE,
    ) -> None:
        _load_handlers()
        self.context = JobContext(factory, settings or get_settings(), name or _default_name())
        self.batch = batch
        self.idle_sleep = idle_sleep
        self.lease = lease
        self._last_schedule = 0.0

    def run_once(self) -> int:
        """Claim and run one batch of due jobs; returns how many ran."""
        self._schedule()
        with transaction(self.context.factory) as session:
            claimed = jobs.claim(session, self.context.worker, list(HANDLERS), self.batch, lease=self.lease)
        if claimed:
            with _Heartbeat(self.context, claimed, self.lease) as heartbeat:
                for job in claimed:
                    self._run(job)
                    heartbeat.finished(job.id)
        return len(claimed)

    def run(self, stop: threading.Event) -> None:
        try:
            while not stop.is_set():
                try:
                    ran = self.run_once()
                except Exception:  # the database may be away for a moment; the worker must live on
                    log.exception("worker %s: claiming failed", self.context.worker)
                    ran = 0
                if not ran and jobs.WORK_ADDED.wait(self.idle_sleep):
                    jobs.WORK_ADDED.clear()
        finally:
            self.close()

    def close(self) -> None:
        """Let go of what handlers kept between jobs (HTTP clients)."""
        for kept in self.context.extras.values():
            close = getattr(kept, "close", None)
            if callable(close):
                close()
        self.context.extras.clear()

    def _schedule(self) -> None:
        now = time.monotonic()
        if now - self._last_schedule < 1.0:
            return
        self._last_schedule = now
        for schedule in SCHEDULERS:
            with transaction(self.context.factory) as session:
                schedule(session)

    def _run(self, job: Claimed) -> None:
        try:
            HANDLERS[job.kind](self.context, job)
        except RateLimited as exc:
            self._failed(job, f"rate limited: {exc}", retry_after=exc.retry_after)
        except ChannelError as exc:
            self._failed(job, f"{type(exc).__name__}: {exc}", retryable=exc.retryable)
        except Exception as exc:
            log.exception("job %s (%s) failed", job.id, job.kind)
            self._failed(job, f"{type(exc).__name__}: {exc}")
        else:
            with transaction(self.context.factory) as session:
                jobs.complete(session, job)

    def _failed(
        self, job: Claimed, error: str, *, retry_after: float | None = None, retryable: bool = True
    ) -> None:
        # Any exception's text, not only a platform's, is stored and alerted: without secrets, and with
        # NUL escaped (PostgreSQL text holds none; the failure itself would fail and the job stay claimed).
        error = escape_nul(redact(error))
        with transaction(self.context.factory) as session:
            dead = jobs.fail(session, job, error, retry_after=retry_after, retryable=retryable)
            if dead:
                raise_alert(session, "job_dead", f"job:{job.id}", f"{job.kind} gave up: {error}")
        log.warning("job %s (%s) failed%s: %s", job.id, job.kind, " for good" if dead else "", error)


class _Heartbeat:
    """Renews a worker's leases on the jobs it claimed and has not finished yet, from a thread of its
    own, every ``lease / HEARTBEATS_PER_LEASE``, until the block ends."""

    def __init__(self, context: JobContext, claimed: Sequence[Claimed], lease: timedelta) -> None:
        self.context = context
        self.lease = lease
        self._held = {job.id for job in claimed}
        self._lock = threading.Lock()  # the worker's thread removes jobs while the heartbeat reads
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, daemon=True, name=f"{context.worker}-heartbeat")

    def __enter__(self) -> _Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    def finished(self, job_id: int) -> None:
        with self._lock:
            self._held.discard(job_id)

    def _beat(self) -> None:
        worker = self.context.worker
        while not self._stop.wait(self.lease.total_seconds() / jobs.HEARTBEATS_PER_LEASE):
            with self._lock:
                ids = sorted(self._held)
            try:
                with transaction(self.context.factory) as session:
                    kept = jobs.renew(session, worker, ids, lease=self.lease)
            except Exception:  # the database may be away for a moment: the next beat tries again
                log.exception("worker %s: renewing leases failed", worker)
                continue
            if lost := set(ids) - set(kept):
                log.warning("worker %s lost its lease on jobs %s", worker, sorted(lost))


def start_workers(
    factory: sessionmaker[Session], count: int, settings: Settings | None = None
) -> Callable[[], None]:
    """Run ``count`` workers in threads of this process; returns a function that stops them."""
    stop = threading.Event()
    stop_listening = jobs.listen_for_work(factory)
    threads = [
        threading.Thread(
            target=Worker(factory, name=f"{_default_name()}-{n}", settings=settings).run,
            args=(stop,),
            daemon=True,
            name=f"orderly-worker-{n}",
        )
        for n in range(count)
    ]
    for thread in threads:
        thread.start()

    def stop_all() -> None:
        stop.set()
        for thread in threads:
            thread.join(timeout=30)
        stop_listening()

    return stop_all


def _default_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _load_handlers() -> None:
    # Handlers register themselves on import; the worker needs every context that has jobs.
    import orderly.channels.tasks  # noqa: PLC0415
    import orderly.orders.tasks  # noqa: F401, PLC0415
