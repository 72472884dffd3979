"""The normalized order every channel maps into, and what the API returns about orders."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal, NotRequired

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    field_serializer,
    with_config,
)
from typing_extensions import TypedDict

from orderly.core.money import is_country, is_currency
from orderly.core.pagination import Page
from orderly.core.phrases import without_phrases
from orderly.core.text import StorableStr
from orderly.orders.domain import HoldReason, OrderStatus, PaymentStatus

# Bounds keep every amount and every computed total far inside a 64-bit integer.
MAX_AMOUNT = 10**13
MAX_TOTAL = 10**15
MinorUnits = Annotated[
    int, Field(strict=True, ge=0, le=MAX_AMOUNT, description="integer minor units (cents, fen...)")
]
#: The fields that hold MinorUnits, so a wrong value's message can say what is expected.
MONEY_FIELDS = frozenset(
    {"unit_price", "discount", "tax", "shipping_total", "discount_total", "tax_total", "total"}
)
MINOR_UNITS_EXPECTED = "expected an amount in minor units, e.g. 1999 for 19.99 USD"


def _plausible_instant(value: datetime) -> datetime:
    if 1970 < value.year < 2999:  # an offset moves an instant by less than a day: no year to cross
        return value
    try:
        year = value.astimezone(UTC).year
    except OverflowError:
        year = 0
    if not 1970 <= year <= 2999:
        raise ValueError("timestamp is outside 1970-2999 UTC")
    return value


def _country(value: str) -> str:
    value = value.upper()
    if not is_country(value):
        raise ValueError(f"{value[:20]!r} is not a country: expected an ISO 3166-1 alpha-2 code such as US")
    return value


def _currency(value: str) -> str:
    value = value.upper()
    if not is_currency(value):
        raise ValueError(f"{value[:20]!r} is not a currency: expected an ISO 4217 code such as USD")
    return value


def _text(max_length: int, min_length: int = 0) -> Any:
    return StringConstraints(min_length=min_length, max_length=max_length)


Timestamp = Annotated[AwareDatetime, AfterValidator(_plausible_instant)]
Country = Annotated[str, AfterValidator(_country)]  # the validator says what is expected
Currency = Annotated[str, AfterValidator(_currency)]
Fulfillment = Literal["merchant", "platform"]
Optional200 = Annotated[Annotated[str, _text(200)] | None, Field(default=None)]
Optional40 = Annotated[Annotated[str, _text(40)] | None, Field(default=None)]

# The normalized order is a set of TypedDicts: pydantic checks them entirely in its compiled core,
# five times faster than building models, and ingest reads the checked dicts directly. NUL, which
# PostgreSQL cannot store, and amount totals are checked by ingest for the whole batch at once.
_STRICT = ConfigDict(extra="forbid", str_strip_whitespace=True)


@with_config(_STRICT)
class Buyer(TypedDict):
    name: Optional200
    email: Annotated[Annotated[str, _text(320)] | None, Field(default=None)]
    phone: Optional40
    platform_id: Optional200


@with_config(_STRICT)
class Address(TypedDict):
    """Every part may be missing: the platform sold the order, so it enters and is held until a person
    completes what the parcel needs (``orders.domain.address_hold``)."""

    name: Optional200
    line1: Annotated[Annotated[str, _text(300)] | None, Field(default=None)]
    line2: Annotated[Annotated[str, _text(300)] | None, Field(default=None)]
    city: Annotated[Annotated[str, _text(120)] | None, Field(default=None)]
    region: Annotated[Annotated[str, _text(120)] | None, Field(default=None)]
    postal_code: Annotated[Annotated[str, _text(20)] | None, Field(default=None)]
    country: Annotated[Country | None, Field(default=None, description="ISO 3166-1 alpha-2")]
    phone: Optional40


NO_ADDRESS = Address(
    name=None, line1=None, line2=None, city=None, region=None, postal_code=None, country=None, phone=None
)


def _address_or_none(value: Any) -> Any:
    # A blank part is a missing one; no address at all (a cancelled or platform-fulfilled order, a
    # platform that withholds it) is an address with every part missing.
    if value is None:
        return dict(NO_ADDRESS)
    if isinstance(value, dict):
        return {k: (None if isinstance(v, str) and not v.strip() else v) for k, v in value.items()}
    return value


@with_config(_STRICT)
class NormalizedLine(TypedDict):
    """Needs a ``platform_sku`` or a ``listing_id`` (checked where lines are resolved)."""

    platform_sku: Optional200
    listing_id: Optional200
    title: Annotated[Annotated[str, _text(500)] | None, Field(default=None)]
    quantity: Annotated[
        int,
        Field(
            strict=True,
            ge=0,
            le=100_000,
            description="units sold; 0 for an item cancelled on the platform, kept for the record",
        ),
    ]
    shipped: Annotated[
        int,
        Field(
            strict=True,
            ge=0,
            le=100_000,
            default=0,
            description="units the platform already shipped (outside the hub); never more than quantity",
        ),
    ]
    # Left out by channels that report no returns (absent is none), so their lines stay as they were.
    returned: NotRequired[
        Annotated[
            int,
            Field(
                strict=True,
                ge=0,
                le=100_000,
                description="units the platform reports came back (a return under way or received); "
                "never more than shipped. An order whose every unit came back is returned; its stock is "
                "not put back (after-sales inspects the goods)",
            ),
        ]
    ]
    unit_price: MinorUnits
    discount: Annotated[MinorUnits, Field(default=0)]
    tax: Annotated[MinorUnits, Field(default=0)]


@with_config(_STRICT)
class Shipment(TypedDict):
    """A parcel the platform reports sent (by the seller in the platform's admin, an app, the hub)."""

    carrier: Optional200
    tracking_number: Optional200
    tracking_url: Annotated[Annotated[str, _text(2000)] | None, Field(default=None)]
    shipped_at: Annotated[Timestamp | None, Field(default=None)]


MAX_SHIPMENTS = 100


@with_config(_STRICT)
class NormalizedOrder(TypedDict):
    """One platform order after mapping; ``updated_at`` orders its versions."""

    shop: Annotated[str, _text(64, min_length=1), Field(description="the shop's code in Orderly")]
    external_id: Annotated[str, _text(200, min_length=1)]
    placed_at: Timestamp
    updated_at: Timestamp
    currency: Annotated[Currency, Field(description="ISO 4217")]
    cancelled: Annotated[bool, Field(default=False)]
    cancel_requested: Annotated[
        bool, Field(default=False, description="the buyer asked to cancel: held until a person decides")
    ]
    fulfillment: Annotated[
        Fulfillment,
        Field(
            default="merchant",
            description="who ships it: the seller (from the hub's stock) or the platform (e.g. Amazon FBA)",
        ),
    ]
    # Absent is false: the channels that do not say keep their orders (and digests) as they were.
    shipped_from_stock: NotRequired[
        Annotated[
            bool,
            Field(
                description="units the platform reports shipped before the hub saw the order left the hub's "
                "own shelves (the seller shipped them outside the hub): a first version already shipped "
                "takes them out of stock as shipped. False: they take none (the goods left before the hub "
                "counted its stock, as in an import of past orders)",
            ),
        ]
    ]
    payment_status: Annotated[PaymentStatus, Field(default=PaymentStatus.PAID)]
    payment_method: Annotated[Annotated[str, _text(64)] | None, Field(default=None)]
    platform_status: Annotated[Annotated[str, _text(64)] | None, Field(default=None)]
    buyer: Annotated[
        Buyer, Field(default_factory=lambda: Buyer(name=None, email=None, phone=None, platform_id=None))
    ]
    shipping_address: Annotated[
        Address, BeforeValidator(_address_or_none), Field(default_factory=lambda: dict(NO_ADDRESS))
    ]
    billing_country: Annotated[Country | None, Field(default=None)]
    lines: Annotated[list[NormalizedLine], Field(min_length=1, max_length=500)]
    shipments: Annotated[
        list[Shipment] | None,
        Field(
            default=None,
            max_length=MAX_SHIPMENTS,
            description="the platform's shipments as it now lists them (they replace the stored ones); "
            "null when the platform does not say (the stored ones stay)",
        ),
    ]
    shipping_total: Annotated[MinorUnits, Field(default=0)]
    discount_total: Annotated[MinorUnits, Field(default=0)]
    tax_total: Annotated[MinorUnits, Field(default=0)]
    total: Annotated[MinorUnits | None, Field(default=None, description="defaults to the sum of the parts")]
    buyer_remark: Annotated[Annotated[str, _text(5000)] | None, Field(default=None)]
    seller_remark: Annotated[Annotated[str, _text(5000)] | None, Field(default=None)]
    tags: Annotated[list[Annotated[str, _text(64, min_length=1)]], Field(default_factory=list, max_length=50)]
    raw: Annotated[dict[str, Any] | None, Field(default=None, description="the platform payload, verbatim")]


def amounts(order: NormalizedOrder) -> tuple[int, int]:
    """(subtotal, total): lines less their discounts; the total the platform gave, else the sum."""
    subtotal = sum(line["unit_price"] * line["quantity"] - line["discount"] for line in order["lines"])
    total = order["total"]
    if total is None:
        total = max(0, subtotal + order["shipping_total"] + order["tax_total"] - order["discount_total"])
    return subtotal, total


class IngestRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # Each order is checked on its own, so one bad order is rejected without failing the batch.
    orders: list[dict[str, Any]] = Field(
        min_length=1,
        max_length=10_000,
        json_schema_extra={"items": {"$ref": "#/components/schemas/NormalizedOrder"}},
    )


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
    """Parts may be missing: such an order is held for its address until a person completes it."""

    name: str | None
    line1: str | None
    line2: str | None
    city: str | None
    region: str | None
    postal_code: str | None
    country: str | None = Field(description="ISO 3166-1 alpha-2")
    phone: str | None


class ShipmentOut(BaseModel):
    carrier: str | None
    tracking_number: str | None
    tracking_url: str | None
    shipped_at: datetime | None


class HoldOut(BaseModel):
    reason: HoldReason
    message: str
    details: list[dict[str, Any]]
    # The message as a phrase the console translates; never in the API's answer (``core/phrases.py``).
    phrase: dict[str, Any] | None = Field(default=None, exclude=True)


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
    review: dict[str, Any] | None = Field(
        description="the auto-review decision: outcome, the rule set's version, every rule that fired and "
        "why (rule, version, message, actions), the risk score and its factors, and any tags, priority, "
        "warehouse, carrier, split or merge the rules chose"
    )
    routing: dict[str, Any] | None = Field(
        default=None,
        description="the routing decision: the routing rules that fired, the warehouses in the order "
        "tried and why, those passed over and why, split or not and why, the warehouses chosen, any "
        "carrier preference, and the same as sentences (explanation); null when no routing rule applies",
    )
    warehouse: str | None = Field(description="code of the warehouse holding its stock, if allocated")
    placed_at: datetime
    platform_updated_at: datetime
    created_at: datetime
    updated_at: datetime
    lines: list[OrderLineOut]
    shipments: list[ShipmentOut] = Field(description="the parcels the platform reports sent, with tracking")

    @field_serializer("review", "routing")
    def _english_only(self, stored: dict[str, Any] | None) -> dict[str, Any] | None:
        # The phrases kept for the console (core/phrases.py) stay out of the API's answer.
        return None if stored is None else dict(without_phrases(stored))


class OrderEventOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    kind: str
    from_status: OrderStatus | None
    to_status: OrderStatus | None
    actor: str
    message: str | None
    # The message as a phrase the console translates; never in the API's answer (``core/phrases.py``).
    phrase: dict[str, Any] | None = Field(default=None, exclude=True)
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


class AddressCorrectionIn(BaseModel):
    """The parts of the shipping address to change; parts not sent stay, ``null`` clears an optional
    one."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: StorableStr = Field(default="", min_length=1, max_length=200)
    line1: StorableStr = Field(default="", min_length=1, max_length=300)
    line2: StorableStr | None = Field(default=None, min_length=1, max_length=300)
    city: StorableStr = Field(default="", min_length=1, max_length=120)
    region: StorableStr | None = Field(default=None, min_length=1, max_length=120)
    postal_code: StorableStr | None = Field(default=None, min_length=1, max_length=20)
    country: Country = Field(default="", description="ISO 3166-1 alpha-2")
    phone: StorableStr | None = Field(default=None, min_length=1, max_length=40)
    note: StorableStr | None = Field(default=None, max_length=500, description="why, kept in the history")
