"""The monthly report saved as a file: PDF to read, CSV for scripts, Excel for managers.

CSV and Excel hold the case list as a plain table (a header row, then one row per case) so a
spreadsheet can sort, filter and sum it; the month goes in the file name, not in a preamble.
Both are locale-free: dates 'YYYY-MM-DD HH:MM' in local time, money exact in the office
currency (named in the header), durations in hours. Text a spreadsheet could run as a formula
is neutralised. openpyxl and ReportLab load only when a file is made (start-up stays quick).
"""

from __future__ import annotations

import csv
import io
import os
import re
import unicodedata
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from referral_desk.domain.enums import Urgency, cancer_type_label
from referral_desk.domain.money import minor_digits, to_decimal
from referral_desk.domain.reports import (
    HOURS_COLUMNS,
    MONEY_COLUMNS,
    TIME_COLUMNS,
    Cell,
    Column,
    MonthFigures,
    MonthlyReport,
    ReportError,
    cell_value,
    comparison_keys,
    hours,
)
from referral_desk.domain.specialists import Concordance
from referral_desk.services.atomic import write_whole
from referral_desk.services.case_export import neutralise
from referral_desk.services.office import DEFAULT_OFFICE_NAME
from referral_desk.services.reports import Progress

if TYPE_CHECKING:
    from openpyxl.styles import Alignment, Font
    from openpyxl.worksheet.worksheet import Worksheet

K = TypeVar("K")

_PROGRESS_EVERY = 500  # rows: a smooth bar, and a cancel felt at once, for next to no cost
_DATE_FORMAT = "yyyy-mm-dd hh:mm"
_HOURS_FORMAT = "0.0"
_PERCENT_FORMAT = "0.0%"
# Control characters other than tab, line feed and carriage return cannot be stored in an
# .xlsx (openpyxl refuses the whole cell); a stray one pasted into a name is dropped.
_NOT_IN_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")
_MAX_WIDTH = 45  # characters; longer text is cut at the column's edge (the cell keeps it all)


class ExportFormat(StrEnum):
    PDF = "pdf"
    CSV = "csv"
    XLSX = "xlsx"


def export_format(path: str | os.PathLike[str]) -> ExportFormat:
    """The format the file name asks for, from its extension ('Report.XLSX' -> XLSX)."""
    target = Path(path)
    *others, last = (f".{f.value}" for f in ExportFormat)
    allowed = f"{', '.join(others)} or {last}"
    if not target.suffix:
        raise ReportError(f"'{target.name}' has no extension: end the file name in {allowed}.")
    try:
        return ExportFormat(target.suffix[1:].lower())
    except ValueError:
        raise ReportError(
            f"A report cannot be saved as '{target.suffix}': end the file name in {allowed}."
        ) from None


def suggested_name(report: MonthlyReport, fmt: ExportFormat) -> str:
    """'monthly-report-2026-10.xlsx': the month in the name, so saved reports sort by month."""
    return f"monthly-report-{report.month.iso}.{fmt.value}"


def header(column: Column, currency: str) -> str:
    """The column's heading in a file, with the unit its bare numbers are in."""
    if column in MONEY_COLUMNS:
        return f"{column.value} ({currency})"
    if column in HOURS_COLUMNS:
        return f"{column.value} (hours)"
    return column.value


def _table(report: MonthlyReport) -> Iterator[list[Cell]]:
    """The case list's typed cells, text already neutralised."""
    columns = list(Column)
    for row in report.rows:
        cells = [cell_value(row, c, report.currency, report.zone) for c in columns]
        yield [neutralise(v) if isinstance(v, str) else v for v in cells]


def _ticker(progress: Progress | None, total: int) -> Callable[[int], None]:
    def tick(done: int) -> None:
        if progress is not None and (done % _PROGRESS_EVERY == 0 or done == total):
            progress(done, total)

    return tick


# ---------------------------------------------------------------------------------- CSV


def _csv_text(value: Cell) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, Decimal):
        return f"{value:f}"  # exact, no grouping: '1234.50'
    if isinstance(value, float):
        return f"{value:.1f}"  # hours
    return str(value)


def csv_bytes(report: MonthlyReport, *, progress: Progress | None = None) -> bytes:
    """The case list as CSV in UTF-8 with a byte order mark: without it Excel reads the file
    in the Windows code page and garbles 'Zoë Müller' or '李伟'."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([header(c, report.currency) for c in Column])
    tick = _ticker(progress, len(report.rows))
    tick(0)
    for done, cells in enumerate(_table(report), start=1):
        writer.writerow([_csv_text(v) for v in cells])
        tick(done)
    return buffer.getvalue().encode("utf-8-sig")


# -------------------------------------------------------------------------------- Excel


def money_format(currency: str) -> str:
    """'#,##0.00 "EUR"': the currency's own decimal places (JPY none, KWD three)."""
    digits = minor_digits(currency)
    return f'#,##0{"." + "0" * digits if digits else ""} "{currency}"'


def _display_width(text: str) -> int:
    """Characters as a sheet shows them: Chinese, Japanese and Korean take two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def xlsx_bytes(report: MonthlyReport, *, progress: Progress | None = None) -> bytes:
    """The case list ('Cases') and the month's figures ('Figures') as an Excel workbook.

    Cells are typed: dates are dates, money numbers in the currency's format, durations
    hours. Built in memory (about 70 MB for 10,000 cases, as fast as openpyxl's streaming
    mode) rather than streamed: streaming puts patient names in temporary files that a
    cancel or a crash would leave behind.
    """
    from openpyxl import Workbook

    workbook = Workbook()
    workbook.properties.title = f"Monthly report, {report.month.label}"
    workbook.properties.creator = report.office_name or DEFAULT_OFFICE_NAME
    stamp = report.generated_at.replace(tzinfo=None)  # Excel's properties are UTC, zoneless
    workbook.properties.created = workbook.properties.modified = stamp
    cases = workbook.worksheets[0]
    cases.title = "Cases"
    _fill_cases(cases, report, progress)
    _fill_figures(workbook.create_sheet("Figures"), report)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def _put(
    sheet: Worksheet,
    row: int,
    column: int,
    value: Cell,
    number_format: str | None = None,
    *,
    font: Font | None = None,
    alignment: Alignment | None = None,
) -> None:
    if value is None:
        return
    if isinstance(value, str):
        value = _NOT_IN_XML.sub("", value)
    cell = sheet.cell(row, column, value)
    if isinstance(value, str):
        cell.data_type = "s"  # text stays text: never a formula, nor an error like '#N/A'
    if number_format:
        cell.number_format = number_format
    if font:
        cell.font = font
    if alignment:
        cell.alignment = alignment


def _fill_cases(sheet: Worksheet, report: MonthlyReport, progress: Progress | None) -> None:
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    columns = list(Column)
    bold = Font(bold=True)
    headers = [header(c, report.currency) for c in columns]
    for index, text in enumerate(headers, start=1):
        _put(sheet, 1, index, text, font=bold)
    formats = {c: money_format(report.currency) for c in MONEY_COLUMNS}
    formats |= {c: _DATE_FORMAT for c in TIME_COLUMNS} | {c: _HOURS_FORMAT for c in HOURS_COLUMNS}
    column_formats = [formats.get(c) for c in columns]
    # Text columns are as wide as their longest text; measure each distinct text once.
    texts: list[set[str]] = [set() for _ in columns]
    tick = _ticker(progress, len(report.rows))
    tick(0)
    for done, cells in enumerate(_table(report), start=1):
        for index, (value, number_format) in enumerate(zip(cells, column_formats, strict=True)):
            _put(sheet, done + 1, index + 1, value, number_format)
            if isinstance(value, str):
                texts[index].add(value)
        tick(done)

    fixed = {c: 17 for c in TIME_COLUMNS} | {c: 13 for c in MONEY_COLUMNS}
    for index, column in enumerate(columns):
        longest = fixed.get(column) or max(map(_display_width, texts[index]), default=0)
        # The heading needs room for the filter button too.
        width = max(longest, _display_width(headers[index]) + 3) + 1
        sheet.column_dimensions[get_column_letter(index + 1)].width = min(width, _MAX_WIDTH)
    sheet.freeze_panes = "A2"
    sheet.auto_filter.ref = f"A1:{get_column_letter(len(columns))}{len(report.rows) + 1}"
    sheet.print_title_rows = "1:1"  # printed, the header repeats on every page
    sheet.page_setup.orientation = "landscape"


def _fill_figures(sheet: Worksheet, report: MonthlyReport) -> None:
    """This month beside the month before and the same month a year earlier."""
    from openpyxl.styles import Alignment, Font

    bold, indent = Font(bold=True), Alignment(indent=1)
    months = (report.figures, report.previous, report.year_before)
    generated = report.generated_at.astimezone(report.zone).strftime("%Y-%m-%d %H:%M")
    office = report.office_name or DEFAULT_OFFICE_NAME
    title = neutralise(f"{office}: monthly report, {report.month.label}")
    _put(sheet, 1, 1, title, font=bold)
    _put(sheet, 2, 1, f"Made {generated}; balances and open cases as of then.")
    _put(sheet, 4, 1, "Figure", font=bold)
    for index, figures in enumerate(months, start=2):
        _put(sheet, 4, index, figures.month.short_label, font=bold)
    row = 5
    for section, lines in _figure_sections(months, report.currency):
        _put(sheet, row, 1, section, font=bold)
        row += 1
        for label, values, number_format in lines:
            _put(sheet, row, 1, neutralise(label), alignment=indent)
            for index, value in enumerate(values, start=2):
                _put(sheet, row, index, value, number_format)
            row += 1
    sheet.column_dimensions["A"].width = 46
    for letter in "BCD":
        sheet.column_dimensions[letter].width = 14
    sheet.freeze_panes = "B5"


_Line = tuple[str, list[Cell], str]


def _figure_sections(
    months: tuple[MonthFigures, MonthFigures, MonthFigures], currency: str
) -> list[tuple[str, list[_Line]]]:
    def counts(get: Callable[[MonthFigures], int]) -> list[Cell]:
        return [get(f) for f in months]

    def hours_of(get: Callable[[MonthFigures], Any]) -> list[Cell]:
        return [hours(get(f)) for f in months]

    def rate(get: Callable[[MonthFigures], Any]) -> list[Cell]:
        return [get(f).rate for f in months]

    in_currency = money_format(currency)

    def money(get: Callable[[MonthFigures], int]) -> list[Cell]:
        return [to_decimal(get(f), currency) for f in months]

    def breakdown(
        get: Callable[[MonthFigures], Mapping[K, int]], label: Callable[[K], str]
    ) -> list[_Line]:
        maps = [get(f) for f in months]
        return [(label(key), [m.get(key, 0) for m in maps], "0") for key in comparison_keys(*maps)]

    def concordance(get: Callable[[MonthFigures], Mapping[Concordance, int]]) -> list[_Line]:
        return [(c.label, [get(f).get(c, 0) for f in months], "0") for c in Concordance]

    on_time: list[_Line] = [("All cases", rate(lambda f: f.on_time), _PERCENT_FORMAT)]
    on_time += [
        (u.label, rate(lambda f, u=u: f.on_time_by_urgency[u]), _PERCENT_FORMAT) for u in Urgency
    ]
    on_time.append(
        ("Cases judged (on time, late or overdue)", counts(lambda f: f.on_time.judged), "0")
    )
    return [
        (
            "Cases",
            [
                ("Received", counts(lambda f: f.received), "0"),
                ("Completed (opinion delivered)", counts(lambda f: f.completed), "0"),
                ("Cancelled", counts(lambda f: f.cancelled), "0"),
                ("Still open", counts(lambda f: f.still_open), "0"),
            ],
        ),
        (
            "Times (hours)",
            [
                ("Turnaround, median", hours_of(lambda f: f.turnaround_median), _HOURS_FORMAT),
                (
                    "Turnaround, 90th percentile",
                    hours_of(lambda f: f.turnaround_p90),
                    _HOURS_FORMAT,
                ),
                ("Intake time, median", hours_of(lambda f: f.intake_median), _HOURS_FORMAT),
                ("Intake time, 90th percentile", hours_of(lambda f: f.intake_p90), _HOURS_FORMAT),
            ],
        ),
        ("On time", on_time),
        ("Diagnosis concordance", concordance(lambda f: f.diagnosis_concordance)),
        ("Treatment concordance", concordance(lambda f: f.treatment_concordance)),
        (
            f"Money ({currency})",
            [
                ("Charges (final totals)", money(lambda f: f.charges_minor), in_currency),
                ("Paid by these cases", money(lambda f: f.paid_minor), in_currency),
                ("Still owed by these cases", money(lambda f: f.balance_minor), in_currency),
                (
                    "Payments received in the month",
                    money(lambda f: f.payments_received_minor),
                    in_currency,
                ),
            ],
        ),
        ("By cancer type", breakdown(lambda f: f.by_cancer_type, cancer_type_label)),
        ("By referrer", breakdown(lambda f: f.by_referrer, lambda n: n or "No referrer recorded")),
        ("By specialist", breakdown(lambda f: f.by_specialist, lambda n: n or "Not assigned")),
        (
            "By reason (a case may give several)",
            breakdown(lambda f: f.by_reason, lambda r: r.label),
        ),
    ]


# ------------------------------------------------------------------------------- saving


def export_report(
    report: MonthlyReport,
    path: str | os.PathLike[str],
    *,
    locale: str,
    progress: Progress | None = None,
) -> ExportFormat:
    """Save the report in the format the extension names; the file is whole or absent.

    `locale` shapes the PDF's amounts; CSV and Excel are locale-free. `progress(done, total)`
    may raise to cancel: nothing is left behind, and a file already at `path` is kept.
    """
    fmt = export_format(path)
    if fmt is ExportFormat.PDF:
        from referral_desk.services.report_pdf import pdf_bytes

        content = pdf_bytes(report, locale=locale, progress=progress)
    elif fmt is ExportFormat.CSV:
        content = csv_bytes(report, progress=progress)
    else:
        content = xlsx_bytes(report, progress=progress)
    write_whole(Path(path), content)
    return fmt
