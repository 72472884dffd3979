"""Cells of imported files cleaned into the hub's values, or refused with a reason a person can act on."""

# ruff: noqa: RUF001 - full-width characters are written as people type them.
from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from orderly.imports import cleaning
from orderly.imports.cleaning import Invalid
from orderly.inventory.domain import MAX_QUANTITY

SHANGHAI = ZoneInfo("Asia/Shanghai")


def test_text_drops_surrounding_spaces_and_invisible_marks() -> None:
    assert cleaning.text("\ufeff  SKU-1\u00a0\u3000") == "SKU-1"
    assert cleaning.text(" a  b ") == "a  b"
    assert cleaning.text(" \u200b ") is None


@pytest.mark.parametrize(
    ("written", "code"),
    [
        ("DE", "DE"), ("de", "DE"), ("DEU", "DE"), ("Germany", "DE"), ("germany ", "DE"), ("德国", "DE"),
        ("德國", "DE"), ("Deutschland", "DE"), ("Allemagne", "DE"), ("United States", "US"), ("USA", "US"),
        ("U.S.A.", "US"), ("美国", "US"), ("UK", "GB"), ("United Kingdom", "GB"), ("英国", "GB"),
        ("the Netherlands", "NL"), ("Holland", "NL"), ("香港", "HK"), ("中国香港特别行政区", "HK"),
        ("台湾", "TW"), ("Taiwan", "TW"), ("South Korea", "KR"), ("韩国", "KR"), ("Korea, Republic of", "KR"),
        ("Viet Nam", "VN"), ("Vietnam", "VN"), ("中国", "CN"), ("中国大陆", "CN"), ("日本", "JP"),
        ("Ｊａｐａｎ", "JP"),
    ],
)  # fmt: skip
def test_countries_are_read_from_codes_and_names_in_english_and_chinese(written: str, code: str) -> None:
    assert cleaning.country(written) == code


def test_an_unknown_country_is_refused_naming_the_value() -> None:
    with pytest.raises(Invalid, match="'Atlantis' is not a country"):
        cleaning.country(" Atlantis ")


@pytest.mark.parametrize(
    ("written", "country", "e164"),
    [
        ("138 0013 8000", "CN", "+8613800138000"),
        ("+86 138-0013-8000", "CN", "+8613800138000"),
        ("(415) 555-2671", "US", "+14155552671"),
        ("+1 415 555 2671", None, "+14155552671"),
        ("030 123456", "DE", "+4930123456"),
        ("+44 20 7946 0958", "DE", "+442079460958"),  # its own calling code wins over the country
    ],
)
def test_phones_become_e164(written: str, country: str | None, e164: str) -> None:
    assert cleaning.phone(written, country) == e164


@pytest.mark.parametrize(
    ("written", "country", "reason"),
    [
        ("12", "CN", "too few or too many digits"),
        ("call me", "CN", "not a phone number of CN"),
        ("415 555 2671", None, "give its calling code"),
    ],
)
def test_phones_that_are_not_numbers_are_refused(written: str, country: str | None, reason: str) -> None:
    with pytest.raises(Invalid, match=reason):
        cleaning.phone(written, country)


@pytest.mark.parametrize(
    ("written", "country", "code"),
    [
        ("2134", "US", "02134"),  # a spreadsheet took it for a number
        ("941051234", "US", "94105-1234"),
        ("94105 1234", "US", "94105-1234"),
        ("sw1a1aa", "GB", "SW1A 1AA"),
        (" SW1A  1AA ", "GB", "SW1A 1AA"),
        ("k1a0b1", "CA", "K1A 0B1"),
        ("1500001", "JP", "150-0001"),
        ("〒150－0001", "JP", "150-0001"),
        ("１５０-０００１", "JP", "150-0001"),
        ("1012ab", "NL", "1012 AB"),
        ("01310100", "BR", "01310-100"),
        ("00950", "PL", "00-950"),
        ("11151", "SE", "111 51"),
        ("d02x285", "IE", "D02 X285"),
        ("518000", "CN", "518000"),
        ("1010", "DE", "01010"),
        (" ab-12 ", "ZZ", "AB-12"),  # no rule known: only tidied
    ],
)
def test_postal_codes_are_written_the_way_their_country_writes_them(
    written: str, country: str, code: str
) -> None:
    assert cleaning.postal_code(written, country) == code


def test_a_postal_code_that_fits_no_format_of_its_country_is_refused_with_an_example() -> None:
    with pytest.raises(Invalid, match=r"'ABC' is not a postal code of US \(e.g. 94105\)"):
        cleaning.postal_code("ABC", "US")
    with pytest.raises(Invalid, match="empty"):
        cleaning.postal_code("  ", "ZZ")


def _utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[misc]


@pytest.mark.parametrize(
    ("written", "moment"),
    [
        ("2026/12/04 13:05", _utc(2026, 12, 4, 5, 5)),
        ("2026-12-04 13:05:30", _utc(2026, 12, 4, 5, 5, 30)),
        ("2026-12-04T13:05:00+08:00", _utc(2026, 12, 4, 5, 5)),
        ("2026-12-04T13:05:00-05:00", _utc(2026, 12, 4, 18, 5)),
        ("2026-12-04T05:05:00Z", _utc(2026, 12, 4, 5, 5)),
        ("2026-12-04 13:05:00 +0800", _utc(2026, 12, 4, 5, 5)),  # Shopify's exports
        ("2026-12-04 05:05:00 UTC", _utc(2026, 12, 4, 5, 5)),
        ("2026-12-04 13:05:00.250", _utc(2026, 12, 4, 5, 5, 0, 250000)),
        ("2026-12-04", _utc(2026, 12, 3, 16)),
        ("20261204", _utc(2026, 12, 3, 16)),
        ("2026.12.04 13:05", _utc(2026, 12, 4, 5, 5)),
        ("2026年12月4日 13:05", _utc(2026, 12, 4, 5, 5)),
        ("25/12/2026", _utc(2026, 12, 24, 16)),
        ("12/25/2026 08:00", _utc(2026, 12, 25, 0)),
        ("Dec 4, 2026 1:05 PM", _utc(2026, 12, 4, 5, 5)),
        ("4 Dec 2026 13:05", _utc(2026, 12, 4, 5, 5)),
        ("46360.5", _utc(2026, 12, 4, 4)),  # Excel's day number, noon in the file's zone
        ("46360", _utc(2026, 12, 3, 16)),
    ],
)
def test_times_in_many_layouts_become_aware_utc(written: str, moment: datetime) -> None:
    assert cleaning.moment(written, SHANGHAI) == moment


def test_xlsx_date_cells_are_read_in_the_files_zone_unless_they_carry_one() -> None:
    assert cleaning.moment(datetime(2026, 12, 4, 13, 5), SHANGHAI) == _utc(2026, 12, 4, 5, 5)
    assert cleaning.moment(date(2026, 12, 4), SHANGHAI) == _utc(2026, 12, 3, 16)
    assert cleaning.moment(_utc(2026, 12, 4, 5, 5), SHANGHAI) == _utc(2026, 12, 4, 5, 5)


def test_a_time_on_the_day_clocks_go_forward_is_still_read() -> None:
    assert cleaning.moment("2026-03-29 02:30", ZoneInfo("Europe/Berlin")).tzinfo is UTC


@pytest.mark.parametrize(
    ("written", "reason"),
    [
        ("04/12/2026", "could be day 4 of month 12 or day 12 of month 4"),
        ("31/02/2026", "not a date in the calendar"),
        ("yesterday", "not a date and time such as"),
        ("2026-12-04 13:05 +2500", "an offset of a day or more"),
        ("1850-01-01", "between 1970 and 2999"),
    ],
)
def test_times_that_cannot_be_read_surely_are_refused(written: str, reason: str) -> None:
    with pytest.raises(Invalid, match=reason):
        cleaning.moment(written, SHANGHAI)


@given(st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2998, 1, 1), timezones=st.just(UTC)))
def test_an_iso_time_with_its_offset_is_read_back_as_itself(moment: datetime) -> None:
    shifted = moment.astimezone(ZoneInfo("America/New_York"))
    assert cleaning.moment(shifted.isoformat(), SHANGHAI) == moment
    assert cleaning.moment(shifted.isoformat(sep=" "), SHANGHAI) == moment


@given(st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2998, 1, 1)))
def test_a_time_without_offset_is_read_in_the_files_zone(local: datetime) -> None:
    local = local.replace(microsecond=0)
    expected = local.replace(tzinfo=SHANGHAI).astimezone(UTC)
    assert cleaning.moment(local.strftime("%Y/%m/%d %H:%M:%S"), SHANGHAI) == expected
    assert cleaning.moment(local.strftime("%Y-%m-%d %H:%M:%S"), SHANGHAI) == expected


def test_excel_day_numbers_count_from_the_end_of_1899() -> None:
    assert cleaning.moment("45658", ZoneInfo("UTC")) == _utc(2025, 1, 1)
    assert cleaning.moment("45658.75", ZoneInfo("UTC")) == _utc(2025, 1, 1) + timedelta(hours=18)


@pytest.mark.parametrize(
    ("written", "currency", "units"),
    [
        ("12", "USD", 1200), ("12.5", "USD", 1250), ("1,234.50", "USD", 123450), ("1.234,50", "EUR", 123450),
        ("1 234,56", "EUR", 123456), ("1\u00a0234,56 €", "EUR", 123456), ("12,5", "EUR", 1250),
        ("1,234", "USD", 123400), ("1,234", "KWD", 1234), ("1,234,567.89", "USD", 123456789),
        ("1.234.567", "EUR", 123456700), ("$12", "USD", 1200), ("$12", "AUD", 1200), ("US$ 3.10", "USD", 310),
        ("12.00 USD", "USD", 1200), ("USD 12", "USD", 1200), ("¥1,200", "JPY", 1200), ("￥99.9", "CNY", 9990),
        ("12 元", "CNY", 1200), ("RMB 12", "CNY", 1200), ("(5.00)", "USD", -500), ("-$5", "USD", -500),
        ("$-5", "USD", -500), ("-5", "USD", -500), (".5", "USD", 50), ("0", "JPY", 0),
        ("1'234.50", "CHF", 123450), ("１２.５０", "USD", 1250),
    ],
)  # fmt: skip
def test_amounts_become_minor_units_of_their_currency(written: str, currency: str, units: int) -> None:
    assert cleaning.money(written, currency) == units


@pytest.mark.parametrize(
    ("written", "currency", "reason"),
    [
        ("12.345", "USD", r"more decimals than USD has \(2\)"),
        ("12.5", "JPY", r"more decimals than JPY has \(0\)"),
        ("12 EUR", "USD", "an amount in EUR, not USD"),
        ("€12", "USD", "an amount in EUR, not USD"),
        ("12 apples", "USD", "not a currency"),
        ("abc", "USD", "not an amount"),
        ("", "USD", "not an amount"),
        ("1.5.5", "USD", "not an amount"),
        ("1,23,4", "USD", "not an amount"),
        ("12", "XYZ", "not an ISO 4217 currency"),
    ],
)
def test_amounts_that_are_not_exactly_an_amount_of_the_currency_are_refused(
    written: str, currency: str, reason: str
) -> None:
    with pytest.raises(Invalid, match=reason):
        cleaning.money(written, currency)


@given(st.integers(min_value=-(10**15), max_value=10**15), st.sampled_from(["USD", "JPY", "KWD", "EUR"]))
def test_an_amount_written_with_thousands_separators_reads_back_exactly(units: int, currency: str) -> None:
    exponent = {"USD": 2, "JPY": 0, "KWD": 3, "EUR": 2}[currency]
    whole, fraction = divmod(abs(units), 10**exponent)
    sign = "-" if units < 0 else ""
    decimals = f".{fraction:0{exponent}d}" if exponent else ""
    assert cleaning.money(f"{sign}{whole:,}{decimals}", currency) == units
    assert cleaning.money(f"{sign}{whole}{decimals}", currency) == units
    german = f"{whole:,}".replace(",", ".") + decimals.replace(".", ",")
    if exponent:  # "1.234" alone would be read as a decimal point
        assert cleaning.money(f"{sign}{german}", currency) == units


@pytest.mark.parametrize(
    ("written", "units"), [("3", 3), (" 3 ", 3), ("3.0", 3), ("1,000", 1000), ("+2", 2), ("３", 3)]
)
def test_quantities_are_whole_numbers_of_units(written: str, units: int) -> None:
    assert cleaning.quantity(written) == units


def test_a_count_may_be_zero_but_a_quantity_may_not() -> None:
    assert cleaning.quantity("0", zero=True) == 0
    with pytest.raises(Invalid, match="at least 1"):
        cleaning.quantity("0")


@pytest.mark.parametrize("written", ["2.5", "-1", "three", "", "1e3", "1,00"])
def test_quantities_that_are_not_whole_numbers_are_refused(written: str) -> None:
    with pytest.raises(Invalid, match="not a whole number of units"):
        cleaning.quantity(written)


def test_a_quantity_past_what_a_warehouse_holds_is_refused() -> None:
    assert cleaning.quantity(str(MAX_QUANTITY)) == MAX_QUANTITY
    with pytest.raises(Invalid, match="more than 1,000,000,000 units"):
        cleaning.quantity(str(MAX_QUANTITY + 1))


@given(st.integers(min_value=1, max_value=MAX_QUANTITY))
def test_any_quantity_reads_back_written_plainly_or_grouped(units: int) -> None:
    assert cleaning.quantity(str(units)) == units
    assert cleaning.quantity(f"{units:,}") == units


def _answer(read: Callable[[], object]) -> object:
    try:
        return read()
    except Invalid as exc:
        return ("refused", str(exc))


@given(
    st.from_regex(r"\A[0-9]{0,17}(\.[0-9]{0,4})?\Z", fullmatch=True),
    st.sampled_from(["USD", "JPY", "KWD", "CNY"]),
)
def test_a_plain_amount_reads_as_any_written_amount_does(written: str, currency: str) -> None:
    # The quick path for digits and a point must give what the full reading gives, or refuse alike.
    assert _answer(lambda: cleaning.money(written, currency)) == _answer(
        lambda: cleaning._written_money(written, currency)
    )


@pytest.mark.parametrize(
    ("written", "currency", "units"),
    [("1234.5", "USD", 123450), ("007.50", "USD", 750), ("12.340", "USD", 1234), ("12.3", "KWD", 12300)],
)
def test_plain_amounts_with_fewer_or_more_zero_decimals_are_read(
    written: str, currency: str, units: int
) -> None:
    assert cleaning.money(written, currency) == units


@given(st.from_regex(r"\A[0-9]{0,8}\Z", fullmatch=True), st.booleans())
def test_a_plain_quantity_reads_as_any_written_quantity_does(written: str, zero: bool) -> None:
    def slow() -> int:
        units = cleaning._written_quantity(written)
        if units > MAX_QUANTITY:
            raise Invalid(f"'{written}' is more than {MAX_QUANTITY:,} units")
        if units == 0 and not zero:
            raise Invalid("the quantity must be at least 1")
        return units

    assert _answer(lambda: cleaning.quantity(written, zero=zero)) == _answer(slow)


def test_a_phone_read_again_gives_the_same_answer_and_the_same_refusal() -> None:
    for _ in range(2):
        assert cleaning.phone("138 0013 8000", "CN") == "+8613800138000"
        with pytest.raises(Invalid, match="not a phone number of CN"):
            cleaning.phone("call me", "CN")
