"""Orders in every state a platform shows, driven through the Shopify and Amazon sandboxes over HTTP and
the hub's polls: shipped or partly shipped outside the hub (before or after the hub saw them; shipped
whole before, from the hub's shelves, its units leave the hub's stock),
cancelled before the hub saw them, fulfilled by Amazon (FBA), a buyer's cancellation request, an
address without a street. Each arrives in its state, only what is left to ship is reserved, and the
ledger equals the levels."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from orderly.catalog import service as catalog
from orderly.catalog.schemas import MappingIn
from orderly.channels import service as shops
from orderly.channels import tasks
from orderly.core.db import transaction
from orderly.inventory import service as inventory
from orderly.jobs import service as jobs
from orderly.jobs.models import Job
from orderly.jobs.worker import Worker
from orderly.orders import queries
from orderly.orders.models import Order
from orderly.sandbox.amazon import FAST_RATES, AmazonStore, Line
from orderly.sandbox.amazon import create_app as amazon_app
from orderly.sandbox.serve import serving
from orderly.sandbox.shopify import ShopifyStore
from orderly.sandbox.shopify import create_app as shopify_app
from orderly.sandbox.shopify.models import numbered_buyer
from tests.channels.sandbox_shops import connect_amazon, connect_shopify
from tests.factories import setup_catalog

pytestmark = pytest.mark.xdist_group("end_to_end")


@dataclass
class Platforms:
    factory: sessionmaker[Session]
    worker: Worker
    shopify: ShopifyStore
    amazon: AmazonStore

    def poll(self) -> None:
        """Both shops poll once, and every job that follows runs."""
        with transaction(self.factory) as s:
            for code in ("shopify", "amazon"):
                shop = shops.get_shop(s, code)
                jobs.enqueue(s, [jobs.NewJob(tasks.POLL, {"shop_id": shop.id})])
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            ran = self.worker.run_once()
            with transaction(self.factory) as s:
                pending = s.scalar(
                    select(func.count()).select_from(Job).where(Job.status.in_(["queued", "running"]))
                )
            if not ran and not pending:
                return
            if not ran:
                time.sleep(0.05)
        raise AssertionError("the sync did not settle")

    def status(self, external_id: object) -> tuple[str, list[str]]:
        with transaction(self.factory) as s:
            order = s.scalars(select(Order).where(Order.external_id == str(external_id))).one()
            return order.status, [hold["reason"] for hold in order.holds]


@pytest.fixture
def platforms(factory: sessionmaker[Session]) -> Iterator[Platforms]:
    setup_catalog(factory, {"SKU-1": 30})
    shopify = ShopifyStore(seed=5, bucket_size=1000, leak_per_second=1000.0)
    shopify.add_product({"title": "Tee", "variants": [{"sku": "SKU-1", "price": "19.99", "available": 30}]})
    amazon = AmazonStore(rates=FAST_RATES, before_lag_seconds=0, seed=6)
    amazon.add_listing("SKU-1", asin="B0STATES01", price="19.99")
    with serving(shopify_app(shopify)) as shopify_url, serving(amazon_app(amazon)) as amazon_url:
        with transaction(factory) as s:
            connect_shopify(s, shopify, shopify_url, webhook_secret="whsec-states")
            connect_amazon(s, amazon, amazon_url)
            catalog.create_mapping(s, MappingIn(shop="amazon", platform_sku="SKU-1", sku="SKU-1"))
        yield Platforms(factory, Worker(factory, name="states", idle_sleep=0), shopify, amazon)
        shopify.close()


def _stock(factory: sessionmaker[Session]) -> tuple[int, int]:
    """(on hand, reserved) of SKU-1."""
    with transaction(factory) as s:
        (figure,) = inventory.stock_of(s, "SKU-1")
        return figure.on_hand, figure.reserved


def test_every_platform_state_arrives_as_it_is_and_reserves_only_what_is_left(platforms: Platforms) -> None:
    shopify, amazon = platforms.shopify, platforms.amazon

    def checkout(number: int, quantity: int = 1) -> int:
        placed = shopify.place_order(
            {"lines": [{"sku": "SKU-1", "quantity": quantity}], **numbered_buyer(number)}
        )
        return int(placed["id"])

    # Settled on the platforms before the hub ever saw them.
    fulfilled_before = checkout(1, 2)
    shopify.fulfill(fulfilled_before)
    partly_before = checkout(2, 3)
    shopify.fulfill(partly_before, {"SKU-1": 1})
    cancelled_before = checkout(3)
    shopify.cancel(cancelled_before)
    shipped_in_seller_central = amazon.place_order([Line("SKU-1", 2)], paid=True)
    amazon.ship(shipped_in_seller_central)
    never_paid_cancelled = amazon.place_order([Line("SKU-1", 1)])  # Pending: no address, no prices
    amazon.cancel(never_paid_cancelled)
    fba = amazon.place_order([Line("SKU-1", 4)], paid=True, fba=True)
    no_street = amazon.place_order(
        [Line("SKU-1", 1)],
        paid=True,
        address={"Name": "Mei Chen", "City": "Seattle", "StateOrRegion": "WA", "CountryCode": "US"},
    )
    # Open orders the hub will reserve, then see shipped or asked to cancel.
    fulfilled_after = checkout(4, 2)
    amazon_shipped_after = amazon.place_order([Line("SKU-1", 3)], paid=True)
    asks_cancel = amazon.place_order([Line("SKU-1", 1)], paid=True)

    platforms.poll()

    assert platforms.status(fulfilled_before) == ("shipped", [])
    assert platforms.status(partly_before) == ("allocated", [])
    assert platforms.status(cancelled_before) == ("cancelled", [])
    assert platforms.status(shipped_in_seller_central) == ("shipped", [])
    assert platforms.status(never_paid_cancelled) == ("cancelled", [])
    assert platforms.status(fba) == ("platform_fulfilled", [])
    assert platforms.status(no_street) == ("on_hold", ["address"])
    # Reserved: 2 left of the partly shipped, 1 without a street, 2 + 3 + 1 of the open ones. What
    # was shipped before the hub saw it left its shelves after the shops joined: 2 + 1 + 2 out.
    assert _stock(platforms.factory) == (25, 9)

    shopify.fulfill(fulfilled_after, {"SKU-1": 1})
    amazon.ship(amazon_shipped_after, {"SKU-1": 1})
    amazon.request_cancel(asks_cancel)
    platforms.poll()
    assert platforms.status(fulfilled_after) == ("allocated", [])
    assert platforms.status(amazon_shipped_after) == ("allocated", [])
    assert platforms.status(asks_cancel) == ("on_hold", ["cancel_request"])
    assert _stock(platforms.factory) == (23, 7)  # two units left the shelf, reserved by the hub

    shopify.fulfill(fulfilled_after)
    amazon.ship(amazon_shipped_after)
    platforms.poll()
    assert platforms.status(fulfilled_after) == ("shipped", [])
    assert platforms.status(amazon_shipped_after) == ("shipped", [])
    assert _stock(platforms.factory) == (20, 4)
    with transaction(platforms.factory) as s:
        assert inventory.verify(s, repair=False, actor="test") == []


def test_a_shopify_order_shipped_from_another_location_before_the_hub_saw_it_takes_no_stock(
    platforms: Platforms,
) -> None:
    """The hub keeps the stock of the shop's ``location_id``: a parcel another location (a store, a
    3PL) sent took none of it, one the hub's location sent took its units."""
    shopify = platforms.shopify
    store = shopify.add_location("Retail store")
    shopify.add_product(
        {"title": "Mug", "variants": [{"sku": "SKU-2", "available": 9, "location_id": store["id"]}]}
    )
    with transaction(platforms.factory) as s:
        inventory.receive(s, "SKU-2", "WH-1", 20, actor="test", reason=None)
    from_store = shopify.place_order({"lines": [{"sku": "SKU-2", "quantity": 3}], **numbered_buyer(8)})
    from_hub = shopify.place_order({"lines": [{"sku": "SKU-1", "quantity": 2}], **numbered_buyer(9)})
    shopify.fulfill(int(from_store["id"]))
    shopify.fulfill(int(from_hub["id"]))
    assert {f["location_id"] for f in shopify.fulfillments(int(from_store["id"]))} == {store["id"]}

    platforms.poll()

    assert platforms.status(from_store["id"]) == ("shipped", [])
    assert platforms.status(from_hub["id"]) == ("shipped", [])
    with transaction(platforms.factory) as s:
        (mugs,) = inventory.stock_of(s, "SKU-2")
        assert (mugs.on_hand, mugs.reserved) == (20, 0)
        assert inventory.verify(s, repair=False, actor="test") == []
    assert _stock(platforms.factory) == (28, 0)


def test_a_shopify_order_shipped_with_tracking_shows_it_and_is_found_by_it(platforms: Platforms) -> None:
    placed = platforms.shopify.place_order({"lines": [{"sku": "SKU-1", "quantity": 1}], **numbered_buyer(7)})
    platforms.shopify.fulfill(int(placed["id"]), tracking={"number": "1Z001985YW99744790", "company": "UPS"})

    platforms.poll()

    with transaction(platforms.factory) as s:
        found = queries.list_orders(s, queries.OrderFilters(q="1z 0019 85yw 9974 4790"), cursor=None, limit=5)
    assert [(o.external_id, o.status) for o in found.items] == [(str(placed["id"]), "shipped")]
    (shipment,) = found.items[0].shipments
    assert (shipment.carrier, shipment.tracking_number) == ("UPS", "1Z001985YW99744790")
    assert shipment.tracking_url and "1Z001985YW99744790" in shipment.tracking_url
    assert shipment.shipped_at is not None
