"""The home page in a real browser: the figures shown and both charts drawn by the vendored Chart.js,
with no request leaving the hub (any other address fails the test)."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, Route, expect

from tests.console.test_browser import _context, _shot, browser, hub, pytestmark

__all__ = ["browser", "hub", "pytestmark"]


def test_home_shows_its_figures_and_draws_its_charts_from_the_hub_alone(
    browser: Browser, hub: str, token: str, orders: dict[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    # The orders were placed from 10 to 14 November: the hub (served in this process) looks on the 20th.
    monkeypatch.setattr("orderly.console.pages.home.utcnow", lambda: datetime(2026, 11, 20, 9, 0, tzinfo=UTC))
    outside: list[str] = []

    def only_the_hub(route: Route) -> None:
        if urlsplit(route.request.url).hostname in {"127.0.0.1", "localhost"}:
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    with _context(browser, hub, "en-US", token) as context:
        context.route("**/*", only_the_hub)
        page = context.new_page()
        page.goto("/")
        expect(page.get_by_role("heading", level=1)).to_have_text("Home")
        expect(page.locator('[data-period="month"] .orders')).to_have_text("4 orders")
        expect(page.locator('[data-kpi="held"] a')).to_have_text("1")
        expect(page.locator("table.per-shop tbody tr")).to_have_count(3)
        page.wait_for_function("window.homeCharts && window.homeCharts.length === 2")
        drawn = page.evaluate(
            """() => ['orders-chart', 'sales-chart'].map((id) => {
                const chart = Chart.getChart(id);
                return chart ? [chart.config.type, chart.data.labels.length, chart.data.datasets.length,
                                document.getElementById(id).width > 0] : null;
            })"""
        )
        assert drawn == [["bar", 30, 3, True], ["bar", 30, 3, True]]
        _shot(page, "home")
        page.get_by_role("button", name="简体中文").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("首页")
        page.wait_for_function("window.homeCharts && window.homeCharts.length === 2")
        _shot(page, "home-zh")
    assert outside == []
