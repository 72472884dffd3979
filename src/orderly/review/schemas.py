"""What the review API takes and returns. Rules themselves are checked by the domain (``compile_rules``),
which reports every problem with its path; the API only carries them as objects."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from orderly.core.text import StorableStr
from orderly.orders.schemas import Currency
from orderly.review.domain.routing import Lane, Policy, known_place
from orderly.review.domain.shipping import REGIONS

if TYPE_CHECKING:
    from orderly.review.domain.rules import Rule
    from orderly.review.models import ReviewRule


class ReviewSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    base_currency: Currency = Field(default="USD", description="ISO 4217; what order.total_base is in")
    rates: dict[Currency, Annotated[float, Field(gt=0)]] = Field(
        default_factory=dict, description="units of the base currency one unit of each currency is worth"
    )
    history_hours: float = Field(
        default=24,
        gt=0,
        le=24 * 30,
        description="how far back buyer.recent_orders and address.recent_orders look",
    )


class RuleOut(BaseModel):
    key: str
    name: str
    builtin: bool = Field(description="a built-in check; deleting it restores how it shipped")
    kind: str = Field(description="hold, factor (adds to the risk score), merge, split, or custom")
    enabled: bool
    priority: int = Field(description="lower runs first")
    version: int = Field(description="0: as shipped")
    spec: dict[str, Any] = Field(description="the rule as saved: scope, when, then, params")
    updated_by: str | None
    updated_at: datetime | None

    @classmethod
    def of(cls, rule: Rule, row: ReviewRule | None) -> RuleOut:
        """A rule as the API and the CLI show it; ``row`` None: a built-in rule as shipped."""
        return cls(
            key=rule.key,
            name=rule.name,
            builtin=rule.check is not None,
            kind=rule.check.kind if rule.check else "custom",
            enabled=rule.enabled,
            priority=rule.priority,
            version=rule.version,
            spec=rule.spec,
            updated_by=row.updated_by if row else None,
            updated_at=row.updated_at if row else None,
        )


class RuleVersionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    key: str
    version: int
    change: str = Field(
        description="created, updated, deleted, or reset (a built-in rule back to as shipped)"
    )
    spec: dict[str, Any] | None
    actor: str
    created_at: datetime


class DryRunIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rules: list[dict[str, Any]] | None = Field(default=None, description="the candidate rules, as objects")
    yaml: str | None = Field(
        default=None, max_length=1_000_000, description="or the candidate rule set as YAML"
    )
    settings: dict[str, Any] | None = None
    last: int = Field(default=1000, ge=1, le=50_000, description="how many of the latest orders to review")


class NoteIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    note: StorableStr = Field(min_length=1, max_length=1000, description="why, kept in the order's history")


class LaneIn(BaseModel):
    """What shipping from a warehouse to some destinations costs and takes, as the seller keeps it
    (the hub has no carrier quotes when it routes an order)."""

    model_config = ConfigDict(extra="forbid")

    warehouse: str = Field(min_length=1, max_length=64, description="the warehouse's code")
    to: list[Annotated[str, Field(min_length=1, max_length=32)]] = Field(
        min_length=1,
        max_length=500,
        description="ISO 3166 countries, region names (south_east_asia, europe, eu...) or '*' for everywhere",
    )
    cost: int | None = Field(default=None, ge=0, le=10**9, description="minor units of the base currency")
    days: int | None = Field(default=None, ge=0, le=365, description="transit days")

    @field_validator("to")
    @classmethod
    def _places(cls, places: list[str]) -> list[str]:
        unknown = [p for p in places if not known_place(p)]
        if unknown:
            raise ValueError(
                f"{unknown[0]!r} is not a country (two capital letters), a region "
                f"({', '.join(sorted(REGIONS))}) or '*'"
            )
        return places


class RoutingSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    split: bool = Field(
        default=False,
        description="an order no one warehouse can fill ships from several, unless a rule says otherwise",
    )
    split_min_total: int | None = Field(
        default=None,
        ge=0,
        le=10**12,
        description="an order worth less (minor units of the review's base currency) never splits: it "
        "waits for one warehouse to hold it all",
    )
    lanes: list[LaneIn] = Field(default_factory=list, max_length=10_000)

    def policy(self) -> Policy:
        return Policy(
            self.split,
            self.split_min_total,
            tuple(Lane(lane.warehouse, frozenset(lane.to), lane.cost, lane.days) for lane in self.lanes),
        )


class RoutingRuleOut(BaseModel):
    key: str
    name: str
    enabled: bool
    priority: int = Field(description="lower runs first")
    version: int
    spec: dict[str, Any] = Field(description="the rule as saved: scope, when, then")
    updated_by: str
    updated_at: datetime


class RoutingDocument(BaseModel):
    """The routing rule set as one YAML document, as exported and imported."""

    settings: RoutingSettings | None = None
    rules: list[dict[str, Any]] = Field(description="routing rule objects, as in PUT /routing/rules/{key}")


class RoutingDryRunIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rules: list[dict[str, Any]] | None = Field(default=None, description="the candidate routing rules")
    yaml: str | None = Field(default=None, max_length=1_000_000, description="or the candidate as YAML")
    settings: dict[str, Any] | None = None
    last: int = Field(default=1000, ge=1, le=50_000, description="how many of the latest orders to route")


class RoutingSideOut(BaseModel):
    """What one rule set does to the orders: the first warehouse each would try, how many may split,
    how often each rule fired."""

    first_choice: dict[str, int]
    split_allowed: int
    fired_by_rule: dict[str, int]


class RouteSummaryOut(BaseModel):
    order: list[str] = Field(description="the warehouses in the order allocation tries them")
    split: bool
    rules: list[str] = Field(description="the routing rules that fired")


class RoutingChangeOut(BaseModel):
    order_id: int
    external_id: str
    live: RouteSummaryOut
    candidate: RouteSummaryOut


class RoutingDryRunOut(BaseModel):
    """The live and the candidate routing rule sets over the same recent orders and stock."""

    orders: int
    live: RoutingSideOut
    candidate: RoutingSideOut
    changed: int = Field(description="orders whose first warehouse or split would change")
    changes: list[RoutingChangeOut] = Field(description="the first of them")
