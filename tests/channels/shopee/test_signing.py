"""Shopee's signing, reproduced on the guide's worked example (contract §2) and on push messages."""

from __future__ import annotations

import hashlib
import hmac

from orderly.channels.shopee import client, webhooks

# The guide's worked example for a shop call (contract §2).
EXAMPLE_BASE = "2001887/api/v2/shop/get_shop_info165571443159777174636562737266615546704c6d14701711"


def test_the_shop_base_string_is_the_guides_example() -> None:
    base = client.base_string(
        2001887, "/api/v2/shop/get_shop_info", 1655714431, "59777174636562737266615546704c6d", 14701711
    )
    assert base == EXAMPLE_BASE


def test_the_public_base_string_leaves_out_token_and_shop() -> None:
    assert (
        client.base_string(2001887, "/api/v2/auth/token/get", 1655714431)
        == "2001887/api/v2/auth/token/get1655714431"
    )


#: The sign the guide prints for that base string. Its partner key is not published, so no one can
#: reproduce it: what can be checked is its form, and the HMAC of the base string under a key of ours.
EXAMPLE_SIGN = "56f31d01aeda9d08bf456b37f6f6640ef8614b4d6ad49baafe30b39a061f0e26"


def test_the_sign_is_lowercase_hex_hmac_sha256_keyed_with_the_partner_key() -> None:
    key = "shpk-example"
    expected = hmac.new(key.encode(), EXAMPLE_BASE.encode(), hashlib.sha256).hexdigest()
    assert client.sign(key, EXAMPLE_BASE) == expected
    for sign in (expected, EXAMPLE_SIGN):
        assert sign == sign.lower() and len(sign) == 64 and int(sign, 16) >= 0
    assert expected != EXAMPLE_SIGN


def test_a_push_is_signed_over_url_bar_body() -> None:
    url, body = "https://hub.example/api/v1/webhooks/shopee", b'{"code":3}'
    expected = hmac.new(
        b"shpk", b"https://hub.example/api/v1/webhooks/shopee|" + body, hashlib.sha256
    ).hexdigest()
    assert webhooks.signature("shpk", url, body) == expected
    assert webhooks.verify("shpk", url, {"authorization": expected}, body)
    assert not webhooks.verify("shpk", url + "/", {"Authorization": expected}, body)
    assert not webhooks.verify("shpk", url, {"Authorization": expected}, body + b" ")
    assert not webhooks.verify(None, url, {"Authorization": expected}, body)
    assert not webhooks.verify("shpk", url, {}, body)


def test_the_authorization_link_is_signed_as_a_public_call() -> None:
    link = client.authorization_url(
        "https://partner.shopeemobile.com", 2001887, "k", "https://hub/cb", 1655714431
    )
    expected = client.sign("k", "2001887/api/v2/shop/auth_partner1655714431")
    assert link.startswith("https://partner.shopeemobile.com/api/v2/shop/auth_partner?partner_id=2001887")
    assert f"sign={expected}" in link and "redirect=https%3A%2F%2Fhub%2Fcb" in link
