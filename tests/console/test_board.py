"""The board's columns, bulk actions on the order list, and the order and stock lists as files."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime
from urllib.parse import parse_qsl, urlsplit

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from orderly.auth.domain import Role
from orderly.auth.service import create_token
from orderly.console.i18n import told
from orderly.core.db import transaction
from orderly.core.errors import InvalidTransition
from orderly.fulfilment import service as fulfilment
from orderly.fulfilment.domain import TrackingEvent, TrackingKind
from orderly.fulfilment.models import TrackingWriteback
from orderly.orders.domain import OrderStatus, check_transition
from orderly.orders.models import Order
from tests.factories import order


def _columns(html: str) -> dict[str, int]:
    found = re.findall(r'data-column="([a-z_]+)".*?<span class="count">(\d+)</span>', html, re.S)
    return {key: int(count) for key, count in found}


def _cards(html: str, column: str) -> list[str]:
    section = re.search(rf'data-column="{column}"(.*?)</section>', html, re.S)
    assert section is not None
    return re.findall(r'class="card" data-order="([^"]+)"', section.group(1))


def _headers(factory: sessionmaker[Session], role: Role) -> dict[str, str]:
    with transaction(factory) as s:
        return {"Authorization": f"Bearer {create_token(s, role.value, role=role).token}"}


def _parcel(client: TestClient, order_id: int, number: str, **more: object) -> int:
    made = client.post(
        f"/api/v1/orders/{order_id}/shipments", json={"carrier": "DHL", "tracking_number": number, **more}
    )
    assert made.status_code == 201, made.text
    return int(made.json()["id"])


def _set_status(factory: sessionmaker[Session], order_id: int, status: str) -> None:
    # No use case leaves an order pending review or approved without stock on this catalogue (ingest
    # reviews and reserves at once): such orders are made by hand, for the board to count them.
    with transaction(factory) as s:
        row = s.get(Order, order_id)
        assert row is not None
        row.status = status


def test_each_column_counts_what_it_says(
    client: TestClient, orders: dict[str, int], factory: sessionmaker[Session]
) -> None:
    packed = _parcel(client, orders["#1001"], "PACK1")  # label printed, then packed
    for code in (f"SHP-{packed}", "SKU-1"):
        scan = client.post("/api/v1/pack/scans", json={"code": code, "packer": "li"})
        assert scan.status_code == 200, scan.text
    gone = _parcel(client, orders["1002"], "GONE1", ship=True)  # shipped; then a carrier exception
    with transaction(factory) as s:
        at = datetime(2026, 11, 12, 9, 30, tzinfo=UTC)
        event = TrackingEvent(TrackingKind.EXCEPTION, at, "EX", "Address not found")
        fulfilment.record_tracking(s, gone, [event], source="carrier", actor="carrier")
        shop_id = s.scalar(select(Order.shop_id).where(Order.id == orders["1002"]))
        s.add(TrackingWriteback(shipment_id=gone, shop_id=shop_id, status="refused", error="order closed"))
    more = [order(("SKU-1", 1), external_id=f"20{n}") for n in range(3)]
    assert client.post("/api/v1/orders/ingest", json={"orders": more}).status_code == 200
    ids = {o["external_id"]: o["id"] for o in client.get("/api/v1/orders").json()["items"]}
    _set_status(factory, ids["200"], "pending_review")
    _set_status(factory, ids["201"], "approved")

    page = client.get("/board")
    assert page.status_code == 200
    assert _columns(page.text) == {
        "pending_review": 1,
        "on_hold": 1,  # 1003, short of SKU-3
        "approved": 1,
        "to_pick": 2,  # 114-0001 and 202, allocated
        "packed": 1,  # #1001
        "shipped": 1,  # 1002
        "exceptions": 2,  # 1002's parcel: the carrier's exception, and the shop's refusal
    }
    assert _cards(page.text, "packed") == ["#1001"]
    assert _cards(page.text, "to_pick") == ["202", "114-0001"]  # newest first
    assert _cards(page.text, "exceptions") == ["1002", "1002"]
    assert "Address not found" not in page.text and "order closed" in page.text
    assert "The carrier reported a problem" in page.text
    assert 'href="/orders?status=on_hold"' in page.text

    # htmx polls the columns alone, and a new order shows at its next poll
    assert client.post("/api/v1/orders/ingest", json={"orders": [order(("SKU-1", 1), external_id="203")]})
    polled = client.get("/board", headers={"HX-Request": "true"})
    assert "<html" not in polled.text and 'hx-trigger="every 5s' in polled.text
    assert _columns(polled.text)["to_pick"] == 3 and _cards(polled.text, "to_pick")[0] == "203"


def test_the_board_is_in_the_navigation_and_in_chinese(client: TestClient, orders: dict[str, int]) -> None:
    assert 'href="/board"' in client.get("/orders").text
    client.post("/preferences", data={"locale": "zh_Hans"})
    page = client.get("/board").text
    assert "看板" in page and "待拣货" in page


def _bulk(client: TestClient, action: str, ids: list[int], note: str = "", **headers: str) -> tuple[int, str]:
    form = {"action": action, "note": note, "order": [str(i) for i in ids]}
    answer = client.post("/orders/bulk", data=form, headers=headers)
    return answer.status_code, answer.text


def _refused(html: str) -> list[str]:
    return re.findall(r'<li class="refused" data-order="([^"]+)"', html)


def _done(html: str) -> list[str]:
    done = re.search(r'<p class="done" role="status">(.*?)</p>', html, re.S)
    return re.findall(r">([^<]+)</a>", done.group(1)) if done else []


def _statuses(client: TestClient) -> dict[str, str]:
    return {o["external_id"]: o["status"] for o in client.get("/api/v1/orders").json()["items"]}


def test_bulk_actions_go_on_past_a_refused_order(client: TestClient, orders: dict[str, int]) -> None:
    code, page = _bulk(client, "hold", [orders["#1001"], orders["114-0001"]], "check the address")
    assert code == 200 and _done(page) == ["#1001", "114-0001"] and _refused(page) == []
    assert 'data-order="#1001"' in page and "<html" in page  # the list again, for the filters in force

    code, page = _bulk(client, "release", [orders["#1001"], orders["1002"]], "address fine")
    assert code == 200 and _done(page) == ["#1001"] and _refused(page) == ["1002"]
    assert f"order {orders['1002']} is allocated, not on hold: nothing to release" in page

    # through htmx: the outcome, and the rows read again beside it
    code, page = _bulk(
        client, "approve", [orders["114-0001"], orders["1002"]], "ok", **{"HX-Request": "true"}
    )
    assert code == 200 and _done(page) == ["114-0001"] and _refused(page) == ["1002"]
    assert '<template><tbody id="rows" hx-swap-oob="true">' in page and "<html" not in page
    assert _statuses(client) == {
        "#1001": "allocated",
        "1002": "allocated",
        "1003": "on_hold",
        "114-0001": "allocated",
    }

    code, page = _bulk(client, "cancel", [orders["1003"]])  # the API's body needs a reason
    assert code == 422 and "note:" in page and _statuses(client)["1003"] == "on_hold"
    code, page = _bulk(
        client, "cancel", [orders["1003"], orders["1002"]], "buyer asked", **{"HX-Request": "true"}
    )
    assert code == 200 and _done(page) == ["1003", "1002"]  # in id order
    code, page = _bulk(client, "cancel", [orders["1003"]], "again")  # every order refused
    assert code == 409 and _refused(page) == ["1003"]
    assert code == 409 and _statuses(client)["1003"] == "cancelled"


def test_a_chinese_viewer_reads_why_each_order_was_refused_in_chinese(
    client: TestClient, orders: dict[str, int]
) -> None:
    chinese = {"Accept-Language": "zh-CN"}
    allocated, held = orders["1002"], orders["1003"]
    code, page = _bulk(client, "release", [allocated], "ok", **chinese)
    assert code == 409 and _refused(page) == ["1002"]
    assert f"订单 {allocated} 的状态为“已分配库存”，并未暂停：无需放行" in page  # noqa: RUF001
    code, page = _bulk(client, "approve", [allocated], "ok", **chinese)
    assert f"订单 {allocated} 的状态为“已分配库存”：只有待审核或已暂停的订单才能批准" in page  # noqa: RUF001
    code, page = _bulk(client, "cancel", [held], **chinese)  # no reason typed
    assert code == 422 and "备注：请填写原因" in page  # noqa: RUF001
    assert _bulk(client, "hold", [], "x", **chinese)[1].count("请至少选择一个订单") == 1
    assert _bulk(client, "cancel", [held], "buyer asked", **chinese)[0] == 200
    code, page = _bulk(client, "hold", [held], "look again", **chinese)
    assert code == 409 and "订单不能从“已取消”变为“已暂停”；“已取消”之后只能变为：无（已是最终状态）" in page  # noqa: RUF001
    # From the order's page (htmx): the same refusal, in Chinese.
    form = {"action": "release", "note": "ok", "order": str(allocated), "from": "order"}
    alone = client.post("/orders/bulk", data=form, headers={**chinese, "HX-Request": "true"}).text
    assert "并未暂停：无需放行" in alone and "<html" not in alone  # noqa: RUF001
    # The API and an English viewer say the English as before.
    answer = client.post(f"/api/v1/orders/{allocated}/release", json={"note": "ok"}, headers=chinese)
    english = f"order {allocated} is allocated, not on hold: nothing to release"
    assert answer.json()["error"]["message"] == english
    code, page = _bulk(client, "hold", [held], "look again")
    assert "an order cannot go from cancelled to on_hold; allowed from cancelled: none (final)" in page


def test_a_refused_move_names_each_status_in_the_viewers_language() -> None:
    with pytest.raises(InvalidTransition) as refused:
        check_transition(OrderStatus.SHIPPED, OrderStatus.CANCELLED)
    english = "an order cannot go from shipped to cancelled; allowed from shipped: delivered, returned"
    assert refused.value.message == english
    assert told(refused.value.message, refused.value.phrase, "en") == english
    said = told(refused.value.message, refused.value.phrase, "zh_Hans")
    assert said == "订单不能从“已发货”变为“已取消”；“已发货”之后只能变为：已签收、已退货"  # noqa: RUF001


def test_each_bulk_action_needs_the_apis_permission(
    client: TestClient, orders: dict[str, int], factory: sessionmaker[Session]
) -> None:
    warehouse = _headers(factory, Role.WAREHOUSE)
    service = _headers(factory, Role.CUSTOMER_SERVICE)
    page = client.get("/orders", headers=warehouse).text
    assert 'value="labels"' in page and 'value="hold"' not in page
    for action in ("approve", "hold", "release", "cancel"):
        assert _bulk(client, action, [orders["1003"]], "x", **warehouse)[0] == 403
    assert _bulk(client, "labels", [orders["1003"]], **service)[0] == 403
    assert _bulk(client, "hold", [orders["1003"]], "x", **service)[0] == 200
    assert _bulk(client, "shred", [orders["1003"]])[0] == 422
    assert _bulk(client, "hold", [], "x")[0] == 422


def test_labels_of_a_selection_as_one_pdf(client: TestClient, orders: dict[str, int]) -> None:
    _parcel(client, orders["#1001"], "LBL1")
    _parcel(client, orders["114-0001"], "LBL2")
    code, page = _bulk(client, "labels", [orders["#1001"], orders["1002"], orders["114-0001"]])
    assert code == 200 and _refused(page) == ["1002"] and "no labelled parcel waits to be printed" in page
    link = re.search(r'<a class="labels" href="([^"]+)"', page)
    assert link is not None
    asked = sorted(int(v) for _, v in parse_qsl(urlsplit(link.group(1).replace("&amp;", "&")).query))
    assert asked == sorted([orders["#1001"], orders["114-0001"]])
    pdf = client.get(link.group(1).replace("&amp;", "&"))
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert (
        pdf.content.startswith(b"%PDF")
        and pdf.content.count(b"/Type /Page\n")
        + pdf.content.count(b"/Type /Page/")
        + pdf.content.count(b"/Type /Page ")
        >= 2
    )
    none = client.get("/orders/labels", params={"order": orders["1002"]})
    assert none.status_code == 409 and "none of these orders has a labelled parcel" in none.text


# --- exports -------------------------------------------------------------------------------------


def _csv(body: bytes) -> list[list[str]]:
    assert body.startswith("\ufeff".encode())
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))


def _xlsx(body: bytes) -> list[list[str]]:
    """The sheet's cells as text, read back by openpyxl as a spreadsheet would."""
    book = load_workbook(io.BytesIO(body), read_only=True)
    rows = [["" if value is None else str(value) for value in row] for row in book.worksheets[0].values]
    return [row[: max((i + 1 for i, v in enumerate(row) if v), default=0)] for row in rows]


def _pad(rows: list[list[str]]) -> list[list[str]]:
    width = max(len(row) for row in rows)
    return [row + [""] * (width - len(row)) for row in rows]


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_the_order_list_as_a_file(client: TestClient, orders: dict[str, int], kind: str) -> None:
    read = _csv if kind == "csv" else _xlsx
    everything = client.get(f"/orders/export.{kind}")
    assert everything.status_code == 200 and "attachment" in everything.headers["content-disposition"]
    rows = read(everything.content)
    header, body = rows[0], rows[1:]
    assert header[:5] == ["Order", "Shop", "Status", "Hold reasons", "Placed (UTC)"]
    assert header[-6:] == ["Currency", "Subtotal", "Shipping", "Discount", "Tax", "Total"]
    assert [row[0] for row in body] == ["114-0001", "1002", "1003", "#1001"]  # newest first, every one
    first = dict(zip(header, body[-1], strict=False))
    assert first["Placed (UTC)"] == "2026-11-11 00:00:00" and first["Currency"] == "EUR"
    assert first["Total"] == "24.98" and first["Status"] == "Allocated" and first["Lines"] == "SKU-1 x 1"
    assert first["Phone"] == ("'+49 30 1234567" if kind == "csv" else "+49 30 1234567")  # no formula in CSV
    held = read(client.get(f"/orders/export.{kind}", params={"hold_reason": "out_of_stock"}).content)
    assert [row[0] for row in held[1:]] == ["1003"] and "Out of stock" in held[1]
    # in the viewer's language and zone
    client.post("/preferences", data={"locale": "zh_Hans", "timezone": "Asia/Shanghai"})
    chinese = read(client.get(f"/orders/export.{kind}", params={"shop": "shop-a", "q": "müller"}).content)
    assert chinese[0][0] == "订单" and "下单时间 (Asia/Shanghai)" in chinese[0]
    assert len(chinese) == 2 and "2026-11-11 08:00:00" in chinese[1] and "已分配库存" in chinese[1]


def test_a_file_of_every_order_pages_through_them(
    client: TestClient, orders: dict[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("orderly.console.pages.exports.BATCH", 3)  # several batches, none repeated
    csv_rows = _csv(client.get("/orders/export.csv").content)
    xlsx_rows = _xlsx(client.get("/orders/export.xlsx").content)
    assert [r[0] for r in csv_rows[1:]] == ["114-0001", "1002", "1003", "#1001"]
    assert _pad(xlsx_rows)[0] == _pad(csv_rows)[0] and [r[0] for r in xlsx_rows[1:]] == [
        r[0] for r in csv_rows[1:]
    ]


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_the_stock_list_as_a_file(client: TestClient, orders: dict[str, int], kind: str) -> None:
    rows = (_csv if kind == "csv" else _xlsx)(client.get(f"/stock/export.{kind}").content)
    header = rows[0]
    assert header == [
        "SKU",
        "Name",
        "Bundle",
        "On hand",
        "Reserved",
        "Safety",
        "Available to sell",
        "In transit",
    ]
    by_sku = {row[0]: dict(zip(header, row, strict=False)) for row in rows[1:]}
    assert by_sku["SKU-1"]["On hand"] == "100" and by_sku["SKU-1"]["Reserved"] == "4"
    assert by_sku["KIT-1"]["Bundle"] == "yes"
    assert f'href="/stock/export.{kind}"' in client.get("/stock").text


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_a_searched_stock_list_exports_what_it_found(
    client: TestClient, orders: dict[str, int], kind: str
) -> None:
    searched = client.get("/stock", params={"q": "kit"}).text
    link = re.search(rf'href="(/stock/export\.{kind}[^"]*)"', searched)
    assert link is not None and link.group(1) == f"/stock/export.{kind}?q=kit"
    rows = (_csv if kind == "csv" else _xlsx)(client.get(link.group(1)).content)
    assert [row[0] for row in rows[1:]] == ["KIT-1"]


def test_a_file_needs_its_lists_read_and_the_export_permission(
    client: TestClient, orders: dict[str, int], factory: sessionmaker[Session]
) -> None:
    warehouse = _headers(factory, Role.WAREHOUSE)
    finance = _headers(factory, Role.FINANCE)
    for path in ("/orders/export.csv", "/orders/export.xlsx", "/stock/export.csv", "/stock/export.xlsx"):
        assert client.get(path, headers=warehouse).status_code == 403, path
        assert client.get(path, headers=finance).status_code == 200, path
    assert "/orders/export.csv" not in client.get("/orders", headers=warehouse).text
    bad = client.get("/orders/export.csv", params={"status": "lost"})
    assert bad.status_code == 422 and "lost" in bad.text
    assert client.get("/orders/export.pdf").status_code in (404, 422)


def test_the_order_page_acts_on_its_order_with_a_note(
    client: TestClient, orders: dict[str, int], factory: sessionmaker[Session]
) -> None:
    page = client.get(f"/orders/{orders['#1001']}").text
    assert "Act on this order" in page and 'value="hold"' in page and 'value="labels"' not in page
    assert "Subtotal" in page and "chosen by the warehouses" in page and "WH-1" in page
    form = {"order": str(orders["#1001"]), "from": "order", "action": "hold", "note": "buyer phoned"}
    held = client.post("/orders/bulk", data=form, headers={"HX-Request": "true"})
    assert held.status_code == 200 and held.headers["HX-Refresh"] == "true" and "<tbody" not in held.text
    story = client.get(f"/orders/{orders['#1001']}").text
    assert "buyer phoned" in story and "→ On hold" in story
    refused = client.post(
        "/orders/bulk", data={**form, "action": "approve", "note": ""}, headers={"HX-Request": "true"}
    )
    assert "HX-Refresh" not in refused.headers and "note:" in refused.text
    # a role that may only read sees the story, not the form
    assert (
        "Act on this order"
        not in client.get(f"/orders/{orders['#1001']}", headers=_headers(factory, Role.FINANCE)).text
    )


def test_the_shipped_column_counts_only_so_far(
    client: TestClient, orders: dict[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    for number in ("#1001", "1002"):
        _parcel(client, orders[number], f"S{number[-4:]}", ship=True)
    assert _columns(client.get("/board").text)["shipped"] == 2
    monkeypatch.setattr("orderly.console.pages.board.SHIPPED_CAP", 2)
    page = client.get("/board").text
    assert re.search(r'data-column="shipped".*?<span class="count">2\+</span>', page, re.S)
