"""The run of an import, with a kind made for the test: batches, errors by row, preview, dry runs,
a file that lacks a required column or cannot be read."""

from __future__ import annotations

import io
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from orderly.core.db import transaction
from orderly.imports import repository, service
from orderly.imports.domain import FieldSpec, Kind, Outcome, Row
from orderly.imports.service import ImportOptions


@dataclass
class Tally:
    """Counts each row's quantity into a table; a quantity that is not a number is a row error."""

    kind: Kind = Kind.STOCK
    fields: Sequence[FieldSpec] = (
        FieldSpec("sku", True, ("商品编码",)),
        FieldSpec("quantity", True, ("数量",)),
    )
    batch_size: int = 2
    group_by: str | None = None
    shard_by: str | None = None
    batches: list[list[int]] = field(default_factory=list)
    run_ids: set[int | None] = field(default_factory=set)

    def apply(
        self, session: Session, rows: Sequence[Row], options: ImportOptions, *, dry_run: bool
    ) -> Outcome:
        self.batches.append([r.number for r in rows])
        self.run_ids.add(options.run_id)
        outcome = Outcome()
        for row in rows:
            if not row.values.get("quantity", "").isdigit():
                outcome.errors.append(row.error("quantity", "not a whole number"))
                continue
            session.execute(text("INSERT INTO tally (sku) VALUES (:s)"), {"s": row.values["sku"]})
            outcome.imported += 1
        return outcome


@pytest.fixture
def tally(factory: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch) -> Iterator[Tally]:
    kind = Tally()
    monkeypatch.setitem(service._KINDS, Kind.STOCK, kind)
    with transaction(factory) as s:
        s.execute(text("CREATE TABLE IF NOT EXISTS tally (sku VARCHAR(20))"))
        s.execute(text("DELETE FROM tally"))
    yield kind
    with transaction(factory) as s:
        s.execute(text("DROP TABLE tally"))


def _count(factory: sessionmaker[Session]) -> int:
    with transaction(factory) as s:
        return int(s.execute(text("SELECT count(*) FROM tally")).scalar_one())


CSV = "商品编码,数量\nA,1\nB,x\n\nC,3\nD,4\nE,\n".encode("gb18030")


def test_bad_rows_are_reported_by_row_and_column_while_the_rest_import(
    factory: sessionmaker[Session], tally: Tally
) -> None:
    seen: list[int] = []
    run_id = service.run_import(
        factory, io.BytesIO(CSV), "stock.csv", Kind.STOCK, ImportOptions(actor="t"), progress=seen.append
    )
    assert tally.batches == [[2, 3], [5, 6], [7]]
    assert tally.run_ids == {run_id}
    assert seen == [2, 4, 5]
    assert _count(factory) == 3
    with transaction(factory) as s:
        run = repository.run(s, run_id)
        assert run is not None
        assert (run.status, run.layout, run.rows_read, run.imported, run.failed) == (
            "done",
            "generic",
            5,
            3,
            2,
        )
        assert run.preview[0] == {"row": 2, "values": {"sku": "A", "quantity": "1"}}
        errors = [(e.row, e.column, e.value, e.reason) for e in repository.errors(s, run_id)]
        assert errors == [(3, "数量", "x", "not a whole number"), (7, "数量", None, "not a whole number")]
        assert [e.row for e in repository.errors(s, run_id, after_row=3)] == [7]
        assert [r.id for r in repository.runs(s, limit=5)] == [run_id]


def test_a_dry_run_writes_nothing_but_its_report(factory: sessionmaker[Session], tally: Tally) -> None:
    run_id = service.run_import(
        factory, io.BytesIO(CSV), "stock.csv", Kind.STOCK, ImportOptions(), dry_run=True
    )
    assert _count(factory) == 0
    with transaction(factory) as s:
        run = repository.run(s, run_id)
        assert run is not None
        assert (run.dry_run, run.imported, run.failed) == (True, 3, 2)


def test_a_file_without_a_required_column_imports_nothing(
    factory: sessionmaker[Session], tally: Tally
) -> None:
    run_id = service.run_import(factory, io.BytesIO(b"sku,qty\nA,1\n"), "s.csv", Kind.STOCK, ImportOptions())
    assert _count(factory) == 0
    with transaction(factory) as s:
        run = repository.run(s, run_id)
        assert run is not None and run.status == "failed"
        [error] = repository.errors(s, run_id)
        assert (error.row, error.column) == (1, None)
        assert error.reason.startswith("no column for quantity")


def test_an_unreadable_file_fails_its_run_with_why(factory: sessionmaker[Session], tally: Tally) -> None:
    run_id = service.run_import(factory, io.BytesIO(b""), "s.csv", Kind.STOCK, ImportOptions())
    with transaction(factory) as s:
        run = repository.run(s, run_id)
        assert run is not None
        assert (run.status, run.message) == ("failed", "s.csv is empty: it has no header row")


def test_rows_of_one_group_stay_in_one_batch(factory: sessionmaker[Session], tally: Tally) -> None:
    tally.group_by = "sku"
    data = b"sku,quantity\nA,1\nA,1\nA,1\nB,1\nC,1\nC,1\n"
    service.run_import(factory, io.BytesIO(data), "s.csv", Kind.STOCK, ImportOptions())
    assert tally.batches == [[2, 3, 4], [5, 6, 7]]
