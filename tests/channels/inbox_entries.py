"""Inbox entries in every state, for the API and CLI tests of the inbox."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from orderly.channels import inbox
from orderly.channels.models import InboxEntry, Shop
from orderly.core.clock import utcnow
from orderly.core.db import transaction
from tests.factories import setup_catalog


@pytest.fixture
def inbox_entries(factory: sessionmaker[Session]) -> dict[str, int]:
    """One entry of each state: processed and waiting on shop-a, failing and given up on shop-b."""
    setup_catalog(factory)
    now = utcnow()
    with transaction(factory) as s:
        shops = dict(s.execute(select(Shop.code, Shop.id)).all())
        made = {
            "processed": InboxEntry(shop_id=shops["shop-a"], event_id="A1", processed_at=now, attempts=1),
            "waiting": InboxEntry(shop_id=shops["shop-a"], event_id="A2"),
            "failing": InboxEntry(
                shop_id=shops["shop-b"], event_id="B1", attempts=2, last_error="cannot map: X"
            ),
            "gave_up": InboxEntry(
                shop_id=shops["shop-b"],
                event_id="B2",
                attempts=inbox.INBOX_MAX_ATTEMPTS,
                last_error="cannot map: KeyError: 'line_items'",
            ),
        }
        for entry in made.values():
            entry.source, entry.topic, entry.version, entry.body = "poll", "order", "v1", "{}"
            entry.received_at = now - timedelta(minutes=1)
            s.add(entry)
        s.flush()
        return {state: entry.id for state, entry in made.items()}
