"""Shipments over HTTP: make an order's parcels, hand them over, void them, read them, print them."""

from __future__ import annotations

import io
from typing import Annotated, Any

from fastapi import Body, Depends, Query, Response, status

from orderly.core.clock import utcnow
from orderly.core.text import StorableStr
from orderly.core.web import Authenticated, DbSession, ReadSession, api_router, id_path, require
from orderly.fulfilment import packing, printing, routing, service
from orderly.fulfilment.domain import TrackingEvent
from orderly.fulfilment.schemas import (
    PACKER_HELP,
    LabelBatchIn,
    PackIn,
    PackOut,
    PackScanIn,
    PackScanOut,
    PickListIn,
    RerouteIn,
    RerouteOut,
    ShipIn,
    ShipmentIn,
    ShipmentOut,
    TrackingEventIn,
    TrackingOut,
    VoidIn,
)

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


@router.post(
    "/orders/{order_id}/route", response_model=RerouteOut, dependencies=[Depends(require("orders:write"))]
)
def reroute_order(
    session: DbSession,
    caller: Authenticated,
    order_id: OrderId,
    body: Annotated[RerouteIn | None, Body()] = None,
) -> RerouteOut:
    """Route an order not yet shipped again, with the routing rules in force and the stock as it
    stands: its reservation is released and made where the route now sends it (nothing moves when
    that is where it is). A `warehouse` named ships it all from there instead; `split` lets it take
    its lines from several of the warehouses its route allows; either refuses with 409 (nothing
    changed) when the stock there cannot fill it. The decision is on the order (`routing`) and in its
    history. 409 when it has a parcel not yet shipped, or is not approved, allocated or on hold."""
    asked = body or RerouteIn()
    done = routing.reroute(session, order_id, actor=caller.name, warehouse=asked.warehouse, split=asked.split)
    return RerouteOut.model_validate(done, from_attributes=True)


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


@router.post("/shipments/{shipment_id}/pick", response_model=ShipmentOut)
def pick_shipment(
    session: DbSession, caller: Authenticated, shipment_id: ShipmentId, body: ShipIn
) -> ShipmentOut:
    """The parcel's items are off the shelves: made or labelled -> picked. 409 from any other status,
    or when its order is held or cancelled."""
    service.pick_shipment(session, shipment_id, actor=caller.name, note=body.note)
    return service.get_shipment(session, shipment_id)


@router.post("/shipments/{shipment_id}/void", response_model=ShipmentOut)
def void_shipment(
    session: DbSession, caller: Authenticated, shipment_id: ShipmentId, body: VoidIn
) -> ShipmentOut:
    """Void a parcel not yet handed over; its units may go in another. 409 once it has shipped."""
    service.void_shipment(session, shipment_id, actor=caller.name, reason=body.reason)
    return service.get_shipment(session, shipment_id)


@router.get("/shipments/{shipment_id}/tracking", response_model=TrackingOut)
def shipment_tracking(session: ReadSession, shipment_id: ShipmentId) -> TrackingOut:
    """The parcel's journey: every carrier event heard of it, oldest first, with its promise."""
    return service.tracking_of(session, shipment_id)


@router.post("/shipments/{shipment_id}/tracking", response_model=TrackingOut)
def record_tracking_event(
    session: DbSession, caller: Authenticated, shipment_id: ShipmentId, body: TrackingEventIn
) -> TrackingOut:
    """Record an event a person learnt of (a parcel whose carrier reports to nobody: e.g. the buyer
    confirmed delivery). It moves the parcel as a carrier's event would: a delivered parcel closes its
    order once every parcel has arrived. 409 when the parcel was voided or cannot move that way."""
    event = TrackingEvent(
        kind=body.kind,
        occurred_at=body.occurred_at or utcnow(),
        code=body.kind,
        description=body.description,
        location=body.location,
    )
    service.record_tracking(session, shipment_id, [event], source=caller.name, actor=caller.name)
    return service.tracking_of(session, shipment_id)


@router.post("/shipments/{shipment_id}/writeback", response_model=ShipmentOut)
def request_writeback(session: DbSession, shipment_id: ShipmentId) -> ShipmentOut:
    """Send the parcel's carrier and tracking number to its shop again: after a refusal once its
    cause is fixed, or to have the shop hold the parcel's tracking as it is now. The shop never gets
    the parcel twice. 409 when the parcel has not left or its shop takes no tracking numbers."""
    return service.request_writeback(session, shipment_id)


PDF = "application/pdf"


def _pdf(description: str) -> dict[int | str, dict[str, Any]]:
    """The PDF a route answers with; its response class (``Response``, no media type of its own)
    keeps the errors documented as JSON."""
    return {
        200: {
            "description": description,
            "content": {PDF: {"schema": {"type": "string", "format": "binary"}}},
        }
    }


@router.get("/shipments/{shipment_id}/label", response_class=Response, responses=_pdf("the 4x6 in label"))
def shipment_label(session: ReadSession, shipment_id: ShipmentId) -> Response:
    """The parcel's 4x6 in label, as often as asked (a reprint is the same request). 409 when it has no
    tracking number yet or was voided."""
    return Response(printing.label(session, shipment_id), media_type=PDF)


@router.get(
    "/shipments/{shipment_id}/packing-slip", response_class=Response, responses=_pdf("the packing slip")
)
def shipment_packing_slip(session: ReadSession, shipment_id: ShipmentId) -> Response:
    """The slip packed with the parcel: its lines and the shipment's barcode. 409 when voided."""
    return Response(printing.packing_slip(session, shipment_id), media_type=PDF)


@router.post("/labels/batch", response_class=Response, responses=_pdf("the labels as one PDF, in pick order"))
def label_batch(session: ReadSession, body: LabelBatchIn) -> Response:
    """The labels of the shipments named, or of every labelled parcel of a warehouse not yet handed
    over, as one PDF in pick order (by warehouse, then by the first bin on the walk). 404 for an
    unknown shipment or warehouse, 409 for a voided one or one without a tracking number."""
    parcels = printing.batch_parcels(session, shipment_ids=body.shipment_ids or (), warehouse=body.warehouse)
    out = io.BytesIO()
    printing.write_batch(parcels, out, slips=body.slips)
    return Response(out.getvalue(), media_type=PDF)


@router.post("/pick-lists", response_class=Response, responses=_pdf("the pick list, in walking order"))
def pick_list(session: ReadSession, body: PickListIn) -> Response:
    """The pick list of the shipments named, or of every parcel of a warehouse still to pick (made or
    labelled): per warehouse, one stop per bin and SKU in walking order (bins with a walk sequence by
    it, then the others in the natural order of their codes; SKUs without a bin last), bundles as
    their components, then the totals per SKU. 404 for an unknown shipment or warehouse, 409 for a
    voided one or a warehouse with nothing to pick."""
    return Response(
        printing.pick_list(session, shipment_ids=body.shipment_ids or (), warehouse=body.warehouse),
        media_type=PDF,
    )


def _packer(caller_name: str, body: PackIn) -> str:
    return packing.packer_name(caller_name, body.packer)


@router.post("/pack/scans", response_model=PackScanOut)
def pack_scan(session: DbSession, caller: Authenticated, body: PackScanIn) -> PackScanOut:
    """One code from a packer's scanner (a USB scanner types it like a keyboard). A parcel's code
    (`SHP-<id>` on its label and slip, or its order's number when the order has one parcel to pack)
    starts packing it; scanned again it closes it. Then each unit's barcode (a GTIN, or your own code)
    or SKU; a bundle's components are scanned, not the kit. The last unit makes the parcel packed and,
    in a warehouse that ships on pack, ships it. 409 for a wrong item, one too many, a parcel closed
    with units missing, or one packed, shipped or voided (each naming the SKU and counts); 404 for a
    code that names nothing."""
    return packing.scan(session, body.code, packer=_packer(caller.name, body), shipment_id=body.shipment_id)


@router.get("/pack/current", response_model=PackOut)
def pack_current(
    session: ReadSession,
    caller: Authenticated,
    packer: Annotated[StorableStr | None, Query(min_length=1, max_length=80, description=PACKER_HELP)] = None,
) -> PackOut:
    """The parcel you are packing (the last one you scanned into), with its progress. 404 when none."""
    return packing.packing_now(session, _packer(caller.name, PackIn(packer=packer)))


@router.get("/shipments/{shipment_id}/pack", response_model=PackOut)
def pack_progress(session: ReadSession, shipment_id: ShipmentId) -> PackOut:
    """What the parcel holds (as stock units) and how many of each are scanned."""
    return packing.progress(session, shipment_id)


@router.post("/shipments/{shipment_id}/pack", response_model=PackOut)
def pack_complete(
    session: DbSession, caller: Authenticated, shipment_id: ShipmentId, body: PackIn
) -> PackOut:
    """Close the parcel: packed (and shipped, in a warehouse that ships on pack) when every unit is
    scanned; 409 naming each unit missing otherwise."""
    return packing.complete(session, shipment_id, packer=_packer(caller.name, body))


@router.post("/shipments/{shipment_id}/pack/reset", response_model=PackOut)
def pack_reset(session: DbSession, caller: Authenticated, shipment_id: ShipmentId, body: PackIn) -> PackOut:
    """Start packing the parcel again: every unit scanned into it is forgotten. 409 once packed."""
    return packing.reset(session, shipment_id, packer=_packer(caller.name, body))
