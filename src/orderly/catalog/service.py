"""Catalog use cases: products, bundles and SKU mappings."""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from orderly.catalog import domain
from orderly.catalog.models import BundleComponent, Product, SkuMapping
from orderly.catalog.schemas import BundleIn, ComponentOut, MappingIn, MappingOut, ProductIn, ProductOut
from orderly.channels.models import Shop
from orderly.core.db import flush_or_conflict
from orderly.core.errors import DomainError, NotFound


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
