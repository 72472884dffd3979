"""The health check's own connection survives checks abandoned at their timeout."""

from __future__ import annotations

import asyncio

from sqlalchemy import Engine

from orderly.core.health import DatabaseCheck


def test_checks_abandoned_at_their_timeout_leave_the_next_one_answering(engine: Engine) -> None:
    check = DatabaseCheck(engine.url, timeout=1e-6)

    async def hurried_then_patient() -> bool:
        await asyncio.gather(*(check.answers() for _ in range(50)))
        check.timeout = 30.0
        return await check.answers()

    try:
        assert asyncio.run(hurried_then_patient())
    finally:
        check.close()
