"""EasyPost shapes <-> hub data (``docs/carriers/easypost.md``), pure. Ounces and inches, decimal-string
money (§2), rates (§4), the bought shipment (§5), refund statuses (§9, hub outcomes per
``docs/carriers/README.md`` §2) and trackers (§6, hub kinds per README §4)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any

from orderly.fulfilment.carriers.domain import (
    CarrierEvent,
    Offer,
    ParcelSpec,
    Party,
    TrackingUpdate,
    VoidOutcome,
    VoidResult,
    inches,
    major_units,
    minor_units,
    ounces,
)
from orderly.fulfilment.domain import TrackingKind

#: README §4: EasyPost status -> timeline kind (``in_transit``'s first one is the pickup).
KINDS: Mapping[str, TrackingKind | None] = {
    "unknown": None,
    "pre_transit": TrackingKind.LABEL_CREATED,
    "in_transit": TrackingKind.IN_TRANSIT,
    "out_for_delivery": TrackingKind.OUT_FOR_DELIVERY,
    "available_for_pickup": TrackingKind.OUT_FOR_DELIVERY,
    "delivered": TrackingKind.DELIVERED,
    "return_to_sender": TrackingKind.EXCEPTION,
    "failure": TrackingKind.EXCEPTION,
    "cancelled": TrackingKind.EXCEPTION,
    "error": None,
}
#: README §2: refund_status -> what the hub does.
REFUNDS: Mapping[str, VoidOutcome] = {
    "submitted": VoidOutcome.VOIDED,
    "refunded": VoidOutcome.VOIDED,
    "not_applicable": VoidOutcome.VOIDED,
    "rejected": VoidOutcome.REFUSED,
}


class BadAnswer(ValueError):
    """An EasyPost answer the hub cannot read."""


def address(party: Party) -> dict[str, Any]:
    body = {
        "name": party.name,
        "company": party.company,
        "street1": party.line1,
        "street2": party.line2,
        "city": party.city,
        "state": party.region,
        "zip": party.postal_code,
        "country": party.country,
        "phone": party.phone,
        "email": party.email,
    }
    return {key: value for key, value in body.items() if value}


def shipment_request(parcel: ParcelSpec) -> dict[str, Any]:
    """``POST /shipments`` (§4): wrapped in ``shipment``, imperial units, a PDF label asked for (§7)."""
    body: dict[str, Any] = {
        "reference": parcel.reference,
        "from_address": address(parcel.sender),
        "to_address": address(parcel.recipient),
        "parcel": {
            "length": float(inches(parcel.length_mm)),
            "width": float(inches(parcel.width_mm)),
            "height": float(inches(parcel.height_mm)),
            "weight": float(ounces(parcel.weight_g)),
        },
        "options": {"label_format": "PDF", "label_date": f"{parcel.ship_date.isoformat()}T00:00:00Z"},
    }
    if parcel.cross_border:
        body["customs_info"] = {
            "contents_type": "merchandise",
            "customs_certify": True,
            "customs_signer": parcel.sender.name,
            "eel_pfc": "NOEEI 30.37(a)",
            "non_delivery_option": "return",
            "restriction_type": "none",
            "customs_items": [
                {
                    "description": line.description,
                    "quantity": line.quantity,
                    "value": float(major_units(line.value, line.currency)),
                    "weight": float(ounces(line.weight_g)),  # the line's total (§2)
                    **({"hs_tariff_number": line.hs_code} if line.hs_code else {}),
                    "origin_country": line.origin_country or parcel.sender.country,
                    **({"code": line.sku} if line.sku else {}),
                }
                for line in parcel.customs
            ],
        }
    return {"shipment": body}


def offers(shipment: Mapping[str, Any]) -> list[Offer]:
    """The rates of a created shipment, in the order quoted. ``messages[]`` (carriers that could not
    rate) is not an offer."""
    shipment_id = _text(shipment, "id")
    found = []
    for rate in shipment.get("rates") or []:
        if not isinstance(rate, dict):
            raise BadAnswer("a rate is not an object")
        currency = _text(rate, "currency")
        try:
            cost = minor_units(rate.get("rate"), currency, "rate")
        except ValueError as exc:
            raise BadAnswer(str(exc)) from exc
        found.append(
            Offer(
                carrier=_text(rate, "carrier"),
                service=_text(rate, "service"),
                service_name=f"{rate['carrier']} {rate['service']}",
                cost=cost,
                currency=currency,
                transit_days=_days(rate.get("delivery_days"), rate.get("est_delivery_days")),
                delivery_date=_date(rate.get("delivery_date")),
                offer_id=_text(rate, "id"),
                carrier_shipment_id=str(rate.get("shipment_id") or shipment_id),
            )
        )
    return found


def buy_request(offer: Offer) -> dict[str, Any]:
    """``POST /shipments/{id}/buy`` (§5): not wrapped."""
    return {"rate": {"id": offer.offer_id}}


def bought(shipment: Mapping[str, Any]) -> dict[str, Any] | None:
    """What a bought shipment says (§5): None while it has no ``postage_label`` (not bought)."""
    label = shipment.get("postage_label")
    if not label:
        return None
    if not isinstance(label, dict):
        raise BadAnswer("postage_label is not an object")
    rate = shipment.get("selected_rate")
    if not isinstance(rate, dict):
        raise BadAnswer("a bought shipment has no selected_rate")
    currency = _text(rate, "currency")
    tracker = shipment.get("tracker") if isinstance(shipment.get("tracker"), dict) else {}
    url = label.get("label_pdf_url") or label.get("label_url")
    if not isinstance(url, str) or not url:
        raise BadAnswer("postage_label has no label URL")
    try:
        cost = minor_units(rate.get("rate"), currency, "selected_rate.rate")
    except ValueError as exc:
        raise BadAnswer(str(exc)) from exc
    return {
        "carrier_shipment_id": _text(shipment, "id"),
        "tracking_number": _text(shipment, "tracking_code"),
        "label_url": url,
        "file_format": "pdf" if url.lower().endswith(".pdf") or label.get("label_pdf_url") else "png",
        "cost": cost,
        "currency": currency,
        "carrier": _text(rate, "carrier"),
        "service": _text(rate, "service"),
        "tracking_url": tracker.get("public_url") if isinstance(tracker, dict) else None,
        "delivery_date": _date(rate.get("delivery_date")),
    }


def refund(shipment: Mapping[str, Any]) -> VoidResult:
    status = shipment.get("refund_status")
    outcome = REFUNDS.get(status) if isinstance(status, str) else None
    if outcome is None:
        raise BadAnswer(f"unknown refund_status {status!r}")
    if outcome == VoidOutcome.REFUSED:
        return VoidResult(outcome, f"EasyPost refund_status {status}: the carrier refused the refund")
    return VoidResult(outcome, f"EasyPost refund_status {status}")


def tracking_events(tracker: Mapping[str, Any]) -> list[CarrierEvent]:
    """A tracker's ``tracking_details`` (oldest first) as hub events: the first ``in_transit`` is the
    pickup (README §4); ``unknown`` and ``error`` are kept as text with no kind."""
    code = _text(tracker, "tracking_code")
    events = []
    picked_up = False
    for detail in tracker.get("tracking_details") or []:
        if not isinstance(detail, dict):
            raise BadAnswer("a tracking detail is not an object")
        status = detail.get("status")
        kind = KINDS.get(status) if isinstance(status, str) else None
        if kind == TrackingKind.IN_TRANSIT and not picked_up:
            kind, picked_up = TrackingKind.PICKED_UP, True
        events.append(
            CarrierEvent(
                tracking_number=code,
                occurred_at=_instant(detail.get("datetime")),
                carrier_code=str(detail.get("carrier_code") or status or ""),
                description=str(detail.get("message") or detail.get("description") or status or ""),
                kind=kind,
                place=_place(detail.get("tracking_location")),
            )
        )
    return events


def tracker_update(event: Mapping[str, Any]) -> TrackingUpdate | None:
    """A webhook Event (§8): the tracker's events for ``tracker.*``, None for any other description."""
    description = event.get("description")
    if not isinstance(description, str) or not description.startswith("tracker."):
        return None
    result = event.get("result")
    if not isinstance(result, dict):
        raise BadAnswer("a tracker event has no result object")
    return TrackingUpdate(
        event_id=_text(event, "id"),
        tracking_number=_text(result, "tracking_code"),
        carrier_shipment_id=str(result.get("shipment_id") or ""),
        events=tuple(tracking_events(result)),
    )


def pick_tracker(trackers: Sequence[Any], carrier_shipment_id: str) -> dict[str, Any] | None:
    """Of the trackers for one code (codes are reused, §2), the one of our shipment, else the newest."""
    found = [t for t in trackers if isinstance(t, dict)]
    mine = [t for t in found if t.get("shipment_id") == carrier_shipment_id]
    return (mine or found)[0] if found else None


def _text(body: Mapping[str, Any], key: str) -> str:
    value = body.get(key)
    if not isinstance(value, str) or not value:
        raise BadAnswer(f"{key!r} missing from the answer")
    return value


def _days(*values: object) -> int | None:
    for value in values:
        if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
            return value
    return None


def _date(value: object) -> date | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        return None


def _instant(value: object) -> datetime:
    """EasyPost writes ``...Z``, ``...+00:00`` and ``....000Z`` (§2); a local time with no offset stays
    naive (the scan's zone, §2)."""
    if not isinstance(value, str):
        raise BadAnswer(f"an event time {value!r} is not text")
    try:
        found = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise BadAnswer(f"an event time {value!r} is not ISO 8601") from exc
    return found.astimezone(UTC) if found.tzinfo else found


def _place(location: object) -> str:
    if not isinstance(location, dict):
        return ""
    return ", ".join(str(location[k]) for k in ("city", "state", "country") if location.get(k))
