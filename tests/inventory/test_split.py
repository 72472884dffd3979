"""Which warehouses a split order takes its lines from: as few as possible, first the warehouse that
fills the most lines whole, then, among equals, the one that fills the most units. Pure, no database."""

from __future__ import annotations

from orderly.inventory.domain import Demand, Level, StockKey, allocate

A, B = 1, 2  # products
W1, W2, W3 = 10, 20, 30  # warehouses


def _split(
    levels: dict[StockKey, Level], needs: dict[int, int], order: list[int]
) -> list[tuple[StockKey, int]]:
    (alloc,) = allocate([Demand("o1", needs, split=True)], levels, order)
    assert alloc.ok and alloc.parts, "the order was meant to be split"
    return alloc.reservations()


def test_the_warehouse_that_fills_most_lines_whole_goes_first_so_fewer_warehouses_ship() -> None:
    # W1 has a bit of everything (2 units, no line whole); W2 and W3 each fill one line whole.
    levels = {(A, W1): Level(1), (B, W1): Level(1), (A, W2): Level(2), (B, W3): Level(2)}
    assert _split(levels, {A: 2, B: 2}, [W1, W2, W3]) == [((A, W2), 2), ((B, W3), 2)]


def test_the_first_choice_is_by_what_a_warehouse_fills_not_by_its_id() -> None:
    # Each fills one line whole; the first in order also fills the most units.
    levels = {(A, W1): Level(2), (A, W2): Level(1), (B, W2): Level(1), (B, W3): Level(1)}
    assert _split(levels, {A: 2, B: 1}, [W1, W2, W3]) == [((A, W1), 2), ((B, W2), 1)]


def test_among_warehouses_filling_as_many_lines_the_one_filling_more_units_goes_first() -> None:
    # W3 and W2 each fill one line whole; W2 also has part of the other line, so it goes first.
    levels = {(A, W1): Level(1), (A, W2): Level(1), (B, W2): Level(2), (A, W3): Level(2)}
    assert _split(levels, {A: 2, B: 2}, [W1, W3, W2]) == [((A, W1), 1), ((A, W2), 1), ((B, W2), 2)]


def test_single_units_in_several_warehouses_add_up() -> None:
    levels = {(A, W1): Level(1), (A, W2): Level(1), (A, W3): Level(0)}
    assert _split(levels, {A: 2}, [W1, W2, W3]) == [((A, W1), 1), ((A, W2), 1)]
    assert (levels[(A, W1)].reserved, levels[(A, W2)].reserved) == (1, 1)
