"""A seeded generator of realistic normalized orders, and the catalog they are written against.

:class:`Catalog` describes a small multi-channel seller: shops on several platforms and currencies,
products and bundles (kits), warehouses with priorities, how each shop names each item (its listings,
some of which need a SKU mapping) and the opening stock. :func:`build_catalog` writes it to a database
through the services; :class:`OrderGenerator` then yields orders as plain dicts in the
:class:`~orderly.orders.schemas.NormalizedOrder` JSON shape, the same for the same seed.

Given an ``anomaly_rate`` the generator also labels what it makes, to test and measure auto-review
with: about that share of orders carry exactly one :class:`Anomaly` each (a broken address, a keyword
in the remark, a burst of orders from one buyer, an unpaid order...), the kinds in turn, and every
other order is one auto-review should approve. It needs the sold-out and presale SKUs of
``default_catalog(markets="global")``, which also sells in Southeast Asia and Latin America.

Speed matters more than variety in the hot path (benchmarks draw hundreds of thousands of orders), so
everything that can be is prepared once: price tables, line templates, and a pool of buyers per shop
that grows as new buyers appear.
"""

# ruff: noqa: RUF001 - Chinese remarks use full-width punctuation, as buyers type them.
from __future__ import annotations

import heapq
import itertools
import math
import random
import unicodedata
from bisect import bisect
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from functools import cache
from itertools import accumulate
from typing import Any, TypeVar

import phonenumbers
from sqlalchemy.orm import Session, sessionmaker

from orderly.catalog import service as catalog_service
from orderly.catalog.schemas import BundleIn, ComponentIn, MappingIn, ProductIn
from orderly.channels import service as channels_service
from orderly.channels.schemas import ShopIn
from orderly.core.db import transaction
from orderly.core.money import minor_unit_exponent
from orderly.inventory import service as inventory_service
from orderly.inventory.schemas import WarehouseIn
from orderly.orders.domain import HoldReason
from orderly.review.checks import KeywordParams

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
    presale: tuple[tuple[str, datetime], ...] = ()  # (SKU, release date in UTC): sold before it ships

    def components(self, sku: str) -> tuple[tuple[str, int], ...]:
        """The stock one unit of ``sku`` needs: itself, or a bundle's components."""
        for bundle in self.bundles:
            if bundle.sku == sku:
                return bundle.components
        return ((sku, 1),)

    def sold_out(self) -> frozenset[str]:
        """Plain SKUs no warehouse has any of."""
        stocked = {row.sku for row in self.stock if row.quantity}
        return frozenset(product.sku for product in self.products if product.sku not in stocked)

    def presale_until(self, sku: str) -> datetime | None:
        return dict(self.presale).get(sku)


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
# Markets only the global catalog sells in.
_GLOBAL_SHOPS = (
    Shop("shopee-th", "Northwind Official Shop TH", "shopee", "THB", ("TH",), 4, 3900, 59900),
    Shop("lazada-ph", "Northwind LazMall PH", "lazada", "PHP", ("PH",), 3, 9900, 99900),
    Shop("shopee-vn", "Northwind Official Store VN", "shopee", "VND", ("VN",), 3, 30000, 500000),
    Shop("tiktok-id", "Northwind Official Store ID", "tiktok", "IDR", ("ID",), 4, 1_500_000, 25_000_000),
    Shop("mercadolivre-br", "Northwind Loja Oficial", "mercadolivre", "BRL", ("BR",), 4, 2190, 7900),
    Shop("amazon-mx", "Northwind en Amazon.com.mx", "amazon", "MXN", ("MX",), 3, 9900, 29900),
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

# Only in the global catalog: limited editions sold ahead of their release, and discontinued items
# whose listings are still up although no warehouse has any left.
_PRESALE = (
    (
        Product("KET-GLD", "Gooseneck Pour-Over Kettle 1L, Limited Gold Edition", "coffee", 12900, 980, 1.2),
        datetime(2027, 3, 1, tzinfo=UTC),
    ),
    (
        Product("GRD-TI", "Titanium Burr Grinder, Launch Edition", "coffee", 15900, 1500, 0.8),
        datetime(2027, 5, 15, tzinfo=UTC),
    ),
)
_SOLD_OUT = (
    Product("LMP-SOL", "Solar Camp Lantern", "outdoor", 2900, 300, 1.0),
    Product("MUG-CPR", "Copper Camp Mug 400ml", "kitchen", 2400, 250, 1.0),
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
    "THB": 36.0,
    "PHP": 57.0,
    "VND": 25_000.0,
    "IDR": 16_000.0,
    "BRL": 5.2,
    "MXN": 17.5,
}


def _price(usd_cents: int, currency: str) -> int:
    """A charm price in the currency's minor units: 38.99, 352.99, 7,380 yen or 783,900 rupiah."""
    exponent = minor_unit_exponent(currency)
    major = usd_cents / 100 * _FX[currency]
    scale: int = 10**exponent
    if _FX[currency] >= 1_000:  # dong and rupiah: whole thousands less a hundred, whatever the exponent
        return (math.ceil(major / 1_000) * 1_000 - 100) * scale
    if exponent == 0:
        return max(80, math.ceil(major / 100) * 100 - 20)
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
        market = shop.code[-2:].upper()
        return Listing(shop.code, sku, sku, f"{3_200_000_000 + number}_{market}-{12_000_000_000 + number}")
    if shop.channel == "tiktok":  # seller SKU, and the platform's SKU id
        return Listing(shop.code, sku, sku, str(1_729_000_000_000_000_000 + number * 4_099))
    if shop.channel == "mercadolivre":  # seller SKU, and the MLB item id
        return Listing(shop.code, sku, sku, f"MLB{3_900_000_000 + number * 17}")
    if shop.channel == "ebay":  # custom label is our SKU, the item number comes along
        return Listing(shop.code, sku, sku, str(285_000_000_000 + number * 31))
    return Listing(shop.code, sku, sku, None)


def default_catalog(
    *, orders: int = 10_000, short_every: int = 4, cover: float = 1.3, markets: str = "core"
) -> Catalog:
    """The demo seller's catalog, with opening stock sized for about ``orders`` generated orders.

    Each SKU gets ``cover`` times its expected demand, spread over the warehouses, except every
    ``short_every``-th SKU by popularity, which gets half that and runs out: later orders for it go on
    hold. A few fast movers keep some safety stock.

    ``markets="global"`` adds shops in Thailand, the Philippines, Vietnam, Indonesia, Brazil and Mexico,
    two presale products released months after the generator's default start, and two products listed
    everywhere but sold out (a row of 0 in every warehouse): what the generator's anomalies need.
    """
    if markets not in ("core", "global"):
        raise ValueError(f"markets is 'core' or 'global', not {markets!r}")
    extended = markets == "global"
    shops = _SHOPS + _GLOBAL_SHOPS if extended else _SHOPS
    core = tuple(
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
    extra = (*(product for product, _ in _PRESALE), *_SOLD_OUT) if extended else ()
    products = core + extra
    # The extra products are numbered last, so every other listing keeps its id in both catalogs.
    skus = [p.sku for p in core] + [b.sku for b in _BUNDLES] + [p.sku for p in extra]
    listings = tuple(
        _listing(shop, sku, number) for shop in shops for number, sku in enumerate(skus, start=1)
    )
    presale = tuple((product.sku, until) for product, until in _PRESALE) if extended else ()
    catalog = Catalog(shops, products, _BUNDLES, _WAREHOUSES, listings, (), presale)
    demand = expected_demand(catalog, orders)
    stock: list[Stock] = []
    by_rank = sorted((p for p in products if p not in _SOLD_OUT), key=lambda p: (-p.popularity, p.sku))
    for rank, product in enumerate(by_rank):
        factor = cover / 2 if short_every and rank % short_every == short_every - 1 else cover
        total = max(10, math.ceil(demand[product.sku] * factor))
        for number, (warehouse, share) in enumerate(zip(_WAREHOUSES, _WAREHOUSE_SHARES, strict=True)):
            safety = max(1, total // 50) if number == 0 and rank < 5 else 0
            stock.append(Stock(product.sku, warehouse.code, max(1, round(total * share)) + safety, safety))
    stock += [Stock(p.sku, w.code, 0) for p in products if p in _SOLD_OUT for w in _WAREHOUSES]
    return Catalog(shops, products, _BUNDLES, _WAREHOUSES, listings, tuple(stock), presale)


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
            if not row.quantity:  # sold out: nothing to receive, and the ledger refuses a receipt of 0
                continue
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


_T = TypeVar("_T")


# ``Random.choice`` and ``randint`` cost several times ``random()``; these two are on the hot path.
def _pick(rng: random.Random, options: Sequence[_T]) -> _T:
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


_TH_ROADS = _words("สุขุมวิท, พหลโยธิน, รัชดาภิเษก, ลาดพร้าว, เพชรบุรี, นิมมานเหมินท์, มิตรภาพ, เจริญกรุง")


def _th_street(rng: random.Random, place: Place) -> tuple[str, str | None]:
    house = f"{_between(rng, 1, 999)}/{_between(rng, 1, 99)}"
    if rng.random() < 0.4:
        return f"{house} ซอย{_pick(rng, _TH_ROADS)} {_between(rng, 1, 71)}", place[3]
    return f"{house} ถนน{_pick(rng, _TH_ROADS)}", place[3]


_PH_STREETS = _words("Rizal, Mabini, Bonifacio, Aguinaldo, Luna, Del Pilar, Katipunan, Burgos, Roxas")


def _ph_street(rng: random.Random, place: Place) -> tuple[str, str | None]:
    line1 = f"{_between(rng, 1, 999)} {_pick(rng, _PH_STREETS)} St."
    if rng.random() < 0.3:
        line1 = f"Unit {_between(rng, 2, 40)}{_pick(rng, 'ABCD')}, {line1}"
    return line1, f"Brgy. {place[3]}"


_VN_STREETS = _words(
    "Lê Lợi, Nguyễn Huệ, Trần Hưng Đạo, Hai Bà Trưng, Lý Thường Kiệt, Điện Biên Phủ, Nguyễn Trãi, "
    "Cách Mạng Tháng Tám"
)


def _vn_street(rng: random.Random, place: Place) -> tuple[str, str | None]:
    street = _pick(rng, _VN_STREETS)
    if rng.random() < 0.3:
        return f"Số {_between(rng, 1, 99)}, Ngõ {_between(rng, 2, 200)} {street}", place[3]
    return f"{_between(rng, 1, 400)} {street}", place[3]


_ID_STREETS = _words("Sudirman, Gatot Subroto, Diponegoro, Merdeka, Ahmad Yani, Pemuda, Kenanga, Veteran")


def _id_street(rng: random.Random, place: Place) -> tuple[str, str | None]:
    line2 = f"RT {_between(rng, 1, 12):03d}/RW {_between(rng, 1, 9):03d}, {place[3]}"
    return f"Jl. {_pick(rng, _ID_STREETS)} No. {_between(rng, 1, 250)}", line2


_BR_STREETS = _words(
    "Rua Augusta, Rua Oscar Freire, Avenida Paulista, Rua das Flores, Avenida Brasil, Rua XV de Novembro, "
    "Rua da Consolação, Avenida Atlântica"
)


def _br_street(rng: random.Random, place: Place) -> tuple[str, str | None]:
    flat = f"Apto {_between(rng, 1, 24)}{_between(rng, 1, 4):02d}, " if rng.random() < 0.45 else ""
    return f"{_pick(rng, _BR_STREETS)}, {_between(rng, 10, 2500)}", f"{flat}{place[3]}"


_MX_STREETS = _words(
    "Calle Durango, Avenida Insurgentes Sur, Calle Orizaba, Paseo de la Reforma, Calle Hidalgo, "
    "Avenida Juárez, Calle Morelos, Calle Colima"
)


def _mx_street(rng: random.Random, place: Place) -> tuple[str, str | None]:
    interior = f"Int. {_between(rng, 1, 12)}, " if rng.random() < 0.35 else ""
    return f"{_pick(rng, _MX_STREETS)} {_between(rng, 1, 1800)}", f"{interior}Col. {place[3]}"


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
        _Country(
            "TH",
            _names(
                "สมชาย:somchai, สุดารัตน์:sudarat, ณัฐพล:nattaphon, ปิยะนุช:piyanuch, ธนากร:thanakorn, "
                "วรรณา:wanna, กิตติพงษ์:kittipong, อรุณี:arunee, พิมพ์ชนก:pimchanok, ศุภชัย:supachai"
            ),
            _names(
                "สุขใจ:sukjai, วงศ์สวัสดิ์:wongsawat, ศรีสุข:srisuk, แก้วมณี:kaewmanee, บุญมา:boonma, "
                "ทองดี:thongdee, จันทร์เพ็ญ:chanpen, รัตนพันธ์:rattanapan"
            ),
            None,
            _places("""
                เขตวัฒนา | กรุงเทพมหานคร | 10110 | แขวงคลองตันเหนือ
                เขตจตุจักร | กรุงเทพมหานคร | 10900 | แขวงจอมพล
                เขตบางรัก | กรุงเทพมหานคร | 10500 | แขวงสีลม
                อำเภอเมืองเชียงใหม่ | เชียงใหม่ | 50200 | ตำบลศรีภูมิ
                อำเภอเมืองขอนแก่น | ขอนแก่น | 40000 | ตำบลในเมือง
                อำเภอบางละมุง | ชลบุรี | 20150 | ตำบลหนองปรือ
                อำเภอเมืองภูเก็ต | ภูเก็ต | 83000 | ตำบลตลาดใหญ่
            """),
            _th_street,
            _words("+66 81-###-####, +66 89-###-####, +66 91-###-####, +66 95-###-####, +66 62-###-####"),
            _words("gmail.com, hotmail.com, yahoo.co.th"),
        ),
        _Country(
            "PH",
            _names(
                "Juan, Maria, Jose, Angelica, Mark, Kristine, John Paul, Mary Grace, Jericho, Princess, "
                "Carlo, Joy"
            ),
            _names(
                "Dela Cruz, Santos, Reyes, Garcia, Mendoza, Bautista, Villanueva, Ramos, Aquino, Castillo, "
                "Navarro"
            ),
            None,
            _places("""
                Makati | Metro Manila | 1209 | Bel-Air
                Quezon City | Metro Manila | 1109 | Cubao
                Pasig | Metro Manila | 1600 | Kapitolyo
                Taguig | Metro Manila | 1634 | Fort Bonifacio
                Cebu City | Cebu | 6000 | Lahug
                Davao City | Davao del Sur | 8000 | Poblacion
                Iloilo City | Iloilo | 5000 | Jaro
            """),
            _ph_street,
            _words("+63 917 ### ####, +63 918 ### ####, +63 905 ### ####, +63 995 ### ####, +63 2 8### ####"),
            _words("gmail.com, yahoo.com, yahoo.com.ph"),
        ),
        _Country(
            "VN",
            _names(
                "Văn An:vanan, Thị Lan:thilan, Minh Tuấn:minhtuan, Thu Hà:thuha, Quốc Bảo:quocbao, "
                "Ngọc Anh:ngocanh, Đức Huy:duchuy, Thanh Hương:thanhhuong, Hoàng Nam:hoangnam"
            ),
            _names(
                "Nguyễn:nguyen, Trần:tran, Lê:le, Phạm:pham, Hoàng:hoang, Huỳnh:huynh, Võ:vo, Đặng:dang, "
                "Bùi:bui"
            ),
            " ",
            _places("""
                Quận 1 | TP. Hồ Chí Minh | 7000## | Phường Bến Nghé
                Quận 3 | TP. Hồ Chí Minh | 7000## | Phường Võ Thị Sáu
                Quận Bình Thạnh | TP. Hồ Chí Minh | 717## | Phường 25
                Quận Hoàn Kiếm | Hà Nội | 1000## | Phường Hàng Bạc
                Quận Cầu Giấy | Hà Nội | 113## | Phường Dịch Vọng
                Quận Hải Châu | Đà Nẵng | 5500## | Phường Thạch Thang
                Quận Ninh Kiều | Cần Thơ | 9000## | Phường Tân An
            """),
            _vn_street,
            _words("+84 90 ### ## ##, +84 98 ### ## ##, +84 91 ### ## ##, +84 33 ### ####, +84 77 ### ####"),
            _words("gmail.com, yahoo.com.vn, outlook.com"),
        ),
        _Country(
            "ID",
            _names("Budi, Siti, Agus, Dewi, Rizky, Putri, Andi, Ayu, Dimas, Nur, Fajar, Indah"),
            _names("Santoso, Wijaya, Saputra, Lestari, Hidayat, Kusuma, Pratama, Rahmawati, Nugroho"),
            None,
            _places("""
                Jakarta Selatan | DKI Jakarta | 121## | Kebayoran Baru
                Jakarta Barat | DKI Jakarta | 115## | Kebon Jeruk
                Bandung | Jawa Barat | 401## | Coblong
                Surabaya | Jawa Timur | 602## | Gubeng
                Yogyakarta | DI Yogyakarta | 552## | Gondokusuman
                Medan | Sumatera Utara | 201## | Medan Baru
                Denpasar | Bali | 802## | Denpasar Selatan
            """),
            _id_street,
            _words("+62 812-####-####, +62 813-####-####, +62 857-####-####, +62 21 #### ####"),
            _words("gmail.com, yahoo.co.id, ymail.com"),
        ),
        _Country(
            "BR",
            _names(
                "João, Maria, Ana, Pedro, Lucas, Juliana, Gabriel, Fernanda, Rafael, Camila, Mateus, Beatriz"
            ),
            _names(
                "Silva, Santos, Oliveira, Souza, Lima, Pereira, Costa, Ferreira, Almeida, Rodrigues, "
                "Carvalho, Gomes"
            ),
            None,
            _places("""
                São Paulo | SP | 01310-### | Bela Vista
                São Paulo | SP | 05422-### | Pinheiros
                Rio de Janeiro | RJ | 22070-### | Copacabana
                Belo Horizonte | MG | 30140-### | Funcionários
                Curitiba | PR | 80240-### | Batel
                Porto Alegre | RS | 90570-### | Moinhos de Vento
                Recife | PE | 51020-### | Boa Viagem
            """),
            _br_street,
            _words("+55 11 9$###-####, +55 21 9$###-####, +55 31 9$###-####, +55 11 3###-####"),
            _words("gmail.com, hotmail.com, uol.com.br, bol.com.br, yahoo.com.br"),
        ),
        _Country(
            "MX",
            _names(
                "José, María, Juan, Guadalupe, Luis, Fernanda, Carlos, Sofía, Miguel, Valeria, Alejandro, "
                "Daniela"
            ),
            _names(
                "Hernández, García, Martínez, López, González, Rodríguez, Pérez, Sánchez, Ramírez, Flores, "
                "Torres, Cruz"
            ),
            None,
            _places("""
                Ciudad de México | CDMX | 06700 | Roma Norte
                Ciudad de México | CDMX | 03100 | Del Valle
                Ciudad de México | CDMX | 06140 | Condesa
                Guadalajara | Jalisco | 44160 | Americana
                Monterrey | Nuevo León | 64000 | Centro
                Puebla | Puebla | 72000 | Centro
                Mérida | Yucatán | 97070 | García Ginerés
            """),
            _mx_street,
            _words("+52 55 #### ####, +52 33 #### ####, +52 81 #### ####, +52 222 ### ####"),
            _words("gmail.com, hotmail.com, outlook.com, yahoo.com.mx, prodigy.net.mx"),
        ),
    )
}

# --- remarks and channel habits ----------------------------------------------------------------------

# What buyers write, by language; the anomaly mode sorts them by whether they hold a REMARK_KEYWORDS entry.
_REMARKS = {
    "en": (
        "Please leave the parcel at the back door.",
        "Gift wrap please, it's a birthday present!",
        "Please don't include the invoice, it's a gift.",
        "Can you ship before Friday? Travelling next week.",
        "Call before delivery please.",
        "No plastic packaging if possible.",
        "Leave with reception / concierge.",
        "Please double-check the colour is black.",
    ),
    "zh": (
        "请尽快发货，谢谢！",
        "麻烦包装好一点，送人的。",
        "不要放发票和价格单。",
        "请发顺丰，运费可以补。",
        "周末不在家，请工作日送达。",
        "颜色要黑色的，别发错了。",
        "快递放门口就行，不用打电话。",
    ),
    "ja": ("置き配希望です。", "ギフト包装をお願いします。", "平日の午前中に届けてください。"),
    "pt": (
        "Por favor, entregar em horário comercial.",
        "Deixar com o porteiro, obrigado!",
        "É presente, capricha na embalagem.",
        "Urgente! Preciso até sexta-feira.",
        "Se não der para enviar hoje, pode cancelar.",
    ),
    "es": (
        "Favor de llamar antes de entregar.",
        "Dejar con el portero, por favor.",
        "Es un regalo, no incluir el precio.",
        "¡Es urgente! Lo necesito para el viernes.",
        "Si no sale hoy, favor de cancelar el pedido.",
    ),
    "th": ("ฝากไว้ที่ป้อม รปภ. ได้เลยค่ะ", "โทรหาก่อนส่งนะครับ", "ส่งด่วน ASAP นะคะ", "ถ้ายังไม่ส่ง ขอ cancel ค่ะ"),
    "vi": (
        "Gọi trước khi giao giúp mình nhé.",
        "Giao giờ hành chính ạ.",
        "Giao gấp giúp em, urgent ạ!",
        "Nếu chưa giao thì cho em cancel đơn nhé.",
    ),
    "id": (
        "Tolong titip di pos satpam ya.",
        "Mohon dibungkus rapi, kak.",
        "Kirim ASAP ya kak, mau dipakai besok.",
        "Kalau belum dikirim, mau cancel aja kak.",
    ),
}
# Drawn only in the anomaly mode, so that the default stream stays what it was.
_MORE_REMARKS = {
    "en": (
        "Please knock, the doorbell doesn't work.",
        "Second floor, ring twice.",
        "Thank you, love your products!",
        "URGENT - need it before Friday!",
        "Please ship ASAP.",
        "Rush order, it's for an event on Saturday.",
        "Please change the address to my office, I'll send it by message.",
        "Wrong address on the order, please call me before shipping.",
        "Please cancel if it can't ship this week.",
        "Can you gift-wrap both items?",
    ),
    "zh": (
        "谢谢老板！",
        "放快递柜就行。",
        "加急！明天就要用。",
        "急件，请今天发出。",
        "需要礼品包装，谢谢。",
        "地址填错了，麻烦改地址。",
        "请开发票，抬头发消息给你。",
        "今天不发货的话就取消吧。",
    ),
    "ja": (
        "不在時は宅配ボックスへお願いします。",
        "いつもありがとうございます。",
        "至急発送をお願いします。",
        "住所変更をお願いしたいです。",
        "明日届かないならキャンセルでお願いします。",
    ),
}
# What each country's buyers write in when not in English.
_LANGUAGES = {"CN": "zh", "JP": "ja", "BR": "pt", "MX": "es", "TH": "th", "VN": "vi", "ID": "id"}


@dataclass(frozen=True)
class _Channel:
    payment_methods: tuple[str, ...]  # a repeated one is that much more common
    platform_status: str
    email: str  # "own" (the buyer's), "relay" (a platform alias) or "none"
    tags: tuple[tuple[str, float], ...]  # (tag, chance)
    external_id: Callable[[int, datetime], str]
    buyer_id: Callable[[random.Random, int, str], str | None]
    unpaid: tuple[str, str]  # payment method and platform status of an order awaiting payment


# Cash on delivery: the only payment a normal order still awaits.
_COD_METHODS = frozenset({"COD", "代金引換"})


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
        ("bank_deposit", "unfulfilled"),
    ),
    "amazon": _Channel(
        ("Other",),
        "Unshipped",
        "relay",
        (("prime", 0.45), ("business", 0.04)),
        _amazon_id("111"),
        lambda rng, i, _: "A" + _base36(rng.getrandbits(68), 13),
        ("Other", "Pending"),
    ),
    "ebay": _Channel(
        ("PayPal", "managed_payments"),
        "PAID",
        "own",
        (("best-offer", 0.06),),
        _ebay_id,
        lambda rng, i, name: f"{name}_{_between(rng, 10, 999)}",
        ("PayPal", "PENDING"),
    ),
    "taobao": _Channel(
        ("alipay", "alipay", "huabei"),
        "WAIT_SELLER_SEND_GOODS",
        "none",
        (("88VIP", 0.15), ("pre-sale", 0.1)),
        lambda n, _: str(3_000_000_000_000_000_000 + _scramble(n, 18)),
        lambda rng, i, name: f"tb{_scramble(i, 9):09d}",
        ("alipay", "WAIT_BUYER_PAY"),
    ),
    "rakuten": _Channel(
        ("クレジットカード", "楽天ペイ", "代金引換"),
        "new",
        "own",
        (("rakuten-points", 0.3),),
        lambda n, at: f"298765-{at:%Y%m%d}-{_scramble(n, 10):010d}",
        lambda rng, i, _: None,
        ("銀行振込", "new"),
    ),
    "shopee": _Channel(
        ("ShopeePay", "Credit Card", "COD"),
        "READY_TO_SHIP",
        "none",
        (("free-shipping-voucher", 0.2),),
        lambda n, at: f"{at:%y%m%d}{_base36(_scramble(n, 12), 8)}",
        lambda rng, i, name: f"{name}{_between(rng, 1, 99)}",
        ("Bank Transfer", "UNPAID"),
    ),
    "lazada": _Channel(
        ("MIXEDCARD", "COD", "LazWallet"),
        "pending",
        "none",
        (("lazmall", 0.5),),
        lambda n, _: str(100_000_000_000_000 + _scramble(n, 14)),
        lambda rng, i, _: str(100_000_000 + _scramble(i, 8)),
        ("OTC", "unpaid"),
    ),
    "tiktok": _Channel(
        ("COD", "GoPay", "DANA", "OVO", "BCA Virtual Account"),
        "AWAITING_SHIPMENT",
        "none",
        (("live-stream", 0.3),),
        lambda n, _: str(577_000_000_000_000_000 + _scramble(n, 15)),
        lambda rng, i, _: str(7_300_000_000_000_000_000 + _scramble(i, 18)),
        ("BCA Virtual Account", "UNPAID"),
    ),
    "mercadolivre": _Channel(
        ("account_money", "credit_card", "credit_card", "pix"),
        "paid",
        "none",
        (("full", 0.35),),
        lambda n, _: str(2_000_000_000_000_000 + _scramble(n, 15)),
        lambda rng, i, _: str(200_000_000 + _scramble(i, 8)),
        ("boleto", "payment_required"),
    ),
}
_AMAZON_IDS = {"amazon-uk": _amazon_id("202"), "amazon-de": _amazon_id("302"), "amazon-mx": _amazon_id("701")}
_RELAY_DOMAINS = {
    "amazon-uk": "marketplace.amazon.co.uk",
    "amazon-de": "marketplace.amazon.de",
    "amazon-mx": "marketplace.amazon.com.mx",
}


# --- anomalies: what auto-review must hold --------------------------------------------------------------


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
        language: tuple(
            r for r in remarks + _MORE_REMARKS.get(language, ()) if _has_keyword(r) == has_keyword
        )
        for language, remarks in _REMARKS.items()
    }


_CALM_REMARKS = _remarks_where(has_keyword=False)
_KEYWORD_REMARKS = _remarks_where(has_keyword=True)


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
_FRAUDS = (
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
    emails=frozenset(f.email for f in _FRAUDS),
    phones=frozenset(f.phone for f in _FRAUDS),
    buyers=frozenset(f.platform_id for f in _FRAUDS if f.platform_id),
    addresses=frozenset((a["line1"], a["postal_code"], a["country"]) for a in (f.address for f in _FRAUDS)),
)

# Post office boxes as each country writes them ('$' and '#' as in other patterns).
_PO_BOXES = {
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
_PLACEHOLDERS = {"CN": ("无", "-"), "JP": ("なし", "-")}
_LATIN_PLACEHOLDERS = ("N/A", "-")
# Where a mismatched billing address says the card is from.
_BILLING_ELSEWHERE = ("US", "GB", "CN", "NG", "RU", "BR", "IN", "UA", "HK", "AE")
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


def _shape(code: str) -> str:
    """A postal code, or its pattern, with every digit as 9 and every letter as A."""
    return "".join("9" if c in "#$" or c.isdigit() else "A" if c in "@%" or c.isalpha() else c for c in code)


# The shapes of each country's postal codes (Vietnam has two: five digits since 2017, six before).
_POSTAL_SHAPES = {
    country.code: frozenset(_shape(place[2]) for place in country.places) for country in _COUNTRIES.values()
}
# For each country, the sample codes of other countries that cannot pass for one of its own.
_FOREIGN_POSTAL_CODES = {
    country: tuple(
        sample
        for origin, sample in _SAMPLE_POSTAL_CODES.items()
        if origin != country and _shape(sample) not in shapes
    )
    for country, shapes in _POSTAL_SHAPES.items()
}


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
        skus: list[str] = []
        weights: list[float] = []
        for listing in catalog.listings:
            if listing.shop != shop.code:
                continue
            title, price = prices[listing.sku]
            line: dict[str, Any] = {"platform_sku": listing.platform_sku, "listing_id": listing.listing_id}
            self.items.append(
                {k: v for k, v in line.items() if v is not None} | {"title": title, "unit_price": price}
            )
            skus.append(listing.sku)
            weights.append(popularity[listing.sku])
        self.cumulative = list(accumulate(weights))
        self.position = {sku: index for index, sku in enumerate(skus)}
        # Clean orders of the anomaly mode draw only what can ship now: a weight of 0 is never drawn.
        unavailable = catalog.sold_out() | {sku for sku, _ in catalog.presale}
        self.clean_cumulative = list(
            accumulate(
                0.0 if any(c in unavailable for c, _ in catalog.components(sku)) else weight
                for sku, weight in zip(skus, weights, strict=True)
            )
        )
        self.median_total = 0.0  # both measured by calibrate(), for the anomaly mode
        self.ceiling = math.inf
        self.buyers: list[tuple[dict[str, Any], dict[str, Any]]] = []
        self.orders_by_buyer: list[int] = []
        self.first_buyer_number = 0  # a buyer's number makes their platform id

    def lines(
        self, draw: Callable[[], float], cumulative: list[float], first: int | None = None
    ) -> tuple[list[dict[str, Any]], int]:
        """Distinct items by ``cumulative`` weight, the item at ``first`` among them if given, and their
        subtotal."""
        count = _LINE_COUNT_TABLE[int(draw() * len(_LINE_COUNT_TABLE))]
        items, top = self.items, cumulative[-1]
        chosen: list[int] = [] if first is None else [first]
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

    def charges(self, subtotal: int, discount: int) -> tuple[int, int]:
        """Shipping (waived from the threshold up) and sales tax on the subtotal less its discount."""
        shop = self.shop
        shipping = 0 if subtotal >= shop.free_shipping_over else shop.shipping_fee
        return shipping, round((subtotal - discount) * shop.sales_tax)

    def calibrate(self) -> None:
        """Measure the median order total, and set the subtotal clean orders stay under."""
        draw = random.Random(0).random  # a stream of its own, so that the generator's does not move
        totals = []
        for _ in range(_CALIBRATION_ORDERS):
            subtotal = self.lines(draw, self.clean_cumulative)[1]
            shipping, tax = self.charges(subtotal, 0)
            totals.append(subtotal + shipping + tax)
        self.median_total = sorted(totals)[len(totals) // 2]
        self.ceiling = _CLEAN_CEILING * self.median_total / (1 + self.shop.sales_tax)


# Orders sampled per shop to measure its median total; the estimate is within a few percent.
_CALIBRATION_ORDERS = 1_001
# Clean orders stay under this many median totals, HIGH_VALUE ones fall in this range: auto-review looks
# twice from somewhere between, and the margins absorb the estimate's error, coupons and rounding.
_CLEAN_CEILING = 6
_HIGH_VALUE = (20, 30)
# Outside a burst no two orders share an e-mail, phone, platform id or address within this many
# seconds: auto-review holds the third similar order within 10 minutes, and this keeps well clear.
_QUIET_SECONDS = 15 * 60
# Platform ids come from a buyer's number. The anomaly mode gives each shop its own range, so that no
# two shops' buyers share an id (auto-review would take them for one buyer), and numbers the buyers of
# anomalies and bursts, who never join a pool, from _STRANGERS up.
_BUYERS_PER_SHOP = 500_000
_STRANGERS = 10_000_000


@dataclass(slots=True)
class _Burst:
    """One buyer ordering the same item again and again within minutes."""

    stream: _ShopStream
    who: tuple[dict[str, Any], dict[str, Any]]  # buyer and address
    item: int  # index of the item in every order of the burst
    sent: int = 0


class OrderGenerator:
    """Normalized orders as plain dicts, the same sequence for the same seed and catalog.

    Orders arrive in ``placed_at`` order from ``start``, about ``per_hour`` an hour. External ids are
    unique within one generator; give generators that must not collide different ``first_number``.

    With ``anomaly_rate`` above 0, about that share of orders is labelled with an :class:`Anomaly`, each
    kind about as often as the others (a VELOCITY burst of 3 to 5 orders labels its third and later
    ones); every order has one anomaly at most, and the rest are orders auto-review should approve.
    The catalog needs sold-out and presale SKUs, as ``default_catalog(markets="global")`` has.
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
        anomaly_rate: float = 0.0,
    ) -> None:
        if not 0.0 <= anomaly_rate <= 1.0:
            raise ValueError(f"anomaly_rate is a share from 0 to 1, not {anomaly_rate}")
        if anomaly_rate and not (catalog.sold_out() and catalog.presale):
            raise ValueError(
                "anomalies need sold-out and presale SKUs, as in default_catalog(markets='global')"
            )
        self.random = random.Random(seed)
        self.catalog = catalog
        self.anomaly_rate = anomaly_rate
        self._streams = [_ShopStream(shop, catalog) for shop in catalog.shops]
        self._shop_cumulative = list(accumulate(shop.share for shop in catalog.shops))
        self._clock = start.timestamp()
        self._mean_gap = 3600 / per_hour
        self._number = first_number
        # The anomaly mode never cancels (a cancelled order is not reviewed) and keeps keywords out of
        # clean remarks.
        self._cancel_rate = 0.0 if anomaly_rate else 0.005
        self._remarks = _CALM_REMARKS if anomaly_rate else _REMARKS
        self._labels = dict.fromkeys(Anomaly, 0)  # VELOCITY counts what scheduled bursts will label
        self._sold_out = sorted(catalog.sold_out())
        self._bursts: list[tuple[float, int, _Burst]] = []  # a heap of (due, tie-breaker, burst)
        self._burst_numbers = itertools.count()
        self._strangers = itertools.count(_STRANGERS)
        self._recent: deque[tuple[float, frozenset[str]]] = deque()  # (time, identity) of recent orders
        self._recent_count: dict[str, int] = {}  # identity key -> orders in the window
        self._labels_ahead = 0  # labels bursts scheduled beyond the one anomaly their draw stood for
        if anomaly_rate:
            for number, stream in enumerate(self._streams):
                stream.first_buyer_number = number * _BUYERS_PER_SHOP
                stream.calibrate()

    def orders(self, n: int) -> Iterator[dict[str, Any]]:
        for _ in range(n):
            yield self.order()

    def labelled_orders(self, n: int) -> Iterator[tuple[dict[str, Any], Anomaly | None]]:
        for _ in range(n):
            yield self.labelled()

    def order(self) -> dict[str, Any]:
        return self.labelled()[0]

    def labelled(self) -> tuple[dict[str, Any], Anomaly | None]:
        """The next order, and what is wrong with it (None: nothing)."""
        if not self.anomaly_rate:
            return self._ordinary(), None
        rng = self.random
        gap = rng.expovariate(1 / self._mean_gap)
        burst = None
        if self._bursts and self._bursts[0][0] <= self._clock + gap:
            self._clock, _, burst = heapq.heappop(self._bursts)
        else:
            self._clock += gap
        placed = datetime.fromtimestamp(int(self._clock), UTC)
        self._forget_until(self._clock - _QUIET_SECONDS)
        label = None
        if burst is not None:
            order = self._burst_order(burst, placed)
            label = Anomaly.VELOCITY if burst.sent >= 3 else None
        elif rng.random() >= self.anomaly_rate:
            order = self._clean(placed)
        elif self._labels_ahead:  # a burst has labelled this draw's order in advance
            self._labels_ahead -= 1
            order = self._clean(placed)
        else:
            kind = self._next_kind(placed)
            if kind is Anomaly.VELOCITY:
                order = self._start_burst(placed)
            else:
                order, label = self._anomalous(kind, placed), kind
        self._remember(_identity(order["buyer"], order["shipping_address"]))
        return order, label

    def _ordinary(self) -> dict[str, Any]:
        """The default stream: the hot path."""
        rng = self.random
        self._clock += rng.expovariate(1 / self._mean_gap)
        placed = datetime.fromtimestamp(int(self._clock), UTC)
        touched = self._touched()
        stream = self._stream()
        index = self._buyer(stream)
        stream.orders_by_buyer[index] += 1
        lines, subtotal = stream.lines(rng.random, stream.cumulative)
        previous = stream.orders_by_buyer[index] - 1
        return self._compose(placed, touched, stream, stream.buyers[index], previous, lines, subtotal)

    def _touched(self) -> int:
        """Seconds after placement of the order's last update: most orders are paid at once; some (bank
        transfer, COD review) are touched again later."""
        draw = self.random.random
        return 0 if draw() < 0.8 else int(draw() * 7200)

    def _stream(self) -> _ShopStream:
        return self._streams[bisect(self._shop_cumulative, self.random.random() * self._shop_cumulative[-1])]

    def _compose(
        self,
        placed: datetime,
        touched: int,
        stream: _ShopStream,
        who: tuple[dict[str, Any], dict[str, Any]],
        previous: int,
        lines: list[dict[str, Any]],
        subtotal: int,
    ) -> dict[str, Any]:
        """An order of ``lines`` from ``who`` (buyer and address), who ordered ``previous`` times before."""
        rng = self.random
        draw = rng.random
        number = self._number
        self._number += 1
        placed_at = placed.isoformat()
        shop, channel = stream.shop, stream.channel
        buyer, address = who
        discount = subtotal // 10 if draw() < 0.06 else 0  # a 10% coupon
        shipping, tax = stream.charges(subtotal, discount)
        payment_method = _pick(rng, channel.payment_methods)
        order: dict[str, Any] = {
            "shop": shop.code,
            "external_id": stream.external_id(number, placed),
            "placed_at": placed_at,
            "updated_at": (placed + timedelta(seconds=touched)).isoformat() if touched else placed_at,
            "currency": shop.currency,
            "payment_status": "pending" if payment_method in _COD_METHODS else "paid",
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
            "tags": self._tags(stream, previous),
        }
        if draw() < 0.03:  # a gift: someone else receives it
            country = _COUNTRIES[address["country"]]
            (given, _), (family, _) = _pick_name(rng, country)
            order["shipping_address"]["name"] = country.full_name(given, family)
        if draw() < 0.08:
            order["buyer_remark"] = _remark(rng, address["country"], self._remarks)
        if draw() < self._cancel_rate:
            order["cancelled"] = True
            order["platform_status"] = "cancelled"
        return order

    # --- the anomaly mode

    def _clean(self, placed: datetime) -> dict[str, Any]:
        stream = self._stream()
        index = self._buyer(stream)
        while not self._quiet(_identity(*stream.buyers[index])):  # ordered minutes ago: someone new instead
            index = self._add_buyer(stream)
        stream.orders_by_buyer[index] += 1
        lines, subtotal = self._clean_lines(stream)
        previous = stream.orders_by_buyer[index] - 1
        return self._compose(placed, self._touched(), stream, stream.buyers[index], previous, lines, subtotal)

    def _clean_lines(self, stream: _ShopStream, first: int | None = None) -> tuple[list[dict[str, Any]], int]:
        """Lines that can ship now, worth less than the stream's ceiling, with the item at ``first``."""
        while True:
            lines, subtotal = stream.lines(self.random.random, stream.clean_cumulative, first)
            if subtotal <= stream.ceiling:
                return lines, subtotal

    def _next_kind(self, placed: datetime) -> Anomaly:
        """One of the kinds labelled least so far, so that every kind gets its share."""
        kinds = [k for k in Anomaly if k is not Anomaly.PRESALE or self._unreleased(placed)]
        fewest = min(self._labels[k] for k in kinds)
        kind = _pick(self.random, [k for k in kinds if self._labels[k] == fewest])
        if kind is not Anomaly.VELOCITY:
            self._labels[kind] += 1
        return kind

    def _unreleased(self, placed: datetime) -> list[str]:
        return [sku for sku, until in self.catalog.presale if until > placed]

    def _anomalous(self, kind: Anomaly, placed: datetime) -> dict[str, Any]:
        """An order from a new buyer with ``kind`` wrong with it and nothing else."""
        rng = self.random
        stream = self._stream()
        while True:
            if kind is Anomaly.HIGH_VALUE:
                lines, subtotal = self._high_value_lines(stream)
            elif kind in (Anomaly.OUT_OF_STOCK, Anomaly.PRESALE):
                skus = self._sold_out if kind is Anomaly.OUT_OF_STOCK else self._unreleased(placed)
                lines, subtotal = self._clean_lines(stream, stream.position[_pick(rng, skus)])
            else:
                lines, subtotal = self._clean_lines(stream)
            order = self._compose(placed, self._touched(), stream, self._stranger(stream), 0, lines, subtotal)
            spoil = _SPOILERS.get(kind)
            if spoil is not None:
                spoil(rng, order, stream)
            # The fraud identity itself may recur; anything else shared with a recent order is drawn again.
            if self._quiet(_identity(order["buyer"], order["shipping_address"]) - _BLACKLISTED_KEYS):
                return order

    def _high_value_lines(self, stream: _ShopStream) -> tuple[list[dict[str, Any]], int]:
        """Lines worth 20 to 30 times the shop's median order: clean ones, the first in bulk."""
        draw = self.random.random
        low, high = _HIGH_VALUE
        target = (low + (high - low) * draw()) * stream.median_total / (1 + stream.shop.sales_tax)
        lines, _ = stream.lines(draw, stream.clean_cumulative)
        for line in lines:
            line.pop("discount", None)
        rest = sum(line["unit_price"] * line["quantity"] for line in lines[1:])
        if rest > target / 2:
            lines, rest = lines[:1], 0
        bulk = lines[0]
        bulk["quantity"] = max(1, math.ceil((target - rest) / bulk["unit_price"]))
        return lines, rest + bulk["unit_price"] * bulk["quantity"]

    def _start_burst(self, placed: datetime) -> dict[str, Any]:
        """The first order of a burst of 3 to 5 from a new buyer; the others are due within 8 minutes."""
        rng = self.random
        stream = self._stream()
        who = self._stranger(stream)
        while not self._quiet(_identity(*who)):
            who = self._stranger(stream)
        cumulative = stream.clean_cumulative
        burst = _Burst(stream, who, bisect(cumulative, rng.random() * cumulative[-1]))
        size = _between(rng, 3, 5)
        for offset in sorted(_between(rng, 20, 480) for _ in range(size - 1)):
            heapq.heappush(self._bursts, (self._clock + offset, next(self._burst_numbers), burst))
        self._labels[Anomaly.VELOCITY] += size - 2
        self._labels_ahead += size - 3
        return self._burst_order(burst, placed)

    def _burst_order(self, burst: _Burst, placed: datetime) -> dict[str, Any]:
        burst.sent += 1
        stream = burst.stream
        lines, subtotal = self._clean_lines(stream, burst.item)
        return self._compose(placed, self._touched(), stream, burst.who, burst.sent - 1, lines, subtotal)

    def _stranger(self, stream: _ShopStream) -> tuple[dict[str, Any], dict[str, Any]]:
        """A new buyer who stays out of the shop's pool, so never comes back."""
        return self._new_buyer(stream, next(self._strangers))

    def _quiet(self, identity: frozenset[str]) -> bool:
        """Whether no recent order shares any of ``identity``."""
        return not any(key in self._recent_count for key in identity)

    def _remember(self, identity: frozenset[str]) -> None:
        self._recent.append((self._clock, identity))
        for key in identity:
            self._recent_count[key] = self._recent_count.get(key, 0) + 1

    def _forget_until(self, limit: float) -> None:
        recent, counts = self._recent, self._recent_count
        while recent and recent[0][0] <= limit:
            for key in recent.popleft()[1]:
                counts[key] -= 1
                if not counts[key]:
                    del counts[key]

    # --- buyers, tags

    def _buyer(self, stream: _ShopStream) -> int:
        """A returning buyer (loyal ones more often) or a new one."""
        seen = len(stream.buyers)
        draw = self.random.random
        if seen and draw() < self.repeat_rate:
            return int(seen * draw() ** 2)
        return self._add_buyer(stream)

    def _add_buyer(self, stream: _ShopStream) -> int:
        index = len(stream.buyers)
        stream.buyers.append(self._new_buyer(stream, stream.first_buyer_number + index))
        stream.orders_by_buyer.append(0)
        return index

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

    def _tags(self, stream: _ShopStream, previous: int) -> list[str]:
        draw = self.random.random
        tags = ["repeat-buyer"] if previous else []
        if previous >= 3:
            tags.append("vip")
        for tag, chance in stream.channel.tags:
            if draw() < chance:
                tags.append(tag)
        return tags


def _remark(rng: random.Random, country: str, remarks: dict[str, tuple[str, ...]]) -> str:
    if country == "CN" or (country in ("SG", "MY") and rng.random() < 0.2):
        return _pick(rng, remarks["zh"])
    return _pick(rng, remarks[_LANGUAGES.get(country, "en")])


# --- what makes an order anomalous: each spoils one thing of an otherwise clean order -------------------


def _address_key(address: dict[str, Any]) -> str:
    return f"a:{address['line1']}|{address.get('postal_code')}|{address['country']}"


def _identity(buyer: dict[str, Any], address: dict[str, Any]) -> frozenset[str]:
    """What tells buyers apart when spotting bursts: e-mail, phones, platform id and address."""
    keys = {_address_key(address)}
    for prefix, value in (
        ("e:", buyer.get("email")),
        ("p:", buyer.get("phone")),
        ("p:", address.get("phone")),
        ("i:", buyer.get("platform_id")),
    ):
        if value:
            keys.add(prefix + value)
    return frozenset(keys)


_BLACKLISTED_KEYS = frozenset().union(
    *(
        _identity({"email": f.email, "phone": f.phone, "platform_id": f.platform_id}, f.address)
        for f in _FRAUDS
    )
)


def _drop_address_field(rng: random.Random, order: dict[str, Any], stream: _ShopStream) -> None:
    """No postal code, or a placeholder for line1 (then without line2) or the city."""
    address = order["shipping_address"]
    field = _pick(rng, ("postal_code", "line1", "city"))
    if field == "postal_code":
        address["postal_code"] = None
        return
    if field == "line1":
        address.pop("line2", None)
    address[field] = _pick(rng, _PLACEHOLDERS.get(address["country"], _LATIN_PLACEHOLDERS))


def _garble_postal_code(rng: random.Random, order: dict[str, Any], stream: _ShopStream) -> None:
    """A code of a shape the country never uses: cut short, run on, a letter for a digit, or another
    country's."""
    address = order["shipping_address"]
    code, shapes = address["postal_code"], _POSTAL_SHAPES[address["country"]]
    style = int(rng.random() * 4)
    if style == 0:
        while _shape(code) in shapes:
            code = code[:-1]
    elif style == 1:
        while _shape(code) in shapes:
            code += _pick(rng, _DIGITS)
    elif style == 2:
        last = max(i for i, c in enumerate(code) if c.isdigit())
        code = f"{code[:last]}{_pick(rng, 'OIS')}{code[last + 1 :]}"
    else:
        code = _pick(rng, _FOREIGN_POSTAL_CODES[address["country"]])
    address["postal_code"] = code


def _garble_phone(rng: random.Random, order: dict[str, Any], stream: _ShopStream) -> None:
    """A phone the country has no such number for: cut short, run on, or with a prefix none starts with."""
    buyer, address = order["buyer"], order["shipping_address"]
    phone, country = address["phone"], address["country"]
    calling_code, national = phone.split(" ", 1)
    garbled = [phone[:-3], phone + _fill(rng, "###"), f"{calling_code} 0{national[1:]}"]
    first = int(rng.random() * len(garbled))
    bad = next(p for p in garbled[first:] + garbled[:first] if not _is_phone_of(p, country))
    if buyer.get("phone") == phone:
        buyer["phone"] = bad
    address["phone"] = bad


def _is_phone_of(phone: str, country: str) -> bool:
    try:
        return bool(phonenumbers.is_valid_number_for_region(phonenumbers.parse(phone, country), country))
    except phonenumbers.NumberParseException:
        return False


def _ship_to_po_box(rng: random.Random, order: dict[str, Any], stream: _ShopStream) -> None:
    address = order["shipping_address"]
    address.pop("line2", None)
    address["line1"] = _fill(rng, _pick(rng, _PO_BOXES[address["country"]]))


def _add_keyword_remark(rng: random.Random, order: dict[str, Any], stream: _ShopStream) -> None:
    order["buyer_remark"] = _remark(rng, order["shipping_address"]["country"], _KEYWORD_REMARKS)


def _bill_elsewhere(rng: random.Random, order: dict[str, Any], stream: _ShopStream) -> None:
    shipped_to = order["shipping_address"]["country"]
    order["billing_country"] = _pick(rng, [c for c in _BILLING_ELSEWHERE if c != shipped_to])


def _use_fraud_identity(rng: random.Random, order: dict[str, Any], stream: _ShopStream) -> None:
    """One field of a known fraud identity, of those the shop's orders carry: e-mail, platform id, and
    the phone or address of a fraud in the same country."""
    buyer, address = order["buyer"], order["shipping_address"]
    local = [f for f in _FRAUDS if f.address["country"] == address["country"]]
    frauds_by_field = {
        "email": _FRAUDS if "email" in buyer and stream.channel.email == "own" else (),
        "platform_id": [f for f in _FRAUDS if f.channel == stream.shop.channel and f.platform_id],
        "phone": local,
        "address": local,
    }
    field = _pick(rng, [field for field, frauds in frauds_by_field.items() if frauds])
    fraud = _pick(rng, frauds_by_field[field])
    if field == "address":
        address.pop("line2", None)
        address.pop("region", None)
        address |= fraud.address
    elif field == "phone":
        if "phone" in buyer:
            buyer["phone"] = fraud.phone
        address["phone"] = fraud.phone
    else:
        buyer[field] = getattr(fraud, field)


def _leave_unpaid(rng: random.Random, order: dict[str, Any], stream: _ShopStream) -> None:
    """Awaiting a payment that is not cash on delivery, still so hours later."""
    placed = datetime.fromisoformat(order["placed_at"])
    order["payment_status"] = "pending"
    order["payment_method"], order["platform_status"] = stream.channel.unpaid
    order["updated_at"] = (placed + timedelta(seconds=_between(rng, 2 * 3600, 6 * 3600))).isoformat()


# HIGH_VALUE, OUT_OF_STOCK and PRESALE are in the lines, VELOCITY in the timing: they have none.
_SPOILERS: dict[Anomaly, Callable[[random.Random, dict[str, Any], _ShopStream], None]] = {
    Anomaly.MISSING_ADDRESS_FIELD: _drop_address_field,
    Anomaly.BAD_POSTAL_CODE: _garble_postal_code,
    Anomaly.BAD_PHONE: _garble_phone,
    Anomaly.PO_BOX: _ship_to_po_box,
    Anomaly.REMARK_KEYWORD: _add_keyword_remark,
    Anomaly.COUNTRY_MISMATCH: _bill_elsewhere,
    Anomaly.BLACKLISTED: _use_fraud_identity,
    Anomaly.UNPAID: _leave_unpaid,
}


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
