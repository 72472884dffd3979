"""Builders of test data: a small catalog and normalized orders as plain dicts (as the API receives them)."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from orderly.catalog import service as catalog
from orderly.catalog.schemas import BundleIn, ComponentIn, MappingIn, ProductIn
from orderly.channels import service as channels
from orderly.channels.schemas import ShopIn
from orderly.core.db import transaction
from orderly.inventory import service as inventory
from orderly.inventory.schemas import WarehouseIn
from orderly.orders.models import Order, OrderFigure, ShipFigure
from orderly.orders.repository import rebuild_figures

T0 = datetime(2026, 11, 11, 0, 0, tzinfo=UTC)
_ids = itertools.count(1)


def setup_catalog(
    factory: sessionmaker[Session], stock: dict[str, int] | None = None, *, warehouses: int = 1
) -> None:
    """Shops ``shop-a`` and ``shop-b``, SKUs ``SKU-1``..``SKU-3``, bundle ``KIT-1`` (2 x SKU-1 + SKU-2),
    warehouses ``WH-1``.. and the given stock in ``WH-1``."""
    with transaction(factory) as s:
        for code in ("shop-a", "shop-b"):
            channels.create_shop(s, ShopIn(code=code, name=code.title(), channel="manual"))
        for n in range(1, 4):
            catalog.create_product(s, ProductIn(sku=f"SKU-{n}", name=f"Product {n}"))
        catalog.create_bundle(
            s,
            BundleIn(
                sku="KIT-1",
                name="Kit",
                components=[ComponentIn(sku="SKU-1", quantity=2), ComponentIn(sku="SKU-2", quantity=1)],
            ),
        )
        catalog.create_mapping(
            s, MappingIn(shop="shop-b", platform_sku="B-ONE", listing_id="L-1", sku="SKU-1")
        )
        for n in range(1, warehouses + 1):
            inventory.create_warehouse(s, WarehouseIn(code=f"WH-{n}", name=f"Warehouse {n}", priority=n))
        for sku, qty in (stock or {}).items():
            inventory.receive(s, sku, "WH-1", qty, actor="test", reason="opening stock")


def order(
    *lines: tuple[str, int],
    shop: str = "shop-a",
    external_id: str | None = None,
    updated: int = 0,
    placed: int = 0,
    **fields: Any,
) -> dict[str, Any]:
    """A valid normalized order from its own buyer and address (so the auto-review sees ordinary,
    unrelated orders); ``lines`` are (platform SKU, quantity)."""
    number = next(_ids)
    body: dict[str, Any] = {
        "shop": shop,
        "external_id": external_id or f"EXT-{number}",
        "placed_at": (T0 + timedelta(seconds=placed)).isoformat(),
        "updated_at": (T0 + timedelta(seconds=placed + updated)).isoformat(),
        "currency": "USD",
        "buyer": {"name": "Ada Buyer", "email": f"ada{number}@example.com"},
        "shipping_address": {
            "name": "Ada Buyer",
            "line1": f"{number} Cross St.",
            "city": "Canton",
            "region": "MI",
            "postal_code": "48817",
            "country": "US",
            "phone": f"+1 734 {200 + number % 700} {number % 10_000:04d}",
        },
        "lines": [
            {"platform_sku": sku, "title": sku, "quantity": qty, "unit_price": 1999}
            for sku, qty in lines or [("SKU-1", 1)]
        ],
        "shipping_total": 499,
    }
    body.update(fields)
    return body


def stored_order(factory: sessionmaker[Session], external_id: str) -> Order:
    """The order with this external id, as stored, detached from its session."""
    with transaction(factory) as s:
        found = s.scalar(select(Order).where(Order.external_id == external_id))
        assert found is not None, f"no order {external_id}"
        s.expunge(found)
        return found


def figures_recounted(factory: sessionmaker[Session]) -> tuple[Any, Any]:
    """The home page's rollups as kept and as counted again from the orders (the recount rolled back):
    orders and sales by (quarter, shop, currency), imports by (quarter, shop) and paid orders shipped by
    (UTC day, bin of minutes), rows of zeros left out (an import is kept under the currency its order
    had then, recounted under the one it has now)."""

    def read(s: Session) -> Any:
        sales: dict[tuple[int, int, str], tuple[int, int]] = {}
        imports: dict[tuple[int, int], tuple[int, int]] = {}
        for row in s.scalars(select(OrderFigure)):
            if row.orders or row.sales:
                sales[(row.quarter, row.shop_id, row.currency)] = (row.orders, row.sales)
            before = imports.get((row.quarter, row.shop_id), (0, 0))
            if row.reviewed or row.approved:
                imports[(row.quarter, row.shop_id)] = (before[0] + row.reviewed, before[1] + row.approved)
        shipped = {(row.day, row.minutes): row.orders for row in s.scalars(select(ShipFigure)) if row.orders}
        return sales, imports, shipped

    with factory() as s:
        kept = read(s)
        rebuild_figures(s)
        counted = read(s)
        s.rollback()
    return kept, counted
