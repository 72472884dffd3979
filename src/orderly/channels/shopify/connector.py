"""The Shopify connector: orders, stock levels and fulfillments through the Admin REST API (2024-01,
``client.py``), order webhooks (``webhooks.py``), payloads mapped by ``mapper.py``.

Credentials: ``access_token`` (the Admin API token, sent as ``X-Shopify-Access-Token``) and
``webhook_secret`` (the app secret Shopify signs webhook deliveries with).
Settings: ``location_id`` (where stock pushes set the available quantity, unless a listing's SKU
mapping names its own location), ``api_version`` (default 2024-01), ``page_size`` (orders per page, at
most and by default 250) and ``notify_customer`` (whether Shopify emails the buyer on a shipment,
default false). A mapping may also give the variant's ``inventory_item_id``; otherwise it is learned.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from pydantic import BaseModel, ConfigDict, Field

from orderly.channels.connector import (
    ChannelError,
    Connector,
    OrderPage,
    Parcel,
    ParcelLine,
    PushResult,
    RateLimit,
    RawOrder,
    Rejected,
    ShopConnection,
    StockPush,
    WebhookEvent,
    WriteBack,
)
from orderly.channels.shopify import client, mapper, webhooks
from orderly.channels.shopify.client import API_VERSION
from orderly.channels.shopify.webhooks import SECRET_CREDENTIAL
from orderly.core.text import StorableStr

#: The shop setting naming the location stock goes to when a listing's mapping names none.
LOCATION_SETTING = "location_id"
#: In a listing's binding: the locations its inventory item is stocked at, by item.
STOCKED_AT = "stocked_at"
MAX_PAGE_SIZE = 250
_OPEN_FULFILLMENT_ORDER = frozenset({"open", "in_progress"})


class ShopifySettings(BaseModel):
    """What a Shopify shop's settings may hold beyond the engine's own."""

    model_config = ConfigDict(extra="forbid")

    location_id: int | None = Field(
        default=None, gt=0, description="the Shopify location stock pushes set (a listing may name its own)"
    )
    api_version: StorableStr = Field(
        default=API_VERSION, pattern=r"^\d{4}-\d{2}$", description="e.g. 2024-01"
    )
    page_size: int = Field(default=MAX_PAGE_SIZE, ge=1, le=MAX_PAGE_SIZE, description="orders per page")
    notify_customer: bool = Field(default=False, description="whether Shopify emails the buyer on a shipment")


class ShopifyConnector(Connector):
    channel = "shopify"
    # The published REST limit (standard plans): a bucket of 40 calls leaking 2 a second. Shopify
    # keeps one such bucket per app and shop, shared by every operation.
    # One leaky bucket per app and shop covers every Admin API call, whatever the operation.
    rate_limits = {
        op: RateLimit(per_second=2.0, burst=40, bucket="admin") for op in ("orders", "stock", "shipments")
    }
    max_push_batch = 1  # inventory_levels/set takes one item
    webhooks = True
    writes_back = True
    webhook_credential = SECRET_CREDENTIAL
    location_setting = LOCATION_SETTING
    listing_ids = {"inventory_item_id": "the variant's inventory item (learned from the variant if not set)"}

    @classmethod
    def listing_problems(cls, location: str | None, platform_ids: Mapping[str, str]) -> list[tuple[str, str]]:
        problems = super().listing_problems(location, platform_ids)
        if location is not None and not _storable_id(location):
            problems.append(("location", f"location {location!r} is not a Shopify location id (a number)"))
        problems += [
            ("platform_ids", f"{name} {value!r} is not a Shopify id (a number)")
            for name, value in sorted(platform_ids.items())
            if name in cls.listing_ids and not _storable_id(value)
        ]
        return problems

    settings_model = ShopifySettings
    credential_fields = {
        "access_token": "the Admin API access token of the shop's custom app",
        SECRET_CREDENTIAL: "the app's API secret key, which signs its webhooks",
    }

    def __init__(self, connection: ShopConnection, http: httpx.Client) -> None:
        super().__init__(connection, http)
        self.api = client.AdminApi(
            http,
            credentials=connection.credentials,
            api_version=connection.settings.get("api_version", API_VERSION),
            # Looked up at each call: the engine sets the connector's pacer after construction.
            pace=lambda operation: self.pace(operation),  # noqa: PLW0108
        )

    # --- orders ---------------------------------------------------------------------------------

    def fetch_orders(
        self, updated_after: datetime, updated_before: datetime, cursor: str | None
    ) -> OrderPage:
        page_size = max(1, min(MAX_PAGE_SIZE, int(self.connection.settings.get("page_size", MAX_PAGE_SIZE))))
        if cursor is None:
            # Shopify compares whole seconds, both bounds inclusive: ask for a window at least as wide
            # and keep [after, before) exactly below.
            params: dict[str, Any] = {
                "status": "any",
                "updated_at_min": _stamp(_floor_second(updated_after)),
                "updated_at_max": _stamp(_ceil_second(updated_before)),
                "limit": page_size,
            }
        else:
            # A page_info carries the first request's filters; Shopify takes only limit along with it.
            params = {"page_info": cursor, "limit": page_size}
        response = self.api.send("orders", "GET", "orders.json", params=params)
        orders = client.resource(response, "orders", list)
        return OrderPage(
            [_raw_order(order) for order in orders if updated_after <= _updated_at(order) < updated_before],
            client.next_page_info(response.headers.get("Link")),
        )

    def fetch_order(self, external_id: str) -> RawOrder | None:
        if not _is_id(external_id):
            return None
        response = self.api.get_if_exists("orders", f"orders/{external_id}.json")
        return None if response is None else _raw_order(client.resource(response, "order", dict))

    def map_order(self, raw: RawOrder) -> dict[str, Any]:
        return mapper.map_order(
            raw.body, self.connection.shop_code, self.connection.settings.get(LOCATION_SETTING)
        )

    # --- stock ----------------------------------------------------------------------------------

    def push_stock(self, pushes: Sequence[StockPush]) -> list[PushResult]:
        return [self._push(push) for push in pushes]

    def _push(self, push: StockPush) -> PushResult:
        """The listing is the variant; the level belongs to its inventory item at a location (the
        mapping's own, else the shop's). What the mapping does not name is learned once (the item from
        the variant, the locations it is stocked at from its levels) and returned as the listing's
        binding to keep."""
        if not _is_id(push.listing_id):
            return PushResult(push.listing_id, ok=False, error="the listing id is not a Shopify variant id")
        binding = dict(push.binding)
        learned: dict[str, Any] | None = None
        named = "inventory_item_id" in push.platform_ids
        item = _as_id(push.platform_ids.get("inventory_item_id", binding.get("inventory_item_id")))
        if item is None:
            response = self.api.get_if_exists("stock", f"variants/{push.listing_id}.json")
            if response is None:
                return PushResult(push.listing_id, ok=False, error="no such variant on the shop")
            item = _as_id(client.resource(response, "variant", dict).get("inventory_item_id"))
            if item is None:
                raise ChannelError(f"variant {push.listing_id} came without an inventory_item_id")
            learned = binding = {**binding, "inventory_item_id": item}
        location = _as_id(
            push.location if push.location is not None else self.connection.settings.get(LOCATION_SETTING)
        )
        if location is None:
            error = "no location_id in the shop's settings: stock goes to a Shopify location"
            return PushResult(push.listing_id, ok=False, error=error, binding=learned)
        stocked = (binding.get(STOCKED_AT) or {}).get(str(item))
        if not isinstance(stocked, list) or location not in stocked:
            # Setting a level where the item is not stocked would connect it there: that location would
            # offer stock it does not hold, and the one that holds it would never get its figure.
            stocked = self._stocked_at(item)
            if not stocked:
                # No level anywhere: the item kept from earlier was replaced since. Forget it, so the
                # next push learns it again from the variant.
                forgotten = None if named else _without(binding, "inventory_item_id", STOCKED_AT)
                error = f"inventory item {item} of variant {push.listing_id} is stocked at no location"
                return PushResult(push.listing_id, ok=False, error=error, binding=forgotten)
            learned = binding = {**binding, STOCKED_AT: {str(item): stocked}}
            if location not in stocked:
                error = (
                    f"variant {push.listing_id} is not stocked at location {location} but at "
                    f"{', '.join(map(str, stocked))}: set that location on its SKU mapping"
                )
                return PushResult(push.listing_id, ok=False, error=error, binding=learned)
        request = {"location_id": location, "inventory_item_id": item, "available": push.quantity}
        try:
            self.api.send("stock", "POST", "inventory_levels/set.json", json=request)
        except Rejected as exc:
            if not named:
                # The item kept from earlier may have been replaced since: forget it, so the next
                # push learns it again from the variant.
                learned = _without(binding, "inventory_item_id", STOCKED_AT)
            return PushResult(push.listing_id, ok=False, error=str(exc), binding=learned)
        return PushResult(push.listing_id, ok=True, binding=learned)

    def _stocked_at(self, item: int) -> list[int]:
        """The locations where the inventory item has a level."""
        response = self.api.send("stock", "GET", "inventory_levels.json", params={"inventory_item_ids": item})
        levels = client.resource(response, "inventory_levels", list)
        found = (_as_id(level.get("location_id")) for level in levels if isinstance(level, dict))
        return sorted({location for location in found if location is not None})

    # --- tracking write-back -------------------------------------------------------------------

    def write_back(self, parcel: Parcel) -> WriteBack:
        """Fulfil the parcel's lines against the order's fulfillment orders, one fulfillment per
        location they are assigned to (a fulfillment has one location), each with the tracking.
        Fulfillment orders Shopify assigned to another fulfillment service (a 3PL: no
        ``create_fulfillment`` among their supported actions) are not ours to fulfil: units found only
        there are left to it. A parcel accepted before has its fulfillments' tracking updated; one
        that may have been sent is first looked for among the order's fulfillments."""
        order_id = parcel.external_id
        if not _is_id(order_id):
            raise Rejected(f"{order_id!r} is not a Shopify order id")
        tracking = _tracking_info(parcel)
        notify = bool(self.connection.settings.get("notify_customer", False))
        if parcel.accepted:
            body = {"fulfillment": {"notify_customer": notify, "tracking_info": tracking}}
            for fulfillment_id in parcel.accepted:
                self.acted = True
                self.api.send(
                    "shipments", "POST", f"fulfillments/{fulfillment_id}/update_tracking.json", json=body
                )
            return WriteBack(tuple(parcel.accepted), "tracking updated on Shopify")
        response = self.api.send("shipments", "GET", f"orders/{order_id}/fulfillment_orders.json")
        fulfillment_orders = client.resource(response, "fulfillment_orders", list)
        by_sku = parcel.maybe_sent or any(line.listing_id is None for line in parcel.lines)
        order = self._order(order_id) if by_sku else None
        wanted = {index: line.quantity for index, line in enumerate(parcel.lines)}
        found = _already_made(order, parcel, wanted) if parcel.maybe_sent and order is not None else []
        groups, elsewhere = _pick_lines(order_id, fulfillment_orders, parcel.lines, wanted, order)
        made = [str(f["id"]) for f in found]
        for location in sorted(groups):
            fulfillment = {
                "notify_customer": notify,
                "tracking_info": tracking,
                "line_items_by_fulfillment_order": groups[location],
            }
            # A fulfillment sent twice would ship twice: sent again only if Shopify surely did not act.
            self.acted = True
            answer = self.api.send(
                "shipments", "POST", "fulfillments.json", json={"fulfillment": fulfillment}, replayable=False
            )
            made.append(str(client.resource(answer, "fulfillment", dict).get("id")))
        notes = [f"Shopify fulfillment {', '.join(made)}" if made else "nothing to fulfil on Shopify"]
        if found:
            notes.append(f"{len(found)} found made by an earlier try")
        if elsewhere:
            notes.append(f"left to the fulfillment service: {elsewhere}")
        return WriteBack(tuple(made), "; ".join(notes))

    def _order(self, order_id: str) -> dict[str, Any]:
        response = self.api.get_if_exists("shipments", f"orders/{order_id}.json")
        if response is None:
            raise Rejected(f"Shopify has no order {order_id}")
        order: dict[str, Any] = client.resource(response, "order", dict)
        return order

    # --- webhooks -------------------------------------------------------------------------------

    @classmethod
    def verify_webhook(cls, secret: str | None, headers: Mapping[str, str], body: bytes) -> bool:
        return webhooks.verify(secret, headers, body)

    @classmethod
    def parse_webhook(cls, headers: Mapping[str, str], body: bytes) -> WebhookEvent:
        return webhooks.parse(headers, body)

    @classmethod
    def webhook_topic(cls, headers: Mapping[str, str]) -> str:
        return webhooks.header(headers, webhooks.TOPIC_HEADER) or ""


def _raw_order(order: Any) -> RawOrder:
    _updated_at(order)
    if order.get("id") is None:
        raise ChannelError("Shopify sent an order without an id")
    return RawOrder(str(order["id"]), order["updated_at"], order)


def _updated_at(order: Any) -> datetime:
    stamp = order.get("updated_at") if isinstance(order, dict) else None
    try:
        moment = datetime.fromisoformat(stamp) if isinstance(stamp, str) else None
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise ChannelError(f"Shopify sent an order without a readable updated_at: {stamp!r}")
    return moment


def _tracking_info(parcel: Parcel) -> dict[str, str]:
    """``tracking_info`` for the parcel: Shopify's name of the carrier, the number and our url."""
    info = {
        "company": mapper.tracking_company(parcel.carrier),
        "number": parcel.tracking_number,
        "url": parcel.tracking_url,
    }
    return {key: value for key, value in info.items() if value}


def _names(order: Mapping[str, Any] | None) -> dict[Any, set[str]]:
    """Each order line item (by id) named by its variant id and SKU."""
    return {
        item.get("id"): {str(name) for name in (item.get("variant_id"), item.get("sku")) if name}
        for item in (order or {}).get("line_items") or []
    }


def _names_line(line: ParcelLine, names: set[str]) -> bool:
    return (line.listing_id is not None and line.listing_id in names) or (
        line.platform_sku is not None and line.platform_sku in names
    )


def _already_made(order: Mapping[str, Any], parcel: Parcel, wanted: dict[int, int]) -> list[dict[str, Any]]:
    """The order's fulfillments an earlier try of this parcel made, their units taken off ``wanted``:
    those carrying its tracking number; for a parcel without one, untracked fulfillments of its lines
    (nothing tells them from the merchant's own: taken as ours when their units fit the parcel)."""
    found = []
    for fulfillment in order.get("fulfillments") or []:
        if fulfillment.get("status") != "success":
            continue
        numbers = fulfillment.get("tracking_numbers") or [fulfillment.get("tracking_number")]
        if parcel.tracking_number is not None and parcel.tracking_number not in numbers:
            continue
        if parcel.tracking_number is None and any(numbers):
            continue
        left = dict(wanted)
        fits = True
        for item in fulfillment.get("line_items") or []:
            names = {str(n) for n in (item.get("variant_id"), item.get("sku")) if n}
            quantity = int(item.get("quantity") or 0)
            for index, line in enumerate(parcel.lines):
                take = min(quantity, left[index]) if _names_line(line, names) else 0
                left[index] -= take
                quantity -= take
            fits = fits and quantity == 0
        if fits:
            wanted.update(left)
            found.append(fulfillment)
    return found


def _pick_lines(
    order_id: str,
    fulfillment_orders: list[dict[str, Any]],
    lines: Sequence[ParcelLine],
    wanted: dict[int, int],
    order: Mapping[str, Any] | None,
) -> tuple[dict[int, list[dict[str, Any]]], str]:
    """The fulfillment order lines that ship ``wanted`` units of ``lines`` (by index), grouped by the
    location their fulfillment orders are assigned to; and the units found only in fulfillment orders
    of another fulfillment service, as text. A line is matched by variant id, else SKU (the order's
    line items name SKUs)."""
    names = _names(order)

    def matches(fo_line: Mapping[str, Any], line: ParcelLine) -> bool:
        own = names.get(fo_line.get("line_item_id"), set())
        variant = fo_line.get("variant_id")
        return _names_line(line, own | ({str(variant)} if variant else set()))

    def open_lines(ours: bool) -> list[tuple[dict[str, Any], dict[str, Any]]]:
        return [
            (fo, fo_line)
            for fo in fulfillment_orders
            if fo.get("status") in _OPEN_FULFILLMENT_ORDER
            and ("create_fulfillment" in (fo.get("supported_actions") or [])) == ours
            for fo_line in fo.get("line_items") or []
        ]

    picked: dict[int, dict[int, dict[int, int]]] = {}  # location -> fulfillment order -> line -> units
    elsewhere = []
    left = {(fo["id"], fl["id"]): int(fl.get("fulfillable_quantity") or 0) for fo, fl in open_lines(True)}
    for index, line in enumerate(lines):
        quantity = wanted[index]
        for fo, fo_line in open_lines(True):
            slot = (fo["id"], fo_line["id"])
            take = min(quantity, left[slot]) if matches(fo_line, line) else 0
            if take > 0:
                left[slot] -= take
                quantity -= take
                chosen = picked.setdefault(fo["assigned_location_id"], {}).setdefault(fo["id"], {})
                chosen[fo_line["id"]] = chosen.get(fo_line["id"], 0) + take
        name = line.platform_sku or line.listing_id
        theirs = sum(
            int(fl.get("fulfillable_quantity") or 0) for _, fl in open_lines(False) if matches(fl, line)
        )
        if quantity and theirs >= quantity:
            elsewhere.append(f"{name} x{quantity}")
        elif quantity:
            raise Rejected(
                f"order {order_id}: {name} x{wanted[index]} to ship but only "
                f"x{wanted[index] - quantity} is left to fulfil"
            )
    groups = {
        location: [
            {
                "fulfillment_order_id": fo_id,
                "fulfillment_order_line_items": [{"id": i, "quantity": q} for i, q in items.items()],
            }
            for fo_id, items in by_fo.items()
        ]
        for location, by_fo in picked.items()
    }
    return groups, ", ".join(elsewhere)


def _without(binding: Mapping[str, Any], *names: str) -> dict[str, Any]:
    return {key: value for key, value in binding.items() if key not in names}


def _is_id(value: str) -> bool:
    return value.isascii() and value.isdigit()


def _storable_id(text: str) -> bool:
    """Whether a person's text is a Shopify id: digits, within the 64 bits Shopify's ids take."""
    return _is_id(text) and int(text) < 2**63


def _as_id(value: Any) -> int | None:
    """A Shopify id from a binding or a setting (JSON may keep it as a number or as text)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    return int(value) if isinstance(value, str) and _is_id(value) else None


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


def _floor_second(moment: datetime) -> datetime:
    return moment.replace(microsecond=0)


def _ceil_second(moment: datetime) -> datetime:
    return _floor_second(moment) + timedelta(seconds=1) if moment.microsecond else moment
