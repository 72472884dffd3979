"""Catalog use cases: products, bundles and SKU mappings."""

from __future__ import annotations

from datetime import UTC

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from orderly.catalog import domain
from orderly.catalog.models import BundleComponent, Product, SkuMapping
from orderly.catalog.schemas import (
    BundleIn,
    ComponentOut,
    MappingIn,
    MappingOut,
    ProductIn,
    ProductOut,
    ProductUpdate,
)
from orderly.channels.models import Shop
from orderly.core.clock import utcnow
from orderly.core.db import flush_or_conflict
from orderly.core.errors import Conflict, DomainError, NotFound
from orderly.inventory.models import StockLevel, Warehouse
from orderly.inventory.service import STOCK_FREED
from orderly.jobs.service import NewJob, enqueue
from orderly.orders.models import OrderLine


def create_product(session: Session, data: ProductIn) -> ProductOut:
    domain.check_sku(data.sku)
    product = Product(**data.model_dump(), is_bundle=False)
    session.add(product)
    flush_or_conflict(session, f"SKU {data.sku!r}")
    return ProductOut.model_validate(product)


def create_bundle(session: Session, data: BundleIn) -> ProductOut:
    domain.check_sku(data.sku)
    codes = [c.sku for c in data.components]
    found = dict(session.execute(select(Product.sku, Product.id).where(Product.sku.in_(codes))).all())
    missing = [code for code in codes if code not in found]
    if missing:
        raise NotFound(f"unknown component SKU(s): {', '.join(missing)}", field="components")
    bundles = set(
        session.scalars(select(Product.id).where(Product.id.in_(found.values()), Product.is_bundle))
    )
    bundle = Product(**data.model_dump(exclude={"components"}), is_bundle=True)
    session.add(bundle)
    flush_or_conflict(session, f"SKU {data.sku!r}")
    parts = [(found[c.sku], c.quantity) for c in data.components]
    domain.check_bundle(bundle.id, parts, bundles)
    session.add_all(BundleComponent(bundle_id=bundle.id, component_id=pid, quantity=q) for pid, q in parts)
    session.flush()
    return get_product(session, data.sku)


def get_product(session: Session, sku: str) -> ProductOut:
    product = session.scalar(select(Product).where(Product.sku == sku))
    if product is None:
        raise NotFound(f"unknown SKU {sku!r}", field="sku")
    out = ProductOut.model_validate(product)
    if product.is_bundle:
        query = (
            select(Product.sku, BundleComponent.quantity)
            .join(Product, Product.id == BundleComponent.component_id)
            .where(BundleComponent.bundle_id == product.id)
            .order_by(Product.sku)
        )
        out.components = [ComponentOut(sku=s, quantity=q) for s, q in session.execute(query).all()]
    return out


def list_products(session: Session, *, after_id: int = 0, limit: int = 100) -> list[ProductOut]:
    query = select(Product).where(Product.id > after_id).order_by(Product.id).limit(limit)
    return [ProductOut.model_validate(p) for p in session.scalars(query)]


def _product(session: Session, sku: str) -> Product:
    product = session.scalar(select(Product).where(Product.sku == sku).with_for_update())
    if product is None:
        raise NotFound(f"unknown SKU {sku!r}", field="sku")
    return product


def update_product(session: Session, sku: str, data: ProductUpdate) -> ProductOut:
    """Change what was sent. A presale date cleared or moved into the past releases the orders that
    waited only for it (through the outbox, like freed stock)."""
    product = _product(session, sku)
    changes = data.model_dump(exclude_unset=True)
    if "presale_until" in changes and changes["presale_until"] is not None:
        changes["presale_until"] = changes["presale_until"].astimezone(UTC)
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
    warehouses = session.scalars(
        select(Warehouse.code)
        .join(StockLevel, StockLevel.warehouse_id == Warehouse.id)
        .where(StockLevel.product_id == product.id)
        .order_by(Warehouse.code)
    ).all()
    lines = session.scalar(
        select(func.count()).select_from(OrderLine).where(OrderLine.product_id == product.id)
    )
    shops = session.scalars(
        select(Shop.code)
        .join(SkuMapping, SkuMapping.shop_id == Shop.id)
        .where(SkuMapping.product_id == product.id)
        .distinct()
    ).all()
    bundles = session.scalars(
        select(Product.sku)
        .join(BundleComponent, BundleComponent.bundle_id == Product.id)
        .where(BundleComponent.component_id == product.id)
        .order_by(Product.sku)
    ).all()
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
    session.execute(delete(BundleComponent).where(BundleComponent.bundle_id == product.id))
    session.delete(product)
    session.flush()


def create_mapping(session: Session, data: MappingIn) -> MappingOut:
    if not (data.platform_sku or data.listing_id):
        raise DomainError("a mapping needs a platform_sku, a listing_id or both", field="platform_sku")
    shop_id = session.scalar(select(Shop.id).where(Shop.code == data.shop))
    if shop_id is None:
        raise NotFound(f"unknown shop {data.shop!r}", field="shop")
    product_id = session.scalar(select(Product.id).where(Product.sku == data.sku))
    if product_id is None:
        raise NotFound(f"unknown SKU {data.sku!r}", field="sku")
    mapping = SkuMapping(
        shop_id=shop_id, platform_sku=data.platform_sku, listing_id=data.listing_id, product_id=product_id
    )
    session.add(mapping)
    flush_or_conflict(session, "a mapping for this shop SKU or listing")
    return MappingOut(
        id=mapping.id,
        shop=data.shop,
        platform_sku=data.platform_sku,
        listing_id=data.listing_id,
        sku=data.sku,
    )


def list_mappings(session: Session, *, shop: str | None = None, limit: int = 500) -> list[MappingOut]:
    query = (
        select(SkuMapping.id, Shop.code, SkuMapping.platform_sku, SkuMapping.listing_id, Product.sku)
        .join(Shop, Shop.id == SkuMapping.shop_id)
        .join(Product, Product.id == SkuMapping.product_id)
        .order_by(SkuMapping.id)
        .limit(limit)
    )
    if shop:
        query = query.where(Shop.code == shop)
    return [
        MappingOut(id=i, shop=s, platform_sku=p, listing_id=lid, sku=sku)
        for i, s, p, lid, sku in session.execute(query).all()
    ]


def delete_mappings(session: Session, shop: str) -> int:
    """Forget every mapping of a shop (its listings were replaced); returns how many went."""
    shop_id = session.scalar(select(Shop.id).where(Shop.code == shop))
    if shop_id is None:
        raise NotFound(f"unknown shop {shop!r}", field="shop")
    result = session.execute(delete(SkuMapping).where(SkuMapping.shop_id == shop_id))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
