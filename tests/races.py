"""What every multi-process race test shares: a pool of spawned processes (each its own interpreter
and database connections, as separate hub processes would be) whose tasks connect first and then wait
at one barrier, so the race is on the work and not on who started first.

In a test module::

    pool = race_pool(WORKERS)           # a module-scoped fixture

    def _work(url, ...):                # runs in a pool process
        with hub(url) as factory: ...

    results = race(pool, [(_work, (db_url, ...)), ...])  # one call per process

and, once the race is over, ``assert_shops_told(factory)``: no shop is left showing a figure the hub
no longer has.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from multiprocessing.pool import Pool
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from orderly.catalog.models import Product
from orderly.core.db import make_engine, make_session_factory, transaction
from orderly.inventory.models import StockLevel
from orderly.inventory.service import STOCK_CHANGED
from orderly.jobs.models import Job

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


def assert_shops_told(factory: sessionmaker[Session]) -> None:
    """Every stock level's last change was announced to the shops: a ``stock_changed`` job naming its
    product was queued in the transaction that changed it or after. A listing's push computes the figure
    when it runs, so such a job is what makes the shops show the final figure; a change nobody announced
    leaves them showing the one before it (stock the hub may no longer have)."""
    with transaction(factory) as s:
        levels = s.execute(
            select(Product.sku, StockLevel.product_id, StockLevel.updated_at).join(
                Product, Product.id == StockLevel.product_id
            )
        ).all()
        announced: dict[int, Any] = {}
        for payload, created_at in s.execute(
            select(Job.payload, Job.created_at).where(Job.kind == STOCK_CHANGED)
        ):
            for product_id in payload["product_ids"]:
                announced[int(product_id)] = max(created_at, announced.get(int(product_id), created_at))
    untold = sorted(
        sku
        for sku, product_id, changed in levels
        if product_id not in announced or announced[product_id] < changed
    )
    assert untold == [], f"the shops were not told the last change of {untold}"
