from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from orderly.catalog.domain import MERCHANT
from orderly.core.clock import utcnow
from orderly.core.db import Base, BigId, JsonValue, UTCDateTime


class Product(Base):
    """One of our SKUs. A bundle (kit) is a product whose stock is that of its components."""

    __tablename__ = "products"
    __table_args__ = (
        # A packer's scan finds the product by barcode.
        Index("ix_products_barcode", "barcode"),
        CheckConstraint("(cost IS NULL) = (cost_currency IS NULL)", name="cost_has_currency"),
        CheckConstraint("cost >= 0", name="cost_not_negative"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    sku: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(300))
    is_bundle: Mapped[bool] = mapped_column(default=False)
    category: Mapped[str | None] = mapped_column(String(100))
    barcode: Mapped[str | None] = mapped_column(String(64))
    weight_g: Mapped[int | None]
    # Outer dimensions of one unit as shipped: routing's size class reads the longest side.
    length_mm: Mapped[int | None]
    width_mm: Mapped[int | None]
    height_mm: Mapped[int | None]
    # A presale item: orders for it wait, held, until this moment.
    presale_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # What one unit cost us (cost of goods), in minor units of its ISO 4217 currency.
    cost: Mapped[int | None] = mapped_column(BigInteger)
    cost_currency: Mapped[str | None] = mapped_column(String(3))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class BundleComponent(Base):
    __tablename__ = "bundle_components"
    __table_args__ = (
        UniqueConstraint("bundle_id", "component_id"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    bundle_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"))
    component_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    quantity: Mapped[int]


class SkuMapping(Base):
    """A shop's SKU and/or listing id, bound to our product. Lines resolve by SKU, then listing.

    For stock pushes it also says where on the platform the listing's stock is kept (``location``; the
    shop's default when None), any platform ids a push needs (``platform_ids``, by the connector's
    names; they win over ids learned from the platform) and whose stock it sells (``fulfilled_by``).
    """

    __tablename__ = "sku_mappings"
    __table_args__ = (
        CheckConstraint("platform_sku IS NOT NULL OR listing_id IS NOT NULL", name="has_key"),
        Index(
            "uq_sku_mappings_shop_sku",
            "shop_id",
            "platform_sku",
            unique=True,
            sqlite_where=text("platform_sku IS NOT NULL"),
            postgresql_where=text("platform_sku IS NOT NULL"),
        ),
        Index(
            "uq_sku_mappings_shop_listing",
            "shop_id",
            "listing_id",
            unique=True,
            sqlite_where=text("listing_id IS NOT NULL"),
            postgresql_where=text("listing_id IS NOT NULL"),
        ),
        Index("ix_sku_mappings_product", "product_id"),
        CheckConstraint("fulfilled_by IN ('merchant', 'platform')", name="fulfilled_by_known"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    platform_sku: Mapped[str | None] = mapped_column(String(200))
    listing_id: Mapped[str | None] = mapped_column(String(200))
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    location: Mapped[str | None] = mapped_column(String(200))
    platform_ids: Mapped[dict[str, str]] = mapped_column(JsonValue, default=dict, server_default="{}")
    fulfilled_by: Mapped[str] = mapped_column(String(16), default=MERCHANT, server_default=MERCHANT)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
