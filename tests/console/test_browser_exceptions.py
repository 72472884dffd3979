"""The exceptions queue and the rules pages in a real browser (Chromium driven by Playwright, as in
test_browser.py): a person releases a held order with a note and corrects an address from the queue;
screenshots of the queue are saved under ``artifacts/console/``."""

from __future__ import annotations

from fastapi.testclient import TestClient
from playwright.sync_api import Browser, expect
from sqlalchemy.orm import Session, sessionmaker

from orderly.auth.domain import Role
from tests.console.test_browser import _context, _shot, _signed_in, browser, hub, pytestmark
from tests.console.test_exceptions_page import _held

__all__ = ["browser", "hub", "pytestmark"]


def test_a_person_releases_a_held_order_and_corrects_an_address_from_the_queue(
    browser: Browser, hub: str, client: TestClient, factory: sessionmaker[Session]
) -> None:
    ids = _held(client, factory)
    with _context(browser, hub, "en-US") as context:
        page = _signed_in(context, factory, "cora", Role.OPERATIONS)
        page.get_by_role("navigation", name="Main").get_by_role("link", name="Exceptions").click()
        expect(page.get_by_role("heading", level=1)).to_contain_text("Exceptions")
        expect(page.locator("#count-total")).to_have_text("6")
        _shot(page, "exceptions")

        row = page.locator(f"#held-{ids['BY-HAND']}")
        row.get_by_label("Release note").fill("the buyer confirmed by phone")
        row.get_by_role("button", name="Release").click()
        expect(row).to_have_class("fixed")
        expect(row).to_contain_text("Released")
        expect(page.locator("#count-manual")).to_have_text("0")
        expect(page.locator("#count-total")).to_have_text("5")

        row = page.locator(f"#held-{ids['ADDR-1']}")
        row.get_by_text("Edit address").click()
        row.get_by_label("Postal code").fill("48817")
        row.get_by_role("button", name="Correct the address").click()
        expect(row).to_contain_text("Allocated")
        expect(page.locator("#count-address")).to_have_text("1")

        row = page.locator(f"#held-{ids['SHORT-OLD']}")
        row.get_by_role("combobox", name="Warehouse").select_option("WH-2")
        row.get_by_role("button", name="Ship from this warehouse").click()
        expect(row.locator(".problem")).to_contain_text("short of SKU-2 (needs 2, 1 available)")
        _shot(page, "exceptions-fixed")

    released = client.get(f"/api/v1/orders/{ids['BY-HAND']}").json()
    assert released["status"] == "allocated" and released["events"][-1]["actor"] == "cora"


def test_a_person_fixes_a_rule_dry_runs_it_and_switches_it_in(
    browser: Browser, hub: str, client: TestClient, factory: sessionmaker[Session]
) -> None:
    _held(client, factory)
    with _context(browser, hub, "en-US") as context:
        page = _signed_in(context, factory, "ola", Role.OPERATIONS)
        page.get_by_role("navigation", name="Main").get_by_role("link", name="Rules").click()
        expect(page.locator('tr[data-rule="stock.split"] .active-version')).to_have_text("v1")
        _shot(page, "rules")
        page.get_by_role("link", name="Edit the rule set, dry-run and switch").first.click()
        editor = page.get_by_label("Rule set (YAML)")
        draft = editor.input_value()
        rule = (
            "- key: big-orders\n  name: Big orders\n  when: {fact: order.total_base, gt: 3000}\n"
            "  then: [{hold: {reason: risk, message: over 30}}]\n"
        )
        editor.fill(draft.replace("rules:\n", "rules:\n" + rule.replace("order.total_base", "order.totl"), 1))
        page.get_by_role("button", name="Save and switch").click()
        expect(page.locator("ul.problems")).to_contain_text("order.totl")
        expect(page.locator("ul.problems code").first).to_contain_text("rules[0]")

        editor.fill(draft.replace("rules:\n", "rules:\n" + rule, 1))
        page.get_by_role("button", name="Dry run").click()
        report = page.locator("section.dry-run")
        expect(report).to_contain_text("orders would change")
        expect(report.locator("tr.change").first).to_contain_text("over 30")
        _shot(page, "rules-dry-run")

        page.get_by_role("button", name="Save and switch").click()
        expect(page.locator("#rules-report")).to_contain_text("Switched: rule set version")
        page.get_by_role("link", name="Rules").last.click()
        expect(page.locator('tr[data-rule="big-orders"] .active-version')).to_have_text("v1")
    assert client.get("/api/v1/review/rules/big-orders").json()["spec"]["name"] == "Big orders"
