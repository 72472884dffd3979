"""The health check: whether the database answers, found out quickly however loaded the hub is.

It runs on the event loop with a connection of its own, so it never waits for a request's turn, a
worker thread (nor the interpreter lock they pass around) or the pool; it takes no lock, so it never
waits for a writer; a database that does not answer within ``timeout`` makes it fail, not hang.
"""

from __future__ import annotations

import asyncio
import sqlite3
from typing import Any

import psycopg
from sqlalchemy import URL


class DatabaseCheck:
    def __init__(self, url: URL, timeout: float = 1.0) -> None:
        self.url = url
        self.timeout = timeout
        self._connection: Any = None
        self._loop: asyncio.AbstractEventLoop | None = None  # a PostgreSQL connection's own

    async def answers(self) -> bool:
        try:
            async with asyncio.timeout(self.timeout):
                await self._select_one()
        except (TimeoutError, sqlite3.Error, psycopg.Error, OSError):
            await self.close()  # in an unknown state: the next check connects again
            return False
        return True

    async def _select_one(self) -> None:
        if self.url.get_backend_name() == "sqlite":
            if self._connection is None:
                # SELECT 1 reads no page of the file, so it cannot block the loop on a lock.
                self._connection = sqlite3.connect(self.url.database or ":memory:", check_same_thread=False)
            self._connection.execute("SELECT 1").fetchall()
            return
        loop = asyncio.get_running_loop()
        if self._connection is not None and self._loop is not loop:  # an app served again, elsewhere
            self._connection = None
        if self._connection is None:
            url = self.url.set(drivername="postgresql").render_as_string(hide_password=False)
            self._connection = await psycopg.AsyncConnection.connect(url, autocommit=True)
            self._loop = loop
        await self._connection.execute("SELECT 1")

    async def close(self) -> None:
        connection, self._connection = self._connection, None
        if isinstance(connection, sqlite3.Connection):
            connection.close()
        elif connection is not None and self._loop is asyncio.get_running_loop():
            await connection.close()
