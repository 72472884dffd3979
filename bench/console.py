"""The console at scale: ``python bench/console.py [--orders N] [--repeat R]``.

Fills a fresh PostgreSQL database with N orders (default 1,000,000) over the last year in six shops
and currencies, written straight to the tables with COPY (ingest's speed is ``bench/ingest.py``'s
subject): a line, an import event and the search keys of each, tags, holds, countries, buyers, and
for the orders shipped when they were. Then, through the real app (a person signed in with the
session cookie, in Singapore's zone), it requests each page R times and reports the 95th percentile:
the order list with the usual filters (status, shop, a week, a country, a tag, a hold's reason, and
rare values of them), search by a buyer's name, a surname many share and an order number, and the
home page's figures (its rollup counted from the orders first, as the migration does). Goal: 150 ms
or less each. The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import statistics
import sys
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from fastapi.testclient import TestClient
from rich.console import Console
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from common import postgres_url
from orderly.api import create_app
from orderly.auth import service as users
from orderly.auth.domain import Role
from orderly.catalog import service as catalog
from orderly.catalog.schemas import ProductIn
from orderly.channels import service as channels
from orderly.channels.schemas import ShopIn
from orderly.core.clock import utcnow, zone
from orderly.core.db import insert_rows, make_engine, make_session_factory, transaction
from orderly.inventory import service as inventory
from orderly.inventory.schemas import WarehouseIn
from orderly.orders import repository as repo
from orderly.orders import search
from orderly.orders.domain import calendar, utc_day
from orderly.orders.models import Order, OrderEvent, OrderLine, OrderSearchKey
from orderly.review import service as review

BENCH_DATABASE = "orderly_bench_console"
CHUNK = 50_000
GOAL_MS = 150
ZONE = "Asia/Singapore"
#: (code, channel, currency, minor units of a typical total)
SHOPS = [
    ("shopee-sg", "shopee", "SGD", 4_500),
    ("shopee-my", "shopee", "MYR", 12_000),
    ("lazada-th", "lazada", "THB", 90_000),
    ("tiktok-vn", "tiktok_shop", "VND", 600_000),
    ("amazon-us", "amazon", "USD", 3_500),
    ("shopify-eu", "shopify", "EUR", 3_000),
]
RATES = {"SGD": 0.74, "MYR": 0.21, "THB": 0.028, "VND": 0.00004, "EUR": 1.08}
COUNTRIES = ["SG"] * 24 + ["MY"] * 20 + ["TH"] * 15 + ["VN"] * 15 + ["US"] * 12 + ["DE"] * 8 + ["FR"] * 5
RARE_COUNTRY = "NZ"  # one order in a thousand
HOLDS = ["out_of_stock", "address", "risk", "remark", "payment", "manual"]
FIRST = ["Ada", "Ben", "Chen", "Dana", "Emil", "Fatima", "Goran", "Hana", "Ivo", "Jana", "Kofi", "Lena"]
LAST = [f"Surname{n}" for n in range(5_000)]
COMMON = "Tan"  # a surname one buyer in fifty has
ORDER_COLUMNS = (
    "id", "shop_id", "external_id", "status", "payment_status", "currency", "subtotal", "shipping_total",
    "discount_total", "tax_total", "total", "buyer_name", "buyer_email", "buyer_phone", "ship_name",
    "ship_line1", "ship_city", "ship_country", "ship_phone", "tags", "holds", "shipments", "review",
    "warehouse_id", "placed_at", "platform_updated_at", "created_at", "updated_at", "shipped_at",
)  # fmt: skip
LINE_COLUMNS = (
    "order_id", "line_no", "platform_sku", "product_id", "title", "quantity", "shipped", "unit_price",
    "discount", "tax",
)  # fmt: skip
EVENT_COLUMNS = ("order_id", "kind", "from_status", "to_status", "actor", "message", "created_at")

console = Console(stderr=True)


def _status(rng: random.Random, age: timedelta) -> str:
    """What an order of this age is now: most older ones shipped; a few held whatever their age."""
    roll = rng.random()
    if roll < 0.015:
        return "on_hold"
    if roll < 0.055:
        return "cancelled"
    if age < timedelta(hours=6):
        return rng.choice(["pending_review", "approved", "allocated", "allocated"])
    if age < timedelta(days=3):
        return rng.choice(["allocated", "label_printed", "shipped", "shipped"])
    return "returned" if roll < 0.065 else ("delivered" if roll < 0.6 else "shipped")


def _order(n: int, of: int, rng: random.Random, now: datetime, hub: dict[str, Any]) -> Any:
    """Order ``n`` of ``of`` (ids rise with time over the last year): its row, its line, its import
    event and its search keys."""
    placed = now - timedelta(days=365 * (1 - n / of), seconds=rng.random())
    shops = hub["shops"]
    shop_id, currency, typical = shops[n % len(shops)]
    status = _status(rng, now - placed)
    surname = COMMON if rng.random() < 0.02 else rng.choice(LAST)
    name = f"{rng.choice(FIRST)} {surname}"
    phone = f"+65 {n:08d}"
    country = RARE_COUNTRY if n % 1000 == 7 else rng.choice(COUNTRIES)
    tags = ["vip"] if rng.random() < 0.05 else (["b2b"] if n % 1000 == 3 else [])
    hold = rng.choice(HOLDS)
    holds = [{"reason": hold, "message": f"held: {hold}", "details": []}] if status == "on_hold" else []
    total = max(100, int(rng.lognormvariate(math.log(typical), 0.5)))
    settled = status == "cancelled" and rng.random() < 0.5
    paid = "pending" if rng.random() < 0.03 else "paid"
    shipped_at = None
    if status in {"shipped", "delivered", "returned"}:
        shipped_at = min(now, placed + timedelta(minutes=rng.lognormvariate(math.log(20 * 60), 0.8)))
    external_id = f"{20_000_000 + n}"
    row = (
        n, shop_id, external_id, status, paid, currency, total, 0, 0, 0, total, name,
        f"buyer{n}@example.com", phone, name, f"{n} Orchard Rd", "Singapore", country, phone, tags, holds,
        [], None if settled else {"outcome": "held" if status == "on_hold" else "approved"},
        hub["warehouse"], placed, placed, placed, shipped_at or placed, shipped_at,
    )  # fmt: skip
    arrived = "cancelled" if settled else ("on_hold" if status == "on_hold" else "allocated")
    event = (n, "imported", None, arrived, "ingest", None, placed)
    normal = {"external_id": external_id, "buyer": {"name": name, "phone": phone}, "shipping_address": {}}
    return (
        row,
        (n, 1, f"P-{n % 500}", hub["product"], "Item", 1, 0, total, 0, 0),
        event,
        search.keys_of(normal),
    )


def fill(factory: sessionmaker[Session], orders: int, now: datetime) -> dict[str, Any]:
    rng = random.Random(12)
    with transaction(factory) as s:
        hub = {
            "shops": [
                (channels.create_shop(s, ShopIn(code=code, name=code, channel=channel)).id, currency, typical)
                for code, channel, currency, typical in SHOPS
            ],
            "product": catalog.create_product(s, ProductIn(sku="SKU-1", name="Item")).id,
            "warehouse": inventory.create_warehouse(s, WarehouseIn(code="WH-1", name="Main", priority=1)).id,
        }
        review.save_settings(s, {"base_currency": "USD", "rates": RATES}, actor="bench")
    started = time.perf_counter()
    for first in range(1, orders + 1, CHUNK):
        made = [_order(n, orders, rng, now, hub) for n in range(first, min(first + CHUNK, orders + 1))]
        with transaction(factory) as s:
            insert_rows(s, Order, ORDER_COLUMNS, [m[0] for m in made])
            insert_rows(s, OrderLine, LINE_COLUMNS, [m[1] for m in made])
            insert_rows(s, OrderEvent, EVENT_COLUMNS, [m[2] for m in made])
            insert_rows(s, OrderSearchKey, ("key", "order_id"), [(k, m[0][0]) for m in made for k in m[3]])
        done = min(first + CHUNK - 1, orders)
        console.print(f"  {done:>9,} orders ({time.perf_counter() - started:,.0f} s)")
    loaded = time.perf_counter() - started
    with factory() as s:
        s.execute(text("SELECT setval('orders_id_seq', (SELECT max(id) FROM orders))"))
        s.commit()
    started = time.perf_counter()
    with transaction(factory) as s:
        repo.rebuild_figures(s)  # the rollup counted from orders written past ingest, as migrating does
    figures = time.perf_counter() - started
    started = time.perf_counter()
    engine = factory.kw["bind"]
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))  # the visibility map too: the figures read indexes alone
    return {
        "load_s": round(loaded, 1),
        "rebuild_figures_s": round(figures, 1),
        "vacuum_analyze_s": round(time.perf_counter() - started, 1),
    }


def p95(times: list[float]) -> float:
    ordered = sorted(times)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]


def timed(client: TestClient, path: str, repeat: int, check: Callable[[str], bool]) -> dict[str, float]:
    page = client.get(path)  # once unmeasured: the plan and the page's template are ready
    assert page.status_code == 200 and check(page.text), (path, page.status_code, page.text[:300])
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        answer = client.get(path)
        times.append((time.perf_counter() - started) * 1000)
        assert answer.status_code == 200
    return _figures(times)


def _figures(times: list[float]) -> dict[str, float]:
    return {"p95_ms": round(p95(times), 1), "median_ms": round(statistics.median(times), 1)}


def read_side(factory: sessionmaker[Session], now: datetime, repeat: int) -> dict[str, dict[str, float]]:
    """The home page's queries alone, without the page around them (each in its own transaction): the
    sales, imports and paid-to-shipped (its whole UTC days) from the rollups, and (for comparison)
    counted in the orders."""
    when = calendar(now, zone(ZONE))
    start = next(start for day, start, _ in when.bounds if day == when.chart[0])
    steps: dict[str, Callable[[Session], object]] = {
        "figure_sales_by_day": lambda s: repo.figure_sales_by_day(s, when.bounds),
        "sales_by_day": lambda s: repo.sales_by_day(s, when.bounds),
        "figure_arrivals": lambda s: repo.figure_arrivals(s, start, now),
        "arrivals": lambda s: repo.arrivals(s, start, now),
        "figure_pay_to_ship": lambda s: repo.figure_pay_to_ship(s, utc_day(start) + 1, utc_day(now)),
        "pay_to_ship": lambda s: repo.pay_to_ship_minutes(s, start, now),
        "held": repo.count_held,
    }
    measured = {}
    for name, step in steps.items():
        times = []
        for _ in range(repeat):
            with factory() as s:
                started = time.perf_counter()
                step(s)
                times.append((time.perf_counter() - started) * 1000)
        measured[f"query_{name}"] = {
            "p95_ms": round(p95(times), 1),
            "median_ms": round(statistics.median(times), 1),
        }
    return measured


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=40, help="requests per page measured")
    args = parser.parse_args()
    url = postgres_url(BENCH_DATABASE)
    engine = make_engine(url)
    factory = make_session_factory(engine)
    now = utcnow()
    console.print(f"[bold]filling {args.orders:,} orders[/] in {url.rsplit('/', 1)[1]}")
    result: dict[str, Any] = {"orders": args.orders, **fill(factory, args.orders, now)}
    with transaction(factory) as s:
        users.create_user(s, "bench", "correct horse battery", role=Role.OPERATIONS, timezone=ZONE)
        probe = s.execute(
            text("SELECT buyer_name, external_id FROM orders WHERE id = :id"), {"id": args.orders - 1234}
        ).one()
    week_ago = (now - timedelta(days=7)).date().isoformat()
    month_ago = (now - timedelta(days=30)).date().isoformat()
    rows = 'data-order="'
    lists = {
        "newest": {},
        "status_on_hold": {"status": "on_hold"},
        "shop": {"shop": "lazada-th"},
        "last_7_days": {"placed_from": week_ago},
        "country": {"country": "DE"},
        "country_rare": {"country": RARE_COUNTRY},
        "tag": {"tag": "vip"},
        "tag_rare": {"tag": "b2b"},
        "hold_reason": {"hold_reason": "address"},
        "shop_status_30_days": {"shop": "shopee-sg", "status": "shipped", "placed_from": month_ago},
    }
    searches = {"buyer_name": probe.buyer_name, "surname_shared": COMMON, "order_number": probe.external_id}
    figures: dict[str, dict[str, float]] = {}
    with TestClient(create_app(factory=factory), base_url="https://testserver") as client:
        signed = client.post(
            "/sign-in",
            data={"username": "bench", "password": "correct horse battery"},
            follow_redirects=False,
        )
        assert signed.status_code == 303, signed.text
        for name, params in lists.items():
            figures[f"list_{name}"] = timed(
                client, f"/orders?{urlencode(params)}", args.repeat, lambda t: rows in t
            )
        for name, q in searches.items():
            figures[f"search_{name}"] = timed(
                client, f"/orders?{urlencode({'q': q})}", args.repeat, lambda t: rows in t
            )
        figures["kpis"] = timed(client, "/", args.repeat, lambda t: 'data-period="month"' in t)
    figures |= read_side(factory, now, args.repeat)
    for name, measured in figures.items():
        flag = "" if measured["p95_ms"] <= GOAL_MS else f"  [red]over {GOAL_MS} ms[/]"
        console.print(
            f"  {name:<28} p95 {measured['p95_ms']:8.1f} ms  median {measured['median_ms']:8.1f} ms{flag}"
        )
    result |= {
        "order_list_p95_ms": max(v["p95_ms"] for k, v in figures.items() if k.startswith("list_")),
        "search_p95_ms": max(v["p95_ms"] for k, v in figures.items() if k.startswith("search_")),
        "kpis_p95_ms": figures["kpis"]["p95_ms"],
        "goal_ms": GOAL_MS,
        "repeat": args.repeat,
        "pages": {name: measured["p95_ms"] for name, measured in figures.items()},
    }
    engine.dispose()
    print(json.dumps(result))


if __name__ == "__main__":
    sys.exit(main())
