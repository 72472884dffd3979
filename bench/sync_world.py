"""The world ``bench/sync.py`` measures: a hub database, sandbox shops of every platform (Shopify,
Amazon, TikTok Shop, Shopee, Lazada) served over loopback HTTP, the hub's API and job workers in this
process, and a probe that stamps every job the workers run."""

from __future__ import annotations

import itertools
import os
import tempfile
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from cryptography.fernet import Fernet
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from orderly.api import create_app
from orderly.catalog import service as catalog
from orderly.catalog.models import Product, SkuMapping
from orderly.catalog.schemas import MappingIn, ProductIn
from orderly.channels import service as shops
from orderly.channels.domain import publishable
from orderly.channels.models import Shop
from orderly.channels.schemas import ShopIn, ShopUpdate, SyncSettings
from orderly.core.config import Settings, get_settings
from orderly.core.db import make_engine, make_session_factory, transaction
from orderly.core.migrate import upgrade
from orderly.inventory import service as inventory
from orderly.inventory.schemas import WarehouseIn
from orderly.jobs.models import Job
from orderly.jobs.registry import JobContext, load
from orderly.jobs.service import Claimed
from orderly.jobs.worker import start_workers
from orderly.orders.models import Order
from orderly.sandbox.amazon import FAST_RATES, AmazonStore, Line
from orderly.sandbox.amazon import create_app as amazon_app
from orderly.sandbox.lazada import LazadaStore
from orderly.sandbox.lazada import create_app as lazada_app
from orderly.sandbox.serve import serving
from orderly.sandbox.shopee import ShopeeStore
from orderly.sandbox.shopee import create_app as shopee_app
from orderly.sandbox.shopify import ShopifyStore
from orderly.sandbox.shopify import create_app as shopify_app
from orderly.sandbox.tiktok_shop import TikTokShopStore
from orderly.sandbox.tiktok_shop import create_app as tiktok_app

DATABASE = "orderly_bench_sync"
WEBHOOK_SECRET = "whsec-bench"  # the sandbox's, not a secret
NEVER = 86_400  # poll_interval_s that keeps the scheduler's polls out of a run: SyncSettings' maximum
WAREHOUSE = "WH-1"


def settings() -> Settings:
    """The environment's settings, with a throwaway credentials key when none is configured: the
    webhook endpoint unseals with ``get_settings()``, so the bench and the hub must share it, and the
    default would leave a key file in ``var/``."""
    if not get_settings().secret_key:
        os.environ["ORDERLY_SECRET_KEY"] = Fernet.generate_key().decode()
        get_settings.cache_clear()
    return get_settings()


@contextmanager
def sqlite_url() -> Iterator[str]:
    with tempfile.TemporaryDirectory(prefix="orderly-bench-sync-") as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        upgrade(url)
        yield url


# --- the probe -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class JobRun:
    job_id: int
    kind: str
    shop_id: int | None
    started: float  # wall clock (time.time()), comparable with the database's utcnow() stamps
    ended: float
    worker: str


@dataclass
class Probe:
    """Wraps the workers' handlers to stamp each job's start and end. ``jobs.complete`` overwrites a
    job's claim time, so the database alone cannot say when a job began to run."""

    runs: list[JobRun] = field(default_factory=list)

    def install(self) -> Callable[[], None]:
        """Wrap every handler; returns a function that puts the originals back."""
        handlers = load().handlers
        originals = dict(handlers)
        for kind, handler in originals.items():
            handlers[kind] = self._wrap(kind, handler)
        return lambda: handlers.update(originals)

    def _wrap(
        self, kind: str, handler: Callable[[JobContext, Claimed], None]
    ) -> Callable[[JobContext, Claimed], None]:
        def timed(ctx: JobContext, job: Claimed) -> None:
            started = time.time()
            try:
                handler(ctx, job)
            finally:
                # list.append is atomic: the workers share the list safely.
                self.runs.append(JobRun(job.id, kind, job.shop_id, started, time.time(), ctx.worker))

        return timed


# --- shops as the bench sees them ------------------------------------------------------------------

#: The codes of the bench's shops: one sandbox shop of each platform.
PLATFORMS = ("shopify", "amazon", "tiktok", "shopee", "lazada")
#: How a sale reaches the hub, by a shop's ``way_in``: the order itself in a signed webhook, a signed
#: push naming the order that wakes the shop's poll, or the scheduler's polls alone.
BY_WEBHOOK, BY_PUSH, BY_POLLING = "webhook", "push", "polling"


@dataclass
class SandboxShop(ABC):
    """A platform's sandbox shop with every SKU of the bench listed, as the bench drives and reads it."""

    code: str
    listings: dict[str, str]  # sku -> the mapping's listing id
    channel: ClassVar[str]
    way_in: ClassVar[str]

    @abstractmethod
    def app(self) -> Any:
        """The sandbox's HTTP face."""

    @abstractmethod
    def levels(self) -> dict[str, int | None]:
        """The quantity each SKU shows on the platform right now (None: never set)."""

    @abstractmethod
    def sell(self, sku: str) -> str:
        """A buyer's paid order of one unit, placed as the platform takes one (and announced the way it
        announces one); its id as the hub stores it."""

    @abstractmethod
    def credentials(self) -> dict[str, str]:
        """What the hub signs its calls to the shop (and checks its webhooks) with."""

    @abstractmethod
    def settings(self) -> dict[str, Any]:
        """The connector's settings for this shop, beyond the engine's."""

    def announce(self, url: str | None) -> None:
        """Where the shop's webhooks or pushes go (None: nowhere)."""
        if url is not None:
            raise TypeError(f"{self.channel} sends the hub nothing: its orders are polled")

    def sent(self) -> bool:
        """Whether every webhook or push made so far was delivered (or given up)."""
        return True

    def api_url(self, served: str) -> str:
        """The shop's ``base_url`` when the sandbox is served at ``served``."""
        return served

    def close(self) -> None:  # noqa: B027 - only a sandbox with a sender thread has something to stop
        """Stop the sandbox's sender thread."""

    def shop_in(self, served: str) -> ShopIn:
        """The hub's shop for this sandbox: sync on, its polls held off (``NEVER``)."""
        return ShopIn(
            code=self.code,
            name=self.code,
            channel=self.channel,
            base_url=self.api_url(served),
            credentials=self.credentials(),
            settings=SyncSettings.model_validate({"poll_interval_s": NEVER, **self.settings()}),
            sync_enabled=True,
        )


@dataclass
class ShopifyShop(SandboxShop):
    store: ShopifyStore
    channel = "shopify"
    way_in = BY_WEBHOOK

    @classmethod
    def listing(cls, code: str, stock: dict[str, int]) -> ShopifyShop:
        # The sandbox's own bucket is made roomy: the hub paces itself to Shopify's published limit.
        store = ShopifyStore(
            seed=1,
            shop_domain="bench-1.myshopify.com",
            bucket_size=1_000_000,
            leak_per_second=1_000_000.0,
            webhook_retry_delay=0.05,
        )
        variants = {
            sku: str(
                store.add_product(
                    {"title": sku, "variants": [{"sku": sku, "price": "19.99", "available": quantity}]}
                )["variants"][0]["id"]
            )
            for sku, quantity in stock.items()
        }
        return cls(code, variants, store)

    def app(self) -> Any:
        return shopify_app(self.store)

    def levels(self) -> dict[str, int | None]:
        location = self.store.location_id
        return {
            level["sku"]: level["available"]
            for level in self.store.stock_levels()
            if level["location_id"] == location
        }

    def sell(self, sku: str) -> str:
        return str(self.store.place_order({"lines": [{"sku": sku, "quantity": 1}]})["id"])

    def credentials(self) -> dict[str, str]:
        return {"access_token": self.store.access_token, "webhook_secret": WEBHOOK_SECRET}

    def settings(self) -> dict[str, Any]:
        return {"location_id": self.store.location_id}

    def announce(self, url: str | None) -> None:
        self.store.set_webhook(None if url is None else {"url": url, "secret": WEBHOOK_SECRET})

    def sent(self) -> bool:
        return self.store.wait_for_webhooks(0)

    def close(self) -> None:
        self.store.close()


@dataclass
class AmazonShop(SandboxShop):
    store: AmazonStore
    channel = "amazon"
    way_in = BY_POLLING

    @classmethod
    def listing(cls, code: str, stock: dict[str, int]) -> AmazonShop:
        store = AmazonStore(rates=FAST_RATES, before_lag_seconds=0, seed=7)
        for sku in stock:
            store.add_listing(sku, price="19.99")
        # Amazon's listing is the seller's SKU: platform_sku and listing_id are both the SellerSKU.
        return cls(code, {sku: sku for sku in stock}, store)

    def app(self) -> Any:
        return amazon_app(self.store)

    def levels(self) -> dict[str, int | None]:
        quantities = self.store.quantities()
        return {sku: quantities.get(sku) for sku in self.listings}

    def sell(self, sku: str) -> str:
        return self.store.place_order([Line(sku, 1)], paid=True)

    def credentials(self) -> dict[str, str]:
        return {
            "client_id": self.store.client_id,
            "client_secret": self.store.client_secret,
            "refresh_token": self.store.refresh_token,
        }

    def settings(self) -> dict[str, Any]:
        return {
            "marketplace_id": self.store.marketplace_id,
            "seller_id": self.store.seller_id,
            "before_lag_seconds": 0,  # the sandbox lists an order at once; Amazon's 120 s is off
            # Polled every 5 s while its sales are sampled, each poll re-reading the orders of its
            # overlap (getOrderItems each): at Amazon's published quotas for reading orders (getOrders
            # one a minute, getOrderItems one in 2 s) the quotas would be measured, not the hub. Its
            # stock updates keep Amazon's pace.
            "rate_limits": {op: (1000.0, 1000) for op in ("orders", "order", "order_items", "rdt")},
        }


@dataclass
class TikTokShop(SandboxShop):
    store: TikTokShopStore
    channel = "tiktok_shop"
    way_in = BY_PUSH

    @classmethod
    def listing(cls, code: str, stock: dict[str, int]) -> TikTokShop:
        store = TikTokShopStore(seed=11)
        # Listed with nothing in stock, as Shopee's and Lazada's: the hub's first push sets each figure.
        return cls(code, {sku: store.add_sku(sku, price="150000").id for sku in stock}, store)

    def app(self) -> Any:
        return tiktok_app(self.store)

    def levels(self) -> dict[str, int | None]:
        quantities = self.store.quantities()
        return {sku: quantities.get(sku) for sku in self.listings}

    def sell(self, sku: str) -> str:
        return str(self.store.place_order({"lines": [{"sku": sku, "quantity": 1}]})["id"])

    def credentials(self) -> dict[str, str]:
        return {
            "app_key": self.store.app_key,
            "app_secret": self.store.app_secret,
            "access_token": self.store.access_token,
            "refresh_token": self.store.refresh_token,
        }

    def settings(self) -> dict[str, Any]:
        return {"shop_cipher": self.store.shop_cipher, "warehouse_id": self.store.warehouse_id}

    def announce(self, url: str | None) -> None:
        self.store.webhook_url = url

    def sent(self) -> bool:
        return self.store.wait_for_webhooks(0)

    def close(self) -> None:
        self.store.close()


@dataclass
class ShopeeShop(SandboxShop):
    store: ShopeeStore
    channel = "shopee"
    way_in = BY_PUSH
    buyers: itertools.count[int] = field(default_factory=itertools.count)

    @classmethod
    def listing(cls, code: str, stock: dict[str, int]) -> ShopeeShop:
        store = ShopeeStore(seed=13)
        models = {sku: store.add_model(sku, price="19.99") for sku in stock}
        return cls(code, {sku: f"{item}:{model}" for sku, (item, model) in models.items()}, store)

    def app(self) -> Any:
        return shopee_app(self.store)

    def levels(self) -> dict[str, int | None]:
        return {sku: self.store.model(sku).stock for sku in self.listings}

    def sell(self, sku: str) -> str:
        # Many buyers, as on a real shop: one buyer ordering every few seconds is a risk to review.
        n = next(self.buyers)
        return self.store.place_order([(sku, 1)], buyer=f"buyer{n}", recipient=f"Buyer {n}")

    def credentials(self) -> dict[str, str]:
        return {
            "partner_id": str(self.store.partner_id),
            "partner_key": self.store.partner_key,
            "access_token": self.store.access_token,
            "refresh_token": self.store.refresh_token,
            "expire_at": str(self.store.access_expires_at),
        }

    def settings(self) -> dict[str, Any]:
        return {"shop_id": self.store.shop_id}

    def announce(self, url: str | None) -> None:
        # Shopee signs a push over the callback URL: the sandbox sends it before place_order returns.
        self.store.push_url = url


@dataclass
class LazadaShop(SandboxShop):
    store: LazadaStore
    channel = "lazada"
    way_in = BY_PUSH
    buyers: itertools.count[int] = field(default_factory=itertools.count)

    @classmethod
    def listing(cls, code: str, stock: dict[str, int]) -> LazadaShop:
        store = LazadaStore(country="SG", push_retry_delay=0.05)
        for sku in stock:
            store.add_product(sku, price="19.90")
        return cls(code, {sku: store.products[sku].sku_id for sku in stock}, store)

    def app(self) -> Any:
        return lazada_app(self.store)

    def levels(self) -> dict[str, int | None]:
        return {sku: self.store.quantity(sku) for sku in self.listings}

    def sell(self, sku: str) -> str:
        n = next(self.buyers)
        buyer = {"first_name": f"Buyer{n}", "last_name": "Lim", "address1": f"{n} Orchard Rd"}
        return self.store.place_order([(sku, 1)], buyer=buyer | {"phone": f"659{n:07d}"})

    def credentials(self) -> dict[str, str]:
        return {
            "app_key": self.store.app_key,
            "app_secret": self.store.app_secret,
            "access_token": self.store.access_token,
            "refresh_token": self.store.refresh_token,
        }

    def settings(self) -> dict[str, Any]:
        return {"country": self.store.country}

    def api_url(self, served: str) -> str:
        return f"{served}/rest"

    def announce(self, url: str | None) -> None:
        self.store.set_webhook(url)

    def sent(self) -> bool:
        return self.store.wait_for_pushes(0)


def listed(code: str, stock: dict[str, int]) -> SandboxShop:
    """The sandbox shop ``code`` (one of ``PLATFORMS``) with every SKU of ``stock`` listed."""
    shops: dict[str, Callable[[str, dict[str, int]], SandboxShop]] = {
        "shopify": ShopifyShop.listing,
        "amazon": AmazonShop.listing,
        "tiktok": TikTokShop.listing,
        "shopee": ShopeeShop.listing,
        "lazada": LazadaShop.listing,
    }
    return shops[code](code, stock)


@dataclass
class World:
    factory: sessionmaker[Session]
    settings: Settings
    shops: dict[str, SandboxShop]
    hub_url: str
    probe: Probe
    #: Job kinds ``settle`` does not wait for: work that never ends while other shops' orders stream in.
    unawaited: frozenset[str] = frozenset()

    def shop_id(self, code: str) -> int:
        with transaction(self.factory) as s:
            return shops.get_shop(s, code).id

    def busy_jobs(self) -> int:
        with transaction(self.factory) as s:
            busy = select(func.count()).select_from(Job).where(Job.status.in_(["queued", "running"]))
            if self.unawaited:
                busy = busy.where(Job.kind.not_in(self.unawaited))
            return s.scalar(busy) or 0

    def settle(self, timeout: float = 120.0, step: float = 0.005) -> None:
        """Wait until every webhook and push is delivered and no job is queued or running."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if all(shop.sent() for shop in self.shops.values()) and not self.busy_jobs():
                return
            time.sleep(step)
        raise SystemExit(f"the hub did not settle within {timeout:.0f} s ({self.busy_jobs()} jobs left)")

    def set_poll_interval(self, code: str, seconds: int) -> None:
        with transaction(self.factory) as s:
            shops.update_shop(s, code, ShopUpdate(settings={"poll_interval_s": seconds}), self.settings)

    def webhooks(self, code: str, on: bool) -> None:
        """The shop's webhooks or pushes sent to the hub, or not."""
        self.shops[code].announce(f"{self.hub_url}/api/v1/webhooks/{code}" if on else None)

    def hub_figures(self) -> dict[str, dict[str, int]]:
        """What the hub means every listing to show: shop code -> sku -> quantity."""
        figures: dict[str, dict[str, int]] = {}
        with transaction(self.factory) as s:
            rows = s.execute(
                select(Shop, Product.id, Product.sku)
                .join(SkuMapping, SkuMapping.shop_id == Shop.id)
                .join(Product, Product.id == SkuMapping.product_id)
                .where(Shop.code.in_(list(self.shops)))  # other shops (the load's) are not the bench's
            ).all()
            for shop, product_id, sku in rows:
                figures.setdefault(shop.code, {})[sku] = publishable(
                    shops.sync_settings(shop), inventory.sellable(s, [product_id])[product_id]
                )[0]
        return figures

    def stock_problems(self) -> list[str]:
        """Every listing whose platform figure differs from the hub's."""
        problems = []
        for code, wanted in self.hub_figures().items():
            shown = self.shops[code].levels()
            problems += [
                f"{code} {sku}: shows {shown.get(sku)}, the hub says {quantity}"
                for sku, quantity in sorted(wanted.items())
                if shown.get(sku) != quantity
            ]
        return problems

    def order_problems(self, code: str, external_ids: list[str]) -> list[str]:
        """Unless every order placed on the shop is in the hub exactly once, what is wrong."""
        with transaction(self.factory) as s:
            stored = s.scalars(select(Order.external_id).where(Order.shop_id == shops.get_shop(s, code).id))
            held = list(stored)
        placed, present = set(external_ids), set(held)
        problems = []
        if len(held) != len(present):
            problems.append(f"{code}: {len(held) - len(present)} orders stored more than once")
        if placed - present:
            problems.append(f"{code}: {len(placed - present)} of {len(placed)} placed orders missing")
        if present - placed:
            problems.append(f"{code}: {len(present - placed)} orders the bench did not place")
        return problems

    def product_ids(self) -> dict[str, int]:
        """Our product id of each SKU the sandbox shops list."""
        skus = {sku for shop in self.shops.values() for sku in shop.listings}
        with transaction(self.factory) as s:
            rows = s.execute(select(Product.sku, Product.id).where(Product.sku.in_(sorted(skus))))
            return {sku: product_id for sku, product_id in rows}


def stock_catalog(factory: sessionmaker[Session], stock: dict[str, int]) -> None:
    with transaction(factory) as s:
        inventory.create_warehouse(s, WarehouseIn(code=WAREHOUSE, name="Bench warehouse"))
        for sku, quantity in stock.items():
            catalog.create_product(s, ProductIn(sku=sku, name=f"Bench product {sku}"))
            inventory.receive(s, sku, WAREHOUSE, quantity, actor="bench", reason="opening stock")


@contextmanager
def world(
    url: str,
    stock: dict[str, int],
    *,
    platforms: Sequence[str],
    workers: int,
    settings: Settings,
) -> Iterator[World]:
    """The hub on ``url`` with ``stock`` received and a sandbox shop of each of ``platforms`` (codes of
    ``PLATFORMS``), each served on its own port with every SKU listed, sync on, polls held off, no
    webhooks or pushes yet; ``workers`` job workers run for the duration of the block."""
    engine = make_engine(url)
    factory = make_session_factory(engine)
    stock_catalog(factory, stock)
    sandboxes = {code: listed(code, stock) for code in platforms}
    probe = Probe()
    with ExitStack() as stack:
        stack.callback(engine.dispose)
        for shop in sandboxes.values():
            stack.callback(shop.close)
        urls = {code: stack.enter_context(serving(shop.app())) for code, shop in sandboxes.items()}
        hub_url = stack.enter_context(serving(create_app(settings, factory=factory, workers=0)))
        with transaction(factory) as s:
            for code, shop in sandboxes.items():
                shops.create_shop(s, shop.shop_in(urls[code]), settings)
                for sku, listing in shop.listings.items():
                    catalog.create_mapping(
                        s, MappingIn(shop=code, platform_sku=sku, listing_id=listing, sku=sku)
                    )
        stack.callback(probe.install())
        stack.callback(start_workers(factory, workers, settings))
        yield World(factory, settings, sandboxes, hub_url, probe)


def wall_seconds(value: Any) -> float:
    """A database timestamp (aware datetime) on the probe's clock."""
    return float(value.timestamp())
