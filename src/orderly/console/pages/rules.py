"""The rules pages: the review and routing rule sets with each rule's versions (the active one marked),
a rule set edited as its YAML document with the API's validation messages, a dry run of the draft over
recent orders (the test bench's report) before it is switched in, and an older version of a rule made
active again. Every change goes through the API's use cases, in one transaction."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Request, status
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session

from orderly.console.i18n import N_
from orderly.console.pages.common import missing, read_form, render
from orderly.console.viewer import SignedIn, Viewer, allowed
from orderly.core.db import transaction
from orderly.core.errors import DomainError, NotFound
from orderly.core.web import ReadSession
from orderly.review import document, routing, service
from orderly.review import repository as repo
from orderly.review.domain.rules import RuleInvalid
from orderly.review.dry_run import compare_with_live
from orderly.review.models import ReviewRuleVersion

router = APIRouter(include_in_schema=False)

Kind = Literal["review", "routing"]
RuleKey = Annotated[str, Path(min_length=1, max_length=64)]
#: How each rule set reads.
KIND_NAMES = {"review": N_("Review rules"), "routing": N_("Routing rules")}
#: How many of the latest orders a dry run looks at unless asked otherwise (the API's default).
DRY_RUN_ORDERS = 1000
#: The largest rule set form: the API takes a YAML document of up to a million characters, which
#: URL-encoding makes at most three times as long for ASCII (non-ASCII text is rare in rules).
DOCUMENT_FORM_MAX = 3_000_000


async def _document_form(request: Request) -> dict[str, str]:
    return await read_form(request, limit=DOCUMENT_FORM_MAX)


DocumentForm = Annotated[dict[str, str], Depends(_document_form)]


@dataclass(frozen=True)
class RuleSet:
    """One kind of rule set as the API handles it: its rules, versions, YAML, dry run and saving."""

    rules: Callable[[Session], Sequence[tuple[Any, Any]]]
    versions: Callable[[Session, str], list[ReviewRuleVersion]]
    export: Callable[[Session], str]
    import_yaml: Callable[..., object]
    dry_run: Callable[..., dict[str, Any]]
    save_rule: Callable[..., object]


RULE_SETS = {
    "review": RuleSet(
        service.rules,
        service.versions,
        document.export_yaml,
        document.import_yaml,
        compare_with_live,
        service.save_rule,
    ),
    "routing": RuleSet(
        routing.rules,
        routing.versions,
        routing.export_yaml,
        routing.import_yaml,
        routing.dry_run,
        routing.save_rule,
    ),
}


@router.get("/rules", response_class=HTMLResponse)
def rules_page(request: Request, session: ReadSession, viewer: SignedIn) -> HTMLResponse:
    """Both rule sets: the version in force and every rule with its active version."""
    allowed(viewer, "rules:read")
    sets = [(kind, repo.ruleset_version(session, kind), RULE_SETS[kind].rules(session)) for kind in RULE_SETS]
    return render(request, "rules.html", viewer, sets=sets, kind_names=KIND_NAMES)


def _rule_page(
    request: Request,
    session: Session,
    viewer: Viewer,
    kind: Kind,
    key: str,
    *,
    problem: str | None = None,
    done: int | None = None,
) -> HTMLResponse:
    rule_set = RULE_SETS[kind]
    current = next((rule for rule, _ in rule_set.rules(session) if rule.key == key), None)
    try:
        versions = rule_set.versions(session, key)
    except NotFound as absent:
        return missing(request, viewer, absent.message)
    return render(
        request,
        "rule_versions.html",
        viewer,
        kind=kind,
        kind_names=KIND_NAMES,
        key=key,
        rule=current,
        versions=list(reversed(versions)),
        problem=problem,
        done=done,
    )


@router.get("/rules/{kind}/rules/{key}", response_class=HTMLResponse)
def rule_page(
    request: Request, session: ReadSession, viewer: SignedIn, kind: Kind, key: RuleKey
) -> HTMLResponse:
    """A rule's versions, newest first, the active one marked."""
    allowed(viewer, "rules:read")
    return _rule_page(request, session, viewer, kind, key)


@router.post("/rules/{kind}/rules/{key}/versions/{version}", response_class=HTMLResponse)
def activate_version(
    request: Request,
    viewer: SignedIn,
    kind: Kind,
    key: RuleKey,
    version: Annotated[int, Path(ge=1, le=1_000_000)],
) -> HTMLResponse:
    """Make an older version of a rule active again: saved as its newest version, as PUT
    /review/rules/{key} (or /routing/rules/{key}) saves a rule."""
    allowed(viewer, "rules:write")
    rule_set = RULE_SETS[kind]
    factory = request.app.state.factory
    problem, code, done = None, status.HTTP_200_OK, None
    try:
        with transaction(factory) as session:
            chosen = next((v for v in rule_set.versions(session, key) if v.version == version), None)
            if chosen is None or chosen.spec is None:
                raise NotFound(f"{key!r} has no version {version} to switch to")
            rule_set.save_rule(session, chosen.spec, actor=viewer.name)
            done = version
    except DomainError as refused:
        problem, code = refused.message, refused.http_status
    with transaction(factory) as session:
        page = _rule_page(request, session, viewer, kind, key, problem=problem, done=done)
    if not request.headers.get("hx-request") and page.status_code == status.HTTP_200_OK:
        page.status_code = code
    return page


@router.get("/rules/{kind}", response_class=HTMLResponse)
def edit_page(request: Request, session: ReadSession, viewer: SignedIn, kind: Kind) -> HTMLResponse:
    """A rule set's YAML document to edit, dry-run and switch in."""
    allowed(viewer, "rules:read")
    return render(
        request,
        "rules_edit.html",
        viewer,
        kind=kind,
        kind_names=KIND_NAMES,
        text=RULE_SETS[kind].export(session),
        version=repo.ruleset_version(session, kind),
        last=DRY_RUN_ORDERS,
    )


def _problems(refused: DomainError) -> list[dict[str, str]]:
    """Each problem with where it is, as the API's 422 lists them."""
    if isinstance(refused, RuleInvalid) and refused.errors:
        return refused.errors
    return [{"field": refused.field or "", "message": refused.message}]


def _answer(request: Request, page: HTMLResponse, code: int) -> HTMLResponse:
    """To htmx always 200 (it swaps only 2xx answers), the real status otherwise."""
    if not request.headers.get("hx-request"):
        page.status_code = code
    return page


@router.post("/rules/{kind}/dry-run", response_class=HTMLResponse)
def dry_run(
    request: Request, session: ReadSession, viewer: SignedIn, kind: Kind, form: DocumentForm
) -> HTMLResponse:
    """The draft and the rule set in force over the latest orders, compared, as POST
    /review/dry-run (or /routing/dry-run) reports it; in a read-only transaction: nothing is saved."""
    allowed(viewer, "rules:write")  # as the API's dry runs
    last = form.get("last", "").strip() or str(DRY_RUN_ORDERS)
    if not last.isdigit() or not 1 <= int(last) <= 50_000:
        problems = [{"field": "last", "message": "a whole number from 1 to 50000"}]
        page = render(request, "_rules_report.html", viewer, kind=kind, problems=problems)
        return _answer(request, page, status.HTTP_422_UNPROCESSABLE_CONTENT)
    try:
        specs, settings = document.parse_yaml(form.get("yaml", ""))
        report = RULE_SETS[kind].dry_run(session, specs, settings, last=int(last))
    except DomainError as refused:
        page = render(request, "_rules_report.html", viewer, kind=kind, problems=_problems(refused))
        return _answer(request, page, refused.http_status)
    return render(request, "_rules_report.html", viewer, kind=kind, report=report, kind_names=KIND_NAMES)


@router.post("/rules/{kind}", response_class=HTMLResponse)
def save_rule_set(request: Request, viewer: SignedIn, kind: Kind, form: DocumentForm) -> HTMLResponse:
    """Switch the draft in: every rule of the document saved (a new version of those it changes),
    rules it leaves out deleted (built-in ones as shipped), as POST /review/import?replace=true (or
    /routing/import); every rule or none, in one transaction."""
    allowed(viewer, "rules:write")
    try:
        with transaction(request.app.state.factory) as session:
            RULE_SETS[kind].import_yaml(session, form.get("yaml", ""), actor=viewer.name, replace=True)
            version = repo.ruleset_version(session, kind)
    except DomainError as refused:
        page = render(request, "_rules_report.html", viewer, kind=kind, problems=_problems(refused))
        return _answer(request, page, refused.http_status)
    return render(request, "_rules_report.html", viewer, kind=kind, switched=version)
