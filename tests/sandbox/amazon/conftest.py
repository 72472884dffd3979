from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from orderly.sandbox.amazon import AmazonStore, create_app
from tests.sandbox.amazon.support import NO_KEEPALIVE, Switch, make_store, switched


@pytest.fixture(scope="session")
def server() -> Iterator[tuple[Switch, str]]:
    with switched() as served:
        yield served


@pytest.fixture
def store() -> AmazonStore:
    return make_store()


@pytest.fixture
def http(server: tuple[Switch, str], store: AmazonStore) -> Iterator[httpx.Client]:
    switch, url = server
    switch.app = create_app(store)
    with httpx.Client(base_url=url, timeout=5, limits=NO_KEEPALIVE) as client:
        yield client
