"""The Alembic migrations build exactly the schema the models describe, on both databases."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect, text

from orderly.channels.schemas import SyncSettings
from orderly.core.db import make_engine
from orderly.core.migrate import made_here, upgrade
from orderly.models import Base
from tests.conftest import BACKENDS, POSTGRES, _postgres_database


def test_migrated_schema_matches_the_models(engine: Engine) -> None:
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"include_object": made_here(conn.dialect.name)})
        differences = compare_metadata(context, Base.metadata)
    assert differences == []


def test_the_unique_order_key_is_enforced_by_the_database(engine: Engine) -> None:
    constraints = inspect(engine).get_unique_constraints("orders")
    assert {"shop_id", "external_id"} in [set(c["column_names"]) for c in constraints]


@pytest.fixture(params=BACKENDS)
def fresh_url(request: pytest.FixtureRequest, tmp_path: Path, worker_id: str) -> Iterator[str]:
    """An empty database of its own, to migrate step by step."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'fresh.db'}"
        return
    url = _postgres_database(f"orderly_fresh_{worker_id}_{os.getpid()}")
    yield url
    with psycopg.connect(f"{POSTGRES}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')


def test_rate_limits_that_let_no_call_go_are_dropped_by_the_migration(fresh_url: str) -> None:
    upgrade(fresh_url, "20261203_1145")
    limits = {"orders": [0, 10], "stock": [5.0, 0], "shipments": [2.0, 10], "order": [1e-300, 5]}
    engine = make_engine(fresh_url)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO shops (code, name, channel, settings, sync_enabled, created_at) VALUES "
                "('s', 's', 'shopify', :settings, false, CURRENT_TIMESTAMP)"
            ),
            {"settings": json.dumps({"rate_limits": limits, "poll_interval_s": 60})},
        )
    upgrade(fresh_url)

    with engine.connect() as conn:
        stored = conn.execute(text("SELECT settings FROM shops")).scalar_one()
    engine.dispose()
    settings = json.loads(stored) if isinstance(stored, str) else stored
    assert settings == {"rate_limits": {"shipments": [2.0, 10]}, "poll_interval_s": 60}
    SyncSettings.model_validate(settings)  # the poll reads them again


def test_the_oldest_live_token_becomes_admin_and_the_others_write_then_roles(fresh_url: str) -> None:
    upgrade(fresh_url, "20261203_1500")
    engine = make_engine(fresh_url)
    with engine.begin() as conn:
        for n, revoked in ((1, "CURRENT_TIMESTAMP"), (2, "NULL"), (3, "NULL")):
            conn.execute(
                text(
                    "INSERT INTO api_tokens (name, prefix, token_hash, created_at, revoked_at) "
                    f"VALUES ('t{n}', 'oly_{n}', 'hash{n}', CURRENT_TIMESTAMP, {revoked})"
                )
            )
    upgrade(fresh_url, "20261204_2307")

    with engine.connect() as conn:
        scopes = conn.execute(text("SELECT name, scope, expires_at FROM api_tokens ORDER BY id")).all()
        conn.execute(
            text(
                "INSERT INTO api_tokens (name, prefix, token_hash, scope, created_at) "
                "VALUES ('t4', 'oly_4', 'hash4', 'read', CURRENT_TIMESTAMP)"
            )
        )
        conn.commit()
    assert [tuple(row) for row in scopes] == [
        ("t1", "write", None),
        ("t2", "admin", None),
        ("t3", "write", None),
    ]
    upgrade(fresh_url)  # each scope becomes the role that keeps exactly its rights
    with engine.connect() as conn:
        roles = conn.execute(text("SELECT name, role, user_id FROM api_tokens ORDER BY id")).all()
    engine.dispose()
    assert [tuple(row) for row in roles] == [
        ("t1", "writer", None),
        ("t2", "admin", None),
        ("t3", "writer", None),
        ("t4", "reader", None),
    ]
