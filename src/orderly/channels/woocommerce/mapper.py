"""WooCommerce REST v3 order (as ``GET /orders``, ``GET /orders/<id>`` and order webhooks give it) ->
normalized order; and the names the connector and the mapper share. Pure: no I/O.

Money is decimal strings in major units (``"29.35"``) rounded by the store to its price decimals; they
become integer minor units of the order's ``currency``, half up where a store keeps more decimals than
its currency has (what the buyer is charged is in the currency's units). Line ``price`` is a JSON
number (a float) and is never read: a line's unit price comes from its ``subtotal`` and quantity.

Times: every ``date_*`` field is in the site's zone without an offset; each has a ``date_*_gmt`` twin
in UTC, also without an offset. Only the ``_gmt`` fields are read, as aware UTC.

A listing is a simple product (its id, ``"93"``) or a variation (``"<product id>:<variation id>"``,
``"22:23"``): the one id names the endpoint its stock is set through.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from orderly.core.money import minor_unit_exponent, plain_minor_units

#: Order statuses (CONTRACT section 3, and ``checkout-draft``, the block checkout's cart before it is
#: placed) by what they mean for the hub.
AWAITING_PAYMENT = frozenset({"pending", "on-hold"})
PAID = frozenset({"processing", "completed"})
CANCELLED = frozenset({"cancelled", "refunded", "trash"})
FAILED = "failed"
COMPLETED = "completed"
DRAFT = "checkout-draft"
KNOWN = AWAITING_PAYMENT | PAID | CANCELLED | {FAILED, DRAFT}
#: Tags the hub puts on WooCommerce orders.
REFUNDED, PARTLY_REFUNDED, TRASHED, UNKNOWN_STATUS = (
    "refunded",
    "partly-refunded",
    "trashed",
    "woocommerce-status-unknown",
)
VARIATION_SEPARATOR = ":"


def instant(value: Any) -> datetime:
    """A ``*_gmt`` time (``"2017-03-22T19:28:02"``, UTC without an offset) as aware UTC; one written
    with an offset is taken at its offset."""
    if not isinstance(value, str):
        raise ValueError(f"not a WooCommerce time: {value!r}"[:200])
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError as exc:
        raise ValueError(f"not a WooCommerce time: {value!r}"[:200]) from exc
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def wc_time(moment: datetime) -> str:
    """An instant as the list filters take it with ``dates_are_gmt``: UTC, to the second, no offset."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")


def version(order: Mapping[str, Any]) -> str:
    """The order's ``date_modified_gmt`` in one fixed-width UTC form: versions compare as text in time
    order, and a poll and a webhook of one version have the same stamp."""
    return f"{instant(order['date_modified_gmt']):%Y-%m-%dT%H:%M:%SZ}"


def listing_id(product_id: Any, variation_id: Any) -> str | None:
    """The listing a line item names: its variation under its product, else its product."""
    product = _positive(product_id)
    variation = _positive(variation_id)
    if product is None:
        return None
    return f"{product}{VARIATION_SEPARATOR}{variation}" if variation is not None else str(product)


def parse_listing(listing: str) -> tuple[int, int | None] | None:
    """``(product id, variation id or None)`` of a listing id; None when it is not one."""
    product, separator, variation = listing.partition(VARIATION_SEPARATOR)
    if not _digits(product) or (separator and not _digits(variation)):
        return None
    return int(product), int(variation) if separator else None


def minor_units(amount: Any, currency: str, what: str) -> int:
    """A decimal amount in major units as integer minor units of ``currency``, half up past them."""
    exponent = minor_unit_exponent(currency)
    if amount is None or amount == "":
        return 0
    plain = plain_minor_units(amount, exponent)
    if plain is not None:
        return plain
    if isinstance(amount, bool) or not isinstance(amount, str | int):
        raise ValueError(f"{what} {amount!r} is not a decimal amount"[:200])
    try:
        scaled = Decimal(str(amount)).scaleb(exponent)
    except InvalidOperation as exc:
        raise ValueError(f"{what} {amount!r} is not a decimal amount"[:200]) from exc
    if not scaled.is_finite():
        raise ValueError(f"{what} {amount!r} is not a decimal amount"[:200])
    return int(scaled.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def status_of(order: Mapping[str, Any]) -> str:
    return str(order.get("status") or "").strip().lower()


def is_draft(order: Mapping[str, Any]) -> bool:
    """A block checkout's draft: a cart, not yet an order the buyer placed."""
    return status_of(order) == DRAFT


def map_order(order: Mapping[str, Any], shop_code: str) -> dict[str, Any]:
    """The normalized order for one WooCommerce order. Raises ValueError on a payload without the
    essentials (id, GMT times, currency, amounts); everything else is left to the schema to judge."""
    try:
        currency = str(order["currency"]).strip().upper()
        status = status_of(order)
        shipped_all = status == COMPLETED
        lines = [_line(item, currency, shipped_all) for item in order.get("line_items") or []]
        line_discounts = sum(line["discount"] for line in lines)
        billing = order.get("billing") or {}
        shipping = order.get("shipping") or {}
        buyer_name = _person(billing) or _person(shipping)
        refunds = [r for r in order.get("refunds") or [] if isinstance(r, Mapping)]
        tags = []
        if status == "refunded":
            tags.append(REFUNDED)
        elif refunds:
            tags.append(PARTLY_REFUNDED)
        if status == "trash":
            tags.append(TRASHED)
        if status not in KNOWN:
            tags.append(UNKNOWN_STATUS)
        customer = _positive(order.get("customer_id"))
        return {
            "shop": shop_code,
            "external_id": _id(order.get("id")),
            "placed_at": instant(order["date_created_gmt"]).isoformat(),
            "updated_at": instant(order["date_modified_gmt"]).isoformat(),
            "currency": currency,
            "cancelled": status in CANCELLED,
            "payment_status": _payment(status, order, refunds),
            "payment_method": _text(order.get("payment_method_title")) or _text(order.get("payment_method")),
            "platform_status": status[:64] or None,
            "buyer": {
                "name": buyer_name,
                "email": _text(billing.get("email")),
                "phone": _text(billing.get("phone")) or _text(shipping.get("phone")),
                "platform_id": None if customer is None else str(customer),
            },
            # Orders that ship nothing (downloads, services) carry an empty shipping address: the
            # billing address is then where the buyer is.
            "shipping_address": _address(shipping if _filled(shipping) else billing, billing, buyer_name),
            "billing_country": _text(billing.get("country")),
            "lines": lines,
            "shipments": None,  # core WooCommerce keeps none (see docs/channels/woocommerce.md)
            # The store ships from the hub's shelves: an order first seen completed took its units there.
            "shipped_from_stock": True,
            "shipping_total": minor_units(order.get("shipping_total"), currency, "shipping_total"),
            # Coupons are already off the lines (subtotal - total); what is left is the order's own.
            "discount_total": max(
                0, minor_units(order.get("discount_total"), currency, "discount_total") - line_discounts
            ),
            "tax_total": minor_units(order.get("total_tax"), currency, "total_tax"),
            # The platform's total, fees (which the hub has no field for) included.
            "total": minor_units(order["total"], currency, "total"),
            "buyer_remark": _text(order.get("customer_note")),
            "tags": tags,
            "raw": dict(order),
        }
    except (KeyError, TypeError, AttributeError) as exc:
        raise ValueError(f"not a WooCommerce order payload: missing or malformed {exc}"[:200]) from exc


def _payment(status: str, order: Mapping[str, Any], refunds: list[Mapping[str, Any]]) -> str:
    if status == "refunded":
        return "refunded"
    if status == FAILED:
        return "failed"
    if refunds:
        return "partially_refunded"
    if status == "pending":  # awaiting payment, whatever an earlier attempt left in date_paid
        return "pending"
    # Held, cancelled or a plugin's status: paid if WooCommerce recorded a payment (on-hold is mostly a
    # bank transfer or cheque not yet in).
    if status in PAID or order.get("date_paid_gmt"):
        return "paid"
    return "pending"


def _line(item: Mapping[str, Any], currency: str, shipped_all: bool) -> dict[str, Any]:
    quantity = item["quantity"]
    if isinstance(quantity, bool) or not isinstance(quantity, int):
        raise ValueError(f"line item {item.get('id')}: quantity {quantity!r} is not a whole number"[:200])
    what = f"line item {item.get('id')}"
    subtotal = minor_units(item.get("subtotal"), currency, f"{what} subtotal")  # before coupons
    total = minor_units(item.get("total"), currency, f"{what} total")  # after coupons
    # The unit price is the subtotal shared over the units, rounded up; the discount makes up the
    # difference to the line's total, so price x quantity - discount is exactly what WooCommerce says.
    unit = -(-subtotal // quantity) if quantity > 0 else subtotal
    return {
        "platform_sku": _text(item.get("sku")),
        "listing_id": listing_id(item.get("product_id"), item.get("variation_id")),
        "title": _text(html.unescape(str(item.get("name") or ""))),
        "quantity": quantity,
        "shipped": quantity if shipped_all else 0,
        "unit_price": unit,
        "discount": max(0, unit * quantity - total),
        "tax": minor_units(item.get("total_tax"), currency, f"{what} total_tax"),
    }


def _filled(address: Mapping[str, Any]) -> bool:
    return any(_text(address.get(name)) for name in ("address_1", "city", "postcode", "country"))


def _address(
    address: Mapping[str, Any], billing: Mapping[str, Any], buyer_name: str | None
) -> dict[str, Any] | None:
    if not _filled(address):
        return None
    return {
        "name": _person(address) or _text(address.get("company")) or buyer_name,
        "line1": _text(address.get("address_1")),
        "line2": _text(address.get("address_2")),
        "city": _text(address.get("city")),
        "region": _text(address.get("state")),
        "postal_code": _text(address.get("postcode")),
        "country": _text(address.get("country")),
        # The shipping address has a phone only in newer WooCommerce (UNCONFIRMED which): else billing's.
        "phone": _text(address.get("phone")) or _text(billing.get("phone")),
    }


def _person(obj: Mapping[str, Any]) -> str | None:
    return _text(" ".join(filter(None, (_text(obj.get("first_name")), _text(obj.get("last_name"))))))


def _id(value: Any) -> str:
    """A WooCommerce order id: a positive integer (read exactly), or its digits."""
    found = _positive(value)
    if found is None:
        raise ValueError(f"not a WooCommerce order id: {value!r}"[:200])
    return str(found)


def _positive(value: Any) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value if value > 0 else None
    if isinstance(value, str) and _digits(value) and int(value) > 0:
        return int(value)
    return None


def _digits(text: str) -> bool:
    return text.isascii() and text.isdigit()


def _text(value: Any) -> str | None:
    """WooCommerce writes absent text as an empty string; None here."""
    if value is None:
        return None
    return str(value).strip() or None
