"""SKU mappings as a person keeps them, on both databases: each listing's location and platform ids
checked against its platform, whose stock it sells, edits that merge, and deletion refused while open
orders came in through the mapping."""

from __future__ import annotations

import pytest
from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from orderly.alerts.models import Alert
from orderly.alerts.service import raise_alert
from orderly.catalog import service as catalog
from orderly.catalog.schemas import MappingIn, MappingUpdate
from orderly.channels import service as shops
from orderly.channels.models import ListingBinding
from orderly.channels.schemas import ShopIn, SyncSettings
from orderly.core.db import insert_rows, transaction
from orderly.core.errors import Conflict, DomainError, NotFound
from orderly.orders.ingest import ingest_batch
from orderly.orders.service import cancel_order
from tests.factories import order, setup_catalog, stored_order


@pytest.fixture
def shopify(factory: sessionmaker[Session]) -> sessionmaker[Session]:
    """The test catalog plus Shopify shop ``web`` (default location 655441491) and Amazon shop ``amz``."""
    setup_catalog(factory)
    with transaction(factory) as s:
        settings = SyncSettings.model_validate({"location_id": 655441491})
        shops.create_shop(s, ShopIn(code="web", name="Web", channel="shopify", settings=settings))
        shops.create_shop(s, ShopIn(code="amz", name="Amazon", channel="amazon"))
    return factory


def test_a_mapping_takes_its_own_location_ids_and_fulfilment(shopify: sessionmaker[Session]) -> None:
    with transaction(shopify) as s:
        own = catalog.create_mapping(
            s,
            MappingIn(
                shop="web",
                listing_id="1001",
                sku="SKU-1",
                location="487838322",
                platform_ids={"inventory_item_id": "808950810"},
            ),
        )
        default = catalog.create_mapping(s, MappingIn(shop="web", listing_id="1002", sku="SKU-2"))
        fba = catalog.create_mapping(
            s, MappingIn(shop="amz", platform_sku="MUG-FBA", sku="SKU-1", fulfilled_by="platform")
        )

    assert (own.location, own.effective_location, own.platform_ids) == (
        "487838322",
        "487838322",
        {"inventory_item_id": "808950810"},
    )
    assert (default.location, default.effective_location, default.fulfilled_by) == (
        None,
        "655441491",
        "merchant",
    )
    assert (fba.fulfilled_by, fba.location, fba.effective_location) == ("platform", None, None)


@pytest.mark.parametrize(
    ("shop", "location", "platform_ids", "field", "says"),
    [
        ("web", "Main warehouse", {}, "location", "is not a Shopify location id"),
        (
            "web",
            None,
            {"variant_id": "1"},
            "platform_ids",
            "unknown platform id(s) variant_id; shopify knows: inventory_item_id",
        ),
        (
            "web",
            None,
            {"inventory_item_id": "gid://shopify/InventoryItem/1"},
            "platform_ids",
            "is not a Shopify id",
        ),
        ("amz", "DE", {}, "location", "amazon listings have no location"),
        ("amz", None, {"asin": "B0X"}, "platform_ids", "amazon knows: none"),
        ("shop-a", "LOC", {}, "location", "has no connector"),
    ],
)
def test_a_location_or_platform_id_the_platform_would_not_understand_is_refused(
    shopify: sessionmaker[Session],
    shop: str,
    location: str | None,
    platform_ids: dict[str, str],
    field: str,
    says: str,
) -> None:
    with pytest.raises(DomainError) as refused, transaction(shopify) as s:
        catalog.create_mapping(
            s, MappingIn(shop=shop, listing_id="1", sku="SKU-1", location=location, platform_ids=platform_ids)
        )

    assert refused.value.field == field and says in refused.value.message


def test_an_edit_changes_only_what_it_names_and_merges_platform_ids(shopify: sessionmaker[Session]) -> None:
    with transaction(shopify) as s:
        mapping_id = catalog.create_mapping(
            s,
            MappingIn(
                shop="web",
                listing_id="1001",
                sku="SKU-1",
                location="487838322",
                platform_ids={"inventory_item_id": "1"},
            ),
        ).id

    with transaction(shopify) as s:
        sku_only = catalog.update_mapping(s, mapping_id, MappingUpdate(sku="SKU-2"))
    assert (sku_only.sku, sku_only.location, sku_only.platform_ids) == (
        "SKU-2",
        "487838322",
        {"inventory_item_id": "1"},
    )
    with transaction(shopify) as s:
        cleared = catalog.update_mapping(
            s,
            mapping_id,
            MappingUpdate.model_validate({"location": None, "platform_ids": {"inventory_item_id": None}}),
        )
    assert (cleared.location, cleared.effective_location, cleared.platform_ids) == (None, "655441491", {})
    with pytest.raises(DomainError) as refused, transaction(shopify) as s:
        catalog.update_mapping(s, mapping_id, MappingUpdate(location="Berlin"))
    assert refused.value.field == "location"
    with pytest.raises(NotFound), transaction(shopify) as s:
        catalog.update_mapping(s, mapping_id, MappingUpdate(sku="NOPE"))
    with pytest.raises(NotFound), transaction(shopify) as s:
        catalog.update_mapping(s, 10**9, MappingUpdate(sku="SKU-1"))
    with pytest.raises(ValidationError):
        MappingUpdate.model_validate({"sku": None})


def test_a_mapping_open_orders_came_in_through_cannot_be_deleted_until_they_are_closed(
    shopify: sessionmaker[Session],
) -> None:
    setup = order(("B-ONE", 1), shop="shop-b", external_id="OPEN-1")
    ingest_batch(shopify, [setup], actor="test")
    with transaction(shopify) as s:
        mapping_id = catalog.list_mappings(s, shop="shop-b")[0].id
        insert_rows(
            s,
            ListingBinding,
            ("shop_id", "listing_id", "data", "last_quantity"),
            [(shops.get_shop(s, "shop-b").id, "L-1", {}, 4)],
        )
        raise_alert(s, "low_stock", "listing:shop-b:L-1", "SKU-1 on shop-b: 4 left to sell")

    with pytest.raises(Conflict) as refused, transaction(shopify) as s:
        catalog.delete_mapping(s, mapping_id)
    assert "open orders of shop 'shop-b' came in through it (OPEN-1)" in refused.value.message

    with transaction(shopify) as s:
        cancel_order(s, stored_order(shopify, "OPEN-1").id, actor="test", reason="buyer changed mind")
    with transaction(shopify) as s:
        catalog.delete_mapping(s, mapping_id)
    with transaction(shopify) as s:
        assert catalog.list_mappings(s, shop="shop-b") == []
        assert s.scalar(select(func.count()).select_from(ListingBinding)) == 0  # its record goes with it
        assert s.scalars(select(Alert.resolved_at)).one() is not None
    with pytest.raises(NotFound), transaction(shopify) as s:
        catalog.delete_mapping(s, mapping_id)


def test_orders_of_other_listings_or_shops_do_not_hold_a_mapping(shopify: sessionmaker[Session]) -> None:
    with transaction(shopify) as s:
        catalog.create_mapping(s, MappingIn(shop="shop-a", platform_sku="A-ONE", sku="SKU-1"))
    ingest_batch(
        shopify, [order(("A-ONE", 1), shop="shop-a"), order(("SKU-1", 1), shop="shop-b")], actor="test"
    )

    with transaction(shopify) as s:
        catalog.delete_mapping(s, catalog.list_mappings(s, shop="shop-b")[0].id)
