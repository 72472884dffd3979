"""SKU mappings through the CLI: each listing's location, platform ids and fulfilment, edits, deletion
refused with why, and the last figure each listing was told."""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker

from orderly.channels import service as shops
from orderly.channels.models import ListingBinding
from orderly.core.db import insert_rows, transaction
from orderly.orders.ingest import ingest_batch
from tests.cli.conftest import Cli, rows
from tests.factories import order


def _setup(cli: Cli) -> None:
    cli("shop", "add", "web", "--name", "Web", "--channel", "shopify")
    cli("shop", "add", "amz", "--name", "Amazon", "--channel", "amazon")
    cli("product", "add", "MUG", "--name", "Mug")
    cli("product", "add", "CUP", "--name", "Cup")


def test_a_listing_gets_its_location_ids_and_fulfilment(cli: Cli) -> None:
    _setup(cli)

    added = cli(
        "mapping",
        "add",
        "--shop",
        "web",
        "--sku",
        "MUG",
        "--listing-id",
        "1001",
        "--location",
        "487838322",
        "--platform-id",
        "inventory_item_id=808950810",
    ).stdout
    assert "Its stock is pushed to location 487838322 (its own)." in added
    fba = cli(
        "mapping",
        "add",
        "--shop",
        "amz",
        "--sku",
        "MUG",
        "--platform-sku",
        "MUG-FBA",
        "--fulfilled-by",
        "platform",
    )
    assert "no figure is ever pushed to it" in fba.stdout

    listing = cli("mapping", "list").stdout
    assert rows(listing, "1") == [["1", "web", "", "1001", "MUG", "487838322", "merchant", "", "", ""]]
    assert rows(listing, "2") == [["2", "amz", "MUG-FBA", "", "MUG", "", "platform", "", "", ""]]
    shown = cli("mapping", "show", "1").stdout
    assert "inventory_item_id=808950810" in shown

    refused = cli(
        "mapping", "add", "--shop", "amz", "--sku", "CUP", "--platform-sku", "CUP", "--location", "DE", code=1
    )
    assert "amazon listings have no location" in refused.stderr
    malformed = cli(
        "mapping",
        "add",
        "--shop",
        "web",
        "--sku",
        "CUP",
        "--listing-id",
        "2",
        "--platform-id",
        "808950810",
        code=2,
    )
    assert "NAME=VALUE" in malformed.stderr


def test_a_mapping_is_edited_and_deleted(cli: Cli) -> None:
    _setup(cli)
    cli(
        "mapping",
        "add",
        "--shop",
        "web",
        "--sku",
        "MUG",
        "--listing-id",
        "1001",
        "--platform-id",
        "inventory_item_id=5",
    )

    edited = cli(
        "mapping",
        "edit",
        "1",
        "--sku",
        "CUP",
        "--location",
        "487838322",
        "--platform-id",
        "inventory_item_id=",
    )
    assert "Mapping 1 changed: web 1001 -> CUP." in edited.stdout
    assert rows(cli("mapping", "list").stdout, "1") == [
        ["1", "web", "", "1001", "CUP", "487838322", "merchant", "", "", ""]
    ]
    cli("mapping", "edit", "1", "--default-location", "--fulfilled-by", "platform")
    assert rows(cli("mapping", "list").stdout, "1")[0][5:7] == ["", "platform"]

    nothing = cli("mapping", "edit", "1", code=1)
    assert "nothing to change" in nothing.stderr
    unknown = cli("mapping", "edit", "9", "--sku", "MUG", code=1)
    assert "unknown SKU mapping 9" in unknown.stderr
    assert "Mapping 1 deleted." in cli("mapping", "delete", "1").stdout
    assert rows(cli("mapping", "list").stdout, "1") == []


def test_deleting_a_mapping_in_use_says_why(cli: Cli, factory: sessionmaker[Session]) -> None:
    _setup(cli)
    cli("mapping", "add", "--shop", "web", "--sku", "MUG", "--platform-sku", "mug-white")
    ingest_batch(factory, [order(("mug-white", 1), shop="web", external_id="1001")], actor="test")

    refused = cli("mapping", "delete", "1", code=1)

    assert "open orders of shop 'web' came in through it (1001)" in refused.stderr


def test_listing_the_mappings_of_a_shop_that_does_not_exist_is_refused(cli: Cli) -> None:
    _setup(cli)

    refused = cli("mapping", "list", "--shop", "wbe", code=1)

    assert "unknown shop 'wbe'" in refused.stderr


def test_the_last_figure_each_listing_was_told_is_listed(cli: Cli, factory: sessionmaker[Session]) -> None:
    _setup(cli)
    cli("mapping", "add", "--shop", "web", "--sku", "MUG", "--listing-id", "1001")
    cli("mapping", "add", "--shop", "web", "--sku", "CUP", "--listing-id", "1002")
    with transaction(factory) as s:
        shop_id = shops.get_shop(s, "web").id
        insert_rows(
            s,
            ListingBinding,
            ("shop_id", "listing_id", "data", "last_quantity", "last_error"),
            [
                (shop_id, "1001", {}, 12, None),
                (shop_id, "1002", {}, None, "no location_id in the shop's settings"),
            ],
        )

    listing = cli("mapping", "list", "--shop", "web").stdout

    assert rows(listing, "1")[0][7] == "12"
    assert rows(listing, "2")[0][7:] == ["", "", "no location_id in the shop's settings"]
