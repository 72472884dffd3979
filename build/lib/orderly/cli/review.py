"""``orderly review``: the auto-review rules, their history, the rule set as a YAML file, and a dry run of
a candidate rule set over recent orders."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml
from rich.table import Column, Table

from orderly.cli.common import actor, fail, out, unit_of_work, when
from orderly.review import document, service
from orderly.review.checks import CHECKS
from orderly.review.domain.rules import RuleInvalid
from orderly.review.dry_run import compare_with_live
from orderly.review.schemas import RuleOut

review_app = typer.Typer(
    help="Auto-review rules: list, tune, export and import, dry-run a candidate set.", no_args_is_help=True
)

Key = Annotated[str, typer.Argument(metavar="KEY", help="The rule's key, as `orderly review rules` lists it")]
RuleFile = Annotated[
    Path, typer.Argument(exists=True, dir_okay=False, readable=True, help="A YAML rule set, as exported")
]


@contextmanager
def every_problem(*after: str) -> Iterator[None]:
    """A refused rule set shows each problem on a line of its own instead of one long message."""
    try:
        yield
    except RuleInvalid as exc:
        fail(*(f"{e['field']}: {e['message']}" for e in exc.errors or ()), *after)


def read_text(file: Path) -> str:
    try:
        return file.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        fail(f"{file}: not UTF-8 text (byte {exc.start})")


def _rules_table(rules: list[RuleOut], title: str) -> None:
    table = Table(
        Column("Priority", justify="right"),
        "Key",
        "Kind",
        "Enabled",
        Column("Version", justify="right"),
        "Name",
        title=title,
    )
    for rule in rules:
        table.add_row(
            str(rule.priority),
            rule.key,
            rule.kind,
            "yes" if rule.enabled else "no",
            str(rule.version),
            rule.name,
        )
    out.print(table)


@review_app.command("rules")
def rules() -> None:
    """Every rule, built-in ones included, in the order they run; version 0 is as shipped."""
    with unit_of_work(read_only=True) as session:
        found = [RuleOut.of(rule, row) for rule, row in service.rules(session)]
    _rules_table(found, "Review rules")


@review_app.command("show")
def show(key: Key) -> None:
    """One rule as YAML, as saved (or as shipped)."""
    with unit_of_work(read_only=True) as session:
        rule, _ = service.get_rule(session, key)
    typer.echo(yaml.safe_dump(rule.spec, allow_unicode=True, sort_keys=False), nl=False)


def _switch(key: str, enabled: bool) -> None:
    with unit_of_work() as session:
        rule = service.set_enabled(session, key, enabled, actor=actor())
    out.print(f"Rule {key} {'enabled' if enabled else 'disabled'} (version {rule.version}).")


@review_app.command("enable")
def enable(key: Key) -> None:
    """Switch a rule on."""
    _switch(key, True)


@review_app.command("disable")
def disable(key: Key) -> None:
    """Switch a rule off; it stays saved and can be switched on again."""
    _switch(key, False)


@review_app.command("delete")
def delete(key: Key) -> None:
    """Delete a custom rule; a built-in rule goes back to how it shipped."""
    with unit_of_work() as session:
        service.delete_rule(session, key, actor=actor())
    out.print(f"Rule {key} reset to how it shipped." if key in CHECKS else f"Rule {key} deleted.")


@review_app.command("versions")
def versions(key: Key) -> None:
    """Every saved version of a rule, oldest first."""
    with unit_of_work(read_only=True) as session:
        found = service.versions(session, key)
    table = Table(Column("Version", justify="right"), "Change", "By", "At", title=f"Versions of {key}")
    for version in found:
        table.add_row(str(version.version), version.change, version.actor, when(version.created_at))
    out.print(table)


@review_app.command("export")
def export(
    file: Annotated[
        Path | None, typer.Argument(dir_okay=False, help="Write it here", show_default="standard output")
    ] = None,
) -> None:
    """The settings and every rule as one YAML document, to keep, edit and import."""
    with unit_of_work(read_only=True) as session:
        text = document.export_yaml(session)
    write_document(text, file, "Rule set")


def write_document(text: str, file: Path | None, what: str) -> None:
    """An exported document to standard output, or to a file."""
    if file is None:
        typer.echo(text, nl=False)
        return
    file.write_text(text, encoding="utf-8")
    out.print(f"{what} written to {file}.")


@review_app.command("import")
def import_(
    file: RuleFile,
    replace: Annotated[
        bool,
        typer.Option(
            "--replace", help="Also delete custom rules the file leaves out and reset such built-in ones"
        ),
    ] = False,
) -> None:
    """Save a YAML rule set: every rule in it, or none if any is wrong."""
    text = read_text(file)
    with every_problem(f"{file}: nothing was imported."), unit_of_work() as session:
        document.import_yaml(session, text, actor=actor(), replace=replace)
        found = [RuleOut.of(rule, row) for rule, row in service.rules(session)]
    _rules_table(found, f"Review rules after importing {file.name}")


def _outcome(summary: dict[str, Any]) -> str:
    reasons = ", ".join(summary["reasons"])
    return f"{summary['outcome']} ({reasons})" if reasons else summary["outcome"]


def _rate(rate: float | None) -> str:
    return "-" if rate is None else f"{rate:.1%}"


def _report(report: dict[str, Any]) -> None:
    live, candidate = report["live"], report["candidate"]
    figures = Table(
        "", Column("Live", justify="right"), Column("Candidate", justify="right"), title="Outcomes"
    )
    figures.add_row("orders", str(report["orders"]), str(report["orders"]))
    for name in ("approved", "held"):
        figures.add_row(name, str(live[name]), str(candidate[name]))
    figures.add_row("pass rate", _rate(live["pass_rate"]), _rate(candidate["pass_rate"]), style="bold")
    out.print(figures)
    reasons = sorted({*live["held_by_reason"], *candidate["held_by_reason"]})
    if reasons:
        held = Table(
            "Reason",
            Column("Live", justify="right"),
            Column("Candidate", justify="right"),
            title="Held by reason",
        )
        for reason in reasons:
            held.add_row(
                reason,
                str(live["held_by_reason"].get(reason, 0)),
                str(candidate["held_by_reason"].get(reason, 0)),
            )
        out.print(held)
    if not report["changes"]:
        out.print("No order's outcome would change.")
        return
    changes = Table(
        "Order",
        "Shop",
        "External ID",
        "Live",
        "Candidate",
        "Rules (candidate)",
        title="Orders that would change",
    )
    for change in report["changes"]:
        changes.add_row(
            str(change["order_id"]),
            change["shop"],
            change["external_id"],
            _outcome(change["live"]),
            _outcome(change["candidate"]),
            ", ".join(change["candidate"]["rules"]),
        )
    out.print(changes)
    if report["changed"] > len(report["changes"]):
        out.print(f"... and {report['changed'] - len(report['changes'])} more.")


@review_app.command("dry-run")
def dry_run(
    file: RuleFile,
    last: Annotated[
        int, typer.Option(min=1, max=50_000, help="How many of the latest orders to review")
    ] = 1000,
) -> None:
    """Review recent orders with the rule set in FILE and with the live one, and show what would change.

    Nothing is saved. Custom rules the file leaves out are not in the candidate; built-in ones run as
    shipped."""
    text = read_text(file)
    with every_problem(), unit_of_work(read_only=True) as session:
        specs, settings = document.parse_yaml(text)
        report = compare_with_live(session, specs, settings, last=last)
    _report(report)
