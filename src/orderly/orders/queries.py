"""Read side of orders: a filtered, keyset-paginated listing, one order with its history, and the
figures of the console's home page.

A page costs two queries whatever its size: the orders (with shop and warehouse codes joined in),
then all their lines at once.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from orderly.catalog.models import Product
from orderly.channels.models import Shop
from orderly.core.clock import DateZone, range_end, range_start
from orderly.core.errors import NotFound
from orderly.core.pagination import decode_cursor, paginate
from orderly.inventory.models import Warehouse
from orderly.orders import repository as repo
from orderly.orders import search
from orderly.orders.domain import (
    Calendar,
    DaySales,
    HoldReason,
    OrderStatus,
    SalesFigures,
    calendar,
    on_quarter,
    pay_to_ship_bin,
    pay_to_ship_step,
    percentile,
    quarter,
    quarter_start,
    sales_figures,
    share,
    utc_day,
    utc_day_start,
)
from orderly.orders.models import IngestRejection, Order, OrderEvent, OrderLine
from orderly.orders.schemas import (
    AddressOut,
    BuyerOut,
    HoldOut,
    OrderDetailOut,
    OrderEventOut,
    OrderLineOut,
    OrderOut,
    OrderPage,
    RejectionOut,
    ShipmentOut,
)
from orderly.review.service import settings as review_settings


@dataclass(frozen=True)
class OrderFilters:
    status: OrderStatus | None = None
    shop: str | None = None  # shop code
    sku: str | None = None  # our SKU or a platform SKU
    country: str | None = None  # shipping country, ISO 3166-1 alpha-2
    q: str | None = None  # order number, buyer's name, email, phone, tracking number: orders/search.py
    placed_from: datetime | None = None  # inclusive
    placed_to: datetime | None = None  # exclusive
    channel: str | None = None  # the shops' platform: shopify, amazon, ...
    tag: str | None = None  # one of the order's tags
    hold_reason: str | None = None  # one of its holds' reasons (out_of_stock, address, ...)


def order_filters(
    session: Session,
    zones: DateZone,
    *,
    status: OrderStatus | None = None,
    shop: str | None = None,
    sku: str | None = None,
    country: str | None = None,
    q: str | None = None,
    placed_from: date | datetime | None = None,
    placed_to: date | datetime | None = None,
    channel: str | None = None,
    tag: str | None = None,
    hold_reason: str | None = None,
) -> OrderFilters:
    """The filters as a person gave them: a plain date is that whole day in the request's zone, else the
    shop's (one shop filtered), else the hub's; an unknown shop is refused."""
    zone = zones.of(shop_timezone(session, shop) if shop else None)
    return OrderFilters(
        status=status,
        shop=shop,
        sku=sku,
        country=country.upper() if country else None,
        q=q,
        placed_from=range_start(placed_from, zone) if placed_from is not None else None,
        placed_to=range_end(placed_to, zone) if placed_to is not None else None,
        channel=channel,
        tag=tag,
        hold_reason=hold_reason,
    )


# Each order with its shop's code and its warehouse's code (None until allocated).
_ORDERS = (
    select(Order, Shop.code, Warehouse.code)
    .join(Shop, Shop.id == Order.shop_id)
    .outerjoin(Warehouse, Warehouse.id == Order.warehouse_id)
)


def list_orders(session: Session, filters: OrderFilters, *, cursor: str | None, limit: int) -> OrderPage:
    """Newest first by id; ``cursor`` continues after the previous page."""
    query = _ORDERS.order_by(Order.id.desc()).limit(limit + 1)  # one extra row tells if more follow
    if cursor is not None:
        query = query.where(Order.id < decode_cursor(cursor))
    if filters.status is not None:
        query = query.where(Order.status == filters.status)
    if filters.shop is not None:
        query = query.where(Shop.code == filters.shop)
    if filters.sku is not None:
        query = query.where(repo.orders_with_sku(filters.sku))
    if filters.country is not None:
        query = query.where(Order.ship_country == filters.country)
    if filters.q is not None:
        query = query.where(search.matches(filters.q))
    if filters.placed_from is not None:
        query = query.where(Order.placed_at >= filters.placed_from)
    if filters.placed_to is not None:
        query = query.where(Order.placed_at < filters.placed_to)
    if filters.channel is not None:
        query = query.where(Shop.channel == filters.channel)
    if filters.tag is not None:
        query = query.where(repo.listed(session, Order.tags, filters.tag))
    if filters.hold_reason is not None:
        query = query.where(repo.listed(session, Order.holds, {"reason": filters.hold_reason}))
    page, next_cursor = paginate(session.execute(query).all(), limit, lambda row: row[0].id)
    lines = _lines(session, [order.id for order, _, _ in page])
    return OrderPage(
        items=[
            _order_out(order, shop, warehouse, lines.get(order.id, [])) for order, shop, warehouse in page
        ],
        next_cursor=next_cursor,
    )


def shop_timezone(session: Session, shop: str) -> str | None:
    """The time zone a shop's settings name, if any. An unknown shop is refused: a misspelt shop filter
    must not read as a shop without orders."""
    row = session.execute(select(Shop.settings).where(Shop.code == shop)).first()
    if row is None:
        raise NotFound(f"unknown shop {shop!r}", field="shop")
    name = (row.settings or {}).get("timezone")
    return str(name) if name else None


def get_order(session: Session, order_id: int) -> OrderDetailOut:
    row = session.execute(_ORDERS.where(Order.id == order_id)).first()
    if row is None:
        raise NotFound(f"no order {order_id}")
    order, shop, warehouse = row
    events = session.scalars(
        select(OrderEvent).where(OrderEvent.order_id == order_id).order_by(OrderEvent.id)
    ).all()
    out = _order_out(order, shop, warehouse, _lines(session, [order_id]).get(order_id, []))
    # Its fields as they are (a dump would drop the phrases the console reads: HoldOut.phrase).
    return OrderDetailOut(**dict(out), events=[OrderEventOut.model_validate(event) for event in events])


def _lines(session: Session, order_ids: Sequence[int]) -> dict[int, list[OrderLineOut]]:
    if not order_ids:
        return {}
    query = (
        select(OrderLine, Product.sku)
        .join(Product, Product.id == OrderLine.product_id)
        .where(OrderLine.order_id.in_(order_ids))
        .order_by(OrderLine.order_id, OrderLine.line_no)
    )
    lines: dict[int, list[OrderLineOut]] = defaultdict(list)
    for line, sku in session.execute(query).all():
        lines[line.order_id].append(
            OrderLineOut(
                line_no=line.line_no,
                sku=sku,
                platform_sku=line.platform_sku,
                listing_id=line.listing_id,
                title=line.title,
                quantity=line.quantity,
                unit_price=line.unit_price,
                discount=line.discount,
                tax=line.tax,
            )
        )
    return lines


def _order_out(order: Order, shop: str, warehouse: str | None, lines: list[OrderLineOut]) -> OrderOut:
    return OrderOut(
        id=order.id,
        shop=shop,
        external_id=order.external_id,
        status=order.status,
        payment_status=order.payment_status,
        payment_method=order.payment_method,
        platform_status=order.platform_status,
        currency=order.currency,
        subtotal=order.subtotal,
        shipping_total=order.shipping_total,
        discount_total=order.discount_total,
        tax_total=order.tax_total,
        total=order.total,
        buyer=BuyerOut(
            name=order.buyer_name,
            email=order.buyer_email,
            phone=order.buyer_phone,
            platform_id=order.buyer_platform_id,
        ),
        shipping_address=AddressOut(
            name=order.ship_name,
            line1=order.ship_line1,
            line2=order.ship_line2,
            city=order.ship_city,
            region=order.ship_region,
            postal_code=order.ship_postal_code,
            country=order.ship_country,
            phone=order.ship_phone,
        ),
        billing_country=order.billing_country,
        buyer_remark=order.buyer_remark,
        seller_remark=order.seller_remark,
        tags=order.tags or [],
        holds=[HoldOut.model_validate(hold) for hold in order.holds or []],
        review=order.review,
        routing=order.routing,
        warehouse=warehouse,
        placed_at=order.placed_at,
        platform_updated_at=order.platform_updated_at,
        created_at=order.created_at,
        updated_at=order.updated_at,
        lines=lines,
        shipments=[ShipmentOut.model_validate(shipment) for shipment in order.shipments or []],
    )


def get_rejection(session: Session, rejection_id: int) -> RejectionOut:
    row = session.get(IngestRejection, rejection_id)
    if row is None:
        raise NotFound(f"no rejection {rejection_id}")
    return RejectionOut.model_validate(row)


@dataclass(frozen=True)
class HomeFigures:
    """What the console's home page shows: sales today, this week and this month (across shops and per
    shop, in the base currency where the review's settings give a rate) with a chart of the last 30
    days, and over those 30 days the share of orders approved on arrival and the time from paid to
    shipped (median and 90th percentile, in minutes: to 5 minutes between an hour and a day); the orders
    held now."""

    when: Calendar
    base_currency: str
    sales: SalesFigures
    reviewed: int
    approved_share: float | None
    held: int
    shipped: int
    pay_to_ship_median: int | None
    pay_to_ship_p90: int | None

    @property
    def pay_to_ship_in_fives(self) -> bool:
        """Whether the median or the 90th percentile is read from 5-minute bins, so the page says so
        (``domain.pay_to_ship_bin``: the minute under an hour; days and hours, as shown, beyond a day)."""
        shown = (self.pay_to_ship_median, self.pay_to_ship_p90)
        return any(m is not None and pay_to_ship_step(m) == 5 for m in shown)


def home_figures(session: Session, now: datetime, where: tzinfo) -> HomeFigures:
    """The home page's figures as of ``now``, with days as they fall in ``where`` (the viewer's zone)."""
    when = calendar(now, where)
    repo.read_serially(session)
    settings = review_settings(session)
    sales = sales_figures(_sales_by_day(session, when), when, settings.base_currency, settings.rates)
    chart_start = next(start for day, start, _ in when.bounds if day == when.chart[0])
    reviewed, approved = _arrivals(session, chart_start, now)
    shipped = _pay_to_ship(session, chart_start, now)
    return HomeFigures(
        when=when,
        base_currency=settings.base_currency,
        sales=sales,
        reviewed=reviewed,
        approved_share=share(approved, reviewed),
        held=repo.count_held(session),
        shipped=sum(shipped.values()),
        pay_to_ship_median=percentile(shipped, 0.5),
        pay_to_ship_p90=percentile(shipped, 0.9),
    )


def _sales_by_day(session: Session, when: Calendar) -> list[DaySales]:
    """From the rollup when the viewer's days start on quarter-hours (every zone's today), else
    counted in the orders."""
    if all(on_quarter(start) and on_quarter(end) for _, start, end in when.bounds):
        return repo.figure_sales_by_day(session, when.bounds)
    return repo.sales_by_day(session, when.bounds)


def _arrivals(session: Session, start: datetime, end: datetime) -> tuple[int, int]:
    """The whole quarter-hours from the rollup, the one under way (until ``end``) from the imports."""
    if not on_quarter(start):
        return repo.arrivals(session, start, end)
    under_way = max(start, quarter_start(quarter(end)))
    whole = repo.figure_arrivals(session, start, under_way)
    recent = repo.arrivals(session, under_way, end)
    return whole[0] + recent[0], whole[1] + recent[1]


def _pay_to_ship(session: Session, start: datetime, end: datetime) -> dict[int, int]:
    """Paid-to-shipped in [start, end) by bin (``domain.pay_to_ship_bin``): the whole UTC days from the
    rollup, the hours before and after them from the orders, binned alike."""
    first = utc_day(start) + (utc_day_start(utc_day(start)) < start)
    last = utc_day(end)
    if first >= last:
        edges = [(start, end)]
        counted: dict[int, int] = {}
    else:
        edges = [(start, utc_day_start(first)), (utc_day_start(last), end)]
        counted = repo.figure_pay_to_ship(session, first, last)
    for edge_start, edge_end in edges:
        if edge_start < edge_end:
            for minutes, n in repo.pay_to_ship_minutes(session, edge_start, edge_end).items():
                counted[pay_to_ship_bin(minutes)] = counted.get(pay_to_ship_bin(minutes), 0) + n
    return counted


@dataclass(frozen=True)
class OrderCard:
    """An order as a card on the board: enough to recognise it and open it."""

    id: int
    external_id: str
    shop: str
    status: str
    buyer: str | None
    total: int
    currency: str
    placed_at: datetime


_CARDS = select(
    Order.id,
    Order.external_id,
    Shop.code,
    Order.status,
    Order.buyer_name,
    Order.total,
    Order.currency,
    Order.placed_at,
).join(Shop, Shop.id == Order.shop_id)


def count_by_status(session: Session, statuses: Iterable[str]) -> dict[str, int]:
    """How many orders are in each of ``statuses``: one grouped count read from ``ix_orders_status_id``
    alone (an index-only scan over those statuses' entries, none of the others)."""
    query = select(Order.status, func.count()).where(Order.status.in_(list(statuses))).group_by(Order.status)
    return {status: count for status, count in session.execute(query).all()}


def count_capped(session: Session, status: str, cap: int) -> int:
    """How many orders are in ``status``, counting no further than ``cap``: a status most orders reach
    and stay in a while (shipped) is read only so far through ``ix_orders_status_id``."""
    capped = select(Order.id).where(Order.status == status).limit(cap).subquery()
    return session.scalar(select(func.count()).select_from(capped)) or 0


def latest_cards(session: Session, statuses: Iterable[str], *, limit: int) -> list[OrderCard]:
    """The newest orders (by id) in ``statuses``."""
    query = _CARDS.where(Order.status.in_(list(statuses))).order_by(Order.id.desc()).limit(limit)
    return [OrderCard(*row) for row in session.execute(query).all()]


def cards(session: Session, order_ids: Iterable[int]) -> dict[int, OrderCard]:
    wanted = list(order_ids)
    if not wanted:
        return {}
    return {row[0]: OrderCard(*row) for row in session.execute(_CARDS.where(Order.id.in_(wanted))).all()}


@dataclass(frozen=True)
class HeldGroup:
    """Orders on hold for one reason (that of their first hold): how many, and the oldest of them."""

    reason: str
    count: int
    orders: list[OrderOut]


def _first_reason() -> Any:
    """The reason of an order's first hold, read in the database (a JSON path on either)."""
    return Order.holds[(0, "reason")].as_string()


def held_orders(session: Session, *, per_reason: int) -> list[HeldGroup]:
    """Every order on hold, grouped by the reason of its first hold (in the order of ``HoldReason``):
    each group's count and its ``per_reason`` oldest orders, placed first. The held orders (thousands
    at most, found through the status index) are counted and ranked in the database, so only the
    orders shown come back."""
    reason = _first_reason().label("reason")
    held = select(
        Order.id,
        reason,
        func.count().over(partition_by=reason).label("count"),
        func.row_number().over(partition_by=reason, order_by=(Order.placed_at, Order.id)).label("rank"),
    ).where(Order.status == OrderStatus.ON_HOLD)
    ranked = held.subquery()
    rows = session.execute(
        select(ranked.c.id, ranked.c.reason, ranked.c["count"])
        .where(ranked.c.rank <= per_reason)
        .order_by(ranked.c.reason, ranked.c.rank)
    ).all()
    counts: dict[str, int] = {}
    oldest: dict[str, list[int]] = defaultdict(list)
    for order_id, first, count in rows:
        counts[first or ""] = count
        oldest[first or ""].append(order_id)
    shown = [order_id for ids in oldest.values() for order_id in ids]
    found = {row[0].id: row for row in session.execute(_ORDERS.where(Order.id.in_(shown)))} if shown else {}
    lines = _lines(session, shown)
    rank = {reason.value: n for n, reason in enumerate(HoldReason)}
    return [
        HeldGroup(
            first,
            counts[first],
            [_order_out(*found[order_id], lines.get(order_id, [])) for order_id in oldest[first]],
        )
        for first in sorted(counts, key=lambda first: (rank.get(first, len(rank)), first))
    ]


def held_counts(session: Session) -> dict[str, int]:
    """How many orders are on hold for each reason (that of their first hold)."""
    reason = _first_reason()
    query = select(reason, func.count()).where(Order.status == OrderStatus.ON_HOLD).group_by(reason)
    return {first or "": count for first, count in session.execute(query)}
