"""Two changes to a Shopify order within one second, over real HTTP: the sandbox stamps both versions
with the same ``updated_at`` (Shopify's stamps are to the second), and the hub takes in both, whether
by webhook, by poll, or with the webhooks of the two coming in the wrong order."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import orjson
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from orderly.api import create_app
from orderly.catalog import service as catalog
from orderly.catalog.schemas import MappingIn
from orderly.channels import service as shops
from orderly.channels import tasks
from orderly.channels.models import InboxEntry
from orderly.channels.shopify.webhooks import HMAC_HEADER, TOPIC_HEADER, WEBHOOK_ID_HEADER, signature
from orderly.core.db import transaction
from orderly.inventory import service as inventory
from orderly.jobs import service as jobs
from orderly.jobs.models import Job
from orderly.jobs.worker import Worker
from orderly.orders.models import Order
from orderly.sandbox.serve import serving
from orderly.sandbox.shopify import ShopifyStore
from orderly.sandbox.shopify import create_app as shopify_app
from orderly.sandbox.shopify.models import numbered_buyer
from tests.channels.sandbox_shops import connect_shopify
from tests.factories import setup_catalog

SECRET = "whsec-same-second"
pytestmark = pytest.mark.xdist_group("end_to_end")


@dataclass
class Shop:
    factory: sessionmaker[Session]
    worker: Worker
    store: ShopifyStore
    hub_url: str
    frozen: list[datetime]  # the sandbox's clock: every change stamps this instant

    def freeze(self) -> None:
        """Stop the sandbox's clock in the present second (before our clock's now, so polls read it)."""
        self.frozen[0] = datetime.now(UTC).replace(microsecond=0)

    def settle(self) -> None:
        """Run jobs until every webhook is delivered and no job is queued or running."""
        assert self.store.wait_for_webhooks(10.0)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            ran = self.worker.run_once()
            self.store.wait_for_webhooks(0.05)
            with transaction(self.factory) as s:
                pending = s.scalar(
                    select(func.count()).select_from(Job).where(Job.status.in_(["queued", "running"]))
                )
            if not ran and not pending:
                return
        raise AssertionError("the sync did not settle")

    def poll(self) -> None:
        with transaction(self.factory) as s:
            shop = shops.get_shop(s, "shopify")
            jobs.enqueue(s, [jobs.NewJob(tasks.POLL, {"shop_id": shop.id})])
        self.settle()

    def order(self, external_id: int) -> Order:
        with transaction(self.factory) as s:
            found = s.scalars(select(Order).where(Order.external_id == str(external_id))).one()
            s.expunge(found)
            return found

    def deliver(self, topic: str, order: dict[str, Any]) -> None:
        """A signed webhook of this order version, as Shopify sends it."""
        body = orjson.dumps(order)
        headers = {
            "Content-Type": "application/json",
            TOPIC_HEADER: topic,
            HMAC_HEADER: signature(SECRET, body),
            WEBHOOK_ID_HEADER: f"delivery-{topic}-{len(body)}-{hash(body)}",
        }
        response = httpx.post(f"{self.hub_url}/api/v1/webhooks/shopify", content=body, headers=headers)
        assert response.status_code == 200, response.text


@pytest.fixture
def shop(factory: sessionmaker[Session]) -> Iterator[Shop]:
    setup_catalog(factory, {"SKU-1": 20})
    frozen = [datetime.now(UTC).replace(microsecond=0)]
    store = ShopifyStore(
        seed=5, bucket_size=1000, leak_per_second=1000.0, webhook_retry_delay=0.05, clock=lambda: frozen[0]
    )
    store.add_product({"title": "Tee", "variants": [{"sku": "SKU-1", "price": "19.99", "available": 50}]})
    with (
        serving(shopify_app(store)) as shopify_url,
        serving(create_app(factory=factory, workers=0)) as hub_url,
    ):
        with transaction(factory) as s:
            connect_shopify(s, store, shopify_url, webhook_secret=SECRET)
            catalog.create_mapping(s, MappingIn(shop="shopify", platform_sku="SKU-1", sku="SKU-1"))
        world = Shop(factory, Worker(factory, name="same-second", idle_sleep=0), store, hub_url, frozen)
        world.settle()
        yield world
        store.close()


def _available(factory: sessionmaker[Session]) -> int:
    with transaction(factory) as s:
        return sum(f.available for f in inventory.stock_of(s, "SKU-1"))


def _checkout(shop: Shop, quantity: int = 2) -> int:
    return int(
        shop.store.place_order({"lines": [{"sku": "SKU-1", "quantity": quantity}], **numbered_buyer(1)})["id"]
    )


def test_an_order_edited_then_cancelled_in_one_second_is_cancelled_by_its_webhooks(shop: Shop) -> None:
    shop.store.set_webhook({"url": f"{shop.hub_url}/api/v1/webhooks/shopify", "secret": SECRET})
    placed = _checkout(shop)
    shop.settle()
    assert (shop.order(placed).status, _available(shop.factory)) == ("allocated", 18)

    shop.freeze()
    shop.store.update_order(placed, {"tags": ["gift"]})
    shop.store.cancel(placed, {"reason": "customer"})
    shop.settle()

    assert shop.order(placed).status == "cancelled"
    assert _available(shop.factory) == 20
    with transaction(shop.factory) as s:  # two versions with one stamp, each delivered once
        versions = s.scalars(select(InboxEntry.version).where(InboxEntry.event_id == str(placed))).all()
        assert len(versions) == len(set(versions)) == 3


def test_changes_within_one_second_reach_the_hub_by_polls(shop: Shop) -> None:
    shop.freeze()
    placed = _checkout(shop)
    shop.poll()
    assert shop.order(placed).status == "allocated"

    shop.store.update_order(placed, {"tags": ["gift"]})  # the same second the order was placed in
    shop.poll()
    assert shop.order(placed).tags == ["gift"]
    shop.store.cancel(placed, {"reason": "customer"})  # and again
    shop.poll()

    stored = shop.order(placed)
    assert (stored.status, stored.tags) == ("cancelled", ["gift"])
    assert _available(shop.factory) == 20
    shop.poll()  # the overlap reads the same version again: the inbox keeps it once
    with transaction(shop.factory) as s:
        entries = s.scalar(
            select(func.count()).select_from(InboxEntry).where(InboxEntry.event_id == str(placed))
        )
        assert entries == 3


def test_webhooks_of_one_second_in_the_wrong_order_end_at_what_the_next_poll_reads(shop: Shop) -> None:
    """Shopify does not promise delivery order: the earlier of two same-second versions may come last,
    and only the platform knows which is current. The next poll reads it, and the hub takes it."""
    placed = _checkout(shop, 1)
    shop.poll()
    shop.freeze()
    first = shop.store.update_order(placed, {"tags": ["first"]})
    current = shop.store.update_order(placed, {"tags": ["current"]})
    assert first["updated_at"] == current["updated_at"]

    shop.deliver("orders/updated", current)
    shop.settle()
    shop.deliver("orders/updated", first)
    shop.settle()
    shop.poll()

    assert shop.order(placed).tags == ["current"]
