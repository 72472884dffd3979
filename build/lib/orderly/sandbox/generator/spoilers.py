"""What makes an order anomalous: each spoiler spoils one thing of an otherwise clean order."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import phonenumbers

from orderly.sandbox.generator.anomalies import (
    BILLING_ELSEWHERE,
    FOREIGN_POSTAL_CODES,
    FRAUDS,
    KEYWORD_REMARKS,
    LATIN_PLACEHOLDERS,
    PLACEHOLDERS,
    PO_BOXES,
    POSTAL_SHAPES,
    Anomaly,
    shape,
)
from orderly.sandbox.generator.channels import remark_for
from orderly.sandbox.generator.draw import DIGITS, between, fill, one_of

if TYPE_CHECKING:
    from orderly.sandbox.generator.orders import ShopStream


def _address_key(address: dict[str, Any]) -> str:
    return f"a:{address['line1']}|{address.get('postal_code')}|{address['country']}"


def identity_keys(buyer: dict[str, Any], address: dict[str, Any]) -> frozenset[str]:
    """What tells buyers apart when spotting bursts: e-mail, phones, platform id and address."""
    keys = {_address_key(address)}
    for prefix, value in (
        ("e:", buyer.get("email")),
        ("p:", buyer.get("phone")),
        ("p:", address.get("phone")),
        ("i:", buyer.get("platform_id")),
    ):
        if value:
            keys.add(prefix + value)
    return frozenset(keys)


BLACKLISTED_KEYS = frozenset().union(
    *(
        identity_keys({"email": f.email, "phone": f.phone, "platform_id": f.platform_id}, f.address)
        for f in FRAUDS
    )
)


def _drop_address_field(rng: random.Random, order: dict[str, Any], stream: ShopStream) -> None:
    """No postal code, or a placeholder for line1 (then without line2) or the city."""
    address = order["shipping_address"]
    field = one_of(rng, ("postal_code", "line1", "city"))
    if field == "postal_code":
        address["postal_code"] = None
        return
    if field == "line1":
        address.pop("line2", None)
    address[field] = one_of(rng, PLACEHOLDERS.get(address["country"], LATIN_PLACEHOLDERS))


def _garble_postal_code(rng: random.Random, order: dict[str, Any], stream: ShopStream) -> None:
    """A code of a shape the country never uses: cut short, run on, a letter for a digit, or another
    country's."""
    address = order["shipping_address"]
    code, shapes = address["postal_code"], POSTAL_SHAPES[address["country"]]
    style = int(rng.random() * 4)
    if style == 0:
        while shape(code) in shapes:
            code = code[:-1]
    elif style == 1:
        while shape(code) in shapes:
            code += one_of(rng, DIGITS)
    elif style == 2:
        last = max(i for i, c in enumerate(code) if c.isdigit())
        code = f"{code[:last]}{one_of(rng, 'OIS')}{code[last + 1 :]}"
    else:
        code = one_of(rng, FOREIGN_POSTAL_CODES[address["country"]])
    address["postal_code"] = code


def _garble_phone(rng: random.Random, order: dict[str, Any], stream: ShopStream) -> None:
    """A phone the country has no such number for: cut short, run on, or with a prefix none starts with."""
    buyer, address = order["buyer"], order["shipping_address"]
    phone, country = address["phone"], address["country"]
    calling_code, national = phone.split(" ", 1)
    garbled = [phone[:-3], phone + fill(rng, "###"), f"{calling_code} 0{national[1:]}"]
    first = int(rng.random() * len(garbled))
    bad = next(p for p in garbled[first:] + garbled[:first] if not _is_phone_of(p, country))
    if buyer.get("phone") == phone:
        buyer["phone"] = bad
    address["phone"] = bad


def _is_phone_of(phone: str, country: str) -> bool:
    try:
        return bool(phonenumbers.is_valid_number_for_region(phonenumbers.parse(phone, country), country))
    except phonenumbers.NumberParseException:
        return False


def _ship_to_po_box(rng: random.Random, order: dict[str, Any], stream: ShopStream) -> None:
    address = order["shipping_address"]
    address.pop("line2", None)
    address["line1"] = fill(rng, one_of(rng, PO_BOXES[address["country"]]))


def _add_keyword_remark(rng: random.Random, order: dict[str, Any], stream: ShopStream) -> None:
    order["buyer_remark"] = remark_for(rng, order["shipping_address"]["country"], KEYWORD_REMARKS)


def _bill_elsewhere(rng: random.Random, order: dict[str, Any], stream: ShopStream) -> None:
    shipped_to = order["shipping_address"]["country"]
    order["billing_country"] = one_of(rng, [c for c in BILLING_ELSEWHERE if c != shipped_to])


def _use_fraud_identity(rng: random.Random, order: dict[str, Any], stream: ShopStream) -> None:
    """One field of a known fraud identity, of those the shop's orders carry: e-mail, platform id, and
    the phone or address of a fraud in the same country."""
    buyer, address = order["buyer"], order["shipping_address"]
    local = [f for f in FRAUDS if f.address["country"] == address["country"]]
    frauds_by_field = {
        "email": FRAUDS if "email" in buyer and stream.channel.email == "own" else (),
        "platform_id": [f for f in FRAUDS if f.channel == stream.shop.channel and f.platform_id],
        "phone": local,
        "address": local,
    }
    field = one_of(rng, [field for field, frauds in frauds_by_field.items() if frauds])
    fraud = one_of(rng, frauds_by_field[field])
    if field == "address":
        address.pop("line2", None)
        address.pop("region", None)
        address |= fraud.address
    elif field == "phone":
        if "phone" in buyer:
            buyer["phone"] = fraud.phone
        address["phone"] = fraud.phone
    else:
        buyer[field] = getattr(fraud, field)


def _leave_unpaid(rng: random.Random, order: dict[str, Any], stream: ShopStream) -> None:
    """Awaiting a payment that is not cash on delivery, still so hours later."""
    placed = datetime.fromisoformat(order["placed_at"])
    order["payment_status"] = "pending"
    order["payment_method"], order["platform_status"] = stream.channel.unpaid
    order["updated_at"] = (placed + timedelta(seconds=between(rng, 2 * 3600, 6 * 3600))).isoformat()


# HIGH_VALUE, OUT_OF_STOCK and PRESALE are in the lines, VELOCITY in the timing: they have none.
SPOILERS: dict[Anomaly, Callable[[random.Random, dict[str, Any], ShopStream], None]] = {
    Anomaly.MISSING_ADDRESS_FIELD: _drop_address_field,
    Anomaly.BAD_POSTAL_CODE: _garble_postal_code,
    Anomaly.BAD_PHONE: _garble_phone,
    Anomaly.PO_BOX: _ship_to_po_box,
    Anomaly.REMARK_KEYWORD: _add_keyword_remark,
    Anomaly.COUNTRY_MISMATCH: _bill_elsewhere,
    Anomaly.BLACKLISTED: _use_fraud_identity,
    Anomaly.UNPAID: _leave_unpaid,
}
