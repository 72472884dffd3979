"""Shops over HTTP."""

from __future__ import annotations

from fastapi import status

from orderly.channels import service
from orderly.channels.schemas import ShopIn, ShopOut
from orderly.core.web import DbSession, api_router

router = api_router("channels")


@router.get("/shops", response_model=list[ShopOut])
def list_shops(session: DbSession) -> list[ShopOut]:
    return service.list_shops(session)


@router.post("/shops", response_model=ShopOut, status_code=status.HTTP_201_CREATED)
def create_shop(session: DbSession, body: ShopIn) -> ShopOut:
    return service.create_shop(session, body)
