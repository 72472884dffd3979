from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from orderly.channels.connector import ShopConnection
from orderly.channels.tiktok_shop import TikTokShopConnector, client
from orderly.sandbox.serve import serving
from orderly.sandbox.tiktok_shop import TikTokShopStore, create_app

Connect = Callable[..., TikTokShopConnector]


@pytest.fixture(autouse=True)
def fresh_tokens() -> Iterator[None]:
    """Each test's connectors start from their own credentials, not tokens an earlier test refreshed."""
    client._SHELF.clear()
    yield
    client._SHELF.clear()


@pytest.fixture
def store() -> Iterator[TikTokShopStore]:
    store = TikTokShopStore(seed=3)
    yield store
    store.close()


@pytest.fixture
def base_url(store: TikTokShopStore) -> Iterator[str]:
    with serving(create_app(store)) as url:
        yield url


@pytest.fixture
def http(base_url: str) -> Iterator[httpx.Client]:
    """As the engine makes it: based at the shop's address."""
    with httpx.Client(base_url=base_url, timeout=5) as http:
        yield http


@pytest.fixture
def connect(store: TikTokShopStore, base_url: str, http: httpx.Client) -> Connect:
    """A connector to the sandbox; keyword arguments override credentials and settings."""

    def make(*, http_client: httpx.Client = http, **overrides: Any) -> TikTokShopConnector:
        credentials = {
            "app_key": store.app_key,
            "app_secret": store.app_secret,
            "access_token": store.access_token,
            "refresh_token": store.refresh_token,
            "access_token_expire_in": str(store.now() + 86400),
        }
        settings: dict[str, Any] = {"shop_cipher": store.shop_cipher}
        for key, value in overrides.items():
            (credentials if key in credentials else settings)[key] = value
        connection = ShopConnection(7, "tiktok", base_url, credentials, settings)
        return TikTokShopConnector(connection, http_client)

    return make
