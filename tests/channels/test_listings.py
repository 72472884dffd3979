"""What each listing is told, on both databases: its own location and platform ids, never a figure for
one the platform fulfils from its own stock (Amazon FBA), and what it was last told, shown. Against an
in-memory platform that records where each push went."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import ClassVar

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from orderly.catalog import service as catalog
from orderly.catalog.schemas import MappingIn, MappingUpdate
from orderly.channels import service as shops
from orderly.channels import tasks
from orderly.channels.connector import PushResult, StockPush
from orderly.channels.schemas import ShopIn, SyncSettings
from orderly.core.db import transaction
from orderly.inventory import service as inventory
from orderly.jobs import service as jobs
from orderly.jobs.models import Job
from orderly.jobs.worker import Worker
from orderly.sandbox.amazon import FAST_RATES, AmazonStore
from orderly.sandbox.amazon import create_app as amazon_app
from orderly.sandbox.serve import serving
from orderly.sandbox.shopify import ShopifyStore
from orderly.sandbox.shopify import create_app as shopify_app
from tests.channels.fake import FakeConnector, FakePlatform
from tests.channels.sandbox_shops import connect_amazon, connect_shopify
from tests.factories import setup_catalog


class PlacedConnector(FakeConnector):
    """A platform with locations: the shop's default is its ``location`` setting."""

    location_setting = "location"
    listing_ids: ClassVar[Mapping[str, str]] = {"item": "the platform's stock item"}
    told: ClassVar[list[tuple[str, str | None, dict[str, str], int]]] = []
    during_push: ClassVar[list[Callable[[], None]]] = []  # each runs once, while a push is on its way

    def push_stock(self, pushes: Sequence[StockPush]) -> list[PushResult]:
        while self.during_push:
            self.during_push.pop(0)()
        default = self.connection.settings.get("location")
        for push in pushes:
            self.told.append(
                (push.listing_id, push.location or default, dict(push.platform_ids), push.quantity)
            )
        return super().push_stock(pushes)


@pytest.fixture
def shop(factory: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch) -> Iterator[FakePlatform]:
    """Shop ``fake-a`` (default location ``LOC-1``) selling SKU-1 (10 in stock) as listings ``MFN`` (the
    seller's stock) and ``FBA`` (the platform's own stock)."""
    platform = FakePlatform()
    PlacedConnector.platforms = {"fake-a": platform}
    PlacedConnector.told = []
    PlacedConnector.during_push = []
    lookup = lambda channel: PlacedConnector if channel == "fake" else None  # noqa: E731
    monkeypatch.setattr(shops, "connector_class", lookup)
    monkeypatch.setattr(catalog, "connector_class", lookup)
    setup_catalog(factory, {"SKU-1": 10, "SKU-2": 10})
    with transaction(factory) as s:
        shops.create_shop(
            s,
            ShopIn(
                code="fake-a",
                name="Fake",
                channel="fake",
                base_url="http://127.0.0.1:9",  # never dialled: the platform lives in memory
                credentials={"token": "t"},
                settings=SyncSettings.model_validate(
                    {"poll_interval_s": 3600, "stock_coalesce_s": 0, "location": "LOC-1"}
                ),
                sync_enabled=True,
            ),
        )
        catalog.create_mapping(s, MappingIn(shop="fake-a", listing_id="MFN", sku="SKU-1"))
        catalog.create_mapping(
            s, MappingIn(shop="fake-a", listing_id="FBA", sku="SKU-1", fulfilled_by="platform")
        )
    yield platform


@pytest.fixture
def worker(factory: sessionmaker[Session], shop: FakePlatform) -> Worker:
    return Worker(factory, name="test", idle_sleep=0)


def drain(worker: Worker) -> None:
    for _ in range(50):
        if not worker.run_once():
            return
    raise AssertionError("jobs kept coming")


def _mapping_id(factory: sessionmaker[Session], listing: str) -> int:
    with transaction(factory) as s:
        return next(m.id for m in catalog.list_mappings(s, shop="fake-a") if m.listing_id == listing)


def _enqueue(factory: sessionmaker[Session], job: jobs.NewJob) -> None:
    with transaction(factory) as s:
        jobs.enqueue(s, [job])


def _shop_id(factory: sessionmaker[Session]) -> int:
    with transaction(factory) as s:
        return shops.get_shop(s, "fake-a").id


# --- platform-fulfilled listings -----------------------------------------------------------------------


def test_a_platform_fulfilled_listing_is_never_scheduled_for_a_push(
    factory: sessionmaker[Session], shop: FakePlatform
) -> None:
    with transaction(factory) as s:
        product_id = catalog.get_product(s, "SKU-1").id
        assert tasks.schedule_pushes(s, [product_id]) == 1
        queued = s.execute(select(Job.kind, Job.payload).where(Job.kind == tasks.PUSH)).all()
    assert [payload["listing_id"] for _, payload in queued] == ["MFN"]


def test_a_platform_fulfilled_listing_gets_nothing_from_stock_changes_or_a_forced_resync(
    factory: sessionmaker[Session], worker: Worker, shop: FakePlatform
) -> None:
    drain(worker)  # the first resync
    with transaction(factory) as s:
        inventory.receive(s, "SKU-1", "WH-1", 5, actor="test", reason=None)
    drain(worker)
    _enqueue(factory, jobs.NewJob(tasks.RESYNC, {"shop_id": _shop_id(factory)}))
    drain(worker)
    # A push queued for it anyway (before it was marked, or by hand) finds nothing to send, even forced.
    _enqueue(
        factory, jobs.NewJob(tasks.PUSH, {"shop_id": _shop_id(factory), "listing_id": "FBA", "force": True})
    )
    drain(worker)

    assert shop.pushes == [("MFN", 10), ("MFN", 15), ("MFN", 15)]
    assert "FBA" not in shop.stock


# --- where a listing's stock goes ----------------------------------------------------------------------


def test_each_listing_is_pushed_to_its_own_location_with_its_own_ids(
    factory: sessionmaker[Session], worker: Worker, shop: FakePlatform
) -> None:
    with transaction(factory) as s:
        catalog.create_mapping(
            s,
            MappingIn(
                shop="fake-a", listing_id="AWAY", sku="SKU-2", location="LOC-2", platform_ids={"item": "77"}
            ),
        )
    drain(worker)

    assert sorted(PlacedConnector.told) == [("AWAY", "LOC-2", {"item": "77"}, 10), ("MFN", "LOC-1", {}, 10)]


def test_a_listing_moved_to_another_location_is_told_its_figure_there(
    factory: sessionmaker[Session], worker: Worker, shop: FakePlatform
) -> None:
    drain(worker)
    PlacedConnector.told.clear()
    mapping_id = _mapping_id(factory, "MFN")

    with transaction(factory) as s:
        moved = catalog.update_mapping(s, mapping_id, MappingUpdate(location="LOC-2"))
        assert (moved.location, moved.effective_location, moved.last_quantity) == ("LOC-2", "LOC-2", None)
    drain(worker)
    with transaction(factory) as s:
        catalog.update_mapping(s, mapping_id, MappingUpdate.model_validate({"location": None}))
    drain(worker)

    # The same figure each time: only the place changed, and each place had not been told it.
    assert PlacedConnector.told == [("MFN", "LOC-2", {}, 10), ("MFN", "LOC-1", {}, 10)]
    with transaction(factory) as s:
        back = catalog.get_mapping(s, mapping_id)
    assert (back.location, back.effective_location, back.last_quantity) == (None, "LOC-1", 10)


def test_a_listing_moved_while_a_push_is_on_its_way_is_told_its_figure_where_it_is_now(
    factory: sessionmaker[Session], worker: Worker, shop: FakePlatform
) -> None:
    drain(worker)
    PlacedConnector.told.clear()
    mapping_id = _mapping_id(factory, "MFN")

    def move() -> None:
        with transaction(factory) as s:
            catalog.update_mapping(s, mapping_id, MappingUpdate(location="LOC-2"))

    PlacedConnector.during_push.append(move)
    with transaction(factory) as s:
        inventory.receive(s, "SKU-1", "WH-1", 1, actor="test", reason=None)
    drain(worker)

    # The push on its way still went to LOC-1; its record must not make LOC-2 look told.
    assert PlacedConnector.told == [("MFN", "LOC-1", {}, 11), ("MFN", "LOC-2", {}, 11)]
    with transaction(factory) as s:
        assert catalog.get_mapping(s, mapping_id).last_quantity == 11


def test_a_listing_mapped_to_another_sku_is_told_that_skus_figure(
    factory: sessionmaker[Session], worker: Worker, shop: FakePlatform
) -> None:
    drain(worker)
    with transaction(factory) as s:
        inventory.receive(s, "SKU-2", "WH-1", 3, actor="test", reason=None)
    drain(worker)
    with transaction(factory) as s:
        catalog.update_mapping(s, _mapping_id(factory, "MFN"), MappingUpdate(sku="SKU-2"))
    drain(worker)

    assert shop.stock["MFN"] == 13


def test_a_listing_handed_to_the_platform_stops_getting_figures_and_gets_them_again_when_handed_back(
    factory: sessionmaker[Session], worker: Worker, shop: FakePlatform
) -> None:
    drain(worker)
    mapping_id = _mapping_id(factory, "MFN")
    with transaction(factory) as s:
        catalog.update_mapping(s, mapping_id, MappingUpdate(fulfilled_by="platform"))
        inventory.receive(s, "SKU-1", "WH-1", 1, actor="test", reason=None)
    drain(worker)
    assert shop.pushes == [("MFN", 10)]

    with transaction(factory) as s:
        catalog.update_mapping(s, mapping_id, MappingUpdate(fulfilled_by="merchant"))
    drain(worker)
    assert shop.pushes == [("MFN", 10), ("MFN", 11)]


# --- what each listing was told, shown ----------------------------------------------------------------


def test_the_last_figure_each_listing_was_told_is_shown_per_shop(
    factory: sessionmaker[Session], worker: Worker, shop: FakePlatform
) -> None:
    drain(worker)

    with transaction(factory) as s:
        listed = {m.listing_id: m for m in catalog.list_mappings(s, shop="fake-a")}
        assert catalog.list_mappings(s, shop="shop-b")[0].last_quantity is None  # never pushed: manual
    assert (listed["MFN"].last_quantity, listed["MFN"].last_error, listed["MFN"].learned_ids) == (
        10,
        None,
        {"seen": True},
    )
    assert listed["MFN"].last_pushed_at is not None
    assert (listed["FBA"].last_quantity, listed["FBA"].last_pushed_at) == (None, None)


# --- against the platforms' sandboxes -------------------------------------------------------------------


def test_over_http_a_second_location_gets_its_figure_and_an_fba_listing_gets_none(
    factory: sessionmaker[Session],
) -> None:
    """Shopify: the listing stocked at a second location gets the hub's figure there, and the shop's
    default location is left alone. Amazon: the FBA listing is never patched, so it stays FBA."""
    setup_catalog(factory, {"SKU-1": 6})
    shopify = ShopifyStore(seed=1, bucket_size=1000, leak_per_second=1000.0)
    second = shopify.add_location("Warehouse")["id"]
    lamp = shopify.add_product(
        {"title": "Lamp", "variants": [{"sku": "SKU-1", "available": 2, "location_id": second}]}
    )
    variant = lamp["variants"][0]
    amazon = AmazonStore(rates=FAST_RATES, before_lag_seconds=0, seed=2)
    amazon.add_listing("SKU-1")
    amazon.add_listing("SKU-1-FBA", fulfillment_channel="AMAZON_NA")
    with serving(shopify_app(shopify)) as shopify_url, serving(amazon_app(amazon)) as amazon_url:
        with transaction(factory) as s:
            connect_shopify(s, shopify, shopify_url, stock_coalesce_s=0)
            connect_amazon(s, amazon, amazon_url, stock_coalesce_s=0)
            catalog.create_mapping(
                s, MappingIn(shop="shopify", listing_id=str(variant["id"]), sku="SKU-1", location=str(second))
            )
            catalog.create_mapping(
                s, MappingIn(shop="amazon", platform_sku="SKU-1", listing_id="B0MFN", sku="SKU-1")
            )
            catalog.create_mapping(
                s,
                MappingIn(
                    shop="amazon",
                    platform_sku="SKU-1-FBA",
                    listing_id="B0FBA",
                    sku="SKU-1",
                    fulfilled_by="platform",
                ),
            )
        worker = Worker(factory, name="test", idle_sleep=0)
        drain(worker)  # the first polls and resyncs
        with transaction(factory) as s:
            inventory.receive(s, "SKU-1", "WH-1", 3, actor="test", reason=None)
            jobs.enqueue(s, [jobs.NewJob(tasks.RESYNC, {"shop_id": shops.get_shop(s, "amazon").id})])
        drain(worker)
        shopify.close()

    levels = [(lv["location_id"], lv["available"]) for lv in shopify.stock_levels() if lv["sku"] == "SKU-1"]
    assert levels == [(second, 9)]
    listings = {listing["sku"]: listing for listing in amazon.listings()}
    assert (listings["SKU-1"]["quantity"], listings["SKU-1"]["fulfillment_channel"]) == (9, "DEFAULT")
    assert (listings["SKU-1-FBA"]["patches"], listings["SKU-1-FBA"]["fulfillment_channel"]) == (
        0,
        "AMAZON_NA",
    )
