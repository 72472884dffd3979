"""Short leases renewed by a heartbeat: a live worker keeps its job past the first lease, and a worker
killed mid-job (SIGKILL: no cleanup of any kind) leaves a lease that ends within one lease of its
death, after which another worker takes the job."""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
import time
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from orderly.core.clock import utcnow
from orderly.core.db import make_engine, make_session_factory, transaction
from orderly.jobs import service as jobs
from orderly.jobs.models import Job
from orderly.jobs.registry import Registry
from orderly.jobs.worker import Worker

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("races")]

LEASE = timedelta(seconds=2)
HANG = "test_hang"


def _hang_forever(url: str) -> None:
    """A worker process whose one job never ends."""
    hangs = Registry(handlers={HANG: lambda ctx, job: time.sleep(3600)})
    factory = make_session_factory(make_engine(url))
    worker = Worker(factory, name="doomed", lease=LEASE, idle_sleep=0.05, registry=hangs)
    worker.run(threading.Event())


def _lease_of(factory: sessionmaker[Session], job_id: int) -> tuple[str, str | None, datetime | None]:
    with transaction(factory) as s:
        row = s.execute(select(Job.status, Job.locked_by, Job.lease_until).where(Job.id == job_id)).one()
    return row.status, row.locked_by, row.lease_until


def _wait_until(moment: datetime) -> None:
    time.sleep(max(0.0, (moment - utcnow()).total_seconds()) + 0.05)


def test_a_worker_killed_mid_job_gives_it_up_within_one_lease(
    factory: sessionmaker[Session], db_url: str
) -> None:
    with transaction(factory) as s:
        jobs.enqueue(s, [jobs.NewJob(HANG, {})])
        job_id = s.scalars(select(Job.id)).one()
    process = multiprocessing.get_context("spawn").Process(target=_hang_forever, args=(db_url,))
    process.start()
    try:
        deadline = time.monotonic() + 120
        while _lease_of(factory, job_id)[1] != "doomed":
            assert process.is_alive() and time.monotonic() < deadline, "the worker never took the job"
            time.sleep(0.05)
        _, _, first_lease = _lease_of(factory, job_id)
        assert first_lease is not None

        # Past the lease it was claimed with, the job is still the live worker's: the heartbeat renewed it.
        _wait_until(first_lease)
        with transaction(factory) as s:
            assert jobs.claim(s, "rescuer", [HANG]) == []
        status, holder, renewed = _lease_of(factory, job_id)
        assert (status, holder) == ("running", "doomed") and renewed is not None and renewed > first_lease

        os.kill(process.pid, signal.SIGKILL)
        process.join(timeout=30)
        killed_at = utcnow()
        _, _, last_lease = _lease_of(factory, job_id)
        assert last_lease is not None and last_lease <= killed_at + LEASE  # the bound the setting gives

        _wait_until(last_lease)
        with transaction(factory) as s:
            (taken,) = jobs.claim(s, "rescuer", [HANG])
        assert (taken.id, taken.attempts) == (job_id, 2)
        assert _lease_of(factory, job_id)[:2] == ("running", "rescuer")
    finally:
        if process.is_alive():
            process.kill()
            process.join()
