"""A local eBay (Sell Fulfillment v1, Inventory v1, OAuth, Marketplace Account Deletion): one seller,
served over HTTP.

It answers the calls Orderly's eBay connector makes (the token endpoint's two grants, getOrders and
getOrder, shipping fulfillments read and created, bulkUpdatePriceQuantity, the notification public key)
with eBay's error bodies, checks the bearer token and its expiry, and sends signed account deletion
notifications to a webhook URL. A test, a demo or a script drives it from Python through
:class:`EbayStore` or from another process through ``/_sandbox/...``::

    store = EbayStore(seed=1)
    store.add_listing("MUG-1", price="12.50", quantity=10)
    order = store.place_order([Line("MUG-1", 2)])     # NOT_STARTED, PAID, the quantity taken
    store.quantity("MUG-1")                           # what the listing holds now
    with serving(create_app(store)) as base_url: ...
"""

from orderly.sandbox.ebay.app import create_app
from orderly.sandbox.ebay.store import EbayStore, Faults, Line, Listing, SandboxError

__all__ = ["EbayStore", "Faults", "Line", "Listing", "SandboxError", "create_app"]
