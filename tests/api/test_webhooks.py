"""Whatever a platform (or anyone) posts to a webhook, the hub answers below 500; a genuine delivery it
cannot use is kept with its reason and acknowledged, so the platform does not resend it for days."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from orderly.channels import inbox
from orderly.channels import service as shops
from orderly.channels.endpoints import WEBHOOK_BODY_MAX
from orderly.channels.inbox import INBOX_MAX_ATTEMPTS
from orderly.channels.models import InboxEntry
from orderly.channels.schemas import ShopIn
from orderly.channels.shopify.webhooks import signature
from orderly.core.db import transaction
from orderly.jobs.models import Job
from orderly.jobs.worker import Worker
from orderly.orders.models import IngestRejection, Order
from tests.sandbox.shopify.helpers import sample

SECRET = "hush"
ORDER = {"id": 450789469, "updated_at": "2026-11-11T10:00:00-05:00", "line_items": []}


@pytest.fixture
def shops_set_up(factory: sessionmaker[Session]) -> None:
    with transaction(factory) as s:
        shops.create_shop(
            s,
            ShopIn(
                code="shopify-us",
                name="Shopify US",
                channel="shopify",
                base_url="http://127.0.0.1:9",
                credentials={"access_token": "shpat", "webhook_secret": SECRET},
            ),
        )
        # No marketplace_id or seller_id: its connector cannot even be built.
        shops.create_shop(
            s, ShopIn(code="amazon-us", name="Amazon US", channel="amazon", base_url="http://127.0.0.1:9")
        )


def deliver(client: TestClient, body: bytes, *, shop: str = "shopify-us", **headers: str) -> tuple[int, dict]:
    signed = {"X-Shopify-Hmac-Sha256": signature(SECRET, body), **headers}
    response = client.post(f"/api/v1/webhooks/{shop}", content=body, headers=signed)
    return response.status_code, response.json()


def entries(factory: sessionmaker[Session]) -> list[InboxEntry]:
    with factory() as s:
        return list(s.scalars(select(InboxEntry).order_by(InboxEntry.id)))


@pytest.mark.parametrize(
    ("body", "headers", "reason"),
    [
        (
            json.dumps({"updated_at": ORDER["updated_at"]}).encode(),
            {"X-Shopify-Topic": "orders/create"},
            "order id",
        ),
        (b"<html>not json", {"X-Shopify-Topic": "orders/create"}, "not JSON"),
        (b"\xff\xfe\x00 bytes", {"X-Shopify-Topic": "orders/updated"}, "not JSON"),
        (b"[1, 2]", {"X-Shopify-Topic": "orders/create"}, "not a JSON object"),
        (json.dumps({"id": 1}).encode(), {"X-Shopify-Topic": "orders/delete"}, "updated_at"),
        (json.dumps({**ORDER, "updated_at": 17}).encode(), {"X-Shopify-Topic": "orders/paid"}, "updated_at"),
        (json.dumps({**ORDER, "id": "\u0000"}).encode(), {"X-Shopify-Topic": "orders/paid"}, "order id"),
        (json.dumps(ORDER).encode(), {"X-Shopify-Topic": "products/update"}, "only order topics"),
        (json.dumps(ORDER).encode(), {}, "only order topics"),  # no topic, no webhook id
    ],
)
def test_a_signed_delivery_the_hub_cannot_use_is_kept_with_its_reason(
    client: TestClient,
    factory: sessionmaker[Session],
    shops_set_up: None,
    body: bytes,
    headers: dict[str, str],
    reason: str,
) -> None:
    answers = [deliver(client, body, **headers) for _ in range(2)]  # delivered twice

    assert [status for status, _ in answers] == [200, 200]
    assert answers[0][1]["status"] == "kept" and reason in answers[0][1]["reason"]
    (entry,) = entries(factory)  # the second delivery is the same entry
    assert entry.source == "webhook" and entry.processed_at is None
    assert entry.attempts == INBOX_MAX_ATTEMPTS  # given up at once: waits for a person, not for workers
    assert reason in (entry.last_error or "")
    with factory() as s:
        assert s.scalars(select(Job.kind)).all() == []


def test_an_order_delivery_is_accepted_and_processed(
    client: TestClient, factory: sessionmaker[Session], shops_set_up: None
) -> None:
    long_topic = "orders/" + "x" * 100
    status, answer = deliver(client, json.dumps(ORDER).encode(), **{"X-Shopify-Topic": long_topic})

    assert (status, answer) == (200, {"status": "accepted", "reason": None})
    (entry,) = entries(factory)
    assert (entry.event_id, entry.topic) == ("450789469", long_topic[:64])
    assert entry.version.startswith(f"{ORDER['updated_at']}#")  # the stamp, then a digest of the order
    with factory() as s:
        assert s.scalars(select(Job.kind)).all() == ["process_inbox"]


def test_order_ids_past_64_bits_stay_exact_and_apart_to_the_order_they_make(
    client: TestClient, factory: sessionmaker[Session], shops_set_up: None
) -> None:
    ids = [2**70, 2**70 + 1]  # once both read as 1.1805916207174113e+21, one order
    for order_id in ids:
        body = json.dumps({**sample("webhook_orders_create_test_payload.json"), "id": order_id}).encode()
        assert deliver(client, body, **{"X-Shopify-Topic": "orders/create"}) == (
            200,
            {"status": "accepted", "reason": None},
        )
    assert [e.event_id for e in entries(factory)] == [str(n) for n in ids]

    Worker(factory, name="test", idle_sleep=0).run_once()

    # Their SKUs are not in the catalog: each is refused, kept under its own exact id.
    with factory() as s:
        refused = s.scalars(select(IngestRejection.external_id).order_by(IngestRejection.id)).all()
    assert refused == [str(n) for n in ids]


def test_unsigned_deliveries_and_shops_without_webhooks_are_refused_and_not_kept(
    client: TestClient, anonymous: TestClient, factory: sessionmaker[Session], shops_set_up: None
) -> None:
    body = json.dumps(ORDER).encode()
    forged = anonymous.post(
        "/api/v1/webhooks/shopify-us", content=body, headers={"X-Shopify-Hmac-Sha256": "AAAA"}
    )
    amazon_status, amazon = deliver(anonymous, body, shop="amazon-us")
    nobody_status, _ = deliver(anonymous, body, shop="nobody")

    assert forged.status_code == 401
    assert amazon_status == 404 and "sends no webhooks" in amazon["error"]["message"]
    assert nobody_status == 404
    assert entries(factory) == []


def _run_jobs(factory: sessionmaker[Session]) -> None:
    worker = Worker(factory, name="test", idle_sleep=0)
    for _ in range(20):
        if not worker.run_once():
            return


PRODUCT = {"id": 632910392, "title": "IPod Nano", "updated_at": "2026-11-11T10:00:00-05:00", "variants": []}


def test_a_topic_the_hub_does_not_process_is_kept_once_per_content_and_never_retried(
    client: TestClient, factory: sessionmaker[Session], shops_set_up: None
) -> None:
    body = json.dumps(PRODUCT).encode()
    answers = [
        deliver(client, body, **{"X-Shopify-Topic": "products/update", "X-Shopify-Webhook-Id": f"replay-{n}"})
        for n in range(3)
    ]
    _run_jobs(factory)
    with transaction(factory) as s:
        replayed_all = inbox.replay(s)
    (entry,) = entries(factory)
    refused = client.post("/api/v1/inbox/replay", json={"entry_ids": [entry.id]})
    listed = client.get("/api/v1/inbox").json()["items"]
    changed = {**PRODUCT, "title": "IPod Nano 2"}
    deliver(client, json.dumps(changed).encode(), **{"X-Shopify-Topic": "products/update"})

    assert [(status, answer["status"]) for status, answer in answers] == [(200, "kept")] * 3
    assert "only order topics" in answers[0][1]["reason"]
    assert (entry.topic, entry.body, entry.processed_at) == ("products/update", body.decode(), None)
    assert entry.attempts == INBOX_MAX_ATTEMPTS and "only order topics" in (entry.last_error or "")
    assert replayed_all == 0
    assert refused.status_code == 409 and "does not process" in refused.json()["error"]["message"]
    assert [(item["state"], item["attempts"]) for item in listed] == [("kept", INBOX_MAX_ATTEMPTS)]
    assert len(entries(factory)) == 2  # other content is another entry


def test_a_signed_delivery_too_large_to_keep_whole_is_kept_once_cut_with_why(
    client: TestClient, factory: sessionmaker[Session], shops_set_up: None
) -> None:
    # A genuine order topic whose note makes it twice what the hub keeps of one delivery.
    large = {**ORDER, "note": "x" * 2 * inbox.KEPT_BODY_MAX}
    body = json.dumps(large).encode()
    answers = [
        deliver(client, body, **{"X-Shopify-Topic": "orders/create", "X-Shopify-Webhook-Id": f"id-{n}"})
        for n in range(2)
    ]
    _run_jobs(factory)

    assert [(status, answer["status"]) for status, answer in answers] == [(200, "kept")] * 2
    assert f"{len(body):,} bytes" in answers[0][1]["reason"]
    (entry,) = entries(factory)
    assert entry.topic == "orders/create" and entry.body == body[: inbox.KEPT_BODY_MAX].decode()
    assert entry.attempts == INBOX_MAX_ATTEMPTS and "kept cut to that" in (entry.last_error or "")
    with factory() as s:
        assert s.scalar(select(func.count()).select_from(IngestRejection)) == 0
        assert s.scalar(select(func.count()).select_from(Order)) == 0
        assert s.scalars(select(Job.kind)).all() == []


def test_a_delivery_over_the_webhook_cap_is_refused_and_not_kept(
    client: TestClient, factory: sessionmaker[Session], shops_set_up: None
) -> None:
    body = json.dumps({**ORDER, "note": "x" * WEBHOOK_BODY_MAX}).encode()
    status, answer = deliver(client, body, **{"X-Shopify-Topic": "orders/create"})

    assert inbox.KEPT_BODY_MAX < WEBHOOK_BODY_MAX  # between the two a delivery is kept, cut
    assert status == 413 and f"{WEBHOOK_BODY_MAX:,} bytes" in answer["error"]["message"]
    assert entries(factory) == []
