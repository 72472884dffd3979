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
