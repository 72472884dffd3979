"""Order jobs: orders waiting for stock are released when stock is freed or a presale date passes."""

from __future__ import annotations

import time

from sqlalchemy.orm import Session

from orderly.core.db import transaction
from orderly.inventory.service import STOCK_FREED
from orderly.jobs.service import Claimed, NewJob, enqueue
from orderly.jobs.worker import SCHEDULERS, JobContext, handler
from orderly.orders.holds import RECHECK_BATCH, presale_due, release_waiting

PRESALE_EVERY = 300.0  # seconds between looks for presale items that have been released, per worker
_last_presale = [0.0]


@handler(STOCK_FREED)
def stock_freed(ctx: JobContext, job: Claimed) -> None:
    products = [int(p) for p in job.payload["product_ids"]]
    with transaction(ctx.factory) as session:
        if release_waiting(session, products) >= RECHECK_BATCH:  # more may wait: go on in a new job
            enqueue(session, [NewJob(STOCK_FREED, {"product_ids": products})])


def _presale(session: Session) -> None:
    if time.monotonic() - _last_presale[0] < PRESALE_EVERY:
        return
    _last_presale[0] = time.monotonic()
    due = presale_due(session)
    if due:
        enqueue(session, [NewJob(STOCK_FREED, {"product_ids": due}, key="presale-due")])


SCHEDULERS.append(_presale)
