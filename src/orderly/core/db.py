"""Database engine, session and the column types shared by every context.

One transaction per request or job: callers open it with :func:`transaction`, services never commit.
SQLite runs in WAL mode and takes the write lock when a transaction begins (``BEGIN IMMEDIATE``), so
concurrent writers queue instead of failing half-way; PostgreSQL uses row locks (see
``inventory.repository.lock_levels``).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy import JSON, BigInteger, DateTime, Engine, Integer, MetaData, create_engine, event, insert
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

from orderly.core.errors import Conflict

T = TypeVar("T")

# Integer ids: BIGINT on PostgreSQL, INTEGER (the rowid alias) on SQLite.
BigId = BigInteger().with_variant(Integer(), "sqlite")
JsonValue = JSON().with_variant(JSONB(), "postgresql")


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC in, aware UTC out, on both databases (SQLite keeps no zone of its own)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime refused: store aware UTC")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(
        naming_convention={
            "ix": "ix_%(column_0_label)s",
            "uq": "uq_%(table_name)s_%(column_0_name)s",
            "ck": "ck_%(table_name)s_%(constraint_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )


def make_engine(url: str, **kwargs: Any) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 60, "isolation_level": None}, **kwargs)
        _configure_sqlite(engine)
        return engine
    return create_engine(url, pool_pre_ping=True, **kwargs)


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=60000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        # Take the write lock up front: a read that later upgrades to a write can deadlock in SQLite.
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False, autoflush=False)


def is_retryable(exc: BaseException) -> bool:
    """Deadlocks and serialization failures (PostgreSQL) and a busy database (SQLite) are worth a retry."""
    if isinstance(exc, DBAPIError):
        code = getattr(exc.orig, "sqlstate", None)
        if code in {"40001", "40P01", "55P03"}:
            return True
        if isinstance(exc, OperationalError) and "locked" in str(exc.orig).lower():
            return True
    return False


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work: commit on success, roll back on any error."""
    with factory() as session, session.begin():
        yield session


def run_in_transaction(factory: sessionmaker[Session], work: Callable[[Session], T], attempts: int = 8) -> T:
    """Run ``work`` in one transaction, retrying it whole after a deadlock or lock timeout."""
    for attempt in range(1, attempts + 1):
        try:
            with transaction(factory) as session:
                return work(session)
        except (DBAPIError, RetryTransaction) as exc:
            if attempt == attempts or not (isinstance(exc, RetryTransaction) or is_retryable(exc)):
                raise
            time.sleep(random.uniform(0, 0.02 * 2**attempt))  # jitter so racers do not collide again
    raise AssertionError("unreachable")


def insert_or_ignore(session: Session, table: Any, conflict_columns: list[str]) -> Any:
    """``INSERT ... ON CONFLICT (...) DO NOTHING`` for the session's database: the database decides."""
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    return insert(table).on_conflict_do_nothing(index_elements=conflict_columns)


def chunks(items: list[T], size: int = 900) -> Iterator[list[T]]:
    """Keeps IN lists and VALUES lists under every database's bound-parameter limit."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


def bulk_insert(session: Session, table: Any, rows: list[dict[str, Any]]) -> None:
    """Append many rows in as few round trips as the driver allows (no ids come back)."""
    if rows:
        session.connection().execute(insert(table), rows)


class RetryTransaction(Exception):
    """Raised inside a unit of work when a competing transaction won a race; the work is run again."""


def flush_or_conflict(session: Session, what: str) -> None:
    """Flush new rows; a unique constraint that refuses them becomes a clear 409, not a 500."""
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError as exc:
        raise Conflict(f"{what} already exists") from exc
