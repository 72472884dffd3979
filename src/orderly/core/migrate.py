"""Run the Alembic migrations from code (the CLI, the start command and the tests use this)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def made_here(dialect: str) -> Callable[..., bool]:
    """Autogenerate's ``include_object`` for a database of ``dialect``: the model's objects made only on
    another database (``Index(...).ddl_if(dialect=...)``) are not missing from this one."""

    def include(obj: Any, _name: str | None, _type: str, reflected: bool, _compare_to: Any) -> bool:
        only = getattr(obj, "_ddl_if", None)
        return reflected or only is None or only.dialect in (None, dialect)

    return include


def upgrade(url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(url), revision)


def schema_state(engine: Engine) -> str:
    """``up to date``, ``empty`` (no Orderly tables yet) or ``behind`` (migrations to run)."""
    head = ScriptDirectory(str(MIGRATIONS)).get_current_head()
    with engine.connect() as connection:
        current = MigrationContext.configure(connection).get_current_revision()
    if current is None:
        return "empty"
    return "up to date" if current == head else "behind"
