"""Scan to pack: a packer scans a parcel's code (its label's or slip's ``SHP-<id>``, or its order's
number when that order has exactly one parcel to pack), then each unit's barcode (a GTIN or the
seller's own code) or SKU. A bundle is packed as its components, as its stock is kept: each component
is scanned, never the kit's own code. A wrong item or one too many is refused at once, naming the
SKU and the counts; the units scanned are kept per parcel (``pack_scans``), so any scanner or screen
can carry on. The last unit makes the parcel ``packed`` and, where the warehouse ships on pack, hands
it over (``service.mark_packed``). Scanning the parcel's code again is asking to close it: refused,
naming what is missing, while units are.

Each scan locks the order, then the parcel (the hub's lock order), so two packers scanning the last
unit of one parcel take turns: one is accepted, the other refused, and stock leaves once.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy.orm import Session

from orderly.catalog import repository as catalog_repo
from orderly.catalog.domain import barcode_forms, expand
from orderly.catalog.models import Product
from orderly.core.clock import utcnow
from orderly.core.errors import Conflict, DomainError, NotFound
from orderly.core.phrases import Phrase, listed
from orderly.fulfilment import domain, printing, service
from orderly.fulfilment import repository as repo
from orderly.fulfilment.domain import PACKABLE, ShipmentStatus
from orderly.fulfilment.models import Shipment
from orderly.fulfilment.schemas import PackItemOut, PackOut, PackScanOut
from orderly.orders import repository as order_repo
from orderly.orders.domain import OrderStatus
from orderly.orders.models import Order

#: A packer's name is the actor of what their scans do (history, ledger): it fits where those keep one.
MAX_PACKER = 100


def packer_name(user: str, table: str | None) -> str:
    """Who scans: the user (a token's name, or the CLI's login), and the packing table when several
    share one user."""
    name = user if table is None else f"{user}/{table}"
    if len(name) > MAX_PACKER:
        raise DomainError(
            f"the packer {name!r} is longer than {MAX_PACKER} characters: name the table shorter",
            field="packer",
        )
    return name


@dataclass
class _Parcel:
    order: Order
    shipment: Shipment
    expected: dict[int, int]  # stock units by product
    scanned: dict[int, int]
    products: dict[int, Product]  # the parcel's stock units and the order lines' own products (kits)
    kits: dict[int, list[tuple[int, int]]]


def scan(session: Session, code: str, *, packer: str, shipment_id: int | None = None) -> PackScanOut:
    """One code from a scanner: a parcel's (start packing it, or close it), or a unit's (into the
    packer's parcel, or the one named)."""
    code = code.strip()
    named = printing.shipment_id_of(code)
    if named is not None:
        if shipment_id is not None and named != shipment_id:
            raise Conflict(
                f"{code} is another parcel's code: these scans are for shipment {shipment_id}", field="code"
            )
        return _parcel_code(session, named, packer)
    current = shipment_id if shipment_id is not None else repo.station_of(session, packer)
    if current is not None:
        # Read first, locked only for a unit of it: a packer moving on to another order's parcel
        # locks that order alone (orders are locked one at a time, or in id order).
        parcel = _read(session, current)
        product = _match(code, parcel.products.values())
        if product is not None:
            return _unit(session, _locked(session, current), product, code, packer)
    if shipment_id is None:
        by_order = _parcel_of_order(session, code)
        if by_order is not None:
            return _parcel_code(session, by_order, packer)
    known = catalog_repo.products_by_code(session, code)
    if current is None:
        if known:
            raise Conflict(
                Phrase(
                    "%(code)s is %(sku)s: scan the parcel's code (SHP-...) or its order number first",
                    code=repr(code),
                    sku=known[0].sku,
                ),
                field="code",
            )
    elif known:
        domain.check_scan(known[0].id, parcel.expected, {}, _skus(parcel, known))  # refuses: wrong item
    raise NotFound(
        Phrase("unknown code %(code)s: no parcel, order number, SKU or barcode reads so", code=repr(code)),
        field="code",
    )


def complete(session: Session, shipment_id: int, *, packer: str) -> PackOut:
    """Close a parcel: refused, naming every unit missing, unless every unit is scanned."""
    parcel = _locked(session, shipment_id)
    _check_open(parcel)
    domain.check_complete(parcel.shipment.id, parcel.expected, parcel.scanned, _skus(parcel))
    service.mark_packed(session, parcel.order, parcel.shipment, actor=packer)
    return _view(session, parcel)


def reset(session: Session, shipment_id: int, *, packer: str) -> PackOut:
    """Start a parcel's packing again: every unit scanned into it is forgotten."""
    parcel = _locked(session, shipment_id)
    domain.check_packable(parcel.shipment.id, ShipmentStatus(parcel.shipment.status))
    repo.clear_scans(session, parcel.shipment.id)
    parcel.scanned = {}
    repo.set_station(session, packer, parcel.shipment.id, utcnow())
    return _view(session, parcel)


def progress(session: Session, shipment_id: int) -> PackOut:
    """What a parcel holds and what is scanned of it (read, no lock)."""
    return _view(session, _read(session, shipment_id))


def packing_now(session: Session, packer: str) -> PackOut:
    """The parcel this packer is packing: the one whose code or item they scanned last."""
    current = repo.station_of(session, packer)
    if current is None:
        raise NotFound(f"{packer} is packing no parcel: scan a parcel's code first")
    return progress(session, current)


# --- steps ----------------------------------------------------------------------------------------


def _parcel_code(session: Session, shipment_id: int, packer: str) -> PackScanOut:
    parcel = _locked(session, shipment_id)
    if repo.station_of(session, packer) == shipment_id and parcel.shipment.status in PACKABLE:
        view = complete(session, shipment_id, packer=packer)  # its code again: the packer is done
        return PackScanOut.said(_packed_message(view), sku=None, parcel=view)
    _check_open(parcel)
    repo.set_station(session, packer, shipment_id, utcnow())
    left = sum(domain.missing(parcel.expected, parcel.scanned).values())
    message = Phrase(
        "packing shipment %(shipment)s of order %(order)s: %(left)s units to scan",
        shipment=shipment_id,
        order=parcel.order.external_id,
        left=left,
    )
    return PackScanOut.said(message, sku=None, parcel=_view(session, parcel))


def _unit(session: Session, parcel: _Parcel, product: Product, code: str, packer: str) -> PackScanOut:
    _check_open(parcel)
    if product.id in parcel.kits:
        parts = listed(
            [
                Phrase("%(count)s x %(sku)s", count=qty, sku=parcel.products[pid].sku)
                for pid, qty in parcel.kits[product.id]
            ],
            commas=True,
        )
        raise Conflict(
            Phrase(
                "%(sku)s is a bundle: its stock is its components, so scan each of them (%(parts)s per kit)",
                sku=product.sku,
                parts=parts,
            ),
            field="code",
        )
    domain.check_scan(product.id, parcel.expected, parcel.scanned, _skus(parcel))
    now = utcnow()
    repo.add_scan(session, parcel.shipment.id, product.id, code, packer, now)
    repo.set_station(session, packer, parcel.shipment.id, now)
    parcel.scanned[product.id] = parcel.scanned.get(product.id, 0) + 1
    session.flush()
    counted = Phrase(
        "%(sku)s: %(scanned)s of %(expected)s",
        sku=product.sku,
        scanned=parcel.scanned[product.id],
        expected=parcel.expected[product.id],
    )
    if domain.missing(parcel.expected, parcel.scanned):
        return PackScanOut.said(counted, sku=product.sku, parcel=_view(session, parcel))
    service.mark_packed(session, parcel.order, parcel.shipment, actor=packer)
    view = _view(session, parcel)
    return PackScanOut.said(
        Phrase("%(first)s; %(rest)s", first=counted, rest=_packed_message(view)), sku=product.sku, parcel=view
    )


def _packed_message(view: PackOut) -> Phrase:
    if view.status == ShipmentStatus.PACKED:
        return Phrase(
            "shipment %(shipment)s is packed: it waits for the carrier or your confirmation",
            shipment=view.shipment_id,
        )
    return Phrase("shipment %(shipment)s is packed and shipped", shipment=view.shipment_id)


def _check_open(parcel: _Parcel) -> None:
    domain.check_packable(parcel.shipment.id, ShipmentStatus(parcel.shipment.status))
    domain.check_order_shippable(parcel.order.id, OrderStatus(parcel.order.status))


def _parcel_of_order(session: Session, number: str) -> int | None:
    """The one parcel to pack of the order with this number; None when no order has it."""
    found = repo.parcels_of_order_number(session, number)
    if not found:
        return None
    open_ = [shipment for _, shipment in found if shipment.status in PACKABLE]
    if len(open_) == 1:
        return open_[0].id
    if not open_:
        raise Conflict(
            f"order {number} has no parcel to pack: each is packed, shipped or voided", field="code"
        )
    codes = ", ".join(printing.reference(s.id) for s in open_)
    raise Conflict(
        f"order {number} has {len(open_)} parcels to pack ({codes}): scan the parcel's own code", field="code"
    )


def _read(session: Session, shipment_id: int) -> _Parcel:
    shipment = repo.get_shipment(session, shipment_id)
    order = session.get(Order, shipment.order_id)
    assert order is not None  # a parcel's order is never deleted
    return _load(session, order, shipment)


def _locked(session: Session, shipment_id: int) -> _Parcel:
    order = order_repo.lock_order(session, repo.order_of(session, shipment_id))
    return _load(session, order, repo.lock_shipment(session, shipment_id))


def _load(session: Session, order: Order, shipment: Shipment) -> _Parcel:
    product_of = {no: pid for no, pid, _, _ in order_repo.lines_of(session, order.id)}
    units = repo.lines_of(session, [shipment.id])[shipment.id]
    kits = catalog_repo.bundle_parts(session, {product_of[no] for no in units})
    expected = expand(((product_of[no], qty) for no, qty in units.items()), kits)
    products = repo.products_by_id(session, set(expected) | {product_of[no] for no in units})
    return _Parcel(order, shipment, expected, repo.scanned_units(session, shipment.id), products, kits)


def _match(code: str, products: Iterable[Product]) -> Product | None:
    """The parcel's product a code names, by barcode (a GTIN written any way) or SKU. Case is not
    telling: a keyboard-wedge scanner types upper case as lower with caps lock on. A stock unit wins
    over a kit with the same code."""
    forms = barcode_forms(code)
    folded = code.casefold()
    found = [
        p
        for p in products
        if p.barcode in forms or (p.barcode or "").casefold() == folded or p.sku.casefold() == folded
    ]
    return min(found, key=lambda p: (p.is_bundle, p.id), default=None)


def _skus(parcel: _Parcel, more: Iterable[Product] = ()) -> dict[int, str]:
    return {p.id: p.sku for p in (*parcel.products.values(), *more)}


def _view(session: Session, parcel: _Parcel) -> PackOut:
    shipment = parcel.shipment
    items = [
        PackItemOut(
            sku=parcel.products[pid].sku,
            name=parcel.products[pid].name,
            barcode=parcel.products[pid].barcode,
            expected=qty,
            scanned=parcel.scanned.get(pid, 0),
        )
        for pid, qty in sorted(parcel.expected.items(), key=lambda item: parcel.products[item[0]].sku)
    ]
    warehouse = repo.warehouses_by_id(session, [shipment.warehouse_id])[shipment.warehouse_id]
    return PackOut(
        shipment_id=shipment.id,
        reference=printing.reference(shipment.id),
        order_id=parcel.order.id,
        order_number=parcel.order.external_id,
        warehouse=warehouse.code,
        status=shipment.status,
        complete=not domain.missing(parcel.expected, parcel.scanned),
        items=items,
    )
