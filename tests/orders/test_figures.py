"""The home page's rollups (``order_figures``, ``ship_figures``) against the orders they sum: after a
random sequence of imports, new versions (other totals, currencies, times, payments, cancelled, shipped
on the platform), cancellations and shipments in the hub, the figures read from them equal those
counted in the orders, in zones whose offsets are whole hours, half hours and quarter-hours, across a
clock change, and in a zone whose days do not start on a quarter-hour (counted in the orders then)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.orm import Session, sessionmaker

from orderly.core.db import transaction
from orderly.core.errors import DomainError
from orderly.fulfilment.schemas import ShipmentIn
from orderly.fulfilment.service import create_shipment
from orderly.orders import repository as repo
from orderly.orders.domain import (
    Arrival,
    Sale,
    Shipped,
    calendar,
    figure_changes,
    on_quarter,
    pay_to_ship_bin,
    percentile,
    quarter,
    sales_figures,
    shipped_changes,
)
from orderly.orders.ingest import ingest_batch
from orderly.orders.queries import home_figures
from orderly.orders.service import cancel_order
from orderly.review import service as review
from tests.factories import T0, figures_recounted, order, setup_catalog

ZONES: list[tzinfo] = [
    UTC,
    ZoneInfo("Asia/Kathmandu"),  # +5:45
    ZoneInfo("America/St_Johns"),  # -3:30, and a clock change
    ZoneInfo("Australia/Eucla"),  # +8:45
    ZoneInfo("Europe/Berlin"),
    timezone(timedelta(minutes=7)),  # no real zone's: days start off the quarter-hour
]


def test_changes_add_the_new_version_and_take_away_the_old_in_key_order() -> None:
    at = datetime(2026, 11, 20, 4, 7, tzinfo=UTC)
    before = Sale(1, "USD", at, 1000, "allocated")
    after = Sale(1, "EUR", at + timedelta(minutes=10), 900, "allocated")
    assert figure_changes([before], [after]) == {
        (quarter(at), 1, "USD"): (-1, -1000, 0, 0),
        (quarter(at) + 1, 1, "EUR"): (1, 900, 0, 0),
    }
    assert figure_changes([before], [Sale(1, "USD", at, 1000, "cancelled")]) == {
        (quarter(at), 1, "USD"): (-1, -1000, 0, 0)
    }
    assert figure_changes([before], [before]) == {}  # nothing moved: no row written
    arrivals = [
        Arrival(2, "USD", at, "on_hold"),
        Arrival(2, "USD", at, "allocated"),
        Arrival(2, "USD", at, "shipped"),
    ]
    assert figure_changes([], [], arrivals) == {(quarter(at), 2, "USD"): (0, 0, 2, 1)}
    assert on_quarter(datetime(2026, 11, 19, 18, 15, tzinfo=UTC)) and not on_quarter(at)


def test_paid_to_shipped_is_kept_per_utc_day_in_bins_that_show_as_the_page_does() -> None:
    assert [pay_to_ship_bin(m) for m in (0, 59, 60, 64, 65, 1439, 1440, 1499, 1500, 3000)] == [
        0, 59, 60, 60, 65, 1435, 1440, 1440, 1500, 3000,
    ]  # fmt: skip
    placed = datetime(2026, 11, 19, 23, 0, 30, tzinfo=UTC)
    shipped = Shipped(placed, placed + timedelta(hours=2, minutes=7, seconds=59), "paid")
    day = (placed + timedelta(hours=2) - datetime(1970, 1, 1, tzinfo=UTC)).days  # shipped the next UTC day
    assert shipped_changes([], [shipped]) == {(day, 125): 1}
    assert shipped_changes([shipped], [Shipped(placed, shipped.shipped_at, "refunded")]) == {}  # paid still
    assert shipped_changes([shipped], [Shipped(placed, None, "paid")]) == {(day, 125): -1}
    assert shipped_changes([], [Shipped(placed, placed - timedelta(minutes=3), "pending")]) == {}  # unpaid
    assert shipped_changes([], [Shipped(placed, placed - timedelta(minutes=3), "paid")]) == {
        (day - 1, 0): 1
    }  # a platform's clock ahead of the shop's: shipped at once


def _version(rng: random.Random, external_id: str, shop: str, placed: datetime, updated: datetime) -> Any:
    lines = [("SKU-1", rng.randint(1, 3))] + ([("SKU-2", rng.randint(1, 2))] if rng.random() < 0.4 else [])
    body = order(
        *lines,
        shop=shop,
        external_id=external_id,
        currency=rng.choice(["USD", "USD", "EUR", "JPY"]),
        payment_status=rng.choice(["paid", "paid", "paid", "pending", "refunded"]),
        shipping_total=rng.choice([0, 499, 1200]),
        cancelled=rng.random() < 0.12,
        placed_at=placed.isoformat(),
        updated_at=updated.isoformat(),
    )
    if rng.random() < 0.15:  # shipped whole on the platform
        for line in body["lines"]:
            line["shipped"] = line["quantity"]
    return body


@pytest.mark.parametrize("seed", range(3))
def test_the_rollup_equals_a_count_of_the_orders_after_random_changes(
    factory: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch, seed: int
) -> None:
    rng = random.Random(seed)
    setup_catalog(factory, {"SKU-1": 40, "SKU-2": 20})
    with transaction(factory) as s:
        review.save_settings(s, {"base_currency": "USD", "rates": {"EUR": 1.1}}, actor="test")
    clock = [T0 + timedelta(days=40, seconds=rng.randrange(86_400))]
    monkeypatch.setattr("orderly.orders.ingest.utcnow", lambda: clock[0])
    monkeypatch.setattr("orderly.fulfilment.service.utcnow", lambda: clock[0])
    placed: dict[str, tuple[str, datetime]] = {}  # external id -> (shop, placed at)
    ids: dict[str, int] = {}
    for step in range(30):
        clock[0] += timedelta(minutes=rng.randrange(0, 300), seconds=rng.randrange(60))
        roll = rng.random()
        if roll < 0.5 or not placed:
            batch = []
            for n in range(rng.randint(1, 5)):
                external_id, shop = f"R{step}-{n}", rng.choice(["shop-a", "shop-b"])
                at = clock[0] - timedelta(seconds=rng.randrange(45 * 86_400))
                placed[external_id] = (shop, at)
                batch.append(_version(rng, external_id, shop, at, clock[0]))
        elif roll < 0.85:
            batch = []
            for external_id in rng.sample(sorted(placed), min(len(placed), rng.randint(1, 4))):
                shop, at = placed[external_id]
                if rng.random() < 0.3:  # the platform corrects when it was placed
                    at = placed[external_id][1] + timedelta(minutes=rng.randint(-90, 90))
                    placed[external_id] = (shop, at)
                batch.append(_version(rng, external_id, shop, at, clock[0]))
        else:
            order_id = ids[rng.choice(sorted(ids))]
            try:
                with transaction(factory) as s:
                    if roll < 0.92:
                        cancel_order(s, order_id, actor="test", reason="buyer asked")
                    else:
                        create_shipment(
                            s, order_id, ShipmentIn(tracking_number=f"T{step}", ship=True), actor="t"
                        )
            except DomainError:
                pass  # shipped or cancelled already, or nothing reserved to ship
            continue
        report = ingest_batch(factory, batch)
        assert not [item for item in report.items if item.outcome == "rejected"], report
        ids.update(
            {item.external_id: item.order_id for item in report.items if item.external_id and item.order_id}
        )

    kept, counted = figures_recounted(factory)
    assert kept == counted
    with factory() as s:
        for where in ZONES:
            for now in (clock[0], clock[0] + timedelta(minutes=rng.randrange(1, 15))):
                _assert_as_counted(s, now, where)


def _assert_as_counted(s: Session, now: datetime, where: tzinfo) -> None:
    """The page's figures (from the rollup) equal the sales and imports counted in the orders."""
    figures = home_figures(s, now, where)
    when = calendar(now, where)
    settings = review.settings(s)
    counted = sales_figures(repo.sales_by_day(s, when.bounds), when, settings.base_currency, settings.rates)
    assert figures.sales == counted, (now, where)
    chart_start = next(start for day, start, _ in when.bounds if day == when.chart[0])
    assert (figures.reviewed, figures.reviewed * (figures.approved_share or 0)) == pytest.approx(
        repo.arrivals(s, chart_start, now)
    ), (now, where)
    binned: dict[int, int] = {}
    for minutes, n in repo.pay_to_ship_minutes(s, chart_start, now).items():
        binned[pay_to_ship_bin(minutes)] = binned.get(pay_to_ship_bin(minutes), 0) + n
    assert (figures.shipped, figures.pay_to_ship_median, figures.pay_to_ship_p90) == (
        sum(binned.values()),
        percentile(binned, 0.5),
        percentile(binned, 0.9),
    ), (now, where)
