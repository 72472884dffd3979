from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from orderly.core.text import StorableStr


class ShopIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    code: StorableStr = Field(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9_-]*$")
    name: StorableStr = Field(min_length=1, max_length=200)
    channel: StorableStr = Field(
        min_length=1, max_length=32, description="platform, e.g. shopify, amazon, manual"
    )


class ShopOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    code: str
    name: str
    channel: str
    created_at: datetime
