"""Runs ``orderly`` in-process against the test database, on SQLite and on PostgreSQL."""

from __future__ import annotations

import traceback
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from cryptography.fernet import Fernet
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner, Result

from orderly.cli import app, common
from orderly.core.config import get_settings
from tests.conftest import POSTGRES, _postgres_database

KEY = Fernet.generate_key().decode()


class Cli:
    """``cli("stock", "show", "SKU-1")`` runs the command and checks its exit code.

    Settings are read afresh on every run, as each run of the real command is a new process.
    """

    def __init__(self) -> None:
        self.runner = CliRunner()

    def __call__(self, *args: str, code: int = 0, input: str | None = None) -> Result:
        get_settings.cache_clear()
        result = self.runner.invoke(app, list(args), input=input)
        crashed = result.exception is not None and not isinstance(result.exception, SystemExit)
        detail = "".join(traceback.format_exception(result.exception)) if crashed and result.exception else ""
        assert result.exit_code == code, f"exit {result.exit_code}\n{result.output}\n{detail}"
        assert not crashed, f"the command crashed instead of reporting:\n{detail}"
        return result


def rows(output: str, first_cell: str) -> list[list[str]]:
    """The cells of the Rich table rows in ``output`` whose first cell is ``first_cell``."""
    found = []
    for line in output.splitlines():
        cells = [c.strip() for c in line.strip().strip("│").split("│")]
        if cells and cells[0] == first_cell:
            found.append(cells)
    return found


@pytest.fixture
def cli(db_url: str, factory: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch) -> Iterator[Cli]:
    """The CLI on the emptied test database (``factory`` empties it)."""
    monkeypatch.setenv("ORDERLY_DATABASE_URL", db_url)
    monkeypatch.setenv("ORDERLY_SECRET_KEY", KEY)  # as every host of a shared database must have
    # Wide tables, so no cell is cut or wrapped (pytest fixes COLUMNS at 80 before the consoles exist).
    for console in (common.out, common.err):
        monkeypatch.setattr(console, "width", 250)
    monkeypatch.delenv("ORDERLY_INGEST_BATCH_SIZE", raising=False)
    yield Cli()
    get_settings.cache_clear()


@pytest.fixture
def empty_db(
    cli: Cli, db_url: str, tmp_path: Path, worker_id: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    """A database of the same kind with no tables at all, which the CLI is pointed at."""
    if db_url.startswith("sqlite"):
        url = f"sqlite:///{tmp_path / 'empty.db'}"
        name = None
    else:
        name = f"orderly_test_cli_empty_{worker_id}"
        url = _postgres_database(name)
    monkeypatch.setenv("ORDERLY_DATABASE_URL", url)
    yield url
    if name is not None:
        with psycopg.connect(f"{POSTGRES}/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


from tests.channels.test_tasks import platforms, worker  # noqa: E402, F401 - fixtures of the in-memory platform
