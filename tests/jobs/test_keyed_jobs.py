"""Jobs with one key: one runs at a time, and a job that fails or is replayed while another with its key
is being queued never ends stuck in 'running': it is requeued, or done because the queued one does
the work. The races are made to happen: the enqueue is held open until the failing transaction waits
on it (PostgreSQL), so the failure's write meets the newly queued job in the unique index."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlalchemy import select, text, update
from sqlalchemy.orm import Session, sessionmaker

from orderly.core.clock import utcnow
from orderly.core.db import transaction
from orderly.jobs import service as jobs
from orderly.jobs.models import Job


def _status(factory: sessionmaker[Session], job_id: int) -> str:
    with transaction(factory) as s:
        return s.scalars(select(Job.status).where(Job.id == job_id)).one()


def _claim_one(factory: sessionmaker[Session], kind: str = "push") -> jobs.Claimed:
    with transaction(factory) as s:
        (claimed,) = jobs.claim(s, "w", [kind], limit=1)
    return claimed


def _while_enqueue_pending(factory: sessionmaker[Session], work: Callable[[Session], None]) -> None:
    """Run ``work`` in a transaction of its own while another transaction has queued a job under key
    'k' and not committed yet; commit that one once ``work`` waits for it (PostgreSQL) or has
    started (SQLite: the write lock makes the two run one after the other)."""
    errors: list[BaseException] = []

    def run() -> None:
        try:
            with transaction(factory) as s:
                work(s)
        except BaseException as exc:  # reported in the test's thread
            errors.append(exc)

    with factory() as pending, pending.begin():
        jobs.enqueue(pending, [jobs.NewJob("push", {"v": "new"}, key="k")])
        pending.flush()
        thread = threading.Thread(target=run)
        thread.start()
        if pending.get_bind().dialect.name == "postgresql":
            deadline = time.monotonic() + 30
            while not _someone_waits_for_a_lock(pending) and thread.is_alive():
                assert time.monotonic() < deadline, "the failing transaction never reached the index"
                time.sleep(0.01)
        else:
            time.sleep(0.2)
    thread.join(timeout=60)
    assert not errors, errors


def _someone_waits_for_a_lock(session: Session) -> bool:
    query = text(
        "SELECT count(*) FROM pg_stat_activity"
        " WHERE wait_event_type = 'Lock' AND datname = current_database()"
    )
    with session.get_bind().connect() as conn:  # type: ignore[union-attr]
        return bool(conn.execute(query).scalar())


def test_a_failure_racing_an_enqueue_of_its_key_is_done_and_never_left_running(
    factory: sessionmaker[Session],
) -> None:
    with transaction(factory) as s:
        jobs.enqueue(s, [jobs.NewJob("push", {"v": "old"}, key="k")])
    failing = _claim_one(factory)

    _while_enqueue_pending(factory, lambda s: jobs.fail(s, failing, "platform said no"))

    assert _status(factory, failing.id) == "done"  # the newly queued job does the work
    with transaction(factory) as s:
        queued = s.scalars(select(Job.payload).where(Job.status == "queued")).all()
    assert queued == [{"v": "new"}]


def test_a_replay_racing_an_enqueue_of_its_key_is_done_and_the_queued_job_stays(
    factory: sessionmaker[Session],
) -> None:
    with transaction(factory) as s:
        jobs.enqueue(s, [jobs.NewJob("push", {"v": "old"}, key="k", max_attempts=1)])
    claimed = _claim_one(factory)
    with transaction(factory) as s:
        jobs.fail(s, claimed, "gave up")
    dead = claimed.id

    _while_enqueue_pending(factory, lambda s: jobs.replay(s, dead))

    with transaction(factory) as s:
        job = s.get(Job, dead)
        assert job is not None and job.status == "done" and "superseded on replay" in (job.last_error or "")
        assert s.scalars(select(Job.payload).where(Job.status == "queued")).all() == [{"v": "new"}]


def test_a_failure_or_replay_with_no_queued_job_of_its_key_is_queued_again(
    factory: sessionmaker[Session],
) -> None:
    with transaction(factory) as s:
        jobs.enqueue(s, [jobs.NewJob("push", {}, key="a"), jobs.NewJob("push", {}, key="b", max_attempts=1)])
    with transaction(factory) as s:
        retried, gave_up = jobs.claim(s, "w", ["push"])
    with transaction(factory) as s:
        assert jobs.fail(s, retried, "try later") is False
        assert jobs.fail(s, gave_up, "for good") is True
    assert (_status(factory, retried.id), _status(factory, gave_up.id)) == ("queued", "dead")
    with transaction(factory) as s:
        jobs.replay(s, gave_up.id)
    assert _status(factory, gave_up.id) == "queued"


def test_a_queued_job_waits_while_a_job_with_its_key_runs(factory: sessionmaker[Session]) -> None:
    with transaction(factory) as s:
        jobs.enqueue(s, [jobs.NewJob("push", {"v": 1}, key="k")])
    first = _claim_one(factory)
    with transaction(factory) as s:
        jobs.enqueue(s, [jobs.NewJob("push", {"v": 2}, key="k"), jobs.NewJob("push", {"v": 3}, key="other")])
    with transaction(factory) as s:
        assert [c.payload for c in jobs.claim(s, "w2", ["push"])] == [{"v": 3}]  # not the one behind k

    with transaction(factory) as s:  # the first one's worker died: its job is taken over before the next
        s.execute(update(Job).where(Job.id == first.id).values(lease_until=utcnow() - timedelta(seconds=1)))
    with transaction(factory) as s:
        (taken_over,) = jobs.claim(s, "w3", ["push"])
    assert taken_over.id == first.id
    with transaction(factory) as s:  # the first worker was not dead after all: its late word changes nothing
        jobs.complete(s, first)
        jobs.fail(s, first, "late")
        assert jobs.claim(s, "w4", ["push"]) == []
    assert _status(factory, first.id) == "running"
    with transaction(factory) as s:
        jobs.complete(s, taken_over)
        assert [c.payload for c in jobs.claim(s, "w3", ["push"])] == [{"v": 2}]


@pytest.mark.parametrize("held_by", ["w", "someone-else"])
def test_renewing_extends_only_the_workers_own_running_leases(
    factory: sessionmaker[Session], held_by: str
) -> None:
    with transaction(factory) as s:
        jobs.enqueue(s, [jobs.NewJob("push", {})])
    with transaction(factory) as s:
        (claimed,) = jobs.claim(s, held_by, ["push"], lease=timedelta(seconds=1))
    with transaction(factory) as s:
        kept = jobs.renew(s, "w", [claimed.id], lease=timedelta(minutes=5))
        lease_until = s.scalars(select(Job.lease_until).where(Job.id == claimed.id)).one()
    assert lease_until is not None
    if held_by == "w":
        assert kept == [claimed.id] and lease_until > utcnow() + timedelta(minutes=4)
    else:
        assert kept == [] and lease_until < utcnow() + timedelta(seconds=2)
