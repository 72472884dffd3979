"""What a script tells the sandbox: the same models for the Python API and the ``/_sandbox`` HTTP API."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

FinancialStatus = Literal[
    "pending", "authorized", "partially_paid", "paid", "partially_refunded", "refunded", "voided"
]
CancelReason = Literal["customer", "fraud", "inventory", "declined", "other"]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class VariantIn(_In):
    sku: str = ""
    price: Decimal = Field(default=Decimal("10.00"), ge=0)
    title: str = "Default Title"
    grams: int = Field(default=0, ge=0)
    available: int = 0  # opening stock at ``location_id``
    location_id: int | None = None  # where the variant is stocked: the shop's primary location when None


class ProductIn(_In):
    title: str = Field(min_length=1)
    vendor: str | None = None
    variants: list[VariantIn] = Field(default_factory=lambda: [VariantIn()], min_length=1)


class LocationIn(_In):
    name: str = Field(min_length=1)
    country_code: str = Field(default="US", min_length=2, max_length=2)
    fulfillment_service: str | None = None  # a location a fulfillment service (a 3PL's app) runs


class AddressIn(_In):
    first_name: str | None = None
    last_name: str | None = None
    company: str | None = None
    address1: str
    address2: str | None = None
    city: str
    province: str | None = None
    province_code: str | None = None
    zip: str | None = None
    country_code: str = Field(min_length=2, max_length=2)
    phone: str | None = None


class CustomerIn(_In):
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    phone: str | None = None


class LineIn(_In):
    """A line names its variant by id or by SKU; ``price`` overrides the variant's."""

    variant_id: int | None = None
    sku: str | None = None
    quantity: int = Field(default=1, gt=0)
    price: Decimal | None = Field(default=None, ge=0)

    @model_validator(mode="after")
    def _names_a_variant(self) -> LineIn:
        if self.variant_id is None and not self.sku:
            raise ValueError("a line needs a variant_id or a sku")
        return self


_DEFAULT_ADDRESS = AddressIn(
    first_name="Bob",
    last_name="Norman",
    address1="Chestnut Street 92",
    city="Louisville",
    province="Kentucky",
    province_code="KY",
    zip="40202",
    country_code="US",
    phone="+1(502)-459-2181",
)


def numbered_buyer(number: int) -> dict[str, Any]:
    """The customer and shipping address of buyer ``number``, for checkouts from many buyers (one
    buyer placing every order looks like fraud to auto-review)."""
    name = {"first_name": "Buyer", "last_name": str(number)}
    return {
        "customer": {**name, "email": f"buyer{number}@mail.example.com"},
        "shipping_address": {
            **name,
            "address1": f"{number + 1} Chestnut Street",
            "city": "Louisville",
            "province_code": "KY",
            "zip": "40202",
            "country_code": "US",
            "phone": f"+1 502 {200 + number % 700} {number % 10_000:04d}",
        },
    }


class OrderIn(_In):
    """A checkout. ``discount`` is an order discount code spread across the lines; ``tax_rate`` is
    added on top of each line after its discount."""

    lines: list[LineIn] = Field(min_length=1)
    customer: CustomerIn | None = Field(
        default_factory=lambda: CustomerIn(
            first_name="Bob", last_name="Norman", email="bob.norman@mail.example.com"
        )
    )
    shipping_address: AddressIn | None = _DEFAULT_ADDRESS
    billing_address: AddressIn | None = None  # the shipping address when not given
    shipping_price: Decimal = Field(default=Decimal("0"), ge=0)
    discount: Decimal = Field(default=Decimal("0"), ge=0)
    discount_code: str = "SANDBOX"
    tax_rate: Decimal = Field(default=Decimal("0"), ge=0, le=1)
    note: str | None = None
    tags: list[str] = Field(default_factory=list)
    financial_status: FinancialStatus = "paid"
    gateway: str = "bogus"


class OrderChange(_In):
    """What a buyer or the merchant changes on an order; fields left out stay as they are."""

    note: str | None = None
    tags: list[str] | None = None
    email: str | None = None
    shipping_address: AddressIn | None = None


class CancelIn(_In):
    reason: CancelReason = "customer"


class WebhookTarget(_In):
    url: str = Field(min_length=1)
    secret: str = Field(min_length=1)


class Faults(_In):
    """Faults to inject, drawn from a generator seeded with ``seed`` (reseeded whenever the faults are
    set), so a run is reproducible. Fractions are of Admin API calls, or of webhook deliveries."""

    seed: int = 0
    rate_limited: float = Field(default=0.0, ge=0, le=1)  # answered 429 with Retry-After
    retry_after: float = Field(default=2.0, ge=0)  # what those 429s ask the client to wait
    server_error: float = Field(default=0.0, ge=0, le=1)  # answered 500
    slow: float = Field(default=0.0, ge=0, le=1)  # answered only after slow_seconds
    slow_seconds: float = Field(default=5.0, ge=0)
    malformed_pages: int = Field(default=0, ge=0)  # the next n orders.json pages are invalid JSON
    webhook_drop: float = Field(default=0.0, ge=0, le=1)  # never delivered
    webhook_duplicate: float = Field(default=0.0, ge=0, le=1)  # delivered twice, same webhook id

    @model_validator(mode="after")
    def _one_fault_per_call(self) -> Faults:
        if self.rate_limited + self.server_error + self.slow > 1:
            raise ValueError("rate_limited + server_error + slow is a share of calls: at most 1")
        return self
