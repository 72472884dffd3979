"""The review's queries, on both databases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session

from orderly.review import repository as repo

T0 = datetime(2026, 11, 1, 12, tzinfo=UTC)


def test_one_lookup_reads_each_need_in_its_own_window_and_at_most_the_latest_of_each_identity(
    session: Session,
) -> None:
    busy, quiet, stranger = 11, 22, 33
    rows = [(busy, T0 - timedelta(minutes=n), 1000 + n, busy, 7) for n in range(60)]  # a business account
    rows += [
        (quiet, T0 - timedelta(hours=5), 2000, quiet, 8),
        (quiet, T0 - timedelta(minutes=3), 2001, quiet, 8),
    ]
    rows += [(stranger, T0, 3000, stranger, 9)]
    repo.insert_identities(session, rows)

    found = repo.identity_matches(
        session,
        [({busy, quiet}, T0 - timedelta(minutes=10), T0), ({quiet}, T0 - timedelta(hours=24), T0)],
        per_identity=5,
    )
    by_need = sorted((identity, order_id) for identity, order_id, *_ in found)
    # busy: its five latest within ten minutes; quiet: the recent one in the first need, both in the second
    assert by_need == sorted(
        [(busy, 1000 + n) for n in range(5)] + [(quiet, 2001), (quiet, 2000), (quiet, 2001)]
    )
    identity, _, placed_at, buyer, address = next(row for row in found if row[1] == 2000)
    assert (identity, placed_at, buyer, address) == (quiet, T0 - timedelta(hours=5), quiet, 8)
    assert repo.identity_matches(session, [(set(), T0, T0)], per_identity=5) == []
