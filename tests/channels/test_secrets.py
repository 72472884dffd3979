"""The key that encrypts shop credentials: where it lives, who may read it, and a shared database never
running on a key only one host has."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from pydantic import ValidationError
from typer.testing import CliRunner

from orderly.api import create_app
from orderly.channels.secrets import key_for, seal, unseal, unseal_one
from orderly.cli import app
from orderly.core.config import Settings, get_settings
from orderly.core.errors import DomainError
from orderly.core.redact import redact

SHARED = "postgresql+psycopg://orderly@db.example:5432/orderly"


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_embedded_setup_makes_its_key_file_readable_by_its_owner_only(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data", _env_file=None)

    key = key_for(settings)

    assert (tmp_path / "data" / "secret.key").read_text() == key
    assert _mode(tmp_path / "data" / "secret.key") == 0o600
    assert _mode(tmp_path / "data") == 0o700
    assert key_for(settings) == key
    assert [p.name for p in (tmp_path / "data").iterdir()] == ["secret.key"]  # no draft left behind


def test_a_key_file_others_can_read_is_made_owner_only_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = Settings(data_dir=tmp_path, _env_file=None)
    key_for(settings)
    (tmp_path / "secret.key").chmod(0o644)

    key_for(settings)

    assert _mode(tmp_path / "secret.key") == 0o600
    assert f"{tmp_path / 'secret.key'} could be read by other users (mode 644)" in caplog.text


def test_the_key_file_can_live_outside_the_data_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "conf").mkdir()
    (tmp_path / "conf" / ".env").write_text(
        "ORDERLY_DATA_DIR=data\nORDERLY_SECRET_KEY_FILE=../keys/orderly.key\n"
    )
    monkeypatch.setenv("ORDERLY_ENV_FILE", str(tmp_path / "conf" / ".env"))
    monkeypatch.delenv("ORDERLY_DATA_DIR")
    get_settings.cache_clear()
    settings = get_settings()
    get_settings.cache_clear()

    sealed = seal(settings, {"access_token": "shpat_outside"})

    assert settings.key_file == tmp_path / "keys" / "orderly.key"
    assert _mode(tmp_path / "keys" / "orderly.key") == 0o600
    assert not (tmp_path / "conf" / "data" / "secret.key").exists()
    assert unseal(settings, sealed) == {"access_token": "shpat_outside"}


def test_a_key_and_a_key_file_at_once_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="not both"):
        Settings(secret_key=Fernet.generate_key().decode(), secret_key_file=tmp_path / "k", _env_file=None)


def test_a_file_that_holds_no_key_is_refused_clearly(tmp_path: Path) -> None:
    (tmp_path / "k").write_text("not a key\n")
    (tmp_path / "k").chmod(0o600)
    with pytest.raises(DomainError, match=f"the key file {tmp_path / 'k'} holds no Fernet key"):
        key_for(Settings(secret_key_file=tmp_path / "k", _env_file=None))


def test_a_shared_database_without_a_key_stores_no_credentials_and_makes_no_key_file(tmp_path: Path) -> None:
    settings = Settings(database_url=SHARED, data_dir=tmp_path, _env_file=None)

    with pytest.raises(DomainError, match=r"set ORDERLY_SECRET_KEY .* or ORDERLY_SECRET_KEY_FILE"):
        seal(settings, {"access_token": "shpat_x"})
    assert list(tmp_path.iterdir()) == []


def test_a_shared_database_takes_a_key_or_an_existing_key_file(tmp_path: Path) -> None:
    key = Fernet.generate_key().decode()
    (tmp_path / "shared.key").write_text(key)
    missing = Settings(database_url=SHARED, secret_key_file=tmp_path / "elsewhere.key", _env_file=None)

    assert key_for(Settings(database_url=SHARED, secret_key=key, _env_file=None)) == key
    assert (
        key_for(Settings(database_url=SHARED, secret_key_file=tmp_path / "shared.key", _env_file=None)) == key
    )
    with pytest.raises(DomainError, match=f"{tmp_path / 'elsewhere.key'} does not exist"):
        key_for(missing)
    assert not (tmp_path / "elsewhere.key").exists()


def test_a_key_file_made_on_a_shared_database_before_is_named_not_used(tmp_path: Path) -> None:
    (tmp_path / "secret.key").write_text(Fernet.generate_key().decode())

    with pytest.raises(DomainError, match=f"stored so far use the key in {tmp_path / 'secret.key'}"):
        key_for(Settings(database_url=SHARED, data_dir=tmp_path, _env_file=None))


@pytest.mark.parametrize("command", [["start", "--no-migrate"], ["worker"]])
def test_the_hub_and_workers_refuse_to_start_on_a_shared_database_without_a_key(
    command: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ORDERLY_DATABASE_URL", SHARED)
    monkeypatch.setenv("ORDERLY_DATA_DIR", str(tmp_path))
    for name in ("ORDERLY_SECRET_KEY", "ORDERLY_SECRET_KEY_FILE"):
        monkeypatch.delenv(name, raising=False)
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, command)
    finally:
        get_settings.cache_clear()

    assert result.exit_code == 1
    assert "shop credentials need a key every host shares" in result.output
    with pytest.raises(DomainError):
        create_app(Settings(database_url=SHARED, data_dir=tmp_path, _env_file=None))


def test_no_new_file_is_readable_by_others_whatever_the_umask(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        key_for(Settings(secret_key_file=tmp_path / "keys" / "k", _env_file=None))
    finally:
        os.umask(old)
    assert _mode(tmp_path / "keys") == 0o700
    assert _mode(tmp_path / "keys" / "k") == 0o600


def test_one_credential_is_opened_alone_for_a_webhook_check(tmp_path: Path) -> None:
    """The webhook endpoint takes only the signing secret: the shop's other credentials are not kept
    by the process (so not among what it redacts either: it never held them)."""
    settings = Settings(data_dir=tmp_path / "data", _env_file=None)
    signing, token = f"whsec-{os.urandom(8).hex()}", f"plain-{os.urandom(8).hex()}"
    sealed = seal(settings, {"webhook_secret": signing, "access_token": token})

    assert unseal_one(settings, sealed, "webhook_secret") == signing
    assert unseal_one(settings, sealed, "missing") is None
    assert unseal_one(settings, None, "webhook_secret") is None
    assert signing not in redact(f"sent {signing}") and token in redact(f"sent {token}")
    assert unseal(settings, sealed) == {"webhook_secret": signing, "access_token": token}
