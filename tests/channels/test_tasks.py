"""The sync engine against an in-memory platform, on both databases: orders in exactly once, stock out
to every shop, through rate limits, failures and dead workers."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from orderly.alerts.models import Alert
from orderly.catalog import service as catalog
from orderly.catalog.schemas import MappingIn
from orderly.channels import inbox, tasks
from orderly.channels import service as shops
from orderly.channels.connector import AuthFailed, ChannelError, RateLimited, RawOrder, WebhookEvent
from orderly.channels.models import InboxEntry, ListingBinding, RateBucket, Shop
from orderly.channels.schemas import ShopIn, SyncSettings
from orderly.core.clock import utcnow
from orderly.core.db import transaction
from orderly.inventory import service as inventory
from orderly.jobs import service as jobs
from orderly.jobs.models import Job
from orderly.jobs.worker import Worker
from orderly.orders.models import IngestRejection, Order
from tests.channels.fake import FakeConnector, FakePlatform
from tests.factories import order, setup_catalog


@pytest.fixture
def platforms(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, FakePlatform]]:
    FakeConnector.platforms = {"fake-a": FakePlatform(), "fake-b": FakePlatform()}
    monkeypatch.setattr(
        shops, "connector_class", lambda channel: FakeConnector if channel == "fake" else None
    )
    yield FakeConnector.platforms


@pytest.fixture
def worker(factory: sessionmaker[Session], platforms: dict[str, FakePlatform], tmp_path: object) -> Worker:
    setup_catalog(factory, {"SKU-1": 10, "SKU-2": 10})
    with transaction(factory) as s:
        for code in ("fake-a", "fake-b"):
            shops.create_shop(
                s,
                ShopIn(
                    code=code,
                    name=code,
                    channel="fake",
                    base_url="http://127.0.0.1:9",  # never dialled: the fake platform lives in memory
                    credentials={"token": "t"},
                    # Pushes at once: drain() stops at the first moment nothing is due.
                    settings=SyncSettings(poll_interval_s=3600, stock_coalesce_s=0),
                    sync_enabled=True,
                ),
            )
            catalog.create_mapping(
                s, MappingIn(shop=code, platform_sku="SKU-1", listing_id=f"{code}-L1", sku="SKU-1")
            )
            catalog.create_mapping(
                s, MappingIn(shop=code, platform_sku="KIT-1", listing_id=f"{code}-K1", sku="KIT-1")
            )
    return Worker(factory, name="test", idle_sleep=0)


def drain(worker: Worker, rounds: int = 50) -> None:
    for _ in range(rounds):
        if not worker.run_once():
            return
    raise AssertionError("jobs kept coming")


def _shop_id(factory: sessionmaker[Session], code: str) -> int:
    with transaction(factory) as s:
        return shops.get_shop(s, code).id


def _enqueue(factory: sessionmaker[Session], kind: str, code: str) -> None:
    with transaction(factory) as s:
        jobs.enqueue(s, [jobs.NewJob(kind, {"shop_id": shops.get_shop(s, code).id})])


def test_polling_takes_every_order_in_once_and_stock_reaches_every_shop(
    factory: sessionmaker[Session], worker: Worker, platforms: dict[str, FakePlatform]
) -> None:
    for n in range(5):  # five orders over three pages
        platforms["fake-a"].put(order(("SKU-1", 1), shop="fake-a", external_id=f"A{n}", updated=n))
    drain(worker)  # the first poll, the resyncs and the pushes they cause
    _enqueue(factory, tasks.POLL, "fake-a")  # a second poll re-reads the overlap window
    drain(worker)

    with transaction(factory) as s:
        assert s.scalar(select(func.count()).select_from(Order)) == 5
        assert s.scalar(select(func.count()).select_from(InboxEntry)) == 5
    # SKU-1: 10 on hand, 5 reserved -> 5; the kit (2 x SKU-1 + SKU-2) -> 2.
    for code in ("fake-a", "fake-b"):
        assert platforms[code].stock == {f"{code}-L1": 5, f"{code}-K1": 2}


def test_a_polled_payload_with_integers_past_64_bits_goes_in_with_them_exact(
    factory: sessionmaker[Session], worker: Worker, platforms: dict[str, FakePlatform]
) -> None:
    big = order(("SKU-1", 1), shop="fake-a", external_id="BIG")
    big["buyer"]["platform_id"] = str(2**70)
    platforms["fake-a"].put({**big, "raw": {"ids": [2**70, 2**70 + 1]}})  # once a poll failed for ever

    drain(worker)

    with transaction(factory) as s:
        assert s.scalars(select(Order.external_id)).all() == ["BIG"]
        body = json.loads(s.scalars(select(InboxEntry.body)).one())
    assert body["raw"] == {"ids": [2**70, 2**70 + 1]}


def test_a_polled_order_whose_id_holds_a_nul_is_kept_and_rejected_not_lost(
    factory: sessionmaker[Session], worker: Worker, platforms: dict[str, FakePlatform]
) -> None:
    # Once the poll failed for ever on PostgreSQL: its inbox row could not hold the NUL.
    platforms["fake-a"].put(order(("SKU-1", 1), shop="fake-a", external_id="A\x00B"))
    platforms["fake-a"].put(order(("SKU-1", 1), shop="fake-a", external_id="FINE"))

    drain(worker)

    with transaction(factory) as s:
        assert s.scalars(select(Order.external_id)).all() == ["FINE"]
        assert sorted(s.scalars(select(InboxEntry.event_id)).all()) == ["A\\u0000B", "FINE"]
        rejection = s.execute(select(IngestRejection.external_id, IngestRejection.reason)).one()
    assert tuple(rejection) == ("A\\u0000B", "external_id: must not contain NUL (U+0000) characters")


def test_a_burst_of_changes_is_one_push_per_listing(
    factory: sessionmaker[Session], worker: Worker, platforms: dict[str, FakePlatform]
) -> None:
    drain(worker)
    for platform in platforms.values():
        platform.pushes.clear()
    for _ in range(30):
        with transaction(factory) as s:
            inventory.receive(s, "SKU-1", "WH-1", 1, actor="test", reason=None)
    drain(worker)

    assert sorted(platforms["fake-a"].pushes) == [("fake-a-K1", 10), ("fake-a-L1", 40)]
    assert sorted(platforms["fake-b"].pushes) == [("fake-b-K1", 10), ("fake-b-L1", 40)]


def test_webhooks_delivered_twice_are_one_entry_and_one_order(
    factory: sessionmaker[Session], worker: Worker, platforms: dict[str, FakePlatform]
) -> None:
    body = json.dumps(order(("SKU-1", 2), shop="fake-a", external_id="W1")).encode()
    headers = {"x-fake-signature": "ok", "x-fake-delivery": "d-1"}
    for _ in range(2):
        with transaction(factory) as s:
            shop = shops.get_shop(s, "fake-a")
            connector = FakeConnector(shops.connector_for(shop, None).connection, None)  # type: ignore[arg-type]
            inbox.store_webhook(s, shop, connector, headers, body)
    drain(worker)

    with transaction(factory) as s:
        assert s.scalar(select(func.count()).select_from(InboxEntry)) == 1
        assert s.scalars(select(Order.status).where(Order.external_id == "W1")).all() == ["allocated"]


def test_an_unreadable_payload_is_kept_with_its_reason_and_does_not_stop_the_rest(
    factory: sessionmaker[Session], worker: Worker, platforms: dict[str, FakePlatform]
) -> None:
    platforms["fake-a"].put({**order(shop="fake-a", external_id="BAD"), "broken": True})
    platforms["fake-a"].put(order(shop="fake-a", external_id="GOOD"))
    drain(worker)

    with transaction(factory) as s:
        assert s.scalars(select(Order.external_id)).all() == ["GOOD"]
        bad = s.scalars(select(InboxEntry).where(InboxEntry.event_id == "BAD")).one()
        assert bad.processed_at is None and "unreadable payload" in (bad.last_error or "")


def test_a_throttled_call_waits_for_retry_after_then_succeeds(
    factory: sessionmaker[Session], worker: Worker, platforms: dict[str, FakePlatform]
) -> None:
    drain(worker)
    platforms["fake-a"].failures.append(RateLimited("slow down", retry_after=30))
    _enqueue(factory, tasks.POLL, "fake-a")
    drain(worker)

    with transaction(factory) as s:
        job = s.scalars(select(Job).where(Job.kind == tasks.POLL, Job.status == "queued")).one()
        assert job.attempts == 1 and "rate limited" in (job.last_error or "")
        assert 29 <= (job.run_after - utcnow()).total_seconds() <= 31
        s.execute(update(Job).where(Job.id == job.id).values(run_after=utcnow()))
        s.execute(update(RateBucket).values(blocked_until=None))
    drain(worker)
    with transaction(factory) as s:
        assert s.get(Job, job.id).status == "done"


def test_refused_credentials_dead_letter_at_once_alert_and_replay(
    factory: sessionmaker[Session], worker: Worker, platforms: dict[str, FakePlatform]
) -> None:
    drain(worker)
    platforms["fake-a"].failures.append(AuthFailed("invalid token", status=401))
    _enqueue(factory, tasks.POLL, "fake-a")
    drain(worker)

    with transaction(factory) as s:
        dead = s.scalars(select(Job).where(Job.status == "dead")).one()
        assert "AuthFailed" in (dead.last_error or "")
        assert s.scalars(select(Alert.kind).where(Alert.resolved_at.is_(None))).all() == ["job_dead"]
        jobs.replay(s, dead.id)
    drain(worker)
    with transaction(factory) as s:
        assert s.get(Job, dead.id).status == "done"


def _health(factory: sessionmaker[Session], code: str) -> dict[str, Any]:
    with transaction(factory) as s:
        return shops.shop_out(s, shops.get_shop(s, code)).model_dump()


def _unhealthy_alerts(factory: sessionmaker[Session]) -> list[str]:
    with transaction(factory) as s:
        query = select(Alert.subject).where(Alert.kind == "shop_unhealthy", Alert.resolved_at.is_(None))
        return list(s.scalars(query))


def test_a_shop_whose_polls_keep_failing_is_unhealthy_alerts_and_recovers(
    factory: sessionmaker[Session],
    worker: Worker,
    platforms: dict[str, FakePlatform],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Each poll fails once: a retry falling due inside a slow drain would count a sixth failure.
    monkeypatch.setattr(jobs, "BACKOFF_BASE", 3600.0)
    drain(worker)
    platforms["fake-a"].failures.extend(ChannelError("HTTP 500", status=500) for _ in range(100))  # down
    for _ in range(shops.UNHEALTHY_AFTER):
        _enqueue(factory, tasks.POLL, "fake-a")
        drain(worker)

    shop = _health(factory, "fake-a")
    assert not shop["healthy"] and shop["sync_enabled"]  # never switched off
    assert shop["health"]["orders"]["failures"] >= shops.UNHEALTHY_AFTER
    assert shop["health"]["orders"]["unhealthy_since"] is not None
    assert _unhealthy_alerts(factory) == ["shop:fake-a:orders"]
    platforms["fake-a"].failures.clear()  # the platform is back; the retries succeed
    with transaction(factory) as s:
        s.execute(update(Job).where(Job.status == "queued").values(run_after=utcnow() - timedelta(seconds=1)))
    drain(worker)
    shop = _health(factory, "fake-a")
    assert shop["healthy"] and shop["health"]["orders"]["unhealthy_since"] is None
    assert _unhealthy_alerts(factory) == []


def test_a_webhook_going_in_does_not_make_a_shop_whose_polls_fail_look_healthy(
    factory: sessionmaker[Session], worker: Worker, platforms: dict[str, FakePlatform]
) -> None:
    drain(worker)
    platforms["fake-a"].failures.extend(ChannelError("HTTP 500", status=500) for _ in range(100))
    for n in range(shops.UNHEALTHY_AFTER):
        _enqueue(factory, tasks.POLL, "fake-a")
        drain(worker)
        body = json.dumps(order(("SKU-1", 1), shop="fake-a", external_id=f"W{n}")).encode()
        with transaction(factory) as s:
            shop = shops.get_shop(s, "fake-a")
            connector = shops.connector_for(shop, None)  # type: ignore[arg-type]
            inbox.store_webhook(s, shop, connector, {"x-fake-delivery": str(n)}, body)
        drain(worker)  # the webhook's order goes in

    with transaction(factory) as s:
        assert s.scalar(select(func.count()).select_from(Order).where(Order.external_id.like("W%"))) == 5
    shop = _health(factory, "fake-a")
    assert not shop["healthy"]
    assert shop["health"]["orders"]["failures"] >= shops.UNHEALTHY_AFTER
    assert "shop:fake-a:orders" in _unhealthy_alerts(factory)


def test_a_shop_whose_pushes_keep_being_refused_is_unhealthy_for_stock_and_alerts(
    factory: sessionmaker[Session], worker: Worker, platforms: dict[str, FakePlatform]
) -> None:
    """A push answered 200 whose result for the listing is an error is a failed push (here every
    listing's: the shop's location is wrong)."""
    drain(worker)
    platforms["fake-a"].refused.update({"fake-a-L1": "location not found", "fake-a-K1": "location not found"})
    for n in range(shops.UNHEALTHY_AFTER):
        with transaction(factory) as s:
            inventory.receive(s, "SKU-1", "WH-1", 1, actor="test", reason=f"receipt {n}")
        drain(worker)
        _enqueue(factory, tasks.POLL, "fake-a")  # polls work all along
        drain(worker)
        with transaction(factory) as s:  # the refused push's retries, now
            s.execute(
                update(Job).where(Job.status == "queued").values(run_after=utcnow() - timedelta(seconds=1))
            )

    shop = _health(factory, "fake-a")
    assert not shop["healthy"]
    assert shop["health"]["stock"]["unhealthy_since"] is not None
    assert "location not found" in shop["health"]["stock"]["last_error"]
    assert "shop fake-a" in shop["health"]["stock"]["last_error"]  # named by code
    assert shop["health"]["orders"]["unhealthy_since"] is None and shop["health"]["orders"]["failures"] == 0
    assert _unhealthy_alerts(factory) == ["shop:fake-a:stock"]
    assert _health(factory, "fake-b")["healthy"]
    with transaction(factory) as s:
        refused = s.scalars(select(Alert.subject).where(Alert.kind == "push_refused")).all()
        assert sorted(refused) == ["listing:fake-a:fake-a-K1", "listing:fake-a:fake-a-L1"]


def test_one_listing_refused_alerts_for_that_listing_and_clears_when_it_goes_through(
    factory: sessionmaker[Session], worker: Worker, platforms: dict[str, FakePlatform]
) -> None:
    drain(worker)
    platforms["fake-a"].refused["fake-a-L1"] = "inventory item not stocked at location"
    with transaction(factory) as s:
        inventory.receive(s, "SKU-1", "WH-1", 1, actor="test", reason="receipt")
    drain(worker)

    with transaction(factory) as s:
        (alert,) = s.scalars(select(Alert).where(Alert.kind == "push_refused")).all()
        assert alert.subject == "listing:fake-a:fake-a-L1" and "not stocked" in alert.message
    platforms["fake-a"].refused.clear()
    with transaction(factory) as s:
        s.execute(update(Job).where(Job.status == "queued").values(run_after=utcnow() - timedelta(seconds=1)))
    drain(worker)
    with transaction(factory) as s:
        assert s.scalars(select(Alert.resolved_at).where(Alert.kind == "push_refused")).one() is not None
    assert platforms["fake-a"].stock["fake-a-L1"] == 11


def test_a_job_whose_worker_died_is_taken_over_when_its_lease_ends(
    factory: sessionmaker[Session], worker: Worker
) -> None:
    drain(worker)
    _enqueue(factory, tasks.RESYNC, "fake-a")
    with transaction(factory) as s:
        (claimed,) = jobs.claim(s, "crashed-worker", [tasks.RESYNC])
    assert worker.run_once() == 0  # leased to the crashed worker
    with transaction(factory) as s:
        s.execute(update(Job).where(Job.id == claimed.id).values(lease_until=utcnow() - timedelta(seconds=1)))
    drain(worker)

    with transaction(factory) as s:
        job = s.get(Job, claimed.id)
        assert (job.status, job.locked_by, job.attempts) == ("done", "test", 2)


def test_buffer_and_low_stock_shape_what_a_shop_shows(
    factory: sessionmaker[Session], worker: Worker, platforms: dict[str, FakePlatform]
) -> None:
    with transaction(factory) as s:
        shop = shops.get_shop(s, "fake-b", lock=True)
        shop.settings = SyncSettings(
            poll_interval_s=3600,
            stock_coalesce_s=0,
            stock_buffer=2,
            low_stock_threshold=8,
            low_stock_publish_zero=True,
        ).model_dump()
    drain(worker)

    assert platforms["fake-a"].stock["fake-a-L1"] == 10
    assert platforms["fake-b"].stock["fake-b-L1"] == 0  # 10 - 2 = 8, at the threshold: hidden
    with transaction(factory) as s:
        subjects = s.scalars(select(Alert.subject).where(Alert.kind == "low_stock")).all()
        assert "listing:fake-b:fake-b-L1" in subjects
        binding = s.scalars(select(ListingBinding).where(ListingBinding.listing_id == "fake-b-L1")).one()
        assert binding.last_quantity == 0 and binding.data == {"seen": True}


def test_a_cancellation_without_an_address_still_cancels_and_releases(
    factory: sessionmaker[Session], worker: Worker, platforms: dict[str, FakePlatform]
) -> None:
    platforms["fake-a"].put(order(("SKU-1", 3), shop="fake-a", external_id="C1"))
    drain(worker)
    now = utcnow().isoformat()  # inside the next poll's window
    platforms["fake-a"].put({"external_id": "C1", "updated_at": now, "stub": "cancelled"})
    platforms["fake-a"].put({"external_id": "P1", "updated_at": now, "stub": "pending"})
    _enqueue(factory, tasks.POLL, "fake-a")
    drain(worker)

    with transaction(factory) as s:
        assert s.scalars(select(Order.status).where(Order.external_id == "C1")).one() == "cancelled"
        assert s.scalar(select(func.count()).select_from(Order).where(Order.external_id == "P1")) == 0
        (figure,) = inventory.stock_of(s, "SKU-1")
        assert figure.reserved == 0
    assert platforms["fake-b"].stock["fake-b-L1"] == 10  # the released stock is published again


def test_the_webhook_endpoint_checks_the_signature_and_stores_once(
    factory: sessionmaker[Session], worker: Worker
) -> None:
    from fastapi.testclient import TestClient

    from orderly.api import create_app

    body = json.dumps(order(("SKU-1", 1), shop="fake-a", external_id="H1")).encode()
    with TestClient(create_app(factory=factory, workers=0)) as client:
        forged = client.post(
            "/api/v1/webhooks/fake-a",
            content=body,
            headers={"x-fake-signature": "no", "x-fake-delivery": "1"},
        )
        unknown = client.post("/api/v1/webhooks/nobody", content=body, headers={"x-fake-signature": "ok"})
        signed = [
            client.post(
                "/api/v1/webhooks/fake-a",
                content=body,
                headers={"x-fake-signature": "ok", "x-fake-delivery": "1"},
            )
            for _ in range(2)
        ]

    assert forged.status_code == 401 and "signature" in forged.json()["error"]["message"]
    assert unknown.status_code == 404
    assert [r.status_code for r in signed] == [200, 200]
    with transaction(factory) as s:
        assert s.scalar(select(func.count()).select_from(InboxEntry).where(InboxEntry.event_id == "H1")) == 1
        assert s.scalars(select(InboxEntry.body).where(InboxEntry.event_id == "H1")).one() == body.decode()


def test_an_entry_that_gave_up_goes_in_when_replayed_after_the_fix(
    factory: sessionmaker[Session],
    worker: Worker,
    platforms: dict[str, FakePlatform],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    platforms["fake-a"].put({**order(shop="fake-a", external_id="LATE"), "broken": True})
    for _ in range(inbox.INBOX_MAX_ATTEMPTS):
        _enqueue(factory, inbox.INBOX, "fake-a")
        drain(worker)
    with transaction(factory) as s:
        entry = s.scalars(select(InboxEntry).where(InboxEntry.event_id == "LATE")).one()
        assert entry.attempts == inbox.INBOX_MAX_ATTEMPTS and entry.processed_at is None

    fixed = FakeConnector.map_order
    monkeypatch.setattr(
        FakeConnector,
        "map_order",
        lambda self, raw: fixed(
            self, RawOrder(raw.external_id, raw.version, {k: v for k, v in raw.body.items() if k != "broken"})
        ),
    )
    with transaction(factory) as s:
        assert inbox.replay(s) == 1
    drain(worker)

    with transaction(factory) as s:
        assert s.scalars(select(Order.external_id).where(Order.external_id == "LATE")).all() == ["LATE"]


def test_a_poll_counts_as_synced_only_up_to_the_platforms_listing_lag(
    factory: sessionmaker[Session], worker: Worker, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(FakeConnector, "lag", timedelta(minutes=2))
    before = utcnow()
    drain(worker)
    after = utcnow()

    with transaction(factory) as s:
        synced_to = s.scalars(select(Shop.orders_synced_to).where(Shop.code == "fake-a")).one()
    # Bounded by the clock around the drain, not a fixed slack: a loaded machine may start the poll late.
    assert synced_to is not None
    assert before - timedelta(minutes=2) <= synced_to <= after - timedelta(minutes=2)


def test_an_entry_that_is_not_json_is_kept_with_its_reason_and_the_rest_go_in(
    factory: sessionmaker[Session], worker: Worker, platforms: dict[str, FakePlatform]
) -> None:
    from orderly.core.db import insert_rows

    shop_id = _shop_id(factory, "fake-a")
    with transaction(factory) as s:
        insert_rows(
            s,
            InboxEntry,
            ("shop_id", "source", "topic", "event_id", "version", "body", "received_at", "attempts"),
            [(shop_id, "webhook", "orders/updated", "NOTJSON", "1", "{not json", utcnow(), 0)],
        )
    platforms["fake-a"].put(order(shop="fake-a", external_id="FINE"))
    drain(worker)

    with transaction(factory) as s:
        assert s.scalars(select(Order.external_id)).all() == ["FINE"]
        bad = s.scalars(select(InboxEntry).where(InboxEntry.event_id == "NOTJSON")).one()
        assert bad.processed_at is None and "cannot map" in (bad.last_error or "")


def test_reconciliation_takes_in_what_polling_missed_and_names_it(
    factory: sessionmaker[Session], worker: Worker, platforms: dict[str, FakePlatform]
) -> None:
    drain(worker)  # the first poll: from here on polls read only the last few minutes
    late = (utcnow() - timedelta(days=1)).isoformat()  # changed "yesterday", listed only now
    platforms["fake-a"].put({**order(shop="fake-a", external_id="MISSED"), "updated_at": late})
    _enqueue(factory, tasks.POLL, "fake-a")
    drain(worker)
    with transaction(factory) as s:
        assert s.scalar(select(func.count()).select_from(Order).where(Order.external_id == "MISSED")) == 0

    _enqueue(factory, tasks.RECONCILE, "fake-a")
    drain(worker)

    with transaction(factory) as s:
        assert s.scalar(select(func.count()).select_from(Order).where(Order.external_id == "MISSED")) == 1
        message = s.scalars(select(Alert.message).where(Alert.kind == "reconcile_missing")).one()
        assert "1 order(s)" in message and "MISSED" in message


def test_an_event_about_no_order_is_kept_once_per_content_and_never_mapped(
    factory: sessionmaker[Session],
    worker: Worker,
    platforms: dict[str, FakePlatform],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def parse(cls: type[FakeConnector], headers: Mapping[str, str], body: bytes) -> WebhookEvent:
        return WebhookEvent(headers["x-fake-delivery"], "products/update", None, None, json.loads(body))

    monkeypatch.setattr(FakeConnector, "parse_webhook", classmethod(parse))
    body = json.dumps({"id": 7, "title": "a product"}).encode()
    for delivery in ("d-1", "d-2", "d-3"):  # the same content under new delivery ids
        with transaction(factory) as s:
            shop = shops.get_shop(s, "fake-a")
            connector = FakeConnector(shops.connector_for(shop, None).connection, None)  # type: ignore[arg-type]
            reason = inbox.store_webhook(s, shop, connector, {"x-fake-delivery": delivery}, body)
            assert reason == "products/update: the hub processes only order events"
    for _ in range(inbox.INBOX_MAX_ATTEMPTS):
        _enqueue(factory, inbox.INBOX, "fake-a")
        drain(worker)

    with transaction(factory) as s:
        (entry,) = s.scalars(select(InboxEntry)).all()
        assert (entry.attempts, entry.last_error) == (inbox.INBOX_MAX_ATTEMPTS, reason)
        assert entry.processed_at is None and inbox.replay(s) == 0
