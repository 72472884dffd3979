"""Auto-review: how many clean orders pass untouched, how many labelled anomalies are held with the
right reason, and how fast the shipped rule set reviews orders on one core.

    python bench/review.py [--orders 100000] [--anomaly-rate 0.03] [--seed 11]

The generator (``orderly.sandbox.generator``) makes a realistic stream: nine to fifteen shops in many
countries, repeat buyers, remarks, bundles, and about ``--anomaly-rate`` of orders each carrying one
labelled anomaly of every kind the built-in checks look for. The shop norms come from an earlier,
unlabelled stream of the same shops (their order history). The rule set is the shipped one, with the
generator's blacklist entered in the blacklist rule, as a seller would.

Timed, in CPU seconds of the one process (on a shared machine the wall clock also counts time spent
waiting for a core): the review of each order by every built-in rule, with the history kept as the
service keeps it (``orders_per_s_one_core``); and, apart, building each order's review subject (its
identities and address fingerprints, which ingest also stores), reported with the review as
``orders_per_s_with_subjects``. Not timed: generating, checking and mapping orders. The last line is
one JSON object.
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import time
from collections import Counter, defaultdict
from datetime import datetime
from typing import Any

from pydantic import TypeAdapter

from orderly.orders.schemas import NormalizedOrder, amounts
from orderly.review.batch import history_window
from orderly.review.domain.engine import RuleSet
from orderly.review.domain.rules import compile_rules
from orderly.review.domain.view import History, ReviewContext, ShopNorm, Subject
from orderly.review.service import effective_specs
from orderly.sandbox.generator import BLACKLIST, Anomaly, Catalog, OrderGenerator, default_catalog

CHANNELS = {"shopify", "amazon", "ebay", "taobao", "rakuten", "shopee", "lazada"}


def _sku_of(catalog: Catalog) -> dict[tuple[str, str], str]:
    """How each shop names each item (its SKU or listing id) -> our SKU, as the SKU mappings do."""
    names: dict[tuple[str, str], str] = {}
    for listing in catalog.listings:
        for name in (listing.platform_sku, listing.listing_id, listing.sku):
            if name:
                names[(listing.shop, name)] = listing.sku
    return names


def _prepare(
    orders: list[tuple[dict[str, Any], Anomaly | None]], catalog: Catalog
) -> list[tuple[Any, tuple[tuple[str, int], ...], dict[str, int], frozenset[str], str, int, Anomaly | None]]:
    """Check each order as ingest does and resolve its lines, outside the timed part."""
    checked = TypeAdapter(list[NormalizedOrder]).validate_python([o for o, _ in orders])
    sku_of = _sku_of(catalog)
    components = {b.sku: b.components for b in catalog.bundles}
    category = {p.sku: p.category for p in catalog.products}
    channel = {s.code: s.channel for s in catalog.shops}
    prepared = []
    for order, (_, label) in zip(checked, orders, strict=True):
        shop = order["shop"]
        lines = tuple(
            (sku_of[(shop, line["platform_sku"] or line["listing_id"] or "")], line["quantity"])
            for line in order["lines"]
        )
        needs: dict[str, int] = defaultdict(int)
        for sku, qty in lines:
            for part, per in components.get(sku, ((sku, 1),)):
                needs[part] += per * qty
        cats = frozenset(c for sku, _ in lines if (c := category.get(sku)))
        prepared.append((order, lines, dict(needs), cats, channel[shop], amounts(order)[1], label))
    return prepared


def _norms(catalog: Catalog, seed: int, count: int) -> dict[tuple[str, str], ShopNorm]:
    totals: dict[tuple[str, str], list[int]] = defaultdict(list)
    for order in OrderGenerator(seed + 1, catalog, first_number=10_000_000).orders(count):
        totals[(order["shop"], order["currency"])].append(order["total"])
    return {key: ShopNorm(int(statistics.median(values)), len(values)) for key, values in totals.items()}


def _ruleset() -> RuleSet:
    specs, versions, _ = effective_specs([])
    blacklist = {
        "key": "risk.blacklist",
        "params": {
            "emails": sorted(BLACKLIST.emails),
            "phones": sorted(BLACKLIST.phones),
            "buyers": sorted(BLACKLIST.buyers),
            "addresses": [
                {"line1": line1, "postal_code": postal, "country": country}
                for line1, postal, country in sorted(BLACKLIST.addresses)
            ],
        },
    }
    specs = [blacklist if spec["key"] == "risk.blacklist" else spec for spec in specs]
    return RuleSet(compile_rules(specs, versions=versions))


def _available(catalog: Catalog) -> tuple[dict[str, dict[str, int]], tuple[str, ...]]:
    available: dict[str, dict[str, int]] = defaultdict(dict)
    for stock in catalog.stock:
        # Plenty of room: this measures review, not a stock-out; sold-out SKUs stay at zero.
        available[stock.sku][stock.warehouse] = (stock.quantity - stock.safety) * 1000
    for sku in catalog.sold_out():
        available[sku] = {}
    return dict(available), tuple(w.code for w in sorted(catalog.warehouses, key=lambda w: w.priority))


def run(count: int, anomaly_rate: float, seed: int) -> dict[str, Any]:
    catalog = default_catalog(orders=count, markets="global")
    generator = OrderGenerator(seed, catalog, anomaly_rate=anomaly_rate)
    started = time.perf_counter()
    prepared = _prepare(list(generator.labelled_orders(count)), catalog)
    print(f"generated and checked {count:,} orders in {time.perf_counter() - started:.1f} s", flush=True)

    available, warehouses = _available(catalog)
    presale: dict[str, datetime] = dict(catalog.presale)
    ruleset = _ruleset()
    context = ReviewContext(
        now=None,  # each order as of its last update, as when it arrives
        history=History(history_window(ruleset).total_seconds()),
        norms=_norms(catalog, seed, 20_000),
        available=available,
        warehouses=warehouses,
        presale=presale,
    )
    review = ruleset.review
    history_add = context.history.add
    outcomes: list[tuple[Anomaly | None, set[str]]] = []
    gc.collect()
    gc.disable()
    cpu_started = time.process_time()
    subjects = [
        (Subject(number, order, total, lines, needs, cats, channel), label)
        for number, (order, lines, needs, cats, channel, total, label) in enumerate(prepared)
    ]
    subject_cpu = time.process_time() - cpu_started
    started, cpu_started = time.perf_counter(), time.process_time()
    for subject, label in subjects:
        decision = review(subject, context)
        history_add(subject.seen(), subject.identities)
        outcomes.append((label, decision.reasons()))
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    gc.enable()

    clean = [reasons for label, reasons in outcomes if label is None]
    anomalies = [(label, reasons) for label, reasons in outcomes if label is not None]
    right = [label for label, reasons in anomalies if str(label.expected_reason) in reasons]
    by_label = Counter(label for label, _ in anomalies)
    right_by_label = Counter(right)
    false_holds = Counter(r for reasons in clean for r in reasons)
    print(
        f"reviewed {count:,} orders in {cpu:.2f} CPU s on one core: {count / cpu:,.0f} orders/s "
        f"({elapsed:.2f} s by the wall clock: {count / elapsed:,.0f} orders/s)"
    )
    print(
        f"building their subjects took {subject_cpu:.2f} CPU s more: "
        f"{count / (cpu + subject_cpu):,.0f} orders/s with it"
    )
    print(f"clean orders: {len(clean):,}, auto-approved {sum(1 for r in clean if not r):,}")
    print(f"  held anyway, by reason: {dict(false_holds.most_common())}")
    print(
        f"anomalies: {len(anomalies):,} ({len(anomalies) / count:.1%}), "
        f"held with the right reason {len(right):,}"
    )
    for label, total in sorted(by_label.items()):
        print(f"  {label:<22} {right_by_label[label]:>5} / {total:<5} -> {label.expected_reason}")
    return {
        "orders": count,
        "clean_auto_approved": round(sum(1 for r in clean if not r) / len(clean), 4),
        "anomalies_held_right_reason": round(len(right) / len(anomalies), 4) if anomalies else None,
        "orders_per_s_one_core": round(count / cpu, 1),
        "orders_per_s_wall_clock": round(count / elapsed, 1),
        "orders_per_s_with_subjects": round(count / (cpu + subject_cpu), 1),
        "anomalies": len(anomalies),
        "rules": len(ruleset.rules) + len(ruleset.factors),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--anomaly-rate", type=float, default=0.03)
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()
    print(json.dumps(run(args.orders, args.anomaly_rate, args.seed)))


if __name__ == "__main__":
    main()
