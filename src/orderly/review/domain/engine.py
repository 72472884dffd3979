"""The engine: a compiled rule set run over orders, one at a time, with no I/O.

For one order, the enabled risk factors in scope are scored first, so every rule sees the whole risk
score; then the rules run by priority (lowest number first, key breaking ties). ``approve`` ends the
review: later rules do not run, holds already made stay. An order no rule held is approved. The engine
names no particular check: what a check needs (its look-back, whether it holds for stock) it declares.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from orderly.core.phrases import Phrase
from orderly.orders.domain import Hold
from orderly.review.checks import Finding, Lookback
from orderly.review.domain.conditions import Predicate
from orderly.review.domain.rules import Rule
from orderly.review.domain.view import Factor, ReviewContext, Subject, View


@dataclass(frozen=True, slots=True)
class Fired:
    rule: str
    version: int
    message: str
    actions: tuple[str, ...]
    check: str | None = None
    phrase: Phrase | None = None  # the message for the console to translate; None: the rule's name
    action_phrases: tuple[Phrase, ...] = ()  # the actions for the console to translate

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "rule": self.rule,
            "version": self.version,
            "message": self.message,
            "actions": list(self.actions),
            "phrases": [action.as_json() for action in self.action_phrases],
        }
        if self.phrase is not None:
            out["phrase"] = self.phrase.as_json()
        return out


@dataclass(slots=True)
class Decision:
    """The outcome of reviewing one order, with every rule that fired and why."""

    holds: list[Hold] = field(default_factory=list)
    fired: list[Fired] = field(default_factory=list)
    risk_score: int = 0
    risk_factors: list[Factor] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    priority: int | None = None
    warehouse: str | None = None
    exclude_warehouses: set[str] = field(default_factory=set)
    carrier: str | None = None
    exclude_carriers: set[str] = field(default_factory=set)
    split: bool | None = None  # the first rule that says decides
    merge: bool | None = None
    merge_with: list[Hashable] = field(default_factory=list)
    notify: list[str] = field(default_factory=list)
    approved_by: str | None = None

    @property
    def approved(self) -> bool:
        return not self.holds

    def reasons(self) -> set[str]:
        return {str(h.reason) for h in self.holds}

    def as_json(self, *, ruleset: int, at: datetime, merge_ids: Sequence[int] = ()) -> dict[str, Any]:
        out: dict[str, Any] = {
            "outcome": "approved" if self.approved else "held",
            "ruleset": ruleset,
            "reviewed_at": at.isoformat(),
            "risk": {
                "score": self.risk_score,
                "factors": [_factor_json(f) for f in self.risk_factors],
            },
            "fired": [f.as_json() for f in self.fired],
        }
        if self.approved_by:
            out["approved_by"] = self.approved_by
        if self.tags:
            out["tags"] = self.tags
        if self.notify:
            out["notify"] = self.notify
        if self.priority is not None:
            out["priority"] = self.priority
        if self.warehouse or self.exclude_warehouses:
            out["warehouse"] = {"use": self.warehouse, "exclude": sorted(self.exclude_warehouses)}
        if self.carrier or self.exclude_carriers:
            out["carrier"] = {"use": self.carrier, "exclude": sorted(self.exclude_carriers)}
        if self.split:
            out["split"] = True
        if merge_ids:
            out["merge_with"] = list(merge_ids)
        return out


def _factor_json(factor: Factor) -> dict[str, Any]:
    out: dict[str, Any] = {"name": factor.name, "weight": factor.weight, "message": factor.message}
    if factor.phrase is not None:
        out["phrase"] = factor.phrase.as_json()
    return out


_Step = tuple[
    Rule, bool, Callable[[Subject], bool], Predicate | None, Callable[..., Finding | None] | None, Any
]


def _steps(rule: Rule) -> _Step:
    run = rule.check.run if rule.check else None
    return rule, rule.everywhere, rule.scope.covers, rule.when, run, rule.params


class RuleSet:
    """Compiled rules in evaluation order, ready to review orders."""

    def __init__(self, rules: Iterable[Rule], *, version: int = 0, history_hours: float = 24.0) -> None:
        rules = list(rules)  # read twice below: a generator would leave all_rules empty
        ordered = sorted((r for r in rules if r.enabled), key=lambda r: (r.priority, r.key))
        self.rules = tuple(r for r in ordered if not (r.check and r.check.kind == "factor"))
        self.factors = tuple(r for r in ordered if r.check and r.check.kind == "factor")
        self.all_rules = tuple(sorted(rules, key=lambda r: (r.priority, r.key)))
        self.version = version
        self.history_hours = history_hours
        # What the loops read of each rule, looked up once: they run for every order.
        self._plan = tuple(_steps(r) for r in self.rules)
        self._factor_plan = tuple(_steps(r) for r in self.factors)
        self._described = {r.key: tuple(a.describe() for a in r.actions) for r in ordered}
        self._actions = {key: tuple(a.english() for a in said) for key, said in self._described.items()}
        self._stock_holds = tuple(
            r
            for r in self.rules
            if r.check is not None and r.check.holds_for_stock and any(a.kind == "hold" for a in r.actions)
        )
        #: Rules whose hold is the stock hold: allocation makes it again, on the locked figures.
        self.stock_rules = frozenset(r.key for r in self.all_rules if r.check and r.check.holds_for_stock)

    def lookbacks(self) -> list[Lookback]:
        """What history the enabled rules need: each check's own look-back, and the recent orders of a
        buyer or an address for a condition that counts them."""
        needs: list[Lookback] = []
        for rule in (*self.factors, *self.rules):
            if rule.check is not None and rule.check.lookback is not None:
                needs.append(rule.check.lookback(rule.params))
            if "recent_orders" in json.dumps(rule.spec.get("when"), default=str):
                needs.append(Lookback(self.history_hours * 3600, every_identity=True))
        return needs

    def holds_when_short(self, subject: Subject) -> bool:
        """Whether an order short of stock is held (else it waits approved, as a backorder)."""
        return any(rule.everywhere or rule.scope.covers(subject) for rule in self._stock_holds)

    def review(self, subject: Subject, context: ReviewContext) -> Decision:
        view = View(subject, context, self.history_hours)
        decision = Decision()
        for rule, everywhere, covers, when, run, params in self._factor_plan:
            if not (everywhere or covers(subject)) or (when is not None and not when(view)):
                continue
            assert run is not None  # a factor is always a built-in check
            finding = run(view, params)
            if finding is None:
                continue
            weight: int = getattr(params, "weight", 0)
            view.risk_factors.append(Factor(rule.key, weight, finding.message, finding.phrase))
            view.risk_score = min(100, view.risk_score + weight)
            self._apply(rule, finding, decision)
        decision.risk_score, decision.risk_factors = view.risk_score, view.risk_factors
        for rule, everywhere, covers, when, run, params in self._plan:
            if not (everywhere or covers(subject)):
                continue
            if run is not None:
                if when is not None and not when(view):
                    continue
                finding = run(view, params)
                if finding is None:
                    continue
            elif when is None or when(view):
                finding = Finding(rule.name)
            else:
                continue
            if self._apply(rule, finding, decision):
                break
        return decision

    def _apply(self, rule: Rule, finding: Finding, decision: Decision) -> bool:
        """Carry out a fired rule's actions; True when it approved (which ends the review)."""
        decision.fired.append(
            Fired(
                rule.key,
                rule.version,
                finding.message,
                self._actions[rule.key],
                rule.check.name if rule.check else None,
                finding.phrase,
                self._described[rule.key],
            )
        )
        stop = False
        for action in rule.actions:
            kind = action.kind
            if kind == "hold":
                assert action.reason is not None
                details = [{"rule": rule.key, **(finding.details or {})}]
                if action.message:  # the seller's own words
                    decision.holds.append(Hold(action.reason, action.message, details))
                else:
                    decision.holds.append(Hold(action.reason, finding.message, details, finding.phrase))
            elif kind == "approve":
                decision.approved_by = rule.key
                stop = True
            elif kind == "tag":
                decision.tags.extend(t for t in action.tags if t not in decision.tags)
            elif kind == "priority":
                if decision.priority is None:
                    decision.priority = action.priority
            elif kind == "warehouse":
                if action.use and decision.warehouse is None:
                    decision.warehouse = action.use
                decision.exclude_warehouses.update(action.exclude)
            elif kind == "carrier":
                if action.use and decision.carrier is None:
                    decision.carrier = action.use
                decision.exclude_carriers.update(action.exclude)
            elif kind == "split":
                if decision.split is None:
                    decision.split = action.flag
            elif kind == "merge":
                if decision.merge is None:
                    decision.merge = action.flag
                if decision.merge:
                    decision.merge_with.extend(k for k in finding.merge_with if k not in decision.merge_with)
            elif kind == "notify":
                assert action.message is not None
                decision.notify.append(
                    f"{action.message}: {finding.message}" if finding.message != rule.name else action.message
                )
        return stop
