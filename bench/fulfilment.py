"""Fulfilment: warehouse routing decisions, and the label batch a warehouse prints before its pick.

    python bench/fulfilment.py [--labels 1000] [--out batch.pdf] [--routed 20000]

``routing_decisions_per_s``: generated orders (the sandbox's global catalog and three warehouses)
routed one after another by a realistic routing rule set (the three example rules, a delivery
promise, cheapest-lane ranking, exclusions, a carrier preference; lanes per warehouse and region;
splits above a threshold), each decision with its explanation as stored on the order: the pure
decision, in memory, one core. Not timed: generating and checking the orders.

``label_batch_1000_s``: seconds (wall clock; CPU seconds beside it) from the parcels' data to a
finished merged PDF of 1,000 labels written to a file in pick order, fonts loaded in the timing as a
fresh process would: 40% of the recipients in Chinese, Japanese or Korean, 20% of the labels the
carrier's own PDF (half already 4x6 in, copied as they are; half A4, placed on a 4x6 page), the rest
drawn here with a Code 128 of the tracking number. Not timed: making the carriers' PDFs, and reading
the result back to check its page count. ``peak_rss_mb``: the process's peak resident memory (it
makes nothing else).

``tracking_writebacks_per_s``: parcels shipped in the hub whose carrier and tracking number reach
their shop, per second of wall clock from the first write-back job to the last accepted:
``--writebacks`` parcels each on a Shopify sandbox and an Amazon one, both enforcing their published
limits (Shopify: a bucket of 40 calls leaking 2 a second; Amazon: getOrderItems 0.5/s burst 30,
confirmShipment 2/s burst 10), which the hub's pacer keeps to; the shops' parcels shipped mixed, four
workers, SQLite. Each Shopify parcel costs two calls (its fulfillment orders, the fulfillment), each
Amazon one two (its items, the confirmation), so past the bursts the limits, not the hub, set the
pace. Not timed: placing, polling and shipping the orders.

The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import gc
import io
import json
import random
import resource
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pypdf import PdfReader
from reportlab.lib.units import inch
from reportlab.pdfgen.canvas import Canvas
from sqlalchemy import delete, func, select

from orderly.catalog import service as catalog
from orderly.catalog.schemas import MappingIn
from orderly.channels import service as shops
from orderly.channels import tasks as channel_tasks
from orderly.channels.models import RateBucket
from orderly.channels.schemas import ShopIn, ShopUpdate, SyncSettings
from orderly.core.db import make_engine, make_session_factory, transaction
from orderly.fulfilment import service as fulfilment
from orderly.fulfilment.models import TrackingWriteback
from orderly.fulfilment.paperwork import Address, Line, Parcel, pick_key, write_batch
from orderly.fulfilment.schemas import ShipmentIn
from orderly.jobs import service as jobs
from orderly.jobs.models import Job
from orderly.jobs.worker import Worker, start_workers
from orderly.orders.models import Order
from orderly.review.domain.routing import Asked, RoutingSet, compile_routing_rules
from orderly.review.domain.view import ReviewContext, Subject
from orderly.review.schemas import RoutingSettings
from orderly.sandbox.amazon import FAST_RATES, PUBLISHED_RATES, AmazonStore
from orderly.sandbox.amazon import Line as AmazonLine
from orderly.sandbox.amazon import create_app as amazon_app
from orderly.sandbox.generator import OrderGenerator, default_catalog
from orderly.sandbox.serve import serving
from orderly.sandbox.shopify import ShopifyStore
from orderly.sandbox.shopify import create_app as shopify_app
from orderly.sandbox.shopify.models import numbered_buyer
from review import _available, _prepare
from sync_world import settings, sqlite_url, stock_catalog

SENDER = Address(
    "Acme Trading Ltd", "Unit 4, 1 Dock Road", city="Felixstowe", postal_code="IP11 3TW", country="GB"
)
RECIPIENTS = [
    Address(
        "王小明", "朝阳区建国路88号", "SOHO现代城A座1201室", city="北京市", postal_code="100022", country="CN"
    ),
    Address("李华", "浦东新区世纪大道100号", city="上海市", postal_code="200120", country="CN"),
    Address(
        "山田 花子", "渋谷区神南1-2-3 カーサ渋谷101", city="東京都", postal_code="150-0041", country="JP"
    ),
    Address("김민준", "강남구 테헤란로 152", city="서울특별시", postal_code="06236", country="KR"),
    Address("Jane Smith", "221B Baker Street", city="London", postal_code="NW1 6XE", country="GB"),
    Address(
        "Łukasz Wróblewski", "ul. Żółkiewskiego 5 m. 12", city="Łódź", postal_code="90-001", country="PL"
    ),
    Address("Nguyễn Văn An", "12 Lý Thường Kiệt", city="Hà Nội", postal_code="100000", country="VN"),
    Address("Maria García", "Calle Mayor 10, 3º B", city="Madrid", postal_code="28013", country="ES"),
    Address(
        "John Doe",
        "500 Market St Apt 12",
        city="San Francisco",
        region="CA",
        postal_code="94105",
        country="US",
    ),
    Address("Иван Петров", "ул. Тверская, д. 7", city="Москва", postal_code="125009", country="RU"),
]
CJK_SHARE, CARRIER_SHARE = 0.4, 0.2


def carrier_pdf(size: tuple[float, float], tracking: str) -> bytes:
    out = io.BytesIO()
    canvas = Canvas(out, pagesize=size)
    canvas.setFont("Helvetica-Bold", 18)
    canvas.drawString(20, size[1] - 40, "CARRIER LABEL")
    canvas.setFont("Helvetica", 12)
    canvas.drawString(20, size[1] - 60, tracking)
    for n in range(60):  # a barcode's worth of bars
        canvas.rect(20 + n * 4, size[1] - 160, 1 + n % 3, 80, stroke=0, fill=1)
    canvas.showPage()
    canvas.save()
    return out.getvalue()


def parcels(count: int, seed: int) -> list[Parcel]:
    rng = random.Random(seed)
    made = []
    for n in range(count):
        cjk = rng.random() < CJK_SHARE
        recipient = rng.choice(RECIPIENTS[:4] if cjk else RECIPIENTS[4:])
        tracking = f"JD{rng.randrange(10**15):015d}"
        label = None
        if rng.random() < CARRIER_SHARE:
            label = carrier_pdf((4 * inch, 6 * inch) if n % 2 else (595.0, 842.0), tracking)
        lines = tuple(
            Line(
                f"SKU-{rng.randrange(400)}",
                "Ceramic mug, blue",
                rng.randint(1, 3),
                f"{rng.choice('ABCD')}-{rng.randint(1, 40)}",
            )
            for _ in range(rng.randint(1, 4))
        )
        made.append(
            Parcel(
                reference=f"SHP-{n:06d}",
                shop="Acme Shop",
                order_number=str(100000 + n),
                warehouse=rng.choice(["HOME", "EU-1"]),
                sender=SENDER,
                recipient=recipient,
                carrier="DHL Express",
                service="Express Worldwide",
                tracking_number=tracking,
                lines=lines,
                carrier_label=label,
            )
        )
    return made


ROUTING_RULES: list[dict[str, Any]] = [
    {
        "key": "sea-light",
        "name": "Light parcels to South-East Asia from the local warehouse",
        "priority": 10,
        "when": {
            "all": [
                {"fact": "address.regions", "contains": "south_east_asia"},
                {"fact": "order.size_class", "eq": "small"},
            ]
        },
        "then": [{"warehouses": {"prefer": ["SZX-1"]}}, {"carrier": {"use": "dhl_express"}}],
    },
    {
        "key": "eu-bulky",
        "name": "Bulky items to Europe from the overseas warehouse",
        "priority": 20,
        "when": {
            "all": [
                {"fact": "address.regions", "contains": "europe"},
                {"fact": "order.size_class", "in": ["medium", "bulky"]},
            ]
        },
        "then": [{"warehouses": {"prefer": ["DUS-1"], "exclude": ["SZX-1"]}}],
    },
    {
        "key": "domestic-us",
        "name": "Domestic orders from the home warehouse",
        "priority": 30,
        "scope": {"countries": ["US"]},
        "then": [
            {"warehouses": {"prefer": ["LAX-3PL"]}},
            {"carrier": {"use": "easypost", "service": "Ground"}},
        ],
    },
    {
        "key": "express",
        "name": "Express orders within five days",
        "priority": 40,
        "when": {"fact": "order.shipping_total", "gte": 1500},
        "then": [{"promise_days": 5}, {"rank": "transit"}],
    },
    {
        "key": "big-orders-split",
        "name": "Big orders may split",
        "priority": 50,
        "when": {"fact": "order.total_base", "gte": 20000},
        "then": [{"split": True}],
    },
    {
        "key": "cheapest",
        "name": "Everything else by the cheapest lane",
        "priority": 100,
        "then": [{"rank": "cost"}],
    },
]
ROUTING_SETTINGS: dict[str, Any] = {
    "split": False,
    "split_min_total": 5000,
    "lanes": [
        {"warehouse": "SZX-1", "to": ["east_asia"], "cost": 400, "days": 3},
        {"warehouse": "SZX-1", "to": ["south_east_asia"], "cost": 700, "days": 5},
        {"warehouse": "SZX-1", "to": ["*"], "cost": 1500, "days": 12},
        {"warehouse": "LAX-3PL", "to": ["US"], "cost": 800, "days": 3},
        {"warehouse": "LAX-3PL", "to": ["north_america"], "cost": 1400, "days": 6},
        {"warehouse": "LAX-3PL", "to": ["*"], "cost": 3000, "days": 9},
        {"warehouse": "DUS-1", "to": ["eu"], "cost": 900, "days": 3},
        {"warehouse": "DUS-1", "to": ["europe"], "cost": 1600, "days": 5},
        {"warehouse": "DUS-1", "to": ["*"], "cost": 3500, "days": 10},
    ],
}


def routing_decisions(count: int, seed: int) -> float:
    """Orders routed per second (see the module's docstring), each decision stored as JSON would be."""
    catalog = default_catalog(orders=count, markets="global")
    prepared = _prepare(list(OrderGenerator(seed, catalog).labelled_orders(count)), catalog)
    weight = {p.sku: p.weight_g for p in catalog.products}
    available, warehouses = _available(catalog)
    settings = RoutingSettings.model_validate(ROUTING_SETTINGS)
    ruleset = RoutingSet(compile_routing_rules(ROUTING_RULES), settings.policy())
    context = ReviewContext(available=available, warehouses=warehouses, rates={"EUR": 1.08, "GBP": 1.27})
    subjects = [
        Subject(
            n, order, total, lines, needs, cats, channel, None, sum(weight[s] * q for s, q in needs.items())
        )
        for n, (order, lines, needs, cats, channel, total, _) in enumerate(prepared)
    ]
    route, asked = ruleset.route, Asked()
    gc.collect()
    gc.disable()
    started, cpu = time.perf_counter(), time.process_time()
    fired = 0
    for subject in subjects:
        decision = route(subject, context, asked)
        stored = decision.as_json(ruleset=1, chosen=decision.fills[:1], ok=bool(decision.fills))
        fired += len(stored["fired"])
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    gc.enable()
    rate = len(subjects) / seconds
    print(
        f"{len(subjects):,} orders routed in {seconds:.2f} s = {rate:,.0f} decisions/s "
        f"({len(subjects) / cpu:,.0f} per CPU second; {fired:,} rules fired)"
    )
    return rate


def tracking_writebacks(per_shop: int, workers: int = 4) -> float:
    """Write-backs per second against the sandboxes within their rate limits (see the docstring)."""
    config = settings()
    shopify = ShopifyStore(seed=1)  # Shopify's published bucket: 40 calls, leaking 2 a second
    shopify.add_product({"title": "Mug", "variants": [{"sku": "MUG", "available": 10 * per_shop}]})
    amazon = AmazonStore(rates=FAST_RATES, before_lag_seconds=0, seed=2)  # published limits once polled
    amazon.add_listing("MUG")
    fast = {"rate_limits": {op: (1000.0, 1000) for op in ("orders", "order", "order_items", "rdt")}}
    with (
        sqlite_url() as url,
        serving(shopify_app(shopify)) as shopify_url,
        serving(amazon_app(amazon)) as amazon_url,
    ):
        factory = make_session_factory(make_engine(url))
        stock_catalog(factory, {"MUG": 10 * per_shop})
        with transaction(factory) as s:
            for code, base_url, credentials, extra in (
                ("shopify", shopify_url, {"access_token": "shpat_sandbox"},
                 {"location_id": shopify.location_id}),
                ("amazon", amazon_url,
                 {"client_id": amazon.client_id, "client_secret": amazon.client_secret,
                  "refresh_token": amazon.refresh_token},
                 {"marketplace_id": amazon.marketplace_id, "seller_id": amazon.seller_id,
                  "before_lag_seconds": 0, **fast}),
            ):  # fmt: skip
                shop = ShopIn(
                    code=code, name=code, channel=code, base_url=base_url, credentials=credentials,
                    settings=SyncSettings.model_validate({"poll_interval_s": 86_400, **extra}),
                    sync_enabled=True,
                )  # fmt: skip
                shops.create_shop(s, shop, config)
                catalog.create_mapping(s, MappingIn(shop=code, platform_sku="MUG", sku="MUG"))
        for n in range(per_shop):
            shopify.place_order({"lines": [{"sku": "MUG", "quantity": 1}], **numbered_buyer(n)})
            amazon.place_order([AmazonLine("MUG", 1)], paid=True)
        worker = Worker(factory, name="setup", settings=config, idle_sleep=0)
        with transaction(factory) as s:
            for code in ("shopify", "amazon"):
                jobs.enqueue(s, [jobs.NewJob(channel_tasks.POLL, {"shop_id": shops.get_shop(s, code).id})])
        while worker.run_once():
            pass
        with transaction(factory) as s:
            found = s.execute(select(Order.shop_id, Order.id).where(Order.status == "allocated")).all()
            assert len(found) == 2 * per_shop, f"{len(found)} of {2 * per_shop} orders came in"
            by_shop: dict[int, list[int]] = {}
            for shop_id, order_id in found:
                by_shop.setdefault(shop_id, []).append(order_id)
            # Packed as a warehouse packs: the shops' parcels mixed, not one shop's all first.
            mixed = [order_id for pair in zip(*by_shop.values(), strict=True) for order_id in pair]
            for n, order_id in enumerate(mixed):
                spec = ShipmentIn(carrier="UPS", tracking_number=f"1ZBENCH{n:08d}", ship=True)
                fulfilment.create_shipment(s, order_id, spec, actor="bench")
            # From here on Amazon's published limits, with full buckets on both sides, as for a seller
            # whose polls ran a while ago; Shopify's bucket has leaked what the setup used.
            s.execute(delete(RateBucket))
            shops.update_shop(s, "amazon", ShopUpdate(settings={"rate_limits": {}}), config)
            s.execute(
                Job.__table__.update().where(Job.kind == fulfilment.WRITE_BACK).values(run_after=func.now())
            )
        amazon.configure(rates=PUBLISHED_RATES)
        time.sleep(2.0)
        started, began = time.perf_counter(), datetime.now(UTC)
        stop = start_workers(factory, workers, config)
        try:
            while True:
                with transaction(factory) as s:
                    done = s.scalar(select(func.count()).where(TrackingWriteback.status == "accepted"))
                if done == 2 * per_shop:
                    break
                time.sleep(0.05)
        finally:
            seconds = time.perf_counter() - started
            stop()
            shopify.close()
        with transaction(factory) as s:
            finished = dict(
                s.execute(
                    select(TrackingWriteback.shop_id, func.max(TrackingWriteback.accepted_at)).group_by(
                        TrackingWriteback.shop_id
                    )
                ).all()
            )
            took = {
                code: (finished[shops.get_shop(s, code).id] - began).total_seconds()
                for code in ("shopify", "amazon")
            }
    assert len(shopify.fulfillments()) == len(amazon.shipments()) == per_shop, "a parcel was written twice"
    rate = 2 * per_shop / seconds
    print(
        f"{2 * per_shop} parcels written back ({per_shop} Shopify, {per_shop} Amazon, published limits) "
        f"in {seconds:.1f} s = {rate:.2f} write-backs/s (Shopify's last after {took['shopify']:.1f} s, "
        f"Amazon's after {took['amazon']:.1f} s; Shopify throttled {shopify.stats().get('throttled', 0)} "
        "calls)"
    )
    return rate


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--labels", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--out", type=Path, help="keep the batch here (default: a temporary file)")
    parser.add_argument("--routed", type=int, default=20_000, help="orders to route (default 20000)")
    parser.add_argument(
        "--writebacks", type=int, default=40, help="parcels written back per shop (default 40)"
    )
    args = parser.parse_args()

    routing_per_s = routing_decisions(args.routed, args.seed)

    batch = parcels(args.labels, args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        path = args.out or Path(tmp) / "batch.pdf"
        wall, cpu = time.perf_counter(), time.process_time()
        with path.open("wb") as out:
            pages = write_batch(sorted(batch, key=pick_key), out)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        size_mb = path.stat().st_size / 1e6
        assert pages == len(PdfReader(path).pages) == args.labels, "a label is missing from the batch"
    # ru_maxrss is in KiB on Linux (read before the write-backs: it is the label batch's peak).
    peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    cjk = sum(p.recipient in RECIPIENTS[:4] for p in batch)
    carriers = sum(p.carrier_label is not None for p in batch)
    print(
        f"{args.labels:,} labels ({cjk} to CJK addresses, {carriers} carriers' own) in one PDF of "
        f"{pages} pages, {size_mb:.1f} MB: {wall:.2f} s wall, {cpu:.2f} s CPU; peak RSS {peak_rss_mb:.0f} MB"
    )
    writebacks_per_s = tracking_writebacks(args.writebacks)
    print(
        json.dumps(
            {
                "routing_decisions_per_s": round(routing_per_s),
                f"label_batch_{args.labels}_s": round(wall, 2),
                f"label_batch_{args.labels}_cpu_s": round(cpu, 2),
                "peak_rss_mb": round(peak_rss_mb, 1),
                "tracking_writebacks_per_s": round(writebacks_per_s, 2),
            }
        )
    )


if __name__ == "__main__":
    main()
