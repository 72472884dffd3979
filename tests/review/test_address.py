"""Address checks of auto-review: postal codes, phone numbers, PO boxes and empty fields."""

# ruff: noqa: RUF001 - full-width input is part of what is tested.
from __future__ import annotations

import phonenumbers
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from orderly.review.address import (
    COUNTRIES_WITHOUT_POSTAL_CODES,
    PLACEHOLDERS,
    POSTAL_CODE_EXAMPLES,
    POSTAL_CODE_FORMATS,
    is_po_box,
    missing_fields,
    normalise_postal_code,
    phone_problem,
    plain_e164,
    postal_code_problem,
    surely_valid,
)
from orderly.sandbox import OrderGenerator, default_catalog

SHIPPED_TO = ("US", "CA", "GB", "DE", "FR", "AU", "JP", "CN", "SG", "MY", "TH", "PH", "VN", "ID", "BR", "MX")

# --- postal codes ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "normalised"),
    [
        ("  sw1a   1aa ", "SW1A 1AA"),
        ("k1a\t0b1", "K1A 0B1"),
        ("94105", "94105"),
        ("〒150－0001", "150-0001"),
        ("１５０ー０００１", "150-0001"),
    ],
)
def test_normalising_strips_upper_cases_and_folds_spacing_and_full_width(code: str, normalised: str) -> None:
    assert normalise_postal_code(code) == normalised


def test_every_country_we_ship_to_has_a_format_and_every_example_fits_its_own() -> None:
    assert set(SHIPPED_TO) <= POSTAL_CODE_FORMATS.keys()
    assert POSTAL_CODE_FORMATS.keys() == POSTAL_CODE_EXAMPLES.keys()
    for country, example in POSTAL_CODE_EXAMPLES.items():
        assert postal_code_problem(country, example) is None, country


@pytest.mark.parametrize(
    ("country", "code"),
    [
        ("US", "94105"),
        ("US", "94105-1420"),
        ("US", "941051420"),
        ("US", "02139"),
        ("CA", "K1A 0B1"),
        ("CA", "k1a0b1"),
        ("CA", "M5V 3L9"),
        ("CA", "T2P 1Z9"),
        ("GB", "SW1A 1AA"),
        ("GB", "EC1V 9HQ"),
        ("GB", "M1 1AE"),
        ("GB", "m11ae"),
        ("GB", "B33 8TH"),
        ("GB", "CR2 6XH"),
        ("GB", "DN55 1PT"),
        ("GB", "W1A 0AX"),
        ("GB", "ec1v9hq"),
        ("GB", "GIR 0AA"),
        ("DE", "10115"),
        ("DE", "01067"),
        ("FR", "75001"),
        ("FR", "20000"),
        ("FR", "97400"),
        ("AU", "2000"),
        ("AU", "0800"),
        ("JP", "150-0001"),
        ("JP", "1500001"),
        ("JP", "〒150-0001"),
        ("JP", "１５０－０００１"),
        ("CN", "518000"),
        ("CN", "100020"),
        ("SG", "018956"),
        ("SG", "560123"),
        ("MY", "50450"),
        ("MY", "88000"),
        ("TH", "10110"),
        ("TH", "50200"),
        ("PH", "1000"),
        ("PH", "6000"),
        ("VN", "700000"),
        ("VN", "10000"),
        ("ID", "10110"),
        ("ID", "80361"),
        ("BR", "01310-100"),
        ("BR", "01310100"),
        ("MX", "06600"),
        ("MX", "64000"),
        ("NL", "1012 ab"),
        ("NL", "1012AB"),
        ("SE", "11151"),
        ("PT", "1100-148"),
        ("PL", "00-950"),
        ("IN", "110 001"),
        ("IE", "D02 X285"),
        ("IE", "d6w1234"),
    ],
)
def test_real_postal_codes_pass(country: str, code: str) -> None:
    assert postal_code_problem(country, code) is None


@pytest.mark.parametrize(
    ("country", "code"),
    [
        ("US", "9410"),
        ("US", "94105-14"),
        ("US", "ABCDE"),
        ("CA", "K1A 0B"),
        ("CA", "D1A 0B1"),  # D never starts a Canadian code
        ("CA", "12345"),
        ("GB", "1234"),
        ("GB", "SW1A"),  # the outward half only
        ("GB", "SW1A 1CA"),  # C is never in an inward code
        ("GB", "QW1 1AA"),
        ("DE", "1011"),
        ("DE", "101150"),
        ("DE", "00123"),
        ("FR", "7500"),
        ("FR", "750011"),
        ("FR", "ABCDE"),
        ("AU", "200"),
        ("AU", "20000"),
        ("JP", "150-001"),
        ("JP", "15-00001"),
        ("JP", "150 0001"),
        ("CN", "51800"),
        ("CN", "5180000"),
        ("SG", "56012"),
        ("SG", "5601234"),
        ("MY", "5045"),
        ("MY", "504500"),
        ("TH", "1011"),
        ("TH", "01234"),
        ("PH", "100"),
        ("PH", "10000"),
        ("VN", "7000"),
        ("VN", "7000000"),
        ("ID", "1011"),
        ("ID", "01011"),
        ("BR", "01310-10"),
        ("BR", "0131-0100"),
        ("BR", "1310100"),
        ("MX", "6600"),
        ("MX", "066000"),
        ("NL", "1012 SA"),
        ("IE", "Z12 3456"),
    ],
)
def test_malformed_postal_codes_are_named_with_an_example(country: str, code: str) -> None:
    problem = postal_code_problem(country, f" {code} ")

    assert str(problem) == (
        f"postal code '{code}' does not fit {country}'s format (e.g. {POSTAL_CODE_EXAMPLES[country]})"
    )


def test_a_malformed_code_reads_at_a_glance() -> None:
    assert (
        str(postal_code_problem("GB", "1234"))
        == "postal code '1234' does not fit GB's format (e.g. SW1A 1AA)"
    )


@pytest.mark.parametrize("code", [None, "", "   ", "n/a", "-", "N/A", "無"])
@pytest.mark.parametrize("country", ["GB", "US", "CN", "BR"])
def test_a_missing_postal_code_is_named_where_one_is_needed(country: str, code: str | None) -> None:
    assert str(postal_code_problem(country, code)) == f"postal code missing ({country} needs one)"


@pytest.mark.parametrize("code", [None, "", "n/a", "999077", "00000"])
@pytest.mark.parametrize("country", ["HK", "AE", "QA", "MO"])
def test_countries_without_postal_codes_take_anything_or_nothing(country: str, code: str | None) -> None:
    assert country in COUNTRIES_WITHOUT_POSTAL_CODES
    assert postal_code_problem(country, code) is None


def test_an_optional_eircode_may_be_missing_but_not_malformed() -> None:
    assert postal_code_problem("IE", None) is None
    assert postal_code_problem("IE", "D02 X285") is None
    assert str(postal_code_problem("IE", "12345")) == (
        "postal code '12345' does not fit IE's format (e.g. D02 X285)"
    )


@pytest.mark.parametrize("code", [None, "", "12", "whatever"])
def test_a_country_of_unknown_format_is_not_judged(code: str | None) -> None:
    assert "EG" not in POSTAL_CODE_FORMATS
    assert postal_code_problem("EG", code) is None


# --- phone numbers -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("phone", "country"),
    [
        ("+1 512-234-5678", "US"),
        ("(512) 234-5678", "US"),
        ("+1 416-234-5678", "CA"),
        ("+44 7400 123456", "GB"),
        ("07400 123456", "GB"),
        ("+49 151 12345678", "DE"),
        ("030 12345678", "DE"),
        ("+33 6 12 34 56 78", "FR"),
        ("+61 412 345 678", "AU"),
        ("0412 345 678", "AU"),
        ("+81 90-1234-5678", "JP"),
        ("090-1234-5678", "JP"),
        ("+86 138 1234 5678", "CN"),
        ("13812345678", "CN"),
        ("+65 9123 4567", "SG"),
        ("+60 12-345 6789", "MY"),
        ("+66 81 234 5678", "TH"),
        ("+63 917 123 4567", "PH"),
        ("+84 91 234 56 78", "VN"),
        ("+62 812-3456-7890", "ID"),
        ("+55 11 91234-5678", "BR"),
        ("+52 55 1234 5678", "MX"),
    ],
)
def test_valid_numbers_pass_in_national_or_international_form(phone: str, country: str) -> None:
    assert phone_problem(phone, country) is None


@pytest.mark.parametrize(
    ("phone", "country"),
    [
        ("+44 7400 12", "GB"),
        ("+1 512-111-1111", "US"),  # exchanges never start with 1
        ("12345", "DE"),
        ("+86 138 1234", "CN"),
        ("+800 1234 5678", "DE"),  # a valid number, but of no country
    ],
)
def test_invalid_numbers_are_named(phone: str, country: str) -> None:
    assert str(phone_problem(phone, country)) == f"phone '{phone}' is not a valid number for {country}"


@pytest.mark.parametrize(
    ("phone", "country", "home"),
    [
        ("+44 7400 123456", "DE", "GB"),
        ("+1 416-234-5678", "US", "CA"),
        ("+49 151 12345678", "AT", "DE"),
        ("+65 9123 4567", "MY", "SG"),
    ],
)
def test_a_number_of_another_country_says_whose_it_is(phone: str, country: str, home: str) -> None:
    assert str(phone_problem(phone, country)) == (
        f"phone '{phone}' is not a valid number for {country} (it is a {home} number)"
    )


@pytest.mark.parametrize(
    ("phone", "country"), [("abc", "GB"), ("call me", "US"), ("+", "DE"), ("電話", "JP")]
)
def test_text_that_is_no_number_at_all_is_named(phone: str, country: str) -> None:
    assert str(phone_problem(phone, country)) == f"phone '{phone}' is not a phone number"


@pytest.mark.parametrize("phone", [None, "", "   ", "n/a", "-", "なし"])
@pytest.mark.parametrize("country", ["US", "JP", "DE"])
def test_a_missing_number_is_left_to_the_missing_fields_check(phone: str | None, country: str) -> None:
    assert phone_problem(phone, country) is None


def test_a_country_the_phone_library_does_not_know_is_not_judged() -> None:
    assert phone_problem("+44 7400 123456", "ZZ") is None


# --- PO boxes ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "line",
    [
        "PO Box 12",
        "po box 12",
        "P.O. Box 1234",
        "P. O. Box 77",
        "P O Box 3",
        "PO. Box 3",
        "POBOX 12",
        "Pobox #12",
        "POB 12",
        "Post Office Box 9",
        "Post Box No. 5",
        "GPO Box 1234",
        "G.P.O. Box 2",
        "Locked Bag 3",
        "Locked Mail Bag 7",
        "Private Bag 92019",
        "PMB 123",
        "1234 Main St PMB 56",
        "Box 123",
        "Postfach 10 20 30",
        "Postbus 1234",
        "Boîte postale 45",
        "Boite Postale 45",
        "BP 123",
        "B.P. 12",
        "bp12",
        "Case postale 12",
        "Casella postale 4",
        "Casilla 123",
        "Casilla de Correo 45",
        "Apartado 123",
        "Apartado Postal 45",
        "Apartado de Correos 1010",
        "Apdo. 12",
        "Caixa Postal 123",
        "Cx. Postal 9",
        "Kotak Pos 123",
        "Peti Surat 12",
        "Peti Surat Berkunci 3",
        "Hộp thư 375",
        "Hộp thư bưu điện số 12",
        "私書箱 12号",
        "郵便私書箱第5号",
        "邮政信箱 123",
        "郵政信箱 1234",
        "北京市8888信箱",
        "信箱 123",
        "사서함 12",
        "ตู้ ปณ. 123",
        "ตู้ไปรษณีย์ 7",
    ],
)
def test_po_boxes_are_found_in_every_language_we_ship_to(line: str) -> None:
    assert is_po_box(line)


@pytest.mark.parametrize(
    "line",
    [
        "12 Box Hill Road",
        "Box Hill 12",
        "Pobox Street 4",
        "7 Boxer Lane",
        "c/o Bpost",
        "Postfachstraße 12",
        "Apt 5",
        "Apartamento 5",
        "Apartadó, Antioquia",
        "123 Post Road",
        "12 Postbox Lane",
        "Poblacion",
        "Purok 3, Poblacion",
        "BP Station, 1 Main Rd",
        "Via Po 12",
        "Bâtiment A, 2e étage",
        "Blk 123 Ang Mo Kio Avenue 3",
        "南山区科技园南路123号",
        "12栋1203室",
        "225 Hai Bà Trưng",
        "Hộp thư điện tử: an@example.vn",
    ],
)
def test_ordinary_streets_are_not_po_boxes(line: str) -> None:
    assert not is_po_box(line)


def test_any_line_may_hold_the_po_box_and_missing_lines_are_skipped() -> None:
    assert is_po_box("Acme Ltd", None, "PO Box 12")
    assert not is_po_box(None, "", "12 Oak St")
    assert not is_po_box()


# --- missing fields ----------------------------------------------------------------------------------

REQUIRED = ("name", "line1", "city", "postal_code", "country", "phone")


def _address(**changes: str | None) -> dict[str, str | None]:
    address: dict[str, str | None] = {
        "name": "Emma Smith",
        "line1": "12 Oak St",
        "line2": None,
        "city": "Austin",
        "region": "TX",
        "postal_code": "78701",
        "country": "US",
        "phone": "+1 512-234-5678",
    }
    return address | changes


def test_a_complete_address_misses_nothing() -> None:
    assert missing_fields(_address(), REQUIRED) == []


@pytest.mark.parametrize(
    "nothing", [None, "", "  ", "n/a", "N/A", " na ", "None", "-", ".", "x", "NULL", "nil"]
)
def test_empty_and_placeholder_values_are_missing(nothing: str | None) -> None:
    assert missing_fields(_address(line1=nothing, phone=nothing), REQUIRED) == ["line1", "phone"]


@pytest.mark.parametrize("nothing", ["无", "なし", "TBD", "?", "—", "keine", "tidak ada"])
def test_placeholders_in_other_languages_are_missing(nothing: str) -> None:
    assert nothing.strip().casefold() in PLACEHOLDERS
    assert missing_fields(_address(city=nothing), REQUIRED) == ["city"]


def test_missing_fields_come_in_the_order_asked_and_only_those_asked() -> None:
    address = _address(phone=None, name="", city="-", line2=None)

    assert missing_fields(address, ("phone", "city", "name")) == ["phone", "city", "name"]
    assert missing_fields(address, ("line1", "region")) == []


def test_a_field_absent_from_the_address_is_missing() -> None:
    address = {"name": "Emma Smith", "country": "US"}

    assert missing_fields(address, ("name", "line1")) == ["line1"]


def test_values_that_merely_look_short_are_not_placeholders() -> None:
    assert missing_fields(_address(line1="No. 5", city="Ely", name="Li Na"), REQUIRED) == []


@pytest.mark.parametrize("country", ["HK", "AE", "IE"])
def test_no_postal_code_is_required_where_the_country_has_none(country: str) -> None:
    address = _address(country=country, postal_code=None)

    assert missing_fields(address, REQUIRED) == []
    assert missing_fields(_address(country=country, postal_code="n/a", city=""), REQUIRED) == ["city"]


def test_a_postal_code_is_required_everywhere_else() -> None:
    assert missing_fields(_address(country="GB", postal_code=" "), REQUIRED) == ["postal_code"]


# --- the order generator -----------------------------------------------------------------------------


def test_generated_orders_have_no_address_problems() -> None:
    orders = list(OrderGenerator(2026, default_catalog()).orders(5000))
    problems = []
    for order in orders:
        address = order["shipping_address"]
        country = address["country"]
        found = [
            postal_code_problem(country, address.get("postal_code")),
            phone_problem(address.get("phone"), country),
            "PO box" if is_po_box(address.get("line1"), address.get("line2")) else None,
            *missing_fields(address, ("name", "line1", "city", "postal_code", "country")),
        ]
        problems += [(address, problem) for problem in found if problem]

    assert len({o["shipping_address"]["country"] for o in orders}) >= 8
    assert problems == []


@settings(max_examples=3000, deadline=None)
@given(
    phone=st.text(alphabet="+0123456789 -()", min_size=1, max_size=22),
    country=st.sampled_from(SHIPPED_TO),
)
def test_the_quick_phone_check_never_passes_a_number_the_library_refuses(phone: str, country: str) -> None:
    if surely_valid(phone, country):
        number = phonenumbers.parse(phone, country)
        assert phonenumbers.is_valid_number_for_region(number, country)
        # and what it writes in E.164 is what the library writes
        assert plain_e164(phone, country) == phonenumbers.format_number(
            number, phonenumbers.PhoneNumberFormat.E164
        )


def test_the_quick_phone_check_writes_every_countrys_example_numbers_as_the_library_does() -> None:
    kinds = (phonenumbers.PhoneNumberType.FIXED_LINE, phonenumbers.PhoneNumberType.MOBILE)
    formats = (phonenumbers.PhoneNumberFormat.NATIONAL, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    answered = 0
    for country in sorted(phonenumbers.SUPPORTED_REGIONS):
        for kind in kinds:
            example = phonenumbers.example_number_for_type(country, kind)
            if example is None:
                continue
            e164 = phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.E164)
            for written in (phonenumbers.format_number(example, f) for f in formats):
                quick = plain_e164(written, country)
                if quick is not None:
                    answered += 1
                    assert quick == e164, (country, written)
    assert answered > 300  # most countries' numbers take the quick way


def test_the_quick_phone_check_passes_the_generated_numbers() -> None:
    generator = OrderGenerator(5, default_catalog())
    phones = [
        (o["shipping_address"]["phone"], o["shipping_address"]["country"]) for o in generator.orders(2000)
    ]
    quick = [p for p in phones if p[0] and surely_valid(*p)]
    assert len(quick) == len([p for p in phones if p[0]])  # every valid one: the library is rarely asked
