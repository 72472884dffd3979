"""What a rule sees of one order while it is reviewed (:class:`View`), and the facts around it: the
order itself (:class:`Subject`), the recent orders of its buyer and address (:class:`History`), its
shop's normal order and the stock as read (:class:`ReviewContext`). Pure: the service (or a benchmark)
fills a context; nothing here reads a database. Checks and named facts import these types; nothing here
imports a check or a rule.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections import deque
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from orderly.core.money import to_base
from orderly.core.phrases import Phrase
from orderly.review.domain.identities import identify


@dataclass(frozen=True, slots=True)
class ShopNorm:
    """A shop's normal order in one currency: the median of its recent totals, and over how many."""

    median: int
    orders: int


class RunningNorm:
    """A shop's latest order totals in one currency, oldest first, kept sorted as well so the median is
    read at once as a batch's own orders join it one by one."""

    __slots__ = ("_latest", "_sorted", "sample")

    def __init__(self, totals: Iterable[int], sample: int) -> None:
        self.sample = sample
        self._latest = deque(totals)
        while len(self._latest) > sample:
            self._latest.popleft()
        self._sorted = sorted(self._latest)

    def add(self, total: int) -> None:
        self._latest.append(total)
        insort(self._sorted, total)
        if len(self._latest) > self.sample:
            del self._sorted[bisect_left(self._sorted, self._latest.popleft())]

    @property
    def norm(self) -> ShopNorm | None:
        count = len(self._sorted)
        if not count:
            return None
        middle = count // 2
        median = self._sorted[middle] if count % 2 else (self._sorted[middle - 1] + self._sorted[middle]) / 2
        return ShopNorm(int(median), count)


@dataclass(frozen=True, slots=True)
class Seen:
    """An order in the recent history of a buyer or an address."""

    key: Hashable
    order_id: int | None
    placed_at: float  # POSIX seconds: compared a hundred thousand times a second
    skus: frozenset[str]
    address: int  # identity hashes: what the order_identities table holds
    buyer: int
    mergeable: bool  # not yet shipped, cancelled or on a person's hold


class History:
    """Recent orders by identity (buyer id, email, phone, address), for velocity and merge checks."""

    __slots__ = ("_by_identity", "horizon")

    def __init__(self, horizon: float = 30 * 86400) -> None:
        self._by_identity: dict[int, list[Seen]] = {}
        self.horizon = horizon  # seconds: no check looks further back than this

    def add(self, seen: Seen, identities: Iterable[int]) -> None:
        oldest = seen.placed_at - self.horizon
        for identity in identities:
            entries = self._by_identity.setdefault(identity, [])
            if entries and entries[0].placed_at < oldest:
                entries[:] = [e for e in entries if e.placed_at >= oldest]
            if len(entries) >= 64:  # a shared address (a depot, a reshipper) must not grow without end
                del entries[:32]
            entries.append(seen)

    def around(self, identities: Iterable[int], at: float, window: float, exclude: Hashable) -> list[Seen]:
        """Other orders of any of these identities placed within ``window`` seconds of ``at``."""
        found: dict[Hashable, Seen] = {}
        by_identity = self._by_identity
        for identity in identities:
            entries = by_identity.get(identity)
            if entries is None:
                continue
            for seen in entries:
                if abs(seen.placed_at - at) <= window and seen.key != exclude:
                    found[seen.key] = seen
        return list(found.values())


@dataclass(slots=True)
class ReviewContext:
    """What the hub knows around the orders of one review run.

    ``now`` is when the review happens; ``None`` reviews each order as of its own ``updated_at`` (a
    replay or a benchmark). ``available`` maps a SKU to its available units per warehouse code;
    ``None`` means stock is not known here, and the stock checks are left to allocation.
    """

    now: datetime | None = None
    history: History = field(default_factory=History)
    norms: Mapping[tuple[str, str], ShopNorm] = field(default_factory=dict)
    available: Mapping[str, Mapping[str, int]] | None = None
    warehouses: tuple[str, ...] = ()
    presale: Mapping[str, datetime] = field(default_factory=dict)
    base_currency: str = "USD"
    rates: Mapping[str, float] = field(default_factory=dict)  # base units per unit of the currency

    def to_base(self, amount: int, currency: str) -> int | None:
        return to_base(amount, currency, self.base_currency, self.rates)


@dataclass(slots=True)
class Subject:
    """One order under review: the normalized order and what the hub resolved of it."""

    key: Hashable
    order: Mapping[str, Any]  # a checked NormalizedOrder
    total: int
    lines: tuple[tuple[str, int], ...]  # (our SKU, quantity) per order line
    needs: Mapping[str, int]  # units of stock per SKU, bundles expanded to their components
    categories: frozenset[str] = frozenset()
    channel: str | None = None
    order_id: int | None = None
    weight_g: int | None = None  # every unit's weight summed; None when a product has none
    longest_mm: int | None = None  # the longest side of any unit; None when no product has dimensions
    placed: float = field(init=False)
    address: int = field(init=False)
    street: int = field(init=False)
    buyer: int = field(init=False)
    identities: tuple[int, ...] = field(init=False)  # the address's last
    skus: frozenset[str] = field(init=False)  # read by the checks and by each later order's history

    def __post_init__(self) -> None:
        order = self.order
        self.placed = order["placed_at"].timestamp()
        self.address, self.street, self.buyer, self.identities = identify(
            order["shop"], order["buyer"], order["shipping_address"]
        )
        self.skus = frozenset(sku for sku, _ in self.lines)

    def seen(self, *, mergeable: bool = True) -> Seen:
        return Seen(self.key, self.order_id, self.placed, self.skus, self.address, self.buyer, mergeable)


@dataclass(frozen=True, slots=True)
class Factor:
    name: str
    weight: int
    message: str
    phrase: Phrase | None = None  # the message for the console to translate


@dataclass(frozen=True, slots=True)
class StockOutcome:
    short: bool = False
    split_needed: bool = False
    shortages: tuple[tuple[str, int, int], ...] = ()  # (sku, needed, available everywhere)

    @property
    def short_skus(self) -> list[str]:
        return [sku for sku, _, _ in self.shortages]


_NO_STOCK = StockOutcome()


class View:
    """The engine's view of one order while it is reviewed: what facts and checks read."""

    __slots__ = (
        "_stock",
        "context",
        "history_hours",
        "now",
        "presale_skus",
        "risk_factors",
        "risk_score",
        "subject",
    )

    def __init__(self, subject: Subject, context: ReviewContext, history_hours: float = 24.0) -> None:
        self.subject, self.context, self.history_hours = subject, context, history_hours
        self.now: datetime = context.now or subject.order["updated_at"]
        self.risk_score = 0
        self.risk_factors: list[Factor] = []
        self._stock: StockOutcome | None = None
        presale = context.presale
        self.presale_skus = (
            sorted(
                {
                    sku
                    for sku in (*subject.needs, *(s for s, _ in subject.lines))
                    if sku in presale and presale[sku] > self.now
                }
            )
            if presale
            else []
        )

    @property
    def risk_factor_names(self) -> list[str]:
        return [f.name for f in self.risk_factors]

    def recent_count(self, *identities: int) -> int:
        window = self.history_hours * 3600
        return len(self.context.history.around(identities, self.subject.placed, window, self.subject.key))

    @property
    def stock(self) -> StockOutcome:
        if self._stock is None:
            self._stock = _stock_outcome(self.subject.needs, self.context)
        return self._stock


def _stock_outcome(needs: Mapping[str, int], context: ReviewContext) -> StockOutcome:
    available = context.available
    if available is None or not needs:
        return _NO_STOCK
    empty: Mapping[str, int] = {}
    wanted = [(available.get(sku, empty), n) for sku, n in needs.items()]
    for warehouse in context.warehouses:  # the usual case first: one warehouse has it all
        for units, n in wanted:
            if units.get(warehouse, 0) < n:
                break
        else:
            return _NO_STOCK
    shortages = []
    for sku, need in needs.items():
        total = sum(available.get(sku, {}).values())
        if total < need:
            shortages.append((sku, need, total))
    if shortages:
        return StockOutcome(True, False, tuple(shortages))
    return StockOutcome(False, True)
