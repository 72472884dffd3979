"""End to end over real HTTP on both databases: the Lazada sandbox, the hub's API taking its signed
pushes, workers in between. Orders arrive once with every field mapped (whatever Lazada did to them
before the hub saw them), updates and cancellations follow, the shop shows the hub's figure (a SKU
refused inside a successful answer alerts), a parcel shipped through Lazada comes back with its
tracking, tokens Lazada renews are kept, and faults (throttles, 500s, lost answers, duplicate pushes)
change none of it."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

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
from orderly.channels.connector import Parcel, ParcelLine
from orderly.channels.models import InboxEntry, ListingBinding, Shop
from orderly.channels.schemas import ShopIn, SyncSettings
from orderly.channels.secrets import unseal
from orderly.core.config import get_settings
from orderly.core.db import transaction
from orderly.inventory import service as inventory
from orderly.inventory.models import StockLedgerEntry
from orderly.jobs import service as jobs
from orderly.jobs.models import Job
from orderly.jobs.worker import Worker
from orderly.orders.models import Order, OrderEvent, OrderLine
from orderly.sandbox.faults import Drops
from orderly.sandbox.lazada import Faults, LazadaStore
from orderly.sandbox.lazada import create_app as lazada_app
from orderly.sandbox.serve import serving
from tests.channels.returns import returned_whole
from tests.channels.timeouts import SLOWER, each_arrived_once, impatient, poll_times_out
from tests.factories import setup_catalog

CODE = "lazada-sg"
pytestmark = pytest.mark.xdist_group("end_to_end")


@dataclass
class World:
    factory: sessionmaker[Session]
    worker: Worker
    store: LazadaStore
    drops: Drops

    def settle(self, until: float = 60.0) -> None:
        deadline = time.monotonic() + until
        while time.monotonic() < deadline:
            ran = self.worker.run_once()
            pushed = self.store.wait_for_pushes(0.05)
            with transaction(self.factory) as s:
                pending = s.scalar(
                    select(func.count()).select_from(Job).where(Job.status.in_(["queued", "running"]))
                )
            if not ran and not pending and pushed:
                return
            if not ran:
                time.sleep(0.05)
        with transaction(self.factory) as s:
            left = s.execute(
                select(Job.kind, Job.status, Job.attempts, Job.last_error).where(
                    Job.status.in_(["queued", "running"])
                )
            ).all()
        raise AssertionError(
            f"the sync did not settle: {left}, pushes out: {not self.store.wait_for_pushes(0)}"
        )

    def until(self, done: Callable[[], bool], within: float = 30.0) -> None:
        """Run jobs until ``done()`` (for work that keeps retrying, as a refused push does)."""
        deadline = time.monotonic() + within
        while not done():
            if time.monotonic() > deadline:
                raise AssertionError("not done in time")
            if not self.worker.run_once():
                self.store.wait_for_pushes(0.05)

    def poll(self) -> None:
        with transaction(self.factory) as s:
            shop = shops.get_shop(s, CODE)
            jobs.enqueue(s, [jobs.NewJob(tasks.POLL, {"shop_id": shop.id})])

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
    setup_catalog(factory, {"SKU-1": 20, "SKU-2": 6, "SKU-3": 4})
    store = LazadaStore(country="SG", push_retry_delay=0.05)
    store.add_product("SKU-1", quantity=0, price="12.50")
    store.add_product("SKU-2", quantity=0, price="5.00")
    store.add_product("SKU-3", quantity=0, price="30.00", fbl=True)  # stocked by Lazada
    drops = Drops(lazada_app(store))
    with serving(drops) as lazada_url, serving(create_app(factory=factory, workers=0)) as hub_url:
        store.base_url = lazada_url
        with transaction(factory) as s:
            shops.create_shop(
                s,
                ShopIn(
                    code=CODE,
                    name="Lazada SG",
                    channel="lazada",
                    base_url=f"{lazada_url}/rest",
                    credentials={
                        "app_key": store.app_key,
                        "app_secret": store.app_secret,
                        "access_token": store.access_token,
                        "refresh_token": store.refresh_token,
                    },
                    settings=SyncSettings.model_validate({"poll_interval_s": 3600, "country": "SG"}),
                    sync_enabled=True,
                ),
            )
            for n, sku in enumerate(("SKU-1", "SKU-2", "SKU-3"), start=1):
                fulfilled = "platform" if sku == "SKU-3" else "merchant"
                mapping = MappingIn(
                    shop=CODE, platform_sku=sku, listing_id=f"66{n}", sku=sku, fulfilled_by=fulfilled
                )
                catalog.create_mapping(s, mapping)
        store.set_webhook(f"{hub_url}/api/v1/webhooks/{CODE}")
        world = World(factory, Worker(factory, name="e2e-lazada", idle_sleep=0), store, drops)
        world.settle()  # the first poll and stock pushes
        yield world
        store.set_webhook(None)


def test_orders_arrive_once_with_every_field_and_follow_lazada(world: World) -> None:
    store = world.store
    assert (store.quantity("SKU-1"), store.quantity("SKU-2")) == (20, 6)
    assert store.quantity("SKU-3") == 0  # FBL: Lazada's stock, never told the hub's figure
    buyer = {"first_name": "Siti", "last_name": "Nur", "phone": "6598765432"}
    placed = store.place_order(
        [("SKU-1", 2), ("SKU-2", 1)], remarks="call first", buyer=buyer, voucher_seller="1.50"
    )
    unpaid = store.place_order([("SKU-1", 1)], paid=False)
    gone = store.place_order([("SKU-2", 1)])
    store.cancel(gone)  # cancelled before the hub saw it
    sent = store.place_order([("SKU-1", 1)])
    store.ship(sent)  # shipped from Seller Center before the hub saw it
    fbl = store.place_order([("SKU-3", 1)])
    world.settle()  # the pushes woke the polls

    order = world.order(placed)
    assert (order.status, order.currency, order.payment_status, order.payment_method) == (
        "allocated",
        "SGD",
        "paid",
        "COD",
    )
    assert (order.buyer_name, order.buyer_phone, order.buyer_remark) == (
        "Siti Nur",
        "6598765432",
        "call first",
    )
    assert (order.ship_line1, order.ship_postal_code, order.ship_country) == (
        "1 CHANGI VILLAGE ROAD, 11",
        "500001",
        "SG",
    )
    assert order.total == 2 * 1100 + 350 + 199 and order.platform_status == "pending"
    with transaction(world.factory) as s:
        lines = s.execute(
            select(OrderLine.platform_sku, OrderLine.quantity, OrderLine.unit_price, OrderLine.discount)
            .where(OrderLine.order_id == order.id)
            .order_by(OrderLine.line_no)
        ).all()
    assert [tuple(line) for line in lines] == [("SKU-1", 2, 1250, 300), ("SKU-2", 1, 500, 150)]
    assert world.order(gone).status == "cancelled"
    shipped = world.order(sent)
    assert shipped.status == "shipped" and shipped.shipments[0]["tracking_number"].startswith("LXSG")
    # The seller shipped it from the hub's shelves (as for Shopee): its unit left the hub's stock as
    # shipped when it arrived, so Lazada's figure is not put back up by the hub's.
    with transaction(world.factory) as s:
        assert inventory.verify(s, repair=False, actor="test") == []
        kinds = s.execute(
            select(StockLedgerEntry.kind, StockLedgerEntry.on_hand_delta, StockLedgerEntry.reserved_delta)
            .where(StockLedgerEntry.order_id == shipped.id)
            .order_by(StockLedgerEntry.id)
        ).all()
        assert sum(f.on_hand for f in inventory.stock_of(s, "SKU-1")) == 19
    assert [tuple(k) for k in kinds] == [("reservation", 0, 1), ("shipment", -1, -1)]
    assert world.order(fbl).status == "platform_fulfilled"
    assert world.order(unpaid).payment_status == "pending"
    # The shop shows the hub's figure: what is left to sell of SKU-1 and SKU-2.
    assert store.quantity("SKU-1") == world.available("SKU-1")
    assert store.quantity("SKU-2") == world.available("SKU-2")
    assert world.available("SKU-3") == 4  # the FBL order reserved none of the hub's

    # Cancelled on Lazada after the hub took it in, one item at a time: its stock comes back.
    before = world.available("SKU-2")
    item = next(i for i in store.order_view(placed)["items"] if i["sku"] == "SKU-2")
    store.cancel(placed, [item["order_item_id"]])
    world.settle()
    assert world.available("SKU-2") == before + 1 and "partly-cancelled" in world.order(placed).tags
    store.cancel(placed)
    world.settle()
    assert world.order(placed).status == "cancelled"
    assert store.quantity("SKU-1") == world.available("SKU-1")

    # Every order once; every push kept once, as the record of what Lazada said.
    with transaction(world.factory) as s:
        ids = [
            row[0]
            for row in s.execute(
                select(Order.external_id).where(Order.external_id.in_([placed, unpaid, gone, sent, fbl]))
            )
        ]
        pushes = s.scalar(select(func.count()).select_from(InboxEntry).where(InboxEntry.source == "webhook"))
    assert sorted(ids) == sorted([placed, unpaid, gone, sent, fbl])
    assert pushes == len(store.pushes)


def test_through_throttles_500s_lost_answers_and_duplicate_pushes_each_order_once(world: World) -> None:
    store = world.store
    store.set_webhook(store.webhook_url, duplicates=True)
    store.set_faults(Faults(throttle=0.1, error=0.1, seed=5))
    world.drops.set(0.1, seed=6)
    # Six different buyers: one buyer's six orders in a minute would be held as a risk.
    buyers = [
        {
            "first_name": f"Buyer{n}",
            "last_name": "Tan",
            "phone": f"659000{n:04d}",
            "address1": f"{n} Orchard Rd",
        }
        for n in range(6)
    ]
    placed = [store.place_order([("SKU-1", 1)], buyer=buyer) for buyer in buyers]
    store.cancel(placed[0])
    world.settle()
    store.set_faults(Faults())
    world.drops.set(0.0)
    world.poll()  # polling catches whatever a push or a failed poll missed
    world.settle()
    with transaction(world.factory) as s:
        rows = dict(
            s.execute(select(Order.external_id, Order.status).where(Order.external_id.in_(placed))).all()
        )
        duplicates = s.execute(
            select(InboxEntry.event_id, InboxEntry.version, func.count())
            .where(InboxEntry.source == "webhook")
            .group_by(InboxEntry.event_id, InboxEntry.version)
            .having(func.count() > 1)
        ).all()
    assert len(rows) == 6 and rows[placed[0]] == "cancelled"
    assert sorted(rows.values()).count("allocated") == 5
    assert duplicates == []
    world.settle()
    assert store.quantity("SKU-1") == world.available("SKU-1") == 15


def test_a_poll_that_times_out_is_tried_again_and_brings_every_order_once(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = world.store
    store.set_webhook(None)  # only the poll can bring them
    buyers = [{"first_name": f"Timeout{n}", "phone": f"659100{n:04d}"} for n in range(3)]
    placed = [store.place_order([("SKU-1", 1)], buyer=buyer) for buyer in buyers]
    impatient(monkeypatch, world.worker)
    store.set_faults(Faults(slow=SLOWER))
    poll_times_out(world.factory, world.worker, CODE)
    with transaction(world.factory) as s:
        assert s.scalars(select(Order).where(Order.external_id.in_(placed))).all() == []
    store.set_faults(Faults())
    world.settle()  # the poll's next try
    each_arrived_once(world.factory, placed)


def test_a_sku_refused_inside_a_successful_answer_alerts_and_is_not_taken_as_shown(world: World) -> None:
    world.store.fail_sku("SKU-2", "SELLER_SKU_INVALID")
    world.store.place_order([("SKU-2", 1)])

    def alerted() -> bool:
        with transaction(world.factory) as s:
            return ("push_refused", f"listing:{CODE}:662") in [(a.kind, a.subject) for a in open_alerts(s)]

    world.until(alerted)
    assert world.store.quantity("SKU-2") == 5  # Lazada's own sale; our figure was refused
    with transaction(world.factory) as s:
        binding = s.execute(
            select(ListingBinding.last_quantity, ListingBinding.last_error).where(
                ListingBinding.listing_id == "662"
            )
        ).one()
    # Recorded as still showing the figure it showed before, not the hub's new 5.
    assert binding == (6, "SellerSku: SELLER_SKU_INVALID") and world.available("SKU-2") == 5


def test_a_parcel_shipped_through_lazada_comes_back_with_its_tracking(world: World) -> None:
    order_id = world.store.place_order([("SKU-1", 2)])
    world.settle()
    assert world.order(order_id).status == "allocated"
    with transaction(world.factory) as s:
        shop = shops.get_shop(s, CODE)
        s.expunge(shop)
    with httpx.Client(timeout=5) as http:
        connector = shops.connector_for(shop, http)
        parcel = Parcel(
            "P-1", order_id, None, None, None, None, datetime.now(UTC), [ParcelLine("661", "SKU-1", 2)]
        )
        label = connector.ship_with_platform(parcel)
    assert label.label_pdf is not None and label.tracking_number.startswith("LXSG")
    world.store.ship(order_id)  # Lazada's partner picks it up
    world.settle()
    order = world.order(order_id)
    assert order.status == "shipped"
    assert [(s["carrier"], s["tracking_number"]) for s in order.shipments] == [
        ("LEX SG", label.tracking_number)
    ]


def test_tokens_lazada_renews_are_sealed_into_the_shop(world: World) -> None:
    world.store.expire_tokens()
    world.poll()
    world.settle()
    with transaction(world.factory) as s:
        credentials = unseal(get_settings(), s.scalar(select(Shop.credentials).where(Shop.code == CODE)))
    assert credentials["access_token"] != world.store.access_token
    assert int(credentials["access_expires_at"]) > time.time() + 3600
    with transaction(world.factory) as s:
        assert shops.get_shop(s, CODE).id is not None
    world.store.place_order([("SKU-1", 1)])
    world.settle()  # works on with the kept token
    assert world.store.calls()["/auth/token/refresh"] == 1


def test_items_returned_on_lazada_are_noted_and_the_order_is_returned_once_every_item_is(
    world: World,
) -> None:
    store = world.store
    placed = store.place_order([("SKU-1", 2)])
    world.settle()
    assert world.order(placed).status == "allocated"
    store.ship(placed)
    store.deliver(placed)
    world.settle()
    assert world.order(placed).status == "shipped"
    with transaction(world.factory) as s:
        (before,) = inventory.stock_of(s, "SKU-1")

    first, second = (i["order_item_id"] for i in store.order_view(placed)["items"])
    store.return_items(placed, [first])
    world.until(lambda: "returned" in world.order(placed).tags)
    world.settle()
    order = world.order(placed)
    assert order.status == "shipped" and "returned" in order.tags  # a part back: noted, still shipped
    with transaction(world.factory) as s:
        notes = [
            e.message or "" for e in s.scalars(select(OrderEvent).where(OrderEvent.order_id == order.id))
        ]
    assert any("1 of 2 units returned on the platform" in note for note in notes)

    time.sleep(1.1)  # a later version of the order
    store.return_items(placed, [second])
    world.until(lambda: world.order(placed).status == "returned")
    world.settle()
    with transaction(world.factory) as s:
        event, after = returned_whole(s, order.id, "SKU-1")
    assert event.from_status == "shipped" and "returned on the platform (returned)" in (event.message or "")
    assert (after.on_hand, after.reserved) == (before.on_hand, before.reserved)  # no stock put back
    world.poll()  # read again: still returned
    assert world.order(placed).status == "returned"
