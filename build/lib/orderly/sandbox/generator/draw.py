"""Cheap draws from a seeded ``Random``: on the generator's hot path, where ``choice`` and ``randint``
cost several times ``random()``."""

from __future__ import annotations

import random
from collections.abc import Sequence
from functools import cache
from typing import TypeVar

# Pattern letters: '#' a digit, '$' a digit 2-9, '@' a letter used in Canadian postal codes,
# '%' a letter used in the inward part of British postcodes.
DIGITS = "0123456789"
_PATTERN_CHARS = {
    "#": DIGITS,
    "$": "23456789",
    "@": "ABCEGHJKLMNPRSTVWXYZ",
    "%": "ABDEFGHJLNPQRSTUWXYZ",
}


@cache
def _parts(pattern: str) -> tuple[tuple[str, int], ...]:
    """``(text, 0)`` for literal text, ``(alphabet, n)`` for n characters drawn from the alphabet."""
    parts: list[tuple[str, int]] = []
    for c in pattern:
        alphabet = _PATTERN_CHARS.get(c)
        text, count = parts[-1] if parts else ("", -1)
        if alphabet is None:
            parts[-1:] = [(text + c, 0)] if count == 0 else [*parts[-1:], (c, 0)]
        elif text == alphabet:
            parts[-1] = (alphabet, count + 1)
        else:
            parts.append((alphabet, 1))
    return tuple(parts)


def fill(rng: random.Random, pattern: str) -> str:
    draw = rng.random
    out = ""
    for text, count in _parts(pattern):
        if not count:
            out += text
        elif text is DIGITS:  # one draw for a whole run of digits
            out += str(int(draw() * 10**count)).zfill(count)
        else:
            out += "".join(text[int(draw() * len(text))] for _ in range(count))
    return out


_T = TypeVar("_T")


# ``Random.choice`` and ``randint`` cost several times ``random()``; these two are on the hot path.
def one_of(rng: random.Random, options: Sequence[_T]) -> _T:
    return options[int(rng.random() * len(options))]


def between(rng: random.Random, low: int, high: int) -> int:
    return low + int(rng.random() * (high - low + 1))
