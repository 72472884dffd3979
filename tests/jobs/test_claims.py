"""Workers in several OS processes share one job table: every job is claimed and finished exactly once,
and jobs with one key coalesce while queued."""

from __future__ import annotations

import multiprocessing
from collections import Counter

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from orderly.core.db import make_engine, make_session_factory, transaction
from orderly.jobs import service as jobs
from orderly.jobs.models import Job

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("races")]
WORKERS = 6
JOBS = 300
FOREVER = 1_000_000  # attempts: the flaky job never gives up


def _claim_all(url: str, name: str, start: object) -> list[int]:
    factory = make_session_factory(make_engine(url))
    start.wait()  # type: ignore[attr-defined]
    done: list[int] = []
    while True:
        with transaction(factory) as s:
            claimed = jobs.claim(s, name, ["race"], limit=5)
        if not claimed:
            return done
        with transaction(factory) as s:
            for job in claimed:
                jobs.complete(s, job)
                done.append(job.id)


def test_concurrent_workers_run_each_job_exactly_once(factory: sessionmaker[Session], db_url: str) -> None:
    with transaction(factory) as s:
        jobs.enqueue(s, [jobs.NewJob("race", {"n": n}) for n in range(JOBS)])
    context = multiprocessing.get_context("spawn")
    with context.Manager() as manager:
        start = manager.Event()
        with context.Pool(WORKERS) as pool:
            results = [pool.apply_async(_claim_all, (db_url, f"w{n}", start)) for n in range(WORKERS)]
            start.set()
            claimed = [job_id for result in results for job_id in result.get(timeout=120)]

    assert len(claimed) == JOBS
    assert Counter(claimed).most_common(1)[0][1] == 1  # nobody ran a job another worker ran
    with transaction(factory) as s:
        assert s.scalar(select(func.count()).select_from(Job).where(Job.status != "done")) == 0


def test_jobs_with_one_key_coalesce_while_queued(factory: sessionmaker[Session]) -> None:
    with transaction(factory) as s:
        jobs.enqueue(s, [jobs.NewJob("push", {"v": v}, key="shop:listing") for v in range(50)])
        jobs.enqueue(s, [jobs.NewJob("push", {"v": 99}, key="shop:other")])
    with transaction(factory) as s:
        assert s.scalar(select(func.count()).select_from(Job).where(Job.status == "queued")) == 2
        (claimed,) = jobs.claim(s, "w", ["push"], limit=1)
    with transaction(factory) as s:
        jobs.enqueue(s, [jobs.NewJob("push", {"v": 100}, key=claimed.key)])  # a change while one runs
        assert s.scalar(select(func.count()).select_from(Job).where(Job.key == claimed.key)) == 2


def _fail_each(url: str, name: str, start: object, rounds: int) -> list[str]:
    """Claim the flaky job and fail it, again and again; the errors the failures raised."""
    factory = make_session_factory(make_engine(url))
    start.wait()  # type: ignore[attr-defined]
    errors = []
    for _ in range(rounds):
        with transaction(factory) as s:
            claimed = jobs.claim(s, name, ["flaky"], limit=1)
        for job in claimed:
            try:
                with transaction(factory) as s:
                    jobs.fail(s, job, "platform down", retry_after=0)
            except Exception as exc:  # reported to the test
                errors.append(f"{type(exc).__name__}: {exc}"[:200])
    return errors


def _enqueue_each(url: str, start: object, rounds: int) -> list[str]:
    factory = make_session_factory(make_engine(url))
    start.wait()  # type: ignore[attr-defined]
    for _ in range(rounds):
        with transaction(factory) as s:
            jobs.enqueue(s, [jobs.NewJob("flaky", {}, key="listing", max_attempts=FOREVER)])
    return []


def test_failures_racing_enqueues_of_their_key_never_leave_a_job_running(
    factory: sessionmaker[Session], db_url: str
) -> None:
    with transaction(factory) as s:
        jobs.enqueue(s, [jobs.NewJob("flaky", {}, key="listing", max_attempts=FOREVER)])
    context = multiprocessing.get_context("spawn")
    with context.Manager() as manager:
        start = manager.Event()
        with context.Pool(WORKERS) as pool:
            results = [pool.apply_async(_fail_each, (db_url, f"w{n}", start, 150)) for n in range(3)]
            results += [pool.apply_async(_enqueue_each, (db_url, start, 300)) for _ in range(3)]
            start.set()
            errors = [error for result in results for error in result.get(timeout=300)]

    assert errors == []
    with transaction(factory) as s:
        assert s.scalar(select(func.count()).select_from(Job).where(Job.status == "running")) == 0
        # The key's work is never lost: one job is left to do it (the others were absorbed or superseded).
        assert s.scalar(select(func.count()).select_from(Job).where(Job.status == "queued")) == 1
