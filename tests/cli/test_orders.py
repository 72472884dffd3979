"""``orderly orders list|show|cancel|rebuild-figures``: find orders by filters and search, read one,
cancel one, count the home page's figures again."""

from __future__ import annotations

from sqlalchemy import delete
from sqlalchemy.orm import Session, sessionmaker

from orderly.core.db import transaction
from orderly.inventory import service as inventory
from orderly.orders.ingest import ingest_batch
from orderly.orders.models import OrderFigure
from tests.cli.conftest import Cli, rows
from tests.factories import figures_recounted, order, setup_catalog, stored_order


def _orders(factory: sessionmaker[Session]) -> None:
    """Three orders on 11 November between 00:00 and 02:00 UTC (the evening before, in New York)."""
    setup_catalog(factory, {"SKU-1": 10, "SKU-2": 10, "SKU-3": 1})
    ingest_batch(
        factory,
        [
            order(("SKU-1", 2), external_id="#1001", buyer={"name": "Zoë Müller", "email": "zoe@ex.com"}),
            order(("SKU-3", 5), external_id="#1002", placed=3600),  # too few: held for stock
            order(("B-ONE", 1), shop="shop-b", external_id="B-77", placed=7200, buyer={"name": "Li Wei"}),
        ],
        actor="test",
    )


def test_list_filters_by_status_shop_search_and_dates(cli: Cli, factory: sessionmaker[Session]) -> None:
    _orders(factory)
    first = stored_order(factory, "#1001")

    every = cli("orders", "list").stdout
    held = cli("orders", "list", "--status", "on_hold").stdout
    of_shop = cli("orders", "list", "--shop", "shop-b").stdout
    found = cli("orders", "list", "--q", "müller").stdout
    by_day_utc = cli("orders", "list", "--to", "2026-11-10").stdout
    by_day_new_york = cli("orders", "list", "--to", "2026-11-10", "--tz", "America/New_York").stdout
    from_hour = cli("orders", "list", "--from", "2026-11-11T01:00:00+00:00", "--limit", "1").stdout

    assert rows(every, str(first.id)) == [
        [str(first.id), "shop-a", "#1001", "allocated", "Zoë Müller", "44.97 USD", "2026-11-11 00:00 UTC", ""]
    ]
    assert {line.split("│")[3].strip() for line in every.splitlines() if "│" in line and "USD" in line} == {
        "#1001",
        "#1002",
        "B-77",
    }
    assert "#1002" in held and "#1001" not in held and "out_of_stock" in held
    assert "B-77" in of_shop and "#100" not in of_shop
    assert "#1001" in found and "#1002" not in found and "B-77" not in found
    assert "#100" not in by_day_utc and "B-77" not in by_day_utc
    assert all(code in by_day_new_york for code in ("#1001", "#1002", "B-77"))
    assert "B-77" in from_hour and "#1002" not in from_hour and "use --limit" in from_hour


def test_list_reads_plain_dates_in_the_shops_zone(cli: Cli, factory: sessionmaker[Session]) -> None:
    _orders(factory)
    cli("shop", "connect", "shop-a", "--setting", "timezone=America/New_York")

    of_shop = cli("orders", "list", "--shop", "shop-a", "--to", "2026-11-10").stdout
    every = cli("orders", "list", "--to", "2026-11-10").stdout

    assert "#1001" in of_shop and "#1002" in of_shop
    assert "#100" not in every


def test_list_refuses_bad_filter_values(cli: Cli, factory: sessionmaker[Session]) -> None:
    _orders(factory)

    zone = cli("orders", "list", "--tz", "Mars/Olympus", code=2)
    day = cli("orders", "list", "--from", "2026-13-01", code=2)
    status = cli("orders", "list", "--status", "lost", code=2)

    assert "Mars/Olympus" in zone.stderr and "time zone" in zone.stderr
    assert "2026-13-01" in day.stderr
    assert "lost" in status.stderr


def test_list_refuses_a_shop_that_does_not_exist(cli: Cli, factory: sessionmaker[Session]) -> None:
    _orders(factory)

    refused = cli("orders", "list", "--shop", "shop-typo", code=1)

    assert "unknown shop 'shop-typo'" in refused.stderr


def test_show_prints_the_order_its_lines_holds_and_history(cli: Cli, factory: sessionmaker[Session]) -> None:
    _orders(factory)
    held = stored_order(factory, "#1002")

    shown = cli("orders", "show", str(held.id)).stdout
    missing = cli("orders", "show", "999999", code=1)

    assert f"Order {held.id}: shop-a #1002, on_hold" in shown
    assert "Buyer: Ada Buyer" in shown
    assert "Canton" in shown and "US" in shown
    assert "SKU-3" in shown and "19.99 USD" in shown
    assert "Held (out_of_stock): out of stock: SKU-3 needs 5, 1 available" in shown
    assert "imported" in shown
    assert "no order 999999" in missing.stderr


def test_show_prints_the_shipments_and_list_finds_the_order_by_tracking_number(
    cli: Cli, factory: sessionmaker[Session]
) -> None:
    setup_catalog(factory, {"SKU-1": 10})
    ups = {"carrier": "UPS", "tracking_number": "1Z001985YW99744790", "shipped_at": "2026-11-12T14:01:51Z"}
    ingest_batch(factory, [order(external_id="#4001", shipments=[ups, {"carrier": "DHL"}])], actor="test")
    shipped = stored_order(factory, "#4001")

    shown = cli("orders", "show", str(shipped.id)).stdout
    found = cli("orders", "list", "--q", "1z001985yw99744790").stdout

    assert "Shipment: UPS 1Z001985YW99744790, sent 2026-11-12 14:01 UTC" in shown
    assert "Shipment: DHL no tracking number" in shown
    assert "#4001" in found


def test_cancel_gives_the_stock_back_and_keeps_the_reason(cli: Cli, factory: sessionmaker[Session]) -> None:
    _orders(factory)
    first = stored_order(factory, "#1001")

    done = cli("orders", "cancel", str(first.id), "--reason", "buyer asked by phone").stdout
    again = cli("orders", "cancel", str(first.id), "--reason", "twice", code=1)
    no_reason = cli("orders", "cancel", str(first.id), "--reason", "  ", code=1)

    assert done.strip() == f"Order {first.id} (#1001) cancelled; its stock is back in the pool."
    assert "cannot go from cancelled to cancelled" in again.stderr
    assert "reason" in no_reason.stderr
    with transaction(factory) as s:
        (figure,) = inventory.stock_of(s, "SKU-1")
        assert (figure.on_hand, figure.reserved) == (10, 1)  # B-77 keeps its unit
    shown = cli("orders", "show", str(first.id)).stdout
    assert "buyer asked by phone" in shown and "cancelled" in shown


def test_an_id_past_the_largest_the_database_holds_is_a_usage_error(cli: Cli) -> None:
    for command in (
        ("orders", "show"),
        ("orders", "cancel", "--reason", "x"),
        ("rejections", "discard"),
        ("rejections", "replay", "1"),
        ("jobs", "replay"),
        ("inbox", "replay", "1"),
        ("mapping", "show"),
        ("token", "revoke"),
    ):
        result = cli(*command, str(2**63), code=2)  # once a crash on SQLite
        assert "9223372036854775807" in result.output, command


def test_rebuild_figures_counts_the_home_page_figures_again(cli: Cli, factory: sessionmaker[Session]) -> None:
    _orders(factory)
    with transaction(factory) as s:
        s.execute(delete(OrderFigure))  # lost, as after a restore of the orders alone

    done = cli("orders", "rebuild-figures").stdout

    assert "counted again: 5 rows" in done  # the quarter-hours placed in, and of their import per shop
    kept, counted = figures_recounted(factory)
    assert kept == counted and sum(orders for orders, _ in kept[0].values()) == 3
