"""A local TikTok Shop Partner API (version 202309): one seller's shop, served over HTTP.

It answers the calls Orderly's TikTok Shop connector makes (token get and refresh, order search and
detail, product search, inventory update, ship package, package detail, shipping documents), signed
and checked as the contract says, with TikTok's envelope and error bodies, and pushes order
notifications to a webhook URL. A test, a demo or a benchmark scripts it from Python through
:class:`TikTokShopStore` or from another process through ``/_sandbox/...``::

    store = TikTokShopStore(seed=1)
    sku = store.add_sku("MUG-1", price="45000", stock=10)
    order = store.place_order([Line("MUG-1", 2)])      # AWAITING_SHIPMENT, the stock taken
    store.quantity("MUG-1")                            # what the listing holds now
    with serving(create_app(store)) as base_url: ...
"""

from orderly.sandbox.tiktok_shop.app import create_app
from orderly.sandbox.tiktok_shop.store import Faults, Line, SandboxError, TikTokShopStore, expected_sign

__all__ = ["Faults", "Line", "SandboxError", "TikTokShopStore", "create_app", "expected_sign"]
