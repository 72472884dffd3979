"""The warehouse's screens in a real browser (Debian's Chromium): a wave's labels printed as one PDF,
a parcel packed by scans typed as a USB scanner types them (a wrong item refused on the way), and the
stale parcels listed. Screenshots under ``artifacts/console/``."""

from __future__ import annotations

import io
import shutil

import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import Browser, expect
from pypdf import PdfReader
from sqlalchemy.orm import Session, sessionmaker

from orderly.auth.domain import Role
from orderly.jobs.worker import Worker
from tests.console.test_browser import CHROMIUM, _context, _shot, _signed_in, browser, hub
from tests.console.test_warehouse_pages import EAN, UPC, floor_with_waves, stale_parcels
from tests.fulfilment.carriers.conftest import Sandbox, easypost
from tests.fulfilment.carriers.test_accounts_and_quotes import add_account
from tests.fulfilment.carriers.test_labels import run_jobs, worker

__all__ = ["browser", "easypost", "hub", "worker"]

pytestmark = [
    pytest.mark.skipif(not shutil.which(CHROMIUM), reason=f"no Chromium at {CHROMIUM}: run make install"),
    pytest.mark.xdist_group("browser"),
]


def test_a_packer_prints_a_waves_labels_packs_by_scanner_and_sees_the_stale_parcels(
    browser: Browser, hub: str, client: TestClient, factory: sessionmaker[Session]
) -> None:
    ids = floor_with_waves(client, factory)
    stale = stale_parcels(factory)
    with _context(browser, hub, "en-US") as context:
        page = _signed_in(context, factory, "lin", Role.WAREHOUSE)
        page.get_by_role("link", name="Warehouse").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Waves to pick")
        ups = page.locator('section.wave[data-carrier="UPS"]')
        expect(ups.locator("tr.parcel")).to_have_count(3)
        _shot(page, "warehouse")

        with page.expect_download() as printed:
            ups.get_by_role("link", name="Print labels").click()
        with open(printed.value.path(), "rb") as pdf:
            content = pdf.read()
        pages = ["".join(p.extract_text().split()) for p in PdfReader(io.BytesIO(content)).pages]
        assert [next(n for n in ("TRK801", "TRK802", "TRK803") if n in p) for p in pages] == [
            "TRK801",  # C-7, walked first
            "TRK803",
            "TRK802",
        ]

        page.get_by_role("link", name="Scan to pack").click()
        box = page.get_by_label("Scan", exact=True)
        expect(box).to_be_focused()
        page.keyboard.type(f"SHP-{ids['#803']}")  # as a USB scanner: the code, then Enter
        page.keyboard.press("Enter")
        expect(page.get_by_role("status")).to_contain_text("2 units to scan")
        page.keyboard.type(UPC)
        page.keyboard.press("Enter")
        expect(page.locator('tr.item[data-sku="SKU-2"] .scanned')).to_have_text("1")
        page.keyboard.type(EAN)  # SKU-1: not in this parcel
        page.keyboard.press("Enter")
        expect(page.get_by_role("alert")).to_contain_text("wrong item: SKU-1 is not in this parcel")
        expect(page.locator("body")).to_have_attribute("data-scan", "refused")  # flashed, and beeped
        expect(page.locator('tr.item[data-sku="SKU-2"] .scanned')).to_have_text("1")
        expect(box).to_be_focused()
        expect(box).to_have_value("")
        _shot(page, "warehouse-pack")
        page.keyboard.type(UPC)
        page.keyboard.press("Enter")
        expect(page.locator("section.packing p.complete")).to_have_text(
            "Complete: the parcel is packed and waits for the carrier."
        )
        expect(page.locator("body")).to_have_attribute("data-scan", "complete")
        assert client.get(f"/api/v1/shipments/{ids['#803']}").json()["status"] == "packed"
        _shot(page, "warehouse-packed")

        page.get_by_role("link", name="Stale parcels").click()
        rows = page.locator("tr.chase")
        expect(rows).to_have_count(2)
        expect(rows.first).to_have_attribute("data-shipment", str(stale["quiet"]))
        expect(rows.first).to_contain_text("No news")
        expect(rows.nth(1)).to_contain_text("Late")
        expect(rows.first).to_contain_text("CST")  # times in the person's zone
        _shot(page, "warehouse-stale")


def test_a_waves_missing_labels_are_bought_and_the_page_follows_the_jobs(
    browser: Browser,
    hub: str,
    client: TestClient,
    factory: sessionmaker[Session],
    easypost: Sandbox,
    worker: Worker,
) -> None:
    ids = floor_with_waves(client, factory)
    add_account(client, easypost.url)
    with _context(browser, hub, "en-US") as context:
        page = _signed_in(context, factory, "wen", Role.WAREHOUSE)
        page.goto("/warehouse")
        wave = page.locator("section.wave.to-buy")
        expect(wave.locator("tr.parcel")).to_have_count(1)
        wave.get_by_label("Carrier account").select_option("ep")
        wave.get_by_role("button", name="Buy 1 missing label").click()  # the session's CSRF token, by htmx
        expect(wave.locator(f'tr.label[data-shipment="{ids["#804"]}"]')).to_have_attribute(
            "data-state", "buying"
        )
        run_jobs(worker, factory)  # the hub's worker: the page asks again every 2 s meanwhile
        expect(wave.locator(f'tr.label[data-shipment="{ids["#804"]}"]')).to_have_attribute(
            "data-state", "bought"
        )
        expect(wave.get_by_role("status")).to_have_text(
            "1 bought, 0 being bought, 0 refused or unknown, 0 not asked."
        )
        _shot(page, "warehouse-labels")
        wave.get_by_role("link", name="Show the waves again").click()
        expect(page.locator('section.wave[data-carrier="USPS"] tr.parcel')).to_have_count(1)
