"""The newest OAuth tokens this process holds for each shop's grant, shared by that shop's connectors.

A platform that rotates refresh tokens (eBay, TikTok Shop) refuses a spent one, so connectors of one
shop must start from the newest tokens any of them got and refresh one at a time.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping


class TokenShelf:
    """Tokens by grant key, with one refresh lock per key."""

    def __init__(self) -> None:
        self._held: dict[str, dict[str, str]] = {}
        self._lock = threading.Lock()
        self._refreshing: dict[str, threading.Lock] = {}

    def newest(
        self, key: str, tokens: dict[str, str], expiry: Callable[[Mapping[str, str]], float]
    ) -> dict[str, str]:
        """``tokens``, or the set another connector of the grant holds when it expires no sooner."""
        held = self.held(key)
        return held if held is not None and expiry(held) >= expiry(tokens) else tokens

    def held(self, key: str) -> dict[str, str] | None:
        with self._lock:
            held = self._held.get(key)
        return None if held is None else dict(held)

    def hold(self, key: str, tokens: Mapping[str, str]) -> None:
        with self._lock:
            self._held[key] = dict(tokens)

    def refreshing(self, key: str) -> threading.Lock:
        """The lock a refresh of this grant is made under."""
        with self._lock:
            return self._refreshing.setdefault(key, threading.Lock())

    def clear(self) -> None:
        """Forget every grant's tokens (a test's fresh start)."""
        with self._lock:
            self._held.clear()
