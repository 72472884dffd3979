"""Plain amounts read as minor units without Decimal, exactly as the Decimal reading reads them."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from orderly.core.money import plain_minor_units


def _by_decimal(amount: object, exponent: int) -> int | None:
    """What the mappers' Decimal reading makes of it (None: not a whole number of minor units)."""
    scaled = Decimal(str(amount)).scaleb(exponent)
    return int(scaled) if scaled == scaled.to_integral_value() else None


@pytest.mark.parametrize(
    ("amount", "exponent", "units"),
    [("199.00", 2, 19900), ("-5", 2, -500), (12, 0, 12), ("0.5", 3, 500), ("10.", 2, 1000), ("07.1", 2, 710)],
)
def test_plain_amounts_in_minor_units(amount: object, exponent: int, units: int) -> None:
    assert plain_minor_units(amount, exponent) == units


@pytest.mark.parametrize(
    "amount",
    ["25.999", " 1.5", "+1.5", "1_000", "1e2", ".5", "", "-", "1.2.", "NaN", "١٢", True, 1.5, None, "9" * 27],
)
def test_any_other_writing_is_left_to_the_decimal_reading(amount: object) -> None:
    assert plain_minor_units(amount, 2) is None


@given(
    st.from_regex(r"-?[0-9]{1,18}(\.[0-9]{0,6})?", fullmatch=True) | st.integers(-(10**20), 10**20),
    st.integers(0, 4),
)
def test_the_same_figure_as_the_decimal_reading(amount: object, exponent: int) -> None:
    plain = plain_minor_units(amount, exponent)
    assert plain is None or plain == _by_decimal(amount, exponent)
    if plain is None and isinstance(amount, str):
        assert _by_decimal(amount, exponent) is None  # only finer than the currency is left over
