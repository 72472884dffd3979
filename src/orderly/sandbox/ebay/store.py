"""The state of one simulated eBay seller and the Sell APIs' rules over it, written from
``shared/platforms/ebay/CONTRACT.md`` and its getOrders sample (Fulfillment v1, Inventory v1), with eBay's
OAuth token endpoint and Marketplace Account Deletion notifications as eBay documents them.

Everything here is plain Python under one lock, so the HTTP app (``app.py``), a test and a demo can drive
the same store from any thread. The ``api_*`` methods answer API requests as ``(status, body)`` (and
headers where eBay sends some); the other public methods script the seller's world (listings, orders and
their moves, faults) and read back what the client sent (quantities, fulfillments).

Orders look as the sample does: money ``{"value", "currency"}`` with decimal strings in major units, times
ISO 8601 UTC with milliseconds. What the contract does not give is marked UNCONFIRMED where it is made up:
the order of getOrders' results (newest first here), error ids and messages beyond the contract's lists,
the throttling answer, the bulk update's limits.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import random
import secrets
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, TypeGuard, TypeVar
from urllib.parse import quote

import httpx
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from orderly.sandbox.bucket import Bucket
from orderly.sandbox.shopify.webhooks import Delivery, WebhookSender

Response = tuple[int, Any]  # HTTP status and JSON body

ORDERS_PATH = "/sell/fulfillment/v1/order"
MAX_LIMIT = 200  # getOrders' limit (CONTRACT.md section 2)
MAX_ORDER_IDS = 50
MAX_BULK = 25  # bulkUpdatePriceQuantity's requests per call (CONTRACT.md section 5)
#: Carrier codes the sandbox takes (UNCONFIRMED: eBay's list is not in the contract; these are the
#: ShippingCarrierCodeEnum values third-party clients use, and the sample's "Hermes").
CARRIERS = frozenset(
    {
        "UPS", "USPS", "FedEx", "DHL", "DHLGlobalMail", "RoyalMail", "Parcelforce", "Hermes", "CanadaPost",
        "Purolator", "AustraliaPost", "ChinaPost", "DPD", "GLS", "TNT", "OnTrac", "DeutschePost", "LaPoste",
        "Colissimo", "Chronopost", "PostNL", "PosteItaliane", "Correos", "JapanPost", "Yanwen",
        "YunExpress", "4PX", "SFExpress", "Other",
    }
)  # fmt: skip
NOTIFICATION_TOPIC = "MARKETPLACE_ACCOUNT_DELETION"


class SandboxError(ValueError):
    """A scripted move the seller's world does not allow (e.g. cancelling a shipped order)."""


def error(
    status: int, error_id: int, message: str, *, domain: str = "API_FULFILLMENT", category: str = "REQUEST"
) -> Response:
    """eBay's error envelope (CONTRACT.md section 6; the envelope's layout UNCONFIRMED)."""
    return status, {"errors": [_error(error_id, message, domain, category)]}


def _error(error_id: int, message: str, domain: str, category: str = "REQUEST") -> dict[str, Any]:
    return {"errorId": error_id, "domain": domain, "category": category, "message": message}


#: The answer to a missing, unknown or expired access token (third-party reports of live answers).
INVALID_TOKEN = (
    401,
    {
        "errors": [
            {
                "errorId": 1001,
                "domain": "OAuth",
                "category": "REQUEST",
                "message": "Invalid access token",
                "longMessage": (
                    "Invalid access token. Check the value of the Authorization HTTP request header."
                ),
            }
        ]
    },
)
#: Throttled (UNCONFIRMED: the contract gives no body; errorId 2001 as eBay's call-limit error).
THROTTLED = (
    429,
    {
        "errors": [
            _error(2001, "Too many requests. The request limit has been reached for the resource.", "ACCESS")
        ]
    },
)
INTERNAL = 500, {"errors": [_error(30500, "System error.", "API_FULFILLMENT", "APPLICATION")]}


def stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def parse_time(text: str) -> datetime | None:
    """An eBay filter time (``2016-03-21T08:25:43.511Z``): UTC with its ``Z``; None when malformed."""
    if not text.endswith("Z"):
        return None
    try:
        return datetime.fromisoformat(text[:-1] + "+00:00")
    except ValueError:
        return None


@dataclass(frozen=True)
class Line:
    """Units of one listing in a scripted order; ``price`` (major units) is the listing's when None."""

    sku: str
    quantity: int = 1
    price: str | None = None
    discount: str = "0"  # a seller promotion on the line, in major units


@dataclass(frozen=True)
class Faults:
    """Fractions of API calls answered HTTP 429, HTTP 500, or held ``delay_seconds`` (past a client's
    timeout) before the answer; drawn from ``seed``. ``failing_skus``: SKUs whose bulk updates come back
    as per-SKU errors inside a 207. The throttling drawn here is the sandbox's; its own rate limit
    (``configure``) answers 429 with no ``Retry-After``."""

    throttle: float = 0.0
    error: float = 0.0
    delay: float = 0.0
    delay_seconds: float = 5.0
    seed: int = 0
    failing_skus: tuple[str, ...] = ()
    #: The ``Retry-After`` of a throttled answer; None: none (UNCONFIRMED whether eBay sends one).
    retry_after: float | None = 1.0

    def __post_init__(self) -> None:
        if min(self.throttle, self.error, self.delay) < 0 or self.throttle + self.error + self.delay > 1:
            raise SandboxError("fault fractions must be >= 0 and add up to at most 1")


@dataclass
class Listing:
    item_id: str  # legacyItemId
    sku: str
    offer_id: str
    price: str
    title: str
    quantity: int  # shipToLocationAvailability.quantity
    offer_quantity: int  # the offer's availableQuantity


@dataclass
class _Order:
    body: dict[str, Any]
    fulfillments: list[dict[str, Any]] = field(default_factory=list)
    cancel_requests: list[dict[str, Any]] = field(default_factory=list)


class EbayStore:
    """One seller. ``rate``/``burst``: the API budget per second (eBay's limits are per day; the default
    never throttles a test that is not about it). ``token_lifetime``: an access token's seconds (eBay's
    are two hours)."""

    def __init__(
        self,
        *,
        seed: int = 0,
        currency: str = "USD",
        marketplace: str = "EBAY_US",
        rate: float = 1000.0,
        burst: int = 1000,
        token_lifetime: int = 7200,
        webhook_url: str | None = None,
    ) -> None:
        rng = random.Random(seed)
        self._rng = rng
        self._lock = threading.RLock()
        self._clock_offset = 0.0
        self.client_id = f"Sandbox-Orderly-SBX-{rng.getrandbits(32):08x}-{rng.getrandbits(32):08x}"
        self.client_secret = f"SBX-{rng.getrandbits(128):032x}"
        self.ru_name = f"Sandbox-Orderly-{rng.getrandbits(24):06x}"
        self.seller = f"sandbox_seller_{rng.randrange(1000)}"
        self.currency, self.marketplace = currency, marketplace
        self.token_lifetime = token_lifetime
        self._auth_codes: set[str] = set()
        self._tokens: dict[str, float] = {}  # access token -> expiry (sandbox time)
        self._refresh_tokens: set[str] = set()
        self.refresh_token = self._new_refresh_token()
        self.access_token = self._issue()
        self.tokens_issued = 1
        self._ids = itertools.count(rng.randrange(10**5, 10**6))
        self._listings: dict[str, Listing] = {}  # by SKU
        self._orders: dict[str, _Order] = {}
        self._shipped: list[dict[str, Any]] = []
        self._bulk_calls: list[dict[str, Any]] = []
        self._faults = Faults()
        self._fault_rng = random.Random(0)
        self._bucket = Bucket(burst, rate, tokens=burst)
        self.calls: dict[str, int] = {}
        # Marketplace Account Deletion: eBay's signing key, and where notifications go.
        self.verification_token = f"sandbox-verification-token-{rng.getrandbits(64):016x}"
        self.key_id = f"{rng.getrandbits(128):032x}"
        self._key = ec.derive_private_key(rng.randrange(1, 2**200), ec.SECP256R1())
        self.webhook_url = webhook_url
        self.duplicate_webhooks = False
        self._sender = WebhookSender(attempts=3, retry_delay=0.2, timeout=5.0)

    # --- the clock --------------------------------------------------------------------------------

    def now(self) -> datetime:
        return datetime.fromtimestamp(time.time() + self._clock_offset, UTC)

    def advance(self, seconds: float) -> None:
        """Move the sandbox's clock on (token expiry, modification times) without waiting."""
        with self._lock:
            self._clock_offset += seconds

    def _number(self) -> int:
        return next(self._ids)

    # --- tokens -----------------------------------------------------------------------------------

    def _new_refresh_token(self) -> str:
        token = "v^1.1#i^1#r^1#" + secrets.token_urlsafe(32)
        self._refresh_tokens.add(token)
        return token

    def _issue(self) -> str:
        access = "v^1.1#i^1#p^3#" + secrets.token_urlsafe(48)
        self._tokens[access] = self.now().timestamp() + self.token_lifetime
        return access

    def expire_tokens(self) -> None:
        """Every access token issued so far expires now."""
        with self._lock:
            self._tokens = dict.fromkeys(self._tokens, 0.0)

    def authorization_code(self) -> str:
        """What eBay's consent page gives the seller: good once (and URL-encoded in the redirect)."""
        with self._lock:
            code = "v^1.1#i^1#f^0#I^3#r^1#" + secrets.token_urlsafe(24)
            self._auth_codes.add(code)
            return code

    def api_token(self, authorization: str | None, form: Mapping[str, str]) -> Response:
        """``POST /identity/v1/oauth2/token``: Basic auth of the app's keyset; the authorization code
        grant (with the RuName as ``redirect_uri``) or the refresh token grant, which keeps the refresh
        token."""
        wanted = base64.b64encode(f"{self.client_id}:{self.client_secret}".encode()).decode()
        if authorization != f"Basic {wanted}":
            return 401, {"error": "invalid_client", "error_description": "client authentication failed"}
        with self._lock:
            grant = form.get("grant_type")
            self.calls["token"] = self.calls.get("token", 0) + 1
            if grant == "authorization_code":
                code = form.get("code", "")
                if code not in self._auth_codes or form.get("redirect_uri") != self.ru_name:
                    description = (
                        "the provided authorization grant code is invalid or was issued to another client"
                    )
                    return 400, {"error": "invalid_grant", "error_description": description}
                self._auth_codes.discard(code)
                self.refresh_token = self._new_refresh_token()
                self.access_token = self._issue()
                self.tokens_issued += 1
                return 200, {
                    "access_token": self.access_token,
                    "expires_in": self.token_lifetime,
                    "refresh_token": self.refresh_token,
                    "refresh_token_expires_in": 47304000,
                    "token_type": "User Access Token",
                }
            if grant == "refresh_token":
                if form.get("refresh_token") not in self._refresh_tokens:
                    description = (
                        "the provided authorization refresh token is invalid or was issued to another client"
                    )
                    return 400, {"error": "invalid_grant", "error_description": description}
                self.access_token = self._issue()
                self.tokens_issued += 1
                return 200, {
                    "access_token": self.access_token,
                    "expires_in": self.token_lifetime,
                    "token_type": "User Access Token",
                }
            return 400, {
                "error": "unsupported_grant_type",
                "error_description": "grant type in request is not supported",
            }

    # --- the gate every API call passes --------------------------------------------------------------

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
            size = burst if burst is not None else self._bucket.size
            self._bucket = Bucket(size, rate if rate is not None else self._bucket.per_second, size)

    def check(self, operation: str, authorization: str | None) -> Response | None:
        """The refusal of a call, or None to answer it: the bearer token, then the rate limit."""
        with self._lock:
            self.calls[operation] = self.calls.get(operation, 0) + 1
            token = (authorization or "").removeprefix("Bearer ")
            expiry = self._tokens.get(token)
            if not authorization or not authorization.startswith("Bearer ") or expiry is None:
                return INVALID_TOKEN
            if expiry <= self.now().timestamp():
                return INVALID_TOKEN
            if not self._bucket.take():
                return THROTTLED
        return None

    # --- listings and stock ---------------------------------------------------------------------------

    def add_listing(
        self, sku: str, *, price: str = "19.99", quantity: int = 0, title: str | None = None
    ) -> Listing:
        """An Inventory API listing: the SKU's inventory item and its published offer."""
        with self._lock:
            if sku in self._listings:
                raise SandboxError(f"SKU {sku!r} is listed")
            listing = Listing(
                item_id=str(110_550_000_000 + self._number()),
                sku=sku,
                offer_id=str(5_005_000_000 + self._number()),
                price=price,
                title=title or sku,
                quantity=quantity,
                offer_quantity=quantity,
            )
            self._listings[sku] = listing
            return replace(listing)

    def listing(self, sku: str) -> Listing:
        with self._lock:
            if sku not in self._listings:
                raise KeyError(f"no SKU {sku!r}")
            return replace(self._listings[sku])

    def quantity(self, sku: str) -> int:
        return self.listing(sku).quantity

    def quantities(self) -> dict[str, int]:
        with self._lock:
            return {sku: listing.quantity for sku, listing in self._listings.items()}

    def bulk_calls(self) -> list[dict[str, Any]]:
        """Every bulk update the sandbox answered, in order: its SKUs and overall status."""
        with self._lock:
            return [dict(call) for call in self._bulk_calls]

    def api_bulk_update(self, body: Any) -> Response:
        """``bulkUpdatePriceQuantity``: a status per SKU (and offer) in ``responses``; 200 when all
        succeeded, 207 when some did not (CONTRACT.md section 5)."""
        requests = body.get("requests") if isinstance(body, dict) else None
        if not isinstance(requests, list) or not requests:
            return error(400, 25709, "Invalid value for requests.", domain="API_INVENTORY")
        if len(requests) > MAX_BULK:  # UNCONFIRMED: the error id
            return error(400, 25709, f"Only {MAX_BULK} requests are allowed.", domain="API_INVENTORY")
        responses = []
        with self._lock:
            for request in requests:
                responses += self._update_one(request)
            worst = 200 if all(r["statusCode"] == 200 for r in responses) else 207
            skus = [r.get("sku") for r in requests if isinstance(r, dict)]
            self._bulk_calls.append({"skus": skus, "status": worst})
        return worst, {"responses": responses}

    def _update_one(self, request: Any) -> list[dict[str, Any]]:
        sku = request.get("sku") if isinstance(request, dict) else None
        listing = self._listings.get(str(sku))
        if listing is None:
            # 25710 is eBay's live "not found" (third-party reports).
            message = "We didn't find the entity you are requesting. Please verify the request"
            return [_response(404, sku, None, [_error(25710, message, "API_INVENTORY")])]
        if sku in self._faults.failing_skus:
            return [
                _response(
                    500,
                    sku,
                    None,
                    [_error(25001, "A system error has occurred.", "API_INVENTORY", "APPLICATION")],
                )
            ]
        availability = request.get("shipToLocationAvailability")
        quantity = availability.get("quantity") if isinstance(availability, dict) else None
        if availability is not None and not _count(quantity):
            return [_response(400, sku, None, [_error(25604, "Invalid quantity.", "API_INVENTORY")])]
        offers = request.get("offers") or []
        answers, changes = [], []
        for each in offers if isinstance(offers, list) else []:
            offer = each if isinstance(each, dict) else {}
            offer_id, available = offer.get("offerId"), offer.get("availableQuantity")
            if offer_id != listing.offer_id:
                message = "We didn't find the entity you are requesting. Please verify the request"
                answers.append(_response(404, sku, offer_id, [_error(25713, message, "API_INVENTORY")]))
            elif available is not None and not _count(available):
                answers.append(
                    _response(400, sku, offer_id, [_error(25604, "Invalid quantity.", "API_INVENTORY")])
                )
            else:
                answers.append(_response(200, sku, offer_id, []))
                if available is not None:
                    changes.append(available)
        if _count(quantity):
            listing.quantity = listing.offer_quantity = quantity
        for available in changes:
            listing.offer_quantity = available
        return answers or [_response(200, sku, None, [])]

    # --- orders ---------------------------------------------------------------------------------------

    def place_order(
        self,
        lines: Sequence[Line | Mapping[str, Any]] | Mapping[str, Any],
        *,
        paid: bool = True,
        notes: str | None = None,
        managed_shipping: bool = False,
        buyer: int | None = None,
        shipping: str = "5.00",
    ) -> dict[str, Any]:
        """A buyer's checkout: NOT_STARTED, PAID (PENDING when not ``paid``), the listings' quantities
        taken. ``lines`` may also be Shopify's sandbox form, ``{"lines": [{"sku", "quantity"}]}``."""
        if isinstance(lines, Mapping):
            lines = list(lines["lines"])
        with self._lock:
            n = buyer if buyer is not None else len(self._orders) + 1
            number = self._number()
            order_id = f"{n % 100:02d}-{number:05d}-{self._rng.randrange(10**5):05d}"
            created = stamp(self.now())
            items, subtotal, discounts = [], Decimal(0), Decimal(0)
            for index, raw in enumerate(lines):
                line = raw if isinstance(raw, Line) else Line(**raw)
                listing = self._listings.get(line.sku)
                if listing is None:
                    raise SandboxError(f"no listing for SKU {line.sku!r}")
                cost = Decimal(line.price or listing.price) * line.quantity
                discount = Decimal(line.discount)
                subtotal += cost
                discounts += discount
                promotions = (
                    [
                        {
                            "discountAmount": self._money(discount),
                            "promotionId": f"PROMO-{index}",
                            "description": "Sale",
                        }
                    ]
                    if discount
                    else []
                )
                items.append(
                    {
                        "lineItemId": str(10_000_000_000_000 + self._number()),
                        "legacyItemId": listing.item_id,
                        "sku": listing.sku,
                        "title": listing.title,
                        "lineItemCost": self._money(cost),
                        "quantity": line.quantity,
                        "soldFormat": "FIXED_PRICE",
                        "listingMarketplaceId": self.marketplace,
                        "purchaseMarketplaceId": self.marketplace,
                        "lineItemFulfillmentStatus": "NOT_STARTED",
                        "total": self._money(cost - discount),
                        "deliveryCost": {"shippingCost": self._money(Decimal(0))},
                        "appliedPromotions": promotions,
                        "taxes": [],
                        "ebayCollectAndRemitTaxes": [],
                        "properties": {"buyerProtection": True},
                    }
                )
                listing.quantity = max(0, listing.quantity - line.quantity)
                listing.offer_quantity = max(0, listing.offer_quantity - line.quantity)
            delivery = Decimal(shipping)
            total = subtotal - discounts + delivery
            person = {
                "fullName": f"Buyer {n}",
                "contactAddress": {
                    "addressLine1": f"{n} Market St",
                    "addressLine2": "Apt 2",
                    "city": "San Jose",
                    "stateOrProvince": "CA",
                    "postalCode": "95125",
                    "countryCode": "US",
                },
                "primaryPhone": {"phoneNumber": f"408555{n % 10000:04d}"},
                "email": f"buyer{n}@members.ebay.com",
            }
            body: dict[str, Any] = {
                "orderId": order_id,
                "legacyOrderId": f"{110_550_000_000 + number}-{2_000_000_000_000 + number}",
                "creationDate": created,
                "lastModifiedDate": created,
                "orderFulfillmentStatus": "NOT_STARTED",
                "orderPaymentStatus": "PAID" if paid else "PENDING",
                "sellerId": self.seller,
                "buyer": {
                    "username": f"buyer_{n}",
                    "taxAddress": {"stateOrProvince": "CA", "postalCode": "95125", "countryCode": "US"},
                    "buyerRegistrationAddress": person,
                },
                "pricingSummary": {
                    "priceSubtotal": self._money(subtotal),
                    **({"priceDiscount": self._money(-discounts)} if discounts else {}),
                    "deliveryCost": self._money(delivery),
                    "total": self._money(total),
                },
                "cancelStatus": {"cancelState": "NONE_REQUESTED", "cancelRequests": []},
                "paymentSummary": {
                    "totalDueSeller": self._money(total),
                    "refunds": [],
                    "payments": [
                        {
                            "paymentMethod": "EBAY",
                            "paymentReferenceId": secrets.token_hex(8).upper(),
                            "paymentDate": created,
                            "amount": self._money(total),
                            "paymentStatus": "PAID" if paid else "PENDING",
                        }
                    ],
                },
                "fulfillmentStartInstructions": [
                    {
                        "fulfillmentInstructionsType": "SHIP_TO",
                        "ebaySupportedFulfillment": managed_shipping,
                        "shippingStep": {
                            "shipTo": {
                                **person,
                                # eBay's hub, for a parcel eBay's programmes carry on to the buyer.
                                **({"fullName": "eBay Global Shipping Center"} if managed_shipping else {}),
                            },
                            "shippingCarrierCode": "USPS",
                            "shippingServiceCode": "USPSPriority",
                        },
                    }
                ],
                "fulfillmentHrefs": [],
                "lineItems": items,
                "ebayCollectAndRemitTax": False,
                "salesRecordReference": str(number),
                "totalFeeBasisAmount": self._money(total),
                "totalMarketplaceFee": self._money((total * Decimal("0.13")).quantize(Decimal("0.01"))),
            }
            if notes:
                body["buyerCheckoutNotes"] = notes
            self._orders[order_id] = _Order(body)
            return _copy(body)

    def _money(self, amount: Decimal) -> dict[str, str]:
        return {"value": format(amount.quantize(Decimal("0.01")), "f"), "currency": self.currency}

    def _order(self, order_id: str) -> _Order:
        if order_id not in self._orders:
            raise KeyError(f"no order {order_id}")
        return self._orders[order_id]

    def _touch(self, order: _Order) -> None:
        """A change: the order's lastModifiedDate moves on, at least a millisecond."""
        last = parse_time(order.body["lastModifiedDate"])
        now = self.now()
        if last is not None and now <= last:
            now = datetime.fromtimestamp(last.timestamp() + 0.001, UTC)
        order.body["lastModifiedDate"] = stamp(now)

    def order(self, order_id: str) -> dict[str, Any]:
        """The order as getOrder shows it (cancel requests included)."""
        with self._lock:
            return self._shown(self._order(order_id), detail=True)

    def _shown(self, order: _Order, *, detail: bool) -> dict[str, Any]:
        shown = _copy(order.body)
        # getOrders always shows cancelRequests empty; getOrder fills it (CONTRACT.md section 2).
        shown["cancelStatus"]["cancelRequests"] = _copy(order.cancel_requests) if detail else []
        return shown

    def pay(self, order_id: str) -> None:
        with self._lock:
            order = self._order(order_id)
            order.body["orderPaymentStatus"] = "PAID"
            for payment in order.body["paymentSummary"]["payments"]:
                payment["paymentStatus"] = "PAID"
            self._touch(order)

    def request_cancel(self, order_id: str, *, reason: str = "BUYER_ASKED_CANCEL") -> None:
        with self._lock:
            order = self._order(order_id)
            if order.body["orderFulfillmentStatus"] != "NOT_STARTED":
                raise SandboxError(f"order {order_id} has shipped")
            order.body["cancelStatus"]["cancelState"] = "IN_PROGRESS"
            order.cancel_requests.append(
                {
                    "cancelRequestId": str(5_000_000_000 + self._number()),
                    "cancelRequestState": "REQUESTED",
                    "cancelInitiator": "BUYER",
                    "cancelReason": reason,
                    "cancelRequestedDate": stamp(self.now()),
                }
            )
            self._touch(order)

    def cancel(self, order_id: str) -> None:
        """The seller (or eBay) cancels: the buyer refunded, the units back on the listings."""
        with self._lock:
            order = self._order(order_id)
            if order.body["orderFulfillmentStatus"] != "NOT_STARTED":
                raise SandboxError(f"order {order_id} has shipped")
            if order.body["cancelStatus"]["cancelState"] == "CANCELED":
                return
            order.body["cancelStatus"]["cancelState"] = "CANCELED"
            for request in order.cancel_requests:
                request["cancelRequestState"] = "COMPLETED"
            if order.body["orderPaymentStatus"] == "PAID":
                order.body["orderPaymentStatus"] = "FULLY_REFUNDED"
                order.body["paymentSummary"]["refunds"].append(
                    {
                        "refundId": str(self._number()),
                        "refundStatus": "REFUNDED",
                        "amount": order.body["pricingSummary"]["total"],
                    }
                )
            for item in order.body["lineItems"]:
                listing = self._listings.get(item.get("sku", ""))
                if listing is not None:
                    listing.quantity += item["quantity"]
                    listing.offer_quantity += item["quantity"]
            self._touch(order)

    def ship_outside(
        self, order_id: str, *, tracking: str = "9400100000000000000000", carrier: str = "USPS"
    ) -> str:
        """The seller marked the whole order shipped in Seller Hub, not through the hub."""
        with self._lock:
            order = self._order(order_id)
            left = [
                (i["lineItemId"], i["quantity"] - self._shipped_units(order, i))
                for i in order.body["lineItems"]
            ]
            lines = [{"lineItemId": item, "quantity": units} for item, units in left]
            body = {"lineItems": [x for x in lines if x["quantity"] > 0], "shippingCarrierCode": carrier,
                    "trackingNumber": tracking, "shippedDate": stamp(self.now())}  # fmt: skip
            status, answer, headers = self.api_create_fulfillment(order_id, body, record=False)
            if status != 201:
                raise SandboxError(f"order {order_id} cannot ship: {answer}")
            return headers["Location"].rsplit("/", 1)[-1]

    def api_get_orders(self, query: Mapping[str, str]) -> Response:
        """``GET /order``: ``orderIds`` (up to 50), else ``filter`` (creationdate, lastmodifieddate,
        orderfulfillmentstatus), ``limit`` 1-200 (default 50), ``offset``; ``href``/``next``/``prev``
        pages. UNCONFIRMED: the order of the results (newest created first here)."""
        try:
            limit = int(query.get("limit", "50"))
            offset = int(query.get("offset", "0"))
        except ValueError:
            return error(400, 30800, "Invalid limit or offset.")  # UNCONFIRMED: the contract names no ids
        if not 1 <= limit <= MAX_LIMIT or offset < 0:
            return error(400, 30800, f"The limit must be 1 to {MAX_LIMIT} and the offset not negative.")
        with self._lock:
            if query.get("orderIds"):
                ids = [i for i in query["orderIds"].split(",") if i]
                if len(ids) > MAX_ORDER_IDS:
                    return error(
                        400, 30900, f"Exceeded maximum number of order IDs (the maximum is {MAX_ORDER_IDS})."
                    )
                found = [self._orders[i] for i in ids if i in self._orders]
            else:
                test = _filter(query.get("filter", ""))
                if isinstance(test, tuple):
                    return test
                found = [o for o in self._orders.values() if test(o.body)]
                found.sort(key=lambda o: (o.body["creationDate"], o.body["orderId"]), reverse=True)
            page = found[offset : offset + limit]
            base = f"{ORDERS_PATH}?limit={limit}"
            if query.get("filter"):
                base += "&filter=" + quote(query["filter"], safe="")
            answer: dict[str, Any] = {
                "href": f"https://api.ebay.com{base}&offset={offset}",
                "total": len(found),
                "limit": limit,
                "offset": offset,
                "orders": [self._shown(order, detail=False) for order in page],
            }
            if offset + limit < len(found):
                answer["next"] = f"https://api.ebay.com{base}&offset={offset + limit}"
            if offset:
                answer["prev"] = f"https://api.ebay.com{base}&offset={max(0, offset - limit)}"
            return 200, answer

    def api_get_order(self, order_id: str) -> Response:
        with self._lock:
            if order_id not in self._orders:
                return error(404, 32100, "Invalid Order Id")  # UNCONFIRMED: getOrder's own answer
            return 200, self._shown(self._orders[order_id], detail=True)

    # --- shipping fulfillments ------------------------------------------------------------------------

    def _shipped_units(self, order: _Order, item: Mapping[str, Any]) -> int:
        return sum(
            line["quantity"]
            for fulfillment in order.fulfillments
            for line in fulfillment["lineItems"]
            if line["lineItemId"] == item["lineItemId"]
        )

    def api_get_fulfillments(self, order_id: str) -> Response:
        with self._lock:
            if order_id not in self._orders:
                return error(404, 32100, "Invalid Order Id")
            found = _copy(self._orders[order_id].fulfillments)
            return 200, {"fulfillments": found, "total": len(found), "warnings": []}

    def api_get_fulfillment(self, order_id: str, fulfillment_id: str) -> Response:
        with self._lock:
            order = self._orders.get(order_id)
            found = (
                next((f for f in order.fulfillments if f["fulfillmentId"] == fulfillment_id), None)
                if order
                else None
            )
            if found is None:
                return error(404, 32800, "Invalid shipping fulfillment ID")  # UNCONFIRMED id
            return 200, _copy(found)

    def api_create_fulfillment(
        self, order_id: str, body: Any, *, record: bool = True
    ) -> tuple[int, Any, dict[str, str]]:
        """``createShippingFulfillment``: 201 with the new fulfillment in ``Location``, or eBay's
        400s (CONTRACT.md section 4)."""
        no_headers: dict[str, str] = {}
        with self._lock:
            order = self._orders.get(order_id)
            if order is None:
                return (*error(400, 32100, "Invalid order id."), no_headers)
            if (
                not isinstance(body, dict)
                or not isinstance(body.get("lineItems"), list)
                or not body["lineItems"]
            ):
                return (*error(400, 32200, "Invalid line item."), no_headers)
            if order.body["cancelStatus"]["cancelState"] == "CANCELED":
                return (*error(400, 32400, "The order is cancelled."), no_headers)  # UNCONFIRMED id
            items = {i["lineItemId"]: i for i in order.body["lineItems"]}
            seen: set[str] = set()
            for line in body["lineItems"]:
                item_id = line.get("lineItemId") if isinstance(line, dict) else None
                quantity = line.get("quantity", 1) if isinstance(line, dict) else None
                if item_id not in items or not _count(quantity) or quantity < 1:
                    return (*error(400, 32200, "Invalid line item."), no_headers)
                if item_id in seen:
                    return (*error(400, 32210, "Duplicate line item."), no_headers)
                seen.add(str(item_id))
            number, carrier = body.get("trackingNumber"), body.get("shippingCarrierCode")
            if (number is None) != (carrier is None) or (carrier is not None and carrier not in CARRIERS):
                return (*error(400, 32300, "Invalid tracking number or carrier."), no_headers)
            if number is not None and (
                not isinstance(number, str) or not number.isalnum() or len(number) > 40
            ):
                return (*error(400, 32300, "Invalid tracking number or carrier."), no_headers)
            shipped = body.get("shippedDate") or stamp(self.now())
            if not isinstance(shipped, str) or parse_time(shipped) is None:
                return (*error(400, 32500, "Invalid shipped date."), no_headers)
            for line in body["lineItems"]:
                tracked = sum(
                    1
                    for f in order.fulfillments
                    for x in f["lineItems"]
                    if x["lineItemId"] == line["lineItemId"]
                )
                if tracked >= 10:  # UNCONFIRMED: the maximum
                    return (*error(400, 34100, "Maximum number of tracking numbers exceeded."), no_headers)
            fulfillment_id = str(9_405_509_699_937_000_000_000 + self._number())
            made = {
                "fulfillmentId": fulfillment_id,
                "shippedDate": shipped,
                "lineItems": [
                    {"lineItemId": x["lineItemId"], "quantity": x.get("quantity", 1)}
                    for x in body["lineItems"]
                ],
                **({"shipmentTrackingNumber": number, "shippingCarrierCode": carrier} if number else {}),
            }
            order.fulfillments.append(made)
            href = f"https://api.ebay.com{ORDERS_PATH}/{order_id}/shipping_fulfillment/{fulfillment_id}"
            order.body["fulfillmentHrefs"].append(href)
            for item in order.body["lineItems"]:
                left = item["quantity"] - self._shipped_units(order, item)
                item["lineItemFulfillmentStatus"] = "FULFILLED" if left <= 0 else (
                    "IN_PROGRESS" if left < item["quantity"] else "NOT_STARTED")  # fmt: skip
            statuses = {i["lineItemFulfillmentStatus"] for i in order.body["lineItems"]}
            order.body["orderFulfillmentStatus"] = "FULFILLED" if statuses == {"FULFILLED"} else "IN_PROGRESS"
            self._touch(order)
            if record:
                self._shipped.append({"order_id": order_id, **_copy(made), "body": _copy(body)})
            return 201, {}, {"Location": href}

    def shipped(self) -> list[dict[str, Any]]:
        """Every fulfillment a client created, in order."""
        with self._lock:
            return [dict(entry) for entry in self._shipped]

    # --- Marketplace Account Deletion ---------------------------------------------------------------

    @property
    def public_key(self) -> str:
        """The signing key as eBay's getPublicKey gives it: the PEM on one line."""
        pem = self._key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return "".join(pem.decode().splitlines())

    def api_public_key(self, key_id: str) -> Response:
        """``GET /commerce/notification/v1/public_key/{public_key_id}``."""
        if key_id != self.key_id:
            return error(404, 195001, "The public key was not found.", domain="API_NOTIFICATION")
        return 200, {"algorithm": "ECDSA", "digest": "SHA1", "key": self.public_key}

    def signature(self, body: bytes) -> str:
        """``X-EBAY-SIGNATURE``: base64 of the ECDSA (SHA-1) signature's envelope."""
        # SHA-1 because eBay signs with it (its notification SDKs); this only imitates eBay.
        signed = base64.b64encode(self._key.sign(body, ec.ECDSA(hashes.SHA1()))).decode()  # noqa: S303
        envelope = {"alg": "ecdsa", "kid": self.key_id, "signature": signed, "digest": "SHA1"}
        return base64.b64encode(json.dumps(envelope).encode()).decode()

    def validate_endpoint(self, url: str) -> bool:
        """What eBay does before it sends any notification: GET the endpoint with a challenge code and
        check the answer (SHA-256 of code + verification token + endpoint)."""
        code = secrets.token_hex(16)
        response = httpx.get(url, params={"challenge_code": code}, timeout=5.0)
        wanted = hashlib.sha256((code + self.verification_token + url).encode()).hexdigest()
        return response.status_code == 200 and response.json().get("challengeResponse") == wanted

    def delete_account(self, username: str, user_id: str | None = None) -> dict[str, Any]:
        """An eBay user asks to be forgotten: a signed notification to ``webhook_url``."""
        now = stamp(self.now())
        notification: dict[str, Any] = {
            "metadata": {"topic": NOTIFICATION_TOPIC, "schemaVersion": "1.0", "deprecated": False},
            "notification": {
                "notificationId": f"{secrets.token_hex(16)}_{self._number()}",
                "eventDate": now,
                "publishDate": now,
                "publishAttemptCount": 1,
                "data": {
                    "username": username,
                    "userId": user_id or secrets.token_urlsafe(8),
                    "eiasToken": secrets.token_urlsafe(24),
                },
            },
        }
        if self.webhook_url:
            body = json.dumps(notification, separators=(",", ":")).encode()
            delivery = Delivery(
                url=self.webhook_url,
                webhook_id=notification["notification"]["notificationId"],
                topic=NOTIFICATION_TOPIC,
                order_id=0,
                body=body,
                headers={"Content-Type": "application/json", "X-EBAY-SIGNATURE": self.signature(body)},
            )
            self._sender.submit(delivery)
            if self.duplicate_webhooks:
                self._sender.submit(replace(delivery, duplicate=True))
        return notification

    def deliveries(self) -> list[dict[str, Any]]:
        return self._sender.log()

    def wait_for_webhooks(self, timeout: float = 10.0) -> bool:
        return self._sender.wait(timeout)

    def close(self) -> None:
        self._sender.close()


def _response(status: int, sku: Any, offer_id: Any, errors: list[dict[str, Any]]) -> dict[str, Any]:
    answer: dict[str, Any] = {"statusCode": status, "sku": sku}
    if offer_id is not None:
        answer["offerId"] = offer_id
    if errors:
        answer["errors"] = errors
    return answer


def _count(value: Any) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 10**7


def _filter(text: str) -> Any:
    """A test over orders for getOrders' ``filter``, or the 400 answer to a malformed one."""
    tests: list[Callable[[Mapping[str, Any]], bool]] = []
    ranges: dict[str, Any] = {}
    for part in _split(text):
        name, _, value = part.partition(":")
        name = name.strip().lower()
        if name in ("creationdate", "lastmodifieddate"):
            if not (value.startswith("[") and value.endswith("]") and ".." in value):
                return error(400, 30810, "Invalid date format.")
            low_text, _, high_text = value[1:-1].partition("..")
            low = parse_time(low_text) if low_text else None
            high = parse_time(high_text) if high_text else None
            if low is None or (high_text and high is None):
                return error(400, 30810, "Invalid date format.")
            ranges[name] = (low, high)
        elif name == "orderfulfillmentstatus":
            wanted = set(value.strip("{}").split("|"))
            if wanted not in ({"NOT_STARTED", "IN_PROGRESS"}, {"FULFILLED", "IN_PROGRESS"}):
                return error(400, 30820, "Invalid order fulfillment status filter.")  # UNCONFIRMED id
            tests.append(_status_in(wanted))
        elif name:
            return error(400, 30700, f"Invalid filter name {name!r}.")  # UNCONFIRMED id
    # With both, only creationdate counts (CONTRACT.md section 2).
    field_name = "creationdate" if "creationdate" in ranges else "lastmodifieddate"
    if field_name in ranges:
        low, high = ranges[field_name]
        key = "creationDate" if field_name == "creationdate" else "lastModifiedDate"

        def within(order: Mapping[str, Any]) -> bool:
            moment = parse_time(order[key])
            return moment is not None and moment >= low and (high is None or moment <= high)

        tests.append(within)
    return lambda order: all(test(order) for test in tests)


def _status_in(wanted: set[str]) -> Callable[[Mapping[str, Any]], bool]:
    return lambda order: order["orderFulfillmentStatus"] in wanted


def _split(text: str) -> list[str]:
    """The filter's criteria: commas outside brackets and braces."""
    parts, depth, current = [], 0, ""
    for char in text:
        depth += char in "[{"
        depth -= char in "]}"
        if char == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    return [*parts, current] if current else parts


_T = TypeVar("_T")


def _copy(value: _T) -> _T:
    copied: _T = json.loads(json.dumps(value))
    return copied
