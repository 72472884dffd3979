"""What becomes of a job whose handler fails, run through a worker on both databases: a job whose key
already has a queued job is done (the queued one does the work), any other is queued again after a
backoff, and past its attempts it is dead and alerts."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from orderly.alerts.models import Alert
from orderly.core.clock import utcnow
from orderly.core.db import transaction
from orderly.core.redact import remember
from orderly.jobs import registry
from orderly.jobs import service as jobs
from orderly.jobs.models import Job
from orderly.jobs.registry import JobContext
from orderly.jobs.service import Claimed
from orderly.jobs.worker import Worker

FLAKY, OTHER = "test_flaky", "test_other"


class Flaky:
    """A handler that fails as told and remembers the payloads it ran."""

    def __init__(self) -> None:
        self.ran: list[Any] = []
        self.failing = True
        self.while_running: Callable[[Session], None] | None = None

    def __call__(self, ctx: JobContext, job: Claimed) -> None:
        self.ran.append(job.payload["v"])
        if self.while_running is not None:
            with transaction(ctx.factory) as session:
                self.while_running(session)
            self.while_running = None
        if self.failing:
            raise RuntimeError(f"failed on {job.payload['v']}")


@pytest.fixture
def flaky(monkeypatch: pytest.MonkeyPatch) -> Flaky:
    handler = Flaky()
    monkeypatch.setitem(registry.load().handlers, FLAKY, handler)
    monkeypatch.setitem(registry.load().handlers, OTHER, handler)
    return handler


@pytest.fixture
def worker(factory: sessionmaker[Session], flaky: Flaky) -> Worker:
    return Worker(factory, name="test", idle_sleep=0)


def _enqueue(factory: sessionmaker[Session], *new: jobs.NewJob) -> None:
    with transaction(factory) as s:
        jobs.enqueue(s, list(new))


def _jobs(factory: sessionmaker[Session]) -> list[Job]:
    with transaction(factory) as s:
        found = list(s.scalars(select(Job).where(Job.kind.in_([FLAKY, OTHER])).order_by(Job.id)))
        s.expunge_all()
    return found


def _make_due(factory: sessionmaker[Session]) -> None:
    with transaction(factory) as s:
        s.execute(update(Job).where(Job.status == "queued").values(run_after=utcnow() - timedelta(seconds=1)))


def test_a_failed_job_whose_key_was_queued_again_is_done_and_the_queued_one_does_the_work(
    factory: sessionmaker[Session], worker: Worker, flaky: Flaky
) -> None:
    _enqueue(factory, jobs.NewJob(FLAKY, {"v": 1}, key="listing:1"))
    flaky.while_running = lambda s: jobs.enqueue(s, [jobs.NewJob(FLAKY, {"v": 2}, key="listing:1")])

    assert worker.run_once() == 1
    first, second = _jobs(factory)
    assert (first.status, second.status) == ("done", "queued")
    assert first.last_error is not None and "failed on 1" in first.last_error  # kept, though done

    flaky.failing = False
    assert worker.run_once() == 1  # the newer job runs now: no backoff stands in its way
    assert flaky.ran == [1, 2]
    assert [j.status for j in _jobs(factory)] == ["done", "done"]


def test_a_failed_job_with_nothing_queued_under_its_key_is_queued_again_after_a_backoff(
    factory: sessionmaker[Session], worker: Worker, flaky: Flaky
) -> None:
    _enqueue(factory, jobs.NewJob(FLAKY, {"v": 1}, key="listing:1"))
    before = utcnow()
    assert worker.run_once() == 1

    (job,) = _jobs(factory)
    assert (job.status, job.attempts) == ("queued", 1)
    assert job.last_error is not None and "failed on 1" in job.last_error
    assert job.run_after > before  # not at once: it waits its backoff
    assert worker.run_once() == 0  # and is not due yet

    _make_due(factory)
    flaky.failing = False
    assert worker.run_once() == 1
    (job,) = _jobs(factory)
    assert (job.status, job.attempts, flaky.ran) == ("done", 2, [1, 1])


@pytest.mark.parametrize(
    "beside",
    [
        jobs.NewJob(OTHER, {"v": 9}, key="listing:1"),  # the same key for another kind of work
        jobs.NewJob(FLAKY, {"v": 9}, key="listing:2"),  # another key
    ],
    ids=["another-kind", "another-key"],
)
def test_only_a_queued_job_of_the_same_kind_and_key_supersedes_a_failed_one(
    factory: sessionmaker[Session], worker: Worker, flaky: Flaky, beside: jobs.NewJob
) -> None:
    _enqueue(factory, jobs.NewJob(FLAKY, {"v": 1}, key="listing:1"))
    flaky.while_running = lambda s: jobs.enqueue(s, [beside])

    assert worker.run_once() == 1
    failed = _jobs(factory)[0]
    assert failed.payload == {"v": 1} and failed.status == "queued"


def test_a_job_of_the_same_key_that_already_finished_does_not_supersede_a_failed_one(
    factory: sessionmaker[Session], worker: Worker, flaky: Flaky
) -> None:
    _enqueue(factory, jobs.NewJob(FLAKY, {"v": 1}, key="listing:1"))
    flaky.failing = False
    assert worker.run_once() == 1  # done
    _enqueue(factory, jobs.NewJob(FLAKY, {"v": 2}, key="listing:1"))
    flaky.failing = True
    assert worker.run_once() == 1

    assert [(j.payload["v"], j.status) for j in _jobs(factory)] == [(1, "done"), (2, "queued")]


def test_a_job_without_a_key_is_queued_again(
    factory: sessionmaker[Session], worker: Worker, flaky: Flaky
) -> None:
    _enqueue(factory, jobs.NewJob(FLAKY, {"v": 1}))
    flaky.while_running = lambda s: jobs.enqueue(s, [jobs.NewJob(FLAKY, {"v": 2})])
    assert worker.run_once() == 1
    assert [(j.payload["v"], j.status) for j in _jobs(factory)] == [(1, "queued"), (2, "queued")]


def test_a_job_past_its_attempts_is_dead_and_alerts(
    factory: sessionmaker[Session], worker: Worker, flaky: Flaky
) -> None:
    _enqueue(factory, jobs.NewJob(FLAKY, {"v": 1}, key="listing:1", max_attempts=2))
    assert worker.run_once() == 1
    assert _jobs(factory)[0].status == "queued"  # one attempt left
    _make_due(factory)
    assert worker.run_once() == 1

    (job,) = _jobs(factory)
    assert (job.status, job.attempts) == ("dead", 2)
    assert job.finished_at is not None
    _make_due(factory)
    assert worker.run_once() == 0  # a dead job waits for a person
    with transaction(factory) as s:
        alerts = s.scalars(select(Alert.subject).where(Alert.kind == "job_dead")).all()
    assert alerts == [f"job:{job.id}"]


def test_a_failure_that_names_a_secret_is_stored_and_alerted_without_it(
    factory: sessionmaker[Session], worker: Worker, flaky: Flaky, monkeypatch: pytest.MonkeyPatch
) -> None:
    remember("shpat_jobsecret0123456789")
    monkeypatch.setattr(flaky, "failing", False)
    monkeypatch.setitem(
        registry.load().handlers, OTHER, _raises(RuntimeError("sent header b'shpat_jobsecret0123456789'"))
    )
    _enqueue(factory, jobs.NewJob(OTHER, {"v": 1}, max_attempts=1))
    worker.run_once()

    (job,) = _jobs(factory)
    with transaction(factory) as s:
        (alert,) = s.scalars(select(Alert.message).where(Alert.kind == "job_dead")).all()
    assert job.last_error == "RuntimeError: sent header b'[redacted]'"
    assert "jobsecret" not in alert


def _raises(exc: Exception) -> Callable[[JobContext, Claimed], None]:
    def handler(ctx: JobContext, job: Claimed) -> None:
        raise exc

    return handler


def test_a_failure_whose_text_holds_a_nul_is_stored_and_alerted_with_it_escaped(
    factory: sessionmaker[Session], worker: Worker, flaky: Flaky, monkeypatch: pytest.MonkeyPatch
) -> None:
    # PostgreSQL text cannot hold NUL: stored raw, the failure itself would fail and the job stay claimed.
    monkeypatch.setattr(flaky, "failing", False)
    monkeypatch.setitem(registry.load().handlers, OTHER, _raises(ValueError("no order 'A\x00B'")))
    _enqueue(factory, jobs.NewJob(OTHER, {"v": 1}, max_attempts=1))
    worker.run_once()

    (job,) = _jobs(factory)
    with transaction(factory) as s:
        (alert,) = s.scalars(select(Alert.message).where(Alert.kind == "job_dead")).all()
    assert (job.status, job.last_error) == ("dead", "ValueError: no order 'A\\u0000B'")
    assert "A\\u0000B" in alert
