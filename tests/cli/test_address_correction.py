"""``orderly orders address``: a person corrects an order's address; it is reviewed again."""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker

from orderly.orders.ingest import ingest_batch
from tests.cli.conftest import Cli
from tests.factories import order, setup_catalog, stored_order


def test_orders_address_corrects_and_releases(cli: Cli, factory: sessionmaker[Session]) -> None:
    setup_catalog(factory, {"SKU-1": 5})
    address = {
        "name": "Ada",
        "line1": "1 Cross St.",
        "city": "Canton",
        "postal_code": "ABCDE",
        "country": "US",
    }
    ingest_batch(factory, [order(("SKU-1", 1), external_id="X1", shipping_address=address)], actor="test")
    held = stored_order(factory, "X1")

    done = cli("orders", "address", str(held.id), "--postal-code", "48817", "--note", "called the buyer")
    nothing = cli("orders", "address", str(held.id), code=1)
    bad = cli("orders", "address", str(held.id), "--country", "Germany", code=1)

    assert (
        done.stdout.strip() == f"Order {held.id}: address corrected and reviewed again; it is now allocated."
    )
    assert "nothing to correct" in nothing.stderr
    assert "country" in bad.stderr
    shown = cli("orders", "show", str(held.id)).stdout
    assert "address corrected: postal_code: 'ABCDE' -> '48817' (called the buyer)" in shown
    assert stored_order(factory, "X1").ship_postal_code == "48817"
