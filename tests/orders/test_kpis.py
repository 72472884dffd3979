"""The home page's figures: the arithmetic (pure), and the queries on both databases against figures
worked out by hand, with days in the viewer's zone (an order at 23:30 there counts on that day)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from orderly.core.db import transaction
from orderly.orders.domain import DaySales, Sales, calendar, percentile, sales_figures, share
from orderly.orders.ingest import ingest_batch
from orderly.orders.models import Order, OrderEvent
from orderly.orders.queries import home_figures
from orderly.orders.repository import rebuild_figures
from orderly.review import service as review
from tests.factories import order, setup_catalog

SHANGHAI = ZoneInfo("Asia/Shanghai")
BERLIN = ZoneInfo("Europe/Berlin")


def test_the_calendar_is_the_viewers() -> None:
    # Friday 2026-11-20 at 00:30 in Shanghai is still Thursday in UTC.
    when = calendar(datetime(2026, 11, 19, 16, 30, tzinfo=UTC), SHANGHAI)
    assert (when.today, when.week, when.month) == (date(2026, 11, 20), date(2026, 11, 16), date(2026, 11, 1))
    assert when.chart[0] == date(2026, 10, 22) and when.chart[-1] == when.today and len(when.chart) == 30
    assert when.bounds[0][0] == date(2026, 10, 22)  # the chart reaches further back than the month
    assert when.start == datetime(2026, 10, 21, 16, 0, tzinfo=UTC)  # midnight in Shanghai
    assert when.bounds[-1][1:] == (
        datetime(2026, 11, 19, 16, 0, tzinfo=UTC),
        datetime(2026, 11, 20, 16, 0, tzinfo=UTC),
    )
    # On the 31st the month began 30 days ago, before the chart's first day.
    late = calendar(datetime(2026, 12, 31, 12, 0, tzinfo=UTC), UTC)
    assert late.bounds[0][0] == date(2026, 12, 1) and late.chart[0] == date(2026, 12, 2)


def test_a_day_across_a_clock_change_is_23_or_25_hours() -> None:
    when = calendar(datetime(2026, 11, 1, 12, 0, tzinfo=UTC), BERLIN)
    lengths = {day: end - start for day, start, end in when.bounds}
    assert lengths[date(2026, 10, 25)] == timedelta(hours=25)  # summer time ends
    assert lengths[date(2026, 10, 24)] == timedelta(hours=24)
    assert calendar(datetime(2026, 3, 30, tzinfo=UTC), BERLIN).bounds[-2][2] - calendar(
        datetime(2026, 3, 30, tzinfo=UTC), BERLIN
    ).bounds[-2][1] == timedelta(hours=23)  # 29 March: summer time begins


def test_sales_add_up_in_the_base_currency_and_keep_what_has_no_rate_apart() -> None:
    rows = [
        DaySales(date(2026, 11, 20), "a", "USD", 2, 1000),
        DaySales(date(2026, 11, 20), "b", "EUR", 1, 2000),  # 1 EUR = 1.1 USD: 2200
        DaySales(date(2026, 11, 19), "a", "JPY", 3, 1500),  # no rate: kept in yen
        DaySales(date(2026, 11, 19), "a", "KWD", 1, 1234),  # 3 decimals: 1.234 KWD = 4.00 USD
    ]
    sales = Sales.of(rows, "USD", {"EUR": 1.1, "KWD": 3.2415})
    assert sales == Sales(orders=7, base=1000 + 2200 + 400, unconverted={"JPY": 1500})
    assert Sales.of([], "USD", {}) == Sales(0, 0, {})


def test_periods_shops_and_the_chart() -> None:
    when = calendar(datetime(2026, 11, 20, 4, 0, tzinfo=UTC), UTC)  # a Friday
    rows = [
        DaySales(date(2026, 11, 20), "a", "USD", 1, 100),
        DaySales(date(2026, 11, 16), "a", "USD", 2, 200),  # Monday: this week
        DaySales(date(2026, 11, 15), "b", "EUR", 4, 400),  # Sunday: last week, this month
        DaySales(date(2026, 10, 31), "b", "USD", 8, 800),  # last month, in the chart
    ]
    figures = sales_figures(rows, when, "USD", {"EUR": 2.0})
    assert (figures.today.orders, figures.week.orders, figures.month.orders) == (1, 3, 7)
    assert (figures.today.base, figures.week.base, figures.month.base) == (100, 300, 1100)
    assert [s.orders for s in figures.shops["b"]] == [0, 0, 4]
    assert list(figures.shops) == ["a", "b"]
    assert figures.chart_orders["b"][when.chart.index(date(2026, 10, 31))] == 8
    assert figures.chart_sales["b"][when.chart.index(date(2026, 11, 15))] == 800
    assert sum(figures.chart_orders["a"]) == 3 and len(figures.chart_sales["a"]) == 30


def test_percentiles_by_nearest_rank_and_shares() -> None:
    assert percentile({}, 0.5) is None
    assert percentile({10: 1}, 0.9) == 10
    counted = {1: 1, 2: 1, 3: 1, 4: 1, 5: 1, 6: 1, 7: 1, 8: 1, 9: 1, 100: 1}
    assert (percentile(counted, 0.5), percentile(counted, 0.9), percentile(counted, 1.0)) == (5, 9, 100)
    assert percentile({60: 3, 600: 1}, 0.5) == 60 and percentile({60: 3, 600: 1}, 0.9) == 600
    assert share(3, 4) == 0.75 and share(0, 0) is None


# --- the queries, on SQLite and PostgreSQL ---------------------------------------------------------

NOW = datetime(2026, 11, 20, 4, 0, tzinfo=UTC)  # Friday, noon in Shanghai


def _at(text: str) -> str:
    return datetime.fromisoformat(text).replace(tzinfo=UTC).isoformat()


def _placed(when: str, **fields: object) -> dict[str, object]:
    return order(("SKU-1", 1), placed_at=_at(when), updated_at=_at(when), **fields)  # 24.98 each


def test_home_figures_in_the_viewers_days(factory: sessionmaker[Session]) -> None:
    setup_catalog(factory, {"SKU-1": 100})
    with transaction(factory) as s:
        review.save_settings(s, {"base_currency": "USD", "rates": {"EUR": 1.5}}, actor="test")
    orders = [
        _placed("2026-11-19T15:30", external_id="late-thu"),  # 23:30 Thursday in Shanghai
        _placed("2026-11-19T16:30", external_id="early-fri", shop="shop-b", currency="EUR"),  # today
        _placed("2026-11-15T15:59", external_id="sun"),  # 23:59 Sunday: last week, this month
        _placed("2026-11-15T16:00", external_id="mon"),  # 00:00 Monday: this week
        _placed("2026-10-31T16:30", external_id="nov-1", currency="JPY"),  # 00:30 on the 1st: no rate
        _placed("2026-10-31T15:30", external_id="oct-31"),  # October: only the chart
        _placed("2026-10-21T15:30", external_id="too-old"),  # before the chart
        _placed("2026-11-20T01:00", external_id="cancelled", cancelled=True),
        _placed("2026-11-20T02:00", external_id="held", buyer_remark="please call me"),
        _placed("2026-11-20T02:30", external_id="unpaid", payment_status="pending"),
    ]
    report = ingest_batch(factory, orders)
    assert report.count("created") == len(orders), report
    ids = {o["external_id"]: o["id"] for o in _stored(factory)}
    with transaction(factory) as s:
        for number, placed in ((o["external_id"], o["placed_at"]) for o in orders):
            # imported as they were placed, and some shipped since
            s.execute(
                update(OrderEvent)
                .where(OrderEvent.order_id == ids[number])
                .values(created_at=datetime.fromisoformat(str(placed)))
            )
        for number, shipped in (
            ("late-thu", "2026-11-19T17:30"),  # 2 hours
            ("sun", "2026-11-16T01:59"),  # 10 hours
            ("mon", "2026-11-17T16:00"),  # 2 days
            ("oct-31", "2026-11-01T15:30"),  # a day
            ("too-old", "2026-10-21T15:45"),  # shipped before the 30 days (15 minutes before)
            ("unpaid", "2026-11-20T03:30"),  # never paid: not counted
        ):
            at = datetime.fromisoformat(_at(shipped))
            s.execute(update(Order).where(Order.id == ids[number]).values(shipped_at=at))
        rebuild_figures(s)  # history rewritten behind the rollup's back: counted again, as an operator would
    statuses = {o["external_id"]: o["status"] for o in _stored(factory)}

    with factory() as s:
        figures = home_figures(s, NOW, SHANGHAI)
    sales = figures.sales
    assert figures.base_currency == "USD"
    assert (sales.today.orders, sales.today.base, sales.today.unconverted) == (3, 3747 + 2 * 2498, {})
    assert (sales.week.orders, sales.week.base) == (5, 3747 + 4 * 2498)
    assert (sales.month.orders, sales.month.base, sales.month.unconverted) == (
        7, 3747 + 5 * 2498, {"JPY": 2498},
    )  # fmt: skip
    assert [p.orders for p in sales.shops["shop-b"]] == [1, 1, 1]
    chart = dict(zip(figures.when.chart, sales.chart_orders["shop-a"], strict=True))
    assert chart[date(2026, 11, 19)] == 1 and chart[date(2026, 11, 20)] == 2  # the 23:30 order: Thursday
    assert chart[date(2026, 10, 31)] == 1 and chart[date(2026, 11, 1)] == 1 and sum(chart.values()) == 7
    assert dict(zip(figures.when.chart, sales.chart_sales["shop-a"], strict=True))[date(2026, 11, 1)] == 0
    assert figures.held == sum(1 for status in statuses.values() if status == "on_hold") == 1
    # all but the cancelled order and the one before the chart were reviewed; the held one was stopped
    assert figures.reviewed == 8 and figures.approved_share == 7 / 8
    assert figures.shipped == 4
    assert (figures.pay_to_ship_median, figures.pay_to_ship_p90) == (10 * 60, 2 * 24 * 60)

    with factory() as s:  # in UTC 00:30 on Friday in Shanghai is Thursday, and Monday's first order Sunday
        utc = home_figures(s, NOW, UTC).sales
    assert utc.today.orders == 2 and utc.week.orders == 4


def _stored(factory: sessionmaker[Session]) -> list[dict[str, object]]:
    with factory() as s:
        return [
            {"external_id": e, "id": i, "status": st}
            for e, i, st in s.execute(select(Order.external_id, Order.id, Order.status)).all()
        ]
