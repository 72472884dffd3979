"""What the console shows a viewer, in their language and zone: pure, no I/O.

Money stays integer minor units until it is shown; the exponent is the currency's
(``core/money.py``), the writing the locale's (Babel, from CLDR). Times are stored UTC and shown in the
viewer's zone.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from babel.dates import format_datetime, format_skeleton, format_timedelta
from babel.numbers import format_currency, format_percent

from orderly.core.money import minor_unit_exponent

#: The console's languages, as Babel names them; the first is the fallback.
LOCALES = ("en", "zh_Hans")
DEFAULT_LOCALE = LOCALES[0]


def money(amount: int, currency: str, locale: str) -> str:
    """``money(123450, "EUR", "en")`` is ``€1,234.50``; in ``zh_Hans``, ``€1,234.50`` too (CLDR)."""
    return format_currency(Decimal(amount).scaleb(-minor_unit_exponent(currency)), currency, locale=locale)


def moment(value: datetime, zone: str, locale: str) -> str:
    """An aware time in ``zone``, with the locale's medium date and time and the zone's short name."""
    shown = value.astimezone(ZoneInfo(zone))
    return f"{format_datetime(shown, 'medium', locale=locale)} {shown.tzname()}"


def day_label(day: date, locale: str) -> str:
    """A day as a chart's axis shows it: ``Nov 11`` in English, ``11月11日`` in Chinese."""
    return format_skeleton("MMMd", day, locale=locale)


def duration(minutes: int, locale: str) -> str:
    """Minutes in their largest unit and the next: ``1d 6h``, ``3d``, ``45m``, ``0m``; ``1天 6小时``."""
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    if not (days or hours or minutes):
        return format_timedelta(timedelta(0), granularity="minute", format="narrow", locale=locale)
    units = [("days", days), ("hours", hours), ("minutes", minutes)]
    largest = next(n for n, (_, amount) in enumerate(units) if amount)
    return " ".join(
        format_timedelta(timedelta(**{unit: amount}), threshold=1, format="narrow", locale=locale)
        for unit, amount in units[largest : largest + 2]
        if amount
    )


def percent(fraction: float, locale: str) -> str:
    """``0.875`` as ``88%`` (whole percent, the locale's sign)."""
    return format_percent(fraction, locale=locale)


def supported_locale(name: str | None) -> str | None:
    """``name`` as one of :data:`LOCALES` (``zh-CN``, ``zh_Hans_CN`` and ``zh`` are ``zh_Hans``;
    ``en-GB`` is ``en``), or None: traditional Chinese is not Simplified, so ``zh-TW`` is None."""
    if not name:
        return None
    parts = name.replace("-", "_").split("_")
    language, rest = parts[0].lower(), {part.lower() for part in parts[1:]}
    if language == "en":
        return "en"
    if language == "zh" and not rest & {"hant", "tw", "hk", "mo"}:
        return "zh_Hans"
    return None


def from_accept_language(header: str | None) -> str:
    """The first supported language of an ``Accept-Language`` header, by its weights; else English."""
    ranked: list[tuple[float, int, str]] = []
    for position, item in enumerate((header or "").split(",")):
        tag, _, params = item.strip().partition(";")
        weight = 1.0
        if params.strip().startswith("q="):
            try:
                weight = float(params.strip()[2:])
            except ValueError:
                continue
        ranked.append((-weight, position, tag.strip()))
    for weight, _, tag in sorted(ranked):
        found = supported_locale(tag)
        if found and weight < 0:
            return found
    return DEFAULT_LOCALE
