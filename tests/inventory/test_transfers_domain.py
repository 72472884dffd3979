"""Pure transfer rules: the life of a transfer, the hold at the source, shipping out, receipts with
their differences, and what is in transit. No database."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from orderly.core.errors import DomainError, InsufficientStock, InvalidTransition, OutOfRange
from orderly.inventory import domain
from orderly.inventory.domain import (
    MAX_QUANTITY,
    Level,
    LineReceipt,
    Movement,
    MovementKind,
    TransferLine,
    TransferStatus,
)

HOME, OVERSEAS = 1, 2
SKUS = {10: "SKU-1", 20: "SKU-2"}
T = TransferStatus

# --- the life of a transfer -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("current", "target"),
    [
        (T.CREATED, T.SHIPPED),
        (T.CREATED, T.CANCELLED),
        (T.SHIPPED, T.PARTLY_RECEIVED),
        (T.SHIPPED, T.RECEIVED),
        (T.PARTLY_RECEIVED, T.PARTLY_RECEIVED),
        (T.PARTLY_RECEIVED, T.RECEIVED),
    ],
)
def test_a_transfer_moves_forward_through_its_life(current: TransferStatus, target: TransferStatus) -> None:
    domain.check_transfer_transition(current, target)


@pytest.mark.parametrize(
    ("current", "target"),
    [
        (T.SHIPPED, T.CANCELLED),  # the goods are on the road: received or written off, never cancelled
        (T.PARTLY_RECEIVED, T.CANCELLED),
        (T.CREATED, T.RECEIVED),  # nothing arrives that never left
        (T.SHIPPED, T.SHIPPED),  # stock leaves once
        (T.RECEIVED, T.RECEIVED),  # arrives once
        (T.RECEIVED, T.PARTLY_RECEIVED),
        (T.CANCELLED, T.SHIPPED),
    ],
)
def test_a_transfer_never_goes_back_or_repeats_a_step_that_moves_stock(
    current: TransferStatus, target: TransferStatus
) -> None:
    with pytest.raises(InvalidTransition, match=f"a transfer cannot go from {current} to {target}"):
        domain.check_transfer_transition(current, target)


def test_units_are_in_transit_only_between_shipping_and_the_last_receipt() -> None:
    assert frozenset({T.SHIPPED, T.PARTLY_RECEIVED}) == domain.IN_TRANSIT


def test_in_transit_is_shipped_less_received_less_written_off_never_negative() -> None:
    assert TransferLine(10, 8).in_transit == 8
    assert TransferLine(10, 8, received=3, written_off=1).in_transit == 4
    assert TransferLine(10, 8, received=9).in_transit == 0  # over-received: nothing left, not -1


# --- a new transfer --------------------------------------------------------------------------------


def test_a_transfer_goes_to_another_warehouse_naming_the_field() -> None:
    with pytest.raises(DomainError, match="another warehouse") as refused:
        domain.check_transfer(HOME, HOME, {10: 1})
    assert refused.value.field == "to_warehouse"


def test_a_transfer_moves_at_least_one_sku() -> None:
    with pytest.raises(DomainError, match="at least one SKU") as refused:
        domain.check_transfer(HOME, OVERSEAS, {})
    assert refused.value.field == "lines"


@pytest.mark.parametrize("quantity", [0, -3])
def test_a_transfer_line_moves_a_positive_quantity(quantity: int) -> None:
    with pytest.raises(DomainError, match=f"quantity must be positive, got {quantity}") as refused:
        domain.check_transfer(HOME, OVERSEAS, {10: 5, 20: quantity})
    assert refused.value.field == "quantity"


def test_a_transfer_line_stays_within_what_a_warehouse_can_hold() -> None:
    domain.check_transfer(HOME, OVERSEAS, {10: MAX_QUANTITY})
    with pytest.raises(OutOfRange):
        domain.check_transfer(HOME, OVERSEAS, {10: MAX_QUANTITY + 1})


def test_a_hold_reserves_each_line_at_the_source_in_key_order() -> None:
    levels = {(10, HOME): Level(on_hand=10), (20, HOME): Level(on_hand=4)}

    held = domain.transfer_hold(levels, HOME, {20: 4, 10: 6}, SKUS)

    assert held == [
        ((10, HOME), Movement(MovementKind.TRANSFER_HOLD, reserved_delta=6)),
        ((20, HOME), Movement(MovementKind.TRANSFER_HOLD, reserved_delta=4)),
    ]


def test_a_hold_takes_only_available_units_never_reserved_or_safety_stock_naming_every_short_line() -> None:
    levels = {
        (10, HOME): Level(on_hand=10, reserved=3, safety=2),  # 5 available
        (20, HOME): Level(on_hand=4),
        (20, OVERSEAS): Level(on_hand=100),  # stock elsewhere does not count
    }
    assert len(domain.transfer_hold(levels, HOME, {10: 5, 20: 4}, SKUS)) == 2

    with pytest.raises(InsufficientStock) as refused:
        domain.transfer_hold(levels, HOME, {10: 6, 20: 5}, SKUS)
    assert refused.value.message == (
        "not enough stock at the source for this transfer: "
        "SKU-1: 6 to transfer, 5 available; SKU-2: 5 to transfer, 4 available"
    )


def test_a_hold_of_a_sku_the_source_never_stocked_is_short() -> None:
    with pytest.raises(InsufficientStock, match="SKU-1: 1 to transfer, 0 available"):
        domain.transfer_hold({}, HOME, {10: 1}, SKUS)


def test_a_held_unit_is_no_longer_available_to_orders() -> None:
    level = Level(on_hand=5)
    for _, movement in domain.transfer_hold({(10, HOME): level}, HOME, {10: 5}, SKUS):
        level.apply(movement)
    assert (level.on_hand, level.reserved, level.available) == (5, 5, 0)
    with pytest.raises(InsufficientStock):
        domain.reservation(level, 1)


# --- shipping out and cancelling ---------------------------------------------------------------------


def test_shipping_takes_exactly_what_was_held_off_the_shelf_leaving_available_as_it_was() -> None:
    level = Level(on_hand=10, reserved=6)  # the 6 the transfer holds
    lines = [TransferLine(10, 6)]

    ((key, movement),) = domain.transfer_out(HOME, lines)
    before = level.available
    level.apply(movement)

    assert key == (10, HOME)
    assert movement == Movement(MovementKind.TRANSFER_OUT, on_hand_delta=-6, reserved_delta=-6)
    assert (level.on_hand, level.reserved, level.available) == (4, 0, before)


def test_cancelling_releases_exactly_what_was_held() -> None:
    released = domain.transfer_release(HOME, [TransferLine(20, 2), TransferLine(10, 6)])
    assert released == [
        ((10, HOME), Movement(MovementKind.TRANSFER_RELEASE, reserved_delta=-6)),
        ((20, HOME), Movement(MovementKind.TRANSFER_RELEASE, reserved_delta=-2)),
    ]


def test_hold_then_release_or_ship_leaves_the_source_as_the_ledger_says() -> None:
    levels = {(10, HOME): Level(on_hand=10, reserved=1)}
    for _, movement in domain.transfer_hold(levels, HOME, {10: 4}, SKUS):
        levels[(10, HOME)].apply(movement)
    after_hold = levels[(10, HOME)].copy()
    for _, movement in domain.transfer_release(HOME, [TransferLine(10, 4)]):
        after_hold.apply(movement)
    assert after_hold == Level(on_hand=10, reserved=1)
    for _, movement in domain.transfer_out(HOME, [TransferLine(10, 4)]):
        levels[(10, HOME)].apply(movement)
    assert levels[(10, HOME)] == Level(on_hand=6, reserved=1)


# --- receipts -----------------------------------------------------------------------------------------


def _receipt(
    lines: list[TransferLine],
    arrived: dict[int, int],
    reasons: dict[int, str] | None = None,
    *,
    close: bool = False,
) -> tuple[list[LineReceipt], TransferStatus]:
    return domain.transfer_receipt(lines, arrived, reasons or {}, close=close, skus=SKUS)


def test_receiving_everything_that_was_shipped_receives_the_transfer() -> None:
    receipts, status = _receipt([TransferLine(10, 6), TransferLine(20, 2)], {10: 6, 20: 2})
    assert receipts == [LineReceipt(10, 6, 0, None), LineReceipt(20, 2, 0, None)]
    assert receipts[0].movement == Movement(MovementKind.TRANSFER_IN, on_hand_delta=6)
    assert status == T.RECEIVED


def test_a_partial_receipt_leaves_the_rest_in_transit() -> None:
    receipts, status = _receipt([TransferLine(10, 6), TransferLine(20, 2)], {10: 4})
    assert receipts == [LineReceipt(10, 4, 0, None)]
    assert status == T.PARTLY_RECEIVED


def test_a_later_receipt_of_the_rest_receives_the_transfer() -> None:
    lines = [TransferLine(10, 6, received=4), TransferLine(20, 2)]
    receipts, status = _receipt(lines, {10: 2, 20: 2})
    assert [r.received for r in receipts] == [2, 2]
    assert status == T.RECEIVED


def test_closing_writes_off_what_has_not_arrived_with_its_reason() -> None:
    lines = [TransferLine(10, 6, received=4), TransferLine(20, 2)]
    receipts, status = _receipt(lines, {10: 1}, {10: "crushed", 20: "lost"}, close=True)
    assert receipts == [
        LineReceipt(10, 1, 1, "short 1: crushed"),
        LineReceipt(20, 0, 2, "short 2: lost"),
    ]
    assert receipts[1].movement is None  # nothing arrives for a line written off whole
    assert status == T.RECEIVED


def test_more_than_was_shipped_arrives_only_with_a_reason() -> None:
    lines = [TransferLine(10, 6)]
    with pytest.raises(DomainError, match=r"needs a reason .*: SKU-1 over 1$") as refused:
        _receipt(lines, {10: 7})
    assert refused.value.field == "reason"

    receipts, status = _receipt(lines, {10: 7}, {10: "miscounted at home"})

    assert receipts == [LineReceipt(10, 7, 0, "over 1: miscounted at home")]
    assert status == T.RECEIVED


def test_closing_short_needs_a_reason_for_every_short_line() -> None:
    lines = [TransferLine(10, 6), TransferLine(20, 2)]
    with pytest.raises(DomainError, match=r": SKU-1 short 1; SKU-2 short 2$"):
        _receipt(lines, {10: 5}, close=True)
    with pytest.raises(DomainError, match=r": SKU-2 short 2$"):
        _receipt(lines, {10: 5}, {10: "dropped"}, close=True)


def test_a_reason_without_a_difference_is_not_recorded() -> None:
    receipts, _ = _receipt([TransferLine(10, 6)], {10: 6}, {10: "fine"})
    assert receipts == [LineReceipt(10, 6, 0, None)]


def test_closing_with_everything_in_needs_no_reason() -> None:
    receipts, status = _receipt([TransferLine(10, 6, received=6), TransferLine(20, 2)], {20: 2}, close=True)
    assert receipts == [LineReceipt(20, 2, 0, None)]
    assert status == T.RECEIVED


def test_a_receipt_receives_something_or_closes() -> None:
    with pytest.raises(DomainError, match="at least one unit, or closes") as refused:
        _receipt([TransferLine(10, 6)], {10: 0})
    assert refused.value.field == "lines"


def test_units_arrive_only_for_skus_the_transfer_carries() -> None:
    with pytest.raises(DomainError, match="SKU-2 is not on this transfer; book it with a stock receipt"):
        _receipt([TransferLine(10, 6)], {10: 6, 20: 1})


def test_a_received_quantity_is_never_negative_nor_beyond_the_bound() -> None:
    with pytest.raises(DomainError, match="cannot be negative, got -1"):
        _receipt([TransferLine(10, 6)], {10: -1})
    with pytest.raises(OutOfRange):
        _receipt([TransferLine(10, 6)], {10: MAX_QUANTITY + 1}, {10: "x"})


def test_receipts_never_receive_more_than_arrived_or_write_off_more_than_was_on_the_road() -> None:
    """Whatever the receipts, a line ends with received + written off >= shipped, written off <= what
    was in transit, and the destination gains exactly what was received."""
    line = TransferLine(10, 9)
    gained = 0
    for arrived, close in ((3, False), (0, False), (2, True)):
        if not arrived and not close:
            continue
        receipts, status = _receipt([line], {10: arrived}, {10: "r"}, close=close)
        for receipt in receipts:
            assert receipt.written_off <= line.in_transit
            gained += receipt.movement.on_hand_delta if receipt.movement else 0
            line = TransferLine(
                10, 9, line.received + receipt.received, line.written_off + receipt.written_off
            )
    assert (line.received, line.written_off, line.in_transit, gained) == (5, 4, 0, 5)
    assert status == T.RECEIVED


# --- any sequence of receipts ---------------------------------------------------------------------------

receipts = st.lists(
    st.tuples(st.integers(min_value=0, max_value=12), st.booleans(), st.booleans()), min_size=1, max_size=6
)


@settings(max_examples=300, deadline=None)
@given(shipped=st.integers(min_value=1, max_value=10), steps=receipts)
def test_any_receipts_keep_a_line_whole_and_the_destination_equal_to_what_was_received(
    shipped: int, steps: list[tuple[int, bool, bool]]
) -> None:
    """Whatever arrives, in whatever receipts, closed or not, with or without reasons: a refused
    receipt changes nothing; the destination gains exactly what the line records received; nothing is
    written off beyond what was on the road; the transfer is received exactly when nothing is in
    transit, and a received transfer takes no more receipts."""
    line, status, gained = TransferLine(10, shipped), T.SHIPPED, 0
    for arrived, close, reason in steps:
        if status == T.RECEIVED:
            with pytest.raises(InvalidTransition):
                domain.check_transfer_transition(status, T.RECEIVED)
            break
        try:
            done, after = _receipt([line], {10: arrived}, {10: "why"} if reason else {}, close=close)
        except DomainError:
            continue
        domain.check_transfer_transition(status, after)
        for receipt in done:
            assert receipt.written_off <= line.in_transit
            assert (receipt.difference is not None) == (
                receipt.written_off > 0 or receipt.received > line.in_transit
            )
            gained += receipt.movement.on_hand_delta if receipt.movement else 0
            line = TransferLine(
                10, shipped, line.received + receipt.received, line.written_off + receipt.written_off
            )
        status = after
        assert gained == line.received
        assert (status == T.RECEIVED) == (line.in_transit == 0)
        assert line.written_off <= shipped
