"""One platform request retried on its own: bounded, backing off, honouring Retry-After, and never
sending twice what the platform may have acted on."""

from __future__ import annotations

import pytest

from orderly.channels.connector import (
    RETRIES,
    AuthFailed,
    ChannelError,
    RateLimited,
    Rejected,
    Unreached,
    retrying,
)


class Platform:
    """Answers each request with the next scripted failure, then "ok"."""

    def __init__(self, *failures: ChannelError) -> None:
        self.failures = list(failures)
        self.requests = 0

    def send(self) -> str:
        self.requests += 1
        if self.failures:
            raise self.failures.pop(0)
        return "ok"


def test_failures_are_retried_with_growing_waits_and_retry_after_as_told() -> None:
    platform = Platform(
        ChannelError("HTTP 500", status=500), RateLimited("429", retry_after=1.5), Unreached("x")
    )
    waits: list[float] = []
    assert retrying(platform.send, sleep=waits.append) == "ok"
    assert platform.requests == 4
    assert RETRIES.first_wait / 2 <= waits[0] <= RETRIES.first_wait
    assert waits[1] == 1.5
    assert 2 * RETRIES.first_wait <= waits[2] <= 4 * RETRIES.first_wait  # the third try waits longer


def test_retries_are_bounded() -> None:
    platform = Platform(*(ChannelError("dropped") for _ in range(10)))
    with pytest.raises(ChannelError, match="dropped"):
        retrying(platform.send, sleep=lambda _: None)
    assert platform.requests == RETRIES.tries


@pytest.mark.parametrize(
    "failure",
    [
        Rejected("HTTP 422", status=422),
        AuthFailed("HTTP 401", status=401),
        RateLimited("429", retry_after=60),
    ],
    ids=["refused", "credentials", "long wait"],
)
def test_what_a_retry_cannot_fix_soon_goes_back_at_once(failure: ChannelError) -> None:
    platform = Platform(failure)
    with pytest.raises(type(failure)):
        retrying(platform.send, sleep=lambda _: None)
    assert platform.requests == 1


def test_a_request_the_platform_may_have_acted_on_is_sent_again_only_when_it_surely_did_not() -> None:
    throttled_then_unreached = Platform(RateLimited("429", retry_after=0), Unreached("refused"))
    assert retrying(throttled_then_unreached.send, replayable=False, sleep=lambda _: None) == "ok"
    for answer_lost in (ChannelError("HTTP 500", status=500), ChannelError("connection dropped")):
        platform = Platform(answer_lost)
        with pytest.raises(ChannelError):
            retrying(platform.send, replayable=False, sleep=lambda _: None)
        assert platform.requests == 1
