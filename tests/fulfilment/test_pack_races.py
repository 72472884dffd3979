"""Packers racing each other from separate OS processes on both databases: the last unit of a parcel
is accepted once, and a parcel packed (and shipped on pack) or handed over meanwhile moves its stock
once."""

from __future__ import annotations

from collections import Counter
from multiprocessing.pool import Pool

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from orderly.core.db import transaction
from orderly.core.errors import DomainError
from orderly.fulfilment import packing, service
from orderly.fulfilment.models import PackScan, Shipment, ShipmentEvent
from orderly.fulfilment.schemas import ShipmentIn
from orderly.inventory import service as inventory
from orderly.inventory.models import StockLedgerEntry, StockLevel, Warehouse
from orderly.orders.ingest import ingest_batch
from tests.factories import order, setup_catalog
from tests.races import Calls, hub, race, race_pool

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("races")]

WORKERS = 4
PARCELS = 12


def _each(url: str, work: str, ids: list[int]) -> list[int]:
    """Do ``work`` to each parcel, one transaction each, after every process is ready; those it did."""
    with hub(url) as factory:
        done = []
        for shipment_id in ids:
            try:
                with transaction(factory) as s:
                    if work == "scan":
                        packing.scan(s, "SKU-1", packer=f"packer-{id(factory)}", shipment_id=shipment_id)
                    else:
                        service.ship_shipment(s, shipment_id, actor="packer")
                done.append(shipment_id)
            except DomainError:
                pass  # another process got there first: refused, nothing moved
        return done


pool = race_pool(WORKERS)


def _parcels_one_unit_short(factory: sessionmaker[Session], *, ship_on_pack: bool) -> list[int]:
    """PARCELS parcels of 2 x SKU-1 each, one unit scanned into each."""
    setup_catalog(factory, {"SKU-1": 100})
    report = ingest_batch(factory, [order(("SKU-1", 2)) for _ in range(PARCELS)])
    order_ids = [item.order_id for item in report.items if item.order_id is not None]
    with transaction(factory) as s:
        s.execute(update(Warehouse).values(ship_on_pack=ship_on_pack))
        ids = [service.create_shipment(s, oid, ShipmentIn(), actor="test").id for oid in order_ids]
        for shipment_id in ids:
            packing.scan(s, "SKU-1", packer="first", shipment_id=shipment_id)
    return ids


def _stock_left_once(factory: sessionmaker[Session], shipped: int) -> None:
    with transaction(factory) as s:
        assert inventory.verify(s, repair=False, actor="test") == []
        on_hand, reserved = s.execute(select(StockLevel.on_hand, StockLevel.reserved)).one()
        ledger = s.scalar(select(func.count()).where(StockLedgerEntry.kind == "shipment"))
    assert (on_hand, reserved, ledger) == (100 - 2 * shipped, 2 * (PARCELS - shipped), shipped)


def test_packers_scanning_the_last_unit_of_the_same_parcels_are_accepted_once(
    pool: Pool, db_url: str, factory: sessionmaker[Session]
) -> None:
    ids = _parcels_one_unit_short(factory, ship_on_pack=True)
    calls: Calls = [(_each, (db_url, "scan", ids[:: 1 if w % 2 else -1])) for w in range(WORKERS)]
    won = Counter(sid for done in race(pool, calls) for sid in done)

    assert won == dict.fromkeys(ids, 1)
    with transaction(factory) as s:
        scans = Counter(s.scalars(select(PackScan.shipment_id)))
        statuses = Counter(s.scalars(select(Shipment.status)))
        packed = s.scalar(select(func.count()).where(ShipmentEvent.to_status == "packed"))
    assert scans == dict.fromkeys(ids, 2)
    assert statuses == {"shipped": PARCELS}
    assert packed == PARCELS
    _stock_left_once(factory, PARCELS)


def test_packing_the_last_unit_racing_a_hand_over_moves_stock_once(
    pool: Pool, db_url: str, factory: sessionmaker[Session]
) -> None:
    ids = _parcels_one_unit_short(factory, ship_on_pack=True)
    calls: Calls = [
        (_each, (db_url, "scan", ids)),
        (_each, (db_url, "ship", ids[::-1])),
        (_each, (db_url, "scan", ids[::-1])),
        (_each, (db_url, "ship", ids)),
    ]
    scanned, shipped, scanned_back, shipped_back = race(pool, calls)

    # Each parcel left once: by the packer's last scan (shipped on pack) or by a hand-over first.
    assert Counter(scanned + scanned_back + shipped + shipped_back) == dict.fromkeys(ids, 1)
    with transaction(factory) as s:
        statuses = Counter(s.scalars(select(Shipment.status)))
        shipped_events = s.scalar(select(func.count()).where(ShipmentEvent.to_status == "shipped"))
    assert statuses == {"shipped": PARCELS}
    assert shipped_events == PARCELS
    _stock_left_once(factory, PARCELS)
