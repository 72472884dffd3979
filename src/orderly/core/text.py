"""Text every supported database can store and compare: PostgreSQL refuses NUL (U+0000) in text
and JSON, so it is refused where text comes in rather than failing in the database."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator


def refuse_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("must not contain NUL (U+0000) characters")
    return value


StorableStr = Annotated[str, AfterValidator(refuse_nul)]
