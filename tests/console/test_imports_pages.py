"""The console's imports: the upload form for the kinds the viewer may import, a file checked then
imported through the jobs, the past runs and a run's report with its errors a page at a time."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from orderly.console.pages import imports
from orderly.core.db import transaction
from orderly.inventory import service as inventory
from tests.factories import setup_catalog
from tests.imports.test_endpoints import drain

STOCK_CSV = b"SKU,Warehouse,Qty\nSKU-1,WH-1,7\nNOPE,WH-1,3\n"
HTMX = {"HX-Request": "true"}


def _post(client: TestClient, text: bytes, **form: str) -> str:
    response = client.post(
        "/imports", files={"file": ("counts.csv", text, "text/csv")}, data=form, headers=HTMX
    )
    assert response.status_code == 200, response.text
    return response.text


def _run_id(fragment: str) -> int:
    found = re.search(r'id="report-(\d+)"', fragment)
    assert found is not None, fragment
    return int(found.group(1))


def test_the_page_offers_the_kinds_options_and_past_runs(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    setup_catalog(factory, warehouses=2)

    page = client.get("/imports")

    assert page.status_code == 200
    assert '<option value="stock">Stock</option>' in page.text
    assert '<option value="WH-2">WH-2</option>' in page.text
    assert 'hx-encoding="multipart/form-data"' in page.text
    assert "Nothing imported yet." in page.text


def test_a_file_is_checked_then_imported_and_its_report_shows_the_bad_row(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    setup_catalog(factory, warehouses=1)

    checking = _post(client, STOCK_CSV, kind="stock", mode="count", dry_run="1")
    assert 'hx-trigger="every 1s"' in checking  # it polls until the job has run
    drain(factory)
    checked = client.get(
        f"/imports/runs/{_run_id(checking)}", headers={**HTMX, "HX-Target": f"report-{_run_id(checking)}"}
    )
    assert "every 1s" not in checked.text
    assert "Dry run of counts.csv" in checked.text and "Import for real" in checked.text
    assert "unknown SKU &#39;NOPE&#39;" in checked.text
    with transaction(factory) as s:
        assert inventory.stock_of(s, "SKU-1") == []

    importing = _post(client, STOCK_CSV, kind="stock", mode="count", dry_run="0")
    drain(factory)
    report = client.get(f"/imports/runs/{_run_id(importing)}")

    assert report.status_code == 200
    assert "<h1>Import " in report.text and 'data-row="3"' in report.text
    assert f"/api/v1/imports/runs/{_run_id(importing)}/errors.csv" in report.text
    with transaction(factory) as s:
        assert [row.on_hand for row in inventory.stock_of(s, "SKU-1")] == [7]
    listed = client.get("/imports").text
    assert listed.count('class="run"') == 2 and "dry run" in listed


def test_errors_come_a_page_at_a_time(
    client: TestClient, factory: sessionmaker[Session], monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    setup_catalog(factory, warehouses=1)
    monkeypatch.setattr(imports, "ERRORS_PAGE", 2)
    run_id = _run_id(_post(client, b"SKU,Warehouse,Qty\n" + b"NOPE,WH-1,1\n" * 5, kind="stock", dry_run="1"))
    drain(factory)

    first = client.get(f"/imports/runs/{run_id}")
    more = client.get(f"/imports/runs/{run_id}?after=3", headers={**HTMX, "HX-Target": "more-errors"})

    assert first.text.count('class="error"') == 2 and 'id="more-errors"' in first.text
    assert more.text.count('class="error"') == 2 and "<html" not in more.text


def test_a_file_the_viewer_may_not_import_or_none_at_all_is_refused_on_the_page(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    setup_catalog(factory)

    nothing = client.post(
        "/imports", data={"kind": "stock"}, files={"other": ("x", b"", "text/plain")}, headers=HTMX
    )
    bad_zone = _post(client, STOCK_CSV, kind="stock", time_zone="Mars/Base")

    assert "choose a file to import" in nothing.text
    assert "time zone: Mars/Base is not a time zone name" in bad_zone
    # The same refusals in the viewer's language.
    assert client.post("/preferences", data={"locale": "zh_Hans"}).status_code == 204
    nothing_zh = client.post(
        "/imports", data={"kind": "stock"}, files={"other": ("x", b"", "text/plain")}, headers=HTMX
    )
    assert "请选择要导入的文件" in nothing_zh.text
    bad_zone_zh = _post(client, STOCK_CSV, kind="stock", time_zone="Mars/Base")
    assert "时区：Mars/Base 不是有效的时区名称" in bad_zone_zh  # noqa: RUF001
    bad_currency = _post(client, STOCK_CSV, kind="stock", currency="dollars")
    assert "币种：请填写 ISO 4217 代码" in bad_currency  # noqa: RUF001
    assert client.post("/preferences", data={"locale": "en"}).status_code == 204
