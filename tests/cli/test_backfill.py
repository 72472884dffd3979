"""``orderly shop backfill``: import a shop's orders from a chosen date, with its progress shown."""

from __future__ import annotations

import threading
from datetime import timedelta

from orderly.core.clock import utcnow
from orderly.jobs.worker import Worker
from tests.channels.fake import FakePlatform
from tests.cli.conftest import Cli, rows
from tests.factories import order


def test_backfill_shows_its_progress_until_the_workers_are_done(
    cli: Cli, worker: Worker, platforms: dict[str, FakePlatform]
) -> None:
    when = (utcnow() - timedelta(days=100)).isoformat()  # older than the first poll's 30 days
    platforms["fake-a"].put(
        {**order(shop="fake-a", external_id="OLD"), "placed_at": when, "updated_at": when}
    )
    stop = threading.Event()
    running = threading.Thread(target=worker.run, args=(stop,))
    running.start()
    try:
        result = cli("shop", "backfill", "fake-a", "--since", "2025-01-01")
    finally:
        stop.set()
        running.join()

    assert "Backfill 1 of 'fake-a' queued: orders updated from 2024-12-31 10:00 UTC" in result.stdout
    assert "Backfill 1 done: 1 orders fetched." in result.stdout
    (row,) = rows(cli("shop", "backfills", "fake-a").stdout, "1")
    assert row[4:7] == ["1", "100%", "done"]


def test_backfill_without_waiting_and_refusals(cli: Cli, worker: Worker) -> None:
    queued = cli("shop", "backfill", "fake-a", "--since", "2025-01-01T08:00:00+08:00", "--no-wait")
    assert "from 2025-01-01 00:00 UTC" in queued.stdout
    (row,) = rows(cli("shop", "backfills", "fake-a").stdout, "1")
    assert row[5:7] == ["0%", "running"]
    assert "still running" in cli("shop", "backfill", "fake-a", "--since", "2025-02-01", code=1).stderr
    assert "--since" in cli("shop", "backfill", "fake-a", "--since", "last spring", code=2).stderr
    assert "a date such as" in cli("shop", "backfill", "fake-a", "--since", "2026-99-01", code=2).stderr
    assert "unknown shop" in cli("shop", "backfill", "nope", "--since", "2025-01-01", code=1).stderr
