"""Sandbox: realistic, seeded demo data (a catalog and a stream of normalized orders) for demos,
benchmarks and tests."""

from orderly.sandbox.generator import (
    Bundle,
    Catalog,
    Listing,
    OrderGenerator,
    Product,
    Shop,
    Stock,
    Warehouse,
    build_catalog,
    default_catalog,
)

__all__ = [
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
