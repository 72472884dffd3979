"""Users over the API (admins only) and from the command line."""

from __future__ import annotations

import re
from collections.abc import Callable

from fastapi.testclient import TestClient

from orderly.auth.domain import Role
from tests.auth.conftest import PASSWORD
from tests.cli.conftest import Cli, rows

USERS = "/api/v1/users"


def test_an_admin_adds_changes_resets_and_deactivates_users(
    anonymous: TestClient, token_of: Callable[[Role], dict[str, str]]
) -> None:
    admin = token_of(Role.ADMIN)
    created = anonymous.post(
        USERS,
        headers=admin,
        json={"username": "Li.Wei", "display_name": "Li Wei", "password": PASSWORD, "role": "warehouse"},
    )
    assert created.status_code == 201, created.text
    user = created.json()
    assert (user["username"], user["role"], user["locale"], user["timezone"], user["active"]) == (
        "li.wei",
        "warehouse",
        "en",
        "UTC",
        True,
    )
    again = anonymous.post(
        USERS, headers=admin, json={"username": "LI.WEI", "password": PASSWORD, "role": "finance"}
    )
    assert (again.status_code, again.json()["error"]["field"]) == (409, "username")
    bad = anonymous.post(
        USERS,
        headers=admin,
        json={"username": "x", "password": PASSWORD, "role": "finance", "timezone": "Mars/Base"},
    )
    assert (bad.status_code, bad.json()["error"]["field"]) == (400, "timezone")

    path = f"{USERS}/{user['id']}"
    changed = anonymous.patch(path, headers=admin, json={"role": "customer_service", "locale": "zh_Hans"})
    assert (changed.json()["role"], changed.json()["locale"]) == ("customer_service", "zh_Hans")
    assert (
        anonymous.post(f"{path}/password", headers=admin, json={"password": "a new password"}).status_code
        == 204
    )
    signed = anonymous.post("/api/v1/auth/sign-in", json={"username": "li.wei", "password": "a new password"})
    assert (signed.status_code, signed.json()["role"]) == (200, "customer_service")
    assert anonymous.patch(path, headers=admin, json={"active": False}).json()["active"] is False
    assert [u["active"] for u in anonymous.get(USERS, headers=admin).json() if u["id"] == user["id"]] == [
        False
    ]


def test_the_last_active_admin_stays_one(
    anonymous: TestClient, token_of: Callable[[Role], dict[str, str]]
) -> None:
    admin = token_of(Role.ADMIN)
    (me,) = anonymous.get(USERS, headers=admin).json()

    refused = anonymous.patch(f"{USERS}/{me['id']}", headers=admin, json={"role": "finance"})

    assert (refused.status_code, refused.json()["error"]["field"]) == (409, "role")


def test_a_users_token_carries_the_users_current_role(
    anonymous: TestClient, token_of: Callable[[Role], dict[str, str]]
) -> None:
    admin = token_of(Role.ADMIN)
    worker = token_of(Role.WAREHOUSE)
    worker_id = anonymous.get("/api/v1/auth/me", headers=worker).json()["user_id"]
    assert anonymous.get("/api/v1/review/rules", headers=worker).status_code == 403

    anonymous.patch(f"{USERS}/{worker_id}", headers=admin, json={"role": "operations"})
    assert anonymous.get("/api/v1/review/rules", headers=worker).status_code == 200  # at once in this process

    anonymous.patch(f"{USERS}/{worker_id}", headers=admin, json={"active": False})
    assert anonymous.get("/api/v1/review/rules", headers=worker).status_code == 401


def test_users_from_the_command_line(cli: Cli) -> None:
    added = cli(
        "users", "add", "Chen", "--role", "finance", "--name", "Chen Jing", "--timezone", "Asia/Shanghai"
    )
    password = re.search(r"password \(shown once\): (\S+)", added.stdout)
    assert password is not None
    cli("users", "add", "chen", "--role", "finance", code=1)  # one user, whatever the case

    cli("users", "set-role", "CHEN", "customer_service")
    reset = cli("users", "reset-password", "chen").stdout
    assert "shown once" in reset and password[1] not in reset
    cli("users", "deactivate", "chen")

    (row,) = rows(cli("users", "list").stdout, "1")
    assert row[1:8] == ["chen", "Chen Jing", "customer_service", "en", "Asia/Shanghai", "no", row[7]]
    assert "users:admin" in cli("users", "roles").stdout
