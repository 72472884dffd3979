"""Which jobs exist: every context's tasks.py, loaded by name; and each worker's own clock of when it
last ran each schedule."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session, sessionmaker

from orderly.jobs.registry import Registry, Schedule, Tasks, load
from orderly.jobs.worker import Worker


def test_every_context_with_jobs_is_loaded_by_name() -> None:
    registry = load()
    assert {"poll_orders", "push_stock", "process_inbox", "stock_changed", "stock_freed"} <= set(
        registry.handlers
    )
    assert {"buy_label", "void_label", "track_parcels", "write_back_tracking"} <= set(registry.handlers)
    every = {schedule.name: schedule.every for schedule in registry.schedules}
    assert every == {
        "shop_sync": 1.0,
        "purge_finished_jobs": 600.0,
        "presale_due": 300.0,
        "parcel_watch": 600.0,
        "tracking_poll": 1800.0,
        "cancelled_parcels": 60.0,
        "sweep_sessions": 600.0,
    }
    dead_hooks = [hook.__module__ for hook in registry.on_dead]
    assert dead_hooks == ["orderly.alerts.tasks", "orderly.fulfilment.carriers.labels"]


def test_two_contexts_cannot_handle_one_kind() -> None:
    registry = Registry()
    registry.add("a", Tasks(handlers={"kind": lambda ctx, job: None}))
    with pytest.raises(ValueError, match="kind"):
        registry.add("b", Tasks(handlers={"kind": lambda ctx, job: None}))


def test_a_worker_runs_each_schedule_at_first_and_then_once_its_interval_passed(
    factory: sessionmaker[Session],
) -> None:
    runs: list[str] = []
    registry = Registry(
        schedules=[
            Schedule("often", 0.0, lambda session: runs.append("often")),
            Schedule("rarely", 3600.0, lambda session: runs.append("rarely")),
        ]
    )
    worker = Worker(factory, name="test", registry=registry)
    for _ in range(3):
        worker.run_once()
    assert runs.count("often") == 3 and runs.count("rarely") == 1
    # Another worker keeps its own clock.
    Worker(factory, name="other", registry=registry).run_once()
    assert runs.count("rarely") == 2
