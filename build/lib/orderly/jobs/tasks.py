"""The job table's own upkeep: finished jobs are deleted once past their use."""

from __future__ import annotations

from orderly.jobs.registry import Schedule, Tasks
from orderly.jobs.service import purge_finished

PURGE_EVERY = 600.0  # seconds between purges of finished jobs, per worker

TASKS = Tasks(schedules=[Schedule("purge_finished_jobs", PURGE_EVERY, purge_finished)])
