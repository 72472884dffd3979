"""The state of one Lazada seller account and the platform's answers to it, written from the contract
sheet (``../shared/platforms/lazada/CONTRACT.md``) and the published samples beside it, not from the
hub's connector.

Every API call is checked as the Lazada gateway checks it (``check``): seeded faults first, then the
signature (HMAC-SHA256 over the API path and the sorted parameters, uppercase hex), the timestamp
(within 7200 s), the access token, and the API's rate bucket. Errors are the published envelope
``{"code", "type", "message", "request_id"}`` with a string ``code``, on HTTP 200 as the gateway
answers them; a 5xx is the gateway's own failure. What the contract leaves UNCONFIRMED is marked where
it is decided.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import random
import secrets
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import httpx

from orderly.sandbox.bucket import Bucket
from orderly.sandbox.labels import label_pdf

#: The gateway's tolerance for a request's ``timestamp`` (CONTRACT section 1).
TIMESTAMP_WINDOW_MS = 7200 * 1000
#: Most SKUs one /product/price_quantity/update takes (CONTRACT section 5).
MAX_SKUS = 50
#: Most orders one /orders/items/get names. UNCONFIRMED: the contract did not save its shape; 50 is
#: the figure third-party clients use.
MAX_ORDER_IDS = 50
MAX_LIMIT = 100  # /orders/get
#: Sites by country: currency and the offset timestamps are written in.
SITES = {
    "SG": ("SGD", 8, "Singapore"),
    "MY": ("MYR", 8, "Malaysia"),
    "PH": ("PHP", 8, "Philippines"),
    "TH": ("THB", 7, "Thailand"),
    "VN": ("VND", 7, "Vietnam"),
    "ID": ("IDR", 7, "Indonesia"),
}
#: Item statuses from which packing is allowed, and from which ready-to-ship (CONTRACT section 6).
PACKABLE = frozenset({"pending", "repacked"})
#: Trade-order push: message_type 0 (CONTRACT section 7). Reverse-order pushes use the same number in
#: the published sample; the real one is UNCONFIRMED.
TRADE_ORDER = 0


def sign(secret: str, api_path: str, params: Mapping[str, str]) -> str:
    """The gateway's signature: HMAC-SHA256 keyed with the app secret over the API path followed by
    every parameter but ``sign``, sorted by name, as name then value; uppercase hex."""
    text = api_path + "".join(f"{name}{params[name]}" for name in sorted(params) if name != "sign")
    return hmac.new(secret.encode(), text.encode(), hashlib.sha256).hexdigest().upper()


def push_signature(app_key: str, app_secret: str, body: bytes) -> str:
    """A push's ``Authorization``: lowercase hex HMAC-SHA256 keyed with the app secret over the app key
    followed by the raw body."""
    return hmac.new(app_secret.encode(), app_key.encode() + body, hashlib.sha256).hexdigest()


class SandboxError(ValueError):
    """A scripted move that the seller's world refuses (e.g. shipping a cancelled order)."""


@dataclass
class Answer:
    """What the gateway answers: an HTTP status and a JSON body."""

    status: int
    body: dict[str, Any]


@dataclass
class Faults:
    """Seeded faults on API calls: a share answered throttled (the API's throttle error), a share
    answered HTTP 500, and a delay before every answer."""

    throttle: float = 0.0
    error: float = 0.0
    slow: float = 0.0
    seed: int = 0


@dataclass
class _Product:
    item_id: str
    sku_id: str
    seller_sku: str
    name: str
    price: str
    quantity: int
    fbl: bool = False  # stocked in a Lazada warehouse (Fulfilment by Lazada)


@dataclass
class _Item:
    order_item_id: str
    product: _Product
    paid_price: str
    voucher_seller: str = "0.00"
    status: str = "unpaid"
    tracking_code: str = ""
    package_id: str = ""
    shipment_provider: str = ""
    cancel_return_initiator: str = ""
    reason: str = ""
    reverse_order_id: str = ""
    updated_at: datetime = field(default_factory=lambda: datetime.now(UTC))


@dataclass
class _Order:
    order_id: str
    order_number: str
    created_at: datetime
    updated_at: datetime
    items: list[_Item]
    buyer: dict[str, str]
    remarks: str
    payment_method: str
    shipping_fee: str
    fbl: bool


@dataclass
class _Package:
    package_id: str
    order_id: str
    item_ids: list[str]
    tracking_number: str
    provider: str


class LazadaStore:
    """One seller on one Lazada site. Script it from Python (``add_product``, ``place_order``,
    ``pay``, ``cancel``, ``ship``, ``deliver``, ``return_items``, ``quantity``) or over HTTP
    (``/_sandbox``)."""

    def __init__(
        self,
        *,
        country: str = "SG",
        app_key: str = "100132",
        app_secret: str = "sandbox-app-secret",  # noqa: S107 - the sandbox's own
        seed: int = 0,
        rate_per_second: float = 1000.0,
        burst: int = 1000,
        token_lifetime: int = 604800,
        push_retry_delay: float = 0.05,
    ) -> None:
        self.country = country
        self.currency, offset, self.country_name = SITES[country]
        self.zone = timezone(timedelta(hours=offset))
        self.app_key, self.app_secret = app_key, app_secret
        self.seller_id = "1000114855"
        self.token_lifetime = token_lifetime
        self._lock = threading.RLock()
        self._rng = random.Random(seed)
        self._ids = itertools.count(260422900198363 + seed * 1_000_000)
        self._tokens: dict[str, float] = {}  # access token -> expiry (epoch seconds)
        self._refresh: dict[str, float] = {}
        self._codes: set[str] = set()
        self.access_token, self.refresh_token = self._issue()
        self.products: dict[str, _Product] = {}
        self.orders: dict[str, _Order] = {}
        self.packages: dict[str, _Package] = {}
        self.rate = (rate_per_second, burst)
        self._buckets: dict[str, Bucket] = {}
        self.faults = Faults()
        self._fault_rng = random.Random(0)
        self._calls: dict[str, int] = {}
        self.partial_failures: dict[str, str] = {}  # seller SKU -> the message its update fails with
        self.webhook_url: str | None = None
        self.push_duplicates = False
        self.push_retry_delay = push_retry_delay
        self.pushes: list[dict[str, Any]] = []  # every push made, in order
        self._outbox: list[bytes] = []
        self._sender: threading.Thread | None = None
        self._sending = threading.Condition(self._lock)
        self.base_url = ""  # set by whoever serves the app, for label links

    # --- tokens ---------------------------------------------------------------------------------

    def _issue(self) -> tuple[str, str]:
        access, refresh = "50000" + secrets.token_hex(16), "50001" + secrets.token_hex(16)
        now = time.time()
        self._tokens[access] = now + self.token_lifetime
        self._refresh[refresh] = now + 30 * 86400
        return access, refresh

    def authorization_code(self) -> str:
        """The code Lazada hands a seller who authorized the app (``0_<app key>_<random>``)."""
        with self._lock:
            code = f"0_{self.app_key}_{secrets.token_urlsafe(18)}"
            self._codes.add(code)
            return code

    def expire_tokens(self) -> None:
        """Every access token issued so far expires now (refresh tokens stay good)."""
        with self._lock:
            self._tokens = dict.fromkeys(self._tokens, 0.0)

    def _token_answer(self, access: str, refresh: str) -> Answer:
        # The token response's shape: UNCONFIRMED in the contract; as third-party SDKs show it.
        return Answer(
            200,
            {
                "code": "0",
                "access_token": access,
                "refresh_token": refresh,
                "expires_in": self.token_lifetime,
                "refresh_expires_in": 30 * 86400,
                "country": self.country.lower(),
                "account_platform": "seller_center",
                "country_user_info": [
                    {"country": self.country.lower(), "seller_id": self.seller_id, "user_id": self.seller_id}
                ],
                "request_id": _request_id(),
            },
        )

    def token_create(self, params: Mapping[str, str]) -> Answer:
        with self._lock:
            code = params.get("code", "")
            if code not in self._codes:
                return _error("InvalidCode", "ISP", "Invalid authorization code")
            self._codes.discard(code)  # a code is good once
            return self._token_answer(*self._issue())

    def token_refresh(self, params: Mapping[str, str]) -> Answer:
        with self._lock:
            refresh = params.get("refresh_token", "")
            if self._refresh.get(refresh, 0) < time.time():
                return _error(
                    "IllegalRefreshToken", "ISV", "The specified refresh token is invalid or expired"
                )
            access, _ = self._issue()
            # UNCONFIRMED whether Lazada rotates the refresh token: this sandbox hands a new one and keeps
            # the old one good until it expires.
            new_refresh = "50001" + secrets.token_hex(16)
            self._refresh[new_refresh] = self._refresh[refresh]
            return self._token_answer(access, new_refresh)

    # --- the gateway ----------------------------------------------------------------------------

    def set_faults(self, faults: Faults) -> None:
        with self._lock:
            self.faults, self._fault_rng = faults, random.Random(faults.seed)

    def calls(self) -> dict[str, int]:
        with self._lock:
            return dict(self._calls)

    def check(self, api_path: str, params: Mapping[str, str], *, token: bool = True) -> Answer | None:
        """The gateway's checks of one call, in order; None when it may go on to the API."""
        with self._lock:
            self._calls[api_path] = self._calls.get(api_path, 0) + 1
            draw = self._fault_rng.random()
            if draw < self.faults.error:
                return Answer(500, {"code": "InternalError", "type": "SYSTEM", "message": "sandbox fault"})
            if draw < self.faults.error + self.faults.throttle:
                return self._throttled(api_path)
            for name in (
                "app_key",
                "timestamp",
                "sign_method",
                "sign",
                *(("access_token",) if token else ()),
            ):
                if not params.get(name):
                    return _error("MISSING_PARAMETER", "ISV", f"missing required parameter: {name}")
            if params["app_key"] != self.app_key:
                return _error("InvalidAppKey", "ISV", "Invalid app key")
            if params["sign_method"] != "sha256":
                return _error("InvalidSignMethod", "ISV", "sign_method must be sha256")
            expected = sign(self.app_secret, api_path, params)
            if not hmac.compare_digest(expected, params["sign"]):
                return _error(
                    "IncompleteSignature",
                    "ISV",
                    "The request signature does not conform to platform standards",
                )
            try:
                stamp = int(params["timestamp"])
            except ValueError:
                return _error("InvalidTimestamp", "ISV", "timestamp must be milliseconds since the epoch")
            if abs(stamp - time.time() * 1000) > TIMESTAMP_WINDOW_MS:
                return _error("InvalidTimestamp", "ISV", "Timestamp is out of the allowed range")
            if token and self._tokens.get(params["access_token"], 0) < time.time():
                return _error("IllegalAccessToken", "ISV", "The specified access token is invalid or expired")
            bucket = self._buckets.setdefault(api_path, Bucket(self.rate[1], self.rate[0], self.rate[1]))
            if not bucket.take():
                return self._throttled(api_path)
            return None

    def _throttled(self, api_path: str) -> Answer:
        # E901 is the throttle of /product/price_quantity/update (CONTRACT section 3); the general
        # throttle's code and HTTP status are UNCONFIRMED: "ApiCallLimit" on HTTP 200 here.
        if api_path == "/product/price_quantity/update":
            return _error("E901", "ISP", "Call api too frequently")
        return _error("ApiCallLimit", "ISP", "The request has exceeded the limit of this API")

    def delay(self) -> float:
        return self.faults.slow

    # --- the seller's world ------------------------------------------------------------------------

    def add_product(
        self, seller_sku: str, *, quantity: int = 0, price: str = "19.90", fbl: bool = False
    ) -> None:
        with self._lock:
            n = len(self.products) + 1
            self.products[seller_sku] = _Product(
                f"{2342340 + n}", f"{660 + n}", seller_sku, f"Product {seller_sku}", price, quantity, fbl
            )

    def quantity(self, seller_sku: str) -> int:
        """The sellable quantity the listing shows now."""
        with self._lock:
            return self.products[seller_sku].quantity

    def fail_sku(self, seller_sku: str, message: str = "SELLER_SKU_INVALID") -> None:
        """Updates of this SKU fail inside a successful envelope (``detail[]``)."""
        with self._lock:
            self.partial_failures[seller_sku] = message

    def place_order(
        self,
        lines: Iterable[tuple[str, int]],
        *,
        paid: bool = True,
        remarks: str = "",
        buyer: Mapping[str, str] | None = None,
        shipping_fee: str = "1.99",
        voucher_seller: str = "0.00",
        at: datetime | None = None,
    ) -> str:
        """An order of ``(seller_sku, quantity)`` lines: one item per unit, as Lazada has them. The units
        leave the listing's sellable stock (an FBL listing's too)."""
        with self._lock:
            now = at or datetime.now(UTC)
            order_id = str(next(self._ids))
            items = []
            for sku, quantity in lines:
                product = self.products[sku]
                product.quantity -= quantity
                for _ in range(quantity):
                    paid_price = str(Decimal(product.price) - Decimal(voucher_seller))
                    items.append(
                        _Item(str(next(self._ids)), product, paid_price, voucher_seller, updated_at=now)
                    )
            fbl = all(item.product.fbl for item in items)
            buyer = dict(buyer or {"first_name": "Ha", "last_name": "Hung", "phone": "6591234567"})
            order = _Order(
                order_id, f"3{order_id[-8:]}", now, now, items, buyer, remarks, "COD", shipping_fee, fbl
            )
            self.orders[order_id] = order
            self._change(order, "unpaid", items, at=now)
            if paid:
                self._change(order, "pending", items, at=now)
            return order_id

    def _order(self, order_id: str) -> _Order:
        order = self.orders.get(order_id)
        if order is None:
            raise SandboxError(f"no order {order_id}")
        return order

    def _change(
        self, order: _Order, status: str, items: Iterable[_Item], *, at: datetime | None = None, **values: str
    ) -> None:
        """Items move to ``status``; the order is updated; a push goes per item."""
        now = at or datetime.now(UTC)
        for item in items:
            item.status, item.updated_at = status, now
            for name, value in values.items():
                setattr(item, name, value)
            self._push(order, item, now)
        order.updated_at = now

    def pay(self, order_id: str) -> None:
        with self._lock:
            order = self._order(order_id)
            self._change(order, "pending", [i for i in order.items if i.status == "unpaid"])

    def cancel(
        self,
        order_id: str,
        item_ids: Iterable[str] | None = None,
        *,
        initiator: str = "cancellation-customer",
        reason: str = "Change of mind",
    ) -> None:
        """The buyer, the seller or Lazada cancels items (all, by default) not yet shipped."""
        with self._lock:
            order = self._order(order_id)
            wanted = set(item_ids) if item_ids is not None else {i.order_item_id for i in order.items}
            items = [i for i in order.items if i.order_item_id in wanted]
            if any(i.status in {"shipped", "delivered", "returned"} for i in items):
                raise SandboxError("shipped items cannot be cancelled")
            for item in items:
                item.product.quantity += 1
            self._change(order, "canceled", items, cancel_return_initiator=initiator, reason=reason)

    def ship(self, order_id: str) -> None:
        """The logistics partner picks the parcel up: the order's live items go ``shipped`` (packed here
        first when the seller never packed them, as a seller does in Seller Center)."""
        with self._lock:
            order = self._order(order_id)
            live = [i for i in order.items if i.status in {"pending", "packed", "ready_to_ship"}]
            unpacked = [i for i in live if not i.package_id]
            if unpacked:
                self._pack(order, unpacked, "LEX SG")
            self._change(order, "shipped", live)

    def deliver(self, order_id: str) -> None:
        with self._lock:
            order = self._order(order_id)
            self._change(order, "delivered", [i for i in order.items if i.status == "shipped"])

    def return_items(self, order_id: str, item_ids: Iterable[str] | None = None) -> str:
        """The buyer returns delivered items: a reverse order, items ``returned``."""
        with self._lock:
            order = self._order(order_id)
            wanted = set(item_ids) if item_ids is not None else {i.order_item_id for i in order.items}
            items = [i for i in order.items if i.order_item_id in wanted and i.status == "delivered"]
            reverse = str(next(self._ids))
            self._change(
                order, "returned", items, cancel_return_initiator="return-customer", reverse_order_id=reverse
            )
            return reverse

    # --- pushes ---------------------------------------------------------------------------------

    def set_webhook(self, url: str | None, *, duplicates: bool = False) -> None:
        with self._lock:
            self.webhook_url, self.push_duplicates = url, duplicates

    def _push(self, order: _Order, item: _Item, at: datetime) -> None:
        data: dict[str, Any] = {
            "order_status": item.status,
            "trade_order_id": order.order_id,
            "trade_order_line_id": item.order_item_id,
            "status_update_time": int(at.timestamp()),
        }
        if item.reverse_order_id:
            data |= {"reverse_order_id": item.reverse_order_id, "reverse_order_line_id": item.order_item_id}
        body = {
            "seller_id": self.seller_id,
            "message_type": TRADE_ORDER,
            "data": data,
            "timestamp": int(time.time() * 1000),
            "site": f"lazada_{self.country.lower()}",
        }
        self.pushes.append(body)
        if self.webhook_url is None:
            return
        raw = json.dumps(body).encode()
        self._outbox += [raw, raw] if self.push_duplicates else [raw]
        if self._sender is None:
            self._sender = threading.Thread(target=self._send_pushes, name="lazada-pushes", daemon=True)
            self._sender.start()
        self._sending.notify_all()

    def _send_pushes(self) -> None:
        with httpx.Client(timeout=5) as client:
            while True:
                with self._lock:
                    while not self._outbox:
                        self._sending.wait()
                    raw, url = self._outbox[0], self.webhook_url
                if url is None:
                    with self._lock:
                        self._outbox.pop(0)
                    continue
                headers = {
                    "Content-Type": "application/json",
                    "Authorization": push_signature(self.app_key, self.app_secret, raw),
                }
                # Lazada retries a push not answered 200 (12 times, 30 minutes apart; here quickly).
                for _ in range(12):
                    try:
                        if client.post(url, content=raw, headers=headers).status_code == 200:
                            break
                    except httpx.HTTPError:
                        pass
                    time.sleep(self.push_retry_delay)
                with self._lock:
                    self._outbox.pop(0)
                    self._sending.notify_all()

    def wait_for_pushes(self, timeout: float = 5.0) -> bool:
        """Whether every push went out within ``timeout`` seconds."""
        with self._lock:
            return self._sending.wait_for(lambda: not self._outbox, timeout)

    # --- the API --------------------------------------------------------------------------------

    def _stamp(self, value: datetime) -> str:
        """Orders' format: ISO 8601 with the site's offset (``2018-02-09T22:44:30+08:00``)."""
        return value.astimezone(self.zone).isoformat(timespec="seconds")

    def _item_stamp(self, value: datetime) -> str:
        """Items' format: ``2014-10-15 19:12:15 +0800``."""
        return value.astimezone(self.zone).strftime("%Y-%m-%d %H:%M:%S %z")

    def _order_view(self, order: _Order) -> dict[str, Any]:
        address = {
            "first_name": order.buyer.get("first_name", ""),
            "last_name": order.buyer.get("last_name", ""),
            "phone": order.buyer.get("phone", ""),
            "phone2": "",
            "address1": order.buyer.get("address1", "1 CHANGI VILLAGE ROAD, 11"),
            "address2": "",
            "address3": "",
            "address4": "",
            "address5": "",
            "city": f"{self.country_name}-{self.country_name}-500001",
            "post_code": "500001",
            "country": self.country_name,
        }
        price = sum((Decimal(i.product.price) for i in order.items), Decimal(0))
        voucher = sum((Decimal(i.voucher_seller) for i in order.items), Decimal(0))
        return {
            "order_id": order.order_id,
            "order_number": order.order_number,
            "created_at": self._stamp(order.created_at),
            "updated_at": self._stamp(order.updated_at),
            "price": f"{price:.2f}",
            "shipping_fee": order.shipping_fee,
            "voucher": f"{voucher:.2f}",
            "voucher_seller": f"{voucher:.2f}",
            "voucher_platform": "0.00",
            "payment_method": order.payment_method,
            "remarks": order.remarks,
            "items_count": str(len(order.items)),
            "statuses": sorted({i.status for i in order.items}),
            "customer_first_name": order.buyer.get("first_name", ""),
            "customer_last_name": order.buyer.get("last_name", ""),
            "address_shipping": address,
            "address_billing": dict(address),
            "warehouse_code": "FBL" if order.fbl else "dropshipping",
            "gift_option": "false",
            "gift_message": "",
            "extra_attributes": "null",
        }

    def _item_view(self, order: _Order, item: _Item) -> dict[str, Any]:
        product = item.product
        return {
            "order_item_id": item.order_item_id,
            "order_id": order.order_id,
            "name": product.name,
            "sku": product.seller_sku,
            "shop_sku": f"{product.item_id}_{self.country}-{product.sku_id}",
            "sku_id": product.sku_id,
            "product_id": product.item_id,
            "status": item.status,
            "item_price": product.price,
            "paid_price": item.paid_price,
            "voucher_seller": item.voucher_seller,
            "voucher_platform": "0.00",
            "tax_amount": "0.00",
            "shipping_amount": "0.00",
            "currency": self.currency,
            "tracking_code": item.tracking_code,
            "package_id": item.package_id,
            "shipment_provider": item.shipment_provider,
            "cancel_return_initiator": item.cancel_return_initiator,
            "reason": item.reason,
            "is_fbl": "1" if product.fbl else "0",
            "shipping_type": "Own Warehouse" if product.fbl else "Dropshipping",
            "warehouse_code": "FBL" if product.fbl else "dropshipping",
            "created_at": self._item_stamp(order.created_at),
            "updated_at": self._item_stamp(item.updated_at),
            "reverse_order_id": item.reverse_order_id,
        }

    def orders_get(self, params: Mapping[str, str]) -> Answer:
        with self._lock:
            bounds = {}
            for name in ("created_after", "created_before", "update_after", "update_before"):
                if params.get(name):
                    try:
                        bounds[name] = datetime.fromisoformat(params[name])
                    except ValueError:
                        return _error("InvalidParameter", "ISV", f"{name} is not ISO 8601")
                    if bounds[name].tzinfo is None:
                        return _error("InvalidParameter", "ISV", f"{name} needs an offset")
            if "created_after" not in bounds and "update_after" not in bounds:
                return _error(
                    "MISSING_PARAMETER", "ISV", "missing required parameter: created_after or update_after"
                )
            try:
                offset, limit = int(params.get("offset", "0")), int(params.get("limit", "10"))
            except ValueError:
                return _error("InvalidParameter", "ISV", "offset and limit are numbers")
            if not 1 <= limit <= MAX_LIMIT or offset < 0:
                return _error("InvalidParameter", "ISV", f"limit is 1 to {MAX_LIMIT}")

            def keep(order: _Order) -> bool:
                # Lazada compares to the second.
                created, updated = (
                    order.created_at.replace(microsecond=0),
                    order.updated_at.replace(microsecond=0),
                )
                return (
                    ("created_after" not in bounds or created >= bounds["created_after"])
                    and ("created_before" not in bounds or created <= bounds["created_before"])
                    and ("update_after" not in bounds or updated >= bounds["update_after"])
                    and ("update_before" not in bounds or updated <= bounds["update_before"])
                    and (not params.get("status") or params["status"] in {i.status for i in order.items})
                )

            key = "updated_at" if params.get("sort_by", "created_at") == "updated_at" else "created_at"
            found = sorted(
                (o for o in self.orders.values() if keep(o)),
                key=lambda o: (getattr(o, key), o.order_id),
                reverse=params.get("sort_direction", "DESC") == "DESC",
            )
            page = found[offset : offset + limit]
            data = {
                "count": str(len(page)),
                "countTotal": str(len(found)),
                "orders": [self._order_view(o) for o in page],
            }
            return Answer(200, {"code": "0", "data": data, "request_id": _request_id()})

    def order_get(self, params: Mapping[str, str]) -> Answer:
        with self._lock:
            order = self.orders.get(params.get("order_id", ""))
            if order is None:
                return _error("ORDER_NOT_FOUND", "ISV", "Order not found")  # the code is UNCONFIRMED
            return Answer(200, {"code": "0", "data": self._order_view(order), "request_id": _request_id()})

    def order_items_get(self, params: Mapping[str, str]) -> Answer:
        with self._lock:
            order = self.orders.get(params.get("order_id", ""))
            if order is None:
                return _error("ORDER_NOT_FOUND", "ISV", "Order not found")
            data = [self._item_view(order, i) for i in order.items]
            return Answer(200, {"code": "0", "data": data, "request_id": _request_id()})

    def orders_items_get(self, params: Mapping[str, str]) -> Answer:
        """Items of several orders: ``order_ids`` is a JSON-like list ``[1,2]``. The answer's shape
        (``data[{order_id, order_number, order_items}]``) is UNCONFIRMED."""
        with self._lock:
            try:
                ids = [str(i) for i in json.loads(params.get("order_ids", ""))]
            except ValueError:
                return _error("InvalidParameter", "ISV", "order_ids must be a list such as [1,2]")
            if not 1 <= len(ids) <= MAX_ORDER_IDS:
                return _error("InvalidParameter", "ISV", f"order_ids takes 1 to {MAX_ORDER_IDS} orders")
            data = [
                {
                    "order_id": order.order_id,
                    "order_number": order.order_number,
                    "order_items": [self._item_view(order, i) for i in order.items],
                }
                for order in (self.orders.get(i) for i in ids)
                if order is not None
            ]
            return Answer(200, {"code": "0", "data": data, "request_id": _request_id()})

    def price_quantity_update(self, params: Mapping[str, str]) -> Answer:
        with self._lock:
            try:
                root = ET.fromstring(params.get("payload", ""))  # noqa: S314 - the sandbox's own callers
            except ET.ParseError:
                return _error("InvalidParameter", "ISV", "payload is not XML")
            skus = root.findall("./Product/Skus/Sku")
            if not 1 <= len(skus) <= MAX_SKUS:
                return _error("InvalidParameter", "ISV", f"a call updates 1 to {MAX_SKUS} SKUs")
            detail = []
            for sku in skus:
                seller_sku = (sku.findtext("SellerSku") or "").strip()
                product = self.products.get(seller_sku)
                quantities = [q.text for q in sku.iter("Quantity")]
                if product is None or seller_sku in self.partial_failures:
                    message = self.partial_failures.get(seller_sku, "SELLER_SKU_INVALID")
                    detail.append({"field": "SellerSku", "seller_sku": seller_sku, "message": message})
                    continue
                try:
                    values = [int((q or "").strip()) for q in quantities]
                except ValueError:
                    detail.append(
                        {"field": "Quantity", "seller_sku": seller_sku, "message": "QUANTITY_INVALID"}
                    )
                    continue
                if values:
                    product.quantity = sum(values)
            if detail:
                # UNCONFIRMED whether the envelope's code stays "0" when some SKUs fail: the sample is
                # only the detail list. This sandbox answers the harder case, "0" with failures inside.
                return Answer(200, {"code": "0", "data": {}, "detail": detail, "request_id": _request_id()})
            return Answer(200, {"code": "0", "data": {}, "request_id": _request_id()})

    def shipment_providers(self) -> Answer:
        data: dict[str, Any] = {
            "shipment_providers": [{"name": "LEX SG", "provider_code": "LEX", "cod": 1, "is_default": 1}]
        }
        return Answer(200, {"code": "0", "data": data, "request_id": _request_id()})

    def _pack(self, order: _Order, items: list[_Item], provider: str) -> _Package:
        package = _Package(
            f"FP{next(self._ids)}",
            order.order_id,
            [i.order_item_id for i in items],
            f"LXSG{next(self._ids)}",
            provider,
        )
        self.packages[package.package_id] = package
        self._change(
            order,
            "packed",
            items,
            package_id=package.package_id,
            tracking_code=package.tracking_number,
            shipment_provider=provider,
        )
        return package

    def pack(self, params: Mapping[str, str]) -> Answer:
        """``packReq``: ``{"pack_order_list": [{"order_id", "order_item_list": [...]}], "delivery_type",
        "shipping_provider_code"}`` (the names are the contract's reading of the guide: UNCONFIRMED)."""
        with self._lock:
            try:
                request = json.loads(params.get("packReq", ""))
                wanted = request["pack_order_list"]
            except (ValueError, KeyError, TypeError):
                return _error("InvalidParameter", "ISV", "packReq is not a pack request")
            provider = str(request.get("shipping_provider_code") or "LEX")
            answered: list[dict[str, Any]] = []
            for entry in wanted:
                order = self.orders.get(str(entry.get("order_id")))
                ids = [str(i) for i in entry.get("order_item_list") or []]
                results: list[dict[str, Any]] = []
                if order is None:
                    answered.append({"order_id": str(entry.get("order_id")), "order_item_list": []})
                    continue
                items = [i for i in order.items if i.order_item_id in ids]
                packable = [i for i in items if i.status in PACKABLE]
                package = self._pack(order, packable, f"{provider} {self.country}") if packable else None
                for item in items:
                    if package is not None and item in packable:
                        results.append(
                            {
                                "order_item_id": item.order_item_id,
                                "package_id": package.package_id,
                                "tracking_number": package.tracking_number,
                                "shipment_provider": package.provider,
                                "item_err_code": "0",
                                "msg": "success",
                                "retry": False,
                            }
                        )
                    else:
                        results.append(
                            {
                                "order_item_id": item.order_item_id,
                                "item_err_code": "82",
                                "msg": f"item status is {item.status}, cannot pack",
                                "retry": False,
                            }
                        )
                answered.append({"order_id": order.order_id, "order_item_list": results})
            result = {"success": True, "data": {"pack_order_list": answered}}
            return Answer(200, {"code": "0", "result": result, "request_id": _request_id()})

    def ready_to_ship(self, params: Mapping[str, str]) -> Answer:
        with self._lock:
            try:
                wanted = [
                    str(p["package_id"]) for p in json.loads(params.get("readyToShipReq", ""))["packages"]
                ]
            except (ValueError, KeyError, TypeError):
                return _error("InvalidParameter", "ISV", "readyToShipReq is not a ready-to-ship request")
            answered: list[dict[str, Any]] = []
            for package_id in wanted:
                package = self.packages.get(package_id)
                if package is None:
                    answered.append(
                        {"package_id": package_id, "item_err_code": "21", "msg": "no such package"}
                    )
                    continue
                order = self.orders[package.order_id]
                items = [i for i in order.items if i.order_item_id in package.item_ids]
                if all(i.status in {"ready_to_ship", "shipped", "delivered"} for i in items):
                    answered.append({"package_id": package_id, "item_err_code": "0", "msg": "success"})
                    continue
                if any(i.status != "packed" for i in items):
                    statuses = ", ".join(sorted({i.status for i in items}))
                    answered.append(
                        {"package_id": package_id, "item_err_code": "82", "msg": f"items are {statuses}"}
                    )
                    continue
                self._change(order, "ready_to_ship", items)
                answered.append({"package_id": package_id, "item_err_code": "0", "msg": "success"})
            result = {"success": True, "data": {"packages": answered}}
            return Answer(200, {"code": "0", "result": result, "request_id": _request_id()})

    def document(self, params: Mapping[str, str]) -> Answer:
        """The shipping label of packages: ``getDocumentReq`` ``{"doc_type": "PDF", "packages": [...]}``;
        the answer's ``pdf_url`` links the file. Shape UNCONFIRMED."""
        with self._lock:
            try:
                wanted = [
                    str(p["package_id"]) for p in json.loads(params.get("getDocumentReq", ""))["packages"]
                ]
            except (ValueError, KeyError, TypeError):
                return _error("InvalidParameter", "ISV", "getDocumentReq is not a document request")
            if not wanted or any(p not in self.packages for p in wanted):
                return _error("PACKAGE_NOT_FOUND", "ISV", "Package not found")
            url = f"{self.base_url}/_sandbox/labels/{wanted[0]}.pdf"
            result = {"success": True, "data": {"doc_type": "PDF", "pdf_url": url}}
            return Answer(200, {"code": "0", "result": result, "request_id": _request_id()})

    def label(self, package_id: str) -> bytes:
        with self._lock:
            package = self.packages.get(package_id)
            if package is None:
                raise SandboxError(f"no package {package_id}")
            return label_pdf(package.provider, "Lazada", package.tracking_number)

    def order_view(self, order_id: str) -> dict[str, Any]:
        """The order and its items as the API shows them."""
        with self._lock:
            order = self._order(order_id)
            return {
                "order": self._order_view(order),
                "items": [self._item_view(order, i) for i in order.items],
            }


def _error(code: str, kind: str, message: str) -> Answer:
    return Answer(200, {"code": code, "type": kind, "message": message, "request_id": _request_id()})


def _request_id() -> str:
    return secrets.token_hex(12)
