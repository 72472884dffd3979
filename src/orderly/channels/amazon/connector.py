"""The Amazon Selling Partner API connector: orders by polling (Orders v0), stock through the
Listings Items API (2021-08-01), parcels' tracking through confirmShipment; HTTP in ``client.py``, payloads
mapped by ``mapper.py``, no webhooks (``webhooks.py``).

Credentials: ``client_id``, ``client_secret`` (the LWA app) and ``refresh_token`` (the seller's
authorisation). Orders are read with a Restricted Data Token (Tokens API), so they carry the buyer's
name, email and full address; the app needs the roles that allow it.
Settings: ``marketplace_id``, ``seller_id``, optionally ``token_url`` (LWA; by default Amazon's own
for Amazon hosts, else ``base_url + "/auth/o2/token"`` so one sandbox serves both) and
``before_lag_seconds`` (how far behind now Amazon requires a poll window to end: 120; 0 for a sandbox
with the rule off).

What the engine should know beyond :class:`~orderly.channels.connector.Connector`:

- :meth:`AmazonConnector.fetch_orders` never asks for orders updated in the last ``lag``: Amazon refuses
  a ``LastUpdatedBefore`` closer than 2 minutes to now (by Amazon's clock), so the window's end is
  pulled back to ``now - lag``, the rule plus a safety margin. A poll must therefore not count
  anything after ``now - connector.lag`` as synced. Should Amazon still find the end too recent (its
  clock behind ours by more than the margin), the 400 is raised as a retryable ChannelError: the
  poll runs again later instead of dying.
- :meth:`AmazonConnector.ready` is False while an order has no usable shipping address or prices
  (Pending orders show neither): skip that version; a later one (Unshipped) has them.
- :meth:`AmazonConnector.cancelled` says Amazon cancelled the order. Canceled orders show no address
  either, so they are never ``ready``: an order the hub already holds must be cancelled from this.
- An order's items are read (getOrderItems, one call per order, paced at one every 2 s) once per
  version and kept in the process, so a poll re-reading its overlap calls only for orders that changed.
- Only seller-fulfilled (MFN) orders are fetched: Amazon ships FBA orders from its own stock.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, ClassVar
from urllib.parse import quote, urlsplit

import httpx
from cachetools import LRUCache
from pydantic import BaseModel, ConfigDict, Field

from orderly.channels.amazon import mapper
from orderly.channels.amazon.client import SpApi
from orderly.channels.amazon.webhooks import SENDS_WEBHOOKS
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
    WriteBack,
)
from orderly.channels.schemas import Address
from orderly.core.clock import utcnow
from orderly.core.text import StorableStr

LWA_TOKEN_URL = "https://api.amazon.com/auth/o2/token"  # noqa: S105 - an address, not a secret
#: getOrderItems allows a burst of 30 then one call every 2 s, and each order on a page needs one:
#: pages of 30 fit the burst, and at one page a minute (getOrders' own rate) match its steady rate.
PAGE_SIZE = 30
#: Added to Amazon's *Before rule: our clock and Amazon's differ, and a window ending exactly at the
#: rule is refused whenever ours runs ahead.
BEFORE_MARGIN = timedelta(seconds=30)
#: What getOrders and getOrder show only to a call carrying a Restricted Data Token: the buyer's name and
#: email, and the address's name, street and phone. Generic paths, so one RDT serves every order.
ORDER_PII = tuple(
    {"method": "GET", "path": path, "dataElements": ["buyerInfo", "shippingAddress"]}
    for path in ("/orders/v0/orders", "/orders/v0/orders/{orderId}")
)
#: Each poll reads its overlap again, and getOrderItems is paced at one call every 2 s: an order's items
#: read once per version are kept, so a poll costs an items call only for orders that changed. Amazon
#: moves LastUpdateDate whenever an order or its items change; the item counts and status are in the
#: key too, as a second guard.
_ITEMS_KEPT = 20_000
_items: LRUCache[tuple[Any, ...], list[dict[str, Any]]] = LRUCache(_ITEMS_KEPT)
_items_lock = threading.Lock()


def _payload(body: Any, op: str) -> dict[str, Any]:
    payload = body.get("payload") if isinstance(body, dict) else None
    if not isinstance(payload, dict):
        raise ChannelError(f"{op}: the response has no payload object", body=str(body)[:2000])
    return payload


def _records(records: Any, what: str, *required: str) -> list[dict[str, Any]]:
    if not isinstance(records, list) or not all(
        isinstance(r, dict) and all(isinstance(r.get(f), str) and r[f] for f in required) for r in records
    ):
        raise ChannelError(f"{what} is not a list of records with {', '.join(required)}")
    return records


def _count(item: Mapping[str, Any], key: str) -> int:
    value = item.get(key, 0)
    if not isinstance(value, int) or isinstance(value, bool):
        raise ChannelError(f"getOrderItems: {key} of item {item.get('OrderItemId')} is not a count")
    return value


class AmazonSettings(BaseModel):
    """What an Amazon shop's settings may hold beyond the engine's own."""

    model_config = ConfigDict(extra="forbid")

    marketplace_id: StorableStr | None = Field(
        default=None,
        min_length=1,
        max_length=40,
        description="e.g. ATVPDKIKX0DER; needed to sync",
    )
    seller_id: StorableStr | None = Field(
        default=None, min_length=1, max_length=40, description="the merchant token; needed to sync"
    )
    token_url: Address | None = Field(
        default=None, description="the LWA token endpoint, when not Amazon's own"
    )
    before_lag_seconds: float = Field(
        default=120, ge=0, le=3600, description="how far behind now a poll window ends (Amazon requires 120)"
    )


class AmazonConnector(Connector):
    channel = "amazon"
    webhooks = SENDS_WEBHOOKS
    writes_back = True
    settings_model = AmazonSettings
    required_settings = ("marketplace_id", "seller_id")
    address_settings = ("token_url",)
    credential_fields = {
        "client_id": "the Login with Amazon client id of your SP-API app",
        "client_secret": "the Login with Amazon client secret",
        "refresh_token": "the refresh token the seller's authorization gave",
    }
    max_push_batch = 1  # one Listings Items PATCH per SKU
    rate_limits: ClassVar[Mapping[str, RateLimit]] = {
        "orders": RateLimit(0.0167, 20),  # getOrders
        "order": RateLimit(0.5, 30),  # getOrder
        "order_items": RateLimit(0.5, 30),  # getOrderItems
        "shipments": RateLimit(2.0, 10),  # confirmShipment
        "stock": RateLimit(5.0, 10),  # patchListingsItem
        "rdt": RateLimit(1.0, 10),  # createRestrictedDataToken
    }

    def __init__(self, connection: ShopConnection, client: httpx.Client) -> None:
        super().__init__(connection, client)
        settings = connection.settings
        lacking = [name for name in ("marketplace_id", "seller_id") if not settings.get(name)]
        if lacking:
            raise AuthFailed(f"the shop's settings lack {', '.join(lacking)}")
        self.marketplace_id: str = settings["marketplace_id"]
        self.seller_id: str = settings["seller_id"]
        rule = timedelta(seconds=float(settings.get("before_lag_seconds", 120)))
        self.lag = rule + BEFORE_MARGIN if rule else rule
        host = urlsplit(connection.base_url).hostname or ""
        default_token_url = (
            LWA_TOKEN_URL
            if host.endswith(".amazon.com")
            else connection.base_url.rstrip("/") + "/auth/o2/token"
        )
        self.api = SpApi(
            client,
            base_url=connection.base_url,
            token_url=settings.get("token_url") or default_token_url,
            credentials=connection.credentials,
            rate_limits=self.rate_limits,
            # Looked up at each call: the engine sets the connector's pacer after construction.
            pace=lambda operation: self.pace(operation),  # noqa: PLW0108
        )

    # --- orders ------------------------------------------------------------------------------------

    def fetch_orders(
        self, updated_after: datetime, updated_before: datetime, cursor: str | None
    ) -> OrderPage:
        """Orders last updated in [after, min(before, now - lag)], each with its items. Amazon's
        bounds are inclusive, so an order updated exactly at a window's end can come twice."""
        if cursor is not None:
            # Amazon ignores every other criterion once a NextToken is sent.
            params: dict[str, Any] = {"MarketplaceIds": self.marketplace_id, "NextToken": cursor}
        else:
            before = min(updated_before, utcnow() - self.lag)
            if before <= updated_after:
                return OrderPage([], None)
            params = {
                "MarketplaceIds": self.marketplace_id,
                "LastUpdatedAfter": mapper.amazon_time(updated_after),
                "LastUpdatedBefore": mapper.amazon_time(before),
                "MaxResultsPerPage": PAGE_SIZE,
            }
        try:
            body = self.api.call("orders", "GET", "/orders/v0/orders", params=params, restricted=ORDER_PII)
        except Rejected as exc:
            if cursor is None and exc.status == 400 and "Before" in str(exc):
                raise ChannelError(
                    f"Amazon finds the window's end too recent (its clock behind ours?): {exc}",
                    status=400,
                    body=exc.body,
                ) from exc
            raise
        payload = _payload(body, "getOrders")
        orders = _records(payload.get("Orders"), "getOrders Orders", "AmazonOrderId", "LastUpdateDate")
        next_token = payload.get("NextToken")
        return OrderPage([self._raw(order) for order in orders], next_token if next_token else None)

    def fetch_order(self, external_id: str) -> RawOrder | None:
        try:
            body = self.api.call(
                "order", "GET", f"/orders/v0/orders/{quote(external_id, safe='')}", restricted=ORDER_PII
            )
        except Rejected as exc:
            if exc.status == 404:
                return None
            raise
        [order] = _records(
            [_payload(body, "getOrder")], "getOrder payload", "AmazonOrderId", "LastUpdateDate"
        )
        return self._raw(order)

    def _raw(self, order: dict[str, Any]) -> RawOrder:
        try:
            version = mapper.version(order)
        except ValueError as exc:
            raise ChannelError(f"order {order['AmazonOrderId']}: {exc}") from exc
        key = (
            self.connection.shop_id,
            self.connection.base_url,
            order["AmazonOrderId"],
            version,
            order.get("OrderStatus"),
            order.get("NumberOfItemsShipped"),
            order.get("NumberOfItemsUnshipped"),
        )
        with _items_lock:
            kept = _items.get(key)
        if kept is None:
            kept = self._items(order["AmazonOrderId"])
            with _items_lock:
                _items[key] = kept
        items = copy.deepcopy(kept)  # what a caller does to its payload must not reach the next poll's
        return RawOrder(order["AmazonOrderId"], version, {"order": order, "items": items})

    @staticmethod
    def forget_items() -> None:
        """Drop the items kept from earlier polls (a test's fresh sandbox reuses order ids)."""
        with _items_lock:
            _items.clear()

    def _items(self, order_id: str) -> list[dict[str, Any]]:
        path = f"/orders/v0/orders/{quote(order_id, safe='')}/orderItems"
        items: list[dict[str, Any]] = []
        token: str | None = None
        while True:
            body = self.api.call(
                "order_items",
                "GET",
                path,
                params={"NextToken": token} if token else None,
            )
            payload = _payload(body, "getOrderItems")
            items.extend(_records(payload.get("OrderItems"), "getOrderItems OrderItems", "OrderItemId"))
            token = payload.get("NextToken") or None
            if token is None:
                return items

    def map_order(self, raw: RawOrder) -> dict[str, Any]:
        return mapper.map_order(self.connection.shop_code, raw.body["order"], raw.body["items"])

    def ready(self, raw: RawOrder) -> bool:
        """Whether :meth:`map_order` can map this version. False for Pending orders before Amazon shows
        their prices (a later version has them), and for a Canceled one whose currency nothing shows:
        skip the version, never invent data. Orders fulfilled by Amazon (FBA), cancelled or without
        an address are mapped: the hub keeps every order, and holds one it cannot ship yet."""
        return mapper.missing(raw.body["order"], raw.body["items"]) is None

    def cancelled(self, raw: RawOrder) -> bool:
        """Amazon cancelled the order (whether or not it is ``ready``): one the hub knows is cancelled
        even when this version cannot be mapped."""
        return bool(raw.body["order"].get("OrderStatus") == "Canceled")

    # --- stock -------------------------------------------------------------------------------------

    def push_stock(self, pushes: Sequence[StockPush]) -> list[PushResult]:
        """One PATCH per push to the seller's SKU (``platform_sku``, else ``listing_id``). HTTP 200
        only means queued: Amazon applies the quantity asynchronously."""
        results = []
        for push in pushes:
            sku = push.platform_sku or push.listing_id
            path = f"/listings/2021-08-01/items/{quote(self.seller_id, safe='')}/{quote(sku, safe='')}"
            try:
                body = self.api.call(
                    "stock",
                    "PATCH",
                    path,
                    params={"marketplaceIds": self.marketplace_id},
                    # An oversold SKU has nothing to offer: Amazon takes no negative quantity.
                    json=mapper.patch_quantity(max(0, push.quantity)),
                )
            except Rejected as exc:
                results.append(PushResult(push.listing_id, ok=False, error=str(exc)))
                continue
            if not isinstance(body, dict) or "status" not in body:
                raise ChannelError(f"patchListingsItem {sku}: unexpected response", body=str(body)[:2000])
            if body["status"] == "ACCEPTED":
                results.append(PushResult(push.listing_id, ok=True))
            else:
                issues = "; ".join(
                    f"{i.get('code')}: {i.get('message')}"
                    for i in body.get("issues") or []
                    if isinstance(i, dict)
                )
                results.append(PushResult(push.listing_id, ok=False, error=f"{body['status']}: {issues}"))
        return results

    # --- tracking write-back ------------------------------------------------------------------------

    def write_back(self, parcel: Parcel) -> WriteBack:
        """confirmShipment of the parcel's units, as one package whose ``packageReferenceId`` is the
        parcel's own reference: the same parcel is always the same package, and a package confirmed
        again has its details replaced rather than its items shipped twice (what Amazon does with a
        reference sent again is UNCONFIRMED; the sandbox follows this reading). A parcel accepted
        before is sent again the same way, with its new tracking.

        After a lost answer (``maybe_sent``) Amazon shows no packages to look for (Orders v0 lists
        none): what can be checked is the items' QuantityShipped. When what is left unshipped no longer
        covers the parcel, Amazon took its units (from this parcel: the hub writes every parcel back
        under its own reference) and nothing is sent; else the package goes, under the same reference."""
        if not parcel.carrier or not parcel.tracking_number:
            raise Rejected("Amazon takes a shipment only with its carrier and tracking number")
        items = self._items(parcel.external_id)
        wanted = _order_items(parcel, items, parcel.external_id)
        ref = parcel.reference
        if parcel.maybe_sent and not parcel.accepted:
            left = {
                item["OrderItemId"]: _count(item, "QuantityOrdered") - _count(item, "QuantityShipped")
                for item in items
            }
            if any(left[item_id] < quantity for item_id, quantity in wanted.items()):
                return WriteBack((ref,), f"Amazon shows package {ref}'s units shipped: taken as confirmed")
        body = {
            "marketplaceId": self.marketplace_id,
            "packageDetail": {
                "packageReferenceId": ref,
                **mapper.carrier_fields(parcel.carrier),
                "shippingMethod": parcel.service or parcel.carrier,
                "trackingNumber": parcel.tracking_number,
                "shipDate": mapper.amazon_time(parcel.shipped_at),
                "orderItems": [{"orderItemId": i, "quantity": n} for i, n in wanted.items()],
            },
        }
        path = f"/orders/v0/orders/{quote(parcel.external_id, safe='')}/shipmentConfirmation"
        self.acted = True
        self.api.call("shipments", "POST", path, json=body)
        return WriteBack((ref,), f"Amazon package {ref} confirmed")


def _order_items(parcel: Parcel, items: list[dict[str, Any]], order_id: str) -> dict[str, int]:
    """The parcel's units by OrderItemId: each line to the items of its SKU (else ASIN) in Amazon's
    order, up to what each item ordered."""
    room = {item["OrderItemId"]: _count(item, "QuantityOrdered") for item in items}
    wanted: dict[str, int] = {}
    for line in parcel.lines:
        quantity = line.quantity
        for item in items:
            named = (line.platform_sku and item.get("SellerSKU") == line.platform_sku) or (
                not line.platform_sku and item.get("ASIN") == line.listing_id
            )
            take = min(quantity, room[item["OrderItemId"]]) if named else 0
            if take > 0:
                room[item["OrderItemId"]] -= take
                wanted[item["OrderItemId"]] = wanted.get(item["OrderItemId"], 0) + take
                quantity -= take
        if quantity:
            name = line.platform_sku or line.listing_id
            raise Rejected(f"order {order_id}: {name} x{line.quantity} to ship but Amazon's order has fewer")
    return wanted
