"""A token bucket for a sandbox's rate limit: ``size`` calls at once, refilled ``per_second``."""

from __future__ import annotations

import time
from dataclasses import dataclass, field


@dataclass
class Bucket:
    size: float
    per_second: float
    tokens: float = 0.0
    at: float = field(default_factory=time.monotonic)

    def take(self) -> bool:
        """Whether a call may go now (taking its token); the caller answers 429 otherwise."""
        now = time.monotonic()
        self.tokens = min(self.size, self.tokens + (now - self.at) * self.per_second)
        self.at = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False
