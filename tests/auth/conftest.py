"""Users of each role, signed in through the API or holding a token of their own."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from orderly.api import create_app
from orderly.auth.domain import Role
from orderly.auth.service import create_token, create_user
from orderly.core.db import transaction
from tests.cli.conftest import cli  # noqa: F401  # the CLI on the same database

PASSWORD = "correct horse battery"


@pytest.fixture
def app(factory: sessionmaker[Session]) -> FastAPI:
    return create_app(factory=factory)


@pytest.fixture
def anonymous(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


@pytest.fixture
def make_user(factory: sessionmaker[Session]) -> Callable[..., int]:
    def make(username: str, role: Role = Role.ADMIN, password: str = PASSWORD) -> int:
        with transaction(factory) as s:
            return create_user(s, username, password, role=role, timezone="UTC").id

    return make


@pytest.fixture
def token_of(
    factory: sessionmaker[Session], make_user: Callable[..., int]
) -> Callable[[Role], dict[str, str]]:
    """The bearer header of a new user's token, for ``role``."""

    def token(role: Role) -> dict[str, str]:
        user_id = make_user(f"{role.value}-user", role)
        with transaction(factory) as s:
            secret = create_token(s, f"{role.value} token", user_id=user_id).token
        return {"Authorization": f"Bearer {secret}"}

    return token


@pytest.fixture
def signed_in(app: FastAPI, make_user: Callable[..., int]) -> Callable[..., TestClient]:
    """A client signed in as a new user of ``role``: the session cookie set, no CSRF header yet."""
    clients: list[TestClient] = []

    def sign_in(username: str = "alice", role: Role = Role.ADMIN) -> TestClient:
        make_user(username, role)
        client = TestClient(app, raise_server_exceptions=False)
        client.__enter__()
        clients.append(client)
        response = client.post("/api/v1/auth/sign-in", json={"username": username, "password": PASSWORD})
        assert response.status_code == 200, response.text
        return client

    yield sign_in  # type: ignore[misc]
    for client in clients:
        client.__exit__(None, None, None)
