"""One configuration wherever a command runs: the data folder resolves to one absolute place."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from orderly.core.config import get_settings


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
