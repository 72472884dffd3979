"""``orderly shop authorize`` for a Shopee shop: the code Shopee's authorization page gave the seller (or
the whole address it sent them to, ``?code=…&shop_id=…``), pasted, becomes the shop's stored tokens
(the sandbox's code, good once)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.orm import Session, sessionmaker

from orderly.channels import service as shops
from orderly.channels.secrets import unseal
from orderly.core.config import get_settings
from orderly.core.db import transaction
from orderly.sandbox.serve import serving
from orderly.sandbox.shopee import ShopeeStore, create_app
from tests.cli.conftest import Cli, cli  # noqa: F401 - the fixture


@pytest.fixture
def shopee() -> Iterator[tuple[ShopeeStore, str]]:
    store = ShopeeStore(seed=13)
    with serving(create_app(store)) as url:
        yield store, url


def test_a_pasted_code_becomes_the_shops_stored_tokens(
    cli: Cli,  # noqa: F811
    factory: sessionmaker[Session],
    shopee: tuple[ShopeeStore, str],
) -> None:
    store, url = shopee
    cli("shop", "add", "shopee-my", "--name", "Shopee MY", "--channel", "shopee")
    secrets = f"partner_id={store.partner_id}\npartner_key={store.partner_key}\n"
    cli("shop", "connect", "shopee-my", "--base-url", url, "--credentials-file", "-", input=secrets)
    unset = cli("shop", "authorize", "shopee-my", "--auth-code", "abc", code=1)
    assert "no Shopee shop_id" in unset.output and "refused" not in unset.output
    cli("shop", "connect", "shopee-my", "--setting", f"shop_id={store.shop_id}")
    refused = cli("shop", "authorize", "shopee-my", "--auth-code", "not-a-code", code=1)
    assert "refused the code" in refused.output and "error_auth" in refused.output

    code = store.authorization_code()
    callback = f"https://seller.example/shopee?code={code}&shop_id={store.shop_id}"
    done = cli("shop", "authorize", "shopee-my", input=f"{callback}\n")
    assert "authorised" in done.output and code not in done.output
    with transaction(factory) as s:
        kept = unseal(get_settings(), shops.get_shop(s, "shopee-my").credentials)
    assert (kept["access_token"], kept["refresh_token"]) == (store.access_token, store.refresh_token)
    assert int(kept["expire_at"]) > 0 and kept["partner_key"] == store.partner_key
    again = cli("shop", "authorize", "shopee-my", "--auth-code", code, code=1)  # a code is good once
    assert "refused the code" in again.output
