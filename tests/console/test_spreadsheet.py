"""The XLSX writer: what a spreadsheet reads back is what was written, and nothing typed by a buyer
becomes a formula or breaks the file."""

from __future__ import annotations

import io
from decimal import Decimal

from openpyxl import load_workbook

from orderly.console.spreadsheet import Cell, write_xlsx


def test_cells_read_back_as_written_and_text_never_runs() -> None:
    rows: list[list[Cell]] = [['=HYPERLINK("http://x")', 3, Decimal("24.90"), None, "Zoë\x07 Müller"]]
    out = io.BytesIO()
    assert write_xlsx(out, "Orders: 2026/12?", ["a", "b", "c", "d", "e"], iter(rows)) == 1
    book = load_workbook(io.BytesIO(out.getvalue()))
    sheet = book.worksheets[0]
    assert sheet.title == "Orders  2026 12 "
    formula, number, amount, empty, name = next(sheet.iter_rows(min_row=2, values_only=True))
    assert formula == '=HYPERLINK("http://x")' and sheet["A2"].data_type == "s"
    assert (number, amount, empty, name) == (3, 24.9, None, "Zoë Müller")
