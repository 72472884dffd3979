"""Orderly: one order and inventory hub for sellers on many shops at once."""

__version__ = "0.1.0"
