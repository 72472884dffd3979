"""The built-in checks of auto-review, one by one: when each fires, with what hold or risk factor and
what it says to the person who reads it, and when it stays quiet. Pure: no database."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import TypeAdapter

from orderly.orders.domain import HoldReason
from orderly.orders.schemas import NormalizedOrder
from orderly.review import checks
from orderly.review.checks import CHECKS
from orderly.review.domain.engine import Decision, RuleSet
from orderly.review.domain.rules import compile_rules, default_rules
from orderly.review.domain.view import History, ReviewContext, ShopNorm, Subject, View

NOW = datetime(2026, 5, 6, 12, 0, tzinfo=UTC)
_ORDER = TypeAdapter(NormalizedOrder)

BUYER = {"name": "Ada Lovelace", "email": "ada@example.com", "phone": "+1 512 555 0143", "platform_id": "C-1"}
ADDRESS = {
    "name": "Ada Lovelace",
    "line1": "500 Congress Ave",
    "line2": "Suite 200",
    "city": "Austin",
    "region": "TX",
    "postal_code": "78701",
    "country": "US",
    "phone": "+1 512 555 0143",
}


def make_order(
    *,
    lines: Sequence[tuple[str, int]] = (("MUG-1", 1),),
    buyer: Mapping[str, Any] | None = None,
    shipping_address: Mapping[str, Any] | None = None,
    minutes_ago: float = 5,
    **fields: Any,
) -> dict[str, Any]:
    """A clean, paid US order placed ``minutes_ago`` before :data:`NOW`, as a plain normalized-order
    dict; ``buyer`` and ``shipping_address`` update the default ones field by field."""
    placed = NOW - timedelta(minutes=minutes_ago)
    order: dict[str, Any] = {
        "shop": "shop-us",
        "external_id": "1001",
        "placed_at": placed,
        "updated_at": placed,
        "currency": "USD",
        "payment_status": "paid",
        "payment_method": "card",
        "platform_status": "paid",
        "buyer": {**BUYER, **(buyer or {})},
        "shipping_address": {**ADDRESS, **(shipping_address or {})},
        "billing_country": "US",
        "lines": [{"platform_sku": sku, "quantity": qty, "unit_price": 2500} for sku, qty in lines],
        "shipping_total": 500,
        "discount_total": 0,
        "tax_total": 0,
        "buyer_remark": None,
        "seller_remark": None,
        "tags": [],
    }
    order.update(fields)
    return order


def make_subject(
    order: Mapping[str, Any] | None = None,
    *,
    key: str = "o-1",
    total: int | None = None,
    needs: Mapping[str, int] | None = None,
    categories: Iterable[str] = (),
    channel: str | None = "shopify",
) -> Subject:
    """A review subject of a normalized order (checked as ingest checks it); the order's lines are
    its (SKU, quantity) pairs and, unless given, what it needs of stock."""
    checked = _ORDER.validate_python(dict(order if order is not None else make_order()))
    lines = tuple((line["platform_sku"] or "", line["quantity"]) for line in checked["lines"])
    if total is None:
        total = sum(line["unit_price"] * line["quantity"] for line in checked["lines"])
        total += checked["shipping_total"] + checked["tax_total"] - checked["discount_total"]
    if needs is None:
        needs = {}
        for sku, qty in lines:
            needs[sku] = needs.get(sku, 0) + qty
    return Subject(key, checked, total, lines, dict(needs), frozenset(categories), channel)


def review(
    subject: Subject | None = None,
    rules: Sequence[Any] | None = None,
    context: ReviewContext | None = None,
) -> Decision:
    """Review with these rules (default: every built-in as shipped) and this context (default: empty)."""
    ruleset = RuleSet(compile_rules(rules) if rules is not None else default_rules())
    return ruleset.review(subject or make_subject(), context or ReviewContext())


def remember(history: History, order: Mapping[str, Any], key: str, *, mergeable: bool = True) -> None:
    """Put an earlier order in the history, as the service does for orders it has seen."""
    seen = make_subject(order, key=key)
    history.add(seen.seen(mergeable=mergeable), seen.identities)


def only_hold(decision: Decision) -> tuple[HoldReason, str]:
    assert len(decision.holds) == 1, decision.holds
    return decision.holds[0].reason, decision.holds[0].message


def factor_names(decision: Decision) -> list[str]:
    return [f.name for f in decision.risk_factors]


# --- the clean order --------------------------------------------------------------------------------


def test_a_clean_order_passes_every_built_in_check() -> None:
    decision = review()
    assert decision.approved
    assert decision.holds == []
    assert decision.fired == []
    assert decision.risk_score == 0
    assert decision.risk_factors == []


def test_every_built_in_check_is_covered_here() -> None:
    covered = {
        "address.missing",
        "address.postal_code",
        "address.phone",
        "address.po_box",
        "remark.keywords",
        "risk.velocity",
        "risk.high_value",
        "risk.country_mismatch",
        "risk.blacklist",
        "risk.unpaid_timeout",
        "risk.score",
        "payment.unpaid",
        "stock.presale",
        "stock.available",
        "stock.split",
        "order.merge",
    }
    assert set(CHECKS) == covered


# --- address.missing --------------------------------------------------------------------------------


def test_a_placeholder_line_is_a_missing_field() -> None:
    order = make_order(shipping_address={"line1": "N/A"})
    reason, message = only_hold(review(make_subject(order)))
    assert reason is HoldReason.ADDRESS
    assert "incomplete" in message
    assert "street missing" in message


def test_a_missing_postal_code_is_reported_once_in_words() -> None:
    decision = review(make_subject(make_order(shipping_address={"postal_code": None})))
    reason, message = only_hold(decision)  # not also by the postal-code format check
    assert reason is HoldReason.ADDRESS
    assert "postal code missing" in message
    assert [f.rule for f in decision.fired] == ["address.missing"]


def test_several_missing_fields_are_all_named() -> None:
    order = make_order(shipping_address={"line1": "-", "city": "n/a", "postal_code": None})
    _, message = only_hold(review(make_subject(order), [{"key": "address.missing"}]))
    assert "street, city, postal code missing" in message


def test_a_country_without_postal_codes_needs_none() -> None:
    order = make_order(
        shipping_address={
            "line1": "1 Queen's Road Central",
            "line2": None,
            "city": "Hong Kong",
            "region": None,
            "postal_code": None,
            "country": "HK",
            "phone": "+852 2123 4567",
        },
        billing_country="HK",
        buyer={"phone": None},
    )
    assert review(make_subject(order)).approved


def test_required_fields_are_a_param() -> None:
    order = make_order(shipping_address={"region": None})
    assert review(make_subject(order), [{"key": "address.missing"}]).approved
    rules = [{"key": "address.missing", "params": {"required": ["region"]}}]
    _, message = only_hold(review(make_subject(order), rules))
    assert "region missing" in message


# --- address.postal_code ----------------------------------------------------------------------------

POSTAL = [{"key": "address.postal_code"}]


@pytest.mark.parametrize(
    ("country", "good", "bad", "example"),
    [
        ("GB", "SW1A 1AA", "12345", "SW1A 1AA"),
        ("JP", "150-0001", "1500", "150-0001"),
        ("BR", "01310-100", "0131", "01310-100"),
        ("CA", "K1A 0B1", "12345", "K1A 0B1"),
        ("US", "78701-1234", "7870", "94105"),
    ],
)
def test_a_postal_code_must_fit_its_country(country: str, good: str, bad: str, example: str) -> None:
    fits = make_order(shipping_address={"country": country, "postal_code": good})
    assert review(make_subject(fits), POSTAL).approved
    wrong = make_order(shipping_address={"country": country, "postal_code": bad})
    reason, message = only_hold(review(make_subject(wrong), POSTAL))
    assert reason is HoldReason.ADDRESS
    assert f"postal code '{bad}'" in message
    assert f"does not fit {country}'s format" in message
    assert example in message


def test_a_postal_code_written_loosely_still_fits() -> None:
    order = make_order(shipping_address={"country": "GB", "postal_code": "sw1a1aa"})
    assert review(make_subject(order), POSTAL).approved


def test_the_format_check_leaves_a_missing_code_to_the_missing_fields_check() -> None:
    order = make_order(shipping_address={"postal_code": None})
    assert review(make_subject(order), POSTAL).approved


# --- address.phone ----------------------------------------------------------------------------------

PHONE = [{"key": "address.phone"}]


def test_an_invalid_phone_is_held_for_the_address() -> None:
    order = make_order(shipping_address={"phone": "12345"}, buyer={"phone": None})
    reason, message = only_hold(review(make_subject(order), PHONE))
    assert reason is HoldReason.ADDRESS
    assert "phone '12345'" in message
    assert "not a valid number for US" in message


def test_a_phone_of_another_country_says_which() -> None:
    order = make_order(shipping_address={"phone": "+44 20 7946 0958"})
    _, message = only_hold(review(make_subject(order), PHONE))
    assert "not a valid number for US" in message
    assert "GB number" in message


def test_the_buyer_phone_stands_in_for_a_missing_address_phone() -> None:
    order = make_order(shipping_address={"phone": None}, buyer={"phone": "12345"})
    _, message = only_hold(review(make_subject(order), PHONE))
    assert "12345" in message


def test_a_valid_phone_in_any_common_format_passes() -> None:
    for phone in ("+1 512 555 0143", "(512) 555-0143", "512-555-0143"):
        order = make_order(shipping_address={"phone": phone})
        assert review(make_subject(order), PHONE).approved, phone


def test_no_phone_is_fine_unless_required() -> None:
    order = make_order(shipping_address={"phone": None}, buyer={"phone": None})
    assert review(make_subject(order), PHONE).approved
    rules = [{"key": "address.phone", "params": {"required": True}}]
    reason, message = only_hold(review(make_subject(order), rules))
    assert reason is HoldReason.ADDRESS
    assert "no phone number" in message


# --- address.po_box ---------------------------------------------------------------------------------

PO_BOX = [{"key": "address.po_box"}]


@pytest.mark.parametrize(("line1", "line2"), [("PO Box 1234", None), ("Ada Lovelace", "P.O. Box 77")])
def test_a_po_box_is_held_because_the_carrier_refuses_it(line1: str, line2: str | None) -> None:
    order = make_order(shipping_address={"line1": line1, "line2": line2})
    reason, message = only_hold(review(make_subject(order), PO_BOX))
    assert reason is HoldReason.ADDRESS
    assert "PO box" in message
    assert "carrier" in message


def test_a_street_named_box_is_not_a_po_box() -> None:
    order = make_order(shipping_address={"line1": "12 Box Hill Road", "line2": None})
    assert review(make_subject(order), PO_BOX).approved


# --- remark.keywords --------------------------------------------------------------------------------

REMARKS = [{"key": "remark.keywords"}]


@pytest.mark.parametrize(
    ("remark", "keyword"), [("Please ship ASAP, thanks", "asap"), ("请加急发货", "加急")]
)
def test_a_remark_with_a_keyword_is_held_for_a_person(remark: str, keyword: str) -> None:
    decision = review(make_subject(make_order(buyer_remark=remark)), REMARKS)
    reason, message = only_hold(decision)
    assert reason is HoldReason.REMARK
    assert "buyer remark" in message
    assert repr(keyword) in message
    assert remark in message


def test_a_remark_without_keywords_passes() -> None:
    assert review(make_subject(make_order(buyer_remark="Leave at the back door")), REMARKS).approved


def test_keywords_are_a_param_matched_case_insensitively() -> None:
    rules = [{"key": "remark.keywords", "params": {"keywords": ["Fragile"]}}]
    _, message = only_hold(review(make_subject(make_order(buyer_remark="FRAGILE: glass inside")), rules))
    assert "'fragile'" in message
    # The list replaces the default one.
    assert review(make_subject(make_order(buyer_remark="urgent please")), rules).approved


def test_the_seller_remark_is_read_only_when_asked() -> None:
    order = make_order(seller_remark="customer asked to cancel")
    assert review(make_subject(order), REMARKS).approved
    rules = [{"key": "remark.keywords", "params": {"fields": ["buyer_remark", "seller_remark"]}}]
    reason, message = only_hold(review(make_subject(order), rules))
    assert reason is HoldReason.REMARK
    assert "seller remark" in message
    assert "'cancel'" in message


# --- risk.velocity ----------------------------------------------------------------------------------

VELOCITY = [{"key": "risk.velocity"}, {"key": "risk.score"}]


def _history(*earlier: tuple[float, Sequence[tuple[str, int]]]) -> History:
    history = History()
    for n, (minutes_ago, lines) in enumerate(earlier):
        remember(history, make_order(minutes_ago=minutes_ago, lines=lines, external_id=f"9{n}"), f"old-{n}")
    return history


def test_several_similar_orders_within_minutes_are_a_risk() -> None:
    history = _history((9, [("MUG-1", 1)]), (7, [("MUG-1", 2), ("CAP-1", 1)]))
    decision = review(make_subject(), VELOCITY, ReviewContext(history=history))
    assert factor_names(decision) == ["risk.velocity"]
    factor = decision.risk_factors[0]
    assert factor.weight == 60
    assert "3 similar orders" in factor.message
    assert "within 10 minutes" in factor.message
    reason, message = only_hold(decision)
    assert reason is HoldReason.RISK
    assert "3 similar orders" in message


def test_one_earlier_order_is_tolerated() -> None:
    history = _history((9, [("MUG-1", 1)]))
    assert factor_names(review(make_subject(), VELOCITY, ReviewContext(history=history))) == []


def test_orders_of_other_skus_are_similar_only_when_any_order_counts() -> None:
    history = _history((9, [("CAP-1", 1)]), (7, [("HAT-1", 1)]))
    context = ReviewContext(history=history)
    assert factor_names(review(make_subject(), VELOCITY, context)) == []
    rules = [{"key": "risk.velocity", "params": {"similar": "any"}}]
    assert factor_names(review(make_subject(), rules, context)) == ["risk.velocity"]


def test_orders_outside_the_window_do_not_count() -> None:
    history = _history((40, [("MUG-1", 1)]), (30, [("MUG-1", 1)]))
    context = ReviewContext(history=history)
    assert factor_names(review(make_subject(), VELOCITY, context)) == []
    wider = [{"key": "risk.velocity", "params": {"window_minutes": 60}}]
    assert factor_names(review(make_subject(), wider, context)) == ["risk.velocity"]


def test_orders_of_someone_else_do_not_count() -> None:
    history = History()
    for n in range(3):
        other = make_order(
            external_id=f"9{n}",
            buyer={"email": f"someone{n}@example.org", "phone": None, "platform_id": f"X-{n}"},
            shipping_address={"line1": f"{n} Elm Street", "phone": None},
        )
        remember(history, other, f"old-{n}")
    assert factor_names(review(make_subject(), VELOCITY, ReviewContext(history=history))) == []


# --- risk.high_value --------------------------------------------------------------------------------

HIGH_VALUE = [{"key": "risk.high_value"}, {"key": "risk.score"}]
NORMS = {("shop-us", "USD"): ShopNorm(median=5_000, orders=100)}


def test_an_order_far_above_the_shops_median_is_a_risk() -> None:
    decision = review(make_subject(total=60_000), HIGH_VALUE, ReviewContext(norms=NORMS))
    assert factor_names(decision) == ["risk.high_value"]
    message = decision.risk_factors[0].message
    assert "12x" in message
    assert "usual" in message
    assert "USD" in message
    assert only_hold(decision)[0] is HoldReason.RISK


def test_high_value_shows_amounts_in_the_currency_not_in_cents() -> None:
    """A person reads "$600.00 is 12x the usual $50.00", not "60000 USD is 12x the usual 5000 USD"."""
    decision = review(make_subject(total=60_000), HIGH_VALUE, ReviewContext(norms=NORMS))
    message = decision.risk_factors[0].message
    assert "600.00" in message, message
    assert "50.00" in message, message


def test_an_ordinary_total_is_no_risk() -> None:
    decision = review(make_subject(total=30_000), HIGH_VALUE, ReviewContext(norms=NORMS))
    assert factor_names(decision) == []


def test_high_value_needs_history_of_the_shop_in_that_currency() -> None:
    few = {("shop-us", "USD"): ShopNorm(median=5_000, orders=10)}
    assert factor_names(review(make_subject(total=60_000), HIGH_VALUE, ReviewContext(norms=few))) == []
    rules = [{"key": "risk.high_value", "params": {"min_orders": 10}}]
    assert factor_names(review(make_subject(total=60_000), rules, ReviewContext(norms=few))) == [
        "risk.high_value"
    ]
    eur = {("shop-us", "EUR"): ShopNorm(median=5_000, orders=100)}
    assert factor_names(review(make_subject(total=60_000), HIGH_VALUE, ReviewContext(norms=eur))) == []


# --- risk.country_mismatch --------------------------------------------------------------------------

MISMATCH = [{"key": "risk.country_mismatch"}, {"key": "risk.score"}]


def test_billing_in_another_country_is_a_risk() -> None:
    decision = review(make_subject(make_order(billing_country="NG")), MISMATCH)
    assert factor_names(decision) == ["risk.country_mismatch"]
    assert decision.risk_factors[0].weight == 50
    assert decision.risk_factors[0].message == "billed in NG, shipped to US"
    assert only_hold(decision)[0] is HoldReason.RISK


@pytest.mark.parametrize("billing", ["US", None])
def test_same_or_unknown_billing_country_is_no_risk(billing: str | None) -> None:
    decision = review(make_subject(make_order(billing_country=billing)), MISMATCH)
    assert factor_names(decision) == []
    assert decision.approved


# --- risk.blacklist ---------------------------------------------------------------------------------

BLACKLIST = [
    {
        "key": "risk.blacklist",
        "params": {
            "emails": ["Fraud@Example.COM"],
            "phones": ["(415) 555-0199"],
            "buyers": ["BAD-7"],
            "addresses": [{"line1": "13 Mockingbird Lane.", "postal_code": "78-702", "country": "us"}],
        },
    },
    {"key": "risk.score"},
]


@pytest.fixture
def fresh_blacklist_cache(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The blacklist check caches its sets per params object; keep each test's own (whether or not
    the cache is a module dict)."""
    monkeypatch.setattr(checks, "_BLACKLISTS", {}, raising=False)
    yield


@pytest.mark.usefixtures("fresh_blacklist_cache")
@pytest.mark.parametrize(
    ("buyer", "address", "hit"),
    [
        ({"email": "FRAUD@example.com"}, {}, "email FRAUD@example.com"),
        ({"phone": "+1 415 555 0199"}, {}, "phone +1 415 555 0199"),
        ({"phone": None}, {"phone": "415.555.0199"}, "phone 415.555.0199"),
        ({"platform_id": "BAD-7"}, {}, "buyer BAD-7"),
        ({}, {"line1": "13 mockingbird lane", "line2": "Apt 4", "postal_code": "78702"}, "address 13 mock"),
    ],
)
def test_a_blacklisted_buyer_is_a_risk_however_written(
    buyer: dict[str, Any], address: dict[str, Any], hit: str
) -> None:
    order = make_order(buyer=buyer, shipping_address=address)
    decision = review(make_subject(order), BLACKLIST)
    assert factor_names(decision) == ["risk.blacklist"]
    assert decision.risk_factors[0].weight == 100
    assert decision.risk_score == 100
    message = decision.risk_factors[0].message
    assert message.startswith("blacklisted ")
    assert hit in message
    assert only_hold(decision)[0] is HoldReason.RISK


@pytest.mark.usefixtures("fresh_blacklist_cache")
def test_a_buyer_not_on_the_blacklist_passes() -> None:
    decision = review(make_subject(), BLACKLIST)
    assert factor_names(decision) == []
    assert decision.approved


@pytest.mark.usefixtures("fresh_blacklist_cache")
def test_a_blacklisted_address_on_another_street_number_does_not_match() -> None:
    order = make_order(shipping_address={"line1": "31 Mockingbird Lane", "postal_code": "78702"})
    assert factor_names(review(make_subject(order), BLACKLIST)) == []


@pytest.mark.usefixtures("fresh_blacklist_cache")
def test_an_edited_blacklist_is_the_one_that_counts() -> None:
    """Sellers edit the blacklist and the rule is compiled again, into a new params object: the check
    must judge by that object's lists, never by lists cached for an older object that is gone."""
    check = CHECKS["risk.blacklist"]
    emails = [f"fraud-{n}@example.net" for n in range(30)]
    views = [View(make_subject(make_order(buyer={"email": e})), ReviewContext()) for e in emails]
    missed = []
    for email, view in zip(emails, views, strict=True):
        params = check.params.model_validate({"emails": [email]})
        if check.run(view, params) is None:
            missed.append(email)
        del params  # the old rule set is dropped when the new one is compiled
    assert missed == []


# --- payment.unpaid and risk.unpaid_timeout ---------------------------------------------------------

PAYMENT = [{"key": "payment.unpaid"}, {"key": "risk.unpaid_timeout"}, {"key": "risk.score"}]


def _pending(minutes_ago: float, method: str | None = "paypal", status: str = "pending") -> Decision:
    order = make_order(payment_status=status, payment_method=method, minutes_ago=minutes_ago)
    return review(make_subject(order), PAYMENT, ReviewContext(now=NOW))


def test_a_pending_payment_within_the_timeout_is_awaited() -> None:
    decision = _pending(20)
    reason, message = only_hold(decision)
    assert reason is HoldReason.PAYMENT
    assert message == "awaiting payment (paypal)"
    assert factor_names(decision) == []


def test_a_payment_pending_past_the_timeout_says_so() -> None:
    decision = _pending(90)
    reason, message = only_hold(decision)  # 30 points of unpaid risk do not reach the threshold
    assert reason is HoldReason.PAYMENT
    assert "unpaid (paypal) for 1 h 30 min" in message
    assert "past the 60-minute timeout" in message
    assert factor_names(decision) == ["risk.unpaid_timeout"]
    assert decision.risk_factors[0].weight == 30
    assert decision.risk_factors[0].message == "unpaid for 1 h 30 min"


def test_the_timeout_is_a_param() -> None:
    order = make_order(payment_status="pending", minutes_ago=20)
    rules = [{"key": "payment.unpaid", "params": {"timeout_minutes": 15}}]
    _, message = only_hold(review(make_subject(order), rules, ReviewContext(now=NOW)))
    assert "past the 15-minute timeout" in message


@pytest.mark.parametrize("method", ["COD", "cash_on_delivery", "代金引換"])
def test_cash_on_delivery_is_not_waited_for(method: str) -> None:
    decision = _pending(600, method)
    assert decision.approved
    assert decision.fired == []


def test_a_failed_payment_is_held() -> None:
    decision = _pending(5, status="failed")
    reason, message = only_hold(decision)
    assert reason is HoldReason.PAYMENT
    assert "payment failed" in message


@pytest.mark.parametrize("status", ["paid", "authorized"])
def test_a_paid_order_is_not_held_for_payment(status: str) -> None:
    decision = _pending(600, status=status)
    assert decision.approved
    assert decision.fired == []


# --- risk.score -------------------------------------------------------------------------------------

RISKY = [
    {"key": "risk.country_mismatch", "params": {"weight": 30}},
    {"key": "risk.unpaid_timeout"},
    {"key": "risk.high_value"},
    {"key": "risk.score"},
]


def test_the_score_sums_the_factors_and_holds_at_the_threshold() -> None:
    order = make_order(billing_country="NG", payment_status="pending", minutes_ago=120)
    decision = review(make_subject(order), RISKY, ReviewContext(now=NOW))
    assert factor_names(decision) == ["risk.country_mismatch", "risk.unpaid_timeout"]
    assert decision.risk_score == 60
    reason, message = only_hold(decision)
    assert reason is HoldReason.RISK
    assert "risk score 60 (hold at 50)" in message
    assert "billed in NG, shipped to US (+30)" in message
    assert "unpaid for 2 h 0 min (+30)" in message
    assert decision.holds[0].details[0]["factors"] == ["risk.country_mismatch", "risk.unpaid_timeout"]


def test_the_score_below_the_threshold_holds_nothing() -> None:
    decision = review(make_subject(make_order(billing_country="NG")), RISKY, ReviewContext(now=NOW))
    assert decision.risk_score == 30
    assert decision.approved


def test_the_threshold_is_a_param() -> None:
    rules = [*RISKY[:-1], {"key": "risk.score", "params": {"threshold": 30}}]
    decision = review(make_subject(make_order(billing_country="NG")), rules, ReviewContext(now=NOW))
    assert only_hold(decision)[0] is HoldReason.RISK
    rules = [*RISKY[:-1], {"key": "risk.score", "params": {"threshold": 31}}]
    assert review(make_subject(make_order(billing_country="NG")), rules, ReviewContext(now=NOW)).approved


def test_the_score_is_capped_at_100() -> None:
    order = make_order(billing_country="NG", payment_status="pending", minutes_ago=120)
    norms = {("shop-us", "USD"): ShopNorm(median=200, orders=100)}
    decision = review(make_subject(order), RISKY, ReviewContext(now=NOW, norms=norms))
    assert sum(f.weight for f in decision.risk_factors) == 120
    assert decision.risk_score == 100
    assert "risk score 100" in only_hold(decision)[1]


# --- stock.presale ----------------------------------------------------------------------------------

PRESALE = [{"key": "stock.presale"}]


def test_a_presale_item_waits_for_its_release_date() -> None:
    context = ReviewContext(presale={"MUG-1": datetime(2026, 6, 1, tzinfo=UTC)})
    reason, message = only_hold(review(make_subject(), PRESALE, context))
    assert reason is HoldReason.OUT_OF_STOCK
    assert "presale" in message
    assert "MUG-1 ships from 2026-06-01" in message


def test_a_released_presale_item_ships() -> None:
    context = ReviewContext(presale={"MUG-1": NOW - timedelta(days=1)})
    assert review(make_subject(), PRESALE, context).approved


def test_a_presale_component_of_a_bundle_holds_the_bundle() -> None:
    subject = make_subject(make_order(lines=[("KIT-1", 1)]), needs={"MUG-1": 2, "PRE-9": 1})
    context = ReviewContext(presale={"PRE-9": datetime(2026, 7, 15, tzinfo=UTC)})
    reason, message = only_hold(review(subject, PRESALE, context))
    assert reason is HoldReason.OUT_OF_STOCK
    assert "PRE-9 ships from 2026-07-15" in message


# --- stock.available and stock.split ----------------------------------------------------------------

STOCK = [{"key": "stock.available"}, {"key": "stock.split"}]


def _stock(available: Mapping[str, Mapping[str, int]] | None) -> ReviewContext:
    return ReviewContext(available=available, warehouses=("WH-1", "WH-2"))


def test_an_order_short_of_stock_is_held_with_the_figures() -> None:
    subject = make_subject(make_order(lines=[("MUG-1", 3), ("CAP-1", 1)]))
    decision = review(subject, STOCK, _stock({"MUG-1": {"WH-1": 1, "WH-2": 1}, "CAP-1": {"WH-1": 5}}))
    reason, message = only_hold(decision)
    assert reason is HoldReason.OUT_OF_STOCK
    assert "out of stock" in message
    assert "MUG-1 needs 3, 2 available" in message
    assert "CAP-1" not in message
    assert decision.holds[0].details[0]["short"] == ["MUG-1"]
    assert not decision.split  # a short order is not split


def test_an_unknown_sku_has_no_stock() -> None:
    decision = review(make_subject(), STOCK, _stock({}))
    assert "MUG-1 needs 1, 0 available" in only_hold(decision)[1]


def test_enough_stock_in_one_warehouse_ships_whole() -> None:
    subject = make_subject(make_order(lines=[("MUG-1", 3), ("CAP-1", 1)]))
    decision = review(subject, STOCK, _stock({"MUG-1": {"WH-1": 1, "WH-2": 3}, "CAP-1": {"WH-2": 1}}))
    assert decision.approved
    assert decision.fired == []
    assert decision.split is None


def test_unknown_stock_is_left_to_allocation() -> None:
    decision = review(make_subject(make_order(lines=[("MUG-1", 300)])), STOCK, _stock(None))
    assert decision.approved
    assert decision.fired == []


def test_an_order_no_one_warehouse_fills_is_split_not_held() -> None:
    subject = make_subject(make_order(lines=[("MUG-1", 2), ("CAP-1", 1)]))
    decision = review(subject, STOCK, _stock({"MUG-1": {"WH-1": 2}, "CAP-1": {"WH-2": 1}}))
    assert decision.approved
    assert decision.split is True
    assert [f.rule for f in decision.fired] == ["stock.split"]
    assert "several" in decision.fired[0].message
    assert decision.as_json(ruleset=1, at=NOW)["split"] is True


def test_bundle_components_are_what_stock_is_checked_for() -> None:
    subject = make_subject(make_order(lines=[("KIT-1", 2)]), needs={"MUG-1": 4, "CAP-1": 2})
    decision = review(
        subject, STOCK, _stock({"KIT-1": {"WH-1": 9}, "MUG-1": {"WH-1": 3}, "CAP-1": {"WH-1": 2}})
    )
    assert "MUG-1 needs 4, 3 available" in only_hold(decision)[1]


# --- order.merge ------------------------------------------------------------------------------------

MERGE = [{"key": "order.merge"}]


def test_an_earlier_order_of_the_buyer_to_the_same_address_is_merged() -> None:
    history = History()
    remember(history, make_order(external_id="900", minutes_ago=120, lines=[("CAP-1", 1)]), "old-1")
    decision = review(make_subject(), MERGE, ReviewContext(history=history))
    assert decision.approved
    assert decision.merge is True
    assert decision.merge_with == ["old-1"]
    assert "same buyer" in decision.fired[0].message
    assert "same address" in decision.fired[0].message


def test_an_order_already_shipped_or_held_is_not_merged() -> None:
    history = History()
    remember(history, make_order(external_id="900", minutes_ago=120), "old-1", mergeable=False)
    decision = review(make_subject(), MERGE, ReviewContext(history=history))
    assert decision.merge is None
    assert decision.merge_with == []
    assert decision.fired == []


def test_an_order_to_another_address_is_not_merged() -> None:
    history = History()
    elsewhere = make_order(external_id="900", minutes_ago=120, shipping_address={"line1": "9 Oak Street"})
    remember(history, elsewhere, "old-1")
    decision = review(make_subject(), MERGE, ReviewContext(history=history))
    assert decision.merge is None
    assert decision.merge_with == []


def test_an_order_outside_the_window_is_not_merged() -> None:
    history = History()
    remember(history, make_order(external_id="900", minutes_ago=25 * 60), "old-1")
    context = ReviewContext(history=history)
    assert review(make_subject(), MERGE, context).merge_with == []
    wider = [{"key": "order.merge", "params": {"window_hours": 48}}]
    assert review(make_subject(), wider, context).merge_with == ["old-1"]


def test_a_running_norm_is_the_median_of_the_latest_totals_within_its_sample() -> None:
    from orderly.review.domain.view import RunningNorm

    empty = RunningNorm([], sample=3)
    assert empty.norm is None
    empty.add(100)
    assert empty.norm == ShopNorm(median=100, orders=1)
    norm = RunningNorm([10, 30, 20, 40], sample=3)  # oldest first: 10 falls out
    assert norm.norm == ShopNorm(median=30, orders=3)
    norm.add(1)  # 30 falls out: 20, 40, 1
    assert norm.norm == ShopNorm(median=20, orders=3)
    even = RunningNorm([10, 21], sample=4)
    assert even.norm == ShopNorm(median=15, orders=2)
