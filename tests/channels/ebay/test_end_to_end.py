"""eBay end to end over real HTTP, on both databases: the sandbox, the hub's API taking eBay's endpoint
challenge and its signed account deletion notifications (each delivered twice), workers in between.
Orders arrive once with every field mapped and move as eBay moves them (paid, cancelled, asked to
cancel, shipped outside the hub), stock reaches the listings (a SKU eBay refuses alerting on its own),
parcels are written back once as shipping fulfillments, an expired token is refreshed and sealed, and
429s, 500s and dropped connections change none of it."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from orderly.alerts.models import Alert
from orderly.api import create_app
from orderly.catalog import service as catalog
from orderly.catalog.schemas import MappingIn
from orderly.channels import service as shops
from orderly.channels import tasks
from orderly.channels.ebay import EbayConnector
from orderly.channels.models import InboxEntry, Shop
from orderly.channels.schemas import ShopIn, SyncSettings
from orderly.channels.secrets import unseal
from orderly.core.config import get_settings
from orderly.core.db import transaction
from orderly.fulfilment import service as fulfilment
from orderly.fulfilment.models import TrackingWriteback
from orderly.fulfilment.schemas import ShipmentIn
from orderly.inventory import service as inventory
from orderly.jobs.models import Job
from orderly.jobs.worker import Worker
from orderly.orders import queries
from orderly.orders.models import Order
from orderly.sandbox.ebay import EbayStore, Faults, Line
from orderly.sandbox.ebay import create_app as ebay_app
from orderly.sandbox.faults import Drops
from orderly.sandbox.serve import serving
from tests.factories import setup_catalog

pytestmark = pytest.mark.xdist_group("end_to_end")
CODE = "ebay"


@dataclass
class World:
    factory: sessionmaker[Session]
    worker: Worker
    store: EbayStore
    drops: Drops
    url: str
    hub_url: str

    def settle(self, until: float = 60.0) -> None:
        """Run jobs until none is queued or running and every notification is delivered."""
        deadline = time.monotonic() + until
        while time.monotonic() < deadline:
            ran = self.worker.run_once()
            delivered = self.store.wait_for_webhooks(0.05)
            with transaction(self.factory) as s:
                pending = s.scalar(
                    select(func.count()).select_from(Job).where(Job.status.in_(["queued", "running"]))
                )
            if not ran and not pending and delivered:
                return
            if not ran:
                time.sleep(0.05)
        raise AssertionError("the sync did not settle")

    def poll(self) -> None:
        with transaction(self.factory) as s:
            tasks.poll_soon(s, shops.get_shop(s, CODE).id)
        self.settle()

    def orders(self) -> dict[str, tuple[str, list[str]]]:
        with transaction(self.factory) as s:
            return {
                o.external_id: (o.status, [h["reason"] for h in o.holds]) for o in s.scalars(select(Order))
            }

    def hub_order(self, external_id: str) -> Order:
        with transaction(self.factory) as s:
            (order,) = s.scalars(select(Order).where(Order.external_id == external_id))
            s.expunge(order)
            return order


@pytest.fixture
def world(factory: sessionmaker[Session]) -> Iterator[World]:
    setup_catalog(factory, {"SKU-1": 20, "SKU-2": 10})
    store = EbayStore(seed=11)
    one = store.add_listing("SKU-1", price="45.00", quantity=50, title="Enamel mug")
    two = store.add_listing("SKU-2", price="15.00", quantity=50, title="Cap")
    drops = Drops(ebay_app(store))
    with serving(drops) as url, serving(create_app(factory=factory, workers=0)) as hub_url:
        credentials = {
            "client_id": store.client_id,
            "client_secret": store.client_secret,
            "refresh_token": store.refresh_token,
            "access_token": store.access_token,
            "verification_token": store.verification_token,
        }
        settings = {
            "poll_interval_s": 3600,
            "rate_limits": {op: (1000.0, 1000) for op in EbayConnector.rate_limits},
            "notification_keys": {store.key_id: store.public_key},
        }
        with transaction(factory) as s:
            shops.create_shop(
                s,
                ShopIn(
                    code=CODE,
                    name="eBay",
                    channel="ebay",
                    base_url=url,
                    credentials=credentials,
                    settings=SyncSettings.model_validate(settings),
                    sync_enabled=True,
                ),
            )
            for sku, listing in (("SKU-1", one), ("SKU-2", two)):
                catalog.create_mapping(
                    s, MappingIn(shop=CODE, platform_sku=sku, listing_id=listing.item_id, sku=sku)
                )
        store.webhook_url = f"{hub_url}/api/v1/webhooks/{CODE}"
        store.duplicate_webhooks = True
        world = World(factory, Worker(factory, name="ebay", idle_sleep=0), store, drops, url, hub_url)
        world.settle()  # the first poll and stock push
        yield world
    store.close()


def test_orders_arrive_once_with_every_field_and_move_as_ebay_moves_them(world: World) -> None:
    store = world.store
    assert store.quantities() == {"SKU-1": 20, "SKU-2": 10}  # the hub's figures reached the listings
    noted = store.place_order([Line("SKU-1", 2, price="45.50", discount="1.00")], notes="Gift wrap")[
        "orderId"
    ]
    cancelled_later = store.place_order([Line("SKU-1", 1)])["orderId"]
    shipped_outside = store.place_order([Line("SKU-1", 1), Line("SKU-2", 1)])["orderId"]
    asks_cancel = store.place_order([Line("SKU-1", 1)])["orderId"]
    unpaid = store.place_order([Line("SKU-2", 1)], paid=False)["orderId"]
    managed = store.place_order([Line("SKU-2", 1)], managed_shipping=True)["orderId"]
    world.poll()

    orders = world.orders()
    assert orders[noted] == ("on_hold", ["remark"])  # the buyer's note waits for a person
    assert orders[unpaid][0] == "on_hold" and orders[managed][0] == "allocated"
    with transaction(world.factory) as s:
        detail = queries.get_order(s, world.hub_order(noted).id)
    assert detail.currency == "USD" and detail.buyer_remark == "Gift wrap"
    (line,) = detail.lines
    assert (line.sku, line.quantity, line.unit_price, line.discount) == ("SKU-1", 2, 4550, 100)
    assert (detail.total, detail.shipping_total) == (2 * 4550 - 100 + 500, 500)
    address = detail.shipping_address
    assert (address.name, address.line1, address.line2, address.city, address.region, address.country) == (
        "Buyer 1",
        "1 Market St",
        "Apt 2",
        "San Jose",
        "CA",
        "US",
    )
    assert detail.buyer.email == "buyer1@members.ebay.com" and detail.platform_status == "NOT_STARTED/PAID"
    assert "ebay-managed-shipping" in world.hub_order(managed).tags

    store.cancel(cancelled_later)
    store.ship_outside(shipped_outside, tracking="9400111", carrier="USPS")
    store.request_cancel(asks_cancel)
    store.pay(unpaid)
    world.poll()
    orders = world.orders()
    assert orders[cancelled_later] == ("cancelled", [])
    assert orders[shipped_outside] == ("shipped", [])
    assert orders[asks_cancel] == ("on_hold", ["cancel_request"])
    assert orders[unpaid] == ("allocated", [])
    assert len(orders) == 6
    with transaction(world.factory) as s:
        (shipment,) = queries.get_order(s, world.hub_order(shipped_outside).id).shipments
        figures = {sku: inventory.stock_of(s, sku)[0] for sku in ("SKU-1", "SKU-2")}
        assert inventory.verify(s, repair=False, actor="test") == []
    assert (shipment.carrier, shipment.tracking_number) == ("USPS", "9400111")
    # SKU-1: 1 left the shelf; reserved 2 for the noted order and 1 asked to cancel (held with its
    # stock). SKU-2: 1 left; reserved 2 (paid now, managed).
    assert (figures["SKU-1"].on_hand, figures["SKU-1"].reserved) == (19, 3)
    assert (figures["SKU-2"].on_hand, figures["SKU-2"].reserved) == (9, 2)
    assert store.quantities() == {sku: figure.available for sku, figure in figures.items()}


def test_a_parcel_is_written_back_once_as_a_shipping_fulfillment(world: World) -> None:
    placed = world.store.place_order([Line("SKU-1", 2), Line("SKU-2", 1)])["orderId"]
    world.poll()
    world.drops.set(0.5, seed=3)  # lost answers: the write-back must look before it sends again
    with transaction(world.factory) as s:
        spec = ShipmentIn(carrier="UPS", tracking_number="1Z999AA10123456784", ship=True)
        shipment_id = fulfilment.create_shipment(s, world.hub_order(placed).id, spec, actor="clerk").id
    world.settle()
    world.drops.set(0.0)
    (sent,) = world.store.shipped()
    assert sent["shipmentTrackingNumber"] == "1Z999AA10123456784" and sent["shippingCarrierCode"] == "UPS"
    assert sorted(x["quantity"] for x in sent["lineItems"]) == [1, 2]
    with transaction(world.factory) as s:
        writeback = s.get(TrackingWriteback, shipment_id)
        assert writeback is not None and writeback.status == "accepted"
        assert writeback.platform_ids == [sent["fulfillmentId"]]
    assert world.store.order(placed)["orderFulfillmentStatus"] == "FULFILLED"
    world.poll()  # eBay's fulfillment read back is the hub's own parcel: shipped once
    assert world.orders()[placed] == ("shipped", [])
    with transaction(world.factory) as s:
        (figure,) = inventory.stock_of(s, "SKU-1")
    assert (figure.on_hand, figure.reserved) == (18, 0)


def test_a_sku_ebay_refuses_alerts_on_its_own_while_the_other_is_pushed(world: World) -> None:
    world.store.set_faults(Faults(failing_skus=("SKU-2",)))
    with transaction(world.factory) as s:  # a delivery in the hub: both listings are told
        for sku in ("SKU-1", "SKU-2"):
            inventory.receive(s, sku, "WH-1", 5, actor="clerk", reason="delivery")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not (
        _alerts(world, "push_refused") and world.store.quantity("SKU-1") == 25
    ):
        if not world.worker.run_once():
            time.sleep(0.05)
    (alert,) = _alerts(world, "push_refused")
    assert "25001" in alert
    assert world.store.quantities() == {"SKU-1": 25, "SKU-2": 10}  # SKU-2's new figure did not land
    world.store.clear_faults()
    world.settle()
    assert world.store.quantities() == {"SKU-1": 25, "SKU-2": 15}
    assert _alerts(world, "push_refused") == []


def _alerts(world: World, kind: str) -> list[str]:
    with transaction(world.factory) as s:
        return list(s.scalars(select(Alert.message).where(Alert.kind == kind, Alert.resolved_at.is_(None))))


def test_an_expired_token_is_refreshed_and_sealed_with_the_shops_secrets(world: World) -> None:
    world.store.expire_tokens()
    world.store.place_order([Line("SKU-1", 1)])
    world.poll()
    assert len(world.orders()) == 1
    with transaction(world.factory) as s:
        shop = s.scalars(select(Shop).where(Shop.code == CODE)).one()
        kept = unseal(get_settings(), shop.credentials)
    assert kept["access_token"] == world.store.access_token
    assert (
        kept["refresh_token"] == world.store.refresh_token
        and kept["client_secret"] == world.store.client_secret
    )
    assert int(kept["access_token_expires_at"]) > time.time() + 7000
    assert world.store.tokens_issued == 2


def test_under_429s_500s_and_drops_every_order_arrives_once(world: World) -> None:
    world.store.set_faults(Faults(throttle=0.05, error=0.05, seed=5))
    world.drops.set(0.05, seed=7)
    placed = []
    for wave in range(3):
        placed += [world.store.place_order([Line("SKU-1", 1)])["orderId"] for _ in range(4)]
        polls = 0
        while set(world.orders()) != set(placed):
            polls += 1
            assert polls <= 4, f"wave {wave}: an order did not arrive within four polls"
            world.poll()
    world.store.cancel(placed[0])
    world.store.clear_faults()
    world.drops.set(0.0)
    world.poll()
    orders = world.orders()
    assert len(orders) == 12 and orders[placed[0]][0] == "cancelled"
    assert sum(status == "allocated" for status, _ in orders.values()) == 11
    with transaction(world.factory) as s:
        (figure,) = inventory.stock_of(s, "SKU-1")
    assert world.store.quantity("SKU-1") == figure.available == 9


def test_the_endpoint_challenge_and_signed_deletion_notifications(world: World) -> None:
    store, hook = world.store, f"{world.hub_url}/api/v1/webhooks/{CODE}"
    assert store.validate_endpoint(hook)  # as eBay checks it before sending anything
    notice = store.delete_account("gone_user")  # delivered twice
    world.settle()
    forged = json.dumps(
        {**notice, "notification": {**notice["notification"], "notificationId": "x"}}
    ).encode()
    refused = httpx.post(hook, content=forged, headers={"X-EBAY-SIGNATURE": store.signature(b"other")})
    unsigned = httpx.post(hook, content=forged)
    assert (refused.status_code, unsigned.status_code) == (401, 401)
    with transaction(world.factory) as s:
        kept = list(s.scalars(select(InboxEntry).where(InboxEntry.source == "webhook")))
    # Kept once (it was delivered twice), unprocessed, for a person: it concerns no order.
    (entry,) = kept
    assert (entry.topic, entry.processed_at) == ("MARKETPLACE_ACCOUNT_DELETION", None)
    assert json.loads(entry.body)["notification"]["data"]["username"] == "gone_user"
    assert entry.last_error
    assert httpx.get(hook).status_code == 422  # no challenge_code
