"""JSON text in and out with integers kept exact at any size.

orjson is strict (RFC 8259: no NaN, no lone surrogates, nesting at most 1024 deep) and fast, but it reads
an integer past 64 bits as a float (2**70 becomes 1.1805916207174113e+21, so two large platform ids
would collide) and cannot write one at all. The standard library keeps integers whole: it reads again
what holds such a number, and writes what orjson cannot.
"""

from __future__ import annotations

import json
import re
from typing import Any

import orjson

# A number of 19 digits or more where JSON puts a value: it may be past 64 bits. Digits inside a string
# follow a quote, not one of these, so a long tracking number costs no second reading.
_LONG_INTEGER = re.compile(rb"(?:^|[:\[,])\s*-?\d{19}")
# Text without 19 digits in a row holds no such number. Looking for that run in the text with its digits
# made alike is some twenty times faster than the expression, which then reads only what has one.
_DIGITS_ALIKE = bytes.maketrans(b"0123456789", b"0" * 10)
_NINETEEN_DIGITS = b"0" * 19


def loads(text: bytes | str) -> Any:
    """Parse strictly (``orjson.JSONDecodeError`` says where it is not JSON), integers exact."""
    value = orjson.loads(text)
    raw = text.encode() if isinstance(text, str) else text
    if _NINETEEN_DIGITS not in raw.translate(_DIGITS_ALIKE) or _LONG_INTEGER.search(raw) is None:
        return value
    try:
        return json.loads(text)
    except RecursionError:  # orjson took nesting the standard library's stack cannot
        raise orjson.JSONDecodeError(
            "nested too deep to read its long integers exactly", text if isinstance(text, str) else "", 0
        ) from None


def dumps(value: Any, *, sort_keys: bool = False) -> bytes:
    """Compact JSON text; values JSON has no type for are written as their ``str``."""
    option = orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS if sort_keys else 0
    try:
        return orjson.dumps(value, default=str, option=option)
    except orjson.JSONEncodeError:  # an integer past 64 bits (or text orjson refuses): written whole
        return json.dumps(value, default=str, sort_keys=sort_keys, separators=(",", ":")).encode()


def dumps_stored(value: Any) -> str:
    """The text a JSON column stores: what the standard library writes, in meaning (the same values read
    back; integers past 64 bits and keys that are no string go through it), several times faster. Unlike
    it, this writes enums and UUIDs by their value, and NaN as null."""
    try:
        return orjson.dumps(value, option=_STORED).decode()
    except orjson.JSONEncodeError:
        return json.dumps(value)


# Dates, dataclasses and subclasses go to the standard library, which refuses the first two as before.
_STORED = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_PASSTHROUGH_SUBCLASS
