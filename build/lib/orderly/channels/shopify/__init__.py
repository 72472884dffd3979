"""Shopify: the Admin REST API (2024-01) for orders, stock and shipments, and order webhooks."""

from orderly.channels.shopify.connector import ShopifyConnector

CONNECTOR = ShopifyConnector

__all__ = ["CONNECTOR", "ShopifyConnector"]
