"""Saving, versioning, importing and exporting rules, against both databases."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from orderly.core.db import transaction
from orderly.review import document, service
from orderly.review import repository as repo
from orderly.review.domain.rules import RuleInvalid
from orderly.review.dry_run import compare_with_live
from tests.factories import order, setup_catalog


def test_a_rule_set_bomb_of_yaml_aliases_is_refused_quickly() -> None:
    bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
    for n in range(1, 9):
        bomb += f"{chr(97 + n)}: &{chr(97 + n)} [" + ", ".join([f"*{chr(96 + n)}"] * 10) + "]\n"
    bomb += "rules: [{key: boom, when: {all: *i}, then: [{approve: true}]}]\n"
    with pytest.raises(RuleInvalid, match="more than 200000 values"):
        document.parse_yaml(bomb)


def test_a_condition_with_too_many_parts_is_refused() -> None:
    leaves = [{"fact": "order.total", "gt": n} for n in range(600)]
    with pytest.raises(RuleInvalid, match="at most 500 parts"):
        service.candidate(
            [{"key": "big", "when": {"any": leaves}, "then": [{"approve": True}]}], service.ReviewSettings()
        )


def test_the_export_reads_back_and_an_unchanged_import_adds_no_version(
    factory: sessionmaker[Session],
) -> None:
    with transaction(factory) as s:
        service.save_rule(
            s, {"key": "vip", "scope": {"tags": ["vip"]}, "then": [{"approve": True}]}, actor="t"
        )
        exported = document.export_yaml(s)
        before = repo.ruleset_version(s)
    assert "&id" not in exported and "*id" not in exported  # shared defaults are written out plainly
    with transaction(factory) as s:
        document.import_yaml(s, exported, actor="t")
        assert repo.ruleset_version(s) == before
        assert document.export_yaml(s) == exported


def test_a_built_in_rule_keeps_only_what_the_seller_changed(factory: sessionmaker[Session]) -> None:
    with transaction(factory) as s:
        service.save_rule(s, {"key": "risk.velocity", "params": {"max_orders": 4}}, actor="t")
        service.set_enabled(s, "risk.velocity", False, actor="t")
        saved = repo.saved_rule(s, "risk.velocity")
        assert saved is not None
        assert set(saved.spec) == {
            "key",
            "params",
            "enabled",
        }  # name, priority, actions follow the shipped ones
        rule, _ = service.get_rule(s, "risk.velocity")
    assert (rule.enabled, rule.priority, getattr(rule.params, "max_orders", None)) == (False, 300, 4)


def test_a_single_rule_names_its_fields_without_a_list_index(factory: sessionmaker[Session]) -> None:
    with transaction(factory) as s, pytest.raises(RuleInvalid) as caught:
        service.save_rule(s, {"key": "x", "when": {"fact": "order.totl", "gt": 1}, "then": []}, actor="t")
    fields = [e["field"] for e in caught.value.errors or []]
    assert fields == ["when.fact", "then"]


def test_a_dry_run_without_settings_uses_the_live_ones(factory: sessionmaker[Session]) -> None:
    setup_catalog(factory, {"SKU-1": 10})
    with transaction(factory) as s:
        service.save_settings(s, {"base_currency": "EUR", "rates": {"USD": 0.5}}, actor="t")
    from orderly.orders.ingest import ingest_batch

    ingest_batch(factory, [order(("SKU-1", 1))])  # 19.99 + 4.99 USD = 12.49 EUR
    rule = {"key": "big", "when": {"fact": "order.total_base", "gt": 2000}, "then": [{"hold": "risk"}]}
    with transaction(factory) as s:
        report = compare_with_live(s, [rule], None, last=10)
    assert report["candidate"]["held"] == 0 and report["changed"] == 0


def test_the_rules_shown_in_the_readme_are_valid() -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    block = readme.split("## Auto-review", 1)[1].split("```yaml\n", 1)[1].split("```", 1)[0]
    specs, settings = document.parse_yaml(block)
    ruleset = service.candidate(specs, service.ReviewSettings())
    assert {"vip-fast-lane", "big-orders", "risk.velocity"} <= {r.key for r in ruleset.all_rules}
    assert settings is None
