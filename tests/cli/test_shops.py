"""``orderly shop connect``: settings change one by one; an unknown name fails listing the known ones."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from orderly.channels import service as shops
from orderly.channels.secrets import unseal
from orderly.core.config import get_settings
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


def _credentials(factory: sessionmaker[Session], code: str) -> dict[str, str]:
    get_settings.cache_clear()  # the key of the environment the commands ran in
    with transaction(factory) as s:
        return unseal(get_settings(), shops.get_shop(s, code).credentials)


def test_credentials_come_from_a_hidden_prompt_or_files_never_from_the_command_line(
    cli: Cli, factory: sessionmaker[Session], tmp_path: Path
) -> None:
    cli("shop", "add", "amazon-us", "--name", "Amazon US", "--channel", "amazon")
    (tmp_path / "secret").write_text("amzn-secret-from-file\n")
    (tmp_path / "all").write_text("# from the vault\nclient_id=app-1\n\nrefresh_token=Atzr|from-the-file\n")

    asked = cli(
        "shop", "connect", "amazon-us", "--credential", "refresh_token", "--credential",
        f"client_secret=@{tmp_path / 'secret'}", "--credential", "client_id=app-1", input="Atzr|typed-in\n",
    )  # fmt: skip
    assert _credentials(factory, "amazon-us") == {
        "refresh_token": "Atzr|typed-in",
        "client_secret": "amzn-secret-from-file",
        "client_id": "app-1",
    }
    assert "refresh_token:" in asked.output and "typed-in" not in asked.output  # asked for, not echoed

    cli("shop", "connect", "amazon-us", "--credentials-file", str(tmp_path / "all"))
    assert _credentials(factory, "amazon-us") == {"client_id": "app-1", "refresh_token": "Atzr|from-the-file"}

    piped = "client_id=app-2\nrefresh_token=Atzr|piped\n"
    cli(
        "shop",
        "connect",
        "amazon-us",
        "--credentials-file",
        "-",
        "--credential",
        f"client_secret=@{tmp_path / 'secret'}",
        input=piped,
    )
    assert _credentials(factory, "amazon-us") == {
        "client_id": "app-2",
        "refresh_token": "Atzr|piped",
        "client_secret": "amzn-secret-from-file",
    }


def test_a_credentials_file_that_cannot_be_read_fails_without_repeating_its_content(
    cli: Cli, tmp_path: Path
) -> None:
    cli("shop", "add", "amazon-us", "--name", "Amazon US", "--channel", "amazon")
    (tmp_path / "bad").write_text("client_id=app\nAtzr|a-token-without-its-name\n")

    bad_line = cli("shop", "connect", "amazon-us", "--credentials-file", str(tmp_path / "bad"), code=1)
    missing = cli(
        "shop", "connect", "amazon-us", "--credential", f"client_secret=@{tmp_path / 'none'}", code=1
    )

    assert "line 2 is not NAME=VALUE" in bad_line.output and "a-token" not in bad_line.output
    assert f"--credential client_secret: cannot read {tmp_path / 'none'}" in missing.output
