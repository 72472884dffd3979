"""Pure stock rules: each movement, levels, all-or-nothing allocation, bundle expansion. No database."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from orderly.catalog.domain import expand
from orderly.core.errors import Conflict, DomainError, InsufficientStock, OutOfRange
from orderly.inventory import domain
from orderly.inventory.domain import (
    MAX_QUANTITY,
    Demand,
    Level,
    Movement,
    MovementKind,
    Shortage,
    allocate,
    why_unrepairable,
)

# --- levels -------------------------------------------------------------------------------------------


def test_available_is_on_hand_less_reserved_and_safety() -> None:
    assert Level(on_hand=10, reserved=3, safety=2).available == 5


@pytest.mark.parametrize(("on_hand", "reserved", "safety"), [(5, 3, 10), (0, 0, 1), (4, 4, 0), (0, 0, 0)])
def test_available_is_never_negative(on_hand: int, reserved: int, safety: int) -> None:
    assert Level(on_hand, reserved, safety).available == 0


@pytest.mark.parametrize(
    "movement",
    [
        Movement(MovementKind.ADJUSTMENT, on_hand_delta=-11),  # on hand below zero
        Movement(MovementKind.RELEASE, reserved_delta=-5),  # reserved below zero
        Movement(MovementKind.SAFETY, safety_delta=-3),  # safety below zero
        Movement(MovementKind.RESERVATION, reserved_delta=7),  # reserved above on hand
        Movement(MovementKind.ADJUSTMENT, on_hand_delta=-8),  # on hand below what is reserved
    ],
)
def test_apply_refuses_an_impossible_level_and_leaves_it_unchanged(movement: Movement) -> None:
    level = Level(on_hand=10, reserved=4, safety=2)
    with pytest.raises(InsufficientStock):
        level.apply(movement)
    assert (level.on_hand, level.reserved, level.safety) == (10, 4, 2)


def test_copy_is_independent() -> None:
    level = Level(5, 1, 0)
    twin = level.copy()
    twin.reserved += 1
    assert level.reserved == 1


# --- movements ----------------------------------------------------------------------------------------


def _after(level: Level, movement: Movement) -> tuple[int, int, int]:
    level.apply(movement)
    return level.on_hand, level.reserved, level.safety


def test_receipt_adds_to_on_hand_only() -> None:
    movement = domain.receipt(7)
    assert movement == Movement(MovementKind.RECEIPT, on_hand_delta=7)
    assert _after(Level(3, 2, 1), movement) == (10, 2, 1)


@pytest.mark.parametrize("quantity", [0, -1])
def test_receipt_of_nothing_is_refused(quantity: int) -> None:
    with pytest.raises(DomainError) as err:
        domain.receipt(quantity)
    assert not isinstance(err.value, InsufficientStock)
    assert err.value.field == "quantity"


def test_adjustment_adds_or_removes() -> None:
    assert _after(Level(10, 2, 0), domain.adjustment(Level(10, 2, 0), 5)) == (15, 2, 0)
    assert _after(Level(10, 2, 0), domain.adjustment(Level(10, 2, 0), -8)) == (2, 2, 0)


def test_adjustment_cannot_take_away_reserved_stock() -> None:
    with pytest.raises(InsufficientStock, match="reserved by open orders"):
        domain.adjustment(Level(10, 3, 0), -8)


def test_adjustment_below_zero_is_refused() -> None:
    with pytest.raises(InsufficientStock):
        domain.adjustment(Level(4, 0, 0), -5)


def test_adjustment_of_zero_is_refused() -> None:
    with pytest.raises(DomainError, match="changes nothing"):
        domain.adjustment(Level(4, 0, 0), 0)


def test_adjustment_may_eat_into_safety_stock() -> None:
    # Safety is a reservation floor, not stock that can be protected from a physical loss.
    level = Level(10, 2, 5)
    assert _after(level, domain.adjustment(level, -7)) == (3, 2, 5)
    assert level.available == 0


@pytest.mark.parametrize(("on_hand", "counted", "delta"), [(10, 14, 4), (10, 6, -4), (10, 10, 0)])
def test_count_sets_on_hand_to_what_was_counted(on_hand: int, counted: int, delta: int) -> None:
    level = Level(on_hand, 3, 1)
    movement = domain.count(level, counted)
    assert movement == Movement(MovementKind.COUNT, on_hand_delta=delta)
    assert _after(level, movement) == (counted, 3, 1)


def test_count_below_reserved_is_refused() -> None:
    with pytest.raises(InsufficientStock, match="below the 5 reserved"):
        domain.count(Level(10, 5, 0), 4)


def test_negative_count_is_refused() -> None:
    with pytest.raises(DomainError) as err:
        domain.count(Level(0, 0, 0), -1)
    assert err.value.field == "counted"


@pytest.mark.parametrize(("before", "after"), [(0, 4), (4, 1), (3, 3), (2, 50)])
def test_safety_sets_the_floor(before: int, after: int) -> None:
    level = Level(10, 2, before)
    movement = domain.safety(level, after)
    assert movement == Movement(MovementKind.SAFETY, safety_delta=after - before)
    assert _after(level, movement) == (10, 2, after)


def test_safety_above_on_hand_leaves_nothing_available_but_never_negative() -> None:
    level = Level(10, 2, 0)
    level.apply(domain.safety(level, 50))
    assert level.available == 0


def test_negative_safety_is_refused() -> None:
    with pytest.raises(DomainError):
        domain.safety(Level(10, 0, 0), -1)


def test_reservation_takes_from_available() -> None:
    level = Level(10, 2, 3)
    movement = domain.reservation(level, 5)
    assert movement == Movement(MovementKind.RESERVATION, reserved_delta=5)
    assert _after(level, movement) == (10, 7, 3)
    assert level.available == 0


def test_reservation_never_eats_into_safety_stock() -> None:
    with pytest.raises(InsufficientStock, match="need 6, 5 available"):
        domain.reservation(Level(10, 2, 3), 6)


@pytest.mark.parametrize("quantity", [0, -2])
def test_reservation_of_nothing_is_refused(quantity: int) -> None:
    with pytest.raises(DomainError):
        domain.reservation(Level(10, 0, 0), quantity)


def test_release_gives_reserved_stock_back() -> None:
    level = Level(10, 6, 0)
    movement = domain.release(level, 4)
    assert movement == Movement(MovementKind.RELEASE, reserved_delta=-4)
    assert _after(level, movement) == (10, 2, 0)


def test_release_of_more_than_reserved_is_refused() -> None:
    with pytest.raises(InsufficientStock, match="only 3 reserved"):
        domain.release(Level(10, 3, 0), 4)


def test_shipment_takes_reserved_goods_out_of_on_hand() -> None:
    level = Level(10, 6, 1)
    movement = domain.shipment(level, 4)
    assert movement == Movement(MovementKind.SHIPMENT, on_hand_delta=-4, reserved_delta=-4)
    assert _after(level, movement) == (6, 2, 1)
    assert level.available == 3  # shipping reserved goods does not change what is available


def test_shipment_of_unreserved_goods_is_refused() -> None:
    with pytest.raises(InsufficientStock, match="only 2 reserved"):
        domain.shipment(Level(10, 2, 0), 3)


def test_return_adds_to_on_hand() -> None:
    movement = domain.stock_return(2)
    assert movement == Movement(MovementKind.RETURN, on_hand_delta=2)
    assert _after(Level(1, 1, 0), movement) == (3, 1, 0)


def test_return_of_nothing_is_refused() -> None:
    with pytest.raises(DomainError):
        domain.stock_return(0)


@pytest.mark.parametrize(
    "make",
    [
        lambda lv: domain.receipt(MAX_QUANTITY + 1),
        lambda lv: domain.stock_return(2**63),
        lambda lv: domain.adjustment(lv, -(MAX_QUANTITY + 1)),
        lambda lv: domain.count(lv, MAX_QUANTITY + 1),
        lambda lv: domain.safety(lv, 2**64),
    ],
)
def test_a_movement_beyond_the_bound_is_refused(make: Any) -> None:
    with pytest.raises(OutOfRange, match="at most 1,000,000,000 units"):
        make(Level(10, 0, 0))


@pytest.mark.parametrize(
    "movement",
    [
        domain.receipt(2),
        domain.stock_return(1_000),
        Movement(MovementKind.ADJUSTMENT, on_hand_delta=2),
        Movement(MovementKind.SAFETY, safety_delta=MAX_QUANTITY),
    ],
)
def test_no_level_goes_beyond_the_bound_and_a_refused_one_is_unchanged(movement: Movement) -> None:
    level = Level(MAX_QUANTITY - 1, 0, 2)

    with pytest.raises(OutOfRange, match="would leave on hand"):
        level.apply(movement)

    assert (level.on_hand, level.reserved, level.safety) == (MAX_QUANTITY - 1, 0, 2)
    assert OutOfRange.http_status == 422


def test_stock_errors_are_conflicts() -> None:
    assert issubclass(InsufficientStock, Conflict)
    assert InsufficientStock.http_status == 409


# --- allocation ---------------------------------------------------------------------------------------

A, B, C = 1, 2, 3  # products
W1, W2 = 10, 20  # warehouses


def test_order_is_reserved_whole_in_one_warehouse() -> None:
    levels = {(A, W1): Level(5), (B, W1): Level(5)}
    (alloc,) = allocate([Demand("o1", {A: 2, B: 1})], levels, [W1])

    assert alloc.ok and alloc.warehouse_id == W1 and alloc.shortages == ()
    assert (levels[(A, W1)].reserved, levels[(B, W1)].reserved) == (2, 1)  # later orders see it


def test_allocation_is_all_or_nothing() -> None:
    levels = {(A, W1): Level(5), (B, W1): Level(1)}
    (alloc,) = allocate([Demand("o1", {A: 2, B: 3})], levels, [W1])

    assert not alloc.ok
    assert alloc.shortages == (Shortage(B, needed=3, available=1),)
    assert (levels[(A, W1)].reserved, levels[(B, W1)].reserved) == (0, 0)


def test_first_warehouse_in_the_given_order_that_fills_the_whole_order_wins() -> None:
    levels = {(A, W1): Level(5), (B, W1): Level(5), (A, W2): Level(5), (B, W2): Level(5)}
    # W2 first: the caller's order (priority), not the ids, decides.
    (alloc,) = allocate([Demand("o1", {A: 1, B: 1})], levels, [W2, W1])
    assert alloc.warehouse_id == W2


def test_a_warehouse_that_fills_only_part_is_skipped() -> None:
    levels = {(A, W1): Level(5), (B, W1): Level(0), (A, W2): Level(5), (B, W2): Level(5)}
    (alloc,) = allocate([Demand("o1", {A: 2, B: 2})], levels, [W1, W2])

    assert alloc.ok and alloc.warehouse_id == W2
    assert levels[(A, W1)].reserved == 0


def test_an_order_is_not_split_across_warehouses_unless_allowed() -> None:
    levels = {(A, W1): Level(5), (B, W2): Level(5)}
    (alloc,) = allocate([Demand("o1", {A: 1, B: 1})], levels, [W1, W2])

    assert not alloc.ok
    assert all(level.reserved == 0 for level in levels.values())


def test_a_split_order_takes_each_line_from_the_warehouse_that_has_it() -> None:
    levels = {(A, W1): Level(5), (B, W2): Level(5), (C, W1): Level(1), (C, W2): Level(1)}
    (alloc,) = allocate([Demand("o1", {A: 2, B: 1, C: 2}, split=True)], levels, [W1, W2])

    assert alloc.ok and alloc.parts
    assert alloc.reservations() == [((A, W1), 2), ((B, W2), 1), ((C, W1), 1), ((C, W2), 1)]
    assert alloc.warehouse_id == W1  # ships 3 of the 5 units
    assert (levels[(A, W1)].reserved, levels[(B, W2)].reserved, levels[(C, W2)].reserved) == (2, 1, 1)


def test_a_split_is_only_used_when_no_single_warehouse_fills_the_order() -> None:
    levels = {(A, W1): Level(5), (B, W1): Level(5), (B, W2): Level(5), (A, W2): Level(5)}
    (alloc,) = allocate([Demand("o1", {A: 1, B: 1}, split=True)], levels, [W2, W1])
    assert alloc.warehouse_id == W2 and alloc.parts == ()


def test_a_split_that_all_warehouses_together_cannot_fill_reserves_nothing() -> None:
    levels = {(A, W1): Level(1), (A, W2): Level(1), (B, W2): Level(3)}
    (alloc,) = allocate([Demand("o1", {A: 3, B: 1}, split=True)], levels, [W1, W2])

    assert not alloc.ok and alloc.shortages == (Shortage(A, 3, 1),)
    assert all(level.reserved == 0 for level in levels.values())


def test_a_demand_can_name_its_own_warehouses() -> None:
    levels = {(A, W1): Level(5), (A, W2): Level(5)}
    first, excluded = allocate(
        [Demand("o1", {A: 1}, warehouse_ids=(W2, W1)), Demand("o2", {A: 1}, warehouse_ids=(W1,))],
        levels,
        [W1, W2],
    )
    assert first.warehouse_id == W2 and excluded.warehouse_id == W1
    (nowhere,) = allocate([Demand("o3", {A: 1}, warehouse_ids=())], levels, [W1, W2])
    assert not nowhere.ok


def test_shortage_lists_every_short_line_against_the_warehouse_that_fills_most() -> None:
    levels = {
        (A, W1): Level(1),
        (B, W1): Level(0),
        (C, W1): Level(9),
        (A, W2): Level(2),
        (B, W2): Level(1, reserved=0, safety=0),
        (C, W2): Level(9),
    }
    (alloc,) = allocate([Demand("o1", {C: 1, A: 3, B: 2})], levels, [W1, W2])

    assert alloc.warehouse_id == W2  # fills 2 + 1 + 1 of 6 units, W1 only 1 + 0 + 1
    assert alloc.shortages == (Shortage(A, 3, 2), Shortage(B, 2, 1))  # every short line, by product


def test_shortage_respects_safety_and_earlier_reservations() -> None:
    levels = {(A, W1): Level(on_hand=10, reserved=4, safety=3)}
    (alloc,) = allocate([Demand("o1", {A: 4})], levels, [W1])
    assert alloc.shortages == (Shortage(A, 4, 3),)


def test_unknown_stock_counts_as_none() -> None:
    (alloc,) = allocate([Demand("o1", {A: 1})], {}, [W1])
    assert alloc.shortages == (Shortage(A, 1, 0),)


def test_without_warehouses_every_order_is_short() -> None:
    (alloc,) = allocate([Demand("o1", {A: 1, B: 2})], {(A, W1): Level(9)}, [])
    assert alloc.warehouse_id is None
    assert alloc.shortages == (Shortage(A, 1, 0), Shortage(B, 2, 0))


def test_orders_are_served_first_come_first_served_within_a_batch() -> None:
    levels = {(A, W1): Level(10)}
    demands = [Demand("first", {A: 4}), Demand("second", {A: 4}), Demand("third", {A: 4})]
    first, second, third = allocate(demands, levels, [W1])

    assert first.ok and second.ok
    assert third.shortages == (Shortage(A, 4, 2),)
    assert levels[(A, W1)].reserved == 8


def test_a_short_order_does_not_block_a_later_one_that_fits() -> None:
    levels = {(A, W1): Level(3)}
    big, small = allocate([Demand("big", {A: 5}), Demand("small", {A: 2})], levels, [W1])

    assert not big.ok and small.ok
    assert levels[(A, W1)].reserved == 2


def test_allocation_keeps_each_order_key_and_needs() -> None:
    levels = {(A, W1): Level(10)}
    outcomes = allocate([Demand(("shop", "X1"), {A: 1}), Demand(("shop", "X2"), {A: 20})], levels, [W1])
    assert [(a.order_key, dict(a.needs)) for a in outcomes] == [
        (("shop", "X1"), {A: 1}),
        (("shop", "X2"), {A: 20}),
    ]


# --- bundles ------------------------------------------------------------------------------------------

KIT, OTHER_KIT = 100, 101


def test_plain_lines_need_themselves_and_repeats_add_up() -> None:
    assert expand([(A, 2), (B, 1), (A, 3)], {}) == {A: 5, B: 1}


def test_a_bundle_needs_its_components_times_the_quantity() -> None:
    assert expand([(KIT, 3)], {KIT: [(A, 2), (B, 1)]}) == {A: 6, B: 3}


def test_bundles_and_plain_lines_of_the_same_component_add_up() -> None:
    parts = {KIT: [(A, 2), (B, 1)], OTHER_KIT: [(B, 4), (C, 1)]}
    assert expand([(KIT, 1), (A, 1), (OTHER_KIT, 2)], parts) == {A: 3, B: 9, C: 2}


def test_the_bundle_itself_is_never_a_stock_need() -> None:
    assert KIT not in expand([(KIT, 1)], {KIT: [(A, 1)]})


def test_units_shipped_outside_the_hub_leave_from_what_the_order_reserved() -> None:
    held = {(1, 10): 2, (1, 20): 1, (2, 10): 1}
    # Product 1: three reserved over two warehouses, warehouses in key order; product 2 not shipped.
    assert domain.shipped_from(held, {1: 3}) == {(1, 10): 2, (1, 20): 1}
    assert domain.shipped_from(held, {1: 1, 2: 1}) == {(1, 10): 1, (2, 10): 1}
    # Never more than the order holds; a product it never reserved takes nothing.
    assert domain.shipped_from(held, {1: 9, 3: 4}) == {(1, 10): 2, (1, 20): 1}
    assert domain.shipped_from(held, {1: 0, 2: -1}) == {}


@given(st.integers(-5, 20), st.integers(-5, 20), st.integers(-5, 20))
def test_a_repair_is_refused_exactly_for_figures_no_level_may_hold(
    on_hand: int, reserved: int, safety: int
) -> None:
    why = why_unrepairable(on_hand, reserved, safety)
    holdable = on_hand >= 0 and safety >= 0 and 0 <= reserved <= on_hand
    assert (why is None) == holdable
    if why is not None and min(on_hand, reserved, safety) >= 0:
        assert f"{reserved - on_hand} of them" in why
