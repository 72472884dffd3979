from __future__ import annotations

from datetime import datetime

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from orderly.core.text import StorableStr


class ProductIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    sku: StorableStr = Field(min_length=1, max_length=64)
    name: StorableStr = Field(min_length=1, max_length=300)
    category: StorableStr | None = Field(default=None, max_length=100)
    barcode: StorableStr | None = Field(default=None, max_length=64)
    weight_g: int | None = Field(default=None, ge=0, le=100_000_000)


class ProductUpdate(BaseModel):
    """Only the fields sent change; ``null`` clears an optional one. The SKU itself cannot change:
    shops and order files may name it."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: StorableStr = Field(default="", min_length=1, max_length=300)
    category: StorableStr | None = Field(default=None, max_length=100)
    barcode: StorableStr | None = Field(default=None, max_length=64)
    weight_g: int | None = Field(default=None, ge=0, le=100_000_000)
    presale_until: AwareDatetime | None = Field(
        default=None, description="orders for it wait, held, until then; null: not a presale item"
    )


class ComponentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sku: StorableStr = Field(min_length=1, max_length=64)
    quantity: int = Field(gt=0, le=10_000)


class BundleIn(ProductIn):
    components: list[ComponentIn] = Field(min_length=1, max_length=100)


class ComponentOut(BaseModel):
    sku: str
    quantity: int


class ProductOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    sku: str
    name: str
    is_bundle: bool
    category: str | None
    barcode: str | None
    weight_g: int | None
    presale_until: datetime | None = Field(description="orders for it wait, held, until then")
    created_at: datetime
    components: list[ComponentOut] = Field(default_factory=list)


class MappingIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    shop: StorableStr = Field(min_length=1, max_length=64, description="shop code")
    platform_sku: StorableStr | None = Field(default=None, min_length=1, max_length=200)
    listing_id: StorableStr | None = Field(default=None, min_length=1, max_length=200)
    sku: StorableStr = Field(min_length=1, max_length=64, description="our SKU")


class MappingOut(BaseModel):
    id: int
    shop: str
    platform_sku: str | None
    listing_id: str | None
    sku: str
