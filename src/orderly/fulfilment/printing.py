"""Paperwork for stored parcels: a shipment's label and packing slip, and labels by the batch in pick
order, drawn by ``paperwork.py`` from the order, its shop, its lines and the warehouse. Reprinting is
printing again: nothing is stored or moved."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import replace
from typing import BinaryIO, TypeVar

from sqlalchemy.orm import Session

from orderly.catalog import repository as catalog_repo
from orderly.catalog.domain import expand
from orderly.core.errors import Conflict, NotFound
from orderly.fulfilment import paperwork
from orderly.fulfilment import repository as repo
from orderly.fulfilment.carriers import repository as carriers_repo
from orderly.fulfilment.domain import ShipmentStatus, Wave, WaveParcel, form_waves
from orderly.fulfilment.models import Shipment
from orderly.fulfilment.paperwork import Address, Line, PaperworkError, Parcel
from orderly.inventory import repository as inventory_repo
from orderly.inventory.domain import walk_key

T = TypeVar("T")


def reference(shipment_id: int) -> str:
    """The shipment's own code on its label and slip, scanned to pack it."""
    return f"SHP-{shipment_id}"


_REFERENCE = re.compile(r"^SHP-(\d{1,18})$", re.IGNORECASE)


def shipment_id_of(code: str) -> int | None:
    """The shipment a scanned code names, if it is one's :func:`reference`."""
    found = _REFERENCE.match(code)
    return int(found.group(1)) if found else None


def label(session: Session, shipment_id: int) -> bytes:
    """The shipment's 4x6 in label. 409 when it has no label (no tracking number) or was voided."""
    (parcel,) = _parcels(session, [shipment_id], labelled=True)
    return _drawn(lambda: paperwork.label(parcel))


def packing_slip(session: Session, shipment_id: int) -> bytes:
    (parcel,) = _parcels(session, [shipment_id], labelled=False)
    return _drawn(lambda: paperwork.packing_slip(parcel))


def batch_parcels(
    session: Session, *, shipment_ids: Iterable[int] = (), warehouse: str | None = None
) -> list[Parcel]:
    """The parcels named, or every labelled parcel of a warehouse not yet handed over, in pick order."""
    parcels = _chosen(
        session,
        shipment_ids,
        warehouse,
        labelled=True,
        waiting=repo.labelled_in,
        none="no labelled parcel waits",
    )
    return sorted(parcels, key=paperwork.pick_key)


def pick_list(session: Session, *, shipment_ids: Iterable[int] = (), warehouse: str | None = None) -> bytes:
    """The pick list of the parcels named, or of every parcel of a warehouse whose items are still on
    the shelves (made or labelled, not yet picked): by warehouse, stops in walking order."""
    parcels = _chosen(
        session,
        shipment_ids,
        warehouse,
        labelled=False,
        waiting=repo.to_pick_in,
        none="nothing waits to be picked",
    )
    return _drawn(lambda: paperwork.pick_list(parcels))


def _chosen(
    session: Session,
    shipment_ids: Iterable[int],
    warehouse: str | None,
    *,
    labelled: bool,
    waiting: Callable[[Session, int], list[Shipment]],
    none: str,
) -> list[Parcel]:
    """The parcels named, or those ``waiting`` finds in a warehouse (refused, saying ``none``, when
    there are none)."""
    if warehouse is None:
        return _parcels(session, list(dict.fromkeys(shipment_ids)), labelled=labelled)
    warehouse_id = inventory_repo.warehouse_id(session, warehouse)
    if warehouse_id is None:
        raise NotFound(f"no warehouse {warehouse!r}", field="warehouse")
    parcels = _build(session, waiting(session, warehouse_id))
    if not parcels:
        raise Conflict(f"{none} in warehouse {warehouse!r}")
    return parcels


def waves(session: Session, warehouse: str | None = None) -> list[Wave]:
    """A warehouse's parcels still to pick (made or labelled, as the pick list takes them), or every
    warehouse's, in waves (``domain.form_waves``), each parcel with where its label's purchase stands."""
    warehouse_id = None
    if warehouse is not None:
        warehouse_id = inventory_repo.warehouse_id(session, warehouse)
        if warehouse_id is None:
            raise NotFound(f"no warehouse {warehouse!r}", field="warehouse")
    shipments = repo.to_pick_in(session, warehouse_id)
    parcels = _build(session, shipments, label_files=False)
    labels = carriers_repo.labels_of(session, [s.id for s in shipments])
    waiting = []
    in_pick_order = sorted(zip(shipments, parcels, strict=True), key=lambda pair: paperwork.pick_key(pair[1]))
    for shipment, parcel in in_pick_order:
        label = labels.get(shipment.id)
        stops = parcel.stock_lines
        first = min(stops, key=lambda line: walk_key(line.bin_location, line.walk), default=None)
        waiting.append(
            WaveParcel(
                shipment_id=shipment.id,
                warehouse=parcel.warehouse,
                order_id=shipment.order_id,
                order_number=parcel.order_number,
                shop=parcel.shop,
                carrier=shipment.carrier,
                service=shipment.service,
                tracking_number=shipment.tracking_number,
                units=sum(line.quantity for line in stops),
                first_bin=first.bin_location if first is not None else "",
                label_state=label.state if label is not None else None,
                label_error=label.error if label is not None else None,
            )
        )
    return form_waves(waiting)


def write_batch(parcels: Iterable[Parcel], out: BinaryIO, *, slips: bool = False) -> int:
    """Writes the parcels' labels (and slips) to out as one PDF, streamed; returns its page count."""
    return _drawn(lambda: paperwork.write_batch(parcels, out, slips=slips))


def _drawn(draw: Callable[[], T]) -> T:
    try:
        return draw()
    except PaperworkError as exc:
        raise Conflict(f"cannot print: {exc}") from None


def _parcels(session: Session, shipment_ids: list[int], *, labelled: bool) -> list[Parcel]:
    found = repo.shipments_by_id(session, shipment_ids)
    shipments = []
    for shipment_id in shipment_ids:
        shipment = found.get(shipment_id)
        if shipment is None:
            raise NotFound(f"no shipment {shipment_id}")
        if shipment.status == ShipmentStatus.VOIDED:
            raise Conflict(f"shipment {shipment_id} was voided: it has no paperwork")
        if labelled and shipment.tracking_number is None:
            raise Conflict(f"shipment {shipment_id} has no label yet: it needs a tracking number")
        shipments.append(shipment)
    return _build(session, shipments)


def _build(session: Session, shipments: list[Shipment], *, label_files: bool = True) -> list[Parcel]:
    """The parcels' paperwork, in the order given; without the carriers' label files when only what
    the paperwork says is read."""
    warehouses = repo.warehouses_by_id(session, {s.warehouse_id for s in shipments})
    orders = repo.orders_with_shop(session, {s.order_id for s in shipments})
    products = repo.line_products(session, orders.keys())
    units = repo.lines_of(session, [s.id for s in shipments])
    parts = catalog_repo.bundle_parts(session, {line[0] for line in products.values()})
    components = repo.products_by_id(session, {c for found in parts.values() for c, _ in found})
    bins = inventory_repo.bins_of(session, {line[0] for line in products.values()} | set(components))
    # A label bought from a carrier is printed as the carrier made it, from the copy kept at purchase.
    carrier_labels = carriers_repo.label_files(session, [s.id for s in shipments]) if label_files else {}
    parcels = []
    for shipment in shipments:
        order, shop = orders[shipment.order_id]
        warehouse = warehouses[shipment.warehouse_id]
        lines: list[tuple[int, Line]] = []  # with the product
        for line_no, quantity in units[shipment.id].items():
            product_id, sku, title, name, barcode = products[(order.id, line_no)]
            line = Line(sku, title or name, quantity, barcode=barcode or "")
            lines.append((product_id, _in_bin(line, bins.get((product_id, shipment.warehouse_id)))))
        picks: list[Line] = []
        if any(product_id in parts for product_id, _ in lines):
            # A bundle is picked as its components, each from its own bin.
            needed = expand(((pid, line.quantity) for pid, line in lines), parts)
            plain = dict(lines)
            for product_id, quantity in needed.items():
                part = components.get(product_id)
                if part is None:
                    picks.append(replace(plain[product_id], quantity=quantity))
                else:
                    line = Line(part.sku, part.name, quantity, barcode=part.barcode or "")
                    picks.append(_in_bin(line, bins.get((product_id, shipment.warehouse_id))))
        parcels.append(
            Parcel(
                reference=reference(shipment.id),
                shop=shop,
                order_number=order.external_id,
                warehouse=warehouse.code,
                # No warehouse address is stored yet: its name and country say where the parcel is from.
                sender=Address(warehouse.name, country=warehouse.country or ""),
                recipient=Address(
                    order.ship_name or "",
                    order.ship_line1 or "",
                    order.ship_line2 or "",
                    order.ship_city or "",
                    order.ship_region or "",
                    order.ship_postal_code or "",
                    order.ship_country or "",
                    order.ship_phone or "",
                ),
                carrier=shipment.carrier or "",
                service=shipment.service or "",
                tracking_number=shipment.tracking_number or "",
                lines=tuple(line for _, line in lines),
                picks=tuple(picks),
                carrier_label=carrier_labels.get(shipment.id),
            )
        )
    return parcels


def _in_bin(line: Line, where: inventory_repo.Bin | None) -> Line:
    return line if where is None else replace(line, bin_location=where[0], walk=where[1])
