"""All fulfilment queries. Shipments are locked only after their order (``orders.repository:
lock_order``) and before any stock row, the hub's one lock order."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from orderly.catalog.domain import PLATFORM
from orderly.catalog.models import Product, SkuMapping
from orderly.channels.models import Shop
from orderly.core.db import chunks, insert_rows
from orderly.core.errors import NotFound
from orderly.fulfilment.carriers.models import LabelState, ShipmentLabel
from orderly.fulfilment.domain import LIVE, ON_THE_WAY, ShipmentStatus
from orderly.fulfilment.models import (
    PackScan,
    PackStation,
    Shipment,
    ShipmentEvent,
    ShipmentLine,
    TrackingEventRow,
    TrackingWriteback,
)
from orderly.inventory.models import Warehouse
from orderly.orders import search
from orderly.orders.domain import OrderStatus
from orderly.orders.models import Order, OrderLine

#: An order line's product id, SKU, its title on the order, the product's name and barcode.
LineProduct = tuple[int, str, str | None, str, str | None]


def order_of(session: Session, shipment_id: int) -> int:
    """The order a shipment belongs to (read without a lock: the order is locked first)."""
    order_id = session.scalar(select(Shipment.order_id).where(Shipment.id == shipment_id))
    if order_id is None:
        raise NotFound(f"no shipment {shipment_id}")
    return order_id


def lock_shipment(session: Session, shipment_id: int) -> Shipment:
    query = (
        select(Shipment)
        .where(Shipment.id == shipment_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    found = session.scalar(query)
    if found is None:
        raise NotFound(f"no shipment {shipment_id}")
    return found


def get_shipment(session: Session, shipment_id: int) -> Shipment:
    found = session.get(Shipment, shipment_id)
    if found is None:
        raise NotFound(f"no shipment {shipment_id}")
    return found


def shipments_of(session: Session, order_id: int) -> list[Shipment]:
    return list(session.scalars(select(Shipment).where(Shipment.order_id == order_id).order_by(Shipment.id)))


def lines_of(session: Session, shipment_ids: list[int]) -> dict[int, dict[int, int]]:
    """Each shipment's units, line number -> quantity."""
    found: dict[int, dict[int, int]] = {sid: {} for sid in shipment_ids}
    query = (
        select(ShipmentLine.shipment_id, ShipmentLine.line_no, ShipmentLine.quantity)
        .where(ShipmentLine.shipment_id.in_(shipment_ids))
        .order_by(ShipmentLine.shipment_id, ShipmentLine.line_no)
    )
    for sid, line_no, quantity in session.execute(query).all():
        found[sid][line_no] = quantity
    return found


def in_live_shipments(session: Session, order_id: int) -> dict[int, int]:
    """Units of each order line (line number -> quantity) in the order's parcels not yet shipped."""
    query = (
        select(ShipmentLine.line_no, func.sum(ShipmentLine.quantity))
        .join(Shipment, Shipment.id == ShipmentLine.shipment_id)
        .where(Shipment.order_id == order_id, Shipment.status.in_(sorted(LIVE)))
        .group_by(ShipmentLine.line_no)
    )
    return {line_no: int(qty) for line_no, qty in session.execute(query).all()}


def add_lines(session: Session, shipment_id: int, units: Mapping[int, int]) -> None:
    session.add_all(
        ShipmentLine(shipment_id=shipment_id, line_no=no, quantity=qty) for no, qty in units.items()
    )


def events_of(session: Session, shipment_ids: list[int]) -> dict[int, list[ShipmentEvent]]:
    found: dict[int, list[ShipmentEvent]] = {sid: [] for sid in shipment_ids}
    query = (
        select(ShipmentEvent).where(ShipmentEvent.shipment_id.in_(shipment_ids)).order_by(ShipmentEvent.id)
    )
    for event in session.scalars(query):
        found[event.shipment_id].append(event)
    return found


def shipments_by_id(session: Session, shipment_ids: Iterable[int]) -> dict[int, Shipment]:
    found: dict[int, Shipment] = {}
    for part in chunks(sorted(set(shipment_ids))):
        found.update((s.id, s) for s in session.scalars(select(Shipment).where(Shipment.id.in_(part))))
    return found


def labelled_in(session: Session, warehouse_id: int) -> list[Shipment]:
    """A warehouse's parcels with a label that have not left yet."""
    labelled = sorted(LIVE - {ShipmentStatus.CREATED})
    query = select(Shipment).where(Shipment.warehouse_id == warehouse_id, Shipment.status.in_(labelled))
    return list(session.scalars(query.order_by(Shipment.id)))


def to_pick_in(session: Session, warehouse_id: int | None) -> list[Shipment]:
    """A warehouse's parcels whose items are still on the shelves (made or labelled, not picked); with
    None, every warehouse's."""
    waiting = sorted({ShipmentStatus.CREATED, ShipmentStatus.LABEL_BOUGHT})
    query = select(Shipment).where(Shipment.status.in_(waiting))
    if warehouse_id is not None:
        query = query.where(Shipment.warehouse_id == warehouse_id)
    return list(session.scalars(query.order_by(Shipment.id)))


def products_by_id(session: Session, product_ids: Iterable[int]) -> dict[int, Product]:
    found: dict[int, Product] = {}
    for part in chunks(sorted(set(product_ids))):
        found.update((p.id, p) for p in session.scalars(select(Product).where(Product.id.in_(part))))
    return found


def warehouses_by_id(session: Session, warehouse_ids: Iterable[int]) -> dict[int, Warehouse]:
    query = select(Warehouse).where(Warehouse.id.in_(sorted(set(warehouse_ids))))
    return {w.id: w for w in session.scalars(query)}


def orders_with_shop(session: Session, order_ids: Iterable[int]) -> dict[int, tuple[Order, str]]:
    """Each order with its shop's code."""
    found: dict[int, tuple[Order, str]] = {}
    for part in chunks(sorted(set(order_ids))):
        query = select(Order, Shop.code).join(Shop, Shop.id == Order.shop_id).where(Order.id.in_(part))
        found.update((order.id, (order, code)) for order, code in session.execute(query).all())
    return found


def line_products(session: Session, order_ids: Iterable[int]) -> dict[tuple[int, int], LineProduct]:
    """(order, line number) -> the line's product id, SKU, title on the order, product name, barcode."""
    found: dict[tuple[int, int], LineProduct] = {}
    for part in chunks(sorted(set(order_ids))):
        query = (
            select(
                OrderLine.order_id,
                OrderLine.line_no,
                Product.id,
                Product.sku,
                OrderLine.title,
                Product.name,
                Product.barcode,
            )
            .join(Product, Product.id == OrderLine.product_id)
            .where(OrderLine.order_id.in_(part))
        )
        for order_id, line_no, product_id, sku, title, name, barcode in session.execute(query).all():
            found[(order_id, line_no)] = (product_id, sku, title, name, barcode)
    return found


def tracking_digests(session: Session, shipment_id: int) -> set[str]:
    query = select(TrackingEventRow.digest).where(TrackingEventRow.shipment_id == shipment_id)
    return set(session.scalars(query))


def timeline(session: Session, shipment_id: int) -> list[TrackingEventRow]:
    query = (
        select(TrackingEventRow)
        .where(TrackingEventRow.shipment_id == shipment_id)
        .order_by(TrackingEventRow.occurred_at, TrackingEventRow.id)
    )
    return list(session.scalars(query))


def quiet_since(session: Session, before: datetime) -> list[Shipment]:
    """Parcels on their way with a carrier that reports events, of which nothing was heard since
    ``before`` (since they were handed over, when nothing was heard at all)."""
    heard = func.coalesce(Shipment.last_event_at, Shipment.shipped_at)
    query = select(Shipment).where(
        Shipment.status.in_(sorted(ON_THE_WAY)), Shipment.carrier_plugin != "manual", heard < before
    )
    return list(session.scalars(query.order_by(Shipment.id)))


def promise_passed(session: Session, now: datetime) -> list[Shipment]:
    """Parcels on their way whose promised delivery has passed."""
    query = select(Shipment).where(Shipment.status.in_(sorted(ON_THE_WAY)), Shipment.promised_by < now)
    return list(session.scalars(query.order_by(Shipment.id)))


def last_events(session: Session, shipment_ids: Iterable[int]) -> dict[int, TrackingEventRow]:
    """The newest event of each of these parcels' timelines (of two at one time, the last recorded)."""
    found: dict[int, TrackingEventRow] = {}
    for part in chunks(sorted(set(shipment_ids))):
        newest = (
            select(TrackingEventRow.shipment_id, func.max(TrackingEventRow.occurred_at).label("at"))
            .where(TrackingEventRow.shipment_id.in_(part))
            .group_by(TrackingEventRow.shipment_id)
            .subquery()
        )
        query = (
            select(TrackingEventRow)
            .join(
                newest,
                (newest.c.shipment_id == TrackingEventRow.shipment_id)
                & (newest.c.at == TrackingEventRow.occurred_at),
            )
            .order_by(TrackingEventRow.id)
        )
        found.update((row.shipment_id, row) for row in session.scalars(query))
    return found


def lock_writeback(session: Session, shipment_id: int) -> TrackingWriteback | None:
    """A parcel's write-back row, locked (taken alone: no order, shipment or stock row after it)."""
    query = (
        select(TrackingWriteback)
        .where(TrackingWriteback.shipment_id == shipment_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return session.scalar(query)


def writebacks_of(session: Session, shipment_ids: list[int]) -> dict[int, TrackingWriteback]:
    query = select(TrackingWriteback).where(TrackingWriteback.shipment_id.in_(shipment_ids))
    return {row.shipment_id: row for row in session.scalars(query)}


def parcel_lines(session: Session, shipment_id: int) -> list[tuple[str | None, str | None, int]]:
    """(platform SKU, listing id, units) of each order line in the parcel, in line order."""
    query = (
        select(OrderLine.platform_sku, OrderLine.listing_id, ShipmentLine.quantity)
        .join(Shipment, Shipment.id == ShipmentLine.shipment_id)
        .join(
            OrderLine, (OrderLine.order_id == Shipment.order_id) & (OrderLine.line_no == ShipmentLine.line_no)
        )
        .where(ShipmentLine.shipment_id == shipment_id)
        .order_by(ShipmentLine.line_no)
    )
    return [(sku, listing, qty) for sku, listing, qty in session.execute(query).all()]


def platform_fulfilled(session: Session, shop_id: int, keys: Iterable[str]) -> set[str]:
    """Of these platform SKUs and listing ids of the shop, those whose mapping says the platform
    fulfils them from its own stock (Amazon FBA)."""
    wanted = sorted(set(keys))
    query = select(SkuMapping.platform_sku, SkuMapping.listing_id).where(
        SkuMapping.shop_id == shop_id,
        SkuMapping.fulfilled_by == PLATFORM,
        SkuMapping.platform_sku.in_(wanted) | SkuMapping.listing_id.in_(wanted),
    )
    return {key for row in session.execute(query).all() for key in row if key in wanted}


# --- scan to pack ------------------------------------------------------------------------------------


def scanned_units(session: Session, shipment_id: int) -> dict[int, int]:
    """The stock units scanned into a parcel so far, by product."""
    query = (
        select(PackScan.product_id, func.count())
        .where(PackScan.shipment_id == shipment_id)
        .group_by(PackScan.product_id)
    )
    return {pid: int(n) for pid, n in session.execute(query).all()}


def add_scan(
    session: Session, shipment_id: int, product_id: int, code: str, actor: str, now: datetime
) -> None:
    session.add(
        PackScan(shipment_id=shipment_id, product_id=product_id, code=code, actor=actor, created_at=now)
    )


def clear_scans(session: Session, shipment_id: int) -> int:
    return session.execute(delete(PackScan).where(PackScan.shipment_id == shipment_id)).rowcount or 0  # type: ignore[attr-defined]


def station_of(session: Session, packer: str) -> int | None:
    """The parcel this packer is packing, if any."""
    return session.scalar(select(PackStation.shipment_id).where(PackStation.packer == packer))


def set_station(session: Session, packer: str, shipment_id: int, now: datetime) -> None:
    insert_rows(
        session,
        PackStation,
        ("packer", "shipment_id", "updated_at"),
        [(packer, shipment_id, now)],
        skip_conflicts_on=["packer"],
    )
    session.execute(
        update(PackStation)
        .where(PackStation.packer == packer)
        .values(shipment_id=shipment_id, updated_at=now)
    )


def parcels_of_order_number(session: Session, number: str) -> list[tuple[Order, Shipment]]:
    """The parcels of the orders with this platform order number (with or without '#'; one per shop
    at most), found through the order search keys."""
    wanted = number.lstrip("#").casefold()
    query = (
        select(Order, Shipment).join(Shipment, Shipment.order_id == Order.id).where(search.matches(number))
    )
    return [
        (order, shipment)
        for order, shipment in session.execute(query.order_by(Shipment.id)).all()
        if order.external_id.lstrip("#").casefold() == wanted
    ]


def live_parcels_of_cancelled_orders(session: Session, limit: int) -> list[int]:
    """Parcels still on the shelf whose order was cancelled (by a person or on the platform), but not
    those whose label a job is buying or voiding, nor one whose carrier refused to void it (a person
    reads the refusal on the parcel: asking again would only be refused again)."""
    label = ShipmentLabel
    in_hand = label.state.in_([LabelState.BUYING, LabelState.VOIDING])
    refused = (label.state == LabelState.BOUGHT) & label.error.is_not(None)
    query = (
        select(Shipment.id)
        .join(Order, Order.id == Shipment.order_id)
        .outerjoin(label, label.shipment_id == Shipment.id)
        .where(
            Shipment.status.in_(sorted(LIVE)),
            Order.status == OrderStatus.CANCELLED,
            ~func.coalesce(in_hand | refused, False),
        )
        .order_by(Shipment.order_id, Shipment.id)  # each void locks its order: in id order, as every writer
        .limit(limit)
    )
    return list(session.scalars(query))


def packed_orders(session: Session, statuses: Iterable[str], *, limit: int) -> tuple[int, list[int]]:
    """How many orders in ``statuses`` have a parcel packed and waiting for its carrier, and the newest
    ``limit`` of them (read from the packed parcels: those a warehouse has not handed over yet)."""
    packed = (
        select(Shipment.order_id)
        .join(Order, Order.id == Shipment.order_id)
        .where(Shipment.status == ShipmentStatus.PACKED, Order.status.in_(list(statuses)))
        .distinct()
    )
    count = session.scalar(select(func.count()).select_from(packed.subquery())) or 0
    return count, list(session.scalars(packed.order_by(Shipment.order_id.desc()).limit(limit)))


def newest_unpacked(session: Session, statuses: Iterable[str], *, limit: int) -> list[int]:
    """The newest orders in ``statuses`` without a packed parcel (each looked up by its parcels)."""
    packed = (
        select(Shipment.id)
        .where(Shipment.order_id == Order.id, Shipment.status == ShipmentStatus.PACKED)
        .exists()
    )
    query = select(Order.id).where(Order.status.in_(list(statuses)), ~packed)
    return list(session.scalars(query.order_by(Order.id.desc()).limit(limit)))


@dataclass(frozen=True)
class ParcelProblem:
    """A parcel a person must look at, and what its carrier or shop said."""

    shipment_id: int
    order_id: int
    detail: str | None


#: What needs a person on a parcel: the carrier reported a problem with it (``exception``), its shop
#: refused its tracking for good (a ``refused`` write-back), or its label's purchase is in an
#: ``unknown`` state (the answer was lost and the carrier cannot tell). Each is counted through an
#: index on its condition (``ix_shipments_status_id``, ``ix_tracking_writebacks_status``,
#: ``ix_shipment_labels_unknown``).
PARCEL_PROBLEMS: dict[str, tuple[Any, Any, Any]] = {
    "carrier_exception": (Shipment.id, Shipment.status == ShipmentStatus.EXCEPTION, Shipment.carrier),
    "writeback_refused": (
        TrackingWriteback.shipment_id,
        TrackingWriteback.status == "refused",
        TrackingWriteback.error,
    ),
    "label_unknown": (
        ShipmentLabel.shipment_id,
        ShipmentLabel.state == LabelState.UNKNOWN,
        ShipmentLabel.error,
    ),
}


def parcel_problems(session: Session, *, limit: int) -> dict[str, tuple[int, list[ParcelProblem]]]:
    """For each of :data:`PARCEL_PROBLEMS`: how many parcels have it, and the newest ``limit``."""
    found: dict[str, tuple[int, list[ParcelProblem]]] = {}
    for kind, (shipment_id, condition, detail) in PARCEL_PROBLEMS.items():
        count = session.scalar(select(func.count()).select_from(shipment_id.table).where(condition)) or 0
        query = select(shipment_id, Shipment.order_id, detail).select_from(shipment_id.table)
        if shipment_id.table is not Shipment.__table__:
            query = query.join(Shipment, Shipment.id == shipment_id)
        latest = session.execute(query.where(condition).order_by(shipment_id.desc()).limit(limit)).all()
        found[kind] = (count, [ParcelProblem(*row) for row in latest])
    return found


def labelled_of_orders(session: Session, order_ids: Iterable[int]) -> list[Shipment]:
    """These orders' parcels with a label that have not left yet."""
    labelled = sorted(LIVE - {ShipmentStatus.CREATED})
    found: list[Shipment] = []
    for part in chunks(sorted(set(order_ids))):
        query = select(Shipment).where(
            Shipment.order_id.in_(part), Shipment.status.in_(labelled), Shipment.tracking_number.is_not(None)
        )
        found.extend(session.scalars(query.order_by(Shipment.id)))
    return found
