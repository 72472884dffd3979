"""DHL Express MyDHL API shapes <-> hub data (``docs/carriers/dhl-express.md``), pure. Metric units,
money as JSON numbers read through their text (§2), rates (§3), the created shipment with its base64
label (§4), customs as an export declaration (§6), tracking checkpoints (§7, hub kinds per
``docs/carriers/README.md`` §5)."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from orderly.fulfilment.carriers.domain import (
    CarrierEvent,
    Label,
    Offer,
    ParcelSpec,
    Party,
    centimetres,
    kilograms,
    major_units,
    minor_units,
)
from orderly.fulfilment.domain import TrackingKind

CARRIER = "DHL Express"
#: README §5: the checkpoint codes DHL's own example shows; any other code is "still moving".
KINDS: Mapping[str, TrackingKind] = {
    "PU": TrackingKind.PICKED_UP,
    "AF": TrackingKind.IN_TRANSIT,
    "PL": TrackingKind.IN_TRANSIT,
    "DF": TrackingKind.IN_TRANSIT,
    "RR": TrackingKind.IN_TRANSIT,
    "CR": TrackingKind.IN_TRANSIT,
    "AR": TrackingKind.IN_TRANSIT,
    "WC": TrackingKind.OUT_FOR_DELIVERY,
    "OK": TrackingKind.DELIVERED,
}
LINE_MAX = 45  # characters per address line and city (§4)
LABEL_TEMPLATE = "ECOM26_84_001"  # DHL's default transport label (§5)


class BadAnswer(ValueError):
    """A DHL answer the hub cannot read."""


def planned(day: date) -> str:
    """``plannedShippingDateAndTime`` as DHL's schema example writes it (§2): local time, no space
    before ``GMT``. Noon, as the hub keeps no pickup hour."""
    return f"{day.isoformat()}T12:00:00GMT+00:00"


def _accounts(account_number: str) -> list[dict[str, str]]:
    return [{"typeCode": "shipper", "number": account_number}]


def _package(parcel: ParcelSpec) -> dict[str, Any]:
    return {
        "weight": float(kilograms(parcel.weight_g)),
        "dimensions": {
            "length": centimetres(parcel.length_mm),
            "width": centimetres(parcel.width_mm),
            "height": centimetres(parcel.height_mm),
        },
    }


def _declared(parcel: ParcelSpec) -> tuple[float, str] | None:
    if not parcel.customs:
        return None
    currency = parcel.customs[0].currency
    return float(major_units(sum(line.value for line in parcel.customs), currency)), currency


def rate_request(parcel: ParcelSpec, account_number: str) -> dict[str, Any]:
    """``POST /rates`` (§3), asking for DHL's committed delivery date (``QDDC``)."""
    body: dict[str, Any] = {
        "customerDetails": {
            "shipperDetails": _rating_address(parcel.sender),
            "receiverDetails": _rating_address(parcel.recipient),
        },
        "accounts": _accounts(account_number),
        "plannedShippingDateAndTime": planned(parcel.ship_date),
        "unitOfMeasurement": "metric",
        "isCustomsDeclarable": parcel.cross_border,
        "estimatedDeliveryDate": {"isRequested": True, "typeCode": "QDDC"},
        "packages": [_package(parcel)],
    }
    declared = _declared(parcel)
    if declared is not None:
        body["monetaryAmount"] = [
            {"typeCode": "declaredValue", "value": declared[0], "currency": declared[1]}
        ]
    return body


def _rating_address(party: Party) -> dict[str, str]:
    return {"postalCode": party.postal_code, "cityName": party.city[:LINE_MAX], "countryCode": party.country}


def offers(rates: Mapping[str, Any]) -> list[Offer]:
    """Each product, priced in the billing currency (``BILLC``), with its transit days and date."""
    found = []
    for product in rates.get("products") or []:
        if not isinstance(product, dict):
            raise BadAnswer("a product is not an object")
        code = _text(product, "productCode")
        price = next(
            (
                p
                for p in product.get("totalPrice") or []
                if isinstance(p, dict) and p.get("currencyType") == "BILLC"
            ),
            None,
        )
        if price is None:
            raise BadAnswer(f"product {code} has no BILLC price")
        capabilities = product.get("deliveryCapabilities") or {}
        days = capabilities.get("totalTransitDays")
        try:
            cost = minor_units(price.get("price"), str(price.get("priceCurrency")), "totalPrice")
        except ValueError as exc:
            raise BadAnswer(str(exc)) from exc
        found.append(
            Offer(
                carrier=CARRIER,
                service=code,
                service_name=str(product.get("productName") or code),
                cost=cost,
                currency=str(price["priceCurrency"]),
                transit_days=days
                if isinstance(days, int) and not isinstance(days, bool) and days >= 0
                else None,
                delivery_date=_day(capabilities.get("estimatedDeliveryDateAndTime")),
                offer_id=code,
            )
        )
    return found


def _party(party: Party) -> dict[str, Any]:
    address = {
        "postalCode": party.postal_code,
        "cityName": party.city[:LINE_MAX],
        "countryCode": party.country,
        "addressLine1": party.line1[:LINE_MAX],
    }
    if party.line2:
        address["addressLine2"] = party.line2[:LINE_MAX]
    if party.region:
        address["provinceCode"] = party.region[:35]
    contact = {
        "phone": party.phone or "0",
        # A private buyer has no company: DHL requires one, so the person's name goes there too (§4).
        "companyName": (party.company or party.name)[:100],
        "fullName": party.name[:255],
    }
    if party.email:
        contact["email"] = party.email
    return {"postalAddress": address, "contactInformation": contact}


def shipment_request(parcel: ParcelSpec, offer: Offer, account_number: str) -> dict[str, Any]:
    """``POST /shipments`` (§4): the offer's product, no pickup, a PDF label, the hub's reference, and
    an export declaration when dutiable (§6)."""
    content: dict[str, Any] = {
        "packages": [
            {**_package(parcel), "customerReferences": [{"value": parcel.reference, "typeCode": "CU"}]}
        ],
        "isCustomsDeclarable": parcel.cross_border,
        "description": parcel.description[:70],
        "incoterm": "DAP",
        "unitOfMeasurement": "metric",
    }
    declared = _declared(parcel)
    if parcel.cross_border and declared is not None:
        content["declaredValue"], content["declaredValueCurrency"] = declared
        content["exportDeclaration"] = {
            "lineItems": [
                {
                    "number": n,
                    "description": line.description[:512],
                    # The unit price: whether DHL reads a unit price or a line total is unconfirmed (§6).
                    "price": float(major_units(line.value, line.currency)) / line.quantity,
                    "quantity": {"value": line.quantity, "unitOfMeasurement": "PCS"},
                    **(
                        {"commodityCodes": [{"typeCode": "outbound", "value": line.hs_code}]}
                        if line.hs_code
                        else {}
                    ),
                    "manufacturerCountry": line.origin_country or parcel.sender.country,
                    "weight": {
                        "netValue": float(kilograms(line.weight_g)),
                        "grossValue": float(kilograms(line.weight_g)),
                    },
                }
                for n, line in enumerate(parcel.customs, start=1)
            ],
            "invoice": {"number": parcel.reference, "date": parcel.ship_date.isoformat()},
            "exportReason": "sale",
            "exportReasonType": "commercial_purpose_or_sale",
            "shipmentType": "commercial",
        }
    return {
        "plannedShippingDateAndTime": planned(parcel.ship_date),
        "pickup": {"isRequested": False},
        "productCode": offer.service,
        "accounts": _accounts(account_number),
        "customerReferences": [{"value": parcel.reference[:35], "typeCode": "CU"}],
        "outputImageProperties": {
            "encodingFormat": "pdf",
            "imageOptions": [{"typeCode": "label", "templateName": LABEL_TEMPLATE}],
        },
        "customerDetails": {
            "shipperDetails": _party(parcel.sender),
            "receiverDetails": _party(parcel.recipient),
        },
        "content": content,
    }


def created(shipment: Mapping[str, Any], offer: Offer) -> Label:
    """The created shipment: its waybill number and the label decoded from base64, found by its
    ``typeCode`` (§4). Its cost is the offer's unless DHL says what it charged."""
    number = _text(shipment, "shipmentTrackingNumber")
    documents = [
        d for d in shipment.get("documents") or [] if isinstance(d, dict) and d.get("typeCode") == "label"
    ]
    if not documents:
        raise BadAnswer(f"shipment {number} came back without a label document")
    try:
        content = base64.b64decode(str(documents[0].get("content")), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise BadAnswer(f"the label of shipment {number} is not base64") from exc
    cost, currency = offer.cost, offer.currency
    for charge in shipment.get("shipmentCharges") or []:
        if isinstance(charge, dict) and charge.get("currencyType") == "BILLC":
            try:
                cost = minor_units(charge.get("price"), str(charge.get("priceCurrency")), "shipmentCharges")
            except ValueError as exc:
                raise BadAnswer(str(exc)) from exc
            currency = str(charge["priceCurrency"])
    extra = {}
    if shipment.get("dispatchConfirmationNumber"):
        extra["dispatchConfirmationNumber"] = str(shipment["dispatchConfirmationNumber"])
    return Label(
        carrier_shipment_id=number,
        tracking_number=number,
        content=content,
        file_format=str(documents[0].get("imageFormat") or "PDF").lower(),
        cost=cost,
        currency=currency,
        carrier=CARRIER,
        service=offer.service,
        delivery_date=offer.delivery_date,
        extra=extra,
    )


def tracking_events(tracking: Mapping[str, Any]) -> dict[str, list[CarrierEvent]]:
    """Each shipment's checkpoints, oldest first as DHL lists them. DHL times have no offset (§2): they
    stay naive, local to the facility."""
    found: dict[str, list[CarrierEvent]] = {}
    for shipment in tracking.get("shipments") or []:
        if not isinstance(shipment, dict):
            raise BadAnswer("a tracked shipment is not an object")
        number = _text(shipment, "shipmentTrackingNumber")
        events = []
        for event in shipment.get("events") or []:
            if not isinstance(event, dict):
                raise BadAnswer("a checkpoint is not an object")
            code = str(event.get("typeCode") or "")
            try:
                when = datetime.fromisoformat(f"{event.get('date')}T{event.get('time')}")
            except ValueError as exc:
                raise BadAnswer(f"a checkpoint of {number} has no readable date and time") from exc
            areas = event.get("serviceArea") or []
            place = areas[0].get("description", "") if areas and isinstance(areas[0], dict) else ""
            events.append(
                CarrierEvent(
                    tracking_number=number,
                    occurred_at=when,
                    carrier_code=code,
                    description=str(event.get("description") or code),
                    kind=KINDS.get(code, TrackingKind.IN_TRANSIT),
                    place=str(place),
                )
            )
        found[number] = events
    return found


def _text(body: Mapping[str, Any], key: str) -> str:
    value = body.get(key)
    if not isinstance(value, str) or not value:
        raise BadAnswer(f"{key!r} missing from the answer")
    return value


def _day(value: object) -> date | None:
    if not isinstance(value, str) or len(value) < 10:
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        return None
