"""The Lazada Open Platform connector: orders by ``/orders/get`` (incremental by ``update_after``) with
their items from ``/orders/items/get``, stock through ``/product/price_quantity/update``, parcels through
Lazada's own logistics (pack, ready to ship, the shipping label), and signed pushes. HTTP and tokens in
``client.py``, payloads in ``mapper.py``, pushes in ``webhooks.py``; docs/channels/lazada.md says what
is UNCONFIRMED.

Credentials: ``app_key`` and ``app_secret`` (the Lazada app), and the seller's ``access_token`` and
``refresh_token`` with ``access_expires_at`` (Unix seconds), or instead the authorization ``code`` the
seller pasted after authorizing the app, exchanged on first use. Tokens Lazada issues later are sealed
into the shop as they come.
Settings: ``country`` (the site: SG, MY, PH, TH, VN, ID; the shop's ``base_url`` is that site's API
host, ``client.HOSTS``, e.g. ``https://api.lazada.sg/rest``; its currency is the orders' when items
name none), optionally ``auth_url`` (the token host; Lazada's own for
Lazada hosts, else ``base_url`` so one sandbox serves both), ``page_size`` (orders per page, at most
100) and ``shipping_provider`` (the provider code packs go with; by default the first Lazada lists).

A listing is a Lazada SKU (``sku_id``); pushes name the seller SKU and, where the mapping gives them,
``item_id`` and ``sku_id``; a mapping's location is a Lazada warehouse code (multi-warehouse sellers).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, ClassVar
from urllib.parse import urlsplit

import httpx
from pydantic import BaseModel, ConfigDict, Field

from orderly.channels.connector import (
    AuthFailed,
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
)
from orderly.channels.lazada import client, mapper, webhooks
from orderly.channels.schemas import Address
from orderly.core import jsontext
from orderly.core.text import StorableStr

MAX_PAGE_SIZE = 100
#: Orders each /orders/get page repeats of the one before (see ``fetch_orders``).
PAGE_OVERLAP = 5
#: Orders per /orders/items/get call (UNCONFIRMED: the contract did not save that API; 50 is what
#: third-party clients send).
ITEMS_BATCH = 50
#: SKUs per /product/price_quantity/update: at most 50, 20 recommended (CONTRACT section 5).
PUSH_BATCH = 20
#: The pack's delivery type in the new fulfilment flow (CONTRACT section 6).
DROPSHIP = "dropship"


class LazadaSettings(BaseModel):
    """What a Lazada shop's settings may hold beyond the engine's own."""

    model_config = ConfigDict(extra="forbid")

    country: StorableStr | None = Field(
        default=None,
        pattern=r"^(SG|MY|PH|TH|VN|ID)$",
        description="the Lazada site: its API host is the shop's base_url, its currency the orders' default",
    )
    auth_url: Address | None = Field(default=None, description="the token host, when not Lazada's own")
    page_size: int = Field(default=MAX_PAGE_SIZE, ge=1, le=MAX_PAGE_SIZE, description="orders per page")
    shipping_provider: StorableStr | None = Field(
        default=None, max_length=100, description="the provider code packs go with (default: Lazada's first)"
    )


class LazadaConnector(Connector):
    channel = "lazada"
    # Lazada publishes no figures (CONTRACT section 3: UNCONFIRMED); these stay well under what
    # sellers report and are tunable per shop (settings.rate_limits). Each API has its own bucket.
    rate_limits: ClassVar[Mapping[str, RateLimit]] = {
        "orders": RateLimit(2.0, 10),
        "order_items": RateLimit(2.0, 10),
        "stock": RateLimit(2.0, 10),
        "shipments": RateLimit(2.0, 10),
        "auth": RateLimit(1.0, 5),
    }
    max_push_batch = PUSH_BATCH
    webhooks = True
    webhook_polls = True
    webhook_credential = ("app_key", "app_secret")
    PLATFORM_LOGISTICS = True
    settings_model = LazadaSettings
    address_settings = ("auth_url",)
    location_setting = "warehouse_code"
    listing_ids: ClassVar[Mapping[str, str]] = {
        "item_id": "the Lazada product (ItemId)",
        "sku_id": "the Lazada SKU (SkuId; else the listing id)",
    }

    @classmethod
    def listing_problems(cls, location: str | None, platform_ids: Mapping[str, str]) -> list[tuple[str, str]]:
        problems = super().listing_problems(location, platform_ids)
        return problems + [
            ("platform_ids", f"{name} {value!r} is not a Lazada id (digits)")
            for name, value in sorted(platform_ids.items())
            if name in cls.listing_ids and not (value.isascii() and value.isdigit())
        ]

    def __init__(self, connection: ShopConnection, http: httpx.Client) -> None:
        super().__init__(connection, http)
        settings = connection.settings
        host = urlsplit(connection.base_url).hostname or ""
        own = host.startswith("api.lazada.") or host.endswith(".lazada.com")
        auth_url = settings.get("auth_url") or (client.AUTH_URL if own else connection.base_url)
        country = settings.get("country")
        if own and country and connection.base_url.rstrip("/") != client.HOSTS[country]:
            raise AuthFailed(f"a Lazada {country} shop's base_url is {client.HOSTS[country]}")
        self.currency = mapper.SITE_CURRENCY.get(country or "")
        self.page_size = max(1, min(MAX_PAGE_SIZE, int(settings.get("page_size", MAX_PAGE_SIZE))))
        self.api: client.Lazop | None = None
        if connection.credentials:  # a delivery reader has none, and calls nothing
            self.api = client.Lazop(
                http,
                base_url=connection.base_url,
                auth_url=auth_url,
                credentials=connection.credentials,
                # Looked up at each call: the engine sets both hooks after construction.
                pace=lambda operation: self.pace(operation),  # noqa: PLW0108
                keep=lambda credentials: self.keep_credentials(credentials),  # noqa: PLW0108
            )

    @property
    def lazop(self) -> client.Lazop:
        if self.api is None:
            raise AuthFailed("the shop has no Lazada credentials")
        return self.api

    # --- orders -----------------------------------------------------------------------------------

    def fetch_orders(
        self, updated_after: datetime, updated_before: datetime, cursor: str | None
    ) -> OrderPage:
        """A page of orders updated in [after, before), oldest change first, each with its items.
        Lazada compares to the second with both bounds inclusive: the window asked for is widened to
        whole seconds and trimmed here. The cursor is the offset of the next page, which overlaps this
        one by ``PAGE_OVERLAP`` orders."""
        offset = int(cursor or 0)
        params = {
            "update_after": mapper.lazada_time(updated_after.replace(microsecond=0)),
            "update_before": mapper.lazada_time(updated_before.replace(microsecond=0)),
            "sort_by": "updated_at",
            "sort_direction": "ASC",
            "offset": str(offset),
            "limit": str(self.page_size),
        }
        data = self._data(self.lazop.call("orders", "GET", "/orders/get", params), "/orders/get", dict)
        orders = data.get("orders") or []
        if not isinstance(orders, list) or not all(isinstance(o, dict) and o.get("order_id") for o in orders):
            raise ChannelError("Lazada /orders/get: orders is not a list of orders", body=str(data)[:2000])
        items = self._items([str(o["order_id"]) for o in orders])
        raws = [self._raw(order, items.get(str(order["order_id"]), [])) for order in orders]
        kept = [
            raw
            for raw in raws
            if updated_after <= mapper.instant(raw.body["order"]["updated_at"]) < updated_before
        ]
        # A full page may have more behind it; countTotal says so too (as a string).
        total = _count(data.get("countTotal"))
        more = len(orders) == self.page_size and (total is None or offset + len(orders) < total)
        # Offset paging over a list that changes as it is read: an order of an earlier page updated
        # meanwhile leaves the window, and those after it move up. The next page starts a few earlier,
        # so that much shifting skips nothing (what is read twice is one inbox entry).
        step = len(orders) - min(PAGE_OVERLAP, len(orders) // 2)
        return OrderPage(kept, str(offset + step) if more else None)

    def fetch_order(self, external_id: str) -> RawOrder | None:
        if not (external_id.isascii() and external_id.isdigit()):
            return None
        try:
            body = self.lazop.call("orders", "GET", "/order/get", {"order_id": external_id})
        except Rejected as exc:
            if "NOT_FOUND" in str(exc).upper():
                return None
            raise
        order = self._data(body, "/order/get", dict)
        return self._raw(order, self._items([external_id]).get(external_id, []))

    def _items(self, order_ids: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
        """Every order's items, ``ITEMS_BATCH`` orders a call."""
        found: dict[str, list[dict[str, Any]]] = {}
        for start in range(0, len(order_ids), ITEMS_BATCH):
            batch = order_ids[start : start + ITEMS_BATCH]
            params = {"order_ids": "[" + ",".join(batch) + "]"}
            body = self.lazop.call("order_items", "GET", "/orders/items/get", params)
            for entry in self._data(body, "/orders/items/get", list):
                if isinstance(entry, dict) and isinstance(entry.get("order_items"), list):
                    found[str(entry.get("order_id"))] = [
                        i for i in entry["order_items"] if isinstance(i, dict)
                    ]
        return found

    def _raw(self, order: dict[str, Any], items: list[dict[str, Any]]) -> RawOrder:
        order_id = str(order["order_id"])
        try:
            version = mapper.version(order, items)
        except (ValueError, KeyError) as exc:
            raise ChannelError(f"Lazada order {order_id}: {exc}") from exc
        return RawOrder(order_id, version, {"order": order, "items": items})

    @staticmethod
    def _data(body: Mapping[str, Any], api_path: str, kind: type) -> Any:
        data = body.get("data")
        if not isinstance(data, kind):
            raise ChannelError(f"Lazada {api_path}: the answer has no data", body=str(body)[:2000])
        return data

    def map_order(self, raw: RawOrder) -> dict[str, Any]:
        return mapper.map_order(
            self.connection.shop_code, raw.body["order"], raw.body["items"], self.currency
        )

    def ready(self, raw: RawOrder) -> bool:
        """False for a stored push (it names its order, which a poll reads), and for an order Lazada
        listed without items (a later reading has them)."""
        if webhooks.is_push(raw.body):
            return False
        return mapper.missing(raw.body.get("order") or {}, raw.body.get("items") or [], self.currency) is None

    # --- stock ------------------------------------------------------------------------------------

    def push_stock(self, pushes: Sequence[StockPush]) -> list[PushResult]:
        """One update of up to ``PUSH_BATCH`` SKUs. A ``code "0"`` answer can still refuse some of them
        in ``detail[]``: those are failed pushes, never shown."""
        usable = [push for push in pushes if push.platform_sku]
        results = {
            push.listing_id: PushResult(
                push.listing_id, ok=False, error="Lazada updates stock by seller SKU: the mapping has none"
            )
            for push in pushes
            if not push.platform_sku
        }
        if usable:
            skus = [
                {
                    "item_id": push.platform_ids.get("item_id") or push.binding.get("item_id"),
                    "sku_id": push.platform_ids.get("sku_id")
                    or push.binding.get("sku_id")
                    or _digits(push.listing_id),
                    "seller_sku": push.platform_sku,
                    "quantity": push.quantity,
                    "warehouse": push.location or self.connection.settings.get(self.location_setting or ""),
                }
                for push in usable
            ]
            params = {"payload": mapper.quantity_payload(skus)}
            try:
                body = self.lazop.call("stock", "POST", "/product/price_quantity/update", params)
            except Rejected as exc:
                body = {"detail": None, "refused": str(exc)}
            refused = body.get("refused")
            failed = mapper.batch_failures(body, [str(push.platform_sku) for push in usable])
            for push in usable:
                error = str(refused) if refused else failed.get(str(push.platform_sku))
                results[push.listing_id] = PushResult(push.listing_id, ok=error is None, error=error)
        return [results[push.listing_id] for push in pushes]

    # --- shipping through Lazada's logistics -------------------------------------------------------------

    def ship_with_platform(self, parcel: Parcel, *, method: str | None = None) -> PlatformLabel:
        """Pack the parcel's items with Lazada (``/order/fulfill/pack``, provider ``method`` or the
        shop's, else Lazada's first), set the package ready to ship (``/order/package/rts``) and fetch
        its label (``/order/package/document/get``). Items Lazada already packed (an earlier try whose
        answer was lost, or the seller in Seller Center) are not packed again: their package is taken."""
        items = self._items([parcel.external_id]).get(parcel.external_id)
        if not items:
            raise Rejected(f"Lazada knows no order {parcel.external_id}")
        chosen = _parcel_items(parcel, items)
        to_pack = [i for i in chosen if not i.get("package_id")]
        if to_pack:
            blocked = [
                f"{i['order_item_id']} ({i.get('status')})"
                for i in to_pack
                if mapper.item_status(i) not in {"pending", "repacked"}
            ]
            if blocked:
                raise Rejected(f"Lazada order {parcel.external_id}: items not packable: {', '.join(blocked)}")
            provider = method or self.connection.settings.get("shipping_provider") or self._provider()
            request = {
                "pack_order_list": [
                    {"order_id": parcel.external_id, "order_item_list": [i["order_item_id"] for i in to_pack]}
                ],
                "delivery_type": DROPSHIP,
                "shipping_provider_code": provider,
            }
            self.acted = True
            body = self.lazop.call(
                "shipments",
                "POST",
                "/order/fulfill/pack",
                {"packReq": jsontext.dumps(request).decode()},
                replayable=False,
            )
            for result in _results(body, "pack_order_list"):
                for item in result.get("order_item_list") or []:
                    if str(item.get("item_err_code", "0")) != "0":
                        raise Rejected(
                            f"Lazada refused to pack item {item.get('order_item_id')}: {item.get('msg')}"
                        )
            items = self._items([parcel.external_id])[parcel.external_id]
            chosen = _parcel_items(parcel, items)
        packages = sorted({str(i["package_id"]) for i in chosen if i.get("package_id")})
        if not packages:
            raise ChannelError(f"Lazada packed order {parcel.external_id} but shows no package")
        waiting = [i for i in chosen if mapper.item_status(i) == "packed"]
        if waiting:
            request = {"packages": [{"package_id": p} for p in packages]}
            self.acted = True
            body = self.lazop.call(
                "shipments",
                "POST",
                "/order/package/rts",
                {"readyToShipReq": jsontext.dumps(request).decode()},
            )
            for result in _results(body, "packages"):
                if str(result.get("item_err_code", "0")) != "0":
                    raise Rejected(
                        f"Lazada refused ready-to-ship of {result.get('package_id')}: {result.get('msg')}"
                    )
        first = chosen[0]
        tracking = str(first.get("tracking_code") or "")
        if not tracking:
            raise ChannelError(f"Lazada gave order {parcel.external_id}'s package no tracking number yet")
        return PlatformLabel(
            tracking_number=tracking,
            carrier=str(first.get("shipment_provider") or "Lazada"),
            label_pdf=self._label(packages),
            platform_ids=tuple(packages),
        )

    def _provider(self) -> str:
        body = self.lazop.call("shipments", "GET", "/order/shipment/providers/get")
        data = self._data(body, "/order/shipment/providers/get", dict)
        for provider in data.get("shipment_providers") or []:
            if isinstance(provider, dict) and (provider.get("provider_code") or provider.get("name")):
                return str(provider.get("provider_code") or provider["name"])
        raise Rejected("Lazada lists no shipment provider for the shop")

    def _label(self, packages: Sequence[str]) -> bytes | None:
        """The label PDF of the packages, where Lazada gives one (UNCONFIRMED shape: ``pdf_url``)."""
        request = {"doc_type": "PDF", "packages": [{"package_id": p} for p in packages]}
        body = self.lazop.call(
            "shipments",
            "GET",
            "/order/package/document/get",
            {"getDocumentReq": jsontext.dumps(request).decode()},
        )
        result = body.get("result")
        data = result.get("data") if isinstance(result, dict) else None
        url = data.get("pdf_url") if isinstance(data, dict) else None
        if not isinstance(url, str) or not url:
            return None
        self.pace("shipments")
        try:
            response = self.client.get(url)
        except httpx.HTTPError as exc:
            raise ChannelError(f"Lazada label download failed: {exc!r}") from exc
        if response.status_code != 200 or not response.content.startswith(b"%PDF"):
            raise ChannelError(f"Lazada label download: HTTP {response.status_code}, not a PDF")
        return response.content

    # --- authorization ------------------------------------------------------------------------------

    def authorize(self, code: str) -> dict[str, str]:
        """The seller's tokens for the code Lazada's authorization page gave (``orderly shop authorize``)."""
        return self.lazop.exchange(code)

    # --- pushes -----------------------------------------------------------------------------------

    @classmethod
    def verify_webhook(cls, secret: str | None, headers: Mapping[str, str], body: bytes) -> bool:
        return webhooks.verify(secret, headers, body)

    @classmethod
    def parse_webhook(cls, headers: Mapping[str, str], body: bytes) -> WebhookEvent:
        return webhooks.parse(body)


def _count(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _digits(text: str) -> str | None:
    return text if text.isascii() and text.isdigit() else None


def _parcel_items(parcel: Parcel, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The order's items (one per unit) that make the parcel: for each line, its units' worth of the
    items of its seller SKU (else Lazada SKU) not cancelled, packed ones first."""
    chosen: list[dict[str, Any]] = []
    for line in parcel.lines:
        named = [
            i
            for i in items
            if mapper.item_status(i) not in mapper.CANCELLED
            and i not in chosen
            and (
                (line.platform_sku and i.get("sku") == line.platform_sku)
                or (not line.platform_sku and str(i.get("sku_id")) == line.listing_id)
            )
        ]
        named.sort(key=lambda i: not i.get("package_id"))
        if len(named) < line.quantity:
            name = line.platform_sku or line.listing_id
            raise Rejected(
                f"order {parcel.external_id}: {name} x{line.quantity} to ship but Lazada's order has fewer"
            )
        chosen += named[: line.quantity]
    if not chosen:
        raise Rejected(f"order {parcel.external_id}: the parcel has no units")
    return chosen


def _results(body: Mapping[str, Any], key: str) -> list[dict[str, Any]]:
    """The per-order or per-package results inside ``result.data`` of the fulfilment APIs."""
    result = body.get("result")
    if not isinstance(result, dict):
        raise ChannelError("Lazada fulfilment answer has no result", body=str(body)[:2000])
    if result.get("success") is False:
        raise Rejected(f"Lazada refused: {result.get('error_code')}: {result.get('error_msg')}")
    data = result.get("data")
    found = data.get(key) if isinstance(data, dict) else None
    return [entry for entry in found if isinstance(entry, dict)] if isinstance(found, list) else []
