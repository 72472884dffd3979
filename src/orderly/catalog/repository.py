"""All catalog queries."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Row, Select, delete, func, or_, select, update
from sqlalchemy.orm import Session

from orderly.catalog.domain import barcode_forms
from orderly.catalog.models import BundleComponent, Product, SkuMapping
from orderly.channels.models import ListingBinding, Shop
from orderly.core.db import chunks


def product_by_sku(session: Session, sku: str) -> Row[int, bool] | None:
    """(id, is_bundle) of the product with this SKU."""
    return session.execute(select(Product.id, Product.is_bundle).where(Product.sku == sku)).first()


def products_page(
    session: Session, *, after_id: int, limit: int, text: str | None = None
) -> list[Row[int, str, str, bool]]:
    """(id, sku, name, is_bundle) of the products after ``after_id``, in the order they were created;
    with ``text``, those whose SKU or name holds it (whatever the case)."""
    query = (
        select(Product.id, Product.sku, Product.name, Product.is_bundle)
        .where(Product.id > after_id)
        .order_by(Product.id)
        .limit(limit)
    )
    if text:
        wanted = text.lower()
        query = query.where(
            or_(
                func.lower(Product.sku).contains(wanted, autoescape=True),
                func.lower(Product.name).contains(wanted, autoescape=True),
            )
        )
    return list(session.execute(query).all())


def products_of(session: Session, product_ids: Iterable[int]) -> list[Row[int, str, str, bool]]:
    """(id, sku, name, is_bundle) of these products, in the order they were created."""
    found: list[Row[int, str, str, bool]] = []
    for part in chunks(sorted(set(product_ids))):
        query = select(Product.id, Product.sku, Product.name, Product.is_bundle).where(Product.id.in_(part))
        found.extend(session.execute(query).all())
    return sorted(found, key=lambda row: row[0])


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


def bundles_among(session: Session, product_ids: Iterable[int]) -> set[int]:
    """Those of these products that are bundles."""
    ids = sorted(set(product_ids))
    return set(session.scalars(select(Product.id).where(Product.id.in_(ids), Product.is_bundle)))


def get_product(session: Session, sku: str) -> Product | None:
    return session.scalar(select(Product).where(Product.sku == sku))


def lock_product(session: Session, sku: str) -> Product | None:
    return session.scalar(select(Product).where(Product.sku == sku).with_for_update())


def products_after(session: Session, after_id: int, limit: int) -> list[Product]:
    query = select(Product).where(Product.id > after_id).order_by(Product.id).limit(limit)
    return list(session.scalars(query))


def components_of(session: Session, bundle_id: int) -> list[tuple[str, int]]:
    """(component SKU, quantity) of a bundle, by SKU."""
    query = (
        select(Product.sku, BundleComponent.quantity)
        .join(Product, Product.id == BundleComponent.component_id)
        .where(BundleComponent.bundle_id == bundle_id)
        .order_by(Product.sku)
    )
    return [(sku, quantity) for sku, quantity in session.execute(query).all()]


def shops_mapping_to(session: Session, product_id: int) -> list[str]:
    """The codes of the shops with a mapping to the product."""
    query = (
        select(Shop.code)
        .join(SkuMapping, SkuMapping.shop_id == Shop.id)
        .where(SkuMapping.product_id == product_id)
        .distinct()
    )
    return list(session.scalars(query))


def bundle_skus_containing(session: Session, component_id: int) -> list[str]:
    query = (
        select(Product.sku)
        .join(BundleComponent, BundleComponent.bundle_id == Product.id)
        .where(BundleComponent.component_id == component_id)
        .order_by(Product.sku)
    )
    return list(session.scalars(query))


def delete_components(session: Session, bundle_id: int) -> None:
    session.execute(delete(BundleComponent).where(BundleComponent.bundle_id == bundle_id))


def _mappings_query() -> Select[SkuMapping, str, str, dict[str, Any], str, ListingBinding]:
    return (
        select(SkuMapping, Shop.code, Shop.channel, Shop.settings, Product.sku, ListingBinding)
        .join(Shop, Shop.id == SkuMapping.shop_id)
        .join(Product, Product.id == SkuMapping.product_id)
        .outerjoin(
            ListingBinding,
            (ListingBinding.shop_id == SkuMapping.shop_id)
            & (ListingBinding.listing_id == SkuMapping.listing_id),
        )
        .order_by(SkuMapping.id)
    )


def mapping_row(
    session: Session, mapping_id: int
) -> Row[SkuMapping, str, str, dict[str, Any], str, ListingBinding] | None:
    """The mapping with its shop (code, channel, settings), its SKU and what its listing was told."""
    return session.execute(_mappings_query().where(SkuMapping.id == mapping_id)).first()


def mapping_rows(
    session: Session, *, shop_id: int | None, limit: int, product_id: int | None = None
) -> list[Row[SkuMapping, str, str, dict[str, Any], str, ListingBinding]]:
    """As :func:`mapping_row`, oldest first; of one shop, of one product, when given."""
    query = _mappings_query().limit(limit)
    if shop_id is not None:
        query = query.where(SkuMapping.shop_id == shop_id)
    if product_id is not None:
        query = query.where(SkuMapping.product_id == product_id)
    return list(session.execute(query).all())


def lock_mapping(session: Session, mapping_id: int) -> SkuMapping | None:
    return session.scalar(select(SkuMapping).where(SkuMapping.id == mapping_id).with_for_update())


def forget_told_quantity(session: Session, shop_id: int, listing_id: str) -> None:
    """The listing has been told nothing yet where it now is."""
    session.execute(
        update(ListingBinding)
        .where(ListingBinding.shop_id == shop_id, ListingBinding.listing_id == listing_id)
        .values(last_quantity=None)
    )


def delete_binding(session: Session, shop_id: int, listing_id: str) -> None:
    session.execute(
        delete(ListingBinding).where(
            ListingBinding.shop_id == shop_id, ListingBinding.listing_id == listing_id
        )
    )


def delete_mappings_of(session: Session, shop_id: int) -> int:
    """Delete every mapping of the shop; returns how many went."""
    result = session.execute(delete(SkuMapping).where(SkuMapping.shop_id == shop_id))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def products_by_code(session: Session, code: str) -> list[Product]:
    """The products a scanned code names: by SKU, or by barcode written any way (``barcode_forms``)."""
    query = select(Product).where(or_(Product.sku == code, Product.barcode.in_(sorted(barcode_forms(code)))))
    return list(session.scalars(query.order_by(Product.id)))


def products_by_skus(session: Session, skus: Iterable[str]) -> dict[str, Product]:
    """The products with these SKUs, by SKU (an import's batch: one statement per 900)."""
    found: dict[str, Product] = {}
    for part in chunks(sorted(set(skus))):
        found.update((p.sku, p) for p in session.scalars(select(Product).where(Product.sku.in_(part))))
    return found


def barcode_holders(session: Session, barcodes: Iterable[str]) -> dict[str, str]:
    """Each of these barcodes (as stored) that a product carries, to its SKU; ask with every form of a
    code (``barcode_forms``) to find it however it was written."""
    found: dict[str, str] = {}
    for part in chunks(sorted(set(barcodes))):
        query = select(Product.barcode, Product.sku).where(Product.barcode.in_(part))
        found.update((barcode, sku) for barcode, sku in session.execute(query) if barcode)
    return found
