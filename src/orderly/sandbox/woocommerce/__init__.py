"""A local WooCommerce store: its REST API v3 served over HTTP, written from the contract sheet, the
published samples and WooCommerce's REST API docs (authentication by Basic, query or OAuth 1.0a, order
lists with ``modified_after`` and ``X-WP-Total`` paging, the published error bodies, seeded faults,
signed webhooks after an unsigned ping, notes, the Shipment Tracking extension, per-object failures
inside a 200 batch answer)::

    store = WooStore()
    listing = store.add_product("MUG-1", quantity=10, price="12.50")   # "701"
    order_id = store.place_order([("MUG-1", 2)])                        # processing: paid, to ship
    with serving(create_app(store)) as url: ...                         # the shop's base_url is url
"""

from orderly.sandbox.woocommerce.app import create_app
from orderly.sandbox.woocommerce.store import (
    Faults,
    SandboxError,
    WooStore,
    oauth_signature,
    webhook_signature,
)

__all__ = ["Faults", "SandboxError", "WooStore", "create_app", "oauth_signature", "webhook_signature"]
