"""The console's pages: server-rendered HTML, htmx swapping parts of them; a module per area, each with
its own router, joined here.

Pages read through the contexts' own read side (``orders/queries.py`` and its search, fulfilment's
parcels, inventory's reservations), in one read-only transaction per request, like the API.
"""

from __future__ import annotations

from fastapi import APIRouter

from orderly.console.pages import (
    admin,
    board,
    exceptions,
    exports,
    home,
    imports,
    orders,
    rules,
    session,
    shops,
    stock,
    warehouse,
)

router = APIRouter(include_in_schema=False)
# exports before orders and stock: /orders/export.csv and /stock/export.csv before their id and SKU pages
for area in (
    session,
    home,
    board,
    exports,
    orders,
    stock,
    imports,
    shops,
    warehouse,
    exceptions,
    rules,
    admin,
):
    router.include_router(area.router)
