"""What the review API takes and returns. Rules themselves are checked by the domain (``compile_rules``),
which reports every problem with its path; the API only carries them as objects."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from orderly.core.text import StorableStr
from orderly.orders.schemas import Currency

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
