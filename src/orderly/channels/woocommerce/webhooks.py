"""WooCommerce webhook deliveries: the signature, the ping, and what a delivery is about.

A delivery is a POST of the resource's REST JSON (an order exactly as ``GET /orders/<id>`` gives it)
with ``X-WC-Webhook-Topic`` (``order.updated``), ``X-WC-Webhook-Resource``, ``X-WC-Webhook-Event``,
``X-WC-Webhook-Source``, ``X-WC-Webhook-ID``, ``X-WC-Webhook-Delivery-ID`` and
``X-WC-Webhook-Signature``: the base64 HMAC-SHA256 of the raw body keyed with the webhook's secret.
``order.deleted`` (an order trashed or deleted) carries only ``{"id": ...}``.

When a webhook is made, WooCommerce first POSTs ``webhook_id=<id>`` as a form to its delivery URL,
unsigned and without those headers, and takes the URL only if it answers 200: a ping.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Mapping
from typing import Any

import orjson

from orderly.channels.connector import UnusableDelivery, WebhookEvent
from orderly.channels.woocommerce import mapper
from orderly.core import jsontext

#: The shop's credential holding the secret its webhooks are made with.
SECRET_CREDENTIAL = "webhook_secret"  # noqa: S105 - a credential's name, not a secret
SIGNATURE_HEADER = "X-WC-Webhook-Signature"
TOPIC_HEADER = "X-WC-Webhook-Topic"
DELIVERY_HEADER = "X-WC-Webhook-Delivery-ID"
#: The topics about an order; ``order.deleted`` names only the order.
ORDER_TOPICS = frozenset({"order.created", "order.updated", "order.restored"})
DELETED = "order.deleted"
#: A deletion's version: one per order (a trashed order the hub cancelled stays cancelled).
DELETED_VERSION = "deleted"
_PING = re.compile(rb"webhook_id=\d{1,20}")


def signature(secret: str, body: bytes) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def header(headers: Mapping[str, str], name: str) -> str | None:
    """A header by name in any case: callers pass plain dicts as well as HTTP header maps."""
    wanted = name.lower()
    return next((value for key, value in headers.items() if key.lower() == wanted), None)


def verify(secret: str | None, headers: Mapping[str, str], body: bytes) -> bool:
    given = header(headers, SIGNATURE_HEADER)
    if not secret or given is None:
        return False
    return hmac.compare_digest(signature(secret, body).encode(), given.strip().encode())


def is_ping(headers: Mapping[str, str], body: bytes) -> bool:
    """WooCommerce's unsigned check of a new webhook's URL: ``webhook_id=<id>`` and no signature."""
    return header(headers, SIGNATURE_HEADER) is None and _PING.fullmatch(body.strip()) is not None


def is_deletion(body: Mapping[str, Any]) -> bool:
    """A stored ``order.deleted`` delivery: the order's id alone."""
    return set(body) == {"id"}


def parse(headers: Mapping[str, str], body: bytes) -> WebhookEvent:
    """Order topics are keyed by the order and its ``date_modified_gmt``, exactly as a poll keys the
    same version, so a webhook and a poll of one version are one inbox entry (WooCommerce gives every
    delivery a new delivery id, a resend included). ``order.deleted`` is keyed by the order alone. Any
    other delivery is :class:`UnusableDelivery`."""
    topic = header(headers, TOPIC_HEADER) or ""

    def unusable(reason: str) -> UnusableDelivery:
        return UnusableDelivery(f"{topic or 'a delivery without a topic'}: {reason}", topic=topic[:64])

    if topic not in ORDER_TOPICS and topic != DELETED:
        raise unusable("the hub takes only order topics (order.created, order.updated, order.deleted...)")
    try:
        payload: Any = jsontext.loads(body)
    except orjson.JSONDecodeError as exc:
        raise unusable(f"the body is not JSON ({exc})") from exc
    if not isinstance(payload, dict):
        raise unusable("the body is not a JSON object")
    order_id = payload.get("id")
    if isinstance(order_id, bool) or not isinstance(order_id, int) or order_id <= 0:
        raise unusable("the body has no order id (a positive integer `id`)")
    if topic == DELETED:
        return WebhookEvent(
            f"{order_id}:{DELETED_VERSION}", topic, str(order_id), DELETED_VERSION, {"id": order_id}
        )
    try:
        stamp = mapper.version(payload)
    except (KeyError, ValueError) as exc:
        raise unusable(f"the body has no readable `date_modified_gmt` ({exc})") from exc
    return WebhookEvent(f"{order_id}:{stamp}", topic, str(order_id), stamp, payload)
