from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from orderly.core.text import StorableStr


class TokenIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: StorableStr = Field(
        min_length=1, max_length=100, description="who or what uses it; recorded as the actor"
    )


class TokenOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    prefix: str = Field(description="the secret's first characters, to recognise it")
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class IssuedTokenOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    token: str = Field(description="the secret: shown this once, stored only as a hash")
