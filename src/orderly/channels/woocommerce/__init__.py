"""WooCommerce: the REST API v3 of one store for orders, stock and tracking, and its signed order
webhooks; see :mod:`orderly.channels.woocommerce.connector`."""

from orderly.channels.woocommerce.connector import WooCommerceConnector

CONNECTOR = WooCommerceConnector

__all__ = ["CONNECTOR", "WooCommerceConnector"]
