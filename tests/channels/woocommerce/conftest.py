from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from orderly.channels.connector import ShopConnection
from orderly.channels.woocommerce import WooCommerceConnector
from orderly.sandbox.woocommerce import WooStore
from tests.sandbox.woocommerce.conftest import base_url, http, store, woo_server  # noqa: F401 - fixtures

Connect = Callable[..., WooCommerceConnector]


@pytest.fixture
def connect(store: WooStore, base_url: str, http: httpx.Client) -> Connect:  # noqa: F811
    """A connector to the sandbox (OAuth over its plain HTTP); keyword arguments override credentials
    and settings."""

    def make(**overrides: Any) -> WooCommerceConnector:
        given = {
            "consumer_key": store.consumer_key,
            "consumer_secret": store.consumer_secret,
            "webhook_secret": "whsec",
        }
        settings: dict[str, Any] = {}
        for key, value in overrides.items():
            (given if key in given else settings)[key] = value
        given = {k: v for k, v in given.items() if v is not None}
        return WooCommerceConnector(ShopConnection(9, "woo", base_url, given, settings), http)

    return make
