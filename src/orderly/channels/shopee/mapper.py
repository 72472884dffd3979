"""Shopee order (``get_order_detail``'s ``order_list[]`` entry, with the optional fields the connector
asks for) -> normalized order. Pure: no I/O, nothing but the payload and the shop code.

Money: Shopee writes amounts as JSON numbers in the currency's major units (``"total_amount": 32119``
for VND, contract §4). Each is read as the exact decimal its JSON text says and scaled to the hub's
minor units for the currency (``core/money.py``: VND 0 decimals, IDR/MYR/SGD/PHP/THB 2): an IDR 150000
becomes 15000000 minor units, exactly. Decimal samples of two-decimal currencies were not published
(UNCONFIRMED), so an amount with more decimals than the currency has is refused, never rounded.
Times: Unix seconds -> aware UTC.

Statuses (contract §4) onto the hub's: UNPAID and PENDING are awaiting payment; READY_TO_SHIP,
PROCESSED, RETRY_SHIP and INVOICE_PENDING are paid and the seller's to ship; SHIPPED,
TO_CONFIRM_RECEIVE, COMPLETED and TO_RETURN have left (every unit shipped, with the tracking number
when the detail gives one); IN_CANCEL is the buyer's cancellation request (the hub's cancel-request
hold); CANCELLED is cancelled.

Returns come from Shopee's returns module (``/api/v2/returns/get_return_list``; its payloads are not in
the contract folder: UNCONFIRMED, read from the API reference as public SDKs export it): the connector
puts a shipped order's returns beside it as ``returns``, each as get_return_list lists it
(``return_sn``, ``status``, ``needs_logistics``, ``return_solution``, ``update_time``,
``item[{item_id, model_id, amount}]``). Units came back (their line's ``returned``) only under a return
that needs logistics (the buyer sends the goods back), is not a refund only (``return_solution`` 1),
and reached ACCEPTED: the seller, or Shopee judging, accepted it, which for a return with logistics we
read as after the parcel came back (UNCONFIRMED: our reading of the status list; a return CLOSED, in
dispute, requested, processing or cancelled brings nothing back, nor does a refund without return).
The units are given to the order's lines of the same item and model, never more than a line shipped.
When the returns module lists no return for the order, TO_RETURN ("return in progress", the order
list's only return status) is read as before: every unit shipped came back. Any unit back tags the
order ``returned``; the hub makes it returned when every unit is (its stock not put back: after-sales
inspects the goods first). The order's time is the latest of its ``update_time`` and its returns'.
An order
Shopee's own warehouse fulfils (``fulfillment_flag`` ``fulfilled_by_shopee``) is platform-fulfilled: it
never takes the hub's stock.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, TypeGuard

from orderly.core.money import minor_unit_exponent

AWAITING_PAYMENT = frozenset({"UNPAID", "PENDING"})
TO_SHIP = frozenset({"READY_TO_SHIP", "PROCESSED", "RETRY_SHIP", "INVOICE_PENDING"})
LEFT = frozenset({"SHIPPED", "TO_CONFIRM_RECEIVE", "COMPLETED", "TO_RETURN"})
RETURNING = "TO_RETURN"
CANCEL_REQUESTED = "IN_CANCEL"
CANCELLED = "CANCELLED"
#: get_return_list statuses under which a return with logistics brought its goods back (UNCONFIRMED).
BACK = frozenset({"ACCEPTED"})
#: ``return_solution`` of a refund without return (0 is return and refund).
REFUND_ONLY = 1
#: Tag of an order some of whose units came back.
RETURN_TAG = "returned"
#: Where the connector puts an order's returns (not a Shopee field).
RETURNS = "returns"
STATUSES = AWAITING_PAYMENT | TO_SHIP | LEFT | {CANCEL_REQUESTED, CANCELLED}
#: ``fulfillment_flag`` of an order Shopee's warehouse ships (SBS / fulfilled by Shopee).
PLATFORM_FULFILLED = "fulfilled_by_shopee"
#: The optional fields ``get_order_detail`` must be asked for, for every field mapped here.
DETAIL_FIELDS = (
    "buyer_user_id,buyer_username,estimated_shipping_fee,recipient_address,actual_shipping_fee,"
    "note,note_update_time,item_list,pay_time,payment_method,total_amount,shipping_carrier,"
    "package_list,cancel_by,cancel_reason,buyer_cancel_reason,fulfillment_flag,pickup_done_time,"
    "invoice_data"
)


def map_order(order: Mapping[str, Any], shop_code: str) -> dict[str, Any]:
    """The normalized order for one Shopee order. Raises ValueError on a payload without the
    essentials (order_sn, times, currency, status, items, total); the rest is left to the schema."""
    try:
        order_sn = order["order_sn"]
        if not isinstance(order_sn, str) or not order_sn.strip():
            raise ValueError(f"order_sn is not an order number: {order_sn!r}"[:200])
        status = order["order_status"]
        if status not in STATUSES:
            raise ValueError(f"order_status {status!r} is not one the hub knows"[:200])
        currency = str(order["currency"]).upper()
        exponent = minor_unit_exponent(currency)
        shipped_all = status in LEFT
        lines = [_line(item, exponent, shipped_all) for item in order["item_list"]]
        _give_back(lines, returned_units(order), whole=status == RETURNING)
        subtotal = sum(line["unit_price"] * line["quantity"] - line["discount"] for line in lines)
        shipping = order.get("actual_shipping_fee")
        shipping = _money(
            order.get("estimated_shipping_fee") if shipping is None else shipping,
            exponent,
            "shipping fee",
            default=0,
        )
        total = _money(order["total_amount"], exponent, "total_amount")
        address = order.get("recipient_address") or {}
        return {
            "shop": shop_code,
            "external_id": order_sn.strip(),
            "placed_at": instant(order["create_time"], "create_time"),
            "updated_at": instant(changed(order), "update_time"),
            "currency": currency,
            "cancelled": status == CANCELLED,
            "cancel_requested": status == CANCEL_REQUESTED,
            "fulfillment": "platform" if order.get("fulfillment_flag") == PLATFORM_FULFILLED else "merchant",
            # The seller ships from the hub's shelves: an order first seen shipped took its units there.
            "shipped_from_stock": True,
            "payment_status": "pending" if status in AWAITING_PAYMENT else "paid",
            "payment_method": _text(order.get("payment_method")),
            "platform_status": status,
            "buyer": {
                # The buyer's real name is withheld; the address's (masked in many regions) names them.
                "name": _text(address.get("name")),
                "email": None,
                "phone": _text(address.get("phone")),
                "platform_id": _text(order.get("buyer_user_id")) or _text(order.get("buyer_username")),
            },
            "shipping_address": _address(address),
            "billing_country": None,
            "lines": lines,
            "shipments": _shipments(order, status) if shipped_all else None,
            "shipping_total": shipping,
            # What Shopee takes off beyond the items' own prices (vouchers, coins, shipping rebates):
            # whatever makes the parts add up to total_amount, what the buyer paid.
            "discount_total": max(0, subtotal + shipping - total),
            "tax_total": 0,
            "total": total,
            "buyer_remark": _remark(order, status),
            "seller_remark": _text(order.get("note")),
            "tags": [RETURN_TAG] if any(line["returned"] for line in lines) else [],
            "raw": dict(order),
        }
    except (KeyError, TypeError, AttributeError) as exc:
        raise ValueError(f"not a Shopee order payload: missing or malformed {exc}") from exc


def changed(order: Mapping[str, Any]) -> object:
    """When the order last changed, Unix seconds: its ``update_time``, or a later one of its returns'
    (the order's own ``update_time`` as it is when it is no Unix seconds, for :func:`instant` to refuse)."""
    own = order.get("update_time")
    if not positive_int(own):
        return own
    stamps = [entry.get("update_time") for entry in _returns(order)]
    return max([own, *(stamp for stamp in stamps if positive_int(stamp))])


def positive_int(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def _returns(order: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    found = order.get(RETURNS)
    return [entry for entry in found if isinstance(entry, Mapping)] if isinstance(found, list) else []


def returned_units(order: Mapping[str, Any]) -> dict[str, int] | None:
    """Units back per listing (``<item_id>:<model_id>``, as the lines name theirs) under the order's
    returns (see the module's doc); None when the returns module lists none for the order."""
    entries = _returns(order)
    if not entries:
        return None
    back: dict[str, int] = {}
    for entry in entries:
        if (
            entry.get("status") not in BACK
            or entry.get("needs_logistics") is not True
            or entry.get("return_solution") == REFUND_ONLY
        ):
            continue
        for item in entry.get("item") or []:
            if not isinstance(item, Mapping):
                continue
            amount, item_id, model_id = item.get("amount"), item.get("item_id"), item.get("model_id") or 0
            if not positive_int(amount) or not positive_int(item_id) or not isinstance(model_id, int):
                continue  # not counts and ids: nothing to give back
            key = f"{item_id}:{model_id}"
            back[key] = back.get(key, 0) + amount
    return back


def _give_back(lines: list[dict[str, Any]], back: dict[str, int] | None, *, whole: bool) -> None:
    """Each line's ``returned``: the units back of its item and model, at most what it shipped; with no
    return listed, every unit shipped when the order is TO_RETURN."""
    left = dict(back or {})
    for line in lines:
        if back is None:
            line["returned"] = line["shipped"] if whole else 0
            continue
        key = line["listing_id"]
        line["returned"] = min(line["shipped"], left.get(key, 0))
        left[key] = left.get(key, 0) - line["returned"]


def instant(value: object, what: str) -> str:
    """Unix seconds as an aware UTC instant (ISO 8601)."""
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"{what} is not Unix seconds: {value!r}"[:200])
    return datetime.fromtimestamp(value, UTC).isoformat()


def minor_units(amount: object, exponent: int, what: str) -> int:
    """A JSON number in major units as integer minor units, exactly (the number's own digits, never
    through binary floating point's rounding)."""
    if isinstance(amount, bool) or not isinstance(amount, (int, float, str)):
        raise ValueError(f"{what} is not an amount: {amount!r}"[:200])
    try:
        scaled = Decimal(str(amount)).scaleb(exponent)
    except InvalidOperation as exc:
        raise ValueError(f"{what} is not an amount: {amount!r}"[:200]) from exc
    if not scaled.is_finite() or scaled < 0 or scaled != scaled.to_integral_value():
        raise ValueError(f"{what} {amount!r} is negative or has more decimals than the currency ({exponent})")
    return int(scaled)


def _money(amount: object, exponent: int, what: str, *, default: int | None = None) -> int:
    if amount is None:
        if default is None:
            raise ValueError(f"{what} is missing")
        return default
    return minor_units(amount, exponent, what)


def _line(item: Mapping[str, Any], exponent: int, shipped_all: bool) -> dict[str, Any]:
    quantity = item["model_quantity_purchased"]
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 0:
        raise ValueError(f"model_quantity_purchased is not a count: {quantity!r}"[:200])
    model_id = item.get("model_id") or 0
    original = _money(item.get("model_original_price"), exponent, "model_original_price", default=0)
    paid = _money(item["model_discounted_price"], exponent, "model_discounted_price")
    unit = max(original, paid)
    name = _text(item.get("item_name"))
    model_name = _text(item.get("model_name"))
    return {
        # A model's own SKU, else its item's (an item without variations has model_id 0).
        "platform_sku": _text(item.get("model_sku")) or _text(item.get("item_sku")),
        # The listing stock is pushed to: the item and its model.
        "listing_id": f"{item['item_id']}:{model_id}",
        "title": f"{name} ({model_name})" if name and model_name else name,
        "quantity": quantity,
        "shipped": quantity if shipped_all else 0,
        "returned": 0,
        "unit_price": unit,
        "discount": (unit - paid) * quantity,
        "tax": 0,
    }


def _shipments(order: Mapping[str, Any], status: str) -> list[dict[str, Any]]:
    """The parcel that left: one per package, with the order's tracking number when the detail has
    one (``get_tracking_number`` gives it otherwise; polls do not call it for every order)."""
    packages = order.get("package_list") or [{}]
    number = _text(order.get("tracking_number"))
    left = order.get("pickup_done_time")
    return [
        {
            "carrier": _text(package.get("shipping_carrier")) or _text(order.get("shipping_carrier")),
            "tracking_number": number if len(packages) == 1 else None,
            "tracking_url": None,
            "shipped_at": instant(left, "pickup_done_time") if left else None,
        }
        for package in packages
    ]


def _address(address: Mapping[str, Any]) -> dict[str, Any] | None:
    if not address:
        return None
    # full_address is the whole address in one line; the parts name the city and state separately.
    town = ", ".join(filter(None, (_text(address.get("town")), _text(address.get("district")))))
    return {
        "name": _text(address.get("name")),
        "line1": _text(address.get("full_address")),
        "line2": town or None,
        "city": _text(address.get("city")),
        "region": _text(address.get("state")),
        "postal_code": _text(address.get("zipcode")),
        "country": _text(address.get("region")),
        "phone": _text(address.get("phone")),
    }


def _remark(order: Mapping[str, Any], status: str) -> str | None:
    """The buyer's message to the seller, and their cancellation reason while they ask to cancel."""
    parts = [_text(order.get("message_to_seller"))]
    if status in (CANCEL_REQUESTED, CANCELLED):
        reason = _text(order.get("buyer_cancel_reason")) or _text(order.get("cancel_reason"))
        if reason:
            parts.append(f"Cancellation ({_text(order.get('cancel_by')) or 'unknown'}): {reason}")
    kept = [part for part in parts if part]
    return "\n".join(kept) if kept else None


def _text(value: object) -> str | None:
    if value is None or isinstance(value, bool):
        return None
    return str(value).strip() or None
