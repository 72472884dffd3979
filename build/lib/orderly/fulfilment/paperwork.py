"""Labels, packing slips, pick lists and label batches as PDF bytes, from plain data.

Pure rendering: no database, no carrier. The fonts are embedded (as subsets) from ``fonts/``: Noto Sans for
Latin, Greek and Cyrillic, and Droid Sans Fallback for each run of Chinese, Japanese or Korean, so an
address prints the same on any printer.
"""

from __future__ import annotations

import functools
import io
import zlib
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, fields
from pathlib import Path
from typing import BinaryIO, Literal

from pypdf import PageObject, PdfReader
from pypdf.errors import PyPdfError
from pypdf.generic import (
    ArrayObject,
    DictionaryObject,
    EncodedStreamObject,
    IndirectObject,
    NameObject,
    PdfObject,
    StreamObject,
)
from reportlab.graphics.barcode.code128 import Code128
from reportlab.lib.pagesizes import A4, LETTER
from reportlab.lib.units import inch
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas

from orderly.inventory.domain import natural_key, walk_key

PageSize = Literal["A4", "Letter"]

LABEL_SIZE = (4 * inch, 6 * inch)
_PAGE_SIZES: dict[str, tuple[float, float]] = {"A4": A4, "Letter": LETTER}
_FONT_DIR = Path(__file__).parent / "fonts"
_SANS, _SANS_BOLD, _CJK = "OrderlySans", "OrderlySans-Bold", "OrderlyCJK"
# Code 128 modules: at least the symbology's 7.5 mil, at most 20 mil (wider scans no better).
_MIN_MODULE, _MAX_MODULE = 0.0075 * inch, 0.02 * inch
# Own labels and slips of this many parcels share one reportlab document (and its font subsets)
# before they are written out, which bounds what a batch holds in memory.
_CHUNK = 100


class PaperworkError(ValueError):
    """Input that cannot be printed; nothing is produced."""


@dataclass(frozen=True, slots=True)
class Address:
    """The parts of ``orders.schemas.Address``, blank where missing, and a company line."""

    name: str
    line1: str = ""
    line2: str = ""
    city: str = ""
    region: str = ""
    postal_code: str = ""
    country: str = ""
    phone: str = ""
    company: str = ""


@dataclass(frozen=True, slots=True)
class Line:
    sku: str
    title: str
    quantity: int
    bin_location: str = ""
    barcode: str = ""
    walk: int | None = None  # the bin's walk sequence, if it has one (inventory.domain.walk_key)


@dataclass(frozen=True, slots=True)
class Parcel:
    """What one shipment's paperwork shows. ``reference`` is the shipment's own, scanned to pack it;
    ``carrier_label`` is the carrier's label PDF when it returned one. ``picks`` are the units taken
    off the shelves when they differ from the lines (a bundle is picked as its components)."""

    reference: str
    shop: str
    order_number: str
    warehouse: str
    sender: Address
    recipient: Address
    carrier: str
    service: str
    tracking_number: str
    lines: tuple[Line, ...] = ()
    carrier_label: bytes | None = None
    picks: tuple[Line, ...] = ()

    @property
    def stock_lines(self) -> tuple[Line, ...]:
        """What the picker takes off the shelves for this parcel."""
        return self.picks or self.lines


@dataclass(frozen=True, slots=True)
class PickStop:
    """One bin's SKU, with the quantity to take for all the parcels and the orders it goes to."""

    bin_location: str
    sku: str
    title: str
    quantity: int
    orders: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class WarehousePick:
    warehouse: str
    stops: tuple[PickStop, ...]
    totals: tuple[tuple[str, str, int], ...]  # (sku, title, quantity), by SKU


# --- ordering ----------------------------------------------------------------------------------------


def pick_key(parcel: Parcel) -> tuple[object, ...]:
    """Pick order of parcels: by warehouse, then by the first bin on the walk, so labels come out of
    the printer in the order their items come off the shelves."""
    first = min((walk_key(line.bin_location, line.walk) for line in parcel.stock_lines), default=None)
    return (natural_key(parcel.warehouse), first is None, first or (), natural_key(parcel.reference))


def pick_walk(parcels: Iterable[Parcel]) -> list[WarehousePick]:
    """Each warehouse's stops in walking order (``inventory.domain.walk_key``, then SKU), one stop per
    bin and SKU whatever the number of parcels, and the totals per SKU. Bundles are picked as their
    components."""
    # warehouse -> (bin, walk, sku) -> (title, quantity, orders in the order met)
    stops: dict[str, dict[tuple[str, int | None, str], tuple[str, int, dict[str, None]]]] = defaultdict(dict)
    for parcel in parcels:
        for line in parcel.stock_lines:
            key = (line.bin_location, line.walk, line.sku)
            title, quantity, orders = stops[parcel.warehouse].get(key, (line.title, 0, {}))
            orders[parcel.order_number] = None
            stops[parcel.warehouse][key] = (title, quantity + line.quantity, orders)
    walks = []
    for warehouse in sorted(stops, key=natural_key):
        walk = tuple(
            PickStop(bin_location, sku, title, quantity, tuple(orders))
            for (bin_location, _, sku), (title, quantity, orders) in sorted(
                stops[warehouse].items(),
                key=lambda item: (walk_key(item[0][0], item[0][1]), natural_key(item[0][2])),
            )
        )
        totals: dict[str, tuple[str, int]] = {}
        for stop in walk:
            title, quantity = totals.get(stop.sku, (stop.title, 0))
            totals[stop.sku] = (title, quantity + stop.quantity)
        by_sku = tuple((sku, *totals[sku]) for sku in sorted(totals, key=natural_key))
        walks.append(WarehousePick(warehouse, walk, by_sku))
    return walks


# --- fonts and text ----------------------------------------------------------------------------------


@functools.cache
def _coverage() -> tuple[frozenset[int], frozenset[int]]:
    """Registers the fonts once per process; what Noto Sans (both weights) and the CJK font cover."""
    fonts = {
        _SANS: "NotoSans-Regular.ttf",
        _SANS_BOLD: "NotoSans-Bold.ttf",
        _CJK: "DroidSansFallback.ttf",
    }
    cmaps = {}
    for name, file in fonts.items():
        font = TTFont(name, str(_FONT_DIR / file))
        pdfmetrics.registerFont(font)
        cmaps[name] = frozenset(font.face.charToGlyph)
    return cmaps[_SANS] & cmaps[_SANS_BOLD], cmaps[_CJK]


def _clean(text: str) -> str:
    # Tabs and line breaks in an address field are spacing, not content.
    return " ".join(text.split())


# Cached: a batch draws the same sender, carrier and headings on every page.
@functools.lru_cache(maxsize=8192)
def _runs(text: str, bold: bool) -> tuple[tuple[str, str], ...]:
    latin, cjk = _coverage()
    if latin.issuperset(map(ord, text)):
        return ((_SANS_BOLD if bold else _SANS, text),) if text else ()
    runs: list[tuple[str, str]] = []
    for char in text:
        if ord(char) in latin:
            font = _SANS_BOLD if bold else _SANS
        elif ord(char) in cjk:
            font = _CJK
        else:
            raise PaperworkError(f"no font covers {char!r} (U+{ord(char):04X})")
        if runs and runs[-1][0] == font:
            runs[-1] = (font, runs[-1][1] + char)
        else:
            runs.append((font, char))
    return tuple(runs)


def _check_text(where: str, text: str) -> None:
    try:
        _runs(_clean(text), bold=False)
    except PaperworkError as exc:
        raise PaperworkError(f"{where}: {exc}") from None


def _check(parcel: Parcel, *, own_label: bool) -> None:
    """Everything drawn for a parcel is printable, checked before anything is drawn."""
    where = f"shipment {parcel.reference!r}"
    for name in ("reference", "shop", "order_number", "warehouse", "carrier", "service", "tracking_number"):
        _check_text(f"{where}: {name}", getattr(parcel, name))
    for role in ("sender", "recipient"):
        address = getattr(parcel, role)
        for part in fields(Address):
            _check_text(f"{where}: {role}.{part.name}", getattr(address, part.name))
    for number, line in enumerate(parcel.lines + parcel.picks, 1):
        for name in ("sku", "title", "bin_location", "barcode"):
            _check_text(f"{where}: line {number} {name}", getattr(line, name))
        if line.quantity <= 0:
            raise PaperworkError(f"{where}: line {number} quantity must be positive, not {line.quantity}")
    _check_code(f"{where}: reference", parcel.reference)
    if own_label:
        if not parcel.recipient.name.strip():
            raise PaperworkError(f"{where}: the recipient has no name")
        _check_code(f"{where}: tracking number", parcel.tracking_number)


def _check_code(where: str, value: str) -> None:
    if not value.strip():
        raise PaperworkError(f"{where} is empty: there is nothing to put in the barcode")
    bad = [char for char in value if not " " <= char <= "~"]
    if bad:
        raise PaperworkError(f"{where} {value!r} has {bad[0]!r}, which Code 128 cannot encode")


@functools.lru_cache(maxsize=16384)
def _width(text: str, size: float, bold: bool = False) -> float:
    return sum(pdfmetrics.stringWidth(run, font, size) for font, run in _runs(text, bold))


def _draw(canvas: Canvas, x: float, y: float, text: str, size: float, bold: bool = False) -> float:
    """Draws text a run of one font at a time; returns where it ends."""
    for font, run in _runs(_clean(text), bold):
        canvas.setFont(font, size)
        canvas.drawString(x, y, run)
        x += pdfmetrics.stringWidth(run, font, size)
    return x


def _wrap(text: str, size: float, width: float, bold: bool = False) -> list[str]:
    """Greedy wrap at spaces; a word wider than the line (a CJK address has no spaces) breaks between
    characters."""
    lines: list[str] = []
    current = ""
    for word in _clean(text).split(" "):
        candidate = f"{current} {word}" if current else word
        if _width(candidate, size, bold) <= width:
            current = candidate
            continue
        if current:
            lines.append(current)
        current = ""
        for char in word:
            if current and _width(current + char, size, bold) > width:
                lines.append(current)
                current = ""
            current += char
    if current:
        lines.append(current)
    return lines


def _ellipsis(text: str, size: float, width: float, bold: bool = False) -> str:
    """Text on one line of width, cut short with an ellipsis when longer."""
    text = _clean(text)
    if _width(text, size, bold) <= width:
        return text
    while text and _width(text + "…", size, bold) > width:
        text = text[:-1]
    return text + "…"


def _address_lines(address: Address) -> list[tuple[str, bool]]:
    """(text, bold) per line, blank parts left out."""
    place = " ".join(part for part in (address.city, address.region, address.postal_code) if part.strip())
    parts = [
        (address.name, True),
        (address.company, False),
        (address.line1, False),
        (address.line2, False),
        (place, False),
        (address.country, True),
        (address.phone, False),
    ]
    return [(text, bold) for text, bold in parts if text.strip()]


def _draw_address(
    canvas: Canvas, address: Address, x: float, top: float, width: float, height: float, size: float
) -> None:
    """Fills the box from the top, shrinking the text until it fits: an address is never cut."""
    while True:
        leading = size * 1.2
        wrapped = [
            (line, bold) for text, bold in _address_lines(address) for line in _wrap(text, size, width, bold)
        ]
        if len(wrapped) * leading <= height:
            break
        if size <= 6:
            raise PaperworkError(f"the address of {address.name!r} does not fit on the page")
        size -= 0.5
    y = top - size
    for line, bold in wrapped:
        _draw(canvas, x, y, line, size, bold)
        y -= leading


def _draw_code128(
    canvas: Canvas, value: str, x: float, y: float, width: float, height: float, text_size: float = 0
) -> None:
    """A Code 128 of value centred in the width, the widest module that fits; its text below when
    text_size is given."""
    modules = Code128(value, barWidth=1, quiet=0).width
    module = min(_MAX_MODULE, width / modules)
    if module < _MIN_MODULE:
        raise PaperworkError(f"{value!r} is too long for a Code 128 {width / inch:.1f} in wide")
    symbol = Code128(value, barWidth=module, barHeight=height, quiet=0, humanReadable=0)
    left = x + (width - symbol.width) / 2
    symbol.drawOn(canvas, left, y)
    if text_size:
        text_width = _width(value, text_size)
        _draw(canvas, x + (width - text_width) / 2, y - text_size * 1.3, value, text_size)


# --- documents ---------------------------------------------------------------------------------------


def _canvas(out: BinaryIO) -> Canvas:
    _coverage()
    # Our own font from the start: reportlab's default (Helvetica) would be listed, never embedded.
    # (types-reportlab types initialFontName as a number; reportlab takes a font's name.)
    return Canvas(out, pageCompression=1, initialFontName=_SANS)  # type: ignore[arg-type]


def _draw_label(canvas: Canvas, parcel: Parcel) -> None:
    width, height = LABEL_SIZE
    canvas.setPageSize(LABEL_SIZE)
    margin = 10.0
    inner = width - 2 * margin
    top = height - margin
    # Sender (small) on the left, carrier and service on the right.
    _draw(canvas, margin, top - 7, "FROM", 6, bold=True)
    _draw_address(canvas, parcel.sender, margin, top - 9, inner * 0.6, 62, 7)
    right = margin + inner * 0.62
    _draw(canvas, right, top - 12, _ellipsis(parcel.carrier, 12, inner * 0.38, True), 12, bold=True)
    _draw(canvas, right, top - 26, _ellipsis(parcel.service, 9, inner * 0.38), 9)
    rule = top - 76
    canvas.setLineWidth(1.5)
    canvas.line(margin, rule, width - margin, rule)
    _draw(canvas, margin, rule - 10, "SHIP TO", 7, bold=True)
    _draw_address(canvas, parcel.recipient, margin + 8, rule - 14, inner - 8, 150, 13)
    rule -= 172
    canvas.line(margin, rule, width - margin, rule)
    _draw(canvas, margin, rule - 10, _ellipsis(f"{parcel.carrier} TRACKING #", 7, inner, True), 7, bold=True)
    _draw_code128(canvas, parcel.tracking_number, margin, rule - 100, inner, 80, 11)
    rule -= 128
    canvas.line(margin, rule, width - margin, rule)
    reference = f"{parcel.shop} · order {parcel.order_number} · shipment {parcel.reference}"
    _draw(canvas, margin, rule - 12, _ellipsis(reference, 8, inner), 8)
    canvas.showPage()


def _draw_slip(canvas: Canvas, parcel: Parcel, page_size: PageSize) -> None:
    width, height = _PAGE_SIZES[page_size]
    margin = 40.0
    barcode_x, qty_x = width - 2 * margin - 130, width - 2 * margin - 24
    columns = (("Bin", 0.0), ("SKU", 70.0), ("Item", 170.0), ("Barcode", barcode_x), ("Qty", qty_x))
    title_width = barcode_x - 170 - 8
    page = 0

    def header() -> float:
        nonlocal page
        page += 1
        canvas.setPageSize((width, height))
        top = height - margin
        _draw(canvas, margin, top - 16, _ellipsis(parcel.shop, 16, width / 2, True), 16, bold=True)
        _draw(canvas, margin, top - 34, f"Packing slip · order {parcel.order_number}", 11)
        _draw(canvas, margin, top - 48, f"Shipment {parcel.reference} · page {page}", 9)
        _draw_code128(canvas, parcel.reference, width - margin - 200, top - 50, 200, 40, 9)
        y = top - 72
        if page == 1:
            _draw(canvas, margin, y - 8, "SHIP TO", 8, bold=True)
            _draw_address(canvas, parcel.recipient, margin, y - 12, width / 2, 100, 10)
            _draw(canvas, width / 2 + 20, y - 8, "CARRIER", 8, bold=True)
            _draw(canvas, width / 2 + 20, y - 22, f"{parcel.carrier} {parcel.service}", 10)
            if parcel.tracking_number.strip():
                _draw(canvas, width / 2 + 20, y - 36, parcel.tracking_number, 10)
            y -= 120
        for name, x in columns:
            _draw(canvas, margin + x, y, name, 9, bold=True)
        canvas.setLineWidth(0.5)
        canvas.line(margin, y - 4, width - margin, y - 4)
        return y - 18

    y = header()
    for line in parcel.lines:
        # Two lines of title at most: the SKU and the barcode say which item it is.
        title = _wrap(line.title, 9, title_width) or [""]
        if len(title) > 2:
            title = [title[0], _ellipsis(" ".join(title[1:]), 9, title_width)]
        if y - 12 * len(title) < margin:
            canvas.showPage()
            y = header()
        _draw(canvas, margin, y, _ellipsis(line.bin_location, 9, 66), 9)
        _draw(canvas, margin + 70, y, _ellipsis(line.sku, 9, 96), 9)
        for number, text in enumerate(title):
            _draw(canvas, margin + 170, y - 12 * number, text, 9)
        _draw(canvas, margin + barcode_x, y, _ellipsis(line.barcode, 9, 120), 9)
        _draw(canvas, margin + qty_x, y, str(line.quantity), 9, bold=True)
        y -= 12 * len(title) + 6
    total = sum(line.quantity for line in parcel.lines)
    if y - 20 < margin:
        canvas.showPage()
        y = header()
    canvas.line(margin, y + 2, width - margin, y + 2)
    _draw(canvas, margin, y - 12, f"{total} item{'s' if total != 1 else ''}", 10, bold=True)
    canvas.showPage()


def _render(draw: Callable[[Canvas], None]) -> bytes:
    out = io.BytesIO()
    canvas = _canvas(out)
    draw(canvas)
    canvas.save()
    return out.getvalue()


def label(parcel: Parcel) -> bytes:
    """The parcel's 4x6 in label.

    The carrier's own label when it returned one: its bytes as they are when every page is already
    4x6 in (what the carrier certified, barcode untouched), otherwise each page scaled onto a 4x6 page
    so every label fits the thermal printer's stock. Our own label otherwise.
    """
    if parcel.carrier_label is not None:
        _check(parcel, own_label=False)
        if all(_is_label_size(_shown_size(page)) for page in _reader(parcel.carrier_label).pages):
            return parcel.carrier_label
        out = io.BytesIO()
        writer = _StreamingPdf(out)
        writer.copy(_Source(parcel.carrier_label), fit=LABEL_SIZE)
        writer.close()
        return out.getvalue()
    _check(parcel, own_label=True)
    return _render(lambda canvas: _draw_label(canvas, parcel))


def packing_slip(parcel: Parcel, page_size: PageSize = "A4") -> bytes:
    """The slip packed with the parcel: its lines, and the shipment's barcode scanned to start
    packing it."""
    _check(parcel, own_label=False)
    return _render(lambda canvas: _draw_slip(canvas, parcel, page_size))


def pick_list(parcels: Iterable[Parcel], page_size: PageSize = "A4") -> bytes:
    """One section per warehouse: the stops in walking order, then the totals per SKU."""
    parcels = list(parcels)
    for parcel in parcels:
        _check(parcel, own_label=False)
    walks = pick_walk(parcels)
    if not walks:
        raise PaperworkError("no lines to pick")
    return _render(lambda canvas: _draw_walks(canvas, walks, page_size))


def _draw_walks(canvas: Canvas, walks: list[WarehousePick], page_size: PageSize) -> None:
    width, height = _PAGE_SIZES[page_size]
    margin = 40.0
    warehouse = ""
    page = 0

    def header(title: str, cols: tuple[tuple[str, float], ...]) -> float:
        nonlocal page
        page += 1
        canvas.setPageSize((width, height))
        top = height - margin
        _draw(canvas, margin, top - 16, f"Pick list · {warehouse}", 16, bold=True)
        _draw(canvas, margin, top - 32, f"{title} · page {page}", 9)
        for name, x in cols:
            _draw(canvas, margin + x, top - 52, name, 9, bold=True)
        canvas.setLineWidth(0.5)
        canvas.line(margin, top - 56, width - margin, top - 56)
        return top - 70

    stop_cols = (("Bin", 0.0), ("SKU", 70.0), ("Item", 170.0), ("Qty", 370.0), ("Orders", 400.0))
    total_cols = (("SKU", 0.0), ("Item", 100.0), ("Total", 370.0))
    for walk in walks:
        warehouse, page = walk.warehouse, 0
        stops = f"{len(walk.stops)} stops"
        y = header(stops, stop_cols)
        for stop in walk.stops:
            if y < margin:
                canvas.showPage()
                y = header(stops, stop_cols)
            _draw(canvas, margin, y, _ellipsis(stop.bin_location or "(no bin)", 9, 66), 9, bold=True)
            _draw(canvas, margin + 70, y, _ellipsis(stop.sku, 9, 96), 9)
            _draw(canvas, margin + 170, y, _ellipsis(stop.title, 9, 196), 9)
            _draw(canvas, margin + 370, y, str(stop.quantity), 9, bold=True)
            orders = ", ".join(stop.orders)
            _draw(canvas, margin + 400, y, _ellipsis(orders, 8, width - 2 * margin - 400), 8)
            y -= 14
        if y - 40 < margin:
            canvas.showPage()
            y = header("totals per SKU", total_cols)
        else:
            _draw(canvas, margin, y - 12, "Totals per SKU", 11, bold=True)
            for name, x in total_cols:
                _draw(canvas, margin + x, y - 30, name, 9, bold=True)
            canvas.line(margin, y - 34, width - margin, y - 34)
            y -= 48
        for sku, title, quantity in walk.totals:
            if y < margin:
                canvas.showPage()
                y = header("totals per SKU", total_cols)
            _draw(canvas, margin, y, _ellipsis(sku, 9, 96), 9)
            _draw(canvas, margin + 100, y, _ellipsis(title, 9, 266), 9)
            _draw(canvas, margin + 370, y, str(quantity), 9, bold=True)
            y -= 14
        canvas.showPage()


def write_batch(
    parcels: Iterable[Parcel], out: BinaryIO, *, slips: bool = False, page_size: PageSize = "A4"
) -> int:
    """Writes the parcels' labels (each followed by its packing slip with ``slips``) to out as one PDF,
    in the order given (sort by ``pick_key`` for pick order); returns the number of pages.

    Parcels are read one at a time and their pages written a chunk of parcels at a time, so a batch of
    any size holds one chunk in memory. On a PaperworkError, out holds an unfinished PDF to discard.
    """
    writer = _StreamingPdf(out)
    held: list[tuple[Parcel, int, int]] = []  # each parcel with its first own page and their count
    chunk = io.BytesIO()
    canvas: Canvas | None = None

    def flush() -> None:
        nonlocal chunk, canvas
        drawn = None
        if canvas is not None:
            canvas.save()
            drawn = _Source(chunk.getvalue())
        for parcel, first, count in held:
            if parcel.carrier_label is not None:
                writer.copy(_Source(parcel.carrier_label), fit=LABEL_SIZE)
            if drawn is not None and count:
                writer.copy(drawn, range(first, first + count))
        held.clear()
        chunk, canvas = io.BytesIO(), None

    for parcel in parcels:
        _check(parcel, own_label=parcel.carrier_label is None)
        first = count = 0
        if parcel.carrier_label is None or slips:
            canvas = canvas or _canvas(chunk)
            first = canvas.getPageNumber() - 1
            if parcel.carrier_label is None:
                _draw_label(canvas, parcel)
            if slips:
                _draw_slip(canvas, parcel, page_size)
            count = canvas.getPageNumber() - 1 - first
        held.append((parcel, first, count))
        if len(held) >= _CHUNK:
            flush()
    flush()
    return writer.close()


def batch(parcels: Iterable[Parcel], *, slips: bool = False, page_size: PageSize = "A4") -> bytes:
    """The labels of parcels in pick order as one PDF (``write_batch`` streams a large one)."""
    out = io.BytesIO()
    write_batch(sorted(parcels, key=pick_key), out, slips=slips, page_size=page_size)
    return out.getvalue()


# --- merging -----------------------------------------------------------------------------------------


def _reader(pdf: bytes) -> PdfReader:
    try:
        reader = PdfReader(io.BytesIO(pdf))
        # A PDF locked by an owner password only (against editing) opens with the empty user password.
        locked = reader.is_encrypted and not reader.decrypt("")
        pages = 0 if locked else len(reader.pages)
    except (PyPdfError, ValueError, KeyError) as exc:
        raise PaperworkError(f"the carrier's label is not a readable PDF: {exc}") from None
    if locked:
        raise PaperworkError("the carrier's label PDF needs a password to open")
    if not pages:
        raise PaperworkError("the carrier's label PDF has no page")
    return reader


def _shown_size(page: PageObject) -> tuple[float, float]:
    size = (float(page.cropbox.width), float(page.cropbox.height))
    return (size[1], size[0]) if page.rotation % 180 else size


def _is_label_size(size: tuple[float, float]) -> bool:
    return all(abs(got - want) <= 1 for got, want in zip(size, LABEL_SIZE, strict=True))


def _raw_stream(stream: StreamObject) -> bytes:
    # An encoded stream's bytes as stored: decoding them would lose filters such as a label's JPEG
    # (DCTDecode), which pypdf passes through but cannot write back encoded.
    if isinstance(stream, EncodedStreamObject):
        return stream._data
    return stream.get_data()


class _Source:
    """A PDF whose pages are being copied, with the numbers its objects were given in the output (an
    object that several of its pages use, such as a font, is written once)."""

    def __init__(self, pdf: bytes) -> None:
        self.reader = _reader(pdf)
        self.numbers: dict[int, int] = {}


class _StreamingPdf:
    """One PDF written to out as pages are added: each source's pages and the objects they use are
    written at once, so what stays in memory is the object offsets and the list of pages.

    Object 1 is the catalog and 2 the page tree, both written at the close."""

    def __init__(self, out: BinaryIO) -> None:
        self._out = out
        self._pos = 0
        self._offsets: dict[int, int] = {}
        self._next = 3
        self._pages: list[int] = []
        self._write(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")

    def _write(self, data: bytes) -> None:
        self._out.write(data)
        self._pos += len(data)

    def _number(self) -> int:
        self._next += 1
        return self._next - 1

    def copy(
        self, source: _Source, pages: Iterable[int] | None = None, fit: tuple[float, float] | None = None
    ) -> None:
        """Appends source's pages (all, or those numbered); with fit, a page of another size is scaled
        (and turned, when its orientation differs) onto a page of that size."""
        numbers = source.numbers
        pending: list[tuple[int, IndirectObject]] = []

        def ref(indirect: IndirectObject) -> int:
            if indirect.idnum not in numbers:
                numbers[indirect.idnum] = self._number()
                pending.append((numbers[indirect.idnum], indirect))
            return numbers[indirect.idnum]

        all_pages = source.reader.pages
        try:
            for index in range(len(all_pages)) if pages is None else pages:
                page = all_pages[index]
                number = self._number()
                if fit is None or _is_label_size(_shown_size(page)):
                    if page.indirect_reference is not None:
                        numbers[page.indirect_reference.idnum] = number
                    entries = {key: value for key, value in page.items() if key != "/Parent"}
                    self._object(number, entries, ref, parent=True)
                else:
                    self._placed(number, page, fit, ref)
                self._pages.append(number)
                while pending:
                    number, indirect = pending.pop()
                    self._object(number, indirect.get_object(), ref)
        except (PyPdfError, KeyError, AttributeError) as exc:
            # A label readable up to its page list can still hold a broken object.
            raise PaperworkError(f"the carrier's label PDF is damaged: {exc}") from None

    def _placed(
        self,
        number: int,
        page: PageObject,
        fit: tuple[float, float],
        ref: Callable[[IndirectObject], int],
    ) -> None:
        """The page as a form XObject on a new page of the fit size, turned to its orientation and
        scaled to fill it, centred."""
        box = page.cropbox
        left, bottom, w, h = float(box.left), float(box.bottom), float(box.width), float(box.height)
        turn = page.rotation % 360
        shown = (h, w) if turn % 180 else (w, h)
        if (shown[0] > shown[1]) != (fit[0] > fit[1]):
            # A page turned on display drops its turn (its content has the fit's orientation); an
            # upright page is turned a quarter clockwise, as label printers do.
            turn = 0 if turn % 180 else turn + 90
            shown = shown[::-1]
        # Clockwise turns of the crop box, moved back to the origin: (a, b, c, d, e, f).
        matrix = {
            0: (1, 0, 0, 1, -left, -bottom),
            90: (0, -1, 1, 0, -bottom, left + w),
            180: (-1, 0, 0, -1, left + w, bottom + h),
            270: (0, 1, -1, 0, bottom + h, -left),
        }[turn]
        scale = min(fit[0] / shown[0], fit[1] / shown[1])
        dx, dy = (fit[0] - shown[0] * scale) / 2, (fit[1] - shown[1] * scale) / 2
        a, b, c, d, e, f = (value * scale for value in matrix)
        contents = page.get_contents()
        form = self._number()
        self._stream(
            form,
            {
                "/Type": NameObject("/XObject"),
                "/Subtype": NameObject("/Form"),
                "/BBox": box,
                "/Resources": page.get("/Resources", DictionaryObject()),
            },
            zlib.compress(contents.get_data() if contents is not None else b""),
            ref,
        )
        placement = f"q {a:.6f} {b:.6f} {c:.6f} {d:.6f} {e + dx:.4f} {f + dy:.4f} cm /Label Do Q".encode()
        content = self._number()
        self._stream(content, {}, zlib.compress(placement), ref)
        body = (
            f"<</Type /Page /Parent 2 0 R /MediaBox [0 0 {fit[0]:g} {fit[1]:g}] "
            f"/Resources <</XObject <</Label {form} 0 R>>>> /Contents {content} 0 R>>"
        )
        self._begin(number)
        self._write(body.encode() + b"\nendobj\n")

    def _begin(self, number: int) -> None:
        self._offsets[number] = self._pos
        self._write(f"{number} 0 obj\n".encode())

    def _stream(
        self,
        number: int,
        entries: dict[str, PdfObject],
        data: bytes,
        ref: Callable[[IndirectObject], int],
    ) -> None:
        buffer = io.BytesIO()
        self._dict({**entries, "/Filter": NameObject("/FlateDecode")}, buffer, ref, length=len(data))
        self._begin(number)
        self._write(buffer.getvalue() + b"\nstream\n" + data + b"\nendstream\nendobj\n")

    def _object(
        self,
        number: int,
        obj: PdfObject | dict[str, PdfObject] | None,
        ref: Callable[[IndirectObject], int],
        parent: bool = False,
    ) -> None:
        buffer = io.BytesIO()
        if isinstance(obj, StreamObject):
            data = _raw_stream(obj)
            self._dict(obj, buffer, ref, length=len(data))
            buffer.write(b"\nstream\n" + data + b"\nendstream")
        elif isinstance(obj, dict):
            self._dict(obj, buffer, ref, parent=parent)
        else:
            self._value(obj, buffer, ref)
        self._begin(number)
        self._write(buffer.getvalue() + b"\nendobj\n")

    def _dict(
        self,
        entries: dict[str, PdfObject] | DictionaryObject,
        buffer: io.BytesIO,
        ref: Callable[[IndirectObject], int],
        *,
        length: int | None = None,
        parent: bool = False,
    ) -> None:
        buffer.write(b"<<")
        for key, value in entries.items():
            if key == "/Length" and length is not None:
                continue
            NameObject(key).write_to_stream(buffer)
            buffer.write(b" ")
            self._value(value, buffer, ref)
            buffer.write(b"\n")
        if length is not None:
            buffer.write(f"/Length {length}\n".encode())
        if parent:
            buffer.write(b"/Parent 2 0 R\n")
        buffer.write(b">>")

    def _value(self, value: object, buffer: io.BytesIO, ref: Callable[[IndirectObject], int]) -> None:
        if isinstance(value, IndirectObject):
            buffer.write(f"{ref(value)} 0 R".encode())
        elif isinstance(value, StreamObject):
            # A stream is always indirect; pypdf keeps some (merged contents) direct in memory.
            raise PaperworkError("a direct stream object cannot be copied")
        elif isinstance(value, DictionaryObject):
            self._dict(value, buffer, ref)
        elif isinstance(value, ArrayObject):
            buffer.write(b"[")
            for item in value:
                self._value(item, buffer, ref)
                buffer.write(b" ")
            buffer.write(b"]")
        elif value is None:
            buffer.write(b"null")
        else:
            assert isinstance(value, PdfObject)
            value.write_to_stream(buffer)

    def close(self) -> int:
        """Writes the page tree, the catalog and the cross-reference table; returns the page count."""
        kids = " ".join(f"{number} 0 R" for number in self._pages)
        self._begin(2)
        self._write(f"<</Type /Pages /Kids [{kids}] /Count {len(self._pages)}>>\nendobj\n".encode())
        self._begin(1)
        self._write(b"<</Type /Catalog /Pages 2 0 R>>\nendobj\n")
        xref = self._pos
        table = [f"xref\n0 {self._next}\n0000000000 65535 f \n"]
        table += [f"{self._offsets[number]:010d} 00000 n \n" for number in range(1, self._next)]
        table.append(f"trailer\n<</Size {self._next} /Root 1 0 R>>\nstartxref\n{xref}\n%%EOF\n")
        self._write("".join(table).encode())
        return len(self._pages)
