"""The home page: sales today, this week and this month across shops and per shop in the base
currency, charts of the last 30 days, the share approved on arrival, the orders held, pay-to-ship."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, status
from fastapi.responses import RedirectResponse, Response

from orderly.console.formatting import day_label
from orderly.console.pages.common import NAV, render
from orderly.console.viewer import SignedIn, Viewer
from orderly.core.clock import utcnow, zone
from orderly.core.money import minor_unit_exponent
from orderly.core.web import ReadSession
from orderly.orders import queries

router = APIRouter(include_in_schema=False)

#: Roles that start at their own work rather than the sales figures, when the console has that page.
LANDING = {"warehouse": "/warehouse"}


def _landing(viewer: Viewer) -> str:
    """Where a viewer who does not start on the figures goes: their role's page when the navigation
    offers it to them, else the first page it does, else the order list."""
    offered = [href for href, _, needs in NAV if href != "/" and viewer.may(needs)]
    wanted = LANDING.get(viewer.role)
    return wanted if wanted in offered else (offered[0] if offered else "/orders")


@router.get("/", response_model=None)
def home(request: Request, session: ReadSession, viewer: SignedIn) -> Response:
    if viewer.role in LANDING or not viewer.may("orders:read"):
        return RedirectResponse(_landing(viewer), status.HTTP_303_SEE_OTHER)
    figures = queries.home_figures(session, utcnow(), zone(viewer.timezone))
    return render(request, "home.html", viewer, figures=figures, chart=_chart(figures, viewer.locale))


def _chart(figures: queries.HomeFigures, locale: str) -> dict[str, Any]:
    """The charts' data for the page's script: each shop's orders and sales (in major units of the base
    currency) per day."""
    scale = 10 ** minor_unit_exponent(figures.base_currency)
    sales = figures.sales
    return {
        "days": [day_label(day, locale) for day in figures.when.chart],
        "currency": figures.base_currency,
        "orders": [{"label": shop, "data": counts} for shop, counts in sales.chart_orders.items()],
        "sales": [
            {"label": shop, "data": [amount / scale for amount in amounts]}
            for shop, amounts in sales.chart_sales.items()
        ],
    }
