"""Shop use cases."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from orderly.channels.models import Shop
from orderly.channels.schemas import ShopIn, ShopOut
from orderly.core.db import flush_or_conflict


def create_shop(session: Session, data: ShopIn) -> ShopOut:
    shop = Shop(**data.model_dump())
    session.add(shop)
    flush_or_conflict(session, f"shop {data.code!r}")
    return ShopOut.model_validate(shop)


def list_shops(session: Session) -> list[ShopOut]:
    return [ShopOut.model_validate(s) for s in session.scalars(select(Shop).order_by(Shop.id))]
