"""One sandbox Shopee shop in memory, written from the contract sheet and the published samples
(``../shared/platforms/shopee``), not from the hub's connector: partner and shop credentials with
Shopee's signing and 4-hour access tokens, orders in ``get_order_detail``'s shape, models' seller stock,
the logistics flow (shipping parameters, ship_order, tracking numbers, shipping documents), push
messages signed as Shopee signs them, a call budget and injected faults. Every method is safe to call
from any thread.

A script changes it as buyers, the seller in Seller Centre and Shopee's logistics would
(``add_model``, ``place_order``, ``set_status``, ``ship_outside``, ``return_items``,
``move_return``) and reads what a connector did (``stock``, ``shipped``). What the contract leaves
open is marked UNCONFIRMED where it is decided; the returns module (``get_return_list``) is not in the
contract at all and follows its API reference as public SDKs export it (UNCONFIRMED).
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import random
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import httpx

from orderly.sandbox.bucket import Bucket
from orderly.sandbox.labels import label_pdf

Json = dict[str, Any]

#: How long an access token lives (contract §1: 4 hours) and a refresh token (UNCONFIRMED: 30 days).
ACCESS_TOKEN_SECONDS = 4 * 3600
REFRESH_TOKEN_SECONDS = 30 * 86400
#: How far a request's ``timestamp`` may be from the platform's clock (contract §1: 5 minutes).
TIMESTAMP_SECONDS = 300
MAX_WINDOW_SECONDS = 15 * 86400  # get_order_list's time_from..time_to (contract §4)
MAX_DETAIL_BATCH = 50  # get_order_detail's order_sn_list
MAX_STOCK_LIST = 50  # update_stock's stock_list

#: The statuses of contract §4, and those from which the seller may still arrange shipment.
STATUSES = frozenset(
    {
        "UNPAID",
        "READY_TO_SHIP",
        "PROCESSED",
        "SHIPPED",
        "TO_CONFIRM_RECEIVE",
        "COMPLETED",
        "RETRY_SHIP",
        "IN_CANCEL",
        "CANCELLED",
        "TO_RETURN",
        "INVOICE_PENDING",
        "PENDING",
    }
)
#: The returns module's statuses (UNCONFIRMED: not in the contract folder; its API reference's list).
RETURN_STATUSES = frozenset(
    {"REQUESTED", "ACCEPTED", "CANCELLED", "JUDGING", "CLOSED", "PROCESSING", "SELLER_DISPUTE"}
)
#: Order statuses a buyer may ask to return from: the goods reached them, or are on their way.
RETURNABLE = frozenset({"SHIPPED", "TO_CONFIRM_RECEIVE", "COMPLETED", "TO_RETURN"})
#: Logistics channel kinds: what get_shipping_parameter's ``info_needed`` offers for each.
CHANNEL_KINDS = ("pickup", "dropoff", "non_integrated")


class ApiError(Exception):
    """A call Shopee refuses: answered with the error envelope (contract §3). The HTTP status Shopee
    uses for these is UNCONFIRMED; the sandbox answers 403 for auth and signing, 400 otherwise, and
    clients key on ``error`` as the contract says."""

    def __init__(self, error: str, message: str, status: int = 400) -> None:
        super().__init__(f"{error}: {message}")
        self.error, self.message, self.status = error, message, status


@dataclass
class Model:
    item_id: int
    model_id: int  # 0 for an item without variations
    sku: str
    name: str
    price: Decimal
    stock: int
    refuse_reason: str | None = None  # update_stock puts this model in failure_list


@dataclass
class Faults:
    """Injected on platform calls (not ``/_sandbox``): the next ``server_errors`` calls answer 500, the
    next ``slow`` calls wait ``slow_seconds`` first, the next ``malformed_details`` get_order_detail
    answers carry the published sample's defect (a doubled leading ``{``: not JSON)."""

    server_errors: int = 0
    slow: int = 0
    slow_seconds: float = 0.0
    malformed_details: int = 0


@dataclass
class Push:
    url: str
    body: bytes
    authorization: str
    status: int | None = None


@dataclass
class _Order:
    body: Json
    channel_kind: str = "dropoff"
    shipped: list[Json] = field(default_factory=list)  # ship_order requests, as sent
    document: str | None = None  # the shipping document's state: None, READY


class ShopeeStore:
    def __init__(
        self,
        *,
        partner_id: int = 2001887,
        partner_key: str = "shpk-sandbox-partner-key",
        shop_id: int = 14701711,
        region: str = "MY",
        currency: str = "MYR",
        seed: int = 0,
        calls_per_second: float = 1_000_000.0,
        burst: int = 1_000_000,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.partner_id = partner_id
        self.partner_key = partner_key
        self.shop_id = shop_id
        self.region, self.currency = region, currency
        self.clock = clock
        self._rng = random.Random(seed)
        self._lock = threading.RLock()
        self._bucket = Bucket(burst, calls_per_second, tokens=burst)
        self.faults = Faults()
        self.push_url: str | None = None
        self.pushes: list[Push] = []
        self.calls: list[str] = []  # paths of platform calls, in order
        self._models: dict[tuple[int, int], Model] = {}
        self._orders: dict[str, _Order] = {}
        self._returns: dict[str, Json] = {}
        self._codes: set[str] = set()
        self._next_item = 800_000_001
        self._next_model = 9_100_000_001
        self._sn = 0
        self.access_token, self.refresh_token = self._token(), self._token()
        self.access_expires_at = int(self.clock()) + ACCESS_TOKEN_SECONDS
        self._refresh_expires_at = int(self.clock()) + REFRESH_TOKEN_SECONDS

    # --- signing and tokens ----------------------------------------------------------------------

    def _token(self) -> str:
        return "".join(self._rng.choice("0123456789abcdef") for _ in range(32))

    def sign(self, base: str) -> str:
        return hmac.new(self.partner_key.encode(), base.encode(), hashlib.sha256).hexdigest()

    def check_call(self, path: str, query: Mapping[str, str], *, public: bool) -> None:
        """The common parameters of contract §1-2: partner, timestamp within 5 minutes, the sign over
        the API type's base string, and for shop calls a live access token of this shop."""
        with self._lock:
            self.calls.append(path)
            if query.get("partner_id") != str(self.partner_id):
                raise ApiError("error_param", "Invalid partner_id.", 403)  # UNCONFIRMED wording
            stamp = query.get("timestamp", "")
            if not stamp.isdigit() or abs(int(stamp) - self.clock()) > TIMESTAMP_SECONDS:
                # UNCONFIRMED: the error code Shopee gives for a stale timestamp.
                raise ApiError("error_param", "Invalid timestamp.", 403)
            base = f"{self.partner_id}{path}{stamp}"
            if not public:
                base += f"{query.get('access_token', '')}{query.get('shop_id', '')}"
            if not hmac.compare_digest(self.sign(base), query.get("sign", "")):
                raise ApiError("error_sign", "Wrong sign.", 403)
            if public:
                return
            if query.get("shop_id") != str(self.shop_id):
                raise ApiError("error_param", "Invalid shop_id.", 403)
            token = query.get("access_token", "")
            if not hmac.compare_digest(token, self.access_token) or self.clock() >= self.access_expires_at:
                raise ApiError("error_auth", "Invalid access_token.", 403)

    def authorization_code(self) -> str:
        """What Shopee hands the seller's browser after they authorize the app (``?code=&shop_id=``)."""
        with self._lock:
            code = self._token()
            self._codes.add(code)
            return code

    def token_get(self, body: Mapping[str, Any]) -> Json:
        """``/api/v2/auth/token/get``: a code (single use) for the shop's first tokens."""
        with self._lock:
            self._check_shop_body(body)
            code = body.get("code")
            if code not in self._codes:
                raise ApiError("error_auth", "Invalid code.", 403)  # UNCONFIRMED wording
            self._codes.discard(code)
            return self._new_tokens()

    def access_token_get(self, body: Mapping[str, Any]) -> Json:
        """``/api/v2/auth/access_token/get``: a refresh token, good once (UNCONFIRMED: Shopee's guide
        says a new refresh token comes with each new access token), for new tokens."""
        with self._lock:
            self._check_shop_body(body)
            given = body.get("refresh_token")
            if not isinstance(given, str) or not hmac.compare_digest(given, self.refresh_token):
                raise ApiError("error_auth", "Invalid refresh_token.", 403)
            if self.clock() >= self._refresh_expires_at:
                raise ApiError("error_auth", "Refresh token expired.", 403)
            return self._new_tokens()

    def _check_shop_body(self, body: Mapping[str, Any]) -> None:
        if body.get("partner_id") != self.partner_id or body.get("shop_id") != self.shop_id:
            raise ApiError("error_param", "Wrong partner_id or shop_id.")

    def _new_tokens(self) -> Json:
        self.access_token, self.refresh_token = self._token(), self._token()
        now = int(self.clock())
        self.access_expires_at = now + ACCESS_TOKEN_SECONDS
        self._refresh_expires_at = now + REFRESH_TOKEN_SECONDS
        return {
            "access_token": self.access_token,
            "refresh_token": self.refresh_token,
            "expire_in": ACCESS_TOKEN_SECONDS,
            "partner_id": self.partner_id,
            "shop_id": self.shop_id,
        }

    def expire_access_token(self) -> None:
        """The access token's 4 hours are up (its holder must refresh)."""
        with self._lock:
            self.access_expires_at = int(self.clock())

    # --- budget and faults -----------------------------------------------------------------------

    def admit(self) -> tuple[int | None, float]:
        """(a status to answer instead of handling the call, seconds to wait first)."""
        with self._lock:
            if not self._bucket.take():
                return 429, 0.0
            if self.faults.server_errors > 0:
                self.faults.server_errors -= 1
                return 500, 0.0
            if self.faults.slow > 0:
                self.faults.slow -= 1
                return None, self.faults.slow_seconds
            return None, 0.0

    def take_malformed(self) -> bool:
        with self._lock:
            if self.faults.malformed_details <= 0:
                return False
            self.faults.malformed_details -= 1
            return True

    def set_rate(self, calls_per_second: float, burst: int) -> None:
        with self._lock:
            self._bucket = Bucket(burst, calls_per_second, tokens=burst)

    # --- catalog and stock -----------------------------------------------------------------------

    def add_model(
        self,
        sku: str,
        *,
        stock: int = 0,
        price: Decimal | str = "10.00",
        variations: bool = True,
        item_id: int | None = None,
    ) -> tuple[int, int]:
        """A listing: (item_id, model_id) of a new item, or a new model of ``item_id``; ``model_id``
        is 0 for an item without variations."""
        with self._lock:
            if item_id is None:
                item_id = self._next_item
                self._next_item += 1
            model_id = 0
            if variations:
                model_id = self._next_model
                self._next_model += 1
            self._models[(item_id, model_id)] = Model(
                item_id, model_id, sku, f"{sku} model", Decimal(price), stock
            )
            return item_id, model_id

    def model(self, sku: str) -> Model:
        with self._lock:
            return next(m for m in self._models.values() if m.sku == sku)

    def stock(self, item_id: int, model_id: int) -> int:
        """The seller stock a listing holds now (what the last update_stock set, less sales)."""
        with self._lock:
            return self._models[(item_id, model_id)].stock

    def refuse_stock(self, item_id: int, model_id: int, reason: str | None) -> None:
        """Make update_stock list this model in ``failure_list`` (None: accept it again)."""
        with self._lock:
            self._models[(item_id, model_id)].refuse_reason = reason

    def update_stock(self, body: Mapping[str, Any]) -> Json:
        """Contract §5: absolute seller stock per model of one item; a model refused goes in
        ``failure_list`` while the call itself succeeds."""
        with self._lock:
            item_id, stock_list = body.get("item_id"), body.get("stock_list")
            if not isinstance(item_id, int) or isinstance(item_id, bool):
                raise ApiError("product.error_param", "invalid field ItemId: value must  Not Null")
            if not isinstance(stock_list, list) or not 1 <= len(stock_list) <= MAX_STOCK_LIST:
                raise ApiError("product.error_param", "stock_list must hold 1 to 50 models")
            if not any(key[0] == item_id for key in self._models):
                raise ApiError("product.error_item_not_found", "Item not found.")  # UNCONFIRMED code
            success, failure = [], []
            for entry in stock_list:
                model_id = entry.get("model_id") if isinstance(entry, dict) else None
                seller_stock = entry.get("seller_stock") if isinstance(entry, dict) else None
                model = self._models.get((item_id, model_id)) if isinstance(model_id, int) else None
                if model is None:
                    failure.append({"model_id": model_id, "failed_reason": "model_id not found"})
                    continue
                if model.refuse_reason is not None:
                    failure.append({"model_id": model_id, "failed_reason": model.refuse_reason})
                    continue
                if (
                    not isinstance(seller_stock, list)
                    or len(seller_stock) != 1
                    or not isinstance(seller_stock[0].get("stock"), int)
                    or seller_stock[0]["stock"] < 0
                ):
                    failure.append({"model_id": model_id, "failed_reason": "invalid stock"})
                    continue
                model.stock = seller_stock[0]["stock"]
                location = seller_stock[0].get("location_id", "")
                success.append({"model_id": model_id, "location_id": location, "stock": model.stock})
            return {"success_list": success, "failure_list": failure}

    # --- orders ----------------------------------------------------------------------------------

    def place_order(
        self,
        lines: Sequence[tuple[str, int]],
        *,
        status: str = "READY_TO_SHIP",
        message_to_seller: str = "",
        fulfilled_by_shopee: bool = False,
        channel_kind: str = "dropoff",
        shipping_fee: Decimal | str = "4.90",
        voucher: Decimal | str = "0",
        buyer: str = "buyer_sandbox",
        recipient: str = "Siti Aminah",
        order_sn: str | None = None,
    ) -> str:
        """A buyer's order of (sku, units) at the models' prices; seller stock goes down as Shopee's
        does on a sale (not for a fulfilled-by-Shopee order: Shopee's warehouse ships it)."""
        if status not in STATUSES or channel_kind not in CHANNEL_KINDS:
            raise ValueError(f"unknown status {status!r} or channel kind {channel_kind!r}")
        with self._lock:
            now = int(self.clock())
            self._sn += 1
            sn = order_sn or f"{time.strftime('%y%m%d', time.gmtime(now))}SB{self._sn:06d}"
            items, subtotal = [], Decimal(0)
            for sku, units in lines:
                model = self.model(sku)
                if not fulfilled_by_shopee:
                    model.stock = max(0, model.stock - units)
                subtotal += model.price * units
                items.append(
                    {
                        "item_id": model.item_id,
                        "item_name": f"{sku} item",
                        "item_sku": sku if model.model_id == 0 else "",
                        "model_id": model.model_id,
                        "model_name": model.name if model.model_id else "",
                        "model_sku": sku if model.model_id else "",
                        "model_quantity_purchased": units,
                        "model_original_price": _number(model.price),
                        "model_discounted_price": _number(model.price),
                        "order_item_id": model.item_id,
                        "promotion_type": "",
                        "weight": 0.2,
                    }
                )
            fee, off = Decimal(shipping_fee), Decimal(voucher)
            body: Json = {
                "order_sn": sn,
                "region": self.region,
                "currency": self.currency,
                "cod": False,
                "total_amount": _number(subtotal + fee - off),
                "order_status": status,
                "shipping_carrier": "SPX Express",
                "payment_method": "Online Banking",
                "estimated_shipping_fee": _number(fee),
                "actual_shipping_fee": _number(fee),
                "message_to_seller": message_to_seller,
                "note": "",
                "note_update_time": 0,
                "create_time": now,
                "update_time": now,
                "pay_time": None if status in ("UNPAID", "PENDING") else now,
                "days_to_ship": 2,
                "ship_by_date": now + 2 * 86400,
                "buyer_user_id": 1_000_000 + self._sn,
                "buyer_username": buyer,
                "recipient_address": {
                    "name": recipient,
                    "phone": f"6012{self._sn:07d}",
                    "town": "",
                    "district": "",
                    "city": "Kuala Lumpur",
                    "state": "Wilayah Persekutuan",
                    "region": self.region,
                    "zipcode": "50450",
                    "full_address": f"{self._sn} Jalan Ampang, 50450 Kuala Lumpur",
                },
                "item_list": items,
                "fulfillment_flag": "fulfilled_by_shopee"
                if fulfilled_by_shopee
                else "fulfilled_by_local_seller",
                "cancel_by": "",
                "cancel_reason": "",
                "buyer_cancel_reason": "",
                "package_list": [
                    {
                        "package_number": f"OFG{self._sn:015d}",
                        "logistics_status": "LOGISTICS_NOT_START",
                        "shipping_carrier": "SPX Express",
                        "logistics_channel_id": 2000 + CHANNEL_KINDS.index(channel_kind),
                        "item_list": [
                            {
                                "item_id": i["item_id"],
                                "model_id": i["model_id"],
                                "model_quantity": i["model_quantity_purchased"],
                            }
                            for i in items
                        ],
                    }
                ],
                "tracking_number": "",
            }
            self._orders[sn] = _Order(body, channel_kind)
        self.push_status(sn)
        return sn

    def order(self, order_sn: str) -> Json:
        with self._lock:
            return copy.deepcopy(self._orders[order_sn].body)

    def shipped(self, order_sn: str) -> list[Json]:
        """The ship_order requests the order took."""
        with self._lock:
            return copy.deepcopy(self._orders[order_sn].shipped)

    def set_status(self, order_sn: str, status: str, *, cancel_reason: str = "", by: str = "buyer") -> None:
        """A change on the platform (the buyer, the seller in Seller Centre, Shopee's logistics): the
        order's update_time moves and a push goes out."""
        if status not in STATUSES:
            raise ValueError(f"unknown status {status!r}")
        with self._lock:
            body = self._orders[order_sn].body
            body["order_status"] = status
            if status in ("IN_CANCEL", "CANCELLED"):
                body["cancel_by"] = by
                body["cancel_reason"] = cancel_reason or "Change of mind"
                body["buyer_cancel_reason"] = cancel_reason if by == "buyer" else ""
            if status == "CANCELLED" and body["fulfillment_flag"] != "fulfilled_by_shopee":
                for line in body["item_list"]:  # Shopee gives cancelled units back to the seller stock
                    model = self._models[(line["item_id"], line["model_id"])]
                    model.stock += line["model_quantity_purchased"]
            if status in ("SHIPPED", "TO_CONFIRM_RECEIVE", "COMPLETED"):
                body["package_list"][0]["logistics_status"] = (
                    "LOGISTICS_DELIVERY_DONE" if status != "SHIPPED" else "LOGISTICS_PICKUP_DONE"
                )
                body.setdefault("pickup_done_time", int(self.clock()))
            self._touch(body)
        self.push_status(order_sn)

    def ship_outside(self, order_sn: str) -> str:
        """The seller arranged shipment in Seller Centre and the carrier took it, before the hub saw
        the order: SHIPPED with a tracking number."""
        with self._lock:
            body = self._orders[order_sn].body
            body["tracking_number"] = self._tracking(order_sn)
            body["package_list"][0]["logistics_status"] = "LOGISTICS_PICKUP_DONE"
        self.set_status(order_sn, "SHIPPED")
        return str(body["tracking_number"])

    def _touch(self, body: Json) -> None:
        # Whole seconds, as Shopee stamps: two changes within one second share their update_time.
        body["update_time"] = int(self.clock())

    def _tracking(self, order_sn: str) -> str:
        return f"SPXMY{int(hashlib.sha256(order_sn.encode()).hexdigest(), 16) % 10**12:012d}"

    def list_orders(self, query: Mapping[str, str]) -> Json:
        """Contract §4 get_order_list: a window of at most 15 days on create_time or update_time,
        1-100 per page, the cursor being the previous answer's ``next_cursor``."""
        field_name = query.get("time_range_field")
        if field_name not in ("create_time", "update_time"):
            raise ApiError("error_param", "time_range_field must be create_time or update_time")
        try:
            start, end = int(query.get("time_from", "")), int(query.get("time_to", ""))
            size = int(query.get("page_size", ""))
        except ValueError as exc:
            raise ApiError("error_param", f"Wrong parameters, detail: {exc}") from exc
        if not start < end or end - start > MAX_WINDOW_SECONDS:
            raise ApiError(
                "order.order_list_invalid_time",
                "Start time must be earlier than end time and diff in 15days.",
            )
        if not 1 <= size <= 100:
            raise ApiError("error_param", "page_size should be between 1 and 100.")
        cursor = query.get("cursor", "")
        cursor = "" if cursor == '""' else cursor  # the published example sends the empty string quoted
        if cursor and not cursor.isdigit():
            raise ApiError("error_param", "Invalid cursor.")
        offset = int(cursor or 0)
        wanted = query.get("order_status")
        with self._lock:
            found = sorted(
                (o.body for o in self._orders.values()),
                key=lambda body: (body[field_name], body["order_sn"]),
            )
            found = [
                body
                for body in found
                if start <= body[field_name] <= end
                and (wanted is None or body["order_status"] == wanted)
                and (body["order_status"] != "PENDING" or query.get("request_order_status_pending") == "true")
            ]
            page = found[offset : offset + size]
            more = offset + size < len(found)
            with_status = "order_status" in query.get("response_optional_fields", "").split(",")
            return {
                "more": more,
                "next_cursor": str(offset + size) if more else "",
                "order_list": [
                    {
                        "order_sn": b["order_sn"],
                        **({"order_status": b["order_status"]} if with_status else {}),
                    }
                    for b in page
                ],
            }

    def order_details(self, query: Mapping[str, str]) -> Json:
        """Contract §4 get_order_detail: up to 50 order numbers; ``item_list`` and the other optional
        fields only when asked for in ``response_optional_fields``."""
        numbers = [sn for sn in query.get("order_sn_list", "").split(",") if sn]
        if not 1 <= len(numbers) <= MAX_DETAIL_BATCH:
            raise ApiError("error_param", "order_sn_list should have 1 to 50 order_sn.")
        asked = set(query.get("response_optional_fields", "").split(","))
        base = {"order_sn", "region", "currency", "cod", "total_amount", "order_status", "shipping_carrier",
                "payment_method", "estimated_shipping_fee", "message_to_seller", "create_time",
                "update_time", "days_to_ship", "ship_by_date", "fulfillment_flag", "cancel_by",
                "cancel_reason"}  # fmt: skip
        with self._lock:
            missing = [sn for sn in numbers if sn not in self._orders]
            if missing and len(missing) == len(numbers):
                raise ApiError("error_not_found", "Wrong parameters, detail: the order is not found.")
            return {
                "order_list": [
                    {k: copy.deepcopy(v) for k, v in self._orders[sn].body.items() if k in base | asked}
                    for sn in numbers
                    if sn in self._orders
                ]
            }

    # --- returns (UNCONFIRMED shapes: the returns module is not in the contract folder) ----------

    def return_items(
        self,
        order_sn: str,
        lines: Sequence[tuple[str, int]] | None = None,
        *,
        status: str = "ACCEPTED",
        needs_logistics: bool = True,
        solution: int = 0,
    ) -> str:
        """The buyer asks to return (sku, units) of a shipped order (every unit, by default), which
        Shopee keeps in its returns module as ``status``; ``needs_logistics`` False with ``solution`` 1
        is a refund without return. The order itself keeps its status and ``update_time`` (UNCONFIRMED
        whether Shopee touches them). The return's ``return_sn``."""
        if status not in RETURN_STATUSES:
            raise ValueError(f"unknown return status {status!r}")
        with self._lock:
            body = self._existing(order_sn).body
            if body["order_status"] not in RETURNABLE:
                raise ValueError(
                    f"order {order_sn} is {body['order_status']}: not shipped, nothing to return"
                )
            wanted = dict(lines) if lines is not None else None
            items = []
            for line in body["item_list"]:
                sku = line["model_sku"] or line["item_sku"]
                units = line["model_quantity_purchased"] if wanted is None else wanted.pop(sku, 0)
                if units:
                    items.append(
                        {
                            "item_id": line["item_id"],
                            "model_id": line["model_id"],
                            "name": line["item_name"],
                            "images": [],
                            "amount": units,
                            "item_price": line["model_discounted_price"],
                            "is_add_on_deal": False,
                            "is_main_item": False,
                            "add_on_deal_id": 0,
                            "item_sku": line["item_sku"],
                            "variation_sku": line["model_sku"],
                        }
                    )
            if wanted:
                raise ValueError(f"order {order_sn} has none of {sorted(wanted)}")
            now = int(self.clock())
            self._sn += 1
            return_sn = f"{time.strftime('%y%m%d', time.gmtime(now))}{self._sn:09d}"
            refund = sum(Decimal(str(i["item_price"])) * i["amount"] for i in items)
            self._returns[return_sn] = {
                "image": [],
                "reason": "CHANGE_MIND",
                "text_reason": "",
                "return_sn": return_sn,
                "refund_amount": _number(refund),
                "currency": body["currency"],
                "create_time": now,
                "update_time": now,
                "status": status,
                "due_date": now + 3 * 86400,
                "tracking_number": f"RN{self._sn:010d}" if needs_logistics else "",
                "needs_logistics": needs_logistics,
                "amount_before_discount": _number(refund),
                "item": items,
                "order_sn": order_sn,
                "negotiation_status": "TERMINATED",
                "seller_proof_status": "PENDING",
                "seller_compensation_status": "COMPENSATION_NOT_APPLICABLE",
                "return_solution": solution,
            }
            return return_sn

    def move_return(self, return_sn: str, status: str) -> None:
        """The return moves on (the buyer ships, the seller accepts, Shopee judges): its update_time too."""
        if status not in RETURN_STATUSES:
            raise ValueError(f"unknown return status {status!r}")
        with self._lock:
            self._returns[return_sn].update(status=status, update_time=int(self.clock()))

    def list_returns(self, query: Mapping[str, str]) -> Json:
        """get_return_list: ``page_no`` (from 0) and ``page_size`` (1-100), create and update windows
        of at most 15 days each (the update window starting no earlier than the create window), and
        ``status``; the shop's returns oldest first."""
        try:
            page_no, size = int(query.get("page_no", "")), int(query.get("page_size", ""))
            bounds = {
                name: int(query[name]) if name in query else None
                for name in ("create_time_from", "create_time_to", "update_time_from", "update_time_to")
            }
        except ValueError as exc:
            raise ApiError("error_param", f"Wrong parameters, detail: {exc}") from exc
        if page_no < 0 or not 1 <= size <= 100:
            raise ApiError("error_param", "page_no must be 0 or more and page_size between 1 and 100.")
        for field_name in ("create_time", "update_time"):
            low, high = bounds[f"{field_name}_from"], bounds[f"{field_name}_to"]
            if (low is None) != (high is None):
                raise ApiError("error_data", "lack of param")
            if low is not None and high is not None:
                if high <= low:
                    raise ApiError(
                        "error_param", f"The {field_name}_to should be later than {field_name}_from."
                    )
                if high - low > MAX_WINDOW_SECONDS:
                    raise ApiError(
                        "error_param",
                        f"The period between {field_name}_from and {field_name}_to must not more "
                        "than 15 days.",
                    )
        created, updated = bounds["create_time_from"], bounds["update_time_from"]
        if created is not None and updated is not None and updated < created:
            raise ApiError("error_param", "The update_time_from must be after create_time_from.")
        wanted = query.get("status")

        def within(entry: Json, field_name: str) -> bool:
            low, high = bounds[f"{field_name}_from"], bounds[f"{field_name}_to"]
            return low is None or high is None or low <= entry[field_name] <= high

        with self._lock:
            found = sorted(
                (
                    entry
                    for entry in self._returns.values()
                    if within(entry, "create_time")
                    and within(entry, "update_time")
                    and (wanted is None or entry["status"] == wanted)
                ),
                key=lambda entry: (entry["create_time"], entry["return_sn"]),
            )
            page = found[page_no * size : (page_no + 1) * size]
            return {"more": (page_no + 1) * size < len(found), "return": copy.deepcopy(page)}

    # --- logistics -------------------------------------------------------------------------------

    def shipping_parameter(self, order_sn: str) -> Json:
        with self._lock:
            order = self._existing(order_sn)
            kind = order.channel_kind
            info: Json = {"dropoff": [], "pickup": ["address_id", "pickup_time_id"]}
            if kind == "dropoff":
                info = {"dropoff": []}
            elif kind == "non_integrated":
                info = {"non_integrated": ["tracking_number"]}
            else:
                info = {"pickup": ["address_id", "pickup_time_id"]}
            now = int(self.clock())
            slot = now - now % 86400 + 86400
            answer: Json = {"info_needed": info}
            if kind == "pickup":
                answer["pickup"] = {
                    "address_list": [
                        {
                            "address_id": 2826,
                            "region": self.region,
                            "city": "Kuala Lumpur",
                            "address": "8 Jalan Sultan Ismail",
                            "zipcode": "50250",
                            "address_flag": ["default_address", "pickup_address"],
                            "time_slot_list": [
                                {"date": slot, "pickup_time_id": str(slot)},
                                {"date": slot + 86400, "pickup_time_id": str(slot + 86400)},
                            ],
                        }
                    ]
                }
            if kind == "dropoff":
                answer["dropoff"] = {"branch_list": None}
            return answer

    def ship_order(self, body: Mapping[str, Any]) -> None:
        """Contract §6: exactly one of pickup / dropoff / non_integrated, as the channel needs; only a
        READY_TO_SHIP (or RETRY_SHIP) order."""
        sn = body.get("order_sn")
        with self._lock:
            order = self._existing(sn if isinstance(sn, str) else "")
            given = [kind for kind in CHANNEL_KINDS if kind in body]
            if len(given) != 1 or given[0] != order.channel_kind:
                raise ApiError(
                    "logistics.ship_order_invalid_param",  # UNCONFIRMED code
                    f"This order ships by {order.channel_kind}: send that object alone.",
                )
            if order.body["order_status"] not in ("READY_TO_SHIP", "RETRY_SHIP"):
                # The guide's FAQ gives the message; the code is UNCONFIRMED.
                raise ApiError("logistics.error_status", "logistic status not ready to ship")
            detail = body[given[0]]
            if order.channel_kind == "pickup" and (
                detail.get("address_id") != 2826 or not str(detail.get("pickup_time_id") or "").isdigit()
            ):
                raise ApiError("logistics.ship_order_invalid_param", "Invalid address_id or pickup_time_id.")
            if order.channel_kind == "non_integrated":
                number = detail.get("tracking_number")
                if not isinstance(number, str) or not number:
                    raise ApiError("logistics.ship_order_invalid_param", "tracking_number is required.")
                order.body["tracking_number"] = number
            else:
                order.body["tracking_number"] = self._tracking(order.body["order_sn"])
            order.shipped.append(dict(body))
            order.body["order_status"] = "PROCESSED"
            order.body["package_list"][0]["logistics_status"] = "LOGISTICS_READY"
            self._touch(order.body)
        self.push_status(order.body["order_sn"])

    def tracking_number(self, order_sn: str) -> Json:
        with self._lock:
            order = self._orders.get(order_sn)
            if order is None:
                raise ApiError("logistics.invalid_error", "The order is not exist.")
            return {"tracking_number": order.body["tracking_number"]}

    def create_document(self, body: Mapping[str, Any]) -> Json:
        """UNCONFIRMED shapes (create_shipping_document / get_shipping_document_result /
        download_shipping_document, not in the contract folder): one order a request here."""
        sn = _one_order(body)
        with self._lock:
            order = self._existing(sn)
            if not order.body["tracking_number"] or order.channel_kind == "non_integrated":
                failed = {
                    "fail_error": "logistics.can_not_print",
                    "fail_message": "No document for this order.",
                }
                return {"result_list": [{"order_sn": sn, **failed}]}
            order.document = "READY"
            return {"result_list": [{"order_sn": sn}]}

    def document_result(self, body: Mapping[str, Any]) -> Json:
        sn = _one_order(body)
        with self._lock:
            status = self._existing(sn).document or "FAILED"
            return {"result_list": [{"order_sn": sn, "status": status}]}

    def document(self, body: Mapping[str, Any]) -> bytes:
        sn = _one_order(body)
        with self._lock:
            order = self._existing(sn)
            if order.document != "READY":
                raise ApiError("logistics.shipping_document_should_print_first", "Create the document first.")
            return label_pdf("Shopee", order.body["shipping_carrier"], order.body["tracking_number"])

    def _existing(self, order_sn: str) -> _Order:
        order = self._orders.get(order_sn)
        if order is None:
            raise ApiError("error_not_found", "Wrong parameters, detail: the order is not found.")
        return order

    # --- pushes ----------------------------------------------------------------------------------

    def push_status(self, order_sn: str, *, times: int = 1) -> None:
        """An order status push (code 3, contract §7) to ``push_url``, signed over url|body; ``times``
        above 1 sends the same message again (Shopee retries a push it thinks failed)."""
        with self._lock:
            if self.push_url is None:
                return
            body = self._orders[order_sn].body
            message = {
                "msg_id": uuid.uuid4().hex,
                "data": {
                    "completed_scenario": None,
                    "items": [],
                    "ordersn": order_sn,
                    "status": body["order_status"],
                    "update_time": body["update_time"],
                },
                "shop_id": self.shop_id,
                "code": 3,
                "timestamp": int(self.clock()),
            }
            url = self.push_url
        raw = httpx.Request("POST", url, json=message).content
        for _ in range(times):
            self.send_push(url, raw)

    def send_push(self, url: str, raw: bytes) -> Push:
        push = Push(url, raw, self.sign(f"{url}|{raw.decode()}"))
        try:
            push.status = httpx.post(
                url,
                content=raw,
                headers={"Authorization": push.authorization, "Content-Type": "application/json"},
                timeout=10,
            ).status_code
        except httpx.HTTPError:
            push.status = None
        with self._lock:
            self.pushes.append(push)
        return push


def _one_order(body: Mapping[str, Any]) -> str:
    orders = body.get("order_list")
    if not isinstance(orders, list) or len(orders) != 1 or not isinstance(orders[0], dict):
        raise ApiError("error_param", "order_list should hold one order here.")
    return str(orders[0].get("order_sn", ""))


def _number(amount: Decimal) -> int | float:
    """Shopee writes money as a JSON number in major units (contract §4): whole amounts as integers."""
    return int(amount) if amount == amount.to_integral_value() else float(amount)
