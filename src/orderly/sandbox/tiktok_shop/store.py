"""The state of one simulated TikTok Shop seller (one shop) and the Partner API's rules over it, written
from ``shared/platforms/tiktok_shop/CONTRACT.md`` and its samples (API version 202309).

Everything here is plain Python under one lock, so the HTTP app (``app.py``), a test and a benchmark
script can drive the same store from any thread. The ``api_*`` methods answer Partner API requests as
``(status, body)`` in TikTok's envelope (``{"code", "message", "request_id", "data"}``, code 0 for
success); the other public methods script the seller's world (products, orders and their moves,
faults) and read back what the client sent (stock quantities, shipped packages).

Orders look as the get-order-list sample does: money as decimal strings in major units, times as Unix
seconds, one line item per unit sold (no ``quantity`` field, as in the sample). What the contract does
not give is marked UNCONFIRMED where it is made up: the error codes other than 0 and 106001, the token
endpoints' shapes, the order-detail, package-detail and shipping-document calls.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
import random
import secrets
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

from orderly.sandbox.bucket import Bucket
from orderly.sandbox.shopify.webhooks import Delivery, WebhookSender

Response = tuple[int, Any]  # HTTP status and JSON body

#: The live answer to a wrong ``sign`` (``error_invalid_sign_106001_live.json``, HTTP 401).
INVALID_SIGN = 106001
INVALID_SIGN_MESSAGE = (
    "Invalid credentials. The 'sign' query parameter is invalid. For more details: "
    "https://m.tiktok.shop/s/AIu6dbFhs2XW"
)
# UNCONFIRMED: every code below is the sandbox's own reading; only 0 and 106001 are in the contract.
INVALID_TOKEN = 105001  # the x-tts-access-token is unknown
EXPIRED_TOKEN = 105002  # the x-tts-access-token has expired
INVALID_PARAMETER = 36009004
RATE_LIMITED = 36009005
INTERNAL_ERROR = 36009003
NOT_FOUND = 36009006
PACKAGE_SHIPPED = 21011001  # ship package on a package already shipped
INVALID_REFRESH_TOKEN = 36004004
#: From ``inventory_update_202309_response_with_errors.json``.
CHECK_FAILED, NO_SUCH_WAREHOUSE = 12052990, 12052097
NO_SUCH_SKU, BAD_QUANTITY = 12052230, 12052700  # UNCONFIRMED

#: The order statuses of get-order-list (CONTRACT.md section 3), in the order an order moves.
STATUSES = (
    "UNPAID",
    "ON_HOLD",
    "AWAITING_SHIPMENT",
    "PARTIALLY_SHIPPING",
    "AWAITING_COLLECTION",
    "IN_TRANSIT",
    "DELIVERED",
    "COMPLETED",
    "CANCELLED",
)
SHIPPED = frozenset({"IN_TRANSIT", "DELIVERED", "COMPLETED"})
MAX_PAGE_SIZE = 100
#: A timestamp further than this from the sandbox's clock is refused (UNCONFIRMED: the window).
TIMESTAMP_WINDOW = 300
LABEL_PDF = b"%PDF-1.4\n% TikTok Shop sandbox shipping label\n%%EOF\n"


class SandboxError(ValueError):
    """A scripted move the seller's world does not allow (e.g. cancelling a delivered order)."""


def envelope(code: int, message: str, data: Any = None) -> dict[str, Any]:
    request_id = time.strftime("%Y%m%d%H%M%S", time.gmtime()) + secrets.token_hex(9).upper()
    return {"code": code, "data": data, "message": message, "request_id": request_id}


def success(data: Any) -> Response:
    return 200, envelope(0, "Success", data)


def failure(status: int, code: int, message: str) -> Response:
    return status, envelope(code, message)


def expected_sign(secret: str, path: str, query: Mapping[str, str], body: bytes) -> str:
    """CONTRACT.md section 2: path + sorted ``keyvalue`` pairs (no ``sign``, no ``access_token``) +
    the body as sent, wrapped in the app secret, HMAC-SHA256 keyed with it, lowercase hex."""
    pairs = "".join(f"{k}{query[k]}" for k in sorted(query) if k not in ("sign", "access_token"))
    message = secret + path + pairs + body.decode("utf-8", "replace") + secret
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class Line:
    """Units of one SKU in a scripted order; ``price`` (major units) is the SKU's when None."""

    sku: str  # the seller SKU
    quantity: int = 1
    price: str | None = None
    seller_discount: str = "0"
    platform_discount: str = "0"


@dataclass(frozen=True)
class Faults:
    """Fractions of Partner API calls answered HTTP 429, HTTP 500, or held ``delay_seconds`` (past a
    client's timeout) before the answer; drawn from ``seed``. ``failing_skus``: SKU ids whose stock
    updates come back as per-SKU errors inside a code-0 answer."""

    throttle: float = 0.0
    error: float = 0.0
    delay: float = 0.0
    delay_seconds: float = 5.0
    seed: int = 0
    failing_skus: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if min(self.throttle, self.error, self.delay) < 0 or self.throttle + self.error + self.delay > 1:
            raise SandboxError("fault fractions must be >= 0 and add up to at most 1")


@dataclass
class _Sku:
    id: str
    product_id: str
    seller_sku: str
    price: str
    name: str
    stock: dict[str, int] = field(default_factory=dict)  # by warehouse


class TikTokShopStore:
    """One seller's shop. ``rate``/``burst``: the Partner API budget per second (UNCONFIRMED: TikTok
    publishes no figures; the default never throttles a test that is not about it)."""

    def __init__(
        self,
        *,
        seed: int = 0,
        currency: str = "IDR",
        region: str = "ID",
        rate: float = 1000.0,
        burst: int = 1000,
        token_lifetime: int = 7 * 86400,
        webhook_url: str | None = None,
    ) -> None:
        rng = random.Random(seed)
        self._clock_offset = 0
        self._lock = threading.RLock()
        self._rng = rng
        self.app_key = f"6a{rng.getrandbits(40):010x}"
        self.app_secret = f"{rng.getrandbits(160):040x}"
        self.shop_id = str(7_494_000_000_000_000_000 + rng.randrange(10**15))
        self.shop_cipher = "ROW_" + base64.urlsafe_b64encode(rng.randbytes(24)).decode().rstrip("=")
        self.warehouse_id = str(7_068_000_000_000_000_000 + rng.randrange(10**15))
        self.currency, self.region = currency, region
        self.token_lifetime = token_lifetime
        self.auth_code = f"ROW_auth_{rng.getrandbits(64):016x}"
        self._tokens: dict[str, float] = {}  # access token -> expiry (Unix seconds)
        self._refresh_tokens: set[str] = set()
        self.access_token, self.refresh_token = self._issue()
        self.tokens_issued = 1
        self._ids = itertools.count(rng.randrange(10**6, 10**7))
        self._skus: dict[str, _Sku] = {}
        self._orders: dict[str, dict[str, Any]] = {}
        self._returns: dict[str, dict[str, Any]] = {}  # by return_id, as returns/search shows them
        self._shipped: list[dict[str, Any]] = []
        self.providers = {"6617675021119438849": "TT Virtual express", "6617675021119438850": "J&T Express"}
        self._faults = Faults()
        self._fault_rng = random.Random(0)
        self._bucket = Bucket(burst, rate, tokens=burst)
        self.calls: dict[str, int] = {}
        self.rejected_signs = 0
        self.webhook_url = webhook_url
        #: Ship package leaves the tracking number for later (``give_tracking``), as TikTok may.
        self.tracking_later = False
        self._pending_tracking: dict[str, str] = {}
        #: Send every notification twice (TikTok may deliver one more than once).
        self.duplicate_webhooks = False
        self._notifications: list[dict[str, Any]] = []
        self._sender = WebhookSender(attempts=3, retry_delay=0.2, timeout=5.0)

    # --- the clock --------------------------------------------------------------------------------

    def now(self) -> int:
        return int(time.time()) + self._clock_offset

    def advance(self, seconds: int) -> None:
        """Move the sandbox's clock on (token expiry, update times) without waiting."""
        with self._lock:
            self._clock_offset += seconds

    def _next_id(self) -> str:
        return str(576_461_413_038_000_000 + next(self._ids))

    # --- tokens -----------------------------------------------------------------------------------

    def _issue(self) -> tuple[str, str]:
        access = "ROW_" + secrets.token_urlsafe(24)
        refresh = "ROW_" + secrets.token_urlsafe(24)
        self._tokens[access] = time.time() + self._clock_offset + self.token_lifetime
        self._refresh_tokens.add(refresh)
        return access, refresh

    def expire_tokens(self) -> None:
        """Every access token issued so far expires now."""
        with self._lock:
            self._tokens = dict.fromkeys(self._tokens, 0.0)

    def _token_answer(self, access: str, refresh: str) -> Response:
        # UNCONFIRMED: the token endpoints' shape (CONTRACT.md section 7); expiries are Unix seconds.
        expiry = int(self._tokens[access])
        return success(
            {
                "access_token": access,
                "access_token_expire_in": expiry,
                "refresh_token": refresh,
                "refresh_token_expire_in": self.now() + 365 * 86400,
                "open_id": "sandbox-open-id",
                "seller_name": "Sandbox seller",
                "seller_base_region": self.region,
                "user_type": 0,
            }
        )

    def api_token(self, query: Mapping[str, str]) -> Response:
        """``/api/v2/token/get`` (auth code) and ``/api/v2/token/refresh`` (refresh token)."""
        with self._lock:
            if query.get("app_key") != self.app_key or query.get("app_secret") != self.app_secret:
                return failure(401, INVALID_SIGN, "Invalid credentials. The app key or secret is invalid.")
            grant = query.get("grant_type")
            if grant == "authorized_code" and query.get("auth_code") == self.auth_code:
                access, refresh = self._issue()
            elif grant == "refresh_token" and query.get("refresh_token") in self._refresh_tokens:
                # The refresh token is rotated: the old one is spent (UNCONFIRMED; the stricter case).
                self._refresh_tokens.discard(query["refresh_token"])
                access, refresh = self._issue()
            else:
                return failure(400, INVALID_REFRESH_TOKEN, "The auth code or refresh token is invalid.")
            self.tokens_issued += 1
            self.access_token, self.refresh_token = access, refresh
            return self._token_answer(access, refresh)

    # --- the gate every Partner API call passes -----------------------------------------------------

    def draw_fault(self) -> str | None:
        with self._lock:
            faults = self._faults
            draw = self._fault_rng.random()
        if draw < faults.throttle:
            return "throttle"
        if draw < faults.throttle + faults.error:
            return "error"
        if draw < faults.throttle + faults.error + faults.delay:
            return "delay"
        return None

    def faults(self) -> Faults:
        with self._lock:
            return self._faults

    def set_faults(self, faults: Faults) -> None:
        with self._lock:
            self._faults = faults
            self._fault_rng = random.Random(faults.seed)

    def clear_faults(self) -> None:
        self.set_faults(Faults())

    def configure(self, *, rate: float | None = None, burst: int | None = None) -> None:
        with self._lock:
            if rate is not None or burst is not None:
                size = burst if burst is not None else self._bucket.size
                self._bucket = Bucket(size, rate if rate is not None else self._bucket.per_second, size)

    def check(
        self,
        operation: str,
        path: str,
        query: Mapping[str, str],
        body: bytes,
        token: str | None,
        *,
        shop: bool,
    ) -> Response | None:
        """The refusal of a request, or None to answer it: app key, timestamp, sign, access token,
        shop cipher, then the rate limit."""
        with self._lock:
            self.calls[operation] = self.calls.get(operation, 0) + 1
            if query.get("app_key") != self.app_key:
                return failure(401, INVALID_SIGN, INVALID_SIGN_MESSAGE)
            try:
                stamp = int(query.get("timestamp", ""))
            except ValueError:
                stamp = None
            given = query.get("sign", "")
            wanted = expected_sign(self.app_secret, path, query, body)
            if (
                stamp is None
                # The caller's clock against the real one: ``advance`` moves only the shop's world.
                or abs(stamp - time.time()) > TIMESTAMP_WINDOW
                or not hmac.compare_digest(given.encode(), wanted.encode())
            ):
                self.rejected_signs += 1
                return failure(401, INVALID_SIGN, INVALID_SIGN_MESSAGE)
            expiry = self._tokens.get(token or "")
            if expiry is None:
                return failure(401, INVALID_TOKEN, "Invalid credentials. The access token is invalid.")
            if expiry <= time.time() + self._clock_offset:
                return failure(401, EXPIRED_TOKEN, "Expired credentials. The access token has expired.")
            if shop and query.get("shop_cipher") != self.shop_cipher:
                return failure(400, INVALID_PARAMETER, "Invalid shop_cipher.")
            if not self._bucket.take():
                return failure(429, RATE_LIMITED, "Too many requests. Please retry later.")
        return None

    # --- products and stock -------------------------------------------------------------------------

    def add_sku(
        self,
        seller_sku: str,
        *,
        price: str = "150000",
        stock: int = 0,
        name: str | None = None,
        product: str | None = None,
    ) -> _Sku:
        """A SKU stocked at the shop's warehouse: of a new product, or another of ``product``'s."""
        with self._lock:
            product_id = product or str(1_729_582_718_312_000_000 + next(self._ids))
            sku = _Sku(
                id=str(2_729_382_476_852_000_000 + next(self._ids)),
                product_id=product_id,
                seller_sku=seller_sku,
                price=price,
                name=name or seller_sku,
                stock={self.warehouse_id: stock},
            )
            self._skus[sku.id] = sku
            return replace(sku, stock=dict(sku.stock))

    def sku(self, seller_sku: str) -> _Sku:
        with self._lock:
            found = next((s for s in self._skus.values() if s.seller_sku == seller_sku), None)
            if found is None:
                raise KeyError(f"no SKU {seller_sku!r}")
            return replace(found, stock=dict(found.stock))

    def quantities(self) -> dict[str, int]:
        """The stock each seller SKU holds at the shop's warehouse."""
        with self._lock:
            return {s.seller_sku: s.stock.get(self.warehouse_id, 0) for s in self._skus.values()}

    def quantity(self, seller_sku: str) -> int:
        return self.quantities()[seller_sku]

    def api_update_inventory(self, product_id: str, body: Any) -> Response:
        """``inventory/update``: per SKU and warehouse; what cannot be set comes back in
        ``data.errors`` inside a code-0 answer (``inventory_update_202309_response_with_errors.json``)."""
        if not isinstance(body, dict) or not isinstance(body.get("skus"), list) or not body["skus"]:
            return failure(400, INVALID_PARAMETER, "skus is required.")
        with self._lock:
            if not any(s.product_id == product_id for s in self._skus.values()):
                return failure(404, NOT_FOUND, f"Product {product_id} does not exist.")
            errors = []
            for entry in body["skus"]:
                sku_id = str(entry.get("id")) if isinstance(entry, dict) else ""
                sku = self._skus.get(sku_id)
                if sku is None or sku.product_id != product_id:
                    errors.append(
                        _sku_error(sku_id, NO_SUCH_SKU, "The SKU does not exist in the product.", [])
                    )
                    continue
                if sku_id in self._faults.failing_skus:
                    errors.append(_sku_error(sku_id, CHECK_FAILED, "Check failed", []))
                    continue
                extra = []
                for level in entry.get("inventory") or []:
                    warehouse, quantity = str(level.get("warehouse_id")), level.get("quantity")
                    if warehouse not in sku.stock:
                        extra.append(_extra(warehouse, NO_SUCH_WAREHOUSE, "The warehouse does not exist"))
                    elif (
                        not isinstance(quantity, int)
                        or isinstance(quantity, bool)
                        or not 0 <= quantity <= 99999
                    ):
                        # UNCONFIRMED: 0 is taken (the contract's 1..99999 would forbid stock-outs).
                        extra.append(_extra(warehouse, BAD_QUANTITY, "The quantity must be 0 to 99999"))
                if extra or not entry.get("inventory"):
                    errors.append(_sku_error(sku_id, CHECK_FAILED, "Check failed", extra))
                    continue
                for level in entry["inventory"]:
                    sku.stock[str(level["warehouse_id"])] = level["quantity"]
            return success({"errors": errors} if errors else {})

    def api_search_products(self, body: Any) -> Response:
        """``/product/202309/products/search`` filtered by ``seller_skus`` (UNCONFIRMED filter)."""
        wanted = set(body.get("seller_skus") or []) if isinstance(body, dict) else set()
        with self._lock:
            products: dict[str, dict[str, Any]] = {}
            for sku in self._skus.values():
                if wanted and sku.seller_sku not in wanted:
                    continue
                product = products.setdefault(sku.product_id, {"id": sku.product_id, "skus": []})
                product["skus"].append(
                    {
                        "id": sku.id,
                        "seller_sku": sku.seller_sku,
                        "inventory": [{"warehouse_id": w, "quantity": q} for w, q in sku.stock.items()],
                    }
                )
            found = list(products.values())
            return success({"products": found, "total_count": len(found), "next_page_token": ""})

    # --- orders ---------------------------------------------------------------------------------------

    def place_order(
        self,
        lines: Sequence[Line | Mapping[str, Any]] | Mapping[str, Any],
        *,
        paid: bool = True,
        fbt: bool = False,
        buyer_message: str = "",
        cod: bool = False,
        order_id: str | None = None,
    ) -> dict[str, Any]:
        """A buyer's order: AWAITING_SHIPMENT once paid (UNPAID before), the SKUs' stock taken unless
        TikTok fulfils it from its own warehouse (FBT). ``lines`` may also be Shopify's sandbox form,
        ``{"lines": [{"sku", "quantity"}, ...]}``, so a script drives both alike."""
        if isinstance(lines, Mapping):
            lines = list(lines["lines"])
        with self._lock:
            order_id = order_id or self._next_id()
            if order_id in self._orders:
                raise SandboxError(f"order {order_id} exists")
            now = self.now()
            number = len(self._orders) + 1
            package_id = str(1_153_132_168_123_000_000 + next(self._ids))
            items: list[dict[str, Any]] = []
            total = Decimal(0)
            for raw in lines:
                line = raw if isinstance(raw, Line) else Line(**raw)
                sku = self.sku(line.sku)
                price = Decimal(line.price or sku.price)
                sale = price - Decimal(line.seller_discount) - Decimal(line.platform_discount)
                for _ in range(line.quantity):
                    items.append(
                        {
                            "id": self._next_id(),
                            "sku_id": sku.id,
                            "product_id": sku.product_id,
                            "seller_sku": sku.seller_sku,
                            "product_name": sku.name,
                            "sku_name": "Default",
                            "original_price": _text(price),
                            "sale_price": _text(sale),
                            "seller_discount": line.seller_discount,
                            "platform_discount": line.platform_discount,
                            "currency": self.currency,
                            "display_status": "AWAITING_SHIPMENT" if paid else "UNPAID",
                            "package_id": package_id,
                            "is_gift": False,
                            "sku_type": "NORMAL",
                            "item_tax": [],
                        }
                    )
                    total += sale
                if not fbt:
                    stock = self._skus[sku.id].stock
                    stock[self.warehouse_id] = max(0, stock.get(self.warehouse_id, 0) - line.quantity)
            shipping = Decimal("10000") if self.currency == "IDR" else Decimal("2.50")
            order = {
                "id": order_id,
                "status": "AWAITING_SHIPMENT" if paid else "UNPAID",
                "create_time": now,
                "update_time": now,
                "paid_time": now if paid else None,
                "buyer_message": buyer_message,
                "user_id": str(7_021_436_810_468_000_000 + next(self._ids)),
                "buyer_email": f"buyer{number}@scs.tiktokw.us",
                "payment_method_name": "Cash on delivery" if cod else "CCDC",
                "is_cod": cod,
                "fulfillment_type": "FULFILLMENT_BY_TIKTOK" if fbt else "FULFILLMENT_BY_SELLER",
                "shipping_type": "TIKTOK",
                "delivery_type": "HOME_DELIVERY",
                "warehouse_id": self.warehouse_id,
                "packages": [{"id": package_id}],
                "payment": {
                    "currency": self.currency,
                    "sub_total": _text(total),
                    "shipping_fee": _text(shipping),
                    "original_shipping_fee": _text(shipping),
                    "original_total_product_price": _text(_total(i["original_price"] for i in items)),
                    "seller_discount": _text(_total(i["seller_discount"] for i in items)),
                    "platform_discount": _text(_total(i["platform_discount"] for i in items)),
                    "shipping_fee_seller_discount": "0",
                    "shipping_fee_platform_discount": "0",
                    "tax": "0",
                    "total_amount": _text(total + shipping),
                },
                # Each order its own recipient: one buyer's many orders would look like a risk.
                "recipient_address": {
                    "name": f"Siti Rahma {number}",
                    "first_name": "Siti",
                    "last_name": "Rahma",
                    "phone_number": "(+62)812****5678",
                    "full_address": f"Jl. Merdeka No. {number}, Menteng, Jakarta Pusat, DKI Jakarta, 10310",
                    "address_line1": f"Jl. Merdeka No. {number}",
                    "address_line2": "",
                    "address_line3": "",
                    "address_line4": "",
                    "address_detail": "Rumah biru",
                    "postal_code": "10310",
                    "region_code": self.region,
                    "district_info": [
                        {"address_level": "L0", "address_level_name": "Country", "address_name": "Indonesia"},
                        {
                            "address_level": "L1",
                            "address_level_name": "Province",
                            "address_name": "DKI Jakarta",
                        },
                        {
                            "address_level": "L2",
                            "address_level_name": "City",
                            "address_name": "Jakarta Pusat",
                        },
                        {"address_level": "L3", "address_level_name": "District", "address_name": "Menteng"},
                    ],
                },
                "is_on_hold_order": False,
                "is_buyer_request_cancel": False,
                "is_sample_order": False,
                "is_replacement_order": False,
                "line_items": items,
            }
            self._orders[order_id] = order
            self._notify(order)
            return _copy(order)

    def order(self, order_id: str) -> dict[str, Any]:
        with self._lock:
            return _copy(self._order(order_id))

    def _order(self, order_id: str) -> dict[str, Any]:
        order = self._orders.get(order_id)
        if order is None:
            raise KeyError(f"no order {order_id}")
        return order

    def _move(
        self, order: dict[str, Any], status: str, *, lines: Iterable[dict[str, Any]] | None = None
    ) -> None:
        order["status"] = status
        for item in order["line_items"] if lines is None else lines:
            if item["display_status"] != "CANCELLED":
                item["display_status"] = status
        order["update_time"] = self.now()  # whole seconds: two moves in one second share a stamp
        self._notify(order)

    def pay(self, order_id: str) -> None:
        with self._lock:
            order = self._order(order_id)
            if order["status"] != "UNPAID":
                raise SandboxError(f"order {order_id} is {order['status']}, not UNPAID")
            order["paid_time"] = self.now()
            self._move(order, "AWAITING_SHIPMENT")

    def hold(self, order_id: str) -> None:
        """The buyer's cancellation grace period (ON_HOLD): no address shown until it ends."""
        with self._lock:
            order = self._order(order_id)
            order["is_on_hold_order"] = True
            self._move(order, "ON_HOLD")

    def release(self, order_id: str) -> None:
        with self._lock:
            order = self._order(order_id)
            order["is_on_hold_order"] = False
            self._move(order, "AWAITING_SHIPMENT")

    def request_cancel(self, order_id: str, reason: str = "No longer needed") -> None:
        with self._lock:
            order = self._order(order_id)
            order.update(is_buyer_request_cancel=True, request_cancel_time=self.now(), cancel_reason=reason)
            self._move(order, order["status"])

    def cancel(self, order_id: str, *, by: str = "SELLER", reason: str = "Out of stock") -> None:
        """The order cancelled on TikTok Shop; its units go back to stock unless TikTok fulfilled it."""
        with self._lock:
            order = self._order(order_id)
            if order["status"] in SHIPPED:
                raise SandboxError(f"order {order_id} is {order['status']}: too late to cancel")
            order.update(
                cancellation_initiator=by,
                cancel_reason=reason,
                cancel_time=self.now(),
                is_buyer_request_cancel=False,
            )
            for item in order["line_items"]:
                item.update(cancel_user=by, cancel_reason=reason)
                sku = self._skus.get(item["sku_id"])
                if sku is not None and order["fulfillment_type"] != "FULFILLMENT_BY_TIKTOK":
                    sku.stock[self.warehouse_id] = sku.stock.get(self.warehouse_id, 0) + 1
            self._move(order, "CANCELLED")

    def ship_outside(self, order_id: str, *, tracking: str = "JX0000000001") -> None:
        """The seller shipped the order in TikTok's Seller Center, not through the hub."""
        with self._lock:
            order = self._order(order_id)
            self._ship(order, tracking, "TT Virtual express")
            self._move(order, "IN_TRANSIT")

    def deliver(self, order_id: str) -> None:
        with self._lock:
            order = self._order(order_id)
            if order["status"] not in SHIPPED:
                raise SandboxError(f"order {order_id} has not shipped")
            order["delivery_time"] = self.now()
            self._move(order, "DELIVERED")

    def return_items(
        self,
        order_id: str,
        line_item_ids: Iterable[str] | None = None,
        *,
        return_type: str = "RETURN_AND_REFUND",
        status: str = "RETURN_OR_REFUND_REQUEST_COMPLETE",
    ) -> str:
        """The buyer asks for a return or refund of delivered line items (all, by default), which TikTok
        records in its Return & Refund API as ``status``, notifying it (type 12); the order itself keeps
        its status and ``update_time`` (UNCONFIRMED whether TikTok touches them). The return's id."""
        with self._lock:
            order = self._order(order_id)
            if order["status"] not in ("DELIVERED", "COMPLETED"):
                raise SandboxError(f"order {order_id} is {order['status']}: not delivered")
            wanted = set(line_item_ids) if line_item_ids is not None else None
            items = [i for i in order["line_items"] if wanted is None or i["id"] in wanted]
            return_id = str(4_035_318_504_086_000_000 + next(self._ids))
            now = self.now()
            self._returns[return_id] = {
                "order_id": order_id,
                "return_id": return_id,
                "return_type": return_type,
                "return_status": status,
                "role": "BUYER",
                "return_reason": "ecom_order_delivered_refund_and_return_reason_wrong_item",
                "can_buyer_keep_item": return_type == "REFUND",
                "create_time": now,
                "update_time": now,
                "return_line_items": [
                    {
                        "return_line_item_id": str(4_035_227_657_962_000_000 + next(self._ids)),
                        "order_line_item_id": item["id"],
                        "sku_id": item["sku_id"],
                        "seller_sku": item["seller_sku"],
                        "refund_amount": {"currency": self.currency, "refund_total": item["sale_price"]},
                    }
                    for item in items
                ],
            }
            self._notify_return(self._returns[return_id])
            return return_id

    def move_return(self, return_id: str, status: str) -> None:
        with self._lock:
            entry = self._returns[return_id]
            entry.update(return_status=status, update_time=self.now())
            self._notify_return(entry)

    def api_search_returns(self, query: Mapping[str, str], body: Any) -> Response:
        """``/return_refund/202309/returns/search``: by ``order_ids`` and the create/update windows,
        ``page_size`` 10 to 50 (the doc's range) and ``page_token`` paging."""
        try:
            size = int(query.get("page_size", "10"))
        except ValueError:
            size = 0
        if not 10 <= size <= 50:
            return failure(400, INVALID_PARAMETER, "page_size must be between 10 and 50.")
        if body is None:
            body = {}
        if not isinstance(body, dict):
            return failure(400, INVALID_PARAMETER, "The request body is not a JSON object.")
        bounds = _time_bounds(body)
        if isinstance(bounds, tuple):
            return bounds
        orders = body.get("order_ids")
        if orders is not None and (not isinstance(orders, list) or len(orders) > 50):
            return failure(400, INVALID_PARAMETER, "order_ids must be a list of at most 50 ids.")
        filters = json.dumps({k: body.get(k) for k in sorted(body)}, sort_keys=True)
        digest = hashlib.sha256(filters.encode()).hexdigest()[:16]
        offset = 0
        token = query.get("page_token")
        if token:
            decoded = _decode(token)
            if decoded is None or decoded.get("f") != digest:
                return failure(400, INVALID_PARAMETER, "Invalid page_token.")
            offset = int(decoded["o"])
        with self._lock:
            found = sorted(
                (
                    entry
                    for entry in self._returns.values()
                    if (orders is None or entry["order_id"] in orders)
                    and _within(entry["create_time"], bounds["create_time_ge"], bounds["create_time_lt"])
                    and _within(entry["update_time"], bounds["update_time_ge"], bounds["update_time_lt"])
                ),
                key=lambda entry: (entry["create_time"], entry["return_id"]),
            )
            page = found[offset : offset + size]
            more = offset + size < len(found)
            return success(
                {
                    "return_orders": [_copy(entry) for entry in page],
                    "next_page_token": _encode({"o": offset + size, "f": digest}) if more else "",
                }
            )

    def complete(self, order_id: str) -> None:
        with self._lock:
            self._move(self._order(order_id), "COMPLETED")

    def _ship(self, order: dict[str, Any], tracking: str, provider: str) -> None:
        order.update(tracking_number=tracking, shipping_provider=provider, rts_time=self.now())
        for item in order["line_items"]:
            item.update(tracking_number=tracking, shipping_provider_name=provider, rts_time=self.now())

    def api_search_orders(self, query: Mapping[str, str], body: Any) -> Response:
        """``/order/202309/orders/search``: filters in the body, paging and sorting in the query."""
        try:
            size = int(query.get("page_size", ""))
        except ValueError:
            size = 0
        if not 1 <= size <= MAX_PAGE_SIZE:
            return failure(400, INVALID_PARAMETER, "page_size must be between 1 and 100.")
        if body is None:
            body = {}
        if not isinstance(body, dict):
            return failure(400, INVALID_PARAMETER, "The request body is not a JSON object.")
        field_name = query.get("sort_field", "create_time")
        if field_name not in ("create_time", "update_time") or query.get("sort_order", "DESC") not in (
            "ASC",
            "DESC",
        ):
            return failure(400, INVALID_PARAMETER, "Invalid sort_field or sort_order.")
        bounds = _time_bounds(body)
        if isinstance(bounds, tuple):
            return bounds
        filters = json.dumps({k: body.get(k) for k in sorted(body)}, sort_keys=True)
        offset = 0
        token = query.get("page_token")
        if token:
            decoded = _decode(token)
            if decoded is None or decoded.get("f") != hashlib.sha256(filters.encode()).hexdigest()[:16]:
                return failure(400, INVALID_PARAMETER, "Invalid page_token.")
            offset = int(decoded["o"])
        with self._lock:
            found = [
                order
                for order in self._orders.values()
                if _within(order["create_time"], bounds["create_time_ge"], bounds["create_time_lt"])
                and _within(order["update_time"], bounds["update_time_ge"], bounds["update_time_lt"])
                and body.get("order_status") in (None, order["status"])
                and body.get("shipping_type") in (None, order["shipping_type"])
            ]
            found.sort(
                key=lambda o: (o[field_name], o["id"]), reverse=query.get("sort_order", "DESC") == "DESC"
            )
            page = found[offset : offset + size]
            more = offset + size < len(found)
            next_token = _encode({"o": offset + size, "f": hashlib.sha256(filters.encode()).hexdigest()[:16]})
            return success(
                {
                    "orders": [_shown(order) for order in page],
                    "next_page_token": next_token if more else "",
                    "total_count": len(found),
                }
            )

    def api_order_detail(self, query: Mapping[str, str]) -> Response:
        """``GET /order/202309/orders?ids=a,b`` (UNCONFIRMED shape: the search's order objects)."""
        ids = [i for i in query.get("ids", "").split(",") if i]
        if not 1 <= len(ids) <= 50:
            return failure(400, INVALID_PARAMETER, "ids must name 1 to 50 orders.")
        with self._lock:
            return success({"orders": [_shown(self._orders[i]) for i in ids if i in self._orders]})

    # --- packages -------------------------------------------------------------------------------------

    def _package(self, package_id: str) -> dict[str, Any] | None:
        return next(
            (o for o in self._orders.values() if any(p["id"] == package_id for p in o["packages"])), None
        )

    def api_ship_package(self, package_id: str, body: Any) -> Response:
        """``/fulfillment/202309/packages/{id}/ship``: TikTok's logistics (PICKUP or DROP_OFF) gives the
        tracking number; ``self_shipment`` ships it with the seller's carrier and number."""
        if not isinstance(body, dict):
            return failure(400, INVALID_PARAMETER, "The request body is not a JSON object.")
        with self._lock:
            order = self._package(package_id)
            if order is None:
                return failure(404, NOT_FOUND, f"Package {package_id} does not exist.")
            if order["fulfillment_type"] == "FULFILLMENT_BY_TIKTOK":
                return failure(400, INVALID_PARAMETER, "The package is fulfilled by TikTok.")
            if order["status"] != "AWAITING_SHIPMENT" or order.get("is_buyer_request_cancel"):
                return failure(
                    400, PACKAGE_SHIPPED, f"The package cannot ship: the order is {order['status']}."
                )
            own = body.get("self_shipment")
            if own is not None:
                if not isinstance(own, dict) or own.get("shipping_provider_id") not in self.providers:
                    return failure(400, INVALID_PARAMETER, "Invalid shipping_provider_id.")
                if not own.get("tracking_number"):
                    return failure(400, INVALID_PARAMETER, "tracking_number is required.")
                tracking, provider = str(own["tracking_number"]), self.providers[own["shipping_provider_id"]]
                self._ship(order, tracking, provider)
                self._move(order, "IN_TRANSIT")
            else:
                if body.get("handover_method", "PICKUP") not in ("PICKUP", "DROP_OFF"):
                    return failure(400, INVALID_PARAMETER, "Invalid handover_method.")
                tracking = f"TT{self._rng.randrange(10**11, 10**12)}ID"
                if self.tracking_later:
                    # The package is arranged; its number comes with ``give_tracking``.
                    self._pending_tracking[order["id"]] = tracking
                    for item in order["line_items"]:
                        item["package_status"] = "PROCESSING"
                else:
                    self._ship(order, tracking, "TT Virtual express")
                self._move(order, "AWAITING_COLLECTION")
            self._shipped.append(
                {"package_id": package_id, "order_id": order["id"], "tracking_number": tracking, "body": body}
            )
            return success({})

    def give_tracking(self, order_id: str) -> None:
        """TikTok's logistics assigns the tracking number of a package shipped with ``tracking_later``."""
        with self._lock:
            order = self._order(order_id)
            self._ship(order, self._pending_tracking.pop(order_id), "TT Virtual express")
            self._move(order, order["status"])

    def api_package_detail(self, package_id: str) -> Response:
        """``GET /fulfillment/202309/packages/{id}`` (UNCONFIRMED shape)."""
        with self._lock:
            order = self._package(package_id)
            if order is None:
                return failure(404, NOT_FOUND, f"Package {package_id} does not exist.")
            return success(
                {
                    "package_id": package_id,
                    "order_line_item_ids": [i["id"] for i in order["line_items"]],
                    "package_status": "TO_FULFILL" if not order.get("tracking_number") else "PROCESSING",
                    "tracking_number": order.get("tracking_number", ""),
                    "shipping_provider_name": order.get("shipping_provider", ""),
                }
            )

    def api_shipping_document(self, package_id: str, query: Mapping[str, str], base_url: str) -> Response:
        """``GET /fulfillment/202309/packages/{id}/shipping_documents`` (UNCONFIRMED shape): a URL of
        the label PDF, once the package shipped with TikTok's logistics."""
        with self._lock:
            order = self._package(package_id)
            if order is None:
                return failure(404, NOT_FOUND, f"Package {package_id} does not exist.")
            if query.get("document_type") not in (
                "SHIPPING_LABEL",
                "PACKING_SLIP",
                "SHIPPING_LABEL_AND_PACKING_SLIP",
            ):
                return failure(400, INVALID_PARAMETER, "Invalid document_type.")
            if not order.get("tracking_number"):
                return failure(400, INVALID_PARAMETER, "The package has not shipped.")
            return success(
                {
                    "doc_url": f"{base_url}/_sandbox/labels/{package_id}.pdf",
                    "tracking_number": order["tracking_number"],
                }
            )

    def label(self, package_id: str) -> bytes:
        with self._lock:
            if self._package(package_id) is None:
                raise KeyError(f"no package {package_id}")
        return LABEL_PDF

    def shipped(self) -> list[dict[str, Any]]:
        """Every ship-package call the sandbox accepted, in order."""
        with self._lock:
            return [dict(entry) for entry in self._shipped]

    def api_authorized_shops(self) -> Response:
        shop = {"id": self.shop_id, "name": "Sandbox shop", "region": self.region, "code": "IDSANDBOX01"}
        return success({"shops": [{**shop, "seller_type": "LOCAL", "cipher": self.shop_cipher}]})

    # --- webhooks -----------------------------------------------------------------------------------

    def _notify(self, order: Mapping[str, Any]) -> None:
        """An ORDER_STATUS_CHANGE (type 1) notification, as ``webhook_order_status_change_type1.json``;
        the webhook spells CANCELLED as CANCEL (CONTRACT.md section 6)."""
        status = "CANCEL" if order["status"] == "CANCELLED" else order["status"]
        data = {
            "order_id": order["id"],
            "order_status": status,
            "is_on_hold_order": bool(order.get("is_on_hold_order")),
            "update_time": order["update_time"],
        }
        self._send(1, "ORDER_STATUS_CHANGE", data)

    def _notify_return(self, entry: Mapping[str, Any]) -> None:
        """A RETURN_STATUS_CHANGE (type 12) notification (UNCONFIRMED shape, from third-party receivers:
        the return's order, id, type, status, role and times)."""
        fields = ("order_id", "return_id", "return_type", "return_status", "create_time", "update_time")
        data = {name: entry[name] for name in fields} | {"return_role": entry["role"]}
        self._send(12, "RETURN_STATUS_CHANGE", data)

    def _send(self, kind: int, topic: str, data: Mapping[str, Any]) -> None:
        self._notifications.append(
            {
                "type": kind,
                "tts_notification_id": str(7_327_112_393_057_000_000 + next(self._ids)),
                "shop_id": self.shop_id,
                "timestamp": self.now(),
                "data": dict(data),
            }
        )
        if self.webhook_url:
            notification = self._notifications[-1]
            body = json.dumps(notification, separators=(",", ":")).encode()
            delivery = Delivery(
                url=self.webhook_url,
                webhook_id=notification["tts_notification_id"],
                topic=topic,
                order_id=int(data["order_id"]),
                body=body,
                headers={"Content-Type": "application/json", "Authorization": self.webhook_signature(body)},
            )
            self._sender.submit(delivery)
            if self.duplicate_webhooks:
                self._sender.submit(replace(delivery, duplicate=True))

    def notifications(self) -> list[dict[str, Any]]:
        """Every notification made, oldest first (sent to ``webhook_url`` when one is set)."""
        with self._lock:
            return [dict(n) for n in self._notifications]

    def deliveries(self) -> list[dict[str, Any]]:
        """What became of each delivery to ``webhook_url``."""
        return self._sender.log()

    def wait_for_webhooks(self, timeout: float = 10.0) -> bool:
        return self._sender.wait(timeout)

    def close(self) -> None:
        self._sender.close()

    def webhook_signature(self, body: bytes) -> str:
        """UNCONFIRMED (CONTRACT.md section 6): hex HMAC-SHA256 keyed with the app secret over the app
        key and the raw body, sent as the ``Authorization`` header."""
        return hmac.new(self.app_secret.encode(), self.app_key.encode() + body, hashlib.sha256).hexdigest()


def _time_bounds(body: Mapping[str, Any]) -> dict[str, Any] | Response:
    """A search body's create and update windows (Unix seconds, each bound optional), or the refusal
    of one that is not a whole number."""
    bounds = {}
    for name in ("create_time_ge", "create_time_lt", "update_time_ge", "update_time_lt"):
        value = body.get(name)
        if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
            return failure(400, INVALID_PARAMETER, f"{name} must be Unix seconds.")
        bounds[name] = value
    return bounds


def _sku_error(sku_id: str, code: int, message: str, extra: list[dict[str, Any]]) -> dict[str, Any]:
    return {"code": code, "message": message, "detail": {"sku_id": sku_id, "extra_errors": extra}}


def _extra(warehouse_id: str, code: int, message: str) -> dict[str, Any]:
    return {"warehouse_id": warehouse_id, "code": code, "message": message}


def _within(value: int, low: int | None, high: int | None) -> bool:
    return (low is None or value >= low) and (high is None or value < high)


def _shown(order: Mapping[str, Any]) -> dict[str, Any]:
    """An order as the API shows it: no address while UNPAID or ON_HOLD (CONTRACT.md section 3)."""
    shown = _copy(order)
    if shown["status"] in ("UNPAID", "ON_HOLD"):
        shown.pop("recipient_address", None)
    return {key: value for key, value in shown.items() if value is not None}


def _copy(order: Mapping[str, Any]) -> dict[str, Any]:
    copied: dict[str, Any] = json.loads(json.dumps(order))
    return copied


def _total(values: Iterable[str]) -> Decimal:
    return sum((Decimal(v) for v in values), Decimal(0))


def _text(amount: Decimal) -> str:
    """A decimal string as TikTok writes it: no exponent, no trailing zeros past the point."""
    text = format(amount.normalize(), "f")
    return text


def _encode(data: Mapping[str, Any]) -> str:
    return base64.b64encode(json.dumps(data, separators=(",", ":")).encode()).decode()


def _decode(token: str) -> dict[str, Any] | None:
    try:
        data = json.loads(base64.b64decode(token.encode(), validate=True))
    except ValueError:
        return None
    return data if isinstance(data, dict) and isinstance(data.get("o"), int) else None
