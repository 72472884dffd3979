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
