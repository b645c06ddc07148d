"""Letters laid out with ReportLab Platypus: one letter, or a batch in one printable PDF.

A4 with margins of at least 20 mm on every side, so a US-letter printer loses nothing. The
recipient's address sits where a window envelope shows it (about 50 mm from the top, 25 mm from
the left: DIN 5008 and US #10 windows both cover that spot).

"Page x of y" needs the letter's page count before its first page is finished: the canvas holds
back the letter's pages and draws their footers when it saves.

A batch renders each letter on its own, exactly as `render_letter` does, and copies its objects
into the combined file at once (`_Combined`): memory holds one letter however long the batch, the
printed letters are byte for byte the archived ones, and (with `on_letter`) the services render
each letter once.
The price is size: every letter brings its own font subsets (about 35 KB a letter).

Output is deterministic: invariant mode (no random file id), the creation and modification dates
are the letter's `created_at`, so the same document gives the same bytes, in any process.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import io
import logging
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from types import SimpleNamespace
from typing import Any, BinaryIO

from referral_desk.pdf import fonts, paging, text
from referral_desk.pdf.document import LetterDocument, Section, Table

log = logging.getLogger(__name__)

_MM = 72 / 25.4
PAGE_WIDTH, PAGE_HEIGHT = 210 * _MM, 297 * _MM  # A4
LEFT, RIGHT, TOP, BOTTOM = 25 * _MM, 20 * _MM, 20 * _MM, 30 * _MM
FRAME_WIDTH = PAGE_WIDTH - LEFT - RIGHT
ADDRESS_TOP = 50 * _MM  # from the page's top edge: inside the window of common envelopes
FOOTER_BASELINE = 20 * _MM
LOGO_MAX = (60 * _MM, 25 * _MM)  # width, height
SIGNATURE_HEIGHT = 15 * _MM
SIGNATURE_MAX_WIDTH = 70 * _MM

_GREY_RULE = "#9a9a9a"
_SHADE = "#f1f1f1"
# A figure: digits and separators, perhaps with a currency code or sign ("EUR 1,200.00", "3 ×").
_FIGURE = re.compile(
    r"^\s*(?:[^\W\d_]{1,3}\.?|[^\w\s])?\s*[-−+]?\d[\d\s.,'’\u00a0\u202f×x%]*"
    r"(?:\s*(?:[^\W\d_]{1,3}\.?|[^\w\s]))?\s*$"
)


@dataclass(frozen=True)
class BatchInfo:
    letters: int  # letters in the file (on cancel: those before it)
    pages: int
    cancelled: bool


def render_letter(doc: LetterDocument) -> bytes:
    """The letter as PDF bytes; the same document always gives the same bytes."""
    return _render(doc)[0]


def render_batch(
    docs: Iterable[LetterDocument],
    out: BinaryIO,
    *,
    progress: Callable[[int], None] | None = None,
    cancelled: Callable[[], bool] | None = None,
    title: str = "",
    on_letter: Callable[[LetterDocument, bytes, int], None] | None = None,
) -> BatchInfo:
    """Write the letters into one PDF for printing, each from a new page with its own numbering.

    Each letter is rendered on its own, exactly as `render_letter` renders it, and its pages are
    appended to `out` at once: memory holds one letter, whatever the batch's size, and the
    printed letters are the archived ones. `on_letter(doc, pdf, pages)` receives each letter's
    own PDF (to archive it without rendering it twice); `progress(n)` follows the n-th letter;
    `cancelled()` is asked before each letter. On cancel `out` holds an unfinished file: discard
    it. No letters: nothing is written. The file's language and date are the first letter's.
    """
    combined: _Combined | None = None
    letters = pages = 0
    for doc in docs:
        if cancelled is not None and cancelled():
            return BatchInfo(letters, pages, True)
        pdf, count = _render(doc)
        if on_letter is not None:
            on_letter(doc, pdf, count)
        if combined is None:
            combined = _Combined(out, doc.language, doc.created_at, title)
        combined.append(pdf)
        letters, pages = letters + 1, pages + count
        if progress is not None:
            progress(letters)
    if combined is not None:
        combined.finish()
    return BatchInfo(letters, pages, False)


def page_count(pdf: bytes) -> int:
    from pypdf import PdfReader

    return len(PdfReader(io.BytesIO(pdf)).pages)


def _render(doc: LetterDocument) -> tuple[bytes, int]:
    rl = _reportlab()
    fontset = fonts.register()
    out = io.BytesIO()
    template = rl.BaseDocTemplate(
        out,
        pagesize=(PAGE_WIDTH, PAGE_HEIGHT),
        leftMargin=LEFT,
        rightMargin=RIGHT,
        topMargin=TOP,
        bottomMargin=BOTTOM,
        title=doc.title,
        author=doc.author,
        subject=doc.subject,
        keywords=", ".join(doc.keywords),
        creator=_CREATOR,
        lang=doc.language or None,
        invariant=1,
        displayDocTitle=bool(doc.title) or None,
        initialFontName=fontset.regular,
    )
    frame = rl.Frame(
        LEFT,
        BOTTOM,
        FRAME_WIDTH,
        PAGE_HEIGHT - TOP - BOTTOM,
        id="text",
        leftPadding=0,
        rightPadding=0,
        topPadding=0,
        bottomPadding=0,
    )
    template.addPageTemplates([rl.PageTemplate(id="letter", frames=[frame])])
    st = _styles(doc.large_print, fontset.regular, fontset.bold)
    canvasmaker = functools.partial(
        rl.LetterCanvas,
        footer=(text.markup(doc.footer_text), doc.page_label, st),
        pdf_date=_pdf_date(doc.created_at),
    )
    template.build(_flowables(rl, doc, fontset, st), canvasmaker=canvasmaker)
    return out.getvalue(), template.canv.pages_drawn


_CREATOR = "Referral Desk"


def _pdf_date(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    stamp = moment.strftime("D:%Y%m%d%H%M%S")
    offset = moment.utcoffset()
    if offset is None:
        return stamp
    minutes = int(offset.total_seconds()) // 60
    sign = "+" if minutes >= 0 else "-"
    hours, minutes = divmod(abs(minutes), 60)
    return f"{stamp}{sign}{hours:02d}'{minutes:02d}'"


# --- one file of many letters ----------------------------------------------------------------

_STARTXREF = re.compile(rb"startxref\s+(\d+)\s+%%EOF\s*$")
_XREF_ENTRY = re.compile(rb"(\d{10}) (\d{5}) ([nf])")
_OBJECT = re.compile(rb"(\d+) 0 obj\s*")
_REFERENCE = re.compile(rb"(\d+) 0 R\b")
_STREAM = re.compile(rb">>\s*stream\r?\n")
_SUBSET_TAG = re.compile(rb"/([A-Z]{6})\+")
_VERSION = re.compile(rb"^%PDF-(\d\.\d)")


class _Combined:
    """Appends letters' PDFs (as `_render` writes them) to one PDF, written as it goes.

    A letter's objects are copied under new numbers: everything its pages use, but not its
    catalog, page tree or document info, which the combined file has once. Each letter's font
    subsets get a tag of their own (ReportLab starts every file at "AAAAAA+"), because a
    printer may take two fonts of the same name for one. Memory: the objects' offsets.
    """

    CATALOG, PAGES, INFO = 1, 2, 3

    def __init__(
        self, out: BinaryIO, language: str, created_at: datetime | None, title: str
    ) -> None:
        self.out, self.language, self.title = out, language, title
        self.date = _pdf_date(created_at)
        self.position = 0
        self.offsets: dict[int, int] = {}
        self.kids: list[int] = []
        self.letters = 0
        self.next = self.INFO + 1
        self.version = "1.4"
        self.digest = hashlib.md5(usedforsecurity=False)
        self._write(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")

    def _write(self, data: bytes) -> None:
        self.out.write(data)
        self.position += len(data)

    def _object(self, number: int, body: bytes) -> None:
        self.offsets[number] = self.position
        self._write(b"%d 0 obj\n%s" % (number, body))

    def append(self, pdf: bytes) -> None:
        self.digest.update(pdf)
        version = _VERSION.match(pdf)
        if version is not None:
            self.version = max(self.version, version.group(1).decode())
        found = _STARTXREF.search(pdf)
        if found is None:
            raise ValueError("Not a PDF written by the letter renderer (no startxref).")
        xref = int(found.group(1))
        trailer = pdf.index(b"trailer", xref)
        starts = sorted(
            int(offset)
            for offset, _, kind in _XREF_ENTRY.findall(pdf, xref, trailer)
            if kind == b"n"
        )
        heads: dict[int, bytes] = {}  # number -> the object's text up to its stream data
        tails: dict[int, bytes] = {}  # number -> the rest (stream data, "endobj")
        for start, end in zip(starts, [*starts[1:], xref], strict=True):
            header = _OBJECT.match(pdf, start)
            if header is None:
                raise ValueError("Not a PDF written by the letter renderer (object header).")
            number, body = int(header.group(1)), pdf[header.end() : end]
            stream = _STREAM.search(body)
            cut = stream.end() if stream is not None else len(body)
            heads[number], tails[number] = body[:cut], body[cut:]
        root = int(_reference_after(b"/Root", pdf[trailer:]))
        tree = int(_reference_after(b"/Pages", heads[root]))
        kids = [int(number) for number in _REFERENCE.findall(_array_after(b"/Kids", heads[tree]))]

        # Everything the pages use, found by following references (not their /Parent).
        used: set[int] = set()
        waiting = list(kids)
        while waiting:
            number = waiting.pop()
            if number in used or number == tree:
                continue
            used.add(number)
            waiting += [int(ref) for ref in _REFERENCE.findall(heads[number])]
        numbers = {old: self.next + index for index, old in enumerate(sorted(used))}
        self.next += len(used)
        numbers[tree] = self.PAGES
        tag = _subset_tag(self.letters)

        def renumber(found: re.Match[bytes]) -> bytes:
            return b"%d 0 R" % numbers[int(found.group(1))]

        def retag(found: re.Match[bytes]) -> bytes:
            return b"/" + tag + found.group(1)[4:] + b"+"

        for old in sorted(used):
            head = _SUBSET_TAG.sub(retag, _REFERENCE.sub(renumber, heads[old]))
            self._object(numbers[old], head + tails[old])
        self.kids += [numbers[old] for old in kids]
        self.letters += 1

    def finish(self) -> None:
        kids = b" ".join(b"%d 0 R" % number for number in self.kids)
        self._object(
            self.PAGES,
            b"<< /Type /Pages /Count %d /Kids [ %s ] >>\nendobj\n" % (len(self.kids), kids),
        )
        catalog = b"<< /Type /Catalog /Pages %d 0 R /Version /%s" % (
            self.PAGES,
            self.version.encode(),
        )
        if self.language:
            catalog += b" /Lang " + _pdf_string(self.language)
        if self.title:
            catalog += b" /ViewerPreferences << /DisplayDocTitle true >>"
        self._object(self.CATALOG, catalog + b" >>\nendobj\n")
        info = b"<< /Creator " + _pdf_string(_CREATOR)
        info += b" /Producer " + _pdf_string("Referral Desk with the ReportLab PDF Library")
        if self.title:
            info += b" /Title " + _pdf_string(self.title)
        if self.date:
            info += b" /CreationDate %s /ModDate %s" % ((_pdf_string(self.date),) * 2)
        self._object(self.INFO, info + b" >>\nendobj\n")

        size = self.next
        xref = self.position
        lines = [b"xref\n0 %d\n0000000000 65535 f \n" % size]
        lines += [b"%010d 00000 n \n" % self.offsets[number] for number in range(1, size)]
        file_id = self.digest.hexdigest().encode()
        lines.append(
            b"trailer\n<< /Size %d /Root %d 0 R /Info %d 0 R /ID [<%s><%s>] >>\n"
            % (size, self.CATALOG, self.INFO, file_id, file_id)
        )
        lines.append(b"startxref\n%d\n%%%%EOF\n" % xref)
        self._write(b"".join(lines))


def _reference_after(key: bytes, text: bytes) -> bytes:
    found = re.search(re.escape(key) + rb"\s+(\d+) 0 R", text)
    if found is None:
        raise ValueError(f"Not a PDF written by the letter renderer (no {key.decode()}).")
    return found.group(1)


def _array_after(key: bytes, text: bytes) -> bytes:
    found = re.search(re.escape(key) + rb"\s*\[([^\]]*)\]", text)
    if found is None:
        raise ValueError(f"Not a PDF written by the letter renderer (no {key.decode()}).")
    return found.group(1)


def _subset_tag(index: int) -> bytes:
    """Four capital letters counting the letters in the batch ("AAAB" for the second)."""
    letters = []
    for _ in range(4):
        index, digit = divmod(index, 26)
        letters.append(65 + digit)
    return bytes(reversed(letters))


def _pdf_string(value: str) -> bytes:
    if value.isascii():
        escaped = value.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
        return b"(" + escaped.encode("ascii") + b")"
    return b"<FEFF" + value.encode("utf-16-be").hex().upper().encode() + b">"


# --- the letter's flowables ------------------------------------------------------------------


def _flowables(
    rl: SimpleNamespace, doc: LetterDocument, fontset: fonts.FontSet, st: SimpleNamespace
) -> list[Any]:
    para = rl.Paragraph
    story: list[Any] = []

    head = _letterhead(rl, doc, st)
    story.append(head)
    _, head_height = head.wrap(FRAME_WIDTH, PAGE_HEIGHT)
    story.append(rl.Spacer(1, max(4 * _MM, ADDRESS_TOP - TOP - head_height)))

    recipient = para(_lines(doc.recipient_lines), st.address)
    date = para(text.markup(doc.date_text), st.date)
    address = rl.Table(
        [[recipient, date]], colWidths=[95 * _MM, FRAME_WIDTH - 95 * _MM], hAlign="LEFT"
    )
    address.setStyle(rl.TableStyle([*_NO_PADDING, ("VALIGN", (0, 0), (-1, -1), "TOP")]))
    story += [address, rl.Spacer(1, st.gap_after_address)]
    if doc.reference_line:
        story.append(para(text.markup(doc.reference_line), st.reference))
    if doc.salutation:
        story.append(para(text.markup(doc.salutation), st.salutation))

    for section in doc.sections:
        story += _section(rl, section, st, fontset)
    if doc.table is not None:
        story.append(_table(rl, doc.table, st, fontset))

    closing: list[Any] = []
    if doc.closing:
        closing.append(para(text.markup(doc.closing), st.closing))
    signature = _image(rl, doc.letterhead.signature, SIGNATURE_MAX_WIDTH, SIGNATURE_HEIGHT)
    if signature is not None:
        signature.hAlign = "LEFT"
        closing += [rl.Spacer(1, 2), signature, rl.Spacer(1, 2)]
    else:
        closing.append(rl.Spacer(1, 12 * _MM))  # room to sign by hand
    for index, line in enumerate(doc.signatory_lines):
        closing.append(para(text.markup(line), st.signatory if index == 0 else st.signatory_more))
    extra = [para(text.markup(doc.disclaimer), st.disclaimer)] if doc.disclaimer else []
    ending = _ending(rl, story, closing, extra, st)
    return [*story, *ending]


def _ending(
    rl: SimpleNamespace,
    story: list[Any],
    closing: list[Any],
    extra: list[Any],
    st: SimpleNamespace,
) -> list[Any]:
    """The closing kept together with the text's last paragraph (and its heading, if it is the
    section's only one) and the disclaimer, as far as they fit in half a page: a signature or
    the small print never stands alone on the last page. The last paragraph leaves `story`."""
    tail: list[Any] = []
    if story and getattr(story[-1], "style", None) in (st.body, st.bullet):
        tail.append(story.pop())
        if story and getattr(story[-1], "style", None) is st.heading:
            tail.insert(0, story.pop())  # (its page-break check stays before the group)
    half = (PAGE_HEIGHT - TOP - BOTTOM) / 2
    for before, group, after in (
        ([], [*tail, *closing, *extra], []),
        ([], [*tail, *closing], extra),
        (tail, [*closing, *extra], []),
    ):
        if sum(item.wrap(FRAME_WIDTH, PAGE_HEIGHT)[1] for item in group) <= half:
            return [*before, rl.KeepTogether(group), *after]
    return [*tail, rl.KeepTogether(closing), *extra]


_NO_PADDING: list[tuple[Any, ...]] = [
    ("LEFTPADDING", (0, 0), (-1, -1), 0),
    ("RIGHTPADDING", (0, 0), (-1, -1), 0),
    ("TOPPADDING", (0, 0), (-1, -1), 0),
    ("BOTTOMPADDING", (0, 0), (-1, -1), 0),
]


def _lines(lines: Iterable[str]) -> str:
    return "<br/>".join(text.markup(line) for line in lines)


def _letterhead(rl: SimpleNamespace, doc: LetterDocument, st: SimpleNamespace) -> Any:
    head = doc.letterhead
    words: list[Any] = [rl.Paragraph(text.markup(head.office_name), st.office)]
    if head.address_lines:
        words.append(rl.Paragraph(_lines(head.address_lines), st.office_lines))
    if head.contact_line:
        words.append(rl.Paragraph(text.markup(head.contact_line), st.office_lines))
    logo = _image(rl, head.logo, *LOGO_MAX)
    if logo is None:
        cells, widths = [[words]], [FRAME_WIDTH]
    else:
        cells = [[words, logo]]
        widths = [FRAME_WIDTH - logo.drawWidth - 6 * _MM, logo.drawWidth + 6 * _MM]
    table = rl.Table(cells, colWidths=widths, hAlign="LEFT")
    table.setStyle(
        rl.TableStyle(
            [
                *_NO_PADDING,
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("ALIGN", (-1, 0), (-1, 0), "RIGHT"),
                ("LINEBELOW", (0, 0), (-1, -1), 0.6, rl.color(_GREY_RULE)),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 3 * _MM),
            ]
        )
    )
    return table


def _section(
    rl: SimpleNamespace, section: Section, st: SimpleNamespace, fontset: fonts.FontSet
) -> list[Any]:
    flow: list[Any] = []
    if section.heading:
        heading = rl.Paragraph(text.markup(section.heading), st.heading)
        # No heading alone at the foot of a page: it needs room for three lines under it. (A
        # keepWithNext group would push a long paragraph or table whole onto the next page.)
        _, height = heading.wrap(FRAME_WIDTH, PAGE_HEIGHT)
        room = st.heading.spaceBefore + height + st.heading.spaceAfter + 3 * st.body.leading
        flow += [rl.CondPageBreak(room), heading]
    for paragraph in section.paragraphs:
        flow.append(rl.Paragraph(text.markup(paragraph), st.body))
    for bullet in section.bullets:
        flow.append(rl.Paragraph(text.markup(bullet), st.bullet, bulletText="•"))
    if section.table is not None:
        flow.append(_table(rl, section.table, st, fontset))
    return flow


def _table(rl: SimpleNamespace, table: Table, st: SimpleNamespace, fontset: fonts.FontSet) -> Any:
    columns = max(len(table.header), *(len(row) for row in table.rows), len(table.footer), 1)
    header = _padded(table.header, columns)
    rows = [_padded(row, columns) for row in table.rows]
    right = [
        column == columns - 1 or (column > 0 and _figures(row[column] for row in rows))
        for column in range(columns)
    ]

    def cell(value: str, bold: bool, column: int) -> Any:
        style = (
            (st.cell_bold_right if right[column] else st.cell_bold)
            if bold
            else (st.cell_right if right[column] else st.cell)
        )
        return rl.Paragraph(text.markup(value), style)

    heads = 1 if any(value.strip() for value in header) else 0
    data = [[cell(value, True, i) for i, value in enumerate(header)]] if heads else []
    data += [[cell(value, False, i) for i, value in enumerate(row)] for row in rows]
    commands: list[tuple[Any, ...]] = [
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LEFTPADDING", (0, 0), (-1, -1), 4),
        ("RIGHTPADDING", (0, 0), (-1, -1), 4),
        ("TOPPADDING", (0, 0), (-1, -1), 3),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 4),
    ]
    if heads:
        commands += [
            ("BACKGROUND", (0, 0), (-1, 0), rl.color(_SHADE)),
            ("LINEBELOW", (0, 0), (-1, 0), 0.7, rl.color("#606060")),
            ("NOSPLIT", (0, 0), (-1, 1)),  # the header never ends a page alone
        ]
    if len(data) > heads + 1:
        commands.append(("LINEBELOW", (0, heads), (-1, -2), 0.25, rl.color("#c8c8c8")))
    if table.footer:
        footer = list(table.footer)
        start = columns - len(footer)  # the first footer cell spans the columns it leaves free
        cells = [""] * columns
        cells[0] = footer[0]
        for offset, value in enumerate(footer[1:], start=start + 1):
            cells[offset] = value
        data.append([cell(value, True, i) for i, value in enumerate(cells)])
        if start > 0:
            commands.append(("SPAN", (0, -1), (start, -1)))
        commands.append(("LINEABOVE", (0, -1), (-1, -1), 0.9, rl.color("#303030")))
        if len(data) > heads + 1:
            commands.append(("NOSPLIT", (0, -2), (-1, -1)))  # nor the total start one

    footer_cells = [""] * columns
    if table.footer:
        footer_cells[columns - len(table.footer) + 1 :] = table.footer[1:]
    widths = _column_widths(rl, [header, *rows, footer_cells], st, fontset)
    if not data:
        return rl.Spacer(1, 0)
    flowable = rl.Table(data, colWidths=widths, repeatRows=heads, hAlign="LEFT")
    flowable.setStyle(rl.TableStyle(commands))
    flowable.spaceBefore = st.body.spaceAfter / 2
    flowable.spaceAfter = st.body.spaceAfter * 1.5
    return flowable


def _figures(values: Iterable[str]) -> bool:
    filled = [value for value in values if value.strip()]
    return bool(filled) and all(_FIGURE.match(value) for value in filled)


def _padded(values: tuple[str, ...], columns: int) -> list[str]:
    return [*values, *([""] * (columns - len(values)))]


def _column_widths(
    rl: SimpleNamespace, rows: list[list[str]], st: SimpleNamespace, fontset: fonts.FontSet
) -> list[float]:
    """The first column takes what the others leave; the others are as wide as their text."""
    columns = len(rows[0])
    if columns == 1:
        return [FRAME_WIDTH]
    size = st.cell.fontSize
    padding = 8 + size * 0.6
    others = [
        min(
            max(rl.string_width(row[column], fontset.bold, size) for row in rows) + padding,
            FRAME_WIDTH * 0.3,
        )
        for column in range(1, columns)
    ]
    if sum(others) > FRAME_WIDTH * 0.65:  # many wide columns: shrink them alike
        scale = FRAME_WIDTH * 0.65 / sum(others)
        others = [width * scale for width in others]
    return [FRAME_WIDTH - sum(others), *others]


def _image(rl: SimpleNamespace, data: bytes | None, max_width: float, max_height: float) -> Any:
    """The picture scaled to fit the box with its aspect kept; None when absent or unreadable."""
    if not data:
        return None
    prepared = _prepared(data, max_width, max_height)
    if prepared is None:
        return None
    scale = min(max_width / prepared.width, max_height / prepared.height)
    return rl.Picture(prepared, prepared.width * scale, prepared.height * scale)


_DPI = 300  # print resolution: a bigger picture only makes every letter slower and larger


@functools.lru_cache(maxsize=8)
def _prepared(data: bytes, max_width: float, max_height: float) -> SimpleNamespace | None:
    """The picture encoded for PDF once (at no more than print resolution for its box), so
    that each letter only copies it: no decoding, compressing or hashing per letter."""
    from PIL import Image as PILImage  # ReportLab's own dependency for pictures
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfbase.pdfdoc import PDFImageXObject

    try:
        picture = ImageReader(io.BytesIO(data))
        width, height = picture.getSize()
        if width <= 0 or height <= 0:
            raise ValueError("empty image")
        scale = min(max_width * _DPI / 72 / width, max_height * _DPI / 72 / height)
        if scale < 0.8:
            with PILImage.open(io.BytesIO(data)) as image:
                jpeg = image.format == "JPEG"
                size = (max(1, round(width * scale)), max(1, round(height * scale)))
                smaller = image.resize(size, PILImage.Resampling.LANCZOS)
            out = io.BytesIO()
            smaller.save(out, "JPEG", quality=92) if jpeg else smaller.save(out, "PNG")
            data = out.getvalue()
            picture = ImageReader(io.BytesIO(data))
            width, height = picture.getSize()
        name = hashlib.sha1(data, usedforsecurity=False).hexdigest()
        image = PDFImageXObject(name, picture, mask="auto")
        mask = image.__dict__.pop("_smask", None)  # the transparency, a picture of its own
    except Exception:  # a broken logo must not stop the letters: print them without it
        log.warning("An office image could not be read; letters are printed without it.")
        return None
    return SimpleNamespace(name=name, image=image, mask=mask, width=width, height=height)


# --- styles ----------------------------------------------------------------------------------


@functools.lru_cache(maxsize=8)
def _styles(large: bool, regular: str, bold: str) -> SimpleNamespace:
    from reportlab.lib.colors import HexColor
    from reportlab.lib.enums import TA_LEFT, TA_RIGHT
    from reportlab.lib.styles import ParagraphStyle

    body_size = 16.0 if large else 11.0
    leading = body_size * (1.32 if large else 1.36)
    small = 14.0 if large else 9.0  # the disclaimer
    body = ParagraphStyle(
        "body",
        fontName=regular,
        fontSize=body_size,
        leading=leading,
        spaceAfter=body_size * 0.62,
        allowWidows=0,
        allowOrphans=0,
        alignment=TA_LEFT,
        shaping=int(fonts.SHAPING),  # joined Arabic letters, Devanagari conjuncts (HarfBuzz)
    )

    def like(name: str, parent: ParagraphStyle = body, **changes: Any) -> ParagraphStyle:
        return ParagraphStyle(name, parent=parent, **changes)

    heading_size = 19.0 if large else 12.5
    cell_size = 15.0 if large else 10.0
    office_size = 19.0 if large else 15.0
    lines_size = 12.0 if large else 9.0
    address_size = 14.0 if large else body_size  # large print still fits the envelope window
    footer_size = 11.0 if large else 8.0
    return SimpleNamespace(
        body=body,
        heading=like(
            "heading",
            fontName=bold,
            fontSize=heading_size,
            leading=heading_size * 1.25,
            spaceBefore=body_size * 0.9,
            spaceAfter=body_size * 0.35,
        ),
        bullet=like(
            "bullet",
            leftIndent=body_size * 1.5,
            bulletIndent=body_size * 0.35,
            bulletFontName=regular,
            bulletFontSize=body_size,
            spaceAfter=body_size * 0.3,
        ),
        office=like(
            "office",
            fontName=bold,
            fontSize=office_size,
            leading=office_size * 1.2,
            spaceAfter=2,
        ),
        office_lines=like(
            "office_lines",
            fontSize=lines_size,
            leading=lines_size * 1.3,
            spaceAfter=1,
            textColor=HexColor("#333333"),
        ),
        address=like("address", fontSize=address_size, leading=address_size * 1.25, spaceAfter=0),
        date=like(
            "date",
            fontSize=address_size,
            leading=address_size * 1.25,
            alignment=TA_RIGHT,
            spaceAfter=0,
        ),
        gap_after_address=12 * _MM,
        reference=like("reference", fontName=bold, spaceAfter=body_size * 1.2),
        salutation=like("salutation"),
        closing=like("closing", spaceBefore=body_size * 0.6, spaceAfter=2),
        signatory=like("signatory", fontName=bold, spaceAfter=0),
        signatory_more=like("signatory_more", spaceAfter=0),
        disclaimer=like(
            "disclaimer",
            fontSize=small,
            leading=small * 1.3,
            spaceBefore=body_size * 1.6,
            spaceAfter=0,
            backColor=HexColor(_SHADE),
            borderColor=HexColor("#c4c4c4"),
            borderWidth=0.5,
            borderPadding=(small * 0.7, small * 0.8),
            leftIndent=small * 0.8,
            rightIndent=small * 0.8,
            textColor=HexColor("#222222"),
        ),
        cell=like("cell", fontSize=cell_size, leading=cell_size * 1.25, spaceAfter=0),
        cell_right=like(
            "cell_right",
            fontSize=cell_size,
            leading=cell_size * 1.25,
            spaceAfter=0,
            alignment=TA_RIGHT,
        ),
        cell_bold=like(
            "cell_bold", fontName=bold, fontSize=cell_size, leading=cell_size * 1.25, spaceAfter=0
        ),
        cell_bold_right=like(
            "cell_bold_right",
            fontName=bold,
            fontSize=cell_size,
            leading=cell_size * 1.25,
            spaceAfter=0,
            alignment=TA_RIGHT,
        ),
        footer=like("footer", fontSize=footer_size, leading=footer_size * 1.25, spaceAfter=0),
        footer_right=like(
            "footer_right",
            fontSize=footer_size,
            leading=footer_size * 1.25,
            spaceAfter=0,
            alignment=TA_RIGHT,
        ),
    )


# --- ReportLab, imported on first use (start-up does not pay for it) --------------------------


@functools.cache
def _reportlab() -> SimpleNamespace:
    from reportlab import rl_config
    from reportlab.lib.colors import HexColor
    from reportlab.pdfbase.pdfmetrics import stringWidth
    from reportlab.platypus import (
        BaseDocTemplate,
        CondPageBreak,
        Flowable,
        Frame,
        KeepTogether,
        PageTemplate,
        Paragraph,
        Spacer,
        TableStyle,
    )
    from reportlab.platypus import Table as RLTable

    # Binary streams instead of ASCII85 text: a quarter smaller, and ReportLab's pure-Python
    # ASCII85 encoder was a fifth of a letter's time. (Process-wide; any PDF reader takes both.)
    rl_config.useA85 = 0

    class Picture(Flowable):
        """A prepared picture (see `_prepared`), placed as `Canvas.drawImage` places one."""

        def __init__(self, prepared: SimpleNamespace, width: float, height: float) -> None:
            super().__init__()
            self.prepared, self.drawWidth, self.drawHeight = prepared, width, height

        def wrap(self, available_width: float, available_height: float) -> tuple[float, float]:
            return self.drawWidth, self.drawHeight

        def draw(self) -> None:
            canvas, prepared = self.canv, self.prepared
            document = canvas._doc
            known = document.getXObjectName(prepared.name)
            if known not in document.idToObject:  # the first time in this PDF: embed it
                image = copy.copy(prepared.image)
                if prepared.mask is not None:
                    mask = copy.copy(prepared.mask)
                    image.smask = document.Reference(mask, document.getXObjectName(mask.name))
                document.Reference(image, known)
                document.addForm(prepared.name, image)
            canvas._currentPageHasImages = 1
            canvas.saveState()
            canvas.scale(self.drawWidth, self.drawHeight)
            canvas._code.append(f"/{known} Do")
            canvas.restoreState()
            canvas._formsinuse.append(prepared.name)

    class LetterCanvas(paging.numbered_canvas()):  # type: ignore[misc]
        """Holds back the letter's pages until its last, then numbers them "Page x of y"."""

        def __init__(
            self, *args: Any, footer: tuple[str, str, SimpleNamespace], **kwargs: Any
        ) -> None:
            super().__init__(*args, **kwargs)
            self.letter_footer = footer

        def draw_page_furniture(self, number: int, pages: int) -> None:
            left, label, st = self.letter_footer
            label = label.replace("{page}", str(number)).replace("{pages}", str(pages))
            right_width = max(40 * _MM, FRAME_WIDTH * 0.3)
            top = FOOTER_BASELINE + st.footer.leading
            for markup, x, width, style in (
                (
                    text.markup(label),
                    PAGE_WIDTH - RIGHT - right_width,
                    right_width,
                    st.footer_right,
                ),
                (left, LEFT, FRAME_WIDTH - right_width - 6 * _MM, st.footer),
            ):
                if markup:
                    para = Paragraph(markup, style)
                    _, height = para.wrap(width, 20 * _MM)
                    # the first line's baseline on the footer line, wrapping lines above it
                    para.drawOn(self, x, FOOTER_BASELINE - st.footer.leading + height)
                    top = max(top, FOOTER_BASELINE + height)
            self.saveState()
            self.setStrokeColor(HexColor(_GREY_RULE))
            self.setLineWidth(0.4)
            self.line(LEFT, top + 2 * _MM, PAGE_WIDTH - RIGHT, top + 2 * _MM)
            self.restoreState()

    def string_width(value: str, font: str, size: float) -> float:
        try:
            return stringWidth(value, font, size)
        except Exception:  # a font that cannot measure the text: a fair guess
            return len(value) * size * 0.55

    return SimpleNamespace(
        BaseDocTemplate=BaseDocTemplate,
        CondPageBreak=CondPageBreak,
        Frame=Frame,
        Picture=Picture,
        KeepTogether=KeepTogether,
        PageTemplate=PageTemplate,
        Paragraph=Paragraph,
        Spacer=Spacer,
        Table=RLTable,
        TableStyle=TableStyle,
        LetterCanvas=LetterCanvas,
        color=HexColor,
        string_width=string_width,
    )
