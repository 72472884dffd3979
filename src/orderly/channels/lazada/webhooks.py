"""Lazada push messages: the signature, and what a push is about.

A push is a POST of ``{"seller_id", "message_type", "data": {...}, "timestamp": <ms>, "site"}``
(CONTRACT section 7). Its ``Authorization`` header is the lowercase hex HMAC-SHA256, keyed with the app
secret, of the app key followed by the raw body; only a push that verifies is accepted.

``message_type`` 0 is a trade order status change: ``data`` names the order (``trade_order_id``), the
item (``trade_order_line_id``), its new status and ``status_update_time`` (seconds); a reverse order
(a return) adds ``reverse_order_id`` and ``reverse_order_line_id``. The published reverse-order sample
also says 0; the real number of reverse-order pushes is UNCONFIRMED, so a push carrying a trade order
id is read as one about that order whatever its type. A push does not carry the order: the hub keeps
it as the record of what Lazada said and reads the order (``Connector.webhook_polls``).
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
TRADE_ORDER = 0
REVERSE = "reverse_order"
#: What tells a stored push from an order: the push's envelope.
PUSH_KEYS = frozenset({"message_type", "data", "seller_id"})


def signature(app_key: str, app_secret: str, body: bytes) -> str:
    return hmac.new(app_secret.encode(), app_key.encode() + body, hashlib.sha256).hexdigest()


def verify(secret: str | None, headers: Mapping[str, str], body: bytes) -> bool:
    """``secret`` is the app key and the app secret, joined by a newline (the connector's
    ``webhook_credential`` names both)."""
    given = next((v for k, v in headers.items() if k.lower() == SIGNATURE_HEADER.lower()), None)
    if not secret or given is None or "\n" not in secret:
        return False
    app_key, app_secret = secret.split("\n", 1)
    return hmac.compare_digest(signature(app_key, app_secret, body).encode(), given.strip().lower().encode())


def is_push(body: Mapping[str, Any]) -> bool:
    return body.keys() >= PUSH_KEYS


def parse(body: bytes) -> WebhookEvent:
    """A push about an order (a trade or reverse order change), keyed by its order, item, status and
    update time, so a push delivered twice is one entry; anything else is :class:`UnusableDelivery`."""
    try:
        payload: Any = jsontext.loads(body)
    except orjson.JSONDecodeError as exc:
        raise UnusableDelivery(f"a push that is not JSON ({exc})", topic="") from exc
    if not isinstance(payload, dict) or not is_push(payload) or not isinstance(payload["data"], dict):
        raise UnusableDelivery("not a Lazada push (seller_id, message_type, data)", topic="")
    data = payload["data"]
    kind = payload.get("message_type")
    topic = f"{REVERSE if data.get('reverse_order_id') else 'trade_order'}:{kind}"[:64]
    order_id = data.get("trade_order_id")
    order_id = str(order_id) if isinstance(order_id, int) and not isinstance(order_id, bool) else order_id
    if not isinstance(order_id, str) or not order_id.isascii() or not order_id.isdigit():
        raise UnusableDelivery(f"{topic}: the push names no trade order (trade_order_id)", topic=topic)
    line = str(data.get("trade_order_line_id") or "")
    when = str(data.get("status_update_time") or payload.get("timestamp") or "")
    status = str(data.get("order_status") or "")
    event_id = ":".join(filter(None, (order_id, line, status, when)))[:200]
    version = f"push:{when}:{line}:{status}"[:64]
    return WebhookEvent(event_id, topic, order_id, version, payload)
