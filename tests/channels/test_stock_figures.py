"""The figure each listing is told: what can still be sold across active warehouses (a bundle, what its
components allow), less the shop's buffer in units and in percent, and a resync that corrects drift on
the platform whatever the hub believes it sent."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from orderly.catalog.models import Product
from orderly.channels import service as shops
from orderly.channels import tasks
from orderly.channels.schemas import SyncSettings
from orderly.core.db import transaction
from orderly.inventory import service as inventory
from orderly.inventory.models import Warehouse
from orderly.jobs import service as jobs
from orderly.jobs.worker import Worker
from orderly.orders.ingest import ingest_batch
from tests.channels import test_tasks
from tests.channels.fake import FakePlatform
from tests.factories import order, setup_catalog

# The in-memory platforms and the worker of the sync tests.
platforms, worker, drain = test_tasks.platforms, test_tasks.worker, test_tasks.drain

# --- what can still be sold, on both databases ----------------------------------------


def _available(factory: sessionmaker[Session], sku: str) -> int:
    with transaction(factory) as s:
        product_id = s.scalar(select(Product.id).where(Product.sku == sku))
        assert product_id is not None
        return inventory.sellable(s, [product_id])[product_id]


def test_available_is_on_hand_less_reserved_and_safety_over_every_active_warehouse(
    factory: sessionmaker[Session],
) -> None:
    setup_catalog(factory, {"SKU-1": 10}, warehouses=3)
    with transaction(factory) as s:
        inventory.receive(s, "SKU-1", "WH-2", 4, actor="test", reason=None)
        inventory.receive(s, "SKU-1", "WH-3", 100, actor="test", reason=None)
        inventory.set_safety(s, "SKU-1", "WH-2", 1, actor="test", reason=None)
        s.execute(update(Warehouse).where(Warehouse.code == "WH-3").values(active=False))
    ingest_batch(factory, [order(("SKU-1", 3))])  # reserved in WH-1

    assert _available(factory, "SKU-1") == (10 - 3) + (4 - 1)
    assert _available(factory, "SKU-2") == 0  # no stock anywhere


@pytest.mark.parametrize(
    ("stock", "expected"),
    [
        ({"SKU-1": 7, "SKU-2": 10}, 3),  # 2 x SKU-1 each: 7 // 2
        ({"SKU-1": 10, "SKU-2": 2}, 2),  # SKU-2 is the short one
        ({"SKU-1": 1, "SKU-2": 10}, 0),  # not one whole kit
        ({"SKU-1": 10}, 0),  # a component with no stock at all
    ],
)
def test_a_bundle_can_sell_what_its_scarcest_component_allows(
    factory: sessionmaker[Session], stock: dict[str, int], expected: int
) -> None:
    setup_catalog(factory, stock)  # KIT-1 is 2 x SKU-1 + 1 x SKU-2
    assert _available(factory, "KIT-1") == expected


def test_a_bundle_counts_its_components_over_every_warehouse(factory: sessionmaker[Session]) -> None:
    setup_catalog(factory, {"SKU-1": 3, "SKU-2": 1}, warehouses=2)
    with transaction(factory) as s:
        inventory.receive(s, "SKU-1", "WH-2", 3, actor="test", reason=None)
        inventory.receive(s, "SKU-2", "WH-2", 5, actor="test", reason=None)
    assert _available(factory, "KIT-1") == 3  # 6 // 2, though no one warehouse holds three kits


# --- through the worker: what the platform ends up showing --------------------------------------------


def _settings(factory: sessionmaker[Session], code: str, **settings: Any) -> None:
    with transaction(factory) as s:
        shop = shops.get_shop(s, code, lock=True)
        shop.settings = SyncSettings(poll_interval_s=3600, **settings).model_dump()


def test_a_percent_buffer_holds_back_that_share_from_one_shop_only(
    factory: sessionmaker[Session], worker: Worker, platforms: dict[str, FakePlatform]
) -> None:
    _settings(factory, "fake-b", stock_buffer_percent=25)
    drain(worker)

    # SKU-1: 10 available; the kit (2 x SKU-1 + SKU-2): 5.
    assert platforms["fake-a"].stock == {"fake-a-L1": 10, "fake-a-K1": 5}
    assert platforms["fake-b"].stock == {"fake-b-L1": 8, "fake-b-K1": 4}  # 2.5 and 1.25 held back


def test_a_resync_corrects_a_figure_changed_on_the_platform_though_the_hub_sent_it_before(
    factory: sessionmaker[Session], worker: Worker, platforms: dict[str, FakePlatform]
) -> None:
    drain(worker)
    assert platforms["fake-a"].stock == {"fake-a-L1": 10, "fake-a-K1": 5}
    platforms["fake-a"].stock["fake-a-L1"] = 99  # someone edited the listing on the platform
    for platform in platforms.values():
        platform.pushes.clear()

    with transaction(factory) as s:
        shop_id = shops.get_shop(s, "fake-a").id
        jobs.enqueue(s, [jobs.NewJob(tasks.RESYNC, {"shop_id": shop_id})])
    drain(worker)

    assert platforms["fake-a"].stock == {"fake-a-L1": 10, "fake-a-K1": 5}
    assert sorted(platforms["fake-a"].pushes) == [("fake-a-K1", 5), ("fake-a-L1", 10)]  # every listing
    assert platforms["fake-b"].pushes == []  # another shop's resync is its own
