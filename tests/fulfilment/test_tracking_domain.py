"""The pure tracking rules: what a carrier event does to a parcel, when an order is delivered, when a
parcel is stale or late."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from orderly.fulfilment.domain import (
    GONE,
    LIVE,
    NO_EFFECT,
    ShipmentStatus,
    TrackingEffect,
    TrackingEvent,
    TrackingKind,
    order_delivered,
    tracking_effect,
)
from orderly.orders.domain import OrderStatus

S = ShipmentStatus
K = TrackingKind
T0 = datetime(2026, 12, 1, 8, tzinfo=UTC)
MOVING = [K.PICKED_UP, K.IN_TRANSIT, K.OUT_FOR_DELIVERY, K.DELIVERED, K.EXCEPTION]


@pytest.mark.parametrize("current", [S.DELIVERED, S.VOIDED])
@pytest.mark.parametrize("kind", [*K, None])
def test_no_event_takes_a_parcel_out_of_delivered_or_voided(current: S, kind: K | None) -> None:
    assert tracking_effect(current, kind) == NO_EFFECT


@pytest.mark.parametrize("current", sorted(LIVE))
@pytest.mark.parametrize("kind", MOVING)
def test_a_parcel_on_the_shelf_that_the_carrier_moves_is_handed_over_first(current: S, kind: K) -> None:
    effect = tracking_effect(current, kind)
    assert effect.hand_over
    assert effect.status == {K.DELIVERED: S.DELIVERED, K.EXCEPTION: S.EXCEPTION}.get(kind, S.IN_TRANSIT)


@pytest.mark.parametrize("current", sorted(LIVE | GONE))
def test_a_label_created_or_an_unmapped_code_moves_nothing(current: S) -> None:
    assert tracking_effect(current, K.LABEL_CREATED) == NO_EFFECT
    assert tracking_effect(current, None) == NO_EFFECT


def test_a_parcel_on_its_way_moves_forward_and_back_from_an_exception_but_never_before_shipped() -> None:
    assert tracking_effect(S.SHIPPED, K.PICKED_UP) == TrackingEffect(False, S.IN_TRANSIT)
    assert tracking_effect(S.SHIPPED, K.DELIVERED) == TrackingEffect(False, S.DELIVERED)
    assert tracking_effect(S.IN_TRANSIT, K.OUT_FOR_DELIVERY) == NO_EFFECT  # already in transit
    assert tracking_effect(S.IN_TRANSIT, K.EXCEPTION) == TrackingEffect(False, S.EXCEPTION)
    assert tracking_effect(S.EXCEPTION, K.IN_TRANSIT) == TrackingEffect(False, S.IN_TRANSIT)
    assert tracking_effect(S.EXCEPTION, K.EXCEPTION) == NO_EFFECT
    for current in GONE:
        effect = tracking_effect(current, K.IN_TRANSIT)
        assert not effect.hand_over
        assert effect.status not in LIVE


def test_an_event_older_than_the_newest_heard_only_hands_over_or_delivers() -> None:
    assert tracking_effect(S.EXCEPTION, K.IN_TRANSIT, newest=False) == NO_EFFECT
    assert tracking_effect(S.IN_TRANSIT, K.EXCEPTION, newest=False) == NO_EFFECT
    assert tracking_effect(S.EXCEPTION, K.DELIVERED, newest=False) == TrackingEffect(False, S.DELIVERED)
    assert tracking_effect(S.PACKED, K.IN_TRANSIT, newest=False) == TrackingEffect(True, S.IN_TRANSIT)
    assert tracking_effect(S.DELIVERED, K.DELIVERED, newest=False) == NO_EFFECT


def test_an_event_s_identity_is_its_content_so_a_resent_history_is_recognised() -> None:
    event = TrackingEvent(K.IN_TRANSIT, T0, "AF", "Arrived at DHL Sort Facility", "LEIPZIG - GERMANY")
    same = TrackingEvent(K.IN_TRANSIT, T0, "AF", "Arrived at DHL Sort Facility", "LEIPZIG - GERMANY")
    assert event.digest() == same.digest()
    assert len(event.digest()) == 32
    others = [
        TrackingEvent(K.IN_TRANSIT, T0 + timedelta(minutes=1), "AF", event.description, event.location),
        TrackingEvent(K.IN_TRANSIT, T0, "DF", event.description, event.location),
        TrackingEvent(None, T0, "AF", event.description, event.location),
        TrackingEvent(K.IN_TRANSIT, T0, "AF", "other text", event.location),
        TrackingEvent(K.IN_TRANSIT, T0, "AF", event.description, "HONG KONG"),
    ]
    assert len({event.digest(), *(o.digest() for o in others)}) == 6


def test_an_order_is_delivered_when_wholly_shipped_and_every_parcel_that_left_arrived() -> None:
    assert order_delivered(OrderStatus.SHIPPED, [S.DELIVERED, S.VOIDED, S.DELIVERED])
    assert not order_delivered(OrderStatus.SHIPPED, [S.DELIVERED, S.IN_TRANSIT])
    assert not order_delivered(OrderStatus.SHIPPED, [S.VOIDED])
    assert not order_delivered(OrderStatus.SHIPPED, [])
    assert not order_delivered(OrderStatus.PARTLY_SHIPPED, [S.DELIVERED])
    assert not order_delivered(OrderStatus.DELIVERED, [S.DELIVERED])
