"""Letters as a patient gets them: every field printed, numbered pages, the same bytes each time."""

from __future__ import annotations

import hashlib
import io
import os
import struct
import subprocess
import sys
import zlib
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pypdf import PdfReader

from referral_desk.pdf.document import LetterDocument, Letterhead, Section, Table
from referral_desk.pdf.letters import BatchInfo, page_count, render_batch, render_letter

REPO = Path(__file__).resolve().parents[2]


def png(width: int, height: int, rgb: tuple[int, int, int] = (20, 90, 140)) -> bytes:
    """A plain PNG made by hand (no image library needed)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    row = b"\x00" + bytes(rgb) * width
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(row * height))
        + chunk(b"IEND", b"")
    )


FILLER = (
    "Endocrine therapy can cause hot flushes, joint aches and tiredness; tell your doctor if "
    "any of these trouble you, because there are good ways to ease them."
)


def sample_letter(**changes: object) -> LetterDocument:
    letter = LetterDocument(
        letterhead=Letterhead(
            office_name="Second Opinion Oncology Office",
            address_lines=("Lindenstraße 12", "80331 München"),
            contact_line="+49 89 1234 5670 · office@example.org",
            logo=png(90, 60),
            signature=png(120, 30, (20, 30, 110)),
        ),
        date_text="14 March 2026",
        recipient_lines=("Ms Maria Schneider", "Hauptstraße 5", "86150 Augsburg"),
        reference_line="Our reference: RD-2026-00042",
        salutation="Dear Ms Schneider,",
        sections=(
            Section("Your question", ("You asked whether you need chemotherapy.",)),
            Section(
                "What our specialist recommends",
                ("Your Oncotype DX Recurrence Score is 11: endocrine therapy alone.",),
                bullets=("Ask Dr. Weber about letrozole.", "A bone density scan first."),
            ),
        ),
        closing="With kind regards,",
        signatory_lines=("Dr. med. Amelia Hartmann", "Consultant Medical Oncologist"),
        disclaimer="This letter does not replace your treating physician.",
        footer_text="Second Opinion Oncology Office · RD-2026-00042",
        title="Second opinion summary RD-2026-00042",
        author="Second Opinion Oncology Office",
        subject="Summary of your second opinion",
        language="en-GB",
        created_at=datetime(2026, 3, 14, 9, 30, tzinfo=UTC),
        keywords=("second opinion", "RD-2026-00042"),
    )
    return replace(letter, **changes)  # type: ignore[arg-type]


def long_letter(sections: int = 12, **changes: object) -> LetterDocument:
    more = tuple(
        Section(f"More about your treatment {n}", (FILLER, FILLER)) for n in range(sections)
    )
    return sample_letter(sections=sample_letter().sections + more, **changes)


def page_texts(pdf: bytes) -> list[str]:
    """Each page's text with runs of white space as one space (lines wrap anywhere)."""
    return [" ".join(page.extract_text().split()) for page in PdfReader(io.BytesIO(pdf)).pages]


def test_a_letter_prints_every_field() -> None:
    (text,) = page_texts(render_letter(sample_letter()))

    for expected in (
        "Second Opinion Oncology Office",
        "Lindenstraße 12",
        "+49 89 1234 5670 · office@example.org",
        "14 March 2026",
        "Ms Maria Schneider",
        "86150 Augsburg",
        "Our reference: RD-2026-00042",
        "Dear Ms Schneider,",
        "Your question",
        "You asked whether you need chemotherapy.",
        "What our specialist recommends",
        "Your Oncotype DX Recurrence Score is 11: endocrine therapy alone.",
        "Ask Dr. Weber about letrozole.",
        "With kind regards,",
        "Dr. med. Amelia Hartmann",
        "Consultant Medical Oncologist",
        "This letter does not replace your treating physician.",
        "RD-2026-00042",
        "Page 1 of 1",
    ):
        assert expected in text


def test_markup_in_user_text_prints_as_typed() -> None:
    typed = "<b>x</b> & y <br/> &amp;"
    letter = sample_letter(
        recipient_lines=(f"Ms {typed}",),
        sections=(Section(typed, (typed,), bullets=(typed,)),),
        footer_text=typed,
    )

    (text,) = page_texts(render_letter(letter))

    assert text.count("<b>x</b> & y <br/> &amp;") == 5


def test_the_same_letter_gives_the_same_bytes() -> None:
    assert render_letter(sample_letter()) == render_letter(sample_letter())


def test_the_same_letter_gives_the_same_bytes_in_another_process() -> None:
    script = (
        "import hashlib, sys\n"
        "from tests.pdf.test_letters import sample_letter\n"
        "from referral_desk.pdf.letters import render_letter\n"
        "sys.stdout.write(hashlib.sha256(render_letter(sample_letter())).hexdigest())\n"
    )
    digests = {
        subprocess.run(
            [sys.executable, "-c", script],
            cwd=REPO,
            env={**os.environ, "PYTHONHASHSEED": seed},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for seed in ("1", "2")
    }

    assert digests == {hashlib.sha256(render_letter(sample_letter())).hexdigest()}


def test_metadata_language_and_dates_are_set() -> None:
    reader = PdfReader(io.BytesIO(render_letter(sample_letter())))

    assert reader.metadata is not None
    assert reader.metadata.title == "Second opinion summary RD-2026-00042"
    assert reader.metadata.author == "Second Opinion Oncology Office"
    assert reader.metadata.subject == "Summary of your second opinion"
    assert reader.metadata["/Keywords"] == "second opinion, RD-2026-00042"
    assert reader.metadata["/CreationDate"] == "D:20260314093000+00'00'"
    assert reader.metadata["/ModDate"] == "D:20260314093000+00'00'"
    assert reader.trailer["/Root"]["/Lang"] == "en-GB"


def test_a_long_letter_runs_onto_more_pages_each_numbered() -> None:
    pages = page_texts(render_letter(long_letter()))

    assert len(pages) > 1
    for number, text in enumerate(pages, start=1):
        assert f"Page {number} of {len(pages)}" in text
        assert "RD-2026-00042" in text  # the footer's reference, on every page
    assert "Dr. med. Amelia Hartmann" in pages[-1]


def test_no_page_ends_with_a_heading() -> None:
    pdf = render_letter(long_letter(sections=20))
    for page in PdfReader(io.BytesIO(pdf)).pages[:-1]:
        lines = [line.strip() for line in page.extract_text().splitlines() if line.strip()]
        body = [line for line in lines if "Page " not in line and "RD-2026-00042" not in line]
        assert not body[-1].startswith("More about your treatment")


def test_large_print_takes_more_pages() -> None:
    normal = page_count(render_letter(long_letter()))
    large = page_count(render_letter(long_letter(large_print=True)))

    assert large > normal


def test_page_label_in_the_letters_language() -> None:
    letter = sample_letter(page_label="Seite {page} von {pages}", language="de")

    (text,) = page_texts(render_letter(letter))

    assert "Seite 1 von 1" in text


def test_a_cost_table_prints_its_rows_and_total_and_repeats_its_header() -> None:
    rows = tuple((f"Service {n}", "1", "EUR 45.00", "EUR 45.00") for n in range(70))
    table = Table(("Service", "Qty", "Unit price", "Amount"), rows, ("Total", "EUR 3,150.00"))
    letter = sample_letter(sections=(Section("Cost estimate", ("Our estimate:",), table=table),))

    pages = page_texts(render_letter(letter))

    assert len(pages) > 1
    assert all("Service Qty Unit price Amount" in text for text in pages[:2])
    assert "Service 69 1 EUR 45.00 EUR 45.00 Total EUR 3,150.00" in pages[-1]


def test_logo_and_signature_are_embedded_and_a_broken_image_is_left_out() -> None:
    def images(pdf: bytes) -> int:
        page = PdfReader(io.BytesIO(pdf)).pages[0]
        xobjects = page["/Resources"].get("/XObject", {})
        return sum(1 for ref in xobjects.values() if ref.get_object()["/Subtype"] == "/Image")

    broken = replace(sample_letter().letterhead, logo=b"\x89PNG not really", signature=None)

    assert images(render_letter(sample_letter())) == 2
    (text,) = page_texts(render_letter(sample_letter(letterhead=broken)))
    assert "Second Opinion Oncology Office" in text


def test_a_huge_logo_is_embedded_at_print_resolution() -> None:
    head = replace(sample_letter().letterhead, logo=png(4000, 2000), signature=None)

    pdf = render_letter(sample_letter(letterhead=head))

    page = PdfReader(io.BytesIO(pdf)).pages[0]
    (logo,) = (ref.get_object() for ref in page["/Resources"]["/XObject"].values())
    assert abs(logo["/Width"] - 2 * logo["/Height"]) <= 1  # the shape kept
    assert logo["/Height"] <= 300  # 25 mm at 300 dpi
    assert len(pdf) < 200_000


def test_a_batch_holds_every_letter_each_numbered_on_its_own() -> None:
    letters = [
        long_letter(footer_text="Office · RD-2026-00001"),
        sample_letter(footer_text="Office · RD-2026-00002"),
        long_letter(footer_text="Office · RD-2026-00003", large_print=True),
    ]
    singles = [page_count(render_letter(letter)) for letter in letters]
    out = io.BytesIO()
    seen: list[int] = []

    info = render_batch(letters, out, progress=seen.append)

    pages = page_texts(out.getvalue())
    assert info.letters == 3
    assert not info.cancelled
    assert info.pages == len(pages) == sum(singles)
    assert seen == [1, 2, 3]
    start = 0
    for index, count in enumerate(singles, start=1):
        for number in range(1, count + 1):
            text = pages[start + number - 1]
            assert f"Page {number} of {count}" in text
            assert f"RD-2026-0000{index}" in text
        assert "Second Opinion Oncology Office" in pages[start]  # a new letterhead
        start += count


def test_a_batch_prints_exactly_the_letters_handed_over_for_the_archive() -> None:
    letters = [sample_letter(footer_text=f"RD-2026-0000{n}") for n in range(3)]
    archived: list[tuple[LetterDocument, bytes, int]] = []
    out = io.BytesIO()

    render_batch(letters, out, on_letter=lambda *args: archived.append(args))

    assert [(doc, pdf, pages) for doc, pdf, pages in archived] == [
        (letter, render_letter(letter), 1) for letter in letters
    ]

    def contents(pdf: bytes) -> list[bytes]:
        return [page.get_contents().get_data() for page in PdfReader(io.BytesIO(pdf)).pages]  # type: ignore[union-attr]

    assert contents(out.getvalue()) == [
        content for _, pdf, _ in archived for content in contents(pdf)
    ]


def test_a_batch_file_is_a_well_formed_pdf_with_the_batch_metadata() -> None:
    out = io.BytesIO()

    render_batch(
        [sample_letter(), long_letter(language="en-GB")], out, title="Letters 14 March 2026"
    )

    reader = PdfReader(io.BytesIO(out.getvalue()), strict=True)
    assert reader.metadata is not None
    assert reader.metadata.title == "Letters 14 March 2026"
    assert reader.metadata["/CreationDate"] == "D:20260314093000+00'00'"
    assert reader.trailer["/Root"]["/Lang"] == "en-GB"
    assert out.getvalue().endswith(b"%%EOF\n")
    fonts = {
        str(font.get_object()["/BaseFont"])
        for page in reader.pages
        for font in page["/Resources"]["/Font"].values()
    }
    subsets = [name for name in fonts if "+" in name]
    assert len(subsets) == len(set(subsets)) > 2  # every letter's subsets named apart


def test_the_same_batch_gives_the_same_bytes() -> None:
    def batch() -> bytes:
        out = io.BytesIO()
        render_batch([sample_letter(), long_letter()], out, title="Letters")
        return out.getvalue()

    assert batch() == batch()


def test_cancelling_a_batch_stops_between_letters() -> None:
    done: list[int] = []
    out = io.BytesIO()

    info = render_batch(
        (sample_letter() for _ in range(10)),
        out,
        progress=done.append,
        cancelled=lambda: len(done) >= 3,
    )

    assert info == BatchInfo(letters=3, pages=3, cancelled=True)
    assert done == [1, 2, 3]
    assert b"%%EOF" not in out.getvalue()  # unfinished: the caller throws it away


def test_an_empty_batch_writes_nothing() -> None:
    out = io.BytesIO()

    assert render_batch([], out) == BatchInfo(letters=0, pages=0, cancelled=False)
    assert out.getvalue() == b""


@pytest.mark.slow
def test_a_batch_of_many_letters_keeps_one_letter_in_memory_at_a_time() -> None:
    made: list[int] = []

    def letters():  # type: ignore[no-untyped-def]
        for n in range(60):
            made.append(n)
            yield sample_letter(footer_text=f"RD-{n}")

    laid_out: list[int] = []

    def progress(count: int) -> None:
        laid_out.append(count)
        assert len(made) == count  # the next letter is not even composed yet

    info = render_batch(letters(), io.BytesIO(), progress=progress)

    assert info == BatchInfo(letters=60, pages=60, cancelled=False)
    assert laid_out == list(range(1, 61))
