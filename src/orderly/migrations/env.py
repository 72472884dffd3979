"""Alembic environment: one set of migrations for SQLite and PostgreSQL."""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from orderly.core.config import get_settings
from orderly.core.db import make_engine
from orderly.core.migrate import made_here
from orderly.models import Base

config = context.config


def _run(connection: Connection) -> None:
    # Batch mode lets later ALTERs work on SQLite, which rebuilds tables to change them.
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=True,
        include_object=made_here(connection.dialect.name),
    )
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = config.get_main_option("sqlalchemy.url") or get_settings().resolved_database_url()
    engine = make_engine(url)
    with engine.connect() as conn:
        _run(conn)
    engine.dispose()


run_online()
