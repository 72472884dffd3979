"""Shopify webhook deliveries: the signature, and what a delivery is about.

A delivery is a POST of the resource's REST JSON, signed with ``X-Shopify-Hmac-Sha256``: the base64
HMAC-SHA256 of the raw body, keyed with the app's secret.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Mapping
from typing import Any

from orderly.channels.connector import Rejected, WebhookEvent

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
    order version, so a webhook and a poll of one version are one inbox entry."""
    topic = header(headers, TOPIC_HEADER) or ""
    try:
        payload: Any = json.loads(body)
    except ValueError as exc:
        raise Rejected(f"{topic or 'webhook'} delivery is not JSON") from exc
    if not isinstance(payload, dict):
        raise Rejected(f"{topic or 'webhook'} delivery is not a JSON object")
    if topic.startswith("orders/"):
        if payload.get("id") is None or not isinstance(payload.get("updated_at"), str):
            raise Rejected(f"{topic} delivery has no order id or updated_at")
        order_id = str(payload["id"])
        return WebhookEvent(order_id, topic, order_id, payload["updated_at"], payload)
    delivery = header(headers, WEBHOOK_ID_HEADER)
    if not delivery:
        raise Rejected(f"{topic or 'webhook'} delivery has no {WEBHOOK_ID_HEADER}")
    return WebhookEvent(delivery, topic, None, payload.get("updated_at"), payload)
