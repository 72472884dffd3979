"""A backfill window at the calendar's edges is refused as a bad value (422), not a crash (500)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from orderly.channels.schemas import BackfillIn


@pytest.mark.parametrize(
    "window",
    [
        {"since": "0001-01-01T00:00:01.0+01:00"},  # before the calendar once in UTC
        {"since": "0001-01-01"},  # its first moment anywhere (UTC+14) is before the calendar
        {"since": "2025-01-01", "until": "9999-12-31"},  # its end is the day after the calendar's last
        {"since": "2025-01-01", "until": "9999-12-31T23:59:59-01:00"},
    ],
)
def test_a_window_past_the_calendar_is_a_validation_error(window: dict[str, str]) -> None:
    with pytest.raises(ValidationError, match="out of range"):
        BackfillIn.model_validate(window)


def test_a_window_inside_the_calendar_is_taken() -> None:
    window = BackfillIn.model_validate({"since": "0001-01-02", "until": "9999-12-30"})
    assert window.since.year == 1 and window.until is not None and window.until.year == 9999
