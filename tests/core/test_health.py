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


class _Gated(DatabaseCheck):
    """A check whose database answers only when the test lets it (``answer``) and as told (``up``)."""

    def __init__(self, engine: Engine) -> None:
        super().__init__(engine.url, fresh=0.0, trusted=60.0)
        self.asked = 0
        self.up = True
        self.answer = asyncio.Event()

    async def _ask(self) -> bool:
        self.asked += 1
        await self.answer.wait()
        self.answer.clear()
        return self.up


def test_a_recent_answer_is_given_at_once_while_a_newer_check_runs_and_a_failure_ends_it(
    engine: Engine,
) -> None:
    check = _Gated(engine)

    async def story() -> list[bool]:
        first = asyncio.ensure_future(check.answers())  # nothing known yet: it waits
        await asyncio.sleep(0)
        check.answer.set()
        seen = [await first]
        # Known to answer: callers hear so at once, and share one newer check running meanwhile.
        seen += [await check.answers(), await check.answers()]
        await asyncio.sleep(0)
        assert check.asked == 2
        check.up = False
        check.answer.set()
        await asyncio.sleep(0.01)  # the newer check finds the database down
        waiting = asyncio.ensure_future(check.answers())  # trust is gone: this one waits for a check
        await asyncio.sleep(0)
        assert not waiting.done()
        check.answer.set()
        seen.append(await waiting)
        return seen

    try:
        assert asyncio.run(story()) == [True, True, True, False]
    finally:
        check.close()
