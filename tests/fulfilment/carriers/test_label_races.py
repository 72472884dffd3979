"""Label purchases raced from separate OS processes on both databases: clerks asking for the same
parcels' labels, and workers running the purchases, against one EasyPost sandbox. Each parcel's label
is asked once and bought once."""

from __future__ import annotations

import base64
import os
from collections import Counter
from multiprocessing.pool import Pool

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from orderly.core.config import Settings, get_settings
from orderly.core.db import transaction
from orderly.core.errors import DomainError
from orderly.fulfilment import service
from orderly.fulfilment.carriers import labels
from orderly.fulfilment.carriers import service as carriers
from orderly.fulfilment.carriers.schemas import CarrierAccountIn, LabelIn
from orderly.fulfilment.models import Shipment
from orderly.fulfilment.schemas import ShipmentIn
from orderly.jobs.worker import Worker
from orderly.orders.ingest import ingest_batch
from tests.factories import order, setup_catalog
from tests.fulfilment.carriers.conftest import EASYPOST_KEY, SHIP_FROM, Sandbox
from tests.races import hub, race_pool

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("races")]

WORKERS = 4
PARCELS = 8
# Fixed, not generated: every process imports this module afresh and must hold the same key.
KEY = base64.urlsafe_b64encode(b"orderly label races test key 32b").decode()


def _with_key() -> None:
    # Each process imports the test configuration afresh (a data folder of its own): the key the
    # credentials were sealed with is given to every process, as to every host of a shared database.
    os.environ["ORDERLY_SECRET_KEY"] = KEY
    get_settings.cache_clear()


def _ask(url: str, shipment_ids: list[int]) -> list[int]:
    """Ask for each parcel's label, one transaction each, once every process is ready; those asked."""
    _with_key()
    with hub(url) as factory:
        asked = []
        for shipment_id in shipment_ids:
            try:
                with transaction(factory) as s:
                    labels.request_label(s, shipment_id, LabelIn(carrier_account="ep"), actor="clerk")
                asked.append(shipment_id)
            except DomainError:
                pass  # another clerk asked first: refused, nothing enqueued
        return asked


def _work(url: str, rounds: int = 200) -> int:
    """Run due jobs until none is left; how many ran."""
    _with_key()
    with hub(url) as factory:
        worker = Worker(factory, idle_sleep=0)
        ran = idle = 0
        while idle < 20 and rounds:
            done = worker.run_once()
            ran, idle, rounds = ran + done, 0 if done else idle + 1, rounds - 1
        worker.close()
        return ran


pool = race_pool(WORKERS)


def test_clerks_and_workers_racing_buy_each_parcels_label_once(
    pool: Pool, db_url: str, factory: sessionmaker[Session], easypost: Sandbox
) -> None:
    setup_catalog(factory, {"SKU-1": 100})
    report = ingest_batch(factory, [order(("SKU-1", 1)) for _ in range(PARCELS)])
    with transaction(factory) as s:
        carriers.create_account(
            s,
            CarrierAccountIn.model_validate(
                {
                    "code": "ep",
                    "name": "EP",
                    "plugin": "easypost",
                    "base_url": f"{easypost.url}/v2",
                    "credentials": {"api_key": EASYPOST_KEY},
                    "settings": {
                        "ship_from": SHIP_FROM,
                        "default_parcel": {"length_mm": 200, "width_mm": 150, "height_mm": 100},
                    },
                }
            ),
            Settings(secret_key=KEY),
        )
        ids = [
            service.create_shipment(s, item.order_id, ShipmentIn(weight_g=300), actor="test").id
            for item in report.items
            if item.order_id is not None
        ]
    asked = [pool.apply_async(_ask, (db_url, ids[:: 1 if w % 2 else -1])) for w in range(WORKERS)]
    won = Counter(sid for done in asked for sid in done.get(timeout=180))
    assert won == dict.fromkeys(ids, 1)

    easypost.store.faults.lose_next_buy = 2  # two answers lost on the way: looked up, not bought again
    ran = [pool.apply_async(_work, (db_url,)) for _ in range(WORKERS)]
    assert sum(r.get(timeout=180) for r in ran) >= PARCELS
    assert Counter(easypost.store.purchases) == dict.fromkeys(easypost.store.purchases, 1)
    with transaction(factory) as s:
        statuses = Counter(s.scalars(select(Shipment.status)))
    assert statuses == {"label_bought": PARCELS}
    assert len(easypost.store.purchases) == PARCELS
