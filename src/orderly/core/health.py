"""The health check: whether the database answers, found out quickly however loaded the hub is.

It has a connection and a thread of its own, so it never waits for a request's turn, a worker thread
or the pool, and it only reads, so it never waits for a writer's lock; a database that does not answer
within ``timeout`` makes the check fail instead of hanging.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import URL, text
from sqlalchemy.exc import SQLAlchemyError

from orderly.core.db import make_engine, make_session_factory, transaction


class DatabaseCheck:
    def __init__(self, url: URL, timeout: float = 1.0) -> None:
        # One connection at most: checks run one at a time on the one thread.
        extra = {"pool_size": 1, "max_overflow": 0, "connect_args": {"connect_timeout": 2}}
        engine = make_engine(url, **({} if url.get_backend_name() == "sqlite" else extra))
        self._engine = engine
        self._factory = make_session_factory(engine, read_only=True, lock_wait=timeout)
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="orderly-health")
        self.timeout = timeout

    def _probe(self) -> bool:
        try:
            with transaction(self._factory) as session:
                session.execute(text("SELECT 1"))
        except SQLAlchemyError:
            return False
        return True

    async def answers(self) -> bool:
        """True if the database answered within ``timeout``; a check still stuck makes the next ones
        wait behind it and fail too, which is the truth: the database does not answer."""
        probe = asyncio.get_running_loop().run_in_executor(self._thread, self._probe)
        try:
            return await asyncio.wait_for(probe, self.timeout)
        except TimeoutError:
            return False

    def close(self) -> None:
        self._thread.shutdown(wait=False, cancel_futures=True)
        self._engine.dispose()
