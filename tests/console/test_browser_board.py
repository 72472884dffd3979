"""The board, bulk actions and label printing in a real browser (Debian's Chromium, as test_browser.py
drives it); screenshots of the board and of the order list with a selection under artifacts/console/."""

from __future__ import annotations

from fastapi.testclient import TestClient
from playwright.sync_api import Browser, expect
from sqlalchemy.orm import Session, sessionmaker

from orderly.auth.domain import Role
from tests.console.test_browser import _context, _shot, _signed_in, browser, hub, pytestmark
from tests.factories import order

__all__ = ["browser", "hub", "pytestmark"]


def test_the_board_counts_and_updates_when_an_order_arrives(
    browser: Browser, hub: str, client: TestClient, orders: dict[str, int], factory: sessionmaker[Session]
) -> None:
    with _context(browser, hub, "en-US") as context:
        page = _signed_in(context, factory, "ops", Role.OPERATIONS)
        page.get_by_role("link", name="Board").click()
        to_pick = page.locator('[data-column="to_pick"] .count')
        expect(to_pick).to_have_text("3")  # #1001, 1002 and 114-0001 have their stock
        expect(page.locator('[data-column="on_hold"] .count')).to_have_text("1")
        expect(page.locator('[data-column="on_hold"] .card')).to_contain_text("1003")
        _shot(page, "board")
        arrived = client.post(
            "/api/v1/orders/ingest", json={"orders": [order(("SKU-1", 1), external_id="9001")]}
        )
        assert arrived.status_code == 200
        expect(to_pick).to_have_text("4", timeout=12_000)  # at the next poll, without a reload
        expect(page.locator('[data-column="to_pick"] .card').first).to_contain_text("9001")
        page.locator('[data-column="to_pick"] .card').first.get_by_role("link").click()
        expect(page.get_by_role("heading", level=1)).to_contain_text("9001")


def test_orders_selected_on_the_list_are_held_released_and_approved(
    browser: Browser, hub: str, orders: dict[str, int], factory: sessionmaker[Session]
) -> None:
    with _context(browser, hub, "en-US") as context:
        page = _signed_in(context, factory, "cs", Role.CUSTOMER_SERVICE)
        page.get_by_role("link", name="Orders").click()
        page.get_by_label("Select all on this page").check()
        page.get_by_label("Note or reason").fill("checking the addresses")
        page.get_by_role("button", name="Hold", exact=True).click()
        outcome = page.locator("#outcomes")
        expect(outcome.get_by_role("status")).to_contain_text("#1001")
        expect(page.locator('tr[data-order="114-0001"] .status')).to_have_text("On hold")  # rows read again

        page.get_by_label("Select #1001").check()
        page.get_by_label("Select 114-0001").check()
        _shot(page, "orders-selection")
        page.get_by_label("Note or reason").fill("addresses fine")
        page.get_by_role("button", name="Release").click()
        expect(outcome.get_by_role("status")).to_have_text("Done: #1001, 114-0001")
        expect(page.locator('tr[data-order="#1001"] .status')).to_have_text("Allocated")

        page.get_by_label("Select 1002").check()
        page.get_by_label("Select #1001").check()  # allocated now: refused, the other goes on
        page.get_by_label("Note or reason").fill("approved by phone")
        page.get_by_role("button", name="Approve").click()
        expect(outcome.get_by_role("status")).to_have_text("Done: 1002")
        expect(outcome.locator('li.refused[data-order="#1001"]')).to_contain_text("can be approved")
        expect(page.locator('tr[data-order="1002"] .status')).to_have_text("Allocated")
        _shot(page, "orders-bulk-outcome")


def test_labels_of_a_selection_print_as_one_pdf(
    browser: Browser, hub: str, client: TestClient, orders: dict[str, int], factory: sessionmaker[Session]
) -> None:
    for number, tracking in (("#1001", "LB1001"), ("114-0001", "LB1141")):
        made = client.post(
            f"/api/v1/orders/{orders[number]}/shipments", json={"carrier": "DHL", "tracking_number": tracking}
        )
        assert made.status_code == 201, made.text
    with _context(browser, hub, "en-US") as context:
        page = _signed_in(context, factory, "wh", Role.WAREHOUSE)
        page.get_by_role("link", name="Orders").click()
        for number in ("#1001", "1003", "114-0001"):
            page.get_by_label(f"Select {number}").check()
        page.get_by_role("button", name="Print labels").click()
        outcome = page.locator("#outcomes")
        expect(outcome.locator('li.refused[data-order="1003"]')).to_contain_text("no labelled parcel waits")
        link = outcome.get_by_role("link", name="Open the labels (PDF)")
        href = link.get_attribute("href")
        assert href is not None
        pdf = page.request.get(href)
        assert pdf.ok and pdf.headers["content-type"] == "application/pdf"
        assert pdf.body().startswith(b"%PDF")
        _shot(page, "orders-labels")
