"""End to end over real HTTP on both databases: the WooCommerce sandbox, the hub's API taking its
signed webhooks (and answering their ping), workers in between. Orders arrive once with every field
mapped (whatever the store did to them before the hub saw them), updates, cancellations, refunds and
the bin follow, the store shows the hub's figure (an object refused inside a 200 alerts), a parcel the
hub ships goes back as a note and a tracking item and completes the order, and faults (429s and 503s
with Retry-After, 500s, lost answers, duplicate deliveries) change none of it."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from orderly.alerts.service import open_alerts
from orderly.api import create_app
from orderly.catalog import service as catalog
from orderly.catalog.schemas import MappingIn
from orderly.channels import service as shops
from orderly.channels import tasks
from orderly.channels.models import InboxEntry, ListingBinding
from orderly.channels.schemas import ShopIn, SyncSettings
from orderly.core.db import transaction
from orderly.fulfilment import service as fulfilment
from orderly.fulfilment.schemas import ShipmentIn
from orderly.inventory import service as inventory
from orderly.jobs import service as jobs
from orderly.jobs.models import Job
from orderly.jobs.worker import Worker
from orderly.orders.models import Order, OrderLine
from orderly.sandbox.faults import Drops
from orderly.sandbox.serve import serving
from orderly.sandbox.woocommerce import Faults, WooStore
from orderly.sandbox.woocommerce import create_app as woo_app
from tests.factories import setup_catalog

CODE = "woo"
SECRET = "whsec_e2e"
pytestmark = pytest.mark.xdist_group("end_to_end")


@dataclass
class World:
    factory: sessionmaker[Session]
    worker: Worker
    store: WooStore
    drops: Drops
    hub_url: str
    listings: dict[str, str]
    buyers: int = 0

    def settle(self, until: float = 60.0) -> None:
        deadline = time.monotonic() + until
        while time.monotonic() < deadline:
            ran = self.worker.run_once()
            delivered = self.store.wait_for_deliveries(0.05)
            with transaction(self.factory) as s:
                pending = s.scalar(
                    select(func.count()).select_from(Job).where(Job.status.in_(["queued", "running"]))
                )
            if not ran and not pending and delivered:
                return
            if not ran:
                with transaction(self.factory) as s:  # a retry waiting out its backoff: bring it forward
                    s.query(Job).filter(Job.status == "queued").update({"run_after": func.now()})
                time.sleep(0.05)
        with transaction(self.factory) as s:
            left = s.execute(
                select(Job.kind, Job.status, Job.attempts, Job.last_error).where(
                    Job.status.in_(["queued", "running"])
                )
            ).all()
        raise AssertionError(f"the sync did not settle: {left}")

    def until(self, done: Callable[[], bool], within: float = 30.0) -> None:
        deadline = time.monotonic() + within
        while not done():
            if time.monotonic() > deadline:
                raise AssertionError("not done in time")
            if not self.worker.run_once():
                self.store.wait_for_deliveries(0.05)

    def poll(self, kind: str = tasks.POLL) -> None:
        with transaction(self.factory) as s:
            jobs.enqueue(s, [jobs.NewJob(kind, {"shop_id": shops.get_shop(s, CODE).id})])

    def place(self, lines: list[tuple[str, int]], **more: object) -> str:
        # A buyer of their own each: one buyer's many orders in a minute would be held as a risk.
        self.buyers += 1
        buyer = {"first_name": f"Buyer{self.buyers}", "email": f"b{self.buyers}@example.com"}
        buyer |= {"address_1": f"{self.buyers} Market St", "phone": f"41520{self.buyers:05d}"}
        return str(self.store.place_order(lines, buyer=buyer, **more))  # type: ignore[arg-type]

    def order(self, external_id: str) -> Order:
        with transaction(self.factory) as s:
            order = s.scalar(select(Order).where(Order.external_id == external_id))
            errors = s.execute(
                select(InboxEntry.event_id, InboxEntry.last_error).where(InboxEntry.last_error.is_not(None))
            ).all()
            assert order is not None, f"order {external_id} is not in the hub: {errors}"
            s.expunge(order)
            return order

    def available(self, sku: str) -> int:
        with transaction(self.factory) as s:
            return sum(f.available for f in inventory.stock_of(s, sku))


@pytest.fixture
def world(factory: sessionmaker[Session]) -> Iterator[World]:
    setup_catalog(factory, {"SKU-1": 20, "SKU-2": 6, "SKU-3": 8})
    store = WooStore()
    listings = {
        "SKU-1": store.add_product("SKU-1", quantity=0, price="12.50", name="Enamel mug"),
        "SKU-2": store.add_product("SKU-2", quantity=0, price="5.00"),
    }
    [listings["SKU-3"]] = store.add_variable_product("Tee", [("SKU-3", "20.00", 0)])
    drops = Drops(woo_app(store))
    with serving(drops) as woo_url, serving(create_app(factory=factory, workers=0)) as hub_url:
        store.base_url = woo_url
        with transaction(factory) as s:
            shops.create_shop(
                s,
                ShopIn(
                    code=CODE,
                    name="Woo",
                    channel="woocommerce",
                    base_url=woo_url,
                    credentials={
                        "consumer_key": store.consumer_key,
                        "consumer_secret": store.consumer_secret,
                        "webhook_secret": SECRET,
                    },
                    settings=SyncSettings.model_validate({"poll_interval_s": 3600}),
                    sync_enabled=True,
                ),
            )
            for sku, listing in listings.items():
                catalog.create_mapping(s, MappingIn(shop=CODE, platform_sku=sku, listing_id=listing, sku=sku))
        # Made as a merchant makes it: WooCommerce pings the URL first, unsigned.
        assert store.set_webhook(f"{hub_url}/api/v1/webhooks/{CODE}", SECRET) == 200
        world = World(factory, Worker(factory, name="e2e-woo", idle_sleep=0), store, drops, hub_url, listings)
        world.settle()  # the first poll and stock pushes
        yield world
        store.set_webhook(None)


def test_orders_arrive_once_with_every_field_and_follow_the_store(world: World) -> None:
    store = world.store
    assert (store.quantity("SKU-1"), store.quantity("SKU-2"), store.quantity("SKU-3")) == (20, 6, 8)
    placed = world.place([("SKU-1", 2), ("SKU-3", 1)], customer_note="leave at the door", coupon="5.00")
    unpaid = world.place([("SKU-2", 1)], status="pending")
    gone = world.place([("SKU-2", 1)])
    store.set_status(int(gone), "cancelled")  # cancelled before the hub heard of it
    sent = world.place([("SKU-1", 1)], status="completed")  # shipped outside the hub
    draft = world.place([("SKU-1", 1)], status="checkout-draft")  # a cart, not an order
    world.settle()

    order = world.order(placed)
    assert order.status == "allocated", order.holds
    assert (order.status, order.currency, order.payment_status, order.payment_method) == (
        "allocated",
        "USD",
        "paid",
        "Direct Bank Transfer",
    )
    assert (order.buyer_email, order.buyer_remark, order.ship_line1, order.ship_country) == (
        f"b{world.buyers - 4}@example.com",
        "leave at the door",
        f"{world.buyers - 4} Market St",
        "US",
    )
    view = store.order_view(int(placed))
    assert order.total == 2 * 1250 + 2000 - 500 + 500 + round(4000 * 0.1)  # lines - coupon + ship + tax
    assert (order.total, order.platform_status) == (int(view["total"].replace(".", "")), "processing")
    with transaction(world.factory) as s:
        lines = s.execute(
            select(
                OrderLine.platform_sku,
                OrderLine.listing_id,
                OrderLine.quantity,
                OrderLine.unit_price,
                OrderLine.discount,
            )
            .where(OrderLine.order_id == order.id)
            .order_by(OrderLine.line_no)
        ).all()
    assert [tuple(line) for line in lines] == [
        ("SKU-1", world.listings["SKU-1"], 2, 1250, 500),  # the coupon came off the first line
        ("SKU-3", world.listings["SKU-3"], 1, 2000, 0),
    ]
    assert world.order(unpaid).payment_status == "pending"
    assert world.order(gone).status == "cancelled"
    assert world.order(sent).status == "shipped"
    with transaction(world.factory) as s:
        assert s.scalar(select(Order.id).where(Order.external_id == draft)) is None
    # The store shows the hub's figure.
    for sku in ("SKU-1", "SKU-2", "SKU-3"):
        assert store.quantity(sku) == world.available(sku), sku

    # Cancelled, refunded and binned on the store after the hub took them in: their stock comes back.
    before = world.available("SKU-2")
    store.set_status(int(unpaid), "cancelled")
    refunded = world.place([("SKU-1", 1)])
    binned = world.place([("SKU-3", 1)])
    partly = world.place([("SKU-2", 1)])
    world.settle()
    store.refund(int(refunded))
    store.trash(int(binned))
    store.refund(int(partly), "1.00", "scratched")
    world.settle()
    # The unit the cancelled order held came back, and the partly refunded order took one.
    assert world.order(unpaid).status == "cancelled" and world.available("SKU-2") == before
    assert (world.order(refunded).status, world.order(refunded).payment_status) == ("cancelled", "refunded")
    assert world.order(binned).status == "cancelled"
    partial = world.order(partly)
    assert (partial.status, partial.payment_status) == ("allocated", "partially_refunded")
    assert "partly-refunded" in partial.tags
    # The store took its own sale of SKU-2 off while the hub's figure came out the same (one unit
    # released, one reserved), so nothing was pushed; the resync tells it again.
    world.poll(tasks.RESYNC)
    world.settle()
    for sku in ("SKU-1", "SKU-2", "SKU-3"):
        assert store.quantity(sku) == world.available(sku), sku

    # Every order once; every delivery kept once.
    with transaction(world.factory) as s:
        ids = s.scalars(select(Order.external_id).where(Order.shop_id == shops.get_shop(s, CODE).id)).all()
        webhooks = s.scalar(
            select(func.count()).select_from(InboxEntry).where(InboxEntry.source == "webhook")
        )
    assert sorted(ids) == sorted([placed, unpaid, gone, sent, refunded, binned, partly])
    assert webhooks and webhooks <= len(store.deliveries)


def test_through_throttles_outages_500s_lost_answers_and_duplicate_deliveries_each_order_once(
    world: World,
) -> None:
    store = world.store
    store.set_webhook(store.webhook.url if store.webhook else None, SECRET, duplicates=True)
    store.set_faults(Faults(throttle=0.1, unavailable=0.1, error=0.1, retry_after=0.2, seed=5))
    world.drops.set(0.1, seed=6)
    placed = [world.place([("SKU-1", 1)]) for _ in range(6)]
    store.set_status(int(placed[0]), "cancelled")
    world.settle()
    store.set_faults(Faults())
    world.drops.set(0.0)
    world.poll()  # polling catches whatever a delivery or a failed poll missed
    world.settle()
    with transaction(world.factory) as s:
        rows = dict(
            s.execute(select(Order.external_id, Order.status).where(Order.external_id.in_(placed))).all()
        )
        duplicates = s.execute(
            select(InboxEntry.event_id, InboxEntry.version, func.count())
            .group_by(InboxEntry.event_id, InboxEntry.version)
            .having(func.count() > 1)
        ).all()
    assert len(rows) == 6 and rows[placed[0]] == "cancelled"
    assert sorted(rows.values()).count("allocated") == 5
    assert duplicates == []
    world.settle()
    assert store.quantity("SKU-1") == world.available("SKU-1") == 15


def test_an_object_refused_inside_a_200_alerts_and_is_not_taken_as_shown(world: World) -> None:
    world.store.fail_sku("SKU-2", "woocommerce_rest_product_invalid_id", "Invalid ID.")
    world.place([("SKU-2", 1)])
    listing = world.listings["SKU-2"]

    def alerted() -> bool:
        with transaction(world.factory) as s:
            return ("push_refused", f"listing:{CODE}:{listing}") in [
                (a.kind, a.subject) for a in open_alerts(s)
            ]

    world.until(alerted)
    assert world.store.quantity("SKU-2") == 5  # WooCommerce's own sale; our figure was refused
    with transaction(world.factory) as s:
        binding = s.execute(
            select(ListingBinding.last_quantity, ListingBinding.last_error).where(
                ListingBinding.listing_id == listing
            )
        ).one()
    assert (
        binding == (6, "woocommerce_rest_product_invalid_id: Invalid ID.") and world.available("SKU-2") == 5
    )


def test_a_parcel_the_hub_ships_goes_back_as_a_note_and_a_tracking_item_and_completes_the_order(
    world: World,
) -> None:
    external = world.place([("SKU-1", 2), ("SKU-3", 1)])
    world.settle()
    order = world.order(external)
    assert order.status == "allocated"
    with transaction(world.factory) as s:
        spec = ShipmentIn(carrier="UPS", tracking_number="1ZWOO0001", ship=True)
        fulfilment.create_shipment(s, order.id, spec, actor="packer")
    world.drops.set(0.3, seed=2)  # lost answers: the retries find what the lost tries made
    world.settle()
    world.drops.set(0.0)
    world.settle()
    notes = world.store.notes_of(int(external))
    assert len(notes) == 1 and "tracking number 1ZWOO0001" in notes[0]["note"]
    assert [t["tracking_number"] for t in world.store.trackings_of(int(external))] == ["1ZWOO0001"]
    assert world.store.order_view(int(external))["status"] == "completed"
    assert world.order(external).status == "shipped"  # the completed version changed nothing back


def test_the_webhook_route_answers_the_ping_and_refuses_what_is_not_signed(world: World) -> None:
    url = f"{world.hub_url}/api/v1/webhooks/{CODE}"
    ping = httpx.post(
        url, content=b"webhook_id=77", headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert (ping.status_code, ping.json()["status"]) == (200, "ping")
    forged = httpx.post(url, content=b'{"id": 1}', headers={"X-WC-Webhook-Topic": "order.updated"})
    assert forged.status_code == 401
    with transaction(world.factory) as s:
        assert s.scalar(select(func.count()).select_from(InboxEntry).where(InboxEntry.topic == "")) == 0
