"""Database engine, session and the column types shared by every context.

One transaction per request or job: callers open it with :func:`transaction`, services never commit.
A factory makes either writing or reading transactions (:func:`make_session_factory`). SQLite runs in
WAL mode: a writing transaction takes the write lock when it begins (``BEGIN IMMEDIATE``), so
concurrent writers queue instead of failing half-way; a reading one begins deferred and takes no lock
at all, so it neither waits for writers nor holds them up. PostgreSQL uses row locks (see
``inventory.repository.lock_levels``) and runs reading transactions ``READ ONLY``. On both, a reading
transaction that tries to write fails at once.
"""

from __future__ import annotations

import gc
import logging
import random
import threading
import time
import zlib
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import cache
from itertools import chain
from typing import Any, TypeVar

from psycopg.types.json import Json, Jsonb
from sqlalchemy import (
    JSON,
    URL,
    BigInteger,
    Connection,
    DateTime,
    Engine,
    Integer,
    MetaData,
    Table,
    any_,
    bindparam,
    cast,
    create_engine,
    event,
    literal,
    make_url,
    update,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import NullType, TypeDecorator

from orderly.core import jsontext
from orderly.core.errors import Conflict

T = TypeVar("T")
log = logging.getLogger(__name__)

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
        value = _as_utc(value)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    @staticmethod
    def sqlite_text(value: datetime | None) -> str | None:
        """The text SQLAlchemy's SQLite bind writes for this value, in UTC, without its two calls and
        dict per value: bulk inserts convert every timestamp of a batch."""
        if value is None:
            return None
        v = _as_utc(value)
        return _SQLITE_DATETIME % (v.year, v.month, v.day, v.hour, v.minute, v.second, v.microsecond)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


_SQLITE_DATETIME = "%04d-%02d-%02d %02d:%02d:%02d.%06d"  # SQLAlchemy's SQLite DATETIME storage format


def _as_utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("naive datetime refused: store aware UTC")
    return value if value.tzinfo is UTC else value.astimezone(UTC)


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


#: Execution options a factory's engine carries, read when each transaction begins.
_READ_ONLY = "orderly_read_only"
_LOCK_WAIT_MS = "orderly_lock_wait_ms"
#: How long a SQLite write waits for the write lock unless its factory says otherwise (jobs, the CLI).
SQLITE_LOCK_WAIT_MS = 60_000


def make_engine(url: str | URL, **kwargs: Any) -> Engine:
    if make_url(url).get_backend_name() == "sqlite":
        connect_args = {"timeout": SQLITE_LOCK_WAIT_MS / 1000, "isolation_level": None}
        kwargs.setdefault("json_serializer", jsontext.dumps_stored)
        engine = create_engine(url, connect_args=connect_args, **kwargs)
        _configure_sqlite(engine)
        return engine
    engine = create_engine(url, pool_pre_ping=True, **kwargs)
    _configure_postgres(engine)
    return engine


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        options = connection.get_execution_options()
        read_only = bool(options.get(_READ_ONLY))
        mode = (read_only, int(options.get(_LOCK_WAIT_MS, SQLITE_LOCK_WAIT_MS)))
        driver = connection.connection  # its info lives as long as the driver's connection
        if driver.info.get(_READ_ONLY) != mode:
            # On the driver's own cursor: settings of the connection, not statements of the transaction.
            cursor = driver.cursor()
            cursor.execute(f"PRAGMA query_only={int(read_only)}")
            cursor.execute(f"PRAGMA busy_timeout={mode[1]}")
            cursor.close()
            driver.info[_READ_ONLY] = mode
        # A write takes the write lock up front (a read that later upgrades to a write can deadlock);
        # a read takes none: in WAL mode it sees its snapshot while writers go on.
        connection.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


def _configure_postgres(engine: Engine) -> None:
    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        options = connection.get_execution_options()
        if options.get(_READ_ONLY):
            connection.exec_driver_sql("SET TRANSACTION READ ONLY")
        elif _LOCK_WAIT_MS in options:
            connection.exec_driver_sql(f"SET LOCAL lock_timeout = {int(options[_LOCK_WAIT_MS])}")


def make_session_factory(
    engine: Engine, *, read_only: bool = False, lock_wait: float | None = None
) -> sessionmaker[Session]:
    """Sessions whose transactions write, or with ``read_only`` only read (and fail if they try to
    write). ``lock_wait``: seconds a write waits for a lock before it fails with a lock timeout
    (:func:`is_lock_timeout`); by default a minute on SQLite and as long as it takes on PostgreSQL."""
    options: dict[str, Any] = {}
    if read_only:
        options[_READ_ONLY] = True
    if lock_wait is not None:
        options[_LOCK_WAIT_MS] = max(1, round(lock_wait * 1000))
    return sessionmaker(
        engine.execution_options(**options) if options else engine, expire_on_commit=False, autoflush=False
    )


def engine_of(factory: sessionmaker[Session]) -> Engine:
    """The engine (and so the pool) a factory's sessions use."""
    bind = factory.kw["bind"]
    assert isinstance(bind, Engine)
    return bind


def is_lock_timeout(exc: BaseException) -> bool:
    """A lock waited for longer than the transaction's lock wait: SQLite's busy database, PostgreSQL's
    ``lock_not_available``."""
    if not isinstance(exc, OperationalError):
        return False
    return getattr(exc.orig, "sqlstate", None) == "55P03" or "database is locked" in str(exc.orig)


def _waits_briefly(factory: sessionmaker[Session]) -> bool:
    return _LOCK_WAIT_MS in engine_of(factory).get_execution_options()


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


class _CollectorPause:
    """Pause Python's cycle collector for one batch: a batch allocates many short-lived objects that
    reference counting frees anyway, and on a large heap the collector's passes cost a third of the
    batch. Nested and concurrent uses keep it off until the outermost one ends."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._depth = 0

    @contextmanager
    def __call__(self) -> Iterator[None]:
        with self._lock:
            self._depth += 1
            gc.disable()
        try:
            yield
        finally:
            with self._lock:
                self._depth -= 1
                if self._depth == 0:
                    gc.enable()


collector_paused = _CollectorPause()


def run_in_transaction(factory: sessionmaker[Session], work: Callable[[Session], T], attempts: int = 8) -> T:
    """Run ``work`` in one transaction, retrying it whole after a deadlock or lock timeout.

    A factory with a brief lock wait (a request's) gives up on the first lock timeout instead: its
    caller answers at once that the hub is busy rather than waiting again."""
    for attempt in range(1, attempts + 1):
        try:
            with transaction(factory) as session:
                return work(session)
        except (DBAPIError, RetryTransaction) as exc:
            if attempt == attempts or not (isinstance(exc, RetryTransaction) or is_retryable(exc)):
                raise
            if is_lock_timeout(exc) and _waits_briefly(factory):
                raise
            time.sleep(random.uniform(0, 0.02 * 2**attempt))  # jitter so racers do not collide again
    raise AssertionError("unreachable")


def in_conditions(session: Session, column: Any, values: Sequence[Any], sql_type: Any) -> list[Any]:
    """``column IN values`` as conditions to run one query each: a single ``= ANY(array)`` on
    PostgreSQL (one parameter, however many values), IN lists under the parameter limit elsewhere."""
    if _is_postgres(session):
        return [column == any_(pg_array(values, sql_type))]
    return [column.in_(part) for part in chunks(list(values))]


def pg_array(values: Sequence[Any], sql_type: Any) -> Any:
    """A PostgreSQL array of ``sql_type`` holding ``values``, bound as one parameter.

    The literal is bound untyped (psycopg sends text as ``unknown``), so the server reads the parameter
    as the array itself: a constant to the planner, whose length it knows and whose values it can hash.
    Bound as text and cast, it is an expression the planner cannot see into, and a plan kept from while
    the table was small scans every row against every value."""
    array = array_text(values)
    if isinstance(array, str):
        return cast(literal(array, NullType()), postgresql.ARRAY(sql_type))
    return cast(array, postgresql.ARRAY(sql_type))


def array_text(values: Sequence[Any]) -> str | list[Any]:
    """Integers and text as PostgreSQL's array literal (``{1,NULL,"a \"b\""}``): psycopg adapts a
    list value by value, some ten times slower for the thousands of keys a batch looks up than the
    server takes to read the literal. Values of any other type are left a list, for psycopg."""
    if all(type(value) is int for value in values):
        return "{" + ",".join(map(str, values)) + "}"
    if all(type(value) is str or value is None for value in values):
        return "{" + ",".join("NULL" if value is None else _quoted(value) for value in values) + "}"
    return list(values)


def _quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def chunks(items: list[T], size: int = 900) -> Iterator[list[T]]:
    """Keeps IN lists and VALUES lists under every database's bound-parameter limit."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


_COPY_FROM_ROWS = 50  # below this a staging table costs more than it saves
_PG_DIALECT = postgresql.dialect()  # type: ignore[no-untyped-call]  # only used to name column types


def _is_postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


@cache
def _pg_types(table: Table) -> dict[str, str]:
    return {col.name: col.type.compile(dialect=_PG_DIALECT) for col in table.columns}


def _pg_arrays(table: Table, rows: list[dict[str, Any]], columns: list[str]) -> dict[str, list[Any] | str]:
    """One array per column: the whole batch travels as a handful of parameters."""
    json_columns = {name for name, kind in _pg_types(table).items() if kind == "JSONB"}
    return {
        name: [_pg_value(row[name], True) for row in rows]
        if name in json_columns
        else array_text([row[name] for row in rows])
        for name in columns
    }


def _pg_value(value: Any, is_json: bool) -> Any:
    return Jsonb(value, jsontext.dumps_stored) if is_json and value is not None else value


Rows = Sequence[Sequence[Any]]


def _pg_copy(session: Session, target: str, table: Table, columns: Sequence[str], rows: Rows) -> None:
    """COPY rows in: psycopg formats them in C, the fastest way into PostgreSQL.

    Binary first: each value is written in its column's own format, which is quicker to format and for
    the server to read than text. Binary takes only values of the column's Python type (text for a VARCHAR, an
    aware datetime for a timestamp); a row with another (an int for a text column, say), which text
    COPY lets the column parse, sends the batch again as text, under a savepoint.
    """
    types = _pg_types(table)
    kinds = [_pg_binary_name(types[c]) for c in columns]
    json_at = [i for i, kind in enumerate(kinds) if kind in ("json", "jsonb")]
    connection = session.connection().connection.driver_connection
    assert connection is not None
    names = ", ".join(columns)
    try:
        with connection.transaction(), connection.cursor() as cursor:
            with cursor.copy(f"COPY {target} ({names}) FROM STDIN (FORMAT BINARY)") as copy:
                copy.set_types(kinds)
                for row in _json_wrapped(rows, json_at, kinds):
                    copy.write_row(row)
            return
    except (TypeError, ValueError, OverflowError):
        log.debug("COPY into %s falls back to text", target, exc_info=True)
    with connection.cursor() as cursor, cursor.copy(f"COPY {target} ({names}) FROM STDIN") as copy:
        for row in _json_wrapped(rows, json_at, kinds):
            copy.write_row(row)


def _json_wrapped(rows: Rows, json_at: list[int], kinds: list[str]) -> Iterator[Sequence[Any]]:
    """The rows with each JSON value wrapped to be written as the hub stores JSON text."""
    if not json_at:
        yield from rows
        return
    for row in rows:
        wrapped = list(row)
        for i in json_at:
            value = wrapped[i]
            if value is not None:
                wrapped[i] = (Jsonb if kinds[i] == "jsonb" else Json)(value, jsontext.dumps_stored)
        yield wrapped


@cache
def _pg_binary_name(compiled: str) -> str:
    """The type name psycopg knows a compiled column type by (``VARCHAR(20)`` is ``varchar``)."""
    name = compiled.split("(", 1)[0].strip().lower()
    return {
        "bigint": "int8",
        "integer": "int4",
        "smallint": "int2",
        "boolean": "bool",
        "float": "float8",
        "double precision": "float8",
        "timestamp with time zone": "timestamptz",
        "timestamp without time zone": "timestamp",
    }.get(name, name)


_Conversions = list[tuple[int, Callable[[Any], Any]]]  # (position in the row, conversion)


@cache
def _sqlite_processors(table: Table, columns: tuple[str, ...], dialect: Dialect) -> _Conversions:
    """(position, conversion) of each column that has one: the type's own bind processor, or for
    timestamps ``UTCDateTime.sqlite_text``, which writes the same text faster."""
    found: _Conversions = []
    for at, name in enumerate(columns):
        kind = table.c[name].type
        process = (
            UTCDateTime.sqlite_text
            if isinstance(kind, UTCDateTime)
            else kind.dialect_impl(dialect).bind_processor(dialect)
        )
        if process is not None:
            found.append((at, process))
    return found


@cache
def _sqlite_results(table: Table, columns: tuple[str, ...], dialect: Dialect) -> _Conversions:
    """(position, conversion) of each column read whose type converts what the driver returns."""
    found: _Conversions = []
    for at, name in enumerate(columns):
        process = table.c[name].type.dialect_impl(dialect).result_processor(dialect, None)
        if process is not None:
            found.append((at, process))
    return found


def _sqlite_params(session: Session, table: Table, columns: Sequence[str], rows: Rows) -> list[Any]:
    """Rows as the driver takes them, through the same type conversions SQLAlchemy applies."""
    return _convert(rows, _sqlite_processors(table, tuple(columns), session.get_bind().dialect))


def _convert(rows: Rows, processors: _Conversions, *, once: bool = True) -> list[Any]:
    """Rows as tuples (what the driver takes), with the columns that have a conversion converted, a
    column at a time so no Python loop runs per row; ``once``: each distinct object once (values
    written; values read stay apart, so no two rows share a list read from JSON)."""
    if not processors:
        return list(map(tuple, rows))
    values: list[Any] = list(zip(*rows, strict=True))
    for at, process in processors:
        values[at] = _converted(process, values[at]) if once else map(process, values[at])
    return list(zip(*values, strict=True))


def _converted(process: Callable[[Any], Any], column: Sequence[Any]) -> Iterator[Any]:
    """``process`` of each value, once per distinct object: a batch repeats its clock reading and each
    order's timestamps on all its rows. Without a Python loop per value (the rows keep every object
    alive, so their ids are theirs throughout)."""
    ids = list(map(id, column))
    distinct = dict(zip(ids, column, strict=True))
    done = dict(zip(distinct, map(process, distinct.values()), strict=True))
    return map(done.__getitem__, ids)


def _pg_params(table: Table, columns: Sequence[str], rows: Rows) -> list[tuple[Any, ...]]:
    types = _pg_types(table)
    json = [types[c] == "JSONB" for c in columns]
    return [tuple(_pg_value(v, j) for v, j in zip(row, json, strict=True)) for row in rows]


def insert_rows(
    session: Session,
    model: Any,
    columns: Sequence[str],
    rows: Rows,
    *,
    skip_conflicts_on: list[str] | None = None,
    conflict_target: str | None = None,
    returning: list[str] | None = None,
) -> list[tuple[Any, ...]]:
    """Insert many rows (sequences of values in ``columns`` order) at once.

    With ``skip_conflicts_on`` rows that collide on that unique key are left out
    (``ON CONFLICT DO NOTHING``); ``conflict_target`` gives the key as SQL instead, e.g. to name a
    partial unique index (``(a, b) WHERE c IS NOT NULL``); ``returning`` columns of the rows actually
    inserted come back, in no particular order. PostgreSQL: COPY, through a temporary staging table
    when conflicts or returned values are needed; SQLite, and a few rows anywhere: the driver's
    executemany, or multi-row VALUES when values come back.
    """
    if not rows:
        return []
    table: Table = model.__table__
    names = ", ".join(columns)
    if skip_conflicts_on:
        conflict_target = f"({', '.join(skip_conflicts_on)})"
    suffix = f" ON CONFLICT {conflict_target} DO NOTHING" if conflict_target else ""
    suffix += f" RETURNING {', '.join(returning)}" if returning else ""
    postgres = _is_postgres(session)
    if postgres and len(rows) >= _COPY_FROM_ROWS:
        if not suffix:
            _pg_copy(session, table.name, table, columns, rows)
            return []
        # One staging table per column set: a later insert with other columns must not reuse it.
        stage = f"stage_{table.name}_{zlib.crc32(names.encode()):08x}"
        connection = session.connection()
        connection.exec_driver_sql(
            f"CREATE TEMP TABLE IF NOT EXISTS {stage} ON COMMIT DELETE ROWS "
            f"AS SELECT {names} FROM {table.name} WITH NO DATA"
        )
        _pg_copy(session, stage, table, columns, rows)
        result = connection.exec_driver_sql(
            f"INSERT INTO {table.name} ({names}) SELECT {names} FROM {stage}{suffix}"
        )
        found = [tuple(r) for r in result] if returning else []
        connection.exec_driver_sql(f"TRUNCATE {stage}")
        return found
    params = _pg_params(table, columns, rows) if postgres else _sqlite_params(session, table, columns, rows)
    one = f"({', '.join(['%s' if postgres else '?'] * len(columns))})"
    if not returning:
        session.connection().exec_driver_sql(
            f"INSERT INTO {table.name} ({names}) VALUES {one}{suffix}", params
        )
        return []
    found = []
    per_statement = max(1, 30_000 // len(columns))  # SQLite allows 32,766 bound values per statement
    for part in chunks(params, per_statement):
        sql = f"INSERT INTO {table.name} ({names}) VALUES {', '.join([one] * len(part))}{suffix}"
        flat = tuple(chain.from_iterable(part))
        found.extend(tuple(r) for r in session.connection().exec_driver_sql(sql, flat))
    return found


def next_ids(session: Session, model: Any, count: int) -> list[int]:
    """``count`` ids for new rows of ``model``, so rows can be written with their ids. PostgreSQL: drawn
    from the table's sequence. SQLite: those after the highest id, which are the ones SQLite itself
    would give; no other writer can take them meanwhile, since a write transaction holds the database's
    write lock from its start (``BEGIN IMMEDIATE``)."""
    table = model.__table__.name
    if not _is_postgres(session):
        first = (
            session.connection().exec_driver_sql(f"SELECT coalesce(max(id), 0) + 1 FROM {table}").scalar_one()
        )
        return list(range(first, first + count))
    sequence = f"pg_get_serial_sequence('{table}', 'id')"
    sql = f"SELECT nextval({sequence}) FROM generate_series(1, %(n)s)"
    return [row[0] for row in session.connection().exec_driver_sql(sql, {"n": count})]


def insert_with_ids(
    session: Session, model: Any, columns: Sequence[str], rows: Rows, ids: Sequence[int] | None = None
) -> list[int]:
    """Insert rows (in ``columns`` order) with ``ids`` (by default :func:`next_ids`), at once
    (COPY on PostgreSQL, one prepared statement on SQLite); return the ids, in the rows' order."""
    if not rows:
        return []
    ids = next_ids(session, model, len(rows)) if ids is None else ids
    insert_rows(session, model, ("id", *columns), [(i, *row) for i, row in zip(ids, rows, strict=True)])
    return list(ids)


def is_unique_violation(exc: BaseException) -> bool:
    original = exc.orig if isinstance(exc, DBAPIError) else exc
    return getattr(original, "sqlstate", None) == "23505" or getattr(original, "sqlite_errorname", None) in (
        "SQLITE_CONSTRAINT_UNIQUE",
        "SQLITE_CONSTRAINT_PRIMARYKEY",
    )


def select_by_keys(
    session: Session,
    model: Any,
    key_columns: list[str],
    keys: list[tuple[Any, ...]],
    columns: list[str],
) -> list[tuple[Any, ...]]:
    """Rows whose composite key is among ``keys``, with one statement per batch; they are read, never
    locked (orders are locked through ``orders.repository.lock_orders``, stock through ``lock_levels``)."""
    if not keys:
        return []
    keys = list(dict.fromkeys(keys))  # a key given twice finds its row once, as with IN
    table: Table = model.__table__
    if _is_postgres(session):
        types = _pg_types(table)
        arrays = {c: array_text([k[i] for k in keys]) for i, c in enumerate(key_columns)}
        sql = (
            f"SELECT {', '.join(f't.{c}' for c in columns)} FROM {table.name} t "
            f"JOIN unnest({', '.join(f'%({c})s::{types[c]}[]' for c in key_columns)}) "
            f"AS k({', '.join(key_columns)}) USING ({', '.join(key_columns)})"
        )
        return [tuple(r) for r in session.connection().exec_driver_sql(sql, arrays)]
    # Plain SQL with the keys in one flat tuple (SQLAlchemy renders an expanding IN of tuples value by
    # value on each call), joined from the keys so the key's index is searched, not the table scanned;
    # the types' own result conversions are applied here instead.
    names = ", ".join(key_columns)
    one = f"({', '.join(['?'] * len(key_columns))})"
    found: list[Any] = []
    for part in chunks(keys, 30_000 // len(key_columns)):  # under SQLite's 32,766 bound values
        sql = (
            f"WITH k({names}) AS (VALUES {', '.join([one] * len(part))}) "
            f"SELECT {', '.join(f't.{c}' for c in columns)} FROM k CROSS JOIN {table.name} t USING ({names})"
        )
        params = tuple(chain.from_iterable(_sqlite_params(session, table, key_columns, part)))
        found.extend(session.connection().exec_driver_sql(sql, params))
    processors = _sqlite_results(table, tuple(columns), session.get_bind().dialect)
    return _convert(found, processors, once=False) if found else []


def update_rows(
    session: Session, model: Any, rows: list[dict[str, Any]], *, increment: frozenset[str] = frozenset()
) -> None:
    """Update many rows by ``id`` with one statement; columns in ``increment`` are added to, the rest set.

    Every row carries the same columns.
    """
    if not rows:
        return
    table: Table = model.__table__
    columns = [c for c in rows[0] if c != "id"]

    def target(name: str, value: Any) -> Any:
        return table.c[name] + value if name in increment else value

    if _is_postgres(session):
        types = _pg_types(table)
        assignments = ", ".join(
            f"{c} = {table.name}.{c} + v.{c}" if c in increment else f"{c} = v.{c}" for c in columns
        )
        sql = (
            f"UPDATE {table.name} SET {assignments} "
            f"FROM unnest({', '.join(f'%({c})s::{types[c]}[]' for c in ['id', *columns])}) "
            f"AS v({', '.join(['id', *columns])}) WHERE {table.name}.id = v.id"
        )
        session.connection().exec_driver_sql(sql, _pg_arrays(table, rows, ["id", *columns]))
        return
    # Bound names must differ from column names in an executemany UPDATE.
    stmt = (
        update(table)
        .where(table.c.id == bindparam("p_id"))
        .values({c: target(c, bindparam(f"p_{c}")) for c in columns})
    )
    session.connection().execute(stmt, [{f"p_{k}": v for k, v in row.items()} for row in rows])


def add_to_rows(
    session: Session, model: Any, keys: Sequence[str], amounts: Sequence[str], rows: Rows
) -> None:
    """Add ``amounts`` to the rows of ``model`` with these ``keys`` (rows in ``(*keys, *amounts)``
    order), making those not there yet: one upsert that adds to what is stored, so concurrent writers
    never lose each other's counts; rows are taken in the order given (callers give key order, as
    every writer does, so two never wait on each other in a circle). One statement of arrays on
    PostgreSQL, one prepared statement on SQLite: the SQL is the same whatever the number of rows."""
    if not rows:
        return
    table: Table = model.__table__
    columns = [*keys, *amounts]
    names = ", ".join(columns)
    added = ", ".join(f"{c} = {table.name}.{c} + excluded.{c}" for c in amounts)
    conflict = f"ON CONFLICT ({', '.join(keys)}) DO UPDATE SET {added}"
    if _is_postgres(session):
        types = _pg_types(table)
        arrays = ", ".join(f"%({c})s::{types[c]}[]" for c in columns)
        by_column = _pg_arrays(table, [dict(zip(columns, row, strict=True)) for row in rows], columns)
        sql = f"INSERT INTO {table.name} ({names}) SELECT * FROM unnest({arrays}) {conflict}"
        session.connection().exec_driver_sql(sql, by_column)
        return
    values = ", ".join("?" * len(columns))
    session.connection().exec_driver_sql(
        f"INSERT INTO {table.name} ({names}) VALUES ({values}) {conflict}",
        _sqlite_params(session, table, columns, rows),
    )


class RetryTransaction(Exception):
    """Raised inside a unit of work when a competing transaction won a race; the work is run again."""


def flush_or_conflict(session: Session, what: str) -> None:
    """Flush new rows; a unique constraint that refuses them becomes a clear 409, not a 500."""
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError as exc:
        raise Conflict(f"{what} already exists") from exc
