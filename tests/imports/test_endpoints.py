"""Imports over HTTP: a file uploaded is run by the jobs; its run, preview and errors (paged and as CSV)
are kept; profiles are saved and deleted; importing a kind needs the right to change it."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from orderly.auth.domain import Role
from orderly.core.db import transaction
from orderly.inventory import service as inventory
from orderly.jobs.worker import Worker
from tests.api.conftest import anonymous, app, client, token
from tests.auth.conftest import make_user, token_of
from tests.factories import setup_catalog

__all__ = ["anonymous", "app", "client", "make_user", "token", "token_of"]

STOCK_CSV = "SKU,仓库,数量\nSKU-1,WH-1,7\nNOPE,WH-1,3\nSKU-2,WH-1,x\nSKU-3,WH-1,4\n"


def drain(factory: sessionmaker[Session]) -> None:
    worker = Worker(factory, name="test", idle_sleep=0)
    for _ in range(20):
        if not worker.run_once():
            return
    raise AssertionError("jobs kept coming")


def upload(client: TestClient, text: str, **form: str) -> dict[str, object]:
    response = client.post(
        "/api/v1/imports", files={"file": ("counts.csv", text.encode(), "text/csv")}, data=form
    )
    assert response.status_code == 202, response.text
    return response.json()  # type: ignore[no-any-return]


def on_hand(factory: sessionmaker[Session], sku: str) -> dict[str, int]:
    with transaction(factory) as s:
        return {row.warehouse: row.on_hand for row in inventory.stock_of(s, sku)}


def test_a_stock_file_is_checked_then_imported_and_its_report_kept(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    setup_catalog(factory, {"SKU-1": 10})

    queued = upload(client, STOCK_CSV, kind="stock", mode="count", dry_run="true")
    assert (queued["status"], queued["dry_run"], queued["kind"]) == ("queued", True, "stock")
    drain(factory)
    checked = client.get(f"/api/v1/imports/runs/{queued['id']}").json()
    assert on_hand(factory, "SKU-1") == {"WH-1": 10}  # a dry run keeps nothing

    done = upload(client, STOCK_CSV, kind="stock", mode="count")
    drain(factory)
    run = client.get(f"/api/v1/imports/runs/{done['id']}").json()
    errors = client.get(f"/api/v1/imports/runs/{done['id']}/errors").json()

    for report in (checked, run):
        assert (report["status"], report["layout"], report["rows_read"]) == ("done", "generic", 4)
        assert (report["imported"], report["failed"]) == (2, 2)
        assert report["preview"][0] == {
            "row": 2,
            "values": {"sku": "SKU-1", "warehouse": "WH-1", "quantity": "7"},
        }
    assert errors == {
        "items": [
            {"row": 3, "column": "SKU", "value": "NOPE", "reason": "unknown SKU 'NOPE'"},
            {"row": 4, "column": "数量", "value": "x", "reason": "'x' is not a whole number of units"},
        ],
        "next_after_row": None,
    }
    assert on_hand(factory, "SKU-1") == {"WH-1": 7}
    assert on_hand(factory, "SKU-3") == {"WH-1": 4}
    listed = client.get("/api/v1/imports/runs", params={"limit": 1}).json()
    assert [r["id"] for r in listed["items"]] == [done["id"]] and listed["next_cursor"]
    older = client.get("/api/v1/imports/runs", params={"cursor": listed["next_cursor"]}).json()
    assert [r["id"] for r in older["items"]] == [queued["id"]]


def test_errors_are_paged_by_whole_rows_and_downloaded_as_csv(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    setup_catalog(factory)
    text = "SKU,Name,Weight (g),Cost\n" + "".join(f"NEW-{n},,heavy,1.234\n" for n in range(3))
    run = upload(client, text, kind="catalog", currency="USD")
    drain(factory)

    first = client.get(f"/api/v1/imports/runs/{run['id']}/errors", params={"limit": 3}).json()
    second = client.get(
        f"/api/v1/imports/runs/{run['id']}/errors", params={"limit": 3, "after_row": first["next_after_row"]}
    ).json()
    third = client.get(
        f"/api/v1/imports/runs/{run['id']}/errors", params={"limit": 3, "after_row": second["next_after_row"]}
    ).json()
    download = client.get(f"/api/v1/imports/runs/{run['id']}/errors.csv")

    assert [e["row"] for e in first["items"]] == [2, 2] and first["next_after_row"] == 2
    assert [e["row"] for e in second["items"]] == [3, 3] and second["next_after_row"] == 3
    assert [e["row"] for e in third["items"]] == [4, 4] and third["next_after_row"] is None
    assert download.headers["content-type"].startswith("text/csv")
    assert download.headers["content-disposition"] == f'attachment; filename="import-{run["id"]}-errors.csv"'
    lines = download.text.splitlines()
    assert lines[0] == "row,column,value,reason" and len(lines) == 7
    assert lines[1] == "2,Weight (g),heavy,'heavy' is not a whole number of units"


def test_a_cell_that_looks_like_a_formula_is_downloaded_as_text(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    setup_catalog(factory)
    run = upload(client, "SKU,Warehouse,Qty\n=HYPERLINK(1),WH-1,1\n", kind="stock")
    drain(factory)

    rows = client.get(f"/api/v1/imports/runs/{run['id']}/errors.csv").text.splitlines()

    assert rows[1].startswith("2,SKU,'=HYPERLINK(1),")


def test_profiles_are_saved_checked_listed_and_deleted(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    setup_catalog(factory, warehouses=2)
    saved = client.put(
        "/api/v1/imports/profiles/erp counts",
        json={
            "kind": "stock",
            "columns": {"sku": "Item", "quantity": "Counted"},
            "fixed": {"warehouse": "WH-2"},
        },
    )
    odd = client.put("/api/v1/imports/profiles/bad", json={"kind": "stock", "columns": {"colour": "C"}})
    run = upload(client, "Item,Counted\nSKU-1,5\n", kind="stock", profile="erp counts", mode="opening")
    drain(factory)

    assert saved.status_code == 200 and saved.json()["fixed"] == {"warehouse": "WH-2"}
    assert odd.status_code == 400 and "colour" in odd.json()["error"]["message"]
    assert [p["name"] for p in client.get("/api/v1/imports/profiles", params={"kind": "stock"}).json()] == [
        "erp counts"
    ]
    assert client.get(f"/api/v1/imports/runs/{run['id']}").json()["layout"] == "erp counts"
    assert on_hand(factory, "SKU-1") == {"WH-2": 5}
    assert client.delete("/api/v1/imports/profiles/erp counts").status_code == 204
    assert client.delete("/api/v1/imports/profiles/erp counts").status_code == 404


def test_the_kinds_list_their_fields_and_known_headers(client: TestClient) -> None:
    kinds = {k["kind"]: k for k in client.get("/api/v1/imports/kinds").json()}

    assert set(kinds) == {"orders", "stock", "catalog"}
    stock = {f["name"]: f for f in kinds["stock"]["fields"]}
    assert stock["sku"]["required"] and not stock["warehouse"]["required"]
    assert "仓库" in stock["warehouse"]["headers"]


@pytest.mark.parametrize(("role", "kind", "allowed"), [
    (Role.WAREHOUSE, "stock", True),
    (Role.WAREHOUSE, "orders", False),
    (Role.WAREHOUSE, "catalog", False),
    (Role.OPERATIONS, "orders", True),
    (Role.OPERATIONS, "stock", False),
    (Role.FINANCE, "stock", False),
])  # fmt: skip
def test_importing_a_kind_needs_the_right_to_change_it(
    anonymous: TestClient,
    token_of: Callable[[Role], dict[str, str]],
    factory: sessionmaker[Session],
    role: Role,
    kind: str,
    allowed: bool,
) -> None:
    setup_catalog(factory)
    response = anonymous.post(
        "/api/v1/imports",
        files={"file": ("f.csv", b"SKU,Qty\nSKU-1,1\n", "text/csv")},
        data={"kind": kind},
        headers=token_of(role),
    )

    assert response.status_code == (202 if allowed else 403), response.text


def test_a_wrong_option_or_run_is_refused_naming_it(client: TestClient) -> None:
    zone = client.post(
        "/api/v1/imports",
        files={"file": ("f.csv", b"SKU\n", "text/csv")},
        data={"kind": "stock", "time_zone": "Mars/Base"},
    )
    mode = client.post(
        "/api/v1/imports",
        files={"file": ("f.csv", b"SKU\n", "text/csv")},
        data={"kind": "stock", "mode": "guess"},
    )
    absent = client.get("/api/v1/imports/runs/999")

    assert (zone.status_code, zone.json()["error"]["field"]) == (400, "time_zone")
    assert mode.status_code == 422 and mode.json()["error"]["field"] == "mode"
    assert (absent.status_code, absent.json()["error"]["field"]) == (404, "id")
