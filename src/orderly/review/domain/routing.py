"""Warehouse routing as rules, in the review's language: a routing rule has the review rule's key,
name, priority, scope and condition (:func:`orderly.review.domain.rules.compile_common`, the same facts
and operators), and routing actions:

- ``{warehouses: {prefer: [CODE, ...], exclude: [CODE, ...]}}``: try these first, in this order; never
  these;
- ``{rank: priority | cost | transit | stock}``: how the other warehouses are ordered (by warehouse
  priority, by the seller's shipping cost or transit days to the destination, by how much of the order
  each holds);
- ``{promise_days: N}``: pass over warehouses whose transit to the destination is longer;
- ``{carrier: {use: CODE, service: NAME}}``: a carrier (and service) preference kept with the decision;
- ``{split: true | false}``: whether an order no one warehouse can fill may ship from several.

Every enabled rule in scope whose condition holds fires, by priority (lowest number first, key breaking
ties); of each action the first rule that sets it decides, and exclusions add up, as in the review.
What the routing decides is the order in which allocation (``inventory.domain.allocate``, first that
holds every line) tries warehouses and whether it may split, with why each warehouse was chosen or
passed over. Shipping costs and transit times come from the seller's lanes (a table per warehouse and
destination), not from live carrier quotes. Pure.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from orderly.core.money import display
from orderly.core.phrases import Arg, Phrase, listed
from orderly.review.domain.conditions import MAX_LIST, Errors, Predicate
from orderly.review.domain.rules import MAX_ACTIONS, Scope, compile_common, compile_set, rule_key
from orderly.review.domain.shipping import REGIONS, regions_of
from orderly.review.domain.view import ReviewContext, Subject, View

ROUTING_FIELDS = {"key", "name", "description", "enabled", "priority", "scope", "when", "then"}
RANKS = ("priority", "cost", "transit", "stock")
ACTION_KINDS = "warehouses, rank, promise_days, carrier, split"
EVERYWHERE = "*"


@dataclass(frozen=True, slots=True)
class RouteAction:
    kind: str  # warehouses, rank, promise_days, carrier, split
    prefer: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    rank: str = "priority"
    days: int = 0
    carrier: str | None = None
    service: str | None = None
    flag: bool = True

    def describe(self) -> str:
        if self.kind == "warehouses":
            parts = [f"prefer {', '.join(self.prefer)}"] if self.prefer else []
            parts += [f"exclude {', '.join(self.exclude)}"] if self.exclude else []
            return "; ".join(parts)
        if self.kind == "rank":
            return f"rank by {self.rank}"
        if self.kind == "promise_days":
            return f"deliver within {self.days} days"
        if self.kind == "carrier":
            return f"carrier {self.carrier}" + (f" {self.service}" if self.service else "")
        return "split" if self.flag else "no split"


def _codes(value: Any) -> tuple[str, ...] | None:
    items = [value] if isinstance(value, str) else value
    if (
        not isinstance(items, list)
        or not 0 < len(items) <= MAX_LIST
        or not all(isinstance(x, str) and 0 < len(x) <= 64 for x in items)
    ):
        return None
    return tuple(items)


def _text(value: Any, limit: int = 64) -> bool:
    return isinstance(value, str) and 0 < len(value) <= limit


def compile_route_action(raw: Any, path: str, errors: Errors) -> RouteAction | None:
    if not isinstance(raw, Mapping) or len(raw) != 1:
        errors.add(path, f"a routing action is an object with one key, one of {ACTION_KINDS}")
        return None
    ((kind, arg),) = raw.items()
    here = f"{path}.{kind}"
    if kind == "warehouses":
        if not isinstance(arg, Mapping) or not arg or set(arg) - {"prefer", "exclude"}:
            errors.add(here, "warehouses takes {prefer: [CODE, ...]} and/or {exclude: [CODE, ...]}")
            return None
        found: dict[str, tuple[str, ...]] = {}
        for name in ("prefer", "exclude"):
            if name in arg:
                codes = _codes(arg[name])
                if codes is None:
                    errors.add(f"{here}.{name}", f"{name} is a warehouse code or a list of them")
                    return None
                found[name] = codes
        both = set(found.get("prefer", ())) & set(found.get("exclude", ()))
        if both:
            errors.add(here, f"{', '.join(sorted(both))} is both preferred and excluded")
            return None
        return RouteAction("warehouses", prefer=found.get("prefer", ()), exclude=found.get("exclude", ()))
    if kind == "rank":
        if arg not in RANKS:
            errors.add(here, f"rank takes one of {', '.join(RANKS)}, not {arg!r}")
            return None
        return RouteAction("rank", rank=arg)
    if kind == "promise_days":
        if not isinstance(arg, int) or isinstance(arg, bool) or not 0 < arg <= 365:
            errors.add(here, "promise_days takes a whole number of days from 1 to 365")
            return None
        return RouteAction("promise_days", days=arg)
    if kind == "carrier":
        if (
            not isinstance(arg, Mapping)
            or "use" not in arg
            or set(arg) - {"use", "service"}
            or not _text(arg["use"])
            or ("service" in arg and not _text(arg["service"], 100))
        ):
            errors.add(here, "carrier takes {use: CODE} and optionally service: NAME")
            return None
        return RouteAction("carrier", carrier=arg["use"], service=arg.get("service"))
    if kind == "split":
        if not isinstance(arg, bool):
            errors.add(here, "split takes true or false")
            return None
        return RouteAction("split", flag=arg)
    errors.add(path, f"unknown routing action {kind!r}; one of {ACTION_KINDS}")
    return None


@dataclass(frozen=True, slots=True)
class RoutingRule:
    """A checked, compiled routing rule; ``spec`` is the rule as the seller wrote it (normalised)."""

    key: str
    name: str
    priority: int
    enabled: bool
    scope: Scope
    when: Predicate | None
    actions: tuple[RouteAction, ...]
    version: int
    spec: dict[str, Any] = field(compare=False)


def compile_routing_rule(raw: Any, path: str, errors: Errors, *, version: int = 0) -> RoutingRule | None:
    start = len(errors.items)
    key = rule_key(raw, path, errors, ROUTING_FIELDS)
    if key is None:
        return None
    common = compile_common(
        raw, key, path, errors, name=raw.get("name", key), priority=raw.get("priority", 1000)
    )
    then = raw.get("then")
    actions: list[RouteAction] = []
    if not isinstance(then, list) or not then or len(then) > MAX_ACTIONS:
        errors.add(
            f"{path}.then",
            f"then is a list of 1 to {MAX_ACTIONS} routing actions, "
            "e.g. [{warehouses: {prefer: [HOME]}}]",
        )
    else:
        for i, item in enumerate(then):
            action = compile_route_action(item, f"{path}.then[{i}]", errors)
            if action is not None:
                actions.append(action)
        kinds = [a.kind for a in actions]
        for kind in sorted({k for k in kinds if kinds.count(k) > 1}):
            errors.add(f"{path}.then", f"{kind} appears twice; give it once")
    if len(errors.items) > start or common is None:
        return None
    spec = common.spec | {"then": then}
    return RoutingRule(
        key,
        common.name,
        common.priority,
        common.enabled,
        common.scope,
        common.when,
        tuple(actions),
        version,
        spec,
    )


def compile_routing_rules(
    raws: Sequence[Any], *, versions: Mapping[str, int] | None = None
) -> list[RoutingRule]:
    """Check a whole routing rule set; every problem in every rule is reported at once."""
    return compile_set(raws, compile_routing_rule, versions=versions)


@dataclass(frozen=True, slots=True)
class Lane:
    """What shipping from a warehouse to some destinations costs and takes, as the seller keeps it.
    ``to`` holds countries, region names (:data:`orderly.review.domain.shipping.REGIONS`) or ``*``."""

    warehouse: str
    to: frozenset[str]
    cost: int | None  # minor units of the base currency
    days: int | None


@dataclass(frozen=True, slots=True)
class Policy:
    """The routing settings: whether orders split by default, the total below which they never
    split, and the lanes."""

    split: bool = False
    split_min_total: int | None = None  # minor units of the base currency
    lanes: tuple[Lane, ...] = ()
    _index: Mapping[tuple[str, str], Lane] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        # Most specific first: a country, then a region, then everywhere; the first lane given wins.
        index: dict[tuple[str, str], Lane] = {}
        for lane in self.lanes:
            for place in lane.to:
                index.setdefault((lane.warehouse, place), lane)
        object.__setattr__(self, "_index", index)

    def lane(self, warehouse: str, country: str) -> Lane | None:
        index = self._index
        found = index.get((warehouse, country))
        if found is not None:
            return found
        for region in regions_of(country):
            found = index.get((warehouse, region))
            if found is not None:
                return found
        return index.get((warehouse, EVERYWHERE))


def known_place(place: str) -> bool:
    return place == EVERYWHERE or place in REGIONS or (len(place) == 2 and place.isupper())


@dataclass(frozen=True, slots=True)
class Asked:
    """What the review already decided of warehouses and splits for this order."""

    use: str | None = None
    exclude: frozenset[str] = frozenset()
    split: bool | None = None


_NOTHING_ASKED = Asked()


@dataclass(slots=True)
class Route:
    """One order's routing: the warehouses in the order allocation tries them, those passed over, the
    split, the carrier preference, and why, warehouse by warehouse."""

    order: tuple[str, ...]
    split: bool
    split_reason: Phrase
    fired: list[dict[str, Any]]
    reasons: dict[str, Phrase]  # warehouse -> why it is where it is, or why it was passed over
    passed: tuple[str, ...]  # warehouses passed over, in the default order
    rank: str
    carrier: dict[str, str] | None = None
    fills: tuple[str, ...] = ()  # warehouses holding every line on the stock as read, in order

    def as_json(self, *, ruleset: int, chosen: Sequence[str], ok: bool) -> dict[str, Any]:
        """The decision as stored on the order, with what allocation made of it: ``chosen`` are the
        warehouses the stock was reserved in (several when split). The sentences are kept in English
        and as phrases (``phrases``: the outcome and each line of the explanation) for the console."""
        if not ok:
            outcome = (
                Phrase(
                    "nothing reserved: no warehouse in the order holds every line and even together they "
                    "are short"
                )
                if self.split
                else Phrase("nothing reserved: no warehouse in the order holds every line")
            )
        elif len(chosen) > 1:
            outcome = Phrase(
                "split over %(chosen)s: no one warehouse held every line", chosen=", ".join(chosen)
            )
        elif chosen:
            first = self.order[0] if self.order else None
            outcome = (
                Phrase("%(warehouse)s: first in the order, holds every line", warehouse=chosen[0])
                if chosen[0] == first
                else Phrase(
                    "%(warehouse)s: the first in the order that holds every line", warehouse=chosen[0]
                )
            )
        else:
            outcome = Phrase("nothing to reserve")
        explanation = [
            *(
                Phrase(
                    "rule %(rule)s fired: %(name)s (%(actions)s)",
                    rule=f["rule"],
                    name=f["message"],
                    actions=", ".join(f["actions"]),
                )
                for f in self.fired
            ),
            *(
                Phrase("%(warehouse)s: %(why)s", warehouse=code, why=self.reasons[code])
                for code in (*self.order, *self.passed)
            ),
            Phrase("split: yes, %(why)s", why=self.split_reason)
            if self.split
            else Phrase("split: no, %(why)s", why=self.split_reason),
            Phrase("outcome: %(outcome)s", outcome=outcome),
        ]
        out: dict[str, Any] = {
            "ruleset": ruleset,
            "fired": self.fired,
            "order": list(self.order),
            "passed_over": {code: self.reasons[code].english() for code in self.passed},
            "warehouses": {code: self.reasons[code].english() for code in self.order},
            "rank": self.rank,
            "split": self.split,
            "split_reason": self.split_reason.english(),
            "chosen": list(chosen),
            "outcome": outcome.english(),
            "explanation": [line.english() for line in explanation],
            "phrases": {
                "outcome": outcome.as_json(),
                "explanation": [line.as_json() for line in explanation],
            },
        }
        if self.carrier:
            out["carrier"] = self.carrier
        return out


class RoutingSet:
    """Compiled routing rules in evaluation order with the policy, ready to route orders."""

    def __init__(self, rules: Sequence[RoutingRule], policy: Policy, *, version: int = 0) -> None:
        self.all_rules = tuple(sorted(rules, key=lambda r: (r.priority, r.key)))
        self.rules = tuple(r for r in self.all_rules if r.enabled)
        self.policy = policy
        self.version = version
        self._lane_memo: dict[
            tuple[tuple[str, ...], str, str], tuple[dict[str, Lane | None], dict[str, Phrase | None]]
        ] = {}
        self._plan = tuple(
            (r, r.scope.everything, r.scope.covers, r.when, tuple(a.describe() for a in r.actions))
            for r in self.rules
        )

    @property
    def active(self) -> bool:
        """Whether routing changes anything: with no rule and no split by default, it is skipped."""
        return bool(self.rules) or self.policy.split

    def route(self, subject: Subject, context: ReviewContext, asked: Asked = _NOTHING_ASKED) -> Route:
        view = View(subject, context)
        fired: list[dict[str, Any]] = []
        prefer: tuple[str, ...] = ()
        prefer_by = ""
        excluded: dict[str, Phrase] = {code: Phrase("excluded by the review") for code in asked.exclude}
        rank, rank_by = "priority", ""
        promise, promise_by = 0, ""
        carrier: dict[str, str] | None = None
        split: bool | None = asked.split
        split_by: Phrase | None = Phrase("the review's rules") if asked.split is not None else None
        for rule, everywhere, covers, when, described in self._plan:
            if not (everywhere or covers(subject)) or (when is not None and not when(view)):
                continue
            fired.append(
                {"rule": rule.key, "version": rule.version, "message": rule.name, "actions": list(described)}
            )
            for action in rule.actions:
                kind = action.kind
                if kind == "warehouses":
                    if action.prefer and not prefer:
                        prefer, prefer_by = action.prefer, rule.key
                    for code in action.exclude:
                        excluded.setdefault(code, Phrase("excluded by rule %(rule)s", rule=rule.key))
                elif kind == "rank" and not rank_by:
                    rank, rank_by = action.rank, rule.key
                elif kind == "promise_days" and not promise_by:
                    promise, promise_by = action.days, rule.key
                elif kind == "carrier" and carrier is None:
                    carrier = {"carrier": str(action.carrier), "rule": rule.key}
                    if action.service:
                        carrier["service"] = action.service
                elif kind == "split" and split is None:
                    split, split_by = action.flag, Phrase("rule %(rule)s", rule=rule.key)
        return self._order(
            subject,
            context,
            asked,
            fired,
            prefer,
            prefer_by,
            excluded,
            rank,
            rank_by,
            promise,
            promise_by,
            carrier,
            split,
            split_by,
        )

    def _lanes(
        self, codes: tuple[str, ...], country: str, currency: str
    ) -> tuple[Mapping[str, Lane | None], Mapping[str, Phrase | None]]:
        """Each warehouse's lane to ``country`` and its figures as the explanation gives them, worked
        out once per destination: a few hundred countries at most."""
        key = (codes, country, currency)
        found = self._lane_memo.get(key)
        if found is None:
            lanes = {code: self.policy.lane(code, country) for code in codes}
            figures: dict[str, Phrase | None] = {}
            for code, lane in lanes.items():
                parts: list[str | Phrase] = (
                    [] if lane is None or lane.cost is None else [display(lane.cost, currency)]
                )
                parts += (
                    [] if lane is None or lane.days is None else [Phrase("%(days)s days", days=lane.days)]
                )
                figures[code] = (
                    Phrase("to %(country)s %(figures)s", country=country, figures=listed(parts, commas=True))
                    if parts
                    else None
                )
            found = self._lane_memo[key] = (lanes, figures)
        return found

    def _order(
        self,
        subject: Subject,
        context: ReviewContext,
        asked: Asked,
        fired: list[dict[str, Any]],
        prefer: tuple[str, ...],
        prefer_by: str,
        excluded: dict[str, Phrase],
        rank: str,
        rank_by: str,
        promise: int,
        promise_by: str,
        carrier: dict[str, str] | None,
        split: bool | None,
        split_by: Phrase | None,
    ) -> Route:
        country = subject.order["shipping_address"]["country"]
        defaults = context.warehouses
        reasons: dict[str, Phrase] = {}
        passed: list[str] = []
        candidates: list[str] = []
        lanes, figures = self._lanes(defaults, country, context.base_currency)
        for code in defaults:
            if code in excluded:
                reasons[code] = excluded[code]
                passed.append(code)
                continue
            lane = lanes[code]
            if promise and lane is not None and lane.days is not None and lane.days > promise:
                reasons[code] = Phrase(
                    "passed over: %(days)s days to %(country)s, over the %(promise)s-day promise of "
                    "rule %(rule)s",
                    days=lane.days,
                    country=country,
                    promise=promise,
                    rule=promise_by,
                )
                passed.append(code)
                continue
            candidates.append(code)
        held = _holdings(subject.needs, context.available, candidates)
        position = {code: i for i, code in enumerate(defaults)}
        first: list[str] = []
        if asked.use in candidates:
            first.append(asked.use)
        first += [code for code in prefer if code in candidates and code not in first]
        rest = [code for code in candidates if code not in first]
        rest.sort(key=_rank_key(rank, lanes, held, position))
        order = (*first, *rest)
        for code in order:
            if code == asked.use:
                why = Phrase("chosen by the review")
            elif code in prefer:
                why = Phrase("preferred by rule %(rule)s", rule=prefer_by)
            elif rank == "priority":
                why = Phrase("warehouse priority (#%(position)s)", position=position[code] + 1)
            else:
                why = Phrase("ranked by %(rank)s (rule %(rule)s)", rank=rank, rule=rank_by)
            parts: list[str | Phrase] = [why]
            if (figure := figures[code]) is not None:
                parts.append(figure)
            whole, short = held.get(code, (None, None))
            if whole is not None:
                parts.append(
                    Phrase("holds every line") if whole else Phrase("short: %(short)s", short=short or "")
                )
            reasons[code] = (
                why if len(parts) == 1 else Phrase("%(first)s; %(rest)s", first=why, rest=listed(parts[1:]))
            )
        for code in prefer:
            if code not in reasons and code not in defaults:
                reasons[code] = Phrase(
                    "preferred by rule %(rule)s but not an active warehouse", rule=prefer_by
                )
                passed.append(code)
        fills = tuple(code for code in order if held.get(code, (False, ""))[0])
        allowed, why_split = self._split(subject, context, split, split_by, fills, held)
        return Route(order, allowed, why_split, fired, reasons, tuple(passed), rank, carrier, fills)

    def _split(
        self,
        subject: Subject,
        context: ReviewContext,
        split: bool | None,
        split_by: Phrase | None,
        fills: tuple[str, ...],
        held: Mapping[str, tuple[bool | None, Arg | None]],
    ) -> tuple[bool, Phrase]:
        policy = self.policy
        if split is None or split_by is None:
            split, split_by = policy.split, Phrase("the routing settings")
        if not split:
            return False, Phrase(
                "splitting is off (%(by)s): it waits for one warehouse to hold it all", by=split_by
            )
        threshold = policy.split_min_total
        currency = subject.order["currency"]
        if threshold is not None:
            total = context.to_base(subject.total, currency)
            limit = display(threshold, context.base_currency)
            if total is None:
                return False, Phrase(
                    "no rate from %(currency)s to %(base)s to compare with the split threshold %(limit)s: "
                    "it waits for one warehouse to hold it all",
                    currency=currency,
                    base=context.base_currency,
                    limit=limit,
                )
            if total < threshold:
                return False, Phrase(
                    "total %(total)s is below the split threshold %(limit)s: "
                    "it waits for one warehouse to hold it all",
                    total=display(subject.total, currency),
                    limit=limit,
                )
        if fills:
            return True, Phrase(
                "allowed (%(by)s) but not needed: %(warehouse)s holds every line",
                by=split_by,
                warehouse=fills[0],
            )
        if held:
            return True, Phrase("allowed (%(by)s): no one warehouse holds every line", by=split_by)
        return True, Phrase("allowed (%(by)s)", by=split_by)


def _holdings(
    needs: Mapping[str, int], available: Mapping[str, Mapping[str, int]] | None, codes: Sequence[str]
) -> dict[str, tuple[bool | None, Arg | None]]:
    """Per warehouse: whether it holds every line on the stock as read, and what it lacks."""
    if available is None or not needs:
        return {}
    empty: Mapping[str, int] = {}
    out: dict[str, tuple[bool | None, Arg | None]] = {}
    for code in codes:
        short: list[str | Phrase] = [
            Phrase("%(sku)s needs %(needed)s, has %(has)s", sku=sku, needed=qty, has=has)
            for sku, qty in needs.items()
            if (has := available.get(sku, empty).get(code, 0)) < qty
        ]
        if not short:
            out[code] = (True, None)
            continue
        lacks: Arg = listed(short[:5])
        if len(short) > 5:
            lacks = Phrase("%(short)s and more", short=lacks)
        out[code] = (False, lacks)
    return out


def _rank_key(
    rank: str,
    lanes: Mapping[str, Lane | None],
    held: Mapping[str, tuple[bool | None, Arg | None]],
    position: Mapping[str, int],
) -> Any:
    if rank == "cost":

        def by_cost(code: str) -> tuple[Any, ...]:
            lane = lanes[code]
            cost = lane.cost if lane is not None else None
            return (cost is None, cost or 0, position[code])

        return by_cost
    if rank == "transit":

        def by_transit(code: str) -> tuple[Any, ...]:
            lane = lanes[code]
            days = lane.days if lane is not None else None
            return (days is None, days or 0, position[code])

        return by_transit
    if rank == "stock":
        return lambda code: (not held.get(code, (False, ""))[0], position[code])
    return position.__getitem__
