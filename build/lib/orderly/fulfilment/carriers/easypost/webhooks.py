"""EasyPost webhook deliveries (``docs/carriers/easypost.md`` §8): an Event POSTed with
``X-Hmac-Signature: hmac-sha256-hex=<hex>``, the HMAC-SHA256 of the raw body keyed with the webhook's
secret normalised to NFKD. Deliveries come at least once: key them by the event id."""

from __future__ import annotations

import hashlib
import hmac
import json
import unicodedata
from collections.abc import Mapping

from orderly.fulfilment.carriers.connector import TrackingUpdate
from orderly.fulfilment.carriers.easypost import mapper

HMAC_HEADER = "X-Hmac-Signature"
PREFIX = "hmac-sha256-hex="


def signature(secret: str, body: bytes) -> str:
    key = unicodedata.normalize("NFKD", secret).encode()
    return PREFIX + hmac.new(key, body, hashlib.sha256).hexdigest()


def verify(secret: str | None, headers: Mapping[str, str], body: bytes) -> bool:
    """Whether the delivery is signed with ``secret`` (constant time); a delivery without the header
    is refused."""
    wanted = HMAC_HEADER.lower()
    given = next((value for key, value in headers.items() if key.lower() == wanted), None)
    if not secret or given is None:
        return False
    return hmac.compare_digest(signature(secret, body).encode(), given.strip().encode())


def parse(body: bytes) -> TrackingUpdate | None:
    """A verified delivery's tracker update; None for an event about anything else (batches, claims);
    ``mapper.BadAnswer`` (a ValueError) for a body that is not an EasyPost Event."""
    try:
        event = json.loads(body)
    except ValueError as exc:
        raise mapper.BadAnswer(f"the body is not JSON ({exc})") from exc
    if not isinstance(event, dict) or event.get("object") != "Event":
        raise mapper.BadAnswer("the body is not an EasyPost Event")
    return mapper.tracker_update(event)
