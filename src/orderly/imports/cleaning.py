"""Cleaning a file's cells into the hub's values: text, countries, phones, postal codes, times, money
and quantities.

Pure (no database, no I/O) and shared by every import kind. Each function takes a cell's text and
returns the hub's value or raises ``Invalid`` with a sentence a person can act on; the kind turns that
into the row's error and goes on with the next row.
"""

from __future__ import annotations

import gc
import re
import unicodedata
from datetime import date, datetime, time, timedelta, timezone, tzinfo
from decimal import Decimal, InvalidOperation
from functools import cache, lru_cache

import phonenumbers
import pycountry
from babel import Locale, localedata

from orderly.core.clock import plausible_utc
from orderly.core.money import is_currency, minor_unit_exponent
from orderly.inventory.domain import MAX_QUANTITY
from orderly.review.address import (
    POSTAL_CODE_EXAMPLES,
    POSTAL_CODE_FORMATS,
    normalise_postal_code,
    plain_e164,
)


class Invalid(ValueError):
    """A cell the hub cannot read; ``str()`` is the reason, worded for the person who made the file."""


# Spaces a spreadsheet or a CJK input method leaves around a value (NBSP, full-width space) and marks
# that are invisible but make two cells differ (zero-width space, BOM).
_INVISIBLE = str.maketrans(dict.fromkeys("\u200b\u200c\u200d\u2060\ufeff"))


def text(value: str) -> str | None:
    """The cell without surrounding spaces or invisible marks; None when nothing is left."""
    cleaned = value.translate(_INVISIBLE).strip()
    return cleaned or None


# --- countries ---------------------------------------------------------------------------------------

# Names people write that neither pycountry nor the CLDR names in _NAME_LOCALES spell that way.
_COUNTRY_ALIASES: dict[str, str] = {
    "usa": "US", "u.s.a.": "US", "u.s.": "US", "america": "US", "united states of america": "US",
    "uk": "GB", "u.k.": "GB", "great britain": "GB", "britain": "GB", "england": "GB", "scotland": "GB",
    "wales": "GB", "northern ireland": "GB", "holland": "NL", "the netherlands": "NL",
    "korea": "KR", "republic of korea": "KR", "north korea": "KP", "russia": "RU", "vietnam": "VN",
    "czech republic": "CZ", "turkey": "TR", "ivory coast": "CI", "burma": "MM", "swaziland": "SZ",
    "macau": "MO", "uae": "AE", "mainland china": "CN", "prc": "CN", "p.r. china": "CN",
    "大陆": "CN", "中国大陆": "CN", "内地": "CN", "香港": "HK", "中國香港": "HK", "澳门": "MO", "澳門": "MO",
    "台湾": "TW", "台灣": "TW", "中国台湾": "TW", "南韩": "KR", "南韓": "KR", "韓國": "KR", "朝鲜": "KP",
    "英格兰": "GB", "俄国": "RU", "阿联酋": "AE", "新西兰": "NZ", "纽西兰": "NZ",
}  # fmt: skip

# CLDR's country names in these languages are recognised too (the languages of the hub's sellers and
# of the platforms' reports); English and Chinese win where two languages share a spelling.
_NAME_LOCALES = (
    "en",
    "zh",
    "zh_Hant",
    "ja",
    "ko",
    "de",
    "fr",
    "es",
    "it",
    "pt",
    "nl",
    "th",
    "vi",
    "id",
    "ms",
)


def _name_key(name: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", name).casefold().split())


@cache
def _country_names() -> dict[str, str]:
    """Every spelling known, folded, to its ISO 3166-1 alpha-2 code; built once, on first use."""
    names: dict[str, str] = {}
    loaded = set(_babel_cache())
    for locale in _NAME_LOCALES:
        for code, name in Locale.parse(locale).territories.items():
            if len(code) == 2 and code.isalpha() and pycountry.countries.get(alpha_2=code) is not None:
                names.setdefault(_name_key(name), code)
    # Babel keeps each locale's whole data once loaded (about 12 MB for these); only the names are
    # needed here, and a process importing a file has no other use for them.
    for name in set(_babel_cache()) - loaded:
        _babel_cache().pop(name, None)
    gc.collect()  # the data holds cycles; an import's batch runs with the collector paused
    for country in pycountry.countries:
        for attribute in ("alpha_2", "alpha_3", "name", "official_name", "common_name"):
            spelling = getattr(country, attribute, None)
            if spelling:
                names.setdefault(_name_key(spelling), country.alpha_2)
    names.update(_COUNTRY_ALIASES)
    return names


def _babel_cache() -> dict[str, object]:
    """Babel's cache of loaded locale data (empty if a later Babel keeps it elsewhere)."""
    found = getattr(localedata, "_cache", None)
    return found if isinstance(found, dict) else {}


def country(value: str) -> str:
    """A country as its ISO 3166-1 alpha-2 code, from a code (``DE``, ``DEU``) or a name in English,
    Chinese or another common language (``Germany``, ``德国``, ``Deutschland``)."""
    key = _name_key(value)
    code = _country_names().get(key) or _country_names().get(key.removeprefix("the "))
    if code is None:
        raise Invalid(f"'{value.strip()}' is not a country the hub knows: use its ISO code, such as DE or CN")
    return code


# --- phones and postal codes -------------------------------------------------------------------------


def phone(value: str, country_code: str | None) -> str:
    """A phone number in E.164 (``+8613800138000``); a number without its calling code is read as one
    of ``country_code``. Whether it is a valid number of that country is review's to judge."""
    e164, reason = _phone(value, country_code)
    if reason is not None:
        raise Invalid(reason)
    return e164


@lru_cache(maxsize=1 << 13)
def _phone(value: str, country_code: str | None) -> tuple[str, str | None]:
    """``phone``'s answer, kept for the cells that repeat close together (an order's buyer and
    recipient, a buyer's orders in one export): the number in E.164, or why it is none. Parsing costs
    far more than the lookup; the 8,192 newest take about 3 MB. A plain number of the country is
    written in E.164 off the library's metadata, as review judges it, without parsing."""
    if country_code in phonenumbers.SUPPORTED_REGIONS:
        quick = plain_e164(value, country_code)
        if quick is not None:
            return quick, None
    try:
        number = phonenumbers.parse(value, country_code)
    except phonenumbers.NumberParseException:
        where = f" of {country_code}" if country_code else " (give its calling code, such as +86)"
        return "", f"'{value.strip()}' is not a phone number{where}"
    if not phonenumbers.is_possible_number(number):
        return "", f"'{value.strip()}' has too few or too many digits for a phone number"
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164), None


# Where a country's code is written in two parts: the first part's length, and what joins them.
_POSTAL_PARTS: dict[str, tuple[int, str]] = {
    "US": (5, "-"), "JP": (3, "-"), "BR": (5, "-"), "PL": (2, "-"), "PT": (4, "-"),
    "SE": (3, " "), "CZ": (3, " "), "NL": (4, " "), "IN": (3, ""),
}  # fmt: skip
# Codes of these countries are all digits of one length: a spreadsheet that took one for a number
# dropped its leading zeros (02134 became 2134), which are put back.
_POSTAL_DIGITS: dict[str, int] = {
    "US": 5, "DE": 5, "FR": 5, "IT": 5, "ES": 5, "MX": 5, "FI": 5, "MY": 5, "KR": 5,
    "AU": 4, "NZ": 4, "DK": 4, "NO": 4, "PH": 4, "SG": 6, "CN": 6, "RU": 6,
}  # fmt: skip
# Of the United Kingdom and Ireland the inward (or unique) part is always the last three or four.
_POSTAL_TAIL: dict[str, int] = {"GB": 3, "CA": 3, "IE": 4}


def postal_code(value: str, country_code: str) -> str:
    """A postal code written the way ``country_code`` writes it where the hub knows its format
    (``sw1a1aa`` -> ``SW1A 1AA``, ``1500001`` -> ``150-0001``, ``2134`` in the US -> ``02134``);
    otherwise only trimmed, folded to half-width and upper-cased."""
    code = normalise_postal_code(value)
    pattern = POSTAL_CODE_FORMATS.get(country_code)
    if pattern is None:
        if not code:
            raise Invalid("the postal code is empty")
        return code
    compact = code.replace(" ", "").replace("-", "")
    width = _POSTAL_DIGITS.get(country_code)
    if width is not None and compact.isdigit() and len(compact) < width:
        compact = compact.zfill(width)
    if country_code in _POSTAL_TAIL:
        tail = _POSTAL_TAIL[country_code]
        code = f"{compact[:-tail]} {compact[-tail:]}"
    elif country_code in _POSTAL_PARTS:
        head, joint = _POSTAL_PARTS[country_code]
        code = compact if len(compact) <= head else f"{compact[:head]}{joint}{compact[head:]}"
    else:
        code = compact
    if not pattern.fullmatch(code):
        example = POSTAL_CODE_EXAMPLES[country_code]
        raise Invalid(f"'{value.strip()}' is not a postal code of {country_code} (e.g. {example})")
    return code


# --- times -------------------------------------------------------------------------------------------

# Layouts without an offset, read in the file's time zone. Year first only: a date like 04/12/2026 is
# read by _slashed_day, which refuses to guess between the 4th of December and the 12th of April.
_LAYOUTS = (
    "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M",
    "%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M", "%Y/%m/%d", "%Y.%m.%d %H:%M:%S", "%Y.%m.%d %H:%M", "%Y.%m.%d",
    "%Y%m%d", "%Y年%m月%d日 %H:%M:%S", "%Y年%m月%d日 %H:%M", "%Y年%m月%d日", "%Y年%m月%d日%H:%M:%S",
    "%Y年%m月%d日%H:%M", "%d %b %Y %H:%M:%S", "%d %b %Y %H:%M", "%d %b %Y", "%b %d, %Y %H:%M:%S",
    "%b %d, %Y %H:%M", "%b %d, %Y", "%b %d, %Y %I:%M:%S %p", "%b %d, %Y %I:%M %p",
)  # fmt: skip
_FRACTION = re.compile(r"(\d{2}:\d{2}:\d{2})\.\d+")
# ``2026-12-04 13:05:00 +0800`` (Shopify's exports), ``... +08:00``, ``... UTC``, ``... Z``
_TRAILING_OFFSET = re.compile(r"^(.*\d)\s*(?:([+-])(\d{2}):?(\d{2})|(?:UTC|GMT|Z))$", re.IGNORECASE)
_SLASHED = re.compile(r"^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})(?:\s+(\d{1,2}):(\d{2})(?::(\d{2}))?)?$")
# Excel's day numbers (days since 1899-12-30, a fraction for the time): 20000 to 80000 is 1954 to 2119,
# which keeps them apart from years and from compact dates such as 20261204.
_SERIAL = re.compile(r"^([2-7]\d{4})(\.\d+)?$")
_EXCEL_EPOCH = datetime(1899, 12, 30)  # noqa: DTZ001 - a day count, placed in the file's zone below


def moment(value: str | datetime | date, where: tzinfo) -> datetime:
    """A time as aware UTC. A time written with an offset keeps it; one without is read in ``where``
    (the file's time zone); a date alone is that day's start there. XLSX date cells and Excel's day
    numbers are read too."""
    if isinstance(value, datetime):
        local = value
    elif isinstance(value, date):
        local = datetime.combine(value, time.min)
    else:
        local = _read_time(unicodedata.normalize("NFKC", value).strip())
    if local.tzinfo is None:
        local = local.replace(tzinfo=where)
    try:
        return plausible_utc(local)
    except ValueError as error:
        raise Invalid(f"'{value}' {error}") from None


def _read_time(written: str) -> datetime:
    serial = _SERIAL.match(written)
    if serial:
        return _EXCEL_EPOCH + timedelta(days=float(written))
    try:
        return datetime.fromisoformat(written)
    except ValueError:
        pass
    plain = _FRACTION.sub(r"\1", written)
    offset: timedelta | None = None
    trailing = _TRAILING_OFFSET.match(plain)
    if trailing:
        plain = trailing.group(1)
        sign, hours, minutes = trailing.group(2, 3, 4)
        offset = timedelta(hours=int(hours), minutes=int(minutes)) if sign else timedelta(0)
        if sign == "-":
            offset = -offset
    local = _slashed_day(written, plain) or _by_layout(plain)
    if local is None:
        raise Invalid(
            f"'{written}' is not a date and time such as 2026-12-04 13:05 or 2026-12-04T13:05+08:00"
        )
    if offset is not None:
        if abs(offset) >= timedelta(hours=24):
            raise Invalid(f"'{written}' has an offset of a day or more")
        local = local.replace(tzinfo=timezone(offset))
    return local


def _by_layout(plain: str) -> datetime | None:
    for layout in _LAYOUTS:
        try:
            return datetime.strptime(plain, layout)  # noqa: DTZ007 - placed in the file's zone by the caller
        except ValueError:
            continue
    return None


def _slashed_day(written: str, plain: str) -> datetime | None:
    """Day and month before the year (``04/12/2026 13:05``): read only when one of them cannot be a
    month, since Europe writes the day first and the United States the month."""
    match = _SLASHED.match(plain)
    if match is None:
        return None
    first, second, year = (int(part) for part in match.group(1, 2, 3))
    if first > 12 >= second:
        day, month = first, second
    elif second > 12 >= first:
        day, month = second, first
    elif first == second:
        day = month = first
    else:
        raise Invalid(
            f"'{written}' could be day {first} of month {second} or day {second} of month {first}: "
            "write dates year first, such as 2026-12-04"
        )
    hour, minute, second_ = (int(part or 0) for part in match.group(4, 5, 6))
    try:
        return datetime(year, month, day, hour, minute, second_)  # noqa: DTZ001 - placed in the file's zone
    except ValueError:
        raise Invalid(f"'{written}' is not a date in the calendar") from None


# --- money and quantities ----------------------------------------------------------------------------

# Written before or after an amount for its currency besides the symbols (Unicode's Sc category) and the
# ISO code itself: US$ 12, RM 12, 12 元, 12 RMB.
_CURRENCY_WORDS: dict[str, str] = {
    "US": "USD", "HK": "HKD", "NT": "TWD", "S": "SGD", "A": "AUD", "AU": "AUD", "C": "CAD", "CA": "CAD",
    "NZ": "NZD", "RM": "MYR", "RP": "IDR", "R": "BRL", "RMB": "CNY", "元": "CNY", "人民币": "CNY",
    "円": "JPY", "圓": "TWD", "港币": "HKD", "美元": "USD",
}  # fmt: skip
# Symbols only one currency uses ($, ¥ and £ are several countries').
_SYMBOLS = {"€": "EUR", "₩": "KRW", "₹": "INR", "฿": "THB", "₫": "VND", "₱": "PHP", "₽": "RUB", "₺": "TRY"}
_PLAIN_AMOUNT = re.compile(r"([0-9]{1,15})(?:\.([0-9]+))?\Z")
_AMOUNT = re.compile(r"^(?P<before>\D*?)(?P<number>[-+]?[.,]?\d[\d,.' ]*)(?P<after>\D*)$")


def money(value: str, currency: str) -> int:
    """An amount as integer minor units of ``currency`` (ISO 4217), from the ways spreadsheets and
    platforms write it: ``1,234.50``, ``1.234,50``, ``$12``, ``12.00 USD``, ``¥1,200``, ``(5.00)``.
    An amount finer than the currency's minor unit (``12.345`` USD) is refused, never rounded."""
    if not is_currency(currency):
        raise Invalid(f"'{currency}' is not an ISO 4217 currency code such as USD or CNY")
    plain = _PLAIN_AMOUNT.match(value)
    if plain is not None:  # most cells: digits and at most the currency's decimals after a point
        whole, fraction = plain.group(1, 2)
        exponent = _exponent(currency)
        if fraction is None or len(fraction) <= exponent:
            return int(whole + (fraction or "").ljust(exponent, "0"))
    return _written_money(value, currency)


def _written_money(value: str, currency: str) -> int:
    """``money`` of any way of writing an amount (a known currency)."""
    written = unicodedata.normalize("NFKC", value).strip()
    negative = written.startswith("(") and written.endswith(")")
    if negative:
        written = written[1:-1]
    match = _AMOUNT.match(written)
    if match is None:
        raise Invalid(f"'{value.strip()}' is not an amount such as 12.50")
    before, number = match["before"], match["number"].strip().replace(" ", "").replace("'", "")
    if before.lstrip().startswith("-") or number.startswith("-"):  # -$5 and $-5
        negative = not negative
    for word in (before.lstrip().lstrip("-+"), match["after"]):
        named = _currency_named(word)
        if named is not None and named != currency:
            raise Invalid(f"'{value.strip()}' is an amount in {named}, not {currency}")
    number = number.lstrip("-+")
    exponent = _exponent(currency)
    try:
        amount = Decimal(_decimal_point(number, exponent))
    except InvalidOperation:
        raise Invalid(f"'{value.strip()}' is not an amount such as 12.50") from None
    units = amount.scaleb(exponent)
    if units != units.to_integral_value():
        raise Invalid(f"'{value.strip()}' has more decimals than {currency} has ({exponent})")
    return -int(units) if negative else int(units)


_exponent = cache(minor_unit_exponent)


def _currency_named(word: str) -> str | None:
    """The currency a word beside an amount names, None when it names none (nothing, or a symbol that
    several currencies use, such as $ or ¥); an unknown word is refused."""
    letters = "".join(char for char in word if not char.isspace())
    symbols = {_SYMBOLS[char] for char in letters if char in _SYMBOLS}
    letters = "".join(char for char in letters if unicodedata.category(char) != "Sc")
    if not letters:
        return symbols.pop() if len(symbols) == 1 else None
    upper = letters.upper()
    if is_currency(upper):
        return upper
    named = _CURRENCY_WORDS.get(upper)
    if named is None:
        raise Invalid(f"'{word.strip()}' beside an amount is not a currency")
    return named


# The whole part of an amount: plain digits, or digits in groups of three (1,234,567 or 1.234.567).
_GROUPED = re.compile(r"^\d*$|^\d{1,3}(?:,\d{3})+$|^\d{1,3}(?:\.\d{3})+$")


def _decimal_point(number: str, exponent: int) -> str:
    """``number`` with its thousands separators dropped and a ``.`` for its decimal mark. The last of
    two different marks is the decimal one; a lone comma is one too unless three digits follow it in
    a currency without three decimals (``1,200`` yen, ``1,234`` dollars)."""
    comma, dot = number.rfind(","), number.rfind(".")
    if comma >= 0 and dot >= 0:
        decimal_mark = "," if comma > dot else "."
    elif comma >= 0:
        lone = number.count(",") == 1
        decimal_mark = "," if lone and (len(number) - comma - 1 != 3 or exponent == 3) else ""
    elif number.count(".") > 1:
        decimal_mark = ""  # 1.234.567
    else:
        decimal_mark = "." if dot >= 0 else ""
    whole, fraction = number, ""
    if decimal_mark:
        whole, _, fraction = number.rpartition(decimal_mark)
    if not _GROUPED.match(whole):
        raise Invalid(f"'{number}' is not an amount such as 1,234.50")
    whole = whole.replace(",", "").replace(".", "")
    return f"{whole or 0}.{fraction or 0}"


_WHOLE_NUMBER = re.compile(r"^[+]?\d{1,3}(?:,\d{3})+$|^[+]?\d+(?:\.0*)?$")


def quantity(value: str, *, zero: bool = False) -> int:
    """A number of units: a whole number above zero (or zero itself where ``zero``, as in a count),
    at most inventory's limit; ``1,000`` and a spreadsheet's ``3.0`` are read."""
    # Most cells are plain digits, read at once.
    units = int(value) if value.isascii() and value.isdigit() else _written_quantity(value)
    if units > MAX_QUANTITY:
        raise Invalid(f"'{value.strip()}' is more than {MAX_QUANTITY:,} units")
    if units == 0 and not zero:
        raise Invalid("the quantity must be at least 1")
    return units


def _written_quantity(value: str) -> int:
    """The whole number ``quantity`` reads in any way of writing it, before its limits."""
    written = unicodedata.normalize("NFKC", value).strip()
    if not _WHOLE_NUMBER.match(written):
        raise Invalid(f"'{value.strip()}' is not a whole number of units")
    return int(written.removeprefix("+").replace(",", "").partition(".")[0])
