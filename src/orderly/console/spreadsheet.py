"""Tables written as files: CSV, and XLSX (Office Open XML) written row by row.

The XLSX is a zip of a few XML parts; the sheet is streamed into the zip as rows come, so a million
rows never sit in memory (the file goes to a temporary file, then out). Written here with the standard
library rather than openpyxl, which the hub does not install: cells are inline strings and plain
numbers, with no styles, which every spreadsheet reads. Pure: no I/O but the file it is handed.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from decimal import Decimal
from typing import IO
from xml.sax.saxutils import escape

Cell = str | int | Decimal | None

#: Characters XML 1.0 cannot hold at all (a control character typed into a buyer's name).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
#: A text cell a spreadsheet would run as a formula (CSV injection): written with a leading quote.
_FORMULA = ("=", "+", "-", "@", "\t", "\r")


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


def column_name(index: int) -> str:
    """``0`` is ``A``, ``25`` is ``Z``, ``26`` is ``AA``."""
    name = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        name = chr(ord("A") + rest) + name
    return name


def write_xlsx(out: IO[bytes], sheet: str, header: Sequence[str], rows: Iterable[Sequence[Cell]]) -> int:
    """The table as an XLSX workbook of one sheet named ``sheet``, written to ``out``; returns the
    number of rows after the header."""
    count = 0
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as book:
        for name, part in _PARTS.items():
            book.writestr(name, part.replace("{sheet}", escape(sheet[:31], {'"': "&quot;"})))
        with book.open("xl/worksheets/sheet1.xml", "w") as xml:
            xml.write(
                b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<worksheet xmlns="'
                b'http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
            )
            xml.write(_row(1, header))
            for count, row in enumerate(rows, 1):
                xml.write(_row(count + 1, row))
            xml.write(b"</sheetData></worksheet>")
    return count


def _row(number: int, cells: Sequence[Cell]) -> bytes:
    parts = [f'<row r="{number}">']
    for index, cell in enumerate(cells):
        ref = f"{column_name(index)}{number}"
        if cell is None:
            continue
        if isinstance(cell, (int, Decimal)) and not isinstance(cell, bool):
            parts.append(f'<c r="{ref}"><v>{cell}</v></c>')
        else:
            text = escape(_NOT_XML.sub("", str(cell)))
            parts.append(f'<c r="{ref}" t="inlineStr"><is><t xml:space="preserve">{text}</t></is></c>')
    parts.append("</row>")
    return "".join(parts).encode()


_PARTS = {
    "[Content_Types].xml": (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        '<Override PartName="/xl/worksheets/sheet1.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
        "</Types>"
    ),
    "_rels/.rels": (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" '
        'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" '
        'Target="xl/workbook.xml"/></Relationships>'
    ),
    "xl/workbook.xml": (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
        'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
        '<sheets><sheet name="{sheet}" sheetId="1" r:id="rId1"/></sheets></workbook>'
    ),
    "xl/_rels/workbook.xml.rels": (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" '
        'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" '
        'Target="worksheets/sheet1.xml"/></Relationships>'
    ),
}
