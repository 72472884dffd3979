"""Pure order rules: statuses, allowed transitions, hold reasons. No I/O here."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from orderly.core import jsontext
from orderly.core.errors import InvalidTransition
from orderly.inventory.domain import Shortage


class OrderStatus(StrEnum):
    PENDING_REVIEW = "pending_review"
    ON_HOLD = "on_hold"
    APPROVED = "approved"
    ALLOCATED = "allocated"
    LABEL_PRINTED = "label_printed"
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


S = OrderStatus
# Every open status may go to shipped: the platform can report an order shipped outside the hub.
ALLOWED_TRANSITIONS: dict[OrderStatus, frozenset[OrderStatus]] = {
    S.PENDING_REVIEW: frozenset({S.ON_HOLD, S.APPROVED, S.SHIPPED, S.CANCELLED}),
    # A held order may keep the stock reserved for it: the platform has sold those units.
    S.ON_HOLD: frozenset({S.PENDING_REVIEW, S.APPROVED, S.ALLOCATED, S.SHIPPED, S.CANCELLED}),
    S.APPROVED: frozenset({S.ALLOCATED, S.ON_HOLD, S.SHIPPED, S.CANCELLED}),
    # Going back to approved (to re-route) gives the stock back; a hold keeps it.
    S.ALLOCATED: frozenset({S.LABEL_PRINTED, S.SHIPPED, S.ON_HOLD, S.APPROVED, S.CANCELLED}),
    # A voided label returns the order to allocated; once handed over it can no longer be cancelled.
    # A buyer's cancellation request holds even a packed parcel.
    S.LABEL_PRINTED: frozenset({S.SHIPPED, S.ALLOCATED, S.ON_HOLD, S.CANCELLED}),
    S.SHIPPED: frozenset({S.DELIVERED, S.RETURNED}),
    S.DELIVERED: frozenset({S.RETURNED}),
    S.CANCELLED: frozenset(),
    S.RETURNED: frozenset(),
    S.PLATFORM_FULFILLED: frozenset({S.CANCELLED}),
}

#: Statuses in which the order may hold reserved stock (on hold: when it was held after reserving).
HOLDS_RESERVATION = frozenset({S.ALLOCATED, S.LABEL_PRINTED, S.ON_HOLD})
#: Statuses after which the platform's word can no longer change what we do with the goods.
CLOSED = frozenset({S.SHIPPED, S.DELIVERED, S.CANCELLED, S.RETURNED})
#: Holds only a person lifts: a platform update never reviews them away.
PERSONS_HOLDS = frozenset({HoldReason.MANUAL, HoldReason.CANCEL_REQUEST})
#: The address parts without which no parcel can leave.
SHIPPING_NEEDS = (("name", "name"), ("line1", "street"), ("city", "city"), ("country", "country"))


def check_transition(current: OrderStatus, target: OrderStatus) -> None:
    if target not in ALLOWED_TRANSITIONS[current]:
        allowed = ", ".join(sorted(ALLOWED_TRANSITIONS[current])) or "none (final)"
        raise InvalidTransition(
            f"an order cannot go from {current} to {target}; allowed from {current}: {allowed}"
        )


@dataclass(frozen=True, slots=True)
class Hold:
    """Why an order is held, typed for rules and worded for people."""

    reason: HoldReason
    message: str
    details: list[dict[str, object]] = field(default_factory=list)

    def as_json(self) -> dict[str, object]:
        return {"reason": str(self.reason), "message": self.message, "details": self.details}


def shortage_hold(shortages: Iterable[Shortage], skus: Mapping[int, str]) -> Hold:
    """The hold of an order stock cannot fill, naming every short SKU with what it needs and has."""
    short = list(shortages)
    parts = [
        f"{skus.get(s.product_id, s.product_id)} needs {s.needed}, {s.available} available" for s in short
    ]
    details: list[dict[str, object]] = [
        {"sku": skus.get(s.product_id), "needed": s.needed, "available": s.available} for s in short
    ]
    return Hold(HoldReason.OUT_OF_STOCK, "out of stock: " + "; ".join(parts), details)


@dataclass(frozen=True, slots=True)
class LineSignature:
    """What a line asks of the warehouse; two versions with equal signatures need no re-allocation."""

    product_id: int
    quantity: int


def lines_changed(old: list[LineSignature], new: list[LineSignature]) -> bool:
    return sorted((s.product_id, s.quantity) for s in old) != sorted((s.product_id, s.quantity) for s in new)


def status_at_import(
    *, cancelled: bool, platform_fulfilled: bool, shipped: int, left_to_ship: int
) -> OrderStatus | None:
    """The status of an order already settled on the platform (cancelled, fulfilled by the platform,
    or shipped whole outside the hub), or None when the hub must review it and reserve what is left to
    ship. None of these settled orders reserves stock."""
    if cancelled:
        return S.CANCELLED
    if platform_fulfilled:
        return S.PLATFORM_FULFILLED
    if shipped > 0 and left_to_ship == 0:
        return S.SHIPPED
    return None


def address_hold(address: Mapping[str, object]) -> Hold | None:
    """The hold of an order whose address lacks what a parcel needs, naming what a person must add."""
    missing = [label for part, label in SHIPPING_NEEDS if not address.get(part)]
    if not missing:
        return None
    message = (
        "no shipping address: add one before it ships"
        if len(missing) == len(SHIPPING_NEEDS)
        else f"address incomplete: {', '.join(missing)} missing; complete it before it ships"
    )
    return Hold(HoldReason.ADDRESS, message, [{"missing": missing}])


def with_address_hold(holds: list[Hold], address: Mapping[str, object]) -> list[Hold]:
    """The review's holds, with the address hold when the address cannot take a parcel and no rule
    held the order for its address already."""
    if any(h.reason == HoldReason.ADDRESS for h in holds):
        return holds
    incomplete = address_hold(address)
    return holds if incomplete is None else [*holds, incomplete]


#: The hold of an order whose buyer asked to cancel (the buyer's remark says why): nobody ships it
#: until a person cancels it or releases it.
CANCEL_REQUEST_HOLD = Hold(
    HoldReason.CANCEL_REQUEST, "the buyer asked to cancel: cancel the order, or release it to ship"
)


def held_by_person(holds: Iterable[Mapping[str, object]]) -> bool:
    return any(h.get("reason") in PERSONS_HOLDS for h in holds)


def content_digest(order: Mapping[str, Any]) -> str:
    """A fingerprint of what an order version says (its verbatim ``raw`` payload aside): platforms
    stamp versions to the second, so two versions with one stamp are told apart by this."""
    content = {key: value for key, value in order.items() if key != "raw"}
    text = jsontext.dumps(content, sort_keys=True)
    return hashlib.blake2b(text, digest_size=16).hexdigest()
