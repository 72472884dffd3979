"""The auto-review rule engine: scopes, priorities, conditions, actions, the decision it returns, tuning
the built-in rules, and every way a rule can be refused with what is wrong and where. Pure."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from orderly.orders.domain import HoldReason
from orderly.review.checks import CHECKS, Lookback
from orderly.review.domain.conditions import MAX_DEPTH
from orderly.review.domain.engine import Decision, RuleSet
from orderly.review.domain.rules import RuleInvalid, compile_rules, default_rules
from orderly.review.domain.view import History, ReviewContext, Subject
from tests.review.test_checks import NOW, make_order, make_subject, only_hold, remember, review


def builtins(*changed: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """Every built-in rule as shipped, but for the ones given."""
    given = {rule["key"]: rule for rule in changed}
    return [given.get(key, {"key": key}) for key in CHECKS]


def tagger(key: str = "probe", **fields: Any) -> dict[str, Any]:
    """A custom rule that only tags the order "hit": whether it fired shows in the decision's tags."""
    return {"key": key, "name": key.title(), "then": [{"tag": "hit"}], **fields}


def hits(decision: Decision) -> bool:
    return "hit" in decision.tags


# --- scope ------------------------------------------------------------------------------------------

SCOPES: list[tuple[dict[str, list[str]], Subject, Subject]] = [
    ({"shops": ["shop-us"]}, make_subject(), make_subject(make_order(shop="shop-eu"))),
    ({"channels": ["amazon"]}, make_subject(channel="amazon"), make_subject(channel="shopify")),
    (
        {"countries": ["us", "ca"]},
        make_subject(),
        make_subject(make_order(shipping_address={"country": "GB", "postal_code": "SW1A 1AA"})),
    ),
    (
        {"skus": ["CAP-1"]},
        make_subject(make_order(lines=[("MUG-1", 1), ("CAP-1", 1)])),
        make_subject(make_order(lines=[("MUG-1", 1)])),
    ),
    (
        {"categories": ["kitchen"]},
        make_subject(categories={"kitchen", "garden"}),
        make_subject(categories={"garden"}),
    ),
    (
        {"tags": ["vip"]},
        make_subject(make_order(tags=["new", "vip"])),
        make_subject(make_order(tags=["new"])),
    ),
    (
        {"shops": ["shop-us"], "tags": ["vip"]},
        make_subject(make_order(tags=["vip"])),
        make_subject(make_order(shop="shop-eu", tags=["vip"])),
    ),
]


@pytest.mark.parametrize(("scope", "inside", "outside"), SCOPES)
def test_a_rule_runs_only_on_orders_in_its_scope(
    scope: dict[str, list[str]], inside: Subject, outside: Subject
) -> None:
    rules = [tagger(scope=scope)]
    assert hits(review(inside, rules))
    assert not hits(review(outside, rules))


def test_a_scoped_built_in_rule_leaves_other_orders_alone() -> None:
    order = make_order(shipping_address={"line1": "PO Box 99", "line2": None})
    rules = [{"key": "address.po_box", "scope": {"countries": ["de", "at"]}}]
    decision = review(make_subject(order), rules)
    assert decision.approved
    assert decision.fired == []
    assert compile_rules(rules)[0].spec["scope"] == {"countries": ["AT", "DE"]}
    rules = [{"key": "address.po_box", "scope": {"countries": ["us"]}}]
    assert only_hold(review(make_subject(order), rules))[0] is HoldReason.ADDRESS


# --- priority and approve ---------------------------------------------------------------------------


def test_rules_run_lowest_priority_number_first_and_ties_by_key() -> None:
    rules = [
        tagger("late", priority=50),
        tagger("b-tie", priority=20),
        tagger("early", priority=5),
        tagger("a-tie", priority=20),
    ]
    decision = review(make_subject(), rules)
    assert [f.rule for f in decision.fired] == ["early", "a-tie", "b-tie", "late"]


def test_a_custom_rule_runs_after_the_built_ins_unless_told() -> None:
    order = make_order(buyer_remark="urgent", tags=["vip"])
    decision = review(make_subject(order), [{"key": "remark.keywords"}, tagger(scope={"tags": ["vip"]})])
    assert [f.rule for f in decision.fired] == ["remark.keywords", "probe"]


VIP = {
    "key": "vip",
    "name": "VIP buyers ship at once",
    "priority": 10,
    "scope": {"tags": ["vip"]},
    "then": [{"approve": True}],
}


def test_approve_stops_the_rules_after_it() -> None:
    order = make_order(buyer_remark="urgent, please", tags=["vip"], billing_country="NG")
    decision = review(make_subject(order), [*builtins(), VIP])
    assert decision.approved
    assert decision.approved_by == "vip"
    assert [f.rule for f in decision.fired] == ["risk.country_mismatch", "vip"]
    # The risk is still scored and shown, but the risk rule after the approval does not hold.
    assert decision.risk_score == 50
    # Without the tag the same order is held for its remark and its risk.
    untagged = make_order(buyer_remark="urgent, please", billing_country="NG")
    assert review(make_subject(untagged), [*builtins(), VIP]).reasons() == {"remark", "risk"}


def test_holds_made_before_an_approval_stay() -> None:
    early = {
        "key": "check-first",
        "name": "Check first",
        "priority": 5,
        "when": {"fact": "order.total", "gt": 1000},
        "then": [{"hold": "manual"}],
    }
    order = make_order(buyer_remark="urgent", tags=["vip"])
    decision = review(make_subject(order), [*builtins(), VIP, early])
    assert not decision.approved
    assert decision.approved_by == "vip"
    assert only_hold(decision) == (HoldReason.MANUAL, "Check first")
    assert [f.rule for f in decision.fired] == ["check-first", "vip"]


# --- conditions -------------------------------------------------------------------------------------

# The order under test: 2 x MUG-1 and 1 x CAP-1 at 25.00, shipping 5.00 (total 8000), paid by PayPal,
# to 500 Congress Ave, Austin, tagged vip and repeat, in the kitchen and apparel categories, placed at
# NOW - 5 min.
CONDITION_ORDER = make_order(
    lines=[("MUG-1", 2), ("CAP-1", 1)],
    tags=["vip", "repeat"],
    buyer_remark="Leave at the door",
    payment_method="PayPal",
)
T = True
F = False

CONDITIONS: list[tuple[dict[str, Any], bool]] = [
    # numbers
    ({"fact": "order.total", "eq": 8000}, T),
    ({"fact": "order.total", "eq": 8001}, F),
    ({"fact": "order.total", "ne": 8001}, T),
    ({"fact": "order.total", "ne": 8000}, F),
    ({"fact": "order.total", "gt": 7999}, T),
    ({"fact": "order.total", "gt": 8000}, F),
    ({"fact": "order.total", "gte": 8000}, T),
    ({"fact": "order.total", "gte": 8000.5}, F),
    ({"fact": "order.total", "lt": 8001}, T),
    ({"fact": "order.total", "lt": 8000}, F),
    ({"fact": "order.total", "lte": 8000}, T),
    ({"fact": "order.total", "lte": 7999}, F),
    ({"fact": "order.total", "in": [100, 8000]}, T),
    ({"fact": "order.total", "in": [100, 200]}, F),
    ({"fact": "order.total", "not_in": [100, 200]}, T),
    ({"fact": "order.total", "not_in": [8000]}, F),
    ({"fact": "order.total", "is_null": False}, T),
    ({"fact": "order.total", "is_null": True}, F),
    ({"fact": "order.item_count", "eq": 3}, T),
    ({"fact": "order.line_count", "eq": 2}, T),
    ({"fact": "order.shipping_total", "eq": 500}, T),
    ({"fact": "order.age_minutes", "gte": 5}, T),
    ({"fact": "order.age_minutes", "gt": 5}, F),
    ({"fact": "risk.score", "eq": 0}, T),
    # text, case-insensitive
    ({"fact": "address.city", "eq": "AUSTIN"}, T),
    ({"fact": "address.city", "eq": "Dallas"}, F),
    ({"fact": "address.city", "ne": "Dallas"}, T),
    ({"fact": "address.city", "ne": "austin"}, F),
    ({"fact": "address.country", "in": ["ca", "us"]}, T),
    ({"fact": "address.country", "in": ["CA", "MX"]}, F),
    ({"fact": "address.country", "not_in": ["CA", "MX"]}, T),
    ({"fact": "address.country", "not_in": ["us"]}, F),
    ({"fact": "address.line1", "contains": "cONGRESS"}, T),
    ({"fact": "address.line1", "contains": "Main"}, F),
    ({"fact": "order.buyer_remark", "contains_any": ["porch", "DOOR"]}, T),
    ({"fact": "order.buyer_remark", "contains_any": ["porch", "garage"]}, F),
    ({"fact": "address.line1", "starts_with": "500 congress"}, T),
    ({"fact": "address.line1", "starts_with": "Congress"}, F),
    ({"fact": "address.line1", "ends_with": "congress AVE"}, T),
    ({"fact": "address.line1", "ends_with": "Street"}, F),
    ({"fact": "order.payment_method", "eq": "paypal"}, T),
    ({"fact": "order.payment_status", "eq": "paid"}, T),
    ({"fact": "order.seller_remark", "is_null": True}, T),
    ({"fact": "order.buyer_remark", "is_null": True}, F),
    ({"fact": "order.seller_remark", "contains": "door"}, F),  # nothing contains anything
    ({"fact": "order.seller_remark", "starts_with": "x"}, F),
    ({"fact": "order.remark", "contains": "door"}, T),
    # lists
    ({"fact": "order.skus", "contains": "mug-1"}, T),
    ({"fact": "order.skus", "contains": "HAT-1"}, F),
    ({"fact": "order.skus", "contains_any": ["HAT-1", "CAP-1"]}, T),
    ({"fact": "order.skus", "contains_any": ["HAT-1", "BAG-1"]}, F),
    ({"fact": "order.skus", "contains_all": ["CAP-1", "MUG-1"]}, T),
    ({"fact": "order.skus", "contains_all": ["CAP-1", "HAT-1"]}, F),
    ({"fact": "order.tags", "contains": "VIP"}, T),
    ({"fact": "order.categories", "contains_any": ["kitchen"]}, T),
    ({"fact": "order.tags", "is_empty": False}, T),
    ({"fact": "order.tags", "is_empty": True}, F),
    ({"fact": "risk.factors", "is_empty": True}, T),
    ({"fact": "stock.short_skus", "is_empty": False}, F),
    # booleans
    ({"fact": "stock.short", "eq": False}, T),
    ({"fact": "stock.short", "eq": True}, F),
    ({"fact": "stock.presale", "eq": False}, T),
    ({"fact": "stock.split_needed", "eq": True}, F),
    ({"fact": "stock.short", "is_null": False}, T),
    # time
    ({"fact": "order.placed_at", "gt": NOW - timedelta(hours=1)}, T),
    ({"fact": "order.placed_at", "gt": NOW}, F),
    ({"fact": "order.placed_at", "lt": NOW}, T),
    ({"fact": "order.placed_at", "is_null": True}, F),
    ({"fact": "order.placed_at", "lte": NOW - timedelta(minutes=5)}, T),
    ({"fact": "order.placed_at", "gte": NOW - timedelta(minutes=4)}, F),
    ({"fact": "order.placed_at", "gt": datetime(2026, 5, 6, 13, 0, tzinfo=timezone(timedelta(hours=2)))}, T),
    ({"fact": "order.placed_at", "gt": datetime(2026, 5, 6, 14, 0, tzinfo=timezone(timedelta(hours=2)))}, F),
    # logic
    ({"all": [{"fact": "order.total", "gt": 1}, {"fact": "address.country", "eq": "US"}]}, T),
    ({"all": [{"fact": "order.total", "gt": 1}, {"fact": "address.country", "eq": "CA"}]}, F),
    ({"any": [{"fact": "order.total", "gt": 9000}, {"fact": "address.country", "eq": "US"}]}, T),
    ({"any": [{"fact": "order.total", "gt": 9000}, {"fact": "address.country", "eq": "CA"}]}, F),
    ({"not": {"fact": "address.country", "eq": "CA"}}, T),
    ({"not": {"fact": "address.country", "eq": "US"}}, F),
    (
        {
            "all": [
                {"fact": "order.tags", "contains": "vip"},
                {
                    "any": [
                        {"fact": "order.total", "gte": 10000},
                        {"not": {"fact": "buyer.email", "is_null": T}},
                    ]
                },
            ]
        },
        T,
    ),
]


@pytest.mark.parametrize(("when", "matches"), CONDITIONS)
def test_a_condition_over_facts(when: dict[str, Any], matches: bool) -> None:
    subject = make_subject(CONDITION_ORDER, categories={"kitchen", "apparel"})
    decision = review(subject, [tagger(when=when)], ReviewContext(now=NOW))
    assert hits(decision) is matches


def test_every_operator_of_every_fact_type_is_tried() -> None:
    from orderly.review.domain.conditions import _OPERATORS
    from orderly.review.facts import FACTS

    tried: dict[str, set[str]] = {}

    def walk(tree: Mapping[str, Any]) -> None:
        if "fact" in tree:
            (op,) = (k for k in tree if k != "fact")
            tried.setdefault(FACTS[tree["fact"]].type, set()).add(op)
        for kind in ("all", "any"):
            for part in tree.get(kind, ()):
                walk(part)
        if "not" in tree:
            walk(tree["not"])

    for when, _ in CONDITIONS:
        walk(when)
    assert tried == {kind: set(ops) for kind, ops in _OPERATORS.items()}


def test_the_total_in_the_base_currency_is_null_without_a_rate() -> None:
    subject = make_subject(make_order(currency="EUR"), total=10_000)
    rules = [tagger(when={"fact": "order.total_base", "is_null": True})]
    assert hits(review(subject, rules))
    context = ReviewContext(rates={"EUR": 1.1})
    assert not hits(review(subject, rules, context))
    rules = [tagger(when={"fact": "order.total_base", "eq": 11_000})]
    assert hits(review(subject, rules, context))


def test_conditions_see_the_whole_risk_score() -> None:
    """Risk factors are scored before any rule runs, whatever their priority."""
    rules = [
        {"key": "risk.country_mismatch", "params": {"weight": 20}},
        tagger(priority=0, when={"fact": "risk.factors", "contains": "risk.country_mismatch"}),
        tagger("scored", priority=1, when={"fact": "risk.score", "eq": 20}),
    ]
    decision = review(make_subject(make_order(billing_country="NG")), rules)
    assert [f.rule for f in decision.fired] == ["risk.country_mismatch", "probe", "scored"]


def test_a_condition_on_a_built_in_rule_narrows_it() -> None:
    order = make_order(buyer_remark="urgent")
    rules = [{"key": "remark.keywords", "when": {"fact": "order.total", "gte": 10_000}}]
    assert review(make_subject(order), rules).approved
    assert not review(make_subject(order, total=10_000), rules).approved


def test_the_recent_orders_of_a_buyer_and_an_address_are_facts() -> None:
    history = History()
    remember(history, make_order(external_id="900", minutes_ago=60), "old-1")
    remember(
        history,
        make_order(
            external_id="901",
            buyer={"email": "x@example.org", "phone": None, "platform_id": "Z"},
            shipping_address={"phone": None},
        ),
        "old-2",
    )
    context = ReviewContext(history=history)
    assert hits(review(make_subject(), [tagger(when={"fact": "address.recent_orders", "eq": 2})], context))
    assert hits(review(make_subject(), [tagger(when={"fact": "buyer.recent_orders", "eq": 1})], context))


def test_a_time_condition_may_be_written_as_iso_8601_text() -> None:
    """Rules are stored and sent as JSON, which has no time type: ISO 8601 text is how a time arrives."""
    when = {"fact": "order.placed_at", "gt": (NOW - timedelta(hours=1)).isoformat()}
    assert hits(review(make_subject(), [tagger(when=when)]))
    when = {"fact": "order.placed_at", "gt": NOW.isoformat()}
    assert not hits(review(make_subject(), [tagger(when=when)]))


def test_a_compiled_rule_survives_a_json_round_trip() -> None:
    """The service stores each rule's spec in a JSON column and compiles it again when it loads."""
    when = {
        "all": [
            {"fact": "order.total", "gte": 3000},
            {"fact": "order.placed_at", "gt": datetime(2026, 1, 1, tzinfo=UTC)},
        ]
    }
    (rule,) = compile_rules([tagger(when=when)])
    stored = json.loads(json.dumps(rule.spec))
    (again,) = compile_rules([stored])
    assert again.spec == stored
    assert hits(review(make_subject(), [stored]))


# --- actions ----------------------------------------------------------------------------------------


def _rule(key: str, priority: int, *then: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {
        "key": key,
        "name": key.replace("-", " ").capitalize(),
        "priority": priority,
        "then": list(then),
        **fields,
    }


def test_a_hold_carries_its_own_message_or_the_rule_name() -> None:
    rules = [
        _rule("call-buyer", 1, {"hold": {"reason": "manual", "message": "call the buyer before shipping"}}),
        _rule("big-order", 2, {"hold": "risk"}),
    ]
    decision = review(make_subject(), rules)
    assert [(h.reason, h.message) for h in decision.holds] == [
        (HoldReason.MANUAL, "call the buyer before shipping"),
        (HoldReason.RISK, "Big order"),
    ]
    assert decision.holds[0].details == [{"rule": "call-buyer"}]
    assert decision.reasons() == {"manual", "risk"}


def test_a_built_in_hold_with_a_message_keeps_the_findings_details() -> None:
    rules = [{"key": "stock.available", "then": [{"hold": {"reason": "manual", "message": "ask the buyer"}}]}]
    context = ReviewContext(available={"MUG-1": {"WH-1": 0}}, warehouses=("WH-1",))
    decision = review(make_subject(), rules, context)
    assert only_hold(decision) == (HoldReason.MANUAL, "ask the buyer")
    assert decision.holds[0].details == [{"rule": "stock.available", "short": ["MUG-1"]}]
    assert "out of stock" in decision.fired[0].message


def test_stock_is_what_sellers_call_out_of_stock() -> None:
    decision = review(make_subject(), [_rule("wait", 1, {"hold": {"reason": "stock"}})])
    assert only_hold(decision)[0] is HoldReason.OUT_OF_STOCK
    decision = review(make_subject(), [_rule("wait", 1, {"hold": "stock"})])
    assert only_hold(decision)[0] is HoldReason.OUT_OF_STOCK


def test_tags_are_gathered_without_duplicates() -> None:
    rules = [
        _rule("one", 1, {"tag": ["vip", "gift"]}),
        _rule("two", 2, {"tag": ["gift", "b2b"]}),
        _rule("three", 3, {"tag": "vip"}),
    ]
    decision = review(make_subject(), rules)
    assert decision.tags == ["vip", "gift", "b2b"]
    assert decision.approved


def test_the_first_priority_set_wins() -> None:
    rules = [_rule("later", 2, {"priority": -5}), _rule("first", 1, {"priority": 10})]
    assert review(make_subject(), rules).priority == 10
    assert review(make_subject(), [_rule("none", 1, {"tag": "x"})]).priority is None


@pytest.mark.parametrize("kind", ["warehouse", "carrier"])
def test_the_first_use_wins_and_every_exclusion_adds_up(kind: str) -> None:
    rules = [
        _rule("a", 1, {kind: {"use": "X-2"}}),
        _rule("b", 2, {kind: {"use": "X-3"}}),
        _rule("c", 3, {kind: {"exclude": ["X-1", "X-4"]}}),
        _rule("d", 4, {kind: {"exclude": "X-5"}}),
    ]
    decision = review(make_subject(), rules)
    assert getattr(decision, kind) == "X-2"
    assert getattr(decision, f"exclude_{kind}s") == {"X-1", "X-4", "X-5"}
    assert decision.as_json(ruleset=1, at=NOW)[kind] == {"use": "X-2", "exclude": ["X-1", "X-4", "X-5"]}
    assert [f.actions for f in decision.fired][:2] == [(f"{kind} use X-2",), (f"{kind} use X-3",)]


SPLIT_STOCK = ReviewContext(
    available={"MUG-1": {"WH-1": 1}, "CAP-1": {"WH-2": 1}}, warehouses=("WH-1", "WH-2")
)
TWO_LINES = make_order(lines=[("MUG-1", 1), ("CAP-1", 1)])


def test_a_rule_that_forbids_splitting_wins_over_the_built_in_split() -> None:
    assert review(make_subject(TWO_LINES), builtins(), SPLIT_STOCK).split is True
    no_split = _rule("ship-whole", 10, {"split": False}, scope={"shops": ["shop-us"]})
    decision = review(make_subject(TWO_LINES), [*builtins(), no_split], SPLIT_STOCK)
    assert decision.split is False
    assert decision.approved
    assert "split" not in decision.as_json(ruleset=1, at=NOW)
    assert [f.rule for f in decision.fired] == ["ship-whole", "stock.split"]


def test_a_rule_that_forbids_merging_wins_over_the_built_in_merge() -> None:
    history = History()
    remember(history, make_order(external_id="900", minutes_ago=60), "old-1")
    context = ReviewContext(history=history)
    assert review(make_subject(), builtins(), context).merge_with == ["old-1"]
    no_merge = _rule("no-merge", 10, {"merge": False})
    decision = review(make_subject(), [*builtins(), no_merge], context)
    assert decision.merge is False
    assert decision.merge_with == []
    assert "merge_with" not in decision.as_json(ruleset=1, at=NOW)


def test_notify_says_the_rules_message_and_the_findings() -> None:
    rules = [
        _rule("tell-ops", 1, {"notify": "a VIP ordered"}, scope={"tags": ["vip"]}),
        {"key": "stock.available", "then": [{"hold": "stock"}, {"notify": {"message": "reorder"}}]},
    ]
    context = ReviewContext(available={"MUG-1": {"WH-1": 0}}, warehouses=("WH-1",))
    decision = review(make_subject(make_order(tags=["vip"])), rules, context)
    assert decision.notify == ["a VIP ordered", "reorder: out of stock: MUG-1 needs 1, 0 available"]
    assert decision.as_json(ruleset=1, at=NOW)["notify"] == decision.notify


# --- enabled, the decision's JSON, versions ---------------------------------------------------------


def test_a_disabled_rule_does_not_run() -> None:
    order = make_order(buyer_remark="urgent", tags=["vip"])
    rules = [{"key": "remark.keywords", "enabled": False}, tagger(enabled=False)]
    decision = review(make_subject(order), rules)
    assert decision.approved
    assert decision.fired == []
    assert decision.tags == []
    ruleset = RuleSet(compile_rules(rules))
    assert ruleset.rules == ()
    assert [r.key for r in ruleset.all_rules] == ["remark.keywords", "probe"]


def test_a_disabled_risk_factor_adds_nothing() -> None:
    rules = [{"key": "risk.country_mismatch", "enabled": False}, {"key": "risk.score"}]
    decision = review(make_subject(make_order(billing_country="NG")), rules)
    assert decision.risk_score == 0
    assert decision.approved


def test_the_decision_as_json() -> None:
    rules = [
        {"key": "risk.country_mismatch", "params": {"weight": 40}},
        {"key": "risk.score", "params": {"threshold": 40}},
        _rule("gift", 1, {"tag": "gift"}, {"priority": 5}),
    ]
    ruleset = RuleSet(compile_rules(rules, versions={"risk.score": 3, "gift": 2}), version=7)
    decision = ruleset.review(make_subject(make_order(billing_country="NG")), ReviewContext())
    mismatch = {
        "text": "billed in %(billing)s, shipped to %(shipping)s",
        "args": {"billing": "NG", "shipping": "US"},
    }
    score = {
        "text": "risk score %(score)s (hold at %(threshold)s): %(factors)s",
        "args": {
            "score": 40,
            "threshold": 40,
            "factors": {"text": "%(factor)s (+%(weight)s)", "args": {"factor": mismatch, "weight": 40}},
        },
    }
    assert decision.as_json(ruleset=ruleset.version, at=NOW) == {
        "outcome": "held",
        "ruleset": 7,
        "reviewed_at": "2026-05-06T12:00:00+00:00",
        "risk": {
            "score": 40,
            "factors": [
                {
                    "name": "risk.country_mismatch",
                    "weight": 40,
                    "message": "billed in NG, shipped to US",
                    "phrase": mismatch,
                }
            ],
        },
        "fired": [
            {
                "rule": "risk.country_mismatch",
                "version": 0,
                "message": "billed in NG, shipped to US",
                "actions": [],
                "phrases": [],
                "phrase": mismatch,
            },
            {
                "rule": "gift",
                "version": 2,
                "message": "Gift",
                "actions": ["tag gift", "priority 5"],
                "phrases": [
                    {"text": "tag %(tags)s", "args": {"tags": "gift"}},
                    {"text": "priority %(priority)s", "args": {"priority": 5}},
                ],
            },
            {
                "rule": "risk.score",
                "version": 3,
                "message": "risk score 40 (hold at 40): billed in NG, shipped to US (+40)",
                "actions": ["hold risk"],
                "phrases": [{"text": "hold %(reason)s", "args": {"reason": {"text": "risk", "args": {}}}}],
                "phrase": score,
            },
        ],
        "tags": ["gift"],
        "priority": 5,
    }
    assert [h.as_json() for h in decision.holds] == [
        {
            "reason": "risk",
            "message": "risk score 40 (hold at 40): billed in NG, shipped to US (+40)",
            "details": [{"rule": "risk.score", "score": 40, "factors": ["risk.country_mismatch"]}],
            "phrase": score,
        }
    ]


def test_an_approved_decision_as_json() -> None:
    decision = review(make_subject(), [VIP, {"key": "order.merge"}])
    assert decision.as_json(ruleset=0, at=NOW, merge_ids=[41]) == {
        "outcome": "approved",
        "ruleset": 0,
        "reviewed_at": NOW.isoformat(),
        "risk": {"score": 0, "factors": []},
        "fired": [],
        "merge_with": [41],
    }
    decision = review(make_subject(make_order(tags=["vip"])), [VIP])
    out = decision.as_json(ruleset=0, at=NOW)
    assert out["approved_by"] == "vip"
    assert out["fired"] == [
        {
            "rule": "vip",
            "version": 0,
            "message": VIP["name"],
            "actions": ["approve"],
            "phrases": [{"text": "approve", "args": {}}],
        }
    ]


# --- tuning the built-in rules ----------------------------------------------------------------------


def test_the_shipped_rules_are_every_check_with_its_defaults() -> None:
    rules = default_rules()
    assert [r.key for r in rules] == list(CHECKS)
    assert all(r.enabled for r in rules)
    assert {r.key: r.priority for r in rules} == {c.name: c.priority for c in CHECKS.values()}
    assert {r.key: r.spec["then"] for r in rules}["remark.keywords"] == [{"hold": "remark"}]


def test_a_built_in_rules_params_can_be_tuned() -> None:
    history = History()
    remember(history, make_order(external_id="900", minutes_ago=3), "old-1")
    context = ReviewContext(history=history)
    assert review(make_subject(), builtins(), context).approved
    tuned = builtins({"key": "risk.velocity", "params": {"max_orders": 1}})
    decision = review(make_subject(), tuned, context)
    assert only_hold(decision)[0] is HoldReason.RISK
    assert "2 similar orders" in decision.holds[0].message
    (rule,) = compile_rules([{"key": "risk.velocity", "params": {"max_orders": 1}}])
    assert rule.spec["params"]["max_orders"] == 1
    assert rule.spec["params"]["weight"] == 60  # the rest as shipped


def test_a_built_in_rule_can_tag_instead_of_holding() -> None:
    order = make_order(buyer_remark="gift wrap please")
    assert only_hold(review(make_subject(order), builtins()))[0] is HoldReason.REMARK
    tuned = builtins({"key": "remark.keywords", "then": [{"tag": "read-remark"}]})
    decision = review(make_subject(order), tuned)
    assert decision.approved
    assert decision.tags == ["read-remark"]
    assert [(f.rule, f.actions) for f in decision.fired] == [("remark.keywords", ("tag read-remark",))]
    assert "gift wrap" in decision.fired[0].message


def test_a_built_in_rule_can_be_moved_and_renamed() -> None:
    (rule,) = compile_rules([{"key": "address.po_box", "name": "No PO boxes, ever", "priority": 1}])
    assert (rule.name, rule.priority, rule.check) == ("No PO boxes, ever", 1, CHECKS["address.po_box"])


def test_whether_a_short_order_is_held_follows_the_stock_rule() -> None:
    assert RuleSet(default_rules()).holds_when_short(make_subject())
    tag_only = compile_rules(builtins({"key": "stock.available", "then": [{"tag": "backorder"}]}))
    assert not RuleSet(tag_only).holds_when_short(make_subject())
    elsewhere = compile_rules(builtins({"key": "stock.available", "scope": {"shops": ["shop-eu"]}}))
    assert not RuleSet(elsewhere).holds_when_short(make_subject())
    off = compile_rules(builtins({"key": "stock.available", "enabled": False}))
    assert not RuleSet(off).holds_when_short(make_subject())


def test_a_rule_set_may_be_built_from_any_iterable_of_rules() -> None:
    ruleset = RuleSet(rule for rule in default_rules())
    assert len(ruleset.rules) + len(ruleset.factors) == len(CHECKS)
    assert len(ruleset.all_rules) == len(CHECKS)


# --- validation -------------------------------------------------------------------------------------


def errors_of(*rules: Any) -> list[dict[str, str]]:
    with pytest.raises(RuleInvalid) as caught:
        compile_rules(list(rules))
    errors = caught.value.errors
    assert errors
    assert caught.value.field == errors[0]["field"]
    return errors


def message_at(path: str, *rules: Any) -> str:
    errors = errors_of(*rules)
    found = [e["message"] for e in errors if e["field"] == path]
    assert found, errors
    return found[0]


def custom(**changes: Any) -> dict[str, Any]:
    rule: dict[str, Any] = {
        "key": "big-orders",
        "name": "Big orders",
        "when": {"fact": "order.total", "gt": 100_000},
        "then": [{"hold": "manual"}],
    }
    rule.update(changes)
    return {k: v for k, v in rule.items() if v is not None}


def nested_nots(depth: int) -> dict[str, Any]:
    tree: dict[str, Any] = {"fact": "order.total", "gt": 1}
    for _ in range(depth):
        tree = {"not": tree}
    return tree


def test_a_valid_rule_compiles() -> None:
    (rule,) = compile_rules([custom()])
    assert rule.key == "big-orders"
    assert rule.spec == {
        "key": "big-orders",
        "name": "Big orders",
        "enabled": True,
        "priority": 1000,
        "when": {"fact": "order.total", "gt": 100_000},
        "then": [{"hold": "manual"}],
    }


INVALID: list[tuple[str, Any, str, list[str]]] = [
    (
        "unknown fact",
        custom(when={"fact": "order.totl", "gt": 1}),
        "rules[0].when.fact",
        ["unknown fact 'order.totl'", "did you mean 'order.total'?"],
    ),
    (
        "unknown fact, nested",
        custom(when={"all": [{"fact": "order.total", "gt": 1}, {"fact": "buyer.emial", "eq": "x"}]}),
        "rules[0].when.all[1].fact",
        ["unknown fact 'buyer.emial'", "did you mean 'buyer.email'?"],
    ),
    (
        "unknown fact, nothing close",
        custom(when={"fact": "zzz", "eq": "x"}),
        "rules[0].when.fact",
        ["unknown fact 'zzz'", "known facts:", "order.total"],
    ),
    (
        "operator not for lists",
        custom(when={"fact": "order.skus", "gt": 1}),
        "rules[0].when.gt",
        ["order.skus is list", "contains, contains_all, contains_any, is_empty"],
    ),
    (
        "operator not for bools",
        custom(when={"fact": "stock.short", "contains": "x"}),
        "rules[0].when.contains",
        ["stock.short is bool", "eq, is_null"],
    ),
    (
        "text for a number",
        custom(when={"fact": "order.total", "gt": "100"}),
        "rules[0].when.gt",
        ["gt needs a number", "'100'"],
    ),
    (
        "bool for a number",
        custom(when={"fact": "order.total", "eq": True}),
        "rules[0].when.eq",
        ["eq needs a number", "True"],
    ),
    (
        "a naive time",
        custom(when={"fact": "order.placed_at", "gt": datetime(2026, 1, 1)}),
        "rules[0].when.gt",
        ["gt needs an aware ISO 8601 time"],
    ),
    (
        "not a list for in",
        custom(when={"fact": "address.country", "in": "US"}),
        "rules[0].when.in",
        ["in takes a list of 1 to 10000 values"],
    ),
    (
        "an empty list for in",
        custom(when={"fact": "address.country", "not_in": []}),
        "rules[0].when.not_in",
        ["not_in takes a list"],
    ),
    (
        "a wrong item in the list",
        custom(when={"fact": "order.total", "in": [1, "2"]}),
        "rules[0].when.in",
        ["in needs a number in every item", "'2' is not"],
    ),
    (
        "not a bool for is_null",
        custom(when={"fact": "order.total", "is_null": "yes"}),
        "rules[0].when.is_null",
        ["is_null takes true or false", "'yes'"],
    ),
    (
        "not a bool for a bool fact",
        custom(when={"fact": "stock.short", "eq": "yes"}),
        "rules[0].when.eq",
        ["eq takes true or false"],
    ),
    (
        "two operators",
        custom(when={"fact": "order.total", "gt": 1, "lt": 5}),
        "rules[0].when",
        ["exactly one operator for order.total", "gte"],
    ),
    (
        "no operator",
        custom(when={"fact": "order.total"}),
        "rules[0].when",
        ["exactly one operator for order.total"],
    ),
    (
        "unknown condition",
        custom(when={"either": [{"fact": "order.total", "gt": 1}]}),
        "rules[0].when",
        ["unknown condition 'either'", "all, any, not or fact"],
    ),
    (
        "two conditions in one",
        custom(when={"all": [{"fact": "order.total", "gt": 1}], "any": [{"fact": "order.total", "gt": 1}]}),
        "rules[0].when",
        ["one of all, any, not or fact per condition", "all, any"],
    ),
    (
        "not a condition",
        custom(when=["order.total > 1"]),
        "rules[0].when",
        ["a condition is an object"],
    ),
    (
        "empty all",
        custom(when={"all": []}),
        "rules[0].when.all",
        ["all takes a non-empty list of conditions"],
    ),
    (
        "any not a list",
        custom(when={"any": {"fact": "order.total", "gt": 1}}),
        "rules[0].when.any",
        ["any takes"],
    ),
    (
        "too deep",
        custom(when=nested_nots(MAX_DEPTH + 1)),
        "rules[0].when" + ".not" * (MAX_DEPTH + 1),
        [f"deeper than {MAX_DEPTH} levels"],
    ),
    (
        "unknown action",
        custom(then=[{"explode": True}]),
        "rules[0].then[0]",
        ["unknown action 'explode'", "approve, hold, tag"],
    ),
    (
        "two actions in one",
        custom(then=[{"hold": "risk", "tag": "x"}]),
        "rules[0].then[0]",
        ["an action is an object with one key"],
    ),
    (
        "hold without a reason",
        custom(then=[{"hold": {"message": "look at this"}}]),
        "rules[0].then[0].hold",
        ["hold needs a reason", "out_of_stock"],
    ),
    (
        "unknown hold reason",
        custom(then=[{"hold": "fraud"}]),
        "rules[0].then[0].hold.reason",
        [
            "unknown hold reason 'fraud'",
            "address, cancel_request, manual, out_of_stock, payment, remark, risk, stock",
        ],
    ),
    (
        "unknown hold field",
        custom(then=[{"hold": {"reason": "risk", "why": "x"}}]),
        "rules[0].then[0].hold",
        ["hold takes reason and message, not why"],
    ),
    (
        "empty hold message",
        custom(then=[{"hold": {"reason": "risk", "message": ""}}]),
        "rules[0].then[0].hold.message",
        ["1 to 500 characters"],
    ),
    ("approve false", custom(then=[{"approve": False}]), "rules[0].then[0].approve", ["approve takes true"]),
    ("empty tag", custom(then=[{"tag": [""]}]), "rules[0].then[0].tag", ["1-64 characters"]),
    (
        "order priority out of range",
        custom(then=[{"priority": 101}]),
        "rules[0].then[0].priority",
        ["-100 (last) to 100 (first)"],
    ),
    (
        "warehouse with both",
        custom(then=[{"warehouse": {"use": "WH-1", "exclude": ["WH-2"]}}]),
        "rules[0].then[0].warehouse",
        ["warehouse takes {use: CODE} or {exclude: [CODE, ...]}"],
    ),
    (
        "split not a bool",
        custom(then=[{"split": "no"}]),
        "rules[0].then[0].split",
        ["split takes true or false"],
    ),
    ("empty notify", custom(then=[{"notify": ""}]), "rules[0].then[0].notify", ["notify takes a message"]),
    ("negative priority", custom(priority=-1), "rules[0].priority", ["whole number from 0 (runs first)"]),
    ("text priority", custom(priority="high"), "rules[0].priority", ["whole number from 0"]),
    ("bool priority", custom(priority=True), "rules[0].priority", ["whole number from 0"]),
    ("huge priority", custom(priority=100_001), "rules[0].priority", ["to 100000"]),
    (
        "unknown scope",
        custom(scope={"regions": ["TX"]}),
        "rules[0].scope.regions",
        ["unknown scope 'regions'", "shops, channels, countries, skus, categories, tags"],
    ),
    (
        "scope not a list",
        custom(scope={"shops": "shop-us"}),
        "rules[0].scope.shops",
        ["shops is a list of codes"],
    ),
    (
        "scope with a blank",
        custom(scope={"skus": ["MUG-1", ""]}),
        "rules[0].scope.skus",
        ["skus is a list of codes"],
    ),
    ("scope not an object", custom(scope=["shop-us"]), "rules[0].scope", ["a scope is an object", "shops"]),
    ("key with spaces", custom(key="Big Orders"), "rules[0].key", ["lower-case letters, digits"]),
    ("key starting with a dot", custom(key=".big"), "rules[0].key", ["starting with a letter or digit"]),
    ("key too long", custom(key="k" * 65), "rules[0].key", ["1-64"]),
    ("no key", custom(key=None), "rules[0].key", ["a key is 1-64"]),
    (
        "reserved prefix",
        custom(key="risk.custom"),
        "rules[0].key",
        ["'risk.custom' is not a built-in check", "reserved"],
    ),
    (
        "built-in check named by another key",
        custom(check="risk.velocity"),
        "rules[0].check",
        ["check is set by the key"],
    ),
    (
        "unknown rule field",
        custom(condition={"fact": "order.total", "gt": 1}),
        "rules[0]",
        ["unknown field(s) condition", "when", "then"],
    ),
    ("no name", custom(name=""), "rules[0].name", ["a rule needs a name"]),
    ("enabled not a bool", custom(enabled="yes"), "rules[0].enabled", ["enabled is true or false"]),
    ("description too long", custom(description="x" * 2001), "rules[0].description", ["up to 2000"]),
    (
        "params on a custom rule",
        custom(params={"weight": 10}),
        "rules[0].params",
        ["only built-in rules take params"],
    ),
    (
        "custom rule without then",
        custom(then=None),
        "rules[0].then",
        ["then is a list of actions", "[{hold: risk}]"],
    ),
    ("custom rule with no actions", custom(then=[]), "rules[0].then", ["then is a list of actions"]),
    (
        "a null condition",
        {**custom(), "when": None},
        "rules[0].when",
        ["a condition cannot be null", "leave it out"],
    ),
    (
        "weight above 100",
        {"key": "risk.velocity", "params": {"weight": 150}},
        "rules[0].params.weight",
        ["less than or equal to 100"],
    ),
    (
        "no keywords",
        {"key": "remark.keywords", "params": {"keywords": []}},
        "rules[0].params.keywords",
        ["at least 1 item"],
    ),
    (
        "a blank keyword",
        {"key": "remark.keywords", "params": {"keywords": ["urgent", "  "]}},
        "rules[0].params.keywords",
        ["a keyword cannot be blank"],
    ),
    (
        "unknown param",
        {"key": "risk.velocity", "params": {"max_order": 1}},
        "rules[0].params.max_order",
        ["unknown param", "window_minutes"],
    ),
    (
        "a param of the wrong kind",
        {"key": "risk.velocity", "params": {"similar": "same_shop"}},
        "rules[0].params.similar",
        ["'shared_sku' or 'any'"],
    ),
    (
        "a blacklisted address without a street",
        {"key": "risk.blacklist", "params": {"addresses": [{"country": "US"}]}},
        "rules[0].params.addresses",
        ["addresses[0] needs line1 and country"],
    ),
    (
        "a built-in then not a list",
        {"key": "risk.score", "then": {"hold": "risk"}},
        "rules[0].then",
        ["then is a list"],
    ),
    ("not a rule", "big-orders", "rules[0]", ["a rule is an object"]),
]


@pytest.mark.parametrize(
    ("rule", "path", "words"), [case[1:] for case in INVALID], ids=[c[0] for c in INVALID]
)
def test_an_invalid_rule_is_refused_saying_where_and_why(rule: Any, path: str, words: list[str]) -> None:
    message = message_at(path, rule)
    for word in words:
        assert word in message, message


def test_conditions_may_nest_as_deep_as_the_limit() -> None:
    (rule,) = compile_rules([custom(when=nested_nots(MAX_DEPTH))])
    assert rule.when is not None


def test_an_invalid_condition_is_not_also_reported_as_null() -> None:
    errors = errors_of(custom(when={"fact": "order.totl", "gt": 1}))
    assert errors == [
        {"field": "rules[0].when.fact", "message": "unknown fact 'order.totl'; did you mean 'order.total'?"}
    ]


def test_duplicate_keys_are_refused() -> None:
    message = message_at("rules[2].key", custom(), tagger(), custom(name="Again"))
    assert "'big-orders' appears twice" in message
    assert "appears twice" in message_at("rules[1].key", {"key": "risk.score"}, {"key": "risk.score"})


def test_every_problem_is_reported_at_once() -> None:
    rule = custom(priority=-5, when={"fact": "order.totl", "gt": 1}, then=[{"explode": True}])
    errors = errors_of(rule)
    assert len(errors) >= 3
    assert {e["field"] for e in errors} >= {"rules[0].priority", "rules[0].when.fact", "rules[0].then[0]"}


def test_problems_in_several_rules_are_reported_together() -> None:
    errors = errors_of(
        custom(), tagger("bad", then=[{"hold": "fraud"}]), {"key": "risk.score", "params": {"x": 1}}
    )
    fields = [e["field"] for e in errors]
    assert fields == ["rules[1].then[0].hold.reason", "rules[2].params.x"]
    with pytest.raises(RuleInvalid) as caught:
        compile_rules([custom(), tagger("bad", then=[{"hold": "fraud"}])])
    assert "rules[1].then[0].hold.reason: unknown hold reason 'fraud'" in str(caught.value)


def test_a_rule_set_has_a_limit() -> None:
    assert message_at("rules", *[tagger(f"r{n}") for n in range(501)]) == "at most 500 rules"
    assert len(compile_rules([tagger(f"r{n}") for n in range(500)])) == 500


def test_what_history_the_rules_need_comes_from_the_checks_and_conditions_that_look() -> None:
    rules = compile_rules(
        [
            {"key": "risk.velocity", "params": {"window_minutes": 5, "similar": "any"}},
            {"key": "order.merge", "params": {"window_hours": 2}},
            {"key": "repeat", "when": {"fact": "buyer.recent_orders", "gt": 3}, "then": [{"tag": "repeat"}]},
        ]
    )
    assert RuleSet(rules, history_hours=6).lookbacks() == [
        Lookback(300, every_identity=True, skus=False),
        Lookback(7200, every_identity=False),
        Lookback(6 * 3600, every_identity=True),
    ]
    assert RuleSet(
        [r for r in rules if r.key == "repeat"] + compile_rules([{"key": "stock.available"}])
    ).stock_rules == {"stock.available"}
    assert {name for name, check in CHECKS.items() if check.holds_for_stock} == {"stock.available"}
