"""``orderly shop connect``: settings change one by one; an unknown name fails listing the known ones."""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker

from orderly.channels import service as shops
from orderly.core.db import transaction
from tests.cli.conftest import Cli


def _settings(factory: sessionmaker[Session], code: str) -> dict[str, object]:
    with transaction(factory) as s:
        return dict(shops.get_shop(s, code).settings)


def test_settings_change_one_by_one_and_unknown_names_fail(cli: Cli, factory: sessionmaker[Session]) -> None:
    cli("shop", "add", "shopify-us", "--name", "Shopify US", "--channel", "shopify")
    cli("shop", "connect", "shopify-us", "--setting", "location_id=655441491")
    cli(
        "shop",
        "connect",
        "shopify-us",
        "--setting",
        "poll_interval_s=30",
        "--setting",
        'rate_limits={"stock": [5, 10]}',
    )

    settings = _settings(factory, "shopify-us")
    assert (settings["location_id"], settings["poll_interval_s"]) == (655441491, 30)
    assert settings["rate_limits"] == {"stock": [5.0, 10]}

    refused = cli("shop", "connect", "shopify-us", "--setting", "locaton_id=1", code=1)
    assert "unknown setting 'locaton_id'" in refused.output and "location_id" in refused.output
    invalid = cli("shop", "connect", "shopify-us", "--setting", "page_size=many", code=1)
    assert "settings.page_size" in invalid.output

    cli("shop", "connect", "shopify-us", "--setting", "poll_interval_s=")  # back to its default
    assert _settings(factory, "shopify-us")["poll_interval_s"] == 60
    assert _settings(factory, "shopify-us")["location_id"] == 655441491


def test_sync_refuses_a_shop_without_a_connector_and_bad_filters_fail(cli: Cli) -> None:
    cli("shop", "add", "stall", "--name", "Stall", "--channel", "manual")

    refused = cli("shop", "sync", "stall", code=1)
    bad_filter = cli("jobs", "list", "--status", "deda", code=2)

    assert "'manual', which has no connector" in refused.output and "queued" not in refused.output
    assert "'deda' is not one of" in bad_filter.output


def test_connect_moves_a_shop_only_with_its_credentials_and_checks_what_it_is_given(
    cli: Cli, factory: sessionmaker[Session]
) -> None:
    cli("shop", "add", "shopify-us", "--name", "Shopify US", "--channel", "shopify")
    cli(
        "shop",
        "connect",
        "shopify-us",
        "--base-url",
        "https://a.example.com",
        "--credential",
        "access_token=t",
    )

    moved = cli("shop", "connect", "shopify-us", "--base-url", "https://lure.example.com", code=1)
    with_secrets = ("--base-url", "https://b.example.com", "--credential", "access_token=t2")
    cli("shop", "connect", "shopify-us", *with_secrets)
    userinfo = cli("shop", "connect", "shopify-us", "--base-url", "https://me:pw@b.example.com", code=1)
    never = cli("shop", "connect", "shopify-us", "--setting", 'rate_limits={"orders": [0, 5]}', code=1)

    assert "give the credentials again" in moved.output and "--credential" in moved.output
    assert "user name or password" in userinfo.output
    assert "settings.rate_limits.orders" in never.output
    with transaction(factory) as s:
        shop = shops.get_shop(s, "shopify-us")
        assert (shop.base_url, shop.settings.get("rate_limits")) == ("https://b.example.com", {})
