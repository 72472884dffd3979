"""The demo of ``orderly start --demo``: sandbox shops take orders and the hub sees them arrive."""

from __future__ import annotations

import time

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from orderly.api import create_app
from orderly.channels.models import ListingBinding, Shop
from orderly.core.db import transaction
from orderly.fulfilment.carriers.models import CarrierAccount
from orderly.jobs.worker import start_workers
from orderly.orders.models import Order
from orderly.sandbox.demo import (
    AMAZON,
    CARRIER,
    DHL_CARRIER,
    EASYPOST_KEY,
    EBAY,
    LAZADA,
    SHOPEE,
    SHOPIFY,
    TIKTOK,
    WOOCOMMERCE,
    start_demo,
)
from orderly.sandbox.serve import serving

pytestmark = pytest.mark.xdist_group("end_to_end")


def _shops_with_orders(factory: sessionmaker[Session]) -> set[str]:
    with transaction(factory) as s:
        rows = s.execute(select(Shop.code).join(Order, Order.shop_id == Shop.id).group_by(Shop.code)).all()
    return {code for (code,) in rows}


def _shops_pushed_to(factory: sessionmaker[Session]) -> set[str]:
    with transaction(factory) as s:
        rows = s.execute(
            select(Shop.code)
            .join(ListingBinding, ListingBinding.shop_id == Shop.id)
            .where(ListingBinding.last_quantity.is_not(None))
            .group_by(Shop.code)
        ).all()
    return {code for (code,) in rows}


def test_orders_flow_in_from_every_sandbox_shop_and_stock_flows_out(factory: sessionmaker[Session]) -> None:
    both = {SHOPIFY, AMAZON, TIKTOK, SHOPEE, LAZADA, WOOCOMMERCE, EBAY}  # every demo shop
    with serving(create_app(factory=factory, workers=0)) as hub_url:
        stop_workers = start_workers(factory, 2)
        stop_demo = start_demo(factory, hub_url, every=0.1, seed=7)
        try:
            # Pushes may wait out the shops' coalescing window: stock may reach a shop after its orders came.
            # Read while the demo runs: stopping it cuts pushes in flight, which leaves their figure unknown.
            deadline = time.monotonic() + 20
            seen: tuple[set[str], set[str]] = (set(), set())
            while seen != (both, both) and time.monotonic() < deadline:
                time.sleep(0.2)
                with_orders, pushed_to = _shops_with_orders(factory), _shops_pushed_to(factory)
                seen = (seen[0] | with_orders, seen[1] | pushed_to)
            with transaction(factory) as s:
                account = s.scalars(select(CarrierAccount).where(CarrierAccount.code == CARRIER)).one()
                base_url = account.base_url
            # The demo carrier account reaches a live EasyPost sandbox with its own key.
            assert httpx.get(f"{base_url}/trackers", auth=(EASYPOST_KEY, "")).status_code == 200
            with transaction(factory) as s:
                assert s.scalar(select(CarrierAccount.plugin).where(CarrierAccount.code == DHL_CARRIER)) == (
                    "dhl_express"
                )
        finally:
            stop_demo()
            stop_workers()

    assert _shops_with_orders(factory) == seen[0] == both
    assert seen[1] == both  # stock reached every shop
