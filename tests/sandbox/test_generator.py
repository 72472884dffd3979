"""The order generator: deterministic, valid, realistic enough to test and benchmark with."""

from __future__ import annotations

from collections import Counter

import phonenumbers
from pydantic import TypeAdapter
from sqlalchemy.orm import Session, sessionmaker

from orderly.orders.ingest import ingest_batch
from orderly.orders.schemas import NormalizedOrder
from orderly.sandbox import OrderGenerator, build_catalog, default_catalog

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
