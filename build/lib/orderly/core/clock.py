"""The one source of "now", always aware UTC."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(value: datetime) -> datetime:
    """Aware datetimes are converted; naive ones are refused rather than guessed."""
    if value.tzinfo is None:
        raise ValueError("timestamp has no time zone")
    return value.astimezone(UTC)


def plausible_utc(value: datetime) -> datetime:
    """An aware time as UTC, refused outside 1970-2999: nothing the hub schedules lies further out."""
    try:
        moment = value.astimezone(UTC)
    except OverflowError:
        raise ValueError("is out of range once converted to UTC") from None
    if not 1970 <= moment.year <= 2999:
        raise ValueError("must lie between 1970 and 2999")
    return moment


def zone(name: str) -> ZoneInfo:
    """An IANA time zone by name, e.g. ``Europe/Berlin``; an unknown name is refused."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ValueError(f"{name!r} is not a time zone name such as Europe/Berlin or UTC") from None


def day_or_instant(text: str) -> date | datetime:
    """A filter bound as written: a plain date (``2026-12-01``), or an instant with its offset."""
    text = text.strip()
    if len(text) == 10:
        try:
            day = date.fromisoformat(text)
        except ValueError:
            raise ValueError(f"{text!r} is not a date such as 2026-12-01") from None
        if not date.min < day < date.max:  # its day in some zone would fall outside the calendar
            raise ValueError(f"{text!r} is out of range")
        return day
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{text!r} is neither a date (2026-12-01) nor a time with offset") from None
    if moment.tzinfo is None:
        raise ValueError(f"{text!r} has no offset: add one (2026-12-01T09:00+01:00) or give a plain date")
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        raise ValueError(f"{text!r} is out of range once converted to UTC") from None


def range_start(value: date | datetime, where: tzinfo) -> datetime:
    """Where a range from ``value`` starts: a plain date is that day's first moment in ``where``."""
    if isinstance(value, datetime):
        return value
    return datetime.combine(value, time.min, tzinfo=where).astimezone(UTC)


def range_end(value: date | datetime, where: tzinfo) -> datetime:
    """Where a range up to ``value`` ends (exclusive): a plain date includes that whole day in ``where``."""
    if isinstance(value, datetime):
        return value
    return range_start(value + timedelta(days=1), where)


@dataclass(frozen=True)
class DateZone:
    """Where the days of plain dates in a request's filters are: the zone the request names, else the
    shop's (when it filters one shop that has one), else the hub's (ORDERLY_TIMEZONE)."""

    named: ZoneInfo | None
    hub: str

    def of(self, shop_zone: str | None) -> ZoneInfo:
        return self.named or zone(shop_zone or self.hub)
