"""Keyset pagination: a page of items and an opaque cursor that points past its last row.

A cursor carries the id of the last row served, so pages stay stable while new rows arrive (an
offset would skip or repeat rows). It is opaque to clients so its form can change.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

from pydantic import BaseModel, Field

from orderly.core.errors import DomainError

T = TypeVar("T")

MAX_ID = 2**63 - 1  # the largest BIGINT: a larger id would overflow the query, not miss a row


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = Field(description="pass as `cursor` for the next page; null on the last page")


def encode_cursor(last_id: int) -> str:
    return base64.urlsafe_b64encode(f"id:{last_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        text = ""
    kind, _, value = text.partition(":")
    if (
        kind != "id"
        or not (value.isascii() and value.isdigit() and len(value) <= 19)
        or not (0 < int(value) <= MAX_ID)
    ):
        raise DomainError(
            "cursor is not one this API issued: pass next_cursor back unchanged", field="cursor"
        )
    return int(value)


def paginate(rows: Sequence[T], limit: int, id_of: Callable[[T], int]) -> tuple[list[T], str | None]:
    """Split ``limit + 1`` fetched rows into the page and the cursor past it (None if nothing follows)."""
    page = list(rows[:limit])
    return page, encode_cursor(id_of(page[-1])) if len(rows) > limit else None
