from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from orderly.sandbox.shopify import ShopifyStore
from tests.sandbox.shopify.helpers import new_store, served


@pytest.fixture
def store() -> Iterator[ShopifyStore]:
    store = new_store()
    yield store
    store.close()


@pytest.fixture
def api(store: ShopifyStore) -> Iterator[httpx.Client]:
    """The store's Admin API over HTTP (paths are relative to /admin/api/2024-01/ when prefixed)."""
    with served(store) as client:
        yield client
