"""Amazon Selling Partner API channel: see :mod:`orderly.channels.amazon.connector`."""

from orderly.channels.amazon.connector import AmazonConnector

CONNECTOR = AmazonConnector

__all__ = ["CONNECTOR", "AmazonConnector"]
