"""Conditions: a small tree of known facts and operators (``{all: [...]}``, ``{any: [...]}``, ``{not:
...}``, ``{fact: ..., <op>: ...}``), checked once and compiled into a predicate over the engine's view.
Nothing in a condition is ever evaluated as code. Pure.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from orderly.review.domain.view import View
from orderly.review.facts import FACTS

MAX_DEPTH = 8
MAX_NODES = 500  # conditions in one rule
MAX_LIST = 10_000


class Errors:
    """Every problem found in a rule set, each with the path of the field it is in."""

    def __init__(self) -> None:
        self.items: list[dict[str, str]] = []

    def add(self, path: str, message: str) -> None:
        self.items.append({"field": path, "message": message})


Predicate = Callable[[View], bool]

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


def condition_json(value: Any) -> Any:
    """A condition as JSON stores it: times as ISO 8601 text."""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {k: condition_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [condition_json(v) for v in value]
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


def _check_value(fact_type: str, op: str, value: Any, path: str, errors: Errors) -> bool:
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


def compile_condition(tree: Any, path: str, errors: Errors, depth: int = 0) -> Predicate | None:
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
