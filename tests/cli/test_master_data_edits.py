"""``orderly product edit|delete`` and ``orderly warehouse edit|delete``, refusals included."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from orderly.catalog.models import Product
from orderly.core.db import transaction
from orderly.inventory.models import Warehouse
from tests.cli.conftest import Cli
from tests.factories import setup_catalog


def test_product_edit_sets_and_clears_fields_and_a_presale_date(
    cli: Cli, factory: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    setup_catalog(factory)
    monkeypatch.setenv("ORDERLY_TIMEZONE", "Europe/Berlin")

    edited = cli(
        "product",
        "edit",
        "SKU-1",
        "--name",
        "Blue mug",
        "--category",
        "mugs",
        "--presale-until",
        "2027-03-01",
    )
    cleared = cli("product", "edit", "SKU-1", "--category", "", "--no-presale")
    nothing = cli("product", "edit", "SKU-1", code=1)
    bad_date = cli("product", "edit", "SKU-1", "--presale-until", "soon", code=2)

    assert edited.stdout.strip() == "Product 'SKU-1' updated: Blue mug, presale until 2027-02-28 23:00 UTC."
    assert cleared.stdout.strip() == "Product 'SKU-1' updated: Blue mug."
    assert "nothing to change" in nothing.stderr
    assert "soon" in bad_date.stderr
    with transaction(factory) as s:
        product = s.scalars(select(Product).where(Product.sku == "SKU-1")).one()
        assert (product.name, product.category, product.presale_until) == ("Blue mug", None, None)


def test_product_delete_refuses_with_why(cli: Cli, factory: sessionmaker[Session]) -> None:
    setup_catalog(factory, {"SKU-1": 1})

    cli("product", "delete", "SKU-3")
    refused = cli("product", "delete", "SKU-2", code=1)

    assert refused.stderr.strip() == "product 'SKU-2' cannot be deleted: it is a component of bundle(s) KIT-1"
    with transaction(factory) as s:
        assert "SKU-3" not in s.scalars(select(Product.sku)).all()


def test_warehouse_edit_and_delete(cli: Cli, factory: sessionmaker[Session]) -> None:
    setup_catalog(factory, {"SKU-1": 1}, warehouses=2)

    edited = cli("warehouse", "edit", "WH-2", "--name", "Overflow", "--priority", "50", "--inactive")
    refused = cli("warehouse", "delete", "WH-1", code=1)
    cli("warehouse", "delete", "WH-2")

    assert edited.stdout.strip() == "Warehouse 'WH-2' updated: Overflow, priority 50, inactive."
    assert "cannot be deleted: it has stock records (and their ledger) of SKU-1" in refused.stderr
    with transaction(factory) as s:
        assert s.scalars(select(Warehouse.code)).all() == ["WH-1"]
