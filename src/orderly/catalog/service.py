"""Catalog use cases: products, bundles and SKU mappings."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Row
from sqlalchemy.orm import Session

from orderly.alerts.service import resolve
from orderly.catalog import domain
from orderly.catalog import repository as repo
from orderly.catalog.domain import MERCHANT
from orderly.catalog.models import BundleComponent, Product, SkuMapping
from orderly.catalog.schemas import (
    BundleIn,
    ComponentOut,
    MappingIn,
    MappingOut,
    MappingUpdate,
    ProductIn,
    ProductOut,
    ProductUpdate,
)
from orderly.channels import repository as channels_repo
from orderly.channels.models import ListingBinding, Shop
from orderly.channels.registry import connector_class
from orderly.channels.service import get_shop
from orderly.channels.tasks import schedule_pushes
from orderly.core.clock import utcnow
from orderly.core.db import flush_or_conflict
from orderly.core.errors import Conflict, DomainError, NotFound
from orderly.inventory import repository as inventory_repo
from orderly.inventory.service import STOCK_FREED
from orderly.jobs.service import NewJob, enqueue
from orderly.orders import repository as order_repo


def _barcode_free(session: Session, barcode: str | None, sku: str) -> None:
    """A barcode names one product, so a scan at the packing table is never ambiguous."""
    if barcode is None:
        return
    forms = domain.barcode_forms(barcode)
    taken = [p.sku for p in repo.products_by_code(session, barcode) if p.sku != sku and p.barcode in forms]
    if taken:
        raise Conflict(f"barcode {barcode!r} is already {taken[0]}'s", field="barcode")


def create_product(session: Session, data: ProductIn) -> ProductOut:
    domain.check_sku(data.sku)
    _barcode_free(session, data.barcode, data.sku)
    product = Product(**data.model_dump(), is_bundle=False)
    session.add(product)
    flush_or_conflict(session, f"SKU {data.sku!r}")
    return ProductOut.model_validate(product)


def create_bundle(session: Session, data: BundleIn) -> ProductOut:
    domain.check_sku(data.sku)
    _barcode_free(session, data.barcode, data.sku)
    codes = [c.sku for c in data.components]
    found = repo.product_ids_by_sku(session, codes)
    missing = [code for code in codes if code not in found]
    if missing:
        raise NotFound(f"unknown component SKU(s): {', '.join(missing)}", field="components")
    bundles = repo.bundles_among(session, found.values())
    bundle = Product(**data.model_dump(exclude={"components"}), is_bundle=True)
    session.add(bundle)
    flush_or_conflict(session, f"SKU {data.sku!r}")
    parts = [(found[c.sku], c.quantity) for c in data.components]
    domain.check_bundle(bundle.id, parts, bundles)
    session.add_all(BundleComponent(bundle_id=bundle.id, component_id=pid, quantity=q) for pid, q in parts)
    session.flush()
    return get_product(session, data.sku)


def get_product(session: Session, sku: str) -> ProductOut:
    product = repo.get_product(session, sku)
    if product is None:
        raise NotFound(f"unknown SKU {sku!r}", field="sku")
    out = ProductOut.model_validate(product)
    if product.is_bundle:
        out.components = [ComponentOut(sku=s, quantity=q) for s, q in repo.components_of(session, product.id)]
    return out


def list_products(session: Session, *, after_id: int = 0, limit: int = 100) -> list[ProductOut]:
    return [ProductOut.model_validate(p) for p in repo.products_after(session, after_id, limit)]


def _product(session: Session, sku: str) -> Product:
    product = repo.lock_product(session, sku)
    if product is None:
        raise NotFound(f"unknown SKU {sku!r}", field="sku")
    return product


def update_product(session: Session, sku: str, data: ProductUpdate) -> ProductOut:
    """Change what was sent. A presale date cleared or moved into the past releases the orders that
    waited only for it (through the outbox, like freed stock)."""
    product = _product(session, sku)
    changes = data.model_dump(exclude_unset=True)
    _barcode_free(session, changes.get("barcode"), sku)
    for name, value in changes.items():
        setattr(product, name, value)
    if "presale_until" in changes and (changes["presale_until"] or utcnow()) <= utcnow():
        freed = NewJob(STOCK_FREED, {"product_ids": [product.id]}, key=f"{STOCK_FREED}:{product.id}")
        enqueue(session, [freed])
    session.flush()
    return get_product(session, sku)


def delete_product(session: Session, sku: str) -> None:
    """Delete a product nothing refers to; otherwise refuse, naming what does."""
    product = _product(session, sku)
    # Stock levels are never deleted and every ledger row has one, so they stand for the ledger too.
    warehouses = inventory_repo.warehouses_stocking(session, product.id)
    lines = order_repo.line_count(session, product.id)
    shops = repo.shops_mapping_to(session, product.id)
    bundles = repo.bundle_skus_containing(session, product.id)
    uses = [
        *(
            [f"it has stock records (and their ledger) in warehouse(s) {', '.join(warehouses)}"]
            if warehouses
            else []
        ),
        *([f"{lines} order line(s) are for it"] if lines else []),
        *([f"SKU mappings of shop(s) {', '.join(sorted(shops))} point to it"] if shops else []),
        *([f"it is a component of bundle(s) {', '.join(bundles)}"] if bundles else []),
    ]
    if uses:
        raise Conflict(f"product {sku!r} cannot be deleted: {'; '.join(uses)}", field="sku")
    repo.delete_components(session, product.id)
    session.delete(product)
    session.flush()


def _check_listing(shop: Shop, location: str | None, platform_ids: Mapping[str, str]) -> None:
    """Refuse a location or platform id the shop's platform would not understand."""
    connector = connector_class(shop.channel)
    if connector is None:
        if location is not None or platform_ids:
            raise DomainError(
                f"shop {shop.code!r} ({shop.channel}) has no connector: no stock is pushed to it, so its "
                "listings take no location or platform ids",
                field="location" if location is not None else "platform_ids",
            )
        return
    problems = connector.listing_problems(location, platform_ids)
    if problems:
        raise DomainError("; ".join(message for _, message in problems), field=problems[0][0])


def _product_id(session: Session, sku: str) -> int:
    product = repo.product_by_sku(session, sku)
    if product is None:
        raise NotFound(f"unknown SKU {sku!r}", field="sku")
    return int(product.id)


def create_mapping(session: Session, data: MappingIn) -> MappingOut:
    if not (data.platform_sku or data.listing_id):
        raise DomainError("a mapping needs a platform_sku, a listing_id or both", field="platform_sku")
    shop = get_shop(session, data.shop)
    product_id = _product_id(session, data.sku)
    _check_listing(shop, data.location, data.platform_ids)
    mapping = SkuMapping(
        shop_id=shop.id,
        platform_sku=data.platform_sku,
        listing_id=data.listing_id,
        product_id=product_id,
        location=data.location,
        platform_ids=data.platform_ids,
        fulfilled_by=data.fulfilled_by,
    )
    session.add(mapping)
    flush_or_conflict(session, "a mapping for this shop SKU or listing")
    return get_mapping(session, mapping.id)


def _mapping_out(row: Row[SkuMapping, str, str, dict[str, Any], str, ListingBinding]) -> MappingOut:
    mapping, shop_code, channel, settings, sku, binding = row
    connector = connector_class(channel)
    setting = connector.location_setting if connector else None
    default = (settings or {}).get(setting) if setting else None
    return MappingOut(
        id=mapping.id,
        shop=shop_code,
        platform_sku=mapping.platform_sku,
        listing_id=mapping.listing_id,
        sku=sku,
        location=mapping.location,
        effective_location=mapping.location or (None if default is None else str(default)),
        fulfilled_by=mapping.fulfilled_by,
        platform_ids=mapping.platform_ids or {},
        learned_ids=binding.data if binding is not None and binding.data else {},
        last_quantity=binding.last_quantity if binding is not None else None,
        last_pushed_at=binding.last_pushed_at if binding is not None else None,
        last_error=binding.last_error if binding is not None else None,
    )


def get_mapping(session: Session, mapping_id: int) -> MappingOut:
    row = repo.mapping_row(session, mapping_id)
    if row is None:
        raise NotFound(f"unknown SKU mapping {mapping_id}", field="id")
    return _mapping_out(row)


def list_mappings(
    session: Session, *, shop: str | None = None, sku: str | None = None, limit: int = 500
) -> list[MappingOut]:
    """Mappings oldest first (of a shop, of a SKU), each with the last figure its listing was told."""
    # An unknown shop or SKU is refused, not listed as one without mappings.
    shop_id = get_shop(session, shop).id if shop else None
    product_id = _product_id(session, sku) if sku else None
    rows = repo.mapping_rows(session, shop_id=shop_id, product_id=product_id, limit=limit)
    return [_mapping_out(row) for row in rows]


def update_mapping(session: Session, mapping_id: int, data: MappingUpdate) -> MappingOut:
    """Change what a listing sells, where its stock is kept, its platform ids or whose stock it sells.
    A listing whose figure may now be wrong on the platform gets a push."""
    mapping = repo.lock_mapping(session, mapping_id)
    if mapping is None:
        raise NotFound(f"unknown SKU mapping {mapping_id}", field="id")
    shop = session.get(Shop, mapping.shop_id)
    assert shop is not None  # a mapping goes with its shop
    changes = data.model_fields_set
    location = data.location if "location" in changes else mapping.location
    platform_ids = dict(mapping.platform_ids or {})
    for name, value in (data.platform_ids or {}).items():
        if value is None:
            platform_ids.pop(name, None)
        else:
            platform_ids[name] = value
    _check_listing(shop, location, platform_ids)
    product_id = _product_id(session, data.sku) if data.sku is not None else mapping.product_id
    fulfilled_by = data.fulfilled_by or mapping.fulfilled_by
    # The figure last sent was sent elsewhere, or counted by the platform itself: the listing as it is
    # now has been told nothing yet.
    told_elsewhere = (location, platform_ids) != (mapping.location, mapping.platform_ids or {}) or (
        fulfilled_by != mapping.fulfilled_by
    )
    moved = told_elsewhere or product_id != mapping.product_id
    mapping.location, mapping.platform_ids = location, platform_ids
    mapping.product_id, mapping.fulfilled_by = product_id, fulfilled_by
    session.flush()
    if mapping.listing_id is not None and moved:
        if told_elsewhere:
            repo.forget_told_quantity(session, shop.id, mapping.listing_id)
        if fulfilled_by == MERCHANT:
            schedule_pushes(session, [product_id], shop_id=shop.id)
    return get_mapping(session, mapping.id)


def delete_mapping(session: Session, mapping_id: int) -> None:
    """Forget one mapping, unless orders still open on its shop came in through it: a later update of
    one from the platform would no longer resolve its line."""
    mapping = repo.lock_mapping(session, mapping_id)
    if mapping is None:
        raise NotFound(f"unknown SKU mapping {mapping_id}", field="id")
    shop = session.get(Shop, mapping.shop_id)
    assert shop is not None  # a mapping goes with its shop
    open_orders = order_repo.open_orders_through(
        session, mapping.shop_id, mapping.product_id, mapping.platform_sku, mapping.listing_id, limit=4
    )
    if open_orders:
        named = ", ".join(open_orders[:3]) + (" and more" if len(open_orders) > 3 else "")
        raise Conflict(
            f"SKU mapping {mapping_id} is in use: open orders of shop {shop.code!r} came in through it "
            f"({named}), and a later update of them from the platform could not be read without it. "
            "Map the listing to another SKU instead, or delete the mapping once they are shipped or "
            "cancelled",
            field="id",
        )
    if mapping.listing_id is not None:
        repo.delete_binding(session, shop.id, mapping.listing_id)
        resolve(session, "low_stock", f"listing:{shop.code}:{mapping.listing_id}")
    session.delete(mapping)
    session.flush()


def delete_mappings(session: Session, shop: str) -> int:
    """Forget every mapping of a shop (its listings were replaced); returns how many went."""
    shop_id = channels_repo.shop_id_of(session, shop)
    if shop_id is None:
        raise NotFound(f"unknown shop {shop!r}", field="shop")
    return repo.delete_mappings_of(session, shop_id)
