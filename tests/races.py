"""What every multi-process race test shares: a pool of spawned processes (each its own interpreter
and database connections, as separate hub processes would be) whose tasks connect first and then wait
at one barrier, so the race is on the work and not on who started first.

In a test module::

    pool = race_pool(WORKERS)           # a module-scoped fixture

    def _work(url, ...):                # runs in a pool process
        with hub(url) as factory: ...

    results = race(pool, [(_work, (db_url, ...)), ...])  # one call per process
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from multiprocessing.pool import Pool
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from orderly.core.db import make_engine, make_session_factory

Calls = list[tuple[Callable[..., Any], tuple[Any, ...]]]

_start: Any = None  # in a pool process: the barrier its tasks wait at


def _init(barrier: Any) -> None:
    global _start  # noqa: PLW0603 - per-process state a Pool initializer must set
    _start = barrier


@contextmanager
def hub(url: str) -> Iterator[sessionmaker[Session]]:
    """In a pool process: a session factory on the test's database, handed out once every process of
    the race is connected."""
    engine = make_engine(url)
    try:
        with engine.connect():
            pass  # connected before the start, so the race is on the work
        _start.wait(timeout=60)
        yield make_session_factory(engine)
    finally:
        engine.dispose()


def race_pool(workers: int) -> Any:
    """A module-scoped fixture: ``workers`` spawned processes sharing one start barrier."""

    @pytest.fixture(scope="module")
    def pool() -> Iterator[Pool]:
        context = multiprocessing.get_context("spawn")
        with context.Pool(workers, initializer=_init, initargs=(context.Barrier(workers),)) as processes:
            yield processes

    return pool


def race(pool: Pool, calls: Calls, timeout: float = 180) -> list[Any]:
    """Run one call in each process of the pool at once; their results in the order of ``calls``."""
    assert len(calls) == pool._processes  # type: ignore[attr-defined]  # fewer would leave the barrier waiting
    pending = [pool.apply_async(fn, args) for fn, args in calls]
    return [p.get(timeout=timeout) for p in pending]
