"""The catalog orders are written against: shops, products, bundles, warehouses, listings and
opening stock, and :func:`build_catalog`, which writes it to a database through the services."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.orm import Session, sessionmaker

from orderly.catalog import service as catalog_service
from orderly.catalog.schemas import BundleIn, ComponentIn, MappingIn, ProductIn
from orderly.channels import service as channels_service
from orderly.channels.schemas import ShopIn
from orderly.core.db import transaction
from orderly.core.money import minor_unit_exponent
from orderly.inventory import service as inventory_service
from orderly.inventory.schemas import WarehouseIn
from orderly.sandbox.generator.channels import base36


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
LINE_COUNT_TABLE = tuple(c for c, w in zip(LINE_COUNTS, LINE_COUNT_WEIGHTS, strict=True) for _ in range(w))
QUANTITY_TABLE = tuple(q for q, w in zip(QUANTITIES, QUANTITY_WEIGHTS, strict=True) for _ in range(w))

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


def price_in(usd_cents: int, currency: str) -> int:
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
        asin = "B0" + base36((number * 25_214_903_917 + 11) % 36**8, 8)
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
