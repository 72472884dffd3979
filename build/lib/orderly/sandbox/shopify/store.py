"""One sandbox Shopify shop in memory: catalog, orders, stock levels, fulfillments, the REST call
bucket, injected faults and webhook deliveries. Every method is safe to call from any thread.

The ``/admin/api`` routes (see ``app.py``) read and change it as Shopify would; a script changes it
as buyers and the merchant would (``add_product``, ``place_order``, ``pay``, ``update_order``,
``fulfill``, ``cancel``) and reads what a connector sent it (``stock_levels``, ``fulfillments``).
"""

from __future__ import annotations

import copy
import dataclasses
import json
import math
import random
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from orderly.channels.shopify.webhooks import signature
from orderly.sandbox.shopify import payloads
from orderly.sandbox.shopify.models import (
    CancelIn,
    Faults,
    LineIn,
    OrderChange,
    OrderIn,
    ProductIn,
    WebhookTarget,
)
from orderly.sandbox.shopify.payloads import Json, PlacedLine, ShopInfo
from orderly.sandbox.shopify.webhooks import Delivery, WebhookSender

API_VERSION = "2024-01"
#: Shopify's REST bucket on standard plans: 40 calls, leaking 2 a second.
BUCKET_SIZE = 40
LEAK_PER_SECOND = 2.0
_FIRST_ID = 2**53 + 1  # real Shopify ids pass 2**53: clients that read JSON numbers as doubles lose them
_OPEN_FULFILLMENT_ORDER = frozenset({"open", "in_progress"})


class ApiError(Exception):
    """A request Shopify would refuse: answered with ``status`` and ``{"errors": errors}``."""

    def __init__(self, status: int, errors: Any) -> None:
        super().__init__(f"HTTP {status}: {errors}")
        self.status = status
        self.errors = errors


NOT_FOUND = "Not Found"

#: Values of the orders.json filters, as Shopify's REST reference lists them.
ORDER_STATUSES = frozenset({"open", "closed", "cancelled", "any"})
FINANCIAL_STATUSES = frozenset(
    {
        "authorized",
        "pending",
        "paid",
        "partially_paid",
        "refunded",
        "voided",
        "partially_refunded",
        "any",
        "unpaid",
    }
)
FULFILLMENT_STATUSES = frozenset({"shipped", "partial", "unshipped", "unfulfilled", "any"})
# fulfillment_status filter -> the order fulfillment_status values it selects (null: nothing shipped)
_FULFILLMENT_SELECTS: dict[str, frozenset[str | None]] = {
    "shipped": frozenset({"fulfilled"}),
    "partial": frozenset({"partial"}),
    "unshipped": frozenset({None}),
    "unfulfilled": frozenset({None, "partial"}),
}
_UNPAID = frozenset({"authorized", "partially_paid"})  # "unpaid": authorized and partially paid orders


@dataclasses.dataclass(frozen=True)
class OrderFilters:
    """What an ``orders.json`` or ``orders/count.json`` request selects; every bound is inclusive."""

    status: str = "open"
    financial_status: str = "any"
    fulfillment_status: str = "any"
    ids: frozenset[int] | None = None
    since_id: int | None = None
    created_at_min: datetime | None = None
    created_at_max: datetime | None = None
    updated_at_min: datetime | None = None
    updated_at_max: datetime | None = None
    processed_at_min: datetime | None = None
    processed_at_max: datetime | None = None

    def matches(self, order: Json) -> bool:
        return (
            self._status_matches(order)
            and (self.ids is None or order["id"] in self.ids)
            and (self.since_id is None or order["id"] > self.since_id)
            and all(
                _within(order[f"{stamp}_at"], low, high)
                for stamp, low, high in (
                    ("created", self.created_at_min, self.created_at_max),
                    ("updated", self.updated_at_min, self.updated_at_max),
                    ("processed", self.processed_at_min, self.processed_at_max),
                )
            )
        )

    def _status_matches(self, order: Json) -> bool:
        if self.status == "open" and (order["closed_at"] or order["cancelled_at"]):
            return False
        if self.status == "closed" and not order["closed_at"]:
            return False
        if self.status == "cancelled" and not order["cancelled_at"]:
            return False
        financial = order["financial_status"]
        if self.financial_status == "unpaid":
            paid_matches = financial in _UNPAID
        else:
            paid_matches = self.financial_status in ("any", financial)
        if not paid_matches:
            return False
        selects = _FULFILLMENT_SELECTS.get(self.fulfillment_status)
        return selects is None or order["fulfillment_status"] in selects


def _within(stamp: str | None, low: datetime | None, high: datetime | None) -> bool:
    if low is None and high is None:
        return True
    if stamp is None:
        return False
    moment = datetime.fromisoformat(stamp)
    return (low is None or moment >= low) and (high is None or moment <= high)


@dataclasses.dataclass(frozen=True)
class Admission:
    """What becomes of one Admin API call before it is handled."""

    call_limit: str  # the X-Shopify-Shop-Api-Call-Limit header, "used/size"
    status: int | None = None  # answer with this status instead of handling the call (429, 500)
    retry_after: float | None = None  # with a 429
    delay: float = 0.0  # seconds to wait before answering


class LeakyBucket:
    """Shopify's REST limit: each call adds one to the bucket, which leaks ``leak_per_second``; a call
    that would overflow it is refused until enough has leaked."""

    def __init__(self, size: int, leak_per_second: float) -> None:
        self.size = size
        self.leak_per_second = leak_per_second
        self._level = 0.0
        self._at = time.monotonic()

    def take(self) -> tuple[int, float | None]:
        """(calls in the bucket, seconds to wait if this call was refused)."""
        now = time.monotonic()
        self._level = max(0.0, self._level - (now - self._at) * self.leak_per_second)
        self._at = now
        if self._level + 1 > self.size:
            return self.size, (self._level + 1 - self.size) / self.leak_per_second
        self._level += 1
        return math.ceil(self._level - 1e-9), None


class ShopifyStore:
    def __init__(
        self,
        *,
        shop_domain: str = "orderly-sandbox.myshopify.com",
        access_token: str = "shpat_sandbox",  # noqa: S107 - a sandbox's, not a secret
        client_secret: str = "shpss_sandbox",  # noqa: S107 - signs deliveries of webhooks.json subscriptions
        currency: str = "USD",
        timezone: str = "America/New_York",
        seed: int = 0,
        bucket_size: int = BUCKET_SIZE,
        leak_per_second: float = LEAK_PER_SECOND,
        clock: Callable[[], datetime] | None = None,
        webhook_attempts: int = 3,
        webhook_retry_delay: float = 1.0,
        webhook_timeout: float = 5.0,
    ) -> None:
        self._lock = threading.RLock()
        self._rng = random.Random(seed)  # ids, tokens, webhook ids: the same seed, the same shop
        self._last_id = _FIRST_ID + self._rng.randrange(10**12)
        self.access_token = access_token
        self.client_secret = client_secret
        self.shop = ShopInfo(self._id(), shop_domain, currency, ZoneInfo(timezone))
        self._clock = clock or (lambda: datetime.now(UTC))
        self._bucket = LeakyBucket(bucket_size, leak_per_second)
        self._faults = Faults()
        self._fault_rng = random.Random(0)
        self._webhook_rng = random.Random(1)
        self._malformed_left = 0
        self._stats: Counter[str] = Counter()
        self._products: dict[int, Json] = {}
        self._variants: dict[int, Json] = {}
        self._orders: dict[int, Json] = {}
        self._fulfillment_orders: dict[int, Json] = {}  # by their id; each names its order
        self._fulfillment_orders_of: dict[int, list[int]] = {}  # order id -> its fulfillment orders
        self._services: dict[int, str] = {}  # location id -> the fulfillment service running it
        self._fulfillment_of: dict[int, int] = {}  # fulfillment id -> order id
        self._customers: dict[str, Json] = {}  # by email
        self._locations: dict[int, Json] = {}
        self._levels: dict[tuple[int, int], Json] = {}  # (inventory item, location) -> level
        self._sets: Counter[tuple[int, int]] = Counter()  # inventory_levels/set calls per level
        self._webhook: WebhookTarget | None = None
        self._subscriptions: dict[int, Json] = {}  # webhooks.json, by id
        self._sender = WebhookSender(
            attempts=webhook_attempts, retry_delay=webhook_retry_delay, timeout=webhook_timeout
        )
        self.location_id: int = self.add_location("Shop location")["id"]
        self._opened = self._now()

    # --- scripting: catalog and orders ------------------------------------------------------------

    def add_location(
        self, name: str, country_code: str = "US", fulfillment_service: str | None = None
    ) -> Json:
        """Another place the shop keeps stock (a warehouse, a store); the first is the primary one. A
        location of a ``fulfillment_service`` (a 3PL's app) ships its fulfillment orders itself: an app
        of the merchant's may not fulfil them."""
        with self._lock:
            place = payloads.location(self._id(), name, country_code, self._now())
            self._locations[place["id"]] = place
            if fulfillment_service is not None:
                self._services[place["id"]] = fulfillment_service
            return copy.deepcopy(place)

    def add_product(self, spec: ProductIn | Mapping[str, Any]) -> Json:
        """A product and its variants, each with its inventory item stocked at its location (the
        primary one unless the variant names another)."""
        spec = ProductIn.model_validate(spec)
        with self._lock:
            named = {v.location_id for v in spec.variants if v.location_id is not None}
            unknown = named - set(self._locations)
            if unknown:
                raise ApiError(422, {"location_id": [f"Location does not exist: {sorted(unknown)}"]})
            now = self._now()
            product = payloads.product(self._id(), spec.title, spec.vendor, now)
            for variant_spec in spec.variants:
                variant = payloads.variant(self._id(), product, variant_spec, self._id(), self.shop, now)
                product["variants"].append(variant)
                self._variants[variant["id"]] = variant
                key = (variant["inventory_item_id"], variant_spec.location_id or self.location_id)
                self._levels[key] = payloads.inventory_level(*key, variant_spec.available, now)
            self._products[product["id"]] = product
            return copy.deepcopy(product)

    def products(self) -> list[Json]:
        with self._lock:
            return copy.deepcopy(list(self._products.values()))

    def place_order(self, spec: OrderIn | Mapping[str, Any]) -> Json:
        """A checkout: the order (``orders/create``), its fulfillment orders, and the sold quantities
        taken off their locations' stock. As Shopify's order routing does, one location that stocks
        every line gets them all (the primary one first); otherwise each line goes to the first
        location stocking it, one fulfillment order per location."""
        spec = OrderIn.model_validate(spec)
        with self._lock:
            now = self._now()
            lines = [self._placed_line(line) for line in spec.lines]
            order = payloads.order(
                spec,
                lines,
                shop=self.shop,
                ids=self._id,
                tokens=self._token,
                number=len(self._orders) + 1,
                customer_json=self._customer(spec, now),
                now=now,
            )
            if Decimal(order["subtotal_price"]) < 0:
                raise ApiError(422, {"discount": ["is larger than the order's line items"]})
            items = {v["id"]: v["inventory_item_id"] for v in (line.variant for line in lines)}
            by_location: dict[int, list[Json]] = {}
            for item in order["line_items"]:
                where = self._fulfilling_location(set(items.values()), items[item["variant_id"]])
                by_location.setdefault(where, []).append(item)
            self._orders[order["id"]] = order
            self._fulfillment_orders_of[order["id"]] = []
            for location_id, located in by_location.items():
                fulfillment_order = payloads.fulfillment_order(
                    self._id(),
                    order,
                    located,
                    items,
                    self._locations[location_id],
                    self._services.get(location_id),
                    self.shop,
                    self._id,
                    now,
                )
                self._fulfillment_orders[fulfillment_order["id"]] = fulfillment_order
                self._fulfillment_orders_of[order["id"]].append(fulfillment_order["id"])
                for line in fulfillment_order["line_items"]:
                    self._add_stock(line["inventory_item_id"], location_id, -line["quantity"], now)
            self._emit("orders/create", order)
            return copy.deepcopy(order)

    def pay(self, order_id: int) -> Json:
        with self._lock:
            order = self._order(order_id)
            if order["financial_status"] not in ("pending", "authorized", "partially_paid"):
                raise ApiError(422, {"base": [f"an order {order['financial_status']} cannot be paid"]})
            order["financial_status"] = "paid"
            order["total_outstanding"] = self.shop.amount(Decimal(0))
            return self._touch(order, "orders/updated")

    def update_order(self, order_id: int, change: OrderChange | Mapping[str, Any]) -> Json:
        change = OrderChange.model_validate(change)
        with self._lock:
            order = self._order(order_id)
            if "note" in change.model_fields_set:
                order["note"] = change.note
            if change.tags is not None:
                order["tags"] = ", ".join(change.tags)
            if change.email is not None:
                order["email"] = order["contact_email"] = change.email
            if change.shipping_address is not None:
                order["shipping_address"] = payloads.address(change.shipping_address)
                for fulfillment_order in self._fulfillment_orders_for(order_id):
                    destination = fulfillment_order["destination"]
                    destination.update(
                        {
                            k: order["shipping_address"][k]
                            for k in destination
                            if k in order["shipping_address"]
                        }
                    )
            return self._touch(order, "orders/updated")

    def cancel(self, order_id: int, spec: CancelIn | Mapping[str, Any] | None = None) -> Json:
        """Cancel an unfulfilled order: money refunded (or the payment voided), stock put back."""
        spec = CancelIn.model_validate(spec or {})
        with self._lock:
            order = self._order(order_id)
            if order["cancelled_at"] is not None:
                raise ApiError(422, {"base": ["the order is already cancelled"]})
            if order["fulfillments"]:
                raise ApiError(422, {"base": ["an order with fulfillments cannot be cancelled"]})
            now = self._now()
            order["cancelled_at"] = now
            order["cancel_reason"] = spec.reason
            paid = order["financial_status"] in ("paid", "partially_paid")
            order["financial_status"] = "refunded" if paid else "voided"
            order.update(payloads.current_totals(self.shop, *(Decimal(0) for _ in range(4))))
            for item in order["line_items"]:
                item["current_quantity"] = item["fulfillable_quantity"] = 0
            for fulfillment_order in self._fulfillment_orders_for(order_id):
                fulfillment_order["status"] = "closed"
                fulfillment_order["updated_at"] = now
                for line in fulfillment_order["line_items"]:
                    self._add_stock(
                        line["inventory_item_id"],
                        fulfillment_order["assigned_location_id"],
                        line["fulfillable_quantity"],
                        now,
                    )
                    line["fulfillable_quantity"] = 0
            return self._touch(order, "orders/cancelled")

    def fulfill(
        self, order_id: int, quantities: Mapping[str, int] | None = None, tracking: Json | None = None
    ) -> list[Json]:
        """The merchant ships from Shopify's admin, outside any app: ``quantities`` by SKU, else all
        that is left, one fulfillment per location (as ``fulfillments.json`` makes them), each with
        ``orders/updated``."""
        with self._lock:
            skus: dict[int, str] = {v["id"]: v["sku"] for v in self._variants.values()}
            wanted = dict(quantities) if quantities is not None else None
            groups: dict[int, list[Json]] = {}
            for fo in self._fulfillment_orders_for(order_id):
                if fo["status"] not in _OPEN_FULFILLMENT_ORDER:
                    continue
                group: Json = {"fulfillment_order_id": fo["id"]}
                if wanted is not None:
                    chosen = []
                    for line in fo["line_items"]:
                        sku = skus[line["variant_id"]]
                        take = min(wanted.get(sku, 0), line["fulfillable_quantity"])
                        if take:
                            chosen.append({"id": line["id"], "quantity": take})
                            wanted[sku] -= take
                    if not chosen:
                        continue
                    group["fulfillment_order_line_items"] = chosen
                groups.setdefault(fo["assigned_location_id"], []).append(group)
            made = []
            for location_groups in groups.values():
                spec: Json = {"line_items_by_fulfillment_order": location_groups}
                if tracking is not None:
                    spec["tracking_info"] = tracking
                made.append(self.create_fulfillment({"fulfillment": spec}))
            return made

    def order(self, order_id: int) -> Json:
        with self._lock:
            return copy.deepcopy(self._order(order_id))

    def orders(self) -> list[Json]:
        with self._lock:
            return copy.deepcopy(list(self._orders.values()))

    # --- scripting: what the connector sent ---------------------------------------------------------

    def stock_levels(self) -> list[Json]:
        """Every inventory level, with the variant it stocks and how many times it was set."""
        with self._lock:
            variants = {v["inventory_item_id"]: v for v in self._variants.values()}
            return [
                {
                    **copy.deepcopy(level),
                    "variant_id": variants[key[0]]["id"],
                    "sku": variants[key[0]]["sku"],
                    "sets": self._sets[key],
                }
                for key, level in self._levels.items()
            ]

    def fulfillments(self, order_id: int | None = None) -> list[Json]:
        with self._lock:
            orders = [self._order(order_id)] if order_id is not None else self._orders.values()
            return copy.deepcopy([f for order in orders for f in order["fulfillments"]])

    # --- scripting: webhooks and faults ------------------------------------------------------------

    def set_webhook(self, target: WebhookTarget | Mapping[str, Any] | None) -> None:
        """Where order webhooks go (every topic), signed with ``secret``; None stops them."""
        with self._lock:
            self._webhook = None if target is None else WebhookTarget.model_validate(target)

    def webhook_deliveries(self) -> list[Json]:
        """One entry per sending (a duplicate is a second entry with the same webhook id)."""
        return self._sender.log()

    def wait_for_webhooks(self, timeout: float = 10.0) -> bool:
        """Block until every queued delivery was sent or given up; False on timeout."""
        return self._sender.wait(timeout)

    @property
    def faults(self) -> Faults:
        with self._lock:
            return self._faults

    def set_faults(self, faults: Faults | Mapping[str, Any]) -> Faults:
        """Replace the faults and reseed their generators: the same faults, the same sequence."""
        faults = Faults.model_validate(faults)
        with self._lock:
            self._faults = faults
            self._fault_rng = random.Random(faults.seed)
            self._webhook_rng = random.Random(faults.seed + 1)
            self._malformed_left = faults.malformed_pages
            return faults

    def stats(self) -> dict[str, int]:
        """Counts of calls, throttles, injected faults and webhook fates."""
        with self._lock:
            return dict(self._stats)

    def close(self) -> None:
        """Stop the webhook sender (after what is queued)."""
        self._sender.close()

    # --- the Admin API ---------------------------------------------------------------------------

    def admit(self) -> Admission:
        """The bucket and the faults' verdict on one authenticated Admin API call."""
        with self._lock:
            self._stats["calls"] += 1
            used, wait = self._bucket.take()
            call_limit = f"{used}/{self._bucket.size}"
            if wait is not None:
                self._stats["throttled"] += 1
                return Admission(call_limit, 429, wait)
            faults, draw = self._faults, self._fault_rng.random()
            if draw < faults.rate_limited:
                self._stats["injected_429"] += 1
                return Admission(call_limit, 429, faults.retry_after)
            if draw < faults.rate_limited + faults.server_error:
                self._stats["injected_500"] += 1
                return Admission(call_limit, 500)
            if draw < faults.rate_limited + faults.server_error + faults.slow:
                self._stats["injected_slow"] += 1
                return Admission(call_limit, delay=faults.slow_seconds)
            return Admission(call_limit)

    def take_malformed_page(self) -> bool:
        """Whether this orders page is to be answered with invalid JSON (then one fewer is left)."""
        with self._lock:
            if self._malformed_left <= 0:
                return False
            self._malformed_left -= 1
            self._stats["injected_malformed"] += 1
            return True

    def orders_page(
        self, filters: OrderFilters, *, limit: int, after_id: int | None = None, before_id: int | None = None
    ) -> tuple[list[Json], bool, bool]:
        """Matching orders in Shopify's order (newest first by id; oldest first after a ``since_id``):
        the page after the order ``after_id`` or before ``before_id``, and whether there are matching
        orders after and before it."""
        with self._lock:
            # A since_id walks forward from that id; otherwise the newest come first.
            direction = 1 if filters.since_id is not None else -1
            ids = sorted(
                (o["id"] for o in self._orders.values() if filters.matches(o)), key=direction.__mul__
            )
            if before_id is not None:
                chosen = [i for i in ids if i * direction < before_id * direction][-limit:]
            else:
                chosen = [i for i in ids if after_id is None or i * direction > after_id * direction][:limit]
            more_after = bool(chosen) and ids[-1] != chosen[-1]
            more_before = bool(chosen) and ids[0] != chosen[0]
            return [copy.deepcopy(self._orders[i]) for i in chosen], more_after, more_before

    def orders_count(self, filters: OrderFilters) -> int:
        with self._lock:
            return sum(1 for order in self._orders.values() if filters.matches(order))

    def variant(self, variant_id: int) -> Json:
        with self._lock:
            variant = self._variants.get(variant_id)
            if variant is None:
                raise ApiError(404, NOT_FOUND)
            return {**copy.deepcopy(variant), "inventory_quantity": self._available(variant)}

    def fulfillment_orders(self, order_id: int) -> list[Json]:
        with self._lock:
            self._order(order_id)
            return copy.deepcopy(self._fulfillment_orders_for(order_id))

    def locations(self) -> list[Json]:
        with self._lock:
            return copy.deepcopy(list(self._locations.values()))

    def set_inventory_level(self, body: Mapping[str, Any]) -> Json:
        """``inventory_levels/set``: the absolute available quantity of an item at a location; an item
        not stocked there yet is connected to it first, as Shopify does. Levels elsewhere stay."""
        item = _int_param(body, "inventory_item_id")
        location_id = _int_param(body, "location_id")
        available = _int_param(body, "available")
        with self._lock:
            if item not in {v["inventory_item_id"] for v in self._variants.values()}:
                raise ApiError(422, {"inventory_item_id": ["Inventory item does not exist"]})
            if location_id not in self._locations:
                raise ApiError(422, {"location_id": ["Location does not exist"]})
            now = self._now()
            level = self._levels[(item, location_id)] = payloads.inventory_level(
                item, location_id, available, now
            )
            self._sets[(item, location_id)] += 1
            return copy.deepcopy(level)

    def inventory_levels(self, item_ids: set[int] | None, location_ids: set[int] | None) -> list[Json]:
        if not item_ids and not location_ids:
            raise ApiError(422, {"base": ["inventory_item_ids or location_ids is required"]})
        with self._lock:
            return [
                copy.deepcopy(level)
                for (item, location_id), level in self._levels.items()
                if (not item_ids or item in item_ids) and (not location_ids or location_id in location_ids)
            ]

    def adjust_inventory_level(self, body: Mapping[str, Any]) -> Json:
        """``inventory_levels/adjust``: add ``available_adjustment`` (negative to take) to the available
        quantity of an item where it is stocked."""
        item = _int_param(body, "inventory_item_id")
        location_id = _int_param(body, "location_id")
        change = _int_param(body, "available_adjustment")
        with self._lock:
            if item not in {v["inventory_item_id"] for v in self._variants.values()}:
                raise ApiError(422, {"inventory_item_id": ["Inventory item does not exist"]})
            if location_id not in self._locations:
                raise ApiError(422, {"location_id": ["Location does not exist"]})
            if (item, location_id) not in self._levels:
                # UNCONFIRMED wording; unlike set, adjust never connects an item to a location.
                raise ApiError(422, {"base": ["Inventory item is not stocked at the location"]})
            self._add_stock(item, location_id, change, self._now())
            return copy.deepcopy(self._levels[(item, location_id)])

    def shop_resource(self) -> Json:
        """``shop.json``."""
        with self._lock:
            country = self._locations[self.location_id]["country_code"]
            return payloads.shop(
                self.shop,
                primary_location_id=self.location_id,
                country_code=country,
                created_at=self._opened,
                now=self._clock(),
            )

    # --- the Admin API: webhook subscriptions ------------------------------------------------------

    def webhooks(
        self, *, topic: str | None = None, address: str | None = None, since_id: int | None = None
    ) -> list[Json]:
        """Subscriptions, oldest first, of ``topic`` to ``address`` made after ``since_id``."""
        with self._lock:
            return [
                copy.deepcopy(hook)
                for hook in self._subscriptions.values()
                if (topic is None or hook["topic"] == topic)
                and (address is None or hook["address"] == address)
                and (since_id is None or hook["id"] > since_id)
            ]

    def webhook(self, webhook_id: int) -> Json:
        with self._lock:
            hook = self._subscriptions.get(webhook_id)
            if hook is None:
                raise ApiError(404, NOT_FOUND)
            return copy.deepcopy(hook)

    def create_webhook(self, body: Mapping[str, Any]) -> Json:
        """``POST webhooks.json``: deliveries of ``topic`` to ``address``, signed with the app's
        client secret, carrying only ``fields`` when they are given."""
        spec = _webhook_spec(body, required=("topic", "address"))
        with self._lock:
            self._check_unique(spec["topic"], spec["address"], None)
            hook = payloads.webhook(self._id(), spec, API_VERSION, self._now())
            self._subscriptions[hook["id"]] = hook
            return copy.deepcopy(hook)

    def update_webhook(self, webhook_id: int, body: Mapping[str, Any]) -> Json:
        spec = _webhook_spec(body, required=())
        with self._lock:
            hook = self._subscriptions.get(webhook_id)
            if hook is None:
                raise ApiError(404, NOT_FOUND)
            changed = {**hook, **spec}
            self._check_unique(changed["topic"], changed["address"], webhook_id)
            hook.update(spec, updated_at=self._now())
            return copy.deepcopy(hook)

    def delete_webhook(self, webhook_id: int) -> None:
        with self._lock:
            if self._subscriptions.pop(webhook_id, None) is None:
                raise ApiError(404, NOT_FOUND)

    def _check_unique(self, topic: str, address: str, webhook_id: int | None) -> None:
        if any(
            hook["topic"] == topic and hook["address"] == address and hook["id"] != webhook_id
            for hook in self._subscriptions.values()
        ):
            raise ApiError(422, {"address": ["for this topic has already been taken"]})

    def create_fulfillment(self, body: Mapping[str, Any]) -> Json:
        """``fulfillments.json``: ship lines of one order's fulfillment orders (all that is left of a
        fulfillment order when its lines are not listed), with tracking."""
        spec = body.get("fulfillment")
        groups = spec.get("line_items_by_fulfillment_order") if isinstance(spec, dict) else None
        if not isinstance(spec, dict) or not isinstance(groups, list) or not groups:
            raise ApiError(400, {"fulfillment": "Required parameter missing or invalid"})
        with self._lock:
            shipped = self._check_fulfillment(groups)
            fulfillment_orders = [self._fulfillment_orders[fo_id] for fo_id in {fo for fo, _, _ in shipped}]
            order = self._orders[fulfillment_orders[0]["order_id"]]
            items = {item["id"]: item for item in order["line_items"]}
            now = self._now()
            for _, line, quantity in shipped:
                line["fulfillable_quantity"] -= quantity
                item = items[line["line_item_id"]]
                item["fulfillable_quantity"] -= quantity
                item["fulfillment_status"] = "partial" if item["fulfillable_quantity"] else "fulfilled"
            for fo in fulfillment_orders:
                fo["status"] = (
                    "in_progress" if any(li["fulfillable_quantity"] for li in fo["line_items"]) else "closed"
                )
                fo["updated_at"] = now
            fulfillment = payloads.fulfillment(
                self._id(),
                order,
                [(items[line["line_item_id"]], quantity) for _, line, quantity in shipped],
                spec.get("tracking_info") or {},
                fulfillment_orders[0]["assigned_location_id"],
                now,
            )
            order["fulfillments"].append(fulfillment)
            self._fulfillment_of[fulfillment["id"]] = order["id"]
            order["fulfillment_status"] = (
                "partial"
                if any(item["fulfillable_quantity"] for item in order["line_items"])
                else "fulfilled"
            )
            self._touch(order, "orders/updated")
            return copy.deepcopy(fulfillment)

    def update_tracking(self, fulfillment_id: int, body: Mapping[str, Any]) -> Json:
        spec = body.get("fulfillment")
        tracking = spec.get("tracking_info") if isinstance(spec, dict) else None
        if not isinstance(tracking, dict):
            raise ApiError(400, {"fulfillment": "Required parameter missing or invalid"})
        with self._lock:
            order_id = self._fulfillment_of.get(fulfillment_id)
            if order_id is None:
                raise ApiError(404, NOT_FOUND)
            fulfillment = next(f for f in self._orders[order_id]["fulfillments"] if f["id"] == fulfillment_id)
            fulfillment.update(payloads.tracking_fields(tracking))
            fulfillment["updated_at"] = self._now()
            return copy.deepcopy(fulfillment)

    # --- internals ---------------------------------------------------------------------------------

    def _check_fulfillment(self, groups: list[Any]) -> list[tuple[int, Json, int]]:
        """(fulfillment order id, its line, quantity) to ship, after checking all of it."""
        shipped: list[tuple[int, Json, int]] = []
        orders: set[int] = set()
        locations: set[int] = set()
        for group in groups:
            fo_id = group.get("fulfillment_order_id") if isinstance(group, dict) else None
            fo = self._fulfillment_orders.get(fo_id) if isinstance(fo_id, int) else None
            if fo is None:
                raise ApiError(404, NOT_FOUND)
            if fo["status"] not in _OPEN_FULFILLMENT_ORDER:
                raise ApiError(422, {"base": [f"fulfillment order {fo['id']} is {fo['status']}"]})
            if "create_fulfillment" not in fo["supported_actions"]:
                # UNCONFIRMED wording: Shopify refuses an app fulfilling another fulfillment service's order.
                service = self._services.get(fo["assigned_location_id"], "another fulfillment service")
                refusal = (
                    f"fulfillment order {fo['id']} is assigned to {service}: it cannot be fulfilled here"
                )
                raise ApiError(422, {"base": [refusal]})
            orders.add(fo["order_id"])
            locations.add(fo["assigned_location_id"])
            lines = {line["id"]: line for line in fo["line_items"]}
            wanted = group.get("fulfillment_order_line_items")
            if wanted is None:
                shipped += [
                    (fo["id"], line, line["fulfillable_quantity"])
                    for line in lines.values()
                    if line["fulfillable_quantity"]
                ]
                continue
            for request in wanted if isinstance(wanted, list) else [None]:
                line = lines.get(request.get("id")) if isinstance(request, dict) else None
                quantity = request.get("quantity") if isinstance(request, dict) else None
                if (
                    line is None
                    or not isinstance(quantity, int)
                    or not 0 < quantity <= line["fulfillable_quantity"]
                ):
                    raise ApiError(
                        422, {"fulfillment_order_line_items": [f"invalid line or quantity: {request}"]}
                    )
                shipped.append((fo["id"], line, quantity))
        if len(orders) > 1:
            raise ApiError(422, {"base": ["fulfillment orders of different orders cannot ship together"]})
        if len(locations) > 1:
            # A fulfillment has one location_id: fulfillment orders of two locations are two fulfillments
            # (the wording is the sandbox's own; UNCONFIRMED against Shopify).
            raise ApiError(
                422, {"base": ["all fulfillment orders of a fulfillment must be assigned to one location"]}
            )
        if not shipped:
            raise ApiError(422, {"base": ["nothing left to fulfill"]})
        return shipped

    def _placed_line(self, line: LineIn) -> PlacedLine:
        variant = (
            self._variants.get(line.variant_id)
            if line.variant_id is not None
            else next((v for v in self._variants.values() if v["sku"] == line.sku), None)
        )
        if variant is None:
            raise ApiError(422, {"line_items": [f"no variant {line.variant_id or line.sku!r}"]})
        return PlacedLine(line, variant, self._products[variant["product_id"]])

    def _customer(self, spec: OrderIn, now: str) -> Json | None:
        if spec.customer is None:
            return None
        known = self._customers.get(spec.customer.email or "")
        if known is not None:
            return copy.deepcopy(known)
        default_address = payloads.address(spec.shipping_address) if spec.shipping_address else None
        customer = payloads.customer(self._id(), spec.customer, default_address, self.shop, now)
        if spec.customer.email:
            self._customers[spec.customer.email] = customer
        return copy.deepcopy(customer)

    def _order(self, order_id: int) -> Json:
        order = self._orders.get(order_id)
        if order is None:
            raise ApiError(404, NOT_FOUND)
        return order

    def _touch(self, order: Json, topic: str) -> Json:
        order["updated_at"] = self._now()
        self._emit(topic, order)
        return copy.deepcopy(order)

    def _emit(self, topic: str, order: Json) -> None:
        """Queue the webhook for ``topic`` to the scripted target and to every subscription to it."""
        if self._webhook is not None:
            self._deliver(topic, order, self._webhook.url, self._webhook.secret)
        for hook in self._subscriptions.values():
            if hook["topic"] == topic:
                fields = hook["fields"] or None
                self._deliver(topic, order, hook["address"], self.client_secret, fields)

    def _deliver(
        self, topic: str, order: Json, url: str, secret: str, fields: list[str] | None = None
    ) -> None:
        """One delivery, unless the faults drop it; they may also send it twice."""
        resource = order if fields is None else {k: v for k, v in order.items() if k in fields}
        body = json.dumps(resource, separators=(",", ":")).encode()
        webhook_id = str(uuid.UUID(int=self._rng.getrandbits(128), version=4))
        headers = {
            "Content-Type": "application/json",
            "X-Shopify-Topic": topic,
            "X-Shopify-Hmac-Sha256": signature(secret, body),
            "X-Shopify-Shop-Domain": self.shop.domain,
            "X-Shopify-API-Version": API_VERSION,
            "X-Shopify-Webhook-Id": webhook_id,
            "X-Shopify-Order-Id": str(order["id"]),
            "X-Shopify-Triggered-At": self._clock().astimezone(UTC).isoformat(),
        }
        delivery = Delivery(url, webhook_id, topic, order["id"], body, headers)
        draw = self._webhook_rng.random()
        if draw < self._faults.webhook_drop:
            self._stats["webhooks_dropped"] += 1
            self._sender.record_dropped(delivery)
            return
        self._stats["webhooks"] += 1
        self._sender.submit(delivery)
        if draw < self._faults.webhook_drop + self._faults.webhook_duplicate:
            self._stats["webhooks_duplicated"] += 1
            self._sender.submit(dataclasses.replace(delivery, duplicate=True))

    def _add_stock(self, item: int, location_id: int, change: int, now: str) -> None:
        level = self._levels.get((item, location_id))
        available = (level["available"] if level else 0) + change
        self._levels[(item, location_id)] = payloads.inventory_level(item, location_id, available, now)

    def _fulfilling_location(self, items: set[int], item: int) -> int:
        """Where ``item`` of an order of ``items`` ships from: the first location, primary first, that
        stocks every one of them, else the first that stocks it."""
        for location_id in self._locations:
            if all((each, location_id) in self._levels for each in items):
                return location_id
        for location_id in self._locations:
            if (item, location_id) in self._levels:
                return location_id
        return self.location_id

    def _fulfillment_orders_for(self, order_id: int) -> list[Json]:
        return [self._fulfillment_orders[fo_id] for fo_id in self._fulfillment_orders_of[order_id]]

    def _available(self, variant: Json) -> int:
        return sum(
            level["available"]
            for (item, _), level in self._levels.items()
            if item == variant["inventory_item_id"]
        )

    def _id(self) -> int:
        """Ids grow with time, in uneven steps, as Shopify's do."""
        self._last_id += self._rng.randint(1, 9999)
        return self._last_id

    def _token(self) -> str:
        return f"{self._rng.getrandbits(128):032x}"

    def _now(self) -> str:
        return self.shop.stamp(self._clock())


def _int_param(body: Mapping[str, Any], name: str) -> int:
    value = body.get(name)
    if not isinstance(value, int) or isinstance(value, bool):
        raise ApiError(400, {name: "Required parameter missing or invalid"})
    return value


#: The topics this sandbox sends (see ``_emit``). Shopify has many more; a subscription to one the
#: sandbox never sends is refused rather than accepted and left silent.
WEBHOOK_TOPICS = ("orders/create", "orders/updated", "orders/cancelled")


def _webhook_spec(body: Mapping[str, Any], required: tuple[str, ...]) -> Json:
    """The checked fields of a ``{"webhook": {...}}`` request body."""
    spec = body.get("webhook")
    if not isinstance(spec, dict):
        raise ApiError(400, {"webhook": "Required parameter missing or invalid"})
    errors: dict[str, list[str]] = {}
    for name in required:
        if not spec.get(name):
            errors.setdefault(name, []).append("can't be blank")
    topic = spec.get("topic")
    if topic and topic not in WEBHOOK_TOPICS:
        errors.setdefault("topic", []).append(
            f"Invalid topic specified: {topic}. Topics allowed in this sandbox: {', '.join(WEBHOOK_TOPICS)}"
        )
    address = spec.get("address")
    if address and (not isinstance(address, str) or not address.startswith(("https://", "http://"))):
        errors.setdefault("address", []).append("is invalid")
    if spec.get("format", "json") != "json":
        errors.setdefault("format", []).append("the sandbox delivers json only")
    fields = spec.get("fields")
    if fields is not None and (not isinstance(fields, list) or not all(isinstance(f, str) for f in fields)):
        errors.setdefault("fields", []).append("must be a list of field names")
    if errors:
        raise ApiError(422, errors)
    known = ("topic", "address", "format", "fields", "metafield_namespaces")
    return {name: spec[name] for name in known if name in spec}
