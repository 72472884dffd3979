"""TikTok Shop webhook deliveries: the signature, and what a delivery is about.

A delivery is a POST of ``{"type", "tts_notification_id", "shop_id", "timestamp", "data"}``
(``webhook_order_status_change_type1.json``); type 1, ORDER_STATUS_CHANGE, names the order, its new
status (``CANCEL`` for cancelled) and its ``update_time``. It does not carry the order: an accepted
delivery wakes the shop's poll, which reads it (``Connector.webhook_polls``).

The signature is UNCONFIRMED (CONTRACT.md section 6: sources conflict). The best-supported scheme,
used by several independent third-party receivers, is implemented: the ``Authorization`` header holds
the lowercase hex HMAC-SHA256, keyed with the app secret, of the app key followed by the raw body. A
delivery that does not verify this way is refused (401), whatever else it carries.

Types other than 1 are UNCONFIRMED (third-party lists): those naming an order (``data.order_id``:
reverse-order and return, cancellation, address and package updates) wake the poll like type 1; any
other is kept unprocessed with its reason.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from typing import Any

import orjson

from orderly.channels.connector import UnusableDelivery, WebhookEvent
from orderly.core import jsontext

SIGNATURE_HEADER = "Authorization"
#: The shop's credentials a signature is checked with: the app's key and secret, in that order.
SECRET_CREDENTIALS = ("app_key", "app_secret")
ORDER_STATUS_CHANGE = 1
#: Notification types by number (UNCONFIRMED beyond 1), for the topic an inbox entry shows.
TOPICS = {
    1: "ORDER_STATUS_CHANGE",
    2: "REVERSE_ORDER_STATUS_CHANGE",
    3: "RECIPIENT_ADDRESS_UPDATE",
    4: "PACKAGE_UPDATE",
    5: "PRODUCT_STATUS_CHANGE",
    6: "SELLER_DEAUTHORIZATION",
    7: "UPCOMING_AUTHORIZATION_EXPIRATION",
    11: "CANCELLATION_STATUS_CHANGE",
    12: "RETURN_STATUS_CHANGE",
}


def signature(app_key: str, app_secret: str, body: bytes) -> str:
    return hmac.new(app_secret.encode(), app_key.encode() + body, hashlib.sha256).hexdigest()


def header(headers: Mapping[str, str], name: str) -> str | None:
    wanted = name.lower()
    return next((value for key, value in headers.items() if key.lower() == wanted), None)


def verify(secret: str | None, headers: Mapping[str, str], body: bytes) -> bool:
    given = header(headers, SIGNATURE_HEADER)
    if not secret or given is None or "\n" not in secret:
        return False
    app_key, _, app_secret = secret.partition("\n")
    wanted = signature(app_key, app_secret, body)
    return hmac.compare_digest(wanted.encode(), given.strip().lower().encode())


def parse(body: bytes) -> WebhookEvent:
    """An order's notification is keyed by the order and its ``update_time``; the status it names is
    read by the connector (a cancellation is applied at once)."""
    try:
        payload: Any = jsontext.loads(body)
    except orjson.JSONDecodeError as exc:
        raise UnusableDelivery(f"a delivery that is not JSON ({exc})", topic="") from exc
    if not isinstance(payload, dict):
        raise UnusableDelivery("a delivery that is not a JSON object", topic="")
    kind = payload.get("type")
    topic = TOPICS.get(kind, f"type {kind}") if isinstance(kind, int) else "no type"
    data = payload.get("data")
    notification = payload.get("tts_notification_id")
    if not isinstance(data, dict) or not isinstance(notification, str | int):
        raise UnusableDelivery(f"{topic}: no data or tts_notification_id", topic=topic)
    order_id = data.get("order_id")
    if order_id is None:
        raise UnusableDelivery(f"{topic}: names no order: the hub takes order notifications", topic=topic)
    if not str(order_id).isascii() or not str(order_id).isdigit():
        raise UnusableDelivery(f"{topic}: the order id {str(order_id)[:40]!r} is not TikTok's", topic=topic)
    update_time = data.get("update_time", payload.get("timestamp"))
    stamp = str(update_time) if isinstance(update_time, int) and not isinstance(update_time, bool) else "-"
    return WebhookEvent(str(notification), topic, str(order_id), f"notified:{stamp}", payload)
