"""The stock pages: figures per warehouse, the low-stock list, the ledger, and receiving, adjusting and
counting through the form (refusals said on the page; only roles holding stock:write)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from orderly.auth.domain import Role
from orderly.auth.service import create_token
from orderly.catalog import service as catalog
from orderly.catalog.schemas import MappingIn
from orderly.channels.models import ListingBinding, Shop
from orderly.console.pages import stock
from orderly.core.db import transaction
from orderly.inventory import service as inventory
from orderly.jobs.service import NewJob, enqueue
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
    assert "库存流水" in chinese.text
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


def _transfer(client: TestClient, **form: str) -> Response:
    return client.post("/stock/SKU-1", data={"kind": "transfer", **form}, headers={"HX-Request": "true"})


def _cell(page: str, warehouse: str, name: str) -> str:
    row = page.split(f'data-warehouse="{warehouse}"')[1].split("</tr>", maxsplit=1)[0]
    return row.split(f'class="num {name}">')[1].split("<")[0]


def test_a_transfer_moves_stock_through_transit_to_the_other_warehouse(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    setup_catalog(factory, {"SKU-1": 10}, warehouses=2)
    shipped = _transfer(
        client, from_warehouse="WH-1", to_warehouse="WH-2", quantity="4", reason="for the sale", ship="1"
    )
    assert shipped.status_code == 200 and "Recorded." in shipped.text
    assert _cell(shipped.text, "WH-1", "on-hand") == "6" and _cell(shipped.text, "WH-2", "in-transit") == "4"
    assert "for the sale" in shipped.text and "Sent on a transfer" in shipped.text
    with transaction(factory) as s:
        (transfer,) = inventory.list_transfers(s, sku="SKU-1")
    row = shipped.text.split(f'data-transfer="{transfer.id}"')[1].split("</tr>")[0]
    assert "In transit" in row and 'value="arrived"' in row
    arrived = client.post(
        "/stock/SKU-1", data={"kind": "arrived", "transfer": str(transfer.id), "quantity": "4"}
    )
    assert arrived.status_code == 200
    assert _cell(arrived.text, "WH-2", "on-hand") == "4" and _cell(arrived.text, "WH-2", "in-transit") == "0"
    with transaction(factory) as s:
        levels = {f.warehouse: (f.on_hand, f.in_transit) for f in inventory.stock_of(s, "SKU-1")}
    assert levels == {"WH-1": (6, 0), "WH-2": (4, 0)}

    held = _transfer(client, from_warehouse="WH-1", to_warehouse="WH-2", quantity="5")  # not shipped
    assert _cell(held.text, "WH-1", "reserved") == "5" and _cell(held.text, "WH-2", "in-transit") == "0"
    with transaction(factory) as s:
        newest = inventory.list_transfers(s, sku="SKU-1")[0].id
    no_reason = client.post("/stock/SKU-1", data={"kind": "cancel", "transfer": str(newest), "reason": ""})
    assert no_reason.status_code == 422 and "reason" in no_reason.text
    cancelled = client.post(
        "/stock/SKU-1", data={"kind": "cancel", "transfer": str(newest), "reason": "no van"}
    )
    assert cancelled.status_code == 200 and _cell(cancelled.text, "WH-1", "reserved") == "0"


def test_a_transfer_refused_is_said_and_moves_nothing(
    client: TestClient, anonymous: TestClient, factory: sessionmaker[Session]
) -> None:
    setup_catalog(factory, {"SKU-1": 3}, warehouses=2)
    same = _transfer(client, from_warehouse="WH-1", to_warehouse="WH-1", quantity="1")
    assert "Not recorded" in same.text and "to_warehouse" in same.text
    too_many = client.post(
        "/stock/SKU-1",
        data={"kind": "transfer", "from_warehouse": "WH-1", "to_warehouse": "WH-2", "quantity": "9"},
    )
    assert too_many.status_code == 409 and "not enough stock at the source" in too_many.text
    none = _transfer(client, from_warehouse="WH-1", to_warehouse="WH-2", quantity="0")
    assert "quantity:" in none.text
    finance = _as(factory, Role.FINANCE)
    move = {"kind": "transfer", "from_warehouse": "WH-1", "to_warehouse": "WH-2", "quantity": "1"}
    assert anonymous.post("/stock/SKU-1", data=move, headers=finance).status_code == 403
    page = anonymous.get("/stock/SKU-1", headers=finance)
    assert 'value="transfer"' not in page.text
    with transaction(factory) as s:
        assert inventory.list_transfers(s, sku="SKU-1") == []
        assert [(f.on_hand, f.reserved) for f in inventory.stock_of(s, "SKU-1")] == [(3, 0)]


def test_a_chinese_viewer_reads_why_stock_was_not_moved_in_chinese(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    setup_catalog(factory, {"SKU-1": 10}, warehouses=2)
    chinese = {"Accept-Language": "zh-CN"}

    def move(**form: str) -> Response:
        return client.post("/stock/SKU-1", data=form, headers=chinese)

    held = move(kind="transfer", from_warehouse="WH-1", to_warehouse="WH-2", quantity="5")
    assert held.status_code == 200  # 5 of the 10 held at the source
    short = move(kind="transfer", from_warehouse="WH-1", to_warehouse="WH-2", quantity="9")
    assert short.status_code == 409
    assert "调出仓库库存不足，无法调拨：SKU-1：需调拨 9，可用 5" in short.text  # noqa: RUF001
    adjusted = move(kind="adjust", warehouse="WH-1", quantity="-8")
    assert adjusted.status_code == 409
    said = "调整 -8 后在库仅剩 2，但未完成订单已预留 5；请先释放或取消这些订单"  # noqa: RUF001
    assert said in adjusted.text
    assert "调整 0 不会改变任何库存" in move(kind="adjust", warehouse="WH-1", quantity="0").text
    counted = move(kind="count", warehouse="WH-1", quantity="3")
    assert counted.status_code == 409
    assert "盘点数 3 低于未完成订单已预留的 5；请先释放或取消这些订单" in counted.text  # noqa: RUF001
    with transaction(factory) as s:
        (transfer,) = inventory.list_transfers(s, sku="SKU-1")
    assert move(kind="ship", transfer=str(transfer.id)).status_code == 200
    again = move(kind="ship", transfer=str(transfer.id))
    assert again.status_code == 409
    said = "调拨单不能从“已发货”变为“已发货”；“已发货”之后只能变为：部分收货、已入库"  # noqa: RUF001
    assert said in again.text
    assert f"没有调拨单 {transfer.id + 1}" in move(kind="ship", transfer=str(transfer.id + 1)).text
    assert "数量：请填写整数" in move(kind="receive", warehouse="WH-1", quantity="").text  # noqa: RUF001
    assert "数量：须大于 0" in move(kind="receive", warehouse="WH-1", quantity="0").text  # noqa: RUF001
    assert "原因：请填写" in move(kind="cancel", transfer=str(transfer.id), reason="").text  # noqa: RUF001
    # An English viewer and the API say the English as before.
    unread = client.post("/stock/SKU-1", data={"kind": "receive", "warehouse": "WH-1", "quantity": "x"})
    assert "quantity: Input should be a valid integer, unable to parse string as an integer" in unread.text
    english = client.post("/stock/SKU-1", data={"kind": "adjust", "warehouse": "WH-1", "quantity": "0"})
    assert english.status_code == 400 and "adjustment of 0 changes nothing" in english.text
    answer = client.post(
        "/api/v1/stock/adjust",
        json={"sku": "SKU-1", "warehouse": "WH-1", "delta": -99, "reason": "x"},
        headers=chinese,
    )
    assert answer.json()["error"]["message"].startswith("adjustment of -99 would leave -94 on hand but 0 is")


def test_the_safety_stock_form_sets_it(client: TestClient, factory: sessionmaker[Session]) -> None:
    setup_catalog(factory, {"SKU-1": 10})
    page = client.post("/stock/SKU-1", data={"kind": "safety", "warehouse": "WH-1", "quantity": "3"})
    assert page.status_code == 200 and _cell(page.text, "WH-1", "safety") == "3"
    assert _cell(page.text, "WH-1", "available") == "7" and "Safety stock set" in page.text


def test_each_listing_shows_what_it_was_last_sent_and_its_push(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    setup_catalog(factory, {"SKU-1": 10})
    with transaction(factory) as s:
        catalog.create_mapping(
            s, MappingIn(shop="shop-a", platform_sku="A-KIT", listing_id="K-1", sku="KIT-1")
        )
        shop_b = s.scalars(select(Shop.id).where(Shop.code == "shop-b")).one()
        shop_a = s.scalars(select(Shop.id).where(Shop.code == "shop-a")).one()
        s.add(
            ListingBinding(
                shop_id=shop_b,
                listing_id="L-1",
                data={},
                last_quantity=7,
                last_pushed_at=datetime(2026, 11, 11, tzinfo=UTC),
            )
        )
        s.add(
            ListingBinding(
                shop_id=shop_a,
                listing_id="K-1",
                data={},
                last_quantity=2,
                last_pushed_at=datetime(2026, 11, 12, tzinfo=UTC),
                last_error="HTTP 422: listing archived",
            )
        )
    page = client.get("/stock/SKU-1").text
    direct = page.split('data-listing="shop-b:L-1"')[1].split("</tr>")[0]
    assert '<td class="num last-sent">7</td>' in direct and "Nov 11, 2026" in direct and "Sent" in direct
    kit = page.split('data-listing="shop-a:K-1"')[1].split("</tr>")[0]
    assert "as part of KIT-1" in kit and "Push failed" in kit and "listing archived" in kit
    with transaction(factory) as s:
        enqueue(s, [NewJob("push_stock", {"shop_id": shop_b, "listing_id": "L-1"}, key=f"{shop_b}:L-1")])
    direct = client.get("/stock/SKU-1").text.split('data-listing="shop-b:L-1"')[1].split("</tr>")[0]
    assert "Push pending" in direct and '<td class="num last-sent">7</td>' in direct


def test_the_whole_ledger_pages_back(client: TestClient, factory: sessionmaker[Session]) -> None:
    setup_catalog(factory, {"SKU-1": 1})
    with transaction(factory) as s:
        for n in range(34):
            inventory.adjust(s, "SKU-1", "WH-1", 1, actor="test", reason=f"found {n}")
    page = client.get("/stock/SKU-1").text
    assert page.count('class="movement"') == 30 and "found 33" in page and "found 3<" not in page
    older = page.split('id="ledger-more"')[1].split('hx-get="')[1].split('"')[0].replace("&amp;", "&")
    rest = client.get(older, headers={"HX-Request": "true", "HX-Target": "ledger-more"})
    assert rest.text.count('class="movement"') == 5 and "<html" not in rest.text
    assert "found 3<" in rest.text and "opening stock" in rest.text and 'id="ledger-more"' not in rest.text


def test_the_stock_list_searches_pages_and_finds_every_low_sku(
    client: TestClient, factory: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    setup_catalog(factory, {"SKU-1": 100, "SKU-2": 3, "SKU-3": 50})
    monkeypatch.setattr(stock, "STOCK_PAGE", 2)
    first = client.get("/stock").text
    assert first.count('class="sku"') == 2 and "SKU-3" not in first.split('class="all-skus"')[1]
    low = first.split('class="low-stock"')[1].split("</section>")[0]
    assert 'data-sku="SKU-2"' in low and "KIT-1" not in low  # a bundle is as low as its components
    more = first.split('rel="next"')[0].rsplit('href="', 1)[1].split('"')[0].replace("&amp;", "&")
    second = client.get(more).text.split('class="all-skus"')[1]
    assert 'data-sku="SKU-3"' in second and 'data-sku="KIT-1"' in second
    found = client.get("/stock", params={"q": "product 2"}).text.split('class="all-skus"')[1]
    assert found.count('class="sku"') == 1 and 'data-sku="SKU-2"' in found
    with transaction(factory) as s:  # SKU-3 past the first page, now low too
        inventory.adjust(s, "SKU-3", "WH-1", -48, actor="test", reason=None)
    low = client.get("/stock").text.split('class="low-stock"')[1].split("</section>")[0]
    assert 'data-sku="SKU-3"' in low
    assert "every SKU" in low
