"""The console's pages: server-rendered HTML, htmx swapping parts of them; a module per area, each with
its own router, joined here.

Pages read through the contexts' own read side (``orders/queries.py`` and its search, fulfilment's
parcels, inventory's reservations), in one read-only transaction per request, like the API.
"""

from __future__ import annotations

from fastapi import APIRouter

from orderly.console.pages import admin, home, orders, session, shops, stock, warehouse

router = APIRouter(include_in_schema=False)
for area in (session, home, orders, stock, shops, warehouse, admin):
    router.include_router(area.router)
