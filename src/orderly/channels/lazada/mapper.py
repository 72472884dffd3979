"""Lazada order (``/orders/get`` or ``/order/get``) and its items (``/order/items/get``,
``/orders/items/get``) -> normalized order; and the payloads Lazada takes. Pure: no I/O.

Lazada keeps status on items, one item per unit: the order has only ``statuses[]``, the distinct item
statuses. Items are grouped into lines by seller SKU, Lazada SKU and price; a cancelled item is no unit
to ship (a line whose items are all cancelled stays with quantity 0, for the record), and items that
left the seller (shipped, delivered, failed or returned after delivery, lost by the logistics partner)
count as shipped, so the hub reserves only what is left to send. Items ``returned``, ``shipped_back``
or ``shipped_back_success`` came back: a line's ``returned`` counts them, so an order whose every live
item came back is returned in the hub (its stock not put back: after-sales inspects the goods first),
and one with only some back stays shipped, tagged ``returned``, with the count in its history.
Fulfilment by Lazada (``is_fbl``) orders are shipped by Lazada from its own stock: they never reserve
the hub's. Every other order ships from the hub's shelves: one first seen with every live item gone
(shipped in Seller Center, a push lost) says ``shipped_from_stock``, and its units leave the hub's stock
as shipped when its parcel left after the shop joined the hub (``orders.domain.left_the_hubs_shelves``).
Lazada gives no ship time (CONTRACT section 4): a parcel's time is the latest ``updated_at`` of its
items, no earlier than their shipping, so in doubt the units are booked out.

Money is decimal strings in major units (``"106.00"``); it becomes integer minor units of the items'
``currency`` exactly (VND and IDR have none), never through floats. Times come in two formats,
``2018-02-09T22:44:30+08:00`` on orders and ``2014-10-15 19:12:15 +0800`` on items (and milliseconds or
seconds in pushes); all become aware UTC.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from xml.sax.saxutils import escape

from orderly.core.money import minor_unit_exponent, plain_minor_units

#: Item statuses by what they mean for the hub. Lazada's list varies by document version (CONTRACT
#: section 4, "partially UNCONFIRMED"); a status in none of these is kept as a unit still to ship and
#: tagged, so a person sees it and no stock is freed on a guess.
UNPAID = frozenset({"unpaid"})
CANCELLED = frozenset({"canceled", "cancelled"})
TO_SHIP = frozenset(
    {"pending", "topack", "toship", "packed", "repacked", "ready_to_ship", "ready_to_ship_pending"}
)
#: Units that left the seller: in transit, delivered, delivery failed or returned afterwards, lost or
#: damaged by the logistics partner.
LEFT = frozenset(
    {
        "shipped",
        "shipping",
        "delivered",
        "failed",
        "failed_delivery",
        "returned",
        "shipped_back",
        "shipped_back_success",
        "shipped_back_failed",
        "lost",
        "lost_by_3pl",
        "damaged_by_3pl",
        "package_scrapped",
    }
)
RETURNED = frozenset({"returned", "shipped_back", "shipped_back_success"})
#: Tags the hub puts on Lazada orders.
FBL, RETURN, UNKNOWN_STATUS, PARTLY_CANCELLED = "fbl", "returned", "lazada-status-unknown", "partly-cancelled"
#: ``address_*.country`` is the country's name (``"Singapore"``) on Lazada's sites.
COUNTRIES = {
    "singapore": "SG",
    "malaysia": "MY",
    "philippines": "PH",
    "thailand": "TH",
    "vietnam": "VN",
    "viet nam": "VN",
    "indonesia": "ID",
}


#: Each site's currency, for items that name none.
SITE_CURRENCY = {"SG": "SGD", "MY": "MYR", "PH": "PHP", "TH": "THB", "VN": "VND", "ID": "IDR"}


def instant(value: Any) -> datetime:
    """A Lazada time as aware UTC: either text format, or a number of seconds or milliseconds."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        seconds = value / 1000 if value > 10**11 else value
        return datetime.fromtimestamp(seconds, UTC)
    if not isinstance(value, str):
        raise ValueError(f"not a Lazada time: {value!r}"[:200])
    text = value.strip()
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        try:
            parsed = datetime.strptime(text, "%Y-%m-%d %H:%M:%S %z")
        except ValueError as exc:
            raise ValueError(f"not a Lazada time: {value!r}"[:200]) from exc
    if parsed.tzinfo is None:
        raise ValueError(f"Lazada time {value!r} has no offset"[:200])
    return parsed.astimezone(UTC)


def lazada_time(value: datetime) -> str:
    """An instant as request filters take it: ISO 8601 with an offset, to the second."""
    return value.astimezone(UTC).isoformat(timespec="seconds")


def version(order: Mapping[str, Any], items: Sequence[Mapping[str, Any]]) -> str:
    """The latest of the order's and its items' ``updated_at``, in one fixed-width UTC form, so
    versions compare as text in time order whatever format Lazada wrote them in."""
    stamps = [instant(order["updated_at"])] + [instant(i["updated_at"]) for i in items if i.get("updated_at")]
    return f"{max(stamps):%Y-%m-%dT%H:%M:%SZ}"


def minor_units(amount: Any, currency: str, what: str) -> int:
    """A decimal string in major units as integer minor units; refuses what the currency cannot hold."""
    exponent = minor_unit_exponent(currency)
    if amount in (None, ""):
        return 0
    plain = plain_minor_units(amount, exponent)
    if plain is not None:
        return plain
    try:
        scaled = Decimal(str(amount)).scaleb(exponent)
    except InvalidOperation as exc:
        raise ValueError(f"{what} {amount!r} is not a decimal amount"[:200]) from exc
    if not scaled.is_finite() or scaled != scaled.to_integral_value():
        raise ValueError(f"{what} {amount!r} is finer than {currency} allows"[:200])
    return int(scaled)


def missing(
    order: Mapping[str, Any], items: Sequence[Mapping[str, Any]], currency: str | None = None
) -> str | None:
    """Why the order cannot be mapped, or None when it can: Lazada names the currency only on items
    (``currency``: the site's, when known)."""
    if not items:
        return f"order {order.get('order_id')} came without its items"
    if currency is None and not any(_text(item.get("currency")) for item in items):
        return f"order {order.get('order_id')}: no item names its currency"
    return None


def item_status(item: Mapping[str, Any]) -> str:
    """An item's status as the lists above spell it."""
    return str(item.get("status") or "").strip().lower()


def _is_true(value: Any) -> bool:
    return value is True or value == 1 or (isinstance(value, str) and value.strip().lower() in {"1", "true"})


def _text(value: Any) -> str | None:
    """Lazada writes absent text as "", null, or the string "null"."""
    if value is None:
        return None
    text = str(value).strip()
    return None if not text or text == "null" else text


def _country(value: Any) -> str | None:
    text = _text(value)
    if text is None:
        return None
    if len(text) == 2 and text.isalpha():
        return text.upper()
    return COUNTRIES.get(text.lower())


def _address(address: Any, order: Mapping[str, Any]) -> dict[str, Any] | None:
    if not isinstance(address, Mapping):
        return None
    name = " ".join(filter(None, (_text(address.get("first_name")), _text(address.get("last_name")))))
    rest = [_text(address.get(f"address{n}")) for n in range(2, 6)]
    return {
        "name": name or _buyer_name(order),
        "line1": _text(address.get("address1")),
        "line2": ", ".join(part for part in rest if part) or None,
        "city": _text(address.get("city")),
        # Lazada puts region and district in address3..5 differently per site: kept in line2, region
        # not read (UNCONFIRMED which part is the region).
        "region": None,
        "postal_code": _text(address.get("post_code")),
        "country": _country(address.get("country")),
        "phone": _text(address.get("phone")) or _text(address.get("phone2")),
    }


def _buyer_name(order: Mapping[str, Any]) -> str | None:
    parts = (_text(order.get("customer_first_name")), _text(order.get("customer_last_name")))
    return " ".join(filter(None, parts)) or None


def _lines(items: Sequence[Mapping[str, Any]], currency: str) -> list[dict[str, Any]]:
    groups: dict[tuple[Any, ...], list[Mapping[str, Any]]] = {}
    for item in items:
        key = (
            _text(item.get("sku")),
            _text(item.get("sku_id")),
            _text(item.get("shop_sku")),
            item.get("item_price"),
        )
        groups.setdefault(key, []).append(item)
    lines = []
    for (sku, sku_id, shop_sku, price), group in groups.items():
        live = [item for item in group if item_status(item) not in CANCELLED]
        what = f"item {sku or shop_sku}"
        unit = minor_units(price, currency, f"{what} item_price")
        paid = [minor_units(item.get("paid_price"), currency, f"{what} paid_price") for item in live]
        lines.append(
            {
                "platform_sku": sku,
                "listing_id": sku_id or shop_sku,
                "title": _text(group[0].get("name")),
                "quantity": len(live),
                "shipped": sum(1 for item in live if item_status(item) in LEFT),
                "returned": sum(1 for item in live if item_status(item) in RETURNED),
                "unit_price": unit,
                "discount": sum(max(0, unit - p) for p in paid),
                "tax": sum(
                    minor_units(item.get("tax_amount"), currency, f"{what} tax_amount") for item in live
                ),
            }
        )
    return lines


def _shipments(items: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """One per tracking number of the items that left, at the latest ``updated_at`` of its items."""
    found: dict[str, dict[str, Any]] = {}
    for item in items:
        number = _text(item.get("tracking_code"))
        if number is None or item_status(item) not in LEFT:
            continue
        stamp = item.get("updated_at")
        at = instant(stamp) if stamp else None
        parcel = found.setdefault(
            number,
            {
                "carrier": _text(item.get("shipment_provider")),
                "tracking_number": number,
                "tracking_url": None,
                "shipped_at": None,
            },
        )
        if at is not None and (parcel["shipped_at"] is None or at > parcel["shipped_at"]):
            parcel["shipped_at"] = at
    return [
        {**parcel, "shipped_at": parcel["shipped_at"].isoformat() if parcel["shipped_at"] else None}
        for parcel in found.values()
    ]


def map_order(
    shop: str, order: Mapping[str, Any], items: Sequence[Mapping[str, Any]], site_currency: str | None = None
) -> dict[str, Any]:
    """The normalized order (``orderly.orders.schemas.NormalizedOrder`` JSON shape). Raises ValueError
    on an order that cannot be mapped (see :func:`missing`) or a malformed amount or time."""
    reason = missing(order, items, site_currency)
    if reason is not None:
        raise ValueError(reason)
    try:
        named = (str(i["currency"]).strip().upper() for i in items if _text(i.get("currency")))
        currency = next(named, site_currency or "")
        statuses = {item_status(item) for item in items}
        live = [item for item in items if item_status(item) not in CANCELLED]
        fbl = all(_is_true(item.get("is_fbl")) for item in items)
        known = UNPAID | CANCELLED | TO_SHIP | LEFT
        paid_total = sum(minor_units(i.get("paid_price"), currency, "paid_price") for i in live)
        shipping = minor_units(order.get("shipping_fee"), currency, "shipping_fee")
        tags = [FBL] if fbl else []
        if statuses & RETURNED:
            tags.append(RETURN)
        if statuses - known:
            tags.append(UNKNOWN_STATUS)
        if live and len(live) < len(items):
            tags.append(PARTLY_CANCELLED)
        buyer_id = next((_text(i.get("buyer_id")) for i in items if _text(i.get("buyer_id"))), None)
        shipping_address = _address(order.get("address_shipping"), order)
        return {
            "shop": shop,
            "external_id": _id(order.get("order_id")),
            "placed_at": instant(order["created_at"]).isoformat(),
            "updated_at": version(order, items),
            "currency": currency,
            "cancelled": not live,
            # FBL: Lazada ships from its own warehouse; the hub keeps the order but reserves nothing.
            "fulfillment": "platform" if fbl else "merchant",
            # The seller ships from the hub's shelves: an order first seen shipped took its units there.
            "shipped_from_stock": not fbl,
            "payment_status": "pending" if any(item_status(i) in UNPAID for i in live) else "paid",
            "payment_method": _text(order.get("payment_method")),
            "platform_status": ",".join(sorted(statuses))[:64],
            "buyer": {
                "name": _buyer_name(order),
                "email": None,  # Lazada shows sellers no buyer email
                "phone": (shipping_address or {}).get("phone"),
                "platform_id": buyer_id,
            },
            "shipping_address": shipping_address,
            "billing_country": _country((order.get("address_billing") or {}).get("country")),
            "lines": _lines(items, currency),
            "shipments": _shipments(items),
            "shipping_total": shipping,
            "discount_total": 0,
            # Lazada's prices include tax (tax_amount is the part of them that is tax: UNCONFIRMED), so
            # the total is what the buyer pays: the items' paid prices and the shipping fee.
            "total": paid_total + shipping,
            "tax_total": 0,
            "buyer_remark": _text(order.get("remarks")),
            "seller_remark": None,
            "tags": tags,
            "raw": {"order": dict(order), "items": [dict(item) for item in items]},
        }
    except (KeyError, TypeError, AttributeError) as exc:
        raise ValueError(f"not a Lazada order payload: missing or malformed {exc}"[:200]) from exc


def _id(value: Any) -> str:
    """Lazada ids are digits, as strings (or numbers, read exactly)."""
    text = str(value) if isinstance(value, int) and not isinstance(value, bool) else value
    if not isinstance(text, str) or not text.isascii() or not text.isdigit():
        raise ValueError(f"not a Lazada order id: {value!r}"[:200])
    return text


# --- what Lazada takes --------------------------------------------------------------------------------


def quantity_payload(skus: Iterable[Mapping[str, Any]]) -> str:
    """The ``payload`` of /product/price_quantity/update setting sellable quantities (CONTRACT section
    5): per SKU its ``item_id``, ``sku_id`` and ``seller_sku`` as known, and ``quantity``, or the
    quantity at ``warehouse`` (MultiWarehouseInventories) when one is named."""
    parts = []
    for sku in skus:
        fields = "".join(
            f"<{tag}>{escape(str(sku[key]))}</{tag}>"
            for tag, key in (("ItemId", "item_id"), ("SkuId", "sku_id"), ("SellerSku", "seller_sku"))
            if sku.get(key)
        )
        quantity = max(0, int(sku["quantity"]))  # an oversold SKU offers none: Lazada takes no negative
        if sku.get("warehouse"):
            fields += (
                "<MultiWarehouseInventories><MultiWarehouseInventory>"
                f"<WarehouseCode>{escape(str(sku['warehouse']))}</WarehouseCode><Quantity>{quantity}</Quantity>"
                "</MultiWarehouseInventory></MultiWarehouseInventories>"
            )
        else:
            fields += f"<Quantity>{quantity}</Quantity>"
        parts.append(f"<Sku>{fields}</Sku>")
    return f"<Request><Product><Skus>{''.join(parts)}</Skus></Product></Request>"


def batch_failures(body: Mapping[str, Any], seller_skus: Sequence[str]) -> dict[str, str]:
    """The SKUs of a batch update that failed, with Lazada's message, read from ``detail[]`` (which can
    come inside a ``code "0"`` answer). A failure naming no SKU cannot be placed: every SKU of the
    batch is taken as failed, never as shown."""
    detail = body.get("detail")
    if detail is None and isinstance(body.get("data"), Mapping):
        detail = body["data"].get("detail")
    if not isinstance(detail, list):
        return {}
    failed: dict[str, str] = {}
    unplaced = []
    for entry in detail:
        if not isinstance(entry, Mapping):
            unplaced.append(str(entry)[:200])
            continue
        message = f"{entry.get('field') or 'SKU'}: {entry.get('message') or 'refused'}"
        sku = _text(entry.get("seller_sku"))
        if sku is not None and sku in seller_skus:
            failed[sku] = message
        else:
            unplaced.append(message)
    if unplaced:
        note = "Lazada refused part of the batch without naming the SKU: " + "; ".join(unplaced)
        return {sku: failed.get(sku, note) for sku in seller_skus}
    return failed
