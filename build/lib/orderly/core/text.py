"""Text every supported database can store and compare: PostgreSQL refuses NUL (U+0000) in text
and JSON, so it is refused where text comes in rather than failing in the database; what must be kept
all the same (a rejected order, a platform's key) is kept with each NUL escaped."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator


def refuse_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("must not contain NUL (U+0000) characters")
    return value


StorableStr = Annotated[str, AfterValidator(refuse_nul)]

NUL_ESCAPE = "\\u0000"  # how JSON writes a NUL: six characters any database stores


def escape_nul(text: str) -> str:
    return text.replace("\x00", NUL_ESCAPE)


def escape_nul_json(value: Any) -> Any:
    """A JSON value with :func:`escape_nul` applied to every string and key in it."""
    if isinstance(value, str):
        return escape_nul(value)
    if isinstance(value, dict):
        return {escape_nul_json(key): escape_nul_json(item) for key, item in value.items()}
    if isinstance(value, list):
        return [escape_nul_json(item) for item in value]
    return value
