"""Rules as data: a key, a scope (shops, channels, countries, SKUs, categories, tags), an optional
condition (:mod:`orderly.review.domain.conditions`), actions and a priority, checked as the seller wrote
them and compiled once. Built-in rules carry a ``check`` (:data:`orderly.review.checks.CHECKS`) that is
their condition and their message. Pure.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from pydantic import ValidationError

from orderly.core.errors import DomainError, field_path
from orderly.core.phrases import Phrase
from orderly.orders.domain import REASON_WORDS, HoldReason
from orderly.review.checks import CHECKS, Check, Params
from orderly.review.domain.conditions import MAX_LIST, Errors, Predicate, compile_condition, condition_json
from orderly.review.domain.view import Subject

MAX_RULES = 500
MAX_ACTIONS = 50
KEY_PATTERN = r"^[a-z0-9][a-z0-9._-]{0,63}$"
#: "stock" is how sellers say it; orders store it as out_of_stock.
REASON_ALIASES = {"stock": HoldReason.OUT_OF_STOCK}


class RuleInvalid(DomainError):
    """A rule (set) that cannot be saved; ``errors`` says what is wrong where."""

    http_status = 422

    def __init__(self, errors: list[dict[str, str]]) -> None:
        super().__init__("; ".join(f"{e['field']}: {e['message']}" for e in errors), field=errors[0]["field"])
        self.errors = errors


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

    def describe(self) -> Phrase:
        """What the action does, as the review's record names it (the API shows its English)."""
        if self.kind == "hold" and self.reason is not None:
            return Phrase("hold %(reason)s", reason=REASON_WORDS[self.reason])
        if self.kind == "tag":
            return Phrase("tag %(tags)s", tags=", ".join(self.tags))
        if self.kind == "priority":
            return Phrase("priority %(priority)s", priority=self.priority)
        if self.kind == "warehouse":
            if self.use:
                return Phrase("warehouse use %(code)s", code=self.use)
            return Phrase("warehouse exclude %(codes)s", codes=", ".join(self.exclude))
        if self.kind == "carrier":
            if self.use:
                return Phrase("carrier use %(code)s", code=self.use)
            return Phrase("carrier exclude %(codes)s", codes=", ".join(self.exclude))
        return FLAG_WORDS[(self.kind, self.flag)]


#: The actions named by their kind alone (split and merge, or not).
FLAG_WORDS = {
    ("approve", True): Phrase("approve"),
    ("notify", True): Phrase("notify"),
    ("split", True): Phrase("split"),
    ("split", False): Phrase("no split"),
    ("merge", True): Phrase("merge"),
    ("merge", False): Phrase("no merge"),
}


def _codes(value: Any) -> tuple[str, ...] | None:
    items = [value] if isinstance(value, str) else value
    if (
        not isinstance(items, list)
        or not items
        or not all(isinstance(x, str) and 0 < len(x) <= 64 for x in items)
    ):
        return None
    return tuple(items)


def compile_action(raw: Any, path: str, errors: Errors) -> Action | None:
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


def rule_key(raw: Any, path: str, errors: Errors, fields: set[str]) -> str | None:
    """The key of a rule as written (None when it has none that can be used), after checking it is an
    object of known ``fields``; shared by every kind of rule."""
    if not isinstance(raw, Mapping):
        errors.add(path, "a rule is an object with key, scope, when, then and priority")
        return None
    unknown = set(raw) - fields
    if unknown:
        errors.add(
            path,
            f"unknown field(s) {', '.join(sorted(map(str, unknown)))}; "
            f"a rule has {', '.join(sorted(fields))}",
        )
    key = raw.get("key")
    if not isinstance(key, str) or not re.match(KEY_PATTERN, key):
        errors.add(
            f"{path}.key",
            "a key is 1-64 lower-case letters, digits, '.', '_' or '-', starting with a letter or digit",
        )
        return None
    return key


@dataclass(frozen=True, slots=True)
class Common:
    """What every kind of rule has besides its key and actions, checked, and its spec so far."""

    name: str
    enabled: bool
    priority: int
    scope: Scope
    when: Predicate | None
    spec: dict[str, Any]


def compile_common(
    raw: Mapping[str, Any],
    key: str,
    path: str,
    errors: Errors,
    *,
    name: Any,
    priority: Any,
    when_required: bool = True,
) -> Common | None:
    """Name, description, enabled, priority, scope and condition of a rule (``name`` and ``priority``
    as written or their defaults); None when any is wrong (each problem is in ``errors``)."""
    start = len(errors.items)
    if not isinstance(name, str) or not 0 < len(name) <= 200:
        errors.add(f"{path}.name", "a rule needs a name of 1 to 200 characters")
    description = raw.get("description")
    if description is not None and (not isinstance(description, str) or len(description) > 2000):
        errors.add(f"{path}.description", "a description is a text of up to 2000 characters")
    enabled = raw.get("enabled", True)
    if not isinstance(enabled, bool):
        errors.add(f"{path}.enabled", "enabled is true or false")
    if not isinstance(priority, int) or isinstance(priority, bool) or not 0 <= priority <= 100_000:
        errors.add(f"{path}.priority", "priority is a whole number from 0 (runs first) to 100000")
    scope = _compile_scope(raw.get("scope", {}), f"{path}.scope", errors)
    when = compile_condition(raw["when"], f"{path}.when", errors) if raw.get("when") is not None else None
    if when_required and "when" in raw and raw["when"] is None:
        errors.add(f"{path}.when", "a condition cannot be null; leave it out to match every order in scope")
    if len(errors.items) > start or scope is None:
        return None
    assert isinstance(priority, int) and isinstance(enabled, bool) and isinstance(name, str)
    spec: dict[str, Any] = {"key": key, "name": name, "enabled": enabled, "priority": priority}
    if description:
        spec["description"] = description
    if not scope.everything:
        spec["scope"] = scope.as_json()
    if raw.get("when") is not None:
        spec["when"] = condition_json(raw["when"])
    return Common(name, enabled, priority, scope, when, spec)


def compile_rule(raw: Any, path: str, errors: Errors, *, version: int = 0) -> Rule | None:
    """Check one rule as the seller wrote it and compile it; problems go to ``errors``."""
    start = len(errors.items)
    key = rule_key(raw, path, errors, RULE_FIELDS)
    if key is None:
        return None
    check = CHECKS.get(key)
    if "check" in raw and raw["check"] != key:
        errors.add(f"{path}.check", "check is set by the key: a built-in rule's key names its check")
    if check is None and key.split(".")[0] in {c.split(".")[0] for c in CHECKS}:
        errors.add(
            f"{path}.key", f"{key!r} is not a built-in check; keys starting with those prefixes are reserved"
        )
    common = compile_common(
        raw,
        key,
        path,
        errors,
        name=raw.get("name", check.title if check else key),
        priority=raw.get("priority", check.priority if check else 1000),
        when_required=check is None,
    )
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
    if len(errors.items) > start or common is None:
        return None
    spec = common.spec
    if check is not None and params is not None:
        spec["params"] = params.model_dump(mode="json")
    spec["then"] = then
    return Rule(
        key,
        common.name,
        common.priority,
        common.enabled,
        common.scope,
        common.when,
        tuple(actions),
        check,
        params,
        version,
        spec,
    )


def _compile_scope(raw: Any, path: str, errors: Errors) -> Scope | None:
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


class Keyed(Protocol):
    @property
    def key(self) -> str: ...


K = TypeVar("K", bound=Keyed)


def compile_set(
    raws: Sequence[Any],
    compile_one: Callable[..., K | None],
    *,
    versions: Mapping[str, int] | None = None,
) -> list[K]:
    """Check a whole rule set of one kind (``compile_one`` checks a rule); every problem in every
    rule is reported at once."""
    errors = Errors()
    if len(raws) > MAX_RULES:
        errors.add("rules", f"at most {MAX_RULES} rules")
        raise RuleInvalid(errors.items)
    rules: list[K] = []
    seen: set[str] = set()
    for i, raw in enumerate(raws):
        rule = compile_one(raw, f"rules[{i}]", errors, version=(versions or {}).get(_key(raw), 0))
        if rule is None:
            continue
        if rule.key in seen:
            errors.add(f"rules[{i}].key", f"{rule.key!r} appears twice")
        seen.add(rule.key)
        rules.append(rule)
    if errors.items:
        raise RuleInvalid(errors.items)
    return rules


def compile_rules(raws: Sequence[Any], *, versions: Mapping[str, int] | None = None) -> list[Rule]:
    """Check a whole review rule set."""
    return compile_set(raws, compile_rule, versions=versions)


def _key(raw: Any) -> str:
    return str(raw.get("key")) if isinstance(raw, Mapping) else ""


def default_rules() -> list[Rule]:
    """Every built-in check with its shipped settings."""
    return compile_rules([{"key": name} for name in CHECKS])
