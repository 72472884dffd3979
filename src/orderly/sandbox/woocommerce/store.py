"""The state of one WooCommerce store and the REST API's answers to it, written from the contract sheet
(``../shared/platforms/woocommerce/CONTRACT.md``), the samples beside it and WooCommerce's REST API
docs, not from the hub's connector.

Every API call passes the store's checks first (``check``): seeded faults, then authentication as
``class-wc-rest-authentication.php`` does it: HTTP Basic or ``consumer_key``/``consumer_secret`` in the
query only over HTTPS (``https=True``: the sandbox stands behind a TLS proxy), OAuth 1.0a one-legged
(HMAC-SHA1 or HMAC-SHA256, the consumer secret and ``&`` as key, the site's own URL in the base
string, a timestamp within 15 minutes, a nonce used once). Errors are the published envelope
``{"code", "message", "data": {"status"}}``. What the contract leaves UNCONFIRMED is marked where it is
decided.
"""

from __future__ import annotations

import base64
import binascii
import copy
import hashlib
import hmac
import itertools
import json
import math
import random
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from urllib.parse import quote, unquote

import httpx

#: The window WooCommerce takes an OAuth timestamp in, either side of now.
TIMESTAMP_WINDOW = 15 * 60
MAX_PER_PAGE = 100  # the WordPress REST convention (CONTRACT section 2: UNCONFIRMED in WooCommerce)
MAX_BATCH = 100  # objects one batch request takes (CONTRACT section 2)
#: Webhooks go off after this many failed deliveries in a row (CONTRACT section 6).
FAILURES_DISABLE = 5
ORDER_STATUSES = (
    "pending",
    "processing",
    "on-hold",
    "completed",
    "cancelled",
    "refunded",
    "failed",
    "checkout-draft",
    "trash",
)
#: What ``status=any`` lists: every status but trash (UNCONFIRMED whether drafts are in it: they are here).
ANY = frozenset(ORDER_STATUSES) - {"trash"}
#: Statuses in which WooCommerce has taken the order's units off stock.
STOCK_REDUCED = frozenset({"processing", "on-hold", "completed"})


def percent(text: str) -> str:
    """PHP's ``rawurlencode``: RFC 3986."""
    return quote(text, safe="-._~")


def oauth_signature(method: str, url: str, params: Mapping[str, str], secret: str, algorithm: str) -> str:
    """What WooCommerce computes: the parameters (but the signature) encoded, sorted by name, joined
    ``name=value`` with ``&``; ``METHOD&enc(url)&enc(that)``; base64 HMAC keyed with ``secret&``."""
    pairs = sorted((percent(k), percent(v)) for k, v in params.items() if k != "oauth_signature")
    text = f"{method.upper()}&{percent(url)}&{percent('&'.join(f'{k}={v}' for k, v in pairs))}"
    hashing = hashlib.sha1 if algorithm == "HMAC-SHA1" else hashlib.sha256
    return base64.b64encode(hmac.new(f"{secret}&".encode(), text.encode(), hashing).digest()).decode()


def webhook_signature(secret: str, body: bytes) -> str:
    """``X-WC-Webhook-Signature``: base64 HMAC-SHA256 of the raw body keyed with the webhook secret."""
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


class SandboxError(ValueError):
    """A scripted move that the store refuses (e.g. completing a cancelled order)."""


@dataclass
class Answer:
    """What the API answers: an HTTP status, a JSON body and headers."""

    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)


def error(status: int, code: str, message: str) -> Answer:
    return Answer(status, {"code": code, "message": message, "data": {"status": status}})


NO_ROUTE = error(404, "rest_no_route", "No route was found matching the URL and request method")


@dataclass
class Faults:
    """Seeded faults on API calls: a share answered 429 (a host's throttle), a share 503 (a host in
    trouble), both with ``Retry-After``; a share 500; and a delay before every answer."""

    throttle: float = 0.0
    unavailable: float = 0.0
    error: float = 0.0
    slow: float = 0.0
    retry_after: float = 1.0
    seed: int = 0


@dataclass
class _Stocked:
    id: int
    sku: str
    name: str
    price: str
    stock_quantity: int | None
    manage_stock: bool = True
    parent_id: int = 0


@dataclass
class _Product(_Stocked):
    variations: list[_Stocked] = field(default_factory=list)


@dataclass
class _Webhook:
    url: str
    secret: str
    duplicates: bool = False
    failures: int = 0
    status: str = "active"


class WooStore:
    """One WooCommerce store. Script it from Python (``add_product``, ``add_variable_product``,
    ``place_order``, ``set_status``, ``refund``, ``trash``, ``quantity``) or over HTTP (``/_sandbox``)."""

    def __init__(
        self,
        *,
        consumer_key: str = "ck_sandbox0000000000000000000000000000000000",
        consumer_secret: str = "cs_sandbox0000000000000000000000000000000000",  # noqa: S107 - its own
        currency: str = "USD",
        utc_offset_hours: int = -3,
        tracking_extension: bool = True,
        https: bool = False,
        seed: int = 0,
    ) -> None:
        self.consumer_key, self.consumer_secret = consumer_key, consumer_secret
        self.currency = currency
        self.zone = timezone(timedelta(hours=utc_offset_hours))
        self.tracking_extension = tracking_extension
        self.https = https
        self.base_url = ""  # the site's own address (WordPress's home URL), set by whoever serves it
        self._lock = threading.RLock()
        self._ids = itertools.count(700 + seed * 100_000)
        self._nonces: dict[str, float] = {}
        self.products: dict[int, _Product] = {}
        self.orders: dict[int, dict[str, Any]] = {}
        self.notes: dict[int, list[dict[str, Any]]] = {}
        self.trackings: dict[int, list[dict[str, Any]]] = {}
        self.failing: dict[str, tuple[str, str]] = {}  # SKU -> (code, message) its updates fail with
        self.faults = Faults()
        self._fault_rng = random.Random(0)
        self._calls: dict[str, int] = {}
        self.webhook: _Webhook | None = None
        self.pings: list[int] = []  # what each webhook's ping was answered
        self.deliveries: list[dict[str, Any]] = []  # every delivery made, in order
        self._outbox: list[tuple[str, bytes]] = []
        self._sender: threading.Thread | None = None
        self._sending = threading.Condition(self._lock)

    # --- the gateway ------------------------------------------------------------------------------

    def set_faults(self, faults: Faults) -> None:
        with self._lock:
            self.faults, self._fault_rng = faults, random.Random(faults.seed)

    def delay(self) -> float:
        return self.faults.slow

    def calls(self) -> dict[str, int]:
        with self._lock:
            return dict(self._calls)

    def check(
        self, method: str, url: str, path: str, query: Mapping[str, str], headers: Mapping[str, str]
    ) -> Answer | None:
        """Faults, then authentication; None when the call may go on. ``url`` is the request's own
        address without its query (the site's base_url, when set, stands in for its scheme and host)."""
        with self._lock:
            key = f"{method} {path}"
            self._calls[key] = self._calls.get(key, 0) + 1
            draw = self._fault_rng.random()
            faults = self.faults
            retry = {"Retry-After": f"{faults.retry_after:g}"}
            if draw < faults.error:
                return error(500, "internal_server_error", "There has been a critical error on this website.")
            if draw < faults.error + faults.throttle:
                # A host's throttle, not WooCommerce's: its body is the host's (UNCONFIRMED).
                return Answer(429, {"code": "too_many_requests", "message": "Too Many Requests"}, retry)
            if draw < faults.error + faults.throttle + faults.unavailable:
                return Answer(503, {"code": "service_unavailable", "message": "Service Unavailable"}, retry)
            return self._authenticate(method, url, query, headers)

    def _authenticate(
        self, method: str, url: str, query: Mapping[str, str], headers: Mapping[str, str]
    ) -> Answer | None:
        authorization = next((v for k, v in headers.items() if k.lower() == "authorization"), "")
        if self.https:
            if authorization.startswith("Basic "):
                try:
                    user, _, password = base64.b64decode(authorization[6:]).decode().partition(":")
                except (binascii.Error, UnicodeDecodeError):
                    user, password = "", ""
                return self._keys(user, password)
            if "consumer_key" in query:
                return self._keys(query["consumer_key"], query.get("consumer_secret", ""))
        params = dict(query)
        if authorization.startswith("OAuth "):
            params |= _oauth_header(authorization)
        names = (
            "oauth_consumer_key",
            "oauth_timestamp",
            "oauth_nonce",
            "oauth_signature",
            "oauth_signature_method",
        )
        missing = [name for name in names if not params.get(name)]
        if len(missing) == len(names):
            # Basic auth over plain HTTP is not even tried: the request is anonymous.
            return error(401, "woocommerce_rest_cannot_view", "Sorry, you cannot list resources.")
        if missing:
            message = f"Missing OAuth parameter{'s' if len(missing) > 1 else ''} {', '.join(missing)}"
            return error(401, "woocommerce_rest_authentication_missing_parameter", message)
        if params["oauth_consumer_key"] != self.consumer_key:
            return _auth_error("Consumer key is invalid.")
        algorithm = params["oauth_signature_method"]
        if algorithm not in ("HMAC-SHA1", "HMAC-SHA256"):
            return _auth_error("Invalid signature - signature method is invalid.")
        site = self.base_url.rstrip("/")
        signed_url = site + httpx.URL(url).path if site else url
        expected = oauth_signature(method, signed_url, params, self.consumer_secret, algorithm)
        given = params["oauth_signature"].replace(" ", "+")
        if not hmac.compare_digest(expected, given):
            return _auth_error("Invalid signature - provided signature does not match.")
        try:
            stamp = int(params["oauth_timestamp"])
        except ValueError:
            return _auth_error("Invalid timestamp.")
        now = time.time()
        if abs(stamp - now) > TIMESTAMP_WINDOW:
            return _auth_error("Invalid timestamp.")
        self._nonces = {n: at for n, at in self._nonces.items() if at > now - TIMESTAMP_WINDOW}
        if params["oauth_nonce"] in self._nonces:
            return _auth_error("Invalid nonce - nonce has already been used.")
        self._nonces[params["oauth_nonce"]] = now
        return None

    def _keys(self, key: str, secret: str) -> Answer | None:
        if key != self.consumer_key:
            return _auth_error("Consumer key is invalid.")
        if not hmac.compare_digest(secret, self.consumer_secret):
            return _auth_error("Consumer secret is invalid.")
        return None

    # --- the store's world -----------------------------------------------------------------------------

    def add_product(self, sku: str, *, price: str = "19.99", quantity: int | None = 0, name: str = "") -> str:
        """A simple product; returns its listing id (the product id)."""
        with self._lock:
            product = _Product(next(self._ids), sku, name or f"Product {sku}", price, quantity)
            self.products[product.id] = product
            return str(product.id)

    def add_variable_product(self, name: str, variations: Iterable[tuple[str, str, int]]) -> list[str]:
        """A variable product with ``(sku, price, quantity)`` variations; returns their listing ids
        (``"<product>:<variation>"``)."""
        with self._lock:
            product = _Product(next(self._ids), "", name, "", None, manage_stock=False)
            for sku, price, quantity in variations:
                product.variations.append(
                    _Stocked(next(self._ids), sku, f"{name} - {sku}", price, quantity, parent_id=product.id)
                )
            self.products[product.id] = product
            return [f"{product.id}:{variation.id}" for variation in product.variations]

    def _by_sku(self, sku: str) -> _Stocked:
        for product in self.products.values():
            if product.sku == sku:
                return product
            for variation in product.variations:
                if variation.sku == sku:
                    return variation
        raise SandboxError(f"no product or variation with SKU {sku}")

    def quantity(self, sku: str) -> int | None:
        """The stock quantity the product or variation shows now."""
        with self._lock:
            return self._by_sku(sku).stock_quantity

    def fail_sku(
        self, sku: str, code: str = "woocommerce_rest_product_invalid_id", message: str = ""
    ) -> None:
        """Batch updates of this SKU's product or variation fail inside a 200 (``{"id", "error"}``)."""
        with self._lock:
            self.failing[sku] = (code, message or "Invalid ID.")

    def _stamp(self, moment: datetime) -> tuple[str, str]:
        """(site time, GMT time), both without an offset, to the second."""
        return (
            moment.astimezone(self.zone).strftime("%Y-%m-%dT%H:%M:%S"),
            moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S"),
        )

    def _dates(self, order: dict[str, Any], name: str, moment: datetime | None) -> None:
        local, gmt = self._stamp(moment) if moment is not None else (None, None)
        order[name], order[f"{name}_gmt"] = local, gmt

    def place_order(
        self,
        lines: Iterable[tuple[str, int]],
        *,
        status: str = "processing",
        buyer: Mapping[str, str] | None = None,
        customer_note: str = "",
        shipping_total: str = "5.00",
        tax_rate: str = "0.10",
        coupon: str = "0.00",
        customer_id: int = 0,
        ships: bool = True,
        at: datetime | None = None,
    ) -> int:
        """An order of ``(sku, quantity)`` lines at the products' prices; ``coupon`` comes off the first
        line, tax is ``tax_rate`` of each line's total. Units leave stock as WooCommerce takes them
        (processing, on-hold, completed)."""
        if status not in ORDER_STATUSES:
            raise SandboxError(f"no status {status}")
        with self._lock:
            now = (at or datetime.now(UTC)).replace(microsecond=0)
            order_id = next(self._ids)
            person = {
                "first_name": "John",
                "last_name": "Doe",
                "company": "",
                "address_1": "969 Market",
                "address_2": "",
                "city": "San Francisco",
                "state": "CA",
                "postcode": "94103",
                "country": "US",
                "email": "john.doe@example.com",
                "phone": "(555) 555-5555",
                **(buyer or {}),
            }
            rate, left = Decimal(tax_rate), Decimal(coupon)
            items: list[dict[str, Any]] = []
            tax = Decimal(0)
            for n, (sku, quantity) in enumerate(lines):
                stocked = self._by_sku(sku)
                subtotal = Decimal(stocked.price) * quantity
                total = subtotal - min(left, subtotal)
                left -= subtotal - total
                line_tax = _cents(total * rate)
                tax += line_tax
                items.append(
                    {
                        "id": order_id * 10 + n,
                        "name": stocked.name,
                        "product_id": stocked.parent_id or stocked.id,
                        "variation_id": stocked.id if stocked.parent_id else 0,
                        "quantity": quantity,
                        "tax_class": "",
                        "subtotal": _money(subtotal),
                        "subtotal_tax": _money(_cents(subtotal * rate)),
                        "total": _money(total),
                        "total_tax": _money(line_tax),
                        "taxes": [{"id": 75, "total": str(total * rate), "subtotal": str(subtotal * rate)}],
                        "meta_data": [],
                        "sku": stocked.sku,
                        "price": float(stocked.price) if "." in stocked.price else int(stocked.price),
                    }
                )
            shipping = Decimal(shipping_total)
            total = sum((Decimal(i["total"]) for i in items), Decimal(0)) + shipping + tax
            order: dict[str, Any] = {
                "id": order_id,
                "parent_id": 0,
                "number": str(order_id),
                "order_key": f"wc_order_{order_id:013x}",
                "created_via": "checkout",
                "version": "8.9.1",
                "status": status,
                "currency": self.currency,
                "discount_total": _money(Decimal(coupon) - left),
                "discount_tax": "0.00",
                "shipping_total": _money(shipping),
                "shipping_tax": "0.00",
                "cart_tax": _money(tax),
                "total": _money(total),
                "total_tax": _money(tax),
                "prices_include_tax": False,
                "customer_id": customer_id,
                "customer_ip_address": "",
                "customer_user_agent": "",
                "customer_note": customer_note,
                "billing": person,
                "shipping": (
                    {k: v for k, v in person.items() if k != "email"}
                    if ships
                    else dict.fromkeys((k for k in person if k != "email"), "")
                ),
                "payment_method": "bacs",
                "payment_method_title": "Direct Bank Transfer",
                "transaction_id": "",
                "cart_hash": "",
                "meta_data": [],
                "line_items": items,
                "tax_lines": [
                    {
                        "id": order_id * 10 + 8,
                        "rate_code": "US-CA-STATE TAX",
                        "rate_id": 75,
                        "label": "State Tax",
                        "compound": False,
                        "tax_total": _money(tax),
                        "shipping_tax_total": "0.00",
                        "meta_data": [],
                    }
                ],
                "shipping_lines": [
                    {
                        "id": order_id * 10 + 9,
                        "method_title": "Flat Rate",
                        "method_id": "flat_rate",
                        "total": _money(shipping),
                        "total_tax": "0.00",
                        "taxes": [],
                        "meta_data": [],
                    }
                ],
                "fee_lines": [],
                "coupon_lines": [],
                "refunds": [],
            }
            self._dates(order, "date_created", now)
            self._dates(order, "date_modified", now)
            self._dates(order, "date_paid", now if status in STOCK_REDUCED else None)
            self._dates(order, "date_completed", now if status == "completed" else None)
            order["_links"] = self._links(order_id)
            self.orders[order_id] = order
            if status in STOCK_REDUCED:
                self._stock(order, -1)
            self._deliver("order.created", order)
            return order_id

    def _links(self, order_id: int) -> dict[str, Any]:
        base = f"{self.base_url}/wp-json/wc/v3/orders"
        return {"self": [{"href": f"{base}/{order_id}"}], "collection": [{"href": base}]}

    def _order(self, order_id: int) -> dict[str, Any]:
        order = self.orders.get(order_id)
        if order is None:
            raise SandboxError(f"no order {order_id}")
        return order

    def _stock(self, order: Mapping[str, Any], sign: int) -> None:
        for item in order["line_items"]:
            stocked = self._by_sku(item["sku"])
            if stocked.manage_stock and stocked.stock_quantity is not None:
                stocked.stock_quantity += sign * item["quantity"]

    def _touch(self, order: dict[str, Any], at: datetime | None = None) -> None:
        self._dates(order, "date_modified", (at or datetime.now(UTC)).replace(microsecond=0))

    def set_status(self, order_id: int, status: str) -> dict[str, Any]:
        """The merchant (or a payment) moves the order; stock follows WooCommerce's rules."""
        if status not in ORDER_STATUSES:
            raise SandboxError(f"no status {status}")
        with self._lock:
            order = self._order(order_id)
            before = order["status"]
            if before in {"cancelled", "refunded", "trash"} and status in STOCK_REDUCED:
                raise SandboxError(f"order {order_id} is {before}")
            if before not in STOCK_REDUCED and status in STOCK_REDUCED:
                self._stock(order, -1)
                if order["date_paid_gmt"] is None:
                    self._dates(order, "date_paid", datetime.now(UTC))
            elif before in STOCK_REDUCED and status in {"cancelled", "refunded"}:
                self._stock(order, +1)
            order["status"] = status
            if status == "completed":
                self._dates(order, "date_completed", datetime.now(UTC))
            self._touch(order)
            self._deliver("order.updated", order)
            return copy.deepcopy(order)

    def refund(self, order_id: int, amount: str | None = None, reason: str = "") -> None:
        """A refund of ``amount`` (all of the order when None, which makes it ``refunded``)."""
        with self._lock:
            order = self._order(order_id)
            whole = amount is None
            value = Decimal(order["total"]) if whole else Decimal(str(amount))
            # The refunds[] entry's shape is UNCONFIRMED: {id, reason, total} with a negative total.
            order["refunds"].append({"id": next(self._ids), "reason": reason, "total": _money(-value)})
            if whole:
                self.set_status(order_id, "refunded")
            else:
                self._touch(order)
                self._deliver("order.updated", order)

    def trash(self, order_id: int) -> None:
        """The merchant moves the order to the bin: ``order.deleted`` names it."""
        with self._lock:
            order = self._order(order_id)
            if order["status"] in STOCK_REDUCED:
                self._stock(order, +1)
            order["status"] = "trash"
            self._touch(order)
            self._deliver("order.deleted", {"id": order_id})

    def order_view(self, order_id: int) -> dict[str, Any]:
        with self._lock:
            return copy.deepcopy(self._order(order_id))

    def notes_of(self, order_id: int) -> list[dict[str, Any]]:
        with self._lock:
            return copy.deepcopy(self.notes.get(order_id, []))

    def trackings_of(self, order_id: int) -> list[dict[str, Any]]:
        with self._lock:
            return copy.deepcopy(self.trackings.get(order_id, []))

    # --- webhooks ---------------------------------------------------------------------------------

    def set_webhook(self, url: str | None, secret: str = "", *, duplicates: bool = False) -> int | None:
        """Order webhooks (created, updated, deleted) to ``url``, signed with ``secret``; each sent twice
        with ``duplicates``. As WooCommerce does when a webhook is made, its URL is pinged first
        (``webhook_id=<id>``, unsigned); returns what the ping was answered (None: no answer)."""
        with self._lock:
            if url is None:
                self.webhook = None
                return None
            webhook_id = next(self._ids)
        try:
            status: int | None = httpx.post(
                url, content=f"webhook_id={webhook_id}".encode(), timeout=5
            ).status_code
        except httpx.HTTPError:
            status = None
        with self._lock:
            self.pings.append(status or 0)
            self.webhook = _Webhook(url, secret, duplicates)
            return status

    def _deliver(self, topic: str, resource: Mapping[str, Any]) -> None:
        """A delivery of ``resource`` (the order as the API shows it), queued for the sender thread."""
        self.deliveries.append({"topic": topic, "id": resource["id"]})
        if self.webhook is None or self.webhook.status != "active":
            return
        body = json.dumps(resource).encode()
        self._outbox += [(topic, body)] * (2 if self.webhook.duplicates else 1)
        if self._sender is None:
            self._sender = threading.Thread(target=self._send, name="woocommerce-webhooks", daemon=True)
            self._sender.start()
        self._sending.notify_all()

    def _send(self) -> None:
        with httpx.Client(timeout=5) as client:
            while True:
                with self._lock:
                    while not self._outbox:
                        self._sending.wait()
                    (topic, body), webhook = self._outbox[0], self.webhook
                if webhook is not None:
                    resource, event = topic.split(".")
                    headers = {
                        "Content-Type": "application/json",
                        "X-WC-Webhook-Source": f"{self.base_url}/",
                        "X-WC-Webhook-Topic": topic,
                        "X-WC-Webhook-Resource": resource,
                        "X-WC-Webhook-Event": event,
                        "X-WC-Webhook-Signature": webhook_signature(webhook.secret, body),
                        "X-WC-Webhook-ID": "142",
                        "X-WC-Webhook-Delivery-ID": hashlib.md5(body + str(time.time()).encode()).hexdigest(),  # noqa: S324
                    }
                    # One try: WooCommerce does not retry a failed delivery (UNCONFIRMED); five failures in
                    # a row disable the webhook.
                    try:
                        ok = 200 <= client.post(webhook.url, content=body, headers=headers).status_code < 300
                    except httpx.HTTPError:
                        ok = False
                    with self._lock:
                        webhook.failures = 0 if ok else webhook.failures + 1
                        if webhook.failures >= FAILURES_DISABLE:
                            webhook.status = "disabled"
                with self._lock:
                    self._outbox.pop(0)
                    self._sending.notify_all()

    def wait_for_deliveries(self, timeout: float = 5.0) -> bool:
        """Whether every delivery went out within ``timeout`` seconds."""
        with self._lock:
            return self._sending.wait_for(lambda: not self._outbox, timeout)

    # --- the API: orders ---------------------------------------------------------------------------

    def list_orders(self, query: Mapping[str, str]) -> Answer:
        with self._lock:
            try:
                page, per_page = int(query.get("page", "1")), int(query.get("per_page", "10"))
                offset = int(query["offset"]) if "offset" in query else (page - 1) * per_page
            except ValueError:
                return error(400, "rest_invalid_param", "Invalid parameter(s): page, per_page, offset")
            if not 1 <= per_page <= MAX_PER_PAGE or page < 1 or offset < 0:
                return error(
                    400, "rest_invalid_param", f"Invalid parameter(s): per_page (1 to {MAX_PER_PAGE})"
                )
            gmt = query.get("dates_are_gmt", "false").lower() in {"1", "true"}
            bounds: dict[str, str] = {}
            for name in ("after", "before", "modified_after", "modified_before"):
                if name in query:
                    try:
                        moment = datetime.fromisoformat(query[name])
                    except ValueError:
                        return error(400, "rest_invalid_param", f"Invalid parameter(s): {name}")
                    if moment.tzinfo is not None:
                        moment = moment.astimezone(UTC if gmt else self.zone).replace(tzinfo=None)
                    bounds[name] = moment.strftime("%Y-%m-%dT%H:%M:%S")
            wanted = set(query.get("status", "any").split(","))
            statuses = ANY if "any" in wanted else wanted
            if not statuses <= set(ORDER_STATUSES):
                return error(400, "rest_invalid_param", "Invalid parameter(s): status")
            suffix = "_gmt" if gmt else ""

            def keep(order: Mapping[str, Any]) -> bool:
                # The bounds are exclusive (WordPress's date_query; UNCONFIRMED for WooCommerce's).
                created, modified = order[f"date_created{suffix}"], order[f"date_modified{suffix}"]
                return (
                    order["status"] in statuses
                    and ("after" not in bounds or created > bounds["after"])
                    and ("before" not in bounds or created < bounds["before"])
                    and ("modified_after" not in bounds or modified > bounds["modified_after"])
                    and ("modified_before" not in bounds or modified < bounds["modified_before"])
                )

            orderby = query.get("orderby", "date")
            if orderby not in {"date", "id", "include", "title", "slug", "modified"}:
                return error(400, "rest_invalid_param", "Invalid parameter(s): orderby")
            field_name = "date_modified_gmt" if orderby == "modified" else "date_created_gmt"
            found = sorted(
                (o for o in self.orders.values() if keep(o)),
                key=(lambda o: o["id"])
                if orderby in {"id", "include", "title", "slug"}
                else (lambda o: (o[field_name], o["id"])),
                reverse=query.get("order", "desc") == "desc",
            )
            return self._page(found, offset, per_page, query)

    def _page(
        self, found: list[dict[str, Any]], offset: int, per_page: int, query: Mapping[str, str]
    ) -> Answer:
        total = len(found)
        pages = math.ceil(total / per_page)
        headers = {"X-WP-Total": str(total), "X-WP-TotalPages": str(pages)}
        if "offset" not in query:
            page = offset // per_page + 1
            base = f"{self.base_url}/wp-json/wc/v3/orders"
            plain = "&".join(
                f"{k}={percent(v)}" for k, v in query.items() if k != "page" and not k.startswith("oauth_")
            )
            links = []
            if page > 1:
                links.append(f'<{base}?{plain}&page={page - 1}>; rel="prev"')
            if page < pages:
                links.append(f'<{base}?{plain}&page={page + 1}>; rel="next"')
            if links:
                headers["Link"] = ", ".join(links)
        return Answer(200, copy.deepcopy(found[offset : offset + per_page]), headers)

    def get_order(self, order_id: int) -> Answer:
        with self._lock:
            order = self.orders.get(order_id)
            if order is None:
                return error(404, "woocommerce_rest_shop_order_invalid_id", "Invalid ID.")
            return Answer(200, copy.deepcopy(order))

    def update_order(self, order_id: int, body: Mapping[str, Any]) -> Answer:
        with self._lock:
            if order_id not in self.orders:
                return error(404, "woocommerce_rest_shop_order_invalid_id", "Invalid ID.")
            status = body.get("status")
            if status is not None:
                if status not in ORDER_STATUSES:
                    return error(400, "rest_invalid_param", "Invalid parameter(s): status")
                try:
                    return Answer(200, self.set_status(order_id, str(status)))
                except SandboxError as exc:
                    return error(400, "woocommerce_rest_invalid_order_status", str(exc))
            return Answer(200, copy.deepcopy(self.orders[order_id]))

    def list_notes(self, order_id: int) -> Answer:
        with self._lock:
            if order_id not in self.orders:
                return error(404, "woocommerce_rest_order_invalid_id", "Invalid order ID.")
            return Answer(200, list(reversed(self.notes_of(order_id))))  # newest first

    def add_note(self, order_id: int, body: Mapping[str, Any]) -> Answer:
        with self._lock:
            if order_id not in self.orders:
                return error(404, "woocommerce_rest_order_invalid_id", "Invalid order ID.")
            text = body.get("note")
            if not isinstance(text, str) or not text.strip():
                return error(400, "woocommerce_rest_missing_note", "Order note is required.")
            local, gmt = self._stamp(datetime.now(UTC))
            note = {
                "id": next(self._ids),
                "author": "system",
                "date_created": local,
                "date_created_gmt": gmt,
                "note": text,
                "customer_note": bool(body.get("customer_note", False)),
                "added_by_user": False,
            }
            self.notes.setdefault(order_id, []).append(note)
            return Answer(201, copy.deepcopy(note))

    # --- the Shipment Tracking extension ------------------------------------------------------------

    def list_trackings(self, order_id: int) -> Answer:
        with self._lock:
            if not self.tracking_extension:
                return NO_ROUTE
            if order_id not in self.orders:
                return error(404, "woocommerce_rest_order_invalid_id", "Invalid order ID.")
            return Answer(200, self.trackings_of(order_id))

    def add_tracking(self, order_id: int, body: Mapping[str, Any]) -> Answer:
        """The extension's create (docs: ``tracking_number`` required; ``tracking_provider`` for a
        predefined provider or ``custom_tracking_provider`` and ``custom_tracking_link``)."""
        with self._lock:
            if not self.tracking_extension:
                return NO_ROUTE
            if order_id not in self.orders:
                return error(404, "woocommerce_rest_order_invalid_id", "Invalid order ID.")
            number = body.get("tracking_number")
            provider = body.get("tracking_provider") or body.get("custom_tracking_provider")
            if not number or not provider:
                # The error's code is UNCONFIRMED: the docs show only successes.
                return error(
                    400,
                    "woocommerce_rest_shipment_tracking_invalid",
                    "A tracking number and provider are required.",
                )
            link = str(body.get("custom_tracking_link") or "").replace("%1$s", str(number))
            item = {
                "tracking_id": hashlib.md5(f"{order_id}{number}{next(self._ids)}".encode()).hexdigest(),  # noqa: S324
                "tracking_provider": provider,
                "tracking_link": link,
                "tracking_number": number,
                "date_shipped": body.get("date_shipped") or datetime.now(UTC).date().isoformat(),
            }
            self.trackings.setdefault(order_id, []).append(item)
            return Answer(201, copy.deepcopy(item))

    def delete_tracking(self, order_id: int, tracking_id: str) -> Answer:
        with self._lock:
            if not self.tracking_extension:
                return NO_ROUTE
            items = self.trackings.get(order_id, [])
            found = [i for i in items if i["tracking_id"] == tracking_id]
            if not found:
                return error(404, "woocommerce_rest_invalid_tracking", "Invalid tracking ID.")
            items.remove(found[0])
            return Answer(200, found[0])

    # --- the API: products and stock ------------------------------------------------------------------

    def _product_view(self, stocked: _Stocked) -> dict[str, Any]:
        status = "instock" if not stocked.manage_stock or (stocked.stock_quantity or 0) > 0 else "outofstock"
        return {
            "id": stocked.id,
            "name": stocked.name,
            "type": "variation"
            if stocked.parent_id
            else ("variable" if isinstance(stocked, _Product) and stocked.variations else "simple"),
            "parent_id": stocked.parent_id,
            "sku": stocked.sku,
            "price": stocked.price,
            "regular_price": stocked.price,
            "manage_stock": stocked.manage_stock,
            "stock_quantity": stocked.stock_quantity,
            "stock_status": status,
            "backorders": "no",
            "variations": [v.id for v in stocked.variations] if isinstance(stocked, _Product) else [],
        }

    def list_products(self, query: Mapping[str, str]) -> Answer:
        with self._lock:
            found = [
                self._product_view(p)
                for p in sorted(self.products.values(), key=lambda p: p.id, reverse=True)
                if not query.get("sku") or p.sku == query["sku"]
            ]
            try:
                page, per_page = int(query.get("page", "1")), int(query.get("per_page", "10"))
            except ValueError:
                return error(400, "rest_invalid_param", "Invalid parameter(s): page, per_page")
            if not 1 <= per_page <= MAX_PER_PAGE or page < 1:
                return error(
                    400, "rest_invalid_param", f"Invalid parameter(s): per_page (1 to {MAX_PER_PAGE})"
                )
            start = (page - 1) * per_page
            pages = math.ceil(len(found) / per_page)
            headers = {"X-WP-Total": str(len(found)), "X-WP-TotalPages": str(pages)}
            return Answer(200, found[start : start + per_page], headers)

    def get_product(self, product_id: int) -> Answer:
        with self._lock:
            product = self.products.get(product_id)
            if product is None:
                return error(404, "woocommerce_rest_product_invalid_id", "Invalid ID.")
            return Answer(200, self._product_view(product))

    def batch(self, parent_id: int | None, body: Any) -> Answer:
        """``POST /products/batch`` (``parent_id`` None) or ``/products/<id>/variations/batch``: each
        ``update`` object answered on its own, an error as ``{"id", "error": {code, message, data}}``
        (WooCommerce's ``batch_items``; the docs show only successes)."""
        with self._lock:
            if parent_id is not None and parent_id not in self.products:
                return error(404, "woocommerce_rest_product_invalid_id", "Invalid ID.")
            updates = body.get("update") if isinstance(body, dict) else None
            if not isinstance(updates, list):
                return error(400, "rest_invalid_param", "Invalid parameter(s): update")
            if len(updates) > MAX_BATCH:
                return error(
                    413,
                    "woocommerce_rest_request_entity_too_large",
                    f"Unable to accept more than {MAX_BATCH} items for this request.",
                )
            pool = (
                {v.id: v for v in self.products[parent_id].variations}
                if parent_id is not None
                else {p.id: p for p in self.products.values() if not p.variations}
            )
            answered = []
            for update in updates:
                object_id = update.get("id") if isinstance(update, dict) else None
                stocked = pool.get(object_id) if isinstance(object_id, int) else None
                if stocked is None or stocked.sku in self.failing:
                    code, message = self.failing.get(
                        stocked.sku if stocked else "",
                        (
                            "woocommerce_rest_product_variation_invalid_id"
                            if parent_id
                            else "woocommerce_rest_product_invalid_id",
                            "Invalid ID.",
                        ),
                    )
                    answered.append(
                        {
                            "id": object_id,
                            "error": {"code": code, "message": message, "data": {"status": 400}},
                        }
                    )
                    continue
                quantity = update.get("stock_quantity")
                if "manage_stock" in update:
                    stocked.manage_stock = bool(update["manage_stock"])
                if quantity is not None:
                    if isinstance(quantity, bool) or not isinstance(quantity, int):
                        answered.append(
                            {
                                "id": object_id,
                                "error": {
                                    "code": "rest_invalid_param",
                                    "message": "stock_quantity is not of type integer.",
                                    "data": {"status": 400},
                                },
                            }
                        )
                        continue
                    if stocked.manage_stock:  # stock_quantity is kept only where stock is managed
                        stocked.stock_quantity = quantity
                answered.append(self._product_view(stocked))
            return Answer(200, {"update": answered})


def _auth_error(message: str) -> Answer:
    return error(401, "woocommerce_rest_authentication_error", message)


def _oauth_header(header: str) -> dict[str, str]:
    """The ``oauth_*`` parameters of an ``Authorization: OAuth k="v", ...`` header, decoded."""
    params = {}
    for part in header[6:].split(","):
        name, _, value = part.strip().partition("=")
        if name.startswith("oauth_"):
            params[name] = unquote(value.strip().strip('"'))
    return params


def _cents(amount: Decimal) -> Decimal:
    return amount.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def _money(amount: Decimal) -> str:
    return str(_cents(amount))
