"""The pure shipment rules, in milliseconds."""

from __future__ import annotations

import pytest

from orderly.core.errors import Conflict, DomainError, InsufficientStock, InvalidTransition
from orderly.fulfilment.domain import (
    ALLOWED,
    GONE,
    LIVE,
    LineToShip,
    ShipmentStatus,
    check_held,
    check_order_shippable,
    check_transition,
    order_status_after_label,
    order_status_after_shipping,
    order_status_after_void,
    stock_needed,
    units_to_ship,
    warehouse_for,
)
from orderly.orders.domain import ALLOWED_TRANSITIONS, OrderStatus

S = ShipmentStatus
LINES = [LineToShip(1, 10, 3, 1, 0), LineToShip(2, 20, 2, 0, 2), LineToShip(3, 30, 1, 0, 0)]


def test_every_status_is_live_gone_or_voided_and_shipped_stock_never_comes_back_by_a_void() -> None:
    assert LIVE | GONE | {S.VOIDED} == set(S)
    assert not LIVE & GONE
    for status in GONE:
        assert S.VOIDED not in ALLOWED[status]
        assert not ALLOWED[status] & LIVE
    with pytest.raises(InvalidTransition, match="from shipped to voided"):
        check_transition(S.SHIPPED, S.VOIDED)
    check_transition(S.PACKED, S.SHIPPED)


def test_only_orders_that_hold_their_stock_and_nobody_holds_get_a_parcel() -> None:
    for status in (OrderStatus.ALLOCATED, OrderStatus.LABEL_PRINTED, OrderStatus.PARTLY_SHIPPED):
        check_order_shippable(7, status)
    for status in set(OrderStatus) - {
        OrderStatus.ALLOCATED,
        OrderStatus.LABEL_PRINTED,
        OrderStatus.PARTLY_SHIPPED,
    }:
        with pytest.raises(Conflict, match=f"order 7 is {status}"):
            check_order_shippable(7, status)


def test_a_parcel_takes_what_is_left_by_default_and_never_more_than_is_left() -> None:
    assert units_to_ship(LINES, None) == {1: 2, 3: 1}  # line 2 is all in another parcel
    assert units_to_ship(LINES, {1: 1}) == {1: 1}
    with pytest.raises(DomainError) as refused:
        units_to_ship(LINES, {1: 3, 2: 1, 4: 1, 3: 0})
    message = str(refused.value)
    assert "line 1: 3 asked, 2 left to ship" in message
    assert "line 2: 1 asked, 0 left to ship" in message
    assert "line 4: the order has no such line" in message
    assert "line 3: quantity must be positive" in message
    with pytest.raises(DomainError, match="at least one unit"):
        units_to_ship(LINES, {})
    with pytest.raises(Conflict, match="nothing of this order is left"):
        units_to_ship([LineToShip(1, 10, 2, 2, 0), LineToShip(2, 20, 1, 0, 1)], None)


def test_bundles_ship_as_their_components() -> None:
    parts = {10: [(11, 2), (12, 1)]}
    assert stock_needed(LINES, {1: 2, 3: 1}, parts) == {11: 4, 12: 2, 30: 1}


def test_the_parcel_leaves_from_where_the_order_holds_all_of_it_preferring_its_own_warehouse() -> None:
    held = {(11, 1): 4, (12, 1): 1, (11, 2): 4, (12, 2): 2, (12, 3): 9}
    needed = {11: 4, 12: 2}
    assert warehouse_for(needed, held, preferred=None) == 2
    assert warehouse_for({11: 1}, held, preferred=2) == 2
    assert warehouse_for({11: 1}, held, preferred=None) == 1
    assert warehouse_for({11: 5}, held, preferred=1) is None
    assert warehouse_for({11: 1}, {}, preferred=1) is None


def test_a_parcel_never_takes_stock_the_order_does_not_hold_there() -> None:
    held = {(11, 1): 4, (12, 1): 1}
    assert check_held({11: 4, 12: 1}, held, 1, {}) == {(11, 1): 4, (12, 1): 1}
    with pytest.raises(InsufficientStock) as refused:
        check_held({11: 4, 12: 2}, held, 1, {12: "SKU-2"})
    assert "SKU-2: needs 2, the order holds 1 there" in str(refused.value)
    with pytest.raises(InsufficientStock, match="needs 1, the order holds 0"):
        check_held({11: 1}, held, 2, {})


def test_what_shipping_and_voiding_make_of_the_order() -> None:
    assert order_status_after_shipping([(2, 2), (1, 1)]) == OrderStatus.SHIPPED
    assert order_status_after_shipping([(2, 1), (1, 1)]) == OrderStatus.PARTLY_SHIPPED
    assert order_status_after_void(OrderStatus.LABEL_PRINTED, labelled_left=False) == OrderStatus.ALLOCATED
    assert order_status_after_void(OrderStatus.LABEL_PRINTED, labelled_left=True) == OrderStatus.LABEL_PRINTED
    assert (
        order_status_after_void(OrderStatus.PARTLY_SHIPPED, labelled_left=False) == OrderStatus.PARTLY_SHIPPED
    )
    assert order_status_after_label(OrderStatus.ALLOCATED) == OrderStatus.LABEL_PRINTED
    assert order_status_after_label(OrderStatus.PARTLY_SHIPPED) == OrderStatus.PARTLY_SHIPPED
    # every move these rules make is one the order's state machine allows
    for before, after in (
        (OrderStatus.ALLOCATED, OrderStatus.LABEL_PRINTED),
        (OrderStatus.LABEL_PRINTED, OrderStatus.ALLOCATED),
        (OrderStatus.ALLOCATED, OrderStatus.PARTLY_SHIPPED),
        (OrderStatus.LABEL_PRINTED, OrderStatus.SHIPPED),
        (OrderStatus.PARTLY_SHIPPED, OrderStatus.SHIPPED),
    ):
        assert after in ALLOWED_TRANSITIONS[before]
