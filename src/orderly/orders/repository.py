"""All order queries, including the set-based statements of the ingest path."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import psycopg
from sqlalchemy import (
    BigInteger,
    Integer,
    cast,
    delete,
    exists,
    func,
    insert,
    literal,
    or_,
    select,
    text,
    type_coerce,
    union_all,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from orderly.catalog.models import Product
from orderly.channels.models import Shop
from orderly.core.clock import as_utc
from orderly.core.db import (
    RetryTransaction,
    Rows,
    UTCDateTime,
    add_to_rows,
    array_text,
    chunks,
    insert_rows,
    insert_with_ids,
    is_unique_violation,
    next_ids,
    select_by_keys,
    update_rows,
)
from orderly.core.errors import NotFound
from orderly.core.phrases import Phrase
from orderly.orders.domain import (
    APPROVED_ON_ARRIVAL,
    CLOSED,
    REVIEWED_ON_ARRIVAL,
    WAS_PAID,
    DaySales,
    FigureChanges,
    OrderStatus,
    Sale,
    Shipped,
    ShippedChanges,
    quarter,
    shipped_changes,
)
from orderly.orders.models import (
    IngestRejection,
    Order,
    OrderEvent,
    OrderFigure,
    OrderLine,
    RawPayload,
    ShipFigure,
)
from orderly.review.domain.identities import identity_hash

OrderKey = tuple[int, str]  # (shop_id, external_id)


def new_order_ids(session: Session, count: int) -> list[int]:
    """Ids for ``count`` new orders, drawn before their rows are written so each row can name the
    others of its batch (a review's merge partners)."""
    return next_ids(session, Order, count)


def insert_new(session: Session, columns: Sequence[str], ids: Sequence[int], rows: Rows) -> None:
    """Insert new orders with the ids drawn for them (:func:`new_order_ids`). The unique key (shop,
    external id) still decides: an order another writer imported first retries the whole transaction."""
    try:
        insert_with_ids(session, Order, columns, rows, ids)
    except (DBAPIError, psycopg.Error) as exc:
        if is_unique_violation(exc):
            raise RetryTransaction("another writer imported some of these orders first") from exc
        raise


@dataclass(frozen=True)
class KnownOrder:
    id: int
    status: str
    platform_updated_at: datetime
    holds: list[dict[str, Any]]
    content_digest: str | None
    sale: Sale  # what it adds to the home page's figures
    shipped: Shipped


def sale_of(order: Order) -> Sale:
    return Sale(order.shop_id, order.currency, as_utc(order.placed_at), order.total, order.status)


def shipped_of(order: Order) -> Shipped:
    shipped = as_utc(order.shipped_at) if order.shipped_at else None
    return Shipped(as_utc(order.placed_at), shipped, order.payment_status)


def find_known(session: Session, keys: Sequence[OrderKey]) -> dict[OrderKey, KnownOrder]:
    """The stored version of each of these orders that is known (read, not locked)."""
    rows = select_by_keys(
        session,
        Order,
        ["shop_id", "external_id"],
        list(keys),
        [
            "id", "shop_id", "external_id", "status", "platform_updated_at", "holds", "content_digest",
            "currency", "placed_at", "total", "shipped_at", "payment_status",
        ],
    )  # fmt: skip
    known = {}
    for order_id, shop_id, external_id, status, updated, holds, digest, *figures in rows:
        currency, placed, total, shipped, paid = figures
        known[(shop_id, external_id)] = KnownOrder(
            order_id,
            status,
            as_utc(updated),
            holds or [],
            digest,
            Sale(shop_id, currency, as_utc(placed), total, status),
            Shipped(as_utc(placed), as_utc(shipped) if shipped else None, paid),
        )
    return known


def lock_orders(session: Session, order_ids: Iterable[int]) -> list[Order]:
    """Lock these orders, in id order like every writer (orders first, then stock), and return them as
    they stand now. The one place order rows are locked."""
    found: list[Order] = []
    for part in chunks(sorted(set(order_ids))):
        query = (
            select(Order)
            .where(Order.id.in_(part))
            .order_by(Order.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        found.extend(session.scalars(query))
    return found


def lock_order_keys(session: Session, keys: Iterable[OrderKey]) -> None:
    """PostgreSQL: a lock per (shop, order number) until the transaction ends, stored or not yet, so two
    writers that build an order on what is stored (a file's lines merged into the version before)
    take turns even where neither finds the order yet. Taken in one order (by the key's hash), before
    any row lock. SQLite has one writer at a time: nothing to take."""
    if session.get_bind().dialect.name != "postgresql":
        return
    hashes = sorted({identity_hash(f"order:{shop_id}:{external_id}") for shop_id, external_id in keys})
    if hashes:
        session.connection().exec_driver_sql(
            "SELECT pg_advisory_xact_lock(k) FROM unnest(%(keys)s::bigint[]) AS k",
            {"keys": array_text(hashes)},
        )


def lock_order(session: Session, order_id: int) -> Order:
    found = lock_orders(session, [order_id])
    if not found:
        raise NotFound(Phrase("no order %(order)s", order=order_id))
    return found[0]


def waiting_for_stock(session: Session, product_ids: set[int] | None, *, limit: int) -> list[tuple[int, Any]]:
    """(id, holds) of held orders and backorders (approved, no warehouse), oldest placed first; only
    those with a line of these products when given."""
    query = select(Order.id, Order.holds).where(
        or_(
            Order.status == OrderStatus.ON_HOLD,
            (Order.status == OrderStatus.APPROVED) & Order.warehouse_id.is_(None),
        )
    )
    if product_ids is not None:
        lines = select(OrderLine.order_id).where(OrderLine.product_id.in_(product_ids))
        query = query.where(Order.id.in_(lines))
    return [
        (order_id, holds)
        for order_id, holds in session.execute(query.order_by(Order.placed_at, Order.id).limit(limit))
    ]


def orders_needing(session: Session, order_ids: list[int], product_ids: set[int]) -> set[int]:
    """Those of these orders with a line of any of these products."""
    found: set[int] = set()
    for part in chunks(sorted(set(order_ids))):
        query = select(OrderLine.order_id).where(
            OrderLine.order_id.in_(part), OrderLine.product_id.in_(product_ids)
        )
        found.update(session.scalars(query))
    return found


def lock_known(session: Session, order_ids: Iterable[int]) -> dict[OrderKey, KnownOrder]:
    """:func:`lock_orders`, as ingest compares versions: what each holds, by (shop, external id)."""
    return {
        (o.shop_id, o.external_id): KnownOrder(
            o.id,
            o.status,
            as_utc(o.platform_updated_at),
            o.holds or [],
            o.content_digest,
            sale_of(o),
            shipped_of(o),
        )
        for o in lock_orders(session, order_ids)
    }


def shop_ids(session: Session, codes: Iterable[str]) -> dict[str, int]:
    """The id of each of these shops (by code) that exists."""
    found: dict[str, int] = {}
    for part in chunks(sorted(set(codes))):
        found.update(session.execute(select(Shop.code, Shop.id).where(Shop.code.in_(part))).all())
    return found


def shops_joined(session: Session, shop_ids: Iterable[int]) -> dict[int, datetime]:
    """When each of these shops was connected to the hub."""
    wanted = sorted(set(shop_ids))
    if not wanted:
        return {}
    rows = session.execute(select(Shop.id, Shop.created_at).where(Shop.id.in_(wanted)))
    return {shop_id: joined for shop_id, joined in rows}


def insert_raw_payloads(session: Session, rows: Rows) -> list[int]:
    """Verbatim platform payloads, (shop, kind, external id, body, received at) each; their ids, in order."""
    return insert_with_ids(
        session, RawPayload, ("shop_id", "kind", "external_id", "body", "received_at"), rows
    )


def line_products(session: Session, order_ids: Iterable[int]) -> dict[int, list[tuple[int, int, int]]]:
    """(product, quantity, units shipped) of each order's lines, in line order."""
    lines: dict[int, list[tuple[int, int, int]]] = defaultdict(list)
    for part in chunks(sorted(set(order_ids))):
        query = (
            select(OrderLine.order_id, OrderLine.product_id, OrderLine.quantity, OrderLine.shipped)
            .where(OrderLine.order_id.in_(part))
            .order_by(OrderLine.order_id, OrderLine.line_no)
        )
        for order_id, product_id, quantity, shipped in session.execute(query).all():
            lines[order_id].append((product_id, quantity, shipped))
    return dict(lines)


def lines_of(session: Session, order_id: int) -> list[tuple[int, int, int, int]]:
    """(line number, product, quantity, units shipped) of an order's lines, in line order."""
    query = (
        select(OrderLine.line_no, OrderLine.product_id, OrderLine.quantity, OrderLine.shipped)
        .where(OrderLine.order_id == order_id)
        .order_by(OrderLine.line_no)
    )
    return [(no, pid, qty, shipped) for no, pid, qty, shipped in session.execute(query).all()]


def add_shipped(session: Session, order_id: int, units: Mapping[int, int]) -> None:
    """Count units (line number -> quantity) the hub shipped into the order's lines, so that what the
    order still reserves and what a platform later reports shipped both leave them out."""
    for line_no, quantity in sorted(units.items()):
        session.execute(
            update(OrderLine)
            .where(OrderLine.order_id == order_id, OrderLine.line_no == line_no)
            .values(shipped=OrderLine.shipped + quantity)
        )


LINE_COLUMNS = (
    "order_id",
    "line_no",
    "platform_sku",
    "listing_id",
    "product_id",
    "title",
    "quantity",
    "shipped",
    "unit_price",
    "discount",
    "tax",
)
EVENT_COLUMNS = ("order_id", "kind", "from_status", "to_status", "actor", "message", "phrase", "created_at")


def insert_lines(session: Session, rows: Rows) -> None:
    """Rows in ``LINE_COLUMNS`` order."""
    insert_rows(session, OrderLine, LINE_COLUMNS, rows)


def replace_lines(session: Session, order_ids: list[int], rows: Rows) -> None:
    for part in chunks(order_ids):
        session.execute(delete(OrderLine).where(OrderLine.order_id.in_(part)))
    insert_lines(session, rows)


def insert_events(session: Session, rows: Rows) -> None:
    """Rows in ``EVENT_COLUMNS`` order but for the phrase: a message is its English, or the phrase the
    hub said it by (kept beside its English)."""
    # Notes repeat from order to order as one shared phrase (``domain.outcome``): each distinct one is
    # put into words once. The rows keep every note alive meanwhile, so an id stands for one note.
    told: dict[int, tuple[str | None, dict[str, Any] | None]] = {}
    said = []
    for row in rows:
        words = told.get(id(row[5]))
        if words is None:
            words = told[id(row[5])] = _message(row[5])
        said.append((*row[:5], *words, row[6]))
    insert_rows(session, OrderEvent, EVENT_COLUMNS, said)


def _message(said: str | Phrase | None) -> tuple[str | None, dict[str, Any] | None]:
    """An event's message as stored: its English, and its phrase when the hub said it as one."""
    if isinstance(said, Phrase):
        return said.english(), said.as_json()
    return said, None


def has_open_rejections(session: Session) -> bool:
    return bool(session.scalar(select(exists().where(IngestRejection.status == "open"))))


def resolve_rejections(session: Session, gone_in: list[tuple[str, str, int]], now: datetime) -> None:
    """Close the open rejections of these orders, (shop code, order id, our id) each, that have now gone
    in: read first, so a batch updates only the few rows that are open instead of looking up each order."""
    found = select_by_keys(
        session,
        IngestRejection,
        ["shop_code", "external_id"],
        [(shop, external_id) for shop, external_id, _ in gone_in],
        ["id", "shop_code", "external_id", "status"],
    )
    ours = {(shop, external_id): order_id for shop, external_id, order_id in gone_in}
    update_rows(
        session,
        IngestRejection,
        [
            {
                "id": rejection_id,
                "status": "resolved",
                "order_id": ours[(shop, external_id)],
                "updated_at": now,
            }
            for rejection_id, shop, external_id, status in found
            if status == "open"
        ],
    )


def insert_rejections(session: Session, rows: list[dict[str, Any]]) -> list[int]:
    if not rows:
        return []
    stmt = insert(IngestRejection).returning(IngestRejection.id, sort_by_parameter_order=True)
    result = session.connection().execute(stmt, rows)
    return [row_id for (row_id,) in result.all()]


def update_rejections(
    session: Session, rows: list[dict[str, Any]], *, increment: frozenset[str] = frozenset()
) -> None:
    if rows:
        update_rows(session, IngestRejection, rows, increment=increment)


def open_rejection_ids(session: Session, keys: set[tuple[str, str]]) -> dict[tuple[str, str], int]:
    """The open rejection of each (shop code, order id) among ``keys``; the newest where there are several."""
    rows = select_by_keys(
        session,
        IngestRejection,
        ["shop_code", "external_id"],
        sorted(keys),
        ["id", "shop_code", "external_id", "status"],
    )
    open_rows = (row for row in sorted(rows) if row[3] == "open")
    return {(shop, external_id): row_id for row_id, shop, external_id, _ in open_rows}


def line_count(session: Session, product_id: int) -> int:
    """How many order lines are for the product."""
    query = select(func.count()).select_from(OrderLine).where(OrderLine.product_id == product_id)
    return int(session.scalar(query) or 0)


def open_orders_through(
    session: Session,
    shop_id: int,
    product_id: int,
    platform_sku: str | None,
    listing_id: str | None,
    *,
    limit: int,
) -> list[str]:
    """The external ids of the shop's open orders with a line of the product that came in by this
    platform SKU or listing, by id."""
    keys = []
    if platform_sku is not None:
        keys.append(OrderLine.platform_sku == platform_sku)
    if listing_id is not None:
        keys.append(OrderLine.listing_id == listing_id)
    query = (
        select(Order.external_id)
        .join(OrderLine, OrderLine.order_id == Order.id)
        .where(
            Order.shop_id == shop_id,
            Order.status.not_in(CLOSED),
            OrderLine.product_id == product_id,
            or_(*keys),
        )
        .distinct()
        .order_by(Order.external_id)
        .limit(limit)
    )
    return list(session.scalars(query))


def orders_with_sku(sku: str) -> Any:
    """An EXISTS clause: the order has a line of this SKU (ours) or of this platform SKU."""
    return exists().where(
        OrderLine.order_id == Order.id,
        (OrderLine.platform_sku == sku)
        | OrderLine.product_id.in_(select(Product.id).where(Product.sku == sku).scalar_subquery()),
    )


def listed(session: Session, column: Any, element: str | dict[str, str]) -> Any:
    """A JSON list column holds ``element`` (a value, or an object with these fields): JSONB containment
    on PostgreSQL, a walk of ``json_each`` on SQLite."""
    if session.get_bind().dialect.name == "postgresql":
        return type_coerce(column, JSONB).contains([element])
    each = func.json_each(column).table_valued("value").alias("listed")
    if isinstance(element, str):
        return exists().select_from(each).where(each.c.value == element)
    conditions = [func.json_extract(each.c.value, f"$.{name}") == value for name, value in element.items()]
    return exists().select_from(each).where(*conditions)


def add_event(
    session: Session,
    order: Order,
    kind: str,
    before: str,
    actor: str,
    message: str | Phrase,
    *,
    at: datetime | None = None,
) -> None:
    """A line in the order's history: what happened, from which status to its status now, by whom (a
    person's words as given; the hub's own as a phrase); at the order's last change unless said."""
    english, phrase = _message(message)
    session.add(
        OrderEvent(
            order_id=order.id,
            kind=kind,
            from_status=before,
            to_status=order.status,
            actor=actor,
            message=english,
            phrase=phrase,
            created_at=at or order.updated_at,
        )
    )


def rejections_page(
    session: Session, *, status: str | None, after_id: int, limit: int
) -> list[IngestRejection]:
    query = (
        select(IngestRejection).where(IngestRejection.id > after_id).order_by(IngestRejection.id).limit(limit)
    )
    if status:
        query = query.where(IngestRejection.status == status)
    return list(session.scalars(query))


def open_rejection_payloads(session: Session, ids: Sequence[int] | None) -> list[tuple[int, Any]]:
    """(id, payload) of the open rejections (all, or those of ``ids``), by id."""
    query = select(IngestRejection.id, IngestRejection.payload).where(IngestRejection.status == "open")
    if ids is not None:
        query = query.where(IngestRejection.id.in_(list(ids)))
    return [(row_id, payload) for row_id, payload in session.execute(query.order_by(IngestRejection.id))]


def count_replay(
    session: Session, rejection_id: int, now: datetime, *, resolved: tuple[int | None, Any] | None
) -> None:
    """Count a replay of the rejection; ``resolved``: (the order, the payload that went in)."""
    values: dict[str, Any] = {"attempts": IngestRejection.attempts + 1, "updated_at": now}
    if resolved is not None:
        values |= {"status": "resolved", "order_id": resolved[0], "payload": resolved[1]}
    session.execute(update(IngestRejection).where(IngestRejection.id == rejection_id).values(values))


def get_rejection(session: Session, rejection_id: int) -> IngestRejection | None:
    return session.get(IngestRejection, rejection_id)


# --- the home page's figures -----------------------------------------------------------------------


def sales_by_day(session: Session, bounds: Sequence[tuple[date, datetime, datetime]]) -> list[DaySales]:
    """Orders placed and their totals per (day, start, end) of ``bounds``, shop and currency, cancelled
    ones left out, counted in the orders: on PostgreSQL an index-only scan of ``ix_orders_placed_at``
    per day. The home page reads ``figure_sales_by_day`` instead wherever days start on a quarter-hour."""
    days = _days(bounds, lambda at: literal(at, UTCDateTime))
    query = (
        select(days.c.n, Order.shop_id, Order.currency, func.count(), func.sum(Order.total))
        .join(Order, (Order.placed_at >= days.c.start) & (Order.placed_at < days.c.end))
        .where(Order.status != OrderStatus.CANCELLED)
        .group_by(days.c.n, Order.shop_id, Order.currency)
    )
    return _day_sales(session, bounds, session.execute(query).all())


def read_serially(session: Session) -> None:
    """No parallel workers on PostgreSQL for the rest of the transaction: the home page's reads are a
    few thousand index entries each, and starting workers costs more than they save (10 ms and more on
    a busy host)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SET LOCAL max_parallel_workers_per_gather = 0"))


def figure_sales_by_day(
    session: Session, bounds: Sequence[tuple[date, datetime, datetime]]
) -> list[DaySales]:
    """:func:`sales_by_day` summed from ``order_figures``, for days whose bounds are quarter-hours."""
    days = _days(bounds, lambda at: literal(quarter(at)))
    f = OrderFigure
    query = (
        select(days.c.n, f.shop_id, f.currency, func.sum(f.orders), func.sum(f.sales))
        .join(f, (f.quarter >= days.c.start) & (f.quarter < days.c.end))
        .group_by(days.c.n, f.shop_id, f.currency)
        .having(func.sum(f.orders) > 0)  # rows of imports alone, or of orders since cancelled
    )
    return _day_sales(session, bounds, session.execute(query).all())


def _days(bounds: Sequence[tuple[date, datetime, datetime]], bound: Callable[[datetime], Any]) -> Any:
    return union_all(
        *(
            select(literal(n).label("n"), bound(start).label("start"), bound(end).label("end"))
            for n, (_, start, end) in enumerate(bounds)
        )
    ).cte("days")


def _day_sales(
    session: Session, bounds: Sequence[tuple[date, datetime, datetime]], rows: Sequence[Any]
) -> list[DaySales]:
    codes = dict(session.execute(select(Shop.id, Shop.code).where(Shop.id.in_({r[1] for r in rows}))).all())
    return [
        DaySales(bounds[n][0], codes[shop_id], currency, int(orders), int(total))
        for n, shop_id, currency, orders, total in rows
    ]


def arrivals(session: Session, start: datetime, end: datetime) -> tuple[int, int]:
    """(reviewed, approved) of the orders imported in [start, end): those the review decided, and of
    them those it let straight through (approved or allocated, no hold for a person)."""
    decided = OrderEvent.to_status.in_(REVIEWED_ON_ARRIVAL)
    approved = OrderEvent.to_status.in_(APPROVED_ON_ARRIVAL)
    query = select(func.count().filter(decided), func.count().filter(approved)).where(
        OrderEvent.kind == "imported", OrderEvent.created_at >= start, OrderEvent.created_at < end
    )
    reviewed, straight = session.execute(query).one()
    return int(reviewed), int(straight)


def figure_arrivals(session: Session, start: datetime, end: datetime) -> tuple[int, int]:
    """:func:`arrivals` summed from ``order_figures``, for bounds that are quarter-hours."""
    f = OrderFigure
    query = select(func.coalesce(func.sum(f.reviewed), 0), func.coalesce(func.sum(f.approved), 0)).where(
        f.quarter >= quarter(start), f.quarter < quarter(end)
    )
    reviewed, approved = session.execute(query).one()
    return int(reviewed), int(approved)


def add_figures(session: Session, changes: FigureChanges) -> None:
    """Add ``changes`` to ``order_figures``: one upsert that adds to the rows there (so concurrent
    writers never lose each other's counts), taken in key order like every writer's."""
    rows = [(*key, *amounts) for key, amounts in changes.items()]
    add_to_rows(session, OrderFigure, _FIGURE_COLUMNS[:3], _FIGURE_COLUMNS[3:], rows)


_FIGURE_COLUMNS = ("quarter", "shop_id", "currency", "orders", "sales", "reviewed", "approved")


def figure_pay_to_ship(session: Session, first_day: int, end_day: int) -> dict[int, int]:
    """How many paid orders shipped in UTC days [first_day, end_day) took each bin of minutes, from
    ``ship_figures``."""
    f = ShipFigure
    query = (
        select(f.minutes, func.sum(f.orders))
        .where(f.day >= first_day, f.day < end_day)
        .group_by(f.minutes)
        .having(func.sum(f.orders) > 0)
    )
    return {minutes: int(n) for minutes, n in session.execute(query).all()}


def add_ship_figures(session: Session, changes: ShippedChanges) -> None:
    """Add ``changes`` to ``ship_figures`` like :func:`add_figures`: one upsert, in key order."""
    rows = [(day, minutes, n) for (day, minutes), n in changes.items()]
    add_to_rows(session, ShipFigure, ("day", "minutes"), ("orders",), rows)


def rebuild_figures(session: Session) -> int:
    """Count the home page's rollups again from the orders; returns the rows written. On PostgreSQL
    the tables are locked first, so writers wait and then add to the recount what it did not see (their
    own orders, not yet committed)."""
    return recount_sales(session) + recount_shipped(session)


def recount_shipped(session: Session) -> int:
    """Count ``ship_figures`` again from the orders shipped (in Python, as every writer counts them:
    ``domain.shipped_changes``)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("LOCK TABLE ship_figures IN EXCLUSIVE MODE"))
    session.execute(delete(ShipFigure))
    shipped = select(Order.placed_at, Order.shipped_at, Order.payment_status).where(
        Order.shipped_at.is_not(None), Order.payment_status.in_(sorted(WAS_PAID))
    )
    counted: dict[tuple[int, int], int] = defaultdict(int)
    for rows in session.execute(shipped.execution_options(yield_per=50_000)).partitions():
        for key, n in shipped_changes([], [Shipped(*row) for row in rows]).items():
            counted[key] += n
    add_ship_figures(session, dict(sorted(counted.items())))
    return len(counted)


def recount_sales(session: Session) -> int:
    """Count ``order_figures`` again from the orders and their imports; returns the rows written."""
    postgres = session.get_bind().dialect.name == "postgresql"
    if postgres:
        session.execute(text("LOCK TABLE order_figures IN EXCLUSIVE MODE"))
    session.execute(delete(OrderFigure))

    def in_quarter(column: Any) -> Any:
        if postgres:
            return cast(func.extract("epoch", func.date_trunc("second", column)), BigInteger) // 900
        return cast(func.strftime("%s", column), Integer) // 900

    upsert = postgresql.insert if postgres else sqlite.insert
    placed = in_quarter(Order.placed_at)
    session.execute(
        insert(OrderFigure).from_select(
            _FIGURE_COLUMNS,
            select(placed, Order.shop_id, Order.currency, func.count(), func.sum(Order.total))
            .add_columns(literal(0), literal(0))
            .where(Order.status != OrderStatus.CANCELLED)
            .group_by(placed, Order.shop_id, Order.currency),
        )
    )
    imported = in_quarter(OrderEvent.created_at)
    arrivals = upsert(OrderFigure).from_select(
        _FIGURE_COLUMNS,
        select(
            imported,
            Order.shop_id,
            Order.currency,
            literal(0),
            literal(0),
            func.count(),
            func.count().filter(OrderEvent.to_status.in_(APPROVED_ON_ARRIVAL)),
        )
        .join(Order, Order.id == OrderEvent.order_id)
        .where(OrderEvent.kind == "imported", OrderEvent.to_status.in_(REVIEWED_ON_ARRIVAL))
        .group_by(imported, Order.shop_id, Order.currency),
    )
    session.execute(
        arrivals.on_conflict_do_update(
            index_elements=_FIGURE_COLUMNS[:3],
            set_={"reviewed": arrivals.excluded.reviewed, "approved": arrivals.excluded.approved},
        )
    )
    return int(session.scalar(select(func.count()).select_from(OrderFigure)) or 0)


def count_held(session: Session) -> int:
    return int(session.scalar(select(func.count()).where(Order.status == OrderStatus.ON_HOLD)) or 0)


def pay_to_ship_minutes(session: Session, start: datetime, end: datetime) -> dict[int, int]:
    """How many paid orders shipped in [start, end) took each whole number of minutes from placed to
    shipped (the platforms hand over orders once paid, so placed is when they were paid)."""
    if session.get_bind().dialect.name == "postgresql":
        # date_part is double precision; EXTRACT's numeric doubles the cost over a month of orders
        minutes: Any = func.floor(func.date_part("epoch", Order.shipped_at - Order.placed_at) / 60)
    else:
        # julianday's float difference rounded to the millisecond first: an exact number of minutes
        # stays that number, as in Python (``domain.pay_to_ship_minutes``)
        days = func.julianday(Order.shipped_at) - func.julianday(Order.placed_at)
        minutes = func.floor(func.round(days * 86_400_000) / 60_000.0)
    bucket = cast(minutes, Integer).label("minutes")
    query = (
        select(bucket, func.count())
        .where(
            Order.shipped_at >= start,
            Order.shipped_at < end,
            Order.shipped_at.is_not(None),
            Order.payment_status.in_(sorted(WAS_PAID)),
        )
        .group_by(bucket)
    )
    counted: dict[int, int] = defaultdict(int)
    for m, n in session.execute(query).all():
        counted[max(0, int(m))] += int(n)  # a platform's clock ahead of the shop's: shipped at once
    return dict(counted)
