"""The edges of allocation and of the level figures: an order that fits exactly, what a shortage names,
which warehouse a split order ships from, copies that stay apart. Pure, no database."""

from __future__ import annotations

import pytest

from orderly.core.errors import DomainError, InsufficientStock
from orderly.inventory import domain
from orderly.inventory.domain import Demand, Level, Movement, MovementKind, Shortage, allocate

A, B = 1, 2  # products
W1, W2, W3 = 10, 20, 30  # warehouses


def test_an_order_that_needs_exactly_what_is_available_is_filled() -> None:
    levels = {(A, W1): Level(on_hand=3, reserved=1), (B, W1): Level(on_hand=1)}
    (alloc,) = allocate([Demand("o1", {A: 2, B: 1})], levels, [W1])
    assert alloc.ok and alloc.warehouse_id == W1
    assert (levels[(A, W1)].reserved, levels[(B, W1)].reserved) == (3, 1)


def test_a_shortage_names_only_the_short_lines_against_the_warehouse_that_fills_most() -> None:
    levels = {(A, W2): Level(on_hand=1), (A, W1): Level(on_hand=3), (B, W1): Level(on_hand=1)}
    (alloc,) = allocate([Demand("o1", {A: 4, B: 1})], levels, [W2, W1])
    assert (alloc.order_key, alloc.warehouse_id) == ("o1", W1)
    assert alloc.shortages == (Shortage(A, 4, 3),)  # B fits exactly in W1: not short


def test_a_split_order_ships_from_the_warehouse_that_sends_most_and_adds_to_its_reservations() -> None:
    levels = {(A, W1): Level(on_hand=2, reserved=1), (A, W2): Level(on_hand=3), (B, W1): Level(on_hand=5)}
    split, after = allocate(
        [Demand("o1", {A: 4}, split=True), Demand("o2", {B: 1})],
        levels,
        [W1, W2],
    )
    assert (split.order_key, split.warehouse_id, split.needs, split.shortages) == ("o1", W2, {A: 4}, ())
    assert split.reservations() == [((A, W1), 1), ((A, W2), 3)]
    assert (levels[(A, W1)].reserved, levels[(A, W2)].reserved) == (2, 3)
    assert (after.order_key, after.ok, after.warehouse_id) == ("o2", True, W1)  # the next order is served


def test_safety_stock_can_be_set_to_zero_but_not_below() -> None:
    assert domain.safety(Level(on_hand=5, safety=2), 0) == Movement(MovementKind.SAFETY, safety_delta=-2)
    with pytest.raises(DomainError, match=r"^safety stock cannot be negative, got -1$") as refused:
        domain.safety(Level(on_hand=5), -1)
    assert refused.value.field == "safety"


def test_a_copy_of_a_level_has_its_figures_and_changes_apart() -> None:
    level = Level(on_hand=5, reserved=2, safety=1)
    copy = level.copy()
    assert (copy.on_hand, copy.reserved, copy.safety) == (5, 2, 1)
    copy.apply(Movement(MovementKind.RESERVATION, reserved_delta=1))
    assert (level.reserved, copy.reserved) == (2, 3)


def test_a_movement_that_would_break_a_level_says_what_it_would_leave() -> None:
    with pytest.raises(InsufficientStock, match="would leave on hand 5, reserved 6, safety 0"):
        Level(on_hand=5, reserved=5).apply(Movement(MovementKind.RESERVATION, reserved_delta=1))


def test_a_split_order_is_assigned_to_a_warehouse_that_ships_most_of_its_units() -> None:
    # W2 ships A and B (2 units), W3 ships C (2 units): W2 comes first; W1 ships nothing.
    levels = {(A, W2): Level(on_hand=1), (B, W2): Level(on_hand=1), (3, W3): Level(on_hand=2)}
    (alloc,) = allocate([Demand("o1", {A: 1, B: 1, 3: 2}, split=True)], levels, [W1, W2, W3])
    assert alloc.ok and alloc.warehouse_id == W2


def test_a_split_order_of_single_units_is_never_assigned_to_a_warehouse_that_ships_none() -> None:
    levels = {(A, W2): Level(on_hand=1), (B, W3): Level(on_hand=1)}
    (alloc,) = allocate([Demand("o1", {A: 1, B: 1}, split=True)], levels, [W1, W2, W3])
    assert alloc.ok and alloc.warehouse_id == W2
