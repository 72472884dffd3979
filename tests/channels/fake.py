"""An in-memory platform behind the Connector interface, for engine tests that need no HTTP."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, ClassVar

from orderly.channels.connector import (
    ChannelError,
    Connector,
    OrderPage,
    PushResult,
    RateLimit,
    RawOrder,
    StockPush,
    WebhookEvent,
)


class FakePlatform:
    def __init__(self) -> None:
        self.orders: dict[str, tuple[datetime, dict[str, Any]]] = {}
        self.stock: dict[str, int] = {}
        self.pushes: list[tuple[str, int]] = []
        self.failures: list[ChannelError] = []  # raised, first to last, by the next calls
        self.refused: dict[str, str] = {}  # listing -> the error a push of it answers inside a 200
        self.calls = 0
        self.fetches: list[tuple[datetime, datetime, str | None]] = []  # every orders page asked for
        # Whether a page (window and cursor) answers 500, for faults tied to what is asked.
        self.failing: Callable[[datetime, datetime, str | None], bool] = lambda after, before, cursor: False

    def put(self, order: dict[str, Any]) -> None:
        self.orders[order["external_id"]] = (datetime.fromisoformat(order["updated_at"]), order)

    def call(self) -> None:
        self.calls += 1
        if self.failures:
            raise self.failures.pop(0)


class FakeConnector(Connector):
    channel = "fake"
    rate_limits: ClassVar[Mapping[str, RateLimit]] = {
        "orders": RateLimit(1000, 1000),
        "stock": RateLimit(1000, 1000),
    }
    webhooks = True
    platforms: ClassVar[dict[str, FakePlatform]] = {}
    page_size = 2

    @property
    def platform(self) -> FakePlatform:
        return self.platforms[self.connection.shop_code]

    def fetch_orders(
        self, updated_after: datetime, updated_before: datetime, cursor: str | None
    ) -> OrderPage:
        self.pace("orders")
        self.platform.call()
        self.platform.fetches.append((updated_after, updated_before, cursor))
        if self.platform.failing(updated_after, updated_before, cursor):
            raise ChannelError("HTTP 500", status=500)
        found = sorted(
            (k for k, (at, _) in self.platform.orders.items() if updated_after <= at < updated_before)
        )
        start = int(cursor or 0)
        page = found[start : start + self.page_size]
        nxt = str(start + self.page_size) if start + self.page_size < len(found) else None
        return OrderPage([self._raw(k) for k in page], nxt)

    def _raw(self, key: str) -> RawOrder:
        at, body = self.platform.orders[key]
        return RawOrder(key, at.isoformat(), body)

    def fetch_order(self, external_id: str) -> RawOrder | None:
        self.platform.call()
        return self._raw(external_id) if external_id in self.platform.orders else None

    def map_order(self, raw: RawOrder) -> dict[str, Any]:
        if raw.body.get("broken"):
            raise ValueError("unreadable payload")
        return {**raw.body, "shop": self.connection.shop_code}

    def ready(self, raw: RawOrder) -> bool:
        return "stub" not in raw.body  # a stub stands for a version without an address

    def cancelled(self, raw: RawOrder) -> bool:
        return raw.body.get("stub") == "cancelled"

    def push_stock(self, pushes: Sequence[StockPush]) -> list[PushResult]:
        self.platform.call()
        for push in pushes:
            if push.listing_id not in self.platform.refused:
                self.platform.stock[push.listing_id] = push.quantity
                self.platform.pushes.append((push.listing_id, push.quantity))
        return [
            PushResult(p.listing_id, False, error=self.platform.refused[p.listing_id])
            if p.listing_id in self.platform.refused
            else PushResult(p.listing_id, True, binding={"seen": True})
            for p in pushes
        ]

    @classmethod
    def verify_webhook(cls, secret: str | None, headers: Mapping[str, str], body: bytes) -> bool:
        return headers.get("x-fake-signature") == "ok"

    @classmethod
    def parse_webhook(cls, headers: Mapping[str, str], body: bytes) -> WebhookEvent:
        import json

        order = json.loads(body)
        return WebhookEvent(
            headers["x-fake-delivery"], "orders/updated", order["external_id"], order["updated_at"], order
        )
