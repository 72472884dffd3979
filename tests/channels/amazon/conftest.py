from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from orderly.channels.amazon import AmazonConnector
from orderly.channels.connector import ShopConnection
from orderly.sandbox.amazon import AmazonStore, create_app
from tests.sandbox.amazon.support import NO_KEEPALIVE, Switch, make_store, switched

Connect = Callable[..., AmazonConnector]


@pytest.fixture
def store() -> AmazonStore:
    AmazonConnector.forget_items()  # a fresh sandbox gives the same order ids again
    return make_store()


@pytest.fixture(scope="session")
def server() -> Iterator[tuple[Switch, str]]:
    with switched() as served:
        yield served


@pytest.fixture
def base_url(server: tuple[Switch, str], store: AmazonStore) -> str:
    switch, url = server
    switch.app = create_app(store)
    return url


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=5, limits=NO_KEEPALIVE) as client:
        yield client


@pytest.fixture
def connect(store: AmazonStore, base_url: str, client: httpx.Client) -> Connect:
    """A connector to the sandbox; keyword arguments override credentials and settings."""

    def make(*, http: httpx.Client = client, **overrides: Any) -> AmazonConnector:
        credentials = {
            "client_id": store.client_id,
            "client_secret": store.client_secret,
            "refresh_token": store.refresh_token,
        }
        settings: dict[str, Any] = {
            "marketplace_id": store.marketplace_id,
            "seller_id": store.seller_id,
            "before_lag_seconds": 0,
        }
        for key, value in overrides.items():
            (credentials if key in credentials else settings)[key] = value
        return AmazonConnector(ShopConnection(7, "amazon-us", base_url, credentials, settings), http)

    return make
