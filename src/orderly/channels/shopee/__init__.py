"""Shopee: Open Platform v2 for orders, seller stock and Shopee's own logistics, and push messages."""

from orderly.channels.shopee.connector import ShopeeConnector

CONNECTOR = ShopeeConnector

__all__ = ["CONNECTOR", "ShopeeConnector"]
