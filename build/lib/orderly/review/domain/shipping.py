"""What routing knows of places and parcels, with no I/O: the world regions a destination country
belongs to (after the UN M49 regions, plus the EU) and an order's size class from its weight and
its longest side. Read by the named facts and by routing's lanes. Pure."""

from __future__ import annotations

from collections.abc import Mapping

_REGIONS: dict[str, str] = {
    "south_east_asia": "BN KH ID LA MM MY PH SG TH TL VN",
    "east_asia": "CN HK MO TW JP KR KP MN",
    "south_asia": "AF BD BT IN IR MV NP PK LK",
    "central_asia": "KZ KG TJ TM UZ",
    "western_asia": "AE AM AZ BH CY GE IL IQ JO KW LB OM PS QA SA SY TR YE",
    "europe": "AD AL AT AX BA BE BG BY CH CY CZ DE DK EE ES FI FO FR GB GG GI GR HR HU IE IM IS IT JE LI "
    "LT LU LV MC MD ME MK MT NL NO PL PT RO RS RU SE SI SJ SK SM UA VA XK",
    "eu": "AT BE BG CY CZ DE DK EE ES FI FR GR HR HU IE IT LT LU LV MT NL PL PT RO SE SI SK",
    "north_america": "BM CA GL MX PM US",
    "latin_america": "AG AI AR AW BB BL BO BQ BR BS BZ CL CO CR CU CW DM DO EC FK GD GF GP GT GY HN HT JM "
    "KN KY LC MF MQ MS MX NI PA PE PR PY SR SV SX TC TT UY VC VE VG VI",
    "oceania": "AS AU CK FJ FM GU KI MH MP NC NF NR NU NZ PF PG PW SB TK TO TV VU WF WS",
    "africa": "AO BF BI BJ BW CD CF CG CI CM CV DJ DZ EG EH ER ET GA GH GM GN GQ GW KE KM LR LS LY MA MG "
    "ML MR MU MW MZ NA NE NG RE RW SC SD SH SL SN SO SS ST SZ TD TG TN TZ UG YT ZA ZM ZW",
}
#: Region name -> its countries (ISO 3166-1 alpha-2).
REGIONS: Mapping[str, frozenset[str]] = {name: frozenset(codes.split()) for name, codes in _REGIONS.items()}
_BY_COUNTRY: dict[str, tuple[str, ...]] = {}
for _name, _codes in sorted(REGIONS.items()):
    for _country in _codes:
        _BY_COUNTRY[_country] = (*_BY_COUNTRY.get(_country, ()), _name)


def regions_of(country: str | None) -> tuple[str, ...]:
    """The named regions a country is in (Cyprus: europe, eu and western_asia), in name order."""
    return _BY_COUNTRY.get((country or "").upper(), ())


#: (class, most grams, longest side in mm), smallest first; heavier or longer than the last is bulky.
SIZE_CLASSES = (("small", 2_000, 600), ("medium", 20_000, 1_200))
BULKY = "bulky"


def size_class(weight_g: int | None, longest_mm: int | None) -> str | None:
    """small, medium or bulky; by weight alone when no dimensions are known, None without a weight
    (a catalog without weights cannot say)."""
    if weight_g is None:
        return None
    for name, grams, side in SIZE_CLASSES:
        if weight_g <= grams and (longest_mm is None or longest_mm <= side):
            return name
    return BULKY
