"""Durable jobs in our own database, so a state change and the side effects it needs commit together.

``enqueue`` writes a job in the caller's transaction (the outbox); workers ``claim`` due jobs under a
lease (PostgreSQL: ``FOR UPDATE SKIP LOCKED``, so any number of workers on any number of machines
share the table; SQLite: the write lock serialises claims), run each in a transaction of its own,
then ``complete`` or ``fail`` it. A failed job is retried with exponential backoff and jitter, or at
the platform's ``Retry-After``; after ``max_attempts`` it is dead: kept with its last error, visible,
and ``replay``-able. A worker that dies leaves its lease to expire, and another worker takes the job.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, event, or_, select, update
from sqlalchemy.orm import Session

from orderly.core.clock import utcnow
from orderly.core.db import insert_rows
from orderly.core.errors import NotFound
from orderly.jobs.models import Job

LEASE = timedelta(seconds=60)
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


#: Set when a transaction that added jobs commits, so workers in this process start at once instead of
#: at their next look; workers elsewhere find the jobs at their next look.
WORK_ADDED = threading.Event()


def _wake(_: Session) -> None:
    WORK_ADDED.set()


def enqueue(session: Session, jobs: Sequence[NewJob]) -> None:
    """Add jobs in the caller's transaction; one already queued under the same key absorbs a new one."""
    if not jobs:
        return
    event.listen(session, "after_commit", _wake, once=True)
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


@dataclass(frozen=True)
class Claimed:
    id: int
    kind: str
    key: str | None
    shop_id: int | None
    payload: dict[str, Any]
    attempts: int
    max_attempts: int


def claim(
    session: Session, worker: str, kinds: Sequence[str] | None = None, limit: int = 10
) -> list[Claimed]:
    """Take up to ``limit`` due jobs (or jobs whose lease ran out) for ``worker``."""
    now = utcnow()
    due = or_(
        (Job.status == "queued") & (Job.run_after <= now),
        (Job.status == "running") & (Job.lease_until < now),
    )
    query = select(Job.id).where(due).order_by(Job.run_after, Job.id).limit(limit)
    if kinds:
        query = query.where(Job.kind.in_(kinds))
    query = query.with_for_update(skip_locked=True)
    ids = list(session.scalars(query))
    if not ids:
        return []
    rows = session.execute(
        update(Job)
        .where(Job.id.in_(ids))
        .values(
            status="running",
            locked_by=worker,
            lease_until=now + LEASE,
            attempts=Job.attempts + 1,
            updated_at=now,
        )
        .returning(Job.id, Job.kind, Job.key, Job.shop_id, Job.payload, Job.attempts, Job.max_attempts)
    ).all()
    return [Claimed(*row) for row in sorted(rows, key=lambda r: ids.index(r[0]))]


def complete(session: Session, job_id: int) -> None:
    now = utcnow()
    session.execute(
        update(Job)
        .where(Job.id == job_id)
        .values(status="done", finished_at=now, updated_at=now, lease_until=None, last_error=None)
    )


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
    if not dead and _superseded(session, job.kind, job.key):
        values |= {"status": "done", "finished_at": now}  # a newer queued job with its key does the work
    elif dead:
        values |= {"status": "dead", "finished_at": now}
    else:
        values |= {
            "status": "queued",
            "run_after": now + timedelta(seconds=backoff(job.attempts, retry_after)),
        }
    session.execute(update(Job).where(Job.id == job.id).values(values))
    return dead


def replay(session: Session, job_id: int) -> None:
    """Run a dead job again from scratch."""
    job = session.get(Job, job_id, with_for_update=True)
    if job is None or job.status != "dead":
        raise NotFound(f"no dead job {job_id}")
    now = utcnow()
    if _superseded(session, job.kind, job.key):
        job.status, job.last_error, job.updated_at = "done", f"{job.last_error} (superseded on replay)", now
        return
    job.status, job.attempts, job.run_after, job.finished_at, job.updated_at = "queued", 0, now, None, now


def _superseded(session: Session, kind: str, key: str | None) -> bool:
    if key is None:
        return False
    query = select(Job.id).where(Job.kind == kind, Job.key == key, Job.status == "queued").limit(1)
    return session.scalar(query) is not None


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
