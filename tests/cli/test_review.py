"""``orderly review``: the rules table, one rule, switching and resetting, the rule set as a YAML file, the
dry run."""

from __future__ import annotations

import getpass
import json
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import delete, select
from sqlalchemy.orm import Session, sessionmaker

from orderly.core.db import transaction
from orderly.orders.models import Order
from orderly.review import service
from orderly.review.checks import CHECKS
from orderly.review.models import ReviewRule, ReviewRuleVersion
from tests.cli.conftest import Cli, rows
from tests.factories import order, setup_catalog

BIG = {
    "key": "big-orders",
    "name": "Big orders",
    "priority": 5,
    "when": {"fact": "order.total", "gt": 10_000},
    "then": [{"hold": "risk"}],
}


def _write(tmp_path: Path, name: str, document: Any) -> Path:
    path = tmp_path / name
    path.write_text(document if isinstance(document, str) else yaml.safe_dump(document), encoding="utf-8")
    return path


def test_rules_lists_every_rule_in_running_order(cli: Cli, tmp_path: Path) -> None:
    cli("review", "import", str(_write(tmp_path, "rules.yaml", {"rules": [BIG]})))

    listing = cli("review", "rules").stdout

    assert rows(listing, "5") == [["5", "big-orders", "custom", "yes", "1", "Big orders"]]
    assert rows(listing, "300") == [
        ["300", "risk.velocity", "factor", "yes", "0", CHECKS["risk.velocity"].title]
    ]
    keys = [line.split("│")[2].strip() for line in listing.splitlines() if line.count("│") == 7]
    assert keys[0] == "big-orders"
    assert set(keys) == {"big-orders", *CHECKS}


def test_show_prints_the_rule_as_yaml(cli: Cli) -> None:
    shown = yaml.safe_load(cli("review", "show", "risk.velocity").stdout)

    assert shown["key"] == "risk.velocity"
    assert shown["params"]["weight"] == 60
    assert "no review rule 'nope'" in cli("review", "show", "nope", code=1).stderr


def test_disable_enable_delete_and_versions(cli: Cli) -> None:
    assert "Rule address.po_box disabled (version 1)." in cli("review", "disable", "address.po_box").stdout
    assert rows(cli("review", "rules").stdout, "130")[0][3] == "no"
    assert "Rule address.po_box enabled (version 2)." in cli("review", "enable", "address.po_box").stdout
    assert "reset to how it shipped" in cli("review", "delete", "address.po_box").stdout
    assert rows(cli("review", "rules").stdout, "130")[0][3:5] == ["yes", "0"]

    history = cli("review", "versions", "address.po_box").stdout

    who = f"cli:{getpass.getuser()}"
    assert [row[:3] for row in (rows(history, str(n))[0] for n in (1, 2, 3))] == [
        ["1", "created", who],
        ["2", "updated", who],
        ["3", "reset", who],
    ]
    assert "no saved review rule 'address.po_box'" in cli("review", "delete", "address.po_box", code=1).stderr


def test_export_and_import_round_trip_through_files(
    cli: Cli, factory: sessionmaker[Session], tmp_path: Path
) -> None:
    with transaction(factory) as s:
        service.save_rule(s, BIG, actor="test")
        service.save_rule(s, {"key": "risk.velocity", "params": {"weight": 10}}, actor="test")
        service.save_settings(s, {"base_currency": "EUR"}, actor="test")
    exported = tmp_path / "rules.yaml"
    assert f"Rule set written to {exported}." in cli("review", "export", str(exported)).stdout
    assert cli("review", "export").stdout == exported.read_text(encoding="utf-8")
    with transaction(factory) as s:
        s.execute(delete(ReviewRule))
        s.execute(delete(ReviewRuleVersion))
    assert cli("review", "export").stdout != exported.read_text(encoding="utf-8")

    imported = cli("review", "import", str(exported)).stdout

    assert rows(imported, "5") == [["5", "big-orders", "custom", "yes", "1", "Big orders"]]
    again = tmp_path / "again.yaml"
    cli("review", "export", str(again))
    assert again.read_text(encoding="utf-8") == exported.read_text(encoding="utf-8")


def test_import_replace_removes_what_the_file_leaves_out(cli: Cli, tmp_path: Path) -> None:
    other = {**BIG, "key": "other", "priority": 6, "name": "Other"}
    cli("review", "import", str(_write(tmp_path, "both.yaml", {"rules": [BIG, other]})))

    kept = cli("review", "import", str(_write(tmp_path, "one.yaml", [BIG]))).stdout
    replaced = cli("review", "import", str(_write(tmp_path, "one.yaml", [BIG])), "--replace").stdout

    assert rows(kept, "6") and not rows(replaced, "6")
    assert rows(replaced, "5")


def test_a_bad_import_exits_1_with_every_problem_and_saves_nothing(cli: Cli, tmp_path: Path) -> None:
    bad = {**BIG, "key": "bad", "when": {"fact": "order.totl", "gt": 1}, "then": [{"hold": "nope"}]}
    path = _write(tmp_path, "bad.yaml", {"rules": [BIG, bad]})

    failed = cli("review", "import", str(path), code=1)

    lines = failed.stderr.splitlines()
    assert any("when.fact: unknown fact 'order.totl'; did you mean 'order.total'?" in line for line in lines)
    assert any("then[0].hold.reason: unknown hold reason 'nope'" in line for line in lines)
    assert lines[-1] == f"{path}: nothing was imported."
    assert not rows(cli("review", "rules").stdout, "5")


def test_an_import_that_is_not_yaml_or_not_text_exits_1(cli: Cli, tmp_path: Path) -> None:
    assert (
        "not valid YAML"
        in cli("review", "import", str(_write(tmp_path, "a.yaml", "rules: [oops")), code=1).stderr
    )
    binary = tmp_path / "b.yaml"
    binary.write_bytes(b"rules: [\xff]")
    assert f"{binary}: not UTF-8 text" in cli("review", "import", str(binary), code=1).stderr
    cli("review", "import", str(tmp_path / "missing.yaml"), code=2)


def test_dry_run_prints_pass_rates_holds_and_the_changed_orders(
    cli: Cli, factory: sessionmaker[Session], tmp_path: Path
) -> None:
    setup_catalog(factory, {"SKU-1": 100})
    orders = tmp_path / "orders.json"
    orders.write_text(
        json.dumps([order(("SKU-1", 1), external_id="SMALL"), order(("SKU-1", 6), external_id="LARGE")])
    )
    cli("ingest", str(orders))
    candidate = _write(tmp_path, "candidate.yaml", {"rules": [BIG]})

    printed = cli("review", "dry-run", str(candidate), "--last", "10").stdout

    assert rows(printed, "orders") == [["orders", "2", "2"]]
    assert rows(printed, "held") == [["held", "0", "1"]]
    assert rows(printed, "pass rate") == [["pass rate", "100.0%", "50.0%"]]
    assert rows(printed, "risk") == [["risk", "0", "1"]]
    with transaction(factory) as s:
        large = s.scalars(select(Order.id).where(Order.external_id == "LARGE")).one()
    assert rows(printed, str(large)) == [
        [str(large), "shop-a", "LARGE", "approved", "held (risk)", "big-orders"]
    ]
    assert "Big orders" not in cli("review", "rules").stdout  # nothing saved


def test_dry_run_with_no_change_says_so(cli: Cli, tmp_path: Path) -> None:
    printed = cli("review", "dry-run", str(_write(tmp_path, "same.yaml", {"rules": []}))).stdout

    assert rows(printed, "pass rate") == [["pass rate", "-", "-"]]
    assert "No order's outcome would change." in printed


def test_orders_hold_and_release(cli: Cli, factory: sessionmaker[Session], tmp_path: Path) -> None:
    setup_catalog(factory, {"SKU-1": 5})
    orders = tmp_path / "orders.json"
    orders.write_text(json.dumps([order(("SKU-1", 1), external_id="M1")]))
    cli("ingest", str(orders))
    with transaction(factory) as s:
        order_id = s.scalars(select(Order.id).where(Order.external_id == "M1")).one()

    held = cli("orders", "hold", str(order_id), "--note", "buyer asked to wait").stdout
    released = cli("orders", "release", str(order_id), "--note", "go ahead").stdout

    assert f"Order {order_id} held; it is now on_hold." in held
    assert f"Order {order_id} released; it is now allocated." in released
    with transaction(factory) as s:
        stored = s.get(Order, order_id)
        assert stored is not None
        assert (stored.status, stored.holds) == ("allocated", [])
    assert "not on hold" in cli("orders", "release", str(order_id), "--note", "again", code=1).stderr
    assert "invalid note" in cli("orders", "hold", str(order_id), "--note", " ", code=1).stderr
    assert "no order 999" in cli("orders", "hold", "999", "--note", "x", code=1).stderr
    cli("orders", "hold", str(order_id), code=2)  # a note is required
