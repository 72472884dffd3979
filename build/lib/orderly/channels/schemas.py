from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta, timezone
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    HttpUrl,
    UrlConstraints,
    field_validator,
)

from orderly.core.clock import zone
from orderly.core.pagination import Page
from orderly.core.text import StorableStr
from orderly.inventory.domain import MAX_QUANTITY

#: The longest address a shop keeps (``shops.base_url`` is VARCHAR(500)); settings naming an address
#: keep to it as well.
ADDRESS_MAX = 500
WEEK_S = 7 * 86_400  # the longest a periodic reconcile or resync may wait


def stored_address(url: HttpUrl) -> str:
    """An address as the hub keeps and uses it: normalized, without a trailing slash."""
    return str(url).rstrip("/")


def _plain_address(url: HttpUrl) -> HttpUrl:
    # Credentials in an address would be stored and shown in the clear: they belong in ``credentials``.
    if url.username is not None or url.password is not None:
        raise ValueError("must not carry a user name or password (user:password@): give those as credentials")
    # The length as stored: normalizing (punycode, %-escapes) can lengthen what was typed.
    if len(stored_address(url)) > ADDRESS_MAX:
        raise ValueError(f"must be at most {ADDRESS_MAX} characters")
    return url


#: Where the hub sends a shop's requests (and with them its credentials): http or https, a host, no
#: user name or password, at most ``ADDRESS_MAX`` characters.
Address = Annotated[HttpUrl, UrlConstraints(max_length=ADDRESS_MAX), AfterValidator(_plain_address)]


def _lets_calls_go(figure: float, least: float, what: str) -> float:
    # At 0 (or with no room for one call) no call would ever go: the shop's sync would wait for ever.
    if not figure >= least:
        raise ValueError(f"{what} must be at least {least:g}, or no call to the platform would ever go")
    return figure


#: The slowest rate a shop may set, one call in 10,000 s: at 0, or near it, a wait would never end.
MIN_PER_SECOND = 0.0001


def _positive_rate(figure: float) -> float:
    return _lets_calls_go(figure, MIN_PER_SECOND, "calls per second")


def _room_for_a_call(figure: int) -> int:
    return int(_lets_calls_go(figure, 1, "the burst"))


#: An operation's own rate: calls per second, and the burst (calls that may go at once).
PerSecond = Annotated[float, Field(allow_inf_nan=False), AfterValidator(_positive_rate)]
Burst = Annotated[int, AfterValidator(_room_for_a_call)]


class SyncSettings(BaseModel):
    """How a shop is kept in step; every field has a working default."""

    model_config = ConfigDict(extra="allow")  # the connector's own keys (location_id, marketplace_id...)

    poll_interval_s: int = Field(default=60, ge=5, le=86_400, description="incremental order poll")
    overlap_s: int = Field(default=300, ge=0, le=86_400, description="each poll re-reads this much")
    first_poll_days: int = Field(
        default=30,
        ge=1,
        le=3650,
        description="how far back a shop's first poll reaches; older orders come in by a backfill",
    )
    reconcile_days: int = Field(default=7, ge=1, le=90, description="reconciliation window")
    reconcile_interval_s: int = Field(default=3600, ge=60, le=WEEK_S)
    resync_interval_s: int = Field(default=3600, ge=60, le=WEEK_S, description="full stock resync")
    stock_buffer: int = Field(default=0, ge=0, le=MAX_QUANTITY, description="units held back from this shop")
    stock_buffer_percent: int = Field(default=0, ge=0, le=100, description="share held back from this shop")
    low_stock_threshold: int = Field(default=0, ge=0, le=MAX_QUANTITY, description="at or below: alert")
    low_stock_publish_zero: bool = Field(default=False, description="at or below the threshold: publish 0")
    timezone: str | None = Field(
        default=None,
        description="the shop's time zone (IANA name, e.g. Asia/Shanghai): a plain date in a filter of "
        "this shop's orders is that day there; default the hub's ORDERLY_TIMEZONE",
    )
    stock_coalesce_s: float = Field(
        default=2.0,
        ge=0,
        le=3600,
        description="a listing pushed within this many seconds is pushed again only when they have "
        "passed, once, with the figure as it is then; one not pushed within them is pushed at once",
    )
    rate_limits: dict[str, tuple[PerSecond, Burst]] = Field(
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
    base_url: Address | None = Field(default=None, description="the platform's (or a sandbox's) address")
    credentials: dict[str, StorableStr] | None = Field(
        default=None, description="write-only: stored encrypted, never returned"
    )
    settings: SyncSettings = Field(default_factory=SyncSettings)
    sync_enabled: bool = False


class ShopUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: StorableStr | None = Field(default=None, min_length=1, max_length=200)
    base_url: Address | None = Field(
        default=None,
        description="the platform's (or a sandbox's) address; changing it needs the credentials again, "
        "in the same request",
    )
    credentials: dict[str, StorableStr] | None = Field(default=None, description="replaces the stored ones")
    settings: dict[str, Any] | None = Field(
        default=None,
        description="changes to the settings: each name given replaces its value, null returns it to its "
        "default, names not given keep theirs; a name the shop's channel does not take is refused",
    )
    sync_enabled: bool | None = None


class KindHealthOut(BaseModel):
    """How one kind of call to the shop is going (orders: polls and reconciliations; stock: pushes)."""

    model_config = ConfigDict(from_attributes=True)

    failures: int = Field(description="consecutive failed calls")
    unhealthy_since: datetime | None = Field(description="set, with an alert, past a few failures in a row")
    last_error: str | None
    last_ok_at: datetime | None


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
    healthy: bool = Field(description="no kind of call to the shop keeps failing")
    health: dict[str, KindHealthOut] = Field(description="by kind of call: orders, stock")


class InboxEntryOut(BaseModel):
    id: int
    shop: str
    source: str = Field(description="webhook, poll or reconcile")
    topic: str
    external_id: str = Field(description="the platform's order id (or the delivery's, for other topics)")
    version: str
    state: Literal["processed", "waiting", "failing", "gave_up", "kept"] = Field(
        description="`failing`: could not be mapped, tried again by the workers; "
        "`gave_up`: stopped trying, waits for a replay; `kept`: a delivery the hub does not process "
        "(another topic, unreadable, too large), kept once with the reason"
    )
    attempts: int
    last_error: str | None
    received_at: datetime
    processed_at: datetime | None


class InboxPage(Page[InboxEntryOut]):
    pass


def _utc(moment: datetime) -> datetime:
    try:
        return moment.astimezone(UTC)
    except OverflowError:  # e.g. 0001-01-01T00:00+01:00: before the calendar once in UTC
        raise ValueError(f"{moment.isoformat()} is out of range once converted to UTC") from None


def _day_edge(zone: timezone, days: int) -> Callable[[Any], Any]:
    """A plain date as an instant: its start (``days=0``) or end (``days=1``) in ``zone``."""

    def instant(value: Any) -> Any:
        if isinstance(value, str) and len(value) == len("2025-01-01"):
            value = date.fromisoformat(value)
        if isinstance(value, date) and not isinstance(value, datetime):
            try:
                return datetime.combine(value + timedelta(days=days), time(), zone).astimezone(UTC)
            except OverflowError:
                raise ValueError(f"{value.isoformat()} is out of range") from None
        return value

    return instant


# A plain date covers that day wherever the shop sells: from its first moment anywhere (UTC+14) to its
# last anywhere (UTC-12). Reading a few hours more costs nothing: what the hub has is not taken twice.
DayStart = Annotated[
    AwareDatetime, BeforeValidator(_day_edge(timezone(timedelta(hours=14)), 0)), AfterValidator(_utc)
]
DayEnd = Annotated[
    AwareDatetime, BeforeValidator(_day_edge(timezone(timedelta(hours=-12)), 1)), AfterValidator(_utc)
]


class BackfillIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    since: DayStart = Field(
        description="import the orders updated since: a date, or an instant with its zone"
    )
    until: DayEnd | None = Field(
        default=None, description="and before: a date (through that day) or an instant; default now"
    )


class BackfillOut(BaseModel):
    id: int
    shop: str
    since: datetime
    until: datetime
    reached: datetime = Field(description="every order updated before this is in")
    orders: int = Field(description="orders fetched so far")
    progress: float = Field(description="share of the window read, 0 to 1")
    status: Literal["running", "done", "dead"] = Field(
        description="dead: its job gave up (see last_error); replaying the job goes on from reached"
    )
    job_id: int | None
    last_error: str | None
    created_at: datetime
    finished_at: datetime | None
