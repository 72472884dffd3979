"""``orderly start``, ``migrate`` and ``token``: schema, the first token shown once, tokens stored hashed."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from sqlalchemy import inspect, select, text, update
from sqlalchemy.orm import Session, sessionmaker

from orderly.auth import service as auth
from orderly.auth.domain import Scope
from orderly.auth.models import ApiToken, User
from orderly.auth.service import password_matches
from orderly.core.clock import utcnow
from orderly.core.db import make_engine, make_session_factory, transaction
from tests.cli.conftest import Cli

SECRET = re.compile(r"oly_[A-Za-z0-9_-]{40,}")


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> list[tuple[tuple[Any, ...], dict[str, Any]]]:
    """Calls to ``uvicorn.run``, which is not really started."""
    calls: list[tuple[tuple[Any, ...], dict[str, Any]]] = []
    monkeypatch.setattr(uvicorn, "run", lambda *args, **kwargs: calls.append((args, kwargs)))
    return calls


def _users(url: str) -> list[User]:
    engine = make_engine(url)
    try:
        with transaction(make_session_factory(engine)) as s:
            return list(s.scalars(select(User).order_by(User.id)))
    finally:
        engine.dispose()


def _tokens(url: str) -> list[ApiToken]:
    engine = make_engine(url)
    try:
        with transaction(make_session_factory(engine)) as s:
            return list(s.scalars(select(ApiToken).order_by(ApiToken.id)))
    finally:
        engine.dispose()


def _only_secret(output: str) -> str:
    found: list[str] = SECRET.findall(output)
    assert len(found) == 1, output
    return found[0]


def test_start_migrates_an_empty_database_and_shows_the_first_token_once(
    cli: Cli, empty_db: str, served: list[Any]
) -> None:
    first = cli("start", "--host", "0.0.0.0", "--port", "9123")

    assert "Your API token (shown once): oly_" in first.stdout
    secret = _only_secret(first.stdout)
    assert "http://0.0.0.0:9123/docs" in first.stdout
    ((args, kwargs),) = served
    http = kwargs.pop("http")
    assert (args, kwargs) == (
        ("orderly.api:create_app",),
        {
            "factory": True,
            "host": "0.0.0.0",
            "port": 9123,
            "access_log": True,
            "proxy_headers": False,
            "forwarded_allow_ips": None,
        },
    )
    assert http.head_timeout_s == 10  # ORDERLY_HEADER_TIMEOUT_S
    (token,) = _tokens(empty_db)
    assert (token.name, token.role, token.user_id, token.expires_at) == ("admin", "admin", None, None)
    assert token.token_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert token.prefix == secret[:10]

    (user,) = _users(empty_db)  # the first admin, whose password is printed once too
    password = re.search(r"password \(shown once\): (\S+)", first.stdout)
    assert password is not None
    assert (user.username, user.role, user.active) == ("admin", "admin", True)
    assert password_matches(user.password_hash, password[1])

    second = cli("start", "--port", "9123")
    assert "shown once" not in second.stdout
    assert not SECRET.search(second.stdout)
    assert len(_tokens(empty_db)) == 1
    assert len(served) == 2


def test_start_uses_settings_and_makes_a_new_token_once_all_are_revoked(
    cli: Cli, db_url: str, served: list[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ORDERLY_PORT", "8555")
    monkeypatch.setenv("ORDERLY_HEADER_TIMEOUT_S", "2.5")
    monkeypatch.setenv("ORDERLY_TRUSTED_PROXIES", "10.0.0.5")
    secret = _only_secret(cli("start", "--no-migrate").stdout)
    options = served[-1][1]
    assert options.pop("http").head_timeout_s == 2.5
    assert options == {
        "factory": True,
        "host": "127.0.0.1",
        "port": 8555,
        "access_log": True,
        "proxy_headers": True,
        "forwarded_allow_ips": "10.0.0.5",
    }
    assert "http://127.0.0.1:8555/docs" in cli("start", "--no-migrate").stdout

    (token,) = _tokens(db_url)
    cli("token", "revoke", str(token.id))
    again = _only_secret(cli("start", "--no-migrate").stdout)

    assert again != secret
    assert [t.revoked_at is None for t in _tokens(db_url)] == [False, True]


def test_start_on_the_embedded_database(
    cli: Cli, tmp_path: Path, served: list[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ORDERLY_DATABASE_URL")
    monkeypatch.setenv("ORDERLY_DATA_DIR", str(tmp_path / "data"))

    result = cli("start")

    assert "Your API token (shown once)" in result.stdout
    database = tmp_path / "data" / "orderly.db"
    assert database.exists()
    assert len(_tokens(f"sqlite:///{database}")) == 1


def test_migrate_creates_the_schema_and_is_idempotent(cli: Cli, empty_db: str) -> None:
    cli("migrate")
    result = cli("migrate")

    assert "up to date" in result.stdout
    engine = make_engine(empty_db)
    try:
        tables = set(inspect(engine).get_table_names())
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM alembic_version")).scalar() == 1
    finally:
        engine.dispose()
    assert {"orders", "stock_levels", "stock_ledger", "api_tokens", "ingest_rejections"} <= tables


def test_commands_on_an_unmigrated_database_say_to_migrate(cli: Cli, empty_db: str) -> None:
    result = cli("shop", "list", code=1)
    assert "run `orderly migrate` first" in result.stderr


def test_token_create_shows_the_secret_once_and_stores_only_its_hash(
    cli: Cli, db_url: str, factory: sessionmaker[Session]
) -> None:
    secret = _only_secret(cli("token", "create", "shopify-sync").stdout)

    (token,) = _tokens(db_url)
    assert token.name == "shopify-sync"
    assert token.token_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in (token.name, token.prefix, token.token_hash)
    with transaction(factory) as s:
        assert auth.holder(s, auth.digest(secret)) is not None

    listing = cli("token", "list").stdout
    assert "shopify-sync" in listing
    assert token.prefix in listing
    assert secret not in listing
    assert "live" in listing


def test_token_revoke(cli: Cli, db_url: str, factory: sessionmaker[Session]) -> None:
    secret = _only_secret(cli("token", "create", "old").stdout)
    cli("token", "create", "new")
    old = _tokens(db_url)[0]

    assert f"Token {old.id} revoked" in cli("token", "revoke", str(old.id)).stdout

    assert [t.revoked_at is None for t in _tokens(db_url)] == [False, True]
    with transaction(factory) as s:
        assert auth.holder(s, auth.digest(secret)) is None
    assert "revoked" in cli("token", "list").stdout


def test_token_errors(cli: Cli, db_url: str) -> None:
    assert "no token 999" in cli("token", "revoke", "999", code=1).stderr
    cli("token", "create", "  ", code=2)
    assert "--expires" in cli("token", "create", "x", "--expires", "soon", code=2).stderr
    assert "--expires" in cli("token", "create", "x", "--expires", "2030-01-01T00:00", code=2).stderr
    cli("token", "create", "x", "--scope", "root", code=2)
    assert "in the future" in cli("token", "create", "x", "--expires", "2020-01-01T00:00Z", code=1).stderr
    assert _tokens(db_url) == []


def test_token_create_with_a_scope_and_an_expiry(cli: Cli, db_url: str) -> None:
    cli("token", "create", "sync")
    cli("token", "create", "dashboard", "--scope", "read", "--expires", "12h")
    cli("token", "create", "ops", "--scope", "admin", "--expires", "2030-01-31T00:00:00+01:00")

    sync, dashboard, ops = _tokens(db_url)
    assert (sync.role, sync.expires_at) == ("writer", None)
    assert dashboard.role == "reader"
    assert dashboard.expires_at is not None
    assert abs((dashboard.expires_at - utcnow()).total_seconds() - 12 * 3600) < 60
    assert (ops.role, ops.expires_at) == ("admin", datetime(2030, 1, 30, 23, tzinfo=UTC))
    listing = cli("token", "list").stdout
    assert "reader" in listing
    assert "2030-01-30 23:00 UTC" in listing


def test_start_makes_a_new_admin_token_once_the_last_one_expired(
    cli: Cli, db_url: str, factory: sessionmaker[Session], served: list[Any]
) -> None:
    with transaction(factory) as s:
        auth.create_token(s, "old admin", scope=Scope.ADMIN, expires_at=utcnow() + timedelta(seconds=1))
        auth.create_token(s, "sync", scope=Scope.WRITE)
    assert "API token (shown once)" not in cli("start", "--no-migrate").stdout
    with transaction(factory) as s:
        s.execute(
            update(ApiToken)
            .values(expires_at=utcnow() - timedelta(seconds=1))
            .where(ApiToken.role == "admin")
        )

    again = cli("start", "--no-migrate").stdout
    assert "API token (shown once)" in again
    assert "password (shown once)" not in again  # the first admin user is made once
    assert [(t.name, t.role) for t in _tokens(db_url)][-1] == ("admin", "admin")


def test_status_names_the_data_folder_and_database_and_fails_until_migrated(
    cli: Cli, empty_db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ORDERLY_DATA_DIR", str(tmp_path / "data"))

    before = cli("status", code=1)
    cli("migrate")
    after = cli("status")

    assert f"Data folder:   {tmp_path / 'data'}" in after.output
    assert "run `orderly migrate`" in before.output
    assert "Schema:        up to date" in after.output
    assert "Commands work on the database directly" in after.output
