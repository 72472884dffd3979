"""The whole rule set as one YAML document: exported, parsed (bounded: a document can be an attack) and
imported all or nothing."""

from __future__ import annotations

from typing import Any

import yaml
from sqlalchemy.orm import Session

from orderly.review import repository as repo
from orderly.review import service
from orderly.review.domain.rules import Rule, RuleInvalid, compile_rules
from orderly.review.schemas import ReviewSettings


def export_yaml(session: Session) -> str:
    document = {
        "settings": service.settings(session).model_dump(mode="json"),
        "rules": [rule.spec for rule, _ in service.rules(session)],
    }
    return yaml.dump(document, Dumper=PlainDumper, allow_unicode=True, sort_keys=False)


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


class PlainDumper(yaml.SafeDumper):
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
        service.parse_settings(raw_settings, ReviewSettings)
    current = {rule.key: rule for rule, _ in service.rules(session)}
    incoming = {rule.key for rule in compiled}
    kept = [r.spec for k, r in current.items() if k not in incoming and not replace]
    compile_rules(kept + [r.spec for r in compiled])
    if replace:
        for row in repo.saved_rules(session):
            if row.key not in incoming and row.key != service.SETTINGS_KEY:
                service.store(session, row.key, None, actor)
    for rule, given in zip(compiled, specs, strict=True):
        if current.get(rule.key) is None or current[rule.key].spec != rule.spec:
            service.store(session, rule.key, service.saved_spec(rule, given), actor)
    if raw_settings is not None and service.parse_settings(raw_settings, ReviewSettings) != service.settings(
        session
    ):
        service.save_settings(session, raw_settings, actor=actor)
    return [rule for rule, _ in service.rules(session)]
