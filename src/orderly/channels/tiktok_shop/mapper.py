"""TikTok Shop order (202309 ``orders/search`` and order detail) -> normalized order. Pure: no I/O, no
clock.

Money is decimal strings in major units (``payment.currency`` names the currency), read exactly into
minor units (``core.money``); an amount finer than its currency allows is refused, never rounded.
Times are Unix seconds; the legacy (pre-202309) payloads wrote millisecond strings, also read here.

Each line item is one unit: the sample has no ``quantity`` (UNCONFIRMED, CONTRACT.md section 3), so
items of one SKU at one price are counted into one line. A line item TikTok cancelled on its own
(``display_status`` CANCELLED in an order that is not) counts 0 units, kept for the record.

An order the seller fulfils (not FBT) ships from the hub's shelves: one first seen already shipped
(shipped in Seller Center, a notification lost) says ``shipped_from_stock``, and its units leave the
hub's stock as shipped when its parcel left after the shop joined the hub
(``orders.domain.left_the_hubs_shelves``). The parcel's time is its ``rts_time`` (the seller set the
package ready to ship: packed, off the shelf), else the order's ``collection_time`` (the carrier
collected it); with neither, the version's own time decides.

Returns live in TikTok's Return & Refund API (``/return_refund/202309/returns/search``), not in the
order: the connector puts an order's returns beside it as ``return_orders``. A line item is back
(its line's ``returned``) when a return of type RETURN_AND_REFUND that the buyer does not keep the item
for reached RETURN_OR_REFUND_REQUEST_SUCCESS or _COMPLETE (the seller took the package in; refunded or
about to be). A refund without return, a replacement, and returns still pending, rejected or cancelled
bring nothing back. The order's time is the latest of its ``update_time`` and its returns'.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from orderly.core.money import minor_unit_exponent, plain_minor_units

#: Order statuses (CONTRACT.md section 3) in which every unit not cancelled has left the seller.
SHIPPED = frozenset({"IN_TRANSIT", "DELIVERED", "COMPLETED"})
CANCELLED = "CANCELLED"
UNPAID = "UNPAID"
#: Fulfilled by TikTok (FBT): TikTok ships from its own warehouse; the hub never reserves for it.
FBT = "FULFILLMENT_BY_TIKTOK"
#: Tags Orderly puts on TikTok Shop orders.
CANCEL_REQUESTED, ON_HOLD, COD, SAMPLE, REPLACEMENT, EXCHANGE, PRE_ORDER = (
    "cancel-requested",
    "on-hold",
    "cod",
    "sample",
    "replacement",
    "exchange",
    "pre-order",
)
#: Return & Refund statuses and type under which a line item came back to the seller.
RETURNED = frozenset({"RETURN_OR_REFUND_REQUEST_SUCCESS", "RETURN_OR_REFUND_REQUEST_COMPLETE"})
RETURN_AND_REFUND = "RETURN_AND_REFUND"
#: Tag of an order some of whose units came back.
RETURN = "returned"
#: Above this a number of seconds is taken for milliseconds (the year 5138 in seconds).
_MILLISECONDS_FROM = 10**11


def instant(value: Any, what: str) -> datetime:
    """A TikTok time as aware UTC: Unix seconds (an integer, or its digits as text), or the legacy
    millisecond strings (``"1619611561674"``)."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValueError(f"{what} is not a Unix time: {value!r}"[:200])
    text = str(value).strip()
    if not text.isascii() or not text.isdigit():
        raise ValueError(f"{what} is not a Unix time: {value!r}"[:200])
    number = int(text)
    seconds = number / 1000 if number >= _MILLISECONDS_FROM else number
    return datetime.fromtimestamp(seconds, UTC)


def version(order: Mapping[str, Any]) -> str:
    """The order's time (:func:`changed`) in one fixed-width form, so versions compare as text in time
    order (milliseconds kept, for the legacy stamps)."""
    return f"{changed(order):%Y-%m-%dT%H:%M:%S.%fZ}"


def changed(order: Mapping[str, Any]) -> datetime:
    """When the order last changed: its ``update_time``, or a later one of its returns'."""
    stamps = [instant(order.get("update_time"), "update_time")]
    stamps += [
        instant(r["update_time"], "return update_time") for r in _returns(order) if r.get("update_time")
    ]
    return max(stamps)


def _returns(order: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    found = order.get("return_orders")
    return [r for r in found if isinstance(r, Mapping)] if isinstance(found, list) else []


def returned_items(order: Mapping[str, Any]) -> set[str]:
    """The ids of the order's line items that came back to the seller (see the module's doc)."""
    back: set[str] = set()
    for entry in _returns(order):
        if (
            entry.get("return_type") != RETURN_AND_REFUND
            or entry.get("return_status") not in RETURNED
            or entry.get("can_buyer_keep_item") is True
        ):
            continue
        for line in entry.get("return_line_items") or []:
            if isinstance(line, Mapping) and _text(line.get("order_line_item_id")):
                back.add(str(line["order_line_item_id"]).strip())
    return back


def minor_units(amount: Any, exponent: int, what: str) -> int:
    """A decimal string in major units (``"5000"``, ``"21.3"``) as integer minor units, exactly."""
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
    def __init__(self, currency: str) -> None:
        self.currency = currency
        self.exponent = minor_unit_exponent(currency)

    def __call__(self, amount: Any, what: str) -> int:
        """An amount, 0 when absent or empty (TikTok leaves out what does not apply)."""
        if amount is None or amount == "":
            return 0
        return minor_units(amount, self.exponent, what)


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _address(order: Mapping[str, Any]) -> dict[str, Any] | None:
    """The recipient as TikTok shows it: not at all for UNPAID and ON_HOLD orders.
    The region is the first level below the country, the city the level named so or else the
    second; the street is ``address_line1`` (else ``address_detail``), the rest goes to line 2."""
    raw = order.get("recipient_address")
    if not isinstance(raw, Mapping):
        return None
    levels = [d for d in raw.get("district_info") or [] if isinstance(d, Mapping)]
    names = [_text(d.get("address_name")) for d in levels]
    city = next(
        (_text(d.get("address_name")) for d in levels if str(d.get("address_level_name")).lower() == "city"),
        None,
    ) or _text(raw.get("post_town"))
    if city is None and len(names) > 2:
        city = names[2]
    lines = [_text(raw.get(f"address_line{n}")) for n in range(1, 5)]
    detail = _text(raw.get("address_detail"))
    street = lines[0] or detail
    rest = [line for line in [*lines[1:], detail if lines[0] else None] if line]
    name = _text(raw.get("name")) or _text(
        " ".join(filter(None, (raw.get("first_name"), raw.get("last_name"))))
    )
    return {
        "name": name,
        "line1": street,
        "line2": ", ".join(rest) or None,
        "city": city,
        "region": names[1] if len(names) > 1 else None,
        "postal_code": _text(raw.get("postal_code")),
        "country": _text(raw.get("region_code")),
        "phone": _phone(raw.get("phone_number")),
    }


def _phone(value: Any) -> str | None:
    """TikTok masks the recipient's phone (``(+1)213-***-1234``): no number a carrier or a check can
    use, so it is left out (TikTok's own logistics holds the real one)."""
    phone = _text(value)
    return None if phone is None or "*" in phone else phone


def _counts_as_shipped(order_status: str, item: Mapping[str, Any]) -> bool:
    return order_status in SHIPPED or item.get("display_status") in SHIPPED


def _lines(order: Mapping[str, Any], money: _Money) -> list[dict[str, Any]]:
    """One line per SKU and price: unit price the original price, the discounts (seller's and
    platform's) what takes it down to the sale price the buyer paid."""
    status = str(order.get("status"))
    back = returned_items(order)
    lines: dict[tuple[Any, ...], dict[str, Any]] = {}
    for item in order.get("line_items") or []:
        if not isinstance(item, Mapping):
            raise ValueError("a line item is not an object")
        sku = _text(item.get("seller_sku"))
        what = f"line item {item.get('id')}"
        sale = money(item.get("sale_price"), f"{what} sale_price")
        original = money(item.get("original_price"), f"{what} original_price") or sale
        unit = max(original, sale)
        key = (item.get("sku_id"), sku, unit, sale)
        line = lines.get(key)
        if line is None:
            title = " - ".join(filter(None, (_text(item.get("product_name")), _text(item.get("sku_name")))))
            line = lines[key] = {
                "platform_sku": sku,
                "listing_id": _text(item.get("sku_id")),
                "title": title[:500] or None,
                "quantity": 0,
                "shipped": 0,
                "returned": 0,
                "unit_price": unit,
                "discount": 0,
                "tax": 0,
            }
        cancelled_alone = item.get("display_status") == CANCELLED and status != CANCELLED
        if cancelled_alone:
            continue
        line["quantity"] += 1
        line["discount"] += unit - sale
        line["tax"] += sum(
            money(tax.get("tax_amount"), f"{what} tax")
            for tax in item.get("item_tax") or []
            if isinstance(tax, Mapping)
        )
        if _counts_as_shipped(status, item):
            line["shipped"] += 1
            line["returned"] += int(str(item.get("id")).strip() in back)
    if not lines:
        raise ValueError(f"order {order.get('id')} has no line items")
    return list(lines.values())


def _shipments(order: Mapping[str, Any]) -> list[dict[str, Any]] | None:
    """One shipment per tracking number of the units that left; None while none has (the hub's own
    parcels, shipped through TikTok's logistics and not yet collected, stay as stored)."""
    status = str(order.get("status"))
    found: dict[str, dict[str, Any]] = {}
    for item in order.get("line_items") or []:
        number = _text(item.get("tracking_number")) or _text(order.get("tracking_number"))
        if not _counts_as_shipped(status, item) or number is None or number in found:
            continue
        at = item.get("rts_time") or order.get("rts_time") or order.get("collection_time")
        left = None if at in (None, "", 0) else instant(at, "rts_time").isoformat()
        found[number] = {
            "carrier": _text(item.get("shipping_provider_name")) or _text(order.get("shipping_provider")),
            "tracking_number": number,
            "tracking_url": None,
            "shipped_at": left,
        }
    return list(found.values()) or None


def _tags(order: Mapping[str, Any], cancel_requested: bool, returned: bool) -> list[str]:
    items = [i for i in order.get("line_items") or [] if isinstance(i, Mapping)]
    flags = (
        (RETURN, returned),
        (CANCEL_REQUESTED, cancel_requested),
        (ON_HOLD, order.get("status") == "ON_HOLD" or order.get("is_on_hold_order") is True),
        (COD, order.get("is_cod") is True),
        (SAMPLE, order.get("is_sample_order") is True),
        (REPLACEMENT, order.get("is_replacement_order") is True),
        (EXCHANGE, order.get("is_exchange_order") is True),
        (PRE_ORDER, any(i.get("sku_type") == "PRE_ORDER" for i in items)),
    )
    return [tag for tag, on in flags if on]


def _sum(money: _Money, payment: Mapping[str, Any], names: Iterable[str]) -> int:
    return sum(money(payment.get(name), f"payment.{name}") for name in names)


def map_order(order: Mapping[str, Any], shop_code: str) -> dict[str, Any]:
    """The normalized order (``orderly.orders.schemas.NormalizedOrder`` JSON shape). Raises
    ValueError for a payload without the essentials (id, times, currency, line items, amounts)."""
    order_id = _text(order.get("id"))
    if order_id is None:
        raise ValueError("the order has no id")
    payment = order.get("payment")
    if not isinstance(payment, Mapping) or not _text(payment.get("currency")):
        raise ValueError(f"order {order_id} has no payment currency")
    money = _Money(str(payment["currency"]).strip().upper())
    status = _text(order.get("status")) or ""
    cancelled = status == CANCELLED
    cancel_requested = order.get("is_buyer_request_cancel") is True and not cancelled
    lines = _lines(order, money)
    # The shipping the buyer was charged before TikTok's and the seller's shipping discounts, which
    # are the order's own discount; the product discounts are on the lines.
    shipping = money(payment.get("shipping_fee"), "payment.shipping_fee")
    original_shipping = money(payment.get("original_shipping_fee"), "payment.original_shipping_fee")
    reasons = [_text(order.get("cancel_reason"))] if cancel_requested or cancelled else []
    remark = _text(order.get("buyer_message"))
    if cancel_requested:
        asked = f"Buyer asked to cancel: {reasons[0] or 'no reason given'}"
        remark = f"{remark}\n{asked}" if remark else asked
    return {
        "shop": shop_code,
        "external_id": order_id,
        "placed_at": instant(order.get("create_time"), "create_time").isoformat(),
        "updated_at": changed(order).isoformat(),
        "currency": money.currency,
        "cancelled": cancelled,
        "cancel_requested": cancel_requested,
        "fulfillment": "platform" if order.get("fulfillment_type") == FBT else "merchant",
        # The seller ships from the hub's shelves: an order first seen shipped took its units there.
        "shipped_from_stock": order.get("fulfillment_type") != FBT,
        "payment_status": "pending" if status == UNPAID else "paid",
        "payment_method": (_text(order.get("payment_method_name")) or "")[:64] or None,
        "platform_status": status[:64] or None,
        "buyer": {
            "name": None,  # TikTok shows the recipient, not the buyer
            "email": _text(order.get("buyer_email")),
            "phone": None,
            "platform_id": _text(order.get("user_id")),
        },
        "shipping_address": _address(order),
        "billing_country": None,
        "lines": lines,
        "shipments": _shipments(order),
        "shipping_total": max(shipping, original_shipping),
        "discount_total": max(0, original_shipping - shipping),
        "tax_total": money(payment.get("tax"), "payment.tax")
        or _sum(money, payment, ("product_tax", "shipping_fee_tax")),
        "total": money(payment.get("total_amount"), "payment.total_amount")
        if "total_amount" in payment
        else None,
        "buyer_remark": remark,
        "seller_remark": _text(order.get("seller_note")),
        "tags": _tags(order, cancel_requested, any(line["returned"] for line in lines)),
        "raw": dict(order),
    }


def is_order(body: Mapping[str, Any]) -> bool:
    """Whether an inbox body is an order (a poll's) rather than a webhook notification about one."""
    return "line_items" in body and "id" in body


def notified_status(body: Mapping[str, Any]) -> str | None:
    """The order status a notification announces (webhooks spell CANCELLED as CANCEL)."""
    data = body.get("data")
    status = data.get("order_status") if isinstance(data, Mapping) else None
    return CANCELLED if status == "CANCEL" else _text(status)
