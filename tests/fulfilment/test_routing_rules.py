"""Warehouse routing rules, pure: the three example rules, stock-driven choice, excluded warehouses,
cost and transit from the seller's lanes, splits and their threshold, and the explanation. No
database."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pytest

from orderly.review.domain.routing import Asked, Lane, Policy, RoutingSet, compile_routing_rules
from orderly.review.domain.rules import RuleInvalid
from orderly.review.domain.shipping import regions_of, size_class
from orderly.review.domain.view import ReviewContext, Subject
from orderly.review.schemas import RoutingSettings
from tests.review.test_checks import make_order, make_subject

WAREHOUSES = ("HOME", "LOCAL", "OVERSEAS")  # the default order: by warehouse priority

#: The examples sellers asked for: light parcels to South-East Asia from the local warehouse, bulky
#: items to Europe from the overseas one, domestic orders from the home warehouse.
EXAMPLES: list[dict[str, Any]] = [
    {
        "key": "sea-light",
        "name": "Light parcels to South-East Asia from the local warehouse",
        "priority": 10,
        "when": {
            "all": [
                {"fact": "address.regions", "contains": "south_east_asia"},
                {"fact": "order.size_class", "eq": "small"},
            ]
        },
        "then": [{"warehouses": {"prefer": ["LOCAL"]}}, {"carrier": {"use": "dhl_express", "service": "P"}}],
    },
    {
        "key": "eu-bulky",
        "name": "Bulky items to Europe from the overseas warehouse",
        "priority": 20,
        "when": {
            "all": [
                {"fact": "address.regions", "contains": "europe"},
                {"fact": "order.size_class", "eq": "bulky"},
            ]
        },
        "then": [{"warehouses": {"prefer": ["OVERSEAS"], "exclude": ["LOCAL"]}}],
    },
    {
        "key": "domestic",
        "name": "Domestic orders from the home warehouse",
        "priority": 30,
        "scope": {"countries": ["US"]},
        "then": [{"warehouses": {"prefer": ["HOME"]}}],
    },
]


def subject(
    country: str = "US",
    *,
    weight_g: int | None = 500,
    longest_mm: int | None = None,
    lines: Sequence[tuple[str, int]] = (("MUG-1", 1),),
    total: int | None = None,
    currency: str = "USD",
) -> Subject:
    order = make_order(lines=lines, shipping_address={"country": country, "region": None}, currency=currency)
    made = make_subject(order, total=total)
    made.weight_g, made.longest_mm = weight_g, longest_mm
    return made


def context(
    available: Mapping[str, Mapping[str, int]] | None = None, rates: Mapping[str, float] | None = None
) -> ReviewContext:
    stock = available if available is not None else {"MUG-1": dict.fromkeys(WAREHOUSES, 10)}
    return ReviewContext(available=stock, warehouses=WAREHOUSES, rates=dict(rates or {}))


def routing(rules: list[dict[str, Any]] = EXAMPLES, **settings: Any) -> RoutingSet:
    return RoutingSet(compile_routing_rules(rules), RoutingSettings.model_validate(settings).policy())


def test_light_parcels_to_south_east_asia_go_from_the_local_warehouse() -> None:
    route = routing().route(subject("SG", weight_g=800), context())
    assert route.order == ("LOCAL", "HOME", "OVERSEAS")
    assert [f["rule"] for f in route.fired] == ["sea-light"]
    assert route.carrier == {"carrier": "dhl_express", "service": "P", "rule": "sea-light"}
    assert str(route.reasons["LOCAL"]).startswith("preferred by rule sea-light")


def test_a_heavy_parcel_to_south_east_asia_is_not_light() -> None:
    route = routing().route(subject("SG", weight_g=5_000), context())
    assert route.fired == [] and route.order == WAREHOUSES


def test_bulky_items_to_europe_go_from_the_overseas_warehouse_never_the_local_one() -> None:
    route = routing().route(subject("DE", weight_g=3_000, longest_mm=1_500), context())
    assert route.order == ("OVERSEAS", "HOME")
    assert route.passed == ("LOCAL",)
    assert str(route.reasons["LOCAL"]) == "excluded by rule eu-bulky"


def test_domestic_orders_go_from_the_home_warehouse() -> None:
    route = routing().route(subject("US"), context())
    assert route.order[0] == "HOME" and [f["rule"] for f in route.fired] == ["domestic"]


def test_the_first_preferred_warehouse_without_the_stock_gives_way_to_the_next_that_has_it() -> None:
    stock = {"MUG-1": {"HOME": 0, "LOCAL": 0, "OVERSEAS": 4}}
    route = routing().route(subject("SG", weight_g=800), context(stock))
    assert route.order == ("LOCAL", "HOME", "OVERSEAS")
    assert route.fills == ("OVERSEAS",)
    assert "short: MUG-1 needs 1, has 0" in str(route.reasons["LOCAL"])
    assert "holds every line" in str(route.reasons["OVERSEAS"])


def test_rank_by_stock_puts_the_warehouses_that_hold_the_order_first() -> None:
    rules = [{"key": "stock-first", "then": [{"rank": "stock"}]}]
    stock = {"MUG-1": {"HOME": 0, "LOCAL": 3, "OVERSEAS": 3}}
    route = routing(rules).route(subject(), context(stock))
    assert route.order == ("LOCAL", "OVERSEAS", "HOME")
    assert str(route.reasons["LOCAL"]).startswith("ranked by stock (rule stock-first)")


def test_rank_by_cost_and_transit_read_the_sellers_lanes_most_specific_first() -> None:
    lanes = [
        {"warehouse": "HOME", "to": ["*"], "cost": 2500, "days": 9},
        {"warehouse": "LOCAL", "to": ["south_east_asia"], "cost": 900, "days": 6},
        {"warehouse": "OVERSEAS", "to": ["SG"], "cost": 1200, "days": 2},
        {"warehouse": "OVERSEAS", "to": ["*"], "cost": 4000, "days": 12},
    ]
    cheapest = routing([{"key": "cheap", "then": [{"rank": "cost"}]}], lanes=lanes)
    assert cheapest.route(subject("SG"), context()).order == ("LOCAL", "OVERSEAS", "HOME")
    assert cheapest.route(subject("FR"), context()).order == ("HOME", "OVERSEAS", "LOCAL")  # LOCAL: no lane
    fastest = routing([{"key": "fast", "then": [{"rank": "transit"}]}], lanes=lanes)
    route = fastest.route(subject("SG"), context())
    assert route.order == ("OVERSEAS", "LOCAL", "HOME")
    assert "to SG 12.00 USD, 2 days" in str(route.reasons["OVERSEAS"])


def test_a_delivery_promise_passes_over_warehouses_too_slow_for_it() -> None:
    lanes = [
        {"warehouse": "HOME", "to": ["*"], "days": 9},
        {"warehouse": "LOCAL", "to": ["*"], "days": 3},
    ]
    rules = [{"key": "fast-sg", "scope": {"countries": ["SG"]}, "then": [{"promise_days": 5}]}]
    route = routing(rules, lanes=lanes).route(subject("SG"), context())
    assert route.order == ("LOCAL", "OVERSEAS")  # OVERSEAS has no lane: not known to be too slow
    assert str(route.reasons["HOME"]) == "passed over: 9 days to SG, over the 5-day promise of rule fast-sg"


def test_exclusions_add_up_from_every_rule_and_the_review() -> None:
    rules = [
        {"key": "a", "priority": 1, "then": [{"warehouses": {"exclude": ["HOME"]}}]},
        {"key": "b", "priority": 2, "then": [{"warehouses": {"exclude": "LOCAL"}}]},
    ]
    route = routing(rules).route(subject(), context(), Asked(exclude=frozenset({"OVERSEAS"})))
    assert route.order == ()
    assert {code: str(why) for code, why in route.reasons.items()} == {
        "HOME": "excluded by rule a",
        "LOCAL": "excluded by rule b",
        "OVERSEAS": "excluded by the review",
    }


def test_the_reviews_chosen_warehouse_comes_before_the_routing_preference() -> None:
    route = routing().route(subject("US"), context(), Asked(use="OVERSEAS"))
    assert route.order == ("OVERSEAS", "HOME", "LOCAL")
    assert str(route.reasons["OVERSEAS"]).startswith("chosen by the review")


SHORT_EVERYWHERE_ALONE = {"MUG-1": {"HOME": 1, "LOCAL": 0, "OVERSEAS": 1}}


def test_an_order_no_one_warehouse_fills_splits_when_the_settings_allow_it() -> None:
    route = routing([], split=True).route(subject(lines=[("MUG-1", 2)]), context(SHORT_EVERYWHERE_ALONE))
    assert route.split
    assert str(route.split_reason) == "allowed (the routing settings): no one warehouse holds every line"


def test_an_order_below_the_split_threshold_waits_instead_and_says_why() -> None:
    ruleset = routing([], split=True, split_min_total=10_000)
    small = ruleset.route(subject(lines=[("MUG-1", 2)], total=5_500), context(SHORT_EVERYWHERE_ALONE))
    assert not small.split
    assert str(small.split_reason) == (
        "total 55.00 USD is below the split threshold 100.00 USD: it waits for one warehouse to hold it all"
    )
    big = ruleset.route(subject(lines=[("MUG-1", 2)], total=15_000), context(SHORT_EVERYWHERE_ALONE))
    assert big.split


def test_the_threshold_compares_in_the_base_currency_and_waits_without_a_rate() -> None:
    ruleset = routing([], split=True, split_min_total=10_000)
    euros = subject(total=9_500, currency="EUR")
    assert ruleset.route(euros, context(rates={"EUR": 1.1})).split  # 104.50 USD
    without = ruleset.route(euros, context())
    assert not without.split and str(without.split_reason).startswith("no rate from EUR to USD")


def test_a_rule_can_forbid_or_allow_a_split_over_the_settings() -> None:
    never = [{"key": "never", "scope": {"countries": ["US"]}, "then": [{"split": False}]}]
    route = routing(never, split=True).route(subject(), context())
    assert not route.split and str(route.split_reason).startswith("splitting is off (rule never)")
    always = [{"key": "always", "then": [{"split": True}]}]
    assert routing(always).route(subject(), context()).split


def test_the_explanation_names_the_rule_each_warehouse_and_the_outcome() -> None:
    stock = {"MUG-1": {"HOME": 5, "LOCAL": 0, "OVERSEAS": 5}}
    route = routing().route(subject("DE", weight_g=30_000), context(stock))
    stored = route.as_json(ruleset=7, chosen=["OVERSEAS"], ok=True)
    assert stored["ruleset"] == 7
    assert stored["chosen"] == ["OVERSEAS"]
    assert stored["passed_over"] == {"LOCAL": "excluded by rule eu-bulky"}
    assert stored["explanation"] == [
        "rule eu-bulky fired: Bulky items to Europe from the overseas warehouse "
        "(prefer OVERSEAS; exclude LOCAL)",
        "OVERSEAS: preferred by rule eu-bulky; holds every line",
        "HOME: warehouse priority (#1); holds every line",
        "LOCAL: excluded by rule eu-bulky",
        "split: no, splitting is off (the routing settings): it waits for one warehouse to hold it all",
        "outcome: OVERSEAS: first in the order, holds every line",
    ]


def test_no_rules_and_no_split_is_inactive_routing() -> None:
    assert not routing([]).active
    assert routing([], split=True).active
    assert routing().active


def test_size_classes_and_regions() -> None:
    assert size_class(None, 100) is None
    assert size_class(1_500, None) == "small"
    assert size_class(1_500, 900) == "medium"
    assert size_class(25_000, None) == "bulky"
    assert regions_of("cy") == ("eu", "europe", "western_asia")
    assert regions_of("SG") == ("south_east_asia",)


@pytest.mark.parametrize(
    ("rule", "field", "message"),
    [
        ({"key": "x", "then": []}, "rules[0].then", "then is a list of 1 to 50 routing actions"),
        ({"key": "x", "then": [{"rank": "price"}]}, "rules[0].then[0].rank", "rank takes one of"),
        (
            {"key": "x", "then": [{"warehouses": {"prefer": [], "exclude": ["A"]}}]},
            "rules[0].then[0].warehouses.prefer",
            "prefer is a warehouse code",
        ),
        (
            {"key": "x", "then": [{"warehouses": {"prefer": "A", "exclude": "A"}}]},
            "rules[0].then[0].warehouses",
            "A is both preferred and excluded",
        ),
        ({"key": "x", "then": [{"promise_days": 0}]}, "rules[0].then[0].promise_days", "promise_days takes"),
        ({"key": "x", "then": [{"carrier": {"service": "P"}}]}, "rules[0].then[0].carrier", "carrier takes"),
        ({"key": "x", "then": [{"hold": "risk"}]}, "rules[0].then[0]", "unknown routing action 'hold'"),
        ({"key": "x", "then": [{"split": True}, {"split": False}]}, "rules[0].then", "split appears twice"),
        (
            {"key": "x", "when": {"fact": "order.weight", "gt": 1}, "then": [{"split": True}]},
            "rules[0].when.fact",
            "did you mean 'order.weight_g'",
        ),
        ({"key": "X!", "then": [{"split": True}]}, "rules[0].key", "a key is 1-64"),
        ({"key": "x", "then": [{"split": True}], "stop": True}, "rules[0]", "unknown field(s) stop"),
    ],
)
def test_a_bad_routing_rule_is_refused_naming_the_field(
    rule: dict[str, Any], field: str, message: str
) -> None:
    with pytest.raises(RuleInvalid) as caught:
        compile_routing_rules([rule])
    assert any(e["field"] == field and message in e["message"] for e in caught.value.errors), (
        caught.value.errors
    )


def test_a_lane_to_an_unknown_place_is_refused() -> None:
    with pytest.raises(ValueError, match="'Asia' is not a country"):
        RoutingSettings.model_validate({"lanes": [{"warehouse": "HOME", "to": ["Asia"], "cost": 1}]})


def test_lanes_resolve_country_then_region_then_everywhere() -> None:
    policy = Policy(
        lanes=(
            Lane("HOME", frozenset({"*"}), 3, 9),
            Lane("HOME", frozenset({"europe"}), 2, 5),
            Lane("HOME", frozenset({"DE"}), 1, 2),
        )
    )
    assert policy.lane("HOME", "DE") == Lane("HOME", frozenset({"DE"}), 1, 2)
    assert policy.lane("HOME", "FR") == Lane("HOME", frozenset({"europe"}), 2, 5)
    assert policy.lane("HOME", "JP") == Lane("HOME", frozenset({"*"}), 3, 9)
    assert policy.lane("LOCAL", "JP") is None
