"""Pure rules of keeping shops in step: the figure a listing is told, and how inbox entries are keyed.

No database, HTTP or web framework here: the sync jobs (``tasks.py``) and the inbox (``inbox.py``)
read and write, and ask these functions what to do.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, Protocol

from orderly.core.text import escape_nul
from orderly.orders.domain import content_digest

#: Characters of the content digest in an inbox version (after the platform's stamp and a ``#``).
DIGEST_CHARS = 16
#: The inbox's version column holds this many characters.
VERSION_CHARS = 64
#: The event id of a delivery kept unprocessed: this and a digest of its topic and content.
KEPT = "unusable:"


class StockRule(Protocol):
    """A shop's settings for the figure its listings are told (``schemas.SyncSettings`` has them)."""

    @property
    def stock_buffer(self) -> int: ...
    @property
    def stock_buffer_percent(self) -> int: ...
    @property
    def low_stock_threshold(self) -> int: ...
    @property
    def low_stock_publish_zero(self) -> bool: ...


def publishable(rule: StockRule, available: int) -> tuple[int, bool]:
    """The quantity to publish on a shop and whether it is low stock. ``available`` is what can still
    be sold across active warehouses (a bundle: what its components allow, ``inventory.domain.sellable``);
    the shop's buffer (units, plus a share rounded down to whole units) is held back, never below zero;
    at or below the low-stock threshold it is low, and published as 0 if the shop says so."""
    held_back = rule.stock_buffer + available * rule.stock_buffer_percent // 100
    quantity = max(0, available - held_back)
    low = quantity <= rule.low_stock_threshold
    if low and rule.low_stock_publish_zero:
        quantity = 0
    return quantity, low


def push_delay(window_s: float, last_pushed_at: datetime | None, now: datetime) -> float:
    """Seconds a new push of a listing waits. A listing not pushed within its shop's coalescing window
    is pushed at once (a change, often a sale, reaches the shop without waiting); one pushed within it
    waits for the window to end, so a burst costs at most two pushes per window: the first change's
    and one of the figure as it is when the window ends (pushes queued meanwhile coalesce into it). A
    stamp ahead of this clock (another host's) never makes it wait longer than the window."""
    if last_pushed_at is None:
        return 0.0
    return min(window_s, max(0.0, window_s - (now - last_pushed_at).total_seconds()))


def version_key(stamp: str, content: Mapping[str, Any]) -> str:
    """The inbox version of an order: the platform's stamp (cut to fit) and a digest of what the order
    says, so two changes within one stamp are two versions and two readings of one version are one."""
    kept_stamp = escape_nul(stamp)[: VERSION_CHARS - DIGEST_CHARS - 1]
    return f"{kept_stamp}#{content_digest(content)[:DIGEST_CHARS]}"


def stamp_of(version: str) -> str:
    """The platform's stamp in an inbox version ("" for one stored before versions had a digest)."""
    return version.rpartition("#")[0]


def taken_again(stored: Mapping[str, Iterable[tuple[int, str]]], read: set[tuple[str, str]]) -> list[int]:
    """Of the entries stored per order (id, version), those just read from the platform again while
    another version of the order carries the same stamp: they go through ingest again, last, as the
    version the platform shows now (two versions with one stamp may have been applied in either order)."""
    again = []
    for event_id, entries in stored.items():
        versions = list(entries)
        for entry_id, version in versions:
            if (event_id, version) in read and any(
                other != version and stamp_of(other) == stamp_of(version) for _, other in versions
            ):
                again.append(entry_id)
    return again


def kept_event_id(topic: str, body: bytes) -> str:
    """The event id of a delivery kept unprocessed: one per topic and content, whatever its delivery id."""
    return KEPT + hashlib.sha256(topic.encode() + b"\n" + body).hexdigest()


def kept(event_id: str) -> bool:
    """Whether an inbox entry is a delivery kept unprocessed."""
    return event_id.startswith(KEPT)


def inbox_state(*, processed: bool, event_id: str, attempts: int, failing: bool, max_attempts: int) -> str:
    """What a person is told of an inbox entry."""
    if processed:
        return "processed"
    if kept(event_id):
        return "kept"  # never processed
    if attempts >= max_attempts:
        return "gave_up"  # waits for a replay
    return "failing" if failing else "waiting"


def missing_note(missing: list[str], shown: int = 20) -> str:
    """The alert text for orders a reconciliation took in that polls and webhooks should have brought."""
    more = len(missing) - shown
    listed = ", ".join(missing[:shown]) + (f" and {more} more" if more > 0 else "")
    return f"reconciliation took in {len(missing)} order(s) the hub lacked: {listed}"


# --- carriers -----------------------------------------------------------------------------------------

#: The carriers every platform's table knows, by the ways a person or a carrier plugin writes them (as
#: :func:`carrier_key` folds them). Each platform maps these names to its own codes (its ``mapper.py``);
#: a carrier named otherwise goes to the platform as written.
CARRIER_ALIASES: dict[str, str] = {
    **dict.fromkeys(("ups", "unitedparcelservice"), "ups"),
    **dict.fromkeys(("usps", "unitedstatespostalservice", "uspostalservice"), "usps"),
    **dict.fromkeys(("fedex", "federalexpress", "fedexground"), "fedex"),
    **dict.fromkeys(("dhl", "dhlexpress", "dhlexpressworldwide", "mydhl"), "dhl_express"),
    **dict.fromkeys(("dhlecommerce", "dhlglobalmail"), "dhl_ecommerce"),
    "royalmail": "royal_mail",
    "parcelforce": "parcelforce",
    "evri": "evri",
    "canadapost": "canada_post",
    "purolator": "purolator",
    "australiapost": "australia_post",
    **dict.fromkeys(("chinapost", "chinapostal", "chinaems", "ems"), "china_post"),
    "4px": "4px",
    "yanwen": "yanwen",
    "yunexpress": "yunexpress",
    "cainiao": "cainiao",
    "sfexpress": "sf_express",
    "dpd": "dpd",
    "gls": "gls",
    "tnt": "tnt",
    "ontrac": "ontrac",
    "lasership": "lasership",
    "japanpost": "japan_post",
    **dict.fromkeys(("yamato", "yamatotransport"), "yamato"),
    **dict.fromkeys(("sagawa", "sagawaexpress"), "sagawa"),
    "deutschepost": "deutsche_post",
    "laposte": "la_poste",
    "colissimo": "colissimo",
    "chronopost": "chronopost",
    "postnl": "postnl",
    "posteitaliane": "poste_italiane",
    "correos": "correos",
    **dict.fromkeys(("amazonlogistics", "amazonshipping"), "amazon_logistics"),
}


def carrier_key(name: str) -> str:
    """A carrier's name folded for lookup: "DHL Express", "dhl_express" and "DHL-EXPRESS" are one."""
    return "".join(char for char in name.casefold() if char.isalnum())


def known_carrier(name: str | None) -> str | None:
    """The carrier (a value of :data:`CARRIER_ALIASES`) a name stands for, or None if none is known."""
    return CARRIER_ALIASES.get(carrier_key(name)) if name else None
