"""Connecting a WooCommerce shop with ``orderly shop connect``: the REST API key and webhook secret the
connector declares, sealed; a setting of its own refused when wrong; and a poll of the sandbox through
the stored credentials."""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker

from orderly.channels import service as shops
from orderly.channels.secrets import unseal
from orderly.channels.woocommerce import WooCommerceConnector
from orderly.core.config import get_settings
from orderly.core.db import transaction
from orderly.sandbox.woocommerce import WooStore
from tests.cli.conftest import Cli, cli  # noqa: F401 - the fixture


def test_a_store_is_connected_with_its_key_and_polled_through_it(
    cli: Cli,  # noqa: F811
    factory: sessionmaker[Session],
    store: WooStore,
    base_url: str,
) -> None:
    assert set(WooCommerceConnector.credential_fields) == {
        "consumer_key",
        "consumer_secret",
        "webhook_secret",
    }
    cli("shop", "add", "my-woo", "--name", "My Woo", "--channel", "woocommerce")
    secrets = (
        f"consumer_key={store.consumer_key}\nconsumer_secret={store.consumer_secret}\nwebhook_secret=wh\n"
    )
    wrong = cli("shop", "connect", "my-woo", "--setting", "auth=bearer", code=1)
    assert "auth" in wrong.output
    cli("shop", "connect", "my-woo", "--base-url", base_url, "--credentials-file", "-", input=secrets)
    with transaction(factory) as s:
        shop = shops.get_shop(s, "my-woo")
        kept = unseal(get_settings(), shop.credentials)
        s.expunge(shop)
    assert kept == {
        "consumer_key": store.consumer_key,
        "consumer_secret": store.consumer_secret,
        "webhook_secret": "wh",
    }
    store.add_product("MUG", quantity=3)
    order_id = store.place_order([("MUG", 1)])
    with shops.http_client(shop) as http:
        raw = shops.connector_for(shop, http).fetch_order(str(order_id))
    assert raw is not None and raw.body["id"] == order_id
