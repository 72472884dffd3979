"""Durable jobs in our own database, so a state change and the side effects it needs commit together.

``enqueue`` writes a job in the caller's transaction (the outbox); workers ``claim`` due jobs under a
lease (PostgreSQL: ``FOR UPDATE SKIP LOCKED``, so any number of workers on any number of machines
share the table; SQLite: the write lock serialises claims), run each in a transaction of its own,
then ``complete`` or ``fail`` it. A failed job is retried with exponential backoff and jitter, or at
the platform's ``Retry-After``; after ``max_attempts`` it is dead: kept with its last error, visible,
and ``replay``-able.

Jobs with a key run one at a time: at most one is queued per (kind, key), where later ones coalesce,
and a queued one is not claimed while another with its key is running. So two pushes of one listing
never overlap, and the queued one runs after the running one, on the figures as they are then.

Leases are short and renewed (``renew``) by the worker's heartbeat while the job runs: a worker that
dies stops renewing, and another worker takes the job within ``LEASE``.

A transaction that added jobs wakes idle workers when it commits: those of its own process through
``WORK_ADDED``, and on PostgreSQL those of every process through ``NOTIFY`` (``listen_for_work``).
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import psycopg
from sqlalchemy import Table, bindparam, delete, event, exists, or_, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from orderly.core.clock import utcnow
from orderly.core.db import engine_of, insert_rows
from orderly.core.errors import NotFound
from orderly.jobs.models import Job

#: How long a claim holds without renewal: a dead worker's job is taken over within this. Workers renew
#: it every ``LEASE / HEARTBEATS_PER_LEASE`` while the job runs, so a live one keeps its job.
LEASE = timedelta(seconds=10)
HEARTBEATS_PER_LEASE = 4
BACKOFF_BASE = 1.0  # seconds before the first retry
BACKOFF_CAP = 15 * 60.0

_COLUMNS = (
    "kind",
    "key",
    "shop_id",
    "payload",
    "status",
    "attempts",
    "max_attempts",
    "run_after",
    "created_at",
    "updated_at",
)
# Matches the partial unique index uq_jobs_queued_key: a queued job with the same key absorbs the new one.
_QUEUED_KEY = "(kind, key) WHERE status = 'queued' AND key IS NOT NULL"


@dataclass(frozen=True)
class NewJob:
    kind: str
    payload: dict[str, Any]
    key: str | None = None  # jobs with a key coalesce while queued
    shop_id: int | None = None
    delay: float = 0.0
    max_attempts: int = 12


log = logging.getLogger(__name__)

#: Set when a transaction that added jobs commits, so idle workers in this process start at once
#: instead of at their next look. On PostgreSQL the commit also notifies ``CHANNEL``, and each process's
#: listener sets it; on SQLite workers in other processes find the jobs at their next look.
WORK_ADDED = threading.Event()
CHANNEL = "orderly_jobs"
_LISTEN_WAIT = 0.5  # seconds between a listener's checks whether it is to stop
_RECONNECT_WAIT = 1.0


def _wake(_: Session) -> None:
    WORK_ADDED.set()


def enqueue(session: Session, jobs: Sequence[NewJob]) -> None:
    """Add jobs in the caller's transaction; one already queued under the same key absorbs a new one."""
    if not jobs:
        return
    event.listen(session, "after_commit", _wake, once=True)
    if session.get_bind().dialect.name == "postgresql":
        # Delivered at commit (never for a rollback), once per transaction however many enqueues ran.
        session.execute(text(f"NOTIFY {CHANNEL}"))
    now = utcnow()
    rows = [
        (
            j.kind,
            j.key,
            j.shop_id,
            j.payload,
            "queued",
            0,
            j.max_attempts,
            now + timedelta(seconds=j.delay),
            now,
            now,
        )
        for j in jobs
    ]
    insert_rows(session, Job, _COLUMNS, rows, conflict_target=_QUEUED_KEY)


def listen_for_work(factory: sessionmaker[Session]) -> Callable[[], None]:
    """On PostgreSQL, a thread with a connection of its own that LISTENs on ``CHANNEL`` and sets
    ``WORK_ADDED`` whenever a transaction of any process that added jobs commits, so idle workers here
    start at once; returns the function that stops it. Elsewhere nothing: SQLite's workers share one
    host and poll."""
    engine = engine_of(factory)
    if engine.dialect.name != "postgresql":
        return lambda: None
    url = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    stop = threading.Event()
    thread = threading.Thread(target=_listen, args=(url, stop), daemon=True, name="orderly-jobs-listener")
    thread.start()

    def stop_listening() -> None:
        stop.set()
        thread.join(timeout=2 * _LISTEN_WAIT)

    return stop_listening


def _listen(url: str, stop: threading.Event) -> None:
    while not stop.is_set():
        try:
            with psycopg.connect(url, autocommit=True) as connection:
                connection.execute(f"LISTEN {CHANNEL}")
                WORK_ADDED.set()  # jobs added while nobody listened (before, or while reconnecting)
                while not stop.is_set():
                    for _ in connection.notifies(timeout=_LISTEN_WAIT):
                        WORK_ADDED.set()
        except psycopg.Error:  # the database may be away for a moment: the workers poll meanwhile
            log.exception("jobs listener: listening for added jobs failed; listening again")
            stop.wait(_RECONNECT_WAIT)


@dataclass(frozen=True)
class Claimed:
    id: int
    kind: str
    key: str | None
    shop_id: int | None
    payload: dict[str, Any]
    attempts: int
    max_attempts: int


# The statements a worker runs for every claim and every job, built once: building one (the alias, the
# operators) costs a worker more than the database takes to answer it, and idle workers claim whenever
# any process adds a job. Core, on the table, so no ORM state is set up per call either.
_JOBS: Table = Job.__table__  # type: ignore[assignment]
_RUNNING = _JOBS.alias("running")
_KEY_BUSY = (
    exists()
    .where(_RUNNING.c.kind == _JOBS.c.kind, _RUNNING.c.key == _JOBS.c.key, _RUNNING.c.status == "running")
    .correlate(_JOBS)
)
_DUE = or_(
    (_JOBS.c.status == "queued") & (_JOBS.c.run_after <= bindparam("now")) & ~_KEY_BUSY,
    (_JOBS.c.status == "running") & (_JOBS.c.lease_until < bindparam("now")),
)
_DUE_IDS = select(_JOBS.c.id).where(_DUE).order_by(_JOBS.c.run_after, _JOBS.c.id).limit(bindparam("limit"))
_CLAIM_ANY = _DUE_IDS.with_for_update(skip_locked=True, of=_JOBS)
_CLAIM_KINDS = _DUE_IDS.where(_JOBS.c.kind.in_(bindparam("kinds", expanding=True))).with_for_update(
    skip_locked=True, of=_JOBS
)
_TAKE = (
    update(_JOBS)
    .where(_JOBS.c.id.in_(bindparam("ids", expanding=True)))
    .values(
        status="running",
        locked_by=bindparam("worker", type_=_JOBS.c.locked_by.type),
        lease_until=bindparam("lease_until", type_=_JOBS.c.lease_until.type),
        attempts=_JOBS.c.attempts + 1,
        updated_at=bindparam("now", type_=_JOBS.c.updated_at.type),
    )
    .returning(
        *(_JOBS.c[name] for name in ("id", "kind", "key", "shop_id", "payload", "attempts", "max_attempts"))
    )
)
_RENEW = (
    update(_JOBS)
    .where(
        _JOBS.c.id.in_(bindparam("ids", expanding=True)),
        _JOBS.c.status == "running",
        _JOBS.c.locked_by == bindparam("worker"),
    )
    .values(lease_until=bindparam("lease_until", type_=_JOBS.c.lease_until.type))
    .returning(_JOBS.c.id)
)
# The job as its claim holds it: a worker whose lease ran out and whose job was taken over since (the
# claim counted another attempt) changes nothing by finishing late.
_HELD = (
    (_JOBS.c.id == bindparam("job_id"))
    & (_JOBS.c.attempts == bindparam("job_attempts"))
    & (_JOBS.c.status == "running")
)
_COMPLETE = (
    update(_JOBS)
    .where(_HELD)
    .values(
        status="done",
        finished_at=bindparam("now", type_=_JOBS.c.finished_at.type),
        updated_at=bindparam("now", type_=_JOBS.c.updated_at.type),
        lease_until=None,
        last_error=None,
    )
)


def claim(
    session: Session,
    worker: str,
    kinds: Sequence[str] | None = None,
    limit: int = 10,
    *,
    lease: timedelta = LEASE,
) -> list[Claimed]:
    """Take up to ``limit`` due jobs (or jobs whose lease ran out) for ``worker``. A queued job waits
    while a job with its key runs (even one whose lease ran out: that one is taken over first)."""
    now = utcnow()
    if kinds:
        ids = list(session.scalars(_CLAIM_KINDS, {"now": now, "limit": limit, "kinds": list(kinds)}))
    else:
        ids = list(session.scalars(_CLAIM_ANY, {"now": now, "limit": limit}))
    if not ids:
        return []
    taken = {"ids": ids, "worker": worker, "lease_until": now + lease, "now": now}
    rows = session.execute(_TAKE, taken).all()
    return [Claimed(*row) for row in sorted(rows, key=lambda r: ids.index(r[0]))]


def renew(session: Session, worker: str, job_ids: Sequence[int], *, lease: timedelta = LEASE) -> list[int]:
    """Extend ``worker``'s leases on these running jobs; returns the ids it still holds."""
    if not job_ids:
        return []
    held = {"ids": list(job_ids), "worker": worker, "lease_until": utcnow() + lease}
    return list(session.scalars(_RENEW, held))


def _holding(job: Claimed) -> dict[str, Any]:
    return {"job_id": job.id, "job_attempts": job.attempts}


def complete(session: Session, job: Claimed) -> None:
    session.execute(_COMPLETE, _holding(job) | {"now": utcnow()})


def backoff(attempts: int, retry_after: float | None = None) -> float:
    """Seconds before the next try: the platform's word if it gave one, else exponential with jitter."""
    if retry_after is not None:
        return max(0.0, retry_after) + random.uniform(0, 0.25)
    ceiling = min(BACKOFF_CAP, BACKOFF_BASE * 2 ** max(0, attempts - 1))
    return random.uniform(ceiling / 2, ceiling)  # "equal jitter": never immediate, never in lockstep


def fail(
    session: Session, job: Claimed, error: str, *, retry_after: float | None = None, retryable: bool = True
) -> bool:
    """Record a failure; the job runs again later, or is dead. Returns True when it is dead."""
    now = utcnow()
    dead = not retryable or job.attempts >= job.max_attempts
    values: dict[str, Any] = {"last_error": error[:4000], "updated_at": now, "lease_until": None}
    retry_at = now + timedelta(seconds=backoff(job.attempts, retry_after))
    held = _holding(job)
    if dead or not _requeued(session, _HELD, held, values | {"status": "queued", "run_after": retry_at}):
        # Not requeued: a queued job with its key does the work.
        finished = {"status": "dead" if dead else "done", "finished_at": now}
        session.execute(update(_JOBS).where(_HELD).values(values | finished), held)
    return dead


def replay(session: Session, job_id: int) -> None:
    """Run a dead job again from scratch."""
    job = session.get(Job, job_id, with_for_update=True)
    if job is None or job.status != "dead":
        raise NotFound(f"no dead job {job_id}")
    now = utcnow()
    note = f"{job.last_error} (superseded on replay)"
    superseded = {"status": "done", "last_error": note, "updated_at": now}
    again = {"status": "queued", "attempts": 0, "run_after": now, "finished_at": None, "updated_at": now}
    if not _requeued(session, _JOBS.c.id == bindparam("job_id"), {"job_id": job_id}, again):
        session.execute(update(Job).where(Job.id == job_id).values(superseded))
    session.refresh(job)  # written through the table: the object reads what was written


def _requeued(session: Session, which: Any, params: dict[str, Any], values: dict[str, Any]) -> bool:
    """Put a job back in the queue, unless a queued job with its key is there already (False).

    Asking the unique index instead of looking first: a job queued by a concurrent transaction
    between a look and the write would make the write fail, and leave this job where it was."""
    try:
        with session.begin_nested():
            session.execute(update(_JOBS).where(which).values(values), params)
    except IntegrityError:
        return False  # uq_jobs_queued_key: the only constraint a status change can break
    return True


def list_jobs(
    session: Session, *, status: str | None = None, after_id: int = 0, limit: int = 100
) -> list[Job]:
    query = select(Job).where(Job.id > after_id).order_by(Job.id).limit(limit)
    if status:
        query = query.where(Job.status == status)
    return list(session.scalars(query))


def purge_finished(session: Session, *, older_than: timedelta = timedelta(days=7)) -> int:
    """Delete done jobs past their use; dead ones stay until replayed or looked at."""
    cutoff = utcnow() - older_than
    result = session.execute(delete(Job).where(Job.status == "done", Job.finished_at < cutoff))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def latest(session: Session, kind: str, keys: Sequence[str]) -> dict[str, Job]:
    """The newest job of this kind under each key (keys without one are left out)."""
    found: dict[str, Job] = {}
    query = select(Job).where(Job.kind == kind, Job.key.in_(list(keys))).order_by(Job.id.desc())
    for job in session.scalars(query):
        if job.key is not None:
            found.setdefault(job.key, job)
    return found


def running_keys(session: Session, kinds: Sequence[str]) -> set[tuple[str, str | None]]:
    """(kind, key) of every running job of these kinds."""
    query = select(Job.kind, Job.key).where(Job.status == "running", Job.kind.in_(list(kinds)))
    return {(kind, key) for kind, key in session.execute(query)}


def drop_queued(session: Session, kind: str, shop_id: int) -> None:
    """Delete the shop's queued jobs of this kind (a job about to replace them must not coalesce into one)."""
    session.execute(delete(Job).where(Job.kind == kind, Job.shop_id == shop_id, Job.status == "queued"))
