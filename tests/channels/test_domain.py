"""The pure rules of channel sync, without a database: the figure a listing is told and how inbox
entries are keyed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from orderly.channels import domain
from orderly.channels.schemas import SyncSettings

# --- publishable: the quantity a shop is told ------------------------------------------------------


@pytest.mark.parametrize(
    ("settings", "available", "expected"),
    [
        ({}, 7, (7, False)),
        ({}, 0, (0, True)),  # nothing to sell is low stock, whatever the threshold
        ({"stock_buffer": 2}, 7, (5, False)),
        ({"stock_buffer": 10}, 7, (0, True)),  # never below zero
        ({"stock_buffer_percent": 10}, 50, (45, False)),
        ({"stock_buffer_percent": 10}, 19, (18, False)),  # 1.9 units held back: whole units, rounded down
        ({"stock_buffer_percent": 50}, 9, (5, False)),
        ({"stock_buffer_percent": 100}, 9, (0, True)),
        ({"stock_buffer_percent": 1}, 99, (99, False)),  # under one unit: nothing held back
        ({"stock_buffer": 1, "stock_buffer_percent": 10}, 50, (44, False)),  # both add up
        ({"low_stock_threshold": 5}, 5, (5, True)),  # at the threshold: low
        ({"low_stock_threshold": 5}, 6, (6, False)),
        ({"low_stock_threshold": 5, "low_stock_publish_zero": True}, 5, (0, True)),
        ({"low_stock_threshold": 5, "low_stock_publish_zero": True}, 6, (6, False)),
        ({"stock_buffer": 2, "low_stock_threshold": 5}, 7, (5, True)),  # judged on what is published
        ({}, -3, (0, True)),  # safety stock above what is left
    ],
)
def test_what_a_shop_is_told_is_the_available_figure_less_its_buffer(
    settings: dict[str, Any], available: int, expected: tuple[int, bool]
) -> None:
    assert domain.publishable(SyncSettings(**settings), available) == expected


# --- push_delay: when a listing is pushed --------------------------------------------------------------

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("pushed_ago_s", "window_s", "delay"),
    [
        (None, 2.0, 0.0),  # never pushed: at once
        (5.0, 2.0, 0.0),  # last pushed before the window: at once
        (2.0, 2.0, 0.0),  # the window has just ended
        (0.5, 2.0, 1.5),  # pushed within the window: when it ends
        (0.0, 2.0, 2.0),
        (0.0, 0.0, 0.0),  # no window: always at once
        (-60.0, 2.0, 2.0),  # a stamp ahead of this clock (another host's) waits no longer than the window
    ],
)
def test_a_listing_is_pushed_at_once_unless_pushed_within_its_window(
    pushed_ago_s: float | None, window_s: float, delay: float
) -> None:
    pushed = None if pushed_ago_s is None else NOW - timedelta(seconds=pushed_ago_s)
    assert domain.push_delay(window_s, pushed, NOW) == pytest.approx(delay)


# --- inbox versions --------------------------------------------------------------------------------


def test_a_version_is_the_stamp_and_a_digest_of_the_content() -> None:
    key = domain.version_key("2026-01-01T00:00:00Z", {"external_id": "1", "total": 5})
    stamp, _, digest = key.rpartition("#")
    assert stamp == "2026-01-01T00:00:00Z" and len(digest) == domain.DIGEST_CHARS
    assert domain.stamp_of(key) == stamp
    # One content, one key; another content under the same stamp, another key.
    assert key == domain.version_key("2026-01-01T00:00:00Z", {"total": 5, "external_id": "1"})
    assert key != domain.version_key("2026-01-01T00:00:00Z", {"external_id": "1", "total": 6})
    # The verbatim payload is no part of what an order says.
    assert key == domain.version_key("2026-01-01T00:00:00Z", {"external_id": "1", "total": 5, "raw": {}})


def test_a_long_stamp_is_cut_so_the_version_fits_its_column() -> None:
    key = domain.version_key("x" * 100 + "\x00", {})
    assert len(key) == domain.VERSION_CHARS
    assert "\x00" not in domain.version_key("a\x00b", {})


def test_a_version_stored_before_versions_had_a_digest_has_no_stamp() -> None:
    assert domain.stamp_of("2026-01-01T00:00:00Z") == ""


def test_a_version_read_again_beside_another_of_its_stamp_is_taken_again() -> None:
    stored = {
        "A": [(1, "s1#aaa"), (2, "s1#bbb"), (3, "s2#ccc")],
        "B": [(4, "s1#ddd")],
    }
    # Read again: A's first (another of s1 exists), A's third (alone in s2), B's only one.
    read = {("A", "s1#aaa"), ("A", "s2#ccc"), ("B", "s1#ddd")}
    assert domain.taken_again(stored, read) == [1]
    assert domain.taken_again(stored, set()) == []


# --- deliveries kept unprocessed and what a person is told of an entry ------------------------------


def test_a_kept_delivery_is_keyed_by_its_topic_and_content() -> None:
    one = domain.kept_event_id("orders/delete", b"{}")
    assert domain.kept(one) and not domain.kept("12345")
    assert one == domain.kept_event_id("orders/delete", b"{}")
    assert one != domain.kept_event_id("orders/create", b"{}")
    assert one != domain.kept_event_id("orders/delete", b"[]")


@pytest.mark.parametrize(
    ("processed", "event_id", "attempts", "failing", "state"),
    [
        (True, "1", 1, False, "processed"),
        (False, domain.KEPT + "x", 5, True, "kept"),
        (False, "1", 5, True, "gave_up"),
        (False, "1", 2, True, "failing"),
        (False, "1", 0, False, "waiting"),
    ],
)
def test_an_entry_state(processed: bool, event_id: str, attempts: int, failing: bool, state: str) -> None:
    found = domain.inbox_state(
        processed=processed, event_id=event_id, attempts=attempts, failing=failing, max_attempts=5
    )
    assert found == state


def test_the_missing_orders_note_names_twenty_and_counts_the_rest() -> None:
    assert domain.missing_note(["1", "2"]) == "reconciliation took in 2 order(s) the hub lacked: 1, 2"
    note = domain.missing_note([str(n) for n in range(25)])
    assert note.endswith("15, 16, 17, 18, 19 and 5 more")
