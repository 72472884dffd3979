"""Money is an integer amount of minor units plus an ISO 4217 currency code."""

from __future__ import annotations

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
