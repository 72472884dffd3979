"""Address checks of auto-review: postal code formats, phone numbers, PO boxes and empty fields.

Pure and on the review hot path (tens of thousands of orders a second on one core): every pattern is
compiled at import, the common case of a well-formed value returns before anything is allocated, and
phone numbers, slow to parse, are judged once per (number, country).
"""

# ruff: noqa: RUF001 - placeholders and PO box words are matched as buyers type them, full-width too.
from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from functools import cache, lru_cache

import phonenumbers

from orderly.core.phrases import Phrase

# (pattern, an example that fits it) per ISO 3166-1 alpha-2 country, for normalised codes.
_POSTAL_CODES: dict[str, tuple[str, str]] = {
    "US": (r"\d{5}(?:[- ]?\d{4})?", "94105"),
    "CA": (r"[ABCEGHJ-NPRSTVXY]\d[ABCEGHJ-NPRSTV-Z] ?\d[ABCEGHJ-NPRSTV-Z]\d", "K1A 0B1"),
    # Outward code A9, A99, A9A, AA9, AA99 or AA9A, then the inward code; GIR 0AA is Girobank's.
    "GB": (
        r"(?:[A-PR-UWYZ](?:\d[\dA-HJKPSTUW]?|[A-HK-Y]\d[\dABEHMNPRV-Y]?) ?\d[ABD-HJLNP-UW-Z]{2}|GIR ?0AA)",
        "SW1A 1AA",
    ),
    "DE": (r"(?:0[1-9]|[1-9]\d)\d{3}", "10115"),
    "FR": (r"\d{5}", "75001"),
    "AU": (r"\d{4}", "2000"),
    "JP": (r"\d{3}-?\d{4}", "150-0001"),
    "CN": (r"\d{6}", "518000"),
    "SG": (r"\d{6}", "018956"),
    "MY": (r"\d{5}", "50450"),
    "TH": (r"[1-9]\d{4}", "10110"),
    "PH": (r"\d{4}", "1000"),
    # Six digits until 2017, five since; both are still written on parcels.
    "VN": (r"\d{5,6}", "700000"),
    "ID": (r"[1-9]\d{4}", "10110"),
    "BR": (r"\d{5}-?\d{3}", "01310-100"),
    "MX": (r"\d{5}", "06600"),
    "NZ": (r"\d{4}", "6011"),
    "KR": (r"\d{5}", "03187"),
    "TW": (r"\d{3}(?:\d{2,3})?", "10058"),
    "IN": (r"[1-9]\d{2} ?\d{3}", "110001"),
    "NL": (r"[1-9]\d{3} ?(?!SA|SD|SS)[A-Z]{2}", "1012 AB"),
    "BE": (r"[1-9]\d{3}", "1000"),
    "AT": (r"[1-9]\d{3}", "1010"),
    "CH": (r"[1-9]\d{3}", "8001"),
    "DK": (r"\d{4}", "1050"),
    "NO": (r"\d{4}", "0150"),
    "SE": (r"\d{3} ?\d{2}", "111 51"),
    "FI": (r"\d{5}", "00100"),
    "IT": (r"\d{5}", "00184"),
    "ES": (r"(?:0[1-9]|[1-4]\d|5[0-2])\d{3}", "28013"),
    "PT": (r"\d{4}-\d{3}", "1100-148"),
    "PL": (r"\d{2}-\d{3}", "00-950"),
    "CZ": (r"\d{3} ?\d{2}", "110 00"),
    "RU": (r"\d{6}", "101000"),
    # Eircodes are optional (IE is also below), but one that is given must be well-formed.
    "IE": (r"(?:[AC-FHKNPRTV-Y]\d{2}|D6W) ?[\dAC-FHKNPRTV-Y]{4}", "D02 X285"),
}

# ASCII digits only: other scripts' digits are folded to ASCII by normalisation first.
POSTAL_CODE_FORMATS: dict[str, re.Pattern[str]] = {
    country: re.compile(pattern, re.ASCII) for country, (pattern, _) in _POSTAL_CODES.items()
}
POSTAL_CODE_EXAMPLES: dict[str, str] = {country: example for country, (_, example) in _POSTAL_CODES.items()}

# No postal code system, or one nobody writes on a parcel; Ireland's Eircode is optional.
COUNTRIES_WITHOUT_POSTAL_CODES: frozenset[str] = frozenset(
    (
        "AE", "AG", "AO", "AW", "BF", "BI", "BJ", "BO", "BS", "BW", "BZ", "CD", "CF", "CG", "CI", "CK",
        "CM", "DJ", "DM", "ER", "FJ", "GA", "GD", "GH", "GM", "GQ", "GY", "HK", "IE", "JM", "KI", "KM",
        "KN", "KP", "LC", "ML", "MO", "MR", "MW", "NR", "NU", "QA", "RW", "SB", "SC", "SL", "SR", "ST",
        "SY", "TD", "TG", "TK", "TL", "TO", "TV", "UG", "VU", "YE", "ZW",
    )
)  # fmt: skip

# Dashes buyers type in Japanese and Chinese input modes that NFKC leaves alone.
_DASHES = str.maketrans(dict.fromkeys("‐‑‒–—―−ー", "-"))


def normalise_postal_code(code: str) -> str:
    """Stripped, upper-case, one space between parts; full-width characters and a 〒 mark folded."""
    if not code.isascii():
        code = unicodedata.normalize("NFKC", code).translate(_DASHES).lstrip("〒")
    return " ".join(code.split()).upper()


PLACEHOLDERS: frozenset[str] = frozenset(
    value.casefold()
    for value in (
        "n/a", "n.a.", "n.a", "na", "n/d", "none", "null", "nil", "undefined", "unknown", "not applicable",
        "no aplica", "tbd", "tba", "-", "--", "---", "—", "–", "－", "-/-", ".", "..", "...", "x", "xx",
        "xxx", "?", "??", "???", "？", "0", "keine", "aucun", "aucune", "ninguno", "nenhum",
        "tidak ada", "không có", "ไม่มี", "无", "無", "没有", "なし", "無し", "없음",
    )
)  # fmt: skip
# Longer values cannot be placeholders, so most real values are rejected without casefolding.
_LONGEST_PLACEHOLDER = max(map(len, PLACEHOLDERS))


def _is_blank(value: str | None) -> bool:
    if value is None:
        return True
    value = value.strip()
    return not value or (len(value) <= _LONGEST_PLACEHOLDER and value.casefold() in PLACEHOLDERS)


def postal_code_problem(country: str, code: str | None) -> Phrase | None:
    """What is wrong with ``code`` as a postal code of ``country``, or None when nothing (or when
    the country's format is unknown and it cannot be judged)."""
    pattern = POSTAL_CODE_FORMATS.get(country)
    if pattern is None:
        return None
    # Most codes arrive already normalised: they pass without building a new string.
    if code is not None and pattern.fullmatch(code):
        return None
    if code is None or _is_blank(code):
        if country in COUNTRIES_WITHOUT_POSTAL_CODES:
            return None
        return Phrase("postal code missing (%(country)s needs one)", country=country)
    if pattern.fullmatch(normalise_postal_code(code)):
        return None
    example = POSTAL_CODE_EXAMPLES[country]
    return Phrase(
        "postal code '%(code)s' does not fit %(country)s's format (e.g. %(example)s)",
        code=code.strip(),
        country=country,
        example=example,
    )


def phone_problem(phone: str | None, country: str) -> Phrase | None:
    """What is wrong with ``phone`` as a number in ``country``; None when it is fine, when it is
    missing (a separate check) or when the library does not know the country."""
    if not phone:
        return None
    return _judge_phone(phone, country)


_NOT_DIGIT = re.compile(r"\D+")
# Digits in the usual groupings, with at most a leading "+"; anything else goes to the library.
_PLAIN_PHONE = re.compile(r"\s*\+?\s*\(?\d[\d\s().-]*\Z")


@cache
def _shapes(
    country: str,
) -> tuple[str, str | None, re.Pattern[str], tuple[tuple[re.Pattern[str], tuple[int, ...]], ...]]:
    """The library's own metadata for ``country``: its calling code, national prefix, the pattern of
    all its numbers and those of fixed-line and mobile numbers with their lengths."""
    meta = phonenumbers.PhoneMetadata.metadata_for_region(country)
    assert meta is not None and meta.general_desc is not None
    kinds = tuple(
        (re.compile(desc.national_number_pattern), tuple(desc.possible_length or ()))
        for desc in (meta.fixed_line, meta.mobile)
        if desc is not None and desc.national_number_pattern
    )
    general = re.compile(meta.general_desc.national_number_pattern or "(?!)")
    return str(meta.country_code), meta.national_prefix, general, kinds


def surely_valid(phone: str, country: str) -> bool:
    """A quick yes for the common case, read off the library's metadata: a plain fixed-line or mobile
    number of ``country``, written nationally or with its calling code. False means "ask the library"
    (full parsing costs about 17 µs, a third of the time an order's review may take)."""
    return plain_e164(phone, country) is not None


def plain_e164(phone: str, country: str) -> str | None:
    """``phone`` in E.164 when ``surely_valid`` says yes to it (the calling code and the national
    number it read), else None: the number is the library's to read."""
    if not _PLAIN_PHONE.match(phone):
        return None
    code, prefix, general, kinds = _shapes(country)
    digits = _NOT_DIGIT.sub("", phone)
    if phone.lstrip().startswith("+"):
        if not digits.startswith(code):
            return None
        national = digits[len(code) :]
    elif prefix and digits.startswith(prefix):
        national = digits[len(prefix) :]
    else:
        national = digits
    if not general.fullmatch(national):
        return None
    # The length first: it rules a kind out without running its long pattern.
    if any(len(national) in lengths and pattern.fullmatch(national) for pattern, lengths in kinds):
        return f"+{code}{national}"
    return None


@lru_cache(maxsize=65536)
def _judge_phone(phone: str, country: str) -> Phrase | None:
    if _is_blank(phone) or country not in phonenumbers.SUPPORTED_REGIONS or surely_valid(phone, country):
        return None
    try:
        number = phonenumbers.parse(phone, country)
    except phonenumbers.NumberParseException:
        return Phrase("phone '%(phone)s' is not a phone number", phone=phone.strip())
    if phonenumbers.is_valid_number_for_region(number, country):
        return None
    if phonenumbers.is_valid_number(number):
        region = phonenumbers.region_code_for_number(number)
        if region in phonenumbers.SUPPORTED_REGIONS:  # not "001", the non-geographic numbers
            return Phrase(
                "phone '%(phone)s' is not a valid number for %(country)s (it is a %(region)s number)",
                phone=phone.strip(),
                country=country,
                region=region,
            )
    return Phrase(
        "phone '%(phone)s' is not a valid number for %(country)s", phone=phone.strip(), country=country
    )


# One scan per line for every language we ship to. Words that are also street or place names
# (Box Hill, Bpost, Postfachstraße, Poblacion, Apartadó) are kept out by word boundaries or by
# requiring the box number that follows a PO box.
_PO_BOX = re.compile(
    r"""
    \b(?:
        P(?:\.\s*|\s+)O\.?\s*Box        # P.O. Box, P O Box, P. O. Box
      | PO(?:\.\s*|\s+)Box              # PO Box
      | G\.?\s*P\.?\s*O\.?\s*Box        # GPO Box (AU)
      | Post\s+Office\s+Box
      | Locked\s+(?:Mail\s+)?Bag        # AU
      | Private\s+(?:Mail\s+)?Bag       # NZ, ZA
      | Postfach | Postbus
      | Bo[iî]te\s+Postale
      | Case\s+Postale | Casella\s+Postale
      | Casilla\s+de\s+Correos?
      | Apartado\s+(?:Postal|de\s+Correos?|A[ée]reo)
      | Apdo
      | Caixa\s+Postal | Cx\.?\s*Postal
      | Kotak\s+Pos
      | Peti\s+Surat
    )\b
    | \b(?:                             # abbreviations and common words: only with a number
        POBox\s*(?:No\.?\s*|\#\s*)?
      | POB\s*\#?\s*
      | PMB\s*\#?\s*
      | Post\s+Box\s*(?:No\.?\s*)?\#?\s*
      | B(?:\.\s?)?P\.?\s*               # BP 123, B.P. 123
      | Casilla\s*(?:N[°ºo.]*\s*)?
      | Apartado\s*(?:N[°ºo.]*\s*)?
      | Hộp\s+thư\s*(?:bưu\s+(?:điện|chính)\s*)?(?:số\s*)?   # VN
    )\d
    | ^\s*Box\s*\#?\s*\d                # Box 123 (CA, SE) heads a line; a street named Box does not
    | 私書箱 | 사서함 | [邮郵]政信箱 | \d\s*[号號]?\s*信箱 | 信箱\s*\d
    | ตู้\s*ป\.?\s*ณ\.? | ตู้ไปรษณีย์
    """,
    re.IGNORECASE | re.MULTILINE | re.VERBOSE,
)


# Every ASCII text _PO_BOX matches holds one of these, lower-cased: each of its ASCII branches spells
# one out ("B.P"/"BP" gives "b." or "bp"), and on ASCII text its case-insensitive match is plain
# lower-casing. Nearly every line holds none, and these few substring tests cost a fifth of the search.
_PO_BOX_WORDS = ("box", "bag", "pos", "pob", "pmb", "apdo", "apartado", "casilla", "surat", "bp", "b.")


def is_po_box(*lines: str | None) -> bool:
    """Whether any of the address lines is a PO box (or a locked bag, Postfach, 私書箱...)."""
    return any(line and _may_be_po_box(line) and _PO_BOX.search(line) for line in lines)


def _may_be_po_box(line: str) -> bool:
    if not line.isascii():
        return True
    lower = line.lower()
    for word in _PO_BOX_WORDS:  # noqa: SIM110 - a loop takes a third of the time of any() over a generator
        if word in lower:
            return True
    return False


def missing_fields(address: Mapping[str, str | None], required: Iterable[str]) -> list[str]:
    """The ``required`` fields, in their order, that are empty or only say "nothing" ("n/a", "-",
    "无"...); the postal code is not required where the country has none."""
    no_postal_code = address.get("country") in COUNTRIES_WITHOUT_POSTAL_CODES
    return [
        field
        for field in required
        if _is_blank(address.get(field)) and not (no_postal_code and field == "postal_code")
    ]
