"""The Shopee connector: orders (with their returns from the returns module), seller stock and
Shopee's own logistics through Open Platform v2 (``client.py``), push messages (``webhooks.py``),
orders mapped by ``mapper.py``. The platform's facts are in ``../shared/platforms/shopee/CONTRACT.md``;
``docs/channels/shopee.md`` says what is UNCONFIRMED.

Credentials: ``partner_id`` and ``partner_key`` (the app's), ``access_token``, ``refresh_token`` and
``expire_at`` (Unix seconds; renewed and sealed again as they rotate), the first of them from the code
the seller pastes into ``orderly shop authorize`` (``authorize``). Settings: ``shop_id`` (the
Shopee shop, required), ``page_size`` (orders per list page, 1-100), ``location_id`` (a multi-warehouse
seller's stock location), ``push_url`` (the callback URL as registered with Shopee, when the hub is
reached through a proxy that changes it), ``ship_method`` (pickup, dropoff or non_integrated, when the
order's channel offers several) and ``pickup_address_id``.

A listing is ``<item_id>:<model_id>`` (model 0 for an item without variations): stock goes to that
model's seller stock, up to 50 models of one item a request.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar, Literal
from urllib.parse import parse_qs, urlsplit

import httpx
from pydantic import BaseModel, ConfigDict, Field

from orderly.channels.connector import (
    ChannelError,
    Connector,
    OrderPage,
    Parcel,
    PlatformLabel,
    PushResult,
    RateLimit,
    RawOrder,
    Rejected,
    ShopConnection,
    StockPush,
    WebhookEvent,
    WriteBack,
)
from orderly.channels.shopee import client, mapper
from orderly.channels.shopee import webhooks as pushes
from orderly.core.text import StorableStr

MAX_PAGE_SIZE = 100  # get_order_list's page_size
DETAIL_BATCH = 50  # get_order_detail's order_sn_list
STOCK_BATCH = 50  # update_stock's stock_list
#: get_order_list's longest window (contract §4: 15 days, else order.order_list_invalid_time).
MAX_WINDOW = timedelta(days=15)
#: The returns module's list (UNCONFIRMED: not in the contract folder; the API reference as public SDKs
#: export it): a shop call, GET with query parameters, create or update windows of at most 15 days.
RETURN_LIST = "returns/get_return_list"
RETURNS_PAGE = 100  # get_return_list's largest page_size (UNCONFIRMED)
METHODS = ("dropoff", "pickup", "non_integrated")  # ship_order's ways; the first offered is the default
#: UNCONFIRMED (not in the contract folder): the shipping document type asked for.
DOCUMENT_TYPE = "THERMAL_AIR_WAYBILL"
LOCATION_SETTING = "location_id"
SHIPPABLE = frozenset({"READY_TO_SHIP", "RETRY_SHIP"})  # ship_order takes these only (contract §6)
ARRANGED = frozenset({"PROCESSED", "SHIPPED", "TO_CONFIRM_RECEIVE", "COMPLETED"})


class ShopeeSettings(BaseModel):
    """What a Shopee shop's settings may hold beyond the engine's own."""

    model_config = ConfigDict(extra="forbid")

    shop_id: int | None = Field(
        default=None, gt=0, lt=2**63, description="the Shopee shop id the seller authorized (sync needs it)"
    )
    page_size: int = Field(default=MAX_PAGE_SIZE, ge=1, le=MAX_PAGE_SIZE, description="orders per list page")
    location_id: StorableStr | None = Field(
        default=None, max_length=64, description="a multi-warehouse seller's stock location"
    )
    push_url: StorableStr | None = Field(
        default=None, max_length=2000, description="the push callback URL as registered with Shopee"
    )
    ship_method: Literal["pickup", "dropoff", "non_integrated"] | None = Field(
        default=None, description="how parcels go to Shopee's logistics when the channel offers several"
    )
    pickup_address_id: int | None = Field(default=None, gt=0, description="the pickup address to use")


class ShopeeConnector(Connector):
    channel = "shopee"
    # UNCONFIRMED: Shopee publishes no numeric limit (the contract §3); a conservative budget per shop,
    # shared by every call. A shop's settings may override it (``rate_limits``).
    rate_limits: ClassVar[Mapping[str, RateLimit]] = {
        op: RateLimit(per_second=10.0, burst=20, bucket="shop") for op in ("orders", "stock", "shipments")
    }
    max_push_batch = STOCK_BATCH
    webhooks = True
    webhook_polls = True
    writes_back = True
    PLATFORM_LOGISTICS = True
    webhook_credential = pushes.KEY_CREDENTIAL
    location_setting = LOCATION_SETTING
    settings_model = ShopeeSettings
    required_settings = ("shop_id",)
    address_settings = ("push_url",)

    def __init__(self, connection: ShopConnection, http: httpx.Client) -> None:
        super().__init__(connection, http)
        shop_id = connection.settings.get("shop_id")
        if isinstance(shop_id, bool) or not isinstance(shop_id, int):
            raise ChannelError("the shop's settings have no Shopee shop_id")
        self.shop_id = shop_id
        self.api = client.ShopeeApi(
            http,
            credentials=connection.credentials,
            shop_id=shop_id,
            # Looked up at each call: the engine sets both hooks after construction.
            pace=lambda operation: self.pace(operation),  # noqa: PLW0108
            keep=lambda credentials: self.keep_credentials(credentials),  # noqa: PLW0108
        ) if connection.credentials else None  # fmt: skip

    def _api(self) -> client.ShopeeApi:
        if self.api is None:
            raise ChannelError("no credentials to call Shopee with")
        return self.api

    # --- orders ---------------------------------------------------------------------------------

    def fetch_orders(
        self, updated_after: datetime, updated_before: datetime, cursor: str | None
    ) -> OrderPage:
        """One list page of a window of at most 15 days, its orders' details in batches of 50. The
        cursor is ``<window start>:<Shopee's next_cursor>``: a range longer than 15 days is read
        window after window. Shopee's bounds are whole seconds, both included: the window asked is
        at least [after, before), and the orders outside it are dropped. A window's first page also
        brings the orders of returns updated in it; every shipped order comes with its returns, and
        its version is the latest of its own and its returns' update times."""
        low = math.floor(updated_after.timestamp())
        high = math.ceil(updated_before.timestamp())
        start, page_cursor = low, ""
        if cursor is not None:
            first, _, page_cursor = cursor.partition(":")
            if not first.isdigit():
                raise ChannelError(f"not a Shopee cursor: {cursor!r}")
            start = int(first)
        end = min(high, start + int(MAX_WINDOW.total_seconds()))
        size = int(self.connection.settings.get("page_size", MAX_PAGE_SIZE))
        params = {
            "time_range_field": "update_time",
            "time_from": start,
            "time_to": end,
            "page_size": max(1, min(MAX_PAGE_SIZE, size)),
            "cursor": page_cursor,
            "response_optional_fields": "order_status",
        }
        page = self._api().call("orders", "GET", "order/get_order_list", params=params)
        listed = [o.get("order_sn") for o in page.get("order_list") or [] if isinstance(o, dict)]
        numbers: list[str] = [n for n in listed if isinstance(n, str)]
        if not page_cursor:
            # A return may change no order field get_order_list filters on (UNCONFIRMED whether it
            # moves the order's update_time): the orders of returns changed in the window come with
            # the window's first page, read by order number.
            window = {"update_time_from": start, "update_time_to": end}
            changed = {r.get("order_sn") for r in self._list_returns(window)}
            numbers += sorted(n for n in changed - set(numbers) if isinstance(n, str) and n)
        orders = [
            raw
            for raw in self._details(numbers, until=end)
            if raw.version == "0" or updated_after <= _at(raw.version) < updated_before
        ]
        following = page.get("next_cursor")
        if page.get("more") and isinstance(following, str) and following:
            next_cursor: str | None = f"{start}:{following}"
        elif end < high:
            next_cursor = f"{end + 1}:"  # the next window: Shopee's bounds include both ends
        else:
            next_cursor = None
        return OrderPage(orders, next_cursor)

    def fetch_order(self, external_id: str) -> RawOrder | None:
        if not external_id.isascii() or not external_id.isalnum():
            return None
        try:
            found = self._details([external_id], until=math.ceil(time.time()))
        except Rejected as exc:
            if "error_not_found" in str(exc):
                return None
            raise
        return found[0] if found else None

    def _details(self, numbers: Sequence[str], *, until: int) -> list[RawOrder]:
        """The orders' details, 50 a call, each shipped one with its returns created up to ``until``."""
        found: list[Any] = []
        for at in range(0, len(numbers), DETAIL_BATCH):
            params = {
                "order_sn_list": ",".join(numbers[at : at + DETAIL_BATCH]),
                "response_optional_fields": mapper.DETAIL_FIELDS,
            }
            answer = self._api().call("orders", "GET", "order/get_order_detail", params=params)
            found += answer.get("order_list") or []
        raws = [_raw_order(order) for order in found]
        self._with_returns([raw.body for raw in raws], until)
        return [_raw_order(raw.body) for raw in raws]

    def _with_returns(self, orders: Sequence[dict[str, Any]], until: int) -> None:
        """Puts each shipped order's returns beside it (``returns``, as get_return_list lists them,
        oldest first). get_return_list takes no order number (UNCONFIRMED that it has no such filter):
        the returns created since the oldest of these orders was, up to ``until``, are read in windows
        of 15 days and kept for the orders they name. An order's every return is read each time, so a
        version never lacks one an earlier version had."""
        shipped = [
            order
            for order in orders
            if order.get("order_status") in mapper.LEFT and mapper.positive_int(order.get("create_time"))
        ]
        if not shipped:
            return
        wanted = {order["order_sn"] for order in shipped}
        found: dict[str, dict[str, dict[str, Any]]] = {}
        since = min(order["create_time"] for order in shipped)
        until = max(until, since + 1)
        span = int(MAX_WINDOW.total_seconds())
        for start in range(since, until, span):
            window = {"create_time_from": start, "create_time_to": min(until, start + span)}
            for entry in self._list_returns(window):
                if entry.get("order_sn") in wanted:
                    found.setdefault(entry["order_sn"], {})[str(entry.get("return_sn"))] = entry
        for order in shipped:
            entries = found.get(order["order_sn"], {}).values()
            order[mapper.RETURNS] = sorted(entries, key=_oldest_first)

    def _list_returns(self, window: Mapping[str, int]) -> list[dict[str, Any]]:
        """Every return get_return_list finds in ``window``, page by page. ``page_no`` counts from 0
        as the reference's text says ("Default is 0"; its sample asks for page 1: UNCONFIRMED); a
        return listed twice is kept once (by ``return_sn``)."""
        found: dict[str, dict[str, Any]] = {}
        page_no = 0
        while True:
            params = {**window, "page_no": page_no, "page_size": RETURNS_PAGE}
            answer = self._api().call("orders", "GET", RETURN_LIST, params=params)
            entries = answer.get("return")
            if entries is None:
                entries = []
            if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
                raise ChannelError("get_return_list: the answer has no list of returns")
            for entry in entries:
                found.setdefault(str(entry.get("return_sn")), entry)
            if not answer.get("more") or not entries:
                return list(found.values())
            page_no += 1

    def map_order(self, raw: RawOrder) -> dict[str, Any]:
        return mapper.map_order(raw.body, self.connection.shop_code)

    def ready(self, raw: RawOrder) -> bool:
        # A push names an order without carrying it: the poll it wakes reads the order.
        return pushes.push_status(raw.body) is None

    def cancelled(self, raw: RawOrder) -> bool:
        return pushes.push_status(raw.body) == pushes.CANCELLED

    # --- stock ----------------------------------------------------------------------------------

    def push_stock(self, pushes: Sequence[StockPush]) -> list[PushResult]:
        """One update_stock per item, its models together; a model in ``failure_list`` (or missing from
        both lists) failed, whatever the call's own success."""
        results: dict[str, PushResult] = {}
        by_item: dict[int, list[tuple[int, StockPush]]] = {}
        for push in pushes:
            ids = _listing(push.listing_id)
            if ids is None:
                error = "the listing id is not a Shopee <item_id>:<model_id>"
                results[push.listing_id] = PushResult(push.listing_id, ok=False, error=error)
            else:
                by_item.setdefault(ids[0], []).append((ids[1], push))
        for item_id, models in by_item.items():
            for at in range(0, len(models), STOCK_BATCH):
                results |= self._update_stock(item_id, models[at : at + STOCK_BATCH])
        return [results[push.listing_id] for push in pushes]

    def _update_stock(self, item_id: int, models: Sequence[tuple[int, StockPush]]) -> dict[str, PushResult]:
        stock_list = []
        for model_id, push in models:
            location = (
                push.location if push.location is not None else self.connection.settings.get(LOCATION_SETTING)
            )
            level: dict[str, Any] = {"stock": push.quantity}
            if location:
                level["location_id"] = location
            stock_list.append({"model_id": model_id, "seller_stock": [level]})
        body = {"item_id": item_id, "stock_list": stock_list}
        try:
            answer = self._api().call("stock", "POST", "product/update_stock", json=body)
        except Rejected as exc:
            return {
                push.listing_id: PushResult(push.listing_id, ok=False, error=str(exc)) for _, push in models
            }
        done = {
            entry.get("model_id") for entry in answer.get("success_list") or [] if isinstance(entry, dict)
        }
        failed = {
            entry.get("model_id"): str(entry.get("failed_reason") or "no reason given")
            for entry in answer.get("failure_list") or []
            if isinstance(entry, dict)
        }
        results = {}
        for model_id, push in models:
            if model_id in failed:
                error = f"Shopee refused model {model_id} of item {item_id}: {failed[model_id]}"
                results[push.listing_id] = PushResult(push.listing_id, ok=False, error=error)
            elif model_id in done:
                results[push.listing_id] = PushResult(push.listing_id, ok=True)
            else:
                error = f"Shopee's answer lists model {model_id} of item {item_id} neither done nor failed"
                results[push.listing_id] = PushResult(push.listing_id, ok=False, error=error)
        return results

    # --- Shopee's logistics ----------------------------------------------------------------------

    def ship_with_platform(self, parcel: Parcel, *, method: str | None = None) -> PlatformLabel:
        """get_shipping_parameter -> ship_order (pickup, dropoff or non_integrated, as the order's
        channel needs) -> get_tracking_number, and the shipping document where Shopee makes one. An
        order already arranged (``parcel.maybe_sent``: an earlier try's answer was lost) is not shipped
        again: its tracking number and document are read."""
        order_sn = parcel.external_id
        order = self._shipping_order(order_sn)
        carrier = str(order.get("shipping_carrier") or "Shopee")
        packages = tuple(
            str(p["package_number"]) for p in order.get("package_list") or [] if p.get("package_number")
        )
        status = order.get("order_status")
        # Looked at first, always: arranged already (an earlier try whose answer was lost, or the
        # seller in Seller Centre) is read, never shipped again.
        if status in SHIPPABLE:
            self._ship(order_sn, parcel, method or self.connection.settings.get("ship_method"))
        elif status not in ARRANGED:
            raise Rejected(f"Shopee order {order_sn} is {status}: there is nothing to ship")
        number = self._tracking_number(order_sn)
        if not number:
            # Shopee makes the number after ship_order, not always at once: the job asks again later.
            raise ChannelError(f"Shopee has no tracking number for order {order_sn} yet")
        return PlatformLabel(number, carrier, self._document(order_sn, number), packages)

    def _shipping_order(self, order_sn: str) -> dict[str, Any]:
        params = {"order_sn_list": order_sn, "response_optional_fields": "shipping_carrier,package_list"}
        found = self._api().call("shipments", "GET", "order/get_order_detail", params=params)
        orders = found.get("order_list") or []
        if not orders or not isinstance(orders[0], dict):
            raise Rejected(f"Shopee has no order {order_sn}")
        order: dict[str, Any] = orders[0]
        return order

    def _ship(self, order_sn: str, parcel: Parcel, method: str | None) -> None:
        api = self._api()
        offered = api.call(
            "shipments", "GET", "logistics/get_shipping_parameter", params={"order_sn": order_sn}
        )
        needed = offered.get("info_needed") or {}
        ways = [way for way in METHODS if way in needed]
        if method is not None and method not in ways:
            raise Rejected(
                f"order {order_sn} cannot ship by {method} on Shopee: its channel offers "
                f"{', '.join(ways) or 'nothing'}"
            )
        way = method or (ways[0] if ways else None)
        if way is None:
            raise Rejected(f"Shopee offers no way to ship order {order_sn} (get_shipping_parameter)")
        detail: dict[str, Any] = {}
        if way == "pickup":
            detail = self._pickup(order_sn, offered.get("pickup") or {})
        elif way == "dropoff":
            branches = (offered.get("dropoff") or {}).get("branch_list") or []
            if branches:  # UNCONFIRMED: a branch named when Shopee lists some
                detail = {"branch_id": branches[0].get("branch_id")}
        else:
            if not parcel.tracking_number:
                raise Rejected(
                    f"order {order_sn} ships by the seller's own carrier: it needs a tracking number"
                )
            detail = {"tracking_number": parcel.tracking_number}
        self.acted = True
        # Never sent twice blindly: a lost answer is looked for first (maybe_sent) on the next try.
        api.call(
            "shipments",
            "POST",
            "logistics/ship_order",
            json={"order_sn": order_sn, way: detail},
            replayable=False,
        )

    def _pickup(self, order_sn: str, pickup: Mapping[str, Any]) -> dict[str, Any]:
        addresses = [a for a in pickup.get("address_list") or [] if isinstance(a, dict)]
        wanted = self.connection.settings.get("pickup_address_id")
        if wanted:
            chosen = next((a for a in addresses if a.get("address_id") == wanted), None)
        else:
            flagged = (a for a in addresses if "pickup_address" in (a.get("address_flag") or []))
            chosen = next(flagged, addresses[0] if addresses else None)
        slots = (chosen or {}).get("time_slot_list") or []
        if chosen is None or not slots:
            raise Rejected(f"Shopee offers no pickup address and time for order {order_sn}")
        return {"address_id": chosen["address_id"], "pickup_time_id": slots[0]["pickup_time_id"]}

    def _tracking_number(self, order_sn: str) -> str:
        answer = self._api().call(
            "shipments", "GET", "logistics/get_tracking_number", params={"order_sn": order_sn}
        )
        number = answer.get("tracking_number")
        return number if isinstance(number, str) else ""

    def _document(self, order_sn: str, number: str) -> bytes | None:
        """The shipping label Shopee prints for its integrated channels (UNCONFIRMED request shapes);
        None where it makes none (the seller's own carrier)."""
        api = self._api()
        order_list = [{"order_sn": order_sn, "tracking_number": number}]
        made = api.call(
            "shipments", "POST", "logistics/create_shipping_document", json={"order_list": order_list}
        )
        results: list[dict[str, Any]] = made.get("result_list") or [{}]
        if results[0].get("fail_error"):
            return None
        state = api.call(
            "shipments", "POST", "logistics/get_shipping_document_result", json={"order_list": order_list}
        )
        done: list[dict[str, Any]] = state.get("result_list") or [{}]
        status = done[0].get("status")
        if status != "READY":
            raise ChannelError(
                f"Shopee's shipping document for order {order_sn} is {status or 'not made'} yet"
            )
        body = {"shipping_document_type": DOCUMENT_TYPE, "order_list": order_list}
        return api.download("shipments", "logistics/download_shipping_document", json=body)

    def write_back(self, parcel: Parcel) -> WriteBack:
        """A parcel the hub sent with its own carrier: Shopee takes its tracking number through
        ship_order's ``non_integrated`` way, for channels that take one; integrated channels ship only
        through Shopee's logistics (the "platform" carrier). Shopee has no call to change a number
        once given (UNCONFIRMED): an accepted parcel is left as it is."""
        if parcel.accepted:
            return WriteBack(tuple(parcel.accepted), "Shopee keeps the tracking number it took")
        if not parcel.tracking_number:
            raise Rejected("Shopee takes a parcel only with its tracking number")
        if parcel.maybe_sent and self._tracking_number(parcel.external_id) == parcel.tracking_number:
            return WriteBack((parcel.external_id,), "found taken by an earlier try")
        self._ship(parcel.external_id, parcel, "non_integrated")
        return WriteBack((parcel.external_id,), f"Shopee order {parcel.external_id} shipped (non_integrated)")

    # --- authorization ----------------------------------------------------------------------------

    def authorize(self, code: str) -> dict[str, str]:
        """The shop's first tokens for the code Shopee's authorization page gave the seller
        (``orderly shop authorize``), exchanged through ``auth/token/get`` for this shop's shop_id."""
        return self._api().exchange_code(_pasted_code(code, self.shop_id))

    # --- pushes ---------------------------------------------------------------------------------

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
        registered = settings.get(pushes.URL_SETTING)
        return pushes.verify(secret, registered if isinstance(registered, str) else url, headers, body)

    @classmethod
    def parse_webhook(cls, headers: Mapping[str, str], body: bytes) -> WebhookEvent:
        return pushes.parse(body)


def _pasted_code(pasted: str, shop_id: int) -> str:
    """The code in what the seller pasted: the code alone, or the address Shopee's authorization sent
    their browser to (``…?code=…&shop_id=…``), copied whole. A code is good only for the shop it was
    given for, so an address naming another shop is refused before the code is spent on the wrong one."""
    if "code=" not in pasted:
        return pasted
    query = parse_qs(urlsplit(pasted).query or pasted)
    code, shop = query.get("code", [""])[0], query.get("shop_id", [""])[0]
    if not code:
        raise Rejected("the address pasted has no code")
    if shop and shop != str(shop_id):
        raise Rejected(
            f"the code was given for Shopee shop {shop}, and this shop's shop_id setting is {shop_id}"
        )
    return code


def _raw_order(order: Any) -> RawOrder:
    """A detail entry as fetched; one without a readable update_time is kept with version 0, so its
    mapping fails in the inbox where a person sees it, instead of failing the whole page."""
    if not isinstance(order, dict) or not isinstance(order.get("order_sn"), str) or not order["order_sn"]:
        raise ChannelError("Shopee sent an order without an order_sn")
    stamp = mapper.changed(order)  # the order's update_time, or a later one of its returns'
    version = str(stamp) if mapper.positive_int(stamp) else "0"
    return RawOrder(order["order_sn"], version, order)


def _oldest_first(entry: Mapping[str, Any]) -> tuple[int, str]:
    created = entry.get("create_time")
    return (created if mapper.positive_int(created) else 0, str(entry.get("return_sn")))


def _at(version: str) -> datetime:
    return datetime.fromtimestamp(int(version), UTC)


def _listing(listing_id: str) -> tuple[int, int] | None:
    item, _, model = listing_id.partition(":")
    if not (item.isascii() and item.isdigit() and model.isascii() and model.isdigit()):
        return None
    return int(item), int(model)
