"""The audit log: every change made through the API, who made it and on what, filtered by admins."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from orderly.auth.audit import subject
from orderly.auth.domain import Role
from orderly.core.web import CSRF_HEADER
from tests.cli.conftest import Cli, rows
from tests.factories import setup_catalog

AUDIT = "/api/v1/audit"
RECEIPT = {"sku": "SKU-1", "warehouse": "WH-1", "quantity": 3}


def test_the_subject_is_what_the_path_names() -> None:
    assert subject("/orders/{order_id}/hold", {"order_id": "7"}) == ("order", "7")
    assert subject("/shops/{code}", {"code": "acme"}) == ("shop", "acme")
    assert subject("/bins/{warehouse}/{sku:path}", {"warehouse": "W", "sku": "S"}) == ("bin", "W")
    assert subject("/stock/receive", {}) == (None, None)


def test_changes_are_recorded_with_who_and_what_and_reads_are_not(
    anonymous: TestClient,
    token_of: Callable[[Role], dict[str, str]],
    signed_in: Callable[..., TestClient],
    factory: sessionmaker[Session],
) -> None:
    setup_catalog(factory, {"SKU-1": 5})
    admin = token_of(Role.ADMIN)
    worker = token_of(Role.WAREHOUSE)
    assert anonymous.post("/api/v1/stock/receive", headers=worker, json=RECEIPT).status_code == 200
    assert anonymous.get("/api/v1/stock", headers=worker).status_code == 200
    assert anonymous.post("/api/v1/stock/receive", headers=worker, json={}).status_code == 422  # not done
    assert anonymous.post("/api/v1/orders/1/hold", headers=worker, json={"note": "x"}).status_code == 403
    person = signed_in("ops", Role.OPERATIONS)
    csrf = {CSRF_HEADER: person.get("/api/v1/auth/me").json()["csrf_token"]}
    assert (
        person.patch("/api/v1/auth/me", headers=csrf, json={"timezone": "Europe/Berlin"}).status_code == 200
    )
    created = anonymous.post(
        "/api/v1/users", headers=admin, json={"username": "new", "password": "p" * 12, "role": "finance"}
    )
    assert created.status_code == 201

    page = anonymous.get(AUDIT, headers=admin).json()
    events = page["items"]

    assert [(e["actor"], e["role"], e["action"], e["status"]) for e in events] == [
        ("admin-user", "admin", "POST /users", 201),
        ("ops", "operations", "PATCH /auth/me", 200),
        ("ops", "operations", "POST /auth/sign-in", 200),  # signing in is recorded too
        ("warehouse-user", "warehouse", "POST /stock/receive", 200),
    ]
    assert events[1]["user_id"] is not None and events[1]["token_id"] is None  # by session
    assert events[3]["token_id"] is not None and events[3]["client"] == "testclient"
    assert page["next_cursor"] is None


def test_the_log_is_filtered_paged_and_the_admins_alone(
    anonymous: TestClient,
    token_of: Callable[[Role], dict[str, str]],
    factory: sessionmaker[Session],
    cli: Cli,
) -> None:
    setup_catalog(factory, {"SKU-1": 5})
    admin = token_of(Role.ADMIN)
    for order_id in (1, 2, 1):  # refused (no such order) changes are not recorded; these are made up
        anonymous.post(f"/api/v1/orders/{order_id}/hold", headers=admin, json={"note": "x"})
    for _ in range(3):
        anonymous.post("/api/v1/stock/receive", headers=admin, json=RECEIPT)

    def actions(**params: object) -> list[str]:
        return [e["action"] for e in anonymous.get(AUDIT, headers=admin, params=params).json()["items"]]

    assert actions(action="receive") == ["POST /stock/receive"] * 3
    assert actions(actor="nobody") == []
    assert actions(subject_kind="order") == []  # the holds were refused: 404, nothing done
    assert actions(since="2000-01-01", until="2000-01-02") == []
    first = anonymous.get(AUDIT, headers=admin, params={"limit": 2}).json()
    rest = anonymous.get(AUDIT, headers=admin, params={"limit": 2, "cursor": first["next_cursor"]}).json()
    assert (len(first["items"]), len(rest["items"]), rest["next_cursor"]) == (2, 1, None)
    assert anonymous.get(AUDIT, headers=token_of(Role.OPERATIONS)).status_code == 403

    listing = cli("audit", "--action", "receive").stdout
    assert len(rows(listing, str(first["items"][0]["id"]))) == 1
    assert "admin-user" in listing


def test_a_subject_is_found_by_kind_and_id(
    anonymous: TestClient, token_of: Callable[[Role], dict[str, str]]
) -> None:
    admin = token_of(Role.ADMIN)
    made = anonymous.post(
        "/api/v1/users", headers=admin, json={"username": "u1", "password": "p" * 12, "role": "finance"}
    )
    user_id = made.json()["id"]
    anonymous.patch(f"/api/v1/users/{user_id}", headers=admin, json={"locale": "zh_Hans"})

    found = anonymous.get(
        AUDIT, headers=admin, params={"subject_kind": "user", "subject_id": str(user_id)}
    ).json()

    assert [(e["action"], e["params"]) for e in found["items"]] == [
        ("PATCH /users/{user_id}", {"user_id": str(user_id)})
    ]


def test_a_change_made_through_a_console_page_is_recorded_too(signed_in: Callable[..., TestClient]) -> None:
    admin = signed_in("root", Role.ADMIN)
    csrf = admin.get("/api/v1/auth/me").json()["csrf_token"]
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    assert (
        admin.post("/preferences", content=f"timezone=Asia/Tokyo&csrf_token={csrf}", headers=form).status_code
        == 204
    )

    (event,) = admin.get(AUDIT, params={"action": "preferences"}).json()["items"]

    assert (event["actor"], event["role"], event["action"], event["status"]) == (
        "root",
        "admin",
        "POST /preferences",
        204,
    )


def test_a_filter_holding_a_nul_is_refused_naming_it(
    anonymous: TestClient, token_of: Callable[[Role], dict[str, str]]
) -> None:
    admin = token_of(Role.ADMIN)

    for name in ("actor", "subject_kind", "subject_id", "action"):
        answer = anonymous.get(AUDIT, headers=admin, params={name: "rec\x00eive"})

        assert answer.status_code == 422, name
        assert name in answer.text and "NUL" in answer.text
