"""Workers: claim due jobs, run each with its handler, record the outcome. Run as many as you like,
in the hub process (the embedded SQLite setup) or as ``orderly worker`` processes on any machine.

Handlers and schedules come from every context's ``tasks.py`` (``jobs.registry``). A handler gets the
job and a :class:`~orderly.jobs.registry.JobContext`; it opens its own short transactions through
``ctx.factory`` (no transaction is held open across a call to another system) and raises to fail:
:class:`~orderly.jobs.errors.RetryLater` runs it again at the time it gives, a failure that is not
``retryable`` (:class:`~orderly.jobs.errors.GiveUp`) is dead at once, anything else backs off. A job
that is dead is handed to the registry's ``on_dead`` hooks (alerts raise one).

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
from datetime import timedelta

from sqlalchemy.orm import Session, sessionmaker

from orderly.core.config import Settings, get_settings
from orderly.core.db import transaction
from orderly.core.redact import redact
from orderly.core.text import escape_nul
from orderly.jobs import registry as tasks
from orderly.jobs import service as jobs
from orderly.jobs.errors import JobFailed, RetryLater
from orderly.jobs.registry import JobContext, Registry
from orderly.jobs.service import Claimed

log = logging.getLogger(__name__)


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
        registry: Registry | None = None,
    ) -> None:
        self.registry = registry or tasks.load()
        self.context = JobContext(factory, settings or get_settings(), name or _default_name())
        self.batch = batch
        self.idle_sleep = idle_sleep
        self.lease = lease
        self._last_run: dict[str, float] = {}  # when this worker last ran each schedule (monotonic)

    def run_once(self) -> int:
        """Claim and run one batch of due jobs; returns how many ran."""
        self._schedule()
        with transaction(self.context.factory) as session:
            claimed = jobs.claim(
                session, self.context.worker, list(self.registry.handlers), self.batch, lease=self.lease
            )
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
        for schedule in self.registry.schedules:
            now = time.monotonic()
            last = self._last_run.get(schedule.name)
            if last is not None and now - last < schedule.every:
                continue
            self._last_run[schedule.name] = now
            with transaction(self.context.factory) as session:
                schedule.run(session)

    def _run(self, job: Claimed) -> None:
        try:
            self.registry.handlers[job.kind](self.context, job)
        except RetryLater as exc:
            self._failed(job, f"{exc.waiting_for}: {exc}", retry_after=exc.retry_after)
        except JobFailed as exc:
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
                for hook in self.registry.on_dead:
                    hook(session, job, error)
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
