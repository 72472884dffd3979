"""Routing rules, a rule kind of their own in the review's storage (``review_rules`` with kind
``routing``: every version kept, the settings under the key ``settings``), their YAML document and dry
run, and routing orders with them (``domain/routing.py``). Ingest and the release of held orders route
where they allocate; fulfilment re-routes an order not yet shipped. Services never commit."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import yaml
from sqlalchemy.orm import Session

from orderly.core.errors import NotFound
from orderly.inventory.domain import Allocation
from orderly.orders.models import Order
from orderly.review import repository as repo
from orderly.review import service
from orderly.review.caches import CACHES
from orderly.review.document import PlainDumper, parse_yaml
from orderly.review.domain.engine import Decision
from orderly.review.domain.routing import Asked, Policy, Route, RoutingRule, RoutingSet, compile_routing_rules
from orderly.review.domain.rules import RuleInvalid
from orderly.review.domain.view import ReviewContext, Subject
from orderly.review.models import ReviewRule, ReviewRuleVersion
from orderly.review.schemas import ReviewSettings, RoutingSettings
from orderly.review.subjects import subjects_for_orders

KIND = repo.ROUTING
NO_ROUTING = RoutingSet((), Policy())


def _effective(saved: Sequence[ReviewRule]) -> tuple[list[dict[str, Any]], dict[str, int], dict[str, Any]]:
    rows = {row.key: row for row in saved}
    settings_row = rows.pop(service.SETTINGS_KEY, None)
    specs = [row.spec for _, row in sorted(rows.items())]
    return specs, {key: row.version for key, row in rows.items()}, settings_row.spec if settings_row else {}


def live(session: Session) -> RoutingSet:
    """The routing rules in force, compiled once per change; none saved (the usual case until a seller
    routes) costs one small query."""
    saved = repo.saved_rules(session, KIND)
    if not saved:
        return NO_ROUTING
    specs, versions, settings = _effective(saved)
    fingerprint = json.dumps([specs, versions, settings], sort_keys=True, default=str)
    cached = CACHES.routing(fingerprint)
    if cached is not None:
        return cached
    compiled = RoutingSet(
        compile_routing_rules(specs, versions=versions),
        RoutingSettings.model_validate(settings).policy(),
        version=repo.ruleset_version(session, KIND),
    )
    CACHES.keep_routing(fingerprint, compiled)
    return compiled


def settings(session: Session) -> RoutingSettings:
    row = repo.saved_rule(session, service.SETTINGS_KEY, kind=KIND)
    return RoutingSettings.model_validate(row.spec if row else {})


def save_settings(session: Session, raw: Mapping[str, Any], *, actor: str) -> RoutingSettings:
    parsed = service.parse_settings(raw, RoutingSettings)
    service.store(session, service.SETTINGS_KEY, parsed.model_dump(mode="json"), actor, KIND)
    return parsed


def rules(session: Session) -> list[tuple[RoutingRule, ReviewRule]]:
    """Every routing rule, enabled or not, in evaluation order, with its saved row."""
    saved = {row.key: row for row in repo.saved_rules(session, KIND) if row.key != service.SETTINGS_KEY}
    compiled = compile_routing_rules(
        [row.spec for row in saved.values()], versions={k: r.version for k, r in saved.items()}
    )
    return [(rule, saved[rule.key]) for rule in sorted(compiled, key=lambda r: (r.priority, r.key))]


def get_rule(session: Session, key: str) -> tuple[RoutingRule, ReviewRule]:
    for rule, row in rules(session):
        if rule.key == key:
            return rule, row
    raise NotFound(f"no routing rule {key!r}")


def save_rule(session: Session, spec: Mapping[str, Any], *, actor: str) -> RoutingRule:
    """Create or replace one routing rule; a bad one is refused with what is wrong, nothing changes."""
    if spec.get("key") == service.SETTINGS_KEY:
        raise RuleInvalid(
            [{"field": "key", "message": f"{service.SETTINGS_KEY!r} is reserved for the routing settings"}]
        )
    try:
        (rule,) = compile_routing_rules([spec])
    except RuleInvalid as exc:
        raise service.one_rule(exc) from exc
    service.store(session, rule.key, rule.spec, actor, KIND)
    return get_rule(session, rule.key)[0]


def delete_rule(session: Session, key: str, *, actor: str) -> None:
    if key == service.SETTINGS_KEY:
        raise NotFound(f"no routing rule {key!r}")
    service.store(session, key, None, actor, KIND)


def set_enabled(session: Session, key: str, enabled: bool, *, actor: str) -> RoutingRule:
    rule, _ = get_rule(session, key)
    return save_rule(session, {**rule.spec, "enabled": enabled}, actor=actor)


def versions(session: Session, key: str) -> list[ReviewRuleVersion]:
    found = repo.rule_versions(session, key, KIND)
    if not found:
        raise NotFound(f"no routing rule {key!r}")
    return found


def export_yaml(session: Session) -> str:
    document = {
        "settings": settings(session).model_dump(mode="json"),
        "rules": [rule.spec for rule, _ in rules(session)],
    }
    return yaml.dump(document, Dumper=PlainDumper, allow_unicode=True, sort_keys=False)


def import_yaml(session: Session, text: str, *, actor: str, replace: bool = False) -> list[RoutingRule]:
    """Save every routing rule in the document (all or none); with ``replace``, rules not in it are
    deleted."""
    specs, raw_settings = parse_yaml(text)
    compiled = compile_routing_rules(specs)
    parsed = service.parse_settings(raw_settings, RoutingSettings) if raw_settings is not None else None
    current = {rule.key: rule for rule, _ in rules(session)}
    incoming = {rule.key for rule in compiled}
    if replace:
        for key in sorted(set(current) - incoming):
            service.store(session, key, None, actor, KIND)
    for rule in compiled:
        if rule.key not in current or current[rule.key].spec != rule.spec:
            service.store(session, rule.key, rule.spec, actor, KIND)
    if parsed is not None and parsed != settings(session):
        save_settings(session, parsed.model_dump(mode="json"), actor=actor)
    return [rule for rule, _ in rules(session)]


# --- routing orders ---------------------------------------------------------------------------------


def asked_of(review: Mapping[str, Any] | None) -> Asked:
    """What a stored review decision (``orders.review``) chose of warehouses and splits."""
    if not review:
        return Asked()
    warehouse = review.get("warehouse") or {}
    return Asked(warehouse.get("use"), frozenset(warehouse.get("exclude") or ()), review.get("split"))


def asked_of_decision(decision: Decision) -> Asked:
    """What a review decision being made chose of warehouses and splits."""
    return Asked(decision.warehouse, frozenset(decision.exclude_warehouses), decision.split)


def routing_context(
    now: datetime | None,
    available: Mapping[str, Mapping[str, int]] | None,
    warehouses: tuple[str, ...],
    review_settings: ReviewSettings,
) -> ReviewContext:
    return ReviewContext(
        now=now,
        available=available,
        warehouses=warehouses,
        base_currency=review_settings.base_currency,
        rates=review_settings.rates,
    )


@dataclass
class Routed:
    """Routes of some orders by key, and what allocation and the order's record need of them."""

    ruleset: RoutingSet
    routes: dict[Hashable, Route]
    codes: Mapping[int, str]  # active warehouse id -> code

    def options(self, key: Hashable) -> tuple[tuple[int, ...], bool] | None:
        """(the warehouses to try, in order; whether it may split), or None when not routed."""
        route = self.routes.get(key)
        if route is None:
            return None
        ids = {code: wid for wid, code in self.codes.items()}
        return tuple(ids[code] for code in route.order), route.split

    def as_json(self, key: Hashable, allocation: Allocation | None) -> dict[str, Any] | None:
        route = self.routes.get(key)
        if route is None:
            return None
        chosen: list[str] = []
        if allocation is not None and allocation.ok:
            used = {self.codes.get(wid) for (_, wid), _ in allocation.reservations()}
            chosen = [code for code in route.order if code in used]
        return route.as_json(
            ruleset=self.ruleset.version, chosen=chosen, ok=allocation is None or allocation.ok
        )


def route_subjects(
    ruleset: RoutingSet,
    subjects: Sequence[Subject],
    context: ReviewContext,
    asked: Mapping[Hashable, Asked],
    codes: Mapping[int, str],
) -> Routed:
    """Route each subject; nothing at all when no routing rule or setting applies."""
    if not ruleset.active:
        return Routed(ruleset, {}, codes)
    return Routed(
        ruleset, {s.key: ruleset.route(s, context, asked.get(s.key, Asked())) for s in subjects}, codes
    )


def route_stored(session: Session, orders: Sequence[Order], *, now: datetime | None) -> Routed:
    """Route stored orders (keyed ``("order", id)``, as the review keys them) against the stock as it
    stands: the release of held orders and a re-route."""
    ruleset = live(session)
    codes = repo.warehouse_codes(session)
    if not ruleset.active or not orders:
        return Routed(ruleset, {}, codes)
    subjects, available, warehouses, _ = subjects_for_orders(session, orders)
    review_settings = service.settings(session)
    reviews = {o.id: o.review for o in orders}
    keyed = {s.order_id: s for s in subjects}
    return route_subjects(
        ruleset,
        [keyed[o.id] for o in orders if o.id in keyed],
        routing_context(now, available, warehouses, review_settings),
        {("order", oid): asked_of(review) for oid, review in reviews.items()},
        codes,
    )


def dry_run(
    session: Session,
    specs: Sequence[Any],
    raw_settings: Mapping[str, Any] | None,
    *,
    last: int,
    examples: int = 100,
) -> dict[str, Any]:
    """Route the last ``last`` orders with a candidate routing rule set and with the live one, against
    the stock as it stands now, and compare the first warehouse tried and the split; nothing is written."""
    current = live(session)
    proposed_settings = (
        service.parse_settings(raw_settings, RoutingSettings)
        if raw_settings is not None
        else settings(session)
    )
    proposed = RoutingSet(compile_routing_rules(specs), proposed_settings.policy())
    orders = repo.recent_orders(session, last)
    subjects, available, warehouses, _ = subjects_for_orders(session, orders)
    context = routing_context(None, available, warehouses, service.settings(session))
    asked: dict[Hashable, Asked] = {("order", o.id): asked_of(o.review) for o in orders}
    report: dict[str, Any] = {"orders": len(subjects)}
    results: dict[str, dict[Hashable, Route]] = {}
    for name, ruleset in (("live", current), ("candidate", proposed)):
        routes = {s.key: ruleset.route(s, context, asked.get(s.key, Asked())) for s in subjects}
        results[name] = routes
        report[name] = {
            "first_choice": dict(
                Counter(r.order[0] if r.order else "none" for r in routes.values()).most_common()
            ),
            "split_allowed": sum(r.split for r in routes.values()),
            "fired_by_rule": dict(Counter(f["rule"] for r in routes.values() for f in r.fired).most_common()),
        }
    by_key = {s.key: s for s in subjects}
    changes = []
    for key, before in results["live"].items():
        after = results["candidate"][key]
        if (before.order[:1], before.split) != (after.order[:1], after.split):
            subject = by_key[key]
            changes.append(
                {
                    "order_id": subject.order_id,
                    "external_id": subject.order["external_id"],
                    "live": _summary(before),
                    "candidate": _summary(after),
                }
            )
    report["changed"] = len(changes)
    report["changes"] = changes[:examples]
    return report


def _summary(route: Route) -> dict[str, Any]:
    return {"order": list(route.order), "split": route.split, "rules": [f["rule"] for f in route.fired]}
