"""A Lazada sandbox served once per test process, with a fresh store for every test."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from orderly.sandbox.lazada import LazadaStore, create_app
from tests.sandbox.amazon.support import NO_KEEPALIVE, Switch, switched


@pytest.fixture
def store() -> LazadaStore:
    return LazadaStore(country="SG")


@pytest.fixture(scope="session")
def lazada_server() -> Iterator[tuple[Switch, str]]:
    with switched() as served:
        yield served


@pytest.fixture
def base_url(lazada_server: tuple[Switch, str], store: LazadaStore) -> str:
    switch, url = lazada_server
    switch.app = create_app(store)
    store.base_url = url
    return f"{url}/rest"


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=5, limits=NO_KEEPALIVE) as client:
        yield client
