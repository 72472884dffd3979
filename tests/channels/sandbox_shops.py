"""Hub shops connected to the local sandboxes, as the tests that run them over HTTP set them up: polled
once an hour (the tests poll when they mean to), every other setting as a test gives it."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from orderly.channels import service as shops
from orderly.channels.amazon.connector import AmazonConnector
from orderly.channels.schemas import ShopIn, SyncSettings
from orderly.sandbox.amazon.store import AmazonStore
from orderly.sandbox.shopee.store import ShopeeStore
from orderly.sandbox.shopify.store import ShopifyStore


def connect_shopify(
    session: Session, store: ShopifyStore, url: str, *, webhook_secret: str | None = None, **settings: Any
) -> None:
    credentials = {"access_token": "shpat_sandbox"}
    if webhook_secret is not None:
        credentials["webhook_secret"] = webhook_secret
    _connect(session, "shopify", url, credentials, {"location_id": store.location_id, **settings})


def connect_amazon(session: Session, store: AmazonStore, url: str, **settings: Any) -> None:
    credentials = {
        "client_id": store.client_id,
        "client_secret": store.client_secret,
        "refresh_token": store.refresh_token,
    }
    amazon_settings = {
        "marketplace_id": store.marketplace_id,
        "seller_id": store.seller_id,
        "before_lag_seconds": 0,
        # the sandbox's quotas, not Amazon's published ones (one getOrders a minute)
        "rate_limits": {op: (1000.0, 1000) for op in AmazonConnector.rate_limits},
    }
    _connect(session, "amazon", url, credentials, amazon_settings | settings)


def connect_shopee(session: Session, store: ShopeeStore, url: str, **settings: Any) -> None:
    credentials = {
        "partner_id": str(store.partner_id),
        "partner_key": store.partner_key,
        "access_token": store.access_token,
        "refresh_token": store.refresh_token,
        "expire_at": str(store.access_expires_at),
    }
    shopee_settings = {
        "shop_id": store.shop_id,
        "rate_limits": {op: (1000.0, 1000) for op in ("orders", "stock", "shipments")},
    }
    _connect(session, "shopee", url, credentials, shopee_settings | settings)


def _connect(
    session: Session, channel: str, url: str, credentials: dict[str, str], settings: dict[str, Any]
) -> None:
    shops.create_shop(
        session,
        ShopIn(
            code=channel,
            name=channel.title(),
            channel=channel,
            base_url=url,
            credentials=credentials,
            settings=SyncSettings.model_validate({"poll_interval_s": 3600, **settings}),
            sync_enabled=True,
        ),
    )
