"""What an import is made of, pure: kinds, a file's rows as the hub names their fields, the errors shown
to a person, what a kind did with a batch, and the fields a kind reads. No I/O here."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum


class Kind(StrEnum):
    ORDERS = "orders"
    STOCK = "stock"
    CATALOG = "catalog"


class RunStatus(StrEnum):
    #: Uploaded and waiting for a worker (``tasks.py``).
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


@dataclass(frozen=True)
class RowError:
    """One bad cell or row, as shown to the user and stored."""

    row: int  # 1-based, as a spreadsheet numbers it (the header is row 1)
    column: str | None  # the file's own header text, or None for the whole row
    value: str | None
    reason: str  # a sentence for a person


@dataclass(frozen=True)
class Row:
    number: int  # as in RowError.row
    values: Mapping[str, str]  # hub field name -> the cell's text (trimmed), only mapped non-blank fields
    columns: Mapping[str, str]  # hub field name -> the file's header it came from (for RowError.column)

    def error(self, name: str | None, reason: str) -> RowError:
        """The error of this row's field ``name`` (None: the whole row), naming the file's column."""
        if name is None:
            return RowError(self.number, None, None, reason)
        return RowError(self.number, self.columns.get(name, name), self.values.get(name), reason)


@dataclass
class Outcome:
    """What a kind did with one batch."""

    imported: int = 0  # rows (or groups of rows) that changed the hub
    unchanged: int = 0  # already in the hub exactly so (re-import of the same file): nothing written
    errors: list[RowError] = field(default_factory=list)


@dataclass(frozen=True)
class FieldSpec:
    name: str  # hub field, e.g. "sku", "warehouse", "quantity", "order_number"
    required: bool
    headers: tuple[str, ...]  # headers recognised without a profile, English and Chinese


def header_key(header: str) -> str:
    """A header as compared when matching: case, spaces, dashes and underscores do not count."""
    return "".join(ch for ch in header.casefold() if ch not in " _-\t\u3000")


@dataclass(frozen=True)
class Layout:
    """Where each hub field is in a file: ``columns`` maps a field to the file's header; ``fixed`` gives
    a value to a field the file has no column for (e.g. every row's currency)."""

    name: str
    kind: Kind
    columns: Mapping[str, str]
    fixed: Mapping[str, str] = field(default_factory=dict)

    def missing(self, specs: Sequence[FieldSpec], headers: Sequence[str]) -> list[FieldSpec]:
        """The required fields that neither a column of the file nor a fixed value gives."""
        present = {header_key(h) for h in headers}
        return [
            spec
            for spec in specs
            if spec.required
            and spec.name not in self.fixed
            and header_key(self.columns.get(spec.name, "\0")) not in present
        ]

    def reader(self, headers: Sequence[str]) -> RowReader:
        """What turns a file's cells into a :class:`Row` for this layout and these headers."""
        where = {header_key(h): i for i, h in reversed(list(enumerate(headers)))}  # the first of twins
        picks = [
            (name, where[header_key(header)], headers[where[header_key(header)]])
            for name, header in self.columns.items()
            if header_key(header) in where
        ]
        return RowReader(tuple(picks), dict(self.fixed))


@dataclass(frozen=True)
class RowReader:
    picks: tuple[tuple[str, int, str], ...]  # (field, index of its cell, the file's header)
    fixed: dict[str, str]
    _columns: dict[str, str] = field(init=False, repr=False, compare=False)
    _cells: tuple[tuple[str, int], ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Every row names the same columns: one mapping, shared by the rows (never changed).
        object.__setattr__(self, "_columns", {name: header for name, _, header in self.picks})
        object.__setattr__(self, "_cells", tuple((name, index) for name, index, _ in self.picks))

    def row(self, number: int, cells: Sequence[str]) -> Row:
        values = dict(self.fixed)
        count = len(cells)
        for name, index in self._cells:
            if index < count:
                text = cells[index].strip()
                if text:
                    if text[0] == "'":
                        text = _cell(text)  # an apostrophe before a number (below)
                        if not text:
                            continue
                    values[name] = text
        return Row(number, values, self._columns)

    def value(self, name: str, cells: Sequence[str]) -> str | None:
        """The one field ``name`` of a row, as :meth:`row` reads it (None when blank)."""
        for field_name, index in self._cells:
            if field_name == name and index < len(cells):
                text = _cell(cells[index])
                if text:
                    return text
        return self.fixed.get(name)


def _cell(text: str) -> str:
    text = text.strip()
    if (text[:1] == "'" and text[1:2].isdigit()) or text[:2] == "'+":
        # Exports mark numbers to be kept as text (a zip code, a phone) with an apostrophe.
        text = text[1:]
    return text


def generic_layout(kind: Kind, specs: Sequence[FieldSpec], headers: Sequence[str]) -> Layout:
    """The layout found from the fields' known headers (English or Chinese), for any file."""
    present = {header_key(h): h for h in reversed(headers)}
    columns = {}
    for spec in specs:
        for known in (spec.name, *spec.headers):
            if header_key(known) in present:
                columns[spec.name] = present[header_key(known)]
                break
    return Layout("generic", kind, columns)


def score(layout: Layout, headers: Sequence[str]) -> float:
    """The share of a layout's columns the file has: 1.0 when it has all of them."""
    if not layout.columns:
        return 0.0
    present = {header_key(h) for h in headers}
    return sum(header_key(h) in present for h in layout.columns.values()) / len(layout.columns)
