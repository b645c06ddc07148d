"""Text of a PDF for the search, or a plain note saying why there is none. Never raises."""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass
from typing import BinaryIO

MAX_PAGES = 300  # the findings are in the first pages; a 2,000-page scan would stall the queue


@dataclass(frozen=True)
class PdfText:
    text: str
    note: str  # empty when the text was read in full

    @property
    def readable(self) -> bool:
        return bool(self.text.strip())


def extract(source: bytes | BinaryIO) -> PdfText:
    """From the bytes, or from a seekable stream (a stored blob) read as pypdf needs it."""
    from pypdf import PdfReader  # imported on first use: start-up does not need it
    from pypdf.errors import DependencyError

    # pypdf reports every oddity of real-world PDFs through logging; the note says enough.
    logging.getLogger("pypdf").setLevel(logging.ERROR)
    try:
        reader = PdfReader(io.BytesIO(source) if isinstance(source, bytes) else source)
        if reader.is_encrypted and not reader.decrypt(""):
            return PdfText("", "The PDF is password-protected; its text was not read.")
        pages = reader.pages
        parts = [page.extract_text() or "" for page in list(pages)[:MAX_PAGES]]
    except DependencyError:
        # AES encryption, common on "secured" hospital reports, needs a cryptography library.
        return PdfText(
            "",
            "The PDF is encrypted in a way this installation cannot read; it is stored, but "
            "its text could not be read.",
        )
    except Exception as exc:  # a damaged PDF must never stop the queue or lose the file
        return PdfText(
            "",
            f"The PDF is damaged ({type(exc).__name__}); it is stored, but its text "
            "could not be read.",
        )
    text = "\n".join(parts).strip()
    if not text:
        return PdfText("", "No text found in the PDF (a scanned image?).")
    note = f"Only the first {MAX_PAGES} pages were read." if len(pages) > MAX_PAGES else ""
    return PdfText(text, note)
