"""Tables written as files: CSV, and XLSX written row by row with openpyxl's write-only workbook.

Rows are streamed as they come (openpyxl's write-only sheet keeps none of them), so a million rows
never sit in memory (the file goes to a temporary file, then out). Pure: no I/O but the file it is
handed.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator, Sequence
from decimal import Decimal
from typing import IO, Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell

Cell = str | int | Decimal | None

#: Characters XML 1.0 cannot hold at all (a control character typed into a buyer's name).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
#: A text cell a spreadsheet would run as a formula (CSV injection): written with a leading quote.
_FORMULA = ("=", "+", "-", "@", "\t", "\r")
#: What a sheet's name may not hold.
_SHEET_NAME_BAN = re.compile(r"[\\/?*\[\]:]")


def csv_chunks(
    header: Sequence[str], rows: Iterable[Sequence[Cell]], *, rows_per_chunk: int = 500
) -> Iterator[bytes]:
    """The table as UTF-8 CSV (with a byte-order mark, so spreadsheets read it as UTF-8), a chunk of
    rows at a time."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    buffer.write("\ufeff")
    writer.writerow(header)
    for n, row in enumerate(rows, 1):
        writer.writerow([_text_safe(cell) if isinstance(cell, str) else cell for cell in row])
        if n % rows_per_chunk == 0:
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode()


def _text_safe(text: str) -> str:
    return "'" + text if text.startswith(_FORMULA) and not _is_number(text) else text


def _is_number(text: str) -> bool:
    try:
        Decimal(text)
    except ArithmeticError:
        return False
    return True


def write_xlsx(out: IO[bytes], sheet: str, header: Sequence[str], rows: Iterable[Sequence[Cell]]) -> int:
    """The table as an XLSX workbook of one sheet named ``sheet``, written to ``out``; returns the
    number of rows after the header."""
    book = Workbook(write_only=True)
    page = book.create_sheet(_SHEET_NAME_BAN.sub(" ", sheet)[:31] or "Sheet")
    page.append(list(header))
    count = 0
    for row in rows:
        page.append([_xlsx_cell(page, cell) for cell in row])
        count += 1
    book.save(out)
    return count


def _xlsx_cell(page: Any, cell: Cell) -> Any:
    if not isinstance(cell, str):
        return cell
    text = _NOT_XML.sub("", cell)
    if not text.startswith("="):
        return text
    # openpyxl takes a leading "=" for a formula: a buyer's "=..." stays the text it is.
    literal = WriteOnlyCell(page, value=text)
    literal.data_type = "s"
    return literal
