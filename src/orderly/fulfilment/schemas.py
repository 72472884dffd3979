from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Self

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    field_validator,
    model_validator,
)

from orderly.core.clock import utcnow
from orderly.core.money import is_currency
from orderly.core.pagination import MAX_ID
from orderly.core.phrases import Phrase
from orderly.core.text import StorableStr
from orderly.fulfilment.carriers.schemas import CarrierLabelOut
from orderly.fulfilment.domain import TrackingKind
from orderly.inventory.domain import MAX_QUANTITY


class ShipmentLineIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    line_no: int = Field(ge=1, le=10_000, description="the order line's number, from 1")
    quantity: int = Field(ge=1, le=MAX_QUANTITY)


class ShipmentIn(BaseModel):
    """A parcel for an order. Without ``lines`` it carries everything the order has left to ship;
    without ``warehouse`` it leaves from where the order holds that stock. A tracking number typed in
    (the manual carrier: a label bought or printed elsewhere) makes it ``label_bought``; ``ship`` hands
    it over at once."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    warehouse: StorableStr | None = Field(default=None, max_length=64, description="warehouse code")
    lines: list[ShipmentLineIn] | None = Field(default=None, min_length=1, max_length=1000)
    carrier: StorableStr | None = Field(default=None, min_length=1, max_length=100)
    service: StorableStr | None = Field(default=None, min_length=1, max_length=100)
    tracking_number: StorableStr | None = Field(
        default=None, min_length=1, max_length=100, pattern=r"^[A-Za-z0-9][A-Za-z0-9 ._/-]*$"
    )
    tracking_url: StorableStr | None = Field(default=None, max_length=500, pattern=r"^https?://\S+$")
    cost: int | None = Field(default=None, ge=0, le=10**12, description="minor units of cost_currency")
    cost_currency: StorableStr | None = Field(default=None, description="ISO 4217")
    weight_g: int | None = Field(default=None, ge=1, le=10_000_000)
    length_mm: int | None = Field(default=None, ge=1, le=100_000)
    width_mm: int | None = Field(default=None, ge=1, le=100_000)
    height_mm: int | None = Field(default=None, ge=1, le=100_000)
    ship: bool = Field(default=False, description="hand the parcel over now: its stock leaves")

    @field_validator("cost_currency")
    @classmethod
    def _currency(cls, value: str | None) -> str | None:
        if value is not None and not is_currency(value.upper()):
            raise ValueError(f"{value!r} is not an ISO 4217 currency code")
        return value.upper() if value else None

    @field_validator("lines")
    @classmethod
    def _distinct_lines(cls, value: list[ShipmentLineIn] | None) -> list[ShipmentLineIn] | None:
        if value is not None and len({line.line_no for line in value}) != len(value):
            raise ValueError("each order line appears once")
        return value

    @model_validator(mode="after")
    def _cost_has_currency(self) -> ShipmentIn:
        if (self.cost is None) != (self.cost_currency is None):
            raise ValueError("cost and cost_currency go together")
        return self

    def requested(self) -> dict[int, int] | None:
        return None if self.lines is None else {line.line_no: line.quantity for line in self.lines}


class ShipIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    note: StorableStr | None = Field(default=None, min_length=1, max_length=1000)


class VoidIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    reason: StorableStr = Field(min_length=1, max_length=500, description="why, kept in the history")


class ShipmentLineOut(BaseModel):
    line_no: int
    quantity: int


class ShipmentEventOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    from_status: str | None
    to_status: str
    actor: str
    message: str | None
    created_at: datetime


class WritebackOut(BaseModel):
    """Whether the parcel's carrier and tracking number reached its shop: ``queued`` (waiting, or
    retrying after a failure: ``error``), ``sending``, ``accepted`` (``platform_ids``: what the shop
    recorded), ``refused`` (``error``: the shop's reason; replay with ``POST
    /shipments/{id}/writeback``) or ``skipped`` (``note`` says why)."""

    model_config = ConfigDict(from_attributes=True)

    status: str
    platform_ids: list[str]
    carrier: str | None = Field(validation_alias="sent_carrier")
    tracking_number: str | None = Field(validation_alias="sent_tracking_number")
    note: str | None
    error: str | None
    attempts: int
    updated_at: datetime
    accepted_at: datetime | None


class ShipmentOut(BaseModel):
    id: int
    order_id: int
    warehouse: str
    status: str
    carrier_plugin: str
    carrier: str | None
    service: str | None
    tracking_number: str | None
    tracking_url: str | None
    cost: int | None
    cost_currency: str | None
    weight_g: int | None
    length_mm: int | None
    width_mm: int | None
    height_mm: int | None
    lines: list[ShipmentLineOut]
    events: list[ShipmentEventOut]
    created_at: datetime
    shipped_at: datetime | None
    carrier_label: CarrierLabelOut | None = Field(
        default=None, description="the label bought from a carrier account, where its purchase or void stands"
    )
    # None: the parcel has not left, or its shop takes no tracking numbers (orders sent by file or API).
    writeback: WritebackOut | None = None


class PickListIn(BaseModel):
    """The parcels to pick: these shipments, or every parcel of a warehouse whose items are still on
    the shelves (made or labelled, not yet picked)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    shipment_ids: list[Annotated[int, Field(ge=1, le=MAX_ID)]] | None = Field(
        default=None, min_length=1, max_length=5000
    )
    warehouse: StorableStr | None = Field(
        default=None, min_length=1, max_length=64, description="warehouse code"
    )

    @model_validator(mode="after")
    def _one_selection(self) -> Self:
        if (self.shipment_ids is None) == (self.warehouse is None):
            raise ValueError("name shipment_ids or a warehouse, not both")
        return self


class TrackingEventIn(BaseModel):
    """An event a person records, for a parcel whose carrier reports to nobody (the manual carrier):
    e.g. the buyer confirmed delivery."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    kind: TrackingKind
    occurred_at: AwareDatetime | None = Field(default=None, description="when it happened; default: now")
    description: StorableStr | None = Field(default=None, min_length=1, max_length=1000)
    location: StorableStr | None = Field(default=None, min_length=1, max_length=300)

    @field_validator("occurred_at")
    @classmethod
    def _not_ahead(cls, value: datetime | None) -> datetime | None:
        if value is not None and value > utcnow() + timedelta(minutes=5):
            raise ValueError("an event cannot be in the future")
        return value.astimezone(UTC) if value is not None else None


class TrackingEventOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    kind: TrackingKind | None
    code: str
    description: str | None
    location: str | None
    occurred_at: datetime
    source: str
    recorded_at: datetime


class ParcelToChaseOut(BaseModel):
    """A parcel on its way that the stale or late alert is about (``service.parcels_to_chase``)."""

    shipment_id: int
    order_id: int
    order_number: str
    shop: str
    warehouse: str
    status: str
    carrier: str | None
    tracking_number: str | None
    tracking_url: str | None
    shipped_at: datetime | None
    promised_by: datetime | None
    quiet: bool = Field(description="no carrier event for longer than the stale alert allows")
    late: bool = Field(description="its promised delivery has passed")
    last_event: TrackingEventOut | None = Field(description="the newest carrier event heard of it")


class TrackingOut(BaseModel):
    """A parcel's journey: its status, its promise, and every event heard of it, oldest first."""

    shipment_id: int
    status: str
    carrier: str | None
    tracking_number: str | None
    promised_by: datetime | None
    last_event_at: datetime | None
    delivered_at: datetime | None
    events: list[TrackingEventOut]


class LabelBatchIn(PickListIn):
    """The parcels to print: these shipments, or every labelled parcel of a warehouse not yet handed
    over."""

    slips: bool = Field(default=False, description="each label followed by its packing slip")


class RerouteIn(BaseModel):
    """What a person asks of a re-route: a warehouse of their choosing, or a split; neither routes as
    the rules say."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    warehouse: StorableStr | None = Field(
        default=None, min_length=1, max_length=32, description="ship it all from this warehouse's code"
    )
    split: bool = Field(
        default=False, description="take its lines from several of the warehouses its route allows"
    )

    @model_validator(mode="after")
    def _one(self) -> Self:
        if self.warehouse is not None and self.split:
            raise ValueError("ask for a warehouse or a split, not both")
        return self


class RerouteOut(BaseModel):
    """An order routed again: where its stock is now and why."""

    order_id: int
    status: str
    warehouses: list[str] = Field(description="where its stock is reserved now; several when split")
    moved: bool = Field(description="whether its reservation changed")
    note: str = Field(description="as kept in the order's history")
    routing: dict[str, Any] | None = Field(
        description="the routing decision, as on the order; null when no routing rule applies"
    )


PACKER_HELP = (
    "who is packing, when several packing tables share one token (default: the token's name); each "
    "packer's parcel is remembered"
)


class PackIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    packer: StorableStr | None = Field(default=None, min_length=1, max_length=80, description=PACKER_HELP)


class PackScanIn(PackIn):
    """One code from a scanner: a parcel's (``SHP-<id>``, or its order's number) starts packing it
    (scanned again, closes it); an item's (barcode or SKU) goes into the packer's parcel, or the one
    named by ``shipment_id``."""

    code: StorableStr = Field(min_length=1, max_length=200)
    shipment_id: int | None = Field(default=None, ge=1, le=MAX_ID)


class PackItemOut(BaseModel):
    """One stock unit of the parcel (a bundle's components are scanned, not the kit)."""

    sku: str
    name: str
    barcode: str | None
    expected: int
    scanned: int


class PackOut(BaseModel):
    shipment_id: int
    reference: str = Field(description="the parcel's code, on its label and slip")
    order_id: int
    order_number: str
    warehouse: str
    status: str
    complete: bool = Field(description="every unit scanned")
    items: list[PackItemOut]


class PackScanOut(BaseModel):
    message: str = Field(description="what the scan did, for the packer's screen")
    sku: str | None = Field(description="the SKU scanned, when it was an item")
    parcel: PackOut
    _phrase: Phrase | None = PrivateAttr(default=None)

    @classmethod
    def said(cls, message: Phrase, *, sku: str | None, parcel: PackOut) -> PackScanOut:
        """The answer with its message as a phrase: its English here, the phrase kept (never sent by
        the API) for the console to say it in the packer's language."""
        answer = cls(message=message.english(), sku=sku, parcel=parcel)
        answer._phrase = message
        return answer

    @property
    def phrase(self) -> Phrase | None:
        return self._phrase
