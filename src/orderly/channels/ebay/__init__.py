"""eBay: the Sell APIs (Fulfillment v1 for orders and tracking, Inventory v1 for stock) and Marketplace
Account Deletion notifications by webhook; see :mod:`orderly.channels.ebay.connector`."""

from orderly.channels.ebay.connector import EbayConnector

CONNECTOR = EbayConnector

__all__ = ["CONNECTOR", "EbayConnector"]
