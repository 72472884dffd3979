"""Sandbox: local servers that follow the platforms' and carriers' published contracts, and realistic
seeded demo data, for demos, benchmarks and tests.

- A package per platform or carrier: a scriptable store, its app (``create_app``), scripted through
  ``/_sandbox``, and ``python -m orderly.sandbox.<name>`` to serve it in a process of its own
  (``serve.py``: ``sandbox_parser``, ``serve_sandbox``; ``serving`` runs an app for the length of a block).
- ``faults.py``: dropped connections in front of any sandbox; ``bucket.py``: the token bucket most of
  them limit calls with; ``labels.py``: the label files carrier sandboxes hand out.
- ``generator/``: a catalog and a stream of normalized orders (with labelled anomalies).
- ``demo.py``: the sandbox shops and carriers behind ``orderly start --demo``.
"""

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
