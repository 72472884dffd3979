"""The rule set in force and how rules are saved: built-in rules as shipped unless the seller tuned
them, custom rules, every version kept, the review settings. Services never commit."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from sqlalchemy.orm import Session

from orderly.core.clock import utcnow
from orderly.core.errors import NotFound, field_path
from orderly.review import repository as repo
from orderly.review.caches import CACHES
from orderly.review.checks import CHECKS
from orderly.review.domain.engine import RuleSet
from orderly.review.domain.rules import Rule, RuleInvalid, compile_rules
from orderly.review.models import ReviewRule, ReviewRuleVersion
from orderly.review.schemas import ReviewSettings

SETTINGS_KEY = "settings"
Settings = TypeVar("Settings", bound=BaseModel)


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


def live(session: Session) -> tuple[RuleSet, ReviewSettings]:
    """The rule set in force, compiled once per change (the saved rows are a few dozen, read each time)."""
    saved = repo.saved_rules(session)
    specs, versions, settings = effective_specs(saved)
    fingerprint = json.dumps([specs, versions, settings], sort_keys=True, default=str)
    cached = CACHES.ruleset(fingerprint)
    if cached is not None:
        return cached
    parsed = ReviewSettings.model_validate(settings)
    ruleset = RuleSet(
        compile_rules(specs, versions=versions),
        version=repo.ruleset_version(session) if saved else 0,  # 0: every rule as shipped
        history_hours=parsed.history_hours,
    )
    CACHES.keep_ruleset(fingerprint, (ruleset, parsed))
    return ruleset, parsed


def candidate(specs: Sequence[Any], settings: ReviewSettings) -> RuleSet:
    """A rule set that is not saved (for a dry run): built-in rules it leaves out run as shipped."""
    given = {spec.get("key") for spec in specs if isinstance(spec, Mapping)}
    full = [*specs, *({"key": key} for key in CHECKS if key not in given)]
    return RuleSet(compile_rules(full), history_hours=settings.history_hours)


def parse_settings(raw: Mapping[str, Any], model: type[Settings]) -> Settings:
    """Settings (the review's, or another rule kind's ``model``) as given, or RuleInvalid naming each
    field that is wrong."""
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        raise RuleInvalid(
            [
                {"field": f"settings.{field_path(e['loc'])}".rstrip("."), "message": e["msg"]}
                for e in exc.errors(include_url=False)
            ]
        ) from exc


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
    except RuleInvalid as exc:
        raise one_rule(exc) from exc
    others = [r for r, _ in rules(session) if r.key != rule.key]
    compile_rules([r.spec for r in others] + [rule.spec])  # the set as a whole must still hold
    store(session, rule.key, saved_spec(rule, spec), actor)
    return get_rule(session, rule.key)[0]


def one_rule(exc: RuleInvalid) -> RuleInvalid:
    """The problems of a rule checked as a set of one, its fields named from the rule, not the list."""
    return RuleInvalid(
        [
            {**e, "field": e["field"].removeprefix("rules[0].").removeprefix("rules[0]") or "rule"}
            for e in exc.errors or []
        ]
    )


def saved_spec(rule: Rule, given: Mapping[str, Any]) -> dict[str, Any]:
    """What is stored of a rule: a custom rule whole; of a built-in one only what the seller set, so
    the rest follows the shipped defaults when they change."""
    if rule.check is None:
        return rule.spec
    return {"key": rule.key} | {
        name: rule.spec[name] for name in given if name in rule.spec and name != "key"
    }


def store(
    session: Session, key: str, spec: dict[str, Any] | None, actor: str, kind: str = repo.REVIEW
) -> int:
    """Write a rule's (or the settings') new version, or delete it with ``spec`` None; the version."""
    row = repo.saved_rule(session, key, kind=kind, lock=True)
    version = repo.last_version(session, key, kind) + 1
    now = utcnow()
    if spec is None:
        if row is None:
            raise NotFound(f"no saved {kind} rule {key!r}")
        change = "reset" if kind == repo.REVIEW and key in CHECKS else "deleted"
        session.delete(row)
    elif row is None:
        change = "created"
        session.add(
            ReviewRule(kind=kind, key=key, spec=spec, version=version, updated_by=actor, updated_at=now)
        )
    else:
        change = "updated"
        row.spec, row.version, row.updated_by, row.updated_at = spec, version, actor, now
    session.add(
        ReviewRuleVersion(
            kind=kind, key=key, version=version, change=change, spec=spec, actor=actor, created_at=now
        )
    )
    session.flush()
    return version


def delete_rule(session: Session, key: str, *, actor: str) -> None:
    """Delete a custom rule; for a built-in one, go back to how it shipped."""
    if key == SETTINGS_KEY:
        raise NotFound(f"no review rule {key!r}")
    store(session, key, None, actor)


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
    parsed = parse_settings(raw, ReviewSettings)
    store(session, SETTINGS_KEY, parsed.model_dump(mode="json"), actor)
    return parsed
