"""Finds a channel's connector by name: the package ``orderly.channels.<name>`` exposes ``CONNECTOR``."""

from __future__ import annotations

import importlib
from functools import cache

from orderly.channels.connector import Connector
from orderly.core.errors import DomainError

#: Channels without a connector: their orders arrive by file or API only.
OFFLINE = frozenset({"manual"})


@cache
def connector_class(channel: str) -> type[Connector] | None:
    if channel in OFFLINE:
        return None
    if not channel.isidentifier():
        raise DomainError(f"unknown channel {channel!r}", field="channel")
    try:
        module = importlib.import_module(f"orderly.channels.{channel}")
    except ModuleNotFoundError as exc:
        raise DomainError(f"unknown channel {channel!r}: no connector installed", field="channel") from exc
    connector: type[Connector] = module.CONNECTOR
    return connector
