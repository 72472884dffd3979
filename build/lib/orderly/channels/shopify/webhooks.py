"""Shopify webhook deliveries: the signature, and what a delivery is about.

A delivery is a POST of the resource's REST JSON, signed with ``X-Shopify-Hmac-Sha256``: the base64
HMAC-SHA256 of the raw body, keyed with the app's secret.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from typing import Any

import orjson

from orderly.channels.connector import UnusableDelivery, WebhookEvent
from orderly.core import jsontext

#: The shop's credential holding the app secret deliveries are signed with.
SECRET_CREDENTIAL = "webhook_secret"  # noqa: S105 - a credential's name, not a secret
HMAC_HEADER = "X-Shopify-Hmac-Sha256"
TOPIC_HEADER = "X-Shopify-Topic"
WEBHOOK_ID_HEADER = "X-Shopify-Webhook-Id"


def signature(secret: str, body: bytes) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def header(headers: Mapping[str, str], name: str) -> str | None:
    """A header by name in any case: callers pass plain dicts as well as HTTP header maps."""
    wanted = name.lower()
    return next((value for key, value in headers.items() if key.lower() == wanted), None)


def verify(secret: str | None, headers: Mapping[str, str], body: bytes) -> bool:
    given = header(headers, HMAC_HEADER)
    if not secret or given is None:
        return False
    return hmac.compare_digest(signature(secret, body).encode(), given.strip().encode())


def parse(headers: Mapping[str, str], body: bytes) -> WebhookEvent:
    """Order topics are keyed by the order and its ``updated_at``, exactly as a poll keys the same
    order version, so a webhook and a poll of one version are one inbox entry. Any other delivery
    (another topic, ``orders/delete`` which carries only an id, a body that is not an order) is
    :class:`UnusableDelivery`."""
    topic = header(headers, TOPIC_HEADER) or ""

    def unusable(reason: str) -> UnusableDelivery:
        return UnusableDelivery(f"{topic or 'a delivery without a topic'}: {reason}", topic=topic)

    if not topic.startswith("orders/"):
        raise unusable("the hub takes only order topics (orders/...)")
    try:
        payload: Any = jsontext.loads(body)
    except orjson.JSONDecodeError as exc:
        raise unusable(f"the body is not JSON ({exc})") from exc
    if not isinstance(payload, dict):
        raise unusable("the body is not a JSON object")
    order_id, updated_at = payload.get("id"), payload.get("updated_at")
    if isinstance(order_id, bool) or not isinstance(order_id, int) or order_id <= 0:
        raise unusable("the body has no order id (a positive integer `id`)")
    if not isinstance(updated_at, str) or not 0 < len(updated_at) <= 64 or "\x00" in updated_at:
        raise unusable("the body has no `updated_at` time")
    return WebhookEvent(str(order_id), topic, str(order_id), updated_at, payload)
