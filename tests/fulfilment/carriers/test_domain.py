"""Units and money at the edge, and rate shopping: the cheapest offer that meets the promise."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import get_args

import pytest

from orderly.core.errors import Conflict, DomainError
from orderly.fulfilment.carriers.connector import Offer
from orderly.fulfilment.carriers.domain import (
    Preference,
    arrives,
    centimetres,
    choose,
    inches,
    kilograms,
    minor_units,
    ounces,
    routed_preference,
)
from orderly.fulfilment.carriers.registry import PLUGINS, connector_class
from orderly.fulfilment.carriers.schemas import Plugin

SHIP = date(2026, 12, 4)


def offer(carrier: str, service: str, cost: int, days: int | None, **more: object) -> Offer:
    return Offer(carrier, service, f"{carrier} {service}", cost, "USD", transit_days=days, **more)  # type: ignore[arg-type]


def test_weights_and_sizes_become_the_carriers_units_to_their_precision() -> None:
    assert ounces(500) == Decimal("17.6")
    assert ounces(1) == Decimal("0.1")  # never weightless
    assert inches(254) == Decimal("10.0")
    assert inches(60) == Decimal("2.4")
    assert kilograms(500) == Decimal("0.5")
    assert kilograms(0) == Decimal("0.001")
    assert centimetres(251) == 26
    assert centimetres(3) == 1


def test_carrier_amounts_become_minor_units_of_their_currency_exactly() -> None:
    assert minor_units("8.20", "USD") == 820
    assert minor_units("8.20000", "USD") == 820
    assert minor_units(412.6, "CNY") == 41260
    assert minor_units("0.1", "USD") + minor_units("0.2", "USD") == 30  # never a float sum
    assert minor_units(1500, "JPY") == 1500
    assert minor_units("1.2345", "KWD") == 1235
    with pytest.raises(ValueError, match="ISO 4217"):
        minor_units("1.00", "usd")
    with pytest.raises(ValueError, match="not a number"):
        minor_units("NaN", "USD")


OFFERS = [
    offer("USPS", "GroundAdvantage", 600, 5),
    offer("USPS", "Priority", 900, 2),
    offer("USPS", "Express", 2700, 1),
    offer("UPS", "Ground", 950, None),
]


def test_without_a_promise_the_cheapest_offer_wins() -> None:
    assert choose(OFFERS, SHIP, None).service == "GroundAdvantage"


def test_the_cheapest_offer_that_arrives_by_the_promise_wins() -> None:
    assert choose(OFFERS, SHIP, date(2026, 12, 7)).service == "Priority"
    assert choose(OFFERS, SHIP, date(2026, 12, 5)).service == "Express"
    assert choose(OFFERS, SHIP, date(2026, 12, 9)).service == "GroundAdvantage"  # arrives on the day


def test_an_offer_whose_delivery_is_unknown_meets_no_promise_unless_allowed() -> None:
    cheap_unknown = [*OFFERS, offer("LaserShip", "Next", 100, None)]
    assert choose(cheap_unknown, SHIP, date(2026, 12, 7)).service == "Priority"
    assert (
        choose(cheap_unknown, SHIP, date(2026, 12, 7), Preference(unknown_delivery_ok=True)).service == "Next"
    )
    assert choose(cheap_unknown, SHIP, None).service == "Next"


def test_a_delivery_date_given_wins_over_transit_days() -> None:
    dated = offer("DHL", "P", 500, 9, delivery_date=date(2026, 12, 6))
    assert arrives(dated, SHIP) == date(2026, 12, 6)
    assert choose([*OFFERS, dated], SHIP, date(2026, 12, 6)).service == "P"


def test_a_preference_narrows_the_offers_and_a_forced_service_ignores_the_promise() -> None:
    assert choose(OFFERS, SHIP, None, Preference(carriers=frozenset({"UPS"}))).service == "Ground"
    only = Preference(services=frozenset({"Priority", "Express"}))
    assert choose(OFFERS, SHIP, None, only).service == "Priority"
    forced = Preference(carrier="USPS", service="GroundAdvantage")
    assert choose(OFFERS, SHIP, date(2026, 12, 5), forced).service == "GroundAdvantage"


def test_a_routing_rule_s_carrier_picks_the_service_of_its_own_account_or_forces_a_carrier() -> None:
    own = {"carrier": "ep", "service": "Priority", "rule": "fast"}
    assert routed_preference(own, "ep", "easypost") == Preference(service="Priority")
    by_plugin = {"carrier": "easypost", "rule": "any-easypost"}
    assert routed_preference(by_plugin, "ep", "easypost") == Preference()
    ups = {"carrier": "UPS", "rule": "ups-only"}
    assert choose(OFFERS, SHIP, None, routed_preference(ups, "ep", "easypost")).carrier == "UPS"
    dhl = {"carrier": "dhl_express", "service": "P", "rule": "sea-light"}
    with pytest.raises(Conflict, match="no offer matches the preference"):
        choose(OFFERS, SHIP, None, routed_preference(dhl, "ep", "easypost"))


def test_no_offer_meeting_the_promise_is_refused_with_what_was_offered() -> None:
    with pytest.raises(Conflict, match=r"no offer delivers by 2026-12-04; offered: USPS GroundAdvantage"):
        choose(OFFERS, SHIP, SHIP)
    with pytest.raises(Conflict, match="no offer matches the preference \\(carrier FedEx\\)"):
        choose(OFFERS, SHIP, None, Preference(carriers=frozenset({"FedEx"})))
    with pytest.raises(Conflict, match="offered no service"):
        choose([], SHIP, None)


def test_ties_go_to_the_earlier_delivery_and_mixed_currencies_are_not_compared() -> None:
    slow, fast = offer("A", "slow", 500, 6), offer("B", "fast", 500, 2)
    assert choose([slow, fast], SHIP, None).service == "fast"
    euro = Offer("C", "eu", "C eu", 100, "EUR", transit_days=1)
    with pytest.raises(DomainError, match="several currencies"):
        choose([slow, euro], SHIP, None)


def test_every_plugin_an_account_may_name_loads() -> None:
    assert set(get_args(Plugin)) == set(PLUGINS)
    for name in PLUGINS:
        klass = connector_class(name)
        assert klass is not None and klass.plugin == name
    assert connector_class("os") is None
