"""Fulfilment's jobs: buying and voiding carrier labels (``carriers/labels.py``), and watching parcels on
their way for silence and broken promises."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.orm import Session

from orderly.core.clock import utcnow
from orderly.core.config import get_settings
from orderly.fulfilment import service
from orderly.fulfilment.carriers import labels
from orderly.fulfilment.carriers.service import BUY_LABEL, VOID_LABEL
from orderly.jobs.registry import Schedule, Tasks

#: Seconds between two looks; an alert is at most this late on a 24-hour silence.
WATCH_EVERY = 600.0


def watch_parcels(session: Session) -> None:
    service.watch_parcels(session, utcnow(), timedelta(hours=get_settings().tracking_stale_hours))


TASKS = Tasks(
    handlers={BUY_LABEL: labels.buy_label, VOID_LABEL: labels.void_label},
    schedules=[Schedule("parcel_watch", WATCH_EVERY, watch_parcels)],
    on_dead=[labels.on_dead],
)
