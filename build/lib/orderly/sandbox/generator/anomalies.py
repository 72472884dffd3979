"""Anomalies: what auto-review must hold, and the identities and addresses that make them."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from orderly.orders.domain import HoldReason
from orderly.review.checks import KeywordParams
from orderly.sandbox.generator.channels import MORE_REMARKS, REMARKS
from orderly.sandbox.generator.countries import COUNTRIES


class Anomaly(StrEnum):
    """What is wrong with a labelled order; ``expected_reason`` is the hold reason auto-review must give."""

    MISSING_ADDRESS_FIELD = "missing_address_field"  # no postal code, or a placeholder for line1 or city
    BAD_POSTAL_CODE = "bad_postal_code"  # not in the destination country's format
    BAD_PHONE = "bad_phone"  # the shipping phone is no valid number of the country
    PO_BOX = "po_box"  # line1 is a post office box, in the country's words
    REMARK_KEYWORD = "remark_keyword"  # the buyer's remark holds one of REMARK_KEYWORDS
    VELOCITY = "velocity"  # the third or later order with a shared SKU from one buyer within 10 minutes
    HIGH_VALUE = "high_value"  # worth 15 to 40 times the shop's median order
    COUNTRY_MISMATCH = "country_mismatch"  # billed in another country than shipped to
    BLACKLISTED = "blacklisted"  # the e-mail, phone, platform id or address is in BLACKLIST
    UNPAID = "unpaid"  # pending, not cash on delivery, last updated 2 to 6 hours after placement
    OUT_OF_STOCK = "out_of_stock"  # a line asks for a SKU no warehouse has
    PRESALE = "presale"  # a line asks for a SKU released after the order was placed

    @property
    def expected_reason(self) -> HoldReason:
        return _EXPECTED_REASONS[self]


_EXPECTED_REASONS = {
    Anomaly.MISSING_ADDRESS_FIELD: HoldReason.ADDRESS,
    Anomaly.BAD_POSTAL_CODE: HoldReason.ADDRESS,
    Anomaly.BAD_PHONE: HoldReason.ADDRESS,
    Anomaly.PO_BOX: HoldReason.ADDRESS,
    Anomaly.REMARK_KEYWORD: HoldReason.REMARK,
    Anomaly.VELOCITY: HoldReason.RISK,
    Anomaly.HIGH_VALUE: HoldReason.RISK,
    Anomaly.COUNTRY_MISMATCH: HoldReason.RISK,
    Anomaly.BLACKLISTED: HoldReason.RISK,
    Anomaly.UNPAID: HoldReason.PAYMENT,
    Anomaly.OUT_OF_STOCK: HoldReason.OUT_OF_STOCK,
    Anomaly.PRESALE: HoldReason.OUT_OF_STOCK,
}

# The review's own keyword matcher, so "a keyword remark" means here what it means to the check.
_KEYWORDS = KeywordParams().pattern


def _has_keyword(remark: str) -> bool:
    return _KEYWORDS.search(remark) is not None


def _remarks_where(has_keyword: bool) -> dict[str, tuple[str, ...]]:
    return {
        language: tuple(r for r in remarks + MORE_REMARKS.get(language, ()) if _has_keyword(r) == has_keyword)
        for language, remarks in REMARKS.items()
    }


CALM_REMARKS = _remarks_where(has_keyword=False)
KEYWORD_REMARKS = _remarks_where(has_keyword=True)


@dataclass(frozen=True)
class Blacklist:
    """Identities of known fraud; an order matching any one field is held."""

    emails: frozenset[str]
    phones: frozenset[str]  # as buyers write them, which is how they appear on orders
    buyers: frozenset[str]  # platform ids
    addresses: frozenset[tuple[str, str, str]]  # (line1, postal_code, country)


@dataclass(frozen=True)
class _Fraud:
    channel: str  # where its platform id is valid
    platform_id: str | None
    email: str
    phone: str
    address: dict[str, str]  # line1, city, region, postal_code, country


def _fraud_address(line1: str, city: str, region: str | None, postal: str, country: str) -> dict[str, str]:
    regional = {"region": region} if region else {}
    return {"line1": line1, "city": city} | regional | {"postal_code": postal, "country": country}


# Made up so the generator never makes them by chance: street names, phone prefixes, e-mail shapes and
# platform id ranges that no clean buyer gets.
FRAUDS = (
    _Fraud(
        "shopify",
        "6999000041187",
        "k.marsh.deals@protonmail.com",
        "+1 305-814-2297",
        _fraud_address("4400 Biscayne Blvd", "Miami", "FL", "33137", "US"),
    ),
    _Fraud(
        "amazon",
        "A2QX7ZK0M4RT9W",
        "fastflip.outlet@yandex.com",
        "+1 702-846-3310",
        _fraud_address("1750 E Tropicana Ave", "Las Vegas", "NV", "89119", "US"),
    ),
    _Fraud(
        "amazon",
        "A1Y8PJ3XQ0LK6D",
        "dcole.trade@mail.com",
        "+44 7723 418906",
        _fraud_address("77 Stretford Road", "Manchester", None, "M15 4QR", "GB"),
    ),
    _Fraud(
        "amazon",
        "A3M0KX9QF2ZLB7",
        "sven.krause.handel@gmx.net",
        "+49 152 28814701",
        _fraud_address("Industriestraße 12", "Duisburg", "Nordrhein-Westfalen", "47059", "DE"),
    ),
    _Fraud(
        "amazon",
        "AZ6T1WQ8RB3KNE",
        "mroux.achats@yopmail.com",
        "+33 6 52 84 19 07",
        _fraud_address("18 rue du Faubourg Saint-Denis", "Paris", "Île-de-France", "75010", "FR"),
    ),
    _Fraud(
        "taobao",
        "tb20931877450",
        "zq_deal@foxmail.com",
        "+86 177 2043 8816",
        _fraud_address("龙岗区布吉街道吉华路168号", "深圳市", "广东省", "518112", "CN"),
    ),
    _Fraud(
        "rakuten",
        None,
        "takuya.tenbai@yahoo.co.jp",
        "+81 6-6345-1120",
        _fraud_address("難波中2-10-70", "大阪市浪速区", "大阪府", "556-0011", "JP"),
    ),
    _Fraud(
        "shopee",
        "mt_flashdeals",
        "marcus.t.deals@gmail.com",
        "+65 8765 4321",
        _fraud_address("Blk 221 Boon Lay Place", "Singapore", None, "640221", "SG"),
    ),
    _Fraud(
        "lazada",
        "300417552",
        "lbk.reseller@yahoo.com",
        "+60 17-388 2910",
        _fraud_address("No. 8, Jalan Kenari 5", "Puchong", "Selangor", "47100", "MY"),
    ),
    _Fraud(
        "ebay",
        "bargainhunter.au",
        "bkelly.sells@outlook.com",
        "+61 433 118 720",
        _fraud_address("28 Parramatta Rd", "Granville", "NSW", "2142", "AU"),
    ),
    _Fraud(
        "mercadolivre",
        "1402388176",
        "rodrigo.alves.vendas@bol.com.br",
        "+55 85 98812-4471",
        _fraud_address("Rua Barão de Aracati, 1200", "Fortaleza", "CE", "60115-082", "BR"),
    ),
    _Fraud(
        "tiktok",
        "6904418822730155921",
        "hendra.gnwn88@ymail.com",
        "+62 821-7734-0912",
        _fraud_address("Jl. Mangga Besar Raya No. 77", "Jakarta Barat", "DKI Jakarta", "11180", "ID"),
    ),
)

BLACKLIST = Blacklist(
    emails=frozenset(f.email for f in FRAUDS),
    phones=frozenset(f.phone for f in FRAUDS),
    buyers=frozenset(f.platform_id for f in FRAUDS if f.platform_id),
    addresses=frozenset((a["line1"], a["postal_code"], a["country"]) for a in (f.address for f in FRAUDS)),
)

# Post office boxes as each country writes them ('$' and '#' as in other patterns).
PO_BOXES = {
    "US": ("PO Box $###", "P.O. Box $##"),
    "CA": ("PO Box $###", "P.O. Box $##"),
    "GB": ("PO Box $###",),
    "AU": ("PO Box $##", "GPO Box $###"),
    "DE": ("Postfach $# ## ##", "Postfach $###"),
    "FR": ("BP $###", "BP $#"),
    "CN": ("邮政信箱 $###", "邮政信箱 $##号"),
    "JP": ("私書箱 $#号", "私書箱 $##号"),
    "SG": ("PO Box $###",),
    "MY": ("Peti Surat $#", "Peti Surat $###"),
    "TH": ("ตู้ ปณ. $##", "PO Box $##"),
    "PH": ("PO Box $###", "P.O. Box $##"),
    "VN": ("Hộp thư $##", "PO Box $##"),
    "ID": ("Kotak Pos $#", "PO Box $###"),
    "BR": ("Caixa Postal $##", "Caixa Postal $###"),
    "MX": ("Apartado Postal $#", "Apartado Postal $##"),
}
# What buyers type into an address field a form will not leave empty.
PLACEHOLDERS = {"CN": ("无", "-"), "JP": ("なし", "-")}
LATIN_PLACEHOLDERS = ("N/A", "-")
# Where a mismatched billing address says the card is from.
BILLING_ELSEWHERE = ("US", "GB", "CN", "NG", "RU", "BR", "IN", "UA", "HK", "AE")
# A real postal code of each of these countries, to write where another country's belongs.
_SAMPLE_POSTAL_CODES = {
    "GB": "SW1A 1AA",
    "CA": "M5V 3L9",
    "JP": "150-0041",
    "BR": "01310-100",
    "DE": "10115",
    "CN": "518057",
    "AU": "2000",
}


def shape(code: str) -> str:
    """A postal code, or its pattern, with every digit as 9 and every letter as A."""
    return "".join("9" if c in "#$" or c.isdigit() else "A" if c in "@%" or c.isalpha() else c for c in code)


# The shapes of each country's postal codes (Vietnam has two: five digits since 2017, six before).
POSTAL_SHAPES = {
    country.code: frozenset(shape(place[2]) for place in country.places) for country in COUNTRIES.values()
}
# For each country, the sample codes of other countries that cannot pass for one of its own.
FOREIGN_POSTAL_CODES = {
    country: tuple(
        sample
        for origin, sample in _SAMPLE_POSTAL_CODES.items()
        if origin != country and shape(sample) not in shapes
    )
    for country, shapes in POSTAL_SHAPES.items()
}
