"""Pure ingest rules: versions against the stored one, what an update does, the outcome of review and
allocation, what is left to ship, the stock hold's wording. No database."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from orderly.core.errors import InvalidTransition
from orderly.core.phrases import Phrase
from orderly.inventory.domain import Allocation, Shortage
from orderly.orders.domain import (
    CANCEL_REQUEST_HOLD,
    Hold,
    HoldReason,
    OrderStatus,
    Returned,
    ReviewVerdict,
    UpdateDecision,
    against_stored,
    came_before,
    check_change,
    decide_update,
    imported_settled,
    left_to_ship,
    out_of_stock_message,
    outcome,
    releases_stock,
    status_at_import,
    supersedes,
)

S = OrderStatus
T0 = datetime(2026, 1, 1, tzinfo=UTC)
T1 = datetime(2026, 1, 1, 0, 0, 1, tzinfo=UTC)
ADDRESS = {"name": "Ada", "line1": "1 Cross St.", "city": "Canton", "country": "US"}


def test_a_version_is_newer_by_its_stamp_or_by_its_content_under_one_stamp() -> None:
    assert against_stored(T1, "a", T0, "a") == "newer"
    assert against_stored(T0, "b", T0, "a") == "newer"  # two changes within one second
    assert against_stored(T0, "a", T0, "a") == "unchanged"
    assert against_stored(T0, "a", T1, "a") == "stale"
    assert against_stored(T0, "b", T1, "a") == "stale"


def test_in_a_batch_the_later_of_two_versions_with_one_stamp_wins() -> None:
    assert supersedes(T0, T0) and supersedes(T1, T0) and not supersedes(T0, T1)


def test_a_version_reporting_fewer_units_shipped_came_first() -> None:
    assert came_before(1, 2) and not came_before(2, 2) and not came_before(3, 2)


def _decide(current: S, holds: list[dict[str, object]] | None = None, **change: bool) -> UpdateDecision:
    flags = {"cancelled": False, "shipped_whole": False, "lines_changed": False, "cancel_requested": False}
    return decide_update(current, list(holds or []), **(flags | change))


def test_a_cancellation_cancels_what_is_open_and_is_noted_on_what_is_closed() -> None:
    assert _decide(S.ALLOCATED, cancelled=True) == UpdateDecision(
        S.CANCELLED, Phrase("cancelled on the platform")
    )
    assert _decide(S.CANCELLED, cancelled=True) == UpdateDecision(S.CANCELLED)
    shipped = _decide(S.SHIPPED, cancelled=True)
    assert shipped.status == S.SHIPPED and "already shipped" in str(shipped.note)


def test_changed_lines_reserve_again_or_ask_a_person_once_the_label_is_printed() -> None:
    again = _decide(S.ALLOCATED, lines_changed=True)
    assert (again.status, again.replan) == (S.APPROVED, True)
    printed = _decide(S.LABEL_PRINTED, lines_changed=True)
    assert (printed.status, printed.replan) == (S.LABEL_PRINTED, False)
    assert "check the parcel" in str(printed.note)


def test_a_cancel_request_holds_once_and_a_persons_hold_stays() -> None:
    asked = _decide(S.ALLOCATED, cancel_requested=True)
    assert asked.status == S.ON_HOLD and asked.holds == [CANCEL_REQUEST_HOLD.as_json()]
    again = _decide(S.ON_HOLD, [CANCEL_REQUEST_HOLD.as_json()], cancel_requested=True)
    assert again == UpdateDecision(S.ON_HOLD)
    assert _decide(S.ON_HOLD, [{"reason": "manual"}]) == UpdateDecision(S.ON_HOLD)
    reviewed = _decide(S.ON_HOLD, [{"reason": "out_of_stock"}])
    assert (reviewed.status, reviewed.replan) == (S.APPROVED, True)


def test_an_order_shipped_whole_on_the_platform_ships_and_platform_fulfilled_stays() -> None:
    assert _decide(S.APPROVED, shipped_whole=True).status == S.SHIPPED
    assert _decide(S.PLATFORM_FULFILLED, shipped_whole=True) == UpdateDecision(S.PLATFORM_FULFILLED)


def test_statuses_change_only_as_the_state_machine_allows() -> None:
    check_change(S.ON_HOLD, S.ON_HOLD)  # no change, no transition
    check_change(S.ON_HOLD, S.ALLOCATED)
    with pytest.raises(InvalidTransition):
        check_change(S.SHIPPED, S.ALLOCATED)


def test_stock_goes_back_when_the_order_is_planned_again_or_leaves_the_holding_statuses() -> None:
    assert releases_stock(S.ALLOCATED, UpdateDecision(S.APPROVED, replan=True))
    assert releases_stock(S.ALLOCATED, UpdateDecision(S.CANCELLED))
    assert not releases_stock(S.ALLOCATED, UpdateDecision(S.ON_HOLD))  # a hold keeps the stock
    assert not releases_stock(S.ALLOCATED, UpdateDecision(S.ALLOCATED))


def _allocation(*, short: bool = False, split: bool = False) -> Allocation:
    if short:
        return Allocation("k", None, {1: 3}, (Shortage(1, 3, 1),))
    parts = (((1, 10), 1), ((1, 20), 2)) if split else ()
    return Allocation("k", 10, {1: 3}, (), parts)


def _outcome(
    verdict: ReviewVerdict,
    allocation: Allocation,
    *,
    address: dict[str, object] = ADDRESS,
    cancel_requested: bool = False,
) -> tuple[str, int | None, list[str], str]:
    result = outcome(
        verdict,
        allocation,
        address=address,
        cancel_requested=cancel_requested,
        skus={1: "SKU-1"},
        warehouse_codes={10: "WH-1", 20: "WH-2"},
    )
    return result.status, result.warehouse_id, [str(h["reason"]) for h in result.holds], str(result.note)


def test_an_order_filled_and_not_held_is_allocated() -> None:
    assert _outcome(ReviewVerdict(), _allocation()) == (
        S.ALLOCATED,
        10,
        [],
        "approved; stock reserved in warehouse WH-1",
    )
    split = _outcome(ReviewVerdict(), _allocation(split=True))
    assert split[3] == "approved; stock reserved in warehouse WH-1 and others (split)"


def test_a_short_order_is_held_naming_what_it_lacks_or_waits_as_a_backorder() -> None:
    held = _outcome(ReviewVerdict(), _allocation(short=True))
    assert held == (S.ON_HOLD, None, ["out_of_stock"], "held: out of stock: SKU-1 needs 3, 1 available")
    backorder = _outcome(ReviewVerdict(holds_when_short=False), _allocation(short=True))
    assert backorder == (S.APPROVED, None, [], "approved; waits for stock (backorder)")


def test_a_held_order_keeps_what_it_reserved_and_address_and_cancel_request_hold_whatever_the_rules() -> None:
    risky = ReviewVerdict(holds=(Hold(HoldReason.RISK, "risky"),))
    status, warehouse, reasons, note = _outcome(risky, _allocation())
    assert (status, warehouse, reasons) == (S.ON_HOLD, 10, ["risk"])
    assert note == "held: risky (stock reserved in warehouse WH-1)"
    no_address = _outcome(ReviewVerdict(), _allocation(), address={}, cancel_requested=True)
    assert no_address[2] == ["address", "cancel_request"]


def test_an_order_settled_on_the_platform_reserves_nothing() -> None:
    imported = imported_settled(S.PLATFORM_FULFILLED)
    assert (imported.status, imported.warehouse_id, imported.holds) == (S.PLATFORM_FULFILLED, None, [])


def test_what_is_left_to_ship_expands_bundles_and_skips_shipped_units() -> None:
    parts = {9: [(1, 2), (2, 1)]}
    assert left_to_ship([(9, 2, 1), (1, 1, 0), (3, 2, 2)], parts) == {1: 3, 2: 1}


def test_every_stock_hold_is_worded_alike() -> None:
    message = out_of_stock_message([("SKU-1", 3, 1), ("SKU-2", 1, 0)])
    assert str(message) == "out of stock: SKU-1 needs 3, 1 available; SKU-2 needs 1, 0 available"


def _returned(current: S, units: int, of: int = 2, *, shipped_whole: bool = True) -> UpdateDecision:
    back = Returned(units, of, "TO_RETURN")
    flags = {"cancelled": False, "lines_changed": False, "cancel_requested": False}
    return decide_update(current, [], shipped_whole=shipped_whole, returned=back, **flags)


def test_a_shipped_or_delivered_order_returned_whole_becomes_returned_naming_the_platforms_status() -> None:
    for current in (S.SHIPPED, S.DELIVERED):
        decision = _returned(current, 2)
        assert decision.status == S.RETURNED and not decision.replan
        assert "(TO_RETURN)" in str(decision.note) and "no stock is put back" in str(decision.note)


def test_an_open_order_shipped_and_returned_on_the_platform_goes_through_shipped_to_returned() -> None:
    decision = _returned(S.ALLOCATED, 2)
    assert decision.status == S.RETURNED and "shipped and returned" in str(decision.note)
    assert releases_stock(S.ALLOCATED, decision)  # what it still held goes back; what shipped left
    assert _returned(S.ALLOCATED, 2, shipped_whole=False).status == S.ALLOCATED


def test_a_returned_order_stays_returned_and_a_part_returned_is_only_noted() -> None:
    assert _returned(S.RETURNED, 0) == UpdateDecision(S.RETURNED)
    assert _returned(S.RETURNED, 2) == UpdateDecision(S.RETURNED)
    part = _returned(S.SHIPPED, 1)
    assert part.status == S.SHIPPED and "1 of 2 units returned" in str(part.note)
    assert _returned(S.ALLOCATED, 1, shipped_whole=False).status == S.ALLOCATED
    assert _returned(S.CANCELLED, 2).status == S.CANCELLED
    assert _returned(S.PLATFORM_FULFILLED, 2).status == S.PLATFORM_FULFILLED


def test_an_order_first_seen_returned_is_imported_returned_and_reserves_nothing() -> None:
    settled = {"cancelled": False, "platform_fulfilled": False, "shipped": 2, "left_to_ship": 0}
    assert status_at_import(**settled, returned=True) == S.RETURNED
    assert status_at_import(**settled, returned=False) == S.SHIPPED
    imported = imported_settled(S.RETURNED, "returned")
    assert imported.status == S.RETURNED and imported.warehouse_id is None
    assert str(imported.note) == (
        "imported as shipped and returned on the platform (returned): it takes none of the hub's stock; "
        "no stock is put back: the goods wait for inspection in after-sales"
    )
