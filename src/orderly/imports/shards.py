"""One import run shared by several processes: a file on disk of a kind with a shard key (orders) is
split into shards by a stable hash of that key (``zlib.crc32`` of the order number as the hub reads it,
modulo the number of processes), so every row of one order, however far apart in the file, goes to the
same process in file order, and no two processes ever write one order. The merge of a later group into
the version the file gave before (``orders.py``) works in each process as it does in one.

The parent (:func:`run`, called by ``service.run_import`` once the header is read and the preview
stored) starts the processes (spawned, not forked: each is a fresh interpreter with its own database
connections), follows the run's figures for the progress bar, and ends the run after the last one.
Each process (:func:`_shard`) opens the file itself from its path, reads it as it streams, keeps its
shard's rows, and imports them batch by batch exactly as one process does, adding each batch's figures
to the run's (``rows_read = rows_read + n``). A process that stops fails the run with its reason and
the others are stopped; a process whose parent was killed fails the run itself (once it notices, at
the latest when its shard is done), so a run never stays ``running`` after its processes are gone.

What one order becomes is what one process makes of it. What the processes change is the order in
which *different* orders reach the hub: review's rules that look at a buyer's other orders (merging
orders to one address, the velocity of a buyer's orders) see those that have arrived, as they do when
several shops' orders arrive at once; reservations of scarce stock go likewise to whichever order is
booked first.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from pathlib import Path

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from orderly.core.clock import utcnow
from orderly.core.db import engine_of, make_engine, make_session_factory, transaction
from orderly.core.errors import DomainError
from orderly.imports import service
from orderly.imports.domain import Kind, Layout, RunStatus
from orderly.imports.files import open_table
from orderly.imports.models import ImportRun
from orderly.imports.service import ImportOptions

log = logging.getLogger(__name__)

#: Seconds between two looks at the run's figures while the processes work.
POLL = 0.5


class ShardFailed(DomainError):
    """A process of the run stopped on an unexpected error (its traceback is in its log) or died: the
    run fails with the reason, as for a file the hub refuses."""


@dataclass(frozen=True)
class Shard:
    """What one process needs to import its share of the file (sent to it pickled)."""

    url: str  # the database, with its password
    path: str
    filename: str
    kind: Kind
    options: ImportOptions
    layout: Layout
    run_id: int
    index: int
    count: int
    batch_size: int


def shard_of(key: str | None, count: int) -> int:
    """The process of ``count`` that imports the rows whose shard key is ``key`` (blank: the first)."""
    return zlib.crc32((key or "").encode("utf-8")) % count


def run(
    factory: sessionmaker[Session],
    run_id: int,
    path: Path,
    filename: str,
    kind: Kind,
    options: ImportOptions,
    layout: Layout,
    count: int,
    progress: Callable[[int], None] | None,
) -> None:
    """Import ``path`` with ``count`` processes and return once all have ended. A process's
    ``DomainError`` (an unknown shop, a row that cannot be read) is raised here as it would be in one
    process; any other stop raises :class:`ShardFailed` with its reason. The caller ends the run."""
    url = engine_of(factory).url.render_as_string(hide_password=False)
    impl = service.kind_of(kind)
    context = multiprocessing.get_context("spawn")
    started: list[tuple[BaseProcess, Connection]] = []
    try:
        for index in range(count):
            receiver, sender = context.Pipe(duplex=False)
            shard = Shard(
                url, str(path), filename, kind, options, layout, run_id, index, count, impl.batch_size
            )
            process = context.Process(
                target=_TARGET, args=(shard, sender), name=f"orderly-import-{run_id}-{index + 1}"
            )
            process.start()
            sender.close()  # the child's end: the parent keeps only its own
            started.append((process, receiver))
        running = list(started)
        while running:
            wait([process.sentinel for process, _ in running], timeout=POLL)
            if progress:
                progress(_rows_read(factory, run_id))
            for ended, receiver in [item for item in running if not item[0].is_alive()]:
                ended.join()
                running.remove((ended, receiver))
                if ended.exitcode != 0:
                    _raise(_reason(ended, receiver, count))  # the others are stopped on the way out
    finally:
        _stop(started)
        for _, receiver in started:
            receiver.close()


def _rows_read(factory: sessionmaker[Session], run_id: int) -> int:
    with transaction(factory) as session:
        return int(session.scalar(select(ImportRun.rows_read).where(ImportRun.id == run_id)) or 0)


def _stop(started: Sequence[tuple[BaseProcess, Connection]]) -> None:
    """Stop the processes still running (their open batch rolls back) and wait for them."""
    for process, _ in started:
        if process.is_alive():
            process.terminate()
    for process, _ in started:
        process.join()


def _reason(process: BaseProcess, receiver: Connection, count: int) -> tuple[str, str]:
    """What a stopped process said (``domain`` or ``error``, and its message), or how it died."""
    try:
        if receiver.poll():
            kind, message = receiver.recv()
            return str(kind), str(message)
    except (EOFError, OSError):
        pass
    code = process.exitcode
    how = f"was killed by signal {-code}" if code is not None and code < 0 else f"exited with code {code}"
    return "error", f"stopped: import process {process.name.rsplit('-', 1)[-1]} of {count} {how}"


def _raise(reason: tuple[str, str]) -> None:
    kind, message = reason
    if kind == "domain":
        raise DomainError(message)
    raise ShardFailed(message)


class _Orphaned(Exception):
    """The process that started this one has ended: nobody will end the run but this process."""


#: Rows a process reads between two looks at whether its parent is still there.
_PARENT_EVERY = 4096


def _shard(shard: Shard, sender: Connection) -> None:
    """A process's work: its shard of the file, imported batch by batch; why it stopped, if it did, is
    sent to the parent before it exits with a non-zero code. A process whose parent has gone (killed)
    stops at once and fails the run itself, so the run does not stay ``running``."""
    try:
        _import_shard(shard)
    except _Orphaned:
        log.error("import run %s: its parent process ended; process %s stops", shard.run_id, shard.index + 1)
        _fail_alone(shard, "stopped: the process that started the import ended before it")
        raise SystemExit(1) from None
    except DomainError as exc:
        _tell(sender, ("domain", exc.message))
        raise SystemExit(1) from None
    except BaseException as exc:
        log.exception("import run %s: process %s of %s failed", shard.run_id, shard.index + 1, shard.count)
        _tell(sender, ("error", f"stopped by an unexpected error: {exc!r}"[:1000]))
        raise SystemExit(1) from None
    finally:
        sender.close()


def _tell(sender: Connection, reason: tuple[str, str]) -> None:
    with contextlib.suppress(OSError):  # the parent has gone: nobody to tell
        sender.send(reason)


def _fail_alone(shard: Shard, message: str) -> None:
    engine = make_engine(shard.url)
    try:
        with transaction(make_session_factory(engine)) as session:
            session.execute(
                update(ImportRun)
                .where(ImportRun.id == shard.run_id, ImportRun.status == str(RunStatus.RUNNING))
                .values(status=str(RunStatus.FAILED), message=message, finished_at=utcnow())
            )
    finally:
        engine.dispose()


def _import_shard(shard: Shard) -> None:
    impl = service.kind_of(shard.kind)
    assert impl.shard_by is not None
    parent = multiprocessing.parent_process()
    engine = make_engine(shard.url)
    try:
        factory = make_session_factory(engine)
        with open(shard.path, "rb") as source:
            table = open_table(source, shard.filename)
            reader = shard.layout.reader(table.headers)
            key, index, count = impl.shard_by, shard.index, shard.count
            read = 0

            def mine(cells: Sequence[str]) -> bool:
                nonlocal read
                read += 1
                if read % _PARENT_EVERY == 0 and parent is not None and not parent.is_alive():
                    raise _Orphaned
                return shard_of(reader.value(key, cells), count) == index

            service.run_shard(
                factory, shard.run_id, table, shard.layout, impl, shard.options, mine, shard.batch_size
            )
        if parent is not None and not parent.is_alive():
            raise _Orphaned  # done, but nobody will end the run
    finally:
        engine.dispose()


#: What each process runs (a test may point it at a function that fails, to see the run fail).
_TARGET: Callable[[Shard, Connection], None] = _shard
