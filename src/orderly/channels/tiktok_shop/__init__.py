"""TikTok Shop: the Partner API (version 202309) for orders, stock and packages, and order
notifications by webhook; see :mod:`orderly.channels.tiktok_shop.connector`."""

from orderly.channels.tiktok_shop.connector import TikTokShopConnector

CONNECTOR = TikTokShopConnector

__all__ = ["CONNECTOR", "TikTokShopConnector"]
