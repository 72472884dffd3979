"""An API client on the root ``factory`` (so every API test runs on SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from orderly.api import create_app
from orderly.auth.domain import Scope
from orderly.auth.service import create_token
from orderly.core.db import transaction


@pytest.fixture
def app(factory: sessionmaker[Session]) -> FastAPI:
    return create_app(factory=factory)


@pytest.fixture
def token(factory: sessionmaker[Session]) -> str:
    """An admin token: it may do everything the API offers."""
    with transaction(factory) as s:
        return create_token(s, "tester", scope=Scope.ADMIN).token


@pytest.fixture
def client(app: FastAPI, token: str) -> Iterator[TestClient]:
    """Sends the admin token of an API user named ``tester``; errors come back as responses, not raised."""
    with TestClient(app, headers={"Authorization": f"Bearer {token}"}, raise_server_exceptions=False) as c:
        yield c


@pytest.fixture
def anonymous(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c
