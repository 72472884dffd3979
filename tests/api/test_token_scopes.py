"""Token scopes (read, write, admin: now the roles reader, writer, admin) and expiry; failures throttled
per address; the check cached briefly, reading ``api_tokens`` once per token per few seconds and
writing its use once a minute."""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, event
from sqlalchemy.orm import Session, sessionmaker

from orderly.auth import gate as gate_module
from orderly.auth.domain import Scope
from orderly.auth.gate import BELIEVED_S, FAILURES, WINDOW_S, TokenGate
from orderly.auth.service import create_token, digest, revoke_token
from orderly.core.clock import utcnow
from orderly.core.db import transaction
from tests.factories import setup_catalog

RECEIPT = {"sku": "SKU-1", "warehouse": "WH-1", "quantity": 1}


def _bearer(factory: sessionmaker[Session], scope: Scope, **kwargs: Any) -> dict[str, str]:
    with transaction(factory) as s:
        return {"Authorization": f"Bearer {create_token(s, scope.value, scope=scope, **kwargs).token}"}


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(app: FastAPI, factory: sessionmaker[Session]) -> Clock:
    """The app's token gate on a clock the test moves."""
    ticking = Clock()
    app.state.tokens = TokenGate(factory, factory, clock=ticking)
    return ticking


def test_a_read_token_reads_and_is_403_for_a_change_naming_the_scope(
    anonymous: TestClient, factory: sessionmaker[Session]
) -> None:
    setup_catalog(factory, {"SKU-1": 5})
    read = _bearer(factory, Scope.READ)

    assert anonymous.get("/api/v1/products", headers=read).status_code == 200
    assert anonymous.head("/api/v1/products", headers=read).status_code in {200, 405}
    response = anonymous.post("/api/v1/stock/receive", headers=read, json=RECEIPT)

    assert response.status_code == 403
    assert response.json()["error"]["message"] == (
        "this needs the permission 'stock:write', which the role 'reader' lacks"
    )


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/v1/tokens"),
        ("POST", "/api/v1/tokens"),
        ("DELETE", "/api/v1/tokens/1"),
        ("POST", "/api/v1/shops"),
        ("PATCH", "/api/v1/shops/web"),
    ],
)
def test_only_an_admin_token_manages_tokens_and_shops(
    anonymous: TestClient, factory: sessionmaker[Session], method: str, path: str
) -> None:
    write = _bearer(factory, Scope.WRITE)

    response = anonymous.request(method, path, headers=write, json={"name": "mine"})

    assert response.status_code == 403
    assert "which the role 'writer' lacks" in response.json()["error"]["message"]


def test_a_write_token_cannot_revoke_the_first_admin(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    write = _bearer(factory, Scope.WRITE)

    assert client.delete("/api/v1/tokens/1", headers=write).status_code == 403
    assert [t["revoked_at"] for t in client.get("/api/v1/tokens").json()] == [None, None]


def test_a_write_token_changes_and_reads(anonymous: TestClient, factory: sessionmaker[Session]) -> None:
    setup_catalog(factory, {"SKU-1": 5})
    write = _bearer(factory, Scope.WRITE)

    received = anonymous.post("/api/v1/stock/receive", headers=write, json=RECEIPT)

    assert received.status_code == 200, received.text
    assert anonymous.get("/api/v1/stock/SKU-1", headers=write).status_code == 200


def test_an_admin_token_may_create_an_admin_token_that_expires(client: TestClient) -> None:
    expires = (utcnow() + timedelta(days=30)).replace(microsecond=0)

    created = client.post(
        "/api/v1/tokens", json={"name": "ops", "scope": "admin", "expires_at": expires.isoformat()}
    )

    assert created.status_code == 201, created.text
    body = created.json()
    assert (body["role"], body["expires_at"]) == ("admin", expires.isoformat().replace("+00:00", "Z"))
    assert (
        client.get("/api/v1/tokens", headers={"Authorization": f"Bearer {body['token']}"}).status_code == 200
    )


def test_an_expired_token_is_401_saying_so(
    anonymous: TestClient, factory: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    expires = utcnow() + timedelta(hours=1)
    headers = _bearer(factory, Scope.WRITE, expires_at=expires)
    assert anonymous.get("/api/v1/shops", headers=headers).status_code == 200
    monkeypatch.setattr(gate_module, "utcnow", lambda: expires)

    response = anonymous.get("/api/v1/shops", headers=headers)  # believed from the cache, yet expired

    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert response.json()["error"]["message"] == (
        f"the API token expired at {expires:%Y-%m-%dT%H:%M:%SZ}: ask for a new one"
    )


def test_wrong_tokens_from_one_address_are_429_with_retry_after(
    anonymous: TestClient, factory: sessionmaker[Session], clock: Clock
) -> None:
    good = _bearer(factory, Scope.READ)
    assert anonymous.get("/api/v1/shops", headers=good).status_code == 200
    wrong = {"Authorization": "Bearer oly_guess"}
    statuses = [anonymous.get("/api/v1/shops", headers=wrong).status_code for _ in range(FAILURES)]
    clock.now += 1

    refused = anonymous.get("/api/v1/shops", headers=wrong)
    anonymous_too = anonymous.get("/api/v1/shops")

    assert statuses == [401] * FAILURES
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == str(int(WINDOW_S) - 1)
    assert "try again in 59 s" in refused.json()["error"]["message"]
    assert anonymous_too.status_code == 429
    # A token that worked from this address goes on working: a guesser cannot lock out its neighbours.
    assert anonymous.get("/api/v1/shops", headers=good).status_code == 200
    clock.now += WINDOW_S
    assert anonymous.get("/api/v1/shops", headers=wrong).status_code == 401


@pytest.fixture
def statements(engine: Engine) -> Iterator[list[str]]:
    """The SQL statements on ``api_tokens`` run from here on."""
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if "api_tokens" in statement:
            seen.append(statement.split(maxsplit=1)[0].upper())

    event.listen(engine, "before_cursor_execute", record)
    yield seen
    event.remove(engine, "before_cursor_execute", record)


def test_a_busy_token_is_read_once_per_few_seconds_and_its_use_written_once(
    app: FastAPI, factory: sessionmaker[Session], clock: Clock, statements: list[str]
) -> None:
    headers = _bearer(factory, Scope.READ)
    statements.clear()
    with TestClient(app, headers=headers) as client:
        for _ in range(30):
            assert client.get("/api/v1/warehouses").status_code == 200
        clock.now += BELIEVED_S
        for _ in range(30):
            assert client.get("/api/v1/warehouses").status_code == 200
    # Leaving the client stops the app, which waits for the use being written.

    assert statements == ["SELECT", "UPDATE", "SELECT"]


def test_a_token_revoked_elsewhere_is_refused_within_seconds(
    anonymous: TestClient, factory: sessionmaker[Session], clock: Clock
) -> None:
    with transaction(factory) as s:
        issued = create_token(s, "elsewhere", scope=Scope.READ)
    headers = {"Authorization": f"Bearer {issued.token}"}
    assert anonymous.get("/api/v1/shops", headers=headers).status_code == 200
    with transaction(factory) as s:
        revoke_token(s, issued.id)  # as `orderly token revoke` would, from another process

    clock.now += BELIEVED_S - 0.5
    assert anonymous.get("/api/v1/shops", headers=headers).status_code == 200
    clock.now += 0.5
    assert anonymous.get("/api/v1/shops", headers=headers).status_code == 401


def test_concurrent_first_requests_with_one_token_look_it_up_once(
    factory: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    with transaction(factory) as s:
        secret = create_token(s, "many", scope=Scope.READ).token
    gate = TokenGate(factory, factory)
    lookups: list[str] = []
    real = gate_module.holder

    def counted(session: Session, token_digest: str) -> Any:
        lookups.append(token_digest)
        time.sleep(0.05)
        return real(session, token_digest)

    monkeypatch.setattr(gate_module, "holder", counted)

    with ThreadPoolExecutor(8) as pool:
        found = list(pool.map(lambda _: gate.look_up(digest(secret)), range(8)))
    gate.close()

    assert len(lookups) == 1
    assert {f.name if f else None for f in found} == {"many"}


def test_a_token_is_checked_while_another_transaction_holds_the_sqlite_write_lock(
    app: FastAPI, engine: Engine, factory: sessionmaker[Session]
) -> None:
    if engine.dialect.name != "sqlite":
        pytest.skip("the write lock is SQLite's")
    headers = _bearer(factory, Scope.READ)
    with engine.connect() as holder, TestClient(app, headers=headers) as client:
        warm = client.get("/api/v1/products", headers=_bearer(factory, Scope.READ))  # first-call costs
        assert warm.status_code == 200
        holder.exec_driver_sql("UPDATE api_tokens SET name = name")  # BEGIN IMMEDIATE: the write lock
        started = time.monotonic()

        response = client.get("/api/v1/products")  # a token not yet believed: it is looked up
        elapsed = time.monotonic() - started

        holder.rollback()  # the use, recorded in the background, can be written now
    assert response.status_code == 200, response.text
    assert elapsed < 1  # no wait for the lock
