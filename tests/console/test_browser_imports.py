"""Importing a stock file in a real browser (Debian's Chromium through Playwright): a count with one bad
row is checked first (its preview and the bad row shown, nothing kept), then imported for real, and
its report, bad row included, is there afterwards; the page in Chinese too."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from playwright.sync_api import Browser, expect
from sqlalchemy.orm import Session, sessionmaker

from orderly.api import create_app
from orderly.core.db import transaction
from orderly.inventory import service as inventory
from orderly.sandbox.serve import serving
from tests.console.test_browser import _context, _shot, browser, pytestmark
from tests.factories import setup_catalog

__all__ = ["browser", "pytestmark"]

COUNTS = "SKU,仓库,数量\nSKU-1,WH-1,7\nNOPE,WH-1,3\nSKU-2,WH-1,5\n".encode()


@pytest.fixture
def hub(factory: sessionmaker[Session]) -> Iterator[str]:
    """The hub served with a job worker of its own: the uploads run as they would in production."""
    app: FastAPI = create_app(factory=factory, workers=1)
    with serving(app) as url:
        yield url


def test_a_stock_count_is_checked_imported_and_reported_with_its_bad_row(
    browser: Browser, hub: str, token: str, factory: sessionmaker[Session]
) -> None:
    setup_catalog(factory, {"SKU-1": 10})
    with _context(browser, hub, "en-US", token) as context:
        page = context.new_page()
        page.goto("/imports")
        page.get_by_label("What the file holds").select_option("stock")
        page.get_by_label("File", exact=True).set_input_files(
            {"name": "counts.csv", "mimeType": "text/csv", "buffer": COUNTS}
        )
        page.get_by_label("Stock figures are").select_option("count")
        page.get_by_role("button", name="Check (dry run)").click()

        report = page.locator("#report .import-report")
        expect(report).to_have_attribute("data-status", "done")
        expect(report.get_by_role("heading", level=2)).to_have_text("Dry run of counts.csv")
        expect(report.locator("table.preview tbody tr")).to_have_count(3)
        expect(report.locator("table.preview")).to_contain_text("SKU-1")
        expect(report.locator("tr.error")).to_have_count(1)
        expect(report.locator("tr.error[data-row='3']")).to_contain_text("unknown SKU 'NOPE'")
        _shot(page, "imports-dry-run")
        with transaction(factory) as s:
            assert [row.on_hand for row in inventory.stock_of(s, "SKU-1")] == [10]

        page.get_by_role("button", name="Import for real").click()
        expect(report.get_by_role("heading", level=2)).to_have_text("Import of counts.csv")
        expect(report).to_have_attribute("data-status", "done")
        expect(report.locator("dd.imported")).to_have_text("2")
        expect(report.locator("dd.failed")).to_have_text("1")
        report.get_by_role("link", name="Open the report").click()

        expect(page.get_by_role("heading", level=1)).to_contain_text("Import ")
        expect(page.locator("tr.error[data-row='3']")).to_contain_text("NOPE")
        run_id = page.url.rsplit("/", 1)[1]
        expect(page.locator("a.download")).to_have_attribute(
            "href", f"/api/v1/imports/runs/{run_id}/errors.csv"
        )
        _shot(page, "imports-report")
        page.goto("/imports")
        expect(page.locator("tr.run")).to_have_count(2)
    with transaction(factory) as s:
        assert [row.on_hand for row in inventory.stock_of(s, "SKU-1")] == [7]
        assert [row.on_hand for row in inventory.stock_of(s, "SKU-2")] == [5]

    with _context(browser, hub, "zh-CN", token) as context:
        page = context.new_page()
        page.goto("/imports")
        expect(page.get_by_role("heading", level=1)).to_have_text("导入")
        expect(page.get_by_role("button", name="检查（试运行）")).to_be_visible()  # noqa: RUF001
        expect(page.locator("tr.run").first).to_contain_text("库存")
        _shot(page, "imports-zh")
