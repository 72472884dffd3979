"""The WooCommerce connector: orders by ``GET /orders`` (incremental by ``modified_after``), stock
through the products' and variations' batch endpoints, tracking written back as an order note (and a
Shipment Tracking item where the store has that extension) with the order completed, and signed order
webhooks. HTTP and signing in ``client.py``, payloads in ``mapper.py``, deliveries in ``webhooks.py``;
docs/channels/woocommerce.md says what is UNCONFIRMED.

Credentials: ``consumer_key`` and ``consumer_secret`` (a REST API key with read/write access, from
WooCommerce > Settings > Advanced > REST API) and ``webhook_secret`` (the secret the store's order
webhooks are made with). The shop's ``base_url`` is the site's address (``https://example.com``, or
the folder WordPress lives in).
Settings: ``auth`` (``basic``, ``query`` or ``oauth``; by default Basic over https and OAuth 1.0a over
http), ``signature_method`` (OAuth's HMAC-SHA1 or HMAC-SHA256), ``page_size`` (orders per page, at
most and by default 100), ``tracking`` (``auto``: the Shipment Tracking extension where the store has
it, else a note; ``note``: a note only), ``customer_note`` (whether the tracking note goes to the buyer,
default true) and ``complete_orders`` (whether an order all of whose units are written back is set
``completed``, default true).

A listing is a simple product (``"93"``) or a variation under its product (``"22:23"``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, ClassVar, Literal

import httpx
from pydantic import BaseModel, ConfigDict, Field

from orderly.channels.connector import (
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
from orderly.channels.woocommerce import client, mapper, webhooks
from orderly.channels.woocommerce.client import API_PREFIX, TRACKING_PREFIX
from orderly.channels.woocommerce.webhooks import SECRET_CREDENTIAL

MAX_PAGE_SIZE = 100
#: Orders each page repeats of the one before (see ``fetch_orders``).
PAGE_OVERLAP = 5
#: Objects one batch request takes (CONTRACT section 2: 100 by default).
BATCH = 100
#: The line of a tracking note that says which parcel it was and what it carried.
_PARCEL_LINE = re.compile(r"^Parcel (\S+): (.*)$", re.MULTILINE)
_UNITS = re.compile(r"^(\d+) x (.+)$")
#: Statuses a parcel is not written back to: nothing is to ship.
_CLOSED = frozenset({"cancelled", "refunded", "trash", "failed", mapper.DRAFT})


class WooCommerceSettings(BaseModel):
    """What a WooCommerce shop's settings may hold beyond the engine's own."""

    model_config = ConfigDict(extra="forbid")

    auth: Literal["basic", "query", "oauth"] | None = Field(
        default=None,
        description="how the key is sent: basic or query (https only), oauth (http); default by the scheme",
    )
    signature_method: Literal["HMAC-SHA1", "HMAC-SHA256"] = Field(
        default="HMAC-SHA1", description="what OAuth 1.0a signs with over http"
    )
    page_size: int = Field(default=MAX_PAGE_SIZE, ge=1, le=MAX_PAGE_SIZE, description="orders per page")
    tracking: Literal["auto", "note"] = Field(
        default="auto",
        description="auto: a note, and a Shipment Tracking item where the store has that extension; "
        "note: a note only",
    )
    customer_note: bool = Field(default=True, description="whether the tracking note goes to the buyer")
    complete_orders: bool = Field(
        default=True, description="whether an order whose every unit is written back is set completed"
    )


class WooCommerceConnector(Connector):
    channel = "woocommerce"
    # WooCommerce publishes no limit (CONTRACT section 2); every call lands on one WordPress host, so
    # one gentle budget covers them all, tunable per shop (settings.rate_limits).
    rate_limits: ClassVar[Mapping[str, RateLimit]] = {
        op: RateLimit(per_second=5.0, burst=10, bucket="site") for op in ("orders", "stock", "shipments")
    }
    max_push_batch = BATCH
    webhooks = True
    writes_back = True
    webhook_credential = SECRET_CREDENTIAL
    settings_model = WooCommerceSettings
    credential_fields: ClassVar[Mapping[str, str]] = {
        "consumer_key": "the REST API key's consumer key (ck_...), with read/write access",
        "consumer_secret": "the REST API key's consumer secret (cs_...)",
        SECRET_CREDENTIAL: "the secret the store's order webhooks are made with",
    }

    def __init__(self, connection: ShopConnection, http: httpx.Client) -> None:
        super().__init__(connection, http)
        settings = connection.settings
        self.page_size = max(1, min(MAX_PAGE_SIZE, int(settings.get("page_size", MAX_PAGE_SIZE))))
        self._api: client.RestApi | None = None
        if connection.credentials:  # a delivery reader has none, and calls nothing
            self._api = client.RestApi(
                http,
                credentials=connection.credentials,
                mode=settings.get("auth") or client.default_mode(connection.base_url),
                signature_method=settings.get("signature_method", "HMAC-SHA1"),
                # Looked up at each call: the engine sets the connector's pacer after construction.
                pace=lambda operation: self.pace(operation),  # noqa: PLW0108
            )

    @property
    def api(self) -> client.RestApi:
        if self._api is None:
            raise Rejected("the shop has no WooCommerce credentials")
        return self._api

    # --- orders -----------------------------------------------------------------------------------

    def fetch_orders(
        self, updated_after: datetime, updated_before: datetime, cursor: str | None
    ) -> OrderPage:
        """A page of orders modified in [after, before), by id. WooCommerce compares whole seconds and
        its bounds' inclusiveness is UNCONFIRMED: the window asked for is a second wider on each side
        and trimmed here. The cursor is the offset of the next page, which overlaps this one by
        ``PAGE_OVERLAP`` orders: an order of an earlier page modified while the pages are read leaves
        the window and those after it move up, which would otherwise skip one."""
        offset = int(cursor or 0)
        params = {
            "modified_after": mapper.wc_time(updated_after.replace(microsecond=0) - timedelta(seconds=1)),
            "modified_before": mapper.wc_time(updated_before.replace(microsecond=0) + timedelta(seconds=1)),
            "dates_are_gmt": "true",
            "orderby": "id",
            "order": "asc",
            "per_page": self.page_size,
            "offset": offset,
        }
        response = self.api.send("orders", "GET", f"{API_PREFIX}/orders", params=params)
        orders = client.payload(response, list)
        raws = [_raw_order(order) for order in orders]
        kept = [raw for raw in raws if updated_after <= _modified(raw) < updated_before]
        known = client.total(response)
        more = len(orders) == self.page_size and (known is None or offset + len(orders) < known)
        step = len(orders) - min(PAGE_OVERLAP, len(orders) // 2)
        return OrderPage(kept, str(offset + step) if more else None)

    def fetch_order(self, external_id: str) -> RawOrder | None:
        if not (external_id.isascii() and external_id.isdigit()):
            return None
        response = self.api.get_if_exists("orders", f"{API_PREFIX}/orders/{external_id}")
        return None if response is None else _raw_order(client.payload(response, dict))

    def map_order(self, raw: RawOrder) -> dict[str, Any]:
        return mapper.map_order(raw.body, self.connection.shop_code)

    def ready(self, raw: RawOrder) -> bool:
        """False for a checkout draft (a cart: a later version is the order), and for a stored
        ``order.deleted`` delivery, which names only its order."""
        return not webhooks.is_deletion(raw.body) and not mapper.is_draft(raw.body)

    def cancelled(self, raw: RawOrder) -> bool:
        """An order trashed or deleted on the store (``order.deleted``): the hub cancels its version."""
        return webhooks.is_deletion(raw.body)

    # --- stock ------------------------------------------------------------------------------------

    def push_stock(self, pushes: Sequence[StockPush]) -> list[PushResult]:
        """``stock_quantity`` (with ``manage_stock`` on) of simple products through ``/products/batch``
        and of variations through their product's ``/variations/batch``. A 200 answers each object on
        its own: one that comes back with an ``error`` (or not at all) failed, never counts as shown."""
        results: dict[str, PushResult] = {}
        groups: dict[int | None, list[tuple[StockPush, int]]] = {}
        for push in pushes:
            parsed = mapper.parse_listing(push.listing_id)
            if parsed is None:
                error = "the listing id is not a WooCommerce product id or product:variation ids"
                results[push.listing_id] = PushResult(push.listing_id, ok=False, error=error)
                continue
            product, variation = parsed
            if variation is None:
                groups.setdefault(None, []).append((push, product))
            else:
                groups.setdefault(product, []).append((push, variation))
        for parent, members in groups.items():
            path = (
                f"{API_PREFIX}/products/batch"
                if parent is None
                else (f"{API_PREFIX}/products/{parent}/variations/batch")
            )
            results |= self._batch(path, members)
        return [results[push.listing_id] for push in pushes]

    def _batch(self, path: str, members: list[tuple[StockPush, int]]) -> dict[str, PushResult]:
        update = [
            {"id": object_id, "manage_stock": True, "stock_quantity": max(0, push.quantity)}
            for push, object_id in members
        ]
        try:
            response = self.api.send("stock", "POST", path, json={"update": update})
        except Rejected as exc:  # the whole batch refused (a variation's product gone, a bad body)
            return {
                push.listing_id: PushResult(push.listing_id, ok=False, error=str(exc)) for push, _ in members
            }
        answered: dict[int, Any] = {}
        for entry in client.payload(response, dict).get("update") or []:
            if isinstance(entry, dict) and isinstance(entry.get("id"), int):
                answered[entry["id"]] = entry
        results = {}
        for push, object_id in members:
            entry = answered.get(object_id)
            if entry is None:
                error = f"WooCommerce's answer does not mention {object_id}"
            elif isinstance(entry.get("error"), dict):
                error = f"{entry['error'].get('code')}: {entry['error'].get('message')}"
            elif entry.get("stock_quantity") != max(0, push.quantity):
                error = f"WooCommerce kept stock_quantity {entry.get('stock_quantity')!r}"
            else:
                error = None
            results[push.listing_id] = PushResult(push.listing_id, ok=error is None, error=error)
        return results

    # --- tracking write-back ------------------------------------------------------------------------

    def write_back(self, parcel: Parcel) -> WriteBack:
        """A note on the order with the carrier, tracking number and link and the parcel's units (to
        the buyer unless ``customer_note`` is off), a Shipment Tracking item where the store has the
        extension, and the order ``completed`` once the hub's notes account for every unit. An earlier
        try's note (found by the parcel's reference) and item (by tracking number) are not made again;
        a changed tracking number replaces the parcel's item and adds a note."""
        order_id = parcel.external_id
        if not (order_id.isascii() and order_id.isdigit()):
            raise Rejected(f"{order_id!r} is not a WooCommerce order id")
        base = f"{API_PREFIX}/orders/{order_id}"
        found = self.api.get_if_exists("shipments", base)
        if found is None:
            raise Rejected(f"WooCommerce has no order {order_id}")
        order = client.payload(found, dict)
        status = mapper.status_of(order)
        if status in _CLOSED:
            raise Rejected(f"WooCommerce order {order_id} is {status}: nothing of it ships")
        notes = client.payload(self.api.send("shipments", "GET", f"{base}/notes"), list)
        text = _note(parcel)
        made: list[str] = []
        earlier = _parcel_notes(notes)
        already = [
            n
            for n in notes
            if isinstance(n, dict) and _mentions(n, parcel.reference) and text in str(n.get("note") or "")
        ]
        if already:  # an earlier try's, whose answer was lost
            made.append(f"note:{already[0].get('id')}")
        else:
            self.acted = True
            body = {"note": text, "customer_note": bool(self.connection.settings.get("customer_note", True))}
            answer = self.api.send("shipments", "POST", f"{base}/notes", json=body, replayable=False)
            made.append(f"note:{client.payload(answer, dict).get('id')}")
        notes_how = "a note"
        if self.connection.settings.get("tracking", "auto") == "auto" and parcel.tracking_number:
            tracked = self._track(order_id, parcel)
            if tracked is not None:
                made += tracked
                notes_how = "a note and a Shipment Tracking item"
        earlier[parcel.reference] = [(line.quantity, _line_name(line)) for line in parcel.lines]
        completed = ""
        complete = self.connection.settings.get("complete_orders", True) and status != mapper.COMPLETED
        if complete and _all_units_sent(order, earlier):
            self.acted = True
            self.api.send("shipments", "PUT", base, json={"status": mapper.COMPLETED})
            completed = "; the order is completed"
        return WriteBack(tuple(made), f"WooCommerce: {notes_how}{completed}")

    def _track(self, order_id: str, parcel: Parcel) -> list[str] | None:
        """The parcel's Shipment Tracking item, made unless an earlier try made it; the items accepted
        before with another number are deleted. None where the store has no such extension (WordPress
        answers ``rest_no_route``)."""
        path = f"{TRACKING_PREFIX}/orders/{order_id}/shipment-trackings"
        try:
            items = client.payload(self.api.send("shipments", "GET", path), list)
        except Rejected as exc:
            if exc.status == 404 and client.error_code(exc) == "rest_no_route":
                return None
            raise
        ours = {f"tracking:{i.get('tracking_id')}": i for i in items if isinstance(i, dict)}
        for platform_id in parcel.accepted:
            item = ours.get(platform_id)
            if item is not None and item.get("tracking_number") != parcel.tracking_number:
                self.acted = True
                self.api.send("shipments", "DELETE", f"{path}/{item.get('tracking_id')}")
        same = [
            i for i in items if isinstance(i, dict) and i.get("tracking_number") == parcel.tracking_number
        ]
        if same:
            return [f"tracking:{same[0].get('tracking_id')}"]
        body = {
            "tracking_number": parcel.tracking_number,
            # A custom provider takes any carrier's name and link; the extension's own provider names
            # vary by store (its providers endpoint), so none is guessed.
            "custom_tracking_provider": parcel.carrier or "Carrier",
            "custom_tracking_link": parcel.tracking_url or "",
            "date_shipped": parcel.shipped_at.date().isoformat(),
        }
        self.acted = True
        answer = self.api.send("shipments", "POST", path, json=body, replayable=False)
        return [f"tracking:{client.payload(answer, dict).get('tracking_id')}"]

    # --- webhooks ---------------------------------------------------------------------------------

    @classmethod
    def verify_webhook(cls, secret: str | None, headers: Mapping[str, str], body: bytes) -> bool:
        return webhooks.verify(secret, headers, body)

    @classmethod
    def ping(cls, headers: Mapping[str, str], body: bytes) -> bool:
        return webhooks.is_ping(headers, body)

    @classmethod
    def parse_webhook(cls, headers: Mapping[str, str], body: bytes) -> WebhookEvent:
        return webhooks.parse(headers, body)

    @classmethod
    def webhook_topic(cls, headers: Mapping[str, str]) -> str:
        return webhooks.header(headers, webhooks.TOPIC_HEADER) or ""


def _raw_order(order: Any) -> RawOrder:
    if not isinstance(order, dict) or not isinstance(order.get("id"), int):
        raise ChannelError(f"WooCommerce sent an order without an id: {str(order)[:200]}")
    try:
        stamp = mapper.version(order)
    except (KeyError, ValueError) as exc:
        raise ChannelError(f"WooCommerce order {order['id']}: no readable date_modified_gmt ({exc})") from exc
    return RawOrder(str(order["id"]), stamp, order)


def _modified(raw: RawOrder) -> datetime:
    return mapper.instant(raw.body["date_modified_gmt"])


def _line_name(line: Any) -> str:
    return str(line.listing_id or line.platform_sku or "?")


def _note(parcel: Parcel) -> str:
    """The note's text: what the buyer reads, then the line the hub reads back (which parcel, what)."""
    shipped = f"Shipped with {parcel.carrier or 'the carrier'}"
    if parcel.tracking_number:
        shipped += f", tracking number {parcel.tracking_number}"
    if parcel.tracking_url:
        shipped += f": {parcel.tracking_url}"
    units = ", ".join(f"{line.quantity} x {_line_name(line)}" for line in parcel.lines)
    return f"{shipped}\nParcel {parcel.reference}: {units}"


def _mentions(note: Mapping[str, Any], reference: str) -> bool:
    return any(found.group(1) == reference for found in _PARCEL_LINE.finditer(str(note.get("note") or "")))


def _parcel_notes(notes: Sequence[Any]) -> dict[str, list[tuple[int, str]]]:
    """The units each parcel the hub wrote back carried, by its reference (a later note of one parcel,
    after its tracking changed, says the same units)."""
    found: dict[str, list[tuple[int, str]]] = {}
    dicts = [n for n in notes if isinstance(n, dict)]
    for note in sorted(dicts, key=lambda n: n["id"] if isinstance(n.get("id"), int) else 0):
        for match in _PARCEL_LINE.finditer(str(note.get("note") or "")):
            units = [_UNITS.match(part.strip()) for part in match.group(2).split(", ")]
            found[match.group(1)] = [(int(u.group(1)), u.group(2)) for u in units if u]
    return found


def _all_units_sent(order: Mapping[str, Any], parcels: Mapping[str, list[tuple[int, str]]]) -> bool:
    """Whether the parcels written back carry every unit of the order's line items (each named by its
    listing id or SKU)."""
    left: dict[int, int] = {}
    names: dict[int, set[str]] = {}
    for index, item in enumerate(order.get("line_items") or []):
        if not isinstance(item, dict):
            continue
        left[index] = int(item.get("quantity") or 0)
        listing = mapper.listing_id(item.get("product_id"), item.get("variation_id"))
        names[index] = {name for name in (listing, item.get("sku")) if name}
    for units in parcels.values():
        for quantity, name in units:
            rest = quantity
            for index, count in left.items():
                take = min(rest, count) if name in names[index] else 0
                left[index] -= take
                rest -= take
    return bool(left) and not any(left.values())
