"""Fulfilment's jobs: buying and voiding carrier labels (``carriers/labels.py``), asking carriers for
their parcels' news (``carriers/tracking.py``), watching parcels on their way for silence and broken
promises, and writing a shipped parcel's carrier and tracking number
back to its shop.

A write-back try reads what it needs and claims the parcel in one short transaction
(``service.start_writeback``), calls the platform with no transaction open, and records the outcome
in another: accepted with the platform's ids (never sent again), refused with the platform's reason
(the job is dead, alerted, and replayable), or failed (retried; the next try looks on the platform
first, since the failed one may have reached it).
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.orm import Session

from orderly.channels.tasks import Paced, connected
from orderly.core.clock import utcnow
from orderly.core.config import get_settings
from orderly.core.db import transaction
from orderly.fulfilment import service
from orderly.fulfilment.carriers import labels, tracking
from orderly.fulfilment.carriers.service import BUY_LABEL, VOID_LABEL
from orderly.jobs.registry import JobContext, Schedule, Tasks
from orderly.jobs.service import Claimed, NewJob, enqueue

#: Seconds between two looks; an alert is at most this late on a 24-hour silence.
WATCH_EVERY = 600.0
#: Seconds between two asks of each carrier account for its parcels' news (the carriers that push say
#: it sooner); DHL's default quota is a few hundred calls a day.
TRACKING_POLL_EVERY = 1800.0
#: Seconds between two sweeps for parcels of cancelled orders (their labels refunded).
CANCELLED_PARCELS_EVERY = 60.0
#: Platform calls of write-backs count for this kind of the shop's health.
HEALTH = "shipments"


def watch_parcels(session: Session) -> None:
    service.watch_parcels(session, utcnow(), timedelta(hours=get_settings().tracking_stale_hours))


def write_back_tracking(ctx: JobContext, job: Claimed) -> None:
    shipment_id = int(job.payload["shipment_id"])
    claim = f"{ctx.worker}:{job.id}:{job.attempts}"
    with transaction(ctx.factory) as session:
        start = service.start_writeback(session, shipment_id, claim)
    if start is None:
        return
    acted = True  # until the connector says otherwise: a failure before it was made may have sent
    try:
        with connected(ctx, start.shop_id, HEALTH) as (_, connector):
            try:
                result = connector.write_back(start.parcel)
            finally:
                acted = connector.acted
    except Exception as exc:
        with transaction(ctx.factory) as session:
            service.writeback_failed(session, shipment_id, claim, start.parcel, exc, acted=acted)
        if isinstance(exc, Paced):
            # Our own limiter's wait is no failure: the parcel goes on once the shop's budget allows.
            with transaction(ctx.factory) as session:
                enqueue(session, [NewJob(job.kind, job.payload, key=job.key, shop_id=job.shop_id,
                                         delay=exc.retry_after, max_attempts=job.max_attempts)])  # fmt: skip
            return
        raise
    with transaction(ctx.factory) as session:
        service.writeback_accepted(session, shipment_id, start.parcel, result)


TASKS = Tasks(
    handlers={
        BUY_LABEL: labels.buy_label,
        VOID_LABEL: labels.void_label,
        service.WRITE_BACK: write_back_tracking,
        tracking.TRACK_PARCELS: tracking.poll_parcels,
    },
    schedules=[
        Schedule("parcel_watch", WATCH_EVERY, watch_parcels),
        Schedule("tracking_poll", TRACKING_POLL_EVERY, tracking.schedule_polls),
        Schedule("cancelled_parcels", CANCELLED_PARCELS_EVERY, service.void_parcels_of_cancelled_orders),
    ],
    on_dead=[labels.on_dead],
)
