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

One module a part: ``catalog``, ``countries`` (names, addresses, postal codes and phones), ``channels``
(remarks and each platform's habits), ``anomalies``, ``spoilers`` (how an anomaly spoils an order),
``orders`` (the generator) and ``draw`` (cheap random draws).
"""

from orderly.sandbox.generator.anomalies import BLACKLIST, Anomaly
from orderly.sandbox.generator.catalog import (
    Bundle,
    Catalog,
    Listing,
    Product,
    Shop,
    Stock,
    Warehouse,
    build_catalog,
    default_catalog,
)
from orderly.sandbox.generator.orders import OrderGenerator

__all__ = [
    "BLACKLIST",
    "Anomaly",
    "Bundle",
    "Catalog",
    "Listing",
    "OrderGenerator",
    "Product",
    "Shop",
    "Stock",
    "Warehouse",
    "build_catalog",
    "default_catalog",
]
