"""Money is an integer amount of minor units plus an ISO 4217 currency code."""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache

import pycountry
from babel.numbers import get_currency_precision


@lru_cache(maxsize=512)
def is_currency(code: str) -> bool:
    return len(code) == 3 and code.isupper() and pycountry.currencies.get(alpha_3=code) is not None


@lru_cache(maxsize=512)
def minor_unit_exponent(code: str) -> int:
    """Digits after the decimal point: 2 for USD, 0 for JPY and VND, 3 for KWD."""
    return int(get_currency_precision(code))


#: Significant digits a ``decimal`` computation keeps (the default context): an amount longer than that
#: is rounded by the Decimal reading, so the plain one leaves it to that.
_DECIMAL_DIGITS = 28


def plain_minor_units(amount: object, exponent: int) -> int | None:
    """A plain decimal amount (``"199.00"``, ``"-5"``, ``12``) as integer minor units, read exactly and
    without Decimal, which is slow for a payload's every amount; None for anything else (other
    writings, an amount finer than the currency's minor unit, one of more than 28 digits): the caller's
    Decimal reading decides those, and words the refusal, as it always did."""
    if type(amount) is str:
        text = amount
    elif type(amount) is int:  # not a bool
        text = str(amount)
    else:
        return None
    whole, _, fraction = text.partition(".")
    negative = whole.startswith("-")
    digits = whole[1:] if negative else whole
    if not (digits + fraction).isascii() or not digits.isdigit() or (fraction and not fraction.isdigit()):
        return None
    significant = fraction.rstrip("0")
    if len(significant) > exponent or len(digits) + len(fraction) + exponent > _DECIMAL_DIGITS:
        return None
    units = int(digits + significant.ljust(exponent, "0"))
    return -units if negative else units


@lru_cache(maxsize=512)
def is_country(code: str) -> bool:
    return len(code) == 2 and code.isupper() and pycountry.countries.get(alpha_2=code) is not None


def display(amount: int, currency: str) -> str:
    """Minor units as people read them: ``display(1999, "USD")`` is ``19.99 USD``."""
    exponent = minor_unit_exponent(currency)
    sign, whole = ("-" if amount < 0 else ""), abs(amount)
    if not exponent:
        return f"{sign}{whole} {currency}"
    units, cents = divmod(whole, 10**exponent)
    return f"{sign}{units}.{cents:0{exponent}d} {currency}"


def to_base(amount: int, currency: str, base: str, rates: Mapping[str, float]) -> int | None:
    """``amount`` minor units of ``currency`` in minor units of ``base``, at ``rates`` (units of the base
    one unit of each currency is worth); None when the currency has no rate."""
    if currency == base:
        return amount
    rate = rates.get(currency)
    if rate is None:
        return None
    shift = minor_unit_exponent(base) - minor_unit_exponent(currency)
    return round(amount * rate * 10.0**shift)
