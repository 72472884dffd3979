"""A local Lazada Open Platform: one seller on one site, served over HTTP, written from the contract
sheet and the published samples (signing, token expiry and refresh, /orders/get paging and filters,
per-API rate limits, the published error bodies, seeded faults, signed pushes, pack and ready-to-ship,
partial failures inside a successful stock update, Fulfilment by Lazada)::

    store = LazadaStore(country="SG")
    store.add_product("MUG-1", quantity=10, price="12.50")
    order_id = store.place_order([("MUG-1", 2)])   # pending: paid, to pack
    with serving(create_app(store)) as url: ...     # the shop's base_url is f"{url}/rest"
"""

from orderly.sandbox.lazada.app import create_app
from orderly.sandbox.lazada.store import Faults, LazadaStore, SandboxError, push_signature, sign

__all__ = ["Faults", "LazadaStore", "SandboxError", "create_app", "push_signature", "sign"]
