"""The shops page: each shop's sync health, failing inbox entries and dead jobs with their errors, and
replaying them (each as the API's permission for it)."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from orderly.auth.domain import Role
from orderly.auth.service import create_token
from orderly.channels.models import InboxEntry, Shop, ShopHealth
from orderly.core.clock import utcnow
from orderly.core.db import transaction
from orderly.jobs.models import Job
from tests.factories import setup_catalog


def failures(factory: sessionmaker[Session], stock: dict[str, int] | None = None) -> dict[str, int]:
    """The test catalogue (with ``stock``), shop ``shop-a`` an hour behind with its polls failing, an
    inbox entry that cannot be mapped and a job that died; their ids."""
    setup_catalog(factory, stock)
    with transaction(factory) as s:
        shop = s.scalars(select(Shop).where(Shop.code == "shop-a")).one()
        shop.orders_synced_to = utcnow() - timedelta(minutes=61)
        s.add(
            ShopHealth(
                shop_id=shop.id,
                kind="orders",
                failures=4,
                unhealthy_since=utcnow(),
                last_error="HTTP 503 from the platform",
                last_ok_at=utcnow() - timedelta(hours=1),
            )
        )
        entry = InboxEntry(
            shop_id=shop.id,
            source="webhook",
            topic="orders/create",
            event_id="E-1",
            version="1",
            body="{}",
            attempts=5,
            last_error="line 1: no product for platform SKU 'ZZZ'",
        )
        job = Job(kind="stock.push", shop_id=shop.id, status="dead", attempts=12, last_error="timed out")
        s.add_all([entry, job])
        s.flush()
        return {"entry": entry.id, "job": job.id}


def test_the_shops_page_shows_health_and_failures(client: TestClient, factory: sessionmaker[Session]) -> None:
    ids = failures(factory)
    page = client.get("/shops")
    assert page.status_code == 200
    shop = page.text.split('data-shop="shop-a"')[1].split("</tr>")[0]
    assert "Failing" in shop and "61 min" in shop and "HTTP 503 from the platform" in shop
    assert "no product for platform SKU" in page.text and "timed out" in page.text
    assert f'hx-post="/shops/jobs/{ids["job"]}/replay"' in page.text
    assert "同步" in client.get("/shops", headers={"Cookie": "orderly_locale=zh_Hans"}).text


def test_replay_requeues_the_dead_job_and_the_inbox_entry(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    ids = failures(factory)
    replayed = client.post(f"/shops/jobs/{ids['job']}/replay", headers={"HX-Request": "true"})
    assert replayed.status_code == 200 and f"job #{ids['job']}" in replayed.text
    again = client.post(f"/shops/jobs/{ids['job']}/replay")
    assert again.status_code == 404 and "no dead job" in again.text
    entry = client.post(f"/shops/inbox/{ids['entry']}/replay")
    assert entry.status_code == 200 and f'data-entry="{ids["entry"]}"' not in entry.text  # no longer failing
    with transaction(factory) as s:
        assert s.get(Job, ids["job"]).status == "queued"  # type: ignore[union-attr]
        assert s.get(InboxEntry, ids["entry"]).attempts == 0  # type: ignore[union-attr]


def test_who_may_replay(anonymous: TestClient, factory: sessionmaker[Session]) -> None:
    ids = failures(factory)
    with transaction(factory) as s:
        finance = {"Authorization": f"Bearer {create_token(s, 'f', role=Role.FINANCE).token}"}
        warehouse = {"Authorization": f"Bearer {create_token(s, 'w', role=Role.WAREHOUSE).token}"}
    page = anonymous.get("/shops", headers=finance)
    assert page.status_code == 200 and "Replay" not in page.text
    assert anonymous.post(f"/shops/jobs/{ids['job']}/replay", headers=finance).status_code == 403
    assert anonymous.post(f"/shops/inbox/{ids['entry']}/replay", headers=finance).status_code == 403
    assert anonymous.get("/shops", headers=warehouse).status_code == 403
    assert 'href="/shops"' not in anonymous.get("/orders", headers=warehouse).text
