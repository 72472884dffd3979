"""Shopify REST order (as ``orders.json``, ``orders/{id}.json`` and order webhooks give it) ->
normalized order. Pure: no I/O, nothing but the payload and the shop code.

Money is read from the ``*_set`` objects' ``shop_money`` (the shop's currency, which ``currency``
names), as exact decimals. Timestamps are kept as Shopify writes them (ISO 8601 with the shop's
offset); the normalized schema reads them as aware instants.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from orderly.channels.domain import known_carrier
from orderly.core.money import minor_unit_exponent, plain_minor_units

#: Shopify ``financial_status`` -> our payment status. Partly paid is not paid: it stays pending.
PAYMENT_STATUS = {
    "pending": "pending",
    "authorized": "authorized",
    "partially_paid": "pending",
    "paid": "paid",
    "partially_refunded": "partially_refunded",
    "refunded": "refunded",
    "voided": "failed",
    "expired": "failed",
}
MAX_TAGS = 50  # what the normalized order keeps; Shopify allows more, the raw payload keeps them all
MAX_SHIPMENTS = 100  # likewise

#: Our carriers (``channels.domain.CARRIER_ALIASES``) as Shopify names them in ``tracking_info.company``:
#: its supported tracking companies, spelt exactly (Shopify builds the tracking link only for these;
#: shopify.dev, FulfillmentTrackingInfo, "Supported tracking companies").
TRACKING_COMPANIES = {
    "4px": "4PX",
    "amazon_logistics": "Amazon",
    "australia_post": "Australia Post",
    "canada_post": "Canada Post",
    "china_post": "China Post",
    "chronopost": "Chronopost",
    "colissimo": "Colissimo",
    "correos": "Correos",
    "deutsche_post": "Deutsche Post",
    "dhl_ecommerce": "DHL eCommerce",
    "dhl_express": "DHL Express",
    "dpd": "DPD",
    "evri": "Evri",
    "fedex": "FedEx",
    "gls": "GLS",
    "japan_post": "Japan Post (EN)",
    "la_poste": "La Poste",
    "lasership": "Lasership",
    "ontrac": "OnTrac",
    "parcelforce": "Parcelforce",
    "poste_italiane": "Poste Italiane",
    "postnl": "PostNL",
    "purolator": "Purolator",
    "royal_mail": "Royal Mail",
    "sagawa": "Sagawa (EN)",
    "sf_express": "SF Express",
    "tnt": "TNT",
    "ups": "UPS",
    "usps": "USPS",
    "yamato": "Yamato (EN)",
    "yunexpress": "YunExpress",
}


def tracking_company(carrier: str | None) -> str | None:
    """What goes in ``tracking_info.company`` for our carrier: Shopify's spelling of a company it
    knows, else the name as written (Shopify shows any company; it links only the known ones)."""
    known = known_carrier(carrier)
    return TRACKING_COMPANIES.get(known, carrier) if known else carrier


def map_order(order: Mapping[str, Any], shop_code: str, location: object = None) -> dict[str, Any]:
    """The normalized order for one Shopify order; ``location`` is the shop's location the hub keeps
    the stock of (its ``location_id`` setting). Raises ValueError on a payload without the essentials
    (id, timestamps, currency, amounts); everything else is left to the schema to judge."""
    try:
        currency = str(order["currency"]).upper()
        exponent = minor_unit_exponent(currency)
        shipped = _fulfilled(order)
        lines = [_line(item, exponent, shipped) for item in order.get("line_items") or []]
        line_discounts = sum(line["discount"] for line in lines)
        financial_status = order.get("financial_status")
        customer = order.get("customer") or {}
        shipping = order.get("shipping_address")
        billing = order.get("billing_address")
        buyer_name = _person(customer) or _text((billing or shipping or {}).get("name"))
        return {
            "shop": shop_code,
            "external_id": _id(order.get("id"), "the order id"),
            "placed_at": order["created_at"],
            "updated_at": order["updated_at"],
            "currency": currency,
            "cancelled": order.get("cancelled_at") is not None,
            "shipped_from_stock": _from_hubs_location(order, location),
            "payment_status": PAYMENT_STATUS.get(str(financial_status), "pending"),
            "payment_method": _text(next(iter(order.get("payment_gateway_names") or []), None)),
            "platform_status": f"{order.get('fulfillment_status') or 'unfulfilled'}/{financial_status}",
            "buyer": {
                "name": buyer_name,
                "email": _text(order.get("email")) or _text(customer.get("email")),
                "phone": _text(order.get("phone")) or _text(customer.get("phone")),
                "platform_id": None if customer.get("id") is None else _id(customer["id"], "the customer id"),
            },
            # Orders that ship nothing (digital goods, POS) have no shipping address: the billing
            # address is then where the buyer is.
            "shipping_address": _address(shipping or billing, buyer_name),
            "billing_country": _text((billing or {}).get("country_code")),
            "lines": lines,
            "shipments": _shipments(order),
            "shipping_total": _money(order, "total_shipping_price", exponent, default=0),
            # Line discounts are already off the lines; what is left (shipping discounts, for
            # instance) is the order's own discount, so the parts add up to total_price.
            "discount_total": max(0, _money(order, "total_discounts", exponent, default=0) - line_discounts),
            "tax_total": _money(order, "total_tax", exponent, default=0),
            "total": _money(order, "total_price", exponent),
            "buyer_remark": _text(order.get("note")),
            "tags": [tag for tag in (t.strip() for t in str(order.get("tags") or "").split(",")) if tag][
                :MAX_TAGS
            ],
            "raw": dict(order),
        }
    except (KeyError, TypeError, AttributeError) as exc:
        raise ValueError(f"not a Shopify order payload: missing or malformed {exc}") from exc


def minor_units(amount: object, exponent: int) -> int:
    """An exact decimal amount (``"199.00"``) as integer minor units; refuses what does not fit."""
    plain = plain_minor_units(amount, exponent)
    if plain is not None:
        return plain
    try:
        scaled = Decimal(str(amount)).scaleb(exponent)
    except InvalidOperation as exc:
        raise ValueError(f"{amount!r} is not a decimal amount") from exc
    if not scaled.is_finite() or scaled != scaled.to_integral_value():
        raise ValueError(f"{amount!r} has more decimals than the currency allows ({exponent})")
    return int(scaled)


def _money(obj: Mapping[str, Any], name: str, exponent: int, *, default: int | None = None) -> int:
    """``<name>_set.shop_money.amount``, else the plain ``<name>`` string older payloads carry."""
    money_set = obj.get(f"{name}_set")
    amount = money_set["shop_money"]["amount"] if money_set else obj.get(name)
    if amount is None:
        if default is None:
            raise ValueError(f"{name} is missing")
        return default
    return minor_units(amount, exponent)


def _fulfilled(order: Mapping[str, Any]) -> dict[Any, int] | None:
    """Units of each line item (by id) that successful fulfillments shipped, whoever created them (the
    merchant in Shopify's admin, an app, the hub); None when the payload carries no fulfillments."""
    fulfillments = order.get("fulfillments")
    if fulfillments is None:
        return None
    shipped: dict[Any, int] = {}
    for fulfillment in fulfillments:
        if fulfillment.get("status") != "success":  # pending, open, cancelled, error, failure
            continue
        for item in fulfillment.get("line_items") or []:
            shipped[item["id"]] = shipped.get(item["id"], 0) + int(item["quantity"])
    return shipped


def _from_hubs_location(order: Mapping[str, Any], location: object) -> bool:
    """Whether the order's parcels left the location whose stock the hub keeps. A parcel sent from
    another location (a store, a fulfilment service's warehouse) took no unit the hub counts; one with
    no location, or a shop with none set, is taken to have left the hub's shelves (in doubt, units are
    booked out rather than sold twice)."""
    if location is None:
        return True
    return all(
        fulfillment.get("location_id") is None or str(fulfillment["location_id"]) == str(location)
        for fulfillment in order.get("fulfillments") or ()
        if fulfillment.get("status") == "success"
    )


def _shipments(order: Mapping[str, Any]) -> list[dict[str, Any]] | None:
    """One shipment per tracking number of each successful fulfillment (one without a number is still
    a parcel sent, when and by whom); None when the payload carries no fulfillments."""
    fulfillments = order.get("fulfillments")
    if fulfillments is None:
        return None
    shipments = []
    for fulfillment in fulfillments:
        if fulfillment.get("status") != "success":
            continue
        numbers = fulfillment.get("tracking_numbers") or [fulfillment.get("tracking_number")]
        urls = fulfillment.get("tracking_urls") or [fulfillment.get("tracking_url")]
        for position, number in enumerate(numbers):
            shipments.append(
                {
                    "carrier": _text(fulfillment.get("tracking_company")),
                    "tracking_number": _text(number),
                    # Shopify lists the urls in the order of the numbers they track.
                    "tracking_url": _text(urls[position]) if len(urls) == len(numbers) else None,
                    "shipped_at": fulfillment.get("created_at"),
                }
            )
    return shipments[:MAX_SHIPMENTS]


def _line(item: Mapping[str, Any], exponent: int, fulfilled: Mapping[Any, int] | None) -> dict[str, Any]:
    variant_id = item.get("variant_id")
    quantity = item["quantity"]
    if fulfilled is not None:
        shipped = min(fulfilled.get(item.get("id"), 0), quantity)
    else:  # an order payload without its fulfillments: the line's own status says whether it left
        shipped = quantity if item.get("fulfillment_status") == "fulfilled" else 0
    return {
        "platform_sku": _text(item.get("sku")),
        "listing_id": None if variant_id is None else _id(variant_id, "a line's variant_id"),
        "title": _text(item.get("name")) or _text(item.get("title")),
        "quantity": quantity,
        "shipped": shipped,
        "unit_price": _money(item, "price", exponent),
        "discount": sum(_money(a, "amount", exponent) for a in item.get("discount_allocations") or []),
        "tax": sum(_money(t, "price", exponent) for t in item.get("tax_lines") or []),
    }


def _address(address: Mapping[str, Any] | None, buyer_name: str | None) -> dict[str, Any] | None:
    if not address:
        return None
    return {
        "name": _text(address.get("name")) or _person(address) or _text(address.get("company")) or buyer_name,
        "line1": _text(address.get("address1")),
        "line2": _text(address.get("address2")),
        "city": _text(address.get("city")),
        "region": _text(address.get("province_code")) or _text(address.get("province")),
        "postal_code": _text(address.get("zip")),
        "country": _text(address.get("country_code")),
        "phone": _text(address.get("phone")),
    }


def _person(obj: Mapping[str, Any]) -> str | None:
    return _text(" ".join(filter(None, (_text(obj.get("first_name")), _text(obj.get("last_name"))))))


def _id(value: object, what: str) -> str:
    """A Shopify id as text, exactly. Ids are integers (read from JSON whole at any size); a float
    (1.1805916207174113e+21) has lost digits and would be taken for another order's."""
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return str(value)
    if isinstance(value, str) and value.isascii() and value.isdigit():
        return value
    raise ValueError(f"{what} is not a Shopify id (a positive whole number): {value!r}"[:200])


def _text(value: object) -> str | None:
    """Shopify writes absent text as null or as an empty string; both are None here."""
    if value is None:
        return None
    return str(value).strip() or None
