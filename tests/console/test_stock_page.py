"""The stock pages: figures per warehouse, the low-stock list, the ledger, and receiving, adjusting and
counting through the form (refusals said on the page; only roles holding stock:write)."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from orderly.auth.domain import Role
from orderly.auth.service import create_token
from orderly.core.db import transaction
from orderly.inventory import service as inventory
from tests.factories import setup_catalog


def _as(factory: sessionmaker[Session], role: Role) -> dict[str, str]:
    """The headers of a token with ``role``."""
    with transaction(factory) as s:
        return {"Authorization": f"Bearer {create_token(s, f'a {role}', role=role).token}"}


def test_the_stock_pages_show_figures_low_stock_and_the_ledger(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    setup_catalog(factory, {"SKU-1": 100, "SKU-2": 3})
    listing = client.get("/stock")
    assert listing.status_code == 200
    low = listing.text.split('class="low-stock"')[1].split("</section>")[0]
    assert 'data-sku="SKU-2"' in low and 'data-sku="SKU-1"' not in low
    assert client.get("/stock", params={"sku": "SKU-1"}).headers["location"] == "/stock/SKU-1"
    page = client.get("/stock/SKU-1")
    assert page.status_code == 200
    assert '<td class="num on-hand">100</td>' in page.text
    assert "opening stock" in page.text and "Received" in page.text
    assert 'hx-post="/stock/SKU-1"' in page.text  # an admin may move it
    chinese = client.get("/stock/SKU-1", headers={"Cookie": "orderly_locale=zh_Hans"})
    assert "最近的库存变动" in chinese.text
    assert client.get("/stock/NOPE").status_code == 404


def test_receive_and_adjust_change_stock_and_write_the_ledger(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    setup_catalog(factory, {"SKU-1": 10})
    received = client.post(
        "/stock/SKU-1", data={"kind": "receive", "warehouse": "WH-1", "quantity": "5", "reason": "PO 77"}
    )
    assert received.status_code == 200 and "Recorded." in received.text
    adjusted = client.post(
        "/stock/SKU-1",
        data={"kind": "adjust", "warehouse": "WH-1", "quantity": "-2", "reason": "broken in the aisle"},
        headers={"HX-Request": "true"},
    )
    assert adjusted.status_code == 200 and '<td class="num on-hand">13</td>' in adjusted.text
    assert "broken in the aisle" in adjusted.text and "PO 77" in adjusted.text
    with transaction(factory) as s:
        assert inventory.stock_of(s, "SKU-1")[0].on_hand == 13
        reasons = [entry.reason for _, entry in inventory.latest_movements(s, "SKU-1", limit=5)]
    assert reasons[:2] == ["broken in the aisle", "PO 77"]


def test_a_refused_movement_is_said_with_its_reason(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    setup_catalog(factory, {"SKU-1": 2})
    too_many = client.post("/stock/SKU-1", data={"kind": "adjust", "warehouse": "WH-1", "quantity": "-5"})
    assert too_many.status_code in {409, 422}
    assert "Not recorded" in too_many.text and "on hand" in too_many.text
    nothing = client.post(
        "/stock/SKU-1",
        data={"kind": "receive", "warehouse": "WH-1", "quantity": "0"},
        headers={"HX-Request": "true"},
    )
    assert nothing.status_code == 200 and "Not recorded" in nothing.text and "quantity" in nothing.text
    nowhere = client.post("/stock/SKU-1", data={"kind": "count", "warehouse": "WH-9", "quantity": "1"})
    assert nowhere.status_code == 404 and "unknown warehouse" in nowhere.text
    with transaction(factory) as s:
        assert inventory.stock_of(s, "SKU-1")[0].on_hand == 2


def test_a_role_without_stock_write_sees_but_cannot_move(
    anonymous: TestClient, factory: sessionmaker[Session]
) -> None:
    setup_catalog(factory, {"SKU-1": 2})
    finance = _as(factory, Role.FINANCE)
    page = anonymous.get("/stock/SKU-1", headers=finance)
    assert page.status_code == 200 and 'hx-post="/stock/SKU-1"' not in page.text
    move = {"kind": "receive", "warehouse": "WH-1", "quantity": "1"}
    assert anonymous.post("/stock/SKU-1", data=move, headers=finance).status_code == 403
    warehouse = _as(factory, Role.WAREHOUSE)
    assert 'href="/stock"' in anonymous.get("/orders", headers=warehouse).text
    counted = {"kind": "count", "warehouse": "WH-1", "quantity": "7"}
    assert anonymous.post("/stock/SKU-1", data=counted, headers=warehouse).status_code == 200
    with transaction(factory) as s:
        assert inventory.stock_of(s, "SKU-1")[0].on_hand == 7
