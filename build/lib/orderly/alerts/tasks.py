"""Alerts on jobs: a job that gave up is something a person must look at."""

from __future__ import annotations

from sqlalchemy.orm import Session

from orderly.alerts.service import raise_alert
from orderly.jobs.registry import Tasks
from orderly.jobs.service import Claimed


def job_dead(session: Session, job: Claimed, error: str) -> None:
    raise_alert(session, "job_dead", f"job:{job.id}", f"{job.kind} gave up: {error}")


TASKS = Tasks(on_dead=[job_dead])
