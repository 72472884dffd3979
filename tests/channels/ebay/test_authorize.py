"""``orderly shop authorize`` for an eBay shop: the code eBay's consent page gave the seller, pasted,
becomes the shop's stored tokens (the sandbox's code, good once)."""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker

from orderly.channels import service as shops
from orderly.channels.secrets import unseal
from orderly.core.config import get_settings
from orderly.core.db import transaction
from orderly.sandbox.ebay import EbayStore
from tests.cli.conftest import Cli, cli  # noqa: F401 - the fixture


def test_a_pasted_code_becomes_the_shops_stored_tokens(
    cli: Cli,  # noqa: F811
    factory: sessionmaker[Session],
    store: EbayStore,
    base_url: str,
) -> None:
    cli("shop", "add", "ebay-us", "--name", "eBay US", "--channel", "ebay")
    secrets = f"client_id={store.client_id}\nclient_secret={store.client_secret}\nru_name={store.ru_name}\n"
    cli("shop", "connect", "ebay-us", "--base-url", base_url, "--credentials-file", "-", input=secrets)
    refused = cli("shop", "authorize", "ebay-us", "--auth-code", "v^1.1#wrong", code=1)
    assert "refused the code" in refused.output and "invalid_grant" in refused.output

    code = store.authorization_code()
    done = cli("shop", "authorize", "ebay-us", input=f"{code}\n")
    assert "authorised" in done.output and code not in done.output
    with transaction(factory) as s:
        kept = unseal(get_settings(), shops.get_shop(s, "ebay-us").credentials)
    assert (kept["access_token"], kept["refresh_token"]) == (store.access_token, store.refresh_token)
    assert int(kept["access_token_expires_at"]) > 0 and kept["client_secret"] == store.client_secret
    again = cli("shop", "authorize", "ebay-us", "--auth-code", code, code=1)  # a code is good once
    assert "refused the code" in again.output
