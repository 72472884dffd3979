"""The exceptions queue: held orders grouped by reason with counts, oldest first, and each fix from the
row (release, cancel, address, another warehouse, split) through the API's use cases, refused for a
role without the API's permission."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from orderly.auth.domain import Role
from orderly.auth.service import create_token
from orderly.core.db import transaction
from orderly.inventory import service as inventory
from tests.factories import order, setup_catalog

US = {"name": "Ada Buyer", "line1": "1 Cross St.", "city": "Canton", "region": "MI", "country": "US"}
HTMX = {"HX-Request": "true"}


def _as(factory: sessionmaker[Session], role: Role) -> dict[str, str]:
    with transaction(factory) as s:
        return {"Authorization": f"Bearer {create_token(s, f'a {role}', role=role).token}"}


def _held(client: TestClient, factory: sessionmaker[Session]) -> dict[str, int]:
    """Two orders short of SKU-2 (1 in each warehouse, the review's split switched off), one short of
    SKU-3, two with a wrong postal code, one held by a person: their ids by external id."""
    setup_catalog(factory, {"SKU-1": 20, "SKU-2": 1}, warehouses=2)
    with transaction(factory) as s:
        inventory.receive(s, "SKU-2", "WH-2", 1, actor="test", reason="opening stock")
    assert client.post("/api/v1/review/rules/stock.split/disable").status_code == 200
    bodies = [
        order(("SKU-2", 2), external_id="SHORT-NEW", placed=3600),
        order(("SKU-2", 2), external_id="SHORT-OLD"),
        order(("SKU-3", 1), external_id="NONE-LEFT", placed=60),
        order(("SKU-1", 1), external_id="ADDR-1", shipping_address={**US, "postal_code": "ABCDE"}),
        order(("SKU-1", 1), external_id="ADDR-2", shipping_address={**US, "postal_code": "ABCDE"}),
        order(("SKU-1", 1), external_id="BY-HAND"),
    ]
    response = client.post("/api/v1/orders/ingest", json={"orders": bodies})
    ids = {item["external_id"]: item["order_id"] for item in response.json()["items"]}
    held = client.post(f"/api/v1/orders/{ids['BY-HAND']}/hold", json={"note": "call the buyer"})
    assert held.status_code == 200
    return ids


def _section(page: str, reason: str) -> str:
    return page.split(f'data-reason="{reason}"')[1].split("</section>", maxsplit=1)[0]


def _order(client: TestClient, order_id: int) -> Any:
    return client.get(f"/api/v1/orders/{order_id}").json()


def test_the_queue_groups_held_orders_by_reason_with_counts_oldest_first(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    _held(client, factory)
    page = client.get("/exceptions")
    assert page.status_code == 200
    assert '<span class="count" id="count-total">6</span>' in page.text
    assert '<span class="count" id="count-out_of_stock">3</span>' in page.text
    assert '<span class="count" id="count-address">2</span>' in page.text
    assert '<span class="count" id="count-manual">1</span>' in page.text
    stock = _section(page.text, "out_of_stock")
    assert stock.index("SHORT-OLD") < stock.index("NONE-LEFT") < stock.index("SHORT-NEW")
    assert "receive it, ship from another warehouse, or split it over several" in stock
    assert "ADDR-1" in _section(page.text, "address") and "ADDR-1" not in stock
    assert "call the buyer" in _section(page.text, "manual")
    assert page.text.index('data-reason="out_of_stock"') < page.text.index('data-reason="address"')
    chinese = client.get("/exceptions", headers={"Cookie": "orderly_locale=zh_Hans"})
    assert "异常" in chinese.text and "缺货" in chinese.text


def test_release_with_a_note_takes_the_row_out_and_updates_the_counts(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    ids = _held(client, factory)
    done = client.post(f"/exceptions/{ids['BY-HAND']}/release", data={"note": "buyer answered"}, headers=HTMX)
    assert done.status_code == 200
    assert f'<li class="fixed" id="held-{ids["BY-HAND"]}">' in done.text and "Released" in done.text
    assert 'id="count-manual" hx-swap-oob="true">0<' in done.text
    assert 'id="count-total" hx-swap-oob="true">5<' in done.text
    released = _order(client, ids["BY-HAND"])
    assert released["status"] == "allocated"
    assert released["events"][-1]["message"].startswith("buyer answered (lifted: manual")
    assert "BY-HAND" not in client.get("/exceptions").text

    no_note = client.post(f"/exceptions/{ids['ADDR-1']}/release", data={"note": " "})
    assert no_note.status_code == 422 and "Not done" in no_note.text and "note:" in no_note.text
    assert _order(client, ids["ADDR-1"])["status"] == "on_hold"


def test_an_address_corrected_from_the_queue_is_reviewed_again(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    ids = _held(client, factory)
    form = {**US, "line2": "", "postal_code": "4881", "phone": "", "note": "asked the buyer"}
    still = client.post(f"/exceptions/{ids['ADDR-1']}/address", data=form, headers=HTMX)
    assert still.status_code == 200 and 'class="held"' in still.text
    assert "Address corrected: still on hold" in still.text
    fixed = client.post(
        f"/exceptions/{ids['ADDR-1']}/address", data={**form, "postal_code": "48817"}, headers=HTMX
    )
    assert 'class="fixed"' in fixed.text and "Allocated" in fixed.text
    after = _order(client, ids["ADDR-1"])
    assert after["status"] == "allocated" and after["shipping_address"]["postal_code"] == "48817"
    corrected = [e["message"] for e in after["events"] if e["kind"] == "address_corrected"]
    assert corrected[-1] == "address corrected: postal_code: '4881' -> '48817' (asked the buyer)"
    same = client.post(f"/exceptions/{ids['ADDR-2']}/address", data={**form, "postal_code": "ABCDE"})
    assert same.status_code == 400 and "nothing to correct" in same.text


def test_cancel_another_warehouse_and_split_from_the_queue(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    ids = _held(client, factory)
    cancelled = client.post(f"/exceptions/{ids['NONE-LEFT']}/cancel", data={"reason": "discontinued"})
    assert cancelled.status_code == 200 and "Cancelled" in cancelled.text
    assert _order(client, ids["NONE-LEFT"])["status"] == "cancelled"

    refused = client.post(f"/exceptions/{ids['SHORT-OLD']}/warehouse", data={"warehouse": "WH-2"})
    assert refused.status_code == 409
    assert "cannot be filled by warehouse WH-2: short of SKU-2 (needs 2, 1 available)" in refused.text
    split = client.post(f"/exceptions/{ids['SHORT-OLD']}/split", headers=HTMX)
    assert split.status_code == 200 and 'class="fixed"' in split.text and "Split" in split.text
    with transaction(factory) as s:
        assert {f.warehouse: f.reserved for f in inventory.stock_of(s, "SKU-2")} == {"WH-1": 1, "WH-2": 1}
    nothing_left = client.post(f"/exceptions/{ids['SHORT-NEW']}/split", headers=HTMX)
    assert nothing_left.status_code == 200 and "Not done" in nothing_left.text
    assert "short of SKU-2 (needs 2, 0 available)" in nothing_left.text

    with transaction(factory) as s:
        inventory.receive(s, "SKU-2", "WH-2", 2, actor="test", reason="delivery")
    moved = client.post(f"/exceptions/{ids['SHORT-NEW']}/warehouse", data={"warehouse": "WH-2"})
    assert moved.status_code == 200 and "Re-routed" in moved.text
    assert _order(client, ids["SHORT-NEW"])["warehouse"] == "WH-2"
    assert client.post(f"/exceptions/{ids['SHORT-NEW']}/merge").status_code == 404


def test_each_fix_needs_the_apis_permission(
    anonymous: TestClient, client: TestClient, factory: sessionmaker[Session]
) -> None:
    ids = _held(client, factory)
    finance = _as(factory, Role.FINANCE)
    seen = anonymous.get("/exceptions", headers=finance)
    assert seen.status_code == 200 and "ADDR-1" in seen.text and "/release" not in seen.text
    for fix, form in (("release", {"note": "x"}), ("cancel", {"reason": "x"}), ("address", US)):
        assert (
            anonymous.post(f"/exceptions/{ids['ADDR-1']}/{fix}", data=form, headers=finance).status_code
            == 403
        )
    service = _as(factory, Role.CUSTOMER_SERVICE)
    page = anonymous.get("/exceptions", headers=service).text
    assert "/release" in page and "/warehouse" not in page and "/split" not in page
    for fix in ("warehouse", "split"):
        asked = anonymous.post(
            f"/exceptions/{ids['SHORT-OLD']}/{fix}", data={"warehouse": "WH-1"}, headers=service
        )
        assert asked.status_code == 403
    assert _order(client, ids["SHORT-OLD"])["status"] == "on_hold"
    assert _order(client, ids["ADDR-1"])["status"] == "on_hold"
    released = anonymous.post(f"/exceptions/{ids['BY-HAND']}/release", data={"note": "ok"}, headers=service)
    assert released.status_code == 200 and _order(client, ids["BY-HAND"])["status"] == "allocated"
    assert anonymous.get("/exceptions").status_code == 303


def test_a_chinese_viewer_reads_why_a_fix_was_refused_in_chinese(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    ids = _held(client, factory)
    chinese = {"Accept-Language": "zh-CN"}

    def fix(number: str, what: str, **form: str) -> str:
        return client.post(f"/exceptions/{ids[number]}/{what}", data=form, headers=chinese).text

    assert "备注：请填写原因" in fix("ADDR-1", "release", note=" ")  # noqa: RUF001
    assert "原因：请填写原因" in fix("ADDR-1", "cancel", reason="")  # noqa: RUF001
    short = fix("SHORT-OLD", "warehouse", warehouse="WH-2")
    said = f"订单 {ids['SHORT-OLD']}：仓库 WH-2无法备齐，缺 SKU-2（需要 2，可用 1）；未做任何更改"  # noqa: RUF001
    assert said in short
    assert "没有启用中的仓库 &#39;WH-9&#39;" in fix("SHORT-OLD", "warehouse", warehouse="WH-9")
    form = {**US, "line2": "", "postal_code": "ABCDE", "phone": "", "note": "asked"}
    assert "地址已是如此：无需修改" in fix("ADDR-2", "address", **form)  # noqa: RUF001
    assert "已取消" in fix("NONE-LEFT", "cancel", reason="discontinued")
    said = f"订单 {ids['NONE-LEFT']} 的状态为“已取消”，并未暂停：无需放行"  # noqa: RUF001
    assert said in fix("NONE-LEFT", "release", note="ok")
    said = f"订单 {ids['NONE-LEFT']} 的状态为“已取消”：地址已不能再修改"  # noqa: RUF001
    assert said in fix("NONE-LEFT", "address", **{**form, "postal_code": "48817"})
    said = f"订单 {ids['NONE-LEFT']} 的状态为“已取消”：只有已审核、已分配库存或已暂停的订单才能重新分配仓库"  # noqa: RUF001
    assert said in fix("NONE-LEFT", "split")
    # The API says the English as before.
    answer = client.post(
        f"/api/v1/orders/{ids['SHORT-OLD']}/route", json={"warehouse": "WH-2"}, headers=chinese
    )
    assert answer.json()["error"]["message"] == (
        f"order {ids['SHORT-OLD']} cannot be filled by warehouse WH-2: "
        "short of SKU-2 (needs 2, 1 available); nothing changed"
    )
