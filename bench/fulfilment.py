"""Fulfilment: the label batch a warehouse prints before its pick.

    python bench/fulfilment.py [--labels 1000] [--out batch.pdf]

``label_batch_1000_s``: seconds (wall clock; CPU seconds beside it) from the parcels' data to a
finished merged PDF of 1,000 labels written to a file in pick order, fonts loaded in the timing as a
fresh process would: 40% of the recipients in Chinese, Japanese or Korean, 20% of the labels the
carrier's own PDF (half already 4x6 in, copied as they are; half A4, placed on a 4x6 page), the rest
drawn here with a Code 128 of the tracking number. Not timed: making the carriers' PDFs, and reading
the result back to check its page count. ``peak_rss_mb``: the process's peak resident memory (it
makes nothing else). The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import io
import json
import random
import resource
import tempfile
import time
from pathlib import Path

from pypdf import PdfReader
from reportlab.lib.units import inch
from reportlab.pdfgen.canvas import Canvas

from orderly.fulfilment.paperwork import Address, Line, Parcel, pick_key, write_batch

SENDER = Address(
    "Acme Trading Ltd", "Unit 4, 1 Dock Road", city="Felixstowe", postal_code="IP11 3TW", country="GB"
)
RECIPIENTS = [
    Address(
        "王小明", "朝阳区建国路88号", "SOHO现代城A座1201室", city="北京市", postal_code="100022", country="CN"
    ),
    Address("李华", "浦东新区世纪大道100号", city="上海市", postal_code="200120", country="CN"),
    Address(
        "山田 花子", "渋谷区神南1-2-3 カーサ渋谷101", city="東京都", postal_code="150-0041", country="JP"
    ),
    Address("김민준", "강남구 테헤란로 152", city="서울특별시", postal_code="06236", country="KR"),
    Address("Jane Smith", "221B Baker Street", city="London", postal_code="NW1 6XE", country="GB"),
    Address(
        "Łukasz Wróblewski", "ul. Żółkiewskiego 5 m. 12", city="Łódź", postal_code="90-001", country="PL"
    ),
    Address("Nguyễn Văn An", "12 Lý Thường Kiệt", city="Hà Nội", postal_code="100000", country="VN"),
    Address("Maria García", "Calle Mayor 10, 3º B", city="Madrid", postal_code="28013", country="ES"),
    Address(
        "John Doe",
        "500 Market St Apt 12",
        city="San Francisco",
        region="CA",
        postal_code="94105",
        country="US",
    ),
    Address("Иван Петров", "ул. Тверская, д. 7", city="Москва", postal_code="125009", country="RU"),
]
CJK_SHARE, CARRIER_SHARE = 0.4, 0.2


def carrier_pdf(size: tuple[float, float], tracking: str) -> bytes:
    out = io.BytesIO()
    canvas = Canvas(out, pagesize=size)
    canvas.setFont("Helvetica-Bold", 18)
    canvas.drawString(20, size[1] - 40, "CARRIER LABEL")
    canvas.setFont("Helvetica", 12)
    canvas.drawString(20, size[1] - 60, tracking)
    for n in range(60):  # a barcode's worth of bars
        canvas.rect(20 + n * 4, size[1] - 160, 1 + n % 3, 80, stroke=0, fill=1)
    canvas.showPage()
    canvas.save()
    return out.getvalue()


def parcels(count: int, seed: int) -> list[Parcel]:
    rng = random.Random(seed)
    made = []
    for n in range(count):
        cjk = rng.random() < CJK_SHARE
        recipient = rng.choice(RECIPIENTS[:4] if cjk else RECIPIENTS[4:])
        tracking = f"JD{rng.randrange(10**15):015d}"
        label = None
        if rng.random() < CARRIER_SHARE:
            label = carrier_pdf((4 * inch, 6 * inch) if n % 2 else (595.0, 842.0), tracking)
        lines = tuple(
            Line(
                f"SKU-{rng.randrange(400)}",
                "Ceramic mug, blue",
                rng.randint(1, 3),
                f"{rng.choice('ABCD')}-{rng.randint(1, 40)}",
            )
            for _ in range(rng.randint(1, 4))
        )
        made.append(
            Parcel(
                reference=f"SHP-{n:06d}",
                shop="Acme Shop",
                order_number=str(100000 + n),
                warehouse=rng.choice(["HOME", "EU-1"]),
                sender=SENDER,
                recipient=recipient,
                carrier="DHL Express",
                service="Express Worldwide",
                tracking_number=tracking,
                lines=lines,
                carrier_label=label,
            )
        )
    return made


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--labels", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--out", type=Path, help="keep the batch here (default: a temporary file)")
    args = parser.parse_args()

    batch = parcels(args.labels, args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        path = args.out or Path(tmp) / "batch.pdf"
        wall, cpu = time.perf_counter(), time.process_time()
        with path.open("wb") as out:
            pages = write_batch(sorted(batch, key=pick_key), out)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        size_mb = path.stat().st_size / 1e6
        assert pages == len(PdfReader(path).pages) == args.labels, "a label is missing from the batch"
    # ru_maxrss is in KiB on Linux.
    peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    cjk = sum(p.recipient in RECIPIENTS[:4] for p in batch)
    carriers = sum(p.carrier_label is not None for p in batch)
    print(
        f"{args.labels:,} labels ({cjk} to CJK addresses, {carriers} carriers' own) in one PDF of "
        f"{pages} pages, {size_mb:.1f} MB: {wall:.2f} s wall, {cpu:.2f} s CPU; peak RSS {peak_rss_mb:.0f} MB"
    )
    print(
        json.dumps(
            {
                f"label_batch_{args.labels}_s": round(wall, 2),
                f"label_batch_{args.labels}_cpu_s": round(cpu, 2),
                "peak_rss_mb": round(peak_rss_mb, 1),
            }
        )
    )


if __name__ == "__main__":
    main()
