"""Issue 11 end to end, over real HTTP on both databases: an order placed on the Shopify sandbox and
one on the Amazon sandbox are polled in, approved and routed (the decision explained on the order),
given parcels labelled by the EasyPost and DHL Express sandboxes, packed by scanning, and shipped (one
when the carrier reports the pickup, one when the packer confirms); each shop's sandbox receives the
tracking number in its own shape; carrier events deliver both and close the orders; a parcel that
hears nothing raises the stale alert; 429s and 500s from the carriers and the shops on the way delay
but lose nothing."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from orderly.alerts.models import Alert
from orderly.core.clock import utcnow
from orderly.core.db import transaction
from orderly.fulfilment import service as fulfilment
from orderly.fulfilment.carriers import tracking
from orderly.inventory import service as inventory
from orderly.orders.models import Order
from orderly.sandbox.amazon import Faults, Line
from tests.channels.test_writeback import World, api, world
from tests.fulfilment.carriers.conftest import (
    DHL_ACCOUNT,
    DHL_SECRET,
    DHL_USER,
    EASYPOST_KEY,
    SHIP_FROM,
    Sandbox,
    dhl,
    easypost,
)

__all__ = ["api", "dhl", "easypost", "world"]
pytestmark = pytest.mark.xdist_group("end_to_end")

BOX = {"length_mm": 250, "width_mm": 180, "height_mm": 60}
ROUTE_HOME = {
    "key": "domestic",
    "name": "Domestic orders from the home warehouse",
    "priority": 10,
    "scope": {"countries": ["US"]},
    "then": [{"warehouses": {"prefer": ["WH-1"]}}],
}


def _ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def _accounts(api: TestClient, easypost: Sandbox, dhl: Sandbox) -> None:
    _ok(
        api.post(
            "/api/v1/carrier-accounts",
            json={
                "code": "ep",
                "name": "EasyPost",
                "plugin": "easypost",
                "base_url": f"{easypost.url}/v2",
                "credentials": {"api_key": EASYPOST_KEY},
                "settings": {"ship_from": SHIP_FROM, "default_parcel": BOX},
            },
        ),
        201,
    )
    _ok(
        api.post(
            "/api/v1/carrier-accounts",
            json={
                "code": "dhl",
                "name": "DHL Express",
                "plugin": "dhl_express",
                "base_url": f"{dhl.url}/mydhlapi/test",
                "credentials": {"username": DHL_USER, "password": DHL_SECRET},
                "settings": {"ship_from": SHIP_FROM, "account_number": DHL_ACCOUNT},
            },
        ),
        201,
    )


def _parcel_with_label(api: TestClient, world: World, external_id: str, account: str) -> dict[str, Any]:
    order_id = world.order_id(external_id)
    routing = _ok(api.get(f"/api/v1/orders/{order_id}"))["routing"]
    assert [f["rule"] for f in routing["fired"]] == ["domestic"] and routing["chosen"] == ["WH-1"]
    parcel = _ok(api.post(f"/api/v1/orders/{order_id}/shipments", json={"weight_g": 400}), 201)
    _ok(
        api.post(f"/api/v1/shipments/{parcel['id']}/label", json={"carrier_account": account, "parcel": BOX}),
        202,
    )
    return dict(parcel)


def _pack(api: TestClient, shipment_id: int, packer: str) -> None:
    """The packer scans the label's code, then the item: a wrong item is refused on the way."""
    _ok(api.post("/api/v1/pack/scans", json={"code": f"SHP-{shipment_id}", "packer": packer}))
    wrong = api.post("/api/v1/pack/scans", json={"code": "SKU-2", "packer": packer})
    assert wrong.status_code in (400, 409) and "SKU-2" in wrong.text
    packed = _ok(api.post("/api/v1/pack/scans", json={"code": "SKU-1", "packer": packer}))
    assert packed["parcel"]["status"] == "packed" and packed["parcel"]["complete"]


def _order_id(world: World, external_id: str) -> int:
    with transaction(world.factory) as s:
        found = s.scalar(select(Order.id).where(Order.external_id == external_id))
    assert found is not None
    return found


def _poll_carriers(world: World) -> None:
    with transaction(world.factory) as s:
        tracking.schedule_polls(s)
    world.settle()


def test_two_shops_orders_leave_labelled_packed_and_tracked_and_reach_their_buyers(
    world: World, api: TestClient, easypost: Sandbox, dhl: Sandbox
) -> None:
    _accounts(api, easypost, dhl)
    _ok(api.put("/api/v1/routing/rules/domestic", json=ROUTE_HOME))
    shopify_id = world.shopify_order(("SKU-1", 1))
    quiet_id = world.shopify_order(("SKU-1", 1))
    amazon_id = world.amazon.place_order([Line("SKU-1", 1)], paid=True)
    world.poll()

    # Labels, through a failing carrier: each bought once.
    easypost.store.faults.fail_next = 2
    dhl.store.faults.fail_next = 1
    shopify_parcel = _parcel_with_label(api, world, shopify_id, "ep")
    quiet_parcel = _parcel_with_label(api, world, quiet_id, "ep")
    amazon_parcel = _parcel_with_label(api, world, amazon_id, "dhl")
    world.settle()
    parcels = (shopify_parcel, quiet_parcel, amazon_parcel)
    labelled = {p["id"]: _ok(api.get(f"/api/v1/shipments/{p['id']}")) for p in parcels}
    assert {v["status"] for v in labelled.values()} == {"label_bought"}
    assert len(easypost.store.purchases) == 2 and len(dhl.store.shipments) == 1
    label = api.get(f"/api/v1/shipments/{amazon_parcel['id']}/label")
    assert label.status_code == 200 and label.content.startswith(b"%PDF")

    for n, parcel in enumerate(parcels):
        _pack(api, parcel["id"], f"bench-{n}")

    # The shops answer 429s and 500s while the tracking numbers go back.
    world.shopify.set_faults({"seed": 11, "rate_limited": 0.3, "retry_after": 0.05, "server_error": 0.3})
    world.amazon.set_faults(Faults(throttle=0.3, error=0.3, seed=12))
    shopify_number = labelled[shopify_parcel["id"]]["tracking_number"]
    easypost.store.advance(shopify_number, "in_transit")  # the carrier picked it up: it ships
    _poll_carriers(world)
    _ok(api.post(f"/api/v1/shipments/{quiet_parcel['id']}/ship", json={}))  # the packer confirms
    _ok(api.post(f"/api/v1/shipments/{amazon_parcel['id']}/ship", json={}))
    world.settle(until=180)

    [fulfillment] = world.shopify.fulfillments(int(shopify_id))
    assert (fulfillment["tracking_company"], fulfillment["tracking_number"]) == ("USPS", shopify_number)
    amazon_number = labelled[amazon_parcel["id"]]["tracking_number"]
    [confirmation] = [c for c in world.amazon.shipments() if c["order_id"] == amazon_id]
    package = confirmation["body"]["packageDetail"]
    assert package["trackingNumber"] == amazon_number and package["carrierCode"] == "DHL"
    assert {_ok(api.get(f"/api/v1/shipments/{p}"))["writeback"]["status"] for p in labelled} == {"accepted"}
    assert world.shopify.stats().get("injected_429") or world.shopify.stats().get("injected_500")
    assert easypost.store.faults.fail_next == dhl.store.faults.fail_next == 0  # the carriers' faults were met

    # Carrier events, the carriers failing once more, deliver both.
    world.shopify.set_faults({})
    world.amazon.clear_faults()
    easypost.store.advance(shopify_number, "delivered")
    for code in ("PU", "AF", "OK"):
        dhl.store.scan(amazon_number, code)
    easypost.store.faults.fail_next = 1
    _poll_carriers(world)
    for external_id in (shopify_id, amazon_id):
        assert _ok(api.get(f"/api/v1/orders/{_order_id(world, external_id)}"))["status"] == "delivered"
    assert _ok(api.get(f"/api/v1/shipments/{quiet_parcel['id']}"))["status"] == "shipped"

    # A day on, the parcel nobody scanned is stale; the delivered ones are not.
    with transaction(world.factory) as s:
        fulfilment.watch_parcels(s, utcnow() + timedelta(hours=25), timedelta(hours=24))
        stale = set(
            s.scalars(select(Alert.subject).where(Alert.kind == "parcel_stale", Alert.resolved_at.is_(None)))
        )
        assert inventory.verify(s, repair=False, actor="test") == []
        (figure,) = inventory.stock_of(s, "SKU-1")
    assert stale == {f"shipment:{quiet_parcel['id']}"}
    assert (figure.on_hand, figure.reserved) == (97, 0)  # three units left, once each
    assert len(world.shopify.fulfillments()) == 2  # both Shopify parcels, each once
