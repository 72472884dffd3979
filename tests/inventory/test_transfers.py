"""Transfers over the API on both databases: created (held at the source), shipped (in transit),
received in parts with differences, cancelled; every step in the ledger, told to the shops, and
every refusal a 4xx naming the field."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from orderly.core.db import transaction
from orderly.inventory import service as inventory
from orderly.inventory.models import StockLedgerEntry
from orderly.inventory.schemas import TransferIn, TransferLineIn, TransferReceiveIn, WarehouseIn
from orderly.jobs.models import Job
from orderly.jobs.worker import Worker
from orderly.orders.ingest import ingest_batch
from tests.channels.fake import FakePlatform
from tests.channels.test_tasks import drain
from tests.factories import order, setup_catalog

URL = "/api/v1/transfers"


@pytest.fixture
def stocked(factory: sessionmaker[Session]) -> sessionmaker[Session]:
    """SKU-1 x 10 and SKU-2 x 5 at home (WH-1); WH-2 overseas, empty."""
    setup_catalog(factory, {"SKU-1": 10, "SKU-2": 5}, warehouses=2)
    return factory


def _create(client: TestClient, *lines: tuple[str, int], **fields: Any) -> dict[str, Any]:
    body = {
        "from_warehouse": "WH-1",
        "to_warehouse": "WH-2",
        "lines": [{"sku": sku, "quantity": qty} for sku, qty in lines],
    } | fields
    response = client.post(URL, json=body)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def _post(client: TestClient, transfer_id: int, step: str, **body: Any) -> Any:
    return client.post(f"{URL}/{transfer_id}/{step}", json=body)


def _stock(client: TestClient, sku: str, warehouse: str) -> tuple[int, int, int, int]:
    """(on hand, reserved, available, in transit) of a SKU in a warehouse."""
    rows = [r for r in client.get(f"/api/v1/stock/{sku}").json() if r["warehouse"] == warehouse]
    if not rows:
        return (0, 0, 0, 0)
    (row,) = rows
    return row["on_hand"], row["reserved"], row["available"], row["in_transit"]


def _ledger(factory: sessionmaker[Session], kind: str) -> list[tuple[int, int, int, int, str | None]]:
    with transaction(factory) as s:
        rows = s.execute(
            select(
                StockLedgerEntry.product_id,
                StockLedgerEntry.warehouse_id,
                StockLedgerEntry.on_hand_delta,
                StockLedgerEntry.reserved_delta,
                StockLedgerEntry.reason,
            )
            .where(StockLedgerEntry.kind == kind)
            .order_by(StockLedgerEntry.id)
        ).all()
    return [tuple(row) for row in rows]  # type: ignore[misc]


def _verified(client: TestClient) -> None:
    response = client.post("/api/v1/stock/verify")
    assert response.json() == {"repaired": False, "drifts": []}


def _stock_changed(factory: sessionmaker[Session]) -> list[list[int]]:
    with transaction(factory) as s:
        payloads = s.scalars(select(Job.payload).where(Job.kind == "stock_changed").order_by(Job.id))
        return [p["product_ids"] for p in payloads]


# --- each step --------------------------------------------------------------------------------------


def test_a_new_transfer_holds_its_units_at_the_source_so_orders_cannot_take_them(
    client: TestClient, stocked: sessionmaker[Session]
) -> None:
    before = len(_stock_changed(stocked))

    transfer = _create(client, ("SKU-1", 8), ("SKU-2", 1), reference="PO-77", note="for the EU season")

    assert transfer["status"] == "created"
    assert (transfer["from_warehouse"], transfer["to_warehouse"]) == ("WH-1", "WH-2")
    assert transfer["reference"] == "PO-77" and transfer["created_by"] == "tester"
    assert transfer["lines"] == [
        {"sku": "SKU-1", "quantity": 8, "received": 0, "written_off": 0, "in_transit": 0, "difference": None},
        {"sku": "SKU-2", "quantity": 1, "received": 0, "written_off": 0, "in_transit": 0, "difference": None},
    ]
    assert [(e["from_status"], e["to_status"], e["message"]) for e in transfer["events"]] == [
        (None, "created", "for the EU season")
    ]
    assert _stock(client, "SKU-1", "WH-1") == (10, 8, 2, 0)
    assert _ledger(stocked, "transfer_hold") == [
        (1, 1, 0, 8, f"transfer {transfer['id']} PO-77"),
        (2, 1, 0, 1, f"transfer {transfer['id']} PO-77"),
    ]
    assert _stock_changed(stocked)[before:] == [[1, 2]]  # the shops are told the new figures

    report = ingest_batch(stocked, [order(("SKU-1", 3), external_id="LATE")])
    assert [item.status for item in report.items] == ["on_hold"]  # 2 available, not the 8 held
    _verified(client)


def test_shipping_takes_the_units_off_the_source_and_shows_them_in_transit_at_the_destination(
    client: TestClient, stocked: sessionmaker[Session]
) -> None:
    transfer = _create(client, ("SKU-1", 8), ("SKU-2", 1))

    response = _post(client, transfer["id"], "ship", note="truck 4")

    assert response.status_code == 200, response.text
    shipped = response.json()
    assert shipped["status"] == "shipped" and shipped["shipped_at"] is not None
    assert [line["in_transit"] for line in shipped["lines"]] == [8, 1]
    assert shipped["events"][-1] | {"created_at": None} == {
        "from_status": "created",
        "to_status": "shipped",
        "actor": "tester",
        "message": "truck 4",
        "created_at": None,
    }
    assert _stock(client, "SKU-1", "WH-1") == (2, 0, 2, 0)
    assert _stock(client, "SKU-1", "WH-2") == (0, 0, 0, 8)
    assert [(r[2], r[3]) for r in _ledger(stocked, "transfer_out")] == [(-8, -8), (-1, -1)]
    listed = client.get("/api/v1/stock").json()["items"]
    sku_1 = next(row for row in listed if row["sku"] == "SKU-1")
    assert (sku_1["on_hand"], sku_1["in_transit"]) == (2, 8)
    assert {w["warehouse"]: w["in_transit"] for w in sku_1["warehouses"]} == {"WH-1": 0, "WH-2": 8}
    _verified(client)


def test_a_partial_receipt_leaves_the_rest_in_transit_until_a_later_one(
    client: TestClient, stocked: sessionmaker[Session]
) -> None:
    transfer = _create(client, ("SKU-1", 8), ("SKU-2", 1))
    _post(client, transfer["id"], "ship")

    first = _post(client, transfer["id"], "receive", lines=[{"sku": "SKU-1", "quantity": 5}]).json()

    assert first["status"] == "partly_received"
    assert [(li["received"], li["in_transit"]) for li in first["lines"]] == [(5, 3), (0, 1)]
    assert first["events"][-1]["message"] == "received SKU-1 x 5"
    assert _stock(client, "SKU-1", "WH-2") == (5, 0, 5, 3)

    second = _post(
        client,
        transfer["id"],
        "receive",
        lines=[{"sku": "SKU-1", "quantity": 3}, {"sku": "SKU-2", "quantity": 1}],
    ).json()

    assert second["status"] == "received" and second["received_at"] is not None
    assert [e["to_status"] for e in second["events"]] == ["created", "shipped", "partly_received", "received"]
    assert _stock(client, "SKU-1", "WH-2") == (8, 0, 8, 0)
    assert _stock(client, "SKU-2", "WH-2") == (1, 0, 1, 0)
    assert [r[2] for r in _ledger(stocked, "transfer_in")] == [5, 3, 1]
    _verified(client)


def test_closing_short_writes_off_the_rest_with_its_reason_visible_on_the_transfer(
    client: TestClient, stocked: sessionmaker[Session]
) -> None:
    transfer = _create(client, ("SKU-1", 8), ("SKU-2", 1))
    _post(client, transfer["id"], "ship")

    refused = _post(client, transfer["id"], "receive", lines=[{"sku": "SKU-1", "quantity": 6}], close=True)
    assert refused.status_code == 400
    assert refused.json()["error"]["field"] == "reason"
    assert "SKU-1 short 2; SKU-2 short 1" in refused.json()["error"]["message"]

    closed = _post(
        client,
        transfer["id"],
        "receive",
        lines=[{"sku": "SKU-1", "quantity": 6, "reason": "two crushed"}],
        close=True,
        reason="lost in transit",
    ).json()

    assert closed["status"] == "received"
    assert [
        (li["received"], li["written_off"], li["in_transit"], li["difference"]) for li in closed["lines"]
    ] == [
        (6, 2, 0, "short 2: two crushed"),
        (0, 1, 0, "short 1: lost in transit"),
    ]
    assert closed["events"][-1]["message"] == (
        "received SKU-1 x 6; SKU-1 short 2: two crushed; SKU-2 short 1: lost in transit"
    )
    assert _stock(client, "SKU-1", "WH-2") == (6, 0, 6, 0)
    assert _stock(client, "SKU-2", "WH-2") == (0, 0, 0, 0)
    assert _stock(client, "SKU-1", "WH-1") == (2, 0, 2, 0)  # the written-off 2 left home and arrived nowhere
    _verified(client)


def test_more_than_shipped_arrives_only_with_a_reason(
    client: TestClient, stocked: sessionmaker[Session]
) -> None:
    transfer = _create(client, ("SKU-1", 4))
    _post(client, transfer["id"], "ship")

    refused = _post(client, transfer["id"], "receive", lines=[{"sku": "SKU-1", "quantity": 5}])
    assert (refused.status_code, refused.json()["error"]["field"]) == (400, "reason")

    over = _post(
        client,
        transfer["id"],
        "receive",
        lines=[{"sku": "SKU-1", "quantity": 5, "reason": "miscounted at home"}],
    ).json()

    assert over["status"] == "received"
    assert over["lines"][0]["difference"] == "over 1: miscounted at home"
    assert _stock(client, "SKU-1", "WH-2") == (5, 0, 5, 0)
    _verified(client)


def test_cancelling_before_shipping_gives_the_units_back_and_is_refused_after(
    client: TestClient, stocked: sessionmaker[Session]
) -> None:
    kept = _create(client, ("SKU-1", 3))
    dropped = _create(client, ("SKU-1", 4))
    assert _stock(client, "SKU-1", "WH-1") == (10, 7, 3, 0)

    cancelled = _post(client, dropped["id"], "cancel", reason="season moved")

    assert cancelled.status_code == 200
    assert cancelled.json()["status"] == "cancelled"
    assert cancelled.json()["events"][-1]["message"] == "season moved"
    assert _stock(client, "SKU-1", "WH-1") == (10, 3, 7, 0)
    assert [r[3] for r in _ledger(stocked, "transfer_release")] == [-4]

    _post(client, kept["id"], "ship")
    late = _post(client, kept["id"], "cancel", reason="too late")
    assert late.status_code == 409
    assert "cannot go from shipped to cancelled" in late.json()["error"]["message"]
    again = _post(client, dropped["id"], "ship")
    assert again.status_code == 409
    _verified(client)


def test_a_step_out_of_turn_is_409_and_moves_nothing(
    client: TestClient, stocked: sessionmaker[Session]
) -> None:
    transfer = _create(client, ("SKU-1", 3))
    early = _post(client, transfer["id"], "receive", lines=[{"sku": "SKU-1", "quantity": 3}])
    assert early.status_code == 409
    assert "cannot go from created to received" in early.json()["error"]["message"]

    _post(client, transfer["id"], "ship")
    twice = _post(client, transfer["id"], "ship")
    _post(client, transfer["id"], "receive", lines=[{"sku": "SKU-1", "quantity": 3}])
    received_twice = _post(client, transfer["id"], "receive", lines=[{"sku": "SKU-1", "quantity": 3}])

    assert twice.status_code == 409 and received_twice.status_code == 409
    assert _stock(client, "SKU-1", "WH-1") == (7, 0, 7, 0)
    assert _stock(client, "SKU-1", "WH-2") == (3, 0, 3, 0)
    _verified(client)


# --- refusals -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "status", "field"),
    [
        ({"from_warehouse": "NOPE"}, 404, "from_warehouse"),
        ({"to_warehouse": "NOPE"}, 404, "to_warehouse"),
        ({"to_warehouse": "WH-1"}, 422, "to_warehouse"),
        ({"lines": [{"sku": "SKU-1", "quantity": 1}, {"sku": "NOPE", "quantity": 1}]}, 404, "lines[1].sku"),
        ({"lines": [{"sku": "KIT-1", "quantity": 1}]}, 400, "lines[0].sku"),
        ({"lines": [{"sku": "SKU-1", "quantity": 0}]}, 422, "lines[0].quantity"),
        ({"lines": [{"sku": "SKU-1", "quantity": 10**9 + 1}]}, 422, "lines[0].quantity"),
        ({"lines": [{"sku": "SKU-1", "quantity": 1}, {"sku": "SKU-1", "quantity": 2}]}, 422, "lines"),
        ({"lines": []}, 422, "lines"),
        ({"lines": [{"sku": "SKU-1", "quantity": 11}, {"sku": "SKU-2", "quantity": 6}]}, 409, None),
        ({"reference": ""}, 422, "reference"),
        ({"colour": "red"}, 422, "colour"),
    ],
)
def test_a_transfer_that_cannot_be_made_is_refused_naming_the_field(
    client: TestClient, stocked: sessionmaker[Session], change: dict[str, Any], status: int, field: str | None
) -> None:
    body = {"from_warehouse": "WH-1", "to_warehouse": "WH-2", "lines": [{"sku": "SKU-1", "quantity": 1}]}

    response = client.post(URL, json=body | change)

    assert response.status_code == status, response.text
    assert response.json()["error"]["field"] == field
    assert _stock(client, "SKU-1", "WH-1") == (10, 0, 10, 0)
    assert client.get(URL).json()["items"] == []


def test_refusals_say_what_to_do(client: TestClient, stocked: sessionmaker[Session]) -> None:
    def message(**change: Any) -> str:
        body = {"from_warehouse": "WH-1", "to_warehouse": "WH-2", "lines": [{"sku": "SKU-1", "quantity": 1}]}
        text: str = client.post(URL, json=body | change).json()["error"]["message"]
        return text

    assert message(lines=[{"sku": "KIT-1", "quantity": 1}]) == (
        "'KIT-1' is a bundle: its stock is that of its components; "
        "transfer those (SKU-1 x 2, SKU-2 x 1 per bundle)"
    )
    assert message(lines=[{"sku": "SKU-1", "quantity": 11}, {"sku": "SKU-2", "quantity": 6}]) == (
        "not enough stock at the source for this transfer: SKU-1: 11 to transfer, 10 available; "
        "SKU-2: 6 to transfer, 5 available"
    )


@pytest.mark.parametrize(
    ("step", "body", "status", "field"),
    [
        ("ship", {"note": ""}, 422, "note"),
        ("cancel", {}, 422, "reason"),
        ("receive", {"lines": [{"sku": "SKU-1", "quantity": -1}]}, 422, "lines[0].quantity"),
        ("receive", {"lines": [{"sku": "NOPE", "quantity": 1}]}, 404, "lines[0].sku"),
        ("receive", {"lines": [{"sku": "SKU-2", "quantity": 1}]}, 400, "lines"),  # not on the transfer
        ("receive", {"lines": [{"sku": "SKU-1", "quantity": 0}]}, 400, "lines"),
        ("receive", {"lines": [{"sku": "SKU-1", "quantity": 1}] * 2}, 422, "lines"),
        ("receive", {"lines": [], "close": "soon"}, 422, "close"),
    ],
)
def test_a_step_with_bad_input_is_refused_naming_the_field(
    client: TestClient,
    stocked: sessionmaker[Session],
    step: str,
    body: dict[str, Any],
    status: int,
    field: str,
) -> None:
    transfer = _create(client, ("SKU-1", 3))
    if step == "receive":
        _post(client, transfer["id"], "ship")

    response = _post(client, transfer["id"], step, **body)

    assert response.status_code == status, response.text
    assert response.json()["error"]["field"] == field


@pytest.mark.parametrize("step", ["ship", "receive", "cancel"])
def test_an_unknown_transfer_is_404(client: TestClient, stocked: sessionmaker[Session], step: str) -> None:
    assert client.get(f"{URL}/999").status_code == 404
    body = {"reason": "x"} if step == "cancel" else {}
    response = _post(client, 999, step, **body)
    assert response.status_code == 404
    assert response.json()["error"]["message"] == "no transfer 999"


def test_a_warehouse_a_transfer_names_is_not_deleted_even_when_it_never_held_stock(
    client: TestClient, stocked: sessionmaker[Session]
) -> None:
    transfer = _create(client, ("SKU-1", 3))
    _post(client, transfer["id"], "cancel", reason="not needed")

    response = client.delete("/api/v1/warehouses/WH-2")

    assert response.status_code == 409
    assert response.json()["error"] == {
        "message": f"warehouse 'WH-2' cannot be deleted: transfers {transfer['id']} go from or to it; "
        "switch it off instead (active: false)",
        "field": "code",
    }


# --- reading ------------------------------------------------------------------------------------------


def test_transfers_are_listed_newest_first_by_every_filter_a_page_at_a_time(
    client: TestClient, stocked: sessionmaker[Session]
) -> None:
    with transaction(stocked) as s:
        inventory.create_warehouse(s, WarehouseIn(code="WH-3", name="Third"))
    first = _create(client, ("SKU-1", 1))
    second = _create(client, ("SKU-2", 1), to_warehouse="WH-3")
    third = _create(client, ("SKU-1", 1), ("SKU-2", 1))
    _post(client, second["id"], "ship")

    def ids(**params: Any) -> list[int]:
        response = client.get(URL, params=params)
        assert response.status_code == 200, response.text
        return [t["id"] for t in response.json()["items"]]

    assert ids() == [third["id"], second["id"], first["id"]]
    assert ids(status="shipped") == [second["id"]]
    assert ids(to_warehouse="WH-3") == [second["id"]]
    assert ids(from_warehouse="WH-1", sku="SKU-1") == [third["id"], first["id"]]
    page = client.get(URL, params={"limit": 2}).json()
    rest = client.get(URL, params={"limit": 2, "cursor": page["next_cursor"]}).json()
    assert [t["id"] for t in page["items"] + rest["items"]] == ids()
    assert rest["next_cursor"] is None
    assert (
        client.get(f"{URL}/{second['id']}").json()
        == client.get(URL, params={"status": "shipped"}).json()["items"][0]
    )

    for params, status, field in (
        ({"status": "lost"}, 422, "status"),
        ({"from_warehouse": "NOPE"}, 404, "from_warehouse"),
        ({"sku": "NOPE"}, 404, "sku"),
        ({"colour": "red"}, 422, "colour"),
    ):
        response = client.get(URL, params=params)
        assert (response.status_code, response.json()["error"]["field"]) == (status, field), params


# --- the shops ---------------------------------------------------------------------------------------


def test_the_shops_are_told_each_new_figure_a_transfer_makes(
    factory: sessionmaker[Session], worker: Worker, platforms: dict[str, FakePlatform]
) -> None:
    """A listing sells the hub's available units over every active warehouse (SKU-1 10 at WH-1, KIT-1
    is 2 x SKU-1 + SKU-2): the hold takes units off sale, shipping changes nothing sold, the receipt
    puts them back on sale where they arrived."""
    with transaction(factory) as s:
        inventory.create_warehouse(s, WarehouseIn(code="WH-2", name="Overseas", kind="overseas"))
    drain(worker)

    def pushed() -> dict[str, int]:
        told = dict(platforms["fake-a"].pushes)
        platforms["fake-a"].pushes.clear()
        return told

    pushed()
    with transaction(factory) as s:
        transfer_id = inventory.create_transfer(
            s,
            TransferIn(
                from_warehouse="WH-1", to_warehouse="WH-2", lines=[TransferLineIn(sku="SKU-1", quantity=6)]
            ),
            actor="test",
        )
    drain(worker)
    assert pushed() == {"fake-a-L1": 4, "fake-a-K1": 2}

    with transaction(factory) as s:
        inventory.ship_transfer(s, transfer_id, actor="test")
    drain(worker)
    assert pushed() in ({}, {"fake-a-L1": 4, "fake-a-K1": 2})  # the same figures, if told again

    with transaction(factory) as s:
        inventory.receive_transfer(
            s,
            transfer_id,
            TransferReceiveIn.model_validate({"lines": [{"sku": "SKU-1", "quantity": 6}]}),
            actor="t",
        )
    drain(worker)
    assert pushed() == {"fake-a-L1": 10, "fake-a-K1": 5}
