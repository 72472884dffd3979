"""The TikTok Shop connector (Partner API version 202309): orders by ``orders/search`` (incremental on
``update_time`` with ``page_token`` paging) with their returns from ``returns/search``, stock by
``inventory/update`` one call per product, parcels by ship package (TikTok's own logistics, with its
label, or the seller's carrier), order notifications by webhook; HTTP and signing in ``client.py``,
payloads mapped by ``mapper.py``, deliveries in ``webhooks.py``.

Credentials: ``app_key`` and ``app_secret`` (the Partner Center app), ``access_token`` and
``refresh_token`` (the seller's authorisation; ``access_token_expire_in``, Unix seconds, when known).
Refreshed tokens are stored back sealed like the others. Settings: ``shop_cipher`` (required: the
shop's cipher from the authorized-shops call), ``warehouse_id`` (where stock is set unless a listing's
mapping names its own warehouse; learned when the SKU sits in exactly one), ``page_size`` (orders per
page, 1 to 100), ``handover_method`` (PICKUP or DROP_OFF for parcels TikTok collects),
``shipping_providers`` (our carrier names to TikTok's shipping provider ids, for parcels the seller
ships with its own carrier) and ``auth_url`` (the token host; TikTok's own for TikTok's API host, else
the shop's base URL, so one sandbox serves both).

A listing is a TikTok SKU (``sku_id``, what order lines carry); its product id is named on the SKU
mapping (``product_id``) or learned from a product search by seller SKU.

Orders fulfilled by TikTok (FBT) are mapped as platform-fulfilled: the hub keeps them and never
reserves or ships its own stock for them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar, Literal
from urllib.parse import quote, urlsplit

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
    WriteBack,
)
from orderly.channels.domain import carrier_key
from orderly.channels.schemas import Address
from orderly.channels.tiktok_shop import mapper, webhooks
from orderly.channels.tiktok_shop.client import PartnerApi
from orderly.channels.tiktok_shop.webhooks import SECRET_CREDENTIALS
from orderly.core.text import StorableStr

AUTH_URL = "https://auth.tiktok-shops.com"
API_HOST = "tiktokglobalshop.com"
ORDERS_SEARCH = "/order/202309/orders/search"
ORDER_DETAIL = "/order/202309/orders"
PRODUCTS_SEARCH = "/product/202309/products/search"
RETURNS_SEARCH = "/return_refund/202309/returns/search"
#: returns/search's page_size (the doc's range: 10 to 50); also the order ids one search names.
RETURNS_PAGE = 50
MAX_PAGE_SIZE = 100
#: Order detail takes at most this many ids a call (UNCONFIRMED; the sandbox's figure).
DETAIL_BATCH = 50
WAREHOUSE_SETTING = "warehouse_id"
#: What the engine keeps of a listing: its product, and the warehouses its SKU is stocked at.
PRODUCT, WAREHOUSES = "product_id", "warehouses"
PUSH_BATCH = 50


class TikTokShopSettings(BaseModel):
    """What a TikTok Shop shop's settings may hold beyond the engine's own."""

    model_config = ConfigDict(extra="forbid")

    shop_cipher: StorableStr | None = Field(
        default=None, min_length=1, max_length=200, description="the shop's cipher; needed to sync"
    )
    warehouse_id: StorableStr | None = Field(
        default=None,
        pattern=r"^\d{1,40}$",
        description="the warehouse stock is set at (a listing may name its own)",
    )
    page_size: int = Field(default=MAX_PAGE_SIZE, ge=1, le=MAX_PAGE_SIZE, description="orders per page")
    handover_method: Literal["PICKUP", "DROP_OFF"] = Field(
        default="PICKUP", description="how parcels TikTok's logistics ships reach it"
    )
    shipping_providers: dict[StorableStr, StorableStr] = Field(
        default_factory=dict,
        max_length=200,
        description="our carrier names to TikTok shipping provider ids (parcels shipped with our carriers)",
    )
    auth_url: Address | None = Field(default=None, description="the token host, when not TikTok's own")


class TikTokShopConnector(Connector):
    channel = "tiktok_shop"
    # UNCONFIRMED (CONTRACT.md section 7): TikTok publishes no figures; third-party claims put the
    # limit per app, shop and API at tens of calls a second. Each API is its own budget here.
    rate_limits: ClassVar[Mapping[str, RateLimit]] = {
        "orders": RateLimit(10.0, 20),
        "order_detail": RateLimit(10.0, 20),
        "products": RateLimit(10.0, 20),
        "stock": RateLimit(10.0, 20),
        "returns": RateLimit(10.0, 20),
        "shipments": RateLimit(5.0, 10),
    }
    #: Listings a push takes: one inventory update per product carries all of that product's SKUs
    #: (UNCONFIRMED: TikTok's cap on SKUs a call; a product has at most 100).
    max_push_batch = PUSH_BATCH
    webhooks = True
    webhook_polls = True
    webhook_credential = SECRET_CREDENTIALS
    writes_back = True
    PLATFORM_LOGISTICS = True
    settings_model = TikTokShopSettings
    required_settings = ("shop_cipher",)
    address_settings = ("auth_url",)
    location_setting = WAREHOUSE_SETTING
    listing_ids = {PRODUCT: "the TikTok product the SKU belongs to (learned by seller SKU if not set)"}

    @classmethod
    def listing_problems(cls, location: str | None, platform_ids: Mapping[str, str]) -> list[tuple[str, str]]:
        problems = super().listing_problems(location, platform_ids)
        if location is not None and not _is_id(location):
            problems.append(("location", f"{location!r} is not a TikTok warehouse id (digits)"))
        if PRODUCT in platform_ids and not _is_id(platform_ids[PRODUCT]):
            problems.append(
                ("platform_ids", f"product_id {platform_ids[PRODUCT]!r} is not a TikTok id (digits)")
            )
        return problems

    def __init__(self, connection: ShopConnection, http: httpx.Client) -> None:
        super().__init__(connection, http)
        settings = connection.settings
        host = urlsplit(connection.base_url).hostname or ""
        default_auth = AUTH_URL if host.endswith(API_HOST) else connection.base_url
        self.api = (
            PartnerApi(
                http,
                auth_url=settings.get("auth_url") or default_auth,
                credentials=connection.credentials,
                shop_cipher=settings.get("shop_cipher"),
                # Looked up at each call: the engine sets these hooks after construction.
                pace=lambda operation: self.pace(operation),  # noqa: PLW0108
                keep=lambda credentials: self.keep_credentials(credentials),  # noqa: PLW0108
            )
            if connection.credentials
            else None
        )

    def _api(self) -> PartnerApi:
        if self.api is None:
            raise AuthFailed("the shop has no TikTok Shop credentials")
        return self.api

    # --- orders ---------------------------------------------------------------------------------------

    def fetch_orders(
        self, updated_after: datetime, updated_before: datetime, cursor: str | None
    ) -> OrderPage:
        """Orders updated in [after, before), oldest change first. TikTok filters on whole seconds
        (``update_time_ge`` inclusive, ``update_time_lt`` exclusive): the window asked is at least as
        wide, and [after, before) is kept exactly here. The same filters go with every page."""
        size = max(1, min(MAX_PAGE_SIZE, int(self.connection.settings.get("page_size", MAX_PAGE_SIZE))))
        body = {"update_time_ge": _floor(updated_after), "update_time_lt": _ceil(updated_before)}
        params = {"page_size": size, "sort_field": "update_time", "sort_order": "ASC", "page_token": cursor}
        data = self._api().call("orders", "POST", ORDERS_SEARCH, params=params, body=body)
        orders = _orders(data, "orders/search")
        token = data.get("next_page_token") if isinstance(data, dict) else None
        if cursor is None:
            # A return changes no order field TikTok filters on (UNCONFIRMED whether it moves the
            # order's update_time): the orders of returns changed in the window come with the first page.
            listed = {str(order.get("id")) for order in orders}
            returned = {str(r.get("order_id")) for r in self._search_returns(body) if r.get("order_id")}
            orders += self._details(sorted(returned - listed))
        self._with_returns(orders)
        kept = [_raw(order) for order in orders if updated_after <= mapper.changed(order) < updated_before]
        return OrderPage(kept, str(token) if token else None)

    def fetch_order(self, external_id: str) -> RawOrder | None:
        if not _is_id(external_id):
            return None
        found = self._details([external_id])
        self._with_returns(found)
        return _raw(found[0]) if found else None

    def _with_returns(self, orders: Sequence[dict[str, Any]]) -> None:
        """Puts each shipped order's returns beside it (``return_orders``, as returns/search lists them,
        oldest first), read by order id, ``RETURNS_PAGE`` orders a search."""
        shipped = [order for order in orders if order.get("status") in mapper.SHIPPED]
        for start in range(0, len(shipped), RETURNS_PAGE):
            batch = shipped[start : start + RETURNS_PAGE]
            found: dict[str, list[dict[str, Any]]] = {}
            for entry in self._search_returns({"order_ids": [str(order["id"]) for order in batch]}):
                found.setdefault(str(entry.get("order_id")), []).append(entry)
            for order in batch:
                order["return_orders"] = found.get(str(order["id"]), [])

    def _search_returns(self, body: Mapping[str, Any]) -> list[dict[str, Any]]:
        """Every return the Return & Refund API finds for ``body``'s filters, page by page."""
        found: list[dict[str, Any]] = []
        token: str | None = None
        while True:
            params = {"page_size": RETURNS_PAGE, "sort_field": "create_time", "page_token": token}
            data = self._api().call("returns", "POST", RETURNS_SEARCH, params=params, body=dict(body))
            entries = data.get("return_orders", []) if isinstance(data, dict) else None
            if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
                raise ChannelError("returns/search: the answer has no list of returns")
            found += entries
            token = data.get("next_page_token") or None
            if token is None:
                return found

    def _details(self, ids: Sequence[str]) -> list[dict[str, Any]]:
        """Order detail (``GET /order/202309/orders?ids=``; UNCONFIRMED shape: the search's orders)."""
        found: list[dict[str, Any]] = []
        for start in range(0, len(ids), DETAIL_BATCH):
            batch = ",".join(ids[start : start + DETAIL_BATCH])
            data = self._api().call("order_detail", "GET", ORDER_DETAIL, params={"ids": batch})
            found += _orders(data, "orders detail")
        return found

    def map_order(self, raw: RawOrder) -> dict[str, Any]:
        return mapper.map_order(raw.body, self.connection.shop_code)

    def ready(self, raw: RawOrder) -> bool:
        """A notification (a webhook's body) is not the order: the poll it wakes brings the order."""
        return mapper.is_order(raw.body)

    def cancelled(self, raw: RawOrder) -> bool:
        """A notification that the order was cancelled: the hub cancels the order it knows at once."""
        return not mapper.is_order(raw.body) and mapper.notified_status(raw.body) == mapper.CANCELLED

    # --- stock ----------------------------------------------------------------------------------------

    def push_stock(self, pushes: Sequence[StockPush]) -> list[PushResult]:
        """Each SKU's quantity at one warehouse, one inventory update per product with every SKU of it
        the batch names. A code-0 answer may still list SKUs in ``data.errors`` (per SKU, with
        ``extra_errors`` per warehouse): those failed, the others of the call went through."""
        results: dict[int, PushResult] = {}
        by_product: dict[str, list[tuple[int, _Planned]]] = {}
        for n, push in enumerate(pushes):
            plan = self._plan(push)
            if isinstance(plan, PushResult):
                results[n] = plan
            else:
                by_product.setdefault(plan.product, []).append((n, plan))
        for product, planned in by_product.items():
            results.update(self._update(product, planned))
        return [results[n] for n in range(len(pushes))]

    def _plan(self, push: StockPush) -> _Planned | PushResult:
        """Where the SKU's quantity goes (its product, learned by seller SKU when the mapping does not
        say, and its warehouse), or why it cannot go."""
        sku_id = push.listing_id
        if not _is_id(sku_id):
            return PushResult(sku_id, ok=False, error="the listing id is not a TikTok SKU id")
        binding = dict(push.binding)
        named = PRODUCT in push.platform_ids
        learned: dict[str, Any] | None = None
        product = push.platform_ids.get(PRODUCT) or binding.get(PRODUCT)
        warehouse = push.location or self._setting_warehouse()
        if not product or (warehouse is None and not binding.get(WAREHOUSES)):
            found = self._find_sku(sku_id, push.platform_sku)
            if found is None:
                error = f"no TikTok SKU {sku_id} (seller SKU {push.platform_sku})"
                return PushResult(sku_id, ok=False, error=error)
            learned = binding = {**binding, PRODUCT: found[0], WAREHOUSES: found[1]}
            product = product or found[0]
        if warehouse is None:
            stocked = binding.get(WAREHOUSES) or []
            if len(stocked) != 1:
                error = (
                    f"SKU {sku_id} is stocked at {len(stocked)} TikTok warehouses ({', '.join(stocked)}): "
                    "name one on its SKU mapping or as the shop's warehouse_id"
                )
                return PushResult(sku_id, ok=False, error=error, binding=learned)
            warehouse = stocked[0]
        forget = None if named else {k: v for k, v in binding.items() if k not in (PRODUCT, WAREHOUSES)}
        return _Planned(sku_id, str(product), warehouse, push.quantity, learned, forget)

    def _update(self, product: str, planned: Sequence[tuple[int, _Planned]]) -> dict[int, PushResult]:
        """One inventory update of the product's SKUs; each push's result by its place in the batch."""
        inventory: dict[str, list[dict[str, Any]]] = {}
        for _, plan in planned:
            # An oversold SKU has nothing to offer: TikTok takes no negative quantity.
            level = {"warehouse_id": plan.warehouse, "quantity": max(0, plan.quantity)}
            inventory.setdefault(plan.sku_id, []).append(level)
        body = {"skus": [{"id": sku_id, "inventory": levels} for sku_id, levels in inventory.items()]}
        path = f"/product/202309/products/{quote(product, safe='')}/inventory/update"
        try:
            data = self._api().call("stock", "POST", path, body=body)
        except Rejected as exc:
            return {
                n: PushResult(plan.sku_id, ok=False, error=str(exc), binding=plan.forget)
                for n, plan in planned
            }
        results = {}
        for n, plan in planned:
            failures = _sku_errors(data, plan.sku_id)
            results[n] = PushResult(plan.sku_id, ok=failures is None, error=failures, binding=plan.learned)
        return results

    def _setting_warehouse(self) -> str | None:
        value = self.connection.settings.get(WAREHOUSE_SETTING)
        return str(value) if value else None

    def _find_sku(self, sku_id: str, seller_sku: str | None) -> tuple[str, list[str]] | None:
        """The SKU's product and warehouses, from a product search by seller SKU (UNCONFIRMED filter
        ``seller_skus``)."""
        body = {"seller_skus": [seller_sku]} if seller_sku else {}
        token: str | None = None
        while True:
            params = {"page_size": MAX_PAGE_SIZE, "page_token": token}
            data = self._api().call("products", "POST", PRODUCTS_SEARCH, params=params, body=body)
            products = data.get("products") if isinstance(data, dict) else None
            if not isinstance(products, list):
                raise ChannelError("products/search: the answer has no products list")
            for product in products:
                for sku in product.get("skus") or [] if isinstance(product, dict) else []:
                    if isinstance(sku, dict) and str(sku.get("id")) == sku_id:
                        stocked = [
                            str(i.get("warehouse_id"))
                            for i in sku.get("inventory") or []
                            if isinstance(i, dict)
                        ]
                        return str(product.get("id")), sorted(set(stocked))
            token = data.get("next_page_token") or None
            if token is None:
                return None

    # --- parcels --------------------------------------------------------------------------------------

    def ship_with_platform(self, parcel: Parcel, *, method: str | None = None) -> PlatformLabel:
        """Ship the parcel's package with TikTok's logistics (``method``: PICKUP or DROP_OFF; None: the
        shop's ``handover_method``) and return TikTok's tracking number and label. A package that
        already carries a tracking number (an earlier try whose answer was lost, or the seller in
        Seller Center) is not shipped again: what TikTok made is returned."""
        handover = method or self.connection.settings.get("handover_method", "PICKUP")
        # As a person or another platform writes it: "pickup", "dropoff", "drop-off".
        handover = {"DROPOFF": "DROP_OFF"}.get(handover.upper().replace("-", "_"), handover.upper())
        if handover not in ("PICKUP", "DROP_OFF"):
            raise Rejected(f"TikTok Shop hands a package over by PICKUP or DROP_OFF, not {handover!r}")
        order = self._order_for(parcel)
        package, shipped = _package_of(order, parcel)
        api = self._api()
        if not shipped:
            self.acted = True
            # Sent twice it could fail as shipped already, never ship twice; sent again only if TikTok
            # surely did not act.
            api.call("shipments", "POST", _package_path(package, "ship"), body={"handover_method": handover},
                     replayable=False)  # fmt: skip
        detail = api.call("shipments", "GET", _package_path(package))
        tracking = str(detail.get("tracking_number") or "") if isinstance(detail, dict) else ""
        if not tracking:
            raise ChannelError(f"TikTok has not given package {package} a tracking number yet")
        carrier = str(detail.get("shipping_provider_name") or "TikTok Shop logistics")
        return PlatformLabel(tracking, carrier, self._label(package), (package,))

    def _label(self, package: str) -> bytes | None:
        """The package's shipping label PDF (UNCONFIRMED: ``shipping_documents`` answers a URL)."""
        data = self._api().call(
            "shipments",
            "GET",
            _package_path(package, "shipping_documents"),
            params={"document_type": "SHIPPING_LABEL"},
        )
        url = data.get("doc_url") if isinstance(data, dict) else None
        if not url:
            return None
        self.pace("shipments")
        try:
            response = self.client.get(str(url))
        except httpx.HTTPError as exc:
            raise ChannelError(
                f"the label of package {package} could not be fetched: {type(exc).__name__}"
            ) from exc
        if response.status_code != 200 or not response.content.startswith(b"%PDF"):
            raise ChannelError(f"the label of package {package} is no PDF (HTTP {response.status_code})")
        return response.content

    def write_back(self, parcel: Parcel) -> WriteBack:
        """A parcel shipped with one of our carriers: its package is shipped on TikTok as a self
        shipment with the tracking number, the carrier named by its TikTok shipping provider id (the
        shop's ``shipping_providers``). A package already shipped (an earlier try, or the seller in
        Seller Center) is not shipped again. TikTok ships whole packages: a parcel must carry every
        unit of its package."""
        if parcel.accepted:
            return WriteBack(
                tuple(parcel.accepted), "TikTok Shop keeps the tracking it took: nothing to update"
            )
        if not parcel.tracking_number:
            raise Rejected("TikTok Shop takes a self shipment only with its tracking number")
        provider = _provider(self.connection.settings.get("shipping_providers") or {}, parcel.carrier)
        if provider is None:
            raise Rejected(
                f"no TikTok shipping provider id for carrier {parcel.carrier!r}: add it to the shop's "
                "shipping_providers setting"
            )
        order = self._order_for(parcel)
        package, shipped = _package_of(order, parcel)
        if shipped:
            return WriteBack((package,), f"TikTok package {package} already shipped")
        body = {
            "self_shipment": {"tracking_number": parcel.tracking_number, "shipping_provider_id": provider}
        }
        self.acted = True
        self._api().call("shipments", "POST", _package_path(package, "ship"), body=body, replayable=False)
        return WriteBack((package,), f"TikTok package {package} shipped with provider {provider}")

    def _order_for(self, parcel: Parcel) -> dict[str, Any]:
        if not _is_id(parcel.external_id):
            raise Rejected(f"{parcel.external_id!r} is not a TikTok order id")
        found = self._details([parcel.external_id])
        if not found:
            raise Rejected(f"TikTok Shop has no order {parcel.external_id}")
        order = found[0]
        if order.get("fulfillment_type") == mapper.FBT:
            raise Rejected(f"order {parcel.external_id} is fulfilled by TikTok: it ships from TikTok's stock")
        if order.get("status") == mapper.CANCELLED:
            raise Rejected(f"order {parcel.external_id} is cancelled on TikTok Shop")
        return order

    # --- authorisation -----------------------------------------------------------------------------

    def authorize(self, code: str) -> dict[str, str]:
        """The seller's tokens for the auth code TikTok's authorisation page gave (``/api/v2/token/get``)."""
        return self._api().exchange_code(code)

    # --- webhooks -------------------------------------------------------------------------------------

    @classmethod
    def verify_webhook(cls, secret: str | None, headers: Mapping[str, str], body: bytes) -> bool:
        return webhooks.verify(secret, headers, body)

    @classmethod
    def parse_webhook(cls, headers: Mapping[str, str], body: bytes) -> WebhookEvent:
        return webhooks.parse(body)


def _raw(order: dict[str, Any]) -> RawOrder:
    if not order.get("id"):
        raise ChannelError("TikTok Shop sent an order without an id")
    try:
        version = mapper.version(order)
    except ValueError as exc:
        raise ChannelError(f"TikTok Shop order {order['id']}: {exc}") from exc
    return RawOrder(str(order["id"]), version, order)


def _orders(data: Any, what: str) -> list[dict[str, Any]]:
    if not isinstance(data, dict):
        raise ChannelError(f"{what}: the answer has no data object")
    orders = data.get("orders", [])  # an empty page may leave the list out (UNCONFIRMED)
    if not isinstance(orders, list) or not all(isinstance(o, dict) for o in orders):
        raise ChannelError(f"{what}: the answer has no list of orders")
    return orders


@dataclass(frozen=True, slots=True)
class _Planned:
    """A stock push ready to go: the SKU's quantity at one warehouse of its product, and what to keep
    on its binding after (``learned``) or after a refusal (``forget``: the product learned dropped)."""

    sku_id: str
    product: str
    warehouse: str
    quantity: int
    learned: dict[str, Any] | None
    forget: dict[str, Any] | None


def _sku_errors(data: Any, sku_id: str) -> str | None:
    """What ``data.errors`` says of the SKU, or None when it names nothing. An error naming no SKU
    is taken as the SKU's: a failure inside a success is never counted as done."""
    errors = data.get("errors") if isinstance(data, dict) else None
    if not errors:
        return None
    said = []
    for error in errors if isinstance(errors, list) else [errors]:
        if not isinstance(error, dict):
            said.append(str(error)[:200])
            continue
        detail = error.get("detail")
        detail = detail if isinstance(detail, dict) else {}
        if detail.get("sku_id") not in (None, sku_id):
            continue
        text = f"{error.get('code')}: {error.get('message')}"
        extra = [
            f"warehouse {e.get('warehouse_id')}: {e.get('code')}: {e.get('message')}"
            for e in detail.get("extra_errors") or []
            if isinstance(e, dict)
        ]
        said.append(f"{text} ({'; '.join(extra)})" if extra else text)
    return "; ".join(said) or None


def _names(item: Mapping[str, Any]) -> set[str]:
    return {str(n).strip() for n in (item.get("sku_id"), item.get("seller_sku")) if n}


def _package_of(order: Mapping[str, Any], parcel: Parcel) -> tuple[str, bool]:
    """The one package the parcel's units make up, and whether it already shipped (``_left``).
    TikTok ships whole packages: a parcel short of its package's units, or spread
    over several, is refused."""
    items = [
        i
        for i in order.get("line_items") or []
        if isinstance(i, dict) and i.get("display_status") != mapper.CANCELLED
    ]
    packages: dict[str, list[Mapping[str, Any]]] = {}
    taken: set[int] = set()
    for line in parcel.lines:
        left = line.quantity
        wanted = {n for n in (line.listing_id, line.platform_sku) if n}
        for index, item in enumerate(items):
            if left and index not in taken and wanted & _names(item):
                packages.setdefault(str(item.get("package_id") or ""), []).append(item)
                taken.add(index)
                left -= 1
        if left:
            name = line.platform_sku or line.listing_id
            raise Rejected(
                f"order {parcel.external_id}: {name} x{line.quantity} to ship but TikTok's order has fewer"
            )
    if len(packages) != 1 or "" in packages:
        raise Rejected(
            f"order {parcel.external_id}: the parcel's units are in {len(packages)} TikTok packages, not one"
        )
    ((package, units),) = packages.items()
    whole = [i for i in items if str(i.get("package_id")) == package]
    if len(whole) != len(units):
        raise Rejected(
            f"order {parcel.external_id}: TikTok package {package} holds {len(whole)} units, the parcel "
            f"{len(units)}: TikTok ships whole packages"
        )
    return package, any(_left(item) for item in whole)


#: Line item states in which its package has been handed to TikTok's logistics or a carrier.
_HANDED_OVER = frozenset({"AWAITING_COLLECTION", "IN_TRANSIT", "DELIVERED", "COMPLETED"})


def _left(item: Mapping[str, Any]) -> bool:
    """Whether the item's package was shipped already: it has a tracking number, its state is past
    shipping, or its package is no longer ``TO_FULFILL`` (TikTok may give the number later)."""
    package_status = item.get("package_status")
    return bool(
        item.get("tracking_number")
        or item.get("display_status") in _HANDED_OVER
        or package_status not in (None, "", "TO_FULFILL")
    )


def _package_path(package: str, action: str | None = None) -> str:
    path = f"/fulfillment/202309/packages/{quote(package, safe='')}"
    return f"{path}/{action}" if action else path


def _provider(providers: Mapping[str, str], carrier: str | None) -> str | None:
    """The shipping provider id named for the carrier, matched as carrier names are folded."""
    if not carrier:
        return None
    wanted = carrier_key(carrier)
    return next((str(v) for k, v in providers.items() if carrier_key(k) == wanted), None)


def _is_id(value: str) -> bool:
    return value.isascii() and value.isdigit() and len(value) <= 40


def _floor(moment: datetime) -> int:
    return int(moment.astimezone(UTC).timestamp() // 1)


def _ceil(moment: datetime) -> int:
    seconds = moment.astimezone(UTC).timestamp()
    return int(seconds) + (1 if seconds != int(seconds) else 0)
