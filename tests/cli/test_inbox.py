"""``orderly inbox list|replay``: entries that failed to map, listed with why, and replayed."""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker

from orderly.channels import inbox
from orderly.channels.models import InboxEntry
from orderly.core.db import transaction
from tests.channels.inbox_entries import inbox_entries as entries
from tests.cli.conftest import Cli, rows

__all__ = ["entries"]


def test_the_cli_lists_failed_entries_and_replays_them(
    cli: Cli, factory: sessionmaker[Session], entries: dict[str, int]
) -> None:
    listed = cli("inbox", "list", "--failed").stdout
    of_shop = cli("inbox", "list", "--shop", "shop-a").stdout
    replayed = cli("inbox", "replay").stdout
    unknown = cli("inbox", "replay", "424242", code=1)

    gave_up = rows(listed, str(entries["gave_up"]))[0]
    assert gave_up[1:6] == ["shop-b", "poll", "B2", "gave_up", str(inbox.INBOX_MAX_ATTEMPTS)]
    assert gave_up[-1] == "cannot map: KeyError: 'line_items'"
    assert rows(listed, str(entries["processed"])) == []
    assert "orderly inbox replay" in listed
    assert rows(of_shop, str(entries["failing"])) == [] and rows(of_shop, str(entries["waiting"]))
    assert replayed.strip() == "1 inbox entry queued again."
    assert "no inbox entry 424242" in unknown.stderr
    with transaction(factory) as s:
        entry = s.get(InboxEntry, entries["gave_up"])
        assert entry is not None and entry.attempts == 0
