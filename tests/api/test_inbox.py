"""The inbox over HTTP: entries that failed to map are listed with why, and replayed."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from orderly.channels import inbox
from orderly.channels.models import InboxEntry
from orderly.core.db import transaction
from orderly.jobs.models import Job
from tests.channels.inbox_entries import inbox_entries as entries

__all__ = ["entries"]


def test_the_api_lists_every_entry_with_its_state(client: TestClient, entries: dict[str, int]) -> None:
    items = client.get("/api/v1/inbox").json()["items"]

    assert [(i["id"], i["state"], i["shop"], i["external_id"]) for i in items] == [
        (entries["processed"], "processed", "shop-a", "A1"),
        (entries["waiting"], "waiting", "shop-a", "A2"),
        (entries["failing"], "failing", "shop-b", "B1"),
        (entries["gave_up"], "gave_up", "shop-b", "B2"),
    ]


def test_the_api_filters_failed_entries_and_a_shop(client: TestClient, entries: dict[str, int]) -> None:
    failed = client.get("/api/v1/inbox", params={"failed": "true"}).json()["items"]
    of_shop = client.get("/api/v1/inbox", params={"shop": "shop-a"}).json()["items"]
    paged = client.get("/api/v1/inbox", params={"failed": "true", "limit": 1}).json()
    rest = client.get("/api/v1/inbox", params={"failed": "true", "cursor": paged["next_cursor"]}).json()

    assert [(i["state"], i["last_error"]) for i in failed] == [
        ("failing", "cannot map: X"),
        ("gave_up", "cannot map: KeyError: 'line_items'"),
    ]
    assert {i["shop"] for i in of_shop} == {"shop-a"} and len(of_shop) == 2
    assert [i["external_id"] for i in paged["items"] + rest["items"]] == ["B1", "B2"]
    assert rest["next_cursor"] is None


def test_an_unknown_shop_is_404(client: TestClient, entries: dict[str, int]) -> None:
    response = client.get("/api/v1/inbox", params={"shop": "nope"})

    assert response.status_code == 404
    assert response.json()["error"] == {"message": "unknown shop 'nope'", "field": "shop"}


def test_the_api_replays_an_entry_and_refuses_unknown_ones(
    client: TestClient, factory: sessionmaker[Session], entries: dict[str, int]
) -> None:
    replayed = client.post("/api/v1/inbox/replay", json={"entry_ids": [entries["gave_up"]]})
    unknown = client.post("/api/v1/inbox/replay", json={"entry_ids": [entries["failing"], 999_999]})

    assert replayed.status_code == 202
    assert unknown.status_code == 404
    assert "999999" in unknown.json()["error"]["message"]
    with transaction(factory) as s:
        entry = s.get(InboxEntry, entries["gave_up"])
        assert entry is not None and (entry.attempts, entry.last_error) == (0, None)
        untouched = s.get(InboxEntry, entries["failing"])
        assert untouched is not None and untouched.attempts == 2  # the refused request changed nothing
        assert s.scalars(select(Job.kind)).all() == [inbox.INBOX]
