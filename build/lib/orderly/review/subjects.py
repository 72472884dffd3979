"""Turn orders as the hub knows them (being ingested, or stored) into review subjects, and read the
stock and catalog facts the checks need; one query per kind of fact for a whole batch."""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from orderly.catalog import repository as catalog_repo
from orderly.catalog.domain import expand
from orderly.core.clock import utcnow
from orderly.inventory import repository as inventory_repo
from orderly.inventory.domain import Level, StockKey
from orderly.orders.models import Order, OrderLine
from orderly.review import repository as repo
from orderly.review.domain.view import Subject


@dataclass(frozen=True, slots=True)
class CatalogFacts:
    """What the checks need to know of the products on a batch of orders."""

    skus: Mapping[int, str]
    categories: Mapping[int, str | None]
    parts: Mapping[int, list[tuple[int, int]]]  # bundle -> its components
    presale: Mapping[str, datetime]  # SKU -> release, for presale items not yet released
    weights: Mapping[int, int | None] = field(default_factory=dict)  # grams of one unit
    longest: Mapping[int, int | None] = field(default_factory=dict)  # mm, the longest side of one unit

    def subject(
        self,
        key: Hashable,
        order: Mapping[str, Any],
        total: int,
        product_ids: Sequence[int],
        *,
        channel: str | None,
        order_id: int | None = None,
    ) -> Subject:
        quantities = [line["quantity"] for line in order["lines"]]
        needs = expand(zip(product_ids, quantities, strict=True), self.parts)
        skus = self.skus
        weighed = [(grams, qty) for pid, qty in needs.items() if (grams := self.weights.get(pid)) is not None]
        weight = sum(grams * qty for grams, qty in weighed) if len(weighed) == len(needs) else None
        sides = [side for pid in needs if (side := self.longest.get(pid))]
        return Subject(
            key,
            order,
            total,
            tuple(zip((skus[pid] for pid in product_ids), quantities, strict=True)),
            {skus[pid]: qty for pid, qty in needs.items()},
            frozenset(c for pid in product_ids if (c := self.categories.get(pid))),
            channel,
            order_id,
            weight,
            max(sides) if sides else None,
        )


def catalog_facts(
    session: Session, product_ids: Iterable[int], parts: Mapping[int, list[tuple[int, int]]] | None = None
) -> CatalogFacts:
    wanted = set(product_ids)
    parts = dict(parts) if parts is not None else catalog_repo.bundle_parts(session, wanted)
    every = wanted | {c for components in parts.values() for c, _ in components}
    rows = repo.product_facts(session, every)
    skus = {pid: sku for pid, sku, *_ in rows}
    presale = {skus[pid]: until for pid, until in repo.presale_until(session, every, utcnow()).items()}
    return CatalogFacts(
        skus,
        {pid: cat for pid, _, cat, _, _ in rows},
        parts,
        presale,
        {pid: grams for pid, _, _, grams, _ in rows},
        {pid: side for pid, *_, side in rows},
    )


def available_by_sku(
    levels: Mapping[StockKey, Level], skus: Mapping[int, str], codes: Mapping[int, str]
) -> dict[str, dict[str, int]]:
    """Stock levels by product and warehouse id, as the checks read them: SKU -> warehouse -> units."""
    out: dict[str, dict[str, int]] = {}
    for (pid, wid), level in levels.items():
        if pid in skus and wid in codes:
            out.setdefault(skus[pid], {})[codes[wid]] = level.available
    return out


def order_dict(order: Order, shop: str, lines: Sequence[OrderLine]) -> dict[str, Any]:
    """A stored order in the normalized shape the checks read."""
    return {
        "shop": shop,
        "external_id": order.external_id,
        "placed_at": order.placed_at,
        "updated_at": order.platform_updated_at,
        "currency": order.currency,
        "cancelled": False,
        "payment_status": order.payment_status,
        "payment_method": order.payment_method,
        "platform_status": order.platform_status,
        "buyer": {
            "name": order.buyer_name,
            "email": order.buyer_email,
            "phone": order.buyer_phone,
            "platform_id": order.buyer_platform_id,
        },
        "shipping_address": {
            "name": order.ship_name,
            "line1": order.ship_line1,
            "line2": order.ship_line2,
            "city": order.ship_city,
            "region": order.ship_region,
            "postal_code": order.ship_postal_code,
            "country": order.ship_country,
            "phone": order.ship_phone,
        },
        "billing_country": order.billing_country,
        "lines": [{"quantity": line.quantity} for line in lines],
        "shipping_total": order.shipping_total,
        "discount_total": order.discount_total,
        "tax_total": order.tax_total,
        "buyer_remark": order.buyer_remark,
        "seller_remark": order.seller_remark,
        "tags": list(order.tags or []),
    }


def subjects_for_orders(
    session: Session, orders: Sequence[Order]
) -> tuple[list[Subject], dict[str, dict[str, int]], tuple[str, ...], Mapping[str, datetime]]:
    """Subjects for stored orders, with the stock as it stands now and the warehouses in order."""
    lines = repo.order_lines(session, [o.id for o in orders])
    facts = catalog_facts(session, {line.product_id for group in lines.values() for line in group})
    shops = repo.shop_codes(session)
    channels = repo.channel_by_shop(session)
    subjects = []
    for order in orders:
        shop = shops[order.shop_id]
        order_lines = lines.get(order.id, [])
        if not order_lines:
            continue
        subjects.append(
            facts.subject(
                ("order", order.id),
                order_dict(order, shop, order_lines),
                order.total,
                [line.product_id for line in order_lines],
                channel=channels.get(shop),
                order_id=order.id,
            )
        )
    codes = repo.warehouse_codes(session)
    order_ids = inventory_repo.active_warehouse_ids(session)
    levels = inventory_repo.read_levels(
        session, {pid for pids in facts.parts.values() for pid, _ in pids} | set(facts.skus)
    )
    available = available_by_sku(levels, facts.skus, codes)
    return subjects, available, tuple(codes[w] for w in order_ids if w in codes), facts.presale
