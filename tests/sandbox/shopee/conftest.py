from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from orderly.sandbox.serve import serving
from orderly.sandbox.shopee import ShopeeStore, create_app


@pytest.fixture
def store() -> ShopeeStore:
    return ShopeeStore(seed=3)


@pytest.fixture
def url(store: ShopeeStore) -> Iterator[str]:
    with serving(create_app(store)) as base_url:
        yield base_url


@pytest.fixture
def http(url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=url, timeout=10) as client:
        yield client
