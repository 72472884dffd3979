"""Reading a file of rows, streamed: XLSX (told by its content, read with openpyxl's read-only reader)
or delimited text (comma, tab, semicolon or bar, sniffed from the header line) in UTF-8 with or without
a BOM, UTF-16 with a BOM, else GB18030 (the superset of GBK that Chinese spreadsheets save as)."""

from __future__ import annotations

import codecs
import csv
import io
import sys
from collections.abc import Iterator
from datetime import date, datetime, time
from pathlib import Path
from typing import IO, Any, BinaryIO
from zipfile import BadZipFile

from openpyxl import load_workbook
from openpyxl.utils.exceptions import InvalidFileException

from orderly.core.errors import DomainError

#: How much of a text file is read to choose its encoding; a file UTF-8 up to here but not beyond is
#: stopped at the first undecodable row with a clear error rather than read as mojibake.
SAMPLE_BYTES = 1 << 20
DELIMITERS = (",", "\t", ";", "|")
_ZIP = b"PK\x03\x04"

# Cells may be long (a buyer's note); csv's default limit of 128 KiB would stop a whole import.
csv.field_size_limit(min(sys.maxsize, 2**31 - 1))


class UnreadableFile(DomainError):
    http_status = 422


class Table:
    """A file's header and its rows; iterating yields ``(row number, cells)`` with the header as row 1
    (as a spreadsheet numbers rows), blank rows skipped but counted."""

    def __init__(
        self, headers: list[str], rows: Iterator[tuple[int, list[str]]], encoding: str | None
    ) -> None:
        self.headers = headers
        self.encoding = encoding  # None for XLSX
        self._rows = rows

    def __iter__(self) -> Iterator[tuple[int, list[str]]]:
        return self._rows


def open_table(source: BinaryIO, filename: str) -> Table:
    """The table in ``source`` (seekable), read lazily; a file that cannot be read is refused with why."""
    start = source.read(len(_ZIP))
    source.seek(0)
    if start == _ZIP:
        return _xlsx(source, filename)
    return _delimited(source, filename)


def is_spreadsheet(path: Path) -> bool:
    """Whether the file at ``path`` is an XLSX (a ZIP), as :func:`open_table` tells."""
    with path.open("rb") as source:
        return source.read(len(_ZIP)) == _ZIP


def _xlsx(source: BinaryIO, filename: str) -> Table:
    try:
        book = load_workbook(source, read_only=True, data_only=True)
    except (InvalidFileException, BadZipFile, KeyError, OSError, ValueError) as exc:
        raise UnreadableFile(f"{filename} is not a spreadsheet Excel can open: {exc}", field="file") from None
    sheet = book.worksheets[0]
    rows = sheet.iter_rows(values_only=True)
    first = next(rows, None)
    if first is None:
        book.close()
        raise UnreadableFile(f"{filename} is empty: its first sheet has no header row", field="file")
    headers = _headers([cell_text(cell) for cell in first])

    def cells() -> Iterator[tuple[int, list[str]]]:
        try:
            for number, row in enumerate(rows, start=2):
                texts = [cell_text(cell) for cell in row]
                if any(texts):
                    yield number, texts
        finally:
            book.close()

    return Table(headers, cells(), None)


def cell_text(value: Any) -> str:
    """A spreadsheet cell as text: whole numbers without '.0', times in ISO form with no zone (the
    cleaning places them in the shop's zone), a date alone as a date."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, date | time):
        return value.isoformat()
    return str(value)


def detect_encoding(sample: bytes) -> str:
    """The encoding of a text file from its first bytes."""
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    try:
        # A sample cut inside a character is still UTF-8: the incremental decoder keeps the tail.
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=False)
    except UnicodeDecodeError:
        return "gb18030"
    return "utf-8"


def sniff_delimiter(header_line: str) -> str:
    """The delimiter the header line uses most (a comma when none appears)."""
    counts = {d: header_line.count(d) for d in DELIMITERS}
    best = max(DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] else ","


def _delimited(source: BinaryIO, filename: str) -> Table:
    sample = source.read(SAMPLE_BYTES)
    source.seek(0)
    if not sample.strip():
        raise UnreadableFile(f"{filename} is empty: it has no header row", field="file")
    if b"\0" in sample[:4096] and not sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise UnreadableFile(f"{filename} is neither a spreadsheet nor text (CSV or TSV)", field="file")
    encoding = detect_encoding(sample)
    text: IO[str] = io.TextIOWrapper(source, encoding=encoding, newline="")
    try:
        first_line = text.readline()
        text.seek(0)
        reader = csv.reader(text, delimiter=sniff_delimiter(first_line))
        header_cells = next(reader)
    except (UnicodeDecodeError, csv.Error) as exc:
        raise UnreadableFile(f"{filename}: the header row cannot be read ({exc})", field="file") from None
    headers = _headers(header_cells)

    def cells() -> Iterator[tuple[int, list[str]]]:
        number = 1
        try:
            for number, row in enumerate(reader, start=2):
                if "".join(row).strip():  # some cell is not blank
                    yield number, row
        except UnicodeDecodeError:
            raise UnreadableFile(
                # Text is decoded ahead of the rows, a few thousand characters at a time.
                f"{filename}: the text soon after row {number} is not {encoding}: save the file as UTF-8",
                field="file",
            ) from None
        except csv.Error as exc:
            raise UnreadableFile(
                f"{filename}: row {number + 1} cannot be read ({exc})", field="file"
            ) from None

    return Table(headers, cells(), encoding)


def _headers(cells: list[str]) -> list[str]:
    return [cell.replace("\ufeff", "").strip() for cell in cells]
