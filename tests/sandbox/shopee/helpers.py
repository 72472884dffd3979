"""Calling the Shopee sandbox as the contract sheet says, signing with the standard library only (not
the hub's client): what the sandbox tests and the connector tests share."""

from __future__ import annotations

import hashlib
import hmac
import time
from typing import Any

import httpx

from orderly.sandbox.shopee import ShopeeStore


def signed(
    store: ShopeeStore, path: str, *, public: bool = False, token: str | None = None, **extra: Any
) -> dict[str, Any]:
    """The common query parameters of a call, signed as contract §2 says."""
    now = int(time.time())
    access = store.access_token if token is None else token
    base = f"{store.partner_id}{path}{now}" + ("" if public else f"{access}{store.shop_id}")
    params: dict[str, Any] = {"partner_id": store.partner_id, "timestamp": now, **extra}
    if not public:
        params |= {"access_token": access, "shop_id": store.shop_id}
    params["sign"] = hmac.new(store.partner_key.encode(), base.encode(), hashlib.sha256).hexdigest()
    return params


def get(http: httpx.Client, store: ShopeeStore, api: str, **params: Any) -> httpx.Response:
    path = f"/api/v2/{api}"
    return http.get(path, params=signed(store, path, **params))


def post(http: httpx.Client, store: ShopeeStore, api: str, body: Any, **params: Any) -> httpx.Response:
    path = f"/api/v2/{api}"
    return http.post(path, params=signed(store, path, **params), json=body)
