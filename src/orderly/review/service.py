"""Review use cases: the live rule set, saving and versioning rules, reviewing a batch of orders with
what the hub knows around them, and the dry run. Services never commit."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import yaml
from pydantic import ValidationError
from sqlalchemy.orm import Session

from orderly.alerts.service import raise_alert
from orderly.core.clock import utcnow
from orderly.core.errors import NotFound, field_path
from orderly.inventory.domain import Level, StockKey
from orderly.orders.domain import Hold, OrderStatus
from orderly.orders.models import Order
from orderly.review import repository as repo
from orderly.review.checks import CHECKS
from orderly.review.domain import Decision, Rule, RuleInvalid, RuleSet, compile_rules
from orderly.review.facts import History, ReviewContext, RunningNorm, Seen, Subject
from orderly.review.models import ReviewRule, ReviewRuleVersion
from orderly.review.schemas import ReviewSettings
from orderly.review.subjects import (
    available_by_sku,
    catalog_facts,
    channel_by_shop,
    subjects_for_orders,
    warehouse_codes,
)

SETTINGS_KEY = "settings"
STOCK_RULE = "stock.available"
NORM_SAMPLE = 500  # recent orders a shop's normal total is the median of
NORM_SECONDS = 300.0
HISTORY_PER_IDENTITY = 50  # recent orders of one buyer or address a review looks at, at most
#: Statuses in which an order can still ship together with a new one.
MERGEABLE = frozenset(
    {OrderStatus.PENDING_REVIEW, OrderStatus.APPROVED, OrderStatus.ALLOCATED, OrderStatus.ON_HOLD}
)


# --- the live rule set --------------------------------------------------------------------------------


def effective_specs(
    saved: Iterable[ReviewRule],
) -> tuple[list[dict[str, Any]], dict[str, int], dict[str, Any]]:
    """(rule specs, their versions, settings): built-in rules as shipped unless saved otherwise."""
    rows = {row.key: row for row in saved}
    settings_row = rows.pop(SETTINGS_KEY, None)
    specs = [rows[key].spec if key in rows else {"key": key} for key in CHECKS]
    specs += [row.spec for key, row in sorted(rows.items()) if key not in CHECKS]
    versions = {key: row.version for key, row in rows.items()}
    return specs, versions, settings_row.spec if settings_row else {}


_CACHE: dict[str, tuple[RuleSet, ReviewSettings]] = {}
_CACHE_LOCK = threading.Lock()


def live(session: Session) -> tuple[RuleSet, ReviewSettings]:
    """The rule set in force, compiled once per change (the saved rows are a few dozen, read each time)."""
    saved = repo.saved_rules(session)
    specs, versions, settings = effective_specs(saved)
    fingerprint = json.dumps([specs, versions, settings], sort_keys=True, default=str)
    with _CACHE_LOCK:
        cached = _CACHE.get(fingerprint)
    if cached is not None:
        return cached
    parsed = ReviewSettings.model_validate(settings)
    ruleset = RuleSet(
        compile_rules(specs, versions=versions),
        version=repo.ruleset_version(session) if saved else 0,  # 0: every rule as shipped
        history_hours=parsed.history_hours,
    )
    with _CACHE_LOCK:
        if len(_CACHE) > 32:
            _CACHE.clear()
        _CACHE[fingerprint] = (ruleset, parsed)
    return ruleset, parsed


def candidate(specs: Sequence[Any], settings: ReviewSettings) -> RuleSet:
    """A rule set that is not saved (for a dry run): built-in rules it leaves out run as shipped."""
    given = {spec.get("key") for spec in specs if isinstance(spec, Mapping)}
    full = [*specs, *({"key": key} for key in CHECKS if key not in given)]
    return RuleSet(compile_rules(full), history_hours=settings.history_hours)


def _settings(raw: Mapping[str, Any]) -> ReviewSettings:
    try:
        return ReviewSettings.model_validate(raw)
    except ValidationError as exc:
        raise RuleInvalid(
            [
                {"field": f"settings.{field_path(e['loc'])}".rstrip("."), "message": e["msg"]}
                for e in exc.errors(include_url=False)
            ]
        ) from exc


# --- saving rules -------------------------------------------------------------------------------------


def rules(session: Session) -> list[tuple[Rule, ReviewRule | None]]:
    """Every rule, enabled or not, in evaluation order, with its saved row (None: as shipped)."""
    saved = {row.key: row for row in repo.saved_rules(session)}
    specs, versions, _ = effective_specs(saved.values())
    compiled = compile_rules(specs, versions=versions)
    return [(rule, saved.get(rule.key)) for rule in sorted(compiled, key=lambda r: (r.priority, r.key))]


def get_rule(session: Session, key: str) -> tuple[Rule, ReviewRule | None]:
    for rule, row in rules(session):
        if rule.key == key:
            return rule, row
    raise NotFound(f"no review rule {key!r}")


def save_rule(session: Session, spec: Mapping[str, Any], *, actor: str) -> Rule:
    """Create or replace one rule; a bad rule is refused with what is wrong, and nothing changes."""
    if spec.get("key") == SETTINGS_KEY:
        raise RuleInvalid(
            [{"field": "key", "message": f"{SETTINGS_KEY!r} is reserved for the review settings"}]
        )
    try:
        (rule,) = compile_rules([spec])
    except RuleInvalid as exc:  # one rule: its fields are named from the rule, not from a list
        raise RuleInvalid(
            [
                {**e, "field": e["field"].removeprefix("rules[0].").removeprefix("rules[0]") or "rule"}
                for e in exc.errors or []
            ]
        ) from exc
    others = [r for r, _ in rules(session) if r.key != rule.key]
    compile_rules([r.spec for r in others] + [rule.spec])  # the set as a whole must still hold
    _store(session, rule.key, _saved_spec(rule, spec), actor)
    return get_rule(session, rule.key)[0]


def _saved_spec(rule: Rule, given: Mapping[str, Any]) -> dict[str, Any]:
    """What is stored of a rule: a custom rule whole; of a built-in one only what the seller set, so
    the rest follows the shipped defaults when they change."""
    if rule.check is None:
        return rule.spec
    return {"key": rule.key} | {
        name: rule.spec[name] for name in given if name in rule.spec and name != "key"
    }


def _store(session: Session, key: str, spec: dict[str, Any] | None, actor: str) -> int:
    """Write a rule's (or the settings') new version, or delete it with ``spec`` None; the version."""
    row = repo.saved_rule(session, key, lock=True)
    version = repo.last_version(session, key) + 1
    now = utcnow()
    if spec is None:
        if row is None:
            raise NotFound(f"no saved review rule {key!r}")
        change = "reset" if key in CHECKS else "deleted"
        session.delete(row)
    elif row is None:
        change = "created"
        session.add(ReviewRule(key=key, spec=spec, version=version, updated_by=actor, updated_at=now))
    else:
        change = "updated"
        row.spec, row.version, row.updated_by, row.updated_at = spec, version, actor, now
    session.add(
        ReviewRuleVersion(key=key, version=version, change=change, spec=spec, actor=actor, created_at=now)
    )
    session.flush()
    return version


def delete_rule(session: Session, key: str, *, actor: str) -> None:
    """Delete a custom rule; for a built-in one, go back to how it shipped."""
    if key == SETTINGS_KEY:
        raise NotFound(f"no review rule {key!r}")
    _store(session, key, None, actor)


def set_enabled(session: Session, key: str, enabled: bool, *, actor: str) -> Rule:
    rule, row = get_rule(session, key)
    return save_rule(session, {**(row.spec if row else rule.spec), "enabled": enabled}, actor=actor)


def versions(session: Session, key: str) -> list[ReviewRuleVersion]:
    found = repo.rule_versions(session, key)
    if not found and key not in CHECKS:
        raise NotFound(f"no review rule {key!r}")
    return found


def settings(session: Session) -> ReviewSettings:
    return live(session)[1]


def save_settings(session: Session, raw: Mapping[str, Any], *, actor: str) -> ReviewSettings:
    parsed = _settings(raw)
    _store(session, SETTINGS_KEY, parsed.model_dump(mode="json"), actor)
    return parsed


def export_yaml(session: Session) -> str:
    document = {
        "settings": settings(session).model_dump(mode="json"),
        "rules": [rule.spec for rule, _ in rules(session)],
    }
    return yaml.dump(document, Dumper=_PlainDumper, allow_unicode=True, sort_keys=False)


MAX_DOCUMENT_NODES = 200_000


def _too_big(document: Any) -> bool:
    """Whether a document holds more than MAX_DOCUMENT_NODES values once its aliases are followed
    (a few bytes of anchors and aliases can stand for gigabytes); stops counting there."""
    count, todo = 0, [document]
    while todo:
        node = todo.pop()
        count += 1
        if count > MAX_DOCUMENT_NODES:
            return True
        if isinstance(node, dict):
            todo.extend(node.values())
        elif isinstance(node, list):
            todo.extend(node)
    return False


class _PlainDumper(yaml.SafeDumper):
    """Writes a value that appears twice twice, rather than as an anchor and an alias."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


MAX_DOCUMENT_DEPTH = 100  # a rule set nests a few levels (conditions at most 8): far more is an attack


class _RuleSetLoader(yaml.SafeLoader):
    """The safe loader, refusing nesting past MAX_DOCUMENT_DEPTH as it composes: PyYAML builds nodes
    recursively, and a document nested thousands deep would exhaust Python's stack."""

    depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.depth >= MAX_DOCUMENT_DEPTH:
            raise yaml.composer.ComposerError(
                problem=f"nested deeper than {MAX_DOCUMENT_DEPTH} levels",
                problem_mark=self.peek_event().start_mark,  # type: ignore[no-untyped-call]
            )
        self.depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1


def parse_yaml(text: str) -> tuple[list[Any], dict[str, Any] | None]:
    """(rules, settings) of a rule-set document; YAML that is not one is refused with where and why."""
    try:
        document = yaml.load(text, Loader=_RuleSetLoader)  # noqa: S506 (the safe loader, bounded)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "document"
        raise RuleInvalid(
            [{"field": where, "message": f"not valid YAML: {getattr(exc, 'problem', exc)}"}]
        ) from exc
    if _too_big(document):
        raise RuleInvalid([{"field": "document", "message": f"more than {MAX_DOCUMENT_NODES} values"}])
    if isinstance(document, list):
        document = {"rules": document}
    if not isinstance(document, dict) or not isinstance(document.get("rules", []), list):
        raise RuleInvalid([{"field": "document", "message": "a rule set is {rules: [...], settings: {...}}"}])
    unknown = set(document) - {"rules", "settings"}
    if unknown:
        raise RuleInvalid(
            [{"field": str(sorted(unknown)[0]), "message": "a rule set has only rules and settings"}]
        )
    raw_settings = document.get("settings")
    if raw_settings is not None and not isinstance(raw_settings, dict):
        raise RuleInvalid([{"field": "settings", "message": "settings is an object"}])
    return list(document.get("rules") or []), raw_settings


def import_yaml(session: Session, text: str, *, actor: str, replace: bool = False) -> list[Rule]:
    """Save every rule in the document (all or none). With ``replace``, custom rules not in it are
    deleted and built-in ones not in it go back to how they shipped."""
    specs, raw_settings = parse_yaml(text)
    compiled = compile_rules(specs)
    if raw_settings is not None:
        _settings(raw_settings)
    current = {rule.key: rule for rule, _ in rules(session)}
    incoming = {rule.key for rule in compiled}
    kept = [r.spec for k, r in current.items() if k not in incoming and not replace]
    compile_rules(kept + [r.spec for r in compiled])
    if replace:
        for row in repo.saved_rules(session):
            if row.key not in incoming and row.key != SETTINGS_KEY:
                _store(session, row.key, None, actor)
    for rule, given in zip(compiled, specs, strict=True):
        if current.get(rule.key) is None or current[rule.key].spec != rule.spec:
            _store(session, rule.key, _saved_spec(rule, given), actor)
    if raw_settings is not None and _settings(raw_settings) != settings(session):
        save_settings(session, raw_settings, actor=actor)
    return [rule for rule, _ in rules(session)]


# --- reviewing ----------------------------------------------------------------------------------------


_NORMS: dict[tuple[str, str, str], tuple[float, list[int]]] = {}


def shop_norms(session: Session, subjects: Iterable[Subject]) -> dict[tuple[str, str], RunningNorm]:
    """Each shop's latest order totals per currency (oldest first), to judge its normal order by.

    A full sample moves slowly, so it is read again only every NORM_SECONDS; a shop with fewer orders
    than that (a new shop, a fresh hub importing its backlog) is read for every batch, or the check
    would stay blind for minutes while thousands of orders go by.
    """
    database = str(session.get_bind().engine.url)
    now = time.monotonic()
    norms: dict[tuple[str, str], RunningNorm] = {}
    for shop, currency in {(s.order["shop"], s.order["currency"]) for s in subjects}:
        cached = _NORMS.get((database, shop, currency))
        if cached is None or cached[0] < now:
            totals = repo.recent_totals(session, shop, currency, NORM_SAMPLE)[::-1]
            cached = (now + NORM_SECONDS, totals)
            if len(totals) >= NORM_SAMPLE:
                _NORMS[(database, shop, currency)] = cached
        norms[(shop, currency)] = RunningNorm(cached[1], NORM_SAMPLE)
    return norms


def forget_norms() -> None:
    """Drop the remembered shop norms (a database was emptied)."""
    _NORMS.clear()


def history_window(ruleset: RuleSet) -> timedelta:
    """How far back any enabled rule looks."""
    return timedelta(seconds=max((seconds for _, seconds, _ in ruleset.lookbacks()), default=0))


def load_history(session: Session, subjects: Sequence[Subject], ruleset: RuleSet) -> History:
    """The recent orders, from the database, of the buyers and addresses in ``subjects``: as far back,
    and by as many identities, as the enabled rules look (velocity: every identity for minutes; merge:
    the buyer for hours)."""
    lookbacks = ruleset.lookbacks()
    history = History(max((seconds for _, seconds, _ in lookbacks), default=0))
    if not subjects or not lookbacks:
        return history
    first = min(s.order["placed_at"] for s in subjects)
    last = max(s.order["placed_at"] for s in subjects)
    # One lookup per need, each by the identities it follows and only as far back as it looks: a
    # buyer's orders of the whole day, but every identity's only of the last minutes.
    reviewed = {s.order_id for s in subjects if s.order_id is not None}
    found: dict[tuple[int, int], Any] = {}
    for every_identity, seconds in {(every, seconds) for every, seconds, _ in lookbacks}:
        names = {i for s in subjects for i in (s.identities if every_identity else (s.buyer,))}
        window = timedelta(seconds=seconds)
        matches_of = repo.identity_matches(
            session, names, first - window, last + window, per_identity=HISTORY_PER_IDENTITY
        )
        for match in matches_of:
            if match[1] not in reviewed:
                found[(match[0], match[1])] = match
    matches = list(found.values())
    # SKUs only of the orders close enough in time for a check that compares them.
    near = timedelta(seconds=max((seconds for _, seconds, skus in lookbacks if skus), default=-1))
    skus = repo.line_skus(session, {m[1] for m in matches if first - near <= m[2] <= last + near})
    # Whether an order can still ship with another matters only for one of the same buyer and address.
    pairs = {(s.buyer, s.address) for s in subjects}
    status = repo.statuses(session, {m[1] for m in matches if (m[3], m[4]) in pairs})
    seen: dict[int, Seen] = {}
    for identity, order_id, placed_at, buyer, address in matches:
        entry = seen.get(order_id)
        if entry is None:
            mergeable = status.get(order_id) in MERGEABLE
            entry = seen[order_id] = Seen(
                ("order", order_id),
                order_id,
                placed_at.timestamp(),
                frozenset(skus.get(order_id, ())),
                address,
                buyer,
                mergeable,
            )
        history.add(entry, (identity,))
    return history


def review_batch(
    session: Session,
    subjects: Sequence[Subject],
    *,
    ruleset: RuleSet,
    settings: ReviewSettings,
    now: datetime | None,
    available: Mapping[str, Mapping[str, int]] | None,
    warehouses: tuple[str, ...],
    presale: Mapping[str, datetime],
) -> dict[Hashable, Decision]:
    """Review orders in the order they were placed, each seeing the ones before it in this batch: in
    the buyers' histories and in its shop's normal order value."""
    running = shop_norms(session, subjects)
    norms = {key: norm for key, sample in running.items() if (norm := sample.norm) is not None}
    context = ReviewContext(
        now=now,
        history=load_history(session, subjects, ruleset),
        norms=norms,
        available=available,
        warehouses=warehouses,
        presale=presale,
        base_currency=settings.base_currency,
        rates=settings.rates,
    )
    decisions: dict[Hashable, Decision] = {}
    for subject in sorted(subjects, key=lambda s: s.placed):
        decisions[subject.key] = ruleset.review(subject, context)
        context.history.add(subject.seen(), subject.identities)
        if subject.order_id is None:  # a new order: the ones after it are judged with it counted
            key = (subject.order["shop"], subject.order["currency"])
            sample = running[key]
            sample.add(subject.total)
            norms[key] = sample.norm or norms[key]
    return decisions


def identity_rows(order_id: int, subject: Subject) -> list[tuple[int, datetime, int, int, int]]:
    placed = subject.order["placed_at"]
    return [(identity, placed, order_id, subject.buyer, subject.address) for identity in subject.identities]


def record_identities(session: Session, rows: Sequence[tuple[int, datetime, int, int, int]]) -> None:
    repo.insert_identities(session, rows)


# --- the dry run --------------------------------------------------------------------------------------


def _summary(decision: Decision) -> dict[str, Any]:
    return {
        "outcome": "approved" if decision.approved else "held",
        "reasons": sorted(decision.reasons()),
        "rules": [f.rule for f in decision.fired],
        "messages": [h.message for h in decision.holds],
    }


def dry_run(
    session: Session,
    specs: Sequence[Any],
    raw_settings: Mapping[str, Any] | None,
    *,
    last: int,
    examples: int = 100,
) -> dict[str, Any]:
    """Review the last ``last`` orders with a candidate rule set and with the live one, and compare.

    Each order is reviewed as of its own last update, against stock as it stands now and the history
    around it; nothing is written.
    """
    current, current_settings = live(session)
    proposed_settings = _settings(raw_settings) if raw_settings is not None else current_settings
    proposed = candidate(specs, proposed_settings)
    orders = repo.recent_orders(session, last)
    subjects, available, warehouses, presale = subjects_for_orders(session, orders)
    results: dict[str, dict[Hashable, Decision]] = {}
    for name, ruleset, parsed in (
        ("live", current, current_settings),
        ("candidate", proposed, proposed_settings),
    ):
        results[name] = review_batch(
            session,
            subjects,
            ruleset=ruleset,
            settings=parsed,
            now=None,
            available=available,
            warehouses=warehouses,
            presale=presale,
        )
    report: dict[str, Any] = {"orders": len(subjects)}
    for name, decisions in results.items():
        held = [d for d in decisions.values() if not d.approved]
        report[name] = {
            "approved": len(decisions) - len(held),
            "held": len(held),
            "pass_rate": round((len(decisions) - len(held)) / len(decisions), 4) if decisions else None,
            "held_by_reason": dict(Counter(r for d in held for r in d.reasons()).most_common()),
            "fired_by_rule": dict(Counter(f.rule for d in decisions.values() for f in d.fired).most_common()),
        }
    by_key = {s.key: s for s in subjects}
    changes = []
    for key, live_decision in results["live"].items():
        new = results["candidate"][key]
        before, after = _summary(live_decision), _summary(new)
        if (before["outcome"], before["reasons"]) != (after["outcome"], after["reasons"]):
            subject = by_key[key]
            changes.append(
                {
                    "order_id": subject.order_id,
                    "external_id": subject.order["external_id"],
                    "shop": subject.order["shop"],
                    "live": before,
                    "candidate": after,
                }
            )
    report["changed"] = len(changes)
    report["changes"] = changes[:examples]
    report["would_hold"] = [
        {"order_id": by_key[k].order_id, "external_id": by_key[k].order["external_id"], **_summary(d)}
        for k, d in results["candidate"].items()
        if not d.approved
    ][:examples]
    return report


# --- review inside ingest -----------------------------------------------------------------------------


@dataclass
class BatchReview:
    """The decisions on a batch being ingested, and what ingest needs from them."""

    ruleset: RuleSet
    subjects: dict[Hashable, Subject]
    decisions: dict[Hashable, Decision]
    warehouse_codes: Mapping[int, str]
    now: datetime

    def holds(self, key: Hashable) -> list[Hold]:
        """The decision's holds, less any stock hold: allocation, on the locked figures, decides that."""
        decision = self.decisions.get(key)
        if decision is None:
            return []
        return [h for h in decision.holds if not any(d.get("rule") == STOCK_RULE for d in h.details)]

    def holds_when_short(self, key: Hashable) -> bool:
        subject = self.subjects.get(key)
        return subject is None or self.ruleset.holds_when_short(subject)

    def demand_options(
        self, key: Hashable, warehouse_ids: Sequence[int]
    ) -> tuple[tuple[int, ...] | None, bool]:
        """(the warehouses this order may use, in order, or None for the default; whether it may split)."""
        decision = self.decisions.get(key)
        if decision is None:
            return None, False
        split = decision.split is True
        if decision.warehouse is None and not decision.exclude_warehouses:
            return None, split
        codes = self.warehouse_codes
        allowed = [w for w in warehouse_ids if codes.get(w) not in decision.exclude_warehouses]
        chosen = [w for w in allowed if codes.get(w) == decision.warehouse]
        return tuple(chosen + [w for w in allowed if w not in chosen]), split

    def tags(self, key: Hashable) -> list[str]:
        decision = self.decisions.get(key)
        return decision.tags if decision else []

    def as_json(self, key: Hashable, ids: Mapping[Any, int]) -> dict[str, Any] | None:
        decision = self.decisions.get(key)
        if decision is None:
            return None
        # Partners are orders of this batch (by their key) or stored ones (("order", id)).
        merge_ids: list[int] = []
        for k in decision.merge_with:
            if k in ids:
                merge_ids.append(ids[k])
            elif isinstance(k, tuple) and k[0] == "order":
                merge_ids.append(int(k[1]))
        return decision.as_json(ruleset=self.ruleset.version, at=self.now, merge_ids=sorted(merge_ids))

    def record(self, session: Session, ids: Mapping[Any, int], fresh: Iterable[Hashable]) -> None:
        """Index the new orders' identities for later checks and raise the alerts rules asked for."""
        rows = [
            row
            for key in fresh
            if key in self.subjects
            for row in identity_rows(ids[key], self.subjects[key])
        ]
        record_identities(session, rows)
        for key, decision in self.decisions.items():
            for message in decision.notify:
                subject = self.subjects[key]
                raise_alert(
                    session,
                    "review",
                    f"order {ids[key]}",
                    f"order {subject.order['external_id']} on {subject.order['shop']}: {message}",
                )


def review_for_ingest(
    session: Session,
    items: Sequence[tuple[Hashable, Mapping[str, Any], int, Sequence[int], int | None]],
    *,
    parts: Mapping[int, list[tuple[int, int]]],
    levels: Mapping[StockKey, Level],
    warehouse_ids: Sequence[int],
    now: datetime,
) -> BatchReview:
    """Review (key, order, total, product ids, stored id) items against the stock ``levels`` read."""
    ruleset, parsed = live(session)
    facts = catalog_facts(session, {pid for item in items for pid in item[3]}, parts)
    channels = channel_by_shop(session)
    subjects = {
        key: facts.subject(
            key, order, total, product_ids, channel=channels.get(order["shop"]), order_id=order_id
        )
        for key, order, total, product_ids, order_id in items
    }
    codes = warehouse_codes(session)
    decisions = review_batch(
        session,
        list(subjects.values()),
        ruleset=ruleset,
        settings=parsed,
        now=now,
        available=available_by_sku(levels, facts.skus, codes),
        warehouses=tuple(codes[w] for w in warehouse_ids if w in codes),
        presale=facts.presale,
    )
    return BatchReview(ruleset, subjects, decisions, codes, now)


# --- review of a stored order, after a person corrected it ---------------------------------------------


def review_stored(session: Session, orders: Sequence[Order], *, now: datetime) -> BatchReview:
    """Review stored orders again as they stand (a person corrected one), against the live rules, the
    history around them and the stock as it stands; keyed ``("order", id)``."""
    ruleset, parsed = live(session)
    subjects, available, warehouses, presale = subjects_for_orders(session, orders)
    decisions = review_batch(
        session,
        subjects,
        ruleset=ruleset,
        settings=parsed,
        now=now,
        available=available,
        warehouses=warehouses,
        presale=presale,
    )
    return BatchReview(ruleset, {s.key: s for s in subjects}, decisions, warehouse_codes(session), now)


def reidentify(session: Session, before: Subject, after: Subject) -> None:
    """The order of ``before`` now looks like ``after`` (its address was corrected): later checks find
    it by its new identities, not its old ones."""
    assert before.order_id is not None and before.order_id == after.order_id
    placed = before.order["placed_at"]
    repo.delete_identities(session, [(i, placed, before.order_id) for i in before.identities])
    record_identities(session, identity_rows(before.order_id, after))
