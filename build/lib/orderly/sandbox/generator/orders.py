"""The generator: :class:`OrderGenerator` and each shop's prepared state."""

from __future__ import annotations

import heapq
import itertools
import math
import random
from bisect import bisect
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import accumulate
from typing import Any

from orderly.sandbox.generator.anomalies import CALM_REMARKS, Anomaly
from orderly.sandbox.generator.catalog import LINE_COUNT_TABLE, QUANTITY_TABLE, Catalog, Shop, price_in
from orderly.sandbox.generator.channels import (
    AMAZON_IDS,
    CHANNELS,
    COD_METHODS,
    RELAY_DOMAINS,
    REMARKS,
    remark_for,
)
from orderly.sandbox.generator.countries import COUNTRIES, email_for, pick_name, pick_place
from orderly.sandbox.generator.draw import between, fill, one_of
from orderly.sandbox.generator.spoilers import BLACKLISTED_KEYS, SPOILERS, identity_keys


class ShopStream:
    """One shop's prepared state: item templates with its prices, and the buyers seen so far."""

    def __init__(self, shop: Shop, catalog: Catalog) -> None:
        self.shop = shop
        self.channel = CHANNELS[shop.channel]
        self.external_id = AMAZON_IDS.get(shop.code, self.channel.external_id)
        self.countries = [COUNTRIES[c] for c in shop.countries]
        prices = {p.sku: (p.name, price_in(p.usd_cents, shop.currency)) for p in catalog.products}
        prices |= {b.sku: (b.name, price_in(b.usd_cents, shop.currency)) for b in catalog.bundles}
        popularity = {p.sku: p.popularity for p in catalog.products} | {
            b.sku: b.popularity for b in catalog.bundles
        }
        self.items: list[dict[str, Any]] = []
        skus: list[str] = []
        weights: list[float] = []
        for listing in catalog.listings:
            if listing.shop != shop.code:
                continue
            title, price = prices[listing.sku]
            line: dict[str, Any] = {"platform_sku": listing.platform_sku, "listing_id": listing.listing_id}
            self.items.append(
                {k: v for k, v in line.items() if v is not None} | {"title": title, "unit_price": price}
            )
            skus.append(listing.sku)
            weights.append(popularity[listing.sku])
        self.cumulative = list(accumulate(weights))
        self.position = {sku: index for index, sku in enumerate(skus)}
        # Clean orders of the anomaly mode draw only what can ship now: a weight of 0 is never drawn.
        unavailable = catalog.sold_out() | {sku for sku, _ in catalog.presale}
        self.clean_cumulative = list(
            accumulate(
                0.0 if any(c in unavailable for c, _ in catalog.components(sku)) else weight
                for sku, weight in zip(skus, weights, strict=True)
            )
        )
        self.median_total = 0.0  # both measured by calibrate(), for the anomaly mode
        self.ceiling = math.inf
        self.buyers: list[tuple[dict[str, Any], dict[str, Any]]] = []
        self.orders_by_buyer: list[int] = []
        self.first_buyer_number = 0  # a buyer's number makes their platform id

    def lines(
        self, draw: Callable[[], float], cumulative: list[float], first: int | None = None
    ) -> tuple[list[dict[str, Any]], int]:
        """Distinct items by ``cumulative`` weight, the item at ``first`` among them if given, and their
        subtotal."""
        count = LINE_COUNT_TABLE[int(draw() * len(LINE_COUNT_TABLE))]
        items, top = self.items, cumulative[-1]
        chosen: list[int] = [] if first is None else [first]
        while len(chosen) < count:  # distinct items, the popular ones more often
            pick = bisect(cumulative, draw() * top)
            if pick not in chosen:
                chosen.append(pick)
        lines: list[dict[str, Any]] = []
        subtotal = 0
        for pick in chosen:
            item = items[pick]
            quantity = QUANTITY_TABLE[int(draw() * len(QUANTITY_TABLE))]
            line = {**item, "quantity": quantity}
            amount = item["unit_price"] * quantity
            if draw() < 0.1:  # a line promotion
                line["discount"] = amount // 20
                amount -= line["discount"]
            subtotal += amount
            lines.append(line)
        return lines, subtotal

    def charges(self, subtotal: int, discount: int) -> tuple[int, int]:
        """Shipping (waived from the threshold up) and sales tax on the subtotal less its discount."""
        shop = self.shop
        shipping = 0 if subtotal >= shop.free_shipping_over else shop.shipping_fee
        return shipping, round((subtotal - discount) * shop.sales_tax)

    def calibrate(self) -> None:
        """Measure the median order total, and set the subtotal clean orders stay under."""
        draw = random.Random(0).random  # a stream of its own, so that the generator's does not move
        totals = []
        for _ in range(_CALIBRATION_ORDERS):
            subtotal = self.lines(draw, self.clean_cumulative)[1]
            shipping, tax = self.charges(subtotal, 0)
            totals.append(subtotal + shipping + tax)
        self.median_total = sorted(totals)[len(totals) // 2]
        self.ceiling = _CLEAN_CEILING * self.median_total / (1 + self.shop.sales_tax)


# Orders sampled per shop to measure its median total; the estimate is within a few percent.
_CALIBRATION_ORDERS = 1_001
# Clean orders stay under this many median totals, HIGH_VALUE ones fall in this range: auto-review looks
# twice from somewhere between, and the margins absorb the estimate's error, coupons and rounding.
_CLEAN_CEILING = 6
_HIGH_VALUE = (20, 30)
# Outside a burst no two orders share an e-mail, phone, platform id or address within this many
# seconds: auto-review holds the third similar order within 10 minutes, and this keeps well clear.
_QUIET_SECONDS = 15 * 60
# Platform ids come from a buyer's number. The anomaly mode gives each shop its own range, so that no
# two shops' buyers share an id (auto-review would take them for one buyer), and numbers the buyers of
# anomalies and bursts, who never join a pool, from _STRANGERS up.
_BUYERS_PER_SHOP = 500_000
_STRANGERS = 10_000_000


@dataclass(slots=True)
class _Burst:
    """One buyer ordering the same item again and again within minutes."""

    stream: ShopStream
    who: tuple[dict[str, Any], dict[str, Any]]  # buyer and address
    item: int  # index of the item in every order of the burst
    sent: int = 0


class OrderGenerator:
    """Normalized orders as plain dicts, the same sequence for the same seed and catalog.

    Orders arrive in ``placed_at`` order from ``start``, about ``per_hour`` an hour. External ids are
    unique within one generator; give generators that must not collide different ``first_number``.

    With ``anomaly_rate`` above 0, about that share of orders is labelled with an :class:`Anomaly`, each
    kind about as often as the others (a VELOCITY burst of 3 to 5 orders labels its third and later
    ones); every order has one anomaly at most, and the rest are orders auto-review should approve.
    The catalog needs sold-out and presale SKUs, as ``default_catalog(markets="global")`` has.
    """

    #: Chance that an order comes from someone who bought from the shop before.
    repeat_rate = 0.3

    def __init__(
        self,
        seed: int,
        catalog: Catalog,
        *,
        start: datetime = datetime(2026, 11, 1, tzinfo=UTC),
        per_hour: float = 2_000.0,
        first_number: int = 1,
        anomaly_rate: float = 0.0,
    ) -> None:
        if not 0.0 <= anomaly_rate <= 1.0:
            raise ValueError(f"anomaly_rate is a share from 0 to 1, not {anomaly_rate}")
        if anomaly_rate and not (catalog.sold_out() and catalog.presale):
            raise ValueError(
                "anomalies need sold-out and presale SKUs, as in default_catalog(markets='global')"
            )
        self.random = random.Random(seed)
        self.catalog = catalog
        self.anomaly_rate = anomaly_rate
        self._streams = [ShopStream(shop, catalog) for shop in catalog.shops]
        self._shop_cumulative = list(accumulate(shop.share for shop in catalog.shops))
        self._clock = start.timestamp()
        self._mean_gap = 3600 / per_hour
        self._number = first_number
        # The anomaly mode never cancels (a cancelled order is not reviewed) and keeps keywords out of
        # clean remarks.
        self._cancel_rate = 0.0 if anomaly_rate else 0.005
        self._remarks = CALM_REMARKS if anomaly_rate else REMARKS
        self._labels = dict.fromkeys(Anomaly, 0)  # VELOCITY counts what scheduled bursts will label
        self._sold_out = sorted(catalog.sold_out())
        self._bursts: list[tuple[float, int, _Burst]] = []  # a heap of (due, tie-breaker, burst)
        self._burst_numbers = itertools.count()
        self._strangers = itertools.count(_STRANGERS)
        self._recent: deque[tuple[float, frozenset[str]]] = deque()  # (time, identity) of recent orders
        self._recent_count: dict[str, int] = {}  # identity key -> orders in the window
        self._labels_ahead = 0  # labels bursts scheduled beyond the one anomaly their draw stood for
        if anomaly_rate:
            for number, stream in enumerate(self._streams):
                stream.first_buyer_number = number * _BUYERS_PER_SHOP
                stream.calibrate()

    def orders(self, n: int) -> Iterator[dict[str, Any]]:
        for _ in range(n):
            yield self.order()

    def labelled_orders(self, n: int) -> Iterator[tuple[dict[str, Any], Anomaly | None]]:
        for _ in range(n):
            yield self.labelled()

    def order(self) -> dict[str, Any]:
        return self.labelled()[0]

    def labelled(self) -> tuple[dict[str, Any], Anomaly | None]:
        """The next order, and what is wrong with it (None: nothing)."""
        if not self.anomaly_rate:
            return self._ordinary(), None
        rng = self.random
        gap = rng.expovariate(1 / self._mean_gap)
        burst = None
        if self._bursts and self._bursts[0][0] <= self._clock + gap:
            self._clock, _, burst = heapq.heappop(self._bursts)
        else:
            self._clock += gap
        placed = datetime.fromtimestamp(int(self._clock), UTC)
        self._forget_until(self._clock - _QUIET_SECONDS)
        label = None
        if burst is not None:
            order = self._burst_order(burst, placed)
            label = Anomaly.VELOCITY if burst.sent >= 3 else None
        elif rng.random() >= self.anomaly_rate:
            order = self._clean(placed)
        elif self._labels_ahead:  # a burst has labelled this draw's order in advance
            self._labels_ahead -= 1
            order = self._clean(placed)
        else:
            kind = self._next_kind(placed)
            if kind is Anomaly.VELOCITY:
                order = self._start_burst(placed)
            else:
                order, label = self._anomalous(kind, placed), kind
        self._remember(identity_keys(order["buyer"], order["shipping_address"]))
        return order, label

    def _ordinary(self) -> dict[str, Any]:
        """The default stream: the hot path."""
        rng = self.random
        self._clock += rng.expovariate(1 / self._mean_gap)
        placed = datetime.fromtimestamp(int(self._clock), UTC)
        touched = self._touched()
        stream = self._stream()
        index = self._buyer(stream)
        stream.orders_by_buyer[index] += 1
        lines, subtotal = stream.lines(rng.random, stream.cumulative)
        previous = stream.orders_by_buyer[index] - 1
        return self._compose(placed, touched, stream, stream.buyers[index], previous, lines, subtotal)

    def _touched(self) -> int:
        """Seconds after placement of the order's last update: most orders are paid at once; some (bank
        transfer, COD review) are touched again later."""
        draw = self.random.random
        return 0 if draw() < 0.8 else int(draw() * 7200)

    def _stream(self) -> ShopStream:
        return self._streams[bisect(self._shop_cumulative, self.random.random() * self._shop_cumulative[-1])]

    def _compose(
        self,
        placed: datetime,
        touched: int,
        stream: ShopStream,
        who: tuple[dict[str, Any], dict[str, Any]],
        previous: int,
        lines: list[dict[str, Any]],
        subtotal: int,
    ) -> dict[str, Any]:
        """An order of ``lines`` from ``who`` (buyer and address), who ordered ``previous`` times before."""
        rng = self.random
        draw = rng.random
        number = self._number
        self._number += 1
        placed_at = placed.isoformat()
        shop, channel = stream.shop, stream.channel
        buyer, address = who
        discount = subtotal // 10 if draw() < 0.06 else 0  # a 10% coupon
        shipping, tax = stream.charges(subtotal, discount)
        payment_method = one_of(rng, channel.payment_methods)
        order: dict[str, Any] = {
            "shop": shop.code,
            "external_id": stream.external_id(number, placed),
            "placed_at": placed_at,
            "updated_at": (placed + timedelta(seconds=touched)).isoformat() if touched else placed_at,
            "currency": shop.currency,
            "payment_status": "pending" if payment_method in COD_METHODS else "paid",
            "payment_method": payment_method,
            "platform_status": channel.platform_status,
            "buyer": dict(buyer),
            "shipping_address": dict(address),
            "billing_country": address["country"],
            "lines": lines,
            "shipping_total": shipping,
            "discount_total": discount,
            "tax_total": tax,
            "total": subtotal + shipping + tax - discount,
            "tags": self._tags(stream, previous),
        }
        if draw() < 0.03:  # a gift: someone else receives it
            country = COUNTRIES[address["country"]]
            (given, _), (family, _) = pick_name(rng, country)
            order["shipping_address"]["name"] = country.full_name(given, family)
        if draw() < 0.08:
            order["buyer_remark"] = remark_for(rng, address["country"], self._remarks)
        if draw() < self._cancel_rate:
            order["cancelled"] = True
            order["platform_status"] = "cancelled"
        return order

    # --- the anomaly mode

    def _clean(self, placed: datetime) -> dict[str, Any]:
        stream = self._stream()
        index = self._buyer(stream)
        # Ordered minutes ago: someone new instead.
        while not self._quiet(identity_keys(*stream.buyers[index])):
            index = self._add_buyer(stream)
        stream.orders_by_buyer[index] += 1
        lines, subtotal = self._clean_lines(stream)
        previous = stream.orders_by_buyer[index] - 1
        return self._compose(placed, self._touched(), stream, stream.buyers[index], previous, lines, subtotal)

    def _clean_lines(self, stream: ShopStream, first: int | None = None) -> tuple[list[dict[str, Any]], int]:
        """Lines that can ship now, worth less than the stream's ceiling, with the item at ``first``."""
        while True:
            lines, subtotal = stream.lines(self.random.random, stream.clean_cumulative, first)
            if subtotal <= stream.ceiling:
                return lines, subtotal

    def _next_kind(self, placed: datetime) -> Anomaly:
        """One of the kinds labelled least so far, so that every kind gets its share."""
        kinds = [k for k in Anomaly if k is not Anomaly.PRESALE or self._unreleased(placed)]
        fewest = min(self._labels[k] for k in kinds)
        kind = one_of(self.random, [k for k in kinds if self._labels[k] == fewest])
        if kind is not Anomaly.VELOCITY:
            self._labels[kind] += 1
        return kind

    def _unreleased(self, placed: datetime) -> list[str]:
        return [sku for sku, until in self.catalog.presale if until > placed]

    def _anomalous(self, kind: Anomaly, placed: datetime) -> dict[str, Any]:
        """An order from a new buyer with ``kind`` wrong with it and nothing else."""
        rng = self.random
        stream = self._stream()
        while True:
            if kind is Anomaly.HIGH_VALUE:
                lines, subtotal = self._high_value_lines(stream)
            elif kind in (Anomaly.OUT_OF_STOCK, Anomaly.PRESALE):
                skus = self._sold_out if kind is Anomaly.OUT_OF_STOCK else self._unreleased(placed)
                lines, subtotal = self._clean_lines(stream, stream.position[one_of(rng, skus)])
            else:
                lines, subtotal = self._clean_lines(stream)
            order = self._compose(placed, self._touched(), stream, self._stranger(stream), 0, lines, subtotal)
            spoil = SPOILERS.get(kind)
            if spoil is not None:
                spoil(rng, order, stream)
            # The fraud identity itself may recur; anything else shared with a recent order is drawn again.
            if self._quiet(identity_keys(order["buyer"], order["shipping_address"]) - BLACKLISTED_KEYS):
                return order

    def _high_value_lines(self, stream: ShopStream) -> tuple[list[dict[str, Any]], int]:
        """Lines worth 20 to 30 times the shop's median order: clean ones, the first in bulk."""
        draw = self.random.random
        low, high = _HIGH_VALUE
        target = (low + (high - low) * draw()) * stream.median_total / (1 + stream.shop.sales_tax)
        lines, _ = stream.lines(draw, stream.clean_cumulative)
        for line in lines:
            line.pop("discount", None)
        rest = sum(line["unit_price"] * line["quantity"] for line in lines[1:])
        if rest > target / 2:
            lines, rest = lines[:1], 0
        bulk = lines[0]
        bulk["quantity"] = max(1, math.ceil((target - rest) / bulk["unit_price"]))
        return lines, rest + bulk["unit_price"] * bulk["quantity"]

    def _start_burst(self, placed: datetime) -> dict[str, Any]:
        """The first order of a burst of 3 to 5 from a new buyer; the others are due within 8 minutes."""
        rng = self.random
        stream = self._stream()
        who = self._stranger(stream)
        while not self._quiet(identity_keys(*who)):
            who = self._stranger(stream)
        cumulative = stream.clean_cumulative
        burst = _Burst(stream, who, bisect(cumulative, rng.random() * cumulative[-1]))
        size = between(rng, 3, 5)
        for offset in sorted(between(rng, 20, 480) for _ in range(size - 1)):
            heapq.heappush(self._bursts, (self._clock + offset, next(self._burst_numbers), burst))
        self._labels[Anomaly.VELOCITY] += size - 2
        self._labels_ahead += size - 3
        return self._burst_order(burst, placed)

    def _burst_order(self, burst: _Burst, placed: datetime) -> dict[str, Any]:
        burst.sent += 1
        stream = burst.stream
        lines, subtotal = self._clean_lines(stream, burst.item)
        return self._compose(placed, self._touched(), stream, burst.who, burst.sent - 1, lines, subtotal)

    def _stranger(self, stream: ShopStream) -> tuple[dict[str, Any], dict[str, Any]]:
        """A new buyer who stays out of the shop's pool, so never comes back."""
        return self._new_buyer(stream, next(self._strangers))

    def _quiet(self, identity: frozenset[str]) -> bool:
        """Whether no recent order shares any of ``identity``."""
        return not any(key in self._recent_count for key in identity)

    def _remember(self, identity: frozenset[str]) -> None:
        self._recent.append((self._clock, identity))
        for key in identity:
            self._recent_count[key] = self._recent_count.get(key, 0) + 1

    def _forget_until(self, limit: float) -> None:
        recent, counts = self._recent, self._recent_count
        while recent and recent[0][0] <= limit:
            for key in recent.popleft()[1]:
                counts[key] -= 1
                if not counts[key]:
                    del counts[key]

    # --- buyers, tags

    def _buyer(self, stream: ShopStream) -> int:
        """A returning buyer (loyal ones more often) or a new one."""
        seen = len(stream.buyers)
        draw = self.random.random
        if seen and draw() < self.repeat_rate:
            return int(seen * draw() ** 2)
        return self._add_buyer(stream)

    def _add_buyer(self, stream: ShopStream) -> int:
        index = len(stream.buyers)
        stream.buyers.append(self._new_buyer(stream, stream.first_buyer_number + index))
        stream.orders_by_buyer.append(0)
        return index

    def _new_buyer(self, stream: ShopStream, index: int) -> tuple[dict[str, Any], dict[str, Any]]:
        rng = self.random
        # Shops sell mostly in their home country.
        country = stream.countries[0 if rng.random() < 0.85 else int(rng.random() * len(stream.countries))]
        (given, given_latin), (family, family_latin) = pick_name(rng, country)
        name = country.full_name(given, family)
        place = pick_place(rng, country)
        line1, line2 = country.street(rng, place)
        phone = fill(rng, one_of(rng, country.phones))
        handle = f"{given_latin}{family_latin}"
        buyer: dict[str, Any] = {"name": name}
        email = stream.channel.email
        if email == "own":
            buyer["email"] = email_for(rng, country, given_latin, family_latin)
            if rng.random() < 0.5:
                buyer["phone"] = phone
        elif email == "relay":
            relay = f"{rng.getrandbits(64):016x}"
            buyer["email"] = f"{relay}@{RELAY_DOMAINS.get(stream.shop.code, 'marketplace.amazon.com')}"
        platform_id = stream.channel.buyer_id(rng, index, handle)
        if platform_id is not None:
            buyer["platform_id"] = platform_id
        address: dict[str, Any] = {"name": name, "line1": line1}
        if line2:
            address["line2"] = line2
        address["city"] = place[0]
        if place[1]:
            address["region"] = place[1]
        address |= {"postal_code": fill(rng, place[2]), "country": country.code, "phone": phone}
        return buyer, address

    def _tags(self, stream: ShopStream, previous: int) -> list[str]:
        draw = self.random.random
        tags = ["repeat-buyer"] if previous else []
        if previous >= 3:
            tags.append("vip")
        for tag, chance in stream.channel.tags:
            if draw() < chance:
                tags.append(tag)
        return tags
