"""What a shop shows is what the hub last told it: a change reaches a listing at once unless it was
pushed within its coalescing window, where a burst of changes is one push per listing; a push whose
answer was lost is never taken as shown, and two pushes of one listing that overlap never leave the
record (or the shop) on the older figure."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from orderly.channels import service as shops
from orderly.channels import tasks
from orderly.channels.connector import ChannelError, PushResult, StockPush
from orderly.channels.models import ListingBinding
from orderly.channels.schemas import SyncSettings
from orderly.core.clock import utcnow
from orderly.core.db import transaction
from orderly.inventory import service as inventory
from orderly.jobs import service as jobs
from orderly.jobs.models import Job
from orderly.jobs.worker import Worker
from tests.channels.fake import FakeConnector, FakePlatform
from tests.channels.test_tasks import drain, platforms, worker

__all__ = ["platforms", "worker"]  # fixtures shared with the engine's other tests


def _receive(factory: sessionmaker[Session], quantity: int) -> None:
    with transaction(factory) as s:
        if quantity >= 0:
            inventory.receive(s, "SKU-1", "WH-1", quantity, actor="test", reason=None)
        else:
            inventory.adjust(s, "SKU-1", "WH-1", quantity, actor="test", reason="counted")


def _record(factory: sessionmaker[Session], listing_id: str) -> int | None:
    with transaction(factory) as s:
        query = select(ListingBinding.last_quantity).where(ListingBinding.listing_id == listing_id)
        return s.scalars(query).one()


def test_a_burst_within_the_coalescing_window_is_one_push_of_the_last_figure_per_listing(
    factory: sessionmaker[Session], worker: Worker, platforms: dict[str, FakePlatform]
) -> None:
    drain(worker)
    with transaction(factory) as s:
        for code in ("fake-a", "fake-b"):
            shop = shops.get_shop(s, code, lock=True)
            shop.settings = SyncSettings(poll_interval_s=3600, stock_coalesce_s=60).model_dump()
    for platform in platforms.values():
        platform.pushes.clear()

    started = utcnow()
    with transaction(factory) as s:  # every listing was just pushed: the burst falls within its window
        s.execute(update(ListingBinding).values(last_pushed_at=started))
    for n in range(20):  # the workers keep up with every change: only the window holds the pushes back
        _receive(factory, 1 + n % 3)
        drain(worker)
    with transaction(factory) as s:
        queued = (Job.kind == tasks.PUSH) & (Job.status == "queued")
        due = s.execute(select(Job.key, Job.run_after).where(queued)).all()
    assert len(due) == 4  # one per listing of both shops
    window = (started + timedelta(seconds=59), utcnow() + timedelta(seconds=60))
    assert all(window[0] <= run_after <= window[1] for _, run_after in due)
    assert all(platform.pushes == [] for platform in platforms.values())

    with transaction(factory) as s:  # the window has passed
        s.execute(update(Job).where(Job.kind == tasks.PUSH).values(run_after=utcnow()))
    drain(worker)

    received = sum(1 + n % 3 for n in range(20))  # SKU-1: 10 + 39 = 49; the kit: min(49 // 2, 10) = 10
    for code in ("fake-a", "fake-b"):
        assert sorted(platforms[code].pushes) == [(f"{code}-K1", 10), (f"{code}-L1", 10 + received)]


def test_a_change_reaches_a_listing_at_once_unless_it_was_pushed_within_the_window(
    factory: sessionmaker[Session], worker: Worker, platforms: dict[str, FakePlatform]
) -> None:
    drain(worker)
    with transaction(factory) as s:
        shop = shops.get_shop(s, "fake-a", lock=True)
        shop.settings = SyncSettings(poll_interval_s=3600, stock_coalesce_s=60).model_dump()
        s.execute(update(ListingBinding).values(last_pushed_at=utcnow() - timedelta(minutes=2)))
    platforms["fake-a"].pushes.clear()

    _receive(factory, 1)  # the last push was before the window: this one goes now
    drain(worker)
    assert ("fake-a-L1", 11) in platforms["fake-a"].pushes

    platforms["fake-a"].pushes.clear()
    _receive(factory, 1)  # pushed a moment ago: the next waits for the window to end
    _receive(factory, 1)
    drain(worker)
    assert [push for push in platforms["fake-a"].pushes if push[0] == "fake-a-L1"] == []
    with transaction(factory) as s:
        query = select(Job.run_after).where(
            Job.kind == tasks.PUSH, Job.status == "queued", Job.key == f"{shop.id}:fake-a-L1"
        )
        due = s.scalars(query).all()
    assert len(due) == 1  # the two changes coalesced
    assert due[0] >= utcnow() + timedelta(seconds=50)

    with transaction(factory) as s:  # the window has passed
        s.execute(update(Job).where(Job.kind == tasks.PUSH).values(run_after=utcnow()))
    drain(worker)
    assert ("fake-a-L1", 13) in platforms["fake-a"].pushes


def test_a_push_whose_answer_was_lost_is_not_taken_as_shown(
    factory: sessionmaker[Session],
    worker: Worker,
    platforms: dict[str, FakePlatform],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    drain(worker)
    assert platforms["fake-a"].stock["fake-a-L1"] == _record(factory, "fake-a-L1") == 10
    applied = FakeConnector.push_stock

    def applied_then_timed_out(self: FakeConnector, pushes: Sequence[StockPush]) -> list[PushResult]:
        applied(self, pushes)
        raise ChannelError("timed out")  # the platform took the figure; its answer never came

    monkeypatch.setattr(FakeConnector, "push_stock", applied_then_timed_out)
    _receive(factory, 1)
    drain(worker)
    assert platforms["fake-a"].stock["fake-a-L1"] == 11
    assert _record(factory, "fake-a-L1") is None  # unknown, not 10

    monkeypatch.setattr(FakeConnector, "push_stock", applied)
    _receive(factory, -1)  # back to the figure the record showed before the lost answer
    with transaction(factory) as s:
        s.execute(update(Job).where(Job.status == "queued").values(run_after=utcnow()))
    drain(worker)
    assert platforms["fake-a"].stock["fake-a-L1"] == _record(factory, "fake-a-L1") == 10


def test_a_push_overtaken_by_a_newer_one_never_leaves_the_older_figure_shown(
    factory: sessionmaker[Session],
    worker: Worker,
    platforms: dict[str, FakePlatform],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A worker stalls mid-push past its lease: the job is taken over and run to its end on newer
    figures, and the push that follows skips (the record shows the newer figure); then the stalled
    push's older figure reaches the platform last."""
    drain(worker)
    applied = FakeConnector.push_stock
    stalled: list[bool] = []

    def stalling_push(self: FakeConnector, pushes: Sequence[StockPush]) -> list[PushResult]:
        if pushes[0].listing_id == "fake-a-L1" and not stalled:
            stalled.append(True)
            _receive(factory, 5)  # stock changes while this push is out
            with transaction(factory) as s:  # and its lease runs out: another worker takes the job over
                s.execute(
                    update(Job)
                    .where(Job.kind == tasks.PUSH, Job.status == "running")
                    .values(lease_until=utcnow() - timedelta(seconds=1))
                )
            drain(worker)
        return applied(self, pushes)  # the older figure arrives last

    monkeypatch.setattr(FakeConnector, "push_stock", stalling_push)
    _receive(factory, 1)
    drain(worker)
    monkeypatch.setattr(FakeConnector, "push_stock", applied)
    drain(worker)

    sent = [quantity for listing, quantity in platforms["fake-a"].pushes if listing == "fake-a-L1"]
    assert stalled and sent[-3:] == [16, 11, 16]  # the newer, the older arriving last, then settled
    assert platforms["fake-a"].stock["fake-a-L1"] == _record(factory, "fake-a-L1") == 16


def test_a_resync_is_not_absorbed_by_a_push_waiting_out_its_window(
    factory: sessionmaker[Session], worker: Worker, platforms: dict[str, FakePlatform]
) -> None:
    drain(worker)
    with transaction(factory) as s:
        shop = shops.get_shop(s, "fake-a", lock=True)
        shop.settings = SyncSettings(poll_interval_s=3600, stock_coalesce_s=60).model_dump()
        shop_id = shop.id
    platforms["fake-a"].stock["fake-a-L1"] = 99  # someone edited the listing on the platform
    _receive(factory, 1)
    _receive(factory, -1)  # a push waits out its window, for the figure the record shows already
    drain(worker)

    with transaction(factory) as s:
        jobs.enqueue(s, [jobs.NewJob(tasks.RESYNC, {"shop_id": shop_id})])
    drain(worker)

    assert platforms["fake-a"].stock["fake-a-L1"] == 10
