"""Idle workers start as soon as a transaction that added jobs commits: in their own process through
``WORK_ADDED``; on PostgreSQL in every process through LISTEN/NOTIFY, while SQLite's workers in other
processes find the jobs at their next look."""

from __future__ import annotations

import multiprocessing
import threading
import time
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from orderly.core.db import engine_of, make_engine, make_session_factory, transaction
from orderly.jobs import service as jobs
from orderly.jobs.models import Job
from orderly.jobs.registry import Registry
from orderly.jobs.worker import Worker

NOTED = "test_noted"
#: Workers here run only NOTED jobs, which do nothing.
NOTED_ONLY = Registry(handlers={NOTED: lambda ctx, job: None})
AT_ONCE = 5.0  # seconds: far below a PostgreSQL worker's idle wait here, so only a wake-up explains it


def _idle_wait(url: str) -> float:
    """How long the workers here wait between looks when nothing wakes them: on PostgreSQL longer than
    any test, so a job run in time proves the notification; on SQLite polling is the way across."""
    return 600.0 if url.startswith("postgresql") else 0.2


def _idle_worker(url: str, name: str, started: Any) -> None:
    """A worker process that runs jobs of kind NOTED and waits ``_idle_wait`` between empty looks."""
    factory = make_session_factory(make_engine(url))
    jobs.listen_for_work(factory)
    worker = Worker(factory, name=name, idle_sleep=_idle_wait(url), registry=NOTED_ONLY)
    started.set()
    worker.run(threading.Event())


def _add(factory: sessionmaker[Session], n: int) -> None:
    with transaction(factory) as s:
        jobs.enqueue(s, [jobs.NewJob(NOTED, {"n": n})])


def _done(factory: sessionmaker[Session]) -> list[tuple[str, int, str | None]]:
    with transaction(factory) as s:
        rows = s.execute(select(Job.status, Job.attempts, Job.locked_by).where(Job.kind == NOTED))
        return [(status, attempts, worker) for status, attempts, worker in rows]


def _wait_until_done(factory: sessionmaker[Session], count: int, within: float) -> float:
    """Seconds until ``count`` NOTED jobs are done; fails past ``within``."""
    started = time.monotonic()
    while sum(status == "done" for status, _, _ in _done(factory)) < count:
        assert time.monotonic() - started < within, f"not done within {within} s: {_done(factory)}"
        time.sleep(0.01)
    return time.monotonic() - started


@pytest.mark.slow
@pytest.mark.xdist_group("races")
def test_idle_workers_in_other_processes_start_at_once_and_share_the_jobs(
    factory: sessionmaker[Session], db_url: str
) -> None:
    context = multiprocessing.get_context("spawn")
    started = [context.Event() for _ in range(2)]
    processes = [
        context.Process(target=_idle_worker, args=(db_url, f"idle-{n}", event), daemon=True)
        for n, event in enumerate(started)
    ]
    for process in processes:
        process.start()
    try:
        for event in started:
            assert event.wait(60), "a worker process did not start"
        _add(factory, 0)
        _wait_until_done(factory, 1, 60)  # both listening and idle from here on
        time.sleep(1.0)
        for n in range(1, 31):
            _add(factory, n)  # one commit each, while both workers wait idle or run the last one
            time.sleep(0.01 * (n % 3))
        assert _wait_until_done(factory, 31, AT_ONCE) < AT_ONCE
        # Each ran once, by one worker: the claim decides between the woken workers.
        assert all(status == "done" and attempts == 1 for status, attempts, _ in _done(factory))
    finally:
        for process in processes:
            process.kill()
            process.join()


def test_an_idle_worker_starts_at_once_on_a_job_added_in_its_own_process(
    factory: sessionmaker[Session],
) -> None:
    stop = threading.Event()
    worker = Worker(factory, name="idle", idle_sleep=600.0, registry=NOTED_ONLY)
    thread = threading.Thread(target=worker.run, args=(stop,), daemon=True)
    thread.start()
    try:
        time.sleep(0.5)  # the worker has looked, found nothing and waits
        _add(factory, 1)
        assert _wait_until_done(factory, 1, AT_ONCE) < AT_ONCE
    finally:
        stop.set()
        jobs.WORK_ADDED.set()
        thread.join(timeout=10)


def test_a_rolled_back_transaction_notifies_nobody(factory: sessionmaker[Session]) -> None:
    jobs.WORK_ADDED.clear()
    with pytest.raises(RuntimeError), transaction(factory) as s:
        jobs.enqueue(s, [jobs.NewJob(NOTED, {})])
        raise RuntimeError("changed my mind")
    assert not jobs.WORK_ADDED.is_set()
    with transaction(factory) as s:
        assert s.scalar(select(func.count()).select_from(Job)) == 0


def test_only_postgresql_has_a_listener(factory: sessionmaker[Session]) -> None:
    stop_listening = jobs.listen_for_work(factory)
    try:
        listening = any(t.name == "orderly-jobs-listener" for t in threading.enumerate())
        assert listening == (engine_of(factory).dialect.name == "postgresql")
    finally:
        stop_listening()
