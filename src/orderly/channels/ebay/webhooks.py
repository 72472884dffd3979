"""eBay's deliveries to the hub: Marketplace Account Deletion notifications (eBay's Notification API,
``MARKETPLACE_ACCOUNT_DELETION``), which every app that stores eBay users' data must take. Order events
are not pushed here: orders are polled by ``lastmodifieddate`` (the contract's section 7).

The endpoint is validated first: eBay sends ``GET <endpoint>?challenge_code=…`` and expects
``{"challengeResponse": hex(SHA-256(challengeCode + verificationToken + endpoint))}``, the verification
token being the one given to eBay with the endpoint (the shop's ``verification_token`` credential) and
the endpoint the URL exactly as registered (the shop's ``notification_endpoint`` setting; else the URL the
challenge came to). Then each notification is a POST of ``{"metadata": {"topic", "schemaVersion",
"deprecated"}, "notification": {"notificationId", "eventDate", "publishDate", "publishAttemptCount",
"data": {"username", "userId", "eiasToken"}}}`` signed in ``X-EBAY-SIGNATURE``: base64 of
``{"alg": "ecdsa", "kid", "signature", "digest": "SHA1"}``, the signature (base64 DER) an ECDSA signature
of the message by the key ``kid`` names (eBay's AsyncAPI file and its notification SDKs, read for this).

eBay hands out the public key only through its Notification API (``getPublicKey/{kid}``, with an
application token): the hub makes no platform call while it answers a delivery, so the keys are given
in the shop's ``notification_keys`` setting (key id -> PEM, as getPublicKey answers it) and a delivery
signed with any other key is refused (401). eBay's SDKs verify the message re-serialised as compact
JSON; the raw body is tried first, then that form.

Deletion notifications concern eBay users, not an order: each is kept in the inbox once with its reason,
unprocessed, for a person to erase what the hub holds of that user.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Mapping
from typing import Any

import orjson
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from orderly.channels.connector import UnusableDelivery, WebhookEvent
from orderly.core import jsontext

SIGNATURE_HEADER = "X-EBAY-SIGNATURE"
ACCOUNT_DELETION = "MARKETPLACE_ACCOUNT_DELETION"
_DIGESTS: dict[str, type[hashes.HashAlgorithm]] = {"SHA1": hashes.SHA1, "SHA256": hashes.SHA256}
_PEM_START, _PEM_END = "-----BEGIN PUBLIC KEY-----", "-----END PUBLIC KEY-----"


def challenge_response(challenge_code: str, verification_token: str, endpoint: str) -> str:
    digest = hashlib.sha256()
    for part in (challenge_code, verification_token, endpoint):
        digest.update(part.encode())
    return digest.hexdigest()


def header(headers: Mapping[str, str], name: str) -> str | None:
    wanted = name.lower()
    return next((value for key, value in headers.items() if key.lower() == wanted), None)


def pem(key: str) -> bytes:
    """A public key as getPublicKey gives it (the PEM on one line) as a PEM ``cryptography`` reads."""
    body = key.replace(_PEM_START, "").replace(_PEM_END, "").replace("\\n", "")
    body = "".join(body.split())
    return f"{_PEM_START}\n{body}\n{_PEM_END}\n".encode()


def signature_fields(value: str) -> dict[str, Any] | None:
    try:
        fields = json.loads(base64.b64decode(value.strip(), validate=True))
    except (ValueError, binascii.Error):
        return None
    return fields if isinstance(fields, dict) else None


def verify(headers: Mapping[str, str], body: bytes, keys: Mapping[str, str]) -> bool:
    """Whether the delivery is signed by one of ``keys`` (key id -> PEM)."""
    given = header(headers, SIGNATURE_HEADER)
    fields = signature_fields(given) if given else None
    if fields is None or str(fields.get("alg", "")).lower() != "ecdsa":
        return False
    key_text = keys.get(str(fields.get("kid")))
    digest = _DIGESTS.get(str(fields.get("digest", "SHA1")).upper())
    if not key_text or digest is None or not isinstance(fields.get("signature"), str):
        return False
    try:
        key = load_pem_public_key(pem(key_text))
        signature = base64.b64decode(fields["signature"], validate=True)
    except (ValueError, binascii.Error, UnsupportedAlgorithm):
        return False
    if not isinstance(key, ec.EllipticCurvePublicKey):
        return False
    for message in _signed_forms(body):
        try:
            key.verify(signature, message, ec.ECDSA(digest()))
        except InvalidSignature:
            continue
        return True
    return False


def _signed_forms(body: bytes) -> list[bytes]:
    """The raw body, then the message as eBay's SDKs re-serialise it before verifying."""
    try:
        compact = json.dumps(json.loads(body), separators=(",", ":"), ensure_ascii=False).encode()
    except ValueError:
        return [body]
    return [body] if compact == body else [body, compact]


def same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


def parse(body: bytes) -> WebhookEvent:
    """A notification, keyed by its ``notificationId``; it names no order."""
    try:
        payload: Any = jsontext.loads(body)
    except orjson.JSONDecodeError as exc:
        raise UnusableDelivery(f"a delivery that is not JSON ({exc})", topic="") from exc
    if not isinstance(payload, dict):
        raise UnusableDelivery("a delivery that is not a JSON object", topic="")
    metadata, notification = payload.get("metadata"), payload.get("notification")
    topic = str(metadata.get("topic") or "no topic") if isinstance(metadata, dict) else "no topic"
    if not isinstance(notification, dict) or not isinstance(notification.get("notificationId"), str | int):
        raise UnusableDelivery(f"{topic}: no notification or notificationId", topic=topic)
    return WebhookEvent(str(notification["notificationId"]), topic[:64], None, None, payload)
