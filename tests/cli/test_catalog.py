"""Shops, products, bundles, warehouses and mappings through the CLI, and how refusals are reported."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from orderly.catalog import service as catalog
from orderly.channels.models import Shop
from orderly.core.db import transaction
from orderly.inventory.models import Warehouse
from tests.cli.conftest import Cli, rows


def test_shops(cli: Cli, factory: sessionmaker[Session]) -> None:
    cli("shop", "add", "amazon-de", "--name", "Amazon DE", "--channel", "amazon")
    cli("shop", "add", "web", "--name", "Web shop", "--channel", "shopify")

    with transaction(factory) as s:
        shops = [(x.code, x.name, x.channel) for x in s.scalars(select(Shop).order_by(Shop.id))]
    assert shops == [("amazon-de", "Amazon DE", "amazon"), ("web", "Web shop", "shopify")]
    listing = cli("shop", "list").stdout
    assert rows(listing, "1") == [["1", "amazon-de", "Amazon DE", "amazon", "ok"]]
    assert rows(listing, "2") == [["2", "web", "Web shop", "shopify", "ok"]]


def test_refusals_are_red_messages_with_exit_code_1(cli: Cli, factory: sessionmaker[Session]) -> None:
    cli("shop", "add", "web", "--name", "Web", "--channel", "shopify")

    duplicate = cli("shop", "add", "web", "--name", "Again", "--channel", "shopify", code=1)
    assert duplicate.stderr.strip() == "shop 'web' already exists"
    assert duplicate.stdout == ""
    invalid = cli("shop", "add", "Web Shop", "--name", "x", "--channel", "manual", code=1)
    assert invalid.stderr.startswith("invalid code: String should match pattern")
    with transaction(factory) as s:
        assert s.scalars(select(Shop.name)).all() == ["Web"]


def test_products_and_bundles(cli: Cli, factory: sessionmaker[Session]) -> None:
    cli("product", "add", "MUG", "--name", "Mug", "--category", "kitchen", "--barcode", "4006381333931")
    cli("product", "add", "LID", "--name", "Lid", "--weight-g", "40")
    result = cli(
        "bundle", "add", "MUG-SET", "--name", "Mug set", "--component", "MUG:2", "--component", "LID"
    )

    assert "2 x MUG" in result.stdout
    with transaction(factory) as s:
        mug = catalog.get_product(s, "MUG")
        lid = catalog.get_product(s, "LID")
        bundle = catalog.get_product(s, "MUG-SET")
    assert (mug.category, mug.barcode, mug.weight_g, mug.is_bundle) == (
        "kitchen",
        "4006381333931",
        None,
        False,
    )
    assert lid.weight_g == 40
    assert bundle.is_bundle
    assert [(c.sku, c.quantity) for c in bundle.components] == [("LID", 1), ("MUG", 2)]
    listing = cli("product", "list").stdout
    assert rows(listing, "1") == [["1", "MUG", "Mug", "product", "kitchen", "4006381333931", ""]]
    assert rows(listing, "3") == [["3", "MUG-SET", "Mug set", "bundle", "", "", ""]]


def test_bundle_refusals(cli: Cli, factory: sessionmaker[Session]) -> None:
    cli("product", "add", "MUG", "--name", "Mug")

    unknown = cli(
        "bundle", "add", "SET", "--name", "Set", "--component", "MUG:1", "--component", "CUP:2", code=1
    )
    assert "unknown component SKU(s): CUP" in unknown.stderr
    malformed = cli("bundle", "add", "SET", "--name", "Set", "--component", "MUG:two", code=2)
    assert "'MUG:two' is not SKU:QTY" in malformed.output
    with transaction(factory) as s:
        assert len(catalog.list_products(s)) == 1


def test_product_list_says_when_rows_are_left_out(cli: Cli) -> None:
    for n in range(3):
        cli("product", "add", f"SKU-{n}", "--name", f"Product {n}")

    listing = cli("product", "list", "--limit", "2").stdout

    assert rows(listing, "2") and not rows(listing, "3")
    assert "Showing the first 2 products" in listing


def test_warehouses(cli: Cli, factory: sessionmaker[Session]) -> None:
    cli(
        "warehouse", "add", "WH-DE", "--name", "Berlin", "--kind", "3pl", "--country", "de", "--priority", "5"
    )
    cli("warehouse", "add", "WH-US", "--name", "Ohio")

    with transaction(factory) as s:
        stored = [
            (w.code, w.kind, w.country, w.priority)
            for w in s.scalars(select(Warehouse).order_by(Warehouse.id))
        ]
    assert stored == [("WH-DE", "3pl", "DE", 5), ("WH-US", "own", None, 100)]
    listing = cli("warehouse", "list").stdout
    assert rows(listing, "1") == [["1", "WH-DE", "Berlin", "3pl", "DE", "5", "yes", "no"]]
    bad = cli("warehouse", "add", "WH-X", "--name", "X", "--country", "XX", code=1)
    assert "invalid country" in bad.stderr


def test_mappings(cli: Cli, factory: sessionmaker[Session]) -> None:
    cli("shop", "add", "web", "--name", "Web", "--channel", "shopify")
    cli("shop", "add", "ebay", "--name", "eBay", "--channel", "ebay")
    cli("product", "add", "MUG", "--name", "Mug")
    cli("mapping", "add", "--shop", "web", "--sku", "MUG", "--platform-sku", "mug-white")
    cli("mapping", "add", "--shop", "ebay", "--sku", "MUG", "--listing-id", "1234567")

    with transaction(factory) as s:
        mappings = [(m.shop, m.platform_sku, m.listing_id, m.sku) for m in catalog.list_mappings(s)]
    assert mappings == [("web", "mug-white", None, "MUG"), ("ebay", None, "1234567", "MUG")]
    ebay_only = cli("mapping", "list", "--shop", "ebay").stdout
    assert rows(ebay_only, "2") == [["2", "ebay", "", "1234567", "MUG", "", "merchant", "", "", ""]]
    assert not rows(ebay_only, "1")

    neither = cli("mapping", "add", "--shop", "web", "--sku", "MUG", code=1)
    assert "needs a platform_sku, a listing_id or both" in neither.stderr
    unknown = cli("mapping", "add", "--shop", "nope", "--sku", "MUG", "--platform-sku", "x", code=1)
    assert "unknown shop 'nope'" in unknown.stderr
