"""The world ``bench/sync.py`` measures in: a sandbox shop of each platform, served over HTTP, and a
sale placed on any one of them reaches the hub its platform's way and the new figure every other."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session, sessionmaker

from orderly.channels.tasks import POLL
from orderly.core.config import get_settings
from orderly.core.db import transaction
from orderly.jobs.service import NewJob, enqueue
from sync_world import BY_POLLING, PLATFORMS, world

pytestmark = pytest.mark.xdist_group("end_to_end")


def test_a_sale_on_each_platforms_shop_reaches_the_hub_and_every_other_shop(
    factory: sessionmaker[Session], db_url: str
) -> None:
    stock = {"SKU-1": 10, "SKU-2": 4}
    with world(db_url, stock, platforms=PLATFORMS, workers=1, settings=get_settings()) as w:
        w.settle()  # the first stock pushes
        assert w.stock_problems() == []
        assert {code: shop.levels() for code, shop in w.shops.items()} == {code: stock for code in PLATFORMS}
        for code, shop in w.shops.items():
            if shop.way_in != BY_POLLING:
                w.webhooks(code, on=True)

        sold = {code: shop.sell("SKU-1") for code, shop in w.shops.items()}
        amazon = w.shop_id("amazon")
        with transaction(w.factory) as s:  # Amazon sends nothing: the poll the scheduler would queue
            enqueue(s, [NewJob(POLL, {"shop_id": amazon}, key=f"{POLL}:{amazon}", shop_id=amazon)])
        w.settle()

        assert [p for code, order in sold.items() for p in w.order_problems(code, [order])] == []
        assert w.stock_problems() == []
        assert {code: shop.levels()["SKU-1"] for code, shop in w.shops.items()} == dict.fromkeys(PLATFORMS, 5)
