"""A sandbox Shopee shop: Shopee Open Platform v2 as the contract sheet and the published samples
describe it (signing, tokens, order list and detail, update_stock with partial failures, logistics,
signed push messages), plus a call budget and injected faults; scriptable from Python
(:class:`ShopeeStore`) and over HTTP (``/_sandbox``, see :func:`create_app`)."""

from orderly.sandbox.shopee.app import create_app
from orderly.sandbox.shopee.store import ApiError, Faults, ShopeeStore

__all__ = ["ApiError", "Faults", "ShopeeStore", "create_app"]
