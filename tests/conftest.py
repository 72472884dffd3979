"""Fixtures: every database test runs on SQLite and on PostgreSQL.

``ORDERLY_TEST_DATABASES`` picks the backends (default ``sqlite,postgresql``);
``ORDERLY_TEST_POSTGRES`` is the server (default the local one on 127.0.0.1:5432).
Each xdist worker gets its own PostgreSQL database and SQLite file, migrated with Alembic.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import fastapi.dependencies.models
import psycopg
import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker

from orderly.channels.amazon import AmazonConnector
from orderly.core.db import make_engine, make_session_factory
from orderly.core.migrate import upgrade
from orderly.models import Base
from orderly.review.caches import CACHES as REVIEW_CACHES

# The suite never touches the user's data folder (the embedded database, the key of shop credentials).
os.environ["ORDERLY_DATA_DIR"] = tempfile.mkdtemp(prefix="orderly-test-data-")

POSTGRES = os.environ.get("ORDERLY_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432")
BACKENDS = [
    b.strip() for b in os.environ.get("ORDERLY_TEST_DATABASES", "sqlite,postgresql").split(",") if b.strip()
]


def _postgres_database(name: str) -> str:
    with psycopg.connect(f"{POSTGRES}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return f"{POSTGRES.replace('postgresql://', 'postgresql+psycopg://', 1)}/{name}"


#: FastAPI's per-process caches of what it learned of each endpoint and dependency callable (4,096 of
#: each): a callable one app made (a closure over it, such as its docs page) keeps that whole app alive.
_FASTAPI_CALLABLE_CACHES = [
    f for f in vars(fastapi.dependencies.models).values() if hasattr(f, "cache_clear")
]


@pytest.fixture(autouse=True)
def _apps_forgotten() -> Iterator[None]:
    """Each test's apps are freed once it ends: held in those caches, about 8 MB an app, a worker of the
    suite grew past 4 GB."""
    yield
    for cached in _FASTAPI_CALLABLE_CACHES:
        cached.cache_clear()


@pytest.fixture(scope="session", params=BACKENDS)
def db_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, worker_id: str
) -> Iterator[str]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'orderly.db'}"
    else:
        # One database per test process, so parallel workers and parallel runs never share one.
        url = _postgres_database(f"orderly_test_{worker_id}_{os.getpid()}")
    upgrade(url)
    yield url
    if request.param != "sqlite":
        with psycopg.connect(f"{POSTGRES}/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')


@pytest.fixture(scope="session")
def engine(db_url: str) -> Iterator[Engine]:
    engine = make_engine(db_url)
    yield engine
    engine.dispose()


@pytest.fixture
def factory(engine: Engine) -> Iterator[sessionmaker[Session]]:
    """A session factory on an emptied database."""
    tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        else:
            for name in tables:
                conn.execute(text(f"DELETE FROM {name}"))
    REVIEW_CACHES.clear()
    AmazonConnector.forget_items()  # fresh shops reuse ids: an order id and stamp may come again
    yield make_session_factory(engine)


@pytest.fixture
def session(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One transaction for the test body, committed at the end (services never commit)."""
    with factory() as session, session.begin():
        yield session


@pytest.fixture
def tmp_dir(tmp_path: Path) -> Path:
    return tmp_path
