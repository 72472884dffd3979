from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

from orderly.catalog.domain import MERCHANT, FulfilledBy, check_barcode
from orderly.core.clock import plausible_utc
from orderly.core.money import is_currency
from orderly.core.text import StorableStr

BARCODE_HELP = (
    "the code on the item, scanned when packing: a GTIN (EAN/UPC: 8, 12, 13 or 14 digits, its check "
    "digit checked) or your own code"
)
Barcode = Annotated[
    StorableStr,
    StringConstraints(min_length=1, max_length=64, pattern=r"^[!-~]+$"),
    AfterValidator(check_barcode),
]

COST_HELP = "what one unit cost (cost of goods), in minor units of cost_currency (1999 = 19.99 USD)"
Cost = Annotated[int, Field(ge=0, le=10**15, description=COST_HELP)]


def _known_currency(code: str) -> str:
    if not is_currency(code):
        raise ValueError(f"{code!r} is not an ISO 4217 currency code such as USD")
    return code


Currency = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$"), AfterValidator(_known_currency)]


def _cost_with_currency(cost: int | None, currency: str | None, sent: set[str]) -> None:
    """A cost and its currency go together: both given, or neither (both null clears them)."""
    named = {"cost", "cost_currency"} & sent
    if named and (len(named) == 1 or (cost is None) != (currency is None)):
        raise ValueError("cost and cost_currency go together: give both, or neither")


class ProductIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    sku: StorableStr = Field(min_length=1, max_length=64)
    name: StorableStr = Field(min_length=1, max_length=300)
    category: StorableStr | None = Field(default=None, max_length=100)
    barcode: Barcode | None = Field(default=None, description=BARCODE_HELP)
    weight_g: int | None = Field(default=None, ge=0, le=100_000_000)
    length_mm: int | None = Field(default=None, ge=1, le=100_000, description="one unit as shipped")
    width_mm: int | None = Field(default=None, ge=1, le=100_000)
    height_mm: int | None = Field(default=None, ge=1, le=100_000)
    cost: Cost | None = None
    cost_currency: Currency | None = None

    @model_validator(mode="after")
    def _cost_has_currency(self) -> ProductIn:
        given = {"cost"} if self.cost is not None else set()
        given |= {"cost_currency"} if self.cost_currency is not None else set()
        _cost_with_currency(self.cost, self.cost_currency, given)
        return self


class ProductUpdate(BaseModel):
    """Only the fields sent change; ``null`` clears an optional one. The SKU itself cannot change:
    shops and order files may name it."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: StorableStr = Field(default="", min_length=1, max_length=300)
    category: StorableStr | None = Field(default=None, max_length=100)
    barcode: Barcode | None = Field(default=None, description=BARCODE_HELP)
    weight_g: int | None = Field(default=None, ge=0, le=100_000_000)
    length_mm: int | None = Field(default=None, ge=1, le=100_000, description="one unit as shipped")
    width_mm: int | None = Field(default=None, ge=1, le=100_000)
    height_mm: int | None = Field(default=None, ge=1, le=100_000)
    presale_until: Annotated[AwareDatetime, AfterValidator(plausible_utc)] | None = Field(
        default=None, description="orders for it wait, held, until then; null: not a presale item"
    )
    cost: Cost | None = None
    cost_currency: Currency | None = None

    @model_validator(mode="after")
    def _cost_has_currency(self) -> ProductUpdate:
        _cost_with_currency(self.cost, self.cost_currency, self.model_fields_set)
        return self


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
    length_mm: int | None
    width_mm: int | None
    height_mm: int | None
    presale_until: datetime | None = Field(description="orders for it wait, held, until then")
    cost: int | None = Field(description=COST_HELP)
    cost_currency: str | None
    created_at: datetime
    components: list[ComponentOut] = Field(default_factory=list)


LOCATION_HELP = (
    "where on the platform the listing's stock is kept, e.g. a Shopify location id; when not set, the "
    "shop's default (Shopify: its location_id setting)"
)
FULFILLED_BY_HELP = (
    "whose stock the listing sells: merchant (the hub's; its figure is pushed) or platform (e.g. Amazon "
    "FBA: the platform's own stock; the hub never pushes a figure to it)"
)
PLATFORM_IDS_HELP = (
    "platform ids the listing's stock pushes need, by the platform's names (Shopify: inventory_item_id); "
    "those not set are learned from the platform"
)
PlatformIdName = Annotated[StorableStr, StringConstraints(min_length=1, max_length=64)]
PlatformIdValue = Annotated[StorableStr, StringConstraints(min_length=1, max_length=200)]


class MappingIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    shop: StorableStr = Field(min_length=1, max_length=64, description="shop code")
    platform_sku: StorableStr | None = Field(default=None, min_length=1, max_length=200)
    listing_id: StorableStr | None = Field(default=None, min_length=1, max_length=200)
    sku: StorableStr = Field(min_length=1, max_length=64, description="our SKU")
    location: StorableStr | None = Field(
        default=None, min_length=1, max_length=200, description=LOCATION_HELP
    )
    fulfilled_by: FulfilledBy = Field(default=MERCHANT, description=FULFILLED_BY_HELP)
    platform_ids: dict[PlatformIdName, PlatformIdValue] = Field(
        default_factory=dict, max_length=20, description=PLATFORM_IDS_HELP
    )


class MappingUpdate(BaseModel):
    """What to change; fields left out stay as they are."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    sku: StorableStr | None = Field(
        default=None, min_length=1, max_length=64, description="our SKU the listing sells from now on"
    )
    location: StorableStr | None = Field(
        default=None,
        min_length=1,
        max_length=200,
        description=f"{LOCATION_HELP}; null goes back to the shop's default",
    )
    fulfilled_by: FulfilledBy | None = Field(default=None, description=FULFILLED_BY_HELP)
    platform_ids: dict[PlatformIdName, PlatformIdValue | None] | None = Field(
        default=None,
        max_length=20,
        description=f"{PLATFORM_IDS_HELP}. Merged into those set: a name given null is removed",
    )

    @model_validator(mode="after")
    def _no_null_where_null_means_nothing(self) -> MappingUpdate:
        for name in ("sku", "fulfilled_by", "platform_ids"):
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"{name} cannot be null; leave it out to keep it")
        return self


class MappingOut(BaseModel):
    id: int
    shop: str
    platform_sku: str | None
    listing_id: str | None
    sku: str
    location: str | None = Field(description="the mapping's own location; null: the shop's default")
    effective_location: str | None = Field(
        description="where pushes go: the mapping's location, else the shop's default (null: none set)"
    )
    fulfilled_by: FulfilledBy
    platform_ids: dict[str, str] = Field(description="platform ids set on the mapping")
    learned_ids: dict[str, Any] = Field(description="platform ids the hub learned from the platform")
    last_quantity: int | None = Field(
        description="the figure the listing shows, as last told by the hub (null: not told yet where "
        "it is now, or a push is on its way)"
    )
    last_pushed_at: datetime | None = Field(description="when the latest push to the listing started")
    last_error: str | None = Field(description="why the latest push failed, if it did")
