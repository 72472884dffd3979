"""``orderly shop authorize`` for a Lazada shop: the code Lazada's authorization page gave the seller,
pasted, becomes the shop's stored tokens (the sandbox's code, good once)."""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker

from orderly.channels import service as shops
from orderly.channels.secrets import unseal
from orderly.core.config import get_settings
from orderly.core.db import transaction
from orderly.sandbox.lazada import LazadaStore
from tests.cli.conftest import Cli, cli  # noqa: F401 - the fixture


def test_a_pasted_code_becomes_the_shops_stored_tokens(
    cli: Cli,  # noqa: F811
    factory: sessionmaker[Session],
    store: LazadaStore,
    base_url: str,
) -> None:
    cli("shop", "add", "lz-sg", "--name", "Lazada SG", "--channel", "lazada")
    secrets = f"app_key={store.app_key}\napp_secret={store.app_secret}\n"
    cli("shop", "connect", "lz-sg", "--base-url", base_url, "--credentials-file", "-", input=secrets)
    refused = cli("shop", "authorize", "lz-sg", "--auth-code", "0_100132_wrong", code=1)
    assert "refused the code" in refused.output and "InvalidCode" in refused.output

    code = store.authorization_code()
    done = cli("shop", "authorize", "lz-sg", input=f"{code}\n")
    assert "authorised" in done.output and code not in done.output
    with transaction(factory) as s:
        kept = unseal(get_settings(), shops.get_shop(s, "lz-sg").credentials)
    assert kept["access_token"] in store._tokens and kept["refresh_token"]
    assert int(kept["access_expires_at"]) > 0 and kept["app_secret"] == store.app_secret
    again = cli("shop", "authorize", "lz-sg", "--auth-code", code, code=1)  # a code is good once
    assert "refused the code" in again.output
