"""A WooCommerce sandbox served once per test process, with a fresh store for every test."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from orderly.sandbox.woocommerce import WooStore, create_app
from tests.sandbox.amazon.support import NO_KEEPALIVE, Switch, switched


@pytest.fixture
def store() -> WooStore:
    return WooStore()


@pytest.fixture(scope="session")
def woo_server() -> Iterator[tuple[Switch, str]]:
    with switched() as served:
        yield served


@pytest.fixture
def base_url(woo_server: tuple[Switch, str], store: WooStore) -> str:
    switch, url = woo_server
    switch.app = create_app(store)
    store.base_url = url
    return url


@pytest.fixture
def http(base_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=base_url, timeout=5, limits=NO_KEEPALIVE) as client:
        yield client
