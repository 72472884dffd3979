"""Rate limits count HTTP requests, not jobs: each adapter calls its connector's pacer before every
request it sends, and a push that takes three requests draws three tokens from the shop's bucket."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from orderly.catalog import service as catalog
from orderly.catalog.schemas import MappingIn
from orderly.channels import service as shops
from orderly.channels import tasks
from orderly.channels.amazon import AmazonConnector
from orderly.channels.connector import Parcel, ParcelLine, ShopConnection, StockPush
from orderly.channels.models import RateBucket
from orderly.channels.schemas import ShopIn, SyncSettings
from orderly.channels.shopify import ShopifyConnector
from orderly.core.config import get_settings
from orderly.core.db import transaction
from orderly.jobs import service as jobs
from orderly.jobs.registry import JobContext
from orderly.sandbox.amazon import AmazonStore, Line
from orderly.sandbox.amazon import create_app as amazon_app
from orderly.sandbox.serve import serving
from orderly.sandbox.shopify import ShopifyStore
from orderly.sandbox.shopify import create_app as shopify_app
from tests.factories import setup_catalog
from tests.sandbox.amazon.support import NO_KEEPALIVE, make_store
from tests.sandbox.shopify.helpers import SECRET, TOKEN, new_store, place, variant_ids

NOW = datetime.now(UTC)


class Recorder:
    """The pacer and the wire side by side: the operations paced, and the requests that went out."""

    def __init__(self, skip_path: str = "/auth/o2/token") -> None:
        self.paced: list[str] = []
        self.sent: list[str] = []
        self.skip_path = skip_path  # Amazon's token endpoint is Login with Amazon, not a paced SP-API

    def pace(self, operation: str) -> None:
        self.paced.append(operation)

    def on_request(self, request: httpx.Request) -> None:
        if request.url.path != self.skip_path:
            self.sent.append(f"{request.method} {request.url.path}")


@pytest.fixture
def shopify_store() -> Iterator[ShopifyStore]:
    store = new_store()
    yield store
    store.close()


@pytest.fixture
def shopify_url(shopify_store: ShopifyStore) -> Iterator[str]:
    with serving(shopify_app(shopify_store)) as url:
        yield url


def _shopify(url: str, store: ShopifyStore, recorder: Recorder) -> ShopifyConnector:
    connection = ShopConnection(
        1,
        "shopify-us",
        url,
        {"access_token": TOKEN, "webhook_secret": SECRET},
        {"location_id": store.location_id, "page_size": 1},
    )
    client = httpx.Client(base_url=url, timeout=5, event_hooks={"request": [recorder.on_request]})
    connector = ShopifyConnector(connection, client)
    connector.pace = recorder.pace
    return connector


def test_shopify_paces_every_request_a_push_a_poll_and_a_shipment_make(
    shopify_url: str, shopify_store: ShopifyStore
) -> None:
    recorder = Recorder()
    shopify = _shopify(shopify_url, shopify_store, recorder)
    variant = str(variant_ids(shopify_store)["SHIRT-S"])

    [pushed] = shopify.push_stock([StockPush(variant, "SHIRT-S", 5, {})])
    assert pushed.ok
    # The variant's inventory item, the locations it is stocked at, then the level.
    assert recorder.paced == ["stock", "stock", "stock"]
    assert len(recorder.sent) == 3

    order = place(shopify_store)
    place(shopify_store)
    recorder.paced.clear()
    recorder.sent.clear()
    page = shopify.fetch_orders(NOW - timedelta(days=1), NOW + timedelta(days=1), None)
    while page.next_cursor:
        page = shopify.fetch_orders(NOW - timedelta(days=1), NOW + timedelta(days=1), page.next_cursor)
    assert recorder.paced == ["orders"] * len(recorder.sent) and len(recorder.sent) >= 2  # page by page

    recorder.paced.clear()
    recorder.sent.clear()
    lines = [ParcelLine(None, "SHIRT-S", 1)]
    shopify.write_back(Parcel("1", str(order["id"]), "UPS", None, "1Z999", None, NOW, lines))
    assert recorder.paced == ["shipments"] * len(recorder.sent) and len(recorder.sent) >= 2


@pytest.fixture
def amazon_store() -> AmazonStore:
    return make_store()


def test_amazon_paces_every_sp_api_request_by_its_operation(amazon_store: AmazonStore) -> None:
    amazon_store.add_listing("SKU-A", asin="B0PACE0001", price="9.99")
    for _ in range(3):
        amazon_store.place_order([Line("SKU-A", 1)], paid=True)
    recorder = Recorder()
    with (
        serving(amazon_app(amazon_store)) as url,
        httpx.Client(timeout=5, limits=NO_KEEPALIVE, event_hooks={"request": [recorder.on_request]}) as http,
    ):
        connection = ShopConnection(
            7,
            "amazon-us",
            url,
            {
                "client_id": amazon_store.client_id,
                "client_secret": amazon_store.client_secret,
                "refresh_token": amazon_store.refresh_token,
            },
            {
                "marketplace_id": amazon_store.marketplace_id,
                "seller_id": amazon_store.seller_id,
                "before_lag_seconds": 0,
            },
        )
        amazon = AmazonConnector(connection, http)
        amazon.pace = recorder.pace

        page = amazon.fetch_orders(NOW - timedelta(hours=1), datetime.now(UTC), None)
        [pushed] = amazon.push_stock([StockPush("B0PACE0001", "SKU-A", 4, {})])

    assert len(page.orders) == 3 and pushed.ok
    # The RDT that getOrders carries is a Tokens API request of its own.
    assert recorder.paced == ["rdt", "orders", "order_items", "order_items", "order_items", "stock"]
    assert len(recorder.sent) == len(recorder.paced)  # one token per request, none unpaced


def test_a_push_draws_one_token_per_call_from_the_shops_bucket(
    factory: sessionmaker[Session], shopify_url: str, shopify_store: ShopifyStore
) -> None:
    setup_catalog(factory, {"SKU-1": 9})
    variant = str(variant_ids(shopify_store)["SHIRT-S"])
    with transaction(factory) as s:
        shop = shops.create_shop(
            s,
            ShopIn(
                code="shopify",
                name="Shopify",
                channel="shopify",
                base_url=shopify_url,
                credentials={"access_token": TOKEN, "webhook_secret": SECRET},
                # A bucket of 40 that refills too slowly to hide a token within the test.
                settings=SyncSettings.model_validate(
                    {"location_id": shopify_store.location_id, "rate_limits": {"stock": (0.001, 40)}}
                ),
                sync_enabled=True,
            ),
        )
        catalog.create_mapping(
            s, MappingIn(shop="shopify", platform_sku="SHIRT-S", listing_id=variant, sku="SKU-1")
        )
        jobs.enqueue(s, [jobs.NewJob(tasks.PUSH, {"shop_id": shop.id, "listing_id": variant})])
    with transaction(factory) as s:
        (claimed,) = jobs.claim(s, "w", [tasks.PUSH])
    context = JobContext(factory, get_settings(), "w")
    try:
        tasks.push_stock(context, claimed)
    finally:
        for client in context.extras.values():
            client.close()

    assert next(lv["available"] for lv in shopify_store.stock_levels() if lv["sku"] == "SHIRT-S") == 9
    with transaction(factory) as s:
        (tokens,) = s.scalars(select(RateBucket.tokens).where(RateBucket.operation == "admin")).all()
    assert 36.99 < tokens < 37.01  # 40 - 3: the variant, its levels and the level set each took one
