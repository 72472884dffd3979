"""Order search at scale: ``python bench/search.py [--orders N] [--databases sqlite,postgresql]``.

Fills a fresh database with N orders (default 1,000,000) and their search keys, written straight to
the tables (ingest's speed is ``bench/ingest.py``'s subject), then times ``GET /orders?q=`` as the API
runs it (:func:`orderly.orders.queries.list_orders`, a page of 50) for an order number, an email, a
phone, a tracking number and a surname shared by many buyers. The baseline, measured in the same run
on the same data, is the search the key table replaces: comparing the orders' own columns
(lower-cased equality, a substring of the name, of the phone and of the shipments), which no
ordinary index serves. Both must find the same orders. The last line printed is one JSON object with
the figures (milliseconds, medians).
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from rich.console import Console
from sqlalchemy import Text, cast, func, or_, select, text
from sqlalchemy.orm import Session, sessionmaker

from common import postgres_url
from orderly.channels import service as channels
from orderly.channels.schemas import ShopIn
from orderly.core.db import insert_rows, make_engine, make_session_factory, transaction
from orderly.core.migrate import upgrade
from orderly.orders import queries, search
from orderly.orders.models import Order, OrderSearchKey

BENCH_DATABASE = "orderly_bench_search"
CHUNK = 50_000
PAGE = 50
FIRST = ["Ada", "Ben", "Chen", "Dana", "Emil", "Fatima", "Goran", "Hana", "Ivo", "Jana", "Kofi", "Lena"]
LAST = [f"Surname{n}" for n in range(2_000)] + ["Smith"] * 20  # one common surname: many matches
COLUMNS = (
    "shop_id", "external_id", "status", "payment_status", "currency", "subtotal", "shipping_total",
    "discount_total", "tax_total", "total", "buyer_name", "buyer_email", "buyer_phone", "ship_name",
    "ship_line1", "ship_city", "ship_country", "ship_phone", "tags", "holds", "shipments", "placed_at",
    "platform_updated_at", "created_at", "updated_at",
)  # fmt: skip

console = Console(stderr=True)


def _order(
    number: int, shop_id: int, rng: random.Random, t0: datetime
) -> tuple[tuple[Any, ...], dict[str, Any]]:
    name = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
    email = f"buyer{number}@example.com"
    phone = f"+49 30 {number:08d}"
    placed = t0 + timedelta(seconds=number)
    shipments = [
        {"carrier": "UPS", "tracking_number": f"1Z{number:016d}", "tracking_url": None, "shipped_at": None}
    ]
    row = (
        shop_id, f"#{100_000 + number}", "allocated", "paid", "EUR", 1999, 499, 0, 0, 2498, name, email,
        phone, name, f"{number} Main St", "Berlin", "DE", phone, [], [], shipments, placed, placed, placed,
        placed,
    )  # fmt: skip
    normalized = {
        "external_id": row[1],
        "buyer": {"name": name, "email": email, "phone": phone},
        "shipping_address": {"name": name, "phone": phone},
        "shipments": shipments,
    }
    return row, normalized


def fill(factory: sessionmaker[Session], orders: int) -> None:
    rng = random.Random(8)
    t0 = datetime(2025, 1, 1, tzinfo=UTC)
    with transaction(factory) as s:
        shop_id = channels.create_shop(s, ShopIn(code="bench", name="Bench", channel="manual")).id
    started = time.perf_counter()
    for first in range(0, orders, CHUNK):
        made = [_order(n, shop_id, rng, t0) for n in range(first, min(first + CHUNK, orders))]
        with transaction(factory) as s:
            ids = insert_rows(s, Order, COLUMNS, [row for row, _ in made], returning=["id", "external_id"])
            by_number = {external_id: order_id for order_id, external_id in ids}
            keys = [(key, by_number[row[1]]) for row, normal in made for key in search.keys_of(normal)]
            insert_rows(s, OrderSearchKey, ("key", "order_id"), keys)
        console.print(f"  {min(first + CHUNK, orders):>9,} orders ({time.perf_counter() - started:,.0f} s)")


def baseline(q: str) -> Any:
    """The search without the key table: the orders' own columns, compared as the keys would be."""
    text_q = " ".join(q.casefold().split())
    digits = "".join(c for c in q if c.isdigit())
    conditions = [
        func.lower(Order.external_id).in_([text_q, "#" + text_q.lstrip("#")]),
        func.lower(Order.buyer_email) == text_q,
        func.lower(Order.buyer_name).contains(text_q),
        func.lower(cast(Order.shipments, Text)).contains(text_q),
    ]
    if len(digits) >= 6 and search.PHONE_LIKE.match(q):
        conditions.append(Order.buyer_phone.contains(digits[-4:]))  # the closest a column allows
    return or_(*conditions)


def timed(
    factory: sessionmaker[Session], find: Callable[[Session], list[int]], repeat: int
) -> tuple[float, list[int]]:
    times, found = [], []
    for _ in range(repeat):
        with transaction(factory) as s:
            started = time.perf_counter()
            found = find(s)
            times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), found


def measure(name: str, url: str, orders: int) -> dict[str, Any]:
    engine = make_engine(url)
    factory = make_session_factory(engine)
    console.print(f"[bold]{name}[/]: filling {orders:,} orders")
    fill(factory, orders)
    with engine.begin() as conn:
        conn.execute(text("ANALYZE"))
    number = orders - 7  # recent orders are what people look for most, but any will do
    searches = {
        "order_number": f"#{100_000 + number}",
        "email": f"buyer{orders // 2}@example.com",
        "phone": f"030 {orders // 3:08d}",
        "tracking_number": f"1Z{orders // 4:016d}",
        "common_surname": "smith",
    }
    figures: dict[str, Any] = {}
    for kind, q in searches.items():
        indexed_ms, by_key = timed(
            factory,
            lambda s, q=q: [  # type: ignore[misc]
                o.id for o in queries.list_orders(s, queries.OrderFilters(q=q), cursor=None, limit=PAGE).items
            ],
            repeat=20,
        )
        base_query = select(Order.id).where(baseline(q)).order_by(Order.id.desc()).limit(PAGE)
        baseline_ms, by_scan = timed(factory, lambda s, b=base_query: list(s.scalars(b)), repeat=3)
        if kind != "phone":  # the baseline can only approximate a phone by its last digits
            assert by_key == by_scan, f"{kind}: the key search found {by_key[:5]}, the scan {by_scan[:5]}"
        assert by_key, f"{kind}: nothing found for {q!r}"
        figures[kind] = {
            "indexed_ms": round(indexed_ms, 2),
            "baseline_ms": round(baseline_ms, 1),
            "speedup": round(baseline_ms / indexed_ms, 1),
            "found": len(by_key),
        }
        console.print(
            f"  q={q!r:<28} {len(by_key):>3} found: {indexed_ms:8.2f} ms indexed, "
            f"{baseline_ms:9.1f} ms scanning the orders ({baseline_ms / indexed_ms:,.0f}x)"
        )
    with transaction(factory) as s:
        figures["search_keys_per_order"] = round(
            s.scalar(select(func.count()).select_from(OrderSearchKey)) / orders, 2
        )
    engine.dispose()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--databases", default="sqlite,postgresql")
    args = parser.parse_args()
    result: dict[str, Any] = {"orders": args.orders}
    for name in [d.strip() for d in args.databases.split(",") if d.strip()]:
        if name == "sqlite":
            with tempfile.TemporaryDirectory() as folder:
                url = f"sqlite:///{Path(folder) / 'search.db'}"
                upgrade(url)
                result[name] = measure(name, url, args.orders)
        else:
            result[name] = measure(name, postgres_url(BENCH_DATABASE), args.orders)
    print(json.dumps(result))


if __name__ == "__main__":
    sys.exit(main())
