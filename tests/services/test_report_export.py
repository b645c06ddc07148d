from __future__ import annotations

import csv
import dataclasses
import io
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import openpyxl
import pytest

from referral_desk.db.engine import Database
from referral_desk.domain.costs import LineKind, PaymentMethod
from referral_desk.domain.reports import (
    HOURS_COLUMNS,
    MONEY_COLUMNS,
    TIME_COLUMNS,
    Column,
    Month,
    MonthlyReport,
    ReportError,
    cell_value,
    hours,
)
from referral_desk.domain.specialists import Concordance
from referral_desk.services import cases, costs, demo, office
from referral_desk.services.case_export import neutralise
from referral_desk.services.errors import ServiceError
from referral_desk.services.report_export import (
    ExportFormat,
    csv_bytes,
    export_format,
    export_report,
    money_format,
    suggested_name,
    xlsx_bytes,
)
from referral_desk.services.reports import monthly_report
from tests.conftest import NOW, admin, case, manager, patient

VIENNA = ZoneInfo("Europe/Vienna")
OCTOBER = Month(2026, 10)
HEADERS = [
    *("Reference", "Patient", "Cancer type", "Referrer", "Urgency", "Specialist", "Status"),
    *("Received", "Records complete", "Opinion delivered"),
    *("Intake time (hours)", "Turnaround (hours)", "On time"),
    *("Diagnosis concordance", "Treatment concordance"),
    *("Final total (EUR)", "Paid (EUR)", "Balance (EUR)"),
]
HYPERLINK = '=HYPERLINK("http://evil.example","Click")'
INJECTIONS = (f"{HYPERLINK} Doe", "+1", "-2+3", "@SUM(A1)")  # as the cells hold them


def _take_in(db: Database, received: datetime, referrer: str = "", **names: str) -> int:
    created = cases.create_case(
        db,
        case(referrer_name=referrer),
        patient=patient(**names),
        actor=admin("t"),
        now=received,
        local_zone=VIENNA,
    )
    return created.id


@pytest.fixture
def report(db: Database) -> MonthlyReport:
    """A demo office, plus October cases whose names and money the exports must keep exact."""
    office.set_currency(db, "EUR", actor=admin())
    demo.generate(db, 250, seed=11, now=NOW)
    owing = _take_in(db, datetime(2026, 10, 3, 8, 0, tzinfo=UTC))  # Zoë Müller
    costs.add_line(
        db, owing, costs.LineDraft("Consultation", 2, 61725, LineKind.FINAL), actor=admin("t")
    )
    costs.add_payment(
        db,
        owing,
        costs.PaymentDraft(100001, date(2026, 10, 20), PaymentMethod.CASH),
        actor=admin("t"),
    )
    over = _take_in(db, datetime(2026, 10, 4, 9, 0, tzinfo=UTC), given_names="伟", family_name="李")
    costs.add_line(db, over, costs.LineDraft("Courier", 1, 6000, LineKind.FINAL), actor=admin("t"))
    costs.add_payment(
        db,
        over,
        costs.PaymentDraft(10000, date(2026, 10, 21), PaymentMethod.CASH),
        actor=admin("t"),
    )
    _take_in(
        db, datetime(2026, 10, 5, 10, 0, tzinfo=UTC), given_names="فاطمة", family_name="الزهراء"
    )
    _take_in(
        db,
        datetime(2026, 10, 6, 11, 0, tzinfo=UTC),
        referrer=INJECTIONS[1],
        given_names=HYPERLINK,
        family_name="Doe",
    )
    for day, referrer in ((7, INJECTIONS[2]), (8, INJECTIONS[3])):
        _take_in(db, datetime(2026, 10, day, 12, 0, tzinfo=UTC), referrer=referrer)
    return monthly_report(db, OCTOBER, now=NOW, zone=VIENNA, actor=manager())


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """Where the exports go, apart from the database's folder."""
    (tmp_path / "out").mkdir()
    return tmp_path / "out"


def _csv_rows(content: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(content.decode("utf-8-sig"), newline="")))


def _by_patient(report: MonthlyReport, name: str) -> int:
    return next(i for i, r in enumerate(report.rows) if r.patient == name)


def test_csv_is_the_case_list_in_utf8_with_a_bom_money_exact_and_times_local(
    report: MonthlyReport,
) -> None:
    content = csv_bytes(report)
    assert content.startswith(b"\xef\xbb\xbf")  # Excel on Windows reads it as UTF-8
    header, *rows = _csv_rows(content)
    assert header == HEADERS
    assert len(rows) == len(report.rows) > 10  # demo cases besides the hand-built ones
    assert [r[0] for r in rows] == [r.reference for r in report.rows]  # report order
    assert [r[1] for r in rows] == [neutralise(r.patient) for r in report.rows]
    for line, row in zip(rows, report.rows, strict=True):
        received = row.received_at.astimezone(VIENNA).strftime("%Y-%m-%d %H:%M")
        assert line[HEADERS.index("Received")] == received
        if row.intake is not None:
            assert line[HEADERS.index("Intake time (hours)")] == f"{hours(row.intake):.1f}"
        assert line[HEADERS.index("Balance (EUR)")] == f"{Decimal(row.balance_minor) / 100:.2f}"

    zoe = rows[_by_patient(report, "Zoë Müller")]
    assert zoe[HEADERS.index("Received")] == "2026-10-03 10:00"  # 08:00 UTC, summer time
    assert zoe[-3:] == ["1234.50", "1000.01", "234.49"]
    assert rows[_by_patient(report, "李伟")][-3:] == ["60.00", "100.00", "-40.00"]
    assert rows[_by_patient(report, "فاطمة الزهراء")][1] == "فاطمة الزهراء"
    # A case without an opinion yet: empty cells, not "None".
    assert zoe[HEADERS.index("Opinion delivered")] == "" and "None" not in zoe


def test_excel_cells_are_typed_with_a_frozen_filtered_header(
    db: Database, report: MonthlyReport, tmp_path: Path
) -> None:
    path = tmp_path / "October.xlsx"
    assert export_report(db, report, path, locale="de_DE", actor=manager()) is ExportFormat.XLSX
    book = openpyxl.load_workbook(path)
    assert book.sheetnames == ["Cases", "Figures"]
    sheet = book["Cases"]
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref == f"A1:R{len(report.rows) + 1}"
    assert [c.value for c in sheet[1]] == HEADERS
    assert all(c.font.b for c in sheet[1])

    lines = list(sheet.iter_rows(min_row=2))
    assert [line[0].value for line in lines] == [r.reference for r in report.rows]
    for line, row in zip(lines, report.rows, strict=True):
        for column, cell in zip(Column, line, strict=True):
            expected = cell_value(row, column, "EUR", VIENNA)
            if expected is None:
                assert cell.value is None, column
            elif column in TIME_COLUMNS:
                assert isinstance(cell.value, datetime) and cell.value == expected
                assert cell.number_format == "yyyy-mm-dd hh:mm"
            elif column in MONEY_COLUMNS:
                assert cell.data_type == "n" and Decimal(str(cell.value)) == expected
                assert cell.number_format == '#,##0.00 "EUR"'
            elif column in HOURS_COLUMNS:
                assert cell.value == expected and cell.number_format == "0.0"
            else:
                assert cell.data_type == "s" and cell.value == neutralise(str(expected)), column

    zoe = lines[_by_patient(report, "Zoë Müller")]
    assert [c.value for c in zoe[-3:]] == [1234.5, 1000.01, 234.49]
    assert lines[_by_patient(report, "李伟")][-1].value == -40  # a credit, still a number


def test_excel_figures_sheet_puts_the_month_beside_the_previous_and_a_year_before(
    report: MonthlyReport,
) -> None:
    book = openpyxl.load_workbook(io.BytesIO(xlsx_bytes(report)))
    sheet = book["Figures"]
    rows = {r[0].value: r for r in sheet.iter_rows() if r and r[0].value}
    assert [c.value for c in rows["Figure"][1:4]] == ["Oct 2026", "Sep 2026", "Oct 2025"]
    months = (report.figures, report.previous, report.year_before)
    assert [c.value for c in rows["Received"][1:4]] == [f.received for f in months]
    rate = rows["All cases"]
    assert rate[1].number_format == "0.0%"
    assert [c.value for c in rate[1:4]] == pytest.approx([f.on_time.rate for f in months])
    median = rows["Turnaround, median"]
    assert median[1].number_format == "0.0"
    assert median[1].value == round(report.figures.turnaround_median.total_seconds() / 3600, 1)
    charges = rows["Charges (final totals)"]
    assert charges[1].number_format == '#,##0.00 "EUR"'
    assert Decimal(str(charges[1].value)) == Decimal(report.figures.charges_minor) / 100
    confirmed = rows["Diagnosis: confirmed"]
    assert confirmed[1].data_type == "n" and confirmed[1].number_format == "0"
    assert confirmed[1].value == report.figures.diagnosis_concordance[Concordance.CONFIRMED]
    assert rows["Times (hours)"][0].font.b  # a section heading, naming the unit


def test_text_that_looks_like_a_formula_is_neutralised_in_csv_and_excel(
    report: MonthlyReport,
) -> None:
    texts = [cell for row in _csv_rows(csv_bytes(report))[1:] for cell in row[:7]]
    for attack in INJECTIONS:
        assert "'" + attack in texts
        assert attack not in texts
    assert "-40.00" in _csv_rows(csv_bytes(report))[1 + _by_patient(report, "李伟")]

    book = openpyxl.load_workbook(io.BytesIO(xlsx_bytes(report)))
    cells = [c for sheet in book for row in sheet.iter_rows() for c in row if c.value]
    quoted = {c.value: c for c in cells if isinstance(c.value, str) and c.value[1:] in INJECTIONS}
    assert set(quoted) == {"'" + a for a in INJECTIONS}
    assert all(c.data_type == "s" for c in quoted.values())
    assert not any(c.data_type == "f" for c in cells)
    # The referrers are neutralised in the figures too.
    figures = [c.value for row in book["Figures"].iter_rows() for c in row]
    assert {"'+1", "'-2+3", "'@SUM(A1)"} <= set(figures)


def test_an_empty_month_gives_a_header_and_zero_figures(db: Database, tmp_path: Path) -> None:
    office.set_currency(db, "EUR", actor=admin())
    empty = monthly_report(db, OCTOBER, now=NOW, zone=VIENNA, actor=manager())
    assert _csv_rows(csv_bytes(empty)) == [HEADERS]

    export_report(db, empty, tmp_path / "empty.xlsx", locale="en_GB", actor=manager())
    book = openpyxl.load_workbook(tmp_path / "empty.xlsx")
    sheet = book["Cases"]
    assert [[c.value for c in row] for row in sheet.iter_rows()] == [HEADERS]
    assert sheet.auto_filter.ref == "A1:R1"
    rows = {
        r[0].value: [c.value for c in r[1:4]] for r in book["Figures"].iter_rows() if r[0].value
    }
    assert rows["Received"] == [0, 0, 0]
    assert rows["All cases"] == [None, None, None]  # no rate of nothing
    assert rows["Turnaround, median"] == [None, None, None]
    assert rows["Charges (final totals)"] == [0, 0, 0]


def test_the_format_comes_from_the_extension_and_others_are_refused(tmp_path: Path) -> None:
    assert export_format("report.CSV") is ExportFormat.CSV
    assert export_format(tmp_path / "Oct.Xlsx") is ExportFormat.XLSX
    assert export_format("a.b.pdf") is ExportFormat.PDF
    with pytest.raises(ReportError) as refused:
        export_format("report.docx")
    assert all(part in str(refused.value) for part in (".docx", ".pdf", ".csv", ".xlsx"))
    with pytest.raises(ReportError, match=r"'report' has no extension.*\.pdf, \.csv or \.xlsx"):
        export_format("report")


def test_refused_extension_writes_nothing(db: Database, folder: Path) -> None:
    empty = monthly_report(db, OCTOBER, now=NOW, zone=VIENNA, actor=manager())
    with pytest.raises(ReportError):
        export_report(db, empty, folder / "report.docx", locale="en_GB", actor=manager())
    assert list(folder.iterdir()) == []


def test_suggested_name_carries_the_month(db: Database) -> None:
    empty = monthly_report(db, OCTOBER, now=NOW, zone=VIENNA, actor=manager())
    assert suggested_name(empty.month, ExportFormat.XLSX) == "monthly-report-2026-10.xlsx"
    assert suggested_name(empty.month, ExportFormat.CSV) == "monthly-report-2026-10.csv"


@pytest.mark.parametrize(
    ("currency", "expected"),
    [("EUR", '#,##0.00 "EUR"'), ("JPY", '#,##0 "JPY"'), ("KWD", '#,##0.000 "KWD"')],
)
def test_money_format_has_the_currency_s_decimal_places(currency: str, expected: str) -> None:
    assert money_format(currency) == expected


class Cancelled(Exception):
    pass


@pytest.mark.parametrize("name", ["report.csv", "report.xlsx"])
def test_a_cancel_midway_keeps_the_old_file_and_leaves_no_partial_one(
    db: Database, report: MonthlyReport, folder: Path, name: str
) -> None:
    # Enough rows for progress to be reported before the end.
    many = dataclasses.replace(report, rows=report.rows * (1200 // len(report.rows) + 1))
    target = folder / name
    target.write_bytes(b"last month's file")
    seen: list[tuple[int, int]] = []

    def cancel_midway(done: int, total: int) -> None:
        seen.append((done, total))
        if 0 < done < total:
            raise Cancelled

    with pytest.raises(Cancelled):
        export_report(db, many, target, locale="en_GB", actor=manager(), progress=cancel_midway)
    assert seen[-1][0] < len(many.rows)
    assert target.read_bytes() == b"last month's file"
    assert [p.name for p in folder.iterdir()] == [name]  # no .part file


def test_a_finished_export_replaces_the_old_file_and_reports_every_row(
    db: Database, report: MonthlyReport, folder: Path
) -> None:
    target = folder / "report.csv"
    target.write_bytes(b"last month's file")
    seen: list[tuple[int, int]] = []
    export_report(
        db,
        report,
        target,
        locale="en_GB",
        actor=manager(),
        progress=lambda d, t: seen.append((d, t)),
    )
    assert target.read_bytes() == csv_bytes(report)
    assert seen[0] == (0, len(report.rows)) and seen[-1] == (len(report.rows), len(report.rows))
    assert [p.name for p in folder.iterdir()] == ["report.csv"]


def test_a_pdf_name_is_saved_through_the_pdf_renderer(
    db: Database, report: MonthlyReport, folder: Path
) -> None:
    pytest.importorskip(
        "referral_desk.services.report_pdf", reason="the PDF renderer is not written yet"
    )
    target = folder / "October.PDF"
    assert export_report(db, report, target, locale="de_DE", actor=manager()) is ExportFormat.PDF
    assert target.read_bytes().startswith(b"%PDF")
    assert [p.name for p in folder.iterdir()] == ["October.PDF"]


def test_a_file_that_cannot_be_written_is_refused_plainly(
    db: Database, report: MonthlyReport, folder: Path
) -> None:
    with pytest.raises(ServiceError, match="Cannot write to"):
        export_report(
            db, report, folder / "no such folder" / "report.csv", locale="en_GB", actor=manager()
        )
    (folder / "report.xlsx").mkdir()  # a folder where the file should go
    with pytest.raises(ServiceError, match=r"Could not save 'report\.xlsx'"):
        export_report(db, report, folder / "report.xlsx", locale="en_GB", actor=manager())
    assert [p.name for p in folder.iterdir()] == ["report.xlsx"]  # no .part file
