"""Who placed an order and where it goes, as hashed identities: what ``order_identities`` stores and
the velocity and merge checks look up, and what a blacklist names. Pure."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from typing import Any

_NOT_DIGIT = re.compile(r"\D+")


_NOT_ALNUM_OR_BAR = re.compile(r"[^\w|]+|_")


def _address_hashes(address: Mapping[str, Any]) -> tuple[int, int]:
    """(the address, the address without its second line): the same however it is spaced, cased or
    punctuated, hashed as identities."""
    joined = "|".join(
        (address.get(part) or "").replace("|", " ") for part in ("line1", "line2", "postal_code", "country")
    )
    normal = _NOT_ALNUM_OR_BAR.sub("", joined.casefold())
    line1, line2, postal, country = normal.split("|")
    whole = identity_hash("a:" + normal)
    # Without a second line the street is the address itself: the same text, the same hash.
    return whole, identity_hash(f"a:{line1}||{postal}|{country}") if line2 else whole


def street_fingerprint(address: Mapping[str, Any]) -> int:
    """The address without its second line (flat, floor): what a blacklist names."""
    return _address_hashes(address)[1]


def phone_digits(phone: str | None) -> str | None:
    """The last nine digits: the same line whether written with or without a country prefix."""
    if not phone:
        return None
    digits = _NOT_DIGIT.sub("", phone)
    return digits[-9:] if len(digits) >= 6 else None


def identify(
    shop: str, buyer: Mapping[str, Any], address: Mapping[str, Any]
) -> tuple[int, int, int, tuple[int, ...]]:
    """(address, street, the buyer, every identity) of an order, hashed as order_identities stores
    them: its buyer id on the shop, email, phone and address, each prefixed by what it is; the
    address last. The street is the address without its second line."""
    ids: list[str] = []
    if buyer.get("platform_id"):
        ids.append(f"b:{shop}:{buyer['platform_id']}")
    if buyer.get("email"):
        ids.append("e:" + buyer["email"].casefold())
    phone = phone_digits(buyer.get("phone") or address.get("phone"))
    if phone:
        ids.append("p:" + phone)
    # Without any id the name on the parcel stands for the buyer, at this address only.
    hashes = [identity_hash(i) for i in ids]
    buyer_hash = (
        hashes[0]
        if ids
        else identity_hash("n:" + (buyer.get("name") or address.get("name") or "").casefold())
    )
    address_hash, street_hash = _address_hashes(address)
    hashes.append(address_hash)
    return address_hash, street_hash, buyer_hash, tuple(hashes)


def identity_hash(identity: str) -> int:
    """A signed 64-bit hash of an identity, as the order_identities table stores it."""
    return int.from_bytes(hashlib.blake2b(identity.encode(), digest_size=8).digest(), "big", signed=True)
