"""Workers in separate OS processes, on both databases, all finding the Shopee access token about to
expire at once and racing to renew it with a refresh token that is good once: one renewal wins and is
sealed into the shop; the others' jobs fail retryably (never dead) and their next try uses the stored
tokens, so every listing's stock reaches Shopee."""

from __future__ import annotations

import time
from collections import Counter
from multiprocessing.pool import Pool

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from orderly.catalog import service as catalog
from orderly.catalog.schemas import MappingIn, ProductIn
from orderly.channels import service as shops
from orderly.channels import tasks
from orderly.channels.models import Shop
from orderly.channels.secrets import unseal
from orderly.core.config import get_settings
from orderly.core.db import transaction
from orderly.inventory import service as inventory
from orderly.jobs.errors import JobFailed
from orderly.jobs.registry import JobContext
from orderly.jobs.service import Claimed
from orderly.sandbox.serve import serving
from orderly.sandbox.shopee import ShopeeStore, create_app
from tests.channels.sandbox_shops import connect_shopee
from tests.factories import setup_catalog
from tests.races import Calls, hub, race, race_pool

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("races")]

WORKERS = 4


def _push(url: str, name: str, shop_id: int, listing_id: str) -> Counter[str]:
    """Push one listing as a worker would, trying again (as the job would) after a retryable failure."""
    with hub(url) as factory:
        ctx = JobContext(factory, get_settings(), worker=name, sleep=lambda _: None)
        ended: Counter[str] = Counter()
        for attempt in range(1, 11):
            job = Claimed(attempt, tasks.PUSH, f"{shop_id}:{listing_id}", shop_id,
                          {"shop_id": shop_id, "listing_id": listing_id}, attempt, 12)  # fmt: skip
            try:
                tasks.push_stock(ctx, job)
            except JobFailed as exc:
                assert exc.retryable, str(exc)  # never dead for a token another worker renewed
                ended["retried"] += 1
                time.sleep(0.1)
                continue
            ended["pushed"] += 1
            return ended
        return ended


pool = race_pool(WORKERS)


def test_workers_renewing_one_single_use_refresh_token_at_once_all_get_through(
    pool: Pool, db_url: str, factory: sessionmaker[Session]
) -> None:
    setup_catalog(factory, {"SKU-1": 7})
    store = ShopeeStore(seed=21)
    skus = [f"SKU-R{n}" for n in range(WORKERS)]
    listings = [store.add_model(sku, stock=0) for sku in skus]
    with serving(create_app(store)) as url:
        with transaction(factory) as s:
            # Issued long ago: a minute left, so every worker renews before its call.
            connect_shopee(s, store, url)
            shop = s.scalars(select(Shop).where(Shop.code == "shopee")).one()
            shop_id = shop.id
            for n, (sku, (item_id, model_id)) in enumerate(zip(skus, listings, strict=True)):
                catalog.create_product(s, ProductIn(sku=sku, name=sku))
                inventory.receive(s, sku, "WH-1", 10 + n, actor="test", reason=None)
                listing = f"{item_id}:{model_id}"
                catalog.create_mapping(
                    s, MappingIn(shop="shopee", platform_sku=sku, listing_id=listing, sku=sku)
                )
        with transaction(factory) as s:
            stored = unseal(get_settings(), s.get(Shop, shop_id).credentials)  # type: ignore[union-attr]
            shops.keep_credentials(s, shop_id, {**stored, "expire_at": str(int(time.time()) + 60)})
        spent = store.refresh_token

        calls: Calls = [
            (_push, (db_url, f"p{w}", shop_id, f"{item_id}:{model_id}"))
            for w, (item_id, model_id) in enumerate(listings)
        ]
        ended = sum(race(pool, calls, timeout=120), Counter())

    assert ended["pushed"] == WORKERS
    assert ended["retried"] >= 1  # the race was met: a worker found the refresh token spent
    assert [store.stock(*listing) for listing in listings] == [10, 11, 12, 13]
    with transaction(factory) as s:
        kept = unseal(get_settings(), s.get(Shop, shop_id).credentials)  # type: ignore[union-attr]
    assert (kept["access_token"], kept["refresh_token"]) == (store.access_token, store.refresh_token)
    assert kept["refresh_token"] != spent
