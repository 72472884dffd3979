"""``orderly pack``: scan to pack from the command line, codes read line by line from stdin as a
keyboard-wedge scanner types them, or given as arguments; as over the API."""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker

from orderly.core.db import transaction
from orderly.fulfilment import service
from orderly.fulfilment.schemas import ShipmentIn
from orderly.inventory import service as inventory
from orderly.orders.ingest import ingest_batch
from tests.cli.conftest import Cli, rows
from tests.factories import order, setup_catalog, stored_order


def _parcel(cli: Cli, factory: sessionmaker[Session], number: str, *lines: tuple[str, int]) -> int:
    ingest_batch(factory, [order(*lines, external_id=number)])
    order_id = stored_order(factory, number).id
    with transaction(factory) as s:
        return service.create_shipment(s, order_id, ShipmentIn(), actor="t").id


def test_a_scanner_on_stdin_packs_a_parcel_and_refusals_do_not_stop_it(
    cli: Cli, factory: sessionmaker[Session]
) -> None:
    setup_catalog(factory, {"SKU-1": 10, "SKU-2": 10})
    cli("product", "edit", "SKU-1", "--barcode", "4006381333931")
    parcel = _parcel(cli, factory, "#9001", ("SKU-1", 2), ("KIT-1", 1))
    codes = [f"SHP-{parcel}\r", "4006381333931", "", "SKU-3", "KIT-1", "sku-1", f"SHP-{parcel}"]
    typed = "\n".join([*codes, "SKU-2", "4006381333931", "SKU-1", "SKU-2", ""])

    result = cli("pack", input=typed)

    assert f"OK packing shipment {parcel} of order #9001: 5 units to scan" in result.stdout
    assert "OK SKU-1: 1 of 4" in result.stdout
    assert (
        "REFUSED SKU-3: wrong item: SKU-3 is not in this parcel; it holds 4 x SKU-1, 1 x SKU-2"
        in result.stderr
    )
    assert "REFUSED KIT-1: KIT-1 is a bundle" in result.stderr
    assert f"REFUSED SHP-{parcel}: shipment {parcel} is not complete: SKU-1: 2 of 4 scanned, 2 missing" in (
        result.stderr.replace("\n", " ").replace("  ", " ")
    )
    assert "is packed: it waits for the carrier or your confirmation" in result.stdout
    assert "REFUSED SKU-2: shipment" in result.stderr and "packed already" in result.stderr
    with transaction(factory) as s:
        assert [(f.on_hand, f.reserved) for f in inventory.stock_of(s, "SKU-1")] == [(10, 4)]


def test_codes_as_arguments_stop_at_the_first_refusal_and_show_and_reset(
    cli: Cli, factory: sessionmaker[Session]
) -> None:
    setup_catalog(factory, {"SKU-1": 10, "SKU-2": 10})
    cli("warehouse", "edit", "WH-1", "--ship-on-pack")
    parcel = _parcel(cli, factory, "#9101", ("SKU-1", 2))
    other = _parcel(cli, factory, "#9102", ("SKU-2", 1))

    refused = cli("pack", "--shipment", str(parcel), "SKU-1", "SKU-2", "SKU-1", code=1)
    shown = cli("pack", "--shipment", str(parcel), "--show").stdout
    assert rows(cli("pack", "--show").stdout, "SKU-1") == rows(shown, "SKU-1")  # the parcel I pack
    reset = cli("pack", "--shipment", str(parcel), "--reset").stdout
    needs_parcel = cli("pack", "--reset", code=1)
    cli("pack", "--shipment", str(2**63), "--show", code=2)  # a usage error, not a crash
    packed = cli("pack", "--packer", "table 2", "#9102", "SKU-2").stdout
    done = cli("pack", "--shipment", str(parcel), "SKU-1", "SKU-1").stdout

    assert "OK SKU-1: 1 of 2" in refused.stdout
    assert "REFUSED SKU-2: wrong item" in refused.stderr
    assert refused.stdout.count("OK") == 1  # the third code was not scanned
    assert rows(shown, "SKU-1")[0][-2:] == ["1", "2"]
    assert rows(reset, "SKU-1")[0][-2:] == ["0", "2"]
    assert "--reset needs --shipment" in needs_parcel.stderr
    assert f"shipment {other} is packed and shipped" in packed
    assert f"shipment {parcel} is packed and shipped" in done
    assert "packed parcels wait to be shipped" in cli("warehouse", "edit", "WH-1", "--ship-on-confirm").stdout
    with transaction(factory) as s:
        assert [(f.on_hand, f.reserved) for f in inventory.stock_of(s, "SKU-1")] == [(8, 0)]
