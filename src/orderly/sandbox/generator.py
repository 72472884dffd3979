"""A seeded generator of realistic normalized orders, and the catalog they are written against.

:class:`Catalog` describes a small multi-channel seller: shops on several platforms and currencies,
products and bundles (kits), warehouses with priorities, how each shop names each item (its listings,
some of which need a SKU mapping) and the opening stock. :func:`build_catalog` writes it to a database
through the services; :class:`OrderGenerator` then yields orders as plain dicts in the
:class:`~orderly.orders.schemas.NormalizedOrder` JSON shape, the same for the same seed.

Speed matters more than variety in the hot path (benchmarks draw hundreds of thousands of orders), so
everything that can be is prepared once: price tables, line templates, and a pool of buyers per shop
that grows as new buyers appear.
"""

# ruff: noqa: RUF001 - Chinese remarks use full-width punctuation, as buyers type them.
from __future__ import annotations

import math
import random
import unicodedata
from bisect import bisect
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from itertools import accumulate
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from orderly.catalog import service as catalog_service
from orderly.catalog.schemas import BundleIn, ComponentIn, MappingIn, ProductIn
from orderly.channels import service as channels_service
from orderly.channels.schemas import ShopIn
from orderly.core.db import transaction
from orderly.core.money import minor_unit_exponent
from orderly.inventory import service as inventory_service
from orderly.inventory.schemas import WarehouseIn

# --- the catalog ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Shop:
    code: str
    name: str
    channel: str  # shopify, amazon, ebay, taobao, shopee, lazada, rakuten
    currency: str
    countries: tuple[str, ...]  # where its buyers live, most of them in the first
    share: float  # relative share of the order stream
    shipping_fee: int  # minor units, waived at free_shipping_over
    free_shipping_over: int
    sales_tax: float = 0.0  # added on top (US, CA); elsewhere prices include VAT


@dataclass(frozen=True, slots=True)
class Product:
    sku: str
    name: str
    category: str
    usd_cents: int  # list price, converted to each shop's currency
    weight_g: int
    popularity: float  # relative chance of being on an order line


@dataclass(frozen=True, slots=True)
class Bundle:
    sku: str
    name: str
    components: tuple[tuple[str, int], ...]  # (SKU, quantity per kit)
    usd_cents: int
    popularity: float


@dataclass(frozen=True, slots=True)
class Warehouse:
    code: str
    name: str
    kind: str
    country: str
    priority: int


@dataclass(frozen=True, slots=True)
class Listing:
    """How one shop names one of our items on its lines: by our SKU, its own SKU, a listing id."""

    shop: str
    sku: str
    platform_sku: str | None
    listing_id: str | None

    @property
    def needs_mapping(self) -> bool:
        return self.platform_sku != self.sku


@dataclass(frozen=True, slots=True)
class Stock:
    sku: str
    warehouse: str
    quantity: int
    safety: int = 0


@dataclass(frozen=True)
class Catalog:
    shops: tuple[Shop, ...]
    products: tuple[Product, ...]
    bundles: tuple[Bundle, ...]
    warehouses: tuple[Warehouse, ...]
    listings: tuple[Listing, ...]
    stock: tuple[Stock, ...]

    def components(self, sku: str) -> tuple[tuple[str, int], ...]:
        """The stock one unit of ``sku`` needs: itself, or a bundle's components."""
        for bundle in self.bundles:
            if bundle.sku == sku:
                return bundle.components
        return ((sku, 1),)


# How many lines an order has, and how many units a line asks for (weights).
LINE_COUNTS = (1, 2, 3, 4, 5)
LINE_COUNT_WEIGHTS = (50, 26, 13, 7, 4)
QUANTITIES = (1, 2, 3)
QUANTITY_WEIGHTS = (82, 13, 5)
# The same as tables to index with one uniform draw, cheaper than a weighted choice.
_LINE_COUNT_TABLE = tuple(c for c, w in zip(LINE_COUNTS, LINE_COUNT_WEIGHTS, strict=True) for _ in range(w))
_QUANTITY_TABLE = tuple(q for q, w in zip(QUANTITIES, QUANTITY_WEIGHTS, strict=True) for _ in range(w))

_SHOPS = (
    Shop("shopify-us", "Northwind Goods (US)", "shopify", "USD", ("US",), 22, 599, 5000, 0.0825),
    Shop("shopify-ca", "Northwind Goods (Canada)", "shopify", "CAD", ("CA",), 6, 999, 7500, 0.13),
    Shop("amazon-uk", "Northwind on Amazon UK", "amazon", "GBP", ("GB",), 14, 399, 2500),
    Shop("amazon-de", "Northwind on Amazon.de", "amazon", "EUR", ("DE", "FR"), 13, 499, 2900),
    Shop("ebay-au", "northwind_au on eBay", "ebay", "AUD", ("AU",), 7, 995, 7900),
    Shop("tmall-cn", "Northwind 天猫旗舰店", "taobao", "CNY", ("CN",), 18, 0, 0),
    Shop("rakuten-jp", "ノースウィンド 楽天市場店", "rakuten", "JPY", ("JP",), 8, 550, 3980),
    Shop("shopee-sg", "Northwind Official Store SG", "shopee", "SGD", ("SG", "MY"), 6, 299, 4000),
    Shop("lazada-my", "Northwind LazMall MY", "lazada", "MYR", ("MY",), 6, 490, 8000),
)

# (stem, name, category, list price in US cents, weight g, popularity, variants)
_PRODUCT_LINES = (
    ("KET", "Gooseneck Pour-Over Kettle 1L", "coffee", 4900, 980, 9.0, ("BLK", "SLV", "WHT")),
    ("GRD", "Conical Burr Coffee Grinder", "coffee", 8900, 1600, 4.0, ("BLK",)),
    ("DRP", "Ceramic Pour-Over Dripper", "coffee", 2400, 420, 7.0, ("WHT", "BLU")),
    ("FLT", "Paper Coffee Filters (100)", "coffee", 699, 150, 12.0, ("",)),
    ("SCL", "Coffee Scale with Timer", "coffee", 3500, 500, 4.5, ("",)),
    ("MUG", "Double-Wall Glass Mug 350ml", "kitchen", 1800, 300, 8.0, ("CLR", "SMK")),
    ("BTL", "Insulated Water Bottle 750ml", "outdoor", 2900, 410, 14.0, ("BLK", "GRN", "SND", "NVY")),
    ("LID", "Bottle Straw Lid", "outdoor", 999, 60, 6.0, ("",)),
    ("TNT", "Ultralight 2-Person Tent", "outdoor", 19900, 1800, 1.5, ("GRN",)),
    ("HMK", "Nylon Camping Hammock", "outdoor", 4500, 600, 3.0, ("OLV", "ORG")),
    ("LMP", "Rechargeable Camp Lantern", "outdoor", 3400, 350, 5.0, ("",)),
    ("BAG", "Roll-Top Backpack 25L", "bags", 8900, 900, 5.5, ("BLK", "GRY")),
    ("TOT", "Waxed Canvas Tote", "bags", 3900, 500, 4.0, ("BRN", "NVY")),
    ("PCH", "Packing Cubes, Set of 4", "bags", 2900, 400, 6.0, ("",)),
    ("SCK", "Merino Hiking Socks", "apparel", 2200, 90, 10.0, ("S", "M", "L")),
    ("BNE", "Ribbed Wool Beanie", "apparel", 2500, 100, 5.0, ("BLK", "RST")),
    ("KNF", "Chef's Knife 20cm", "kitchen", 6900, 280, 3.5, ("",)),
    ("BRD", "End-Grain Cutting Board", "kitchen", 5900, 2100, 2.5, ("",)),
    ("SPN", "Olive Wood Spoon Set", "kitchen", 1900, 200, 4.0, ("",)),
    ("TWL", "Linen Tea Towels (2)", "kitchen", 1600, 180, 4.5, ("NAT", "SGE")),
    ("CBL", "USB-C Charging Cable 1m", "electronics", 1200, 40, 11.0, ("",)),
    ("PWR", "Power Bank 10000mAh", "electronics", 3900, 230, 6.5, ("",)),
)

_VARIANTS = {
    "BLK": "Black",
    "SLV": "Silver",
    "WHT": "White",
    "BLU": "Blue",
    "CLR": "Clear",
    "SMK": "Smoke",
    "GRN": "Forest Green",
    "SND": "Sand",
    "NVY": "Navy",
    "OLV": "Olive",
    "ORG": "Orange",
    "GRY": "Grey",
    "BRN": "Brown",
    "S": "Size S",
    "M": "Size M",
    "L": "Size L",
    "RST": "Rust",
    "NAT": "Natural",
    "SGE": "Sage",
}

_BUNDLES = (
    Bundle(
        "KIT-POUROVER",
        "Pour-Over Starter Kit",
        (("KET-BLK", 1), ("DRP-WHT", 1), ("FLT", 2)),
        7900,
        4.0,
    ),
    Bundle("KIT-BREW-PRO", "Pro Brewing Set", (("GRD-BLK", 1), ("SCL", 1), ("KET-SLV", 1)), 16900, 1.5),
    Bundle("KIT-CAMP", "Weekend Camp Bundle", (("TNT-GRN", 1), ("LMP", 1), ("HMK-OLV", 1)), 24900, 0.8),
    Bundle("KIT-BOTTLE-2", "Bottle Twin Pack", (("BTL-BLK", 2), ("LID", 2)), 5900, 3.5),
    Bundle("KIT-SOCKS-3M", "Merino Socks 3-Pack (M)", (("SCK-M", 3),), 5900, 3.0),
    Bundle("KIT-TRAVEL", "Travel Essentials Kit", (("PCH", 1), ("CBL", 1), ("PWR", 1)), 7200, 2.5),
    Bundle("KIT-KITCHEN", "Cook's Gift Set", (("KNF", 1), ("BRD", 1), ("SPN", 1)), 12900, 1.2),
)

_WAREHOUSES = (
    Warehouse("SZX-1", "Shenzhen fulfilment centre", "own", "CN", 10),
    Warehouse("LAX-3PL", "Los Angeles 3PL", "3pl", "US", 20),
    Warehouse("DUS-1", "Düsseldorf overseas warehouse", "overseas", "DE", 30),
)
# Share of each SKU's opening stock per warehouse, in the order above.
_WAREHOUSE_SHARES = (0.6, 0.25, 0.15)

# Per USD, and how prices are rounded to look like a shop's own.
_FX = {
    "USD": 1.0,
    "CAD": 1.37,
    "GBP": 0.79,
    "EUR": 0.92,
    "AUD": 1.52,
    "CNY": 7.2,
    "JPY": 150.0,
    "SGD": 1.34,
    "MYR": 4.7,
}


def _price(usd_cents: int, currency: str) -> int:
    """A charm price in the currency's minor units: 38.99, 352.99 or 7,380 yen."""
    exponent = minor_unit_exponent(currency)
    major = usd_cents / 100 * _FX[currency]
    if exponent == 0:
        return max(80, math.ceil(major / 100) * 100 - 20)
    scale: int = 10**exponent
    return max(1, round(major)) * scale - 1


def _listing(shop: Shop, sku: str, number: int) -> Listing:
    """How each platform's orders name an item; ``number`` keeps ids unique within the shop."""
    if shop.channel == "amazon":  # seller SKU of our own making, plus the ASIN
        asin = "B0" + _base36((number * 25_214_903_917 + 11) % 36**8, 8)
        return Listing(shop.code, sku, f"{sku}-{shop.code[-2:].upper()}", asin)
    if shop.channel == "taobao":  # numeric skuId (mapped) and the item id
        return Listing(shop.code, sku, str(5_012_345_000_000 + number * 7_919), str(640_000_000_000 + number))
    if shop.channel == "rakuten":  # item management number, lower case by platform habit
        return Listing(shop.code, sku, sku.lower(), None)
    if shop.channel == "shopee":  # the model id only
        return Listing(shop.code, sku, None, str(21_000_000_000 + number * 1_009))
    if shop.channel == "lazada":
        return Listing(shop.code, sku, sku, f"{3_200_000_000 + number}_MY-{12_000_000_000 + number}")
    if shop.channel == "ebay":  # custom label is our SKU, the item number comes along
        return Listing(shop.code, sku, sku, str(285_000_000_000 + number * 31))
    return Listing(shop.code, sku, sku, None)


def default_catalog(*, orders: int = 10_000, short_every: int = 4, cover: float = 1.3) -> Catalog:
    """The demo seller's catalog, with opening stock sized for about ``orders`` generated orders.

    Each SKU gets ``cover`` times its expected demand, spread over the warehouses, except every
    ``short_every``-th SKU by popularity, which gets half that and runs out: later orders for it go on
    hold. A few fast movers keep some safety stock.
    """
    products = tuple(
        Product(
            f"{stem}-{code}" if code else stem,
            f"{name}, {_VARIANTS[code]}" if code else name,
            category,
            cents,
            grams,
            popularity / len(variants),
        )
        for stem, name, category, cents, grams, popularity, variants in _PRODUCT_LINES
        for code in variants
    )
    listings = tuple(
        _listing(shop, sku, number)
        for shop in _SHOPS
        for number, sku in enumerate([p.sku for p in products] + [b.sku for b in _BUNDLES], start=1)
    )
    catalog = Catalog(_SHOPS, products, _BUNDLES, _WAREHOUSES, listings, ())
    demand = expected_demand(catalog, orders)
    stock: list[Stock] = []
    by_rank = sorted(products, key=lambda p: (-p.popularity, p.sku))
    for rank, product in enumerate(by_rank):
        factor = cover / 2 if short_every and rank % short_every == short_every - 1 else cover
        total = max(10, math.ceil(demand[product.sku] * factor))
        for number, (warehouse, share) in enumerate(zip(_WAREHOUSES, _WAREHOUSE_SHARES, strict=True)):
            safety = max(1, total // 50) if number == 0 and rank < 5 else 0
            stock.append(Stock(product.sku, warehouse.code, max(1, round(total * share)) + safety, safety))
    return Catalog(_SHOPS, products, _BUNDLES, _WAREHOUSES, listings, tuple(stock))


def expected_demand(catalog: Catalog, orders: int) -> dict[str, float]:
    """Units of each plain SKU that ``orders`` generated orders ask for, about (bundles expanded)."""
    lines = sum(c * w for c, w in zip(LINE_COUNTS, LINE_COUNT_WEIGHTS, strict=True)) / sum(LINE_COUNT_WEIGHTS)
    units = sum(q * w for q, w in zip(QUANTITIES, QUANTITY_WEIGHTS, strict=True)) / sum(QUANTITY_WEIGHTS)
    items = [(p.sku, p.popularity) for p in catalog.products] + [
        (b.sku, b.popularity) for b in catalog.bundles
    ]
    total = sum(weight for _, weight in items)
    demand = dict.fromkeys((p.sku for p in catalog.products), 0.0)
    for sku, weight in items:
        per_order = min(1.0, lines * weight / total) * units
        for component, quantity in catalog.components(sku):
            demand[component] += orders * per_order * quantity
    return demand


def build_catalog(factory: sessionmaker[Session], catalog: Catalog, *, actor: str = "sandbox") -> None:
    """Create the catalog's shops, products, bundles, warehouses, mappings and opening stock."""
    with transaction(factory) as s:
        for shop in catalog.shops:
            channels_service.create_shop(s, ShopIn(code=shop.code, name=shop.name, channel=shop.channel))
        for product in catalog.products:
            catalog_service.create_product(
                s,
                ProductIn(
                    sku=product.sku,
                    name=product.name,
                    category=product.category,
                    weight_g=product.weight_g,
                ),
            )
        for bundle in catalog.bundles:
            catalog_service.create_bundle(
                s,
                BundleIn(
                    sku=bundle.sku,
                    name=bundle.name,
                    components=[ComponentIn(sku=sku, quantity=q) for sku, q in bundle.components],
                ),
            )
        for listing in catalog.listings:
            if listing.needs_mapping:
                catalog_service.create_mapping(
                    s,
                    MappingIn(
                        shop=listing.shop,
                        sku=listing.sku,
                        platform_sku=listing.platform_sku,
                        # A listing id is only mapped when lines carry nothing else.
                        listing_id=None if listing.platform_sku else listing.listing_id,
                    ),
                )
        for warehouse in catalog.warehouses:
            inventory_service.create_warehouse(
                s,
                WarehouseIn(
                    code=warehouse.code,
                    name=warehouse.name,
                    kind=warehouse.kind,
                    country=warehouse.country,
                    priority=warehouse.priority,
                ),
            )
        for row in catalog.stock:
            inventory_service.receive(
                s, row.sku, row.warehouse, row.quantity, actor=actor, reason="opening stock"
            )
            if row.safety:
                inventory_service.set_safety(
                    s, row.sku, row.warehouse, row.safety, actor=actor, reason="opening safety stock"
                )


# --- countries: names, addresses, postal codes and phone numbers in each one's own format -----------

# Pattern letters: '#' a digit, '$' a digit 2-9, '@' a letter used in Canadian postal codes,
# '%' a letter used in the inward part of British postcodes.
_DIGITS = "0123456789"
_PATTERN_CHARS = {
    "#": _DIGITS,
    "$": "23456789",
    "@": "ABCEGHJKLMNPRSTVWXYZ",
    "%": "ABDEFGHJLNPQRSTUWXYZ",
}


@cache
def _parts(pattern: str) -> tuple[tuple[str, int], ...]:
    """``(text, 0)`` for literal text, ``(alphabet, n)`` for n characters drawn from the alphabet."""
    parts: list[tuple[str, int]] = []
    for c in pattern:
        alphabet = _PATTERN_CHARS.get(c)
        text, count = parts[-1] if parts else ("", -1)
        if alphabet is None:
            parts[-1:] = [(text + c, 0)] if count == 0 else [*parts[-1:], (c, 0)]
        elif text == alphabet:
            parts[-1] = (alphabet, count + 1)
        else:
            parts.append((alphabet, 1))
    return tuple(parts)


def _fill(rng: random.Random, pattern: str) -> str:
    draw = rng.random
    out = ""
    for text, count in _parts(pattern):
        if not count:
            out += text
        elif text is _DIGITS:  # one draw for a whole run of digits
            out += str(int(draw() * 10**count)).zfill(count)
        else:
            out += "".join(text[int(draw() * len(text))] for _ in range(count))
    return out


# ``Random.choice`` and ``randint`` cost several times ``random()``; these two are on the hot path.
def _pick(rng: random.Random, options: Sequence[str]) -> str:
    return options[int(rng.random() * len(options))]


def _between(rng: random.Random, low: int, high: int) -> int:
    return low + int(rng.random() * (high - low + 1))


def _words(text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.split(","))


def _names(text: str) -> tuple[tuple[str, str], ...]:
    """Comma-separated names, each as written and in Latin letters for e-mail addresses: given as
    ``written:latin`` or, for Latin scripts, derived by dropping accents."""
    out = []
    for name in _words(text):
        written, _, latin = name.partition(":")
        if not latin:
            latin = "".join(c for c in unicodedata.normalize("NFKD", written) if c.isascii() and c.isalpha())
        out.append((written, latin.lower()))
    return tuple(out)


Place = tuple[str, str | None, str, str]  # city, region, postal code pattern, locality


def _places(table: str) -> tuple[Place, ...]:
    """One place a line: ``city | region | postal code pattern | locality`` (region, locality optional)."""
    rows = []
    for line in table.strip().splitlines():
        city, region, postal, locality = (part.strip() for part in line.split("|"))
        rows.append((city, region or None, postal, locality))
    return tuple(rows)


Street = Callable[[random.Random, Place], tuple[str, str | None]]


@dataclass(frozen=True)
class _Country:
    code: str
    given: tuple[tuple[str, str], ...]
    family: tuple[tuple[str, str], ...]
    family_first: str | None  # separator when the family name comes first (CN: "", JP: " ")
    places: tuple[Place, ...]
    street: Street
    phones: tuple[str, ...]
    domains: tuple[str, ...]

    def full_name(self, given: str, family: str) -> str:
        if self.family_first is not None:
            return f"{family}{self.family_first}{given}"
        return f"{given} {family}"


_ANGLO_STREETS = _words(
    "Maple, Oak, Cedar, Washington, Lincoln, Park, Lake, Hill, Sunset, Main, Elm, Pine, Walnut"
)


def _anglo_street(suffixes: str, unit: str) -> Street:
    kinds = _words(suffixes)

    def street(rng: random.Random, place: Place) -> tuple[str, str | None]:
        line1 = f"{_between(rng, 1, 2999)} {_pick(rng, _ANGLO_STREETS)} {_pick(rng, kinds)}"
        line2 = f"{unit} {_between(rng, 1, 40)}{_pick(rng, 'ABCD')}" if rng.random() < 0.3 else None
        return line1, line2

    return street


_GB_STREETS = _words("Victoria, Church, Station, High, Mill, Park, Queen's, King's, Manor, Albert")
_GB_KINDS = _words("Road, Street, Lane, Avenue, Close, Gardens, Terrace, Crescent")


def _gb_street(rng: random.Random, place: Place) -> tuple[str, str | None]:
    line2 = f"Flat {_between(rng, 1, 24)}" if rng.random() < 0.25 else None
    return f"{_between(rng, 1, 240)} {_pick(rng, _GB_STREETS)} {_pick(rng, _GB_KINDS)}", line2


_DE_STREETS = _words("Haupt, Linden, Bahnhof, Schiller, Goethe, Garten, Berg, Kirch, Wald, Mühlen")
_DE_KINDS = _words("straße, weg, allee, gasse, ring")
_DE_EXTRA = _words("Hinterhaus, 3. OG links, 2. OG, Gartenhaus")


def _de_street(rng: random.Random, place: Place) -> tuple[str, str | None]:
    number = f"{_between(rng, 1, 180)}{_pick(rng, 'abc') if rng.random() < 0.1 else ''}"
    line2 = _pick(rng, _DE_EXTRA) if rng.random() < 0.15 else None
    return f"{_pick(rng, _DE_STREETS)}{_pick(rng, _DE_KINDS)} {number}", line2


_FR_KINDS = _words("rue, avenue, boulevard, place, impasse, allée")
_FR_STREETS = _words(
    "de la République, Victor Hugo, Jean Jaurès, de la Paix, Pasteur, du Général Leclerc, des Lilas, "
    "Gambetta, Voltaire, de la Gare"
)


def _fr_street(rng: random.Random, place: Place) -> tuple[str, str | None]:
    line2 = f"Bâtiment {_pick(rng, 'ABC')}, {_between(rng, 1, 7)}e étage" if rng.random() < 0.3 else None
    number = f"{_between(rng, 1, 150)}{' bis' if rng.random() < 0.05 else ''}"
    return f"{number} {_pick(rng, _FR_KINDS)} {_pick(rng, _FR_STREETS)}", line2


_CN_ROADS = _words("科技园南路, 建设路, 人民路, 解放路, 中山路, 滨河大道, 文化路, 学府路, 长江路")


def _cn_street(rng: random.Random, place: Place) -> tuple[str, str | None]:
    line1 = f"{place[3]}{_pick(rng, _CN_ROADS)}{_between(rng, 1, 399)}号"
    return line1, f"{_between(rng, 1, 30)}栋{_between(rng, 1, 33)}{_between(rng, 1, 8):02d}室"


_JP_BUILDINGS = _words("パークハイツ, メゾン青葉, グランドール, サンライズ")


def _jp_street(rng: random.Random, place: Place) -> tuple[str, str | None]:
    line1 = f"{place[3]}{_between(rng, 1, 5)}-{_between(rng, 1, 30)}-{_between(rng, 1, 20)}"
    if rng.random() < 0.5:
        return line1, f"{_pick(rng, _JP_BUILDINGS)} {_between(rng, 1, 12)}0{_between(rng, 1, 9)}号室"
    return line1, None


def _sg_street(rng: random.Random, place: Place) -> tuple[str, str | None]:
    return (
        f"Blk {_between(rng, 100, 799)} {place[3]} Avenue {_between(rng, 1, 10)}",
        f"#{_between(rng, 2, 25):02d}-{_between(rng, 1, 150):02d}",
    )


_MY_ROADS = _words("SS 2/24, Bukit Bintang, Ampang, Tun Razak, Sultan Ismail, Harmoni 3, Mutiara 5")


def _my_street(rng: random.Random, place: Place) -> tuple[str, str | None]:
    line2 = f"Taman {place[3]}" if rng.random() < 0.6 else None
    return f"No. {_between(rng, 1, 120)}, Jalan {_pick(rng, _MY_ROADS)}", line2


_ANGLO_GIVEN = _names(
    "James, Olivia, Liam, Emma, Noah, Ava, Ethan, Sophia, Mason, Isabella, Lucas, Mia, Jack, Charlotte, "
    "Oliver, Amelia, Harry, Grace, Chloe, Daniel"
)
_ANGLO_FAMILY = _names(
    "Smith, Johnson, Williams, Brown, Jones, Miller, Davis, Wilson, Taylor, Anderson, Thomas, Martin, "
    "Thompson, White, Clarke, Walker, Wright, Robinson, Nguyen, Patel"
)

_COUNTRIES = {
    c.code: c
    for c in (
        _Country(
            "US",
            _ANGLO_GIVEN,
            _ANGLO_FAMILY,
            None,
            _places("""
                Austin | TX | 787## |
                Portland | OR | 972## |
                Brooklyn | NY | 112## |
                Columbus | OH | 432## |
                Denver | CO | 802## |
                Seattle | WA | 981## |
                Chicago | IL | 606## |
                San Diego | CA | 921## |
                Atlanta | GA | 303## |
                Boston | MA | 021## |
            """),
            _anglo_street("St, Ave, Rd, Dr, Ln, Blvd, Ct, Way", "Apt"),
            tuple(f"+1 {area}-$##-####" for area in (512, 503, 718, 614, 303, 206, 312, 619, 404, 617)),
            _words("gmail.com, yahoo.com, outlook.com, icloud.com, hotmail.com"),
        ),
        _Country(
            "CA",
            _ANGLO_GIVEN,
            _ANGLO_FAMILY,
            None,
            _places("""
                Toronto | ON | M5V #@# |
                Vancouver | BC | V6B #@# |
                Montréal | QC | H2X #@# |
                Calgary | AB | T2P #@# |
                Ottawa | ON | K1P #@# |
                Halifax | NS | B3H #@# |
            """),
            _anglo_street("St W, St E, Ave, Rd, Dr, Cres", "Unit"),
            tuple(f"+1 {area}-$##-####" for area in (416, 604, 514, 403, 613, 902)),
            _words("gmail.com, rogers.com, shaw.ca, outlook.com"),
        ),
        _Country(
            "GB",
            _ANGLO_GIVEN,
            _ANGLO_FAMILY,
            None,
            _places("""
                London | | SW11 #%% |
                London | | EC1V #%% |
                Manchester | | M20 #%% |
                Birmingham | West Midlands | B15 #%% |
                Leeds | West Yorkshire | LS6 #%% |
                Edinburgh | | EH3 #%% |
                Bristol | | BS8 #%% |
                Cambridge | Cambridgeshire | CB2 #%% |
            """),
            _gb_street,
            _words("+44 7400 ######, +44 7812 ######, +44 7956 ######, +44 20 7946 0###, +44 161 496 0###"),
            _words("gmail.com, btinternet.com, hotmail.co.uk, outlook.com"),
        ),
        _Country(
            "DE",
            _names(
                "Lukas, Anna, Leon, Mia, Felix, Hannah, Jonas, Lena, Paul, Marie, Jürgen, Sophie, "
                "Maximilian, Katrin, Tobias"
            ),
            _names(
                "Müller, Schmidt, Schneider, Fischer, Weber, Meyer, Wagner, Becker, Schulz, Hoffmann, Koch, "
                "Richter, Klein, Wolf, Schröder"
            ),
            None,
            _places("""
                Berlin | Berlin | 10#15 |
                München | Bayern | 80##9 |
                Hamburg | Hamburg | 22##7 |
                Köln | Nordrhein-Westfalen | 50##7 |
                Frankfurt am Main | Hessen | 603#8 |
                Leipzig | Sachsen | 041#9 |
                Stuttgart | Baden-Württemberg | 701#3 |
            """),
            _de_street,
            _words("+49 151 ########, +49 160 #######, +49 170 #######, +49 176 ########, +49 30 ########"),
            _words("gmx.de, web.de, t-online.de, gmail.com"),
        ),
        _Country(
            "FR",
            _names(
                "Camille, Léa, Hugo, Louis, Manon, Chloé, Lucas, Inès, Gabriel, Jules, Élodie, Théo, "
                "Mathilde, Nicolas, Sébastien"
            ),
            _names(
                "Martin, Bernard, Dubois, Thomas, Robert, Richard, Petit, Durand, Leroy, Moreau, Simon, "
                "Laurent, Lefèvre, Michel, Garcia"
            ),
            None,
            _places("""
                Paris | Île-de-France | 7501# |
                Lyon | Auvergne-Rhône-Alpes | 6900# |
                Marseille | Provence-Alpes-Côte d'Azur | 1300# |
                Toulouse | Occitanie | 31000 |
                Bordeaux | Nouvelle-Aquitaine | 33000 |
                Lille | Hauts-de-France | 59000 |
                Nantes | Pays de la Loire | 44000 |
            """),
            _fr_street,
            _words("+33 6 1# ## ## ##, +33 6 7# ## ## ##, +33 7 5# ## ## ##, +33 1 4# ## ## ##"),
            _words("orange.fr, free.fr, laposte.net, gmail.com, sfr.fr"),
        ),
        _Country(
            "CN",
            _names(
                "伟:wei, 芳:fang, 娜:na, 敏:min, 静:jing, 磊:lei, 洋:yang, 婷:ting, 杰:jie, 晓明:xiaoming, "
                "子涵:zihan, 浩然:haoran"
            ),
            _names("王:wang, 李:li, 张:zhang, 刘:liu, 陈:chen, 杨:yang, 黄:huang, 赵:zhao, 吴:wu, 周:zhou"),
            "",
            _places("""
                深圳市 | 广东省 | 5180## | 南山区
                广州市 | 广东省 | 5106## | 天河区
                上海市 | 上海市 | 2001## | 浦东新区
                北京市 | 北京市 | 1000## | 朝阳区
                杭州市 | 浙江省 | 3100## | 西湖区
                南京市 | 江苏省 | 2100## | 鼓楼区
                成都市 | 四川省 | 6100## | 武侯区
                武汉市 | 湖北省 | 4300## | 洪山区
            """),
            _cn_street,
            _words("+86 138 #### ####, +86 139 #### ####, +86 159 #### ####, +86 186 #### ####"),
            _words("qq.com, 163.com, 126.com, sina.com"),
        ),
        _Country(
            "JP",
            _names(
                "翔太:shota, 陽菜:hina, 大輝:daiki, 美咲:misaki, 健:ken, 花子:hanako, 蓮:ren, 結衣:yui, "
                "悠真:yuma, さくら:sakura"
            ),
            _names(
                "佐藤:sato, 鈴木:suzuki, 高橋:takahashi, 田中:tanaka, 伊藤:ito, 渡辺:watanabe, "
                "山本:yamamoto, 中村:nakamura, 小林:kobayashi, 加藤:kato"
            ),
            " ",
            _places("""
                渋谷区 | 東京都 | 150-00## | 神南
                世田谷区 | 東京都 | 154-00## | 三軒茶屋
                大阪市北区 | 大阪府 | 530-00## | 梅田
                京都市中京区 | 京都府 | 604-8### | 河原町
                横浜市西区 | 神奈川県 | 220-00## | みなとみらい
                札幌市中央区 | 北海道 | 060-00## | 大通西
                福岡市博多区 | 福岡県 | 812-00## | 博多駅前
            """),
            _jp_street,
            _words("+81 90-$###-####, +81 80-$###-####, +81 70-$###-####, +81 3-$###-####"),
            _words("docomo.ne.jp, yahoo.co.jp, gmail.com, ezweb.ne.jp"),
        ),
        _Country(
            "SG",
            _names("Wei Ling, Jun Jie, Siti, Muhammad, Priya, Rajesh, Mei Ling, Daniel, Hui Min"),
            _names("Tan, Lim, Lee, Ng, Wong, Goh, Chua, Abdullah, Kumar, Ong"),
            None,
            _places("""
                Singapore | | 56#### | Ang Mo Kio
                Singapore | | 52#### | Tampines
                Singapore | | 46#### | Bedok North
                Singapore | | 64#### | Jurong West
                Singapore | | 31#### | Toa Payoh
                Singapore | | 73#### | Woodlands
            """),
            _sg_street,
            _words("+65 91## ####, +65 98## ####, +65 81## ####, +65 62## ####"),
            _words("gmail.com, singnet.com.sg, yahoo.com.sg, hotmail.com"),
        ),
        _Country(
            "MY",
            _names("Ahmad, Nurul, Siti, Muhammad, Wei Jie, Mei Ying, Kavitha, Arjun, Farah"),
            _names("Abdullah, Ibrahim, Tan, Lim, Wong, Rahman, Ismail, Krishnan, Chong"),
            None,
            _places("""
                Kuala Lumpur | Wilayah Persekutuan Kuala Lumpur | 50### | Desa
                Petaling Jaya | Selangor | 47### | Bahagia
                Shah Alam | Selangor | 40### | Sri Muda
                Johor Bahru | Johor | 80### | Molek
                George Town | Pulau Pinang | 10### | Tanjung
                Ipoh | Perak | 30### | Canning
                Kota Kinabalu | Sabah | 88### | Luyang
            """),
            _my_street,
            _words("+60 12-### ####, +60 16-### ####, +60 11-1### ####, +60 3-8### ####"),
            _words("gmail.com, yahoo.com.my, hotmail.com"),
        ),
        _Country(
            "AU",
            _ANGLO_GIVEN,
            _ANGLO_FAMILY,
            None,
            _places("""
                Surry Hills | NSW | 2010 |
                Bondi | NSW | 2026 |
                Fitzroy | VIC | 3065 |
                Brunswick | VIC | 3056 |
                Fortitude Valley | QLD | 4006 |
                Fremantle | WA | 6160 |
                Glenelg | SA | 5045 |
                Sandy Bay | TAS | 7005 |
                Braddon | ACT | 2612 |
            """),
            _anglo_street("St, Rd, Ave, Pde, Cres, Tce", "Unit"),
            _words("+61 41# ### ###, +61 42# ### ###, +61 40# ### ###, +61 2 9### ####, +61 3 9### ####"),
            _words("gmail.com, bigpond.com, optusnet.com.au, outlook.com"),
        ),
    )
}

# --- remarks and channel habits ----------------------------------------------------------------------

_REMARKS_EN = (
    "Please leave the parcel at the back door.",
    "Gift wrap please, it's a birthday present!",
    "Please don't include the invoice, it's a gift.",
    "Can you ship before Friday? Travelling next week.",
    "Call before delivery please.",
    "No plastic packaging if possible.",
    "Leave with reception / concierge.",
    "Please double-check the colour is black.",
)
_REMARKS_ZH = (
    "请尽快发货，谢谢！",
    "麻烦包装好一点，送人的。",
    "不要放发票和价格单。",
    "请发顺丰，运费可以补。",
    "周末不在家，请工作日送达。",
    "颜色要黑色的，别发错了。",
    "快递放门口就行，不用打电话。",
)
_REMARKS_JA = ("置き配希望です。", "ギフト包装をお願いします。", "平日の午前中に届けてください。")


@dataclass(frozen=True)
class _Channel:
    payment_methods: tuple[str, ...]  # a repeated one is that much more common
    platform_status: str
    email: str  # "own" (the buyer's), "relay" (a platform alias) or "none"
    tags: tuple[tuple[str, float], ...]  # (tag, chance)
    external_id: Callable[[int, datetime], str]
    buyer_id: Callable[[random.Random, int, str], str | None]


def _scramble(number: int, digits: int) -> int:
    """A bijection of 0..10**digits-1 that makes consecutive numbers look unrelated."""
    modulus: int = 10**digits
    return (number * 25_214_903_917 + 11) % modulus  # the multiplier is prime to 10


def _base36(value: int, width: int) -> str:
    chars = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    out = ""
    for _ in range(width):
        value, digit = divmod(value, 36)
        out = chars[digit] + out
    return out


def _amazon_id(prefix: str) -> Callable[[int, datetime], str]:
    def make(number: int, _: datetime) -> str:
        x = _scramble(number, 14)
        return f"{prefix}-{x // 10**7:07d}-{x % 10**7:07d}"

    return make


def _ebay_id(number: int, _: datetime) -> str:
    x = _scramble(number, 12)
    return f"{x // 10**10:02d}-{x // 10**5 % 10**5:05d}-{x % 10**5:05d}"


_CHANNELS = {
    "shopify": _Channel(
        ("shopify_payments", "shopify_payments", "paypal", "shop_pay"),
        "unfulfilled",
        "own",
        (("newsletter", 0.2),),
        lambda n, _: str(5_600_000_000_000 + _scramble(n, 12)),
        lambda rng, i, _: str(7_000_000_000_000 + _scramble(i, 12)),
    ),
    "amazon": _Channel(
        ("Other",),
        "Unshipped",
        "relay",
        (("prime", 0.45), ("business", 0.04)),
        _amazon_id("111"),
        lambda rng, i, _: "A" + _base36(rng.getrandbits(68), 13),
    ),
    "ebay": _Channel(
        ("PayPal", "managed_payments"),
        "PAID",
        "own",
        (("best-offer", 0.06),),
        _ebay_id,
        lambda rng, i, name: f"{name}_{_between(rng, 10, 999)}",
    ),
    "taobao": _Channel(
        ("alipay", "alipay", "huabei"),
        "WAIT_SELLER_SEND_GOODS",
        "none",
        (("88VIP", 0.15), ("pre-sale", 0.1)),
        lambda n, _: str(3_000_000_000_000_000_000 + _scramble(n, 18)),
        lambda rng, i, name: f"tb{_scramble(i, 9):09d}",
    ),
    "rakuten": _Channel(
        ("クレジットカード", "楽天ペイ", "代金引換"),
        "new",
        "own",
        (("rakuten-points", 0.3),),
        lambda n, at: f"298765-{at:%Y%m%d}-{_scramble(n, 10):010d}",
        lambda rng, i, _: None,
    ),
    "shopee": _Channel(
        ("ShopeePay", "Credit Card", "COD"),
        "READY_TO_SHIP",
        "none",
        (("free-shipping-voucher", 0.2),),
        lambda n, at: f"{at:%y%m%d}{_base36(_scramble(n, 12), 8)}",
        lambda rng, i, name: f"{name}{_between(rng, 1, 99)}",
    ),
    "lazada": _Channel(
        ("MIXEDCARD", "COD", "LazWallet"),
        "pending",
        "none",
        (("lazmall", 0.5),),
        lambda n, _: str(100_000_000_000_000 + _scramble(n, 14)),
        lambda rng, i, _: str(100_000_000 + _scramble(i, 8)),
    ),
}
_AMAZON_IDS = {"amazon-uk": _amazon_id("202"), "amazon-de": _amazon_id("302")}
_RELAY_DOMAINS = {"amazon-uk": "marketplace.amazon.co.uk", "amazon-de": "marketplace.amazon.de"}


# --- the generator -----------------------------------------------------------------------------------


class _ShopStream:
    """One shop's prepared state: item templates with its prices, and the buyers seen so far."""

    def __init__(self, shop: Shop, catalog: Catalog) -> None:
        self.shop = shop
        self.channel = _CHANNELS[shop.channel]
        self.external_id = _AMAZON_IDS.get(shop.code, self.channel.external_id)
        self.countries = [_COUNTRIES[c] for c in shop.countries]
        prices = {p.sku: (p.name, _price(p.usd_cents, shop.currency)) for p in catalog.products}
        prices |= {b.sku: (b.name, _price(b.usd_cents, shop.currency)) for b in catalog.bundles}
        popularity = {p.sku: p.popularity for p in catalog.products} | {
            b.sku: b.popularity for b in catalog.bundles
        }
        self.items: list[dict[str, Any]] = []
        weights: list[float] = []
        for listing in catalog.listings:
            if listing.shop != shop.code:
                continue
            title, price = prices[listing.sku]
            line: dict[str, Any] = {"platform_sku": listing.platform_sku, "listing_id": listing.listing_id}
            self.items.append(
                {k: v for k, v in line.items() if v is not None} | {"title": title, "unit_price": price}
            )
            weights.append(popularity[listing.sku])
        self.cumulative = list(accumulate(weights))
        self.buyers: list[tuple[dict[str, Any], dict[str, Any]]] = []
        self.orders_by_buyer: list[int] = []


class OrderGenerator:
    """Normalized orders as plain dicts, the same sequence for the same seed and catalog.

    Orders arrive in ``placed_at`` order from ``start``, about ``per_hour`` an hour. External ids are
    unique within one generator; give generators that must not collide different ``first_number``.
    """

    #: Chance that an order comes from someone who bought from the shop before.
    repeat_rate = 0.3

    def __init__(
        self,
        seed: int,
        catalog: Catalog,
        *,
        start: datetime = datetime(2026, 11, 1, tzinfo=UTC),
        per_hour: float = 2_000.0,
        first_number: int = 1,
    ) -> None:
        self.random = random.Random(seed)
        self.catalog = catalog
        self._streams = [_ShopStream(shop, catalog) for shop in catalog.shops]
        self._shop_cumulative = list(accumulate(shop.share for shop in catalog.shops))
        self._clock = start.timestamp()
        self._mean_gap = 3600 / per_hour
        self._number = first_number

    def orders(self, n: int) -> Iterator[dict[str, Any]]:
        for _ in range(n):
            yield self.order()

    def order(self) -> dict[str, Any]:
        rng = self.random
        draw = rng.random
        number = self._number
        self._number += 1
        self._clock += rng.expovariate(1 / self._mean_gap)
        placed = datetime.fromtimestamp(int(self._clock), UTC)
        placed_at = placed.isoformat()
        # Most orders are paid at once; some (bank transfer, COD review) are touched again later.
        updated_at = (
            placed_at if draw() < 0.8 else (placed + timedelta(seconds=int(draw() * 7200))).isoformat()
        )

        stream = self._streams[bisect(self._shop_cumulative, draw() * self._shop_cumulative[-1])]
        shop, channel = stream.shop, stream.channel
        index = self._buyer(stream)
        buyer, address = stream.buyers[index]
        stream.orders_by_buyer[index] += 1

        lines, subtotal = self._lines(stream)
        shipping = 0 if subtotal >= shop.free_shipping_over else shop.shipping_fee
        discount = subtotal // 10 if draw() < 0.06 else 0  # a 10% coupon
        tax = round((subtotal - discount) * shop.sales_tax)
        payment_method = _pick(rng, channel.payment_methods)
        order: dict[str, Any] = {
            "shop": shop.code,
            "external_id": stream.external_id(number, placed),
            "placed_at": placed_at,
            "updated_at": updated_at,
            "currency": shop.currency,
            "payment_status": "pending" if payment_method in ("COD", "代金引換") else "paid",
            "payment_method": payment_method,
            "platform_status": channel.platform_status,
            "buyer": dict(buyer),
            "shipping_address": dict(address),
            "billing_country": address["country"],
            "lines": lines,
            "shipping_total": shipping,
            "discount_total": discount,
            "tax_total": tax,
            "total": subtotal + shipping + tax - discount,
            "tags": self._tags(stream, index),
        }
        if draw() < 0.03:  # a gift: someone else receives it
            country = _COUNTRIES[address["country"]]
            (given, _), (family, _) = _pick_name(rng, country)
            order["shipping_address"]["name"] = country.full_name(given, family)
        if draw() < 0.08:
            order["buyer_remark"] = self._remark(stream, address["country"])
        if draw() < 0.005:
            order["cancelled"] = True
            order["platform_status"] = "cancelled"
        return order

    def _buyer(self, stream: _ShopStream) -> int:
        """A returning buyer (loyal ones more often) or a new one."""
        seen = len(stream.buyers)
        draw = self.random.random
        if seen and draw() < self.repeat_rate:
            return int(seen * draw() ** 2)
        stream.buyers.append(self._new_buyer(stream, seen))
        stream.orders_by_buyer.append(0)
        return seen

    def _new_buyer(self, stream: _ShopStream, index: int) -> tuple[dict[str, Any], dict[str, Any]]:
        rng = self.random
        # Shops sell mostly in their home country.
        country = stream.countries[0 if rng.random() < 0.85 else int(rng.random() * len(stream.countries))]
        (given, given_latin), (family, family_latin) = _pick_name(rng, country)
        name = country.full_name(given, family)
        place = _pick_place(rng, country)
        line1, line2 = country.street(rng, place)
        phone = _fill(rng, _pick(rng, country.phones))
        handle = f"{given_latin}{family_latin}"
        buyer: dict[str, Any] = {"name": name}
        email = stream.channel.email
        if email == "own":
            buyer["email"] = _email(rng, country, given_latin, family_latin)
            if rng.random() < 0.5:
                buyer["phone"] = phone
        elif email == "relay":
            relay = f"{rng.getrandbits(64):016x}"
            buyer["email"] = f"{relay}@{_RELAY_DOMAINS.get(stream.shop.code, 'marketplace.amazon.com')}"
        platform_id = stream.channel.buyer_id(rng, index, handle)
        if platform_id is not None:
            buyer["platform_id"] = platform_id
        address: dict[str, Any] = {"name": name, "line1": line1}
        if line2:
            address["line2"] = line2
        address["city"] = place[0]
        if place[1]:
            address["region"] = place[1]
        address |= {"postal_code": _fill(rng, place[2]), "country": country.code, "phone": phone}
        return buyer, address

    def _lines(self, stream: _ShopStream) -> tuple[list[dict[str, Any]], int]:
        draw = self.random.random
        count = _LINE_COUNT_TABLE[int(draw() * len(_LINE_COUNT_TABLE))]
        cumulative, items, top = stream.cumulative, stream.items, stream.cumulative[-1]
        chosen: list[int] = []
        while len(chosen) < count:  # distinct items, the popular ones more often
            pick = bisect(cumulative, draw() * top)
            if pick not in chosen:
                chosen.append(pick)
        lines: list[dict[str, Any]] = []
        subtotal = 0
        for pick in chosen:
            item = items[pick]
            quantity = _QUANTITY_TABLE[int(draw() * len(_QUANTITY_TABLE))]
            line = {**item, "quantity": quantity}
            amount = item["unit_price"] * quantity
            if draw() < 0.1:  # a line promotion
                line["discount"] = amount // 20
                amount -= line["discount"]
            subtotal += amount
            lines.append(line)
        return lines, subtotal

    def _tags(self, stream: _ShopStream, index: int) -> list[str]:
        draw = self.random.random
        previous = stream.orders_by_buyer[index] - 1
        tags = ["repeat-buyer"] if previous else []
        if previous >= 3:
            tags.append("vip")
        for tag, chance in stream.channel.tags:
            if draw() < chance:
                tags.append(tag)
        return tags

    def _remark(self, stream: _ShopStream, country: str) -> str:
        rng = self.random
        if country == "CN" or (country in ("SG", "MY") and rng.random() < 0.2):
            return _pick(rng, _REMARKS_ZH)
        if country == "JP":
            return _pick(rng, _REMARKS_JA)
        return _pick(rng, _REMARKS_EN)


def _pick_name(rng: random.Random, country: _Country) -> tuple[tuple[str, str], tuple[str, str]]:
    return (
        country.given[int(rng.random() * len(country.given))],
        country.family[int(rng.random() * len(country.family))],
    )


def _pick_place(rng: random.Random, country: _Country) -> Place:
    return country.places[int(rng.random() * len(country.places))]


def _email(rng: random.Random, country: _Country, given: str, family: str) -> str:
    domain = _pick(rng, country.domains)
    if domain == "qq.com":
        return f"{_between(rng, 10_000_000, 3_999_999_999)}@qq.com"
    style = rng.random()
    if style < 0.4:
        local = f"{given}.{family}"
    elif style < 0.7:
        local = f"{given}{family}{_between(rng, 1, 99)}"
    else:
        local = f"{given[0]}{family}{_between(rng, 1970, 2006)}"
    return f"{local}@{domain}"
