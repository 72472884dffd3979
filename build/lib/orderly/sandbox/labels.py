"""The label files carrier sandboxes hand out: a small PDF of the given page size naming the carrier,
service and tracking number, so the hub's stored label and its batch merging are exercised on a real
carrier-shaped file."""

from __future__ import annotations

import io

from reportlab.lib.units import inch
from reportlab.pdfgen.canvas import Canvas


def label_pdf(
    carrier: str, service: str, tracking: str, size: tuple[float, float] = (4 * inch, 6 * inch)
) -> bytes:
    out = io.BytesIO()
    canvas = Canvas(out, pagesize=size)
    canvas.setFont("Helvetica-Bold", 16)
    canvas.drawString(0.3 * inch, size[1] - 0.6 * inch, f"{carrier} {service}")
    canvas.setFont("Helvetica", 11)
    canvas.drawString(0.3 * inch, size[1] - 1.0 * inch, f"TRACKING {tracking}")
    canvas.drawString(0.3 * inch, size[1] - 1.3 * inch, "SANDBOX LABEL - NOT FOR SHIPPING")
    canvas.showPage()
    canvas.save()
    return out.getvalue()
