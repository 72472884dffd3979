"""The health check: whether the database answers, found out quickly however loaded the hub is.

It has a connection of its own, so it never waits for a request's turn, a worker thread or the pool;
it takes no lock, so it never waits for a writer; a database that does not answer within ``timeout``
makes it fail, not hang. On SQLite it runs on the event loop (``SELECT 1`` reads no page of the file,
so it cannot block); on PostgreSQL on a thread of its own, which alone uses its connection: a query
abandoned at the timeout finishes there, never cancelled under another's feet.

Under load a check can take a few hundred milliseconds on PostgreSQL (its backend waits for a core among
the busy ones), so an answer is the newest check's as long as it is at most ``trusted`` seconds old, while
a newer one runs in the background once it is ``fresh`` seconds old; concurrent callers share one check.
A check that fails ends the trust: the next caller waits for a new check and hears its result.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from concurrent.futures import ThreadPoolExecutor

import psycopg
from sqlalchemy import URL


class DatabaseCheck:
    def __init__(self, url: URL, timeout: float = 1.0, fresh: float = 0.5, trusted: float = 2.0) -> None:
        self.url = url
        self.timeout = timeout
        self.fresh = fresh
        self.trusted = trusted
        self._answered_at: float | None = None  # monotonic time of the newest check that answered
        self._running: asyncio.Task[bool] | None = None
        self._sqlite: sqlite3.Connection | None = None
        self._postgres: psycopg.Connection | None = None
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="orderly-health")

    async def answers(self) -> bool:
        """Whether the database answered a check at most ``trusted`` seconds ago (waiting for one if not)."""
        age = float("inf") if self._answered_at is None else time.monotonic() - self._answered_at
        if age <= self.fresh:
            return True
        running = self._running
        # A check started on another event loop (the app served again) never finishes on this one.
        if running is None or running.get_loop() is not asyncio.get_running_loop():
            running = self._running = asyncio.ensure_future(self._check())
        if age <= self.trusted:
            return True
        return await asyncio.shield(running)  # a caller that gives up leaves it to the others

    async def _check(self) -> bool:
        try:
            answered = await self._ask()
        finally:
            self._running = None
        self._answered_at = time.monotonic() if answered else None
        return answered

    async def _ask(self) -> bool:
        try:
            if self.url.get_backend_name() == "sqlite":
                self._sqlite_select_one()
            else:
                probe = asyncio.get_running_loop().run_in_executor(self._thread, self._postgres_select_one)
                await asyncio.wait_for(probe, self.timeout)
        except (TimeoutError, sqlite3.Error, psycopg.Error, OSError):
            return False
        return True

    def _sqlite_select_one(self) -> None:
        if self._sqlite is None:
            self._sqlite = sqlite3.connect(self.url.database or ":memory:", check_same_thread=False)
        try:
            self._sqlite.execute("SELECT 1").fetchall()
        except sqlite3.Error:
            self._close_sqlite()  # the next check connects again
            raise

    def _postgres_select_one(self) -> None:
        try:
            if self._postgres is None:
                url = self.url.set(drivername="postgresql").render_as_string(hide_password=False)
                self._postgres = psycopg.connect(url, autocommit=True, connect_timeout=2)
            self._postgres.execute("SELECT 1")
        except psycopg.Error:
            self._close_postgres()  # the next check connects again
            raise

    def _close_sqlite(self) -> None:
        connection, self._sqlite = self._sqlite, None
        if connection is not None:
            connection.close()

    def _close_postgres(self) -> None:
        connection, self._postgres = self._postgres, None
        if connection is not None:
            connection.close()

    def close(self) -> None:
        """Let go of the connection; a later check (the app served again) connects anew."""
        self._close_sqlite()
        self._thread.submit(self._close_postgres)  # on its thread: a check may still be using it
