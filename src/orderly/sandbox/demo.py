"""The demo behind ``orderly start --demo``: Shopify, Amazon, TikTok Shop, Shopee, Lazada, WooCommerce
and eBay sandboxes on loopback, connected to the hub as real shops, taking orders continuously, so a new
user sees orders flow in and stock move; and EasyPost and DHL Express sandboxes as the carrier accounts
``demo-easypost`` and ``demo-dhl``, to quote and buy labels from.

Shopify orders reach the hub by signed webhooks (and polling); Amazon orders by polling, as on the real
platform. A Lazada SG sandbox (``demo-lazada``) takes orders too, its signed pushes waking the hub's poll,
a WooCommerce store (``demo-woocommerce``, its T-shirts variations of one product) sends signed order
webhooks, and an eBay seller (``demo-ebay``) is polled, as eBay pushes no order events (its signed
account deletion notifications reach the hub's inbox).
Stock is received back when it runs low, so the demo runs as long as the hub does.
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable
from contextlib import ExitStack
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from orderly.catalog import service as catalog
from orderly.catalog.models import Product
from orderly.catalog.schemas import MappingIn, ProductIn
from orderly.channels import service as shops
from orderly.channels.amazon import AmazonConnector
from orderly.channels.ebay import EbayConnector
from orderly.channels.lazada import LazadaConnector
from orderly.channels.models import Shop
from orderly.channels.schemas import ShopIn, ShopUpdate
from orderly.channels.woocommerce import WooCommerceConnector
from orderly.core.db import transaction
from orderly.core.errors import DomainError
from orderly.fulfilment.carriers import service as carriers
from orderly.fulfilment.carriers.models import CarrierAccount
from orderly.fulfilment.carriers.schemas import CarrierAccountIn, CarrierAccountUpdate, CarrierSettings
from orderly.inventory import service as inventory
from orderly.inventory.models import Warehouse
from orderly.inventory.schemas import WarehouseIn
from orderly.sandbox.amazon import FAST_RATES, AmazonStore, Line
from orderly.sandbox.amazon import create_app as amazon_app
from orderly.sandbox.dhl_express import DhlStore
from orderly.sandbox.dhl_express import create_app as dhl_app
from orderly.sandbox.easypost import EasyPostStore
from orderly.sandbox.easypost import create_app as easypost_app
from orderly.sandbox.ebay import EbayStore
from orderly.sandbox.ebay import create_app as ebay_app
from orderly.sandbox.lazada import LazadaStore
from orderly.sandbox.lazada import create_app as lazada_app
from orderly.sandbox.serve import serving
from orderly.sandbox.shopee import ShopeeStore
from orderly.sandbox.shopee import create_app as shopee_app
from orderly.sandbox.shopify import ShopifyStore
from orderly.sandbox.shopify import create_app as shopify_app
from orderly.sandbox.shopify.models import numbered_buyer
from orderly.sandbox.tiktok_shop import TikTokShopStore
from orderly.sandbox.tiktok_shop import create_app as tiktok_app
from orderly.sandbox.woocommerce import WooStore
from orderly.sandbox.woocommerce import create_app as woo_app

log = logging.getLogger(__name__)

SHOPIFY, AMAZON, WAREHOUSE = "demo-shopify", "demo-amazon", "DEMO-WH"
TIKTOK = "demo-tiktok"
SHOPEE, MARKETPLACE = "demo-shopee", "demo-marketplace"  # the shop, and the carrier of its logistics
LAZADA = "demo-lazada"
WOOCOMMERCE = "demo-woocommerce"
EBAY = "demo-ebay"
# Every sandbox shop the demo runs, as `orderly start --demo` names them.
DEMO_SHOPS = (SHOPIFY, AMAZON, TIKTOK, SHOPEE, LAZADA, WOOCOMMERCE, EBAY)
WEBHOOK_SECRET = "demo-webhook-secret"  # noqa: S105 - the demo sandbox's own, not a real shop's
PRODUCTS = {
    "DEMO-TEE-BLK-M": ("T-shirt black M", "19.99"),
    "DEMO-TEE-WHT-M": ("T-shirt white M", "19.99"),
    "DEMO-MUG-01": ("Enamel mug", "12.50"),
    "DEMO-CAP-NAVY": ("Cap navy", "15.00"),
}
PRODUCT_WEIGHT_G = 250  # so a parcel of them can be quoted by a carrier
CARRIER = "demo-easypost"
EASYPOST_KEY = "EZTKdemo"  # the demo sandbox's own, not a real account's
DHL_CARRIER, DHL_USER, DHL_SECRET, DHL_ACCOUNT = "demo-dhl", "demo-key", "demo-secret", "123456789"
SHIP_FROM = {
    "name": "Demo warehouse",
    "line1": "1 Dock Rd",
    "city": "Oakland",
    "region": "CA",
    "postal_code": "94607",
    "country": "US",
    "phone": "5105550100",
}
OPENING_STOCK = 40
RESTOCK_BELOW = 5


def start_demo(
    factory: sessionmaker[Session], hub_url: str, *, every: float = 2.0, seed: int | None = None
) -> Callable[[], None]:
    """Start the sandboxes, connect them to the hub and place orders every ``every`` seconds.

    Returns a function that stops it all."""
    stack = ExitStack()
    shopify = ShopifyStore(seed=seed or 0, bucket_size=400, leak_per_second=20.0)
    amazon = AmazonStore(rates=FAST_RATES, before_lag_seconds=0, seed=seed or 0)
    variants: dict[str, int] = {}
    for sku, (title, price) in PRODUCTS.items():
        product = shopify.add_product(
            {"title": title, "variants": [{"sku": sku, "price": price, "available": 0}]}
        )
        variants[sku] = product["variants"][0]["id"]
        amazon.add_listing(sku, asin=f"B0DEMO{len(variants):04d}", title=title, price=price)
    shopify_url = stack.enter_context(serving(shopify_app(shopify)))
    amazon_url = stack.enter_context(serving(amazon_app(amazon)))
    stack.callback(shopify.close)
    _connect(factory, shopify, amazon, shopify_url, amazon_url, variants)
    easypost = EasyPostStore(api_key=EASYPOST_KEY)
    easypost.base_url = stack.enter_context(serving(easypost_app(easypost)))
    _connect_carrier(factory, CARRIER, "easypost", f"{easypost.base_url}/v2", {"api_key": EASYPOST_KEY})
    dhl = DhlStore(username=DHL_USER, password=DHL_SECRET, accounts=(DHL_ACCOUNT,))
    dhl_url = stack.enter_context(serving(dhl_app(dhl)))
    dhl_secrets = {"username": DHL_USER, "password": DHL_SECRET}
    _connect_carrier(
        factory,
        DHL_CARRIER,
        "dhl_express",
        f"{dhl_url}/mydhlapi/test",
        dhl_secrets,
        account_number=DHL_ACCOUNT,
    )
    shopify.set_webhook({"url": f"{hub_url}/api/v1/webhooks/{SHOPIFY}", "secret": WEBHOOK_SECRET})
    tiktok = _start_tiktok(stack, factory, hub_url, seed or 0)
    shopee = _start_shopee(stack, factory, hub_url, seed or 0)
    lazada = _start_lazada(stack, factory, hub_url)
    woo = _start_woocommerce(stack, factory, hub_url, seed or 0)
    ebay = _start_ebay(stack, factory, hub_url, seed or 0)

    stop = threading.Event()
    rng = random.Random(seed)

    def place_orders() -> None:
        while not stop.wait(every):
            try:
                _place_one(rng, shopify, amazon)
                if rng.random() < 0.3:
                    tiktok.place_order([{"sku": rng.choice(sorted(PRODUCTS)), "quantity": rng.randint(1, 2)}])
                if rng.random() < 0.3:
                    buyer = rng.randrange(1_000_000)
                    lines = [(rng.choice(sorted(PRODUCTS)), rng.randint(1, 2))]
                    shopee.place_order(lines, buyer=f"buyer{buyer}", recipient=f"Buyer {buyer}")
                if rng.random() < 0.3:
                    n = rng.randrange(1_000_000)
                    person = {"first_name": f"Buyer{n}", "last_name": "Lim", "address1": f"{n} Orchard Rd"}
                    skus = rng.sample(sorted(PRODUCTS), k=rng.randint(1, 2))
                    lazada.place_order([(sku, 1) for sku in skus], buyer=person | {"phone": f"659{n:07d}"})
                if rng.random() < 0.3:
                    _place_woocommerce(rng, woo)
                if rng.random() < 0.3:
                    _place_ebay(rng, ebay)
                _restock(factory)
            except Exception:  # a demo hiccup must not end the demo
                log.exception("demo order failed")

    thread = threading.Thread(target=place_orders, name="orderly-demo", daemon=True)
    thread.start()

    def stop_all() -> None:
        stop.set()
        thread.join(timeout=10)
        stack.close()

    return stop_all


def _connect(
    factory: sessionmaker[Session],
    shopify: ShopifyStore,
    amazon: AmazonStore,
    shopify_url: str,
    amazon_url: str,
    variants: dict[str, int],
) -> None:
    """Create the demo shops, catalog and stock on first start; point the shops at this run's sandboxes."""
    shopify_settings: dict[str, Any] = {"poll_interval_s": 30, "location_id": shopify.location_id}
    amazon_settings: dict[str, Any] = {
        "poll_interval_s": 5,  # Amazon sends no order webhooks: polling is the path
        "marketplace_id": amazon.marketplace_id,
        "seller_id": amazon.seller_id,
        "before_lag_seconds": 0,
        "rate_limits": {op: (100.0, 100) for op in AmazonConnector.rate_limits},
    }
    shopify_secrets = {"access_token": shopify.access_token, "webhook_secret": WEBHOOK_SECRET}
    amazon_secrets = {
        "client_id": amazon.client_id,
        "client_secret": amazon.client_secret,
        "refresh_token": amazon.refresh_token,
    }
    with transaction(factory) as s:
        for code, channel, url, settings, secrets in (
            (SHOPIFY, "shopify", shopify_url, shopify_settings, shopify_secrets),
            (AMAZON, "amazon", amazon_url, amazon_settings, amazon_secrets),
        ):
            if s.scalar(select(Shop.id).where(Shop.code == code)) is None:
                shops.create_shop(s, ShopIn(code=code, name=code.replace("-", " ").title(), channel=channel))
            # Every run's sandbox has new ports and new ids: the shop and its mappings follow them.
            shops.update_shop(
                s, code, ShopUpdate(base_url=url, credentials=secrets, settings=settings, sync_enabled=True)
            )
        if s.scalar(select(Warehouse.id).where(Warehouse.code == WAREHOUSE)) is None:
            inventory.create_warehouse(s, WarehouseIn(code=WAREHOUSE, name="Demo warehouse", priority=1))
        for sku, (title, _) in PRODUCTS.items():
            if s.scalar(select(Product.id).where(Product.sku == sku)) is None:
                catalog.create_product(s, ProductIn(sku=sku, name=title, weight_g=PRODUCT_WEIGHT_G))
                inventory.receive(s, sku, WAREHOUSE, OPENING_STOCK, actor="demo", reason="opening stock")
        catalog.delete_mappings(s, SHOPIFY)
        catalog.delete_mappings(s, AMAZON)
        for n, (sku, variant_id) in enumerate(variants.items(), start=1):
            catalog.create_mapping(
                s, MappingIn(shop=SHOPIFY, platform_sku=sku, listing_id=str(variant_id), sku=sku)
            )
            catalog.create_mapping(
                s, MappingIn(shop=AMAZON, platform_sku=sku, listing_id=f"B0DEMO{n:04d}", sku=sku)
            )


def _start_tiktok(
    stack: ExitStack, factory: sessionmaker[Session], hub_url: str, seed: int
) -> TikTokShopStore:
    """A TikTok Shop sandbox (in IDR, as the contract's samples) connected as ``demo-tiktok``: orders
    reach the hub by signed notifications that wake its poll."""
    store = TikTokShopStore(seed=seed)
    skus = {sku: store.add_sku(sku, price=str(int(float(price) * 16000)), name=title).id
            for sku, (title, price) in PRODUCTS.items()}  # fmt: skip
    url = stack.enter_context(serving(tiktok_app(store)))
    stack.callback(store.close)
    secrets = {
        "app_key": store.app_key,
        "app_secret": store.app_secret,
        "access_token": store.access_token,
        "refresh_token": store.refresh_token,
    }
    settings = {"poll_interval_s": 30, "shop_cipher": store.shop_cipher, "warehouse_id": store.warehouse_id}
    with transaction(factory) as s:
        if s.scalar(select(Shop.id).where(Shop.code == TIKTOK)) is None:
            shops.create_shop(s, ShopIn(code=TIKTOK, name="Demo Tiktok", channel="tiktok_shop"))
        shops.update_shop(
            s, TIKTOK, ShopUpdate(base_url=url, credentials=secrets, settings=settings, sync_enabled=True)
        )
        catalog.delete_mappings(s, TIKTOK)
        for sku, sku_id in skus.items():
            catalog.create_mapping(s, MappingIn(shop=TIKTOK, platform_sku=sku, listing_id=sku_id, sku=sku))
    store.webhook_url = f"{hub_url}/api/v1/webhooks/{TIKTOK}"
    return store


def _start_shopee(stack: ExitStack, factory: sessionmaker[Session], hub_url: str, seed: int) -> ShopeeStore:
    """A Shopee sandbox (in MYR) connected as ``demo-shopee``: orders reach the hub by signed pushes that
    wake its poll; its parcels can take Shopee's own label through the ``demo-marketplace`` carrier."""
    store = ShopeeStore(seed=seed)
    listings = {sku: store.add_model(sku, price=price) for sku, (_, price) in PRODUCTS.items()}
    url = stack.enter_context(serving(shopee_app(store)))
    secrets = {
        "partner_id": str(store.partner_id),
        "partner_key": store.partner_key,
        "access_token": store.access_token,
        "refresh_token": store.refresh_token,
        "expire_at": str(store.access_expires_at),
    }
    settings = {"poll_interval_s": 30, "shop_id": store.shop_id}
    with transaction(factory) as s:
        if s.scalar(select(Shop.id).where(Shop.code == SHOPEE)) is None:
            shops.create_shop(s, ShopIn(code=SHOPEE, name="Demo Shopee", channel="shopee"))
        shops.update_shop(
            s, SHOPEE, ShopUpdate(base_url=url, credentials=secrets, settings=settings, sync_enabled=True)
        )
        catalog.delete_mappings(s, SHOPEE)
        for sku, (item_id, model_id) in listings.items():
            listing = f"{item_id}:{model_id}"
            catalog.create_mapping(s, MappingIn(shop=SHOPEE, platform_sku=sku, listing_id=listing, sku=sku))
        if s.scalar(select(CarrierAccount.id).where(CarrierAccount.code == MARKETPLACE)) is None:
            account = {"code": MARKETPLACE, "name": "Marketplace logistics", "plugin": "platform"}
            carriers.create_account(s, CarrierAccountIn.model_validate(account))
    store.push_url = f"{hub_url}/api/v1/webhooks/{SHOPEE}"
    return store


def _start_lazada(stack: ExitStack, factory: sessionmaker[Session], hub_url: str) -> LazadaStore:
    """The Lazada SG sandbox shop ``demo-lazada``: orders reach the hub by signed pushes waking a poll."""
    lazada = LazadaStore(country="SG")
    for sku, (_, price) in PRODUCTS.items():
        lazada.add_product(sku, price=price)
    url = stack.enter_context(serving(lazada_app(lazada)))
    lazada.base_url = url
    secrets = {"app_key": lazada.app_key, "app_secret": lazada.app_secret}
    secrets |= {"access_token": lazada.access_token, "refresh_token": lazada.refresh_token}
    with transaction(factory) as s:
        if s.scalar(select(Shop.id).where(Shop.code == LAZADA)) is None:
            shops.create_shop(s, ShopIn(code=LAZADA, name="Demo Lazada", channel="lazada"))
        # The sandbox's own limits, not the conservative pace the connector keeps with Lazada.
        limits = {op: (100.0, 100) for op in LazadaConnector.rate_limits}
        settings = {"poll_interval_s": 30, "country": "SG", "rate_limits": limits}
        change = ShopUpdate(base_url=f"{url}/rest", credentials=secrets, settings=settings, sync_enabled=True)
        shops.update_shop(s, LAZADA, change)
        catalog.delete_mappings(s, LAZADA)
        for sku in PRODUCTS:
            catalog.create_mapping(s, MappingIn(shop=LAZADA, platform_sku=sku, listing_id=sku, sku=sku))
    lazada.set_webhook(f"{hub_url}/api/v1/webhooks/{LAZADA}")
    stack.callback(lazada.set_webhook, None)
    return lazada


def _start_woocommerce(stack: ExitStack, factory: sessionmaker[Session], hub_url: str, seed: int) -> WooStore:
    """The WooCommerce store ``demo-woocommerce`` (its T-shirts are variations of one variable product):
    orders reach the hub by signed webhooks (and polling); shipped parcels go back as notes."""
    store = WooStore(seed=seed)
    tees = [sku for sku in PRODUCTS if sku.startswith("DEMO-TEE")]
    listings = dict(
        zip(
            tees,
            store.add_variable_product("T-shirt", [(sku, PRODUCTS[sku][1], 0) for sku in tees]),
            strict=True,
        )
    )
    for sku, (title, price) in PRODUCTS.items():
        if sku not in listings:
            listings[sku] = store.add_product(sku, price=price, name=title)
    store.base_url = stack.enter_context(serving(woo_app(store)))
    secrets = {
        "consumer_key": store.consumer_key,
        "consumer_secret": store.consumer_secret,
        "webhook_secret": WEBHOOK_SECRET,
    }
    # The sandbox's own limits, not the gentle pace the connector keeps with a WordPress host.
    limits = {op: (100.0, 100) for op in WooCommerceConnector.rate_limits}
    settings = {"poll_interval_s": 30, "rate_limits": limits}
    with transaction(factory) as s:
        if s.scalar(select(Shop.id).where(Shop.code == WOOCOMMERCE)) is None:
            shops.create_shop(s, ShopIn(code=WOOCOMMERCE, name="Demo WooCommerce", channel="woocommerce"))
        change = ShopUpdate(
            base_url=store.base_url, credentials=secrets, settings=settings, sync_enabled=True
        )
        shops.update_shop(s, WOOCOMMERCE, change)
        catalog.delete_mappings(s, WOOCOMMERCE)
        for sku, listing in listings.items():
            catalog.create_mapping(
                s, MappingIn(shop=WOOCOMMERCE, platform_sku=sku, listing_id=listing, sku=sku)
            )
    # Pinged first, as WooCommerce does; `orderly start` serves the hub only after this, so the ping may
    # go unanswered: the sandbox, unlike WooCommerce, keeps the webhook all the same.
    store.set_webhook(f"{hub_url}/api/v1/webhooks/{WOOCOMMERCE}", WEBHOOK_SECRET)
    stack.callback(store.set_webhook, None)
    return store


def _place_woocommerce(rng: random.Random, store: WooStore) -> None:
    n = rng.randrange(1_000_000)
    buyer = {"first_name": f"Buyer{n}", "address_1": f"{n} Market St", "email": f"buyer{n}@example.com"}
    buyer["phone"] = f"41520{n % 100_000:05d}"
    skus = rng.sample(sorted(PRODUCTS), k=rng.randint(1, 2))
    order_id = store.place_order([(sku, rng.randint(1, 2)) for sku in skus], buyer=buyer)
    if rng.random() < 0.05:
        store.set_status(order_id, "cancelled")


def _start_ebay(stack: ExitStack, factory: sessionmaker[Session], hub_url: str, seed: int) -> EbayStore:
    """The eBay seller ``demo-ebay``: its orders are polled (eBay pushes none); its account deletion
    notifications, signed with the sandbox's key, reach the hub's inbox."""
    store = EbayStore(seed=seed)
    items = {
        sku: store.add_listing(sku, price=price, title=title).item_id
        for sku, (title, price) in PRODUCTS.items()
    }
    url = stack.enter_context(serving(ebay_app(store)))
    stack.callback(store.close)
    secrets = {
        "client_id": store.client_id,
        "client_secret": store.client_secret,
        "ru_name": store.ru_name,
        "refresh_token": store.refresh_token,
        "access_token": store.access_token,
        "verification_token": store.verification_token,
    }
    settings = {
        "poll_interval_s": 5,  # polling is the path, as for Amazon
        # The sandbox's own limits, not the pace the connector keeps within eBay's daily call limits.
        "rate_limits": {op: (100.0, 100) for op in EbayConnector.rate_limits},
        "notification_keys": {store.key_id: store.public_key},
    }
    with transaction(factory) as s:
        if s.scalar(select(Shop.id).where(Shop.code == EBAY)) is None:
            shops.create_shop(s, ShopIn(code=EBAY, name="Demo eBay", channel="ebay"))
        change = ShopUpdate(base_url=url, credentials=secrets, settings=settings, sync_enabled=True)
        shops.update_shop(s, EBAY, change)
        catalog.delete_mappings(s, EBAY)
        for sku, item_id in items.items():
            catalog.create_mapping(s, MappingIn(shop=EBAY, platform_sku=sku, listing_id=item_id, sku=sku))
    store.webhook_url = f"{hub_url}/api/v1/webhooks/{EBAY}"
    return store


def _place_ebay(rng: random.Random, store: EbayStore) -> None:
    skus = rng.sample(sorted(PRODUCTS), k=rng.randint(1, 2))
    order = store.place_order(
        [{"sku": sku, "quantity": rng.randint(1, 2)} for sku in skus], buyer=rng.randrange(10**6)
    )
    if rng.random() < 0.05:
        store.cancel(order["orderId"])
    elif rng.random() < 0.01:
        store.delete_account(order["buyer"]["username"])


def _connect_carrier(
    factory: sessionmaker[Session], code: str, plugin: str, url: str, credentials: dict[str, str], **more: str
) -> None:
    """A demo carrier account, made on first start and pointed at this run's sandbox."""
    settings = CarrierSettings.model_validate(
        {
            "ship_from": SHIP_FROM,
            "default_parcel": {"length_mm": 250, "width_mm": 200, "height_mm": 100},
            **more,
        }
    )
    with transaction(factory) as s:
        if s.scalar(select(CarrierAccount.id).where(CarrierAccount.code == code)) is None:
            name = code.replace("-", " ").title()
            account = {
                "code": code,
                "name": name,
                "plugin": plugin,
                "base_url": url,
                "credentials": credentials,
            }
            carriers.create_account(s, CarrierAccountIn.model_validate({**account, "settings": settings}))
        else:  # every run's sandbox has a new port
            change = {"base_url": url, "credentials": credentials}
            carriers.update_account(s, code, CarrierAccountUpdate.model_validate(change))


def _place_one(rng: random.Random, shopify: ShopifyStore, amazon: AmazonStore) -> None:
    skus = rng.sample(sorted(PRODUCTS), k=rng.randint(1, 2))
    if rng.random() < 0.6:
        lines = [{"sku": sku, "quantity": rng.randint(1, 2)} for sku in skus]
        order = shopify.place_order({"lines": lines, **numbered_buyer(rng.randrange(1_000_000))})
        if rng.random() < 0.05:
            shopify.cancel(order["id"], {"reason": "customer"})
    else:
        amazon.place_order([Line(sku, rng.randint(1, 2)) for sku in skus], paid=True)


def _restock(factory: sessionmaker[Session]) -> None:
    with transaction(factory) as s:
        for sku in PRODUCTS:
            figures = inventory.stock_of(s, sku)
            if sum(f.available for f in figures) < RESTOCK_BELOW:
                try:
                    inventory.receive(s, sku, WAREHOUSE, OPENING_STOCK, actor="demo", reason="restock")
                except DomainError:
                    log.warning("demo restock of %s refused", sku)
