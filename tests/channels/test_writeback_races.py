"""Workers racing to write the same parcels back, from separate OS processes on both databases, against
the Shopify and Amazon sandboxes over HTTP with slow answers and lost ones: each parcel reaches its
shop once (a second worker waits while the first holds the parcel; a try after a lost answer finds
what the first made), and each ends accepted."""

from __future__ import annotations

from collections import Counter
from multiprocessing.pool import Pool
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from orderly.catalog import service as catalog
from orderly.catalog.schemas import MappingIn
from orderly.channels import service as shops
from orderly.channels import tasks
from orderly.core.config import get_settings
from orderly.core.db import transaction
from orderly.fulfilment import service as fulfilment
from orderly.fulfilment import tasks as fulfilment_tasks
from orderly.fulfilment.models import TrackingWriteback
from orderly.fulfilment.schemas import ShipmentIn
from orderly.jobs import service as jobs
from orderly.jobs.errors import JobFailed
from orderly.jobs.models import Job
from orderly.jobs.registry import JobContext
from orderly.jobs.service import Claimed
from orderly.jobs.worker import Worker
from orderly.orders.models import Order
from orderly.sandbox.amazon import FAST_RATES, AmazonStore, Faults, Line
from orderly.sandbox.amazon import create_app as amazon_app
from orderly.sandbox.faults import Drops
from orderly.sandbox.serve import serving
from orderly.sandbox.shopify import ShopifyStore
from orderly.sandbox.shopify import create_app as shopify_app
from orderly.sandbox.shopify.models import numbered_buyer
from tests.channels.sandbox_shops import connect_amazon, connect_shopify
from tests.factories import setup_catalog
from tests.races import Calls, hub, race, race_pool

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("races")]

WORKERS = 4
PARCELS = 6  # per shop


def _write_back(url: str, name: str, jobs_to_run: list[tuple[Any, ...]]) -> Counter[str]:
    """Run the write-back handler for each job as a worker named ``name`` would; how each try ended."""
    with hub(url) as factory:
        ctx = JobContext(factory, get_settings(), worker=name, sleep=lambda _: None)
        ended: Counter[str] = Counter()
        for fields in jobs_to_run:
            try:
                fulfilment_tasks.write_back_tracking(ctx, Claimed(*fields))
                ended["done"] += 1
            except fulfilment.WritebackBusy:
                ended["waited"] += 1
            except JobFailed:
                ended["failed"] += 1
        return ended


pool = race_pool(WORKERS)


def test_workers_racing_for_the_same_parcels_write_each_back_once(
    pool: Pool, db_url: str, factory: sessionmaker[Session]
) -> None:
    setup_catalog(factory, {"SKU-1": 100, "SKU-2": 100})
    shopify = ShopifyStore(seed=11, bucket_size=1000, leak_per_second=1000.0)
    overseas = shopify.add_location("Overseas", "DE")["id"]
    shopify.add_product({"title": "Tee", "variants": [{"sku": "SKU-1", "available": 100}]})
    shopify.add_product(
        {"title": "Mug", "variants": [{"sku": "SKU-2", "available": 100, "location_id": overseas}]}
    )
    amazon = AmazonStore(rates=FAST_RATES, before_lag_seconds=0, seed=12)
    amazon.add_listing("SKU-1")
    amazon.add_listing("SKU-2")
    shopify_drops, amazon_drops = Drops(shopify_app(shopify)), Drops(amazon_app(amazon))
    with serving(shopify_drops) as shopify_url, serving(amazon_drops) as amazon_url:
        with transaction(factory) as s:
            connect_shopify(s, shopify, shopify_url)
            connect_amazon(s, amazon, amazon_url)
            for shop in ("shopify", "amazon"):
                for sku in ("SKU-1", "SKU-2"):
                    catalog.create_mapping(s, MappingIn(shop=shop, platform_sku=sku, sku=sku))
        lines = [{"sku": "SKU-1", "quantity": 1}, {"sku": "SKU-2", "quantity": 1}]
        shopify_ids = [
            str(shopify.place_order({"lines": lines, **numbered_buyer(n)})["id"]) for n in range(PARCELS)
        ]
        amazon_ids = [
            amazon.place_order([Line("SKU-1", 1), Line("SKU-2", 1)], paid=True) for _ in range(PARCELS)
        ]
        worker = Worker(factory, name="setup", idle_sleep=0)
        with transaction(factory) as s:
            for code in ("shopify", "amazon"):
                jobs.enqueue(s, [jobs.NewJob(tasks.POLL, {"shop_id": shops.get_shop(s, code).id})])
        while worker.run_once():
            pass
        with transaction(factory) as s:
            for external_id in shopify_ids + amazon_ids:
                order_id = s.scalar(select(Order.id).where(Order.external_id == external_id))
                assert order_id is not None
                fulfilment.create_shipment(
                    s,
                    order_id,
                    ShipmentIn(carrier="UPS", tracking_number=f"1Z{external_id[-6:]}", ship=True),
                    actor="packer",
                )
            queued = [
                (job.id, job.kind, job.key, job.shop_id, job.payload, 1, job.max_attempts)
                for job in s.scalars(select(Job).where(Job.kind == fulfilment.WRITE_BACK).order_by(Job.id))
            ]
        assert len(queued) == 2 * PARCELS
        # Slow answers keep a try on the wire while the others arrive; lost ones leave a try unsure.
        shopify.set_faults({"seed": 13, "slow": 0.3, "slow_seconds": 0.3})
        amazon.set_faults(Faults(delay=0.3, delay_seconds=0.3, seed=14))
        shopify_drops.set(0.15, seed=15)
        amazon_drops.set(0.15, seed=16)

        calls: Calls = [
            (_write_back, (db_url, f"p{w}", queued[:: 1 if w % 2 else -1])) for w in range(WORKERS)
        ]
        ended = sum(race(pool, calls, timeout=300), Counter())

        shopify.set_faults({})
        amazon.clear_faults()
        shopify_drops.set(0.0)
        amazon_drops.set(0.0)
        ctx = JobContext(factory, get_settings(), worker="after", sleep=lambda _: None)
        for fields in queued:  # what the jobs' retries do once the race is over
            fulfilment_tasks.write_back_tracking(ctx, Claimed(*fields[:5], 2, fields[6]))

    assert ended["waited"] >= 1  # the race was met: a try found another holding its parcel
    with transaction(factory) as s:
        statuses = Counter(s.scalars(select(TrackingWriteback.status)))
    assert statuses == {"accepted": 2 * PARCELS}
    for external_id in shopify_ids:
        made = shopify.fulfillments(int(external_id))
        assert sorted(f["location_id"] for f in made) == sorted([shopify.location_id, overseas]), made
    for external_id in amazon_ids:
        assert [i["QuantityShipped"] for i in amazon.order(external_id)["items"]] == [1, 1]
        refs = {
            c["body"]["packageDetail"]["packageReferenceId"]
            for c in amazon.shipments()
            if c["order_id"] == external_id
        }
        assert len(refs) == 1
    shopify.close()
