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
from collections.abc import Callable, Iterator
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

from referral_desk.db.engine import Database
from referral_desk.domain.access import Actor, Permission
from referral_desk.domain.audit import AuditAction
from referral_desk.domain.money import minor_digits, to_decimal
from referral_desk.domain.report_figures import (
    FigureKind,
    FigureSection,
    FigureValue,
    figure_sections,
)
from referral_desk.domain.reports import (
    HOURS_COLUMNS,
    MONEY_COLUMNS,
    TIME_COLUMNS,
    Cell,
    Column,
    Month,
    MonthlyReport,
    ReportError,
    cell_value,
)
from referral_desk.services.acting import acting, check, record
from referral_desk.services.atomic import write_whole
from referral_desk.services.case_export import neutralise
from referral_desk.services.office import DEFAULT_OFFICE_NAME
from referral_desk.services.reports import Progress

if TYPE_CHECKING:
    from openpyxl.styles import Alignment, Font
    from openpyxl.worksheet.worksheet import Worksheet

EXPORT_WORDS = "export a report"  # "A staff cannot ..."
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


def suggested_name(month: Month, fmt: ExportFormat) -> str:
    """'monthly-report-2026-10.xlsx': the month in the name, so saved reports sort by month."""
    return f"monthly-report-{month.iso}.{fmt.value}"


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
    """The shared figure table (`domain.report_figures`): this month beside the month before
    and the same month a year earlier, every breakdown entry, typed cells."""
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
    formats = {
        FigureKind.COUNT: "0",
        FigureKind.SHARE: "0",
        FigureKind.RATE: _PERCENT_FORMAT,
        FigureKind.DURATION: _HOURS_FORMAT,
        FigureKind.MONEY: money_format(report.currency),
    }
    row = 5
    for section in figure_sections(report):
        _put(sheet, row, 1, neutralise(section.title + _unit(section)), font=bold)
        row += 1
        for line in section.lines:
            _put(sheet, row, 1, neutralise(line.label), alignment=indent)
            for index, value in enumerate(line.values, start=2):
                _put(sheet, row, index, _figure_cell(value, report.currency), formats[value.kind])
            row += 1
    sheet.column_dimensions["A"].width = 46
    for letter in "BCD":
        sheet.column_dimensions[letter].width = 14
    sheet.freeze_panes = "B5"


def _unit(section: FigureSection) -> str:
    """' (hours)' after a heading over durations: the cells are bare numbers. (Money cells
    name their currency in their format, rates show '%'.)"""
    if section.lines and all(v.kind is FigureKind.DURATION for v in section.lines[0].values):
        return " (hours)"
    return ""


def _figure_cell(value: FigureValue, currency: str) -> Cell:
    """A figure as a number a spreadsheet can sum: a share as its count, a rate as a
    fraction, a duration in hours, money exact; empty where there is no value."""
    match value.kind:
        case FigureKind.COUNT | FigureKind.SHARE:
            return value.number
        case FigureKind.RATE:
            return value.fraction
        case FigureKind.DURATION:
            return value.hours
        case FigureKind.MONEY:
            return to_decimal(value.number, currency)


# ------------------------------------------------------------------------------- saving


def export_report(
    db: Database,
    report: MonthlyReport,
    path: str | os.PathLike[str],
    *,
    actor: Actor,
    locale: str,
    progress: Progress | None = None,
) -> ExportFormat:
    """Save the report in the format the extension names; the file is whole or absent.

    `locale` shapes the PDF's amounts; CSV and Excel are locale-free. `progress(done, total)`
    may raise to cancel: nothing is left behind, and a file already at `path` is kept. The
    export is in the audit trail: the file holds every case of the month.
    """
    check(actor, Permission.REPORTS, EXPORT_WORDS)  # before the rendering
    fmt = export_format(path)
    if fmt is ExportFormat.PDF:
        from referral_desk.services.report_pdf import pdf_bytes

        content = pdf_bytes(report, locale=locale, progress=progress)
    elif fmt is ExportFormat.CSV:
        content = csv_bytes(report, progress=progress)
    else:
        content = xlsx_bytes(report, progress=progress)
    target = Path(path)
    write_whole(target, content)
    with acting(db, actor, Permission.REPORTS, EXPORT_WORDS) as session:
        record(
            session,
            actor,
            AuditAction.EXPORT,
            "report",
            detail=f"monthly report {report.month.iso} as {fmt.value.upper()} to {target.name}",
        )
        session.commit()
    return fmt
