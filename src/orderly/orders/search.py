"""Finding an order by what a person has at hand: its platform order number, the buyer's name, email
or phone, a tracking number.

Each order stores one hashed key per normalized value (``order_search_keys``, keyed by key then
order), so a search is an index lookup on SQLite and PostgreSQL alike, at any number of orders and
without extensions. A search matches whole values: the full name or any one of its words, the whole
email, a phone by its last nine digits (so ``030 1234567`` finds ``+49 30 1234567``), the order
number with or without ``#``. Keys are added when an order arrives or changes and never removed, so
an order is also found by a value it had before.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import Any

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from orderly.core.db import insert_rows
from orderly.orders.models import Order, OrderSearchKey
from orderly.review.domain.identities import identity_hash

PHONE_DIGITS = 9  # enough to tell numbers apart, few enough to skip country and trunk prefixes
_NOT_DIGIT = re.compile(r"\D")
PHONE_LIKE = re.compile(r"^[\d\s()+./-]+$")
_NOT_TRACKING = re.compile(r"[\s-]")


def _text(value: str) -> str:
    return " ".join(value.casefold().split())


def _phone(value: str) -> str | None:
    digits = _NOT_DIGIT.sub("", value)
    return digits[-PHONE_DIGITS:] if len(digits) >= 6 else None


def _tracking(value: str) -> str:
    # Carriers print tracking numbers in groups ("1Z 999 AA1 01"); people type them either way.
    return _NOT_TRACKING.sub("", value).casefold()


def _hashed(values: Iterable[str | None]) -> set[int]:
    return {_key(value) for value in values if value}


@lru_cache(maxsize=1 << 15)
def _key(value: str) -> int:
    # Words of names, emails and phones recur from order to order: each is hashed once while it does.
    return identity_hash("q:" + value)


def keys_of(order: Mapping[str, Any]) -> set[int]:
    """The search keys of a normalized order (or a stored one in that shape)."""
    buyer = order.get("buyer") or {}
    address = order.get("shipping_address") or {}
    values: list[str | None] = [_text(order["external_id"]).lstrip("#")]
    for name in (buyer.get("name"), address.get("name")):
        if name:
            text = _text(name)
            values += [text, *text.split()]
    if buyer.get("email"):
        values.append(_text(buyer["email"]))
    values += [_phone(phone) for phone in (buyer.get("phone"), address.get("phone")) if phone]
    numbers = (shipment.get("tracking_number") for shipment in order.get("shipments") or [])
    return _hashed([*values, *(_tracking(number) for number in numbers if number)])


def query_keys(q: str) -> set[int]:
    """The keys a search for ``q`` looks up: ``q`` as text, as a tracking number, and as a phone number
    when it is one. A single word is one key: PostgreSQL then reads its orders newest first straight
    from the key's index, which a word shared by many orders needs."""
    text = _text(q)
    return _hashed([text, text.lstrip("#"), _tracking(q), _phone(q) if PHONE_LIKE.match(q) else None])


def record_keys(session: Session, orders: Iterable[tuple[int, Mapping[str, Any]]], *, known: bool) -> None:
    """Index these (order id, order) pairs; ``known`` orders may already have some of the keys."""
    # In key order, as identities go: hashes land all over the index, which is cheaper to fill in order.
    rows = sorted((key, order_id) for order_id, order in orders for key in keys_of(order))
    insert_rows(
        session,
        OrderSearchKey,
        ("key", "order_id"),
        rows,
        skip_conflicts_on=["key", "order_id"] if known else None,
    )


def record_tracking_number(session: Session, order_id: int, number: str) -> None:
    """A tracking number the hub's own parcel got finds its order, as the platform's do."""
    rows = [(_key(_tracking(number)), order_id)]
    insert_rows(session, OrderSearchKey, ("key", "order_id"), rows, skip_conflicts_on=["key", "order_id"])


def matches(q: str) -> ColumnElement[bool]:
    """A filter on orders: those with a key ``q`` looks up."""
    keys = sorted(query_keys(q))
    return Order.id.in_(select(OrderSearchKey.order_id).where(OrderSearchKey.key.in_(keys)))
