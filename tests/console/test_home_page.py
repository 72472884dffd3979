"""The home page: the figures in the viewer's zone and the base currency, for each role that starts
there; the warehouse starts at its own work. When an order ships is kept as it ships, and paid-to-shipped
says when it is read to 5 minutes."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from orderly.auth import service as users
from orderly.auth.domain import Role
from orderly.console.pages.common import NAV
from orderly.core.db import transaction
from orderly.orders.ingest import ingest_batch
from orderly.orders.models import Order
from orderly.orders.repository import rebuild_figures
from orderly.review import service as review
from tests.console.conftest import ORDERS
from tests.factories import stored_order

NOON = datetime(2026, 11, 11, 12, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def noon(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("orderly.console.pages.home.utcnow", lambda: NOON)


def _kpi(html: str, name: str) -> str:
    start = html.index(f'data-period="{name}"')
    return html[start : html.index("</div>", start)]


def test_the_figures_in_the_hubs_zone_with_what_has_no_rate_apart(
    client: TestClient, orders: dict[str, int]
) -> None:
    page = client.get("/")
    assert page.status_code == 200
    text = page.text
    # Today in UTC: #1001 (EUR 24.98, no rate to USD); 1002 was placed yesterday at 20:00 UTC.
    assert "1 order" in _kpi(text, "today") and "$0.00" in _kpi(text, "today")
    assert "€24.98" in _kpi(text, "today")
    assert "2 orders" in _kpi(text, "week") and "$44.97" in _kpi(text, "week")  # Monday the 9th on
    assert "No rate to USD for EUR" in text
    assert 'href="/exceptions"' in text and 'data-kpi="held"' in text
    assert 'data-shop="shop-b"' in text and 'data-shop="shop-a"' in text
    assert '<canvas id="orders-chart"' in text and "/static/vendor/chartjs/chart.umd.min.js" in text
    assert client.get("/static/home.js").status_code == 200


def test_the_figures_in_the_viewers_zone_and_base_currency(
    client: TestClient, orders: dict[str, int], factory: sessionmaker[Session]
) -> None:
    with transaction(factory) as s:
        review.save_settings(s, {"base_currency": "EUR", "rates": {"USD": 0.5}}, actor="test")
    client.post("/preferences", data={"timezone": "Asia/Shanghai", "locale": "zh_Hans"})
    text = client.get("/").text
    # In Shanghai 1002 (20:00 UTC on the 10th) is the 11th too: €24.98 + $44.97 at 0.5 (€22.485, to
    # the even cent) = €47.46
    assert "2 个订单" in _kpi(text, "today") and "€47.46" in _kpi(text, "today")
    assert 'class="notice"' not in text  # every currency has a rate
    assert "<h1>首页</h1>" in text


@pytest.mark.parametrize(
    ("role", "starts_home"),
    [
        (Role.ADMIN, True),
        (Role.OPERATIONS, True),
        (Role.FINANCE, True),
        (Role.CUSTOMER_SERVICE, True),
        (Role.WAREHOUSE, False),
    ],
)
def test_each_role_signs_in_to_its_start(
    anonymous: TestClient,
    orders: dict[str, int],
    factory: sessionmaker[Session],
    role: Role,
    starts_home: bool,
) -> None:
    with transaction(factory) as s:
        users.create_user(s, "pat", "correct horse battery", role=role, timezone="UTC")
    signed = anonymous.post("/sign-in", data={"username": "pat", "password": "correct horse battery"})
    assert signed.status_code == 303 and signed.headers["location"] == "/"
    home = anonymous.get("/")
    if starts_home:
        assert home.status_code == 200 and 'data-period="month"' in home.text
        assert 'href="/" aria-current="page"' in home.text
    else:  # its own area once the console has it, else the order list
        own = "/warehouse" if any(href == "/warehouse" for href, _, _ in NAV) else "/orders"
        assert home.status_code == 303 and home.headers["location"] == own


def test_an_order_keeps_when_it_shipped(
    client: TestClient, orders: dict[str, int], factory: sessionmaker[Session]
) -> None:
    assert stored_order(factory, "#1001").shipped_at is None
    parcel = client.post(
        f"/api/v1/orders/{orders['#1001']}/shipments",
        json={"carrier": "DHL", "tracking_number": "JD1", "ship": True},
    )
    assert parcel.status_code == 201, parcel.text
    shipped = stored_order(factory, "#1001")
    assert shipped.status == "shipped" and shipped.shipped_at is not None
    # shipped on the platform, outside the hub: when the hub hears of it
    body = next(o for o in ORDERS if o["external_id"] == "114-0001")
    lines = [{**line, "shipped": line["quantity"]} for line in body["lines"]]
    report = ingest_batch(factory, [{**body, "updated_at": "2026-11-20T00:00:00+00:00", "lines": lines}])
    assert report.count("updated") == 1, report
    outside = stored_order(factory, "114-0001")
    assert outside.status == "shipped" and outside.shipped_at is not None
    assert stored_order(factory, "1002").shipped_at is None


def test_paid_to_shipped_says_when_it_is_read_to_five_minutes(
    client: TestClient, orders: dict[str, int], factory: sessionmaker[Session]
) -> None:
    with transaction(factory) as s:
        for number, shipped in (
            ("#1001", datetime(2026, 11, 11, 2, 7, 40, tzinfo=UTC)),  # 2h 7m: today, counted in the orders
            ("1002", datetime(2026, 11, 10, 23, 0, tzinfo=UTC)),  # 3h: yesterday, read from the rollup
        ):
            s.execute(update(Order).where(Order.id == orders[number]).values(shipped_at=shipped))
        rebuild_figures(s)  # shipped_at written behind the rollup's back
    text = client.get("/").text
    paid_to_shipped = text[text.index('data-kpi="pay-to-ship"') :]
    assert '<p class="figure">2h 5m</p>' in paid_to_shipped and "90% within 3h" in paid_to_shipped
    assert 'data-precision="5m"' in paid_to_shipped
