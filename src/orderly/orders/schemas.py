"""The normalized order every channel maps into, and what the API returns about orders."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    StringConstraints,
    field_validator,
    model_validator,
)

from orderly.core.money import is_country, is_currency
from orderly.core.pagination import Page
from orderly.core.text import StorableStr
from orderly.orders.domain import HoldReason, OrderStatus, PaymentStatus

# Bounds keep every amount and every computed total far inside a 64-bit integer.
MAX_AMOUNT = 10**13
MAX_TOTAL = 10**15
MinorUnits = Annotated[
    int, Field(strict=True, ge=0, le=MAX_AMOUNT, description="integer minor units (cents, fen...)")
]
Text = Annotated[StorableStr, StringConstraints(strip_whitespace=True, min_length=1)]


def _plausible_instant(value: datetime) -> datetime:
    try:
        year = value.astimezone(UTC).year
    except OverflowError:
        year = 0
    if not 1970 <= year <= 2999:
        raise ValueError("timestamp is outside 1970-2999 UTC")
    return value


Timestamp = Annotated[AwareDatetime, AfterValidator(_plausible_instant)]


def _country(value: str) -> str:
    value = value.strip().upper()
    if not is_country(value):
        raise ValueError(f"{value!r} is not an ISO 3166-1 alpha-2 country code")
    return value


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Buyer(_Strict):
    name: StorableStr | None = Field(default=None, max_length=200)
    email: StorableStr | None = Field(default=None, max_length=320)
    phone: StorableStr | None = Field(default=None, max_length=40)
    platform_id: StorableStr | None = Field(default=None, max_length=200)


class Address(_Strict):
    name: Text = Field(max_length=200)
    line1: Text = Field(max_length=300)
    line2: StorableStr | None = Field(default=None, max_length=300)
    city: Text = Field(max_length=120)
    region: StorableStr | None = Field(default=None, max_length=120)
    postal_code: StorableStr | None = Field(default=None, max_length=20)
    country: str = Field(description="ISO 3166-1 alpha-2")
    phone: StorableStr | None = Field(default=None, max_length=40)

    _check_country = field_validator("country")(_country)


class NormalizedLine(_Strict):
    platform_sku: StorableStr | None = Field(default=None, max_length=200)
    listing_id: StorableStr | None = Field(default=None, max_length=200)
    title: StorableStr | None = Field(default=None, max_length=500)
    quantity: int = Field(strict=True, gt=0, le=100_000)
    unit_price: MinorUnits
    discount: MinorUnits = 0
    tax: MinorUnits = 0


class NormalizedOrder(_Strict):
    """One platform order after mapping; ``updated_at`` orders its versions.

    Each line needs a ``platform_sku`` or a ``listing_id`` (checked where lines are resolved).
    """

    shop: Text = Field(max_length=64, description="the shop's code in Orderly")
    external_id: Text = Field(max_length=200)
    placed_at: Timestamp
    updated_at: Timestamp
    currency: str = Field(description="ISO 4217")
    cancelled: bool = False
    payment_status: PaymentStatus = PaymentStatus.PAID
    payment_method: StorableStr | None = Field(default=None, max_length=64)
    platform_status: StorableStr | None = Field(default=None, max_length=64)
    buyer: Buyer = Field(default_factory=Buyer)
    shipping_address: Address
    billing_country: str | None = None
    lines: list[NormalizedLine] = Field(min_length=1, max_length=500)
    shipping_total: MinorUnits = 0
    discount_total: MinorUnits = 0
    tax_total: MinorUnits = 0
    total: MinorUnits | None = Field(default=None, description="defaults to the sum of the parts")
    buyer_remark: StorableStr | None = Field(default=None, max_length=5000)
    seller_remark: StorableStr | None = Field(default=None, max_length=5000)
    tags: list[Annotated[StorableStr, StringConstraints(min_length=1, max_length=64)]] = Field(
        default_factory=list, max_length=50
    )
    raw: dict[str, Any] | None = Field(default=None, description="the platform payload, kept verbatim")

    @field_validator("currency")
    @classmethod
    def _currency(cls, value: str) -> str:
        value = value.strip().upper()
        if not is_currency(value):
            raise ValueError(f"{value!r} is not an ISO 4217 currency code")
        return value

    @field_validator("billing_country")
    @classmethod
    def _billing(cls, value: str | None) -> str | None:
        return None if value is None else _country(value)

    _subtotal: int = PrivateAttr(default=0)
    _total: int = PrivateAttr(default=0)

    @model_validator(mode="after")
    def _amounts(self) -> NormalizedOrder:
        subtotal = sum(line.unit_price * line.quantity - line.discount for line in self.lines)
        total = self.total
        if total is None:
            total = max(0, subtotal + self.shipping_total + self.tax_total - self.discount_total)
        if max(abs(subtotal), total) > MAX_TOTAL:
            raise ValueError(f"order amounts exceed {MAX_TOTAL} minor units")
        self._subtotal, self._total = subtotal, total
        return self

    def amounts(self) -> tuple[int, int]:
        """(subtotal, total): lines less their discounts; the total the platform gave, else the sum."""
        return self._subtotal, self._total


class IngestRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # Each order is checked on its own, so one bad order is rejected without failing the batch.
    orders: list[dict[str, Any]] = Field(min_length=1, max_length=10_000)


class IngestItemResult(BaseModel):
    index: int
    shop: str | None
    external_id: str | None
    outcome: Literal["created", "updated", "unchanged", "stale", "rejected"]
    order_id: int | None = None
    status: OrderStatus | None = None
    rejection_id: int | None = None
    errors: list[dict[str, str]] = Field(default_factory=list)


class IngestResult(BaseModel):
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    stale: int = 0
    rejected: int = 0
    items: list[IngestItemResult] = Field(default_factory=list)


class CancelIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    reason: StorableStr = Field(min_length=1, max_length=500, description="why, kept in the order's history")


class ReplayIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    payload: dict[str, Any] | None = Field(
        default=None, description="a corrected order to ingest instead of the stored payload"
    )


class BuyerOut(BaseModel):
    name: str | None
    email: str | None
    phone: str | None
    platform_id: str | None


class AddressOut(BaseModel):
    name: str
    line1: str
    line2: str | None
    city: str
    region: str | None
    postal_code: str | None
    country: str = Field(description="ISO 3166-1 alpha-2")
    phone: str | None


class HoldOut(BaseModel):
    reason: HoldReason
    message: str
    details: list[dict[str, Any]]


class OrderLineOut(BaseModel):
    line_no: int
    sku: str = Field(description="our SKU the line resolved to")
    platform_sku: str | None
    listing_id: str | None
    title: str | None
    quantity: int
    unit_price: int = Field(description="minor units of the order's currency")
    discount: int = Field(description="minor units of the order's currency, for the whole line")
    tax: int = Field(description="minor units of the order's currency, for the whole line")


class OrderOut(BaseModel):
    """Money is in integer minor units of ``currency``; times are aware UTC."""

    id: int
    shop: str = Field(description="the shop's code")
    external_id: str
    status: OrderStatus
    payment_status: PaymentStatus
    payment_method: str | None
    platform_status: str | None
    currency: str = Field(description="ISO 4217")
    subtotal: int
    shipping_total: int
    discount_total: int
    tax_total: int
    total: int
    buyer: BuyerOut
    shipping_address: AddressOut
    billing_country: str | None
    buyer_remark: str | None
    seller_remark: str | None
    tags: list[str]
    holds: list[HoldOut]
    warehouse: str | None = Field(description="code of the warehouse holding its stock, if allocated")
    placed_at: datetime
    platform_updated_at: datetime
    created_at: datetime
    updated_at: datetime
    lines: list[OrderLineOut]


class OrderEventOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    kind: str
    from_status: OrderStatus | None
    to_status: OrderStatus | None
    actor: str
    message: str | None
    created_at: datetime


class OrderDetailOut(OrderOut):
    events: list[OrderEventOut] = Field(description="the order's history, oldest first")


class OrderPage(Page[OrderOut]):
    pass


RejectionStatus = Literal["open", "resolved", "discarded"]


class RejectionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    shop: str | None = Field(validation_alias="shop_code", description="the shop code the payload named")
    external_id: str | None
    status: RejectionStatus
    reason: str
    errors: list[dict[str, Any]] = Field(description="each problem with its field path and message")
    payload: Any = Field(description="the order as received (or as last corrected), kept for a replay")
    attempts: int
    order_id: int | None = Field(description="the order it became once resolved")
    created_at: datetime
    updated_at: datetime


class RejectionPage(Page[RejectionOut]):
    pass
