"""What a letter says, laid out by the renderer: plain data, no ReportLab and no database.

The services fill it from a case and a template; `pdf.letters.render_letter` turns it into
PDF bytes. Every text here is literal (never markup): the renderer escapes it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class Letterhead:
    office_name: str
    address_lines: tuple[str, ...] = ()
    contact_line: str = ""  # phone, e-mail, web, on one line
    logo: bytes | None = None  # PNG or JPEG bytes
    signature: bytes | None = None  # PNG or JPEG bytes (the signatory's signature image)


@dataclass(frozen=True)
class Table:
    """A small table (the cost estimate): the last column, and any column of figures, right-aligned.

    The header repeats when the table runs onto another page. Rows shorter than the header are
    padded on the right; a footer shorter than the header fills its last columns, its first cell
    spanning the rest (("Total", "EUR 1,234.00") under four columns).
    """

    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    footer: tuple[str, ...] = ()  # e.g. the total


@dataclass(frozen=True)
class Section:
    """A heading, its paragraphs, then bullets, then a table, in that order.

    Text that continues after a list or a table goes into the next section with heading "".
    """

    heading: str  # "" for none
    paragraphs: tuple[str, ...]  # each may hold single line breaks ("\n")
    bullets: tuple[str, ...] = ()  # a list after the paragraphs (missing documents, lines)
    table: Table | None = None  # where the template placed it (the cost estimate)


@dataclass(frozen=True)
class LetterDocument:
    letterhead: Letterhead
    date_text: str  # as printed, already in the reader's format
    recipient_lines: tuple[str, ...]  # the address block
    reference_line: str  # "Our reference: RD-2026-00042"
    salutation: str
    sections: tuple[Section, ...]
    closing: str  # "With kind regards,"
    signatory_lines: tuple[str, ...]  # name, credentials, role
    disclaimer: str = ""  # small print at the end of the text
    table: Table | None = None  # after all the sections (Section.table places one in the text)
    footer_text: str = ""  # left of "Page x of y" on every page (office name, reference)
    page_label: str = "Page {page} of {pages}"  # in the letter's language; both fields filled in
    # PDF metadata
    title: str = ""
    author: str = ""
    subject: str = ""
    language: str = "en"  # BCP 47, set as the document's /Lang
    created_at: datetime | None = None  # written into the file; None: no date (invariant)
    large_print: bool = False  # 16 pt body instead of 11 pt, for readers with low vision
    keywords: tuple[str, ...] = field(default_factory=tuple)
