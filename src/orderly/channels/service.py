"""Shop use cases: create and configure shops, build connectors, keep their health."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session

from orderly.alerts.service import raise_alert, resolve
from orderly.channels.connector import Connector, ShopConnection
from orderly.channels.models import Shop
from orderly.channels.registry import connector_class
from orderly.channels.schemas import ShopIn, ShopOut, ShopUpdate, SyncSettings
from orderly.channels.secrets import seal, unseal
from orderly.core.clock import utcnow
from orderly.core.config import Settings, get_settings
from orderly.core.db import flush_or_conflict
from orderly.core.errors import DomainError, NotFound

#: Consecutive failed calls after which a shop is marked unhealthy and an alert raised.
UNHEALTHY_AFTER = 5
#: Platform calls give up after this long; the job is retried later.
TIMEOUT = httpx.Timeout(10.0, connect=5.0)


def _out(shop: Shop) -> ShopOut:
    fields = {name: getattr(shop, name) for name in ShopOut.model_fields if name != "has_credentials"}
    return ShopOut(**fields, has_credentials=bool(shop.credentials))


def _check(channel: str, base_url: str | None, sync_enabled: bool) -> None:
    if not sync_enabled:
        return
    if connector_class(channel) is None:
        raise DomainError(
            f"sync needs a channel with a connector; {channel!r} has none", field="sync_enabled"
        )
    if not base_url:
        raise DomainError("sync needs a base_url", field="sync_enabled")


def create_shop(session: Session, data: ShopIn, settings: Settings | None = None) -> ShopOut:
    base_url = str(data.base_url).rstrip("/") if data.base_url else None
    _check(data.channel, base_url, data.sync_enabled)
    shop = Shop(
        code=data.code,
        name=data.name,
        channel=data.channel,
        base_url=base_url,
        credentials=seal(settings or get_settings(), data.credentials) if data.credentials else None,
        settings=data.settings.model_dump(),
        sync_enabled=data.sync_enabled,
        failures=0,
        created_at=utcnow(),
    )
    session.add(shop)
    flush_or_conflict(session, f"shop {data.code!r}")
    return _out(shop)


def update_shop(session: Session, code: str, data: ShopUpdate, settings: Settings | None = None) -> ShopOut:
    shop = get_shop(session, code, lock=True)
    if data.name is not None:
        shop.name = data.name
    if data.base_url is not None:
        shop.base_url = str(data.base_url).rstrip("/")
    if data.credentials is not None:
        shop.credentials = seal(settings or get_settings(), data.credentials)
    if data.settings is not None:
        shop.settings = data.settings.model_dump()
    if data.sync_enabled is not None:
        shop.sync_enabled = data.sync_enabled
    _check(shop.channel, shop.base_url, shop.sync_enabled)
    session.flush()
    return _out(shop)


def get_shop(session: Session, code: str, *, lock: bool = False) -> Shop:
    query = select(Shop).where(Shop.code == code)
    if lock:
        query = query.with_for_update()
    shop = session.scalar(query)
    if shop is None:
        raise NotFound(f"unknown shop {code!r}", field="shop")
    return shop


def list_shops(session: Session) -> list[ShopOut]:
    return [_out(s) for s in session.scalars(select(Shop).order_by(Shop.id))]


def sync_settings(shop: Shop) -> SyncSettings:
    return sync_settings_of(shop.settings)


def sync_settings_of(settings: Mapping[str, Any] | None) -> SyncSettings:
    return SyncSettings.model_validate(settings or {})


def connector_for(shop: Shop, client: httpx.Client, settings: Settings | None = None) -> Connector:
    klass = connector_class(shop.channel)
    if klass is None or not shop.base_url:
        raise DomainError(f"shop {shop.code!r} has no connector or base_url")
    connection = ShopConnection(
        shop_id=shop.id,
        shop_code=shop.code,
        base_url=shop.base_url,
        credentials=unseal(settings or get_settings(), shop.credentials),
        settings=dict(shop.settings or {}),
    )
    return klass(connection, client)


def http_client(shop: Shop) -> httpx.Client:
    return httpx.Client(base_url=shop.base_url or "", timeout=TIMEOUT, headers={"User-Agent": "Orderly"})


def record_success(session: Session, shop_id: int) -> None:
    shop = session.get(Shop, shop_id, with_for_update=True)
    if shop is None or (shop.failures == 0 and shop.unhealthy_since is None):
        return
    shop.failures, shop.unhealthy_since, shop.last_error = 0, None, None
    resolve(session, "shop_unhealthy", f"shop:{shop.code}")


def record_failure(session: Session, shop_id: int, error: str) -> None:
    """Count a failed call; past the threshold the shop is unhealthy and alerts. Sync keeps trying:
    it is never switched off by errors."""
    shop = session.get(Shop, shop_id, with_for_update=True)
    if shop is None:
        return
    shop.failures += 1
    shop.last_error = error[:2000]
    if shop.failures >= UNHEALTHY_AFTER and shop.unhealthy_since is None:
        shop.unhealthy_since = utcnow()
    if shop.unhealthy_since is not None:
        raise_alert(
            session,
            "shop_unhealthy",
            f"shop:{shop.code}",
            f"{shop.failures} calls to {shop.code} failed in a row; last: {shop.last_error}",
        )
