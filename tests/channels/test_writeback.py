"""Tracking back to the shop, end to end over real HTTP on both databases: orders polled from the
Shopify and Amazon sandboxes, parcels shipped in the hub, workers writing their carrier and tracking
number back; each sandbox ends up holding them in its own shape (Shopify: fulfillments against every
location's fulfillment order; Amazon: one package per parcel with its order item ids), through 429s,
500s and lost answers, never twice; refusals are visible and replayable; FBA orders never written."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from orderly.alerts.models import Alert
from orderly.api import create_app
from orderly.auth.domain import Scope
from orderly.auth.service import create_token
from orderly.catalog import service as catalog
from orderly.catalog.schemas import MappingIn
from orderly.channels import service as shops
from orderly.channels import tasks
from orderly.channels.schemas import ShopUpdate
from orderly.core.db import transaction
from orderly.core.errors import DomainError
from orderly.fulfilment import service as fulfilment
from orderly.fulfilment.models import Shipment, TrackingWriteback
from orderly.fulfilment.schemas import ShipmentIn, ShipmentLineIn
from orderly.inventory import service as inventory
from orderly.jobs import service as jobs
from orderly.jobs.models import Job
from orderly.jobs.worker import Worker
from orderly.orders.ingest import ingest_batch
from orderly.orders.models import Order, OrderEvent
from orderly.sandbox.amazon import FAST_RATES, AmazonStore, Faults, Line
from orderly.sandbox.amazon import create_app as amazon_app
from orderly.sandbox.faults import Drops
from orderly.sandbox.serve import serving
from orderly.sandbox.shopify import ShopifyStore
from orderly.sandbox.shopify import create_app as shopify_app
from orderly.sandbox.shopify.models import numbered_buyer
from tests.channels.sandbox_shops import connect_amazon, connect_shopify
from tests.factories import order as manual_order
from tests.factories import setup_catalog

pytestmark = pytest.mark.xdist_group("end_to_end")


@dataclass
class World:
    factory: sessionmaker[Session]
    worker: Worker
    shopify: ShopifyStore
    amazon: AmazonStore
    shopify_drops: Drops
    amazon_drops: Drops
    overseas: int  # the Shopify location SKU-2 ships from
    buyers: int = 0

    def settle(self, until: float = 90.0) -> None:
        """Run jobs until none is queued or running (waits between retries included)."""
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
                with transaction(self.factory) as s:  # a retry waiting out its backoff: bring it forward
                    s.query(Job).filter(Job.status == "queued").update({"run_after": func.now()})
                time.sleep(0.02)
        raise AssertionError("the jobs did not settle")

    def poll(self) -> None:
        with transaction(self.factory) as s:
            for code in ("shopify", "amazon"):
                jobs.enqueue(s, [jobs.NewJob(tasks.POLL, {"shop_id": shops.get_shop(s, code).id})])
        self.settle()

    def shopify_order(self, *lines: tuple[str, int]) -> str:
        self.buyers += 1
        spec = {"lines": [{"sku": sku, "quantity": n} for sku, n in lines], **numbered_buyer(self.buyers)}
        return str(self.shopify.place_order(spec)["id"])

    def order_id(self, external_id: str) -> int:
        with transaction(self.factory) as s:
            found = s.scalar(select(Order).where(Order.external_id == external_id))
            assert found is not None and found.status == "allocated", (external_id, found and found.status)
            return found.id

    def ship(
        self, external_id: str, carrier: str, number: str, lines: list[tuple[int, int]] | None = None
    ) -> int:
        spec = ShipmentIn(
            carrier=carrier,
            tracking_number=number,
            lines=[ShipmentLineIn(line_no=no, quantity=n) for no, n in lines] if lines else None,
            ship=True,
        )
        with transaction(self.factory) as s:
            order_id = s.scalar(select(Order.id).where(Order.external_id == external_id))
            assert order_id is not None
            return fulfilment.create_shipment(s, order_id, spec, actor="packer").id

    def writeback(self, shipment_id: int) -> dict[str, Any]:
        with transaction(self.factory) as s:
            view = fulfilment.get_shipment(s, shipment_id).writeback
        assert view is not None
        return view.model_dump()


@pytest.fixture
def world(factory: sessionmaker[Session]) -> Iterator[World]:
    setup_catalog(factory, {"SKU-1": 100, "SKU-2": 100})
    shopify = ShopifyStore(seed=5, bucket_size=1000, leak_per_second=1000.0)
    overseas = shopify.add_location("Overseas", "DE")["id"]
    shopify.add_product({"title": "Tee", "variants": [{"sku": "SKU-1", "available": 500}]})
    shopify.add_product(
        {"title": "Mug", "variants": [{"sku": "SKU-2", "available": 500, "location_id": overseas}]}
    )
    amazon = AmazonStore(rates=FAST_RATES, before_lag_seconds=0, seed=6)
    amazon.add_listing("SKU-1", asin="B0WBTEST01")
    amazon.add_listing("SKU-2", asin="B0WBTEST02")
    amazon.add_listing("SKU-3", asin="B0WBTEST03", fulfillment_channel="AMAZON_NA")
    shopify_drops, amazon_drops = Drops(shopify_app(shopify)), Drops(amazon_app(amazon))
    with serving(shopify_drops) as shopify_url, serving(amazon_drops) as amazon_url:
        with transaction(factory) as s:
            connect_shopify(s, shopify, shopify_url)
            connect_amazon(s, amazon, amazon_url)
            for shop in ("shopify", "amazon"):
                for sku in ("SKU-1", "SKU-2"):
                    catalog.create_mapping(s, MappingIn(shop=shop, platform_sku=sku, sku=sku))
            catalog.create_mapping(
                s, MappingIn(shop="amazon", platform_sku="SKU-3", sku="SKU-3", fulfilled_by="platform")
            )
        world = World(factory, Worker(factory, name="wb", idle_sleep=0), shopify, amazon, shopify_drops,
                      amazon_drops, overseas)  # fmt: skip
        world.settle()
        yield world
        shopify.close()


def test_each_shop_holds_every_parcel_in_its_own_shape_across_locations_and_partial_shipments(
    world: World,
) -> None:
    shopify_id = world.shopify_order(("SKU-1", 2), ("SKU-2", 1))
    amazon_id = world.amazon.place_order([Line("SKU-1", 2), Line("SKU-2", 1)], paid=True)
    world.poll()
    assert len(world.shopify.fulfillment_orders(int(shopify_id))) == 2  # one per location

    parcels = {
        "shopify": [
            world.ship(shopify_id, "UPS", "1ZSHOP0001", [(1, 1)]),
            world.ship(shopify_id, "DHL Express", "JD0000002"),  # the rest: both locations
        ],
        "amazon": [
            world.ship(amazon_id, "usps", "9400AMZ0001", [(1, 1)]),
            world.ship(amazon_id, "Yanwen", "YW0000002"),
        ],
    }
    world.settle()

    made = world.shopify.fulfillments(int(shopify_id))
    assert [(f["tracking_company"], f["tracking_number"], f["location_id"]) for f in made] == [
        ("UPS", "1ZSHOP0001", world.shopify.location_id),
        *sorted(
            [
                ("DHL Express", "JD0000002", world.shopify.location_id),
                ("DHL Express", "JD0000002", world.overseas),
            ],
            key=lambda f: f[2],
        ),
    ]
    assert [sum(i["quantity"] for i in f["line_items"]) for f in made] == [1, 1, 1]
    assert world.shopify.order(int(shopify_id))["fulfillment_status"] == "fulfilled"
    first, rest = (world.writeback(p) for p in parcels["shopify"])
    assert first["status"] == rest["status"] == "accepted"
    assert first["platform_ids"] == [str(made[0]["id"])] and len(rest["platform_ids"]) == 2

    confirmed = world.amazon.shipments()
    packages = [c["body"]["packageDetail"] for c in confirmed]
    assert [p["packageReferenceId"] for p in packages] == [str(p) for p in parcels["amazon"]]
    assert [(p["carrierCode"], p["carrierName"], p["trackingNumber"]) for p in packages] == [
        ("USPS", "usps", "9400AMZ0001"),
        ("Yanwen", "Yanwen", "YW0000002"),
    ]
    items = {i["SellerSKU"]: i["OrderItemId"] for i in world.amazon.order(amazon_id)["items"]}
    assert packages[0]["orderItems"] == [{"orderItemId": items["SKU-1"], "quantity": 1}]
    assert packages[1]["orderItems"] == [
        {"orderItemId": items["SKU-1"], "quantity": 1},
        {"orderItemId": items["SKU-2"], "quantity": 1},
    ]
    assert world.amazon.order(amazon_id)["order"]["OrderStatus"] == "Shipped"
    assert [world.writeback(p)["platform_ids"] for p in parcels["amazon"]] == [
        [str(p)] for p in parcels["amazon"]
    ]

    # The shops' next versions report what the hub shipped: nothing leaves the shelf twice.
    world.poll()
    with transaction(world.factory) as s:
        statuses = set(s.scalars(select(Order.status)))
        assert inventory.verify(s, repair=False, actor="test") == []
        on_hand = {f.sku: f.on_hand for sku in ("SKU-1", "SKU-2") for f in inventory.stock_of(s, sku)}
        history = list(s.scalars(select(OrderEvent.message).where(OrderEvent.kind == "tracking")))
    assert statuses == {"shipped"}
    assert on_hand == {"SKU-1": 96, "SKU-2": 98}
    assert len(history) == 4 and all("sent to the shop" in m for m in history)


def test_faults_delay_but_lose_nothing_and_no_parcel_reaches_a_shop_twice(world: World) -> None:
    shopify_ids = [world.shopify_order(("SKU-1", 1), ("SKU-2", 1)) for _ in range(6)]
    amazon_ids = [world.amazon.place_order([Line("SKU-1", 1), Line("SKU-2", 1)], paid=True) for _ in range(6)]
    world.poll()
    world.shopify.set_faults({"seed": 7, "rate_limited": 0.15, "retry_after": 0.05, "server_error": 0.15})
    world.amazon.set_faults(Faults(throttle=0.15, error=0.15, seed=8))
    world.shopify_drops.set(0.2, seed=9)  # half before Shopify acts, half after: answers lost
    world.amazon_drops.set(0.2, seed=10)
    parcels = [world.ship(external_id, "UPS", f"1ZF{n:07d}") for n, external_id in enumerate(shopify_ids)]
    parcels += [world.ship(external_id, "FedEx", f"FX{n:07d}") for n, external_id in enumerate(amazon_ids)]
    world.settle(until=180)

    assert {world.writeback(p)["status"] for p in parcels} == {"accepted"}
    for external_id in shopify_ids:
        made = world.shopify.fulfillments(int(external_id))
        assert sorted(f["location_id"] for f in made) == sorted([world.shopify.location_id, world.overseas])
        assert len({f["tracking_number"] for f in made}) == 1
    by_order: dict[str, set[str]] = {}
    for confirmation in world.amazon.shipments():
        by_order.setdefault(confirmation["order_id"], set()).add(
            confirmation["body"]["packageDetail"]["packageReferenceId"]
        )
    assert by_order == {external_id: {str(p)} for external_id, p in zip(amazon_ids, parcels[6:], strict=True)}
    for external_id in amazon_ids:
        assert [i["QuantityShipped"] for i in world.amazon.order(external_id)["items"]] == [1, 1]
    assert world.shopify_drops.dropped and world.amazon_drops.dropped
    assert world.shopify.stats().get("injected_500") and world.shopify.stats().get("injected_429")


@pytest.fixture
def api(world: World) -> Iterator[TestClient]:
    with transaction(world.factory) as s:
        token = create_token(s, "tester", scope=Scope.ADMIN).token
    app = create_app(factory=world.factory)
    with TestClient(app, headers={"Authorization": f"Bearer {token}"}, raise_server_exceptions=False) as c:
        yield c


def test_a_refusal_keeps_the_shops_reason_is_alerted_and_is_replayed_once_fixed(
    world: World, api: TestClient
) -> None:
    shopify_id = world.shopify_order(("SKU-1", 1))
    amazon_id = world.amazon.place_order([Line("SKU-1", 1)], paid=True)
    world.poll()
    with transaction(world.factory) as s:  # the app's token was revoked on Shopify
        shops.update_shop(s, "shopify", ShopUpdate(credentials={"access_token": "shpat_revoked"}))
    world.amazon.cancel(amazon_id)  # cancelled on Amazon before the hub heard
    shopify_parcel = world.ship(shopify_id, "UPS", "1ZREFUSED1")
    amazon_parcel = world.ship(amazon_id, "UPS", "1ZREFUSED2")
    world.settle()

    refused = world.writeback(shopify_parcel)
    assert refused["status"] == "refused" and "Invalid API key or access token" in refused["error"]
    assert world.writeback(amazon_parcel)["status"] == "refused"
    assert f"order {amazon_id} is Canceled" in world.writeback(amazon_parcel)["error"]
    with transaction(world.factory) as s:
        dead = s.scalars(select(Job).where(Job.status == "dead")).all()
        alerts = set(s.scalars(select(Alert.kind).where(Alert.resolved_at.is_(None))))
        history = list(s.scalars(select(OrderEvent.message).where(OrderEvent.kind == "tracking")))
    assert len(dead) == 2 and "job_dead" in alerts
    with transaction(world.factory) as s:
        unsure = {row.shipment_id: row.maybe_sent for row in s.scalars(select(TrackingWriteback))}
    # Refused at the first read, Shopify was sent nothing to act on; Amazon refused the confirmation
    # itself, so a replay looks first.
    assert unsure == {shopify_parcel: False, amazon_parcel: True}
    assert any("refused its tracking" in m and "Invalid API key" in m for m in history)
    shown = api.get(f"/api/v1/shipments/{shopify_parcel}").json()["writeback"]
    assert shown["status"] == "refused" and shown["error"] == refused["error"]
    assert world.shopify.fulfillments(int(shopify_id)) == []

    with transaction(world.factory) as s:
        shops.update_shop(s, "shopify", ShopUpdate(credentials={"access_token": "shpat_sandbox"}))
    replayed = api.post(f"/api/v1/shipments/{shopify_parcel}/writeback")
    assert replayed.status_code == 200, replayed.text
    assert replayed.json()["writeback"]["status"] == "queued"
    world.settle()
    assert world.writeback(shopify_parcel)["status"] == "accepted"
    [fulfillment] = world.shopify.fulfillments(int(shopify_id))
    assert fulfillment["tracking_number"] == "1ZREFUSED1"
    # Sent again when already accepted: the shop holds it as it is, nothing is sent.
    calls = world.shopify.stats()["calls"]
    assert api.post(f"/api/v1/shipments/{shopify_parcel}/writeback").status_code == 200
    world.settle()
    assert world.shopify.stats()["calls"] == calls and len(world.shopify.fulfillments(int(shopify_id))) == 1


def test_fba_orders_and_orders_not_from_a_platform_are_never_written_back(world: World) -> None:
    fba = world.amazon.place_order([Line("SKU-3", 1)], paid=True, fba=True)
    world.poll()
    with transaction(world.factory) as s:
        status = s.scalar(select(Order.status).where(Order.external_id == fba))
    if status is not None:  # taken in as Amazon's to ship: no parcel of the hub's can be made
        assert status == "platform_fulfilled"
        with pytest.raises(DomainError):
            world.ship(fba, "UPS", "1ZFBA")
    report = ingest_batch(world.factory, [manual_order(("SKU-1", 1))])
    (item,) = report.items
    with transaction(world.factory) as s:
        manual = s.get(Order, item.order_id)
        assert manual is not None
        external_id = manual.external_id
    parcel = world.ship(external_id, "UPS", "1ZMANUAL")
    world.settle()
    with transaction(world.factory) as s:
        assert s.scalar(select(func.count()).select_from(TrackingWriteback)) == 0
        assert s.scalar(select(func.count()).where(Job.kind == fulfilment.WRITE_BACK)) == 0
        assert fulfilment.get_shipment(s, parcel).writeback is None
    assert world.amazon.shipments() == []


def test_a_new_tracking_number_on_an_accepted_parcel_updates_what_each_shop_holds(world: World) -> None:
    shopify_id = world.shopify_order(("SKU-1", 1), ("SKU-2", 1))
    amazon_id = world.amazon.place_order([Line("SKU-1", 1)], paid=True)
    world.poll()
    parcels = [world.ship(shopify_id, "UPS", "1ZOLD00001"), world.ship(amazon_id, "UPS", "1ZOLD00002")]
    world.settle()
    before = [world.writeback(p)["platform_ids"] for p in parcels]
    with transaction(world.factory) as s:  # the carrier relabelled the parcels on the way
        for parcel, number in zip(parcels, ("9400NEW0001", "9400NEW0002"), strict=True):
            shipment = s.get(Shipment, parcel)
            assert shipment is not None
            shipment.carrier, shipment.tracking_number = "USPS", number
            fulfilment.request_writeback(s, parcel)
    world.settle()

    made = world.shopify.fulfillments(int(shopify_id))
    assert len(made) == 2 and {(f["tracking_company"], f["tracking_number"]) for f in made} == {
        ("USPS", "9400NEW0001")
    }
    packages = [c["body"]["packageDetail"] for c in world.amazon.shipments()]
    assert [(p["packageReferenceId"], p["trackingNumber"]) for p in packages] == [
        (str(parcels[1]), "1ZOLD00002"),
        (str(parcels[1]), "9400NEW0002"),
    ]
    assert [i["QuantityShipped"] for i in world.amazon.order(amazon_id)["items"]] == [1]
    after = [world.writeback(p) for p in parcels]
    assert [w["platform_ids"] for w in after] == before
    assert [w["tracking_number"] for w in after] == ["9400NEW0001", "9400NEW0002"]
