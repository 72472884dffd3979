"""Pure shipment rules: a shipment's life, which units of an order it may carry, from which warehouse,
and what shipping it makes of the order. No I/O here.

A shipment (one parcel) leaves one warehouse with some units of one order's lines. Its units must be
units the order still has to ship (ordered, less shipped, less those in its other live shipments),
and every stock unit they need (bundles expanded to components) must be reserved for the order in
that warehouse: a parcel never ships stock the order does not hold. Stock leaves when the shipment
ships, not before.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from orderly.catalog.domain import expand
from orderly.core.errors import Conflict, DomainError, InsufficientStock, InvalidTransition
from orderly.core.phrases import Arg, Phrase, listed
from orderly.inventory.domain import StockKey
from orderly.orders.domain import STATUS_WORDS, OrderStatus


class ShipmentStatus(StrEnum):
    CREATED = "created"
    LABEL_BOUGHT = "label_bought"
    PICKED = "picked"
    PACKED = "packed"
    SHIPPED = "shipped"
    IN_TRANSIT = "in_transit"
    DELIVERED = "delivered"
    EXCEPTION = "exception"
    VOIDED = "voided"


S = ShipmentStatus

ALLOWED: dict[ShipmentStatus, frozenset[ShipmentStatus]] = {
    # A parcel may leave without a label of ours: a letter, a courier booked outside the hub.
    S.CREATED: frozenset({S.LABEL_BOUGHT, S.PICKED, S.PACKED, S.SHIPPED, S.VOIDED}),
    S.LABEL_BOUGHT: frozenset({S.PICKED, S.PACKED, S.SHIPPED, S.VOIDED}),
    S.PICKED: frozenset({S.PACKED, S.SHIPPED, S.VOIDED}),
    S.PACKED: frozenset({S.SHIPPED, S.VOIDED}),
    # Once handed over the stock is gone: what happens next is the carrier's story, not a void.
    S.SHIPPED: frozenset({S.IN_TRANSIT, S.DELIVERED, S.EXCEPTION}),
    S.IN_TRANSIT: frozenset({S.DELIVERED, S.EXCEPTION}),
    S.EXCEPTION: frozenset({S.IN_TRANSIT, S.DELIVERED}),
    S.DELIVERED: frozenset(),
    S.VOIDED: frozenset(),
}

#: Shipments whose units are spoken for but still on the shelf.
LIVE = frozenset({S.CREATED, S.LABEL_BOUGHT, S.PICKED, S.PACKED})
#: The carrier plugin whose parcels go with the selling platform's own logistics (Shopee, Lazada,
#: TikTok Shop): the platform knows them already, so their tracking is never written back.
PLATFORM_CARRIER = "platform"
#: Shipments whose units have left.
GONE = frozenset({S.SHIPPED, S.IN_TRANSIT, S.EXCEPTION, S.DELIVERED})
#: Orders a parcel may be made for or shipped from: they hold their stock and nobody holds them.
SHIPPABLE_ORDERS = frozenset({OrderStatus.ALLOCATED, OrderStatus.LABEL_PRINTED, OrderStatus.PARTLY_SHIPPED})


def check_transition(current: ShipmentStatus, target: ShipmentStatus) -> None:
    InvalidTransition.unless_allowed("a shipment", ALLOWED, current, target)


def check_order_shippable(order_id: int, status: OrderStatus) -> None:
    """Only an order that holds its stock and is held by nobody gets a parcel or sends one."""
    if status not in SHIPPABLE_ORDERS:
        raise Conflict(
            Phrase(
                "order %(order)s is %(status)s: parcels are made and shipped only for %(allowed)s orders",
                order=order_id,
                status=STATUS_WORDS[status],
                allowed=listed([STATUS_WORDS[s] for s in sorted(SHIPPABLE_ORDERS)], commas=True),
            )
        )


@dataclass(frozen=True, slots=True)
class LineToShip:
    """One order line as shipping sees it: ordered, shipped already (by the hub or on the platform),
    and in the order's other live shipments."""

    line_no: int
    product_id: int
    quantity: int
    shipped: int
    in_shipments: int

    @property
    def left(self) -> int:
        return max(0, self.quantity - self.shipped - self.in_shipments)


def units_to_ship(lines: Iterable[LineToShip], requested: Mapping[int, int] | None) -> dict[int, int]:
    """The units (line number -> quantity) a new shipment carries: those asked for, each within what
    its line has left; all that is left when nothing is asked. Refuses an empty parcel.

    Invariant: for every line, shipped + in live shipments never exceeds what was ordered."""
    by_no = {line.line_no: line for line in lines}
    if requested is None:
        chosen = {no: line.left for no, line in by_no.items() if line.left > 0}
        if not chosen:
            raise Conflict("nothing of this order is left to ship: every unit is shipped or in a parcel")
        return chosen
    problems = []
    for no, qty in sorted(requested.items()):
        line = by_no.get(no)
        if line is None:
            problems.append(f"line {no}: the order has no such line")
        elif qty <= 0:
            problems.append(f"line {no}: quantity must be positive, got {qty}")
        elif qty > line.left:
            problems.append(f"line {no}: {qty} asked, {line.left} left to ship")
    if problems:
        raise DomainError("; ".join(problems), field="lines")
    if not requested:
        raise DomainError("a shipment carries at least one unit", field="lines")
    return dict(sorted(requested.items()))


def stock_needed(
    lines: Iterable[LineToShip], units: Mapping[int, int], parts: Mapping[int, Iterable[tuple[int, int]]]
) -> dict[int, int]:
    """Stock units (product -> quantity) a shipment takes off the shelf, bundles as their components."""
    product_of = {line.line_no: line.product_id for line in lines}
    return expand(((product_of[no], qty) for no, qty in units.items()), parts)


def warehouse_for(
    needed: Mapping[int, int], held: Mapping[StockKey, int], preferred: int | None
) -> int | None:
    """The warehouse where the order holds every unit the shipment needs: the preferred one (where
    the order was allocated) when it does, else the lowest id that does; None when none does."""
    holders = sorted({wid for _, wid in held})
    if preferred in holders:
        holders.remove(preferred)
        holders.insert(0, preferred)
    for wid in holders:
        if all(held.get((pid, wid), 0) >= qty for pid, qty in needed.items()):
            return wid
    return None


def check_held(
    needed: Mapping[int, int], held: Mapping[StockKey, int], warehouse_id: int, skus: Mapping[int, str]
) -> dict[StockKey, int]:
    """The stock keys a shipment from ``warehouse_id`` takes, each within what the order holds there.

    Invariant: a shipment never takes stock the order has not reserved in its warehouse."""
    short = [
        f"{skus.get(pid, pid)}: needs {qty}, the order holds {held.get((pid, warehouse_id), 0)} there"
        for pid, qty in sorted(needed.items())
        if held.get((pid, warehouse_id), 0) < qty
    ]
    if short:
        raise InsufficientStock(
            "the order does not hold this parcel's stock in that warehouse: " + "; ".join(short)
        )
    return {(pid, warehouse_id): qty for pid, qty in sorted(needed.items())}


def order_status_after_shipping(lines: Iterable[tuple[int, int]]) -> OrderStatus:
    """An order whose every line (quantity, shipped) is shipped whole is shipped; else partly."""
    whole = all(shipped >= quantity for quantity, shipped in lines)
    return OrderStatus.SHIPPED if whole else OrderStatus.PARTLY_SHIPPED


def order_status_after_void(current: OrderStatus, labelled_left: bool) -> OrderStatus:
    """A voided parcel gives an order whose label it was back to allocated, unless another parcel
    with a label remains; a partly shipped order stays partly shipped."""
    if current == OrderStatus.LABEL_PRINTED and not labelled_left:
        return OrderStatus.ALLOCATED
    return current


def order_status_after_label(current: OrderStatus) -> OrderStatus:
    """An allocated order with a parcel labelled is label printed; any other keeps its status."""
    return OrderStatus.LABEL_PRINTED if current == OrderStatus.ALLOCATED else current


# --- tracking: what a carrier says of a parcel once it has a label -----------------------------------


class TrackingKind(StrEnum):
    """A carrier event as the hub's timeline names it (``docs/carriers/README.md`` §3-5 map each
    carrier's own codes onto these)."""

    LABEL_CREATED = "label_created"
    PICKED_UP = "picked_up"
    IN_TRANSIT = "in_transit"
    OUT_FOR_DELIVERY = "out_for_delivery"
    DELIVERED = "delivered"
    EXCEPTION = "exception"


@dataclass(frozen=True, slots=True)
class TrackingEvent:
    """One event of a parcel's journey. ``kind`` is None when the carrier's code means nothing the hub
    acts on (its text is kept on the timeline all the same)."""

    kind: TrackingKind | None
    occurred_at: datetime  # aware, UTC
    code: str  # the carrier's own status or checkpoint code
    description: str | None = None
    location: str | None = None

    def digest(self) -> str:
        """The event's identity: carriers resend their whole history on every poll and webhook."""
        parts = (self.occurred_at.isoformat(), self.code, self.kind or "", self.description or "")
        return hashlib.sha256("\x1f".join((*parts, self.location or "")).encode()).hexdigest()[:32]


#: The status a parcel that has left takes on each kind of event (label_created moves nothing).
_STATUS_AFTER: dict[TrackingKind, ShipmentStatus] = {
    TrackingKind.PICKED_UP: S.IN_TRANSIT,
    TrackingKind.IN_TRANSIT: S.IN_TRANSIT,
    TrackingKind.OUT_FOR_DELIVERY: S.IN_TRANSIT,
    TrackingKind.DELIVERED: S.DELIVERED,
    TrackingKind.EXCEPTION: S.EXCEPTION,
}


@dataclass(frozen=True, slots=True)
class TrackingEffect:
    """What an event does to a parcel: hand it over first (its stock leaves), then move it."""

    hand_over: bool
    status: ShipmentStatus | None


NO_EFFECT = TrackingEffect(hand_over=False, status=None)


def tracking_effect(
    current: ShipmentStatus, kind: TrackingKind | None, *, newest: bool = True
) -> TrackingEffect:
    """Invariants: an event never takes a parcel out of ``delivered`` or ``voided`` and never back
    before ``shipped``. A parcel still on the shelf that the carrier reports moving has left, whatever
    the packer did: the carrier holds it, so it is handed over (its stock leaves) before it moves on.
    A label created is not a movement. Carriers deliver events late and out of order (and some give
    times without a zone), so an event older than the ``newest`` heard only hands a parcel over or
    delivers it: an old "in transit" never undoes a newer exception."""
    target = _STATUS_AFTER.get(kind) if kind is not None else None
    if target is None or current in (S.DELIVERED, S.VOIDED):
        return NO_EFFECT
    if current in LIVE:
        return TrackingEffect(hand_over=True, status=target)
    if target == current or not (newest or target == S.DELIVERED):
        return NO_EFFECT
    return TrackingEffect(hand_over=False, status=target)


def order_delivered(order_status: OrderStatus, parcels: Iterable[ShipmentStatus]) -> bool:
    """An order is delivered once it is wholly shipped and every parcel of it that left has arrived
    (voided parcels never left; parcels still on the shelf mean it is not wholly shipped)."""
    left = [status for status in parcels if status != S.VOIDED]
    return order_status == OrderStatus.SHIPPED and bool(left) and all(s == S.DELIVERED for s in left)


#: Parcels on their way: those the stale and late alerts watch.
ON_THE_WAY = frozenset({S.SHIPPED, S.IN_TRANSIT, S.EXCEPTION})


# --- tracking write-back --------------------------------------------------------------------------


class WritebackStep(StrEnum):
    NOTHING = "nothing"  # the shop holds this parcel as it is
    WAIT = "wait"  # another worker is sending it now
    SEND = "send"  # create it on the platform (or look for it there first: ``maybe_sent``)
    UPDATE = "update"  # accepted before: update the tracking the platform holds


def writeback_step(
    status: str,
    claim: tuple[str | None, datetime | None],
    mine: str,
    now: datetime,
    sent: tuple[str | None, str | None],
    current: tuple[str | None, str | None],
) -> WritebackStep:
    """What a write-back try does with a parcel whose write-back is ``status``. A claim (who, until)
    held by another try that has not run out means that try may be sending right now: wait for it,
    so two workers never send one parcel at once. ``sent`` and ``current`` are (carrier, tracking
    number) as the platform took them and as the parcel has them now."""
    holder, until = claim
    if status == "sending" and holder != mine and until is not None and until > now:
        return WritebackStep.WAIT
    if status == "skipped":
        return WritebackStep.NOTHING
    if status == "accepted":
        return WritebackStep.NOTHING if sent == current else WritebackStep.UPDATE
    return WritebackStep.SEND


# --- scan to pack: every stock unit of a parcel scanned once, no more --------------------------------

#: Parcels a packer may scan into: their items are still to be packed.
PACKABLE = frozenset({S.CREATED, S.LABEL_BOUGHT, S.PICKED})


def check_packable(shipment_id: int, status: ShipmentStatus) -> None:
    if status not in PACKABLE:
        if status == S.PACKED:
            done = Phrase("it is packed already")
        elif status == S.VOIDED:
            done = Phrase("it was voided")
        else:
            done = Phrase("it has left")
        raise Conflict(
            Phrase(
                "shipment %(shipment)s is %(status)s: %(done)s; nothing more is scanned into it",
                shipment=shipment_id,
                status=str(status),
                done=done,
            )
        )


def _counts(skus: Mapping[int, str], counts: Mapping[int, int]) -> Arg:
    """``2 x SKU-1, 1 x SKU-2``, by SKU."""
    return listed(
        [
            Phrase("%(count)s x %(sku)s", count=n, sku=skus.get(pid, pid))
            for pid, n in sorted(counts.items(), key=lambda i: str(skus.get(i[0])))
        ],
        commas=True,
    )


def check_scan(
    product_id: int, expected: Mapping[int, int], scanned: Mapping[int, int], skus: Mapping[int, str]
) -> None:
    """One more unit of ``product_id`` may go in the parcel: it is one of its units, not yet all in.

    Invariant: no unit is scanned into a parcel beyond what the parcel carries."""
    sku = skus.get(product_id, product_id)
    if product_id not in expected:
        raise Conflict(
            Phrase(
                "wrong item: %(sku)s is not in this parcel; it holds %(holds)s",
                sku=sku,
                holds=_counts(skus, expected),
            ),
            field="code",
        )
    if scanned.get(product_id, 0) >= expected[product_id]:
        raise Conflict(
            Phrase(
                "one too many: %(sku)s is in the parcel %(expected)s times, "
                "and %(scanned)s are scanned already",
                sku=sku,
                expected=expected[product_id],
                scanned=scanned.get(product_id, 0),
            ),
            field="code",
        )


def missing(expected: Mapping[int, int], scanned: Mapping[int, int]) -> dict[int, int]:
    """The units still to scan, by product."""
    return {pid: qty - scanned.get(pid, 0) for pid, qty in expected.items() if scanned.get(pid, 0) < qty}


def check_complete(
    shipment_id: int, expected: Mapping[int, int], scanned: Mapping[int, int], skus: Mapping[int, str]
) -> None:
    """A parcel is packed only with every unit scanned; refused naming each one missing."""
    short = missing(expected, scanned)
    if short:
        named = listed(
            [
                Phrase(
                    "%(sku)s: %(scanned)s of %(expected)s scanned, %(left)s missing",
                    sku=skus.get(pid, pid),
                    scanned=scanned.get(pid, 0),
                    expected=expected[pid],
                    left=left,
                )
                for pid, left in sorted(short.items(), key=lambda i: str(skus.get(i[0])))
            ]
        )
        raise Conflict(
            Phrase("shipment %(shipment)s is not complete: %(missing)s", shipment=shipment_id, missing=named),
            field="code",
        )


# --- waves: the parcels a picker takes together --------------------------------------------------

#: Parcels in one wave at most: a picking cart's worth, and one batch of labels off the printer.
WAVE_SIZE = 25


@dataclass(frozen=True, slots=True)
class WaveParcel:
    """One parcel of a wave, as the wave screen lists it."""

    shipment_id: int
    warehouse: str
    order_id: int
    order_number: str
    shop: str
    carrier: str | None
    service: str | None
    tracking_number: str | None  # None: it has no label yet
    units: int  # stock units to pick (a bundle as its components)
    first_bin: str  # where its walk starts ("" when no item has a bin)
    label_state: str | None = None  # its carrier label's purchase (``carriers.models.LabelState``)
    label_error: str | None = None  # the carrier's refusal, or why the outcome is unknown


@dataclass(frozen=True, slots=True)
class Wave:
    """Parcels of one warehouse picked in one walk. ``carrier`` is the carrier of their labels; None
    for parcels without a label yet, whose labels are bought before they are picked."""

    warehouse: str
    carrier: str | None
    number: int  # 1, 2, ... within its warehouse and carrier
    parcels: tuple[WaveParcel, ...]

    @property
    def unlabelled(self) -> tuple[WaveParcel, ...]:
        return tuple(p for p in self.parcels if p.tracking_number is None)


def form_waves(parcels: Iterable[WaveParcel]) -> list[Wave]:
    """Waves from parcels given in pick order (``paperwork.pick_key``: by warehouse, then the first bin
    on the walk). A wave is one warehouse's parcels going with one carrier, since each carrier collects
    its own parcels: those without a label first (their labels are bought before the walk), then each
    carrier by name; each cut into waves of at most :data:`WAVE_SIZE` in pick order, so a wave's pick
    list and labels come out in the order its items come off the shelves."""
    groups: dict[str, dict[str | None, list[WaveParcel]]] = {}  # warehouses in the order met
    for parcel in parcels:
        carrier = (parcel.carrier or "") if parcel.tracking_number is not None else None
        groups.setdefault(parcel.warehouse, {}).setdefault(carrier, []).append(parcel)
    waves = []
    for warehouse, carriers in groups.items():
        for carrier in sorted(carriers, key=lambda name: (name is not None, name or "")):
            members = carriers[carrier]
            for number, start in enumerate(range(0, len(members), WAVE_SIZE), 1):
                waves.append(Wave(warehouse, carrier, number, tuple(members[start : start + WAVE_SIZE])))
    return waves
