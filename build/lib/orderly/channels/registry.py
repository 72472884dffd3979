"""Finds a channel's connector by name: the package ``orderly.channels.<name>`` exposes ``CONNECTOR``."""

from __future__ import annotations

import importlib
from functools import cache

from orderly.channels.connector import Connector


@cache
def connector_class(channel: str) -> type[Connector] | None:
    """The channel's connector, or None for a channel whose orders arrive by file or API only."""
    if not channel.isidentifier():
        return None
    try:
        module = importlib.import_module(f"orderly.channels.{channel}")
    except ModuleNotFoundError:
        return None
    connector: type[Connector] | None = getattr(module, "CONNECTOR", None)
    return connector
