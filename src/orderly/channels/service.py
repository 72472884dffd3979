"""Shop use cases: create and configure shops, build connectors, keep their health."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import httpx
from pydantic import ValidationError
from sqlalchemy.orm import Session

from orderly.alerts.service import raise_alert, resolve
from orderly.channels import repository as repo
from orderly.channels.connector import ChannelError, Connector, ShopConnection
from orderly.channels.models import Shop, ShopHealth
from orderly.channels.registry import connector_class
from orderly.channels.schemas import (
    KindHealthOut,
    ShopIn,
    ShopOut,
    ShopUpdate,
    SyncSettings,
    stored_address,
)
from orderly.channels.secrets import seal, unseal, unseal_one
from orderly.core.clock import utcnow
from orderly.core.config import Settings, get_settings
from orderly.core.db import flush_or_conflict
from orderly.core.errors import Conflict, DomainError, NotFound
from orderly.orders.validation import validation_errors

#: Consecutive failed calls after which a shop is marked unhealthy and an alert raised.
UNHEALTHY_AFTER = 5
#: Platform calls give up after this long; the job is retried later.
TIMEOUT = httpx.Timeout(10.0, connect=5.0)


def _out(shop: Shop, health: Sequence[ShopHealth]) -> ShopOut:
    derived = {"has_credentials", "health", "healthy"}
    fields = {name: getattr(shop, name) for name in ShopOut.model_fields if name not in derived}
    kinds = {h.kind: KindHealthOut.model_validate(h) for h in health}
    return ShopOut(
        **fields,
        has_credentials=bool(shop.credentials),
        health=kinds,
        healthy=all(h.unhealthy_since is None for h in kinds.values()),
    )


def shop_out(session: Session, shop: Shop) -> ShopOut:
    return _out(shop, repo.health_of(session, [shop.id])[shop.id])


def _check(channel: str, base_url: str | None, sync_enabled: bool, settings: Mapping[str, Any]) -> None:
    if not sync_enabled:
        return
    klass = connector_class(channel)
    if klass is None:
        raise DomainError(
            f"sync needs a channel with a connector; {channel!r} has none", field="sync_enabled"
        )
    if not base_url:
        raise DomainError("sync needs a base_url", field="sync_enabled")
    lacking = [name for name in klass.required_settings if settings.get(name) is None]
    if lacking:
        raise DomainError(f"sync on {channel} needs the settings {', '.join(lacking)}", field="settings")


def _settings(channel: str, stored: Mapping[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    """The shop's settings once ``changes`` are made (a name set to null returns to its default; the
    others stay as stored). Names the channel does not know are refused, listing those it does."""
    klass = connector_class(channel)
    own = klass.settings_model if klass is not None else None
    engine_names, own_names = set(SyncSettings.model_fields), set(own.model_fields if own else ())
    # The shop's default location, when the connector names it without a model of its own settings.
    location = {klass.location_setting} - own_names if klass and klass.location_setting else set()
    known = engine_names | own_names | location
    unknown = sorted(set(changes) - known)
    if unknown:
        raise DomainError(
            f"unknown setting{'s' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown))}; "
            f"a {channel} shop takes: {', '.join(sorted(known))}",
            field="settings",
        )
    merged = {name: value for name, value in {**stored, **changes}.items() if value is not None}
    try:
        engine = SyncSettings.model_validate({k: v for k, v in merged.items() if k in engine_names})
        settings = engine.model_dump(mode="json")
        if own is not None:
            chosen = own.model_validate({k: v for k, v in merged.items() if k in own_names})
            settings |= chosen.model_dump(mode="json", exclude_unset=True)
    except ValidationError as exc:
        error = DomainError(
            "; ".join(f"settings.{e['field']}: {e['message']}" for e in validation_errors(exc)),
            field="settings",
        )
        error.errors = [
            {"field": f"settings.{e['field']}", "message": e["message"]} for e in validation_errors(exc)
        ]
        raise error from None
    operations = set(klass.rate_limits) if klass is not None else set()
    odd = sorted(set(engine.rate_limits) - operations)
    if odd:
        raise DomainError(
            f"settings.rate_limits: {', '.join(map(repr, odd))} is no operation of {channel}; it has: "
            f"{', '.join(sorted(operations)) or 'none'}",
            field="settings.rate_limits",
        )
    if any(isinstance(merged.get(name), str) and "\x00" in merged[name] for name in location):
        raise DomainError("settings: must not contain NUL (U+0000) characters", field="settings")
    # Names stored before names were checked are kept: dropping them silently could lose a setting.
    return settings | {name: value for name, value in merged.items() if name not in known - location}


def create_shop(session: Session, data: ShopIn, settings: Settings | None = None) -> ShopOut:
    base_url = stored_address(data.base_url) if data.base_url else None
    shop_settings = _settings(data.channel, {}, data.settings.model_dump(exclude_unset=True))
    _check(data.channel, base_url, data.sync_enabled, shop_settings)
    shop = Shop(
        code=data.code,
        name=data.name,
        channel=data.channel,
        base_url=base_url,
        credentials=seal(settings or get_settings(), data.credentials) if data.credentials else None,
        settings=shop_settings,
        sync_enabled=data.sync_enabled,
        created_at=utcnow(),
    )
    session.add(shop)
    flush_or_conflict(session, f"shop {data.code!r}")
    return _out(shop, [])


def update_shop(session: Session, code: str, data: ShopUpdate, settings: Settings | None = None) -> ShopOut:
    shop = get_shop(session, code, lock=True)
    base_url = stored_address(data.base_url) if data.base_url is not None else shop.base_url
    shop_settings = shop.settings or {}
    if data.settings is not None:
        shop_settings = _settings(shop.channel, shop_settings, data.settings)
    moved = _moved(shop, base_url, shop_settings)
    if moved and shop.credentials and data.credentials is None:
        raise Conflict(
            f"changing {' and '.join(moved)} of shop {code!r} changes where its credentials are sent: give "
            "the credentials again in the same change (`credentials`; `--credential` in `orderly shop "
            "connect`), so the stored ones never go to the new address",
            field="credentials",
        )
    if data.name is not None:
        shop.name = data.name
    shop.base_url = base_url
    if data.credentials is not None:
        shop.credentials = seal(settings or get_settings(), data.credentials)
    if data.settings is not None:
        shop.settings = shop_settings
    if data.sync_enabled is not None:
        shop.sync_enabled = data.sync_enabled
    _check(shop.channel, shop.base_url, shop.sync_enabled, shop.settings or {})
    session.flush()
    return shop_out(session, shop)


def _moved(shop: Shop, base_url: str | None, settings: Mapping[str, Any]) -> list[str]:
    """What of the shop's address (its ``base_url`` and the connector's ``address_settings``) differs in
    these values from what is stored."""
    klass = connector_class(shop.channel)
    named = klass.address_settings if klass is not None else ()
    stored = shop.settings or {}
    moved = ["base_url"] if base_url != shop.base_url else []
    return moved + [f"settings.{name}" for name in named if settings.get(name) != stored.get(name)]


def keep_credentials(
    session: Session, shop_id: int, credentials: Mapping[str, str], settings: Settings | None = None
) -> None:
    """Seal and store the credentials a connector was issued (``Connector.keep_credentials``): the
    names it gives replace the stored ones, the others stay."""
    shop = repo.locked_shop(session, shop_id)
    if shop is None:
        return
    key = settings or get_settings()
    shop.credentials = seal(key, {**unseal(key, shop.credentials), **credentials})


def shop_to_call(session: Session, code: str) -> Shop:
    """The shop, usable after the transaction ends, to build its connector for a platform call that
    must not hold the transaction open."""
    shop = repo.detached_shop(session, get_shop(session, code).id)
    assert shop is not None  # just read, in this transaction
    return shop


def get_shop(session: Session, code: str, *, lock: bool = False) -> Shop:
    shop = repo.shop_by_code(session, code, lock=lock)
    if shop is None:
        raise NotFound(f"unknown shop {code!r}", field="shop")
    return shop


def check_syncs(shop: Shop) -> None:
    """Refuse work that needs the platform on a shop that cannot reach it: queued, it would do nothing."""
    if connector_class(shop.channel) is None:
        raise Conflict(
            f"shop {shop.code!r} is on {shop.channel!r}, which has no connector: it has nothing to sync",
            field="code",
        )
    if not shop.sync_enabled:
        raise Conflict(
            f"sync is off for shop {shop.code!r}: switch it on first "
            f"(`orderly shop connect {shop.code} --enable`, or PATCH sync_enabled)",
            field="code",
        )


def list_shops(session: Session) -> list[ShopOut]:
    found = repo.all_shops(session)
    health = repo.health_of(session, [shop.id for shop in found])
    return [_out(shop, health[shop.id]) for shop in found]


def sync_settings(shop: Shop) -> SyncSettings:
    return sync_settings_of(shop.settings)


def sync_settings_of(settings: Mapping[str, Any] | None) -> SyncSettings:
    return SyncSettings.model_validate(settings or {})


def connector_for(shop: Shop, client: httpx.Client, settings: Settings | None = None) -> Connector:
    klass = connector_class(shop.channel)
    if klass is None or not shop.base_url:
        raise DomainError(f"shop {shop.code!r} has no connector or base_url")
    return klass(_connection(shop, unseal(settings or get_settings(), shop.credentials)), client)


def _connection(shop: Shop, credentials: Mapping[str, str]) -> ShopConnection:
    return ShopConnection(
        shop_id=shop.id,
        shop_code=shop.code,
        base_url=shop.base_url or "",
        credentials=credentials,
        settings=dict(shop.settings or {}),
    )


def webhook_class(shop: Shop) -> type[Connector]:
    """The connector class that checks and reads the shop's webhook deliveries; refused (404) for a
    channel that sends none."""
    klass = connector_class(shop.channel)
    if klass is None or not klass.webhooks:
        raise NotFound(f"shop {shop.code!r} is on {shop.channel}, which sends no webhooks", field="code")
    return klass


def webhook_secret(shop: Shop, klass: type[Connector], settings: Settings | None = None) -> str | None:
    """The credential the shop's deliveries are checked with (``Connector.webhook_credential``; several
    joined by newlines, None when one is missing)."""
    names = klass.webhook_credential
    if names is None:
        return None
    if isinstance(names, str):
        return unseal_one(settings or get_settings(), shop.credentials, names)
    values = [unseal_one(settings or get_settings(), shop.credentials, name) for name in names]
    return None if any(value is None for value in values) else "\n".join(map(str, values))


def delivery_reader(shop: Shop, klass: type[Connector], client: httpx.Client) -> Connector:
    """A connector without credentials, to map what a verified delivery says (no platform is called);
    refused (409) while the shop's own setup keeps a connector from being built."""
    if not shop.base_url:
        raise DomainError(f"shop {shop.code!r} has no connector or base_url")
    try:
        return klass(_connection(shop, {}), client)
    except ChannelError as exc:
        raise Conflict(f"shop {shop.code!r} cannot take deliveries until its setup is fixed: {exc}") from exc


def http_client(shop: Shop) -> httpx.Client:
    return httpx.Client(base_url=shop.base_url or "", timeout=TIMEOUT, headers={"User-Agent": "Orderly"})


def record_success(session: Session, shop_id: int, kind: str) -> None:
    shop = session.get(Shop, shop_id)
    if shop is None:
        return
    health = repo.locked_health(session, shop_id, kind)
    health.last_ok_at = utcnow()
    if health.failures == 0 and health.unhealthy_since is None:
        return
    health.failures, health.unhealthy_since, health.last_error = 0, None, None
    resolve(session, "shop_unhealthy", f"shop:{shop.code}:{kind}")


def record_failure(session: Session, shop_id: int, kind: str, error: str) -> None:
    """Count a failed call of this kind; past the threshold the shop is unhealthy for it and alerts.
    Sync keeps trying: it is never switched off by errors."""
    shop = session.get(Shop, shop_id)
    if shop is None:
        return
    health = repo.locked_health(session, shop_id, kind)
    health.failures += 1
    health.last_error = error[:2000]
    if health.failures >= UNHEALTHY_AFTER and health.unhealthy_since is None:
        health.unhealthy_since = utcnow()
    if health.unhealthy_since is not None:
        raise_alert(
            session,
            "shop_unhealthy",
            f"shop:{shop.code}:{kind}",
            f"{health.failures} {kind} calls to shop {shop.code} failed in a row; last: {health.last_error}",
        )
