"""eBay order (Sell Fulfillment API v1 ``getOrders`` / ``getOrder``) -> normalized order. Pure: no I/O,
no clock.

Money is ``{"value": "116.26", "currency": "EUR"}``, a decimal string in major units, read exactly into
minor units (``core.money``); an amount finer than its currency allows, or in another currency than the
order's, is refused, never rounded or converted (``convertedFrom*`` is eBay's conversion for the
seller's payout, not what the buyer paid). Times are ISO 8601 in UTC with milliseconds.

A line item is one listing bought in ``quantity`` units: ``lineItemCost`` is the price of them all
before discounts; ``appliedPromotions[].discountAmount`` what the seller's promotions took off; the
seller-collected ``taxes[]`` are its tax. Taxes eBay collects and remits itself
(``ebayCollectAndRemitTaxes``) never reach the seller and are left out of the tax; the order's total is
``pricingSummary.total`` as eBay gives it.

The units that left are read from the order's shipping fulfillments, which getOrders does not carry: the
connector fetches them for an order eBay says is (partly) fulfilled and adds them as ``FULFILLMENTS``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from orderly.channels.domain import known_carrier
from orderly.core.money import minor_unit_exponent, plain_minor_units

#: What the connector adds to an order: the ``fulfillments`` of ``GET .../shipping_fulfillment``.
FULFILLMENTS = "_fulfillments"
#: ``cancelStatus.cancelState`` of a cancelled order; the others that say a buyer asked to cancel
#: (IN_PROGRESS from eBay's CancelStateEnum, CANCEL_REQUESTED from the contract: both UNCONFIRMED).
CANCELED = "CANCELED"
CANCEL_ASKED = frozenset({"IN_PROGRESS", "CANCEL_REQUESTED"})
#: ``orderPaymentStatus`` -> the hub's payment status (only PAID is in the sample: the rest UNCONFIRMED).
PAYMENT_STATUSES = {
    "PAID": "paid",
    "PENDING": "pending",
    "FAILED": "failed",
    "FULLY_REFUNDED": "refunded",
    "PARTIALLY_REFUNDED": "partially_refunded",
}
#: Orders (and line items) with units that left the seller.
FULFILLED, IN_PROGRESS = "FULFILLED", "IN_PROGRESS"
#: Tags Orderly puts on eBay orders.
CANCEL_REQUESTED, MANAGED_SHIPPING, PICKUP, DIGITAL, EBAY_COLLECTS_TAX = (
    "cancel-requested",
    "ebay-managed-shipping",
    "pickup",
    "digital",
    "ebay-collects-tax",
)


def instant(value: Any, what: str) -> datetime:
    """An eBay time (``2023-08-02T08:26:18.000Z``) as aware UTC."""
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{what} is not an ISO 8601 time: {value!r}"[:200])
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError as exc:
        raise ValueError(f"{what} is not an ISO 8601 time: {value!r}"[:200]) from exc
    if moment.tzinfo is None:
        raise ValueError(f"{what} has no time zone: {value!r}"[:200])
    return moment.astimezone(UTC)


def stamp(moment: datetime) -> str:
    """A time as eBay writes it in filters and fulfillments: UTC, milliseconds, ``Z``."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def version(order: Mapping[str, Any]) -> str:
    """The order's ``lastModifiedDate`` in one fixed-width form, so versions compare as text in time
    order."""
    return f"{instant(order.get('lastModifiedDate'), 'lastModifiedDate'):%Y-%m-%dT%H:%M:%S.%fZ}"


def minor_units(amount: Any, exponent: int, what: str) -> int:
    """A decimal string in major units as integer minor units, exactly."""
    plain = plain_minor_units(amount, exponent)
    if plain is not None:
        return plain
    try:
        scaled = Decimal(str(amount)).scaleb(exponent)
    except InvalidOperation as exc:
        raise ValueError(f"{what} is not a decimal amount: {amount!r}"[:200]) from exc
    if not scaled.is_finite() or scaled != scaled.to_integral_value():
        raise ValueError(f"{what} {amount!r} is finer than the currency's minor unit ({exponent} decimals)")
    return int(scaled)


class _Money:
    """Amounts of one order, all in its currency."""

    def __init__(self, currency: str) -> None:
        self.currency = currency
        self.exponent = minor_unit_exponent(currency)

    def __call__(self, amount: Any, what: str) -> int:
        """An ``{value, currency}`` amount; 0 when eBay leaves it out (it does for what does not apply)."""
        if amount is None:
            return 0
        if not isinstance(amount, Mapping):
            raise ValueError(f"{what} is not an amount object: {amount!r}"[:200])
        currency = _text(amount.get("currency"))
        if currency is not None and currency.upper() != self.currency:
            raise ValueError(f"{what} is in {currency}, the order in {self.currency}")
        return minor_units(amount.get("value"), self.exponent, what)


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _instructions(order: Mapping[str, Any]) -> Mapping[str, Any]:
    found = order.get("fulfillmentStartInstructions")
    first = found[0] if isinstance(found, list) and found else None
    return _mapping(first)


def _address(order: Mapping[str, Any]) -> dict[str, Any] | None:
    ship_to = _mapping(_mapping(_instructions(order).get("shippingStep")).get("shipTo"))
    if not ship_to:
        return None
    contact = _mapping(ship_to.get("contactAddress"))
    return {
        "name": _text(ship_to.get("fullName")),
        "line1": _text(contact.get("addressLine1")),
        "line2": _text(contact.get("addressLine2")),
        "city": _text(contact.get("city")),
        "region": _text(contact.get("stateOrProvince")),
        "postal_code": _text(contact.get("postalCode")),
        "country": _text(contact.get("countryCode")),
        "phone": _text(_mapping(ship_to.get("primaryPhone")).get("phoneNumber")),
    }


def shipped_units(order: Mapping[str, Any]) -> dict[str, int]:
    """Units of each line item eBay's shipping fulfillments carry, by ``lineItemId``."""
    units: dict[str, int] = {}
    for fulfillment in order.get(FULFILLMENTS) or []:
        for each in _mapping(fulfillment).get("lineItems") or []:
            item = _mapping(each)
            line, quantity = _text(item.get("lineItemId")), item.get("quantity")
            if line is not None:
                # A fulfillment line without a quantity ships every unit of it (UNCONFIRMED).
                units[line] = units.get(line, 0) + (quantity if isinstance(quantity, int) else 10**9)
    return units


def _lines(order: Mapping[str, Any], money: _Money) -> list[dict[str, Any]]:
    shipped = shipped_units(order)
    lines = []
    for item in order.get("lineItems") or []:
        if not isinstance(item, Mapping):
            raise ValueError("a line item is not an object")
        what = f"line item {item.get('lineItemId')}"
        quantity = item.get("quantity")
        if not isinstance(quantity, int) or isinstance(quantity, bool) or quantity < 0:
            raise ValueError(f"{what} has no quantity")
        cost = money(item.get("lineItemCost"), f"{what} lineItemCost")
        # lineItemCost is the price of all the units: a cost that does not split into whole minor units
        # per unit is priced up and the difference given back as a discount, so the line sums exactly.
        unit = -(-cost // quantity) if quantity else cost
        discount = unit * quantity - cost
        discount += sum(
            abs(money(_mapping(p).get("discountAmount"), f"{what} discountAmount"))
            for p in item.get("appliedPromotions") or []
        )
        tax = sum(money(_mapping(t).get("amount"), f"{what} tax") for t in item.get("taxes") or [])
        left = shipped.get(str(item.get("lineItemId")), 0)
        if item.get("lineItemFulfillmentStatus") == FULFILLED:
            left = quantity
        lines.append(
            {
                "platform_sku": _text(item.get("sku")),
                "listing_id": _text(item.get("legacyItemId")),
                "title": (_text(item.get("title")) or "")[:500] or None,
                "quantity": quantity,
                "shipped": min(quantity, left),
                "unit_price": unit,
                "discount": discount,
                "tax": tax,
            }
        )
    if not lines:
        raise ValueError(f"order {order.get('orderId')} has no line items")
    return lines


def _shipments(order: Mapping[str, Any]) -> list[dict[str, Any]] | None:
    """One shipment per shipping fulfillment with a tracking number; None while eBay lists none (the
    hub's own parcels stay as stored)."""
    found = []
    for each in order.get(FULFILLMENTS) or []:
        fulfillment = _mapping(each)
        number = _text(fulfillment.get("shipmentTrackingNumber"))
        if number is None:
            continue
        at = fulfillment.get("shippedDate")
        found.append(
            {
                "carrier": _text(fulfillment.get("shippingCarrierCode")),
                "tracking_number": number,
                "tracking_url": None,
                "shipped_at": instant(at, "shippedDate").isoformat() if at else None,
            }
        )
    return found or None


def _tags(order: Mapping[str, Any], cancel_requested: bool) -> list[str]:
    instructions = _instructions(order)
    kind = instructions.get("fulfillmentInstructionsType")
    flags = (
        (CANCEL_REQUESTED, cancel_requested),
        # eBay's Global Shipping Program, International Shipping or Authenticity Guarantee: the seller
        # ships to eBay's hub (the address given), eBay on to the buyer.
        (MANAGED_SHIPPING, instructions.get("ebaySupportedFulfillment") is True),
        (PICKUP, kind == "PREPARE_FOR_PICKUP"),
        (DIGITAL, kind == "DIGITAL"),
        (EBAY_COLLECTS_TAX, order.get("ebayCollectAndRemitTax") is True),
    )
    return [tag for tag, on in flags if on]


def order_currency(order: Mapping[str, Any]) -> str:
    total = _mapping(_mapping(order.get("pricingSummary")).get("total"))
    currency = _text(total.get("currency"))
    if currency is None:
        raise ValueError(f"order {order.get('orderId')} has no pricingSummary.total currency")
    return currency.upper()


def map_order(order: Mapping[str, Any], shop_code: str) -> dict[str, Any]:
    """The normalized order (``orderly.orders.schemas.NormalizedOrder`` JSON shape). Raises
    ValueError for a payload without the essentials (id, times, currency, line items, amounts)."""
    order_id = _text(order.get("orderId"))
    if order_id is None:
        raise ValueError("the order has no orderId")
    money = _Money(order_currency(order))
    pricing = _mapping(order.get("pricingSummary"))
    cancel_state = _text(_mapping(order.get("cancelStatus")).get("cancelState")) or ""
    cancelled = cancel_state == CANCELED
    cancel_requested = cancel_state in CANCEL_ASKED
    buyer = _mapping(order.get("buyer"))
    registered = _mapping(buyer.get("buyerRegistrationAddress"))
    ship_to = _mapping(_mapping(_instructions(order).get("shippingStep")).get("shipTo"))
    payments = [_mapping(p) for p in _mapping(order.get("paymentSummary")).get("payments") or []]
    fulfilment_status = _text(order.get("orderFulfillmentStatus")) or ""
    payment_status = _text(order.get("orderPaymentStatus")) or ""
    remark = _text(order.get("buyerCheckoutNotes"))
    if cancel_requested:
        asked = "Buyer asked to cancel on eBay"
        remark = f"{remark}\n{asked}" if remark else asked
    return {
        "shop": shop_code,
        "external_id": order_id,
        "placed_at": instant(order.get("creationDate"), "creationDate").isoformat(),
        "updated_at": instant(order.get("lastModifiedDate"), "lastModifiedDate").isoformat(),
        "currency": money.currency,
        "cancelled": cancelled,
        "cancel_requested": cancel_requested,
        "fulfillment": "merchant",
        # The seller ships from the hub's shelves: an order first seen shipped took its units there.
        "shipped_from_stock": True,
        # An unknown payment state is taken as pending: the hub never ships what it cannot see paid.
        "payment_status": PAYMENT_STATUSES.get(payment_status, "pending"),
        "payment_method": (_text(payments[0].get("paymentMethod")) if payments else None),
        "platform_status": f"{fulfilment_status}/{payment_status}"[:64].strip("/") or None,
        "buyer": {
            "name": _text(registered.get("fullName")),
            "email": _text(registered.get("email")) or _text(ship_to.get("email")),
            "phone": _text(_mapping(registered.get("primaryPhone")).get("phoneNumber")),
            "platform_id": _text(buyer.get("username")),
        },
        "shipping_address": _address(order),
        "billing_country": _text(_mapping(registered.get("contactAddress")).get("countryCode")),
        "lines": _lines(order, money),
        "shipments": _shipments(order),
        "shipping_total": money(pricing.get("deliveryCost"), "pricingSummary.deliveryCost"),
        "discount_total": abs(money(pricing.get("deliveryDiscount"), "pricingSummary.deliveryDiscount")),
        "tax_total": money(pricing.get("tax"), "pricingSummary.tax"),
        "total": money(pricing.get("total"), "pricingSummary.total"),
        "buyer_remark": remark,
        "seller_remark": None,
        "tags": _tags(order, cancel_requested),
        "raw": dict(order),
    }


def needs_fulfillments(order: Mapping[str, Any]) -> bool:
    """Whether eBay says units of the order left: its shipping fulfillments are then read."""
    if order.get("orderFulfillmentStatus") in (FULFILLED, IN_PROGRESS) or order.get("fulfillmentHrefs"):
        return True
    return any(
        _mapping(i).get("lineItemFulfillmentStatus") in (FULFILLED, IN_PROGRESS)
        for i in order.get("lineItems") or []
    )


#: Our carriers (``channels.domain.CARRIER_ALIASES``) as eBay's ``shippingCarrierCode`` names them
#: (eBay's ShippingCarrierCodeEnum as third-party clients list it; UNCONFIRMED: the contract has no
#: list, and the sample shows "Hermes"). A shop's ``carrier_codes`` setting names others.
CARRIER_CODES = {
    "ups": "UPS",
    "usps": "USPS",
    "fedex": "FedEx",
    "dhl_express": "DHL",
    "dhl_ecommerce": "DHLGlobalMail",
    "royal_mail": "RoyalMail",
    "parcelforce": "Parcelforce",
    "evri": "Hermes",
    "canada_post": "CanadaPost",
    "purolator": "Purolator",
    "australia_post": "AustraliaPost",
    "china_post": "ChinaPost",
    "dpd": "DPD",
    "gls": "GLS",
    "tnt": "TNT",
    "ontrac": "OnTrac",
    "deutsche_post": "DeutschePost",
    "la_poste": "LaPoste",
    "colissimo": "Colissimo",
    "chronopost": "Chronopost",
    "postnl": "PostNL",
    "poste_italiane": "PosteItaliane",
    "correos": "Correos",
    "japan_post": "JapanPost",
    "yanwen": "Yanwen",
    "yunexpress": "YunExpress",
    "4px": "4PX",
    "sf_express": "SFExpress",
}
#: What a carrier eBay has no code for is sent as (UNCONFIRMED).
OTHER_CARRIER = "Other"


def carrier_code(carrier: str) -> str:
    return CARRIER_CODES.get(known_carrier(carrier) or "", OTHER_CARRIER)
