"""``orderly shop authorize``: the seller pastes the code the platform's authorisation page gave, and the
shop's tokens are stored with its credentials (TikTok Shop's sandbox here)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.orm import Session, sessionmaker

from orderly.channels import service as shops
from orderly.channels.secrets import unseal
from orderly.channels.tiktok_shop import client
from orderly.core.config import get_settings
from orderly.core.db import transaction
from orderly.sandbox.serve import serving
from orderly.sandbox.tiktok_shop import TikTokShopStore, create_app
from tests.cli.conftest import Cli


@pytest.fixture
def tiktok() -> Iterator[tuple[TikTokShopStore, str]]:
    client._SHELF.clear()
    store = TikTokShopStore(seed=21)
    with serving(create_app(store)) as url:
        yield store, url
    store.close()
    client._SHELF.clear()


def test_a_pasted_code_becomes_the_shops_stored_tokens(
    cli: Cli, factory: sessionmaker[Session], tiktok: tuple[TikTokShopStore, str]
) -> None:
    store, url = tiktok
    cli("shop", "add", "tt-id", "--name", "TikTok ID", "--channel", "tiktok_shop")
    secrets = f"app_key={store.app_key}\napp_secret={store.app_secret}\n"
    cli("shop", "connect", "tt-id", "--base-url", url, "--credentials-file", "-", input=secrets)
    refused = cli("shop", "authorize", "tt-id", "--auth-code", "ROW_wrong", code=1)
    assert "refused the code" in refused.output

    done = cli("shop", "authorize", "tt-id", input=f"{store.auth_code}\n")
    assert "authorised" in done.output and store.auth_code not in done.output
    with transaction(factory) as s:
        kept = unseal(get_settings(), shops.get_shop(s, "tt-id").credentials)
    assert kept["access_token"] == store.access_token and kept["refresh_token"] == store.refresh_token
    assert kept["app_secret"] == store.app_secret  # the other credentials stay


def test_a_platform_without_such_codes_says_so(cli: Cli) -> None:
    cli("shop", "add", "web", "--name", "Web", "--channel", "shopify")
    cli("shop", "connect", "web", "--base-url", "http://127.0.0.1:9", "--credential", "access_token=x")
    refused = cli("shop", "authorize", "web", "--auth-code", "abc", code=1)
    assert "shopify shops take no authorisation code" in refused.output
