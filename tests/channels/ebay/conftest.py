from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from orderly.channels.connector import ShopConnection
from orderly.channels.ebay import EbayConnector, client
from orderly.sandbox.ebay import EbayStore, create_app
from orderly.sandbox.serve import serving

Connect = Callable[..., EbayConnector]


@pytest.fixture(autouse=True)
def fresh_tokens() -> Iterator[None]:
    """Each test's connectors start from their own credentials, not tokens an earlier test refreshed."""
    client._SHELF.clear()
    yield
    client._SHELF.clear()


@pytest.fixture
def store() -> Iterator[EbayStore]:
    store = EbayStore(seed=3)
    yield store
    store.close()


@pytest.fixture
def base_url(store: EbayStore) -> Iterator[str]:
    with serving(create_app(store)) as url:
        yield url


@pytest.fixture
def http(base_url: str) -> Iterator[httpx.Client]:
    """As the engine makes it: based at the shop's address."""
    with httpx.Client(base_url=base_url, timeout=2) as http:
        yield http


@pytest.fixture
def connect(store: EbayStore, base_url: str, http: httpx.Client) -> Connect:
    """A connector to the sandbox; keyword arguments override credentials and settings."""

    def make(*, http_client: httpx.Client = http, **overrides: Any) -> EbayConnector:
        credentials = {
            "client_id": store.client_id,
            "client_secret": store.client_secret,
            "ru_name": store.ru_name,
            "refresh_token": store.refresh_token,
            "access_token": store.access_token,
            "access_token_expires_at": str(int(store.now().timestamp()) + 7000),
        }
        settings: dict[str, Any] = {}
        for key, value in overrides.items():
            (credentials if key in credentials else settings)[key] = value
        connection = ShopConnection(7, "ebay", base_url, credentials, settings)
        return EbayConnector(connection, http_client)

    return make
