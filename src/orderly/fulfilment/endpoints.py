"""Shipments over HTTP: make an order's parcels, hand them over, void them, read them."""

from __future__ import annotations

from typing import Annotated

from fastapi import status

from orderly.core.web import Authenticated, DbSession, ReadSession, api_router, id_path
from orderly.fulfilment import service
from orderly.fulfilment.schemas import ShipIn, ShipmentIn, ShipmentOut, VoidIn

router = api_router("fulfilment")

OrderId = Annotated[int, id_path("order")]
ShipmentId = Annotated[int, id_path("shipment")]


@router.post("/orders/{order_id}/shipments", response_model=ShipmentOut, status_code=status.HTTP_201_CREATED)
def create_shipment(
    session: DbSession, caller: Authenticated, order_id: OrderId, body: ShipmentIn
) -> ShipmentOut:
    """A parcel for an allocated (or label printed, or partly shipped) order: what it has left to
    ship unless lines are named, from the warehouse holding that stock unless one is named. 409 when
    the order is not shippable, the lines exceed what is left, or the warehouse lacks the order's stock."""
    shipment = service.create_shipment(session, order_id, body, actor=caller.name)
    return service.get_shipment(session, shipment.id)


@router.get("/orders/{order_id}/shipments", response_model=list[ShipmentOut])
def order_shipments(session: ReadSession, order_id: OrderId) -> list[ShipmentOut]:
    return service.order_shipments(session, order_id)


@router.get("/shipments/{shipment_id}", response_model=ShipmentOut)
def get_shipment(session: ReadSession, shipment_id: ShipmentId) -> ShipmentOut:
    return service.get_shipment(session, shipment_id)


@router.post("/shipments/{shipment_id}/ship", response_model=ShipmentOut)
def ship_shipment(
    session: DbSession, caller: Authenticated, shipment_id: ShipmentId, body: ShipIn
) -> ShipmentOut:
    """Hand the parcel over: its stock leaves, the order is shipped or partly shipped. 409 when it
    was shipped or voided already, or its order is held or cancelled."""
    service.ship_shipment(session, shipment_id, actor=caller.name, note=body.note)
    return service.get_shipment(session, shipment_id)


@router.post("/shipments/{shipment_id}/void", response_model=ShipmentOut)
def void_shipment(
    session: DbSession, caller: Authenticated, shipment_id: ShipmentId, body: VoidIn
) -> ShipmentOut:
    """Void a parcel not yet handed over; its units may go in another. 409 once it has shipped."""
    service.void_shipment(session, shipment_id, actor=caller.name, reason=body.reason)
    return service.get_shipment(session, shipment_id)
