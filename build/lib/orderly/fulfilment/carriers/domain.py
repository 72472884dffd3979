"""Pure carrier rules: the plain data plugins take and give, units and money at the edge, and rate
shopping. No I/O here.

Rate shopping picks the cheapest offer that meets the delivery promise. A promise is a date the parcel
must arrive by; an offer meets it when its delivery date (given, or the ship date plus its transit
days, counted as calendar days: carriers give no business calendar) is on or before it. An offer whose
delivery is unknown never meets a promise unless the preference allows it: unknown is never taken as
fast. A preference (from a person or a routing rule) narrows the offers to carriers or services, or
forces one; without a promise the cheapest allowed offer wins.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

from orderly.core.errors import Conflict, DomainError
from orderly.core.money import is_currency, minor_unit_exponent
from orderly.fulfilment.domain import TrackingEvent, TrackingKind

# --- what a plugin takes and gives: plain data, in hub units (``connector.py`` says how) -------------


@dataclass(frozen=True)
class CarrierAccountRef:
    """What a connector needs to reach one carrier account. ``base_url`` points at it or a sandbox."""

    account_id: int
    code: str
    base_url: str
    credentials: Mapping[str, str]  # decrypted for this call only; never logged
    settings: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Party:
    """An address as the hub holds it; ``company`` empty for a private person."""

    name: str
    line1: str
    city: str
    postal_code: str
    country: str  # ISO 3166 alpha-2
    line2: str = ""
    region: str = ""
    phone: str = ""
    email: str = ""
    company: str = ""


@dataclass(frozen=True)
class CustomsLine:
    description: str
    quantity: int
    value: int  # the line's total, minor units of ``currency``
    currency: str
    weight_g: int  # the line's total
    origin_country: str = ""
    hs_code: str = ""
    sku: str = ""


@dataclass(frozen=True)
class ParcelSpec:
    """One parcel to quote or buy, in hub units: grams and millimetres."""

    reference: str  # the hub's shipment reference, sent to the carrier and used to find it again
    sender: Party
    recipient: Party
    weight_g: int
    length_mm: int
    width_mm: int
    height_mm: int
    ship_date: date
    customs: tuple[CustomsLine, ...] = ()  # cross-border only
    description: str = "Goods"

    @property
    def cross_border(self) -> bool:
        return self.sender.country != self.recipient.country


@dataclass(frozen=True)
class Offer:
    """One way to send the parcel, as quoted. ``offer_id`` and ``carrier_shipment_id`` are what the
    carrier needs to buy it (EasyPost: the rate and its shipment; DHL: the product code alone)."""

    carrier: str  # opaque, as the carrier names it: "USPS", "DHL Express"
    service: str  # opaque service code: "Priority", "P"
    service_name: str
    cost: int  # minor units of ``currency``
    currency: str
    transit_days: int | None = None  # None: unknown, never zero
    delivery_date: date | None = None
    offer_id: str = ""
    carrier_shipment_id: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "carrier": self.carrier,
            "service": self.service,
            "service_name": self.service_name,
            "cost": self.cost,
            "currency": self.currency,
            "transit_days": self.transit_days,
            "delivery_date": self.delivery_date.isoformat() if self.delivery_date else None,
            "offer_id": self.offer_id,
            "carrier_shipment_id": self.carrier_shipment_id,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Offer:
        when = data.get("delivery_date")
        return cls(**{**data, "delivery_date": date.fromisoformat(when) if when else None})


@dataclass(frozen=True)
class Label:
    """A bought label: the file kept by the hub (reprints never call the carrier) and what it cost."""

    carrier_shipment_id: str
    tracking_number: str
    content: bytes
    file_format: str  # "pdf"
    cost: int
    currency: str
    carrier: str
    service: str
    tracking_url: str | None = None
    delivery_date: date | None = None
    extra: Mapping[str, str] = field(default_factory=dict)  # e.g. DHL's pickup confirmation number


@dataclass(frozen=True)
class BoughtLabel:
    """What void and tracking need of a stored label."""

    carrier_shipment_id: str
    tracking_number: str
    carrier: str = ""
    extra: Mapping[str, str] = field(default_factory=dict)


class VoidOutcome(StrEnum):
    VOIDED = "voided"  # done (or nothing to refund: the carrier bills on scan)
    PENDING = "pending"  # asked; the carrier decides later, the label must not be used
    REFUSED = "refused"  # the label stays as it was; ``reason`` says why


@dataclass(frozen=True)
class VoidResult:
    outcome: VoidOutcome
    reason: str = ""


@dataclass(frozen=True)
class CarrierEvent:
    """One carrier event. ``kind`` is None for an event that moves nothing (EasyPost ``unknown`` and
    ``error``): kept as text on the timeline."""

    tracking_number: str
    occurred_at: datetime  # aware UTC when the carrier gives an offset, else as given (naive)
    carrier_code: str
    description: str
    kind: TrackingKind | None
    place: str = ""

    def on_timeline(self) -> TrackingEvent:
        """The event as a parcel's timeline keeps it. A time without an offset (DHL gives the
        checkpoint's local time, its zone unpublished) is read as UTC: it may sit hours off on the
        timeline, never out of order within one carrier's list, which is sorted by the carrier."""
        when = self.occurred_at if self.occurred_at.tzinfo else self.occurred_at.replace(tzinfo=UTC)
        return TrackingEvent(
            kind=self.kind,
            occurred_at=when.astimezone(UTC),
            code=self.carrier_code,
            description=self.description or None,
            location=self.place or None,
        )


@dataclass(frozen=True)
class TrackingUpdate:
    """What a webhook delivery says: one parcel's events so far (oldest first), keyed for de-duplication
    by ``event_id`` (deliveries come at least once)."""

    event_id: str
    tracking_number: str
    carrier_shipment_id: str
    events: tuple[CarrierEvent, ...]


# --- units and money at the edge ---------------------------------------------------------------------

GRAMS_PER_OUNCE = Decimal("28.349523125")
MM_PER_INCH = Decimal("25.4")
_TENTH = Decimal("0.1")


def ounces(grams: int) -> Decimal:
    """Grams as ounces to one decimal, never below 0.1 (a carrier refuses a weightless parcel)."""
    return max(_TENTH, (Decimal(grams) / GRAMS_PER_OUNCE).quantize(_TENTH, ROUND_HALF_UP))


def inches(mm: int) -> Decimal:
    return max(_TENTH, (Decimal(mm) / MM_PER_INCH).quantize(_TENTH, ROUND_HALF_UP))


def kilograms(grams: int) -> Decimal:
    """Grams as kilograms to three decimals (DHL's precision), never below 0.001."""
    return max(Decimal("0.001"), Decimal(grams) / 1000)


def centimetres(mm: int) -> int:
    """Millimetres as whole centimetres, rounded up (DHL takes at least 1)."""
    return max(1, -(-mm // 10))


def grams(ounces_value: object) -> int:
    return int((decimal(ounces_value, "weight") * GRAMS_PER_OUNCE).quantize(Decimal(1), ROUND_HALF_UP))


def decimal(value: object, what: str) -> Decimal:
    """A carrier's number or decimal string, read exactly (a JSON number through its text, never a float
    sum)."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ValueError(f"{what}: {value!r} is not a number")
    try:
        found = Decimal(str(value))
    except InvalidOperation as exc:
        raise ValueError(f"{what}: {value!r} is not a number") from exc
    if not found.is_finite():
        raise ValueError(f"{what}: {value!r} is not a number")
    return found


def minor_units(value: object, currency: str, what: str = "amount") -> int:
    """A carrier's amount (``"8.20"``, ``412.6``) as integer minor units of ``currency``, rounded half up
    at the currency's minor unit (EasyPost's fees carry five decimals)."""
    if not isinstance(currency, str) or not is_currency(currency):
        raise ValueError(f"{what}: {currency!r} is not an ISO 4217 currency")
    exponent = minor_unit_exponent(currency)
    units = (decimal(value, what) * (10**exponent)).quantize(Decimal(1), ROUND_HALF_UP)
    return int(units)


def major_units(amount: int, currency: str) -> Decimal:
    """Minor units as the decimal a carrier reads: 1999 USD is 19.99."""
    return Decimal(amount).scaleb(-minor_unit_exponent(currency))


# --- rate shopping ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Preference:
    """Which offers may be chosen, from a person or a routing rule. Empty sets allow any; ``carrier``
    and ``service`` force one (the promise is then not checked: the rule or person decided);
    ``unknown_delivery_ok`` lets an offer with no delivery figure meet a promise."""

    carriers: frozenset[str] = field(default_factory=frozenset)
    services: frozenset[str] = field(default_factory=frozenset)
    carrier: str | None = None
    service: str | None = None
    unknown_delivery_ok: bool = False

    def allows(self, offer: Offer) -> bool:
        return (
            (not self.carriers or offer.carrier in self.carriers)
            and (not self.services or offer.service in self.services)
            and (self.carrier is None or offer.carrier == self.carrier)
            and (self.service is None or offer.service == self.service)
        )

    @property
    def forced(self) -> bool:
        return self.service is not None


ANY = Preference()


def routed_preference(routed: Mapping[str, str], account_code: str, plugin: str) -> Preference:
    """A routing rule's carrier preference (``{carrier: {use, service}}``) as rate shopping takes it
    when a label is asked of an account with no preference of the person's own: a rule naming this
    account (by its code or plugin) chooses only the service; one naming a carrier forces that
    carrier's offers (an aggregator's account sells several), so an account that sells none of them
    is refused with the reason rather than silently ignored."""
    use, service = routed.get("carrier"), routed.get("service")
    if use in (account_code, plugin):
        return Preference(service=service)
    return Preference(carrier=use, service=service)


def arrives(offer: Offer, ship_date: date) -> date | None:
    """When the offer delivers: its date, else the ship date plus its transit days; None: unknown."""
    if offer.delivery_date is not None:
        return offer.delivery_date
    if offer.transit_days is not None:
        return ship_date + timedelta(days=offer.transit_days)
    return None


def meets(offer: Offer, ship_date: date, deliver_by: date | None, *, unknown_ok: bool = False) -> bool:
    if deliver_by is None:
        return True
    when = arrives(offer, ship_date)
    return unknown_ok if when is None else when <= deliver_by


def choose(
    offers: Sequence[Offer], ship_date: date, deliver_by: date | None, preference: Preference = ANY
) -> Offer:
    """The cheapest allowed offer that meets the promise (ties: the earlier delivery, then the order
    quoted). Refused (409) with the reason when none does."""
    if not offers:
        raise Conflict("the carrier offered no service for this parcel")
    allowed = [o for o in offers if preference.allows(o)]
    if not allowed:
        raise Conflict(f"no offer matches the preference ({describe(preference)}); offered: {_names(offers)}")
    if not preference.forced:
        allowed = [
            o for o in allowed if meets(o, ship_date, deliver_by, unknown_ok=preference.unknown_delivery_ok)
        ]
        if not allowed:
            raise Conflict(f"no offer delivers by {deliver_by}; offered: {_names(offers)}")
    currencies = {o.currency for o in allowed}
    if len(currencies) > 1:
        raise DomainError(
            f"the offers are in several currencies ({', '.join(sorted(currencies))}): name a service"
        )
    return min(allowed, key=lambda o: (o.cost, arrives(o, ship_date) or date.max, allowed.index(o)))


def describe(preference: Preference) -> str:
    parts = [
        *(f"carrier {c}" for c in sorted(preference.carriers)),
        *(f"service {s}" for s in sorted(preference.services)),
        *([f"carrier {preference.carrier}"] if preference.carrier else []),
        *([f"service {preference.service}"] if preference.service else []),
    ]
    return ", ".join(parts) or "any"


def _names(offers: Iterable[Offer]) -> str:
    return ", ".join(f"{o.carrier} {o.service}" for o in offers)
