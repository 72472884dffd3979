"""What the benchmarks share: a fresh, migrated PostgreSQL database of their own."""

from __future__ import annotations

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from orderly.core.config import get_settings
from orderly.core.migrate import upgrade

LOCAL_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def postgres_url(database: str) -> str:
    """``database`` dropped, created again and migrated, on the hub's PostgreSQL server (the one of
    ORDERLY_DATABASE_URL when that is PostgreSQL) or else the local one; never the hub's own database."""
    configured = get_settings().database_url
    server = make_url(configured if configured.startswith("postgresql") else LOCAL_POSTGRES)
    admin = create_engine(server.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{database}"'))
    admin.dispose()
    url = server.set(database=database).render_as_string(hide_password=False)
    upgrade(url)
    return url
