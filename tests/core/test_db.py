"""The bulk write helpers and column types, on both databases, on both sides of the COPY threshold."""

from __future__ import annotations

import gc
from datetime import UTC, datetime, timedelta, timezone
from types import SimpleNamespace

import pytest
from sqlalchemy import BigInteger, Column, Integer, MetaData, String, Table, func, insert, select, text
from sqlalchemy.dialects import sqlite
from sqlalchemy.exc import DBAPIError, StatementError
from sqlalchemy.orm import Session, sessionmaker

from orderly.catalog.models import Product
from orderly.channels.models import Shop
from orderly.core.db import (
    JsonValue,
    UTCDateTime,
    add_to_rows,
    collector_paused,
    in_conditions,
    insert_rows,
    insert_with_ids,
    is_unique_violation,
    make_engine,
    next_ids,
    pg_array,
    select_by_keys,
    transaction,
    update_rows,
)
from orderly.orders.models import OrderFigure, RawPayload

TIMES = [
    datetime(2026, 11, 11, 12, 0, tzinfo=UTC),  # no microseconds: SQLAlchemy still writes ".000000"
    datetime(2026, 11, 11, 12, 0, 5, 7, tzinfo=UTC),
    datetime(2026, 11, 12, 1, 30, 0, 123456, tzinfo=timezone(timedelta(hours=8))),  # day before in UTC
    datetime(2026, 3, 1, 23, 59, 59, 999999, tzinfo=timezone(timedelta(hours=-5, minutes=-30))),
    datetime(999, 1, 2, 3, 4, 5, tzinfo=UTC),  # a year of three digits is padded to four
    None,
]
JSONS = [
    {"name": "Zoë Łukasz 東京 \u2028", "emoji": "📦", "quote": '"\\'},
    {"big": 2**70, "negative": -(2**63), "float": 0.1, "list": [1, [2, [3, {"deep": None}]]]},
    [],
    "plain",
    None,  # stored as JSON null, as SQLAlchemy writes it
]


def test_the_sqlite_timestamp_fast_path_writes_what_the_type_writes() -> None:
    dialect = sqlite.dialect()  # type: ignore[no-untyped-call]
    kind = UTCDateTime()
    own = kind.dialect_impl(dialect).bind_processor(dialect)
    assert own is not None
    for value in TIMES:
        assert UTCDateTime.sqlite_text(value) == own(value)
    with pytest.raises(ValueError, match="naive datetime"):
        UTCDateTime.sqlite_text(datetime(2026, 1, 1))
    with pytest.raises(ValueError, match="naive datetime"):
        own(datetime(2026, 1, 1))


def test_bulk_inserts_on_sqlite_store_the_bytes_sqlalchemy_stores() -> None:
    table = Table(
        "typed",
        MetaData(),
        Column("id", Integer, primary_key=True),
        Column("at", UTCDateTime()),
        Column("doc", JsonValue),
        Column("n", Integer),
    )
    rows = [(k, at, doc, k) for k, (at, doc) in enumerate(zip(TIMES, [*JSONS, {"k": 1}], strict=True))]
    engine = make_engine("sqlite://")
    stored = []
    for bulk in (True, False):
        with engine.begin() as connection:
            table.drop(connection, checkfirst=True)
            table.create(connection)
            if bulk:
                insert_rows(
                    Session(bind=connection), SimpleNamespace(__table__=table), ("id", "at", "doc", "n"), rows
                )
            else:
                connection.execute(
                    insert(table), [dict(zip(("id", "at", "doc", "n"), r, strict=True)) for r in rows]
                )
            sql = "SELECT id, typeof(at), hex(at), typeof(doc), hex(doc), n FROM typed ORDER BY id"
            stored.append(connection.execute(text(sql)).all())
    bulk_bytes, own_bytes = stored
    assert bulk_bytes == own_bytes and len(bulk_bytes) == len(rows)


NOW = datetime(2026, 11, 11, 12, 0, tzinfo=UTC)
COLUMNS = ("sku", "name", "is_bundle", "created_at")


def _products(first: int, count: int) -> list[tuple[object, ...]]:
    return [(f"P-{n:05d}", f"Product {n}", False, NOW) for n in range(first, first + count)]


@pytest.mark.parametrize("count", [3, 120])  # below and above the COPY threshold
def test_insert_rows_skips_conflicts_and_returns_only_what_it_inserted(
    factory: sessionmaker[Session], count: int
) -> None:
    with transaction(factory) as s:
        first = insert_rows(
            s, Product, COLUMNS, _products(0, count), skip_conflicts_on=["sku"], returning=["sku"]
        )
    with transaction(factory) as s:
        again = insert_rows(
            s,
            Product,
            COLUMNS,
            _products(count - 1, count),
            skip_conflicts_on=["sku"],
            returning=["id", "sku"],
        )
        stored = s.scalar(select(Product).where(Product.sku == "P-00000"))

    assert sorted(sku for (sku,) in first) == [f"P-{n:05d}" for n in range(count)]
    assert sorted(sku for _, sku in again) == [f"P-{n:05d}" for n in range(count, 2 * count - 1)]
    assert stored is not None and stored.created_at == NOW  # types converted both ways


@pytest.mark.parametrize("count", [2, 80])
def test_update_rows_sets_and_increments_by_id(factory: sessionmaker[Session], count: int) -> None:
    with transaction(factory) as s:
        rows = insert_rows(s, Product, COLUMNS, _products(0, count), returning=["id"])
        ids = sorted(i for (i,) in rows)
        update_rows(s, Product, [{"id": i, "name": f"renamed {i}", "weight_g": 10} for i in ids])
        update_rows(s, Product, [{"id": i, "weight_g": i} for i in ids], increment=frozenset({"weight_g"}))
    with transaction(factory) as s:
        found = s.execute(select(Product.id, Product.name, Product.weight_g).order_by(Product.id)).all()

    assert [(i, name, weight) for i, name, weight in found] == [(i, f"renamed {i}", 10 + i) for i in ids]


def test_add_to_rows_adds_to_the_rows_there_and_makes_the_others(factory: sessionmaker[Session]) -> None:
    with transaction(factory) as s:
        shop = _shop_id(s, "figures")
        add_to_rows(
            s,
            OrderFigure,
            FIGURE_KEYS,
            FIGURE_AMOUNTS,
            [(1, shop, "USD", 1, 500, 1, 1), (2, shop, "USD", 2, 70, 0, 0)],
        )
    with transaction(factory) as s:
        add_to_rows(
            s,
            OrderFigure,
            FIGURE_KEYS,
            FIGURE_AMOUNTS,
            [(2, shop, "USD", -1, -30, 1, 0), (2, shop, "EUR", 4, 9, 0, 0)],
        )
        add_to_rows(s, OrderFigure, FIGURE_KEYS, FIGURE_AMOUNTS, [])
    with transaction(factory) as s:
        found = s.execute(
            select(*(OrderFigure.__table__.c[c] for c in (*FIGURE_KEYS, *FIGURE_AMOUNTS)))
        ).all()

    assert sorted(found) == [
        (1, shop, "USD", 1, 500, 1, 1),
        (2, shop, "EUR", 4, 9, 0, 0),
        (2, shop, "USD", 1, 40, 1, 0),
    ]


FIGURE_KEYS = ("quarter", "shop_id", "currency")
FIGURE_AMOUNTS = ("orders", "sales", "reviewed", "approved")


def test_select_by_keys_finds_composite_keys(factory: sessionmaker[Session]) -> None:
    with transaction(factory) as s:
        insert_rows(
            s,
            Shop,
            ("code", "name", "channel", "created_at"),
            [(f"s{n}", "S", "manual", NOW) for n in range(60)],
        )
        found = select_by_keys(
            s, Shop, ["code", "channel"], [("s1", "manual"), ("s59", "manual"), ("s2", "x")], ["code"]
        )

    assert sorted(code for (code,) in found) == ["s1", "s59"]


def test_select_by_keys_reads_values_as_their_types_do(factory: sessionmaker[Session]) -> None:
    shanghai = datetime(2026, 11, 11, 20, 0, 0, 7, tzinfo=timezone(timedelta(hours=8)))
    with transaction(factory) as s:
        s.add(Shop(code="typed", name="T", channel="manual", settings={"n": 2**70}, created_at=shanghai))
        s.flush()
        twice = [("typed", "manual"), ("typed", "manual")]
        found = select_by_keys(s, Shop, ["code", "channel"], twice, ["settings", "created_at"])
        read = s.execute(select(Shop.settings, Shop.created_at).where(Shop.code == "typed")).one()

    assert found == [tuple(read)]  # a key given twice finds its row once
    assert found[0][0] == {"n": 2**70} and found[0][1] == shanghai


PAYLOAD_COLUMNS = ("shop_id", "kind", "external_id", "body", "received_at")


def _shop_id(s: Session, code: str) -> int:
    """A shop for rows to belong to."""
    shop = Shop(code=code, name=code.title(), channel="manual")
    s.add(shop)
    s.flush()
    return shop.id


def test_rows_are_written_with_the_ids_drawn_for_them(factory: sessionmaker[Session]) -> None:
    at = datetime(2026, 11, 11, tzinfo=UTC)
    with transaction(factory) as s:
        shop_id = _shop_id(s, "ids")
        rows = [(shop_id, "order", f"#{n}", {"n": n}, at) for n in range(3)]
        ids = insert_with_ids(s, RawPayload, PAYLOAD_COLUMNS, rows)
        after = next_ids(s, RawPayload, 2)
    with transaction(factory) as s:
        stored = dict(s.execute(select(RawPayload.external_id, RawPayload.id)).tuples().all())
    assert stored == {"#0": ids[0], "#1": ids[1], "#2": ids[2]}
    assert ids == sorted(ids) and len(set(ids)) == 3
    assert after == sorted(after) and after[0] > ids[-1] and len(set(after)) == 2


def test_a_row_given_an_id_already_taken_is_a_unique_violation(factory: sessionmaker[Session]) -> None:
    at = datetime(2026, 11, 11, tzinfo=UTC)
    with transaction(factory) as s:
        shop_id = _shop_id(s, "taken")
        row = (shop_id, "order", "#1", {}, at)
        [taken] = insert_with_ids(s, RawPayload, PAYLOAD_COLUMNS, [row])
    with pytest.raises(DBAPIError) as raised, transaction(factory) as s:
        insert_with_ids(s, RawPayload, PAYLOAD_COLUMNS, [row], ids=[taken])
    assert is_unique_violation(raised.value)


def test_times_are_stored_as_utc_and_naive_ones_refused(factory: sessionmaker[Session]) -> None:
    shanghai = datetime(2026, 11, 11, 20, 0, tzinfo=timezone(timedelta(hours=8)))
    with transaction(factory) as s:
        s.add(Shop(code="tz", name="TZ", channel="manual", created_at=shanghai))
    with transaction(factory) as s:
        stored = s.scalars(select(Shop.created_at).where(Shop.code == "tz")).one()
    assert stored == shanghai and stored.tzinfo == UTC and stored.hour == 12

    with pytest.raises(StatementError, match="naive datetime"), transaction(factory) as s:
        s.add(Shop(code="naive", name="N", channel="manual", created_at=datetime(2026, 1, 1)))
        s.flush()


def test_the_collector_stays_paused_until_the_outermost_pause_ends() -> None:
    assert gc.isenabled()
    with collector_paused():
        with collector_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()


def test_a_bulk_insert_stores_what_the_orm_stores_whatever_the_format(factory: sessionmaker[Session]) -> None:
    """Past the COPY threshold PostgreSQL takes the rows in binary; a value of another Python type than
    its column's (a number for a text column) sends them as text instead, and both store the same."""
    count = 60
    typed = [(f"t{n}", f"Shop {n}", "manual", TIMES[n % 5], JSONS[n % 4]) for n in range(count)]
    loose = [(f"l{n}", n, "manual", TIMES[n % 5], JSONS[n % 4]) for n in range(count)]
    columns = ("code", "name", "channel", "created_at", "settings")
    with transaction(factory) as s:
        insert_rows(s, Shop, columns, typed)
        insert_rows(s, Shop, columns, loose)
        s.add(Shop(code="orm", name="ORM", channel="manual", created_at=TIMES[1], settings=JSONS[1]))
    with transaction(factory) as s:
        found = {
            row[0]: tuple(row[1:])
            for row in s.execute(select(Shop.code, *(Shop.__table__.c[c] for c in columns[1:])))
        }

    for code, name, channel, created_at, settings in typed + loose:
        assert found[code] == (str(name), channel, created_at, settings), code
    assert found["orm"] == ("ORM", "manual", TIMES[1], JSONS[1])


AWKWARD_TEXT = [
    "",
    "NULL",
    "a,b",
    "{x}",
    '"quoted"',
    "back\\slash\\",
    " spaced ",
    "Zoë 東京 📦",
    '\\"',
    "a\tb\nc",
]


@pytest.mark.parametrize(
    ("values", "sql_type"),
    [
        ([1, -(2**63), 2**63 - 1, 0, 7], BigInteger),
        ([], BigInteger),
        (AWKWARD_TEXT, String),
        (["x", None, "y"], String),
        ([1, None, 3], BigInteger),  # not all integers: bound as a list, as psycopg adapts it
    ],
)
def test_arrays_reach_postgresql_value_for_value(
    factory: sessionmaker[Session], values: list[object], sql_type: object
) -> None:
    with transaction(factory) as s:
        if s.get_bind().dialect.name != "postgresql":
            pytest.skip("arrays are PostgreSQL's")
        unnested = s.scalars(select(func.unnest(pg_array(values, sql_type)))).all()
    assert unnested == values


def test_in_conditions_find_rows_by_awkward_text(factory: sessionmaker[Session]) -> None:
    with transaction(factory) as s:
        s.add_all(Shop(code=code, name=code, channel="shopify") for code in AWKWARD_TEXT[:6])
        s.flush()
        found = [
            code
            for condition in in_conditions(s, Shop.code, [*AWKWARD_TEXT[1:4], "missing"], String)
            for code in s.scalars(select(Shop.code).where(condition))
        ]
    assert sorted(found) == sorted(AWKWARD_TEXT[1:4])


def test_an_array_reaches_the_planner_as_a_constant(factory: sessionmaker[Session]) -> None:
    """Not as text cast at run time: a plan kept from an empty table would compare every row with every
    value of such an expression, where a constant array is hashed and its length known."""
    with transaction(factory) as s:
        if s.get_bind().dialect.name != "postgresql":
            pytest.skip("arrays are PostgreSQL's")
        query = select(Shop.id).where(in_conditions(s, Shop.id, [3, 1, 2], BigInteger)[0])
        compiled = query.compile(s.get_bind())
        explained = s.connection().exec_driver_sql(f"EXPLAIN {compiled}", compiled.params)
        plan = "\n".join(row[0] for row in explained)
    assert "'{3,1,2}'::bigint[]" in plan, plan
