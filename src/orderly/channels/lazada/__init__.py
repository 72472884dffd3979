"""Lazada Open Platform: orders, stock, Lazada's own logistics (pack, ready to ship, label) and signed
pushes; see :mod:`orderly.channels.lazada.connector`."""

from orderly.channels.lazada.connector import LazadaConnector

CONNECTOR = LazadaConnector

__all__ = ["CONNECTOR", "LazadaConnector"]
