"""A Lazada order's parcel shipped from the hub through Lazada's own logistics, on both databases: the
"platform" carrier's label job packs it on Lazada, sets it ready to ship and keeps Lazada's tracking
number and label like any bought label; handed over, it is never written back (Lazada knows it); and
an order Lazada cancelled gets no label."""

from __future__ import annotations

from sqlalchemy import func, select

from orderly.core.db import transaction
from orderly.fulfilment import service as fulfilment
from orderly.fulfilment.carriers import labels
from orderly.fulfilment.carriers import service as carriers
from orderly.fulfilment.carriers.models import ShipmentLabel
from orderly.fulfilment.carriers.schemas import CarrierAccountIn, LabelIn
from orderly.fulfilment.models import Shipment, TrackingWriteback
from orderly.fulfilment.schemas import ShipmentIn
from tests.channels.lazada.test_end_to_end import World, world  # noqa: F401 - the fixture

MARKETPLACE = "marketplace"


def _shipment(hub: World, external_id: str) -> int:
    hub.settle()
    order = hub.order(external_id)
    assert order.status == "allocated"
    with transaction(hub.factory) as s:
        carriers.create_account(s, CarrierAccountIn(code=MARKETPLACE, name="Marketplace", plugin="platform"))
        return fulfilment.create_shipment(s, order.id, ShipmentIn(), actor="clerk").id


def test_a_lazada_parcel_is_packed_and_labelled_by_lazada_and_never_written_back(world: World) -> None:  # noqa: F811
    order_id = world.store.place_order([("SKU-1", 2)])
    shipment_id = _shipment(world, order_id)
    with transaction(world.factory) as s:
        labels.request_label(s, shipment_id, LabelIn(carrier_account=MARKETPLACE), actor="clerk")
    world.settle()

    items = world.store.order_view(order_id)["items"]
    assert {item["status"] for item in items} == {"ready_to_ship"}
    with transaction(world.factory) as s:
        shipment = s.get(Shipment, shipment_id)
        label = s.get(ShipmentLabel, shipment_id)
        assert shipment is not None and label is not None
        assert (shipment.status, shipment.carrier_plugin, shipment.carrier) == (
            "label_bought",
            "platform",
            "LEX SG",
        )
        assert shipment.tracking_number == items[0]["tracking_code"] != ""
        assert label.content is not None and label.content.startswith(b"%PDF")
        assert label.carrier_shipment_id == items[0]["package_id"]

    with transaction(world.factory) as s:
        fulfilment.ship_shipment(s, shipment_id, actor="clerk")
    world.store.ship(order_id)  # Lazada's partner picks it up
    world.settle()
    with transaction(world.factory) as s:
        assert s.get(Shipment, shipment_id).status == "shipped"  # type: ignore[union-attr]
        assert s.scalar(select(func.count()).select_from(TrackingWriteback)) == 0
    order = world.order(order_id)
    assert order.status == "shipped" and order.shipments[0]["tracking_number"] == items[0]["tracking_code"]
    assert world.store.calls()["/order/fulfill/pack"] == 1


def test_an_order_cancelled_on_lazada_gets_no_label(world: World) -> None:  # noqa: F811
    order_id = world.store.place_order([("SKU-1", 1)])
    shipment_id = _shipment(world, order_id)
    world.store.set_webhook(None)  # the hub has not heard of the cancellation yet
    world.store.cancel(order_id)
    with transaction(world.factory) as s:
        labels.request_label(s, shipment_id, LabelIn(carrier_account=MARKETPLACE), actor="clerk")
    world.settle()
    with transaction(world.factory) as s:
        label = s.get(ShipmentLabel, shipment_id)
        assert label is not None and label.state == "failed"
        assert label.error is not None and "has fewer" in label.error
    assert world.store.calls().get("/order/fulfill/pack", 0) == 0
