"""Labels, packing slips, pick lists and batches, read back from the PDFs they produce."""

from __future__ import annotations

import io
import random
import re
from collections.abc import Iterator
from dataclasses import replace
from itertools import pairwise

import pytest
from pypdf import PageObject, PdfReader, PdfWriter
from pypdf.generic import ContentStream
from reportlab.lib.units import inch
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas

from orderly.fulfilment import paperwork as pw
from orderly.fulfilment.paperwork import Address, Line, PaperworkError, Parcel

# Code 128's symbols as bar/space widths in modules, values 0-106 (ISO/IEC 15417), written out here
# so the decoder below does not lean on the encoder's own table.
PATTERNS = re.findall(
    r"\d+",
    """
212222 222122 222221 121223 121322 131222 122213 122312 132212 221213
221312 231212 112232 122132 122231 113222 123122 123221 223211 221132
221231 213212 223112 312131 311222 321122 321221 312212 322112 322211
212123 212321 232121 111323 131123 131321 112313 132113 132311 211313
231113 231311 112133 112331 132131 113123 113321 133121 313121 211331
231131 213113 213311 213131 311123 311321 331121 312113 312311 332111
314111 221411 431111 111224 111422 121124 121421 141122 141221 112214
112412 122114 122411 142112 142211 241211 221114 413111 241112 134111
111242 121142 121241 114212 124112 124211 411212 421112 421211 212141
214121 412121 111143 111341 131141 114113 114311 411113 411311 113141
114131 311141 411131 211412 211214 211232 2331112
""",
)
SYMBOLS = {pattern: value for value, pattern in enumerate(PATTERNS)}

SENDER = Address("Acme Trading Ltd", "1 Dock Road", city="Felixstowe", postal_code="IP11 3TW", country="GB")
CHINA = Address(
    "王小明",
    "朝阳区建国路88号",
    "SOHO现代城A座1201室",
    city="北京市",
    postal_code="100022",
    country="CN",
    phone="+86 138 0000 0000",
)
JAPAN = Address(
    "山田 花子", "渋谷区神南1-2-3 カーサ渋谷101", city="東京都", postal_code="150-0041", country="JP"
)
KOREA = Address("김민준", "강남구 테헤란로 152", city="서울특별시", postal_code="06236", country="KR")
POLAND = Address("Łukasz Wróblewski", "ul. Żółkiewskiego 5", city="Łódź", postal_code="90-001", country="PL")


def parcel(reference: str = "SH-1", **changes: object) -> Parcel:
    base = Parcel(
        reference=reference,
        shop="Acme Shop",
        order_number="1001",
        warehouse="HOME",
        sender=SENDER,
        recipient=CHINA,
        carrier="DHL Express",
        service="Express Worldwide",
        tracking_number="1234567890",
        lines=(Line("MUG-1", "Blue mug", 2, "A-10", "4006381333931"), Line("TOWEL", "Tea towel", 1, "A-2")),
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def carrier_pdf(size: tuple[float, float], text: str = "CARRIER LABEL") -> bytes:
    out = io.BytesIO()
    canvas = Canvas(out, pagesize=size)
    canvas.setFont("Helvetica", 20)
    canvas.drawString(20, size[1] - 40, text)
    canvas.showPage()
    canvas.save()
    return out.getvalue()


def pages(pdf: bytes) -> list[PageObject]:
    return list(PdfReader(io.BytesIO(pdf)).pages)


def text(page: PageObject) -> str:
    return "".join(page.extract_text().split())


def decode_code128(page: PageObject) -> str:
    """The text of the page's Code 128, read from its bars: the widest set of filled rectangles of one
    height is the symbol; bar widths and the gaps between them, in modules, are its elements."""
    rects: dict[tuple[float, float], list[tuple[float, float]]] = {}
    for operands, operator in ContentStream(page.get_contents(), page.pdf).operations:
        if operator == b"re":
            x, y, w, h = (float(value) for value in operands)
            rects.setdefault((round(y, 3), round(h, 3)), []).append((x, w))
    bars = sorted(max(rects.values(), key=len))
    module = min(w for _, w in bars)
    widths: list[int] = []
    for (x, w), (next_x, _) in pairwise(bars):
        widths += [round(w / module), round((next_x - x - w) / module)]
    widths.append(round(bars[-1][1] / module))
    elements = "".join(map(str, widths))
    values = [SYMBOLS[elements[i : i + 6]] for i in range(0, len(elements) - 7, 6)]
    assert SYMBOLS[elements[-7:]] == 106, "no stop symbol"
    start, *data, check = values
    assert check == (start + sum(i * v for i, v in enumerate(data, 1))) % 103, "bad check symbol"
    code = {103: "A", 104: "B", 105: "C"}[start]
    decoded = ""
    for value in data:
        if code == "C" and value < 100:
            decoded += f"{value:02d}"
        elif value >= 99:  # a change of code set (the encoder makes no FNC4 and no shift)
            code = {99: "C", 100: "B", 101: "A"}[value]
        elif code == "B":
            decoded += chr(value + 32)
        else:
            decoded += chr(value + 32) if value < 64 else chr(value - 64)
    return decoded


def fonts_drawing(page: PageObject) -> dict[str, str]:
    """Each character drawn on the page, with the font it was drawn in."""
    drawn: dict[str, str] = {}

    def visit(text: str, cm: object, tm: object, font: dict[str, object] | None, size: object) -> None:
        for char in text:
            if not char.isspace() and font is not None:
                drawn[char] = str(font["/BaseFont"])

    page.extract_text(visitor_text=visit)
    return drawn


# --- labels ------------------------------------------------------------------------------------------


def test_our_label_is_a_4x6_inch_page() -> None:
    (page,) = pages(pw.label(parcel()))
    assert (float(page.mediabox.width), float(page.mediabox.height)) == (4 * inch, 6 * inch)


@pytest.mark.parametrize(
    "tracking",
    ["1Z999AA10123456784", "1234567890", "JD014600006281320", "LX123456789CN", "9400 1000-abc_x"],
)
def test_the_label_barcode_encodes_the_tracking_number(tracking: str) -> None:
    (page,) = pages(pw.label(parcel(tracking_number=tracking)))
    assert decode_code128(page) == tracking
    assert "".join(tracking.split()) in text(page)


def test_the_packing_slip_barcode_encodes_the_shipment_reference() -> None:
    (page,) = pages(pw.packing_slip(parcel("SHP-000042")))
    assert decode_code128(page) == "SHP-000042"


@pytest.mark.parametrize("address", [CHINA, JAPAN, KOREA, POLAND])
def test_addresses_are_drawn_in_fonts_that_have_their_glyphs(address: Address) -> None:
    (page,) = pages(pw.label(parcel(recipient=address)))
    assert all("".join(part.split()) in text(page) for part in (address.name, address.line1, address.city))
    drawn = fonts_drawing(page)
    cjk = TTFont("cjk-test", str(pw._FONT_DIR / "DroidSansFallback.ttf")).face.charToGlyph
    sans = TTFont("sans-test", str(pw._FONT_DIR / "NotoSans-Regular.ttf")).face.charToGlyph
    for char in "".join(f"{address.name}{address.line1}{address.city}".split()):
        font = drawn[char]
        # Latin in Noto Sans, the rest in the CJK font, each font holding a glyph for what it draws.
        assert font.endswith(
            "DroidSansFallback" if ord(char) not in sans else ("NotoSans-Regular", "NotoSans-Bold")
        )
        assert ord(char) in (cjk if "Droid" in font else sans)
    assert any("Droid" in font for font in drawn.values()) == (address is not POLAND)


def test_the_fonts_are_embedded_as_subsets() -> None:
    (page,) = pages(pw.label(parcel()))
    fonts = {str(font["/BaseFont"]): font for font in page["/Resources"]["/Font"].values()}
    assert {name.split("+")[1] for name in fonts} == {
        "NotoSans-Regular",
        "NotoSans-Bold",
        "DroidSansFallback",
    }
    for font in fonts.values():
        assert "/FontFile2" in font["/FontDescriptor"]


def test_an_empty_tracking_number_is_refused_on_our_own_label() -> None:
    with pytest.raises(PaperworkError, match="tracking number is empty"):
        pw.label(parcel(tracking_number=" "))


def test_a_tracking_number_code_128_cannot_encode_is_refused() -> None:
    with pytest.raises(PaperworkError, match="Code 128 cannot encode"):
        pw.label(parcel(tracking_number="JD00é1"))


@pytest.mark.parametrize("char", ["😀", "\u0663", "\x07"])
def test_a_character_no_font_covers_is_refused_naming_where(char: str) -> None:
    with pytest.raises(PaperworkError, match=rf"recipient\.line2: no font covers .* \(U\+{ord(char):04X}\)"):
        pw.label(parcel(recipient=replace(CHINA, line2=f"Flat 1 {char}")))
    with pytest.raises(PaperworkError, match="line 1 title: no font covers"):
        pw.packing_slip(parcel(lines=(Line("S", f"Mug {char}", 1),)))


def test_an_address_too_long_for_the_label_is_refused() -> None:
    with pytest.raises(PaperworkError, match="does not fit"):
        pw.label(parcel(recipient=replace(CHINA, line1="朝阳区建国路88号" * 200)))


def test_a_long_address_is_shrunk_to_fit_not_cut() -> None:
    long = replace(CHINA, line1="朝阳区建国路88号" * 8)
    (page,) = pages(pw.label(parcel(recipient=long)))
    assert "朝阳区建国路88号" * 8 in text(page)


def test_a_carrier_label_of_4x6_inches_is_passed_through_as_it_is() -> None:
    label = carrier_pdf((4 * inch, 6 * inch))
    assert pw.label(parcel(carrier_label=label, tracking_number="")) == label


@pytest.mark.parametrize("size", [(595.0, 842.0), (6 * inch, 4 * inch)])
def test_a_carrier_label_of_another_size_is_placed_on_a_4x6_page(size: tuple[float, float]) -> None:
    (page,) = pages(pw.label(parcel(carrier_label=carrier_pdf(size, "DHL WAYBILL 42"))))
    assert (float(page.mediabox.width), float(page.mediabox.height)) == (4 * inch, 6 * inch)
    assert "DHLWAYBILL42" in text(page)


def encrypted(pdf: bytes, user_password: str) -> bytes:
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf)))
    writer.encrypt(user_password=user_password, owner_password="owner", algorithm="AES-128")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def test_a_carrier_label_locked_against_editing_only_is_placed() -> None:
    label = encrypted(carrier_pdf((595.0, 842.0), "LOCKED 7"), user_password="")
    (page,) = pages(pw.label(parcel(carrier_label=label)))
    assert "LOCKED7" in text(page)


def test_a_carrier_label_that_needs_a_password_is_refused() -> None:
    label = encrypted(carrier_pdf((595.0, 842.0)), user_password="secret")
    with pytest.raises(PaperworkError, match="needs a password"):
        pw.label(parcel(carrier_label=label))


def test_a_carrier_label_that_is_no_pdf_is_refused() -> None:
    with pytest.raises(PaperworkError, match="not a readable PDF"):
        pw.label(parcel(carrier_label=b"%PDF-1.4 garbage"))


# --- packing slips and pick lists --------------------------------------------------------------------


@pytest.mark.parametrize(("size", "points"), [("A4", (595.3, 841.9)), ("Letter", (612.0, 792.0))])
def test_the_packing_slip_lists_the_lines_on_the_page_size_asked(
    size: pw.PageSize, points: tuple[float, float]
) -> None:
    (page,) = pages(pw.packing_slip(parcel(), page_size=size))
    assert (round(float(page.mediabox.width), 1), round(float(page.mediabox.height), 1)) == points
    assert all(part in text(page) for part in ("MUG-1", "Bluemug", "4006381333931", "TOWEL", "3items"))


def test_a_long_packing_slip_goes_on_over_pages_each_with_the_barcode() -> None:
    lines = tuple(Line(f"SKU-{n}", f"Item {n}", 1, f"B-{n}") for n in range(120))
    slip = pages(pw.packing_slip(parcel(lines=lines)))
    assert len(slip) > 1
    assert all(decode_code128(page) == "SH-1" for page in slip)
    listed = "".join(text(page) for page in slip)
    assert all(f"SKU-{n}" in listed for n in range(120))


def test_natural_order_puts_a2_before_a10() -> None:
    bins = ["A-10", "B-1", "a-3", "A-2", "A-2-10", "A-2-9", "C01", "B-01-2"]
    assert sorted(bins, key=pw.natural_key) == [
        "A-2",
        "A-2-9",
        "A-2-10",
        "a-3",
        "A-10",
        "B-1",
        "B-01-2",
        "C01",
    ]


def test_the_pick_walk_is_by_warehouse_then_bin_in_walking_order_with_totals_per_sku() -> None:
    first = parcel(
        "SH-1",
        order_number="1001",
        lines=(Line("MUG", "Mug", 2, "A-10"), Line("TOWEL", "Towel", 1, "A-2"), Line("PEN", "Pen", 1, "")),
    )
    second = parcel(
        "SH-2", order_number="1002", lines=(Line("MUG", "Mug", 3, "A-10"), Line("MUG", "Mug", 1, "C-1"))
    )
    overseas = parcel("SH-3", order_number="1003", warehouse="EU-1", lines=(Line("CUP", "Cup", 4, "Z-9"),))
    walks = pw.pick_walk([first, second, overseas])
    assert [walk.warehouse for walk in walks] == ["EU-1", "HOME"]
    home = walks[1]
    assert [(stop.bin_location, stop.sku, stop.quantity) for stop in home.stops] == [
        ("A-2", "TOWEL", 1),
        ("A-10", "MUG", 5),
        ("C-1", "MUG", 1),
        ("", "PEN", 1),
    ]
    assert home.stops[1].orders == ("1001", "1002")
    assert home.totals == (("MUG", "Mug", 6), ("PEN", "Pen", 1), ("TOWEL", "Towel", 1))

    pdf = pages(pw.pick_list([first, second, overseas]))
    home_text = "".join(text(page) for page in pdf if "HOME" in text(page))
    positions = [
        home_text.index(part) for part in ("A-2TOWEL", "A-10MUG", "C-1MUG", "(nobin)PEN", "TotalsperSKU")
    ]
    assert positions == sorted(positions)


def test_a_pick_list_without_lines_is_refused() -> None:
    with pytest.raises(PaperworkError, match="no lines"):
        pw.pick_list([parcel(lines=())])


# --- batches -----------------------------------------------------------------------------------------


def many(count: int) -> list[Parcel]:
    recipients = [CHINA, JAPAN, KOREA, POLAND, SENDER]
    labels = [None, None, None, carrier_pdf((4 * inch, 6 * inch)), carrier_pdf((595.0, 842.0))]
    return [
        parcel(
            f"SH-{n:04d}",
            recipient=recipients[n % 5],
            tracking_number=f"JD{n:012d}",
            carrier_label=labels[n % 5],
            lines=(Line(f"SKU-{n % 7}", "Item", 1, f"A-{n % 40}"),),
        )
        for n in range(count)
    ]


def test_a_batch_of_300_shipments_is_one_pdf_of_300_label_pages() -> None:
    parcels = many(300)
    batch = pages(pw.batch(parcels))
    assert len(batch) == 300
    assert all((float(page.mediabox.width), float(page.mediabox.height)) == (288, 432) for page in batch)
    in_pick_order = sorted(parcels, key=pw.pick_key)
    for page, item in zip(batch[::15], in_pick_order[::15], strict=True):
        assert ("CARRIERLABEL" in text(page)) == (item.carrier_label is not None)


def test_a_batch_with_slips_has_each_label_followed_by_its_slip() -> None:
    batch = pages(pw.batch(many(20), slips=True, page_size="Letter"))
    assert len(batch) == 40
    for label, slip in zip(batch[::2], batch[1::2], strict=True):
        assert float(label.mediabox.height) == 432 and float(slip.mediabox.height) == 792
        assert decode_code128(slip) in text(label) or "CARRIERLABEL" in text(label)


def test_a_batch_comes_out_in_pick_order() -> None:
    parcels = many(60)
    random.Random(7).shuffle(parcels)
    batch = pages(pw.batch(parcels, slips=True))
    slips = [decode_code128(page) for page in batch[1::2]]
    expected = [p.reference for p in sorted(parcels, key=pw.pick_key)]
    assert slips == expected
    bins = [int(next(p for p in parcels if p.reference == ref).lines[0].bin_location[2:]) for ref in slips]
    assert bins == sorted(bins)


def test_write_batch_writes_as_it_reads() -> None:
    out = io.BytesIO()
    written_before_the_end: list[int] = []

    def parcels() -> Iterator[Parcel]:
        for n, item in enumerate(many(250)):
            if n == 240:
                written_before_the_end.append(out.tell())
            yield item

    assert pw.write_batch(parcels(), out) == 250
    assert written_before_the_end[0] > 0
    assert len(pages(out.getvalue())) == 250


def test_a_bad_shipment_in_a_batch_is_named() -> None:
    parcels = [*many(5), parcel("SH-BAD", tracking_number="")]
    with pytest.raises(PaperworkError, match="shipment 'SH-BAD': tracking number is empty"):
        pw.batch(parcels)
