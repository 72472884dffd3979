"""Shopee push messages: the signature, and what a push is about.

Shopee POSTs JSON to the callback URL registered for the app and signs it in the ``Authorization``
header: the lowercase hex HMAC-SHA256, keyed with the partner key, of ``callback_url + "|" + body``
(the contract sheet §7, from Shopee's push guide). Only a push that verifies so is taken.

A push says only that something changed: an order status push (code 3) names the order (``ordersn``,
not the API's ``order_sn``), its new status and ``update_time``. The order itself is read by a poll,
which the push wakes. The field table of code 3 was not read (UNCONFIRMED): the payload shape is from
two third-party captures; code 4 (tracking number) is taken the same way on the same grounds.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from typing import Any

import orjson

from orderly.channels.connector import UnusableDelivery, WebhookEvent
from orderly.core import jsontext

#: The shop credential pushes are signed with: the app's partner key.
KEY_CREDENTIAL = "partner_key"
#: The shop setting naming the callback URL as registered with Shopee, when the hub sees another one
#: (behind a proxy); the URL the delivery reached otherwise.
URL_SETTING = "push_url"
AUTH_HEADER = "Authorization"
#: Push codes the hub reads (an order changed), by code: the topic it is kept under.
ORDER_PUSHES = {3: "order_status_push", 4: "order_trackingno_push"}
#: Statuses a push may carry that end the order on Shopee (the hub cancels it without a poll).
CANCELLED = "CANCELLED"


def signature(partner_key: str, url: str, body: bytes) -> str:
    return hmac.new(partner_key.encode(), url.encode() + b"|" + body, hashlib.sha256).hexdigest()


def header(headers: Mapping[str, str], name: str) -> str | None:
    wanted = name.lower()
    return next((value for key, value in headers.items() if key.lower() == wanted), None)


def verify(partner_key: str | None, url: str, headers: Mapping[str, str], body: bytes) -> bool:
    given = header(headers, AUTH_HEADER)
    if not partner_key or given is None:
        return False
    return hmac.compare_digest(signature(partner_key, url, body).encode(), given.strip().lower().encode())


def parse(body: bytes) -> WebhookEvent:
    """An order push keyed by the order and its ``update_time``; the same push sent twice is the same
    entry. Any other code is :class:`UnusableDelivery` (kept once, with the reason)."""
    try:
        payload: Any = jsontext.loads(body)
    except orjson.JSONDecodeError as exc:
        raise UnusableDelivery(f"a push whose body is not JSON ({exc})", topic="") from exc
    if not isinstance(payload, dict):
        raise UnusableDelivery("a push whose body is not a JSON object", topic="")
    code = payload.get("code")
    topic = ORDER_PUSHES.get(code) if isinstance(code, int) else None
    if topic is None:
        name = f"code {code}"[:64]
        raise UnusableDelivery(f"{name}: the hub reads only order pushes (codes 3 and 4)", topic=name)
    data = payload.get("data")
    order_sn = data.get("ordersn") if isinstance(data, dict) else None
    if not isinstance(order_sn, str) or not order_sn.isalnum() or len(order_sn) > 64:
        raise UnusableDelivery(f"{topic}: the push names no order (data.ordersn)", topic=topic)
    stamp = data.get("update_time", payload.get("timestamp")) if isinstance(data, dict) else None
    if isinstance(stamp, bool) or not isinstance(stamp, int) or stamp <= 0:
        raise UnusableDelivery(f"{topic}: the push has no update_time", topic=topic)
    event_id = payload.get("msg_id")
    if not isinstance(event_id, str) or not event_id:
        event_id = hashlib.sha256(body).hexdigest()  # an older push without msg_id: its content names it
    return WebhookEvent(event_id[:200], topic, order_sn, str(stamp), payload)


def push_status(body: Mapping[str, Any]) -> str | None:
    """The status an order push carries (None for a full order, or a push without one)."""
    data = body.get("data")
    status = data.get("status") if isinstance(data, dict) and "ordersn" in data else None
    return status if isinstance(status, str) else None
