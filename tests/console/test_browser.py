"""The console in a real browser: Debian's Chromium driven by Playwright (never a downloaded browser),
against the hub served over HTTP. Screenshots of the main pages are saved under ``artifacts/console/``.

A person signs in through the form; the other tests' browser sends an admin API token instead."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright
from sqlalchemy.orm import Session, sessionmaker

from orderly.auth import service as users
from orderly.auth.domain import Role
from orderly.core.db import transaction
from orderly.sandbox.serve import serving
from tests.console.test_shops_page import failures

CHROMIUM = os.environ.get("ORDERLY_CHROMIUM", "/usr/bin/chromium")
#: How long a page, an action or an expectation may take. Generous: CI runs these beside the
#: multi-process race tests on two cores, where a first page (templates compiled, catalogues loaded)
#: has taken over 10 s; a page that never comes still fails.
PATIENCE_MS = 30_000
expect.set_options(timeout=PATIENCE_MS)
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts" / "console"

pytestmark = [
    pytest.mark.skipif(not shutil.which(CHROMIUM), reason=f"no Chromium at {CHROMIUM}: run make install"),
    pytest.mark.xdist_group("browser"),
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    os.environ.setdefault("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        yield launched
        launched.close()


@pytest.fixture
def hub(app: FastAPI) -> Iterator[str]:
    with serving(app) as url:
        yield url


def _context(browser: Browser, hub: str, locale: str, token: str | None = None) -> BrowserContext:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    context = browser.new_context(base_url=hub, locale=locale, extra_http_headers=headers)
    context.set_default_timeout(PATIENCE_MS)
    return context


def _shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    print(f"screenshot: {path}")


def test_sign_in_page_in_english_and_in_chinese(browser: Browser, hub: str) -> None:
    for locale, heading, password, name in (
        ("en-US", "Sign in to Orderly", "Password", "sign-in-en"),
        ("zh-CN", "登录 Orderly", "密码", "sign-in-zh"),
    ):
        with _context(browser, hub, locale) as context:
            page = context.new_page()
            page.goto("/orders")  # not signed in: sent to sign in
            expect(page).to_have_url(f"{hub}/sign-in")
            expect(page.get_by_role("heading")).to_have_text(heading)
            expect(page.get_by_label(password)).to_be_visible()
            _shot(page, name)


def test_orders_found_filtered_and_told_in_either_language(
    browser: Browser, hub: str, token: str, orders: dict[str, int]
) -> None:
    with _context(browser, hub, "en-US", token) as context:
        page = context.new_page()
        page.goto("/orders")
        rows = page.locator("tr.order")
        expect(rows).to_have_count(4)
        _shot(page, "orders")

        page.get_by_label("Search").fill("Müller")
        page.get_by_label("Search").press("Enter")
        expect(rows).to_have_count(1)
        expect(rows.first).to_have_attribute("data-order", "#1001")
        assert "q=M%C3%BCller" in page.url  # the filters stay in the address, for reload and sharing

        page.get_by_role("link", name="Clear").click()
        page.get_by_label("Hold reason").select_option("out_of_stock")  # htmx: the rows alone
        expect(rows).to_have_count(1)
        expect(rows.first).to_have_attribute("data-order", "1003")
        page.get_by_label("Channel").select_option("amazon")  # both: nothing
        expect(page.locator("tr.empty")).to_be_visible()

        page.goto("/orders")
        page.get_by_role("link", name="#1001").click()
        expect(page.get_by_role("heading", level=1)).to_contain_text("#1001")
        expect(page.locator("dd.total")).to_have_text("€24.98")
        expect(page.locator("section.reservations")).to_contain_text("WH-1")
        expect(page.locator("dd.placed")).to_have_text("Nov 11, 2026, 12:00:00\u202fAM UTC")
        _shot(page, "order")

        page.get_by_role("button", name="简体中文").click()  # remembered; the page reloads in Chinese
        expect(page.get_by_role("heading", level=2, name="库存预留")).to_be_visible()
        page.get_by_label("时区").fill("Asia/Shanghai")
        page.get_by_role("button", name="设置").click()
        expect(page.locator("dd.placed")).to_have_text("2026年11月11日 08:00:00 CST")
        expect(page.locator("dd.total")).to_have_text("€24.98")
        _shot(page, "order-zh")
        page.goto("/orders")
        expect(page.locator("tr.order").first).to_contain_text("US$")
        _shot(page, "orders-zh")
        page.goto(f"/orders/{orders['1003']}")  # the hold's reason the hub stored, in Chinese
        expect(page.locator("section.holds")).to_contain_text("缺货：SKU-3 需要 1，可用 0")  # noqa: RUF001
        _shot(page, "order-held-zh")


def _signed_in(context: BrowserContext, factory: sessionmaker[Session], name: str, role: Role) -> Page:
    """A new person with ``role`` (in Shanghai's zone) signed in through the form: on their start page."""
    with transaction(factory) as s:
        users.create_user(s, name, "correct horse battery", role=role, timezone="Asia/Shanghai")
    page = context.new_page()
    page.goto("/orders")  # sent to sign in first
    page.get_by_label("User name").fill(name)
    page.get_by_label("Password").fill("correct horse battery")
    page.get_by_role("button", name="Sign in").click()
    return page


def test_a_person_signs_in_and_switches_to_chinese(
    browser: Browser, hub: str, orders: dict[str, int], factory: sessionmaker[Session]
) -> None:
    with _context(browser, hub, "en-US") as context:
        page = _signed_in(context, factory, "mei", Role.WAREHOUSE)
        expect(page).to_have_url(f"{hub}/warehouse")  # the warehouse starts at its own work
        page.get_by_role("link", name="Orders").click()
        expect(page.locator("tr.order")).to_have_count(4)
        page.get_by_role("button", name="简体中文").click()  # htmx sends the session's CSRF token
        expect(page.get_by_role("heading", level=1)).to_have_text("订单")
        expect(page.locator('tr[data-order="#1001"]')).to_contain_text("2026年11月11日 08:00:00 CST")
        _shot(page, "orders-signed-in-zh")
        page.get_by_role("button", name="退出登录").click()
        expect(page).to_have_url(f"{hub}/sign-in")


def test_a_person_adjusts_stock_and_replays_a_failed_job(
    browser: Browser, hub: str, factory: sessionmaker[Session]
) -> None:
    dead = failures(factory, {"SKU-1": 10})["job"]
    with _context(browser, hub, "en-US") as context:
        page = _signed_in(context, factory, "tao", Role.ADMIN)
        page.get_by_role("link", name="Stock").click()
        page.get_by_role("link", name="SKU-1").first.click()
        page.get_by_label("Movement").select_option("adjust")
        page.get_by_label("Quantity").fill("-3")
        page.get_by_label("Reason").fill("dropped in the aisle")
        page.get_by_role("button", name="Record").click()  # htmx sends the session's CSRF token
        expect(page.get_by_role("status")).to_have_text("Recorded.")
        expect(page.locator('tr[data-warehouse="WH-1"] .on-hand')).to_have_text("7")
        expect(page.locator("tr.movement").first).to_contain_text("dropped in the aisle")
        expect(page.locator("tr.movement").first).to_contain_text("CST")  # the person's zone
        page.get_by_label("Quantity").fill("-30")
        page.get_by_role("button", name="Record").click()
        expect(page.get_by_role("alert")).to_contain_text("would leave")
        _shot(page, "stock-sku")
        page.get_by_role("link", name="Shops").click()
        expect(page.locator('tr[data-shop="shop-a"]')).to_contain_text("HTTP 503 from the platform")
        _shot(page, "shops")
        page.locator(f'tr[data-job="{dead}"]').get_by_role("button", name="Replay").click()
        expect(page.get_by_role("status")).to_have_text(f"Queued again: job #{dead}")
        expect(page.locator(f'tr[data-job="{dead}"]')).to_have_count(0)
        _shot(page, "shops-replayed")
