"""All fulfilment queries. Shipments are locked only after their order (``orders.repository:
lock_order``) and before any stock row, the hub's one lock order."""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from orderly.core.errors import NotFound
from orderly.fulfilment.domain import LIVE
from orderly.fulfilment.models import Shipment, ShipmentEvent, ShipmentLine


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
