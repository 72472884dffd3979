"""Pure stock rules: levels, movements and all-or-nothing allocation. No I/O here.

``available = on_hand - reserved - safety``. Reservations never eat into safety stock, nothing is
reserved that is not on hand, and every change is a :class:`Movement` that becomes one ledger row, so
the ledger summed per SKU and warehouse always equals the level. Every figure of a level, and so every
movement, stays within ``0..MAX_QUANTITY``, whichever path (API, CLI, ingest, sync) makes it.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Collection, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from orderly.core.errors import DomainError, InsufficientStock, InvalidTransition, OutOfRange
from orderly.core.phrases import Arg, Phrase, listed

#: The most units of one SKU in one warehouse (on hand, reserved or safety), and so the most one movement
#: moves: far beyond any shelf, and within the 32-bit columns that hold levels and ledger deltas.
MAX_QUANTITY = 1_000_000_000
_HOLDS = Phrase("a warehouse holds at most %(most)s units of a SKU", most=f"{MAX_QUANTITY:,}")


class MovementKind(StrEnum):
    RECEIPT = "receipt"
    ADJUSTMENT = "adjustment"
    COUNT = "count"
    SAFETY = "safety"
    RESERVATION = "reservation"
    RELEASE = "release"
    SHIPMENT = "shipment"
    RETURN = "return"
    TRANSFER_HOLD = "transfer_hold"
    TRANSFER_RELEASE = "transfer_release"
    TRANSFER_OUT = "transfer_out"
    TRANSFER_IN = "transfer_in"


#: Each movement as a refusal names it: its English the kind itself, translated where the console says it.
MOVEMENT_WORDS = {
    MovementKind.RECEIPT: Phrase("receipt"),
    MovementKind.ADJUSTMENT: Phrase("adjustment"),
    MovementKind.COUNT: Phrase("count"),
    MovementKind.SAFETY: Phrase("safety"),
    MovementKind.RESERVATION: Phrase("reservation"),
    MovementKind.RELEASE: Phrase("release"),
    MovementKind.SHIPMENT: Phrase("shipment"),
    MovementKind.RETURN: Phrase("return"),
    MovementKind.TRANSFER_HOLD: Phrase("transfer_hold"),
    MovementKind.TRANSFER_RELEASE: Phrase("transfer_release"),
    MovementKind.TRANSFER_OUT: Phrase("transfer_out"),
    MovementKind.TRANSFER_IN: Phrase("transfer_in"),
}


@dataclass(frozen=True, slots=True)
class Movement:
    kind: MovementKind
    on_hand_delta: int = 0
    reserved_delta: int = 0
    safety_delta: int = 0


@dataclass(slots=True)
class Level:
    on_hand: int = 0
    reserved: int = 0
    safety: int = 0

    @property
    def available(self) -> int:
        return max(0, self.on_hand - self.reserved - self.safety)

    def apply(self, movement: Movement) -> None:
        on_hand = self.on_hand + movement.on_hand_delta
        reserved = self.reserved + movement.reserved_delta
        safety = self.safety + movement.safety_delta
        if min(on_hand, reserved, safety) < 0 or reserved > on_hand:
            raise InsufficientStock(
                Phrase(
                    "%(kind)s would leave on hand %(on_hand)s, reserved %(reserved)s, safety %(safety)s",
                    kind=MOVEMENT_WORDS[movement.kind],
                    on_hand=on_hand,
                    reserved=reserved,
                    safety=safety,
                )
            )
        if max(on_hand, safety) > MAX_QUANTITY:
            raise OutOfRange(
                Phrase(
                    "%(kind)s would leave on hand %(on_hand)s, safety %(safety)s: %(holds)s",
                    kind=MOVEMENT_WORDS[movement.kind],
                    on_hand=f"{on_hand:,}",
                    safety=f"{safety:,}",
                    holds=_HOLDS,
                )
            )
        self.on_hand, self.reserved, self.safety = on_hand, reserved, safety

    def copy(self) -> Level:
        return Level(self.on_hand, self.reserved, self.safety)


def _positive(quantity: int, what: str) -> None:
    if quantity <= 0:
        raise DomainError(f"{what} quantity must be positive, got {quantity}", field="quantity")
    _within(quantity, "quantity")


def _within(quantity: int, field: str) -> None:
    if abs(quantity) > MAX_QUANTITY:
        raise OutOfRange(
            Phrase(
                "%(quantity)s units is beyond the bound: %(holds)s", quantity=f"{quantity:,}", holds=_HOLDS
            ),
            field=field,
        )


def receipt(quantity: int) -> Movement:
    _positive(quantity, "received")
    return Movement(MovementKind.RECEIPT, on_hand_delta=quantity)


def adjustment(level: Level, delta: int) -> Movement:
    if delta == 0:
        raise DomainError(Phrase("adjustment of 0 changes nothing"), field="delta")
    _within(delta, "delta")
    if level.on_hand + delta < level.reserved:
        raise InsufficientStock(
            Phrase(
                "adjustment of %(delta)s would leave %(on_hand)s on hand but %(reserved)s is reserved by "
                "open orders; release or cancel them first",
                delta=delta,
                on_hand=level.on_hand + delta,
                reserved=level.reserved,
            )
        )
    return Movement(MovementKind.ADJUSTMENT, on_hand_delta=delta)


def count(level: Level, counted: int) -> Movement:
    if counted < 0:
        raise DomainError(f"counted quantity cannot be negative, got {counted}", field="counted")
    _within(counted, "counted")
    if counted < level.reserved:
        raise InsufficientStock(
            Phrase(
                "count of %(counted)s is below the %(reserved)s reserved by open orders; "
                "release or cancel them first",
                counted=counted,
                reserved=level.reserved,
            )
        )
    return Movement(MovementKind.COUNT, on_hand_delta=counted - level.on_hand)


def safety(level: Level, new_safety: int) -> Movement:
    if new_safety < 0:
        raise DomainError(f"safety stock cannot be negative, got {new_safety}", field="safety")
    _within(new_safety, "safety")
    return Movement(MovementKind.SAFETY, safety_delta=new_safety - level.safety)


def reservation(level: Level, quantity: int) -> Movement:
    _positive(quantity, "reserved")
    if quantity > level.available:
        raise InsufficientStock(f"need {quantity}, {level.available} available")
    return Movement(MovementKind.RESERVATION, reserved_delta=quantity)


def release(level: Level, quantity: int) -> Movement:
    _positive(quantity, "released")
    if quantity > level.reserved:
        raise InsufficientStock(f"cannot release {quantity}, only {level.reserved} reserved")
    return Movement(MovementKind.RELEASE, reserved_delta=-quantity)


def shipment(level: Level, quantity: int) -> Movement:
    """Reserved goods leave the building: both on hand and reserved fall."""
    _positive(quantity, "shipped")
    if quantity > level.reserved:
        raise InsufficientStock(f"cannot ship {quantity}, only {level.reserved} reserved")
    return Movement(MovementKind.SHIPMENT, on_hand_delta=-quantity, reserved_delta=-quantity)


def stock_return(quantity: int) -> Movement:
    _positive(quantity, "returned")
    return Movement(MovementKind.RETURN, on_hand_delta=quantity)


def why_unrepairable(on_hand: int, reserved: int, safety: int) -> str | None:
    """Why a level cannot be set to these ledger figures, or None when it can.

    Invariant: a level never holds a negative figure nor more reserved than on hand (the database
    refuses both). A ledger can sum to that only when a level drifted up and orders then reserved the
    units it invented; the level keeps its figures until a person frees them, as a count below what
    is reserved is refused."""
    if min(on_hand, reserved, safety) < 0:
        return (
            f"the ledger sums to a negative figure ({on_hand} on hand, {reserved} reserved, {safety} safety)"
        )
    if reserved > on_hand:
        return (
            f"the ledger has {reserved} reserved but {on_hand} on hand: orders reserved units the level "
            f"invented; release or cancel orders holding {reserved - on_hand} of them, then repair again"
        )
    return None


# --- allocation -----------------------------------------------------------------------------------

StockKey = tuple[int, int]  # (product_id, warehouse_id)


@dataclass(frozen=True, slots=True)
class Demand:
    """What one order needs, bundles already expanded to their components.

    ``warehouse_ids``, when given, replaces the default warehouse order for this order (a rule chose
    or excluded warehouses, or the order ships with others from one); ``split`` lets an order that no
    one warehouse can fill take its lines from several.
    """

    order_key: Hashable
    needs: Mapping[int, int]  # product_id -> quantity
    warehouse_ids: tuple[int, ...] | None = None
    split: bool = False


@dataclass(frozen=True, slots=True)
class Shortage:
    product_id: int
    needed: int
    available: int


@dataclass(frozen=True, slots=True)
class Allocation:
    """Where an order's stock is reserved. ``parts`` is set when the order was split: then each
    (product, warehouse) gets its quantity and ``warehouse_id`` is the one that ships the most."""

    order_key: Hashable
    warehouse_id: int | None  # None when the order is short everywhere
    needs: Mapping[int, int]
    shortages: tuple[Shortage, ...] = ()
    parts: tuple[tuple[StockKey, int], ...] = ()

    @property
    def ok(self) -> bool:
        return not self.shortages

    def reservations(self) -> list[tuple[StockKey, int]]:
        """Every (product, warehouse) and quantity to reserve, in key order."""
        if self.parts:
            return sorted(self.parts)
        assert self.warehouse_id is not None
        return sorted(((pid, self.warehouse_id), qty) for pid, qty in self.needs.items())


def shipped_from(held: Mapping[StockKey, int], shipped: Mapping[int, int]) -> dict[StockKey, int]:
    """Which of an order's reserved units left when the platform reports ``shipped`` units per product
    shipped outside the hub: never more of a product than the order holds, warehouses in key order.
    Units it never reserved take nothing: they did not leave the hub's shelves."""
    taken: dict[StockKey, int] = {}
    left = {pid: qty for pid, qty in shipped.items() if qty > 0}
    for key, qty in sorted(held.items()):
        take = min(qty, left.get(key[0], 0))
        if take > 0:
            taken[key] = take
            left[key[0]] -= take
    return taken


def allocate(
    demands: Iterable[Demand], levels: dict[StockKey, Level], warehouse_ids: list[int]
) -> list[Allocation]:
    """Reserve each order whole in the first warehouse (in ``warehouse_ids`` order) that can fill it.

    Orders are served in the order given; ``levels`` is updated in place so later orders see earlier
    reservations. An order no warehouse can fill is split over several when its demand allows it, else
    reserves nothing and reports every short line against the warehouse that could fill most of it.
    """
    outcomes: list[Allocation] = []
    empty = Level()
    for demand in demands:
        order = list(demand.warehouse_ids) if demand.warehouse_ids is not None else warehouse_ids
        chosen = next(
            (
                wid
                for wid in order
                if all(levels.get((pid, wid), empty).available >= qty for pid, qty in demand.needs.items())
            ),
            None,
        )
        if chosen is not None:
            for pid, qty in demand.needs.items():
                levels[(pid, chosen)].reserved += qty
            outcomes.append(Allocation(demand.order_key, chosen, demand.needs))
            continue
        if demand.split:
            parts = _split(demand.needs, levels, order)
            if parts is not None:
                for key, qty in parts:
                    levels[key].reserved += qty
                shipped: dict[int, int] = {}
                for (_, wid), qty in parts:
                    shipped[wid] = shipped.get(wid, 0) + qty
                main = max(order, key=lambda wid: shipped.get(wid, 0))
                outcomes.append(Allocation(demand.order_key, main, demand.needs, (), parts))
                continue
        best = max(
            order,
            key=lambda wid: sum(
                min(levels.get((p, wid), empty).available, q) for p, q in demand.needs.items()
            ),
            default=None,
        )
        shortages = tuple(
            Shortage(pid, qty, avail)
            for pid, qty in sorted(demand.needs.items())
            if (avail := levels.get((pid, best), empty).available if best is not None else 0) < qty
        )
        outcomes.append(Allocation(demand.order_key, best, demand.needs, shortages))
    return outcomes


def _split(
    needs: Mapping[int, int], levels: dict[StockKey, Level], warehouse_ids: list[int]
) -> tuple[tuple[StockKey, int], ...] | None:
    """Take each product from as few warehouses as possible: first the one that can fill the most
    lines whole, then the next for what is left. None when even all together are short."""
    empty = Level()
    remaining = dict(needs)
    parts: list[tuple[StockKey, int]] = []
    while remaining:
        candidates = [
            wid
            for wid in warehouse_ids
            if any(levels.get((pid, wid), empty).available > 0 for pid in remaining)
        ]
        if not candidates:
            return None
        wid = max(
            candidates,
            key=lambda w: (
                sum(1 for p, q in remaining.items() if levels.get((p, w), empty).available >= q),
                sum(min(levels.get((p, w), empty).available, q) for p, q in remaining.items()),
            ),
        )
        for pid, qty in list(remaining.items()):
            take = min(levels.get((pid, wid), empty).available, qty)
            if take:
                parts.append(((pid, wid), take))
                if take == qty:
                    del remaining[pid]
                else:
                    remaining[pid] = qty - take
        warehouse_ids = [w for w in warehouse_ids if w != wid]
    return tuple(parts)


def sellable(
    product_ids: Iterable[int],
    parts: Mapping[int, Sequence[tuple[int, int]]],
    levels: Mapping[StockKey, Level],
    warehouse_ids: Collection[int],
) -> dict[int, int]:
    """What can still be sold of each product across these warehouses: its available units, or, for a
    bundle (``parts``: component, quantity per bundle), as many bundles as its scarcest component allows."""
    totals: dict[int, int] = defaultdict(int)
    for (product_id, warehouse_id), level in levels.items():
        if warehouse_id in warehouse_ids:
            totals[product_id] += level.available
    return {
        product_id: min(
            totals[part] // quantity for part, quantity in parts.get(product_id) or [(product_id, 1)]
        )
        for product_id in product_ids
    }


# --- where stock sits --------------------------------------------------------------------------------

#: A bin's code: what is printed on the shelf's label, e.g. ``A-02-3`` (aisle, rack, shelf).
BIN_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9 ._/-]*$"
MAX_WALK = 1_000_000

NaturalKey = tuple[tuple[int, int, str], ...]


def natural_key(text: str) -> NaturalKey:
    """Sorts numbers by value (A-2 before A-10), letters without case; each part is typed alike so
    any two keys compare."""
    return tuple(
        (1, int(part), "") if part.isdigit() else (0, 0, part.casefold())
        for part in re.findall(r"\d+|\D+", text)
    )


def walk_key(bin_code: str, walk: int | None) -> tuple[bool, bool, int, NaturalKey]:
    """Where a bin comes on the picker's walk through a warehouse.

    A bin given a walk sequence comes by that number (a warehouse whose aisles are walked up one and
    down the next numbers its bins); bins without one follow, in the natural order of their codes
    (A-2 before A-10), which is the walk of a warehouse whose codes follow its aisles. A SKU with no
    bin is picked last: someone has to look for it."""
    return (not bin_code.strip(), walk is None, walk or 0, natural_key(bin_code))


# --- transfers between warehouses -----------------------------------------------------------------
#
# A transfer moves units of some SKUs from one warehouse to another (home to overseas). Its life:
# created -> shipped -> partly_received -> received, or created -> cancelled.
#
# * Created, its units are **held at the source as a reservation** (``transfer_hold``: reserved rises,
#   on hand stays). A hold is a reservation because that is what every reader of stock already
#   respects: allocation, what the shops are offered (``sellable``), adjustments and counts that may
#   not go below what is reserved. A flag or a separate column would have to be taught to each of
#   them; a reservation cannot be oversold by any of them. Like an order's, a hold takes only available
#   units (never safety stock) and every short line is named at once. Cancelling releases it
#   (``transfer_release``).
# * Shipped, the held units leave the source (``transfer_out``: on hand and reserved fall together,
#   so what is available there stays as it was) and are **in transit**: per line, shipped less
#   received less written off. In transit is derived from the open transfers, not kept as a figure:
#   open transfers are few, so summing them is one small query, and a derived figure cannot drift
#   from the transfers as a stored one could (``stock verify`` proves levels, not a second figure).
# * Received, units arrive at the destination (``transfer_in``: on hand rises), line by line and
#   perhaps over several receipts. A line that receives more than was shipped (over) or is closed
#   with less (short, the rest written off) records why; a receipt that makes either difference
#   without a reason is refused. Written-off units left the source's ledger when shipped and never
#   enter the destination's, so levels still equal the ledger.
#
# Bundles are refused: a bundle has no stock of its own, its components do, so a transfer names them.


class TransferStatus(StrEnum):
    CREATED = "created"
    SHIPPED = "shipped"
    PARTLY_RECEIVED = "partly_received"
    RECEIVED = "received"
    CANCELLED = "cancelled"


T = TransferStatus

TRANSFER_ALLOWED: dict[TransferStatus, frozenset[TransferStatus]] = {
    T.CREATED: frozenset({T.SHIPPED, T.CANCELLED}),
    # Once the goods left, a cancellation would lose them: they are received, or written off on closing.
    T.SHIPPED: frozenset({T.PARTLY_RECEIVED, T.RECEIVED}),
    T.PARTLY_RECEIVED: frozenset({T.PARTLY_RECEIVED, T.RECEIVED}),
    T.RECEIVED: frozenset(),
    T.CANCELLED: frozenset(),
}

#: Transfers whose units are on the road: shipped and not all received or written off.
IN_TRANSIT = frozenset({T.SHIPPED, T.PARTLY_RECEIVED})


#: Each transfer status as a refusal names it: its English the status itself.
TRANSFER_WORDS = {
    T.CREATED: Phrase("created"),
    T.SHIPPED: Phrase("shipped"),
    T.PARTLY_RECEIVED: Phrase("partly_received"),
    T.RECEIVED: Phrase("received"),
    T.CANCELLED: Phrase("cancelled"),
}


def check_transfer_transition(current: TransferStatus, target: TransferStatus) -> None:
    InvalidTransition.unless_allowed(
        Phrase("a transfer"), TRANSFER_ALLOWED, current, target, words=TRANSFER_WORDS
    )


@dataclass(frozen=True, slots=True)
class TransferLine:
    """One SKU of a transfer: shipped (``quantity``), received so far and written off on closing."""

    product_id: int
    quantity: int
    received: int = 0
    written_off: int = 0

    @property
    def in_transit(self) -> int:
        """Units still on the road; never negative (an over-receipt is not negative transit)."""
        return max(0, self.quantity - self.received - self.written_off)


def check_transfer(from_warehouse: int, to_warehouse: int, lines: Mapping[int, int]) -> None:
    """A transfer goes between two different warehouses and moves at least one unit of each SKU it
    names, each within the bound a level holds."""
    if from_warehouse == to_warehouse:
        raise DomainError(
            Phrase("a transfer goes to another warehouse than it leaves from"), field="to_warehouse"
        )
    if not lines:
        raise DomainError(Phrase("a transfer moves at least one SKU"), field="lines")
    for quantity in lines.values():
        _positive(quantity, "transferred")


def transfer_hold(
    levels: Mapping[StockKey, Level], warehouse_id: int, lines: Mapping[int, int], skus: Mapping[int, str]
) -> list[tuple[StockKey, Movement]]:
    """The reservations that hold a new transfer's units at its source, in key order.

    Invariant: a hold takes only available units (on hand less reserved less safety), like an order's
    reservation, so no order and no shop is ever promised a unit a transfer holds, or the reverse.
    Every short line is named at once."""
    empty = Level()
    short = [
        Phrase(
            "%(sku)s: %(quantity)s to transfer, %(available)s available",
            sku=skus.get(pid, pid),
            quantity=qty,
            available=available,
        )
        for pid, qty in sorted(lines.items())
        if (available := levels.get((pid, warehouse_id), empty).available) < qty
    ]
    if short:
        raise InsufficientStock(
            Phrase("not enough stock at the source for this transfer: %(short)s", short=listed(short))
        )
    return [
        ((pid, warehouse_id), Movement(MovementKind.TRANSFER_HOLD, reserved_delta=qty))
        for pid, qty in sorted(lines.items())
    ]


def transfer_release(warehouse_id: int, lines: Iterable[TransferLine]) -> list[tuple[StockKey, Movement]]:
    """A cancelled transfer gives its held units back to its source: reserved falls by what it held.

    Invariant: only a created transfer holds stock, exactly its lines' quantities."""
    return [
        (
            (line.product_id, warehouse_id),
            Movement(MovementKind.TRANSFER_RELEASE, reserved_delta=-line.quantity),
        )
        for line in sorted(lines, key=lambda line: line.product_id)
    ]


def transfer_out(warehouse_id: int, lines: Iterable[TransferLine]) -> list[tuple[StockKey, Movement]]:
    """The held units leave the source: on hand and reserved both fall by each line's quantity, so
    what is available there does not change.

    Invariant: a transfer ships exactly what it held, once (only a created transfer ships)."""
    return [
        (
            (line.product_id, warehouse_id),
            Movement(MovementKind.TRANSFER_OUT, on_hand_delta=-line.quantity, reserved_delta=-line.quantity),
        )
        for line in sorted(lines, key=lambda line: line.product_id)
    ]


@dataclass(frozen=True, slots=True)
class LineReceipt:
    """What one receipt does to a line: units arriving now, units written off now, and why the line
    differs from what was shipped when this receipt makes it differ."""

    product_id: int
    received: int
    written_off: int
    difference: str | None

    @property
    def movement(self) -> Movement | None:
        return Movement(MovementKind.TRANSFER_IN, on_hand_delta=self.received) if self.received else None


def transfer_receipt(
    lines: Sequence[TransferLine],
    arrived: Mapping[int, int],
    reasons: Mapping[int, str],
    *,
    close: bool,
    skus: Mapping[int, str],
) -> tuple[list[LineReceipt], TransferStatus]:
    """One receipt of a shipped transfer: ``arrived`` units per product now, ``reasons`` per product
    for a difference, ``close`` to write off what has not arrived. Returns each line's change and the
    transfer's status after it.

    Invariants: units arrive only for SKUs the transfer carries; a line receiving beyond what was
    shipped (over) and a line closed short both carry a reason; a receipt changes something; the
    transfer is received once nothing is in transit, else partly received."""
    by_product = {line.product_id: line for line in lines}
    problems: list[Arg] = [
        Phrase("%(sku)s is not on this transfer; book it with a stock receipt", sku=skus.get(pid, pid))
        for pid in sorted(arrived)
        if pid not in by_product
    ]
    problems += [
        Phrase(
            "%(sku)s: received quantity cannot be negative, got %(quantity)s",
            sku=skus.get(pid, pid),
            quantity=qty,
        )
        for pid, qty in sorted(arrived.items())
        if qty < 0
    ]
    if problems:
        said = listed(problems)
        raise DomainError(said if isinstance(said, Phrase) else str(said), field="lines")
    for qty in arrived.values():
        _within(qty, "quantity")
    if not close and not any(arrived.values()):
        raise DomainError(
            Phrase("a receipt receives at least one unit, or closes the transfer"), field="lines"
        )
    receipts: list[LineReceipt] = []
    missing: list[Arg] = []
    still_open = False
    for line in sorted(lines, key=lambda line: line.product_id):
        now = arrived.get(line.product_id, 0)
        over = max(0, now - line.in_transit)
        short = max(0, line.in_transit - now) if close else 0
        still_open |= line.in_transit - now - short > 0
        difference = None
        if over or short:
            what = f"over {over}" if over else f"short {short}"
            if line.product_id in reasons:
                difference = f"{what}: {reasons[line.product_id]}"
            else:
                missing.append(
                    Phrase(
                        "%(sku)s over %(count)s", sku=skus.get(line.product_id, line.product_id), count=over
                    )
                    if over
                    else Phrase(
                        "%(sku)s short %(count)s", sku=skus.get(line.product_id, line.product_id), count=short
                    )
                )
        if now or short:
            receipts.append(LineReceipt(line.product_id, now, short, difference))
    if missing:
        raise DomainError(
            Phrase(
                "a difference needs a reason (more than was shipped, or short on closing): %(missing)s",
                missing=listed(missing),
            ),
            field="reason",
        )
    return receipts, T.PARTLY_RECEIVED if still_open else T.RECEIVED
