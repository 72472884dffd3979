"""Pure order rules: statuses, allowed transitions, hold reasons; the home page's arithmetic. No I/O here."""

from __future__ import annotations

import hashlib
import math
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from enum import StrEnum
from functools import lru_cache
from typing import Any, Literal

from orderly.catalog.domain import expand
from orderly.core import jsontext
from orderly.core.errors import InvalidTransition
from orderly.core.money import to_base
from orderly.core.phrases import Arg, Phrase, listed
from orderly.inventory.domain import Allocation, Shortage


class OrderStatus(StrEnum):
    PENDING_REVIEW = "pending_review"
    ON_HOLD = "on_hold"
    APPROVED = "approved"
    ALLOCATED = "allocated"
    LABEL_PRINTED = "label_printed"
    #: Some of its units have left in the hub's parcels; the rest stay reserved.
    PARTLY_SHIPPED = "partly_shipped"
    SHIPPED = "shipped"
    DELIVERED = "delivered"
    CANCELLED = "cancelled"
    RETURNED = "returned"
    #: The platform ships it from its own stock (Amazon FBA): kept for the order list and finance, it
    #: never reserves or ships the hub's stock.
    PLATFORM_FULFILLED = "platform_fulfilled"


class PaymentStatus(StrEnum):
    PENDING = "pending"
    AUTHORIZED = "authorized"
    PAID = "paid"
    PARTIALLY_REFUNDED = "partially_refunded"
    REFUNDED = "refunded"
    FAILED = "failed"


class HoldReason(StrEnum):
    OUT_OF_STOCK = "out_of_stock"
    ADDRESS = "address"
    RISK = "risk"
    REMARK = "remark"
    PAYMENT = "payment"
    MANUAL = "manual"
    CANCEL_REQUEST = "cancel_request"


#: A hold's reason where the hub's words name it (a rule's action, the holds a release lifted): its
#: code in English, a word in the console's languages.
REASON_WORDS = {
    HoldReason.OUT_OF_STOCK: Phrase("out_of_stock"),
    HoldReason.ADDRESS: Phrase("address"),
    HoldReason.RISK: Phrase("risk"),
    HoldReason.REMARK: Phrase("remark"),
    HoldReason.PAYMENT: Phrase("payment"),
    HoldReason.MANUAL: Phrase("manual"),
    HoldReason.CANCEL_REQUEST: Phrase("cancel_request"),
}


def reasons_named(reasons: Iterable[str]) -> Arg:
    """Hold reasons (one or more) as the hub's words name them, in order, joined by commas."""
    return listed([REASON_WORDS[HoldReason(r)] for r in sorted(set(reasons))], commas=True)


S = OrderStatus
# Every open status may go to shipped: the platform can report an order shipped outside the hub.
ALLOWED_TRANSITIONS: dict[OrderStatus, frozenset[OrderStatus]] = {
    S.PENDING_REVIEW: frozenset({S.ON_HOLD, S.APPROVED, S.SHIPPED, S.CANCELLED}),
    # A held order may keep the stock reserved for it: the platform has sold those units.
    S.ON_HOLD: frozenset({S.PENDING_REVIEW, S.APPROVED, S.ALLOCATED, S.SHIPPED, S.CANCELLED}),
    S.APPROVED: frozenset({S.ALLOCATED, S.ON_HOLD, S.SHIPPED, S.CANCELLED}),
    # Going back to approved (to re-route) gives the stock back; a hold keeps it.
    S.ALLOCATED: frozenset(
        {S.LABEL_PRINTED, S.PARTLY_SHIPPED, S.SHIPPED, S.ON_HOLD, S.APPROVED, S.CANCELLED}
    ),
    # A voided label returns the order to allocated; once handed over it can no longer be cancelled.
    # A buyer's cancellation request holds even a packed parcel.
    S.LABEL_PRINTED: frozenset({S.PARTLY_SHIPPED, S.SHIPPED, S.ALLOCATED, S.ON_HOLD, S.CANCELLED}),
    # What left is gone; the rest may still be held, or cancelled (its stock goes back).
    S.PARTLY_SHIPPED: frozenset({S.SHIPPED, S.ON_HOLD, S.CANCELLED}),
    S.SHIPPED: frozenset({S.DELIVERED, S.RETURNED}),
    S.DELIVERED: frozenset({S.RETURNED}),
    S.CANCELLED: frozenset(),
    S.RETURNED: frozenset(),
    S.PLATFORM_FULFILLED: frozenset({S.CANCELLED}),
}

#: Statuses in which the order may hold reserved stock (on hold: when it was held after reserving).
HOLDS_RESERVATION = frozenset({S.ALLOCATED, S.LABEL_PRINTED, S.PARTLY_SHIPPED, S.ON_HOLD})
#: Statuses after which the platform's word can no longer change what we do with the goods.
CLOSED = frozenset({S.SHIPPED, S.DELIVERED, S.CANCELLED, S.RETURNED})
#: Holds only a person lifts: a platform update never reviews them away.
PERSONS_HOLDS = frozenset({HoldReason.MANUAL, HoldReason.CANCEL_REQUEST})
#: The address parts without which no parcel can leave.
SHIPPING_NEEDS = (("name", "name"), ("line1", "street"), ("city", "city"), ("country", "country"))
#: How each part of an address is named to a person.
ADDRESS_PARTS = {
    "name": Phrase("name"),
    "line1": Phrase("street"),
    "line2": Phrase("line 2"),
    "city": Phrase("city"),
    "region": Phrase("region"),
    "postal_code": Phrase("postal code"),
    "country": Phrase("country"),
    "phone": Phrase("phone"),
}


#: Each status as a refusal names it: its English the status itself (what the API says), translated
#: where the console says the refusal.
STATUS_WORDS = {
    S.PENDING_REVIEW: Phrase("pending_review"),
    S.ON_HOLD: Phrase("on_hold"),
    S.APPROVED: Phrase("approved"),
    S.ALLOCATED: Phrase("allocated"),
    S.LABEL_PRINTED: Phrase("label_printed"),
    S.PARTLY_SHIPPED: Phrase("partly_shipped"),
    S.SHIPPED: Phrase("shipped"),
    S.DELIVERED: Phrase("delivered"),
    S.CANCELLED: Phrase("cancelled"),
    S.RETURNED: Phrase("returned"),
    S.PLATFORM_FULFILLED: Phrase("platform_fulfilled"),
}


def status_word(status: str) -> Phrase:
    """An order's status as a refusal names it (a stored status read as :class:`OrderStatus`)."""
    return STATUS_WORDS[OrderStatus(status)]


def check_transition(current: OrderStatus, target: OrderStatus) -> None:
    InvalidTransition.unless_allowed(
        Phrase("an order"), ALLOWED_TRANSITIONS, current, target, words=STATUS_WORDS
    )


def check_change(before: str, after: str) -> None:
    """A status that changes follows the state machine; one that stays is no transition."""
    if before != after:
        check_transition(OrderStatus(before), OrderStatus(after))


@dataclass(frozen=True, slots=True)
class Hold:
    """Why an order is held, typed for rules and worded for people."""

    reason: HoldReason
    message: str
    details: list[dict[str, object]] = field(default_factory=list)
    phrase: Phrase | None = None  # the message for the console to translate; None: a person's words

    @classmethod
    def said(cls, reason: HoldReason, phrase: Phrase, details: list[dict[str, object]] | None = None) -> Hold:
        return cls(reason, phrase.english(), details or [], phrase)

    def as_json(self) -> dict[str, object]:
        out: dict[str, object] = {
            "reason": str(self.reason),
            "message": self.message,
            "details": self.details,
        }
        if self.phrase is not None:
            out["phrase"] = self.phrase.as_json()
        return out


def out_of_stock_message(shortages: Iterable[tuple[object, int, int]]) -> Phrase:
    """The wording of every stock hold, the review's and the allocation's: each short SKU with what
    it needs and what is available, from (sku, needed, available)."""
    short = [
        Phrase(
            "%(sku)s needs %(needed)s, %(available)s available",
            sku=str(sku),
            needed=needed,
            available=available,
        )
        for sku, needed, available in shortages
    ]
    return Phrase("out of stock: %(short)s", short=listed(short))


def shortage_hold(shortages: Iterable[Shortage], skus: Mapping[int, str]) -> Hold:
    """The hold of an order stock cannot fill, naming every short SKU with what it needs and has."""
    short = list(shortages)
    message = out_of_stock_message(
        (skus.get(s.product_id, s.product_id), s.needed, s.available) for s in short
    )
    details: list[dict[str, object]] = [
        {"sku": skus.get(s.product_id), "needed": s.needed, "available": s.available} for s in short
    ]
    return Hold.said(HoldReason.OUT_OF_STOCK, message, details)


@dataclass(frozen=True, slots=True)
class LineSignature:
    """What a line asks of the warehouse; two versions with equal signatures need no re-allocation."""

    product_id: int
    quantity: int


def lines_changed(old: list[LineSignature], new: list[LineSignature]) -> bool:
    return sorted((s.product_id, s.quantity) for s in old) != sorted((s.product_id, s.quantity) for s in new)


def left_to_ship(
    lines: Iterable[tuple[int, int, int]], parts: Mapping[int, list[tuple[int, int]]]
) -> dict[int, int]:
    """What an order still needs from the hub's stock, by product (bundles expanded into ``parts``),
    from its lines' (product, quantity, units shipped outside the hub): shipped units need none."""
    return expand(((pid, qty - shipped) for pid, qty, shipped in lines if qty > shipped), parts)


def status_at_import(
    *, cancelled: bool, platform_fulfilled: bool, shipped: int, left_to_ship: int, returned: bool = False
) -> OrderStatus | None:
    """The status of an order already settled on the platform (cancelled, fulfilled by the platform,
    shipped whole outside the hub, or shipped and come back whole), or None when the hub must review
    it and reserve what is left to ship. None of these settled orders reserves stock."""
    if cancelled:
        return S.CANCELLED
    if platform_fulfilled:
        return S.PLATFORM_FULFILLED
    if shipped > 0 and left_to_ship == 0:
        return S.RETURNED if returned else S.SHIPPED
    return None


#: What an order first seen with units shipped may have become on the platform (None: the rest waits
#: for the hub to ship it).
_SETTLED_AFTER_SHIPPING = (S.SHIPPED, S.RETURNED, S.CANCELLED, None)


def left_the_hubs_shelves(
    order: Mapping[str, Any], settled: OrderStatus | None, shop_joined: datetime
) -> bool:
    """Whether an order first seen shipped, whole or in part, took the units shipped from the stock
    the hub keeps (a part: the rest waits for the hub to ship it, ``settled`` None, or was cancelled on
    the platform, ``settled`` cancelled: what shipped left all the same).

    Invariant: units are booked out only for goods that left after the shop joined the hub. Before
    that they left stock the seller counted without them (a first poll reaching back a month, a
    backfill), and booking them would take them from the count a second time. The goods left when
    the latest parcel did, or, where the platform gives no time, no later than the version's own time:
    in doubt the units are booked out rather than offered to buyers when they may be gone. Platforms
    stamp whole seconds, so goods that left in the second the shop joined count as after it.
    """
    if not order.get("shipped_from_stock", False) or settled not in _SETTLED_AFTER_SHIPPING:
        return False
    if not any(line["shipped"] for line in order["lines"]):
        return False
    times = [parcel["shipped_at"] for parcel in order.get("shipments") or () if parcel.get("shipped_at")]
    left: datetime = max(times) if times else order["updated_at"]
    return left >= shop_joined.replace(microsecond=0)


@dataclass(frozen=True, slots=True)
class Returned:
    """What the platform says came back of an order: units returned of units sold, and the platform's
    status naming it. Whole when every unit sold came back; a part otherwise (none: nothing did)."""

    units: int
    of: int
    platform_status: str | None = None

    @property
    def whole(self) -> bool:
        return self.of > 0 and self.units >= self.of

    @property
    def part(self) -> bool:
        return 0 < self.units < self.of


ON_THE_PLATFORM = Phrase("on the platform")


def on_the_platform(platform_status: str | None) -> Phrase:
    """Where a return happened, naming the platform's status when it gives one."""
    if platform_status:
        return Phrase("on the platform (%(status)s)", status=platform_status)
    return ON_THE_PLATFORM


#: Why no stock comes back with a return: the goods are inspected in after-sales first.
RETURN_NOT_RESTOCKED = Phrase("no stock is put back: the goods wait for inspection in after-sales")


def returned_note(returned: Returned, *, shipped_first: bool = False) -> Phrase:
    """The history's words for a return the platform reports."""
    where = on_the_platform(returned.platform_status)
    if returned.whole:
        if shipped_first:
            return Phrase("shipped and returned %(where)s; %(kept)s", where=where, kept=RETURN_NOT_RESTOCKED)
        return Phrase("returned %(where)s; %(kept)s", where=where, kept=RETURN_NOT_RESTOCKED)
    return Phrase(
        "%(units)s of %(of)s units returned %(where)s: the order stays shipped; %(kept)s",
        units=returned.units,
        of=returned.of,
        where=where,
        kept=RETURN_NOT_RESTOCKED,
    )


def address_hold(address: Mapping[str, object]) -> Hold | None:
    """The hold of an order whose address lacks what a parcel needs, naming what a person must add."""
    missing = [label for part, label in SHIPPING_NEEDS if not address.get(part)]
    if not missing:
        return None
    message = (
        Phrase("no shipping address: add one before it ships")
        if len(missing) == len(SHIPPING_NEEDS)
        else Phrase(
            "address incomplete: %(missing)s missing; complete it before it ships",
            missing=listed(
                [ADDRESS_PARTS[part] for part, _ in SHIPPING_NEEDS if not address.get(part)], commas=True
            ),
        )
    )
    return Hold.said(HoldReason.ADDRESS, message, [{"missing": missing}])


def with_address_hold(holds: list[Hold], address: Mapping[str, object]) -> list[Hold]:
    """The review's holds, with the address hold when the address cannot take a parcel and no rule
    held the order for its address already."""
    if any(h.reason == HoldReason.ADDRESS for h in holds):
        return holds
    incomplete = address_hold(address)
    return holds if incomplete is None else [*holds, incomplete]


#: The hold of an order whose buyer asked to cancel (the buyer's remark says why): nobody ships it
#: until a person cancels it or releases it.
ASKED_TO_CANCEL = Phrase("the buyer asked to cancel: cancel the order, or release it to ship")
CANCEL_REQUEST_HOLD = Hold.said(HoldReason.CANCEL_REQUEST, ASKED_TO_CANCEL)


def held_by_person(holds: Iterable[Mapping[str, object]]) -> bool:
    return any(h.get("reason") in PERSONS_HOLDS for h in holds)


def content_digest(order: Mapping[str, Any]) -> str:
    """A fingerprint of what an order version says (its verbatim ``raw`` payload aside): platforms
    stamp versions to the second, so two versions with one stamp are told apart by this."""
    content = {key: value for key, value in order.items() if key != "raw"}
    text = jsontext.dumps(content, sort_keys=True)
    return hashlib.blake2b(text, digest_size=16).hexdigest()


# --- ingest: results, versions, what an update does, the outcome of review and allocation ---------------

ItemOutcome = Literal["created", "updated", "unchanged", "stale", "rejected"]
ITEM_OUTCOMES: tuple[ItemOutcome, ...] = ("created", "updated", "unchanged", "stale", "rejected")


@dataclass
class ItemResult:
    """What ingest did with one item of a batch."""

    index: int
    shop: str | None
    external_id: str | None
    outcome: ItemOutcome
    order_id: int | None = None
    status: str | None = None
    rejection_id: int | None = None
    errors: list[dict[str, str]] = field(default_factory=list)


@dataclass
class IngestReport:
    items: list[ItemResult]

    def count(self, outcome: ItemOutcome) -> int:
        return sum(1 for item in self.items if item.outcome == outcome)

    @property
    def totals(self) -> dict[str, int]:
        return {name: self.count(name) for name in ITEM_OUTCOMES}


def supersedes(stamp: datetime, other: datetime) -> bool:
    """Of two versions of one order in a batch, whether the one stamped ``stamp`` wins over the one
    stamped ``other`` that came before it: the newer, or the later of two with one stamp (the inbox
    gives them in the order they came)."""
    return stamp >= other


def against_stored(
    stamp: datetime, digest: str, stored_stamp: datetime, stored_digest: str | None
) -> Literal["newer", "unchanged", "stale"]:
    """A version against the one the hub holds: newer with a later stamp, or with the same stamp and
    other content (platforms stamp to the second, so two changes within one are two versions with
    one stamp); the same one again is unchanged; an earlier one is stale."""
    if stamp > stored_stamp or (stamp == stored_stamp and digest != stored_digest):
        return "newer"
    return "unchanged" if stamp == stored_stamp else "stale"


def came_before(shipped: int, stored_shipped: int) -> bool:
    """Whether a version with the stored one's stamp came before it, reporting fewer units shipped: a
    platform never takes a shipment back (applied, the stored one's shipment would be booked twice
    when it came again)."""
    return shipped < stored_shipped


@dataclass(frozen=True, slots=True)
class UpdateDecision:
    """What a newer platform version does to a known order."""

    status: str
    note: Phrase | None = None
    replan: bool = False  # review and reserve its stock again
    holds: list[dict[str, Any]] | None = None  # its holds when they change without a new plan


#: The history's note of an order the platform cancelled.
CANCELLED_ON_THE_PLATFORM = Phrase("cancelled on the platform")


def cancelled_when_closed(status: str) -> Phrase:
    """The history's note of a cancellation the platform reports for an order already closed."""
    return Phrase(
        "the platform reports a cancellation but the order is already %(status)s", status=status_word(status)
    )


def decide_update(
    current: OrderStatus,
    holds: list[dict[str, Any]],
    *,
    cancelled: bool,
    shipped_whole: bool,
    lines_changed: bool,
    cancel_requested: bool,
    returned: Returned | None = None,
) -> UpdateDecision:
    """What the newer version of a known order (now ``current``, with ``holds``) does to it: its
    status, a note for the history, whether to review and reserve again, its holds."""
    if cancelled:
        if current == S.CANCELLED:
            return UpdateDecision(current)
        if current in CLOSED:
            return UpdateDecision(current, cancelled_when_closed(current))
        return _checked(current, UpdateDecision(S.CANCELLED, CANCELLED_ON_THE_PLATFORM))
    if returned is not None and (returned.whole or returned.part):
        came_back = _came_back(current, returned, shipped_whole=shipped_whole)
        if came_back is not None:
            return came_back
    if current in CLOSED or current == S.PLATFORM_FULFILLED:
        return UpdateDecision(current)
    if shipped_whole:
        return _checked(
            current, UpdateDecision(S.SHIPPED, Phrase("shipped on the platform, outside the hub"))
        )
    asks_cancel = cancel_requested and not any(h["reason"] == HoldReason.CANCEL_REQUEST for h in holds)
    if current == S.ALLOCATED and lines_changed:
        return _checked(
            current,
            UpdateDecision(S.APPROVED, Phrase("lines changed on the platform: stock reserved again"), True),
        )
    if asks_cancel:
        # The order keeps any stock it holds (the buyer may be refused), but nobody ships it.
        return _checked(
            current,
            UpdateDecision(
                S.ON_HOLD,
                Phrase("held: %(holds)s", holds=ASKED_TO_CANCEL),
                holds=[*holds, CANCEL_REQUEST_HOLD.as_json()],
            ),
        )
    if current == S.LABEL_PRINTED and lines_changed:
        # The parcel may already be packed: a person must look before it ships.
        return UpdateDecision(
            current, Phrase("lines changed on the platform after the label was printed: check the parcel")
        )
    if current == S.ON_HOLD and not held_by_person(holds):
        # A person's hold stays until a person lifts it; any other is decided again.
        return _checked(current, UpdateDecision(S.APPROVED, Phrase("reviewed again after an update"), True))
    return UpdateDecision(current)


def _came_back(current: OrderStatus, returned: Returned, *, shipped_whole: bool) -> UpdateDecision | None:
    """A return the platform reports: a shipped or delivered order returned whole becomes returned;
    an open one the platform shipped and took back whole goes through shipped to returned (what it
    held left as shipped). A part returned is noted on a shipped order, which stays shipped. Returned
    goods never go back to stock here (after-sales inspects them first); a returned order stays
    returned whatever a later version says. None: the return changes nothing here."""
    if current in (S.RETURNED, S.CANCELLED, S.PLATFORM_FULFILLED):
        return None
    if returned.part:
        return UpdateDecision(current, returned_note(returned)) if current in CLOSED else None
    if current in CLOSED:
        return _checked(current, UpdateDecision(S.RETURNED, returned_note(returned)))
    if not shipped_whole:
        return None
    check_transition(current, S.SHIPPED)
    return _checked(S.SHIPPED, UpdateDecision(S.RETURNED, returned_note(returned, shipped_first=True)))


def _checked(current: OrderStatus, decision: UpdateDecision) -> UpdateDecision:
    check_change(current, decision.status)
    return decision


def releases_stock(before: str, decision: UpdateDecision) -> bool:
    """Whether an update gives back the stock the order holds: it is planned again, or leaves the
    statuses that hold stock."""
    return decision.status != before and (decision.replan or decision.status not in HOLDS_RESERVATION)


@dataclass(frozen=True, slots=True)
class ReviewVerdict:
    """What the review decided for one order, as ingest plans and holds it."""

    holds: tuple[Hold, ...] = ()  # less any stock hold: allocation decides that on the locked figures
    holds_when_short: bool = True  # else a short order waits approved (a backorder)
    warehouses: tuple[int, ...] | None = None  # those it may use, in order; None: the default order
    split: bool = False
    tags: tuple[str, ...] = ()  # added after the platform's own
    merge_with: tuple[Hashable, ...] = ()  # orders it ships together with (of this batch, or stored)


@dataclass(frozen=True, slots=True)
class Outcome:
    """Where an order stands after review and allocation, with a note for its history."""

    status: str
    warehouse_id: int | None
    holds: list[dict[str, Any]]
    note: str | Phrase  # a phrase where the console translates it


def _imported_returned(where: Phrase) -> Phrase:
    return Phrase(
        "imported as shipped and returned %(where)s: it takes none of the hub's stock; %(kept)s",
        where=where,
        kept=RETURN_NOT_RESTOCKED,
    )


IMPORTED_AS = {
    S.CANCELLED: Phrase("imported as cancelled"),
    S.PLATFORM_FULFILLED: Phrase("imported as fulfilled by the platform: it takes none of the hub's stock"),
    S.SHIPPED: Phrase("imported as shipped on the platform: it takes none of the hub's stock"),
    S.RETURNED: _imported_returned(ON_THE_PLATFORM),
}


#: The ledger's reason for units shipped from the hub's shelves before the hub saw their order.
LEFT_UNSEEN = "shipped on the platform before the hub saw the order"


def left_unseen_note(
    status: OrderStatus, allocation: Allocation, warehouse_codes: Mapping[int, str], skus: Mapping[int, str]
) -> Arg:
    """The import's history for an order shipped, whole or in part, from the hub's shelves before the
    hub saw it: the units shipped left the stock as shipped, or the hub held fewer than left and a
    person must count."""
    what = _IMPORTED_SHIPPED.get(status, _PARTLY_SHIPPED)
    if allocation.ok:
        where = ", ".join(
            sorted({warehouse_codes.get(wid, str(wid)) for (_, wid), _ in allocation.reservations()})
        )
        if status in (S.SHIPPED, S.RETURNED):
            note = Phrase(
                "%(what)s on the platform: its units left the hub's stock as shipped (%(where)s)",
                what=what,
                where=where,
            )
        else:
            note = Phrase(
                "%(what)s on the platform: the units shipped left the hub's stock as shipped (%(where)s)",
                what=what,
                where=where,
            )
    else:
        short = out_of_stock_message(
            (skus.get(s.product_id, s.product_id), s.needed, s.available) for s in allocation.shortages
        )
        note = Phrase(
            "%(what)s on the platform, but the hub holds fewer units than left (%(short)s): "
            "nothing was booked out; count the stock",
            what=what,
            short=short,
        )
    return listed([note, RETURN_NOT_RESTOCKED]) if status == S.RETURNED else note


#: How the import of an order shipped from the hub's shelves names what became of it on the platform.
_IMPORTED_SHIPPED = {
    S.RETURNED: Phrase("imported as shipped and returned"),
    S.SHIPPED: Phrase("imported as shipped"),
    S.CANCELLED: Phrase("imported partly shipped, the rest cancelled,"),
}
_PARTLY_SHIPPED = Phrase("imported partly shipped")


def imported_settled(status: OrderStatus, platform_status: str | None = None) -> Outcome:
    """The outcome of an order settled on the platform before the hub saw it: it reserves nothing. A
    returned one's history names the platform's status."""
    note = IMPORTED_AS[status]
    if status == S.RETURNED and platform_status:
        note = _imported_returned(on_the_platform(platform_status))
    return Outcome(status, None, [], note)


def outcome(
    verdict: ReviewVerdict,
    allocation: Allocation,
    *,
    address: Mapping[str, object],
    cancel_requested: bool,
    skus: Mapping[int, str],
    warehouse_codes: Mapping[int, str],
) -> Outcome:
    """The status, warehouse, holds and history note of an order from its review and allocation.

    A held order keeps the stock it could reserve: the platform has sold those units. An order short
    of stock is held, unless the rules say to let it wait approved (a backorder). An order whose
    address cannot take a parcel, or whose buyer asked to cancel, is held whatever the rules say:
    nobody may ship it until a person has looked.
    """
    holds = with_address_hold(list(verdict.holds), address)
    if cancel_requested:
        holds.append(CANCEL_REQUEST_HOLD)
    if not allocation.ok and verdict.holds_when_short:
        holds.append(shortage_hold(allocation.shortages, skus))
    warehouse = str(warehouse_codes.get(allocation.warehouse_id or 0))
    where = reserved_in(warehouse, split=bool(allocation.parts))
    if holds:
        why = listed([h.phrase or h.message for h in holds])
        return Outcome(
            S.ON_HOLD,
            allocation.warehouse_id if allocation.ok else None,
            [h.as_json() for h in holds],
            Phrase("held: %(holds)s (%(where)s)", holds=why, where=where)
            if allocation.ok
            else Phrase("held: %(holds)s", holds=why),
        )
    if allocation.ok:
        return Outcome(S.ALLOCATED, allocation.warehouse_id, [], _approved(warehouse, bool(allocation.parts)))
    return Outcome(S.APPROVED, None, [], _BACKORDER)


# Most orders say one of a few notes: each is one phrase, shared, so ingest puts it into words once
# a batch (``repository.insert_events``) rather than once an order.
@lru_cache(maxsize=1024)
def reserved_in(warehouse: str, *, split: bool = False) -> Phrase:
    """Where an order's stock was reserved, as its history says (on arrival, on release)."""
    if split:
        return Phrase("stock reserved in warehouse %(warehouse)s and others (split)", warehouse=warehouse)
    return Phrase("stock reserved in warehouse %(warehouse)s", warehouse=warehouse)


@lru_cache(maxsize=1024)
def _approved(warehouse: str, split: bool) -> Phrase:
    return Phrase("approved; %(where)s", where=reserved_in(warehouse, split=split))


_BACKORDER = Phrase("approved; waits for stock (backorder)")


# --- the home page's figures -----------------------------------------------------------------------

#: Statuses in which an order counts as approved by the review on arrival (reserved, or waiting for stock).
APPROVED_ON_ARRIVAL = frozenset({S.APPROVED, S.ALLOCATED})
#: Statuses an order arrives in when the review decided it (settled orders are never reviewed).
REVIEWED_ON_ARRIVAL = frozenset({S.PENDING_REVIEW, S.ON_HOLD, S.APPROVED, S.ALLOCATED})


@dataclass(frozen=True, slots=True)
class Calendar:
    """The viewer's days around ``today``: this week (from Monday), this month, and the chart's days,
    each with where it starts and ends in UTC (a day is 23 or 25 hours across a DST change)."""

    today: date
    week: date  # Monday of this week
    month: date  # the 1st of this month
    chart: tuple[date, ...]  # the chart's days, oldest first, ending today
    bounds: tuple[tuple[date, datetime, datetime], ...]  # (day, start, end) from the earliest day read

    @property
    def start(self) -> datetime:
        return self.bounds[0][1]


def calendar(now: datetime, where: tzinfo, *, chart_days: int = 30) -> Calendar:
    """The days the home page reads, in ``where``: the earlier of the month's first and the chart's."""
    today = now.astimezone(where).date()
    week, month = today - timedelta(days=today.weekday()), today.replace(day=1)
    chart = tuple(today - timedelta(days=n) for n in range(chart_days - 1, -1, -1))
    first = min(month, chart[0])
    days = [first + timedelta(days=n) for n in range((today - first).days + 1)]
    bounds = tuple((day, _midnight(day, where), _midnight(day + timedelta(days=1), where)) for day in days)
    return Calendar(today, week, month, chart, bounds)


def _midnight(day: date, where: tzinfo) -> datetime:
    return datetime.combine(day, time.min, tzinfo=where).astimezone(UTC)


@dataclass(frozen=True, slots=True)
class DaySales:
    """Orders placed on one of the viewer's days in one shop and currency, cancelled ones left out."""

    day: date
    shop: str
    currency: str
    orders: int
    total: int  # minor units of ``currency``


@dataclass(frozen=True, slots=True)
class Sales:
    """Orders and what they sold, in the base currency where a rate allows; what has no rate is kept
    per currency (``unconverted``), never added in at a guess."""

    orders: int
    base: int  # minor units of the base currency, of the orders whose currency has a rate
    unconverted: dict[str, int]  # currency -> minor units, those without a rate

    @classmethod
    def of(cls, rows: Iterable[DaySales], base: str, rates: Mapping[str, float]) -> Sales:
        per_currency: dict[str, int] = {}
        orders = 0
        for row in rows:
            orders += row.orders
            per_currency[row.currency] = per_currency.get(row.currency, 0) + row.total
        converted, unconverted = 0, {}
        for currency, total in sorted(per_currency.items()):
            amount = to_base(total, currency, base, rates)
            if amount is None:
                unconverted[currency] = total
            else:
                converted += amount
        return cls(orders, converted, unconverted)


@dataclass(frozen=True, slots=True)
class SalesFigures:
    """Today, this week and this month, across shops and per shop."""

    today: Sales
    week: Sales
    month: Sales
    shops: dict[str, tuple[Sales, Sales, Sales]]  # shop -> (today, week, month)
    chart_orders: dict[str, list[int]]  # shop -> orders per chart day
    chart_sales: dict[str, list[int]]  # shop -> sales per chart day, base currency (what has a rate)


def sales_figures(
    rows: Sequence[DaySales], when: Calendar, base: str, rates: Mapping[str, float]
) -> SalesFigures:
    """The home page's sales from the orders of each day, shop and currency."""

    def period(first: date, shop: str | None = None) -> Sales:
        return Sales.of((r for r in rows if r.day >= first and (shop is None or r.shop == shop)), base, rates)

    shops = sorted({r.shop for r in rows})
    position = {day: n for n, day in enumerate(when.chart)}
    orders = {shop: [0] * len(when.chart) for shop in shops}
    sales = {shop: [0] * len(when.chart) for shop in shops}
    for row in rows:
        if row.day in position:
            orders[row.shop][position[row.day]] += row.orders
            sales[row.shop][position[row.day]] += to_base(row.total, row.currency, base, rates) or 0
    return SalesFigures(
        today=period(when.today),
        week=period(when.week),
        month=period(when.month),
        shops={
            shop: (period(when.today, shop), period(when.week, shop), period(when.month, shop))
            for shop in shops
        },
        chart_orders=orders,
        chart_sales=sales,
    )


#: The rollup's time unit: every zone's offset today is a whole number of quarter-hours (Nepal's +5:45,
#: Chatham's +12:45), so any zone's day is a run of whole UTC quarter-hours.
QUARTER = timedelta(minutes=15)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def quarter(at: datetime) -> int:
    """The UTC quarter-hour ``at`` falls in, counted from 1970."""
    return (at - _EPOCH) // QUARTER


def quarter_start(number: int) -> datetime:
    return _EPOCH + number * QUARTER


def on_quarter(at: datetime) -> bool:
    """Whether ``at`` is where a quarter-hour starts (a day's bound in a zone of today's offsets)."""
    return not (at - _EPOCH) % QUARTER


@dataclass(frozen=True, slots=True)
class Sale:
    """What one order adds to the sales figures: itself and its total, in the quarter-hour it was
    placed, unless it is cancelled."""

    shop_id: int
    currency: str
    placed_at: datetime
    total: int
    status: str


@dataclass(frozen=True, slots=True)
class Arrival:
    """An order's import: when, and the status the review gave it."""

    shop_id: int
    currency: str
    at: datetime
    status: str


#: (quarter, shop, currency) -> change of (orders, sales, reviewed, approved)
FigureChanges = dict[tuple[int, int, str], tuple[int, int, int, int]]


def figure_changes(
    before: Iterable[Sale], after: Iterable[Sale], arrivals: Iterable[Arrival] = ()
) -> FigureChanges:
    """What changing orders from ``before`` to ``after`` and importing ``arrivals`` does to the
    figures, by key in key order (the order every writer takes their rows in), no-ops left out."""
    changes: dict[tuple[int, int, str], list[int]] = {}

    def add(shop_id: int, currency: str, at: datetime, *amounts: int) -> None:
        row = changes.setdefault((quarter(at), shop_id, currency), [0, 0, 0, 0])
        for n, amount in enumerate(amounts):
            row[n] += amount

    for sign, sales in ((-1, before), (1, after)):
        for sale in sales:
            if sale.status != S.CANCELLED:
                add(sale.shop_id, sale.currency, sale.placed_at, sign, sign * sale.total)
    for arrival in arrivals:
        reviewed, approved = arrival.status in REVIEWED_ON_ARRIVAL, arrival.status in APPROVED_ON_ARRIVAL
        add(arrival.shop_id, arrival.currency, arrival.at, 0, 0, int(reviewed), int(approved))
    return {key: (a, b, c, d) for key, (a, b, c, d) in sorted(changes.items()) if a or b or c or d}


#: Payment statuses of an order that was paid (refunds come after).
WAS_PAID = frozenset({PaymentStatus.PAID, PaymentStatus.PARTIALLY_REFUNDED, PaymentStatus.REFUNDED})
DAY = timedelta(days=1)


def utc_day(at: datetime) -> int:
    """The UTC day ``at`` falls in, counted from 1970."""
    return (at - _EPOCH) // DAY


def utc_day_start(number: int) -> datetime:
    return _EPOCH + number * DAY


def pay_to_ship_minutes(placed_at: datetime, shipped_at: datetime) -> int:
    """Whole minutes from placed (the platforms hand over orders once paid) to shipped; a platform's
    clock ahead of the shop's ships at once."""
    return max(0, (shipped_at - placed_at) // timedelta(minutes=1))


def pay_to_ship_bin(minutes: int) -> int:
    """The first minute of the bin paid-to-shipped is kept in per UTC day: the minute itself under an
    hour, 5 minutes under a day, the hour beyond (the page shows days and hours there). So a
    percentile read from the bins is under the exact one by at most 4 minutes between an hour and a
    day, and shows the same days and hours beyond."""
    return minutes - minutes % pay_to_ship_step(minutes)


def pay_to_ship_step(minutes: int) -> int:
    """The width of the bin ``minutes`` fall in."""
    return 1 if minutes < 60 else 5 if minutes < 24 * 60 else 60


@dataclass(frozen=True, slots=True)
class Shipped:
    """What one order adds to paid-to-shipped: once paid and shipped, its bin of minutes in the UTC day
    it shipped."""

    placed_at: datetime
    shipped_at: datetime | None
    payment_status: str


#: (UTC day, bin) -> change of the orders shipped
ShippedChanges = dict[tuple[int, int], int]


def shipped_changes(before: Iterable[Shipped], after: Iterable[Shipped]) -> ShippedChanges:
    """What changing orders from ``before`` to ``after`` does to paid-to-shipped, by key in key order,
    no-ops left out."""
    changes: dict[tuple[int, int], int] = {}
    for sign, orders in ((-1, before), (1, after)):
        for order in orders:
            if order.shipped_at is not None and order.payment_status in WAS_PAID:
                minutes = pay_to_ship_minutes(order.placed_at, order.shipped_at)
                key = (utc_day(order.shipped_at), pay_to_ship_bin(minutes))
                changes[key] = changes.get(key, 0) + sign
    return {key: n for key, n in sorted(changes.items()) if n}


def share(part: int, whole: int) -> float | None:
    """``part`` of ``whole`` (0 to 1), or None of nothing."""
    return part / whole if whole else None


def percentile(histogram: Mapping[int, int], fraction: float) -> int | None:
    """The nearest-rank percentile of values counted in ``histogram`` (value -> how many), or None of
    none: the smallest value at least ``fraction`` of them are at or below."""
    total = sum(histogram.values())
    if not total:
        return None
    rank = max(1, math.ceil(fraction * total))
    seen = 0
    for value in sorted(histogram):
        seen += histogram[value]
        if seen >= rank:
            break
    return value
