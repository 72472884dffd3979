"""Money, times and languages as the console shows them (pure: no database, no browser)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from orderly.console.formatting import from_accept_language, moment, money, supported_locale

NNBSP = "\u202f"  # CLDR puts a narrow no-break space before AM/PM


@pytest.mark.parametrize(
    ("amount", "currency", "locale", "shown"),
    [
        (123450, "EUR", "en", "€1,234.50"),
        (-1999, "USD", "en", "-$19.99"),
        (-1999, "USD", "zh_Hans", "-US$19.99"),
        (1500, "JPY", "en", "¥1,500"),  # no minor unit
        (1500, "JPY", "zh_Hans", "JP¥1,500"),
        (12345, "KWD", "en", "KWD12.345"),  # three
        (9900, "CNY", "zh_Hans", "¥99.00"),
        (9900, "CNY", "en", "CN¥99.00"),
        (0, "USD", "en", "$0.00"),
        (10**15 + 1, "USD", "en", "$10,000,000,000,000.01"),  # exact, however large
    ],
)
def test_money_in_the_locales_format(amount: int, currency: str, locale: str, shown: str) -> None:
    assert money(amount, currency, locale) == shown


def test_a_time_in_the_viewers_zone_and_language() -> None:
    at = datetime(2026, 12, 3, 23, 5, tzinfo=UTC)
    assert moment(at, "Asia/Shanghai", "zh_Hans") == "2026年12月4日 07:05:00 CST"
    assert moment(at, "America/New_York", "en") == f"Dec 3, 2026, 6:05:00{NNBSP}PM EST"
    assert moment(at, "UTC", "en") == f"Dec 3, 2026, 11:05:00{NNBSP}PM UTC"


@pytest.mark.parametrize(
    ("name", "locale"),
    [
        ("en", "en"),
        ("en-GB", "en"),
        ("zh", "zh_Hans"),
        ("zh-CN", "zh_Hans"),
        ("zh_Hans_CN", "zh_Hans"),
        ("zh-Hans", "zh_Hans"),
        ("zh-TW", None),
        ("zh-Hant", None),
        ("fr", None),
        ("", None),
        (None, None),
    ],
)
def test_supported_locales(name: str | None, locale: str | None) -> None:
    assert supported_locale(name) == locale


@pytest.mark.parametrize(
    ("header", "locale"),
    [
        ("zh-CN,zh;q=0.9,en;q=0.8", "zh_Hans"),
        ("de-DE,en;q=0.5,zh;q=0.4", "en"),
        ("en;q=0.2, zh-Hans;q=0.9", "zh_Hans"),  # by weight, not position
        ("zh-TW,fr", "en"),  # nothing it speaks: English
        ("zh;q=0", "en"),  # refused outright
        ("zh;q=abc, en", "en"),
        ("", "en"),
        (None, "en"),
    ],
)
def test_the_browsers_language(header: str | None, locale: str) -> None:
    assert from_accept_language(header) == locale
