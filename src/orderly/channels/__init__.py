"""Channels: shops (a connected account on a platform), keeping them and the hub in step, and a plugin
package per platform (``channels/<name>/``; the layout and the interface are in ``connector.py``,
each platform's notes in ``docs/channels/``).

- Shops: credentials sealed at rest (``secrets.py``); settings are the engine's (``schemas.SyncSettings``)
  plus the connector's own (``Connector.settings_model``), unknown names refused, a ``PATCH`` merging.
  Where credentials go (``base_url`` and a connector's ``address_settings``) changes only with the
  credentials given again. A connector whose platform issues new tokens hands them to
  ``Connector.keep_credentials``, which seals and stores them at once in a transaction of their own.
- Orders in and stock out are the sync jobs (``tasks.py``, which says how): polls, backfills
  (``backfills.py``) and webhooks land raw in the inbox (``inbox.py``) and are ingested from there. A
  platform whose deliveries only name the order that changed (``Connector.webhook_polls``) has each one
  wake the shop's poll; a platform's unsigned check that the webhook URL answers (``Connector.ping``:
  WooCommerce's ``webhook_id=`` when a webhook is made) is answered 200 and stored nowhere, and one that
  first checks the endpoint is the shop's (eBay's ``GET ?challenge_code=``) is answered by
  ``Connector.answer_challenge``. What a listing is told is ``domain.publishable`` of inventory's
  sellable figure.
- Limits: a client calls ``Connector.pace`` before every request, drawing from a bucket per shop and
  operation that every worker shares (``ratelimit.py``); each request is retried on its own
  (``connector.py: retrying``), not the whole job.
- Health per shop and kind of call (``shop_health``: orders, stock, shipments): five failures in a row
  make a kind unhealthy, with an alert; one kind working never clears another, and health never switches
  sync off.
"""
