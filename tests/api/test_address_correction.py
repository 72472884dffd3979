"""A person corrects an order's address: audited in its history, and the order reviewed again."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from orderly.core.db import transaction
from orderly.inventory import service as inventory
from orderly.review.models import OrderIdentity
from tests.factories import order, setup_catalog

US = {"name": "Ada Buyer", "line1": "1 Cross St.", "city": "Canton", "region": "MI", "country": "US"}


def _placed(client: TestClient, factory: sessionmaker[Session], **address: Any) -> dict[str, Any]:
    setup_catalog(factory, {"SKU-1": 5})
    body = order(("SKU-1", 2), shipping_address={**US, "postal_code": "48817", **address})
    response = client.post("/api/v1/orders/ingest", json={"orders": [body]})
    item: dict[str, Any] = response.json()["items"][0]
    return dict(client.get(f"/api/v1/orders/{item['order_id']}").json())


def _correct(client: TestClient, order_id: int, **body: Any) -> Any:
    return client.patch(f"/api/v1/orders/{order_id}/address", json=body)


def test_a_corrected_address_releases_the_address_hold_and_is_audited(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    held = _placed(client, factory, postal_code="ABCDE")
    assert (held["status"], [h["reason"] for h in held["holds"]]) == ("on_hold", ["address"])

    response = _correct(client, held["id"], postal_code="48817", note="checked with the buyer")

    assert response.status_code == 200, response.text
    fixed = response.json()
    assert (fixed["status"], fixed["holds"], fixed["warehouse"]) == ("allocated", [], "WH-1")
    assert fixed["shipping_address"]["postal_code"] == "48817"
    corrected = [e for e in fixed["events"] if e["kind"] == "address_corrected"]
    assert [(e["actor"], e["message"]) for e in corrected] == [
        ("tester", "address corrected: postal_code: 'ABCDE' -> '48817' (checked with the buyer)")
    ]
    assert fixed["events"][-1]["kind"] == "released"
    with transaction(factory) as s:
        (figure,) = inventory.stock_of(s, "SKU-1")
        assert figure.reserved == 2  # the units it held, kept: no second reservation


def test_an_address_that_is_still_wrong_stays_held(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    held = _placed(client, factory, postal_code="ABCDE")

    fixed = _correct(client, held["id"], postal_code="4881").json()

    assert (fixed["status"], [h["reason"] for h in fixed["holds"]]) == ("on_hold", ["address"])
    assert fixed["events"][-1]["kind"] == "reviewed"


def test_a_new_address_that_earns_a_hold_holds_an_allocated_order(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    allocated = _placed(client, factory)
    assert allocated["status"] == "allocated"

    held = _correct(client, allocated["id"], line1="PO Box 12").json()

    assert (held["status"], [h["reason"] for h in held["holds"]]) == ("on_hold", ["address"])
    assert held["warehouse"] == "WH-1"  # it keeps the stock it reserved


def test_a_persons_hold_stays_until_a_person_lifts_it(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    held = _placed(client, factory, postal_code="ABCDE")
    client.post(f"/api/v1/orders/{held['id']}/hold", json={"note": "wait for the buyer's call"})

    fixed = _correct(client, held["id"], postal_code="48817").json()

    assert (fixed["status"], [h["reason"] for h in fixed["holds"]]) == ("on_hold", ["manual"])


def test_the_corrected_order_is_found_and_identified_by_its_new_address(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    placed = _placed(client, factory)
    with transaction(factory) as s:
        before = set(s.scalars(select(OrderIdentity.identity).where(OrderIdentity.order_id == placed["id"])))

    _correct(client, placed["id"], name="Grace Recipient", phone="+1 734 555 0199", line1="9 Elm St.")

    found = client.get("/api/v1/orders", params={"q": "734-555-0199"}).json()["items"]
    assert [o["id"] for o in found] == [placed["id"]]
    assert [o["id"] for o in client.get("/api/v1/orders", params={"q": "grace"}).json()["items"]] == [
        placed["id"]
    ]
    with transaction(factory) as s:
        after = set(s.scalars(select(OrderIdentity.identity).where(OrderIdentity.order_id == placed["id"])))
    assert before - after  # the old address no longer identifies it
    assert len(after) == len(before) + 1  # the new address, and now a phone


def test_an_order_that_came_in_without_a_city_is_released_once_a_person_adds_it(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    held = _placed(client, factory, city=None)
    assert [h["reason"] for h in held["holds"]] == ["address"]

    still = _correct(client, held["id"], line1="2 Cross St.").json()  # the city is still missing
    fixed = _correct(client, held["id"], city="Canton").json()

    assert (still["status"], [h["reason"] for h in still["holds"]]) == ("on_hold", ["address"])
    assert (fixed["status"], fixed["holds"]) == ("allocated", [])


def test_a_buyers_cancel_request_stays_held(client: TestClient, factory: sessionmaker[Session]) -> None:
    setup_catalog(factory, {"SKU-1": 5})
    body = order(("SKU-1", 1), cancel_requested=True, shipping_address={**US, "postal_code": "ABCDE"})
    (item,) = client.post("/api/v1/orders/ingest", json={"orders": [body]}).json()["items"]

    fixed = _correct(client, item["order_id"], postal_code="48817").json()

    assert (fixed["status"], [h["reason"] for h in fixed["holds"]]) == ("on_hold", ["cancel_request"])


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"country": "Germany"}, 422, "country"),
        ({"city": None}, 422, "city"),
        ({"street": "1 Road"}, 422, "street"),
        ({"postal_code": "48817"}, 400, "address"),  # already so: nothing to correct
    ],
)
def test_bad_corrections_are_refused_naming_the_field(
    client: TestClient, factory: sessionmaker[Session], body: dict[str, Any], status: int, field: str
) -> None:
    placed = _placed(client, factory)

    response = _correct(client, placed["id"], **body)

    assert response.status_code == status, response.text
    assert response.json()["error"]["field"] == field


def test_a_closed_or_unknown_order_is_not_corrected(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    placed = _placed(client, factory)
    client.post(f"/api/v1/orders/{placed['id']}/cancel", json={"reason": "buyer asked"})

    closed = _correct(client, placed["id"], city="Detroit")
    unknown = _correct(client, 999_999, city="Detroit")

    assert closed.status_code == 409
    assert closed.json()["error"]["message"] == (
        f"order {placed['id']} is cancelled: its address can no longer be corrected"
    )
    assert unknown.status_code == 404
