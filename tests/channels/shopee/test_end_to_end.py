"""End to end over real HTTP on both databases: the Shopee sandbox, the hub's API receiving Shopee's
signed pushes, workers in between. Orders arrive once with every field, platform changes (cancelled,
shipped outside the hub, a cancellation asked for, Shopee-fulfilled) reach the hub's states, stock
pushes with partial failures are recorded as such, tokens are renewed and sealed, faults and
duplicate pushes change nothing."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from orderly.api import create_app
from orderly.catalog import service as catalog
from orderly.catalog.schemas import MappingIn
from orderly.channels import service as shops
from orderly.channels import tasks
from orderly.channels.models import InboxEntry, ListingBinding, Shop
from orderly.channels.secrets import unseal
from orderly.channels.shopee import mapper, webhooks
from orderly.core.config import get_settings
from orderly.core.db import transaction
from orderly.inventory import service as inventory
from orderly.inventory.models import StockLedgerEntry
from orderly.jobs import service as jobs
from orderly.jobs.models import Job
from orderly.jobs.worker import Worker
from orderly.orders.ingest import ingest_batch
from orderly.orders.models import Order, OrderEvent, OrderLine
from orderly.sandbox.faults import Drops
from orderly.sandbox.serve import serving
from orderly.sandbox.shopee import ShopeeStore
from orderly.sandbox.shopee import create_app as shopee_app
from tests.channels.returns import returned_whole
from tests.channels.sandbox_shops import connect_shopee
from tests.channels.timeouts import SLOWER, each_arrived_once, impatient, poll_times_out
from tests.factories import setup_catalog

pytestmark = pytest.mark.xdist_group("end_to_end")


@dataclass
class World:
    factory: sessionmaker[Session]
    worker: Worker
    store: ShopeeStore
    drops: Drops
    hub_url: str
    listing: tuple[int, int]

    def settle(self, until: float = 60.0) -> None:
        deadline = time.monotonic() + until
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

    def poll(self) -> None:
        with transaction(self.factory) as s:
            jobs.enqueue(s, [jobs.NewJob(tasks.POLL, {"shop_id": shops.get_shop(s, "shopee").id})])
        self.settle()

    def order(self, sn: str) -> Order:
        with transaction(self.factory) as s:
            order = s.scalars(select(Order).where(Order.external_id == sn)).one()
            s.expunge(order)
            return order


@pytest.fixture
def world(factory: sessionmaker[Session]) -> Iterator[World]:
    setup_catalog(factory, {"SKU-1": 20, "SKU-2": 5})
    store = ShopeeStore(seed=7)
    listing = store.add_model("SKU-1", stock=50, price="19.90")
    store.add_model("SKU-2", stock=50, price="5.00", item_id=listing[0])
    drops = Drops(shopee_app(store))
    with serving(drops) as shopee_url, serving(create_app(factory=factory, workers=0)) as hub_url:
        with transaction(factory) as s:
            connect_shopee(s, store, shopee_url)
            for sku in ("SKU-1", "SKU-2"):
                model = store.model(sku)
                listing_id = f"{model.item_id}:{model.model_id}"
                catalog.create_mapping(
                    s, MappingIn(shop="shopee", platform_sku=sku, listing_id=listing_id, sku=sku)
                )
        store.push_url = f"{hub_url}/api/v1/webhooks/shopee"
        world = World(
            factory, Worker(factory, name="e2e-shopee", idle_sleep=0), store, drops, hub_url, listing
        )
        world.settle()  # the first poll and stock pushes
        yield world


def test_orders_arrive_once_with_every_field_and_follow_the_platform(world: World) -> None:
    store = world.store
    assert store.stock(*world.listing) == 20  # the hub's figure replaced Shopee's 50
    sn = store.place_order([("SKU-1", 2), ("SKU-2", 1)], message_to_seller="Please wrap it", voucher="3.00")
    world.settle()  # the push woke a poll
    order = world.order(sn)
    assert (order.status, order.currency, order.total, order.shipping_total, order.discount_total) == (
        "allocated",
        "MYR",
        2 * 1990 + 500 + 490 - 300,
        490,
        300,
    )
    assert order.buyer_remark == "Please wrap it" and order.platform_status == "READY_TO_SHIP"
    assert order.placed_at is not None and order.placed_at.tzinfo is not None
    assert (order.ship_city, order.ship_country, order.ship_name) == ("Kuala Lumpur", "MY", "Siti Aminah")
    assert (order.buyer_platform_id, order.payment_method) == ("1000001", "Online Banking")
    with transaction(world.factory) as s:
        lines = s.execute(
            select(OrderLine.platform_sku, OrderLine.listing_id, OrderLine.quantity, OrderLine.unit_price)
            .where(OrderLine.order_id == order.id)
            .order_by(OrderLine.line_no)
        ).all()
    model = store.model("SKU-2")
    assert [tuple(line) for line in lines] == [
        ("SKU-1", f"{world.listing[0]}:{world.listing[1]}", 2, 1990),
        ("SKU-2", f"{model.item_id}:{model.model_id}", 1, 500),
    ]

    plain = store.place_order([("SKU-1", 1)])
    asked = store.place_order([("SKU-1", 1)])
    cancelled = store.place_order([("SKU-1", 1)])
    world.settle()
    assert world.order(plain).status == "allocated"
    store.set_status(asked, "IN_CANCEL", cancel_reason="Need to change delivery address")
    store.set_status(cancelled, "CANCELLED")
    world.settle()
    assert world.order(asked).status == "on_hold"
    assert world.order(cancelled).status == "cancelled"
    # Before the hub saw them: shipped by the seller in Seller Centre, cancelled by the buyer, and one
    # Shopee's warehouse fulfils.
    store.push_url = None
    outside = store.place_order([("SKU-1", 1)])
    store.ship_outside(outside)
    gone = store.place_order([("SKU-1", 1)])
    store.set_status(gone, "CANCELLED")
    fbs = store.place_order([("SKU-1", 3)], fulfilled_by_shopee=True)
    world.poll()
    assert world.order(outside).status == "shipped"
    assert world.order(gone).status == "cancelled"
    assert world.order(fbs).status == "platform_fulfilled"
    with transaction(world.factory) as s:
        (figure,) = [f for f in inventory.stock_of(s, "SKU-1")]
        assert s.scalar(select(func.count()).select_from(Order)) == 7
    # Reserved: 2 + 1 + 1 (asked to cancel: held, its units kept); none for the Shopee-fulfilled
    # order nor the cancelled ones, nor the one first seen shipped, whose unit left the shelf.
    assert figure.reserved == 4 and figure.on_hand == 19
    # The hub's figure and Shopee's agree at once, no resync needed; and a resync changes nothing.
    assert store.stock(*world.listing) == figure.available == 15
    outside_id = world.order(outside).id
    with transaction(world.factory) as s:
        assert inventory.verify(s, repair=False, actor="test") == []
        kinds = s.execute(
            select(StockLedgerEntry.kind, StockLedgerEntry.on_hand_delta, StockLedgerEntry.reserved_delta)
            .where(StockLedgerEntry.order_id == outside_id)
            .order_by(StockLedgerEntry.id)
        ).all()
        (imported,) = s.scalars(select(OrderEvent).where(OrderEvent.order_id == outside_id))
    assert [tuple(k) for k in kinds] == [("reservation", 0, 1), ("shipment", -1, -1)]
    assert "left the hub's stock as shipped (WH-1)" in (imported.message or "")
    with transaction(world.factory) as s:
        tasks.request_sync(s, "shopee")
    world.settle()
    assert store.stock(*world.listing) == 15


def test_pushes_are_verified_and_a_push_sent_twice_is_stored_once(world: World) -> None:
    store = world.store
    url = f"{world.hub_url}/api/v1/webhooks/shopee"
    store.push_url = None
    sn = store.place_order([("SKU-1", 1)])
    store.push_url = url
    store.push_status(sn, times=2)  # one message, sent twice (Shopee resends what it thinks failed)
    world.settle()
    with transaction(world.factory) as s:
        pushes = s.scalars(
            select(InboxEntry).where(InboxEntry.source == "webhook", InboxEntry.event_id == sn)
        ).all()
        assert len(pushes) == 1
    body = (
        b'{"msg_id":"x","data":{"ordersn":"'
        + sn.encode()
        + b'","status":"CANCELLED","update_time":1},"shop_id":1,"code":3,"timestamp":1}'
    )
    forged = httpx.post(
        url, content=body, headers={"Authorization": webhooks.signature("not-the-key", url, body)}
    )
    assert forged.status_code == 401
    unsigned = httpx.post(url, content=body)
    assert unsigned.status_code == 401
    world.settle()
    assert world.order(sn).status == "allocated"
    # A genuine cancellation push cancels at once, before any poll reads the order.
    genuine = httpx.post(
        url, content=body, headers={"Authorization": webhooks.signature(store.partner_key, url, body)}
    )
    assert genuine.status_code == 200 and genuine.json()["status"] == "accepted"
    with transaction(world.factory) as s:
        inbox_entries = s.scalar(
            select(func.count()).select_from(InboxEntry).where(InboxEntry.event_id == sn)
        )
    world.settle()
    assert world.order(sn).status == "cancelled" and inbox_entries >= 2
    other = httpx.post(
        url,
        content=b'{"code":15,"data":{}}',
        headers={"Authorization": webhooks.signature(store.partner_key, url, b'{"code":15,"data":{}}')},
    )
    assert other.json()["status"] == "kept"


def test_stock_pushes_with_partial_failures_are_recorded_as_failures(world: World) -> None:
    store = world.store
    second = store.model("SKU-2")
    store.refuse_stock(second.item_id, second.model_id, "Stock is locked by a promotion.")
    with transaction(world.factory) as s:
        inventory.receive(s, "SKU-1", "WH-1", 5, actor="test", reason=None)
        inventory.receive(s, "SKU-2", "WH-1", 5, actor="test", reason=None)
    listing_id = f"{second.item_id}:{second.model_id}"
    deadline = time.monotonic() + 30
    binding = None
    while binding is None or binding.last_error is None or store.stock(*world.listing) != 25:
        assert time.monotonic() < deadline, "the refused push was not recorded"
        world.worker.run_once()
        with transaction(world.factory) as s:
            binding = s.scalars(select(ListingBinding).where(ListingBinding.listing_id == listing_id)).one()
            s.expunge(binding)
    assert store.stock(*world.listing) == 25
    assert store.stock(second.item_id, second.model_id) == 5  # refused: still the first figure
    assert "Stock is locked by a promotion." in binding.last_error
    assert binding.last_quantity == 5  # what the shop still shows, not the figure it refused


def test_an_expired_token_is_renewed_and_the_new_tokens_sealed(world: World) -> None:
    store = world.store
    spent = store.refresh_token
    store.expire_access_token()
    sn = store.place_order([("SKU-1", 1)])
    world.settle()
    assert world.order(sn).status == "allocated"
    with transaction(world.factory) as s:
        shop = s.scalars(select(Shop).where(Shop.code == "shopee")).one()
        kept = unseal(get_settings(), shop.credentials)
        assert spent not in (shop.credentials or "")
    assert (kept["access_token"], kept["refresh_token"]) == (store.access_token, store.refresh_token)
    assert kept["refresh_token"] != spent and int(kept["expire_at"]) > time.time() + 3 * 3600


def test_every_order_arrives_once_through_429s_500s_slow_and_lost_answers(world: World) -> None:
    store = world.store
    world.drops.set(0.05, seed=11)
    placed = []
    for wave in range(3):
        store.set_rate(1000, 3)  # a burst of three, then throttled
        store.faults.server_errors = 2
        store.faults.slow, store.faults.slow_seconds = 2, 0.2
        # Different buyers: one buyer's many orders in a minute would be held as a risk.
        placed += [
            store.place_order([("SKU-1", 1)], buyer=f"b{wave}{n}", recipient=f"Buyer {wave}{n}")
            for n in range(4)
        ]
        store.push_status(placed[-1], times=2)
        for _ in range(3):
            world.poll()
            with transaction(world.factory) as s:
                known = set(s.scalars(select(Order.external_id)))
            if known >= set(placed):
                break
        store.set_rate(1000, 1000)
    world.drops.set(0.0)
    world.poll()
    with transaction(world.factory) as s:
        rows = s.execute(select(Order.external_id, Order.status)).all()
    assert sorted(sn for sn, _ in rows) == sorted(placed)  # each exactly once
    with transaction(world.factory) as s:
        holds = s.execute(select(Order.external_id, Order.holds).where(Order.status != "allocated")).all()
    assert holds == []
    assert world.drops.dropped


def test_a_poll_that_times_out_is_tried_again_and_brings_every_order_once(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = world.store
    store.push_url = None  # only the poll can bring them
    placed = [store.place_order([("SKU-1", 1)], buyer=f"t{n}", recipient=f"Buyer t{n}") for n in range(3)]
    impatient(monkeypatch, world.worker)
    store.faults.slow, store.faults.slow_seconds = 1_000_000, SLOWER  # every call, until switched off
    poll_times_out(world.factory, world.worker, "shopee")
    with transaction(world.factory) as s:
        assert s.scalars(select(Order).where(Order.external_id.in_(placed))).all() == []
    store.faults.slow = 0
    world.settle()  # the poll's next try
    each_arrived_once(world.factory, placed)


def test_a_shipped_order_returned_on_shopee_ends_returned_and_a_late_shipped_version_does_not_undo_it(
    world: World,
) -> None:
    store = world.store
    sn = store.place_order([("SKU-1", 2)])
    world.settle()
    assert world.order(sn).status == "allocated"
    store.ship_outside(sn)
    world.settle()
    assert world.order(sn).status == "shipped"
    shipped_version = store.order(sn)
    with transaction(world.factory) as s:
        (before,) = inventory.stock_of(s, "SKU-1")

    time.sleep(1.1)  # Shopee stamps whole seconds: the return is a later version
    store.set_status(sn, "TO_RETURN")
    world.settle()
    order = world.order(sn)
    assert (order.status, order.platform_status) == ("returned", "TO_RETURN")
    with transaction(world.factory) as s:
        event, after = returned_whole(s, order.id, "SKU-1")
    assert event.from_status == "shipped" and "(TO_RETURN)" in (event.message or "")
    assert "no stock is put back" in (event.message or "")
    assert (after.on_hand, after.reserved) == (before.on_hand, before.reserved)  # waits for after-sales

    # The shipped version arrives again, late: it is stale and the order stays returned.
    (item,) = ingest_batch(world.factory, [mapper.map_order(shipped_version, "shopee")]).items
    assert (item.outcome, item.status) == ("stale", "returned")
    world.poll()
    assert world.order(sn).status == "returned"


def test_units_returned_through_shopees_returns_module_are_a_part_until_every_one_is_back(
    world: World,
) -> None:
    store = world.store
    sn = store.place_order([("SKU-1", 2), ("SKU-2", 1)])
    store.ship_outside(sn)
    world.settle()
    order = world.order(sn)
    assert order.status == "shipped"
    with transaction(world.factory) as s:
        (before,) = inventory.stock_of(s, "SKU-1")

    time.sleep(1.1)  # Shopee stamps whole seconds: each change below is a later version
    back = store.return_items(sn, [("SKU-1", 1)], status="PROCESSING")
    world.poll()  # asked for, on its way back: nothing returned
    assert (world.order(sn).status, world.order(sn).tags) == ("shipped", [])
    time.sleep(1.1)
    store.move_return(back, "ACCEPTED")
    time.sleep(1.1)
    store.set_status(sn, "TO_RETURN")  # the returns module says which units: not the whole order
    world.settle()
    order = world.order(sn)
    assert (order.status, order.platform_status) == ("shipped", "TO_RETURN") and "returned" in order.tags
    with transaction(world.factory) as s:
        notes = [
            e.message or "" for e in s.scalars(select(OrderEvent).where(OrderEvent.order_id == order.id))
        ]
    assert any("1 of 3 units returned on the platform (TO_RETURN)" in note for note in notes)

    time.sleep(1.1)
    store.return_items(sn, [("SKU-1", 1), ("SKU-2", 1)], status="ACCEPTED")
    world.poll()
    with transaction(world.factory) as s:
        event, after = returned_whole(s, order.id, "SKU-1")
    assert event.from_status == "shipped" and "returned on the platform (TO_RETURN)" in (event.message or "")
    assert (after.on_hand, after.reserved) == (before.on_hand, before.reserved)  # no stock put back
    world.poll()  # read again: still returned
    assert world.order(sn).status == "returned"
