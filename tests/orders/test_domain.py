"""Pure order rules: the status machine, holds and line signatures. No database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from orderly.core.errors import Conflict, InvalidTransition
from orderly.orders.domain import (
    ALLOWED_TRANSITIONS,
    CANCEL_REQUEST_HOLD,
    CLOSED,
    HOLDS_RESERVATION,
    Hold,
    HoldReason,
    LineSignature,
    OrderStatus,
    address_hold,
    check_transition,
    held_by_person,
    left_the_hubs_shelves,
    lines_changed,
    status_at_import,
)

S = OrderStatus

# The order life cycle as the business states it; the table in the domain must say the same.
ALLOWED = [
    (S.PENDING_REVIEW, S.APPROVED),
    (S.PENDING_REVIEW, S.ON_HOLD),
    (S.PENDING_REVIEW, S.CANCELLED),
    (S.ON_HOLD, S.APPROVED),
    (S.ON_HOLD, S.PENDING_REVIEW),
    (S.ON_HOLD, S.CANCELLED),
    (S.ON_HOLD, S.ALLOCATED),  # released, with the stock it kept while held
    (S.APPROVED, S.ALLOCATED),
    (S.APPROVED, S.ON_HOLD),
    (S.APPROVED, S.CANCELLED),
    (S.ALLOCATED, S.LABEL_PRINTED),
    (S.ALLOCATED, S.SHIPPED),
    (S.ALLOCATED, S.ON_HOLD),  # keeps the stock
    (S.ALLOCATED, S.APPROVED),  # re-route: releases the stock
    (S.ALLOCATED, S.CANCELLED),
    (S.LABEL_PRINTED, S.SHIPPED),
    (S.LABEL_PRINTED, S.ALLOCATED),  # label voided
    (S.LABEL_PRINTED, S.CANCELLED),
    (S.SHIPPED, S.DELIVERED),
    (S.SHIPPED, S.RETURNED),
    (S.DELIVERED, S.RETURNED),
    # The platform reports an open order shipped outside the hub.
    (S.PENDING_REVIEW, S.SHIPPED),
    (S.ON_HOLD, S.SHIPPED),
    (S.APPROVED, S.SHIPPED),
    (S.LABEL_PRINTED, S.ON_HOLD),  # the buyer asked to cancel a packed parcel: nobody ships it
    (S.PLATFORM_FULFILLED, S.CANCELLED),  # the platform cancelled an order it ships itself
    # The hub ships an order in parcels: some leave, the rest stays reserved until it goes too.
    (S.ALLOCATED, S.PARTLY_SHIPPED),
    (S.LABEL_PRINTED, S.PARTLY_SHIPPED),
    (S.PARTLY_SHIPPED, S.SHIPPED),
    (S.PARTLY_SHIPPED, S.ON_HOLD),  # the buyer asked to cancel the rest
    (S.PARTLY_SHIPPED, S.CANCELLED),  # the rest is cancelled: its stock goes back
]
REFUSED = [(a, b) for a in S for b in S if (a, b) not in ALLOWED]


@pytest.mark.parametrize(("current", "target"), ALLOWED)
def test_allowed_transition(current: OrderStatus, target: OrderStatus) -> None:
    check_transition(current, target)


@pytest.mark.parametrize(("current", "target"), REFUSED)
def test_refused_transition(current: OrderStatus, target: OrderStatus) -> None:
    with pytest.raises(InvalidTransition, match=f"cannot go from {current} to {target}"):
        check_transition(current, target)


def test_the_table_has_every_status_and_nothing_else() -> None:
    assert set(ALLOWED_TRANSITIONS) == set(S)
    assert {(a, b) for a, targets in ALLOWED_TRANSITIONS.items() for b in targets} == set(ALLOWED)


@pytest.mark.parametrize("status", [S.SHIPPED, S.DELIVERED, S.RETURNED, S.CANCELLED])
def test_goods_that_left_or_a_cancelled_order_cannot_be_cancelled(status: OrderStatus) -> None:
    with pytest.raises(InvalidTransition):
        check_transition(status, S.CANCELLED)


@pytest.mark.parametrize("status", [S.CANCELLED, S.RETURNED])
def test_final_statuses_have_no_way_out_and_say_so(status: OrderStatus) -> None:
    with pytest.raises(InvalidTransition, match=r"allowed from .*: none \(final\)"):
        check_transition(status, S.APPROVED)


def test_refusal_lists_what_is_allowed() -> None:
    with pytest.raises(InvalidTransition) as err:
        check_transition(S.SHIPPED, S.CANCELLED)
    assert err.value.message.endswith("allowed from shipped: delivered, returned")
    assert isinstance(err.value, Conflict) and err.value.http_status == 409


def test_no_status_goes_to_itself() -> None:
    assert all(status not in targets for status, targets in ALLOWED_TRANSITIONS.items())


def test_every_status_is_reachable_from_review_or_the_platform_fulfilling_it() -> None:
    seen, todo = {S.PENDING_REVIEW, S.PLATFORM_FULFILLED}, [S.PENDING_REVIEW, S.PLATFORM_FULFILLED]
    while todo:
        for target in ALLOWED_TRANSITIONS[todo.pop()]:
            if target not in seen:
                seen.add(target)
                todo.append(target)
    assert seen == set(S)


def test_statuses_that_hold_stock_can_give_it_back() -> None:
    assert frozenset({S.ALLOCATED, S.LABEL_PRINTED, S.PARTLY_SHIPPED, S.ON_HOLD}) == HOLDS_RESERVATION
    for status in HOLDS_RESERVATION:
        targets = ALLOWED_TRANSITIONS[status]
        assert S.CANCELLED in targets
        assert targets & {S.ON_HOLD, S.APPROVED, S.ALLOCATED}


def test_closed_statuses_hold_no_stock_and_cannot_be_cancelled() -> None:
    assert frozenset({S.SHIPPED, S.DELIVERED, S.CANCELLED, S.RETURNED}) == CLOSED
    assert not CLOSED & HOLDS_RESERVATION
    assert all(S.CANCELLED not in ALLOWED_TRANSITIONS[status] for status in CLOSED)


def test_hold_as_json_is_typed_for_rules_and_worded_for_people() -> None:
    hold = Hold(HoldReason.OUT_OF_STOCK, "out of stock: SKU-1 needs 3, 2 available", [{"sku": "SKU-1"}])
    assert hold.as_json() == {
        "reason": "out_of_stock",
        "message": "out of stock: SKU-1 needs 3, 2 available",
        "details": [{"sku": "SKU-1"}],
    }
    assert Hold(HoldReason.MANUAL, "checking").as_json()["details"] == []


def test_line_order_does_not_count_as_a_change() -> None:
    old = [LineSignature(1, 2), LineSignature(2, 1)]
    assert not lines_changed(old, [LineSignature(2, 1), LineSignature(1, 2)])


@pytest.mark.parametrize(
    "new",
    [
        [LineSignature(1, 3), LineSignature(2, 1)],  # quantity
        [LineSignature(1, 2)],  # a line gone
        [LineSignature(1, 2), LineSignature(2, 1), LineSignature(3, 1)],  # a line added
        [LineSignature(1, 2), LineSignature(4, 1)],  # another product
    ],
)
def test_changed_lines_are_a_change(new: list[LineSignature]) -> None:
    assert lines_changed([LineSignature(1, 2), LineSignature(2, 1)], new)


def test_an_order_settled_on_the_platform_takes_its_status_at_import() -> None:
    settled = status_at_import
    assert settled(cancelled=True, platform_fulfilled=True, shipped=0, left_to_ship=2) == S.CANCELLED
    assert (
        settled(cancelled=False, platform_fulfilled=True, shipped=0, left_to_ship=2) == S.PLATFORM_FULFILLED
    )
    assert settled(cancelled=False, platform_fulfilled=False, shipped=2, left_to_ship=0) == S.SHIPPED
    assert settled(cancelled=False, platform_fulfilled=False, shipped=1, left_to_ship=1) is None
    # Nothing shipped and nothing to ship (every item cancelled): the hub still decides, not "shipped".
    assert settled(cancelled=False, platform_fulfilled=False, shipped=0, left_to_ship=0) is None


def test_goods_that_left_in_the_second_the_shop_joined_count_as_after_it() -> None:
    """Platforms stamp whole seconds; the hub stamps the shop's joining finer. A parcel stamped in the
    second the shop joined may have left after it: in doubt its units are booked out."""
    joined = datetime(2026, 12, 4, 9, 0, 0, 750_000, tzinfo=UTC)
    second = joined.replace(microsecond=0)

    def shipped(at: datetime | None, updated: datetime) -> dict[str, object]:
        parcels = [{"shipped_at": at}] if at else []
        return {
            "shipped_from_stock": True,
            "shipments": parcels,
            "updated_at": updated,
            "lines": [{"shipped": 1}],
        }

    assert left_the_hubs_shelves(shipped(second, second), S.SHIPPED, joined)
    assert left_the_hubs_shelves(shipped(None, second), S.RETURNED, joined)
    assert not left_the_hubs_shelves(shipped(second - timedelta(seconds=1), second), S.SHIPPED, joined)
    assert not left_the_hubs_shelves(shipped(None, second - timedelta(seconds=1)), S.SHIPPED, joined)
    assert not left_the_hubs_shelves(
        {**shipped(second, second), "shipped_from_stock": False}, S.SHIPPED, joined
    )
    assert not left_the_hubs_shelves(shipped(second, second), S.PLATFORM_FULFILLED, joined)
    # Shipped in part (the rest waits for the hub): the part left; nothing shipped, nothing left.
    assert left_the_hubs_shelves(shipped(second, second), None, joined)
    assert left_the_hubs_shelves(shipped(second, second), S.CANCELLED, joined)  # the rest was cancelled
    assert not left_the_hubs_shelves({**shipped(second, second), "lines": [{"shipped": 0}]}, None, joined)


def test_an_address_is_held_for_what_a_parcel_needs() -> None:
    full = {"name": "Ada", "line1": "1 Cross St.", "city": "Canton", "country": "US", "postal_code": None}
    assert address_hold(full) is None
    hold = address_hold({**full, "line1": None, "city": None})
    assert hold is not None and hold.reason == HoldReason.ADDRESS
    assert hold.message == "address incomplete: street, city missing; complete it before it ships"
    empty = address_hold(dict.fromkeys(full))
    assert empty is not None and empty.message == "no shipping address: add one before it ships"


def test_only_a_person_lifts_a_manual_or_cancel_request_hold() -> None:
    assert held_by_person([CANCEL_REQUEST_HOLD.as_json()])
    assert held_by_person([{"reason": "out_of_stock"}, {"reason": "manual"}])
    assert not held_by_person([{"reason": "out_of_stock"}, {"reason": "address"}])


def test_an_order_shipped_whole_on_the_platform_is_shipped_even_with_one_unit() -> None:
    settled = {"cancelled": False, "platform_fulfilled": False}
    assert status_at_import(**settled, shipped=1, left_to_ship=0) == OrderStatus.SHIPPED
    assert status_at_import(**settled, shipped=1, left_to_ship=1) is None  # partly shipped: reserve the rest
    assert status_at_import(**settled, shipped=0, left_to_ship=1) is None
