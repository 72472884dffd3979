"""The stock, shops and admin pages in a real browser (Debian's Chromium driven by Playwright): stock
adjusted and transferred from the SKU's page, a shop connected through the form, and an admin creating
a warehouse user who then signs in, keeps their language, and can open neither the users nor the audit
log (nor reach them through the API with their own token). Screenshots into ``artifacts/console/``."""

from __future__ import annotations

from contextlib import suppress
from datetime import UTC, datetime, timedelta

from playwright.sync_api import Browser, Route, expect
from playwright.sync_api import Error as PlaywrightError
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from orderly.auth import service as users
from orderly.auth.domain import Role
from orderly.channels.models import Shop
from orderly.core.db import transaction
from tests.console.test_browser import _context, _shot, _signed_in, browser, hub, pytestmark
from tests.factories import setup_catalog

__all__ = ["browser", "hub", "pytestmark"]


def test_stock_is_adjusted_and_transferred_from_the_skus_page(
    browser: Browser, hub: str, factory: sessionmaker[Session]
) -> None:
    setup_catalog(factory, {"SKU-1": 10}, warehouses=2)
    with _context(browser, hub, "en-US") as context:
        page = _signed_in(context, factory, "tao", Role.WAREHOUSE)
        page.goto("/stock")
        expect(page.locator('tr.low[data-sku="SKU-2"]')).to_be_visible()  # never stocked: 0 to sell
        page.get_by_role("link", name="SKU-1").first.click()
        page.get_by_label("Movement").select_option("adjust")
        page.get_by_label("Quantity").fill("-2")
        page.get_by_label("Reason").fill("crushed box")
        page.get_by_role("button", name="Record").click()
        expect(page.get_by_role("status")).to_have_text("Recorded.")
        wh1, wh2 = page.locator('tr[data-warehouse="WH-1"]'), page.locator('tr[data-warehouse="WH-2"]')
        expect(wh1.locator(".on-hand")).to_have_text("8")

        page.get_by_label("From warehouse").select_option("WH-1")
        page.get_by_label("To warehouse").select_option("WH-2")
        page.get_by_label("Units to transfer").fill("3")
        page.get_by_label("Why", exact=True).fill("stock for the Shanghai sale")
        page.get_by_role("button", name="Transfer", exact=True).click()
        expect(page.get_by_role("status")).to_have_text("Recorded.")
        expect(wh1.locator(".on-hand")).to_have_text("5")
        expect(wh2.locator(".in-transit")).to_have_text("3")
        transfer = page.locator("tr.transfer").first
        expect(transfer).to_contain_text("In transit")
        expect(transfer).to_contain_text("stock for the Shanghai sale")
        expect(page.locator("tr.movement").first).to_contain_text("Sent on a transfer")
        _shot(page, "stock-sku-transfer")
        transfer.get_by_role("button", name="Arrived").click()
        expect(wh2.locator(".on-hand")).to_have_text("3")
        expect(wh2.locator(".in-transit")).to_have_text("0")
        expect(page.locator("tr.transfer").first).to_contain_text("Received")
        _shot(page, "stock-sku")


def test_an_admin_connects_a_shop_through_the_form(
    browser: Browser, hub: str, factory: sessionmaker[Session]
) -> None:
    with _context(browser, hub, "en-US") as context:
        page = _signed_in(context, factory, "ada", Role.ADMIN)
        page.goto("/shops")
        page.get_by_role("link", name="Connect a shop").click()
        expect(page).to_have_url(f"{hub}/shops/new")
        # The page's timers stand still, as on a loaded machine where they fire late: a part htmx swapped
        # in must work at once, not only once a timer has let htmx take it in (its settle delay).
        page.clock.install()
        page.clock.pause_at(datetime.now(UTC) + timedelta(seconds=1))
        expect(page.get_by_label("refresh_token")).to_be_visible()  # Amazon, the first channel, shown
        # Amazon chosen again and its answer held back, as a slow one: Shopify chosen meanwhile wins
        # (the request still out is dropped for the new one), its swap waited for itself.
        held: list[Route] = []
        page.route(lambda url: "channel=amazon" in url, lambda route: held.append(route))  # noqa: PLW0108 (Playwright wraps a Python function, not a builtin method)
        with page.expect_request(lambda asked: "channel=amazon" in asked.url):
            page.get_by_label("Channel").select_option("amazon")
        with page.expect_response(lambda answer: "channel=shopify" in answer.url, timeout=30_000):
            page.get_by_label("Channel").select_option("shopify")
        page.unroute_all(behavior="ignoreErrors")
        for route in held:
            with suppress(PlaywrightError):  # aborted by the page already
                route.abort()
        expect(page.get_by_label("access_token")).to_be_visible()
        expect(page.get_by_label("refresh_token")).to_have_count(0)
        page.get_by_label("Shop code").fill("acme-us")
        page.get_by_label("Name", exact=True).fill("Acme US")
        page.get_by_label("Base URL").fill("https://acme.myshopify.com")
        page.get_by_label("access_token").fill("shpat_browser_secret")
        page.get_by_label("location_id").fill("-3")  # refused by Shopify's settings: not a location
        page.get_by_role("button", name="Connect the shop").click()
        expect(page.get_by_role("alert")).to_contain_text("Not connected")
        expect(page.locator('[id="problem-settings.location_id"]')).to_contain_text("greater than 0")
        expect(page.get_by_label("Name", exact=True)).to_have_value("Acme US")  # kept
        expect(page.get_by_label("access_token")).to_have_value("")  # a secret is never sent back
        assert "shpat_browser_secret" not in page.content()
        _shot(page, "shop-new")
        page.get_by_label("location_id").fill("8675309")
        page.get_by_label("access_token").fill("shpat_browser_secret")
        page.get_by_role("button", name="Connect the shop").click()
        expect(page).to_have_url(f"{hub}/shops?connected=acme-us")
        expect(page.get_by_role("status")).to_have_text("Shop acme-us connected.")
        expect(page.locator('tr[data-shop="acme-us"]')).to_contain_text("shopify")
    with transaction(factory) as s:
        shop = s.scalars(select(Shop).where(Shop.code == "acme-us")).one()
        assert shop.credentials and "shpat_" not in shop.credentials
        assert shop.settings["location_id"] == 8675309


def test_an_admin_creates_a_warehouse_user_who_cannot_open_the_admin_pages(
    browser: Browser, hub: str, factory: sessionmaker[Session]
) -> None:
    setup_catalog(factory, {"SKU-1": 5})
    with _context(browser, hub, "en-US") as context:
        page = _signed_in(context, factory, "ada", Role.ADMIN)
        page.get_by_role("link", name="Users").click()
        form = page.get_by_role("form", name="New user")
        form.get_by_label("User name").fill("ling")
        form.get_by_label("Name", exact=True).fill("Ling Wu")
        form.get_by_label("Role").select_option("warehouse")
        form.get_by_label("First password").fill("short")
        form.get_by_role("button", name="Create user").click()
        expect(page.get_by_role("alert")).to_contain_text("at least 10 characters")
        form = page.get_by_role("form", name="New user")
        expect(form.get_by_label("User name")).to_have_value("ling")
        form.get_by_label("First password").fill("ling's long password")
        form.get_by_label("Time zone").fill("Asia/Shanghai")
        form.get_by_role("button", name="Create user").click()
        expect(page.get_by_role("status")).to_have_text("Done: created ling")
        expect(page.locator('tr[data-user="ling"]')).to_contain_text("Active")

        with _context(browser, hub, "en-US") as theirs:
            ling = theirs.new_page()
            ling.goto("/sign-in")
            ling.get_by_label("User name").fill("ling")
            ling.get_by_label("Password").fill("not the password")
            ling.get_by_role("button", name="Sign in").click()
            expect(ling.get_by_role("alert")).to_be_visible()
            ling.get_by_label("User name").fill("ling")
            ling.get_by_label("Password").fill("ling's long password")
            ling.get_by_role("button", name="Sign in").click()
            expect(ling).to_have_url(f"{hub}/warehouse")  # a warehouse person starts at its work
            nav = ling.get_by_role("navigation", name="Main")
            expect(nav.get_by_role("link", name="Stock")).to_be_visible()
            expect(nav.get_by_role("link", name="Users")).to_have_count(0)
            expect(nav.get_by_role("link", name="Audit log")).to_have_count(0)
            expect(ling.get_by_label("Time zone")).to_have_value("Asia/Shanghai")  # the header: their zone
            for path in ("/users", "/audit"):
                refused = ling.goto(path)
                assert refused is not None and refused.status == 403, path
            refused = ling.request.post(f"{hub}/users", form={"username": "x", "role": "admin"})
            assert refused.status == 403  # the page's post too, with the session's cookie
            ling.goto("/orders")
            ling.get_by_role("button", name="简体中文").click()  # kept in ling's profile
            expect(ling.get_by_role("heading", level=1)).to_have_text("订单")
            ling.get_by_role("button", name="退出登录").click()
            expect(ling).to_have_url(f"{hub}/sign-in")
        with _context(browser, hub, "en-US") as elsewhere:  # another browser: still Chinese
            again = elsewhere.new_page()
            again.goto("/sign-in")
            again.get_by_label("User name").fill("ling")
            again.get_by_label("Password").fill("ling's long password")
            again.get_by_role("button", name="Sign in").click()
            expect(again.get_by_role("heading", level=1)).to_have_text("待拣货的波次")  # the warehouse page

        with transaction(factory) as s:
            ling_id = users.user_id_of(s, "ling")
            token = users.create_token(s, "ling's script", user_id=ling_id).token
        bearer = {"Authorization": f"Bearer {token}"}
        for path in ("/api/v1/users", "/api/v1/audit"):
            answer = context.request.get(f"{hub}{path}", headers=bearer)
            assert answer.status == 403, path
        assert context.request.get(f"{hub}/api/v1/stock", headers=bearer).status == 200

        page.reload()
        expect(page.locator('tr[data-user="ling"]')).not_to_contain_text("—")  # their last sign-in
        _shot(page, "users")
        page.get_by_role("link", name="Audit log").click()
        page.get_by_label("Who").fill("ling")
        page.get_by_role("button", name="Filter").click()
        events = page.locator("tr.event")
        expect(events).to_have_count(5)  # refused, signed in, Chinese chosen, signed out, signed in
        expect(events.last).to_contain_text("refused: the username or password is wrong")
        expect(events.first).to_contain_text("signed in")
        _shot(page, "audit")
