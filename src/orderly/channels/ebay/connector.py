"""The eBay connector (Sell APIs): orders by Fulfillment ``getOrders`` (incremental on
``lastmodifieddate``, ``limit``/``offset`` paging), stock by Inventory ``bulk_update_price_quantity``
(25 SKUs a call), tracking by ``createShippingFulfillment`` (one per parcel), Marketplace Account
Deletion notifications by webhook; HTTP and tokens in ``client.py``, payloads mapped by ``mapper.py``,
deliveries in ``webhooks.py``.

Credentials: ``client_id`` and ``client_secret`` (the app's keyset), ``ru_name`` (the app's redirect URL
name, for ``orderly shop authorize``), ``refresh_token`` and ``access_token`` (the seller's
authorisation; ``access_token_expires_at``, Unix seconds, when known) and ``verification_token`` (the
one given to eBay with the notification endpoint). Refreshed tokens are stored back sealed like the
others. Settings: ``page_size`` (orders per page, 1 to 200), ``carrier_codes`` (our carrier names to
eBay's ``shippingCarrierCode``, over the built-in ones), ``notification_keys`` and
``notification_endpoint`` (see ``webhooks.py``).

A listing is an eBay item (``legacyItemId``, what order lines carry); its stock is set by the inventory
SKU on the mapping (``platform_sku``) and, when the mapping names one, on that offer (``offer_id``).
Listings made outside the Inventory API (Trading API, Seller Hub) take no stock from here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, ClassVar
from urllib.parse import parse_qs, quote, urlsplit

import httpx
from pydantic import BaseModel, ConfigDict, Field

from orderly.channels.connector import (
    AuthFailed,
    ChannelError,
    Connector,
    OrderPage,
    Parcel,
    PushResult,
    RateLimit,
    RawOrder,
    Rejected,
    ShopConnection,
    StockPush,
    WebhookEvent,
    WriteBack,
)
from orderly.channels.domain import carrier_key
from orderly.channels.ebay import mapper, webhooks
from orderly.channels.ebay.client import SellApi, describe, errors_of
from orderly.channels.schemas import Address
from orderly.core.text import StorableStr

ORDERS = "/sell/fulfillment/v1/order"
BULK_UPDATE = "/sell/inventory/v1/bulk_update_price_quantity"
MAX_PAGE_SIZE = 200
OFFER = "offer_id"


class EbaySettings(BaseModel):
    """What an eBay shop's settings may hold beyond the engine's own."""

    model_config = ConfigDict(extra="forbid")

    page_size: int = Field(default=MAX_PAGE_SIZE, ge=1, le=MAX_PAGE_SIZE, description="orders per page")
    carrier_codes: dict[StorableStr, StorableStr] = Field(
        default_factory=dict,
        max_length=200,
        description="our carrier names to eBay shippingCarrierCode values (over the built-in ones)",
    )
    notification_keys: dict[StorableStr, StorableStr] = Field(
        default_factory=dict,
        max_length=20,
        description="eBay's notification public keys by key id (PEM, as getPublicKey gives them)",
    )
    notification_endpoint: Address | None = Field(
        default=None, description="the notification endpoint exactly as registered with eBay"
    )


class EbayConnector(Connector):
    channel = "ebay"
    # UNCONFIRMED (CONTRACT.md section 6): eBay limits calls per day and API (third-party figures:
    # Fulfillment 100,000, Inventory 2,000,000 a day); paced here so a day's polls and pushes stay well
    # inside them, with room for a burst.
    rate_limits: ClassVar[Mapping[str, RateLimit]] = {
        "orders": RateLimit(1.0, 50),
        "stock": RateLimit(5.0, 50),
        "shipments": RateLimit(1.0, 20),
        "token": RateLimit(0.2, 5),
    }
    max_push_batch = 25  # bulkUpdatePriceQuantity's limit
    webhooks = True
    webhook_credential = "verification_token"
    writes_back = True
    settings_model = EbaySettings
    listing_ids = {OFFER: "the eBay offer whose available quantity is set with the SKU's (optional)"}
    credential_fields = {
        "client_id": "the app's client id (App ID)",
        "client_secret": "the app's client secret (Cert ID)",
        "ru_name": "the app's RuName (redirect URL name), to authorise the seller",
        "refresh_token": "the seller's refresh token (or leave empty and run orderly shop authorize)",
        "verification_token": "the verification token given to eBay with the notification endpoint",
    }

    def __init__(self, connection: ShopConnection, http: httpx.Client) -> None:
        super().__init__(connection, http)
        self.api = (
            SellApi(
                http,
                credentials=connection.credentials,
                # Looked up at each call: the engine sets these hooks after construction.
                pace=lambda operation: self.pace(operation),  # noqa: PLW0108
                keep=lambda credentials: self.keep_credentials(credentials),  # noqa: PLW0108
            )
            if connection.credentials
            else None
        )

    def _api(self) -> SellApi:
        if self.api is None:
            raise AuthFailed("the shop has no eBay credentials")
        return self.api

    # --- orders ---------------------------------------------------------------------------------------

    def fetch_orders(
        self, updated_after: datetime, updated_before: datetime, cursor: str | None
    ) -> OrderPage:
        """Orders modified in [after, before). eBay's range takes both ends inclusive, to the
        millisecond: [after, before) is kept exactly here. The same filter goes with every page.

        ``cursor`` is ``offset:total``: the offset eBay's ``next`` names, and the window's total when
        it was read. An order modified again while the pages are read leaves the window (its new
        modification is after its end), and the orders after it move up: when the total falls by
        ``n``, up to ``n`` orders moved into pages already read, so the next page starts ``n`` places
        before this one (what is read twice is one inbox entry)."""
        size = max(1, min(MAX_PAGE_SIZE, int(self.connection.settings.get("page_size", MAX_PAGE_SIZE))))
        offset, seen = _cursor(cursor)
        window = f"lastmodifieddate:[{mapper.stamp(updated_after)}..{mapper.stamp(updated_before)}]"
        params = {"filter": window, "limit": size, "offset": offset}
        body = self._api().call("orders", "GET", ORDERS, params=params).body
        orders = _orders(body)
        kept = [
            order
            for order in orders
            if updated_after
            <= mapper.instant(order.get("lastModifiedDate"), "lastModifiedDate")
            < updated_before
        ]
        total = body.get("total")
        following = _next_offset(body, offset)
        if isinstance(total, int) and seen is not None and total < seen:
            following = max(0, offset - (seen - total))
        cursor = None if following is None else f"{following}:{total if isinstance(total, int) else ''}"
        return OrderPage([self._raw(order) for order in kept], cursor)

    def fetch_order(self, external_id: str) -> RawOrder | None:
        if not _is_order_id(external_id):
            return None
        try:
            answer = self._api().call("orders", "GET", _order_path(external_id))
        except Rejected as exc:
            if exc.status == 404:
                return None
            raise
        if not isinstance(answer.body, dict):
            raise ChannelError(f"getOrder {external_id}: the answer is not an order")
        return self._raw(answer.body)

    def _raw(self, order: dict[str, Any]) -> RawOrder:
        """The order with its shipping fulfillments, when eBay says some of it left."""
        order_id = order.get("orderId")
        if not order_id:
            raise ChannelError("eBay sent an order without an orderId")
        try:
            version = mapper.version(order)
        except ValueError as exc:
            raise ChannelError(f"eBay order {order_id}: {exc}") from exc
        if mapper.needs_fulfillments(order):
            order = {**order, mapper.FULFILLMENTS: self._fulfillments(str(order_id))}
        return RawOrder(str(order_id), version, order)

    def _fulfillments(self, order_id: str) -> list[dict[str, Any]]:
        body = self._api().call("shipments", "GET", _order_path(order_id, "shipping_fulfillment")).body
        found = body.get("fulfillments", []) if isinstance(body, dict) else None
        if not isinstance(found, list):
            raise ChannelError(f"getShippingFulfillments {order_id}: the answer has no fulfillments list")
        return [f for f in found if isinstance(f, dict)]

    def map_order(self, raw: RawOrder) -> dict[str, Any]:
        return mapper.map_order(raw.body, self.connection.shop_code)

    # --- stock ----------------------------------------------------------------------------------------

    def push_stock(self, pushes: Sequence[StockPush]) -> list[PushResult]:
        """The SKUs' quantities in one bulk update. eBay answers 200 or 207 with a status per SKU (and
        offer): only a SKU whose every answer is 200 counts as pushed."""
        results: dict[str, PushResult] = {}
        requests, by_sku = [], {}
        for push in pushes:
            sku = push.platform_sku
            if not sku:
                error = "eBay stock is set by inventory SKU: the listing's mapping names no platform SKU"
                results[push.listing_id] = PushResult(push.listing_id, ok=False, error=error)
                continue
            quantity = max(0, push.quantity)  # an oversold SKU has nothing to offer
            request: dict[str, Any] = {"sku": sku, "shipToLocationAvailability": {"quantity": quantity}}
            offer = push.platform_ids.get(OFFER)
            if offer:
                request["offers"] = [{"offerId": offer, "availableQuantity": quantity}]
            requests.append(request)
            by_sku[sku] = push
        if requests:
            try:
                answer = self._api().call(
                    "stock", "POST", BULK_UPDATE, body={"requests": requests}, ok=(200, 207)
                )
            except Rejected as exc:
                for push in by_sku.values():
                    results[push.listing_id] = PushResult(push.listing_id, ok=False, error=str(exc))
            else:
                results |= _pushed(answer.body, by_sku)
        return [results[push.listing_id] for push in pushes]

    # --- tracking -------------------------------------------------------------------------------------

    def write_back(self, parcel: Parcel) -> WriteBack:
        """One shipping fulfillment for the parcel: its line items and units, carrier and tracking
        number. The order's fulfillments are read first, so a parcel eBay already took (an earlier try
        whose answer was lost) is never sent again; a changed tracking number is added as a new
        fulfillment of the same units (eBay keeps several per line item; there is no call to change
        one)."""
        order = self._order_for(parcel)
        items = _line_items(order, parcel)
        existing = self._fulfillments(parcel.external_id)
        found = _same_fulfillment(existing, parcel, items)
        if found is not None:
            held = tuple(dict.fromkeys((*parcel.accepted, found)))
            return WriteBack(held, f"eBay already has fulfillment {found} for this parcel")
        body: dict[str, Any] = {
            "lineItems": [{"lineItemId": item, "quantity": units} for item, units in items.items()],
            "shippedDate": mapper.stamp(parcel.shipped_at),
        }
        if parcel.tracking_number:
            body["trackingNumber"] = parcel.tracking_number
            body["shippingCarrierCode"] = self._carrier_code(parcel.carrier)
        self.acted = True
        path = _order_path(parcel.external_id, "shipping_fulfillment")
        answer = self._api().call("shipments", "POST", path, body=body, replayable=False, ok=(200, 201))
        made = answer.headers.get("Location", "").rstrip("/").rsplit("/", 1)[-1]
        if not made:
            raise ChannelError(f"eBay took the fulfillment of order {parcel.external_id} but named none")
        kept = (*parcel.accepted, made) if parcel.accepted else (made,)
        return WriteBack(tuple(kept), f"eBay fulfillment {made}")

    def _order_for(self, parcel: Parcel) -> dict[str, Any]:
        raw = self.fetch_order(parcel.external_id)
        if raw is None:
            raise Rejected(f"eBay has no order {parcel.external_id}")
        state = (raw.body.get("cancelStatus") or {}).get("cancelState")
        if state == mapper.CANCELED:
            raise Rejected(f"order {parcel.external_id} is cancelled on eBay")
        return raw.body

    def _carrier_code(self, carrier: str | None) -> str:
        if not carrier:
            return mapper.OTHER_CARRIER
        named = self.connection.settings.get("carrier_codes") or {}
        wanted = carrier_key(carrier)
        own = next((str(v) for k, v in named.items() if carrier_key(k) == wanted), None)
        return own or mapper.carrier_code(carrier)

    # --- authorisation -----------------------------------------------------------------------------

    def authorize(self, code: str) -> dict[str, str]:
        """The seller's tokens for the code eBay's consent page gave (the authorization code grant)."""
        return self._api().exchange_code(code)

    # --- webhooks -------------------------------------------------------------------------------------

    @classmethod
    def verify_delivery(
        cls,
        secret: str | None,
        headers: Mapping[str, str],
        body: bytes,
        *,
        url: str,
        settings: Mapping[str, Any],
    ) -> bool:
        keys = settings.get("notification_keys") or {}
        return webhooks.verify(headers, body, keys if isinstance(keys, Mapping) else {})

    @classmethod
    def verify_webhook(cls, secret: str | None, headers: Mapping[str, str], body: bytes) -> bool:
        return False  # eBay signs with keys the shop's settings hold: see verify_delivery

    @classmethod
    def answer_challenge(
        cls, secret: str | None, challenge: str, *, url: str, settings: Mapping[str, Any]
    ) -> dict[str, str]:
        if not secret:
            raise AuthFailed("the shop has no verification_token to answer eBay's challenge with")
        endpoint = str(settings.get("notification_endpoint") or url.split("?", 1)[0])
        return {"challengeResponse": webhooks.challenge_response(challenge, secret, endpoint)}

    @classmethod
    def parse_webhook(cls, headers: Mapping[str, str], body: bytes) -> WebhookEvent:
        return webhooks.parse(body)


def _orders(body: Any) -> list[dict[str, Any]]:
    if not isinstance(body, dict):
        raise ChannelError("getOrders: the answer is not an object")
    orders = body.get("orders", [])  # an empty page may leave the list out (UNCONFIRMED)
    if not isinstance(orders, list) or not all(isinstance(o, dict) for o in orders):
        raise ChannelError("getOrders: the answer has no list of orders")
    return orders


def _cursor(cursor: str | None) -> tuple[int, int | None]:
    """The offset and the window's total a cursor carries (0 and unknown for the first page)."""
    offset, _, total = (cursor or "").partition(":")
    return (int(offset) if offset.isdigit() else 0), (int(total) if total.isdigit() else None)


def _next_offset(body: Mapping[str, Any], offset: int) -> int | None:
    """The offset eBay's ``next`` link names (never followed as a URL: it goes to eBay's host, not
    the shop's address); None on the last page."""
    link = body.get("next")
    if not isinstance(link, str) or not link:
        return None
    values = parse_qs(urlsplit(link).query).get("offset")
    if not values or not values[0].isdigit() or int(values[0]) <= offset:
        raise ChannelError(f"getOrders: a next link without a later offset: {link[:200]}")
    return int(values[0])


def _pushed(body: Any, by_sku: Mapping[str, StockPush]) -> dict[str, PushResult]:
    """Each SKU's result from the answer's ``responses``; a SKU it does not name failed."""
    said: dict[str, list[str]] = {sku: [] for sku in by_sku}
    heard: set[str] = set()
    responses = body.get("responses") if isinstance(body, dict) else None
    for response in responses if isinstance(responses, list) else []:
        if not isinstance(response, dict) or response.get("sku") not in said:
            continue
        sku = str(response["sku"])
        heard.add(sku)
        if response.get("statusCode") != 200:
            errors = errors_of(response)
            offer = f" offer {response['offerId']}" if response.get("offerId") else ""
            text = describe(errors) if errors else "no reason given"
            said[sku].append(f"HTTP {response.get('statusCode')}{offer}: {text}")
    results = {}
    for sku, push in by_sku.items():
        if sku not in heard:
            error = f"eBay's answer says nothing of SKU {sku}"
            results[push.listing_id] = PushResult(push.listing_id, ok=False, error=error)
        elif said[sku]:
            results[push.listing_id] = PushResult(push.listing_id, ok=False, error="; ".join(said[sku]))
        else:
            results[push.listing_id] = PushResult(push.listing_id, ok=True)
    return results


def _line_items(order: Mapping[str, Any], parcel: Parcel) -> dict[str, int]:
    """The parcel's units by eBay ``lineItemId``: a parcel line is the line item of its listing
    (``legacyItemId``) or SKU; units beyond a line item's quantity go to the next one of the same."""
    items = [i for i in order.get("lineItems") or [] if isinstance(i, dict)]
    taken: dict[str, int] = {}
    for line in parcel.lines:
        left = line.quantity
        for item in items:
            names = {str(n) for n in (item.get("legacyItemId"), item.get("sku")) if n}
            if left and names & {n for n in (line.listing_id, line.platform_sku) if n}:
                item_id = str(item.get("lineItemId"))
                room = int(item.get("quantity") or 0) - taken.get(item_id, 0)
                units = min(left, max(0, room))
                if units:
                    taken[item_id] = taken.get(item_id, 0) + units
                    left -= units
        if left:
            name = line.platform_sku or line.listing_id
            raise Rejected(
                f"order {parcel.external_id}: {name} x{line.quantity} to ship but eBay's order has fewer"
            )
    if not taken:
        raise Rejected(f"order {parcel.external_id}: the parcel carries no line item of the eBay order")
    return taken


def _same_fulfillment(
    existing: Sequence[Mapping[str, Any]], parcel: Parcel, items: Mapping[str, int]
) -> str | None:
    """The fulfillment eBay already holds for the parcel: its tracking number, or (a parcel without
    one) none and the same line items."""
    for fulfillment in existing:
        number = fulfillment.get("shipmentTrackingNumber")
        lines = {str(i.get("lineItemId")) for i in fulfillment.get("lineItems") or [] if isinstance(i, dict)}
        if (parcel.tracking_number and number == parcel.tracking_number) or (
            not parcel.tracking_number and not number and lines == set(items)
        ):
            return str(fulfillment.get("fulfillmentId"))
    return None


def _order_path(order_id: str, tail: str | None = None) -> str:
    path = f"{ORDERS}/{quote(order_id, safe='')}"
    return f"{path}/{tail}" if tail else path


def _is_order_id(value: str) -> bool:
    # eBay order ids are digits and dashes ("12-34567-89012" and the newer plain ones).
    return 0 < len(value) <= 60 and value.isascii() and all(c.isdigit() or c == "-" for c in value)
