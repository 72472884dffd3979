from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from orderly.core.money import is_country
from orderly.core.pagination import Page
from orderly.core.text import StorableStr
from orderly.inventory.domain import BIN_PATTERN, MAX_QUANTITY, MAX_WALK


def country_code(value: str | None) -> str | None:
    if value is not None and not is_country(value.upper()):
        raise ValueError(f"{value!r} is not an ISO 3166-1 alpha-2 country code")
    return value.upper() if value else None


SHIP_ON_PACK_HELP = (
    "a parcel packed by scan is handed over at once (its stock leaves); false (the default): it waits, "
    "packed, until the carrier's pickup or the packer confirms it (POST /shipments/{id}/ship)"
)


class WarehouseIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    code: StorableStr = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]*$")
    name: StorableStr = Field(min_length=1, max_length=200)
    kind: StorableStr = Field(default="own", pattern="^(own|overseas|3pl|fba)$")
    country: StorableStr | None = Field(default=None, description="ISO 3166-1 alpha-2")
    priority: int = Field(default=100, ge=0, le=10_000, description="lower is tried first")
    ship_on_pack: bool = Field(default=False, description=SHIP_ON_PACK_HELP)

    _country = field_validator("country")(country_code)


class WarehouseUpdate(BaseModel):
    """Only the fields sent change. The code cannot change: people and rules name warehouses by it."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: StorableStr = Field(default="", min_length=1, max_length=200)
    kind: StorableStr = Field(default="own", pattern="^(own|overseas|3pl|fba)$")
    country: StorableStr | None = Field(default=None, description="ISO 3166-1 alpha-2; null clears it")
    priority: int = Field(default=100, ge=0, le=10_000, description="lower is tried first")
    active: bool = Field(default=True, description="an inactive warehouse is never allocated from")
    ship_on_pack: bool = Field(default=False, description=SHIP_ON_PACK_HELP)

    _country = field_validator("country")(country_code)


class WarehouseOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    code: str
    name: str
    kind: str
    country: str | None
    priority: int
    active: bool
    ship_on_pack: bool = Field(description=SHIP_ON_PACK_HELP)
    created_at: datetime


class _Movement(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    sku: StorableStr = Field(min_length=1, max_length=64)
    warehouse: StorableStr = Field(min_length=1, max_length=64, description="warehouse code")
    reason: StorableStr | None = Field(default=None, max_length=500)


class ReceiveIn(_Movement):
    quantity: int = Field(gt=0, le=MAX_QUANTITY)


class AdjustIn(_Movement):
    delta: int = Field(ge=-MAX_QUANTITY, le=MAX_QUANTITY, description="positive adds, negative removes")


class CountIn(_Movement):
    counted: int = Field(ge=0, le=MAX_QUANTITY)


class SafetyIn(_Movement):
    safety: int = Field(ge=0, le=MAX_QUANTITY)


class StockOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    sku: str
    warehouse: str
    on_hand: int
    reserved: int
    safety: int
    available: int
    bin: str | None = Field(default=None, description="where the SKU is picked in the warehouse")
    walk: int | None = Field(default=None, description="the bin's place on the picker's walk, if set")
    in_transit: int = Field(
        description="units on their way here on shipped transfers, not yet received or written off; "
        "not part of on hand or available until received"
    )


class StockRowOut(BaseModel):
    """One SKU's stock: totals over every warehouse, and what can be sold from the active ones."""

    id: int
    sku: str
    name: str
    is_bundle: bool
    on_hand: int = Field(description="0 for a bundle: its stock is that of its components")
    reserved: int
    safety: int
    in_transit: int = Field(description="units on the road between warehouses, over every warehouse")
    sellable: int = Field(
        description="units that can still be sold from active warehouses; for a bundle, as many as its "
        "scarcest component allows (what the shops are offered, before each shop's buffer)"
    )
    warehouses: list[StockOut]


class StockPage(Page[StockRowOut]):
    pass


class DriftOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    product_id: int
    warehouse_id: int
    level: tuple[int, int, int]
    ledger: tuple[int, int, int]
    cannot_repair: str | None = Field(
        None, description="why a repair leaves this level as it is (null: a repair sets it to the ledger's)"
    )


class VerifyOut(BaseModel):
    repaired: bool = Field(description="whether any level was rewritten")
    drifts: list[DriftOut]


WALK_HELP = (
    "the bin's place on the picker's walk (lower first); without one the bin follows the numbered "
    "bins, in the natural order of its code (A-2 before A-10)"
)


class BinIn(BaseModel):
    """Where a SKU is picked in a warehouse. Setting it again moves the SKU to the new bin."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    sku: StorableStr = Field(min_length=1, max_length=64)
    warehouse: StorableStr = Field(min_length=1, max_length=64, description="warehouse code")
    bin: StorableStr = Field(min_length=1, max_length=32, pattern=BIN_PATTERN, description="e.g. A-02-3")
    walk: int | None = Field(default=None, ge=0, le=MAX_WALK, description=WALK_HELP)


class BinsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    bins: list[BinIn] = Field(min_length=1, max_length=5000)

    @field_validator("bins")
    @classmethod
    def _each_once(cls, value: list[BinIn]) -> list[BinIn]:
        seen: set[tuple[str, str]] = set()
        for item in value:
            if (item.sku, item.warehouse) in seen:
                raise ValueError(f"{item.sku} in {item.warehouse} is given twice")
            seen.add((item.sku, item.warehouse))
        return value


class BinOut(BaseModel):
    sku: str
    warehouse: str
    bin: str
    walk: int | None


# --- transfers --------------------------------------------------------------------------------------

Sku = Field(min_length=1, max_length=64)
Note = Field(default=None, min_length=1, max_length=1000)


def _distinct_skus(lines: list[TransferLineIn] | list[ReceiptLineIn]) -> None:
    if len({line.sku for line in lines}) != len(lines):
        raise ValueError("each SKU appears once")


class TransferLineIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    sku: StorableStr = Sku
    quantity: int = Field(gt=0, le=MAX_QUANTITY)


class TransferIn(BaseModel):
    """Units to move from one warehouse to another. Created, they are held at the source (orders and
    shops can no longer have them) until the transfer ships or is cancelled. Bundles are refused:
    name their components."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    from_warehouse: StorableStr = Field(min_length=1, max_length=64, description="source warehouse code")
    to_warehouse: StorableStr = Field(min_length=1, max_length=64, description="destination warehouse code")
    lines: list[TransferLineIn] = Field(min_length=1, max_length=1000)
    reference: StorableStr | None = Field(
        default=None, min_length=1, max_length=100, description="yours: a purchase order, a forwarder's bill"
    )
    note: StorableStr | None = Note

    @field_validator("lines")
    @classmethod
    def _distinct(cls, value: list[TransferLineIn]) -> list[TransferLineIn]:
        _distinct_skus(value)
        return value

    @field_validator("to_warehouse")
    @classmethod
    def _elsewhere(cls, value: str, info: ValidationInfo) -> str:
        if value == info.data.get("from_warehouse"):
            raise ValueError("a transfer goes to another warehouse than it leaves from")
        return value


class TransferShipIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    note: StorableStr | None = Note


class ReceiptLineIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    sku: StorableStr = Sku
    quantity: int = Field(ge=0, le=MAX_QUANTITY, description="units that arrived now")
    reason: StorableStr | None = Field(
        default=None, min_length=1, max_length=500, description="why this line differs, when it does"
    )


class TransferReceiveIn(BaseModel):
    """What arrived, per SKU. A SKU receiving more than is in transit (over), and on ``close`` every
    SKU short of it (the rest is written off), need a reason: the line's, else ``reason``. Without
    ``close`` what has not arrived stays in transit for a later receipt."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    lines: list[ReceiptLineIn] = Field(default_factory=list, max_length=1000)
    close: bool = Field(default=False, description="the last receipt: write off what has not arrived")
    reason: StorableStr | None = Field(
        default=None, min_length=1, max_length=500, description="why, for every difference without its own"
    )
    note: StorableStr | None = Note

    @field_validator("lines")
    @classmethod
    def _distinct(cls, value: list[ReceiptLineIn]) -> list[ReceiptLineIn]:
        _distinct_skus(value)
        return value


class TransferCancelIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    reason: StorableStr = Field(min_length=1, max_length=500, description="why, kept in the history")


class TransferLineOut(BaseModel):
    sku: str
    quantity: int
    received: int
    written_off: int
    in_transit: int
    difference: str | None = Field(description="over or short, and why")


class TransferEventOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    from_status: str | None
    to_status: str
    actor: str
    message: str | None
    created_at: datetime


class TransferOut(BaseModel):
    id: int
    from_warehouse: str
    to_warehouse: str
    status: str
    reference: str | None
    note: str | None
    created_by: str
    lines: list[TransferLineOut]
    events: list[TransferEventOut]
    created_at: datetime
    updated_at: datetime
    shipped_at: datetime | None
    received_at: datetime | None


class TransferPage(Page[TransferOut]):
    pass
