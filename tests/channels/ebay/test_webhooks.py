"""eBay's Marketplace Account Deletion deliveries: the endpoint challenge, the ECDSA signature checked
against the keys the shop's settings hold, and what a notification is about."""

from __future__ import annotations

import base64
import hashlib
import json

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from orderly.channels.connector import AuthFailed, UnusableDelivery
from orderly.channels.ebay import EbayConnector, webhooks

KEY = ec.generate_private_key(ec.SECP256R1())
OTHER = ec.generate_private_key(ec.SECP256R1())
KID = "99345bd5-d4a8-4b53-9a5d-2bbd1ad0fd9f"
NOTICE = {
    "metadata": {"topic": "MARKETPLACE_ACCOUNT_DELETION", "schemaVersion": "1.0", "deprecated": False},
    "notification": {
        "notificationId": "49feeaeb-4982-42d9-a377-9645b8479411_33f7e043",
        "eventDate": "2021-03-19T20:43:59.462Z",
        "publishDate": "2021-03-19T20:43:59.679Z",
        "publishAttemptCount": 1,
        "data": {
            "username": "test_user",
            "userId": "ma8vp1jySJC",
            "eiasToken": "nY+sHZ2PrBmdj6wVnY+sEZ2PrA2dj6w",
        },
    },
}


def one_line_pem(key: ec.EllipticCurvePrivateKey) -> str:
    """The public key as eBay's getPublicKey gives it: the PEM on one line."""
    text = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return "".join(text.decode().splitlines())


KEYS = {KID: one_line_pem(KEY)}


def signed(
    body: bytes, key: ec.EllipticCurvePrivateKey = KEY, kid: str = KID, **fields: str
) -> dict[str, str]:
    signature = base64.b64encode(key.sign(body, ec.ECDSA(hashes.SHA1()))).decode()
    header = {"alg": "ecdsa", "kid": kid, "signature": signature, "digest": "SHA1", **fields}
    return {"X-EBAY-SIGNATURE": base64.b64encode(json.dumps(header).encode()).decode()}


def test_the_challenge_is_answered_with_the_hash_of_code_token_and_endpoint() -> None:
    endpoint = "https://hub.example.com/api/v1/webhooks/ebay"
    answer = EbayConnector.answer_challenge(
        "token-of-32-to-80-characters_abcdefgh",
        "a8628072-3d33-45ee-9004-bee86830a22d",
        url=f"{endpoint}?x=1",
        settings={},
    )
    wanted = hashlib.sha256(
        b"a8628072-3d33-45ee-9004-bee86830a22d" + b"token-of-32-to-80-characters_abcdefgh" + endpoint.encode()
    ).hexdigest()
    assert answer == {"challengeResponse": wanted}
    # The endpoint as registered with eBay, when a proxy changes the URL the hub sees.
    registered = "https://public.example.com/ebay"
    again = EbayConnector.answer_challenge(
        "t", "c", url=endpoint, settings={"notification_endpoint": registered}
    )
    assert again["challengeResponse"] == hashlib.sha256(b"ct" + registered.encode()).hexdigest()
    with pytest.raises(AuthFailed, match="verification_token"):
        EbayConnector.answer_challenge(None, "c", url=endpoint, settings={})


def test_a_delivery_verifies_only_against_a_key_the_settings_hold() -> None:
    body = json.dumps(NOTICE).encode()
    settings = {"notification_keys": KEYS}
    assert EbayConnector.verify_delivery(None, signed(body), body, url="", settings=settings)
    # As eBay's SDKs check it: the message re-serialised compactly.
    compact = json.dumps(NOTICE, separators=(",", ":")).encode()
    assert EbayConnector.verify_delivery(None, signed(compact), body, url="", settings=settings)
    forged = [
        signed(body, OTHER),  # another key under the known id
        signed(body, kid="unknown-kid"),  # a key the shop was never given
        signed(body + b" "),  # another message
        signed(body, alg="rsa"),
        signed(body, digest="MD5"),
        {"X-EBAY-SIGNATURE": "not base64!"},
        {},
    ]
    for headers in forged:
        assert not EbayConnector.verify_delivery(None, headers, body, url="", settings=settings)
    assert not EbayConnector.verify_delivery(None, signed(body), body, url="", settings={})
    assert not EbayConnector.verify_webhook("secret", signed(body), body)


def test_a_notification_is_kept_by_its_id_and_concerns_no_order() -> None:
    event = EbayConnector.parse_webhook({}, json.dumps(NOTICE).encode())
    assert (event.event_id, event.topic, event.external_id) == (
        "49feeaeb-4982-42d9-a377-9645b8479411_33f7e043",
        "MARKETPLACE_ACCOUNT_DELETION",
        None,
    )
    for body in (b"not json", b"[]", json.dumps({"metadata": {"topic": "X"}}).encode()):
        with pytest.raises(UnusableDelivery):
            webhooks.parse(body)
