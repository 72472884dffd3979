"""One configuration wherever a command runs: the data folder resolves to one absolute place."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from orderly.core.config import Settings, get_settings
from orderly.core.db import make_engine


@pytest.fixture
def clean(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """No ORDERLY_ variables, the user's data folder under tmp_path, and two folders to stand in."""
    for name in ("ORDERLY_DATA_DIR", "ORDERLY_ENV_FILE", "ORDERLY_DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


def _settings_in(folder: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, str, Path | None]:
    monkeypatch.chdir(folder)
    get_settings.cache_clear()
    settings = get_settings()
    return settings.data_dir, settings.resolved_database_url(), settings.env_file


def test_without_configuration_every_folder_uses_the_users_data_folder(
    clean: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    here = _settings_in(clean / "a", monkeypatch)
    there = _settings_in(clean / "b", monkeypatch)

    assert here == there
    assert here[0] == clean / "xdg" / "orderly"
    assert here[1] == f"sqlite:///{clean / 'xdg' / 'orderly' / 'orderly.db'}"


def test_a_relative_data_folder_is_taken_from_the_env_files_folder(
    clean: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (clean / "a" / ".env").write_text("ORDERLY_DATA_DIR=data\n")

    beside = _settings_in(clean / "a", monkeypatch)
    monkeypatch.setenv("ORDERLY_ENV_FILE", str(clean / "a" / ".env"))
    elsewhere = _settings_in(clean / "b", monkeypatch)

    assert beside == elsewhere
    assert beside[0] == clean / "a" / "data" and beside[2] == clean / "a" / ".env"


def test_an_empty_data_folder_setting_means_the_default(clean: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (clean / "a" / ".env").write_text("ORDERLY_DATA_DIR=\n")

    assert _settings_in(clean / "a", monkeypatch)[0] == clean / "xdg" / "orderly"


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_data_folder_and_database_files_are_readable_by_their_owner_only(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data", _env_file=None)
    old = os.umask(0o022)
    try:
        engine = make_engine(settings.resolved_database_url())
        with engine.begin() as conn:  # WAL: the -wal and -shm files appear beside the database
            conn.execute(text("CREATE TABLE t (x INTEGER)"))
    finally:
        os.umask(old)
    try:
        files = sorted(p.name for p in (tmp_path / "data").iterdir())
        assert files == ["orderly.db", "orderly.db-shm", "orderly.db-wal"]
        assert _mode(tmp_path / "data") == 0o700
        assert {name: _mode(tmp_path / "data" / name) for name in files} == dict.fromkeys(files, 0o600)
    finally:
        engine.dispose()


def test_looser_data_files_found_are_made_owner_only_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    data = tmp_path / "data"
    data.mkdir(mode=0o755)
    data.chmod(0o755)
    for name in ("orderly.db", "orderly.db-wal", "orderly.db-shm"):
        (data / name).touch()
        (data / name).chmod(0o644)

    Settings(data_dir=data, _env_file=None).resolved_database_url()

    assert _mode(data) == 0o700
    assert all(_mode(data / name) == 0o600 for name in ("orderly.db", "orderly.db-wal", "orderly.db-shm"))
    assert (
        f"{data / 'orderly.db-wal'} could be read by other users (mode 644): now by its owner only"
        in caplog.text
    )


def test_looking_at_the_configuration_makes_no_database(tmp_path: Path) -> None:
    Settings(data_dir=tmp_path, _env_file=None).resolved_database_url(create=False)

    assert list(tmp_path.iterdir()) == []
