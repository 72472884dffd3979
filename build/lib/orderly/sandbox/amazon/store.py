"""The state of one simulated Amazon seller account in one marketplace, and the SP-API's rules over it.

Everything here is plain Python under one lock, so the HTTP app (``app.py``), a test and a benchmark
script can all drive the same store from any thread. The ``api_*`` methods answer SP-API requests as
``(status, body)``; the other public methods script the seller's world (listings, orders and their
moves, faults) and read back what the client sent (stock quantities, shipment confirmations).

Shapes follow the published samples in ``shared/platforms/amazon_sp_api``: money is
``{"CurrencyCode", "Amount"}`` with a decimal string, times are ISO 8601 UTC with ``Z``, errors are
``{"errors": [{"code", "message", "details"}]}``.
"""

from __future__ import annotations

import base64
import binascii
import json
import random
import re
import secrets
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from orderly.channels.connector import RateLimit
from orderly.core.clock import utcnow
from orderly.core.money import minor_unit_exponent

#: Per operation, from the ordersV0 and listingsItems 2021-08-01 models (see CONTRACT.md).
PUBLISHED_RATES: dict[str, RateLimit] = {
    "getOrders": RateLimit(0.0167, 20),
    "getOrder": RateLimit(0.5, 30),
    "getOrderItems": RateLimit(0.5, 30),
    "confirmShipment": RateLimit(2.0, 10),
    "patchListingsItem": RateLimit(5.0, 10),
    "createRestrictedDataToken": RateLimit(1.0, 10),  # tokens 2021-03-01
}

#: Limits no test or benchmark reaches: for runs that are not about throttling.
FAST_RATES: dict[str, RateLimit] = {op: RateLimit(1000.0, 1000) for op in PUBLISHED_RATES}

#: The statuses whose orders carry a ShippingAddress (ordersV0); Pending and Canceled orders do not.
ADDRESS_STATUSES = frozenset({"Unshipped", "PartiallyShipped", "Shipped", "InvoiceUnconfirmed"})

Response = tuple[int, Any]  # HTTP status and JSON body (None: no body)


class SandboxError(ValueError):
    """A scripted move the seller's world does not allow (e.g. cancelling a shipped order)."""


def error_body(code: str, message: str, details: str | None = None) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "message": message}
    if details is not None:
        error["details"] = details
    return {"errors": [error]}


QUOTA_EXCEEDED = error_body("QuotaExceeded", "You exceeded your quota for the requested resource.", "")
INTERNAL_FAILURE = error_body("InternalFailure", "We encountered an internal error. Please try again.", "")
DENIED = "Access to requested resource is denied."
# The expired-token wording is UNCONFIRMED; the revoked one is quoted in public SP-API issues.
TOKEN_EXPIRED = "The access token you provided has expired."  # noqa: S105 - a message
TOKEN_INVALID = "The access token you provided is revoked, malformed or invalid."  # noqa: S105


#: What a Restricted Data Token can unlock (Tokens API 2021-03-01 ``dataElements``).
DATA_ELEMENTS = frozenset({"buyerInfo", "shippingAddress", "buyerTaxInformation"})
#: The restricted Orders v0 operations an RDT can name; ``{orderId}`` (a generic path) stands for any order.
_RESTRICTED_PATHS = (
    re.compile(r"/orders/v0/orders"),
    re.compile(r"/orders/v0/orders/[^/]+"),
    re.compile(r"/orders/v0/orders/[^/]+/orderItems"),
)
#: What getOrders and getOrder show of a shipping address to a call without an RDT for it.
_UNRESTRICTED_ADDRESS = ("City", "County", "District", "Municipality", "StateOrRegion", "PostalCode",
                         "CountryCode", "AddressType")  # fmt: skip
MAX_RESTRICTED_RESOURCES = 50


@dataclass(frozen=True)
class _Grant:
    """One restricted resource of a Restricted Data Token."""

    method: str
    path: str
    data_elements: frozenset[str]

    def covers(self, method: str, path: str) -> bool:
        pattern = re.escape(self.path).replace(re.escape("{orderId}"), "[^/]+")
        return method == self.method and re.fullmatch(pattern, path) is not None


_QUERY_KEYS = frozenset({"field", "after", "before", "statuses", "channels", "ids", "size", "last"})
#: getOrders filters Amazon honours that the sandbox does not implement: refused, never ignored.
_UNSUPPORTED_ORDER_FILTERS = (
    "PaymentMethods",
    "BuyerEmail",
    "SellerOrderId",
    "EasyShipShipmentStatuses",
    "ElectronicInvoiceStatuses",
    "ActualFulfillmentSupplySourceId",
    "IsISPU",
    "StoreChainStoreId",
    "EarliestDeliveryDateBefore",
    "EarliestDeliveryDateAfter",
    "LatestDeliveryDateBefore",
    "LatestDeliveryDateAfter",
)


def _orders_invalid(details: str) -> Response:
    return 400, error_body("InvalidInput", "Invalid Input", details)


def _shipment_invalid(details: str) -> Response:
    # The confirmShipment sandbox spells the code with a space.
    return 400, error_body("Invalid Input", "Invalid Input", details)


def _listing_invalid(details: str) -> Response:
    return 400, error_body("BAD_REQUEST", "Invalid input", details)


NOT_FOUND = "The resource specified does not exist."


def _not_found(what: str) -> Response:
    return 404, error_body("NotFound", NOT_FOUND, what)


def stamp(value: datetime) -> str:
    """Amazon's form: UTC with ``Z``. Milliseconds, so two changes to an order never share a stamp."""
    value = value.astimezone(UTC)
    return f"{value:%Y-%m-%dT%H:%M:%S}.{value.microsecond // 1000:03d}Z"


def parse_instant(text: str) -> datetime:
    value = datetime.fromisoformat(text)
    if value.tzinfo is None:
        raise ValueError(f"{text!r} has no time zone")
    return value.astimezone(UTC)


def _to_ms(value: datetime) -> datetime:
    return value.replace(microsecond=value.microsecond // 1000 * 1000)


def _encode_token(data: Mapping[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data, separators=(",", ":")).encode()).decode()


def _decode_token(token: str) -> dict[str, Any] | None:
    try:
        data = json.loads(base64.urlsafe_b64decode(token.encode()))
    except (ValueError, binascii.Error):
        return None
    return data if isinstance(data, dict) else None


@dataclass(frozen=True)
class Line:
    """One line of a scripted order. ``price`` is the unit price (the listing's when None); ``tax``,
    ``discount`` and ``shipping`` are for the whole line. Amounts are decimal strings in major units."""

    sku: str
    quantity: int
    price: str | None = None
    tax: str = "0"
    discount: str = "0"
    shipping: str = "0"


@dataclass(frozen=True)
class Faults:
    """Fractions of SP-API calls answered 429 QuotaExceeded, 500 InternalFailure, or held for
    ``delay_seconds`` (past a client's timeout) before being answered; drawn from ``seed``.
    ``malformed_once`` truncates the body of the next getOrders page."""

    throttle: float = 0.0
    error: float = 0.0
    delay: float = 0.0
    delay_seconds: float = 5.0
    malformed_once: bool = False
    seed: int = 0

    def __post_init__(self) -> None:
        if min(self.throttle, self.error, self.delay) < 0 or self.throttle + self.error + self.delay > 1:
            raise SandboxError("fault fractions must be >= 0 and add up to at most 1")


@dataclass
class _Bucket:
    rate: float
    burst: int
    tokens: float
    at: float

    def take(self, now: float) -> bool:
        self.tokens = min(self.burst, self.tokens + (now - self.at) * self.rate)
        self.at = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True


@dataclass
class _Listing:
    sku: str
    asin: str
    title: str
    price: Decimal
    quantity: int | None = None  # the last seller-fulfilled quantity a PATCH set
    # DEFAULT: the seller ships it (MFN); AMAZON_NA, AMAZON_EU...: Amazon stocks and ships it (FBA/AFN).
    fulfillment_channel: str = "DEFAULT"
    patches: int = 0  # quantity PATCHes accepted
    attributes: dict[str, Any] = field(default_factory=dict)  # as the accepted patches left them


@dataclass
class _Item:
    order_item_id: str
    listing: _Listing
    quantity: int
    price: Decimal  # ItemPrice: the unit price times the quantity, as Amazon reports it
    tax: Decimal
    discount: Decimal
    shipping: Decimal
    shipped: int = 0
    cancel_reason: str | None = None  # set when the buyer asked to cancel


@dataclass
class _Order:
    order_id: str
    status: str
    purchased: datetime
    updated: datetime
    address: dict[str, str]
    buyer_name: str
    buyer_email: str
    items: list[_Item]
    prime: bool
    paid: bool = False
    packages: dict[str, dict[str, Any]] = field(default_factory=dict)  # by packageReferenceId
    channel: str = "MFN"  # FulfillmentChannel: MFN (the seller ships) or AFN (Amazon ships, FBA)


_NAMES = ("Jane Smith", "Carlos Diaz", "Mei Chen", "Aisha Bello", "Tom Becker", "Priya Nair")
_ADDRESSES = (
    {"AddressLine1": "1 Cross St.", "City": "Canton", "StateOrRegion": "MI", "PostalCode": "48817"},
    {"AddressLine1": "742 Evergreen Ter", "City": "Springfield", "StateOrRegion": "OR",
     "PostalCode": "97477"},
    {"AddressLine1": "55 Water St", "AddressLine2": "Apt 4B", "City": "Brooklyn", "StateOrRegion": "NY",
     "PostalCode": "11201"},
    {"AddressLine1": "2201 Westlake Ave", "City": "Seattle", "StateOrRegion": "WA", "PostalCode": "98121"},
    {"AddressLine1": "900 Congress Ave", "City": "Austin", "StateOrRegion": "TX", "PostalCode": "78701"},
)  # fmt: skip
_AREA_CODES = {"MI": "734", "OR": "541", "NY": "718", "WA": "206", "TX": "512"}


class AmazonStore:
    """One seller (``seller_id``) selling in one marketplace, with its LWA app credentials.

    ``rates`` override :data:`PUBLISHED_RATES` per operation; ``token_lifetime`` is the access
    tokens' ``expires_in``; ``before_lag_seconds`` is how far before now ``LastUpdatedBefore`` /
    ``CreatedBefore`` must be (Amazon: 2 minutes; 0 turns the rule off); ``clock`` gives order times.
    """

    def __init__(
        self,
        *,
        seller_id: str = "A1SANDBOXSELLER",
        marketplace_id: str = "ATVPDKIKX0DER",
        currency: str = "USD",
        country: str = "US",
        client_id: str = "amzn1.application-oa2-client.sandbox",
        client_secret: str = "sandbox-client-secret",  # noqa: S107 - a sandbox's fixed credentials
        refresh_token: str = "Atzr|sandbox-refresh-token",  # noqa: S107
        rates: Mapping[str, RateLimit] | None = None,
        token_lifetime: int = 3600,
        before_lag_seconds: float = 120.0,
        items_page_size: int = 100,
        clock: Callable[[], datetime] = utcnow,
        seed: int = 0,
    ) -> None:
        self.seller_id, self.marketplace_id = seller_id, marketplace_id
        self.currency, self.country = currency, country
        self.client_id, self.client_secret, self.refresh_token = client_id, client_secret, refresh_token
        self.clock = clock
        self._lock = threading.RLock()
        self._rng = random.Random(seed)
        self._rates: dict[str, RateLimit] = dict(PUBLISHED_RATES)
        self._buckets: dict[str, _Bucket] = {}
        self.token_lifetime = token_lifetime
        self.before_lag_seconds = before_lag_seconds
        self.items_page_size = items_page_size
        self.configure(rates=rates or {})
        self._tokens: dict[str, float] = {}  # access token -> monotonic expiry
        self._rdts: dict[str, tuple[float, tuple[_Grant, ...]]] = {}  # RDT -> (monotonic expiry, grants)
        self._listings: dict[str, _Listing] = {}
        self._orders: dict[str, _Order] = {}
        self._shipments: list[dict[str, Any]] = []
        self._faults = Faults()
        self._fault_rng = random.Random(0)
        self._calls: dict[str, int] = {}
        self._order_seq = 0
        self._item_seq = self._rng.randrange(10**13, 9 * 10**13)
        self.tokens_issued = 0
        self.rdts_issued = 0
        self.denied = 0  # SP-API calls answered 403 for want of a live token

    # --- configuration and faults ------------------------------------------------------------------

    def configure(
        self,
        *,
        rates: Mapping[str, RateLimit] | None = None,
        token_lifetime: int | None = None,
        before_lag_seconds: float | None = None,
        items_page_size: int | None = None,
    ) -> None:
        """Change limits at run time; a changed operation's bucket starts full."""
        with self._lock:
            for op, limit in (rates or {}).items():
                if op not in PUBLISHED_RATES:
                    raise SandboxError(f"unknown operation {op!r}; known: {', '.join(PUBLISHED_RATES)}")
                self._rates[op] = limit
            now = time.monotonic()
            for op, limit in self._rates.items():
                if op not in self._buckets or (rates and op in rates):
                    self._buckets[op] = _Bucket(limit.per_second, limit.burst, limit.burst, now)
            if token_lifetime is not None:
                self.token_lifetime = token_lifetime
            if before_lag_seconds is not None:
                self.before_lag_seconds = before_lag_seconds
            if items_page_size is not None:
                self.items_page_size = items_page_size

    def rates(self) -> dict[str, RateLimit]:
        with self._lock:
            return dict(self._rates)

    def set_faults(self, faults: Faults) -> None:
        with self._lock:
            self._faults = faults
            self._fault_rng = random.Random(faults.seed)

    def clear_faults(self) -> None:
        self.set_faults(Faults())

    def faults(self) -> Faults:
        with self._lock:
            return self._faults

    def draw_fault(self) -> str | None:
        """For one SP-API call: "throttle", "error", "delay" or None."""
        with self._lock:
            f = self._faults
            if not (f.throttle or f.error or f.delay):
                return None
            r = self._fault_rng.random()
        if r < f.throttle:
            return "throttle"
        if r < f.throttle + f.error:
            return "error"
        return "delay" if r < f.throttle + f.error + f.delay else None

    def take_malformed(self) -> bool:
        with self._lock:
            if not self._faults.malformed_once:
                return False
            self._faults = replace(self._faults, malformed_once=False)
            return True

    def take(self, op: str) -> bool:
        """Count the call and take a token from the operation's bucket; False means throttle it."""
        with self._lock:
            self._calls[op] = self._calls.get(op, 0) + 1
            return self._buckets[op].take(time.monotonic())

    def calls(self) -> dict[str, int]:
        """SP-API calls per operation that passed authentication (throttled ones included)."""
        with self._lock:
            return dict(self._calls)

    # --- LWA ---------------------------------------------------------------------------------------

    def api_token(self, form: Mapping[str, str]) -> Response:
        """``POST /auth/o2/token``: the refresh-token grant. Error bodies are LWA's (OAuth 2)."""
        for name in ("grant_type", "refresh_token", "client_id", "client_secret"):
            if not form.get(name):
                return 400, {
                    "error": "invalid_request",
                    "error_description": f"The request is missing a required parameter : {name}",
                }
        if form["grant_type"] != "refresh_token":
            return 400, {
                "error": "unsupported_grant_type",
                "error_description": "The authorization grant type is not supported by the "
                "authorization server",
            }
        if not (
            secrets.compare_digest(form["client_id"], self.client_id)
            and secrets.compare_digest(form["client_secret"], self.client_secret)
        ):
            return 401, {"error": "invalid_client", "error_description": "Client authentication failed"}
        if not secrets.compare_digest(form["refresh_token"], self.refresh_token):
            return 400, {
                "error": "invalid_grant",
                "error_description": "The request has an invalid grant parameter : refresh_token",
            }
        token = "Atza|" + secrets.token_urlsafe(48)
        with self._lock:
            self._tokens[token] = time.monotonic() + self.token_lifetime
            self.tokens_issued += 1
        return 200, {
            "access_token": token,
            "token_type": "bearer",
            "expires_in": self.token_lifetime,
            "refresh_token": self.refresh_token,
        }

    def check_token(self, token: str | None, method: str = "GET", path: str = "") -> dict[str, Any] | None:
        """The 403 body for a call to ``method path`` made with ``token`` (an LWA access token, or a
        Restricted Data Token naming that resource), or None when the token is live and may."""
        with self._lock:
            now = time.monotonic()
            expires = self._tokens.get(token) if token else None
            covered = True
            if expires is None and token in self._rdts:
                expires, grants = self._rdts[token]
                covered = any(grant.covers(method, path) for grant in grants)
            if expires is not None and expires > now and covered:
                return None
            self.denied += 1
        if not token or not covered:
            return error_body("Unauthorized", DENIED, "")
        return error_body("Unauthorized", DENIED, TOKEN_INVALID if expires is None else TOKEN_EXPIRED)

    def data_elements(self, token: str | None, method: str, path: str) -> frozenset[str]:
        """What restricted data a call may see: what its RDT grants for the resource, nothing for an LWA
        access token."""
        with self._lock:
            _, grants = self._rdts.get(token or "", (0.0, ()))
        return frozenset().union(*(g.data_elements for g in grants if g.covers(method, path)))

    def api_restricted_data_token(self, body: Any) -> Response:
        """``POST /tokens/2021-03-01/restrictedDataToken``: an RDT for up to 50 restricted resources, each
        a method, a path (one order's, or generic with ``{orderId}``) and the ``dataElements`` it unlocks."""
        resources = body.get("restrictedResources") if isinstance(body, dict) else None
        if not isinstance(resources, list) or not 1 <= len(resources) <= MAX_RESTRICTED_RESOURCES:
            return _orders_invalid(f"restrictedResources must hold 1 to {MAX_RESTRICTED_RESOURCES} resources")
        grants = []
        for resource in resources:
            if not isinstance(resource, dict):
                return _orders_invalid(f"{resource!r} is not a restricted resource")
            method, path = resource.get("method"), resource.get("path")
            elements = resource.get("dataElements")
            if method not in ("GET", "PUT", "POST", "DELETE"):
                return _orders_invalid(f"method {method!r} must be GET, PUT, POST or DELETE")
            if not isinstance(path, str) or not any(p.fullmatch(path) for p in _RESTRICTED_PATHS):
                return _orders_invalid(f"{path!r} is not a restricted resource")
            if (
                not isinstance(elements, list)
                or not elements
                or not all(isinstance(e, str) and e in DATA_ELEMENTS for e in elements)
            ):
                known = ", ".join(sorted(DATA_ELEMENTS))
                return _orders_invalid(f"dataElements for {path} must be some of {known}")
            grants.append(_Grant(method, path, frozenset(elements)))
        token = "Atz.sprdt|" + secrets.token_urlsafe(48)
        with self._lock:
            self._rdts[token] = (time.monotonic() + self.token_lifetime, tuple(grants))
            self.rdts_issued += 1
        return 200, {"restrictedDataToken": token, "expiresIn": self.token_lifetime}

    def expire_tokens(self) -> None:
        """Every access token and RDT issued so far expires now (a client must get new ones)."""
        with self._lock:
            now = time.monotonic()
            self._tokens = {token: min(at, now) for token, at in self._tokens.items()}
            self._rdts = {token: (min(at, now), grants) for token, (at, grants) in self._rdts.items()}

    # --- the seller's world ------------------------------------------------------------------------

    def _now(self) -> datetime:
        return _to_ms(self.clock().astimezone(UTC))

    def _amount(self, text: str | Decimal) -> Decimal:
        try:
            value = Decimal(text)
        except InvalidOperation as exc:
            raise SandboxError(f"{text!r} is not a decimal amount") from exc
        if value < 0 or value != value.quantize(Decimal(1).scaleb(-minor_unit_exponent(self.currency))):
            raise SandboxError(f"{text!r} is not a {self.currency} amount")
        return value

    def _money(self, value: Decimal) -> dict[str, str]:
        return {"CurrencyCode": self.currency, "Amount": f"{value:.{minor_unit_exponent(self.currency)}f}"}

    def add_listing(
        self,
        sku: str,
        *,
        asin: str | None = None,
        title: str | None = None,
        price: str = "19.99",
        fulfillment_channel: str = "DEFAULT",
    ) -> dict[str, Any]:
        """A listing the seller fulfils (``DEFAULT``) or Amazon does from its own stock (``AMAZON_NA``...)."""
        with self._lock:
            if sku in self._listings:
                raise SandboxError(f"listing {sku!r} exists")
            asin = asin or "B0" + "".join(self._rng.choices("ABCDEFGHJKLMNPQRSTUVWXYZ0123456789", k=8))
            listing = _Listing(
                sku, asin, title or f"Sandbox product {sku}", self._amount(price), None, fulfillment_channel
            )
            self._listings[sku] = listing
            return self._listing_view(listing)

    def _listing_view(self, listing: _Listing) -> dict[str, Any]:
        return {
            "sku": listing.sku,
            "asin": listing.asin,
            "title": listing.title,
            "price": str(listing.price),
            "quantity": listing.quantity,
            "fulfillment_channel": listing.fulfillment_channel,
            "patches": listing.patches,
        }

    def listings(self) -> list[dict[str, Any]]:
        with self._lock:
            return [self._listing_view(listing) for listing in self._listings.values()]

    def quantities(self) -> dict[str, int]:
        """The quantity each SKU was last set to through the Listings Items API."""
        with self._lock:
            return {s: lst.quantity for s, lst in self._listings.items() if lst.quantity is not None}

    def shipments(self) -> list[dict[str, Any]]:
        """Every accepted shipment confirmation: ``{"order_id", "body", "received_at"}``, in order."""
        with self._lock:
            return [dict(s) for s in self._shipments]

    def place_order(
        self,
        lines: Sequence[Line],
        *,
        paid: bool = False,
        order_id: str | None = None,
        address: Mapping[str, str] | None = None,
        buyer_name: str | None = None,
        buyer_email: str | None = None,
        prime: bool = False,
        at: datetime | None = None,
        fba: bool = False,
    ) -> str:
        """A new order, Pending (or Unshipped when ``paid``); its id. ``at`` backdates it; ``fba`` makes
        it fulfilled by Amazon from its own stock (FulfillmentChannel AFN)."""
        if not lines:
            raise SandboxError("an order needs at least one line")
        with self._lock:
            self._order_seq += 1
            order_id = (
                order_id or f"11{self._order_seq % 10}-{self._order_seq:07d}-{self._rng.randrange(10**7):07d}"
            )
            if order_id in self._orders:
                raise SandboxError(f"order {order_id!r} exists")
            items = [self._item(line) for line in lines]
            name = buyer_name or self._rng.choice(_NAMES)
            when = _to_ms(at.astimezone(UTC)) if at else self._now()
            order = _Order(
                order_id=order_id,
                status="Pending",
                purchased=when,
                updated=when,
                address=dict(address) if address else self._address(name),
                buyer_name=name,
                buyer_email=buyer_email or f"{self._rng.getrandbits(40):010x}@marketplace.amazon.com",
                items=items,
                prime=prime,
                channel="AFN" if fba else "MFN",
            )
            self._orders[order_id] = order
            if paid:
                order.status, order.paid = "Unshipped", True
            return order_id

    def _item(self, line: Line) -> _Item:
        listing = self._listings.get(line.sku)
        if listing is None:
            raise SandboxError(f"no listing {line.sku!r}")
        if line.quantity < 1:
            raise SandboxError("a line's quantity must be at least 1")
        unit = listing.price if line.price is None else self._amount(line.price)
        self._item_seq += 1
        return _Item(
            order_item_id=str(self._item_seq),
            listing=listing,
            quantity=line.quantity,
            price=unit * line.quantity,
            tax=self._amount(line.tax),
            discount=self._amount(line.discount),
            shipping=self._amount(line.shipping),
        )

    def _address(self, name: str) -> dict[str, str]:
        base = dict(self._rng.choice(_ADDRESSES))
        # Another house on the street for each buyer: many buyers, as a real marketplace has.
        base["AddressLine1"] = f"{self._rng.randrange(1, 9999)} {base['AddressLine1'].split(' ', 1)[1]}"
        # A real area code for the address's city, so the number is one a carrier can dial.
        area = _AREA_CODES[base["StateOrRegion"]]
        phone = f"+1 {area}-{self._rng.randrange(200, 999)}-{self._rng.randrange(10**4):04d}"
        return {
            "Name": name,
            **base,
            "CountryCode": self.country,
            "Phone": phone,
            "AddressType": "Residential",
        }

    def _order(self, order_id: str) -> _Order:
        order = self._orders.get(order_id)
        if order is None:
            raise KeyError(f"no order {order_id!r}")
        return order

    def _touch(self, order: _Order) -> None:
        # Every change moves LastUpdateDate forward, even twice within one millisecond.
        order.updated = max(self._now(), order.updated + timedelta(milliseconds=1))

    def pay(self, order_id: str) -> None:
        """Pending -> Unshipped: payment cleared, the address and prices appear."""
        with self._lock:
            order = self._order(order_id)
            if order.status != "Pending":
                raise SandboxError(f"order {order_id} is {order.status}, not Pending")
            order.status, order.paid = "Unshipped", True
            self._touch(order)

    def update_order(
        self,
        order_id: str,
        *,
        address: Mapping[str, str] | None = None,
        buyer_name: str | None = None,
        buyer_email: str | None = None,
    ) -> None:
        """A change on Amazon's side (e.g. the buyer corrected the address); always a new version."""
        with self._lock:
            order = self._order(order_id)
            if address is not None:
                order.address = dict(address)
            order.buyer_name = buyer_name or order.buyer_name
            order.buyer_email = buyer_email or order.buyer_email
            self._touch(order)

    def request_cancel(self, order_id: str, reason: str = "Found cheaper somewhere else.") -> None:
        """The buyer asks to cancel: each item says so; the order stays as it is until cancelled."""
        with self._lock:
            order = self._order(order_id)
            for item in order.items:
                item.cancel_reason = reason
            self._touch(order)

    def ship(self, order_id: str, quantities: Mapping[str, int] | None = None) -> None:
        """Units leave without the hub: the seller ships in Seller Central, or Amazon ships an FBA
        order. ``quantities`` by SKU, else everything left; the order becomes PartiallyShipped or
        Shipped and its items show QuantityShipped."""
        with self._lock:
            order = self._order(order_id)
            if order.status not in ("Unshipped", "PartiallyShipped"):
                raise SandboxError(f"order {order_id} is {order.status} and cannot ship")
            wanted = (
                {item.listing.sku: item.quantity - item.shipped for item in order.items}
                if quantities is None
                else dict(quantities)
            )
            by_sku = {item.listing.sku: item for item in order.items}
            for sku, quantity in wanted.items():
                item = by_sku.get(sku)
                if item is None or not 0 <= quantity <= item.quantity - item.shipped:
                    raise SandboxError(f"order {order_id} cannot ship {quantity} of {sku!r}")
            for sku, quantity in wanted.items():
                by_sku[sku].shipped += quantity
            done = all(i.shipped == i.quantity for i in order.items)
            order.status = "Shipped" if done else "PartiallyShipped"
            self._touch(order)

    def cancel(self, order_id: str) -> None:
        with self._lock:
            order = self._order(order_id)
            if order.status not in ("Pending", "Unshipped"):
                raise SandboxError(f"order {order_id} is {order.status} and cannot be cancelled")
            order.status = "Canceled"
            self._touch(order)

    def order(self, order_id: str) -> dict[str, Any]:
        """The order and its items as the SP-API shows them now."""
        with self._lock:
            order = self._order(order_id)
            return {"order": self._order_payload(order), "items": self._items_payload(order, order.items)}

    # --- payloads ----------------------------------------------------------------------------------

    def _order_payload(self, order: _Order, shown: frozenset[str] = DATA_ELEMENTS) -> dict[str, Any]:
        """The order as getOrders/getOrder show it to a call that may see the ``shown`` restricted data
        (Amazon withholds the buyer's name and email, and the address but for its city, region, postcode
        and country, unless the call carries an RDT for them)."""
        shipped = sum(i.shipped for i in order.items)
        unshipped = 0 if order.status == "Canceled" else sum(i.quantity for i in order.items) - shipped
        payload: dict[str, Any] = {
            "AmazonOrderId": order.order_id,
            "PurchaseDate": stamp(order.purchased),
            "LastUpdateDate": stamp(order.updated),
            "OrderStatus": order.status,
            "FulfillmentChannel": order.channel,
            "SalesChannel": "Amazon.com",
            "ShipServiceLevel": "Std US D2D Dom",
        }
        if order.paid:
            total = sum((i.price + i.tax + i.shipping - i.discount for i in order.items), Decimal(0))
            payload["OrderTotal"] = self._money(total)
        payload.update(
            {
                "NumberOfItemsShipped": shipped,
                "NumberOfItemsUnshipped": unshipped,
                "PaymentMethod": "Other",
                "PaymentMethodDetails": ["Standard"],
                "IsReplacementOrder": False,
                "MarketplaceId": self.marketplace_id,
                "ShipmentServiceLevelCategory": "Standard",
                "OrderType": "StandardOrder",
                "EarliestShipDate": stamp(order.purchased + timedelta(days=1)),
                "LatestShipDate": stamp(order.purchased + timedelta(days=3)),
                "IsBusinessOrder": False,
                "IsPrime": order.prime,
                "IsGlobalExpressEnabled": False,
                "IsPremiumOrder": False,
                "IsSoldByAB": False,
                "IsIBA": False,
                "IsISPU": False,
                "IsAccessPointOrder": False,
                "BuyerInfo": {"BuyerEmail": order.buyer_email, "BuyerName": order.buyer_name}
                if "buyerInfo" in shown
                else {},
            }
        )
        if order.status in ADDRESS_STATUSES:
            payload["ShippingAddress"] = (
                dict(order.address)
                if "shippingAddress" in shown
                else {k: v for k, v in order.address.items() if k in _UNRESTRICTED_ADDRESS}
            )
        return payload

    def _items_payload(self, order: _Order, items: Iterable[_Item]) -> list[dict[str, Any]]:
        out = []
        for item in items:
            payload: dict[str, Any] = {
                "ASIN": item.listing.asin,
                "OrderItemId": item.order_item_id,
                "SellerSKU": item.listing.sku,
                "Title": item.listing.title,
                "QuantityOrdered": item.quantity,
                "QuantityShipped": item.shipped,
                "ProductInfo": {"NumberOfItems": "1"},
            }
            if order.paid:  # prices are absent while an order is Pending
                payload["ItemPrice"] = self._money(item.price)
                payload["ItemTax"] = self._money(item.tax)
                payload["PromotionDiscount"] = self._money(item.discount)
                payload["ShippingPrice"] = self._money(item.shipping)
            payload.update({"IsGift": "false", "ConditionId": "New", "ConditionSubtypeId": "New"})
            if item.cancel_reason is not None:
                payload["BuyerRequestedCancel"] = {
                    "IsBuyerRequestedCancel": "true",
                    "BuyerCancelReason": item.cancel_reason,
                }
            out.append(payload)
        return out

    # --- Orders v0 ---------------------------------------------------------------------------------

    def api_get_orders(self, params: Mapping[str, str], shown: frozenset[str] = frozenset()) -> Response:
        """``GET /orders/v0/orders``; a NextToken request carries only MarketplaceIds and NextToken.
        ``shown``: the restricted data the call's RDT unlocks."""
        marketplaces = params.get("MarketplaceIds", "")
        if not marketplaces:
            return _orders_invalid("MarketplaceIds is required")
        if self.marketplace_id not in marketplaces.split(","):
            return _orders_invalid(f"the seller does not sell in {marketplaces}")
        token = params.get("NextToken")
        if token is not None:
            query = _decode_token(token)
            if query is None or set(query) != _QUERY_KEYS:
                return _orders_invalid("NextToken is not valid")
        else:
            parsed = self._orders_query(params)
            if isinstance(parsed, tuple):
                return parsed
            query = parsed
        with self._lock:
            return 200, {"payload": self._orders_page(query, shown)}

    def _orders_query(self, params: Mapping[str, str]) -> dict[str, Any] | Response:
        """The criteria of a first getOrders request, checked as Amazon does."""
        created, updated = params.get("CreatedAfter"), params.get("LastUpdatedAfter")
        if (created is None) == (updated is None):
            return _orders_invalid("exactly one of CreatedAfter and LastUpdatedAfter is required")
        prefix = "Created" if created is not None else "LastUpdated"
        other = "LastUpdated" if prefix == "Created" else "Created"
        if f"{other}Before" in params:
            return _orders_invalid(f"{other}Before cannot be used with {prefix}After")
        now = self._now()
        latest = now - timedelta(seconds=self.before_lag_seconds)
        try:
            after = parse_instant(params[f"{prefix}After"])
            before_text = params.get(f"{prefix}Before")
            before = parse_instant(before_text) if before_text else latest
            size = int(params.get("MaxResultsPerPage", "100"))
        except ValueError as exc:
            return _orders_invalid(str(exc))
        if before > latest:
            return _orders_invalid(
                f"{prefix}Before must be at least {self.before_lag_seconds:g} seconds before the current time"
            )
        if after > before:
            return _orders_invalid(f"{prefix}After must be before {prefix}Before")
        if not 1 <= size <= 100:
            return _orders_invalid("MaxResultsPerPage must be between 1 and 100")
        unsupported = [name for name in _UNSUPPORTED_ORDER_FILTERS if name in params]
        if unsupported:
            return _orders_invalid(f"the sandbox does not implement {', '.join(unsupported)}")
        statuses = params.get("OrderStatuses")
        channels = params.get("FulfillmentChannels")
        ids = params.get("AmazonOrderIds")
        if ids and len(ids.split(",")) > 50:
            return _orders_invalid("AmazonOrderIds takes at most 50 ids")
        return {
            "field": prefix,
            "after": stamp(after),
            "before": stamp(before),
            "statuses": statuses.split(",") if statuses else None,
            "channels": channels.split(",") if channels else None,
            "ids": ids.split(",") if ids else None,
            "size": size,
            "last": None,  # the (time, id) key of the previous page's last order
        }

    def _orders_page(self, query: Mapping[str, Any], shown: frozenset[str]) -> dict[str, Any]:
        by_created = query["field"] == "Created"
        after, before = parse_instant(query["after"]), parse_instant(query["before"])

        def key(order: _Order) -> tuple[str, str]:
            return stamp(order.purchased if by_created else order.updated), order.order_id

        matching = sorted(
            (
                order
                for order in self._orders.values()
                if after <= (order.purchased if by_created else order.updated) <= before
                and (query["statuses"] is None or order.status in query["statuses"])
                and (query["channels"] is None or order.channel in query["channels"])
                and (query["ids"] is None or order.order_id in query["ids"])
                and (query["last"] is None or key(order) > tuple(query["last"]))
            ),
            key=key,
        )
        page = matching[: query["size"]]
        payload: dict[str, Any] = {"Orders": [self._order_payload(order, shown) for order in page]}
        if len(matching) > len(page):
            payload["NextToken"] = _encode_token({**query, "last": list(key(page[-1]))})
        payload[f"{query['field']}Before"] = query["before"]
        return payload

    def api_get_order(self, order_id: str, shown: frozenset[str] = frozenset()) -> Response:
        with self._lock:
            order = self._orders.get(order_id)
            if order is None:
                return _not_found(f"order {order_id}")
            return 200, {"payload": self._order_payload(order, shown)}

    def api_get_order_items(self, order_id: str, params: Mapping[str, str]) -> Response:
        with self._lock:
            order = self._orders.get(order_id)
            if order is None:
                return _not_found(f"order {order_id}")
            start = 0
            if "NextToken" in params:
                token = _decode_token(params["NextToken"])
                if token is None or token.get("order") != order_id or not isinstance(token.get("at"), int):
                    return _orders_invalid("NextToken is not valid")
                start = token["at"]
            end = start + self.items_page_size
            payload: dict[str, Any] = {
                "AmazonOrderId": order_id,
                "OrderItems": self._items_payload(order, order.items[start:end]),
            }
            if end < len(order.items):
                payload["NextToken"] = _encode_token({"order": order_id, "at": end})
            return 200, {"payload": payload}

    def api_confirm_shipment(self, order_id: str, body: Any) -> Response:
        """``POST .../shipmentConfirmation``: 204, or 400 Invalid Input. A packageReferenceId sent
        again edits that package's details instead of shipping its items twice (as Amazon does)."""
        with self._lock:
            order = self._orders.get(order_id)
            if order is None:
                return _not_found(f"order {order_id}")
            if not isinstance(body, dict) or body.get("marketplaceId") != self.marketplace_id:
                return _shipment_invalid(f"marketplaceId must be {self.marketplace_id}")
            package = body.get("packageDetail")
            if not isinstance(package, dict):
                return _shipment_invalid("packageDetail is required")
            problem = _package_problem(package)
            if problem:
                return _shipment_invalid(problem)
            if order.channel != "MFN":
                # UNCONFIRMED wording: Amazon ships an FBA order itself; a seller cannot confirm one.
                return _shipment_invalid(f"order {order_id} is fulfilled by Amazon")
            ref = package["packageReferenceId"]
            if ref not in order.packages:
                if order.status not in ("Unshipped", "PartiallyShipped"):
                    return _shipment_invalid(f"order {order_id} is {order.status}")
                shipping = _shipping_quantities(order, package["orderItems"])
                if isinstance(shipping, str):
                    return _shipment_invalid(shipping)
                for item, quantity in shipping:
                    item.shipped += quantity
                done = all(i.shipped == i.quantity for i in order.items)
                order.status = "Shipped" if done else "PartiallyShipped"
            order.packages[ref] = package
            self._touch(order)
            self._shipments.append({"order_id": order_id, "body": body, "received_at": stamp(self._now())})
            return 204, None

    # --- Listings Items 2021-08-01 -----------------------------------------------------------------

    def api_patch_listing(self, seller_id: str, sku: str, params: Mapping[str, str], body: Any) -> Response:
        """``PATCH /listings/2021-08-01/items/{sellerId}/{sku}``: every patch of the request applied in
        order to the listing's attributes; ``fulfillment_availability`` carries its quantity. With
        ``mode=VALIDATION_PREVIEW`` the patches are checked and nothing changes."""
        if seller_id != self.seller_id:
            return 403, error_body("Unauthorized", DENIED, "")
        if self.marketplace_id not in params.get("marketplaceIds", "").split(","):
            return _listing_invalid(f"marketplaceIds must include {self.marketplace_id}")
        patches = _listing_patches(body)
        if isinstance(patches, str):
            return _listing_invalid(patches)
        submission = str(uuid.uuid4())
        with self._lock:
            listing = self._listings.get(sku)
            if listing is None:
                # UNCONFIRMED: how Amazon answers a patch of a SKU it does not know.
                issue = {"code": "4000001", "message": f"SKU {sku} was not found.", "severity": "ERROR"}
                return 200, {"sku": sku, "status": "INVALID", "submissionId": submission, "issues": [issue]}
            if params.get("mode") != "VALIDATION_PREVIEW":
                for op, name, value in patches:
                    if op == "delete":
                        listing.attributes.pop(name, None)
                        continue
                    listing.attributes[name] = value
                    quantity = _default_quantity(value) if name == "fulfillment_availability" else None
                    if quantity is not None:
                        listing.quantity = quantity
                        listing.patches += 1
                        # UNCONFIRMED: a seller quantity sent for an FBA SKU turns it into a
                        # seller-fulfilled offer, which is why the hub must never push one.
                        listing.fulfillment_channel = "DEFAULT"
        return 200, {"sku": sku, "status": "ACCEPTED", "submissionId": submission, "issues": []}


def _package_problem(package: Mapping[str, Any]) -> str | None:
    ref = package.get("packageReferenceId")
    if not (isinstance(ref, str) and ref.isdigit() and int(ref) > 0):
        return "packageReferenceId must be a positive number"
    for name in ("carrierCode", "trackingNumber", "shipDate"):
        if not isinstance(package.get(name), str) or not package[name]:
            return f"{name} is required"
    if package["carrierCode"] == "Other" and not package.get("carrierName"):
        return "carrierName is required when carrierCode is Other"
    try:
        parse_instant(package["shipDate"])
    except ValueError:
        return "shipDate must be an ISO 8601 date-time"
    items = package.get("orderItems")
    if not isinstance(items, list) or not items:
        return "orderItems is required"
    return None


def _shipping_quantities(order: _Order, lines: list[Any]) -> list[tuple[_Item, int]] | str:
    by_id = {item.order_item_id: item for item in order.items}
    wanted: dict[str, int] = {}
    for line in lines:
        if not isinstance(line, dict) or line.get("orderItemId") not in by_id:
            return f"unknown orderItemId in {line!r}"
        quantity = line.get("quantity")
        if not isinstance(quantity, int) or isinstance(quantity, bool) or quantity < 1:
            return f"quantity must be a positive integer in {line!r}"
        wanted[line["orderItemId"]] = wanted.get(line["orderItemId"], 0) + quantity
    for item_id, quantity in wanted.items():
        item = by_id[item_id]
        if quantity > item.quantity - item.shipped:
            return f"order item {item_id} has only {item.quantity - item.shipped} left to ship"
    return [(by_id[item_id], quantity) for item_id, quantity in wanted.items()]


def _listing_patches(body: Any) -> list[tuple[str, str, Any]] | str:
    """The (op, attribute, value) of each patch of a ListingsItemPatchRequest, or what is wrong with it.
    ``productType`` is required by the 2021-08-01 model; only top-level attributes can be patched."""
    if not isinstance(body, dict):
        return "the body must be a ListingsItemPatchRequest"
    if not isinstance(body.get("productType"), str) or not body["productType"]:
        return "productType is required"
    patches = body.get("patches")
    if not isinstance(patches, list) or not patches:
        return "patches must hold at least one patch"
    checked: list[tuple[str, str, Any]] = []
    for patch in patches:
        if not isinstance(patch, dict):
            return "each patch must be an object"
        op, path, value = patch.get("op"), patch.get("path"), patch.get("value")
        if op not in ("add", "replace", "merge", "delete"):
            return "op must be add, replace, merge or delete"
        name = path.removeprefix("/attributes/") if isinstance(path, str) else ""
        if name in ("", path) or "/" in name:
            return f"path must name one top-level attribute (/attributes/NAME), not {path!r}"
        if op != "delete":
            if not isinstance(value, list) or not value:
                return f"{op} needs a value: a list of the attribute's values"
            problem = _availability_problem(value) if name == "fulfillment_availability" else None
            if problem:
                return problem
        checked.append((op, name, value))
    return checked


def _availability_problem(value: list[Any]) -> str | None:
    for availability in value:
        if not isinstance(availability, dict) or not isinstance(
            availability.get("fulfillment_channel_code"), str
        ):
            return "each fulfillment availability needs a fulfillment_channel_code"
        quantity = availability.get("quantity")
        if availability["fulfillment_channel_code"] == "DEFAULT" and (
            not isinstance(quantity, int) or isinstance(quantity, bool) or quantity < 0
        ):
            return "quantity must be a non-negative integer"
    return None


def _default_quantity(value: list[dict[str, Any]]) -> int | None:
    """The seller-fulfilled (DEFAULT channel) quantity among the availabilities, if one is set."""
    return next((a["quantity"] for a in value if a["fulfillment_channel_code"] == "DEFAULT"), None)
