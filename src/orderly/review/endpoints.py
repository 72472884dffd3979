"""Auto-review over HTTP: the rules (built-in and custom) and their history, the settings, the whole rule
set as YAML, a dry run of a candidate set over recent orders, and the facts and checks a rule can use."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Body, Path, Query, Response, status
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from orderly.core.web import Authenticated, DbSession, ReadSession, api_router
from orderly.review import document, routing, service
from orderly.review.checks import CHECKS, CheckKind
from orderly.review.domain.routing import RoutingRule
from orderly.review.domain.rules import RuleInvalid
from orderly.review.dry_run import compare_with_live
from orderly.review.facts import FACTS, FactType
from orderly.review.models import ReviewRule
from orderly.review.schemas import (
    DryRunIn,
    ReviewSettings,
    RoutingDocument,
    RoutingDryRunIn,
    RoutingDryRunOut,
    RoutingRuleOut,
    RoutingSettings,
    RuleOut,
    RuleVersionOut,
)

router = api_router("review", area="rules")

RuleKey = Annotated[str, Path(min_length=1, max_length=64, description="the rule's key")]
YAML = "application/yaml"


def _rule(session: Session, key: str) -> RuleOut:
    return RuleOut.of(*service.get_rule(session, key))


def all_rules(session: Session) -> list[RuleOut]:
    return [RuleOut.of(rule, row) for rule, row in service.rules(session)]


class RuleSetDocument(BaseModel):
    """The rule set as one YAML document, as exported and imported."""

    settings: ReviewSettings | None = None
    rules: list[dict[str, Any]] = Field(description="rule objects, as in PUT /review/rules/{key}")


class FactOut(BaseModel):
    name: str = Field(description="what a condition names: {fact: order.total, gt: 10000}")
    type: FactType = Field(description="decides the operators and values a condition may use")
    description: str


class CheckOut(BaseModel):
    key: str = Field(description="the built-in rule's key")
    title: str
    kind: CheckKind = Field(description="hold, factor (adds to the risk score), merge or split")
    priority: int = Field(description="as shipped; lower runs first")
    then: list[dict[str, Any]] = Field(description="its actions as shipped")
    params: dict[str, Any] = Field(description="its params as shipped")
    params_schema: dict[str, Any] = Field(description="the JSON schema of its params")


class OutcomeSummary(BaseModel):
    outcome: str = Field(description="approved or held")
    reasons: list[str] = Field(description="hold reasons")
    rules: list[str] = Field(description="the rules that fired, in the order they ran")
    messages: list[str] = Field(description="the holds' messages")


class RuleSetOutcome(BaseModel):
    approved: int
    held: int
    pass_rate: float | None = Field(description="approved / orders; null with no orders")
    held_by_reason: dict[str, int]
    fired_by_rule: dict[str, int]


class ChangedOrder(BaseModel):
    order_id: int | None
    external_id: str
    shop: str
    live: OutcomeSummary
    candidate: OutcomeSummary


class HeldOrder(OutcomeSummary):
    order_id: int | None
    external_id: str


class DryRunReport(BaseModel):
    orders: int = Field(description="orders reviewed")
    live: RuleSetOutcome = Field(description="with the rule set in force")
    candidate: RuleSetOutcome = Field(description="with the candidate")
    changed: int = Field(description="orders whose outcome or hold reasons differ")
    changes: list[ChangedOrder] = Field(description="the first 100 of them")
    would_hold: list[HeldOrder] = Field(description="the first 100 orders the candidate holds")


@router.get("/review/rules", response_model=list[RuleOut])
def list_rules(session: ReadSession) -> list[RuleOut]:
    """Every rule, built-in ones included, enabled or not, in the order they run."""
    return all_rules(session)


@router.get("/review/rules/{key}", response_model=RuleOut)
def get_rule(session: ReadSession, key: RuleKey) -> RuleOut:
    return _rule(session, key)


@router.put("/review/rules/{key}", response_model=RuleOut)
def save_rule(
    session: DbSession,
    caller: Authenticated,
    key: RuleKey,
    body: Annotated[
        dict[str, Any],
        Body(
            description="the rule: name, description, enabled, priority, scope, when, then; "
            "a built-in rule (its key names a check) also params",
            examples=[
                {
                    "name": "Big orders",
                    "when": {"fact": "order.total_base", "gt": 50000},
                    "then": [{"hold": {"reason": "risk", "message": "over 500"}}],
                }
            ],
        ),
    ],
) -> RuleOut:
    """Create or replace a rule, as a new version; every problem is reported at once, with its field."""
    if body.setdefault("key", key) != key:
        raise RuleInvalid(
            [{"field": "key", "message": f"{body['key']!r} is not the key in the path, {key!r}"}]
        )
    service.save_rule(session, body, actor=caller.name)
    return _rule(session, key)


@router.delete("/review/rules/{key}", status_code=status.HTTP_204_NO_CONTENT)
def delete_rule(session: DbSession, caller: Authenticated, key: RuleKey) -> None:
    """Delete a custom rule; a built-in rule goes back to how it shipped. Its versions are kept."""
    service.delete_rule(session, key, actor=caller.name)


@router.post("/review/rules/{key}/enable", response_model=RuleOut)
def enable_rule(session: DbSession, caller: Authenticated, key: RuleKey) -> RuleOut:
    service.set_enabled(session, key, True, actor=caller.name)
    return _rule(session, key)


@router.post("/review/rules/{key}/disable", response_model=RuleOut)
def disable_rule(session: DbSession, caller: Authenticated, key: RuleKey) -> RuleOut:
    service.set_enabled(session, key, False, actor=caller.name)
    return _rule(session, key)


@router.get("/review/rules/{key}/versions", response_model=list[RuleVersionOut])
def rule_versions(session: ReadSession, key: RuleKey) -> list[RuleVersionOut]:
    """Every saved version, oldest first, with who saved it; none for a built-in rule never changed."""
    return [RuleVersionOut.model_validate(version) for version in service.versions(session, key)]


@router.get("/review/settings", response_model=ReviewSettings)
def get_settings(session: ReadSession) -> ReviewSettings:
    return service.settings(session)


@router.put("/review/settings", response_model=ReviewSettings)
def save_settings(session: DbSession, caller: Authenticated, body: ReviewSettings) -> ReviewSettings:
    return service.save_settings(session, body.model_dump(mode="json"), actor=caller.name)


@router.get(
    "/review/export",
    # A response class with no media type keeps the errors documented as JSON; the model only puts
    # RuleSetDocument in the spec for the YAML content to refer to.
    response_class=Response,
    response_model=RuleSetDocument,
    responses={
        200: {
            "description": "the rule set",
            "content": {YAML: {"schema": {"$ref": "#/components/schemas/RuleSetDocument"}}},
        }
    },
)
def export_rules(session: ReadSession) -> Response:
    """The settings and every rule, built-in ones included, as one YAML document to keep or edit."""
    return Response(document.export_yaml(session), media_type=YAML)


@router.post("/review/import", response_model=list[RuleOut])
def import_rules(
    session: DbSession,
    caller: Authenticated,
    # Raw text: FastAPI hands a body that is not JSON over as bytes, which pydantic decodes as UTF-8.
    body: Annotated[str, Body(media_type=YAML, max_length=1_000_000, description="the YAML document")],
    replace: Annotated[
        bool,
        Query(description="also delete custom rules the document leaves out and reset such built-in ones"),
    ] = False,
) -> list[RuleOut]:
    """Save a YAML rule set (as exported), sent as `application/yaml` or `text/plain`: every rule or
    none. Rules the document does not change keep their version."""
    document.import_yaml(session, body, actor=caller.name, replace=replace)
    return all_rules(session)


@router.post("/review/dry-run", response_model=DryRunReport)
def dry_run(session: ReadSession, body: DryRunIn) -> dict[str, Any]:
    """Review the latest `last` orders with a candidate rule set and with the live one; nothing is
    saved or changed.

    The candidate is a whole rule set, as `rules` or as a YAML document in `yaml` (whose settings
    apply unless `settings` is given): custom rules it leaves out are not in it, built-in ones it
    leaves out run as shipped. The report gives, for each set, how many orders it approves and
    holds, the pass rate, holds by reason and how often each rule fired; then the orders whose
    outcome or hold reasons would change, each with both outcomes, and the orders the candidate holds.
    """
    specs, settings = _candidate(body)
    return compare_with_live(session, specs, settings, last=body.last)


def _candidate(body: DryRunIn | RoutingDryRunIn) -> tuple[list[Any], dict[str, Any] | None]:
    """A dry run's candidate rules and settings, given as rules or as a YAML document."""
    specs, settings = body.rules or [], body.settings
    if body.yaml is not None:
        if body.rules is not None:
            raise RuleInvalid(
                [{"field": "yaml", "message": "give the candidate as rules or as yaml, not both"}]
            )
        specs, in_document = document.parse_yaml(body.yaml)
        settings = in_document if settings is None else settings
    return specs, settings


@router.get("/review/facts", response_model=list[FactOut])
def list_facts() -> list[FactOut]:
    """What a rule's condition can look at."""
    return [FactOut(name=f.name, type=f.type, description=f.description) for f in FACTS.values()]


@router.get("/review/checks", response_model=list[CheckOut])
def list_checks() -> list[CheckOut]:
    """The built-in checks; each is a rule under its own key, tuned with its params."""
    return [
        CheckOut(
            key=c.name,
            title=c.title,
            kind=c.kind,
            priority=c.priority,
            then=list(c.actions),
            params=c.params().model_dump(mode="json"),
            params_schema=c.params.model_json_schema(),
        )
        for c in CHECKS.values()
    ]


# --- routing rules: the same language, a rule set of their own -------------------------------------


def _routing_rule(rule: RoutingRule, row: ReviewRule) -> RoutingRuleOut:
    return RoutingRuleOut(
        key=rule.key,
        name=rule.name,
        enabled=rule.enabled,
        priority=rule.priority,
        version=rule.version,
        spec=rule.spec,
        updated_by=row.updated_by,
        updated_at=row.updated_at,
    )


def _routing_rules(session: Session) -> list[RoutingRuleOut]:
    return [_routing_rule(rule, row) for rule, row in routing.rules(session)]


@router.get("/routing/rules", response_model=list[RoutingRuleOut])
def list_routing_rules(session: ReadSession) -> list[RoutingRuleOut]:
    """Every warehouse routing rule, enabled or not, in the order they run."""
    return _routing_rules(session)


@router.get("/routing/rules/{key}", response_model=RoutingRuleOut)
def get_routing_rule(session: ReadSession, key: RuleKey) -> RoutingRuleOut:
    return _routing_rule(*routing.get_rule(session, key))


@router.put("/routing/rules/{key}", response_model=RoutingRuleOut)
def save_routing_rule(
    session: DbSession,
    caller: Authenticated,
    key: RuleKey,
    body: Annotated[
        dict[str, Any],
        Body(
            description="the routing rule: name, description, enabled, priority, scope and when (the "
            "review's facts and operators), then: routing actions (warehouses: {prefer, exclude}, rank: "
            "priority|cost|transit|stock, promise_days, carrier: {use, service}, split)",
            examples=[
                {
                    "name": "Light parcels to South-East Asia from the local warehouse",
                    "when": {
                        "all": [
                            {"fact": "address.regions", "contains": "south_east_asia"},
                            {"fact": "order.size_class", "eq": "small"},
                        ]
                    },
                    "then": [{"warehouses": {"prefer": ["LOCAL"]}}],
                }
            ],
        ),
    ],
) -> RoutingRuleOut:
    """Create or replace a routing rule, as a new version; every problem is reported at once, with
    its field."""
    if body.setdefault("key", key) != key:
        raise RuleInvalid(
            [{"field": "key", "message": f"{body['key']!r} is not the key in the path, {key!r}"}]
        )
    routing.save_rule(session, body, actor=caller.name)
    return _routing_rule(*routing.get_rule(session, key))


@router.delete("/routing/rules/{key}", status_code=status.HTTP_204_NO_CONTENT)
def delete_routing_rule(session: DbSession, caller: Authenticated, key: RuleKey) -> None:
    """Delete a routing rule; its versions are kept."""
    routing.delete_rule(session, key, actor=caller.name)


@router.post("/routing/rules/{key}/enable", response_model=RoutingRuleOut)
def enable_routing_rule(session: DbSession, caller: Authenticated, key: RuleKey) -> RoutingRuleOut:
    routing.set_enabled(session, key, True, actor=caller.name)
    return _routing_rule(*routing.get_rule(session, key))


@router.post("/routing/rules/{key}/disable", response_model=RoutingRuleOut)
def disable_routing_rule(session: DbSession, caller: Authenticated, key: RuleKey) -> RoutingRuleOut:
    routing.set_enabled(session, key, False, actor=caller.name)
    return _routing_rule(*routing.get_rule(session, key))


@router.get("/routing/rules/{key}/versions", response_model=list[RuleVersionOut])
def routing_rule_versions(session: ReadSession, key: RuleKey) -> list[RuleVersionOut]:
    return [RuleVersionOut.model_validate(version) for version in routing.versions(session, key)]


@router.get("/routing/settings", response_model=RoutingSettings)
def get_routing_settings(session: ReadSession) -> RoutingSettings:
    return routing.settings(session)


@router.put("/routing/settings", response_model=RoutingSettings)
def save_routing_settings(
    session: DbSession, caller: Authenticated, body: RoutingSettings
) -> RoutingSettings:
    """Whether orders split by default, the total below which they never split, and the seller's
    lanes: the shipping cost and transit days from each warehouse to destinations (the hub has no
    carrier quotes when it routes)."""
    return routing.save_settings(session, body.model_dump(mode="json"), actor=caller.name)


@router.get(
    "/routing/export",
    response_class=Response,
    response_model=RoutingDocument,
    responses={
        200: {
            "description": "the routing rule set",
            "content": {YAML: {"schema": {"$ref": "#/components/schemas/RoutingDocument"}}},
        }
    },
)
def export_routing(session: ReadSession) -> Response:
    """The routing settings and every routing rule as one YAML document to keep or edit."""
    return Response(routing.export_yaml(session), media_type=YAML)


@router.post("/routing/import", response_model=list[RoutingRuleOut])
def import_routing(
    session: DbSession,
    caller: Authenticated,
    body: Annotated[str, Body(media_type=YAML, max_length=1_000_000, description="the YAML document")],
    replace: Annotated[bool, Query(description="also delete routing rules the document leaves out")] = False,
) -> list[RoutingRuleOut]:
    """Save a YAML routing rule set (as exported): every rule or none."""
    routing.import_yaml(session, body, actor=caller.name, replace=replace)
    return _routing_rules(session)


@router.post("/routing/dry-run", response_model=RoutingDryRunOut)
def routing_dry_run(session: ReadSession, body: RoutingDryRunIn) -> RoutingDryRunOut:
    """Route the latest `last` orders with a candidate routing rule set (as `rules` or `yaml`) and with
    the live one, against the stock as it stands; nothing is saved. The report gives, for each, the
    first warehouse tried, how many may split and how often each rule fired, then the orders whose
    first warehouse or split would change."""
    specs, settings = _candidate(body)
    return RoutingDryRunOut.model_validate(routing.dry_run(session, specs, settings, last=body.last))
