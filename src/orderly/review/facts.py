"""What a rule looks at: the order under review, what the hub knows around it, and the named facts
conditions may use. Pure: the service (or a benchmark) fills a :class:`ReviewContext`; nothing here
reads a database.
"""

from __future__ import annotations

import hashlib
import re
from bisect import bisect_left, insort
from collections import deque
from collections.abc import Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from orderly.core.money import minor_unit_exponent

FactType = Literal["number", "text", "bool", "list", "time"]


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
        for identity in identities:
            for seen in self._by_identity.get(identity, ()):
                if seen.key != exclude and abs(seen.placed_at - at) <= window:
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
        if currency == self.base_currency:
            return amount
        rate = self.rates.get(currency)
        if rate is None:
            return None
        shift = minor_unit_exponent(self.base_currency) - minor_unit_exponent(currency)
        return round(amount * rate * 10.0**shift)


_NOT_DIGIT = re.compile(r"\D+")


_NOT_ALNUM_OR_BAR = re.compile(r"[^\w|]+|_")


def _address_hashes(address: Mapping[str, Any]) -> tuple[int, int]:
    """(the address, the address without its second line): the same however it is spaced, cased or
    punctuated, hashed as identities."""
    joined = "|".join(
        (address.get(part) or "").replace("|", " ") for part in ("line1", "line2", "postal_code", "country")
    )
    normal = _NOT_ALNUM_OR_BAR.sub("", joined.casefold())
    line1, _, postal, country = normal.split("|")
    return identity_hash("a:" + normal), identity_hash(f"a:{line1}||{postal}|{country}")


def street_fingerprint(address: Mapping[str, Any]) -> int:
    """The address without its second line (flat, floor): what a blacklist names."""
    return _address_hashes(address)[1]


def phone_digits(phone: str | None) -> str | None:
    """The last nine digits: the same line whether written with or without a country prefix."""
    if not phone:
        return None
    digits = _NOT_DIGIT.sub("", phone)
    return digits[-9:] if len(digits) >= 6 else None


def identify(
    shop: str, buyer: Mapping[str, Any], address: Mapping[str, Any]
) -> tuple[int, int, int, tuple[int, ...]]:
    """(address, street, the buyer, every identity) of an order, hashed as order_identities stores
    them: its buyer id on the shop, email, phone and address, each prefixed by what it is; the
    address last. The street is the address without its second line."""
    ids: list[str] = []
    if buyer.get("platform_id"):
        ids.append(f"b:{shop}:{buyer['platform_id']}")
    if buyer.get("email"):
        ids.append("e:" + buyer["email"].casefold())
    phone = phone_digits(buyer.get("phone") or address.get("phone"))
    if phone:
        ids.append("p:" + phone)
    # Without any id the name on the parcel stands for the buyer, at this address only.
    hashes = [identity_hash(i) for i in ids]
    buyer_hash = (
        hashes[0]
        if ids
        else identity_hash("n:" + (buyer.get("name") or address.get("name") or "").casefold())
    )
    address_hash, street_hash = _address_hashes(address)
    hashes.append(address_hash)
    return address_hash, street_hash, buyer_hash, tuple(hashes)


def identity_hash(identity: str) -> int:
    """A signed 64-bit hash of an identity, as the order_identities table stores it."""
    return int.from_bytes(hashlib.blake2b(identity.encode(), digest_size=8).digest(), "big", signed=True)


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
    placed: float = field(init=False)
    address: int = field(init=False)
    street: int = field(init=False)
    buyer: int = field(init=False)
    identities: tuple[int, ...] = field(init=False)  # the address's last

    def __post_init__(self) -> None:
        order = self.order
        self.placed = order["placed_at"].timestamp()
        self.address, self.street, self.buyer, self.identities = identify(
            order["shop"], order["buyer"], order["shipping_address"]
        )

    @property
    def skus(self) -> frozenset[str]:
        return frozenset(sku for sku, _ in self.lines)

    def seen(self, *, mergeable: bool = True) -> Seen:
        return Seen(self.key, self.order_id, self.placed, self.skus, self.address, self.buyer, mergeable)


@dataclass(frozen=True, slots=True)
class Fact:
    name: str
    type: FactType
    description: str
    read: Callable[[Any], Any]  # takes the rule engine's view of the order


def _text(value: Any) -> str | None:
    return value if value else None


def _remark(order: Mapping[str, Any]) -> str | None:
    parts = [order.get("buyer_remark"), order.get("seller_remark")]
    return "\n".join(p for p in parts if p) or None


# The engine's view (``orderly.review.domain.View``) exposes ``subject``, ``context``, ``now``,
# ``risk_score``, ``risk_factors`` and the stock outcome; facts read only those.
FACTS: dict[str, Fact] = {
    f.name: f
    for f in (
        Fact("order.shop", "text", "the shop's code", lambda v: v.subject.order["shop"]),
        Fact("order.channel", "text", "the platform (shopify, amazon...)", lambda v: v.subject.channel),
        Fact("order.total", "number", "total in minor units of its currency", lambda v: v.subject.total),
        Fact("order.currency", "text", "ISO 4217", lambda v: v.subject.order["currency"]),
        Fact(
            "order.total_base",
            "number",
            "total in minor units of the base currency (null without a rate)",
            lambda v: v.context.to_base(v.subject.total, v.subject.order["currency"]),
        ),
        Fact(
            "order.shipping_total",
            "number",
            "shipping in minor units",
            lambda v: v.subject.order["shipping_total"],
        ),
        Fact(
            "order.discount_total",
            "number",
            "discounts in minor units",
            lambda v: v.subject.order["discount_total"],
        ),
        Fact(
            "order.item_count", "number", "units over all lines", lambda v: sum(q for _, q in v.subject.lines)
        ),
        Fact("order.line_count", "number", "number of lines", lambda v: len(v.subject.lines)),
        Fact("order.skus", "list", "our SKUs on the lines", lambda v: [s for s, _ in v.subject.lines]),
        Fact(
            "order.categories",
            "list",
            "product categories on the lines",
            lambda v: sorted(v.subject.categories),
        ),
        Fact("order.tags", "list", "the order's tags", lambda v: v.subject.order["tags"]),
        Fact(
            "order.payment_status",
            "text",
            "pending, paid...",
            lambda v: str(v.subject.order["payment_status"]),
        ),
        Fact(
            "order.payment_method",
            "text",
            "as the platform names it",
            lambda v: v.subject.order["payment_method"],
        ),
        Fact(
            "order.platform_status",
            "text",
            "the platform's status",
            lambda v: v.subject.order["platform_status"],
        ),
        Fact("order.remark", "text", "buyer and seller remarks together", lambda v: _remark(v.subject.order)),
        Fact("order.buyer_remark", "text", "the buyer's remark", lambda v: v.subject.order["buyer_remark"]),
        Fact(
            "order.seller_remark", "text", "the seller's remark", lambda v: v.subject.order["seller_remark"]
        ),
        Fact(
            "order.age_minutes",
            "number",
            "minutes since the order was placed",
            lambda v: (v.now - v.subject.order["placed_at"]).total_seconds() / 60,
        ),
        Fact(
            "order.placed_at", "time", "when it was placed (ISO 8601)", lambda v: v.subject.order["placed_at"]
        ),
        Fact(
            "address.country",
            "text",
            "destination, ISO 3166-1 alpha-2",
            lambda v: v.subject.order["shipping_address"]["country"],
        ),
        Fact(
            "address.region",
            "text",
            "state or province",
            lambda v: v.subject.order["shipping_address"]["region"],
        ),
        Fact("address.city", "text", "city", lambda v: v.subject.order["shipping_address"]["city"]),
        Fact(
            "address.postal_code",
            "text",
            "postal code",
            lambda v: v.subject.order["shipping_address"]["postal_code"],
        ),
        Fact(
            "address.line1",
            "text",
            "first street line",
            lambda v: v.subject.order["shipping_address"]["line1"],
        ),
        Fact(
            "address.recent_orders",
            "number",
            "other recent orders to this address",
            lambda v: v.recent_count(v.subject.address),
        ),
        Fact(
            "billing.country",
            "text",
            "billing country, if known",
            lambda v: v.subject.order["billing_country"],
        ),
        Fact("buyer.name", "text", "buyer's name", lambda v: _text(v.subject.order["buyer"]["name"])),
        Fact("buyer.email", "text", "buyer's email", lambda v: _text(v.subject.order["buyer"]["email"])),
        Fact(
            "buyer.phone",
            "text",
            "buyer's phone, else the address's",
            lambda v: _text(
                v.subject.order["buyer"]["phone"] or v.subject.order["shipping_address"]["phone"]
            ),
        ),
        Fact(
            "buyer.platform_id",
            "text",
            "buyer's id on the platform",
            lambda v: v.subject.order["buyer"]["platform_id"],
        ),
        Fact(
            "buyer.recent_orders",
            "number",
            "other recent orders of this buyer (by id, email or phone)",
            lambda v: v.recent_count(*v.subject.identities[:-1]),
        ),
        Fact(
            "stock.short",
            "bool",
            "some line lacks stock in every warehouse together",
            lambda v: v.stock.short,
        ),
        Fact(
            "stock.short_skus", "list", "SKUs short in every warehouse together", lambda v: v.stock.short_skus
        ),
        Fact(
            "stock.split_needed",
            "bool",
            "no one warehouse can fill the order",
            lambda v: v.stock.split_needed,
        ),
        Fact(
            "stock.presale",
            "bool",
            "a line is a presale item not yet released",
            lambda v: bool(v.presale_skus),
        ),
        Fact("risk.score", "number", "0-100, the sum of the risk factors that fired", lambda v: v.risk_score),
        Fact("risk.factors", "list", "names of the risk factors that fired", lambda v: v.risk_factor_names),
    )
}
