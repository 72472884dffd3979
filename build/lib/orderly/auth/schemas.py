from __future__ import annotations

from datetime import datetime

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from orderly.auth.domain import Scope
from orderly.core.text import StorableStr


class TokenIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: StorableStr = Field(
        min_length=1, max_length=100, description="who or what uses it; recorded as the actor"
    )
    scope: Scope = Field(
        default=Scope.WRITE,
        description="read: GET requests only; write: also every change; admin: also tokens and shops",
    )
    expires_at: AwareDatetime | None = Field(
        default=None, description="when the token stops working (a time with offset); none: never"
    )


class TokenOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    prefix: str = Field(description="the secret's first characters, to recognise it")
    scope: Scope
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None = Field(description="to the minute: a use is recorded once a minute")
    revoked_at: datetime | None


class IssuedTokenOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    scope: Scope
    expires_at: datetime | None
    token: str = Field(description="the secret: shown this once, stored only as a hash")
