"""What a process remembers between reviews, in one object (:data:`CACHES`) so that all of it is
forgotten at once (``CACHES.clear()``: a database was emptied, a test starts). Each cache says in its
own words why what it skips cannot differ from what the database would say, or how little it may."""

from __future__ import annotations

import threading
import time

from orderly.review.domain.engine import RuleSet
from orderly.review.domain.routing import RoutingSet
from orderly.review.schemas import ReviewSettings

NORM_SECONDS = 300.0  # how long a shop's full sample of totals is believed
_RULESETS_KEPT = 32


class ReviewCaches:
    __slots__ = ("_lock", "_norms", "_routing", "_rulesets")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        # Compiled rule sets by the fingerprint of the saved rows they were compiled from: the rows are
        # read for every review, so a change anywhere is seen at once.
        self._rulesets: dict[str, tuple[RuleSet, ReviewSettings]] = {}
        self._routing: dict[str, RoutingSet] = {}  # the same, of the routing rules
        # A shop's latest totals per currency, (database, shop, currency) -> (believed until, totals):
        # only full samples, which move slowly; a judgement of "far above normal" may lag a few minutes.
        self._norms: dict[tuple[str, str, str], tuple[float, list[int]]] = {}

    def ruleset(self, fingerprint: str) -> tuple[RuleSet, ReviewSettings] | None:
        with self._lock:
            return self._rulesets.get(fingerprint)

    def keep_ruleset(self, fingerprint: str, compiled: tuple[RuleSet, ReviewSettings]) -> None:
        with self._lock:
            if len(self._rulesets) >= _RULESETS_KEPT:
                self._rulesets.clear()
            self._rulesets[fingerprint] = compiled

    def routing(self, fingerprint: str) -> RoutingSet | None:
        with self._lock:
            return self._routing.get(fingerprint)

    def keep_routing(self, fingerprint: str, compiled: RoutingSet) -> None:
        with self._lock:
            if len(self._routing) >= _RULESETS_KEPT:
                self._routing.clear()
            self._routing[fingerprint] = compiled

    def shop_totals(self, key: tuple[str, str, str]) -> list[int] | None:
        """A shop's latest totals in a currency as last kept, unless NORM_SECONDS have passed since."""
        with self._lock:
            cached = self._norms.get(key)
        return cached[1] if cached is not None and cached[0] >= time.monotonic() else None

    def keep_shop_totals(self, key: tuple[str, str, str], totals: list[int]) -> None:
        with self._lock:
            self._norms[key] = (time.monotonic() + NORM_SECONDS, totals)

    def clear(self) -> None:
        with self._lock:
            self._rulesets.clear()
            self._routing.clear()
            self._norms.clear()


CACHES = ReviewCaches()
