"""Reading files: encodings seen in the wild, delimiters, XLSX, row numbers as a spreadsheet shows them."""

from __future__ import annotations

import codecs
import io
from datetime import datetime

import pytest
from openpyxl import Workbook

from orderly.imports.files import SAMPLE_BYTES, UnreadableFile, detect_encoding, open_table, sniff_delimiter

ROWS = [["订单号", "收件人姓名", "数量"], ["A-1", "张三", "2"], ["A-2", "Zoë", "1"]]


def _text(rows: list[list[str]], delimiter: str = ",") -> str:
    return "\r\n".join(delimiter.join(r) for r in rows) + "\r\n"


def _read(data: bytes, name: str = "f.csv") -> tuple[list[str], list[tuple[int, list[str]]], str | None]:
    table = open_table(io.BytesIO(data), name)
    return table.headers, list(table), table.encoding


@pytest.mark.parametrize(
    ("data", "encoding"),
    [
        (_text(ROWS).encode(), "utf-8"),
        (codecs.BOM_UTF8 + _text(ROWS).encode(), "utf-8-sig"),
        (_text(ROWS).encode("utf-16"), "utf-16"),
        (_text(ROWS).encode("utf-16-le").join([codecs.BOM_UTF16_LE, b""]), "utf-16"),
        (_text(ROWS).encode("gb18030"), "gb18030"),
    ],
    ids=["utf-8", "utf-8-bom", "utf-16", "utf-16-le-bom", "gb18030"],
)
def test_each_encoding_reads_the_same_table(data: bytes, encoding: str) -> None:
    headers, rows, found = _read(data)
    assert found == encoding
    assert headers == ROWS[0]
    assert rows == [(2, ROWS[1]), (3, ROWS[2])]


def test_tab_separated_text_is_told_by_its_header_line() -> None:
    headers, rows, _ = _read(_text(ROWS, "\t").encode(), "report.txt")
    assert headers == ROWS[0]
    assert rows[0] == (2, ROWS[1])


def test_delimiter_is_the_one_the_header_uses_most() -> None:
    assert sniff_delimiter("order-id\tsku\tquantity-purchased\n") == "\t"
    assert sniff_delimiter("a;b;c\n") == ";"
    assert sniff_delimiter("a,b;c,d\n") == ","
    assert sniff_delimiter("single\n") == ","


def test_utf8_split_inside_a_character_at_the_sample_end_is_still_utf8() -> None:
    assert detect_encoding("订单".encode()[:-1]) == "utf-8"


def test_blank_rows_are_skipped_but_counted_and_quoted_newlines_stay_in_their_cell() -> None:
    data = b'order,note\r\nA-1,"two\nlines"\r\n,\r\n\r\nA-2,x\r\n'
    _, rows, _ = _read(data)
    assert rows == [(2, ["A-1", "two\nlines"]), (5, ["A-2", "x"])]


def test_an_xlsx_is_told_by_its_content_whatever_its_name() -> None:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["订单号", "数量", "下单时间", "邮编"])
    sheet.append(["A-1", 2, datetime(2026, 12, 4, 13, 5), 1234.0])
    sheet.append([None, None, None, None])
    sheet.append(["A-2", 1.5, "2026/12/04 13:05", "02134"])
    buffer = io.BytesIO()
    book.save(buffer)
    headers, rows, encoding = _read(buffer.getvalue(), "upload.bin")
    assert encoding is None
    assert headers == ["订单号", "数量", "下单时间", "邮编"]
    assert rows == [
        (2, ["A-1", "2", "2026-12-04 13:05:00", "1234"]),
        (4, ["A-2", "1.5", "2026/12/04 13:05", "02134"]),
    ]


def test_a_row_that_is_not_in_the_files_encoding_is_named() -> None:
    rows = SAMPLE_BYTES // 6 + 10  # past what is read to choose the encoding
    data = b"order,name\n" + b"A-1,x\n" * rows + b"A-2,\xff\xfe\xfa\n"
    table = open_table(io.BytesIO(data), "f.csv")
    assert table.encoding == "utf-8"
    with pytest.raises(UnreadableFile, match=r"soon after row (\d+) is not utf-8") as refused:
        list(table)
    assert rows - 2000 < int(refused.value.message.split("row ")[1].split()[0]) <= rows + 1


@pytest.mark.parametrize("data", [b"", b"  \n", b"PK\x03\x04not a zip"])
def test_empty_and_broken_files_are_refused_with_why(data: bytes) -> None:
    with pytest.raises(UnreadableFile):
        _read(data)
