"""The named facts a rule's condition may look at, each read off the engine's view of the order
(:class:`orderly.review.domain.view.View`). Pure."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from orderly.review.domain.shipping import regions_of, size_class
from orderly.review.domain.view import View

FactType = Literal["number", "text", "bool", "list", "time"]


@dataclass(frozen=True, slots=True)
class Fact:
    name: str
    type: FactType
    description: str
    read: Callable[[View], Any]


def _text(value: Any) -> str | None:
    return value if value else None


def _remark(order: Mapping[str, Any]) -> str | None:
    parts = [order.get("buyer_remark"), order.get("seller_remark")]
    return "\n".join(p for p in parts if p) or None


FACTS: dict[str, Fact] = {
    f.name: f
    for f in (
        Fact("order.shop", "text", "the shop's code", lambda v: v.subject.order["shop"]),
        Fact("order.channel", "text", "the platform (shopify, amazon...)", lambda v: v.subject.channel),
        Fact("order.total", "number", "total in minor units of its currency", lambda v: v.subject.total),
        Fact("order.currency", "text", "ISO 4217", lambda v: v.subject.order["currency"]),
        Fact(
            "order.total_base",
            "number",
            "total in minor units of the base currency (null without a rate)",
            lambda v: v.context.to_base(v.subject.total, v.subject.order["currency"]),
        ),
        Fact(
            "order.shipping_total",
            "number",
            "shipping in minor units",
            lambda v: v.subject.order["shipping_total"],
        ),
        Fact(
            "order.discount_total",
            "number",
            "discounts in minor units",
            lambda v: v.subject.order["discount_total"],
        ),
        Fact(
            "order.item_count", "number", "units over all lines", lambda v: sum(q for _, q in v.subject.lines)
        ),
        Fact("order.line_count", "number", "number of lines", lambda v: len(v.subject.lines)),
        Fact(
            "order.weight_g",
            "number",
            "every unit's catalog weight in grams (null when a product has none)",
            lambda v: v.subject.weight_g,
        ),
        Fact(
            "order.longest_side_mm",
            "number",
            "the longest side of any unit in mm (null when no product has dimensions)",
            lambda v: v.subject.longest_mm,
        ),
        Fact(
            "order.size_class",
            "text",
            "small (up to 2 kg and 60 cm), medium (20 kg, 120 cm) or bulky; by weight alone without "
            "dimensions, null without a weight",
            lambda v: size_class(v.subject.weight_g, v.subject.longest_mm),
        ),
        Fact("order.skus", "list", "our SKUs on the lines", lambda v: [s for s, _ in v.subject.lines]),
        Fact(
            "order.categories",
            "list",
            "product categories on the lines",
            lambda v: sorted(v.subject.categories),
        ),
        Fact("order.tags", "list", "the order's tags", lambda v: v.subject.order["tags"]),
        Fact(
            "order.payment_status",
            "text",
            "pending, paid...",
            lambda v: str(v.subject.order["payment_status"]),
        ),
        Fact(
            "order.payment_method",
            "text",
            "as the platform names it",
            lambda v: v.subject.order["payment_method"],
        ),
        Fact(
            "order.platform_status",
            "text",
            "the platform's status",
            lambda v: v.subject.order["platform_status"],
        ),
        Fact("order.remark", "text", "buyer and seller remarks together", lambda v: _remark(v.subject.order)),
        Fact("order.buyer_remark", "text", "the buyer's remark", lambda v: v.subject.order["buyer_remark"]),
        Fact(
            "order.seller_remark", "text", "the seller's remark", lambda v: v.subject.order["seller_remark"]
        ),
        Fact(
            "order.age_minutes",
            "number",
            "minutes since the order was placed",
            lambda v: (v.now - v.subject.order["placed_at"]).total_seconds() / 60,
        ),
        Fact(
            "order.placed_at", "time", "when it was placed (ISO 8601)", lambda v: v.subject.order["placed_at"]
        ),
        Fact(
            "address.country",
            "text",
            "destination, ISO 3166-1 alpha-2",
            lambda v: v.subject.order["shipping_address"]["country"],
        ),
        Fact(
            "address.region",
            "text",
            "state or province",
            lambda v: v.subject.order["shipping_address"]["region"],
        ),
        Fact("address.city", "text", "city", lambda v: v.subject.order["shipping_address"]["city"]),
        Fact(
            "address.postal_code",
            "text",
            "postal code",
            lambda v: v.subject.order["shipping_address"]["postal_code"],
        ),
        Fact(
            "address.line1",
            "text",
            "first street line",
            lambda v: v.subject.order["shipping_address"]["line1"],
        ),
        Fact(
            "address.regions",
            "list",
            "the destination's world regions: south_east_asia, europe, eu, north_america...",
            lambda v: list(regions_of(v.subject.order["shipping_address"]["country"])),
        ),
        Fact(
            "address.recent_orders",
            "number",
            "other recent orders to this address",
            lambda v: v.recent_count(v.subject.address),
        ),
        Fact(
            "billing.country",
            "text",
            "billing country, if known",
            lambda v: v.subject.order["billing_country"],
        ),
        Fact("buyer.name", "text", "buyer's name", lambda v: _text(v.subject.order["buyer"]["name"])),
        Fact("buyer.email", "text", "buyer's email", lambda v: _text(v.subject.order["buyer"]["email"])),
        Fact(
            "buyer.phone",
            "text",
            "buyer's phone, else the address's",
            lambda v: _text(
                v.subject.order["buyer"]["phone"] or v.subject.order["shipping_address"]["phone"]
            ),
        ),
        Fact(
            "buyer.platform_id",
            "text",
            "buyer's id on the platform",
            lambda v: v.subject.order["buyer"]["platform_id"],
        ),
        Fact(
            "buyer.recent_orders",
            "number",
            "other recent orders of this buyer (by id, email or phone)",
            lambda v: v.recent_count(*v.subject.identities[:-1]),
        ),
        Fact(
            "stock.short",
            "bool",
            "some line lacks stock in every warehouse together",
            lambda v: v.stock.short,
        ),
        Fact(
            "stock.short_skus", "list", "SKUs short in every warehouse together", lambda v: v.stock.short_skus
        ),
        Fact(
            "stock.split_needed",
            "bool",
            "no one warehouse can fill the order",
            lambda v: v.stock.split_needed,
        ),
        Fact(
            "stock.presale",
            "bool",
            "a line is a presale item not yet released",
            lambda v: bool(v.presale_skus),
        ),
        Fact("risk.score", "number", "0-100, the sum of the risk factors that fired", lambda v: v.risk_score),
        Fact("risk.factors", "list", "names of the risk factors that fired", lambda v: v.risk_factor_names),
    )
}
