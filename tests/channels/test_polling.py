"""Polls and backfills on both databases, against the in-memory platform: what was fetched goes in
even when a later request fails, the cursor moves to the last point read whole, waiting for the rate
limit is no failure, the first poll's reach is a setting, and a backfill imports from a chosen date."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from orderly.alerts.models import Alert
from orderly.api import create_app
from orderly.auth.domain import Scope
from orderly.auth.service import create_token
from orderly.channels import backfills, tasks
from orderly.channels import service as shops
from orderly.channels.models import Shop
from orderly.channels.schemas import BackfillIn, SyncSettings
from orderly.core.clock import utcnow
from orderly.core.db import transaction
from orderly.core.errors import Conflict, DomainError
from orderly.jobs.models import Job
from orderly.jobs.worker import Worker
from orderly.orders.models import Order
from tests.channels.fake import FakePlatform
from tests.channels.test_tasks import drain
from tests.factories import order


def _put(platform: FakePlatform, external_id: str, age: timedelta) -> None:
    when = (utcnow() - age).isoformat()
    platform.put({**order(shop="fake-a", external_id=external_id), "placed_at": when, "updated_at": when})


def _imported(factory: sessionmaker[Session]) -> set[str]:
    with transaction(factory) as s:
        return set(s.scalars(select(Order.external_id)))


def _shop(factory: sessionmaker[Session], code: str = "fake-a") -> Shop:
    with transaction(factory) as s:
        shop = shops.get_shop(s, code)
        s.expunge(shop)
        return shop


def _settings(factory: sessionmaker[Session], **changes: Any) -> None:
    with transaction(factory) as s:
        shop = shops.get_shop(s, "fake-a", lock=True)
        shop.settings = SyncSettings.model_validate({**shop.settings, **changes}).model_dump()


def _retry_now(factory: sessionmaker[Session]) -> None:
    with transaction(factory) as s:
        s.execute(update(Job).where(Job.status == "queued").values(run_after=utcnow() - timedelta(seconds=1)))


def test_pages_fetched_before_a_failure_go_in_and_the_rest_come_with_the_next_poll(
    factory: sessionmaker[Session], worker: Worker, platforms: dict[str, FakePlatform]
) -> None:
    for n in range(5):  # three pages of two
        _put(platforms["fake-a"], f"A{n}", timedelta(hours=1, minutes=n))
    platforms["fake-a"].failing = lambda after, before, cursor: cursor == "4"  # the last page: 500
    drain(worker)

    assert len(_imported(factory)) == 4  # the first two pages went in although the poll failed
    with transaction(factory) as s:
        poll = s.scalars(select(Job).where(Job.kind == tasks.POLL, Job.status == "queued")).one()
        assert "HTTP 500" in (poll.last_error or "")
    platforms["fake-a"].failing = lambda after, before, cursor: False
    _retry_now(factory)
    drain(worker)
    assert _imported(factory) == {f"A{n}" for n in range(5)}


def test_the_cursor_moves_to_the_last_slice_read_whole_and_the_next_poll_goes_on_from_there(
    factory: sessionmaker[Session], worker: Worker, platforms: dict[str, FakePlatform]
) -> None:
    now = utcnow()
    for external_id, days in (("OLD", 20), ("MID", 10), ("NEW", 1)):
        _put(platforms["fake-a"], external_id, timedelta(days=days))
    broken = now - timedelta(days=5)  # every window starting after this answers 500
    platforms["fake-a"].failing = lambda after, before, cursor: after > broken
    drain(worker)

    assert _imported(factory) == {"OLD", "MID"}
    failed_from = next(after for after, _, _ in platforms["fake-a"].fetches if after > broken)  # a 500
    assert _shop(factory).orders_synced_to == failed_from  # every order updated before it is in
    reached = failed_from
    platforms["fake-a"].failing = lambda after, before, cursor: False
    platforms["fake-a"].fetches.clear()
    _retry_now(factory)
    drain(worker)

    assert _imported(factory) == {"OLD", "MID", "NEW"}
    overlap = timedelta(seconds=SyncSettings().overlap_s)
    first_after = platforms["fake-a"].fetches[0][0]
    assert first_after == reached - overlap  # not the first poll's start again


def test_waiting_for_the_rate_limit_is_no_failure_the_poll_goes_on_later(
    factory: sessionmaker[Session], worker: Worker, platforms: dict[str, FakePlatform]
) -> None:
    _settings(factory, first_poll_days=14, rate_limits={"orders": (0.001, 1)})  # one call, then ~17 min
    drain(worker)

    shop_id = _shop(factory).id
    with transaction(factory) as s:
        polls = s.execute(
            select(Job.status, Job.attempts, Job.run_after, Job.last_error).where(
                Job.kind == tasks.POLL, Job.shop_id == shop_id
            )
        ).all()
        alerts = s.scalars(select(Alert.kind)).all()
    done, waiting = sorted(polls)
    assert (done.status, done.last_error) == ("done", None)  # the paced poll did not fail
    assert (waiting.status, waiting.attempts) == ("queued", 0)
    assert waiting.run_after > utcnow() + timedelta(minutes=10)  # when the budget allows
    assert "job_dead" not in alerts
    assert _shop(factory).orders_synced_to is not None  # the slice it read counts


def test_the_first_poll_reaches_back_as_far_as_the_setting(
    factory: sessionmaker[Session], worker: Worker, platforms: dict[str, FakePlatform]
) -> None:
    _settings(factory, first_poll_days=3)
    _put(platforms["fake-a"], "TWO-DAYS", timedelta(days=2))
    _put(platforms["fake-a"], "FIVE-DAYS", timedelta(days=5))
    drain(worker)
    assert _imported(factory) == {"TWO-DAYS"}
    assert SyncSettings().first_poll_days == 30


def _backfill(factory: sessionmaker[Session], since: Any, until: Any = None) -> int:
    with transaction(factory) as s:
        return backfills.start_backfill(
            s, "fake-a", BackfillIn.model_validate({"since": since, "until": until})
        ).id


def _progress(factory: sessionmaker[Session], backfill_id: int) -> Any:
    with transaction(factory) as s:
        (found,) = backfills.backfills(s, "fake-a", backfill_id)
    return found


def test_a_backfill_imports_from_the_chosen_date_slice_by_slice_going_on_after_a_failure(
    factory: sessionmaker[Session], worker: Worker, platforms: dict[str, FakePlatform]
) -> None:
    drain(worker)  # the first poll: the last 30 days
    for external_id, days in (("Y1", 400), ("Y2", 200), ("Y3", 100), ("M1", 40)):
        _put(platforms["fake-a"], external_id, timedelta(days=days))
    since = utcnow() - timedelta(days=365)
    broken = utcnow() - timedelta(days=150)
    platforms["fake-a"].failing = lambda after, before, cursor: after > broken
    backfill_id = _backfill(factory, since.isoformat())
    drain(worker)

    half = _progress(factory, backfill_id)
    assert (half.status, half.orders) == ("running", 1)
    assert _imported(factory) == {"Y2"}
    # Every order updated before the window that answered 500 is in; the progress bar shows as much.
    assert half.reached == platforms["fake-a"].fetches[-1][0] > broken and 0.4 < half.progress < 0.7
    assert "HTTP 500" in (half.last_error or "")
    platforms["fake-a"].failing = lambda after, before, cursor: False
    platforms["fake-a"].fetches.clear()
    _retry_now(factory)
    drain(worker)

    done = _progress(factory, backfill_id)
    assert (done.status, done.progress, done.orders, done.last_error) == ("done", 1.0, 3, None)
    assert _imported(factory) == {"Y2", "Y3", "M1"}  # Y1 is older than the date chosen
    assert platforms["fake-a"].fetches[0][0] == half.reached  # it went on from where it got to


def test_a_backfill_is_refused_when_it_cannot_run(
    factory: sessionmaker[Session], worker: Worker, platforms: dict[str, FakePlatform]
) -> None:
    with pytest.raises(DomainError, match="since must be before"):
        _backfill(factory, (utcnow() + timedelta(days=1)).isoformat())
    first = _backfill(factory, "2025-01-01")
    with pytest.raises(Conflict, match=f"backfill {first}"):
        _backfill(factory, "2025-06-01")
    with transaction(factory) as s:
        shops.get_shop(s, "fake-b", lock=True).sync_enabled = False
        with pytest.raises(DomainError, match="does not sync"):
            backfills.start_backfill(s, "fake-b", BackfillIn(since=utcnow() - timedelta(days=1)))
    # A plain date counts from its first moment anywhere on earth (UTC+14).
    assert _progress(factory, first).since == datetime.fromisoformat("2024-12-31T10:00:00+00:00")


def test_a_backfill_over_the_api_returns_its_job_and_its_progress(
    factory: sessionmaker[Session], worker: Worker, platforms: dict[str, FakePlatform]
) -> None:
    _put(platforms["fake-a"], "OLD", timedelta(days=90))
    with transaction(factory) as s:
        token = create_token(s, "tester", scope=Scope.WRITE).token
    headers = {"Authorization": f"Bearer {token}"}
    with TestClient(create_app(factory=factory, workers=0), headers=headers) as client:
        started = client.post("/api/v1/shops/fake-a/backfills", json={"since": "2025-01-01"})
        assert started.status_code == 202, started.text
        body = started.json()
        assert (body["status"], body["progress"], body["orders"]) == ("running", 0.0, 0)
        assert body["job_id"] is not None
        drain(worker)
        read = client.get(f"/api/v1/shops/fake-a/backfills/{body['id']}").json()
        listed = client.get("/api/v1/shops/fake-a/backfills").json()
        missing = client.get("/api/v1/shops/fake-a/backfills/999")
        refused = client.post("/api/v1/shops/fake-a/backfills", json={"since": "not a date"})

    assert (read["status"], read["progress"], read["orders"]) == ("done", 1.0, 1)
    assert [b["id"] for b in listed] == [body["id"]]
    assert missing.status_code == 404 and refused.status_code == 422
    assert "OLD" in _imported(factory)
