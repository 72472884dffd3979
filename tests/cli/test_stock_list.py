"""``orderly stock list``: every SKU with what it can sell, a bundle's from its components."""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker

from tests.cli.conftest import Cli, rows
from tests.factories import setup_catalog


def test_stock_list_shows_every_sku_and_a_bundles_sellable_figure(
    cli: Cli, factory: sessionmaker[Session]
) -> None:
    setup_catalog(factory, {"SKU-1": 7, "SKU-2": 2})

    listed = cli("stock", "list").stdout
    first = cli("stock", "list", "--limit", "1").stdout

    assert rows(listed, "SKU-1") == [["SKU-1", "Product 1", "product", "7", "0", "0", "7", "0", "WH-1 7"]]
    assert rows(listed, "KIT-1") == [["KIT-1", "Kit", "bundle", "0", "0", "0", "2", "0", ""]]
    assert rows(listed, "SKU-3") == [["SKU-3", "Product 3", "product", "0", "0", "0", "0", "0", ""]]
    assert rows(first, "SKU-2") == [] and "use --limit" in first
