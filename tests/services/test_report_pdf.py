"""A month of a demo office printed as PDF and read back: the figures and the case list say what
the report says, in the user's locale, on numbered pages that name the office."""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pypdf import PdfReader

from referral_desk.db.engine import Database
from referral_desk.domain.money import format_amount
from referral_desk.domain.reports import (
    Column,
    Month,
    MonthlyReport,
    ReportRow,
    cell_text,
    describe_duration,
)
from referral_desk.paths import resolve_paths
from referral_desk.services import cases, demo, reports
from referral_desk.services.database import open_database
from referral_desk.services.office import DEFAULT_OFFICE_NAME
from referral_desk.services.report_pdf import pdf_bytes
from tests.conftest import NOW, admin, case, manager, patient

OCTOBER = Month(2026, 10)


@dataclass(frozen=True)
class Printed:
    report: MonthlyReport
    pdf: bytes
    pages: list[str]
    landscape: list[bool]

    @property
    def listing(self) -> list[str]:
        return [text for text, wide in zip(self.pages, self.landscape, strict=True) if wide]

    @property
    def summary(self) -> str:
        return "\n".join(t for t, wide in zip(self.pages, self.landscape, strict=True) if not wide)


def printed(report: MonthlyReport, locale: str = "en_US") -> Printed:
    pdf = pdf_bytes(report, locale=locale)
    pages = PdfReader(io.BytesIO(pdf)).pages
    return Printed(
        report,
        pdf,
        [page.extract_text() for page in pages],
        [float(page.mediabox.width) > float(page.mediabox.height) for page in pages],
    )


@pytest.fixture(scope="module")
def office(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    """A demo office, and two October patients whose names need other fonts."""
    database = open_database(resolve_paths(Path(tmp_path_factory.mktemp("office")) / "data"))
    demo.generate(database, 1200, seed=5, now=NOW)
    for given, family, day in (("文华", "李", 20), ("محمد", "العلي", 21)):
        cases.create_case(
            database,
            case(),
            patient=patient(given_names=given, family_name=family),
            actor=admin("maria"),
            now=datetime(2026, 10, day, 9, 0, tzinfo=UTC),
            local_zone=UTC,
        )
    yield database
    database.dispose()


@pytest.fixture(scope="module")
def october(office: Database) -> Printed:
    return printed(reports.monthly_report(office, OCTOBER, now=NOW, zone=UTC, actor=manager()))


def test_the_list_holds_every_case_of_the_month_in_order(october: Printed) -> None:
    rows = october.report.rows
    assert len(rows) > 60  # more than one page
    assert len(october.listing) >= 2
    found = [w for text in october.listing for w in text.split() if w.startswith("RD-")]
    assert found == [row.reference for row in rows]


def test_each_row_prints_the_report_s_cells(october: Printed) -> None:
    report = october.report
    lines = [line for text in october.listing for line in text.splitlines()]

    def cell(row: ReportRow, column: Column) -> str:
        return cell_text(row, column, report.currency, "en_US", report.zone)

    for row in report.rows:
        line = next(line for line in lines if line.startswith(row.reference))
        money = " ".join(cell(row, c) for c in (Column.FINAL_TOTAL, Column.PAID, Column.BALANCE))
        assert line.endswith(money)
        for column in (Column.RECEIVED, Column.STATUS, Column.URGENCY, Column.TURNAROUND):
            assert cell(row, column) in line


def test_the_list_pages_repeat_the_header_and_are_landscape(october: Printed) -> None:
    assert october.landscape[0] is False
    listing_starts = october.landscape.index(True)
    assert all(october.landscape[listing_starts:])
    for text in october.listing:
        for header in ("Reference", "Patient", "Received", "Final total", "Balance"):
            assert header in text
        assert "concordance" in text


def test_every_page_is_numbered_and_names_the_office(october: Printed) -> None:
    name = october.report.office_name
    assert name
    for number, text in enumerate(october.pages, start=1):
        assert name in text
        assert "Monthly report – October 2026" in text
        assert f"Page {number} of {len(october.pages)}" in text


def test_the_first_page_has_the_month_s_figures_beside_the_earlier_ones(october: Printed) -> None:
    report, first = october.report, october.pages[0]
    figures = report.figures
    for label in ("Oct 2026", "Sep 2026", "Oct 2025"):
        assert label in first
    assert f"Received\n{figures.received}\n{report.previous.received}" in first.replace(" ", "")
    rate = figures.on_time
    assert f"({rate.on_time} of {rate.judged})" in first
    assert describe_duration(figures.turnaround_median) in first
    assert format_amount(figures.charges_minor, report.currency, "en_US") in first
    payments = format_amount(figures.payments_received_minor, report.currency, "en_US")
    assert payments in october.summary
    for label in ("On time", "Routine (48 h)", "Diagnosis: confirmed", "Paid by these cases"):
        assert f"\n{label}\n" in first


def test_the_breakdowns_show_the_top_entries_and_the_rest(october: Printed) -> None:
    figures = october.report.figures
    summary = october.summary
    top_referrer, count = next(iter(figures.by_referrer.items()))
    assert f"{top_referrer}\n {count}" in summary
    assert "By cancer type" in summary and "By specialist" in summary
    assert "Other (" in summary  # more than ten referrers and cancer types


def test_amounts_print_in_the_user_s_locale(october: Printed) -> None:
    german = printed(october.report, "de_DE")
    report = german.report
    lines = [line for text in german.listing for line in text.splitlines()]
    row = max(report.rows, key=lambda r: r.final_total_minor)
    line = next(line for line in lines if line.startswith(row.reference))
    total = format_amount(row.final_total_minor, report.currency, "de_DE")
    assert "," in total and total.endswith("€")
    assert total.replace("\xa0", " ") in line  # ReportLab prints a no-break space as a space


def test_names_in_other_scripts_print_in_their_own_fonts(october: Printed) -> None:
    chinese = next(row for row in october.report.rows if row.patient == "李文华")
    assert any(row.patient == "محمد العلي" for row in october.report.rows)
    used = set()
    for page in PdfReader(io.BytesIO(october.pdf)).pages:
        for font in page["/Resources"]["/Font"].values():
            used.add(str(font.get_object()["/BaseFont"]).split("+")[-1])
    assert any(name.startswith("DroidSansFallback") for name in used)
    assert any(name.startswith("NotoSansArabic") for name in used)
    line = next(
        line
        for text in october.listing
        for line in text.splitlines()
        if line.startswith(chinese.reference)
    )
    assert "李文华" in line


def test_a_month_without_cases_says_so(db: Database) -> None:
    report = reports.monthly_report(db, OCTOBER, now=NOW, zone=UTC, actor=manager())
    empty = printed(report)
    assert "No cases were received in October 2026." in empty.pages[0]
    assert not any(empty.landscape)
    for number, text in enumerate(empty.pages, start=1):
        assert DEFAULT_OFFICE_NAME in text  # the office has not given its name yet
        assert f"Page {number} of {len(empty.pages)}" in text
    assert "No opinions were delivered." in empty.summary  # the charts
    assert "By cancer type" not in empty.summary  # no heading over an empty breakdown
    assert "Received\n 0\n 0\n 0" in empty.pages[0]  # counts of nothing are 0


def test_the_same_report_gives_the_same_bytes(october: Printed) -> None:
    assert pdf_bytes(october.report, locale="en_US") == october.pdf


def test_progress_runs_to_the_end_and_can_cancel(october: Printed) -> None:
    report = october.report
    seen: list[tuple[int, int]] = []
    pdf_bytes(report, locale="en_US", progress=lambda done, total: seen.append((done, total)))
    total = 2 * len(report.rows)
    assert seen[0] == (0, total)
    assert seen[-1] == (total, total)
    assert all(t == total for _, t in seen)
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)

    class Cancelled(Exception):
        pass

    def cancel(done: int, total: int) -> None:
        if done > len(report.rows):  # while drawing
            raise Cancelled

    with pytest.raises(Cancelled):
        pdf_bytes(report, locale="en_US", progress=cancel)
