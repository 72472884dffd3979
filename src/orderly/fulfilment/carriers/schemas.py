"""Pydantic shapes of carrier accounts, quotes and label requests."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from orderly.channels.schemas import Address
from orderly.core.money import is_country
from orderly.core.text import StorableStr

#: The plugins an account may name (``carriers/registry.py: PLUGINS``).
Plugin = Literal["manual", "easypost", "dhl_express", "platform"]


class PartyIn(BaseModel):
    """The address parcels leave from, as the carrier prints it."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: StorableStr = Field(min_length=1, max_length=200)
    company: StorableStr = Field(default="", max_length=100)
    line1: StorableStr = Field(min_length=1, max_length=300)
    line2: StorableStr = Field(default="", max_length=300)
    city: StorableStr = Field(min_length=1, max_length=120)
    region: StorableStr = Field(default="", max_length=120)
    postal_code: StorableStr = Field(default="", max_length=20)
    country: StorableStr = Field(description="ISO 3166-1 alpha-2")
    phone: StorableStr = Field(default="", max_length=40)
    email: StorableStr = Field(default="", max_length=200)

    @field_validator("country")
    @classmethod
    def _country(cls, value: str) -> str:
        if not is_country(value.upper()):
            raise ValueError(f"{value!r} is not an ISO 3166-1 alpha-2 country code")
        return value.upper()


class ParcelSize(BaseModel):
    model_config = ConfigDict(extra="forbid")

    length_mm: int = Field(ge=1, le=100_000)
    width_mm: int = Field(ge=1, le=100_000)
    height_mm: int = Field(ge=1, le=100_000)


class CarrierSettings(BaseModel):
    """What an account needs beyond its credentials. ``ship_from`` is where its parcels leave from;
    ``account_number`` is the carrier's billing account (DHL Express); ``default_parcel`` is the box
    used when a parcel has no dimensions of its own."""

    model_config = ConfigDict(extra="forbid")

    ship_from: PartyIn | None = None
    account_number: StorableStr | None = Field(default=None, min_length=1, max_length=35)
    default_parcel: ParcelSize | None = None


class CarrierAccountIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    code: StorableStr = Field(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9_-]*$")
    name: StorableStr = Field(min_length=1, max_length=200)
    plugin: Plugin
    base_url: Address | None = Field(default=None, description="the carrier's (or a sandbox's) API address")
    credentials: dict[str, StorableStr] | None = Field(
        default=None, description="write-only: stored encrypted, never returned"
    )
    settings: CarrierSettings = Field(default_factory=CarrierSettings)
    active: bool = True


class CarrierAccountUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: StorableStr | None = Field(default=None, min_length=1, max_length=200)
    base_url: Address | None = Field(default=None, description="changing it needs the credentials again")
    credentials: dict[str, StorableStr] | None = Field(default=None, description="replaces the stored ones")
    settings: CarrierSettings | None = None
    active: bool | None = None


class CarrierAccountOut(BaseModel):
    id: int
    code: str
    name: str
    plugin: str
    base_url: str | None
    credentials: list[str] = Field(description="the names of the stored credentials; values never leave")
    settings: dict[str, Any]
    active: bool
    created_at: datetime


class PreferenceIn(BaseModel):
    """Which offers rate shopping may choose (``carriers/domain.py: Preference``)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    carriers: list[StorableStr] = Field(default_factory=list, max_length=50, description="allowed carriers")
    services: list[StorableStr] = Field(default_factory=list, max_length=50, description="allowed services")
    carrier: StorableStr | None = Field(default=None, max_length=100, description="forced carrier")
    service: StorableStr | None = Field(default=None, max_length=100, description="forced service")
    unknown_delivery_ok: bool = False


class RatesIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    carrier_account: StorableStr = Field(min_length=1, max_length=64)
    deliver_by: date | None = Field(default=None, description="the delivery promise; none: cheapest")
    ship_date: date | None = Field(default=None, description="default: today (UTC)")
    preference: PreferenceIn = Field(default_factory=PreferenceIn)
    parcel: ParcelSize | None = Field(default=None, description="the box, when the parcel has no dimensions")


class OfferOut(BaseModel):
    carrier: str
    service: str
    service_name: str
    cost: int = Field(description="minor units of currency")
    currency: str
    transit_days: int | None
    delivery_date: date | None
    arrives: date | None = Field(description="delivery date, or ship date + transit days; null: unknown")
    meets_promise: bool


class RatesOut(BaseModel):
    offers: list[OfferOut]
    chosen: OfferOut | None = Field(description="what rate shopping picks; null when nothing fits")
    reason: str | None = Field(default=None, description="why nothing was chosen")


class LabelIn(BaseModel):
    """Buy a label: a service code, or ``cheapest`` (rate shopping under the promise and preference).
    ``confirm_nothing_bought`` restarts a purchase whose outcome was unknown, once a person checked the
    carrier's account."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    carrier_account: StorableStr = Field(min_length=1, max_length=64)
    service: StorableStr = Field(default="cheapest", min_length=1, max_length=100)
    deliver_by: date | None = None
    preference: PreferenceIn = Field(default_factory=PreferenceIn)
    parcel: ParcelSize | None = None
    confirm_nothing_bought: bool = False


class LabelOutcomeIn(BaseModel):
    """A person's answer to a label purchase whose outcome was lost and that the carrier cannot be asked
    about (``state: unknown``), after looking in the carrier's account for reference ``SHP-<id>``:
    ``bought`` with the tracking number found there (and the carrier's shipment id, when it has its
    own), or not bought."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    bought: bool
    tracking_number: StorableStr | None = Field(default=None, min_length=1, max_length=100)
    carrier_shipment_id: StorableStr | None = Field(
        default=None, min_length=1, max_length=100, description="default: the tracking number"
    )
    note: StorableStr = Field(min_length=1, max_length=1000, description="what the person saw")

    @model_validator(mode="after")
    def _bought_names_its_tracking_number(self) -> LabelOutcomeIn:
        if self.bought and self.tracking_number is None:
            raise ValueError("tracking_number: a bought label's tracking number, as the carrier shows it")
        if not self.bought and (self.tracking_number or self.carrier_shipment_id):
            raise ValueError("tracking_number: only for a label that was bought")
        return self


class CarrierLabelOut(BaseModel):
    """A parcel's label from a carrier account: where its purchase or void stands, and the carrier's
    last refusal."""

    carrier_account: str
    state: str
    service: str
    deliver_by: date | None
    carrier_shipment_id: str | None
    has_file: bool
    error: str | None
    updated_at: datetime
