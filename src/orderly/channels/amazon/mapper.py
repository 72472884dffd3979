"""Pure translations between SP-API payloads and Orderly's shapes: no I/O, no clock.

An order is the pair ``{"order": <getOrders/getOrder order>, "items": [<getOrderItems items>]}``.
Amazon money is ``{"CurrencyCode", "Amount"}`` with ``Amount`` a decimal string in major units; it
becomes integer minor units read exactly (``core.money.plain_minor_units``; :class:`~decimal.Decimal`
for any other writing), never through floats. An amount finer than its currency allows (``"25.99"``
JPY) is refused rather than rounded. ``getOrders`` and ``getOrderItems`` name no carrier nor tracking
number, so an Amazon order leaves ``shipments`` unset (unknown, not none): what the hub stored stays.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from orderly.channels.domain import known_carrier
from orderly.core.money import minor_unit_exponent, plain_minor_units

#: Tags Orderly puts on Amazon orders: Prime and business orders, and a buyer's cancellation request.
PRIME, BUSINESS, CANCEL_REQUESTED = "prime", "business", "cancel-requested"
#: The currency of each marketplace, for an order cancelled before it showed any price.
MARKETPLACE_CURRENCY = {
    "ATVPDKIKX0DER": "USD",  # United States
    "A2EUQ1WTGCTBG2": "CAD",  # Canada
    "A1AM78C64UM0Y8": "MXN",  # Mexico
    "A2Q3Y263D00KWC": "BRL",  # Brazil
    "A1F83G8C2ARO7P": "GBP",  # United Kingdom
    "A1PA6795UKMFR9": "EUR",  # Germany
    "A13V1IB3VIYZZH": "EUR",  # France
    "APJ6JRA9NG5V4": "EUR",  # Italy
    "A1RKKUPIHCS9HS": "EUR",  # Spain
    "A1805IZSGTT6HS": "EUR",  # Netherlands
    "A1C3SOZRARQ6R3": "PLN",  # Poland
    "A2NODRKZP88ZB9": "SEK",  # Sweden
    "A1VC38T7YXB528": "JPY",  # Japan
    "A39IBJ37TRP1C6": "AUD",  # Australia
    "A19VAU5U5O7RUS": "SGD",  # Singapore
    "A21TJRUUN4KGV": "INR",  # India
    "A2VIGQ35RCS4UG": "AED",  # United Arab Emirates
}
CANCELED = "Canceled"
#: Statuses in which Amazon has shipped every unit of the order.
SHIPPED = frozenset({"Shipped", "InvoiceUnconfirmed"})

#: Our carriers (``channels.domain.CARRIER_ALIASES``) as confirmShipment's ``carrierCode`` names them.
#: UNCONFIRMED beyond "FedEx" (the sandbox sample): Amazon's carrier list is not in the Orders v0
#: model; these are the spellings of the seller order-fulfilment upload's carrier list. A carrier not
#: here goes as ``Other`` with its name in ``carrierName`` (CONTRACT.md section 3).
CARRIER_CODES = {
    "4px": "4PX",
    "amazon_logistics": "Amazon Shipping",
    "australia_post": "Australia Post",
    "canada_post": "Canada Post",
    "china_post": "China Post",
    "chronopost": "Chronopost",
    "colissimo": "Colissimo",
    "correos": "Correos",
    "deutsche_post": "Deutsche Post",
    "dhl_ecommerce": "DHL eCommerce",
    "dhl_express": "DHL",
    "dpd": "DPD",
    "evri": "Hermes",
    "fedex": "FedEx",
    "gls": "GLS",
    "japan_post": "Japan Post",
    "la_poste": "La Poste",
    "lasership": "Lasership",
    "ontrac": "OnTrac",
    "parcelforce": "Parcelforce",
    "poste_italiane": "Poste Italiane",
    "postnl": "PostNL",
    "purolator": "Purolator",
    "royal_mail": "Royal Mail",
    "sagawa": "Sagawa Express",
    "sf_express": "SF Express",
    "tnt": "TNT",
    "ups": "UPS",
    "usps": "USPS",
    "yamato": "Yamato Transport",
    "yanwen": "Yanwen",
    "yunexpress": "YunExpress",
}
OTHER_CARRIER = "Other"


def carrier_fields(carrier: str) -> dict[str, str]:
    """``carrierCode`` and ``carrierName`` of a package for our carrier: Amazon's code for one it
    knows (the name as we write it beside it, as the sample does), else ``Other`` and the name."""
    code = CARRIER_CODES.get(known_carrier(carrier) or "", OTHER_CARRIER)
    return {"carrierCode": code, "carrierName": carrier}


_LINE_MONEY = (
    "ItemPrice",
    "ItemTax",
    "PromotionDiscount",
    "ShippingPrice",
    "ShippingTax",
    "ShippingDiscount",
)


def instant(text: str) -> datetime:
    """An SP-API timestamp (``2017-01-20T19:49:35Z``, milliseconds or not) as aware UTC."""
    value = datetime.fromisoformat(text)
    if value.tzinfo is None:
        raise ValueError(f"timestamp {text!r} has no time zone")
    return value.astimezone(UTC)


def amazon_time(value: datetime) -> str:
    """Our instant in the form SP-API requests take: UTC with ``Z``, to the millisecond."""
    value = value.astimezone(UTC)
    return f"{value:%Y-%m-%dT%H:%M:%S}.{value.microsecond // 1000:03d}Z"


def version(order: Mapping[str, Any]) -> str:
    """The order's LastUpdateDate in one fixed-width form, so versions compare as text in time
    order whether Amazon sent seconds or milliseconds."""
    return f"{instant(order['LastUpdateDate']):%Y-%m-%dT%H:%M:%S.%fZ}"


def is_true(value: Any) -> bool:
    """SP-API sends some booleans as strings (``"IsBuyerRequestedCancel": "true"``)."""
    return value is True or (isinstance(value, str) and value.strip().lower() == "true")


def _address(order: Mapping[str, Any]) -> dict[str, Any] | None:
    """The shipping address as far as Amazon shows it: none for Pending and Canceled orders, and only
    city, region and postcode without a Restricted Data Token. The hub holds an order whose address
    lacks what a parcel needs until a person completes it."""
    raw = order.get("ShippingAddress")
    if not isinstance(raw, Mapping):
        return None
    # Amazon sometimes leaves AddressLine1 empty and puts the street in line 2 or 3.
    lines = [str(raw[k]).strip() for k in ("AddressLine1", "AddressLine2", "AddressLine3") if raw.get(k)]
    lines = [line for line in lines if line]
    city = next((str(raw[k]) for k in ("City", "Municipality", "District", "County") if raw.get(k)), None)
    return {
        "name": raw.get("Name") or None,
        "line1": lines[0] if lines else None,
        "line2": ", ".join(lines[1:]) or None,
        "city": city,
        "region": raw.get("StateOrRegion") or None,
        "postal_code": raw.get("PostalCode") or None,
        "country": raw.get("CountryCode") or None,
        "phone": raw.get("Phone") or None,
    }


def _lines_with_quantity(
    order: Mapping[str, Any], items: Sequence[Mapping[str, Any]]
) -> list[Mapping[str, Any]]:
    # A fully cancelled item stays on the order with QuantityOrdered 0: it is not a line to fulfil.
    # Anything else stays, so that a malformed quantity is reported by map_order, not skipped. A
    # cancelled order keeps its items all the same: the hub records what was sold and cancelled.
    kept = [item for item in items if item.get("QuantityOrdered") != 0]
    return list(items) if not kept and order.get("OrderStatus") == CANCELED else kept


def missing(order: Mapping[str, Any], items: Sequence[Mapping[str, Any]]) -> str | None:
    """Why the order cannot be mapped yet, or None when it can. Amazon shows no prices while an order
    is Pending; a later version of the same order has them. A cancelled order needs none."""
    status = order.get("OrderStatus")
    lines = _lines_with_quantity(order, items)
    if not lines:
        return f"order {order.get('AmazonOrderId')} ({status}) has no items with a quantity"
    if status == CANCELED:
        if _known_currency(order, items) is None:
            return f"order {order.get('AmazonOrderId')} ({status}) shows no currency"
        return None
    if any("ItemPrice" not in item for item in lines):
        return f"order {order.get('AmazonOrderId')} ({status}) has no item prices yet"
    return None


class _Money:
    """Reads Amazon Money objects of one currency into integer minor units."""

    def __init__(self, currency: str) -> None:
        self.currency = currency
        self.exponent = minor_unit_exponent(currency)
        self.scale = Decimal(10) ** self.exponent

    def __call__(self, money: Any, what: str) -> int:
        if money is None:
            return 0
        if not isinstance(money, Mapping):
            raise ValueError(f"{what} is not a Money object: {money!r}")
        if money.get("CurrencyCode") != self.currency:
            raise ValueError(f"{what} is in {money.get('CurrencyCode')}, the order in {self.currency}")
        plain = plain_minor_units(money.get("Amount"), self.exponent)
        if plain is not None:
            return plain
        try:
            minor = Decimal(str(money["Amount"])) * self.scale
        except (KeyError, InvalidOperation) as exc:
            raise ValueError(f"{what} has no decimal Amount: {money!r}") from exc
        if minor != minor.to_integral_value():
            raise ValueError(
                f"{what} {money['Amount']} {self.currency} is finer than the currency's minor unit"
            )
        return int(minor)


def _known_currency(order: Mapping[str, Any], items: Sequence[Mapping[str, Any]]) -> str | None:
    total = order.get("OrderTotal")
    if isinstance(total, Mapping) and total.get("CurrencyCode"):
        return str(total["CurrencyCode"])
    for item in items:
        money = item.get("ItemPrice")
        if isinstance(money, Mapping) and money.get("CurrencyCode"):
            return str(money["CurrencyCode"])
    return MARKETPLACE_CURRENCY.get(str(order.get("MarketplaceId")))


def _currency(order: Mapping[str, Any], items: Sequence[Mapping[str, Any]]) -> str:
    currency = _known_currency(order, items)
    if currency is None:
        raise ValueError(f"order {order.get('AmazonOrderId')} has no currency (no OrderTotal, no ItemPrice)")
    return currency


def _shipped(status: Any, item: Mapping[str, Any], quantity: int) -> int:
    """Units of the item Amazon already shipped: all of them once the order is Shipped."""
    if status in SHIPPED:
        return quantity
    shipped = item.get("QuantityShipped")
    if not isinstance(shipped, int) or isinstance(shipped, bool) or shipped < 0:
        return 0
    return min(shipped, quantity)


def map_order(shop: str, order: Mapping[str, Any], items: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The normalized order (``orderly.orders.schemas.NormalizedOrder`` JSON shape).

    Raises ValueError when the order is not mappable: see :func:`missing`, which callers check first.
    """
    reason = missing(order, items)
    if reason is not None:
        raise ValueError(reason)
    order_id = order["AmazonOrderId"]
    money = _Money(_currency(order, items))
    lines, shipping, tax, discount = [], 0, 0, 0
    cancel_reasons = []
    status = order.get("OrderStatus")
    for item in _lines_with_quantity(order, items):
        sku = item.get("SellerSKU") or item.get("ASIN")
        quantity = item.get("QuantityOrdered")
        if (
            not isinstance(quantity, int)
            or isinstance(quantity, bool)
            or quantity < (0 if status == CANCELED else 1)
        ):
            raise ValueError(f"{sku} QuantityOrdered is not a positive count: {quantity!r}")
        price = money(item.get("ItemPrice"), f"{sku} ItemPrice")
        # ItemPrice is for the whole line. When it does not divide by the quantity the unit price is
        # rounded up and the remainder counted as discount, so the line still totals ItemPrice.
        unit = -(-price // quantity) if quantity else price
        item_tax = money(item.get("ItemTax"), f"{sku} ItemTax")
        lines.append(
            {
                "platform_sku": item.get("SellerSKU"),
                "listing_id": item.get("ASIN"),
                "title": item.get("Title"),
                "quantity": quantity,
                "shipped": _shipped(status, item, quantity),
                "unit_price": unit,
                "discount": money(item.get("PromotionDiscount"), f"{sku} PromotionDiscount")
                + unit * quantity
                - price,
                "tax": item_tax,
            }
        )
        shipping += money(item.get("ShippingPrice"), f"{sku} ShippingPrice")
        tax += item_tax + money(item.get("ShippingTax"), f"{sku} ShippingTax")
        discount += money(item.get("ShippingDiscount"), f"{sku} ShippingDiscount")
        request = item.get("BuyerRequestedCancel")
        if isinstance(request, Mapping) and is_true(request.get("IsBuyerRequestedCancel")):
            cancel_reasons.append(str(request.get("BuyerCancelReason") or "no reason given"))
    buyer = order.get("BuyerInfo")
    if not isinstance(buyer, Mapping):
        buyer = {}
    tags = [
        tag for tag, on in ((PRIME, order.get("IsPrime")), (BUSINESS, order.get("IsBusinessOrder"))) if on
    ]
    if cancel_reasons:
        tags.append(CANCEL_REQUESTED)
    return {
        "shop": shop,
        "external_id": order_id,
        "placed_at": instant(order["PurchaseDate"]).isoformat(),
        "updated_at": instant(order["LastUpdateDate"]).isoformat(),
        "currency": money.currency,
        "cancelled": status == CANCELED,
        "cancel_requested": bool(cancel_reasons) and status != CANCELED,
        # FBA: Amazon ships from its own stock; the hub keeps the order but never reserves for it.
        "fulfillment": "platform" if order.get("FulfillmentChannel") == "AFN" else "merchant",
        # The seller ships MFN orders from the hub's shelves: one first seen shipped took its units there.
        "shipped_from_stock": True,
        "payment_status": "pending" if status == "Pending" else "paid",
        "payment_method": order.get("PaymentMethod"),
        "platform_status": status,
        "buyer": {
            "name": buyer.get("BuyerName"),
            "email": buyer.get("BuyerEmail"),
            "phone": None,
            "platform_id": None,
        },
        "shipping_address": _address(order),
        "billing_country": None,
        "lines": lines,
        "shipping_total": shipping,
        "discount_total": discount,
        "tax_total": tax,
        "total": money(order["OrderTotal"], "OrderTotal") if "OrderTotal" in order else None,
        "buyer_remark": "Buyer asked to cancel: " + "; ".join(dict.fromkeys(cancel_reasons))
        if cancel_reasons
        else None,
        "seller_remark": None,
        "tags": tags,
        "raw": {"order": dict(order), "items": [dict(item) for item in items]},
    }


def patch_quantity(quantity: int) -> dict[str, Any]:
    """The Listings Items PATCH body that sets a SKU's seller-fulfilled quantity. ``productType``
    is required by the 2021-08-01 model; "PRODUCT" is the generic type quantity-only updates use."""
    return {
        "productType": "PRODUCT",
        "patches": [
            {
                "op": "replace",
                "path": "/attributes/fulfillment_availability",
                "value": [{"fulfillment_channel_code": "DEFAULT", "quantity": quantity}],
            }
        ],
    }
