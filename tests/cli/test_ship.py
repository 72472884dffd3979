"""``orderly ship`` and ``orderly shipments``: a parcel from the command line, as over the API."""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker

from orderly.core.db import transaction
from orderly.inventory import service as inventory
from orderly.orders.ingest import ingest_batch
from tests.cli.conftest import Cli
from tests.factories import order, setup_catalog, stored_order


def test_ship_part_of_an_order_then_void_and_ship_the_rest(cli: Cli, factory: sessionmaker[Session]) -> None:
    setup_catalog(factory, {"SKU-1": 10, "SKU-2": 5})
    ingest_batch(factory, [order(("SKU-1", 2), ("SKU-2", 1), external_id="#2001")])
    order_id = stored_order(factory, "#2001").id

    first = cli("ship", str(order_id), "--carrier", "UPS", "--tracking", "1Z999", "--line", "1=2").stdout
    bad_line = cli("ship", str(order_id), "--line", "one", code=2)
    too_many = cli("ship", str(order_id), "--line", "1=1", code=1)
    parcel = cli("ship", str(order_id), "--tracking", "TRK-2", "--parcel-only").stdout
    parcel_id = parcel.split()[1]
    voided = cli("shipments", "void", parcel_id, "--reason", "box too small").stdout
    rest = cli("ship", str(order_id)).stdout
    listed = cli("shipments", "list", str(order_id)).stdout

    assert f"of order {order_id} from WH-1: shipped (UPS 1Z999)" in first
    assert "line 1 x 2" in first
    assert "LINE=QUANTITY" in bad_line.output
    assert "line 1: 1 asked, 0 left to ship" in too_many.stderr
    assert "label_bought (TRK-2)" in parcel
    assert ": voided (TRK-2)" in voided and "box too small" in voided
    assert "shipped (no tracking number)" in rest and "line 2 x 1" in rest
    assert listed.count(f"of order {order_id}") == 3
    assert stored_order(factory, "#2001").status == "shipped"
    with transaction(factory) as s:
        assert [(f.on_hand, f.reserved) for f in inventory.stock_of(s, "SKU-1")] == [(8, 0)]
        assert [(f.on_hand, f.reserved) for f in inventory.stock_of(s, "SKU-2")] == [(4, 0)]


def test_track_a_parcel_and_record_its_delivery(cli: Cli, factory: sessionmaker[Session]) -> None:
    setup_catalog(factory, {"SKU-1": 10})
    ingest_batch(factory, [order(("SKU-1", 1), external_id="#2002")])
    order_id = stored_order(factory, "#2002").id
    parcel_id = cli("ship", str(order_id), "--tracking", "TRK-9").stdout.split()[1]

    empty = cli("shipments", "track", parcel_id).stdout
    delivered = cli("shipments", "track", parcel_id, "--record", "delivered", "--note", "signed by J").stdout
    unknown = cli("shipments", "track", parcel_id, "--record", "lost", code=2)
    missing = cli("shipments", "track", "999999", code=1)

    assert f"Shipment {parcel_id}: shipped" in empty
    assert f"Shipment {parcel_id}: delivered" in delivered
    assert "signed by J" in delivered
    assert "lost" in unknown.output
    assert "no shipment 999999" in missing.stderr
    assert stored_order(factory, "#2002").status == "delivered"
