"""The auto-review rule engine. Pure: rules are data (JSON or YAML shaped dicts), checked and compiled
once into closures, then run over orders with no I/O.

A rule has a key, a scope (shops, channels, countries, SKUs, categories, tags), an optional condition
over named facts (:data:`orderly.review.facts.FACTS`), actions, and a priority. Built-in rules carry a
``check`` (:data:`orderly.review.checks.CHECKS`) that is their condition and their message.

Evaluation, for one order: the enabled risk factors in scope are scored first, so every rule sees the
whole risk score; then the rules run by priority (lowest number first, key breaking ties). ``approve``
ends the review: later rules do not run, holds already made stay. An order no rule held is approved.
Nothing in a rule is ever evaluated as code: conditions are a small tree of known facts and operators.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from orderly.core.errors import DomainError, field_path
from orderly.orders.domain import Hold, HoldReason
from orderly.review.checks import CHECKS, Check, Finding, Params
from orderly.review.facts import FACTS, ReviewContext, Subject

MAX_RULES = 500
MAX_DEPTH = 8
MAX_ACTIONS = 50
MAX_NODES = 500  # conditions in one rule
MAX_LIST = 10_000
KEY_PATTERN = r"^[a-z0-9][a-z0-9._-]{0,63}$"
#: "stock" is how sellers say it; orders store it as out_of_stock.
REASON_ALIASES = {"stock": HoldReason.OUT_OF_STOCK}


class RuleInvalid(DomainError):
    """A rule (set) that cannot be saved; ``errors`` says what is wrong where."""

    http_status = 422

    def __init__(self, errors: list[dict[str, str]]) -> None:
        super().__init__("; ".join(f"{e['field']}: {e['message']}" for e in errors), field=errors[0]["field"])
        self.errors = errors


class _Errors:
    def __init__(self) -> None:
        self.items: list[dict[str, str]] = []

    def add(self, path: str, message: str) -> None:
        self.items.append({"field": path, "message": message})


# --- conditions -------------------------------------------------------------------------------------

Predicate = Callable[["View"], bool]

_OPERATORS: dict[str, frozenset[str]] = {
    "number": frozenset({"eq", "ne", "gt", "gte", "lt", "lte", "in", "not_in", "is_null"}),
    "text": frozenset(
        {"eq", "ne", "in", "not_in", "contains", "contains_any", "starts_with", "ends_with", "is_null"}
    ),
    "bool": frozenset({"eq", "is_null"}),
    "list": frozenset({"contains", "contains_any", "contains_all", "is_empty"}),
    "time": frozenset({"gt", "gte", "lt", "lte", "is_null"}),
}


def _fold(value: Any) -> Any:
    return value.casefold() if isinstance(value, str) else value


def _instant(value: Any) -> datetime | None:
    """An aware time, given as one or as ISO 8601 text with its offset (how JSON and YAML carry it)."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return None
    return value if isinstance(value, datetime) and value.tzinfo is not None else None


def _jsonable(value: Any) -> Any:
    """A condition as JSON stores it: times as ISO 8601 text."""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    return value


def _leaf(fact_name: str, op: str, value: Any) -> Predicate:
    read = FACTS[fact_name].read
    if op == "is_null":
        return lambda v: (read(v) is None) == value
    if op == "is_empty":
        return lambda v: (not read(v)) == value
    if op in ("eq", "ne"):
        want = _fold(value)
        if op == "eq":
            return lambda v: _fold(read(v)) == want
        return lambda v: _fold(read(v)) != want
    if FACTS[fact_name].type == "time":
        value = _instant(value)
    if op in ("gt", "gte", "lt", "lte"):
        compare: Callable[[Any, Any], bool] = {
            "gt": lambda a, b: a > b,
            "gte": lambda a, b: a >= b,
            "lt": lambda a, b: a < b,
            "lte": lambda a, b: a <= b,
        }[op]

        def ordered(v: View) -> bool:
            got = read(v)
            return got is not None and compare(got, value)

        return ordered
    if op in ("in", "not_in"):
        members = frozenset(_fold(x) for x in value)
        if op == "in":
            return lambda v: _fold(read(v)) in members
        return lambda v: (got := read(v)) is not None and _fold(got) not in members
    if op in ("starts_with", "ends_with"):
        affix = value.casefold()
        if op == "starts_with":
            return lambda v: bool(got := read(v)) and got.casefold().startswith(affix)
        return lambda v: bool(got := read(v)) and got.casefold().endswith(affix)
    if FACTS[fact_name].type == "list":
        if op == "contains":
            wanted = _fold(value)
            return lambda v: wanted in {_fold(x) for x in read(v) or ()}
        wanted_set = frozenset(_fold(x) for x in value)
        if op == "contains_any":
            return lambda v: not wanted_set.isdisjoint(_fold(x) for x in read(v) or ())
        return lambda v: wanted_set <= {_fold(x) for x in read(v) or ()}
    # text contains / contains_any: substrings, case-insensitive
    needles = (value.casefold(),) if op == "contains" else tuple(x.casefold() for x in value)

    def contains(v: View) -> bool:
        got = read(v)
        if not got:
            return False
        folded = got.casefold()
        return any(n in folded for n in needles)

    return contains


def _check_value(fact_type: str, op: str, value: Any, path: str, errors: _Errors) -> bool:
    def scalar_ok(x: Any) -> bool:
        if fact_type == "number":
            return isinstance(x, int | float) and not isinstance(x, bool)
        if fact_type == "time":
            return _instant(x) is not None
        return isinstance(x, str) and 0 < len(x) <= 500

    what = {"number": "a number", "text": "a text", "list": "a text", "time": "an aware ISO 8601 time"}.get(
        fact_type, "true or false"
    )
    if op in ("is_null", "is_empty") or (fact_type == "bool" and op == "eq"):
        if not isinstance(value, bool):
            errors.add(path, f"{op} takes true or false, not {value!r}")
            return False
        return True
    if op in ("in", "not_in", "contains_any", "contains_all"):
        if not isinstance(value, list) or not value or len(value) > MAX_LIST:
            errors.add(path, f"{op} takes a list of 1 to {MAX_LIST} values")
            return False
        bad = [x for x in value if not scalar_ok(x)]
        if bad:
            errors.add(path, f"{op} needs {what} in every item; {bad[0]!r} is not")
            return False
        return True
    if not scalar_ok(value):
        errors.add(path, f"{op} needs {what}, not {value!r}")
        return False
    return True


def _size(tree: Any, limit: int) -> int:
    """Objects and lists in a condition tree (a list of values is one), counting no further than ``limit``."""
    count, todo = 0, [tree]
    while todo and count <= limit:
        node = todo.pop()
        if isinstance(node, Mapping):
            count += 1
            todo.extend(node.values())
        elif isinstance(node, list):
            count += 1
            todo.extend(v for v in node if isinstance(v, Mapping | list))
    return count


def compile_condition(tree: Any, path: str, errors: _Errors, depth: int = 0) -> Predicate | None:
    """Check a condition tree and turn it into a predicate; report every problem with its path."""
    if depth == 0 and _size(tree, MAX_NODES) > MAX_NODES:
        errors.add(path, f"a condition may have at most {MAX_NODES} parts and values; split the rule")
        return None
    if depth > MAX_DEPTH:
        errors.add(path, f"conditions nest deeper than {MAX_DEPTH} levels")
        return None
    if not isinstance(tree, Mapping) or not tree:
        errors.add(
            path, "a condition is an object: {all: [...]}, {any: [...]}, {not: ...} or {fact: ..., <op>: ...}"
        )
        return None
    if "fact" in tree:
        name = tree["fact"]
        ops = [k for k in tree if k != "fact"]
        if not isinstance(name, str) or name not in FACTS:
            close = difflib.get_close_matches(str(name), FACTS, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else f"; known facts: {', '.join(sorted(FACTS))}"
            errors.add(f"{path}.fact", f"unknown fact {name!r}{hint}")
            return None
        fact = FACTS[name]
        allowed = _OPERATORS[fact.type]
        if len(ops) != 1:
            errors.add(path, f"give exactly one operator for {name}, one of {', '.join(sorted(allowed))}")
            return None
        op = ops[0]
        if op not in allowed:
            errors.add(
                f"{path}.{op}", f"{name} is {fact.type}; its operators are {', '.join(sorted(allowed))}"
            )
            return None
        if not _check_value(fact.type, op, tree[op], f"{path}.{op}", errors):
            return None
        return _leaf(name, op, tree[op])
    if len(tree) != 1:
        errors.add(path, f"one of all, any, not or fact per condition; got {', '.join(map(str, tree))}")
        return None
    ((kind, body),) = tree.items()
    if kind == "not":
        inner = compile_condition(body, f"{path}.not", errors, depth + 1)
        return (lambda v: not inner(v)) if inner else None
    if kind in ("all", "any"):
        if not isinstance(body, list) or not body:
            errors.add(f"{path}.{kind}", f"{kind} takes a non-empty list of conditions")
            return None
        parts = [compile_condition(c, f"{path}.{kind}[{i}]", errors, depth + 1) for i, c in enumerate(body)]
        if not all(parts):
            return None
        preds = tuple(p for p in parts if p is not None)
        if kind == "all":
            return lambda v: all(p(v) for p in preds)
        return lambda v: any(p(v) for p in preds)
    errors.add(path, f"unknown condition {kind!r}: use all, any, not or fact")
    return None


# --- actions ----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Action:
    kind: str  # approve, hold, tag, priority, warehouse, carrier, split, merge, notify
    reason: HoldReason | None = None
    message: str | None = None
    tags: tuple[str, ...] = ()
    priority: int = 0
    use: str | None = None
    exclude: tuple[str, ...] = ()
    flag: bool = True

    def describe(self) -> str:
        if self.kind == "hold":
            return f"hold {self.reason}"
        if self.kind == "tag":
            return "tag " + ", ".join(self.tags)
        if self.kind == "priority":
            return f"priority {self.priority}"
        if self.kind in ("warehouse", "carrier"):
            return f"{self.kind} " + (f"use {self.use}" if self.use else "exclude " + ", ".join(self.exclude))
        if self.kind in ("split", "merge"):
            return self.kind if self.flag else f"no {self.kind}"
        return self.kind


def _codes(value: Any) -> tuple[str, ...] | None:
    items = [value] if isinstance(value, str) else value
    if (
        not isinstance(items, list)
        or not items
        or not all(isinstance(x, str) and 0 < len(x) <= 64 for x in items)
    ):
        return None
    return tuple(items)


def compile_action(raw: Any, path: str, errors: _Errors) -> Action | None:
    kinds = "approve, hold, tag, priority, warehouse, carrier, split, merge, notify"
    if not isinstance(raw, Mapping) or len(raw) != 1:
        errors.add(path, f"an action is an object with one key, one of {kinds}")
        return None
    ((kind, arg),) = raw.items()
    here = f"{path}.{kind}"
    if kind == "approve":
        if arg is not True:
            errors.add(here, "approve takes true")
            return None
        return Action("approve")
    if kind == "hold":
        reason_text, message = (arg, None) if isinstance(arg, str) else (None, None)
        if isinstance(arg, Mapping):
            unknown = set(arg) - {"reason", "message"}
            if unknown:
                errors.add(here, f"hold takes reason and message, not {', '.join(sorted(unknown))}")
                return None
            reason_text, message = arg.get("reason"), arg.get("message")
        reasons = sorted({*(str(r) for r in HoldReason), *REASON_ALIASES})
        if not isinstance(reason_text, str):
            errors.add(here, f"hold needs a reason, one of {', '.join(reasons)}")
            return None
        reason = REASON_ALIASES.get(reason_text) or (
            HoldReason(reason_text) if reason_text in HoldReason._value2member_map_ else None
        )
        if reason is None:
            errors.add(f"{here}.reason", f"unknown hold reason {reason_text!r}; one of {', '.join(reasons)}")
            return None
        if message is not None and (not isinstance(message, str) or not 0 < len(message) <= 500):
            errors.add(f"{here}.message", "a hold message is a text of 1 to 500 characters")
            return None
        return Action("hold", reason=reason, message=message)
    if kind == "tag":
        tags = _codes(arg)
        if tags is None:
            errors.add(here, "tag takes a tag or a list of tags (1-64 characters each)")
            return None
        return Action("tag", tags=tags)
    if kind == "priority":
        if not isinstance(arg, int) or isinstance(arg, bool) or not -100 <= arg <= 100:
            errors.add(here, "priority takes a whole number from -100 (last) to 100 (first)")
            return None
        return Action("priority", priority=arg)
    if kind in ("warehouse", "carrier"):
        if (
            isinstance(arg, Mapping)
            and set(arg) == {"use"}
            and _codes(arg["use"])
            and isinstance(arg["use"], str)
        ):
            return Action(kind, use=arg["use"])
        if isinstance(arg, Mapping) and set(arg) == {"exclude"} and _codes(arg["exclude"]):
            return Action(kind, exclude=_codes(arg["exclude"]) or ())
        errors.add(here, f"{kind} takes {{use: CODE}} or {{exclude: [CODE, ...]}}")
        return None
    if kind in ("split", "merge"):
        if not isinstance(arg, bool):
            errors.add(here, f"{kind} takes true or false")
            return None
        return Action(kind, flag=arg)
    if kind == "notify":
        message = arg.get("message") if isinstance(arg, Mapping) and set(arg) == {"message"} else arg
        if not isinstance(message, str) or not 0 < len(message) <= 500:
            errors.add(here, "notify takes a message of 1 to 500 characters")
            return None
        return Action("notify", message=message)
    errors.add(path, f"unknown action {kind!r}; one of {kinds}")
    return None


# --- rules ------------------------------------------------------------------------------------------

SCOPE_KEYS = ("shops", "channels", "countries", "skus", "categories", "tags")


@dataclass(frozen=True, slots=True)
class Scope:
    shops: frozenset[str] = frozenset()
    channels: frozenset[str] = frozenset()
    countries: frozenset[str] = frozenset()
    skus: frozenset[str] = frozenset()
    categories: frozenset[str] = frozenset()
    tags: frozenset[str] = frozenset()

    @property
    def everything(self) -> bool:
        return not any(getattr(self, k) for k in SCOPE_KEYS)

    def covers(self, subject: Subject) -> bool:
        order = subject.order
        if self.shops and order["shop"] not in self.shops:
            return False
        if self.channels and subject.channel not in self.channels:
            return False
        if self.countries and order["shipping_address"]["country"] not in self.countries:
            return False
        if self.skus and self.skus.isdisjoint(sku for sku, _ in subject.lines):
            return False
        if self.categories and self.categories.isdisjoint(subject.categories):
            return False
        return not (self.tags and self.tags.isdisjoint(order["tags"]))

    def as_json(self) -> dict[str, list[str]]:
        return {k: sorted(getattr(self, k)) for k in SCOPE_KEYS if getattr(self, k)}


@dataclass(frozen=True, slots=True)
class Rule:
    """A checked, compiled rule. ``spec`` is the rule as the seller wrote it (normalised)."""

    key: str
    name: str
    priority: int
    enabled: bool
    scope: Scope
    when: Predicate | None
    actions: tuple[Action, ...]
    check: Check | None
    params: Params | None
    version: int
    spec: dict[str, Any] = field(compare=False)
    everywhere: bool = field(init=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "everywhere", self.scope.everything)


RULE_FIELDS = {
    "key",
    "name",
    "description",
    "enabled",
    "priority",
    "scope",
    "when",
    "then",
    "params",
    "check",
}


def compile_rule(raw: Any, path: str, errors: _Errors, *, version: int = 0) -> Rule | None:
    """Check one rule as the seller wrote it and compile it; problems go to ``errors``."""
    start = len(errors.items)
    if not isinstance(raw, Mapping):
        errors.add(path, "a rule is an object with key, scope, when, then and priority")
        return None
    unknown = set(raw) - RULE_FIELDS
    if unknown:
        errors.add(
            path,
            f"unknown field(s) {', '.join(sorted(map(str, unknown)))}; "
            f"a rule has {', '.join(sorted(RULE_FIELDS))}",
        )
    key = raw.get("key")
    if not isinstance(key, str) or not re.match(KEY_PATTERN, key):
        errors.add(
            f"{path}.key",
            "a key is 1-64 lower-case letters, digits, '.', '_' or '-', starting with a letter or digit",
        )
        return None
    check = CHECKS.get(key)
    if "check" in raw and raw["check"] != key:
        errors.add(f"{path}.check", "check is set by the key: a built-in rule's key names its check")
    if check is None and key.split(".")[0] in {c.split(".")[0] for c in CHECKS}:
        errors.add(
            f"{path}.key", f"{key!r} is not a built-in check; keys starting with those prefixes are reserved"
        )
    name = raw.get("name", check.title if check else key)
    if not isinstance(name, str) or not 0 < len(name) <= 200:
        errors.add(f"{path}.name", "a rule needs a name of 1 to 200 characters")
    description = raw.get("description")
    if description is not None and (not isinstance(description, str) or len(description) > 2000):
        errors.add(f"{path}.description", "a description is a text of up to 2000 characters")
    enabled = raw.get("enabled", True)
    if not isinstance(enabled, bool):
        errors.add(f"{path}.enabled", "enabled is true or false")
    priority = raw.get("priority", check.priority if check else 1000)
    if not isinstance(priority, int) or isinstance(priority, bool) or not 0 <= priority <= 100_000:
        errors.add(f"{path}.priority", "priority is a whole number from 0 (runs first) to 100000")
    scope = _compile_scope(raw.get("scope", {}), f"{path}.scope", errors)
    when = compile_condition(raw["when"], f"{path}.when", errors) if raw.get("when") is not None else None
    if check is None and "when" in raw and raw["when"] is None:
        errors.add(f"{path}.when", "a condition cannot be null; leave it out to match every order in scope")
    params: Params | None = None
    if check is not None:
        try:
            params = check.params.model_validate(raw.get("params") or {})
        except ValidationError as exc:
            known = ", ".join(check.params.model_fields)
            for e in exc.errors(include_url=False):
                message = e["msg"]
                if e["type"] == "extra_forbidden":
                    message = f"unknown param; {check.name} takes {known or 'none'}"
                errors.add(f"{path}.params.{field_path(e['loc'])}".rstrip("."), message)
    elif raw.get("params"):
        errors.add(f"{path}.params", "only built-in rules take params")
    then = raw.get("then", list(check.actions) if check else None)
    actions: list[Action] = []
    if isinstance(then, list) and len(then) > MAX_ACTIONS:
        errors.add(f"{path}.then", f"at most {MAX_ACTIONS} actions")
    elif not isinstance(then, list) or (check is None and not then):
        errors.add(f"{path}.then", "then is a list of actions, e.g. [{hold: risk}] or [{approve: true}]")
    else:
        for i, item in enumerate(then):
            action = compile_action(item, f"{path}.then[{i}]", errors)
            if action is not None:
                actions.append(action)
    if len(errors.items) > start or scope is None:
        return None
    spec: dict[str, Any] = {"key": key, "name": name, "enabled": enabled, "priority": priority}
    if description:
        spec["description"] = description
    if not scope.everything:
        spec["scope"] = scope.as_json()
    if raw.get("when") is not None:
        spec["when"] = _jsonable(raw["when"])
    if check is not None and params is not None:
        spec["params"] = params.model_dump(mode="json")
    spec["then"] = then
    assert isinstance(priority, int) and isinstance(enabled, bool) and isinstance(name, str)
    return Rule(key, name, priority, enabled, scope, when, tuple(actions), check, params, version, spec)


def _compile_scope(raw: Any, path: str, errors: _Errors) -> Scope | None:
    if not isinstance(raw, Mapping):
        errors.add(path, f"a scope is an object with any of {', '.join(SCOPE_KEYS)}")
        return None
    values: dict[str, frozenset[str]] = {}
    for name, items in raw.items():
        if name not in SCOPE_KEYS:
            errors.add(f"{path}.{name}", f"unknown scope {name!r}; one of {', '.join(SCOPE_KEYS)}")
            continue
        if (
            not isinstance(items, list)
            or not all(isinstance(x, str) and x for x in items)
            or len(items) > MAX_LIST
        ):
            errors.add(f"{path}.{name}", f"{name} is a list of codes")
            continue
        values[name] = frozenset(x.upper() for x in items) if name == "countries" else frozenset(items)
    return Scope(**values)


def compile_rules(raws: Sequence[Any], *, versions: Mapping[str, int] | None = None) -> list[Rule]:
    """Check a whole rule set; every problem in every rule is reported at once."""
    errors = _Errors()
    if len(raws) > MAX_RULES:
        errors.add("rules", f"at most {MAX_RULES} rules")
        raise RuleInvalid(errors.items)
    rules: list[Rule] = []
    seen: set[str] = set()
    for i, raw in enumerate(raws):
        rule = compile_rule(raw, f"rules[{i}]", errors, version=(versions or {}).get(_key(raw), 0))
        if rule is None:
            continue
        if rule.key in seen:
            errors.add(f"rules[{i}].key", f"{rule.key!r} appears twice")
        seen.add(rule.key)
        rules.append(rule)
    if errors.items:
        raise RuleInvalid(errors.items)
    return rules


def _key(raw: Any) -> str:
    return str(raw.get("key")) if isinstance(raw, Mapping) else ""


# --- evaluation ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Factor:
    name: str
    weight: int
    message: str


@dataclass(frozen=True, slots=True)
class StockOutcome:
    short: bool = False
    split_needed: bool = False
    shortages: tuple[tuple[str, int, int], ...] = ()  # (sku, needed, available everywhere)

    @property
    def short_skus(self) -> list[str]:
        return [sku for sku, _, _ in self.shortages]


_NO_STOCK = StockOutcome()


class View:
    """The engine's view of one order while it is reviewed: what facts and checks read."""

    __slots__ = (
        "_stock",
        "context",
        "now",
        "presale_skus",
        "risk_factors",
        "risk_score",
        "ruleset",
        "subject",
    )

    def __init__(self, subject: Subject, context: ReviewContext, ruleset: RuleSet) -> None:
        self.subject, self.context, self.ruleset = subject, context, ruleset
        self.now: datetime = context.now or subject.order["updated_at"]
        self.risk_score = 0
        self.risk_factors: list[Factor] = []
        self._stock: StockOutcome | None = None
        presale = context.presale
        self.presale_skus = (
            sorted(
                {
                    sku
                    for sku in (*subject.needs, *(s for s, _ in subject.lines))
                    if sku in presale and presale[sku] > self.now
                }
            )
            if presale
            else []
        )

    @property
    def risk_factor_names(self) -> list[str]:
        return [f.name for f in self.risk_factors]

    def recent_count(self, *identities: int) -> int:
        window = self.ruleset.history_hours * 3600
        return len(self.context.history.around(identities, self.subject.placed, window, self.subject.key))

    @property
    def stock(self) -> StockOutcome:
        if self._stock is None:
            self._stock = _stock_outcome(self.subject.needs, self.context)
        return self._stock


def _stock_outcome(needs: Mapping[str, int], context: ReviewContext) -> StockOutcome:
    available = context.available
    if available is None or not needs:
        return _NO_STOCK
    empty: Mapping[str, int] = {}
    for warehouse in context.warehouses:  # the usual case first: one warehouse has it all
        if all(available.get(sku, empty).get(warehouse, 0) >= n for sku, n in needs.items()):
            return _NO_STOCK
    shortages = []
    for sku, need in needs.items():
        total = sum(available.get(sku, {}).values())
        if total < need:
            shortages.append((sku, need, total))
    if shortages:
        return StockOutcome(True, False, tuple(shortages))
    return StockOutcome(False, True)


@dataclass(frozen=True, slots=True)
class Fired:
    rule: str
    version: int
    message: str
    actions: tuple[str, ...]
    check: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "version": self.version,
            "message": self.message,
            "actions": list(self.actions),
        }


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
                "factors": [
                    {"name": f.name, "weight": f.weight, "message": f.message} for f in self.risk_factors
                ],
            },
            "fired": [f.as_json() for f in self.fired],
        }
        if self.approved_by:
            out["approved_by"] = self.approved_by
        for name in ("tags", "notify"):
            if getattr(self, name):
                out[name] = getattr(self, name)
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
        self._stock_holds = tuple(
            r
            for r in self.rules
            if r.check is not None
            and r.check.name == "stock.available"
            and any(a.kind == "hold" for a in r.actions)
        )

    def lookbacks(self) -> list[tuple[bool, float, bool]]:
        """What history the enabled rules need: (every identity, or the buyer's only; seconds back;
        whether the orders' SKUs matter)."""
        needs: list[tuple[bool, float, bool]] = []
        for rule in (*self.factors, *self.rules):
            name = rule.check.name if rule.check else None
            if name == "risk.velocity":
                similar = getattr(rule.params, "similar", "any") == "shared_sku"
                needs.append((True, getattr(rule.params, "window_minutes", 0) * 60, similar))
            elif name == "order.merge":
                needs.append((False, getattr(rule.params, "window_hours", 0) * 3600, False))
            if "recent_orders" in json.dumps(rule.spec.get("when"), default=str):
                needs.append((True, self.history_hours * 3600, False))
        return needs

    def holds_when_short(self, subject: Subject) -> bool:
        """Whether an order short of stock is held (else it waits approved, as a backorder)."""
        return any(rule.everywhere or rule.scope.covers(subject) for rule in self._stock_holds)

    def review(self, subject: Subject, context: ReviewContext) -> Decision:
        view = View(subject, context, self)
        decision = Decision()
        for rule, everywhere, covers, when, run, params in self._factor_plan:
            if not (everywhere or covers(subject)) or (when is not None and not when(view)):
                continue
            assert run is not None  # a factor is always a built-in check
            finding = run(view, params)
            if finding is None:
                continue
            weight: int = getattr(params, "weight", 0)
            view.risk_factors.append(Factor(rule.key, weight, finding.message))
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

    @staticmethod
    def _apply(rule: Rule, finding: Finding, decision: Decision) -> bool:
        """Carry out a fired rule's actions; True when it approved (which ends the review)."""
        decision.fired.append(
            Fired(
                rule.key,
                rule.version,
                finding.message,
                tuple(a.describe() for a in rule.actions),
                rule.check.name if rule.check else None,
            )
        )
        stop = False
        for action in rule.actions:
            kind = action.kind
            if kind == "hold":
                assert action.reason is not None
                message = action.message or finding.message
                details = [{"rule": rule.key, **(finding.details or {})}]
                decision.holds.append(Hold(action.reason, message, details))
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


def default_rules() -> list[Rule]:
    """Every built-in check with its shipped settings."""
    return compile_rules([{"key": name} for name in CHECKS])
