"""Finds a carrier's connector by plugin name: ``orderly.fulfilment.carriers.<name>`` exposes
``CONNECTOR``, as channels do."""

from __future__ import annotations

import importlib
from functools import cache

from orderly.fulfilment.carriers.connector import CarrierConnector

#: The plugins this hub ships; an account may name only these.
PLUGINS = ("manual", "easypost", "dhl_express", "platform")


@cache
def connector_class(plugin: str) -> type[CarrierConnector] | None:
    if plugin not in PLUGINS:
        return None
    module = importlib.import_module(f"orderly.fulfilment.carriers.{plugin}")
    connector: type[CarrierConnector] | None = getattr(module, "CONNECTOR", None)
    return connector
