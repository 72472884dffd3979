"""The edges of each stock movement: what is still allowed at the boundary, and what a refusal says
and names (the API shows the message against the field). Pure, no database."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from orderly.core.errors import DomainError, InsufficientStock
from orderly.inventory import domain
from orderly.inventory.domain import Level, Movement


def test_a_count_of_zero_empties_the_shelf() -> None:
    assert domain.count(Level(on_hand=7), 0) == Movement(domain.MovementKind.COUNT, on_hand_delta=-7)


def test_a_count_equal_to_what_is_reserved_is_allowed_one_less_is_not() -> None:
    assert domain.count(Level(on_hand=9, reserved=4), 4).on_hand_delta == -5
    with pytest.raises(
        InsufficientStock, match=r"^count of 3 is below the 4 reserved by open orders; release"
    ):
        domain.count(Level(on_hand=9, reserved=4), 3)


def test_a_negative_count_is_refused_naming_the_field() -> None:
    with pytest.raises(DomainError, match="counted quantity cannot be negative, got -1") as refused:
        domain.count(Level(on_hand=9), -1)
    assert refused.value.field == "counted"


def test_an_adjustment_of_nothing_is_refused_naming_the_field() -> None:
    with pytest.raises(DomainError, match="adjustment of 0 changes nothing") as refused:
        domain.adjustment(Level(on_hand=5), 0)
    assert refused.value.field == "delta"


def test_an_adjustment_below_what_is_reserved_says_what_would_be_left() -> None:
    assert domain.adjustment(Level(on_hand=5, reserved=3), -2).on_hand_delta == -2  # down to reserved
    with pytest.raises(InsufficientStock, match=r"^adjustment of -3 would leave 2 on hand but 3 is reserved"):
        domain.adjustment(Level(on_hand=5, reserved=3), -3)


@pytest.mark.parametrize(
    ("move", "what"),
    [
        (domain.receipt, "received"),
        (lambda q: domain.reservation(Level(on_hand=5), q), "reserved"),
        (lambda q: domain.release(Level(on_hand=5, reserved=5), q), "released"),
        (lambda q: domain.shipment(Level(on_hand=5, reserved=5), q), "shipped"),
        (domain.stock_return, "returned"),
    ],
)
@pytest.mark.parametrize("quantity", [0, -2])
def test_a_movement_of_no_units_is_refused_naming_what_and_the_field(
    move: Callable[[int], Movement], what: str, quantity: int
) -> None:
    with pytest.raises(DomainError, match=f"^{what} quantity must be positive, got {quantity}$") as refused:
        move(quantity)
    assert refused.value.field == "quantity"


def test_all_that_is_reserved_can_be_released_or_shipped_but_no_more() -> None:
    assert domain.release(Level(on_hand=5, reserved=3), 3).reserved_delta == -3
    assert domain.shipment(Level(on_hand=5, reserved=3), 3) == Movement(
        domain.MovementKind.SHIPMENT, on_hand_delta=-3, reserved_delta=-3
    )
    with pytest.raises(InsufficientStock, match="cannot release 4, only 3 reserved"):
        domain.release(Level(on_hand=5, reserved=3), 4)
    with pytest.raises(InsufficientStock, match="cannot ship 4, only 3 reserved"):
        domain.shipment(Level(on_hand=5, reserved=3), 4)
