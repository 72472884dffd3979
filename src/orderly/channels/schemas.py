from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, HttpUrl, field_validator

from orderly.core.clock import zone
from orderly.core.pagination import Page
from orderly.core.text import StorableStr


class SyncSettings(BaseModel):
    """How a shop is kept in step; every field has a working default."""

    model_config = ConfigDict(extra="allow")  # the connector's own keys (location_id, marketplace_id...)

    poll_interval_s: int = Field(default=60, ge=5, le=86_400, description="incremental order poll")
    overlap_s: int = Field(default=300, ge=0, le=86_400, description="each poll re-reads this much")
    reconcile_days: int = Field(default=7, ge=1, le=90, description="reconciliation window")
    reconcile_interval_s: int = Field(default=3600, ge=60)
    resync_interval_s: int = Field(default=3600, ge=60, description="full stock resync")
    stock_buffer: int = Field(default=0, ge=0, description="units held back from this shop")
    stock_buffer_percent: int = Field(default=0, ge=0, le=100, description="share held back from this shop")
    low_stock_threshold: int = Field(default=0, ge=0, description="at or below: alert")
    low_stock_publish_zero: bool = Field(default=False, description="at or below the threshold: publish 0")
    timezone: str | None = Field(
        default=None,
        description="the shop's time zone (IANA name, e.g. Asia/Shanghai): a plain date in a filter of "
        "this shop's orders is that day there; default the hub's ORDERLY_TIMEZONE",
    )
    rate_limits: dict[str, tuple[float, int]] = Field(
        default_factory=dict,
        description="per operation (per second, burst), replacing the platform's published limits: "
        "for an account with a larger quota, or a sandbox",
    )

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        if value is not None:
            zone(value)
        return value


class ShopIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    code: StorableStr = Field(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9_-]*$")
    name: StorableStr = Field(min_length=1, max_length=200)
    channel: StorableStr = Field(
        min_length=1, max_length=32, description="platform, e.g. shopify, amazon, manual"
    )
    base_url: HttpUrl | None = Field(default=None, description="the platform's (or a sandbox's) address")
    credentials: dict[str, StorableStr] | None = Field(
        default=None, description="write-only: stored encrypted, never returned"
    )
    settings: SyncSettings = Field(default_factory=SyncSettings)
    sync_enabled: bool = False


class ShopUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: StorableStr | None = Field(default=None, min_length=1, max_length=200)
    base_url: HttpUrl | None = None
    credentials: dict[str, StorableStr] | None = Field(default=None, description="replaces the stored ones")
    settings: SyncSettings | None = None
    sync_enabled: bool | None = None


class ShopOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    code: str
    name: str
    channel: str
    created_at: datetime
    base_url: str | None
    settings: dict[str, Any]
    sync_enabled: bool
    has_credentials: bool
    orders_synced_to: datetime | None
    last_polled_at: datetime | None
    failures: int
    unhealthy_since: datetime | None
    last_error: str | None


class InboxEntryOut(BaseModel):
    id: int
    shop: str
    source: str = Field(description="webhook, poll or reconcile")
    topic: str
    external_id: str = Field(description="the platform's order id (or the delivery's, for other topics)")
    version: str
    state: Literal["processed", "waiting", "failing", "gave_up"] = Field(
        description="`failing`: could not be mapped, tried again by the workers; "
        "`gave_up`: stopped trying, waits for a replay"
    )
    attempts: int
    last_error: str | None
    received_at: datetime
    processed_at: datetime | None


class InboxPage(Page[InboxEntryOut]):
    pass
