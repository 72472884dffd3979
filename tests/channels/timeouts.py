"""A poll that times out for real, as the end-to-end tests of the platform sandboxes make one: the hub
waits a fraction of a second for an answer, and the sandbox answers later than that."""

from __future__ import annotations

import time

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from orderly.channels import service as shops
from orderly.channels import tasks
from orderly.channels.models import ShopHealth
from orderly.core.db import transaction
from orderly.jobs.models import Job
from orderly.jobs.worker import Worker
from orderly.orders.models import Order

#: How long the hub waits for a platform's answer in these tests, and how long the sandbox takes: a poll
#: whose every try times out fails in about two seconds, its tries in place included.
PATIENCE = 0.3
SLOWER = 1.0


def impatient(monkeypatch: pytest.MonkeyPatch, worker: Worker) -> None:
    """The worker's platform calls from now on give up after ``PATIENCE`` seconds."""
    monkeypatch.setattr(shops, "TIMEOUT", httpx.Timeout(PATIENCE))
    worker.close()  # it lets go of the clients it kept: the next job builds one with the short timeout


def poll_times_out(factory: sessionmaker[Session], worker: Worker, shop_code: str) -> None:
    """Polls the shop (its platform answering slower than ``PATIENCE``) until the poll fails, and checks
    that it failed as a timeout the hub tries again: the job queued for a later try, not dead, and the
    shop's order health counting the failure."""
    with transaction(factory) as s:
        shop_id = shops.get_shop(s, shop_code).id
        tasks.poll_soon(s, shop_id)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        worker.run_once()
        with transaction(factory) as s:
            failed = s.scalar(
                select(Job).where(Job.kind == tasks.POLL, Job.shop_id == shop_id, Job.last_error.is_not(None))
            )
            if failed is None:
                continue
            health = s.get(ShopHealth, (shop_id, "orders"))
            assert failed.status == "queued" and failed.attempts == 1, (failed.status, failed.attempts)
            assert "timed out" in (failed.last_error or ""), failed.last_error
            assert health is not None and health.failures == 1 and "timed out" in (health.last_error or "")
            return
    raise AssertionError("the poll did not fail")


def each_arrived_once(factory: sessionmaker[Session], placed: list[str]) -> None:
    """After the poll's next try: every order placed is in the hub exactly once, and the shop's order
    health is back to no failures."""
    with transaction(factory) as s:
        arrived = s.scalars(select(Order.external_id).where(Order.external_id.in_(placed))).all()
        health = s.scalars(select(ShopHealth).where(ShopHealth.kind == "orders")).one()
    assert sorted(arrived) == sorted(placed)  # each exactly once
    assert health.failures == 0 and health.last_error is None
