"""A local Amazon Selling Partner API: one seller account in one marketplace, served over HTTP.

It answers the calls Orderly's Amazon connector makes (LWA token exchange, Restricted Data Tokens,
Orders v0, Listings Items 2021-08-01) with the published payload shapes, error bodies and
per-operation rate limits (buyer data only to a call carrying an RDT for it), and lets a
test, a demo or a benchmark script the seller's world, from Python through :class:`AmazonStore` or
from another process through ``/_sandbox/...``::

    store = AmazonStore(rates=FAST_RATES, before_lag_seconds=0)  # published limits by default
    store.add_listing("MUG-1", price="12.50")
    order_id = store.place_order([Line("MUG-1", 2)])  # Pending: no address, no prices yet
    store.pay(order_id)                               # Unshipped: the address and prices appear
    with serving(create_app(store)) as base_url: ...

Amazon has no order webhooks in this scope (Notifications need SQS), so clients poll.
"""

from orderly.sandbox.amazon.app import create_app
from orderly.sandbox.amazon.store import (
    FAST_RATES,
    PUBLISHED_RATES,
    AmazonStore,
    Faults,
    Line,
    SandboxError,
)

__all__ = ["FAST_RATES", "PUBLISHED_RATES", "AmazonStore", "Faults", "Line", "SandboxError", "create_app"]
