"""Stock through the CLI: movements (negative numbers included), figures, the ledger check and repair."""

from __future__ import annotations

import getpass

from sqlalchemy import select, text
from sqlalchemy.orm import Session, sessionmaker

from orderly.core.db import transaction
from orderly.inventory import service as inventory
from orderly.inventory.domain import MAX_QUANTITY
from orderly.inventory.models import StockLedgerEntry
from orderly.orders.ingest import ingest_batch
from tests.cli.conftest import Cli, rows
from tests.factories import order, setup_catalog


def _level(factory: sessionmaker[Session], sku: str = "SKU-1", warehouse: str = "WH-1") -> tuple[int, ...]:
    with transaction(factory) as s:
        (figure,) = [f for f in inventory.stock_of(s, sku) if f.warehouse == warehouse]
    return figure.on_hand, figure.reserved, figure.safety, figure.available


def test_receive_adjust_count_and_safety(cli: Cli, factory: sessionmaker[Session]) -> None:
    setup_catalog(factory)

    received = cli("stock", "receive", "SKU-1", "WH-1", "10", "--reason", "PO 17")
    assert received.stdout.strip() == "SKU-1 in WH-1: on hand 10, reserved 0, safety 0, available 10"
    cli("stock", "adjust", "SKU-1", "WH-1", "-3", "--reason", "broken in transit")
    assert _level(factory) == (7, 0, 0, 7)
    cli("stock", "adjust", "SKU-1", "WH-1", "--reason", "lost", "-2")
    cli("stock", "adjust", "SKU-1", "WH-1", "--", "-1")
    assert _level(factory) == (4, 0, 0, 4)
    cli("stock", "adjust", "SKU-1", "WH-1", "6")
    assert _level(factory) == (10, 0, 0, 10)
    cli("stock", "count", "SKU-1", "WH-1", "8")
    cli("stock", "safety", "SKU-1", "WH-1", "3")
    assert _level(factory) == (8, 0, 3, 5)

    with transaction(factory) as s:
        ledger = s.execute(
            select(
                StockLedgerEntry.kind,
                StockLedgerEntry.on_hand_delta,
                StockLedgerEntry.actor,
                StockLedgerEntry.reason,
            ).order_by(StockLedgerEntry.id)
        ).all()
    actor = f"cli:{getpass.getuser()}"
    assert [tuple(row) for row in ledger] == [
        ("receipt", 10, actor, "PO 17"),
        ("adjustment", -3, actor, "broken in transit"),
        ("adjustment", -2, actor, "lost"),
        ("adjustment", -1, actor, None),
        ("adjustment", 6, actor, None),
        ("count", -2, actor, None),
        ("safety", 0, actor, None),
    ]


def test_refused_movements_change_nothing(cli: Cli, factory: sessionmaker[Session]) -> None:
    setup_catalog(factory, {"SKU-1": 5})
    ingest_batch(factory, [order(("SKU-1", 4))])  # reserves 4 of the 5
    assert _level(factory) == (5, 4, 0, 1)

    too_many = cli("stock", "adjust", "SKU-1", "WH-1", "-2", code=1)
    assert "would leave 3 on hand but 4 is reserved" in too_many.stderr
    assert "below the 4 reserved" in cli("stock", "count", "SKU-1", "WH-1", "3", code=1).stderr
    assert "must be positive, got -5" in cli("stock", "receive", "SKU-1", "WH-1", "-5", code=1).stderr
    assert "unknown SKU 'NOPE'" in cli("stock", "receive", "NOPE", "WH-1", "1", code=1).stderr
    assert "unknown warehouse 'WH-9'" in cli("stock", "receive", "SKU-1", "WH-9", "1", code=1).stderr
    assert "is a bundle" in cli("stock", "receive", "KIT-1", "WH-1", "1", code=1).stderr
    cli("stock", "adjust", "SKU-1", "WH-1", "-2x", code=2)

    assert _level(factory) == (5, 4, 0, 1)
    with transaction(factory) as s:
        assert len(s.scalars(select(StockLedgerEntry.id)).all()) == 2  # the receipt and the reservation


def test_stock_beyond_the_bound_is_refused_and_the_ledger_still_matches(
    cli: Cli, factory: sessionmaker[Session]
) -> None:
    setup_catalog(factory)

    huge = cli("stock", "receive", "SKU-1", "WH-1", str(2**63 - 1), code=1)
    assert "a warehouse holds at most 1,000,000,000 units of a SKU" in huge.stderr
    cli("stock", "count", "SKU-1", "WH-1", str(MAX_QUANTITY - 1))
    beyond = cli("stock", "receive", "SKU-1", "WH-1", "2", code=1)
    assert "would leave on hand 1,000,000,001" in beyond.stderr
    assert "at most 1,000,000,000" in cli("stock", "adjust", "SKU-1", "WH-1", "2", code=1).stderr
    assert "at most 1,000,000,000" in cli("stock", "safety", "SKU-1", "WH-1", str(2**64), code=1).stderr
    cli("stock", "receive", "SKU-1", "WH-1", "1")  # up to the bound itself

    assert _level(factory) == (MAX_QUANTITY, 0, 0, MAX_QUANTITY)
    assert "All stock levels match the ledger" in cli("stock", "verify").stdout


def test_show_lists_every_warehouse_and_a_total(cli: Cli, factory: sessionmaker[Session]) -> None:
    setup_catalog(factory, {"SKU-1": 10}, warehouses=2)
    cli("stock", "receive", "SKU-1", "WH-2", "7")
    cli("stock", "safety", "SKU-1", "WH-2", "2")
    ingest_batch(factory, [order(("SKU-1", 3))])

    shown = cli("stock", "show", "SKU-1").stdout

    assert rows(shown, "WH-1") == [["WH-1", "10", "3", "0", "7", "0"]]
    assert rows(shown, "WH-2") == [["WH-2", "7", "0", "2", "5", "0"]]
    assert rows(shown, "total") == [["total", "17", "3", "2", "12", "0"]]
    assert "No stock recorded for 'SKU-3'" in cli("stock", "show", "SKU-3").stdout
    assert "unknown SKU 'NOPE'" in cli("stock", "show", "NOPE", code=1).stderr


def test_verify_finds_an_injected_drift_and_repair_fixes_it(cli: Cli, factory: sessionmaker[Session]) -> None:
    setup_catalog(factory, {"SKU-1": 10, "SKU-2": 4})
    ingest_batch(factory, [order(("SKU-1", 2))])
    assert "All stock levels match the ledger" in cli("stock", "verify").stdout

    with transaction(factory) as s:
        s.execute(
            text(
                "UPDATE stock_levels SET on_hand = on_hand + 5, safety = 1 "
                "WHERE product_id = (SELECT id FROM products WHERE sku = 'SKU-1')"
            )
        )
    found = cli("stock", "verify", code=1)

    assert rows(found.stdout, "SKU-1") == [["SKU-1", "WH-1", "15/2/1", "10/2/0"]]
    assert not rows(found.stdout, "SKU-2")
    assert "1 stock level(s) differ from the ledger" in found.stderr
    assert _level(factory) == (15, 2, 1, 12)  # looking does not touch

    repaired = cli("stock", "verify", "--repair")
    assert "Repaired 1 stock level(s)" in repaired.stdout
    assert _level(factory) == (10, 2, 0, 8)
    assert _level(factory, "SKU-2") == (4, 0, 0, 4)
    assert "All stock levels match the ledger" in cli("stock", "verify").stdout


def test_a_repair_the_ledger_cannot_fill_says_why_and_exits_1(
    cli: Cli, factory: sessionmaker[Session]
) -> None:
    setup_catalog(factory, {"SKU-1": 10})
    with transaction(factory) as s:  # 3 units the hub never had, then reserved by an order
        s.execute(text("UPDATE stock_levels SET on_hand = on_hand + 3"))
    ingest_batch(factory, [order(("SKU-1", 12))])

    kept = cli("stock", "verify", "--repair", code=1)

    assert rows(kept.stdout, "SKU-1") == [["SKU-1", "WH-1", "13/12/0", "10/12/0"]]
    assert "SKU-1 in WH-1: the ledger has 12 reserved but 10 on hand" in kept.stderr
    assert "1 stock level(s) left as they are" in kept.stderr
    assert "Repaired" not in kept.stdout
    assert _level(factory) == (13, 12, 0, 1)
