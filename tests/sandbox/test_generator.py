"""The order generator: deterministic, valid, realistic enough to test and benchmark with."""

from __future__ import annotations

import hashlib
import json
import re
import statistics
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

import phonenumbers
import pytest
from pydantic import TypeAdapter
from sqlalchemy.orm import Session, sessionmaker

from orderly.orders.ingest import ingest_batch
from orderly.orders.schemas import NormalizedOrder
from orderly.review.checks import REMARK_KEYWORDS
from orderly.sandbox import OrderGenerator, build_catalog, default_catalog
from orderly.sandbox.generator import BLACKLIST, Anomaly

ORDERS = TypeAdapter(list[NormalizedOrder])


def test_the_same_seed_gives_the_same_orders_and_another_seed_others() -> None:
    catalog = default_catalog(orders=500)
    first = list(OrderGenerator(7, catalog).orders(200))

    assert first == list(OrderGenerator(7, catalog).orders(200))
    assert first != list(OrderGenerator(8, catalog).orders(200))


def test_orders_are_valid_normalized_orders_with_unique_keys() -> None:
    catalog = default_catalog(orders=3000)
    orders = list(OrderGenerator(1, catalog).orders(3000))

    ORDERS.validate_python(orders)  # raises on any invalid order
    keys = Counter((o["shop"], o["external_id"]) for o in orders)
    assert keys.most_common(1)[0][1] == 1
    assert len({o["shop"] for o in orders}) >= 5
    assert len({o["shipping_address"]["country"] for o in orders}) >= 8
    assert any(len(o["lines"]) > 1 for o in orders)


def test_phone_numbers_are_valid_for_their_country() -> None:
    orders = list(OrderGenerator(3, default_catalog(orders=1000)).orders(1000))
    phones = [(o["shipping_address"]["phone"], o["shipping_address"]["country"]) for o in orders]
    checked = [phonenumbers.is_valid_number(phonenumbers.parse(p, c)) for p, c in phones if p]

    assert len(checked) > 900 and all(checked)


def test_generated_orders_go_in_against_the_built_catalog(factory: sessionmaker[Session]) -> None:
    catalog = default_catalog(orders=400)
    build_catalog(factory, catalog)

    report = ingest_batch(factory, list(OrderGenerator(5, catalog).orders(400)))

    assert report.count("rejected") == 0
    assert report.count("created") == 400


# --- the anomaly mode ---------------------------------------------------------------------------------

# The default stream as it was before the anomaly mode: benchmarks and tests rely on it.
DEFAULT_STREAM_SHA256 = "e612dd69f933b26386f5ec56a6abab8cdfb87fccef4ee74e8a439059617a38e0"

GLOBAL = default_catalog(orders=20_000, markets="global")
RATE = 0.06
COD = {"COD", "代金引換"}
POSTAL_CODES = {
    "US": r"\d{5}",
    "CA": r"[A-Z]\d[A-Z] \d[A-Z]\d",
    "GB": r"[A-Z]{1,2}\d[A-Z\d]? \d[A-Z]{2}",
    "DE": r"\d{5}",
    "FR": r"\d{5}",
    "CN": r"\d{6}",
    "JP": r"\d{3}-\d{4}",
    "SG": r"\d{6}",
    "MY": r"\d{5}",
    "AU": r"\d{4}",
    "TH": r"\d{5}",
    "PH": r"\d{4}",
    "VN": r"\d{5,6}",
    "ID": r"\d{5}",
    "BR": r"\d{5}-\d{3}",
    "MX": r"\d{5}",
}
PLACEHOLDERS = {"N/A", "-", "无", "なし"}
PO_BOX = re.compile(
    r"\b(P\.?O\.? Box|GPO Box|Postfach|BP|Caixa Postal|Apartado Postal|Kotak Pos|Peti Surat)\b"
    r"|私書箱|邮政信箱|ตู้ ปณ\.|Hộp thư",
    re.IGNORECASE,
)
Labelled = list[tuple[dict[str, Any], Anomaly | None]]


@pytest.fixture(scope="module")
def labelled() -> Labelled:
    return list(OrderGenerator(11, GLOBAL, anomaly_rate=RATE).labelled_orders(20_000))


SKU_OF = {
    (listing.shop, listing.platform_sku, listing.listing_id): listing.sku for listing in GLOBAL.listings
}


def _skus(order: dict[str, Any]) -> set[str]:
    return {
        SKU_OF[order["shop"], line.get("platform_sku"), line.get("listing_id")] for line in order["lines"]
    }


def _placed(order: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(order["placed_at"])


def _medians(orders: list[dict[str, Any]]) -> dict[str, float]:
    totals: dict[str, list[int]] = defaultdict(list)
    for order in orders:
        totals[order["shop"]].append(order["total"])
    return {shop: statistics.median(values) for shop, values in totals.items()}


def _identity(order: dict[str, Any]) -> set[tuple[str, ...]]:
    buyer, address = order["buyer"], order["shipping_address"]
    keys = {("address", address["line1"], str(address.get("postal_code")), address["country"])}
    keys |= {(field, buyer[field]) for field in ("email", "phone", "platform_id") if buyer.get(field)}
    if address.get("phone"):
        keys.add(("phone", address["phone"]))
    return keys


def _third_similar_within_10_minutes(orders: list[dict[str, Any]]) -> list[bool]:
    """Whether each order follows two or more orders within 10 minutes that share one of its e-mail,
    phone, platform id or address and one of its SKUs."""
    seen: dict[tuple[str, ...], list[int]] = defaultdict(list)
    flags = []
    for index, order in enumerate(orders):
        placed, skus = _placed(order), _skus(order)
        earlier = set()
        for key in _identity(order):
            for other in reversed(seen[key]):
                if placed - _placed(orders[other]) > timedelta(minutes=10):
                    break
                if skus & _skus(orders[other]):
                    earlier.add(other)
        flags.append(len(earlier) >= 2)
        for key in _identity(order):
            seen[key].append(index)
    return flags


def _blacklisted_fields(order: dict[str, Any]) -> set[str]:
    buyer, address = order["buyer"], order["shipping_address"]
    fields = set()
    if buyer.get("email") in BLACKLIST.emails:
        fields.add("email")
    if {buyer.get("phone"), address.get("phone")} & BLACKLIST.phones:
        fields.add("phone")
    if buyer.get("platform_id") in BLACKLIST.buyers:
        fields.add("platform_id")
    if (address["line1"], address.get("postal_code"), address["country"]) in BLACKLIST.addresses:
        fields.add("address")
    return fields


def _faults(order: dict[str, Any], median: float) -> set[Anomaly]:
    """Everything auto-review should find wrong with ``order``, except velocity."""
    address, country = order["shipping_address"], order["shipping_address"]["country"]
    postal_code, phone = address.get("postal_code"), address["phone"]
    found = set()
    if postal_code is None or {address["line1"], address["city"]} & PLACEHOLDERS:
        found.add(Anomaly.MISSING_ADDRESS_FIELD)
    if postal_code is not None and not re.fullmatch(POSTAL_CODES[country], postal_code):
        found.add(Anomaly.BAD_POSTAL_CODE)
    if not phonenumbers.is_valid_number_for_region(phonenumbers.parse(phone, country), country):
        found.add(Anomaly.BAD_PHONE)
    if PO_BOX.search(address["line1"]):
        found.add(Anomaly.PO_BOX)
    if any(keyword in order.get("buyer_remark", "").lower() for keyword in REMARK_KEYWORDS):
        found.add(Anomaly.REMARK_KEYWORD)
    if order["total"] >= 10 * median:
        found.add(Anomaly.HIGH_VALUE)
    if order["billing_country"] != country:
        found.add(Anomaly.COUNTRY_MISMATCH)
    if _blacklisted_fields(order):
        found.add(Anomaly.BLACKLISTED)
    if order["payment_status"] != "paid" and order["payment_method"] not in COD:
        found.add(Anomaly.UNPAID)
    if _skus(order) & GLOBAL.sold_out():
        found.add(Anomaly.OUT_OF_STOCK)
    releases = [GLOBAL.presale_until(sku) for sku in _skus(order)]
    if any(release and release > _placed(order) for release in releases):
        found.add(Anomaly.PRESALE)
    return found


def test_with_defaults_the_stream_is_the_one_it_always_was() -> None:
    orders = list(OrderGenerator(7, default_catalog()).orders(500))
    encoded = json.dumps(orders, sort_keys=True, ensure_ascii=False).encode()

    assert hashlib.sha256(encoded).hexdigest() == DEFAULT_STREAM_SHA256


def test_without_an_anomaly_rate_nothing_is_labelled_and_the_stream_is_the_same() -> None:
    catalog = default_catalog(orders=500, markets="global")
    labelled = list(OrderGenerator(4, catalog).labelled_orders(300))

    assert [order for order, _ in labelled] == list(OrderGenerator(4, catalog).orders(300))
    assert {label for _, label in labelled} == {None}


def test_the_core_catalog_has_nothing_sold_out_or_presale_and_the_global_one_both() -> None:
    start = datetime(2026, 11, 1, tzinfo=UTC)

    assert default_catalog() == default_catalog(markets="core")
    assert not default_catalog().sold_out()
    assert not default_catalog().presale
    assert GLOBAL.sold_out() == {"LMP-SOL", "MUG-CPR"}
    assert all(GLOBAL.presale_until(sku) > start + timedelta(days=90) for sku, _ in GLOBAL.presale)
    assert len(GLOBAL.presale) == 2
    assert GLOBAL.presale_until("KET-BLK") is None
    with pytest.raises(ValueError, match="markets"):
        default_catalog(markets="moon")


def test_the_anomaly_mode_needs_sold_out_and_presale_skus_and_a_share() -> None:
    with pytest.raises(ValueError, match="presale"):
        OrderGenerator(1, default_catalog(orders=100), anomaly_rate=0.1)
    with pytest.raises(ValueError, match="share"):
        OrderGenerator(1, GLOBAL, anomaly_rate=1.5)


def test_labelled_orders_are_valid_with_unique_keys_and_reach_every_market(labelled: Labelled) -> None:
    orders = [order for order, _ in labelled]

    ORDERS.validate_python(orders)  # raises on any invalid order
    assert Counter((o["shop"], o["external_id"]) for o in orders).most_common(1)[0][1] == 1
    assert {o["shop"] for o in orders} == {shop.code for shop in GLOBAL.shops}
    assert {o["shipping_address"]["country"] for o in orders} == set(POSTAL_CODES)
    assert [o["placed_at"] for o in orders] == sorted(o["placed_at"] for o in orders)


def test_every_kind_is_labelled_about_as_often_and_all_at_about_the_rate(labelled: Labelled) -> None:
    kinds = Counter(label for _, label in labelled if label)
    share = sum(kinds.values()) / len(labelled)

    assert RATE * 0.9 < share < RATE * 1.1
    assert set(kinds) == set(Anomaly)
    mean = sum(kinds.values()) / len(Anomaly)
    assert all(0.8 * mean < count < 1.2 * mean for count in kinds.values()), kinds


def test_each_labelled_order_has_its_anomaly_alone_and_every_other_order_none(labelled: Labelled) -> None:
    orders = [order for order, _ in labelled]
    medians = _medians(orders)
    velocity = _third_similar_within_10_minutes(orders)

    found = [
        _faults(order, medians[order["shop"]]) | ({Anomaly.VELOCITY} if fast else set())
        for order, fast in zip(orders, velocity, strict=True)
    ]

    wrong = [
        (label, faults, order)
        for (order, label), faults in zip(labelled, found, strict=True)
        if faults != ({label} if label else set())
    ]
    assert not wrong, wrong[:3]


def test_high_value_orders_are_15_to_40_medians_and_the_rest_under_8(labelled: Labelled) -> None:
    medians = _medians([order for order, _ in labelled])
    ratios: dict[bool, list[float]] = defaultdict(list)
    for order, label in labelled:
        ratios[label is Anomaly.HIGH_VALUE].append(order["total"] / medians[order["shop"]])

    assert min(ratios[True]) >= 15
    assert max(ratios[True]) <= 40
    assert max(ratios[False]) < 8


def test_a_burst_is_one_buyer_ordering_a_shared_sku_3_to_5_times_in_10_minutes(labelled: Labelled) -> None:
    bursts: defaultdict[str, Labelled] = defaultdict(list)
    for order, label in labelled:
        buyer = json.dumps([order["buyer"], order["shipping_address"]["line1"]], sort_keys=True)
        bursts[buyer].append((order, label))
    velocity = [burst for burst in bursts.values() if any(label is Anomaly.VELOCITY for _, label in burst)]

    assert len(velocity) > 20
    for burst in velocity:
        orders = [order for order, _ in burst]
        assert 3 <= len(burst) <= 5
        assert [label for _, label in burst[:2]] == [None, None]
        assert {label for _, label in burst[2:]} == {Anomaly.VELOCITY}
        assert _placed(orders[-1]) - _placed(orders[0]) <= timedelta(minutes=10)
        assert all(_skus(order) & _skus(orders[0]) for order in orders)
        assert len({o["shipping_address"]["phone"] for o in orders}) == 1


def test_anomalies_come_in_their_variants(labelled: Labelled) -> None:
    by_kind: dict[Anomaly, list[dict[str, Any]]] = defaultdict(list)
    for order, label in labelled:
        if label:
            by_kind[label].append(order)

    missing = [order["shipping_address"] for order in by_kind[Anomaly.MISSING_ADDRESS_FIELD]]
    assert any(a["postal_code"] is None for a in missing)
    assert any(a["line1"] in PLACEHOLDERS for a in missing)
    assert any(a["city"] in PLACEHOLDERS for a in missing)
    blacklisted = set().union(*(_blacklisted_fields(order) for order in by_kind[Anomaly.BLACKLISTED]))
    assert blacklisted == {"email", "phone", "platform_id", "address"}
    po_boxes = {PO_BOX.search(o["shipping_address"]["line1"]).group(0) for o in by_kind[Anomaly.PO_BOX]}
    assert len(po_boxes) >= 8
    for order in by_kind[Anomaly.UNPAID]:
        assert timedelta(hours=2) <= datetime.fromisoformat(order["updated_at"]) - _placed(order)
        assert datetime.fromisoformat(order["updated_at"]) - _placed(order) <= timedelta(hours=6)


def test_clean_orders_are_paid_or_cash_on_delivery_and_never_cancelled(labelled: Labelled) -> None:
    clean = [order for order, label in labelled if label is None]

    assert all(o["payment_status"] == "paid" or o["payment_method"] in COD for o in clean)
    assert any(o["payment_status"] == "pending" for o in clean)
    assert not any(o.get("cancelled") for o in clean)
    assert sum("repeat-buyer" in o["tags"] for o in clean) > 0.15 * len(clean)


def test_the_same_seed_gives_the_same_labelled_orders() -> None:
    def stream(seed: int) -> Labelled:
        return list(OrderGenerator(seed, GLOBAL, anomaly_rate=0.2).labelled_orders(1_000))

    assert stream(3) == stream(3)
    assert stream(3) != stream(4)


def test_the_global_catalog_builds_and_its_labelled_orders_go_in(factory: sessionmaker[Session]) -> None:
    catalog = default_catalog(orders=400, markets="global")
    build_catalog(factory, catalog)
    labelled = list(OrderGenerator(5, catalog, anomaly_rate=0.25).labelled_orders(400))

    report = ingest_batch(factory, [order for order, _ in labelled])

    assert report.count("rejected") == 0
    assert report.count("created") == 400
    labels = [label for _, label in labelled]
    sold_out = [
        item for item, label in zip(report.items, labels, strict=True) if label is Anomaly.OUT_OF_STOCK
    ]
    assert sold_out
    assert {item.status for item in sold_out} == {"on_hold"}
