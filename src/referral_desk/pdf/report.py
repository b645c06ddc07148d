"""A plain one-page report (title, subtitle, lines of text, footnote), e.g. demo records."""

from __future__ import annotations

import io
from collections.abc import Sequence


def render_report(title: str, subtitle: str, lines: Sequence[str], footnote: str = "") -> bytes:
    """The same bytes for the same text: no creation date or random id in the file."""
    from reportlab.lib.pagesizes import A4  # imported on first use: start-up does not need it
    from reportlab.pdfgen import canvas

    out = io.BytesIO()
    page = canvas.Canvas(out, pagesize=A4, invariant=1)
    page.setTitle(title)
    page.setAuthor("Referral Desk demo")
    width, height = A4
    page.setFont("Helvetica-Bold", 16)
    page.drawString(56, height - 72, title)
    page.setFont("Helvetica", 11)
    page.drawString(56, height - 92, subtitle)
    page.line(56, height - 102, width - 56, height - 102)
    y = height - 130
    for line in lines:
        page.drawString(56, y, line)
        y -= 18
    page.setFont("Helvetica-Oblique", 8)
    page.drawString(56, 48, footnote)
    page.showPage()
    page.save()
    return out.getvalue()
