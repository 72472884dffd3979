"""What a handler raises to tell the worker how a failed job goes on. Any other exception is a failure
retried with backoff; these say more (a platform's errors extend them: ``channels.connector``)."""

from __future__ import annotations

from typing import Any


class JobFailed(Exception):
    """The job failed; ``retryable`` says whether running it again may succeed (with backoff)."""

    retryable = True


class RetryLater(JobFailed):
    """Run the job again after ``retry_after`` seconds (e.g. a platform's ``Retry-After``), not sooner.
    ``waiting_for`` names what it waits for in the job's error."""

    waiting_for = "retry later"

    def __init__(self, message: str, *, retry_after: float, **more: Any) -> None:
        super().__init__(message, **more)  # ``more``: what a subclass's other bases take
        self.retry_after = retry_after


class GiveUp(JobFailed):
    """Running the job again will not help until a person acts (refused credentials, a request the other
    side rejects as invalid): it is dead at once."""

    retryable = False
