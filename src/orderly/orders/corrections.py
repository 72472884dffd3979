"""A person corrects an order: its shipping address, audited in its history and reviewed again.

The order is locked, changed, and reviewed by the live rules as it now stands: holds the review no
longer finds are lifted (a corrected address releases an address hold, and the order reserves stock
or waits for it like any release), holds it still finds stay, and new ones hold the order; a hold a
person placed (or a buyer's cancellation request) stays until a person lifts it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from orderly.core.clock import utcnow
from orderly.core.errors import Conflict, DomainError
from orderly.core.phrases import Arg, Phrase, listed
from orderly.orders import holds, search
from orderly.orders import repository as order_repo
from orderly.orders.domain import (
    CLOSED,
    PERSONS_HOLDS,
    OrderStatus,
    check_transition,
    reasons_named,
    status_word,
    with_address_hold,
)
from orderly.orders.models import Order
from orderly.orders.schemas import AddressCorrectionIn
from orderly.review import batch as review
from orderly.review.subjects import subjects_for_orders

#: Address parts as the API names them, and the order's columns that hold them.
ADDRESS_COLUMNS = {
    "name": "ship_name",
    "line1": "ship_line1",
    "line2": "ship_line2",
    "city": "ship_city",
    "region": "ship_region",
    "postal_code": "ship_postal_code",
    "country": "ship_country",
    "phone": "ship_phone",
}
#: Once a label is printed or the parcel left (or the platform ships it), the address is the carrier's.
_FIXED = CLOSED | {OrderStatus.LABEL_PRINTED, OrderStatus.PARTLY_SHIPPED, OrderStatus.PLATFORM_FULFILLED}


#: Address parts as the history names them: their API names in English, a word in the console's
#: languages.
PART_WORDS = {
    "name": Phrase("name"),
    "line1": Phrase("line1"),
    "line2": Phrase("line2"),
    "city": Phrase("city"),
    "region": Phrase("region"),
    "postal_code": Phrase("postal_code"),
    "country": Phrase("country"),
    "phone": Phrase("phone"),
}


def _shown(value: Any) -> Arg:
    return Phrase("none") if value is None else repr(value)


def correct_address(session: Session, order_id: int, data: AddressCorrectionIn, *, actor: str) -> Order:
    """Change the parts of the shipping address sent, record who changed what, and review the order
    again; returns the order as it now stands."""
    order = order_repo.lock_order(session, order_id)
    if order.status in _FIXED:
        raise Conflict(
            Phrase(
                "order %(order)s is %(status)s: its address can no longer be corrected",
                order=order_id,
                status=status_word(order.status),
            )
        )
    sent = data.model_dump(exclude_unset=True, exclude={"note"})
    changed = {part: value for part, value in sent.items() if getattr(order, ADDRESS_COLUMNS[part]) != value}
    if not changed:
        raise DomainError(Phrase("the address already reads like that: nothing to correct"), field="address")
    reviewed_before = subjects_for_orders(session, [order])[0]  # empty for an order without lines
    before = reviewed_before[0] if reviewed_before else None
    what = listed(
        [
            Phrase(
                "%(part)s: %(before)s -> %(after)s",
                part=PART_WORDS[part],
                before=_shown(getattr(order, ADDRESS_COLUMNS[part])),
                after=_shown(value),
            )
            for part, value in changed.items()
        ]
    )
    for part, value in changed.items():
        setattr(order, ADDRESS_COLUMNS[part], value)
    order.updated_at = utcnow()
    message = (
        Phrase("address corrected: %(what)s (%(note)s)", what=what, note=data.note)
        if data.note
        else Phrase("address corrected: %(what)s", what=what)
    )
    order_repo.add_event(session, order, "address_corrected", order.status, actor, message)
    session.flush()
    _rereview(session, order, before, actor)
    session.flush()
    return order


def _rereview(session: Session, order: Order, before: Any, actor: str) -> None:
    verdict = review.review_stored(session, [order], now=order.updated_at)
    key = ("order", order.id)
    after = verdict.subjects.get(key)
    if before is not None and after is not None:
        review.reidentify(session, before, after)
        search.record_keys(session, [(order.id, after.order)], known=True)
    address = {part: getattr(order, column) for part, column in ADDRESS_COLUMNS.items()}
    found = [hold.as_json() for hold in with_address_hold(verdict.holds(key), address)]
    order.review = verdict.as_json(key, {})
    kept = [h for h in order.holds if h.get("reason") in PERSONS_HOLDS]
    status = order.status
    if found or kept:
        if status != OrderStatus.ON_HOLD:
            check_transition(OrderStatus(status), OrderStatus.ON_HOLD)
        lifted = {h["reason"] for h in order.holds} - {h["reason"] for h in found + kept}
        order.status, order.holds = OrderStatus.ON_HOLD, kept + found
        reasons = reasons_named(h["reason"] for h in found + kept)
        note = (
            Phrase(
                "reviewed again: held for %(reasons)s; lifted: %(lifted)s",
                reasons=reasons,
                lifted=reasons_named(lifted),
            )
            if lifted
            else Phrase("reviewed again: held for %(reasons)s", reasons=reasons)
        )
        order_repo.add_event(session, order, "reviewed", status, "review", note)
    elif status == OrderStatus.ON_HOLD:
        holds.release_order(
            session, order.id, actor=actor, note=Phrase("reviewed again after the address was corrected")
        )
    else:
        order_repo.add_event(
            session, order, "reviewed", status, "review", Phrase("reviewed again: nothing to hold")
        )
