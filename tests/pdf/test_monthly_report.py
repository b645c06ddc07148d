"""The monthly report's PDF as a manager reads it: figures first, then every case in a landscape
list whose pages all say what they are, numbered, the same bytes each time."""

from __future__ import annotations

import hashlib
import io
import subprocess
import sys
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pypdf import PdfReader

from referral_desk.pdf.monthly_report import (
    CaseList,
    Chart,
    ChartKind,
    ChartRow,
    FigureRow,
    FigureTable,
    ListColumn,
    ReportDocument,
    Series,
    render_report,
)

REPO = Path(__file__).resolve().parents[2]
OFFICE = "Second Opinion Oncology Office"
HEADERS = ("Reference", "Patient", "Referrer", "Status", "Final total")
NAMES = (
    "Zoë Müller",
    "Łukasz Lefèvre",
    "Ирина Соколова",
    "Κωνσταντίνος Παπαδόπουλος",
    "李文华",
    "김서연",
    "محمد العلي",
    "राजेश अय्यर",
)


def row(i: int) -> tuple[str, ...]:
    return (
        f"RD-2026-{i:05d}",
        NAMES[i % len(NAMES)],
        "Dr. Inés Navarro, Hospital del Mar",
        "Closed" if i % 3 else "Awaiting records",
        f"€{1000 + i:,}.50",
    )


def sample(rows: int = 130, **changes: object) -> ReportDocument:
    doc = ReportDocument(
        title="Monthly report",
        office_name=OFFICE,
        subtitle="October 2026",
        as_of="As of 2026-11-23 11:00.",
        comparison=("Oct 2026", "Sep 2026", "Oct 2025"),
        summary=(
            FigureTable(
                "Cases",
                (
                    FigureRow("Received", ("148", "131", "97")),
                    FigureRow("Still open", ("12", "3", "0")),
                ),
                note="The cases received in each month.",
            ),
            FigureTable(
                "Opinions on time",
                (
                    FigureRow("All cases", ("84% (124 of 148)", "—", "—")),
                    FigureRow("Diagnosis"),
                    FigureRow("Urgent", ("90% (9 of 10)", "—", "—"), indent=True),
                ),
            ),
            ChartRow(
                (
                    Chart(
                        "Cases received per week",
                        ChartKind.COLUMNS,
                        ("1–4 Oct", "5–11 Oct", "12–18 Oct"),
                        (Series("Cases", (27, 48, 52)),),
                        axis_label="Cases",
                    ),
                    Chart(
                        "Turnaround",
                        ChartKind.HISTOGRAM,
                        ("0–6 h", "6–12 h", "12 h or more"),
                        (Series("Opinions", (0, 0, 0)),),
                        empty_text="No opinions were delivered.",
                    ),
                )
            ),
            ChartRow(
                (
                    Chart(
                        "Concordance with the first opinion",
                        ChartKind.SHARES,
                        ("Diagnosis", "Treatment"),
                        (Series("Confirmed", (151, 106)), Series("Minor change", (21, 52))),
                    ),
                )
            ),
        ),
        case_list=CaseList(
            heading=f"Case list: {rows} cases received in October 2026",
            columns=(
                ListColumn("Reference", 44),
                ListColumn("Patient", 80),
                ListColumn("Referrer", 60),
                ListColumn("Status", 50),
                ListColumn("Final total", 40, right=True),
            ),
            rows=tuple(row(i) for i in range(1, rows + 1)),
        ),
        author=OFFICE,
        subject="Cases received in October 2026",
        created_at=datetime(2026, 11, 23, 10, 0, tzinfo=UTC),
    )
    return replace(doc, **changes)


def pages(pdf: bytes) -> list[str]:
    return [page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages]


def landscape(pdf: bytes) -> list[bool]:
    return [
        float(page.mediabox.width) > float(page.mediabox.height)
        for page in PdfReader(io.BytesIO(pdf)).pages
    ]


def listing(pdf: bytes) -> list[str]:
    """The landscape pages' text."""
    return [text for text, wide in zip(pages(pdf), landscape(pdf), strict=True) if wide]


def fonts_used(pdf: bytes) -> set[str]:
    """The embedded fonts' names without their subset tags ("NotoSans-Regular")."""
    names = set()
    for page in PdfReader(io.BytesIO(pdf)).pages:
        for font in page["/Resources"]["/Font"].values():
            names.add(str(font.get_object()["/BaseFont"]).split("+")[-1])
    return names


@pytest.fixture(scope="module")
def pdf() -> bytes:
    return render_report(sample())


def test_the_first_page_has_the_figures_beside_the_earlier_months(pdf: bytes) -> None:
    first = pages(pdf)[0]
    for expected in ("Monthly report", "October 2026", "As of 2026-11-23 11:00.", "Cases"):
        assert expected in first
    for expected in ("Oct 2026", "Sep 2026", "Oct 2025", "Received", "148", "131", "97"):
        assert expected in first
    assert "84% (124 of 148)" in first
    assert "The cases received in each month." in first


def test_the_charts_are_drawn_and_an_empty_one_says_why(pdf: bytes) -> None:
    wide = landscape(pdf)
    summary = "\n".join(pages(pdf)[: wide.index(True)])
    assert "Cases received per week" in summary
    for bar_label in ("27", "48", "52", "12–18 Oct"):
        assert bar_label in summary
    assert "No opinions were delivered." in summary
    assert "Concordance with the first opinion" in summary
    assert "Minor change" in summary  # the legend


def test_every_case_is_listed_once_in_order_on_landscape_pages(pdf: bytes) -> None:
    wide = landscape(pdf)
    assert not wide[0]
    assert wide.count(True) >= 2  # 130 rows do not fit one page
    assert all(wide[wide.index(True) :])  # the list comes last, all of it
    found = [w for text in listing(pdf) for w in text.split() if w.startswith("RD-2026-")]
    assert found == [f"RD-2026-{i:05d}" for i in range(1, 131)]


def test_the_rows_print_what_the_document_holds(pdf: bytes) -> None:
    lines = [line for text in pages(pdf) for line in text.splitlines()]
    for i in (1, 2, 3, 4, 60, 130):
        reference, name, _, status, amount = row(i)
        line = next(line for line in lines if line.startswith(reference))
        assert status in line
        assert line.endswith(amount)  # right-aligned money, nothing cut
        if i % len(NAMES) in (1, 2, 3, 4):  # accented Latin, Cyrillic, Greek, Chinese
            assert name in line


def test_the_header_row_is_on_every_list_page(pdf: bytes) -> None:
    for text in listing(pdf):
        for header in HEADERS:
            assert header in text


def test_every_page_names_the_office_the_report_and_its_number(pdf: bytes) -> None:
    texts = pages(pdf)
    for number, text in enumerate(texts, start=1):
        assert OFFICE in text
        assert "Monthly report – October 2026" in text
        assert f"Page {number} of {len(texts)}" in text


def test_names_in_other_scripts_print_in_a_face_that_has_them(pdf: bytes) -> None:
    used = fonts_used(pdf)
    assert "NotoSans-Regular" in used
    assert "NotoSans-Bold" in used
    assert any(name.startswith("DroidSansFallback") for name in used)  # 李文华
    assert any(name.startswith("NanumSquare") for name in used)  # 김서연
    assert any(name.startswith("NotoSansArabic") for name in used)  # shaped
    assert any(name.startswith("NotoSansDevanagari") for name in used)
    printed = "\n".join(listing(pdf))
    assert "李文华" in printed
    assert "김서연" in printed


def test_text_too_long_for_its_column_is_cut_with_an_ellipsis() -> None:
    long_name = "Maximiliane Alexandrine Friederike von Hohenzollern-Sigmaringen-Württemberg " * 3
    doc = sample(3)
    rows = (("RD-2026-00001", long_name, "Dr. A", "Closed", "€1.00"),)
    doc = replace(doc, case_list=replace(doc.case_list, rows=rows))
    page = pages(render_report(doc))[-1]
    line = next(line for line in page.splitlines() if line.startswith("RD-2026-00001"))
    assert long_name not in line
    shown = line.split("RD-2026-00001")[1].strip().split("…")[0]
    assert len(shown) > 10
    assert long_name.startswith(shown)
    assert line.endswith("€1.00")


def test_metadata_say_what_the_file_is(pdf: bytes) -> None:
    info = PdfReader(io.BytesIO(pdf)).metadata
    assert info.title == f"Monthly report – October 2026 – {OFFICE}"
    assert info.author == OFFICE
    assert info.subject == "Cases received in October 2026"
    assert info["/CreationDate"].startswith("D:20261123100000")


def test_a_month_without_cases_is_a_short_valid_report_that_says_so() -> None:
    doc = sample(0, notice="No cases were received in October 2026.")
    pdf = render_report(doc)
    texts = pages(pdf)
    assert "No cases were received in October 2026." in texts[0]
    assert not any(landscape(pdf))
    assert all(f"of {len(texts)}" in text for text in texts)
    assert "Reference" not in "\n".join(texts)


def test_the_same_document_gives_the_same_bytes(pdf: bytes) -> None:
    assert render_report(sample()) == pdf


def test_another_process_gives_the_same_bytes(pdf: bytes) -> None:
    """No state of the process (fonts met before, other PDFs) leaks into the file."""
    script = (
        "import hashlib, sys; sys.path.insert(0, sys.argv[1]);"
        "from tests.pdf.test_monthly_report import sample;"
        "from referral_desk.pdf.monthly_report import render_report;"
        "print(hashlib.sha256(render_report(sample())).hexdigest())"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(REPO)], capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == hashlib.sha256(pdf).hexdigest()


def test_progress_follows_the_rows_and_can_cancel() -> None:
    seen: list[tuple[int, int]] = []
    render_report(sample(700), progress=lambda done, total: seen.append((done, total)))
    assert seen[-1] == (700, 700)
    assert [done for done, _ in seen] == sorted({done for done, _ in seen})
    assert len(seen) >= 3

    class Stop(Exception):
        pass

    def cancel(done: int, total: int) -> None:
        raise Stop

    with pytest.raises(Stop):
        render_report(sample(700), progress=cancel)
