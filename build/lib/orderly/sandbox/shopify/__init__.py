"""A sandbox Shopify shop: the Admin REST API (2024-01) as Shopify answers it (the shop, orders with
their filters and count, stock levels, fulfillments, webhook subscriptions), with Shopify's call
bucket, cursor pagination and signed order webhooks, plus injected faults; scriptable from Python
(:class:`ShopifyStore`) and over HTTP (``/_sandbox``, see :func:`create_app`). Tests drive it with
Shopify's own library (ShopifyAPI) to keep it honest."""

from orderly.sandbox.shopify.app import create_app
from orderly.sandbox.shopify.models import (
    AddressIn,
    CancelIn,
    CustomerIn,
    Faults,
    LineIn,
    OrderChange,
    OrderIn,
    ProductIn,
    VariantIn,
    WebhookTarget,
)
from orderly.sandbox.shopify.store import API_VERSION, ApiError, ShopifyStore

__all__ = [
    "API_VERSION",
    "AddressIn",
    "ApiError",
    "CancelIn",
    "CustomerIn",
    "Faults",
    "LineIn",
    "OrderChange",
    "OrderIn",
    "ProductIn",
    "ShopifyStore",
    "VariantIn",
    "WebhookTarget",
    "create_app",
]
