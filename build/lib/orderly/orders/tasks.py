"""Order jobs: orders waiting for stock are released when stock is freed or a presale date passes."""

from __future__ import annotations

from sqlalchemy.orm import Session

from orderly.core.db import transaction
from orderly.inventory.service import STOCK_FREED
from orderly.jobs.registry import JobContext, Schedule, Tasks
from orderly.jobs.service import Claimed, NewJob, enqueue
from orderly.orders.holds import RECHECK_BATCH, presale_due, release_waiting

PRESALE_EVERY = 300.0  # seconds between looks for presale items that have been released, per worker


def stock_freed(ctx: JobContext, job: Claimed) -> None:
    products = [int(p) for p in job.payload["product_ids"]]
    with transaction(ctx.factory) as session:
        if release_waiting(session, products) >= RECHECK_BATCH:  # more may wait: go on in a new job
            enqueue(session, [NewJob(STOCK_FREED, {"product_ids": products})])


def presale(session: Session) -> None:
    due = presale_due(session)
    if due:
        enqueue(session, [NewJob(STOCK_FREED, {"product_ids": due}, key="presale-due")])


TASKS = Tasks(
    handlers={STOCK_FREED: stock_freed},
    schedules=[Schedule("presale_due", PRESALE_EVERY, presale)],
)
