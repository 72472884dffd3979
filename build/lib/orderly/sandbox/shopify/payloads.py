"""The REST JSON the sandbox answers with, shaped like Shopify's published 2024-01 samples: ids as
(large) integers, money as decimal strings in the currency's precision beside ``*_set`` objects,
timestamps in ISO 8601 with the shop's offset, whole seconds."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal
from typing import Any

import pycountry

from orderly.core.money import minor_unit_exponent
from orderly.sandbox.shopify.models import AddressIn, CustomerIn, LineIn, OrderIn, VariantIn

Json = dict[str, Any]

_TRACKING_URLS = {
    "UPS": "https://www.ups.com/WebTracking?loc=en_US&requester=ST&trackNums={}",
    "USPS": "https://tools.usps.com/go/TrackConfirmAction_input?qtc_tLabels1={}",
}


@dataclass(frozen=True)
class ShopInfo:
    id: int
    domain: str
    currency: str
    timezone: tzinfo

    def stamp(self, moment: datetime) -> str:
        return moment.astimezone(self.timezone).replace(microsecond=0).isoformat()

    @property
    def quantum(self) -> Decimal:
        return Decimal(1).scaleb(-minor_unit_exponent(self.currency))

    def amount(self, value: Decimal) -> str:
        return str(value.quantize(self.quantum, ROUND_HALF_UP))

    def money(self, value: Decimal) -> Json:
        money = {"amount": self.amount(value), "currency_code": self.currency}
        return {"shop_money": money, "presentment_money": dict(money)}

    def priced(self, name: str, value: Decimal) -> Json:
        """``{name: "1.00", name_set: {...}}``: how Shopify writes every amount."""
        return {name: self.amount(value), f"{name}_set": self.money(value)}


def gid(kind: str, id_: int) -> str:
    return f"gid://shopify/{kind}/{id_}"


def address(spec: AddressIn) -> Json:
    country = pycountry.countries.get(alpha_2=spec.country_code.upper())
    return {
        "first_name": spec.first_name,
        "address1": spec.address1,
        "phone": spec.phone,
        "city": spec.city,
        "zip": spec.zip,
        "province": spec.province,
        "country": country.name if country else spec.country_code,
        "last_name": spec.last_name,
        "address2": spec.address2,
        "company": spec.company,
        "latitude": None,
        "longitude": None,
        "name": " ".join(filter(None, (spec.first_name, spec.last_name))),
        "country_code": spec.country_code.upper(),
        "province_code": spec.province_code,
    }


def customer(id_: int, spec: CustomerIn, default_address: Json | None, shop: ShopInfo, now: str) -> Json:
    return {
        "id": id_,
        "email": spec.email,
        "created_at": now,
        "updated_at": now,
        "first_name": spec.first_name,
        "last_name": spec.last_name,
        "state": "disabled",
        "note": None,
        "verified_email": True,
        "multipass_identifier": None,
        "tax_exempt": False,
        "phone": spec.phone,
        "email_marketing_consent": None,
        "sms_marketing_consent": None,
        "tags": "",
        "currency": shop.currency,
        "tax_exemptions": [],
        "admin_graphql_api_id": gid("Customer", id_),
        "default_address": None
        if default_address is None
        else {
            **{k: v for k, v in default_address.items() if k not in ("latitude", "longitude")},
            "id": id_,
            "customer_id": id_,
            "country_name": default_address["country"],
            "default": True,
        },
    }


def variant(
    id_: int, product: Json, spec: VariantIn, inventory_item_id: int, shop: ShopInfo, now: str
) -> Json:
    return {
        "id": id_,
        "product_id": product["id"],
        "title": spec.title,
        "price": shop.amount(spec.price),
        "sku": spec.sku,
        "position": len(product["variants"]) + 1,
        "inventory_policy": "deny",
        "compare_at_price": None,
        "fulfillment_service": "manual",
        "inventory_management": "shopify",
        "option1": spec.title,
        "option2": None,
        "option3": None,
        "created_at": now,
        "updated_at": now,
        "taxable": True,
        "barcode": None,
        "grams": spec.grams,
        "weight": spec.grams / 1000,
        "weight_unit": "kg",
        "inventory_item_id": inventory_item_id,
        "inventory_quantity": spec.available,
        "old_inventory_quantity": spec.available,
        "requires_shipping": True,
        "admin_graphql_api_id": gid("ProductVariant", id_),
        "image_id": None,
    }


def product(id_: int, title: str, vendor: str | None, now: str) -> Json:
    return {
        "id": id_,
        "title": title,
        "vendor": vendor,
        "product_type": "",
        "created_at": now,
        "updated_at": now,
        "status": "active",
        "tags": "",
        "variants": [],
        "admin_graphql_api_id": gid("Product", id_),
    }


def spread(total: Decimal, weights: Sequence[Decimal], quantum: Decimal) -> list[Decimal]:
    """``total`` split in proportion to ``weights``, in whole quanta; the first shares take the
    remainder (Shopify's 3.34 / 3.33 / 3.33)."""
    whole = sum(weights, Decimal(0))
    if not total or not whole:
        return [Decimal(0) for _ in weights]
    shares = [(total * w / whole).quantize(quantum, ROUND_DOWN) for w in weights]
    for index in range(int((total - sum(shares, Decimal(0))) / quantum)):
        shares[index % len(shares)] += quantum
    return shares


@dataclass(frozen=True)
class PlacedLine:
    spec: LineIn
    variant: Json
    product: Json


def order(
    spec: OrderIn,
    lines: Sequence[PlacedLine],
    *,
    shop: ShopInfo,
    ids: Callable[[], int],
    tokens: Callable[[], str],
    number: int,
    customer_json: Json | None,
    now: str,
) -> Json:
    """A new order as ``orders.json`` shows it."""
    order_id = ids()
    prices = [
        line.spec.price if line.spec.price is not None else Decimal(line.variant["price"]) for line in lines
    ]
    gross = [price * line.spec.quantity for price, line in zip(prices, lines, strict=True)]
    discounts = spread(spec.discount, gross, shop.quantum)
    taxes = [
        ((g - d) * spec.tax_rate).quantize(shop.quantum, ROUND_HALF_UP)
        for g, d in zip(gross, discounts, strict=True)
    ]
    line_items = [
        _line_item(ids(), line, price, discount, tax, spec, shop)
        for line, price, discount, tax in zip(lines, prices, discounts, taxes, strict=True)
    ]
    items_total = sum(gross, Decimal(0))
    subtotal = items_total - spec.discount
    tax_total = sum(taxes, Decimal(0))
    total = subtotal + spec.shipping_price + tax_total
    shipping = address(spec.shipping_address) if spec.shipping_address else None
    billing = address(spec.billing_address) if spec.billing_address else shipping
    email = spec.customer.email if spec.customer else None
    token = tokens()
    discount_codes = (
        [{"code": spec.discount_code, "amount": shop.amount(spec.discount), "type": "fixed_amount"}]
        if spec.discount
        else []
    )
    return {
        "id": order_id,
        "admin_graphql_api_id": gid("Order", order_id),
        "app_id": None,
        "browser_ip": None,
        "buyer_accepts_marketing": False,
        "cancel_reason": None,
        "cancelled_at": None,
        "cart_token": tokens(),
        "checkout_id": ids(),
        "checkout_token": tokens(),
        "client_details": {
            "accept_language": None,
            "browser_height": None,
            "browser_ip": None,
            "browser_width": None,
            "session_hash": None,
            "user_agent": None,
        },
        "closed_at": None,
        "confirmation_number": token[:9].upper(),
        "confirmed": True,
        "contact_email": email,
        "created_at": now,
        "currency": shop.currency,
        **current_totals(shop, subtotal, spec.discount, total, tax_total),
        "current_total_additional_fees_set": None,
        "current_total_duties_set": None,
        "customer_locale": "en",
        "device_id": None,
        "discount_codes": discount_codes,
        "email": email,
        "estimated_taxes": False,
        "financial_status": spec.financial_status,
        "fulfillment_status": None,
        "landing_site": None,
        "landing_site_ref": None,
        "location_id": None,
        "merchant_of_record_app_id": None,
        "name": f"#{1000 + number}",
        "note": spec.note,
        "note_attributes": [],
        "number": number,
        "order_number": 1000 + number,
        "order_status_url": f"https://{shop.domain}/{shop.id}/orders/{token}/authenticate?key={tokens()}",
        "original_total_additional_fees_set": None,
        "original_total_duties_set": None,
        "payment_gateway_names": [spec.gateway],
        "phone": spec.customer.phone if spec.customer else None,
        "po_number": None,
        "presentment_currency": shop.currency,
        "processed_at": now,
        "reference": None,
        "referring_site": None,
        "source_identifier": None,
        "source_name": "web",
        "source_url": None,
        **shop.priced("subtotal_price", subtotal),
        "tags": ", ".join(spec.tags),
        "tax_exempt": False,
        "tax_lines": _tax_lines(tax_total, spec.tax_rate, shop),
        "taxes_included": False,
        "test": False,
        "token": token,
        **shop.priced("total_discounts", spec.discount),
        **shop.priced("total_line_items_price", items_total),
        "total_outstanding": shop.amount(Decimal(0) if spec.financial_status == "paid" else total),
        **shop.priced("total_price", total),
        "total_shipping_price_set": shop.money(spec.shipping_price),
        **shop.priced("total_tax", tax_total),
        "total_tip_received": shop.amount(Decimal(0)),
        "total_weight": sum(line.variant["grams"] * line.spec.quantity for line in lines),
        "updated_at": now,
        "user_id": None,
        "billing_address": billing,
        "customer": customer_json,
        "discount_applications": [
            {
                "target_type": "line_item",
                "type": "discount_code",
                "value": str(spec.discount),
                "value_type": "fixed_amount",
                "allocation_method": "across",
                "target_selection": "all",
                "code": spec.discount_code,
            }
        ]
        if spec.discount
        else [],
        "fulfillments": [],
        "line_items": line_items,
        "payment_terms": None,
        "refunds": [],
        "shipping_address": shipping,
        "shipping_lines": [_shipping_line(ids(), spec.shipping_price, shop)],
    }


def current_totals(
    shop: ShopInfo, subtotal: Decimal, discounts: Decimal, total: Decimal, tax: Decimal
) -> Json:
    """The ``current_*`` amounts: what the order is worth now (zero once cancelled)."""
    return {
        **shop.priced("current_subtotal_price", subtotal),
        **shop.priced("current_total_discounts", discounts),
        **shop.priced("current_total_price", total),
        **shop.priced("current_total_tax", tax),
    }


def _line_item(
    id_: int, line: PlacedLine, price: Decimal, discount: Decimal, tax: Decimal, spec: OrderIn, shop: ShopInfo
) -> Json:
    variant_title = None if line.variant["title"] == "Default Title" else line.variant["title"]
    return {
        "id": id_,
        "admin_graphql_api_id": gid("LineItem", id_),
        "current_quantity": line.spec.quantity,
        "fulfillable_quantity": line.spec.quantity,
        "fulfillment_service": "manual",
        "fulfillment_status": None,
        "gift_card": False,
        "grams": line.variant["grams"],
        "name": " - ".join(filter(None, (line.product["title"], variant_title))),
        **shop.priced("price", price),
        "product_exists": True,
        "product_id": line.product["id"],
        "properties": [],
        "quantity": line.spec.quantity,
        "requires_shipping": True,
        "sku": line.variant["sku"],
        "taxable": True,
        "title": line.product["title"],
        **shop.priced("total_discount", Decimal(0)),  # deprecated: discount_allocations say it
        "variant_id": line.variant["id"],
        "variant_inventory_management": "shopify",
        "variant_title": variant_title,
        "vendor": line.product["vendor"],
        "tax_lines": _tax_lines(tax, spec.tax_rate, shop),
        "duties": [],
        "discount_allocations": [
            {
                "amount": shop.amount(discount),
                "amount_set": shop.money(discount),
                "discount_application_index": 0,
            }
        ]
        if discount
        else [],
    }


def _tax_lines(tax: Decimal, rate: Decimal, shop: ShopInfo) -> list[Json]:
    if not rate:
        return []
    # Shopify writes the rate as a JSON number, unlike the amounts.
    return [
        {
            "price": shop.amount(tax),
            "rate": float(rate),
            "title": "Sales Tax",
            "price_set": shop.money(tax),
            "channel_liable": None,
        }
    ]


def _shipping_line(id_: int, price: Decimal, shop: ShopInfo) -> Json:
    title = "Standard Shipping" if price else "Free Shipping"
    return {
        "id": id_,
        "carrier_identifier": None,
        "code": title,
        **shop.priced("discounted_price", price),
        "phone": None,
        **shop.priced("price", price),
        "requested_fulfillment_service_id": None,
        "source": "shopify",
        "title": title,
        "tax_lines": [],
        "discount_allocations": [],
    }


def location(id_: int, name: str, country_code: str, now: str) -> Json:
    return {
        "id": id_,
        "name": name,
        "address1": None,
        "address2": None,
        "city": None,
        "zip": None,
        "province": None,
        "country": country_code,
        "country_code": country_code,
        "phone": None,
        "created_at": now,
        "updated_at": now,
        "active": True,
        "admin_graphql_api_id": gid("Location", id_),
    }


def fulfillment_order(
    id_: int,
    order_json: Json,
    items_json: Sequence[Json],
    inventory_items: Mapping[int, int],
    place: Json,
    service: str | None,
    shop: ShopInfo,
    ids: Callable[[], int],
    now: str,
) -> Json:
    """A fulfillment order of ``items_json`` (the order's line items that ship from ``place``);
    ``inventory_items`` maps their variants to their inventory items. At a location a fulfillment
    service runs it is submitted to that service, and the merchant may only cancel it (as in the
    published sample, assigned to Shipwire)."""
    destination = order_json["shipping_address"] or {}
    return {
        "id": id_,
        "shop_id": shop.id,
        "order_id": order_json["id"],
        "assigned_location_id": place["id"],
        "request_status": "unsubmitted" if service is None else "submitted",
        "status": "open",
        "supported_actions": ["create_fulfillment", "hold"]
        if service is None
        else ["cancel_fulfillment_order"],
        "destination": {
            "id": ids(),
            **{k: destination.get(k) for k in ("address1", "address2", "city", "company", "country")},
            "email": order_json["email"],
            **{k: destination.get(k) for k in ("first_name", "last_name", "phone", "province", "zip")},
        },
        "line_items": [
            {
                "id": ids(),
                "shop_id": shop.id,
                "fulfillment_order_id": id_,
                "quantity": item["quantity"],
                "line_item_id": item["id"],
                "inventory_item_id": inventory_items[item["variant_id"]],
                "fulfillable_quantity": item["quantity"],
                "variant_id": item["variant_id"],
            }
            for item in items_json
        ],
        "international_duties": None,
        "fulfill_at": None,
        "fulfill_by": None,
        "fulfillment_holds": [],
        "created_at": now,
        "updated_at": now,
        "delivery_method": None,
        "assigned_location": {
            "address1": None,
            "address2": None,
            "city": None,
            "country_code": place["country_code"],
            "location_id": place["id"],
            "name": place["name"],
            "phone": None,
            "province": None,
            "zip": None,
        },
        "merchant_requests": [],
    }


def fulfillment(
    id_: int,
    order_json: Json,
    shipped: Sequence[tuple[Json, int]],
    tracking: Json,
    location_id: int,
    now: str,
) -> Json:
    """A fulfillment of ``shipped`` (order line item, quantity)."""
    return {
        "id": id_,
        "order_id": order_json["id"],
        "status": "success",
        "created_at": now,
        "service": "manual",
        "updated_at": now,
        "shipment_status": None,
        "location_id": location_id,
        "line_items": [
            {**item, "quantity": quantity, "fulfillment_status": "fulfilled"} for item, quantity in shipped
        ],
        **tracking_fields(tracking),
        "receipt": {},
        "name": f"{order_json['name']}.{len(order_json['fulfillments']) + 1}",
        "admin_graphql_api_id": gid("Fulfillment", id_),
    }


def tracking_fields(tracking: Json) -> Json:
    """A fulfillment's tracking as Shopify reports it, from a request's ``tracking_info``."""
    number = tracking.get("number")
    company = tracking.get("company")
    url = tracking.get("url") or (
        _TRACKING_URLS[company].format(number) if number and company in _TRACKING_URLS else None
    )
    return {
        "tracking_company": company,
        "tracking_number": number,
        "tracking_numbers": [number] if number else [],
        "tracking_url": url,
        "tracking_urls": [url] if url else [],
    }


def inventory_level(inventory_item_id: int, location_id: int, available: int, updated_at: str) -> Json:
    return {
        "inventory_item_id": inventory_item_id,
        "location_id": location_id,
        "available": available,
        "updated_at": updated_at,
        "admin_graphql_api_id": f"gid://shopify/InventoryLevel/{location_id}?inventory_item_id={inventory_item_id}",
    }


def shop(
    info: ShopInfo, *, primary_location_id: int, country_code: str, created_at: str, now: datetime
) -> Json:
    """``shop.json``: the fields of the published sample a client reads (no owner's address)."""
    name = info.domain.split(".", 1)[0].replace("-", " ").title()
    offset = now.astimezone(info.timezone).strftime("%z")
    country = pycountry.countries.get(alpha_2=country_code)
    return {
        "id": info.id,
        "name": name,
        "email": f"owner@{info.domain}",
        "domain": info.domain,
        "country": country_code,
        "country_code": country_code,
        "country_name": country.name if country else country_code,
        "created_at": created_at,
        "updated_at": created_at,
        "customer_email": f"customers@{info.domain}",
        "currency": info.currency,
        "enabled_presentment_currencies": [info.currency],
        "timezone": f"(GMT{offset[:3]}:{offset[3:]}) {info.timezone}",
        "iana_timezone": str(info.timezone),
        "shop_owner": f"{name} Owner",
        "money_format": "{{amount}}",
        "money_with_currency_format": f"{{{{amount}}}} {info.currency}",
        "weight_unit": "kg",
        "primary_locale": "en",
        "plan_name": "basic",
        "plan_display_name": "Basic",
        "myshopify_domain": info.domain,
        "primary_location_id": primary_location_id,
        "multi_location_enabled": True,
        "taxes_included": False,
        "has_storefront": True,
        "password_enabled": False,
        "setup_required": False,
        "admin_graphql_api_id": gid("Shop", info.id),
    }


def webhook(id_: int, spec: Mapping[str, Any], api_version: str, now: str) -> Json:
    """A webhook subscription as ``webhooks.json`` shows it."""
    return {
        "id": id_,
        "address": spec["address"],
        "topic": spec["topic"],
        "created_at": now,
        "updated_at": now,
        "format": spec.get("format") or "json",
        "fields": list(spec.get("fields") or []),
        "metafield_namespaces": list(spec.get("metafield_namespaces") or []),
        "api_version": api_version,
        "private_metafield_namespaces": [],
    }
