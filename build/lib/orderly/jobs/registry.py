"""Which jobs exist: each context with jobs declares them in its ``tasks.py`` as ``TASKS``, a
:class:`Tasks` (handlers by kind, periodic schedules with their interval, hooks on a dead job). The
worker loads them by module name, as channel plugins are loaded (``orderly.<context>.tasks``), so jobs
imports no context and a context's tasks import nothing of the worker."""

from __future__ import annotations

import importlib
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from orderly.core.config import Settings
from orderly.jobs.service import Claimed


@dataclass
class JobContext:
    """What a handler gets beside its job: a session factory for its own short transactions (none is
    held across a call to another system), the settings, the worker's name, and ``extras``, things a
    handler keeps between jobs on this worker (closed when the worker stops)."""

    factory: sessionmaker[Session]
    settings: Settings
    worker: str
    sleep: Callable[[float], None] = time.sleep
    extras: dict[str, Any] = field(default_factory=dict)


#: Runs one job; raises to fail it (``jobs.errors`` says how it goes on).
Handler = Callable[[JobContext, Claimed], None]
#: Called in the transaction that records a job dead, with the job and its last error.
DeadHook = Callable[[Session, Claimed, str], None]


@dataclass(frozen=True)
class Schedule:
    """Periodic work: each worker calls ``run`` in a transaction of its own once ``every`` seconds have
    passed since it last did (at its first look, too). What it enqueues is coalesced by job keys."""

    name: str
    every: float
    run: Callable[[Session], object]


@dataclass(frozen=True)
class Tasks:
    """What one context's ``tasks.py`` declares."""

    handlers: Mapping[str, Handler] = field(default_factory=dict)
    schedules: Sequence[Schedule] = ()
    on_dead: Sequence[DeadHook] = ()


@dataclass
class Registry:
    """Every context's tasks together."""

    handlers: dict[str, Handler] = field(default_factory=dict)
    schedules: list[Schedule] = field(default_factory=list)
    on_dead: list[DeadHook] = field(default_factory=list)

    def add(self, where: str, tasks: Tasks) -> None:
        taken = sorted(set(tasks.handlers) & set(self.handlers))
        if taken:
            raise ValueError(f"{where} declares job kinds another context handles: {', '.join(taken)}")
        self.handlers.update(tasks.handlers)
        self.schedules.extend(tasks.schedules)
        self.on_dead.extend(tasks.on_dead)


@cache
def load() -> Registry:
    """The tasks of every context that has a ``tasks`` module, loaded once per process."""
    registry = Registry()
    package = Path(__file__).resolve().parent.parent
    for context in sorted(path.parent.name for path in package.glob("*/tasks.py")):
        name = f"{package.name}.{context}.tasks"
        tasks = getattr(importlib.import_module(name), "TASKS", None)
        if not isinstance(tasks, Tasks):
            raise TypeError(f"{name} declares no TASKS (a jobs.registry.Tasks)")
        registry.add(name, tasks)
    return registry
