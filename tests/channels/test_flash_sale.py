"""The flash-sale drill, as a race between OS processes on both databases: two Shopify sandbox shops,
orders waiting on hold for stock, receipts that the waiting orders absorb at once while stock pushes
are in flight (the sandboxes answer slowly), several worker processes. After every round, when the
jobs have run, every listing on both shops must show the hub's figure for it.

Before pushes of one listing were serialised, a push could read the figure between a receipt and
the release that absorbed it, and still be out when the next push read 0, found the record showing
0 and skipped: the listing was left selling units the hub no longer had.
"""

from __future__ import annotations

import multiprocessing
import random
import time
from collections.abc import Iterator
from contextlib import ExitStack
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from orderly.catalog import service as catalog
from orderly.catalog.models import Product
from orderly.catalog.schemas import MappingIn
from orderly.channels import domain, tasks
from orderly.channels import service as shops
from orderly.channels.schemas import ShopIn, SyncSettings
from orderly.core.db import make_engine, make_session_factory, transaction
from orderly.inventory import service as inventory
from orderly.jobs.models import Job
from orderly.jobs.worker import Worker
from orderly.orders.ingest import ingest_batch
from orderly.sandbox.serve import serving
from orderly.sandbox.shopify import ShopifyStore
from orderly.sandbox.shopify import create_app as shopify_app
from tests.factories import order, setup_catalog

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("races")]

WORKERS = 4
ROUNDS = 10
SHOPS = ("flash-a", "flash-b")
#: Each shop's listings (platform SKU -> ours): three variants selling SKU-1 from one pool, and the kit
#: (2 x SKU-1 + SKU-2), whose figure moves with SKU-1's.
LISTINGS = {"TEE-RED": "SKU-1", "TEE-BLUE": "SKU-1", "TEE-GREEN": "SKU-1", "KIT-1": "KIT-1"}
#: Half of the sandboxes' calls answer late, so pushes overlap and arrive out of order.
SLOW = {"seed": 7, "slow": 0.5, "slow_seconds": 0.3}


def _work(url: str, name: str, stop: Any) -> None:
    """One worker process of the hub."""
    Worker(make_session_factory(make_engine(url)), name=name, idle_sleep=0.01).run(stop)


def _settle(factory: sessionmaker[Session], deadline: float = 120.0) -> None:
    """Wait until no stock job is queued or running."""
    until = time.monotonic() + deadline
    stock_jobs = ["stock_changed", "stock_freed", tasks.PUSH, tasks.RESYNC]
    while time.monotonic() < until:
        with transaction(factory) as s:
            busy = s.scalar(
                select(func.count())
                .select_from(Job)
                .where(Job.kind.in_(stock_jobs), Job.status.in_(["queued", "running"]))
            )
        if not busy:
            return
        time.sleep(0.05)
    raise AssertionError("the stock jobs did not settle")


def _shown(stores: dict[str, ShopifyStore]) -> dict[tuple[str, str], int]:
    return {
        (code, level["sku"]): int(level["available"])
        for code, store in stores.items()
        for level in store.stock_levels()
    }


def _published(factory: sessionmaker[Session]) -> dict[tuple[str, str], int]:
    """What the hub would publish on each listing now."""
    with transaction(factory) as s:
        figures = {}
        for code in SHOPS:
            shop = shops.get_shop(s, code)
            for listed, sku in LISTINGS.items():
                product_id = s.scalars(select(Product.id).where(Product.sku == sku)).one()
                figures[(code, listed)] = domain.publishable(
                    shops.sync_settings(shop), inventory.sellable(s, [product_id])[product_id]
                )[0]
        return figures


@pytest.fixture
def stores() -> Iterator[dict[str, ShopifyStore]]:
    made = {
        code: ShopifyStore(seed=n, bucket_size=10_000, leak_per_second=10_000.0)
        for n, code in enumerate(SHOPS)
    }
    yield made
    for store in made.values():
        store.close()


def test_receipts_absorbed_by_waiting_orders_while_pushes_are_in_flight_leave_every_listing_right(
    factory: sessionmaker[Session], db_url: str, stores: dict[str, ShopifyStore]
) -> None:
    setup_catalog(factory, {"SKU-2": 1000})  # SKU-1 starts at 0: the sale waits for its delivery
    rng = random.Random(8)
    with ExitStack() as stack:
        with transaction(factory) as s:
            for code, store in stores.items():
                url = stack.enter_context(serving(shopify_app(store)))
                variants = {
                    listed: store.add_product(
                        {"title": listed, "variants": [{"sku": listed, "price": "9.99", "available": 0}]}
                    )["variants"][0]["id"]
                    for listed in LISTINGS
                }
                shops.create_shop(
                    s,
                    ShopIn(
                        code=code,
                        name=code,
                        channel="shopify",
                        base_url=url,
                        credentials={"access_token": "shpat_sandbox", "webhook_secret": "flash"},
                        settings=SyncSettings.model_validate(
                            {
                                "poll_interval_s": 86_400,
                                "location_id": store.location_id,
                                "stock_coalesce_s": 0,  # every change pushes at once: the most overlap
                                "rate_limits": {"stock": (10_000.0, 10_000), "orders": (10_000.0, 10_000)},
                            }
                        ),
                        sync_enabled=True,
                    ),
                )
                for listed, variant in variants.items():
                    catalog.create_mapping(
                        s,
                        MappingIn(
                            shop=code, platform_sku=listed, listing_id=str(variant), sku=LISTINGS[listed]
                        ),
                    )
                store.set_faults(SLOW)

        context = multiprocessing.get_context("spawn")
        manager = stack.enter_context(context.Manager())
        stop = manager.Event()
        workers = [context.Process(target=_work, args=(db_url, f"flash-{n}", stop)) for n in range(WORKERS)]
        for process in workers:
            process.start()
        stack.callback(lambda: [p.join(timeout=60) for p in workers])
        stack.callback(stop.set)

        placed = 0

        def sell(count: int) -> None:
            """Orders for one unit each, one after another, as buyers check out."""
            nonlocal placed
            for _ in range(count):
                ingest_batch(factory, [order(("SKU-1", 1), shop=SHOPS[placed % 2], placed=placed)])
                placed += 1
                time.sleep(rng.uniform(0, 0.03))

        for round_ in range(ROUNDS):
            sell(5)  # sold out: these wait on hold for the delivery
            # The delivery is absorbed at once by the waiting orders; what is left sells while the
            # pushes of the last figures are still out.
            with transaction(factory) as s:
                inventory.receive(s, "SKU-1", "WH-1", 5 + rng.randint(2, 6), actor="test", reason="delivery")
            sell(rng.randint(2, 8))
            _settle(factory)
            assert _shown(stores) == _published(factory), f"round {round_}"
