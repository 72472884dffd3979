"""The "platform" carrier end to end on both databases: a Shopee order's parcel labelled by Shopee's
own logistics through the label job (tracking number and label kept like any bought label), handed
over without a write-back (Shopee knows it already), and refused for an order whose shop has no such
logistics."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from orderly.catalog import service as catalog
from orderly.catalog.schemas import MappingIn
from orderly.channels import service as shops
from orderly.channels import tasks as channel_tasks
from orderly.core.db import transaction
from orderly.core.errors import Conflict
from orderly.fulfilment import service as fulfilment
from orderly.fulfilment.carriers import labels
from orderly.fulfilment.carriers import service as carriers
from orderly.fulfilment.carriers.models import ShipmentLabel
from orderly.fulfilment.carriers.schemas import CarrierAccountIn, LabelIn
from orderly.fulfilment.models import Shipment, TrackingWriteback
from orderly.fulfilment.schemas import ShipmentIn
from orderly.jobs import service as jobs
from orderly.jobs.models import Job
from orderly.jobs.worker import Worker
from orderly.orders.ingest import ingest_batch
from orderly.orders.models import Order
from orderly.sandbox.serve import serving
from orderly.sandbox.shopee import ShopeeStore, create_app
from tests.channels.sandbox_shops import connect_shopee
from tests.factories import order, setup_catalog

pytestmark = pytest.mark.xdist_group("end_to_end")


def settle(factory: sessionmaker[Session], worker: Worker, until: float = 60.0) -> None:
    deadline = time.monotonic() + until
    while time.monotonic() < deadline:
        ran = worker.run_once()
        with transaction(factory) as s:
            pending = s.scalar(
                select(func.count()).select_from(Job).where(Job.status.in_(["queued", "running"]))
            )
        if not ran and not pending:
            return
        if not ran:
            time.sleep(0.05)
    raise AssertionError("the jobs did not settle")


@pytest.fixture
def shopee(factory: sessionmaker[Session]) -> Iterator[tuple[ShopeeStore, Worker]]:
    setup_catalog(factory, {"SKU-1": 20})
    store = ShopeeStore(seed=9)
    model = store.add_model("SKU-1", stock=20)
    with serving(create_app(store)) as url:
        with transaction(factory) as s:
            connect_shopee(s, store, url)
            catalog.create_mapping(
                s,
                MappingIn(
                    shop="shopee", platform_sku="SKU-1", listing_id=f"{model[0]}:{model[1]}", sku="SKU-1"
                ),
            )
            carriers.create_account(
                s, CarrierAccountIn(code="marketplace", name="Marketplace", plugin="platform")
            )
        yield store, Worker(factory, name="platform-carrier", idle_sleep=0)


def _taken_in(factory: sessionmaker[Session], worker: Worker, order_sn: str) -> int:
    with transaction(factory) as s:
        jobs.enqueue(s, [jobs.NewJob(channel_tasks.POLL, {"shop_id": shops.get_shop(s, "shopee").id})])
    settle(factory, worker)
    with transaction(factory) as s:
        order = s.scalars(select(Order).where(Order.external_id == order_sn)).one()
        assert order.status == "allocated"
        return order.id


def test_a_shopee_parcel_is_labelled_by_shopee_and_never_written_back(
    factory: sessionmaker[Session], shopee: tuple[ShopeeStore, Worker]
) -> None:
    store, worker = shopee
    order_sn = store.place_order([("SKU-1", 2)], channel_kind="pickup")
    order_id = _taken_in(factory, worker, order_sn)
    with transaction(factory) as s:
        shipment_id = fulfilment.create_shipment(s, order_id, ShipmentIn(), actor="clerk").id
        labels.request_label(
            s, shipment_id, LabelIn(carrier_account="marketplace", service="pickup"), actor="clerk"
        )
    settle(factory, worker)

    with transaction(factory) as s:
        shipment = s.get(Shipment, shipment_id)
        label = s.get(ShipmentLabel, shipment_id)
        assert shipment is not None and label is not None
        assert (shipment.status, shipment.carrier_plugin, shipment.carrier) == (
            "label_bought",
            "platform",
            "SPX Express",
        )
        assert shipment.tracking_number == store.order(order_sn)["tracking_number"] != ""
        assert (label.state, label.file_format) == ("bought", "pdf")
        assert label.content is not None and label.content.startswith(b"%PDF")
        assert label.carrier_shipment_id == store.order(order_sn)["package_list"][0]["package_number"]
    [request] = store.shipped(order_sn)
    assert set(request) == {"order_sn", "pickup"}

    with transaction(factory) as s:
        fulfilment.ship_shipment(s, shipment_id, actor="clerk")
    settle(factory, worker)
    with transaction(factory) as s:
        assert s.get(Shipment, shipment_id).status == "shipped"  # type: ignore[union-attr]
        assert s.scalar(select(func.count()).select_from(TrackingWriteback)) == 0
    assert len(store.shipped(order_sn)) == 1  # Shopee was told once, by its own logistics


def test_an_order_cancelled_on_shopee_gets_no_label(
    factory: sessionmaker[Session], shopee: tuple[ShopeeStore, Worker]
) -> None:
    store, worker = shopee
    order_sn = store.place_order([("SKU-1", 1)])
    order_id = _taken_in(factory, worker, order_sn)
    with transaction(factory) as s:
        shipment_id = fulfilment.create_shipment(s, order_id, ShipmentIn(), actor="clerk").id
    store.set_status(order_sn, "CANCELLED")  # before the hub heard of it
    with transaction(factory) as s:
        labels.request_label(s, shipment_id, LabelIn(carrier_account="marketplace"), actor="clerk")
    settle(factory, worker)
    with transaction(factory) as s:
        label = s.get(ShipmentLabel, shipment_id)
        assert label is not None and label.state == "failed"
        assert label.error is not None and "is CANCELLED" in label.error
    assert store.shipped(order_sn) == []


def test_the_platform_carrier_is_refused_for_a_shop_without_platform_logistics(
    factory: sessionmaker[Session], shopee: tuple[ShopeeStore, Worker]
) -> None:
    (item,) = ingest_batch(factory, [order(("SKU-1", 1))]).items  # from shop-a, a manual shop
    assert item.order_id is not None
    order_id = item.order_id
    with transaction(factory) as s, pytest.raises(Conflict, match="ships no parcels itself"):
        shipment_id = fulfilment.create_shipment(s, order_id, ShipmentIn(), actor="clerk").id
        labels.request_label(s, shipment_id, LabelIn(carrier_account="marketplace"), actor="clerk")
