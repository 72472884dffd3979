"""``orderly transfers``: create, list, show, ship, receive and cancel from the command line, with
the same rules and refusals as the API."""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker

from orderly.core.db import transaction
from orderly.inventory import service as inventory
from tests.cli.conftest import Cli, rows
from tests.factories import setup_catalog


def _figures(factory: sessionmaker[Session], sku: str) -> dict[str, tuple[int, int, int]]:
    with transaction(factory) as s:
        return {f.warehouse: (f.on_hand, f.reserved, f.in_transit) for f in inventory.stock_of(s, sku)}


def test_a_transfer_from_creation_to_a_short_close(cli: Cli, factory: sessionmaker[Session]) -> None:
    setup_catalog(factory, {"SKU-1": 10, "SKU-2": 5}, warehouses=2)

    created = cli("transfers", "create", "WH-1", "WH-2", "SKU-1=8", "SKU-2=1", "--reference", "PO-77").stdout
    assert "Transfer 1 WH-1 -> WH-2: created (PO-77)" in created
    assert rows(created, "SKU-1") == [["SKU-1", "8", "0", "0", "0", ""]]
    assert _figures(factory, "SKU-1") == {"WH-1": (10, 8, 0)}

    shipped = cli("transfers", "ship", "1", "--note", "truck 4").stdout
    assert ": shipped (PO-77)" in shipped
    assert rows(shipped, "SKU-1") == [["SKU-1", "8", "0", "0", "8", ""]]
    assert "created -> shipped" in shipped and "truck 4" in shipped
    assert _figures(factory, "SKU-1") == {"WH-1": (2, 0, 0), "WH-2": (0, 0, 8)}
    stock = cli("stock", "show", "SKU-1").stdout
    assert rows(stock, "WH-2")[0][-1] == "8"  # the in-transit column

    part = cli("transfers", "receive", "1", "SKU-1=5").stdout
    assert ": partly_received" in part
    assert rows(part, "SKU-1") == [["SKU-1", "8", "5", "0", "3", ""]]

    short = cli("transfers", "receive", "1", "SKU-1=2", "--close", code=1)
    assert "a difference needs a reason" in short.stderr and "SKU-1 short 1; SKU-2 short 1" in short.stderr

    closed = cli("transfers", "receive", "1", "SKU-1=2", "--close", "--reason", "crushed").stdout
    assert ": received" in closed
    assert rows(closed, "SKU-1") == [["SKU-1", "8", "7", "1", "0", "short 1: crushed"]]
    assert rows(closed, "SKU-2") == [["SKU-2", "1", "0", "1", "0", "short 1: crushed"]]
    assert _figures(factory, "SKU-1") == {"WH-1": (2, 0, 0), "WH-2": (7, 0, 0)}
    assert "All stock levels match the ledger." in cli("stock", "verify").stdout

    shown = cli("transfers", "show", "1").stdout
    assert "shipped -> partly_received" in shown and "received SKU-1 x 5" in shown
    assert "partly_received -> received" in shown and "SKU-2 short 1: crushed" in shown


def test_listing_filters_and_cancelling(cli: Cli, factory: sessionmaker[Session]) -> None:
    setup_catalog(factory, {"SKU-1": 10, "SKU-2": 5}, warehouses=2)
    cli("transfers", "create", "WH-1", "WH-2", "SKU-1=3")
    cli("transfers", "create", "WH-1", "WH-2", "SKU-2=2", "--note", "samples")
    cli("transfers", "ship", "1")

    listed = cli("transfers", "list").stdout
    assert rows(listed, "2")[0][:6] == ["2", "WH-1", "WH-2", "created", "2", "0"]
    assert rows(listed, "1")[0][:6] == ["1", "WH-1", "WH-2", "shipped", "3", "3"]
    assert [r[0] for r in rows(cli("transfers", "list", "--status", "created").stdout, "2")] == ["2"]
    assert "No transfers." in cli("transfers", "list", "--sku", "SKU-3").stdout

    cancelled = cli("transfers", "cancel", "2", "--reason", "season moved").stdout
    assert ": cancelled" in cancelled and "season moved" in cancelled
    assert _figures(factory, "SKU-2") == {"WH-1": (5, 0, 0)}


def test_refusals_are_red_messages_never_tracebacks(cli: Cli, factory: sessionmaker[Session]) -> None:
    setup_catalog(factory, {"SKU-1": 10}, warehouses=2)

    assert "SKU=QUANTITY" in cli("transfers", "create", "WH-1", "WH-2", "SKU-1", code=2).output
    assert "SKU=QUANTITY" in cli("transfers", "create", "WH-1", "WH-2", "SKU-1=-2", code=2).output
    assert "unknown warehouse 'NOPE'" in cli("transfers", "create", "NOPE", "WH-2", "SKU-1=1", code=1).stderr
    assert "another warehouse" in cli("transfers", "create", "WH-1", "WH-1", "SKU-1=1", code=1).stderr
    assert "is a bundle" in cli("transfers", "create", "WH-1", "WH-2", "KIT-1=1", code=1).stderr
    assert (
        "SKU-1: 11 to transfer, 10 available"
        in cli("transfers", "create", "WH-1", "WH-2", "SKU-1=11", code=1).stderr
    )
    assert "no transfer 9" in cli("transfers", "ship", "9", code=1).stderr
    made = cli("transfers", "create", "WH-1", "WH-2", "SKU-1=1").stdout.split()[1]  # refused ones took ids
    assert "cannot go from created to received" in cli("transfers", "receive", made, "SKU-1=1", code=1).stderr
    assert "invalid reason" in cli("transfers", "cancel", made, "--reason", "", code=1).stderr
    assert "'lost' is not one of" in cli("transfers", "list", "--status", "lost", code=2).output
