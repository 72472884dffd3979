"""The world ``bench/sync.py`` measures: a hub database, sandbox shops served over loopback HTTP, the
hub's API and job workers in this process, and a probe that stamps every job the workers run."""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

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
from orderly.sandbox.amazon import FAST_RATES, AmazonStore
from orderly.sandbox.amazon import create_app as amazon_app
from orderly.sandbox.serve import serving
from orderly.sandbox.shopify import ShopifyStore
from orderly.sandbox.shopify import create_app as shopify_app

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


@dataclass
class SandboxShop:
    code: str
    channel: str
    shopify: ShopifyStore | None = None
    amazon: AmazonStore | None = None
    listings: dict[str, str] = field(default_factory=dict)  # sku -> listing id (Shopify: the variant)

    def app(self) -> Any:
        """The sandbox's HTTP face."""
        if self.shopify is not None:
            return shopify_app(self.shopify)
        assert self.amazon is not None
        return amazon_app(self.amazon)

    def levels(self) -> dict[str, int | None]:
        """The quantity each SKU shows on the platform right now (None: never set)."""
        if self.shopify is not None:
            location = self.shopify.location_id
            return {
                level["sku"]: level["available"]
                for level in self.shopify.stock_levels()
                if level["location_id"] == location
            }
        assert self.amazon is not None
        quantities = self.amazon.quantities()
        return {sku: quantities.get(sku) for sku in self.listings}


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
        """Wait until every webhook is delivered and no job is queued or running."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            senders_done = all(
                shop.shopify.wait_for_webhooks(0) for shop in self.shops.values() if shop.shopify
            )
            if senders_done and not self.busy_jobs():
                return
            time.sleep(step)
        raise SystemExit(f"the hub did not settle within {timeout:.0f} s ({self.busy_jobs()} jobs left)")

    def set_poll_interval(self, code: str, seconds: int) -> None:
        with transaction(self.factory) as s:
            shops.update_shop(s, code, ShopUpdate(settings={"poll_interval_s": seconds}), self.settings)

    def webhooks(self, code: str, on: bool) -> None:
        store = self.shops[code].shopify
        assert store is not None
        target = {"url": f"{self.hub_url}/api/v1/webhooks/{code}", "secret": WEBHOOK_SECRET}
        store.set_webhook(target if on else None)

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
    shopify_shops: int,
    amazon: bool,
    workers: int,
    settings: Settings,
) -> Iterator[World]:
    """The hub on ``url`` with ``stock`` received, ``shopify_shops`` Shopify sandboxes (``shopify-1``
    first) and optionally an Amazon one, every SKU listed on each, sync on, polls held off, no
    webhooks yet; ``workers`` job workers run for the duration of the block."""
    engine = make_engine(url)
    factory = make_session_factory(engine)
    stock_catalog(factory, stock)
    sandboxes: dict[str, SandboxShop] = {}
    for n in range(1, shopify_shops + 1):
        # The sandbox's own bucket is made roomy: the hub paces itself to Shopify's published limit.
        store = ShopifyStore(
            seed=n,
            shop_domain=f"bench-{n}.myshopify.com",
            bucket_size=1_000_000,
            leak_per_second=1_000_000.0,
            webhook_retry_delay=0.05,
        )
        listings = {
            sku: str(
                store.add_product(
                    {"title": sku, "variants": [{"sku": sku, "price": "19.99", "available": quantity}]}
                )["variants"][0]["id"]
            )
            for sku, quantity in stock.items()
        }
        sandboxes[f"shopify-{n}"] = SandboxShop(f"shopify-{n}", "shopify", shopify=store, listings=listings)
    if amazon:
        seller = AmazonStore(rates=FAST_RATES, before_lag_seconds=0, seed=7)
        for sku in stock:
            seller.add_listing(sku, price="19.99")
        # Amazon's listing is the seller's SKU: platform_sku and listing_id are both the SellerSKU.
        sandboxes["amazon"] = SandboxShop("amazon", "amazon", amazon=seller, listings={s: s for s in stock})
    probe = Probe()
    with ExitStack() as stack:
        stack.callback(engine.dispose)
        for shop in sandboxes.values():
            if shop.shopify is not None:
                stack.callback(shop.shopify.close)
        urls = {code: stack.enter_context(serving(shop.app())) for code, shop in sandboxes.items()}
        hub_url = stack.enter_context(serving(create_app(settings, factory=factory, workers=0)))
        with transaction(factory) as s:
            for code, shop in sandboxes.items():
                shops.create_shop(s, _shop_in(shop, urls[code]), settings)
                for sku, listing in shop.listings.items():
                    catalog.create_mapping(
                        s, MappingIn(shop=code, platform_sku=sku, listing_id=listing, sku=sku)
                    )
        stack.callback(probe.install())
        stack.callback(start_workers(factory, workers, settings))
        yield World(factory, settings, sandboxes, hub_url, probe)


def _shop_in(shop: SandboxShop, base_url: str) -> ShopIn:
    config: dict[str, Any] = {"poll_interval_s": NEVER}
    if shop.shopify is not None:
        credentials = {"access_token": shop.shopify.access_token, "webhook_secret": WEBHOOK_SECRET}
        config["location_id"] = shop.shopify.location_id
    else:
        assert shop.amazon is not None
        credentials = {
            "client_id": shop.amazon.client_id,
            "client_secret": shop.amazon.client_secret,
            "refresh_token": shop.amazon.refresh_token,
        }
        config |= {
            "marketplace_id": shop.amazon.marketplace_id,
            "seller_id": shop.amazon.seller_id,
            "before_lag_seconds": 0,  # the sandbox lists an order at once; Amazon's 120 s is off
        }
    return ShopIn(
        code=shop.code,
        name=shop.code,
        channel=shop.channel,
        base_url=base_url,
        credentials=credentials,
        settings=SyncSettings.model_validate(config),
        sync_enabled=True,
    )


def wall_seconds(value: Any) -> float:
    """A database timestamp (aware datetime) on the probe's clock."""
    return float(value.timestamp())
