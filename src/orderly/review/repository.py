"""Every query of the review context."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import BigInteger, delete, func, select, true, union_all
from sqlalchemy.orm import Session

from orderly.catalog.models import Product
from orderly.channels.models import Shop
from orderly.core.db import UTCDateTime, chunks, in_conditions, insert_rows, pg_array
from orderly.inventory.models import Warehouse
from orderly.orders.models import Order, OrderLine
from orderly.review.models import OrderIdentity, ReviewRule, ReviewRuleVersion

IDENTITY_COLUMNS = ("identity", "placed_at", "order_id", "buyer", "address")


# Rule kinds: the review's rules and the routing rules share the tables, each a rule set of its own.
REVIEW = "review"
ROUTING = "routing"


def saved_rules(session: Session, kind: str = REVIEW) -> list[ReviewRule]:
    return list(session.scalars(select(ReviewRule).where(ReviewRule.kind == kind).order_by(ReviewRule.key)))


def saved_rule(session: Session, key: str, *, kind: str = REVIEW, lock: bool = False) -> ReviewRule | None:
    query = select(ReviewRule).where(ReviewRule.kind == kind, ReviewRule.key == key)
    return session.scalar(query.with_for_update() if lock else query)


def ruleset_version(session: Session, kind: str = REVIEW) -> int:
    return int(
        session.scalar(select(func.max(ReviewRuleVersion.id)).where(ReviewRuleVersion.kind == kind)) or 0
    )


def last_version(session: Session, key: str, kind: str = REVIEW) -> int:
    query = select(func.max(ReviewRuleVersion.version)).where(
        ReviewRuleVersion.kind == kind, ReviewRuleVersion.key == key
    )
    return int(session.scalar(query) or 0)


def rule_versions(session: Session, key: str, kind: str = REVIEW) -> list[ReviewRuleVersion]:
    query = (
        select(ReviewRuleVersion)
        .where(ReviewRuleVersion.kind == kind, ReviewRuleVersion.key == key)
        .order_by(ReviewRuleVersion.version)
    )
    return list(session.scalars(query))


def recent_totals(session: Session, shop_code: str, currency: str, limit: int) -> list[int]:
    query = (
        select(Order.total)
        .join(Shop, Shop.id == Order.shop_id)
        .where(Shop.code == shop_code, Order.currency == currency)
        .order_by(Order.id.desc())
        .limit(limit)
    )
    return list(session.scalars(query))


def insert_identities(session: Session, rows: Sequence[tuple[int, datetime, int, int, int]]) -> None:
    # New orders only, each identity kind once per order: nothing can collide. In key order: hashes
    # land all over the primary key's index, and an index walked in order is a third cheaper to fill.
    insert_rows(session, OrderIdentity, IDENTITY_COLUMNS, sorted(rows))


def delete_identities(session: Session, keys: Sequence[tuple[int, datetime, int]]) -> None:
    """Remove (identity, placed at, order id) rows, each found by its primary key."""
    ident = OrderIdentity
    for identity, placed_at, order_id in keys:
        session.execute(
            delete(ident).where(
                ident.identity == identity, ident.placed_at == placed_at, ident.order_id == order_id
            )
        )


def identity_matches(
    session: Session, lookups: Sequence[tuple[Iterable[int], datetime, datetime]], *, per_identity: int
) -> list[Any]:
    """(identity, order id, placed at, buyer, address) of the orders placed in [since, until] under any
    of the identities of each (identities, since, until) lookup, at most the latest ``per_identity`` of
    each identity in each lookup: a buyer with thousands of orders (a business account, a platform that
    hides buyers) must not cost thousands of rows. One statement for the whole batch on PostgreSQL."""
    if session.get_bind().dialect.name == "postgresql":
        parts = [
            _latest_by_lateral(sorted(set(ids)), since, until, per_identity) for ids, since, until in lookups
        ]
        parts = [part for part in parts if part is not None]
        return list(session.execute(union_all(*parts))) if parts else []
    # SQLite: the statement by hand, through the driver. Built by SQLAlchemy, the IN list of a
    # thousand parameters is compiled again for every chunk and each row's time converted through two
    # calls: twice the time SQLite takes to answer.
    connection = session.connection()
    rows: list[Any] = []
    for identities, since, until in lookups:
        bounds = (UTCDateTime.sqlite_text(since), UTCDateTime.sqlite_text(until), per_identity)
        for part in chunks(sorted(set(identities))):
            sql = _SQLITE_MATCHES.format(",".join("?" * len(part)))
            found = connection.exec_driver_sql(sql, (*part, *bounds))
            rows.extend(
                (identity, order_id, _from_sqlite(placed_at), buyer, address)
                for identity, order_id, placed_at, buyer, address in found
            )
    return rows


# The latest ``per_identity`` rows of each identity in the window, as the PostgreSQL lateral reads them.
_SQLITE_MATCHES = """
SELECT identity, order_id, placed_at, buyer, address FROM (
    SELECT identity, order_id, placed_at, buyer, address,
        row_number() OVER (PARTITION BY identity ORDER BY placed_at DESC) AS rank
    FROM order_identities WHERE identity IN ({}) AND placed_at BETWEEN ? AND ?
) WHERE rank <= ?"""


def _from_sqlite(text: str) -> datetime:
    """A time as SQLite stores it (UTC, ``UTCDateTime.sqlite_text``), aware."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


_MATCH_COLUMNS = (
    OrderIdentity.identity,
    OrderIdentity.order_id,
    OrderIdentity.placed_at,
    OrderIdentity.buyer,
    OrderIdentity.address,
)


def _latest_by_lateral(identities: list[int], since: datetime, until: datetime, per_identity: int) -> Any:
    """Each identity's latest orders in the window, read off the key's index backwards and stopped at
    ``per_identity``: no window function, no sort, and no scan of the whole table."""
    if not identities:
        return None
    ident = OrderIdentity
    wanted = (
        func.unnest(pg_array(identities, BigInteger)).table_valued("identity").render_derived(name="wanted")
    )
    latest = (
        select(*_MATCH_COLUMNS)
        .where(ident.identity == wanted.c.identity, ident.placed_at.between(since, until))
        .order_by(ident.placed_at.desc())
        .limit(per_identity)
        .lateral("latest")
    )
    return select(*(latest.c[c.key] for c in _MATCH_COLUMNS)).select_from(wanted).join(latest, true())


def statuses(session: Session, order_ids: Iterable[int]) -> dict[int, str]:
    found: dict[int, str] = {}
    for condition in in_conditions(session, Order.id, sorted(set(order_ids)), BigInteger):
        found.update(
            (order_id, status)
            for order_id, status in session.execute(select(Order.id, Order.status).where(condition))
        )
    return found


def line_skus(session: Session, order_ids: Iterable[int]) -> dict[int, set[str]]:
    skus: dict[int, set[str]] = defaultdict(set)
    for condition in in_conditions(session, OrderLine.order_id, sorted(set(order_ids)), BigInteger):
        query = (
            select(OrderLine.order_id, Product.sku)
            .join(Product, Product.id == OrderLine.product_id)
            .where(condition)
        )
        for order_id, sku in session.execute(query).all():
            skus[order_id].add(sku)
    return dict(skus)


def presale_until(session: Session, product_ids: Iterable[int], now: datetime) -> dict[int, datetime]:
    found: dict[int, datetime] = {}
    for part in chunks(sorted(set(product_ids))):
        query = select(Product.id, Product.presale_until).where(
            Product.id.in_(part), Product.presale_until > now
        )
        found.update({pid: until for pid, until in session.execute(query).all() if until is not None})
    return found


def recent_orders(session: Session, last: int) -> list[Order]:
    return list(
        session.scalars(
            select(Order).where(Order.status != "cancelled").order_by(Order.id.desc()).limit(last)
        )
    )


ProductFacts = tuple[int, str, str | None, int | None, int | None]


def product_facts(session: Session, product_ids: Iterable[int]) -> list[ProductFacts]:
    """(id, SKU, category, weight in grams, longest side in mm) of these products."""
    p = Product
    sides = (p.length_mm, p.width_mm, p.height_mm)
    if session.get_bind().dialect.name == "postgresql":
        longest: Any = func.greatest(*sides)  # skips nulls
    else:  # SQLite's max() of several is null when any is
        longest = func.nullif(func.max(*(func.coalesce(side, 0) for side in sides)), 0)
    rows: list[ProductFacts] = []
    for part in chunks(sorted(set(product_ids))):
        query = select(p.id, p.sku, p.category, p.weight_g, longest).where(p.id.in_(part))
        rows.extend(session.execute(query).all())
    return rows


def warehouse_codes(session: Session) -> dict[int, str]:
    """The active warehouses' codes by id."""
    query = select(Warehouse.id, Warehouse.code).where(Warehouse.active.is_(True))
    return dict(session.execute(query).all())


def channel_by_shop(session: Session) -> dict[str, str]:
    return dict(session.execute(select(Shop.code, Shop.channel)).all())


def shop_codes(session: Session) -> dict[int, str]:
    return dict(session.execute(select(Shop.id, Shop.code)).all())


def order_lines(session: Session, order_ids: Sequence[int]) -> dict[int, list[OrderLine]]:
    """The lines of these orders, in their order, by order id."""
    lines: dict[int, list[OrderLine]] = {}
    for condition in in_conditions(session, OrderLine.order_id, sorted(set(order_ids)), BigInteger):
        for line in session.scalars(select(OrderLine).where(condition).order_by(OrderLine.line_no)):
            lines.setdefault(line.order_id, []).append(line)
    return lines
