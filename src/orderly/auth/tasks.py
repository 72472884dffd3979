"""Sign-in upkeep: ended sessions and spent failure counters are deleted (they are refused at use
already; this keeps the tables from growing without end)."""

from __future__ import annotations

from orderly.auth.service import sweep_sessions
from orderly.jobs.registry import Schedule, Tasks

SWEEP_EVERY = 600.0  # seconds between sweeps, per worker

TASKS = Tasks(schedules=[Schedule("sweep_sessions", SWEEP_EVERY, sweep_sessions)])
