"""All catalog queries."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import Row, select
from sqlalchemy.orm import Session

from orderly.catalog.models import BundleComponent, Product, SkuMapping
from orderly.core.db import chunks


def product_by_sku(session: Session, sku: str) -> Row[int, bool] | None:
    """(id, is_bundle) of the product with this SKU."""
    return session.execute(select(Product.id, Product.is_bundle).where(Product.sku == sku)).first()


def products_page(session: Session, *, after_id: int, limit: int) -> list[Row[int, str, str, bool]]:
    """(id, sku, name, is_bundle) of the products after ``after_id``, in the order they were created."""
    query = (
        select(Product.id, Product.sku, Product.name, Product.is_bundle)
        .where(Product.id > after_id)
        .order_by(Product.id)
        .limit(limit)
    )
    return list(session.execute(query).all())


def product_ids_by_sku(session: Session, skus: Iterable[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for part in chunks(sorted(set(skus))):
        found.update(session.execute(select(Product.sku, Product.id).where(Product.sku.in_(part))).all())
    return found


def mappings_for(
    session: Session, shop_ids: Iterable[int], platform_skus: Iterable[str], listing_ids: Iterable[str]
) -> tuple[dict[tuple[int, str], int], dict[tuple[int, str], int]]:
    """(shop, platform SKU) -> product and (shop, listing id) -> product, for just the keys asked."""
    shops = sorted(set(shop_ids))
    by_sku: dict[tuple[int, str], int] = {}
    for part in chunks(sorted(set(platform_skus))):
        query = select(SkuMapping.shop_id, SkuMapping.platform_sku, SkuMapping.product_id).where(
            SkuMapping.shop_id.in_(shops), SkuMapping.platform_sku.in_(part)
        )
        by_sku.update(((shop, sku), pid) for shop, sku, pid in session.execute(query).all() if sku)
    by_listing: dict[tuple[int, str], int] = {}
    for part in chunks(sorted(set(listing_ids))):
        query = select(SkuMapping.shop_id, SkuMapping.listing_id, SkuMapping.product_id).where(
            SkuMapping.shop_id.in_(shops), SkuMapping.listing_id.in_(part)
        )
        by_listing.update(((shop, lid), pid) for shop, lid, pid in session.execute(query).all() if lid)
    return by_sku, by_listing


def bundle_parts(session: Session, product_ids: Iterable[int]) -> dict[int, list[tuple[int, int]]]:
    parts: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for part in chunks(sorted(set(product_ids))):
        query = (
            select(BundleComponent.bundle_id, BundleComponent.component_id, BundleComponent.quantity)
            .where(BundleComponent.bundle_id.in_(part))
            .order_by(BundleComponent.bundle_id, BundleComponent.component_id)
        )
        for bundle_id, component_id, quantity in session.execute(query).all():
            parts[bundle_id].append((component_id, quantity))
    return dict(parts)


def skus_of(session: Session, product_ids: Iterable[int]) -> dict[int, str]:
    found: dict[int, str] = {}
    for part in chunks(sorted(set(product_ids))):
        query = select(Product.id, Product.sku).where(Product.id.in_(part))
        found.update((product_id, sku) for product_id, sku in session.execute(query))
    return found


def bundles_containing(session: Session, component_ids: Iterable[int]) -> set[int]:
    """The bundles whose stock depends on any of these products."""
    found: set[int] = set()
    for part in chunks(sorted(set(component_ids))):
        query = select(BundleComponent.bundle_id).where(BundleComponent.component_id.in_(part))
        found.update(session.scalars(query))
    return found


def presale_products(session: Session, *, now: datetime) -> set[int]:
    """Products whose presale date is still ahead."""
    return set(session.scalars(select(Product.id).where(Product.presale_until > now)))


def presale_products_due(session: Session, *, now: datetime) -> list[int]:
    """Products whose presale date has passed."""
    query = select(Product.id).where(Product.presale_until.is_not(None), Product.presale_until <= now)
    return list(session.scalars(query))
