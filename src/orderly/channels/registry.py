"""Finds a channel's connector by name: the package ``orderly.channels.<name>`` exposes ``CONNECTOR``."""

from __future__ import annotations

import importlib
import pkgutil
from functools import cache

import orderly.channels
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


def installed_channels() -> list[str]:
    """Every channel whose connector plugin is installed (a package of ``orderly.channels`` exposing
    ``CONNECTOR``), by name."""
    packages = pkgutil.iter_modules(orderly.channels.__path__)
    return sorted(name for _, name, is_package in packages if is_package and connector_class(name))
