from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from orderly.channels.connector import ShopConnection
from orderly.channels.lazada import LazadaConnector
from orderly.sandbox.lazada import LazadaStore
from tests.sandbox.lazada.conftest import base_url, http, lazada_server, store  # noqa: F401 - fixtures

Connect = Callable[..., LazadaConnector]


def credentials(lazada: LazadaStore) -> dict[str, str]:
    return {
        "app_key": lazada.app_key,
        "app_secret": lazada.app_secret,
        "access_token": lazada.access_token,
        "refresh_token": lazada.refresh_token,
    }


@pytest.fixture
def connect(store: LazadaStore, base_url: str, http: httpx.Client) -> Connect:  # noqa: F811
    """A connector to the sandbox; keyword arguments override credentials and settings."""

    def make(**overrides: Any) -> LazadaConnector:
        given = credentials(store)
        settings: dict[str, Any] = {"country": "SG"}
        for key, value in overrides.items():
            (given if key in given or key in {"code", "access_expires_at"} else settings)[key] = value
        given = {k: v for k, v in given.items() if v is not None}
        return LazadaConnector(ShopConnection(9, "lazada-sg", base_url, given, settings), http)

    return make
