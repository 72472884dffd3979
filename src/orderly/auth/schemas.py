from __future__ import annotations

from datetime import datetime

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from orderly.auth.domain import Role, Scope
from orderly.core.pagination import MAX_ID
from orderly.core.text import StorableStr

_STRICT = ConfigDict(extra="forbid", str_strip_whitespace=True)


class TokenIn(BaseModel):
    model_config = _STRICT

    name: StorableStr = Field(
        min_length=1, max_length=100, description="who or what uses it; recorded as the actor"
    )
    role: Role | None = Field(
        default=None, description="the token's rights; default: its user's, else writer"
    )
    user_id: int | None = Field(
        default=None,
        ge=1,
        le=MAX_ID,
        description="the user it belongs to: it carries that user's role while active",
    )
    scope: Scope | None = Field(
        default=None,
        description="before roles: read (becomes the reader role), write (writer), admin (admin)",
    )
    expires_at: AwareDatetime | None = Field(
        default=None, description="when the token stops working (a time with offset); none: never"
    )


class TokenOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    prefix: str = Field(description="the secret's first characters, to recognise it")
    role: Role = Field(
        description="a user's token: the user's role when it was made (it carries the current)"
    )
    user_id: int | None
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None = Field(description="to the minute: a use is recorded once a minute")
    revoked_at: datetime | None


class IssuedTokenOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    role: Role
    user_id: int | None
    expires_at: datetime | None
    token: str = Field(description="the secret: shown this once, stored only as a hash")


class SignInIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: str = Field(min_length=1, max_length=100)
    password: str = Field(min_length=1, max_length=1024)


class ViewerOut(BaseModel):
    """Who is signed in, and what they may do."""

    model_config = ConfigDict(from_attributes=True)

    user_id: int | None
    name: str = Field(description="the username (a token of no user: the token's name)")
    display_name: str | None
    role: Role
    permissions: list[str]
    locale: str
    timezone: str
    csrf_token: str | None = Field(
        description="send it as the header X-CSRF-Token with every change made with the session cookie"
    )


class MeIn(BaseModel):
    model_config = _STRICT

    locale: str | None = Field(default=None, description="en or zh_Hans")
    timezone: str | None = Field(default=None, max_length=64, description="IANA name, e.g. Asia/Shanghai")
    display_name: StorableStr | None = Field(default=None, min_length=1, max_length=100)
    old_password: str | None = Field(default=None, max_length=1024, description="needed to set a new one")
    new_password: str | None = Field(default=None, max_length=1024)


class UserIn(BaseModel):
    model_config = _STRICT

    username: str = Field(min_length=1, max_length=64, description="unique without regard to case")
    display_name: StorableStr | None = Field(default=None, max_length=100)
    password: str = Field(min_length=1, max_length=1024)
    role: Role
    locale: str = Field(default="en", description="en or zh_Hans")
    timezone: str | None = Field(default=None, max_length=64, description="IANA name; default: the hub's")


class UserPatch(BaseModel):
    model_config = _STRICT

    display_name: StorableStr | None = Field(default=None, min_length=1, max_length=100)
    role: Role | None = None
    locale: str | None = None
    timezone: str | None = Field(default=None, max_length=64)
    active: bool | None = Field(default=None, description="false deactivates: sessions end, tokens stop")


class PasswordIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    password: str = Field(min_length=1, max_length=1024)


class UserOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    username: str
    display_name: str
    role: Role
    locale: str
    timezone: str
    active: bool
    created_at: datetime
    updated_at: datetime


class AuditEventOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    at: datetime
    actor: str
    user_id: int | None
    token_id: int | None
    role: str
    action: str = Field(description="method and route: 'POST /orders/{order_id}/hold'")
    subject_kind: str | None
    subject_id: str | None
    params: dict[str, str]
    status: int
    client: str
    summary: str
