"""The monthly report as a PDF: `MonthlyReport` written out as the renderer's plain document.

Every text is decided here; `pdf.monthly_report` only lays it out. The figures are the shared
table of `domain.report_figures` and the case list's cells the screen's (`reports.cell_text`),
so the printout, the Reports screen and the Excel file agree.
"""

from __future__ import annotations

from collections.abc import Callable
from operator import attrgetter

from referral_desk.domain.money import format_amount, normalise_locale
from referral_desk.domain.report_figures import (
    FigureSection,
    count_text,
    figure_sections,
    percent_text,
    value_text,
)
from referral_desk.domain.reports import (
    TURNAROUND_BUCKETS,
    Column,
    MonthlyReport,
    ReportRow,
    bucket_label,
    cell_text,
)
from referral_desk.domain.specialists import Concordance
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
from referral_desk.services.office import DEFAULT_OFFICE_NAME

Progress = Callable[[int, int], None]

TITLE = "Monthly report"
TOP_ENTRIES = 10  # per breakdown; the rest are summed on an "Other" line
PROGRESS_EVERY = 250  # rows

# The case list's columns: widths in points on landscape A4 (the renderer scales them to the
# page), each about its longest usual text at the list's size; a longer name is cut with "…".
_WIDTHS: dict[Column, float] = {
    Column.REFERENCE: 44,
    Column.PATIENT: 72,
    Column.CANCER_TYPE: 52,
    Column.REFERRER: 58,
    Column.URGENCY: 27,
    Column.SPECIALIST: 55,
    Column.STATUS: 48,
    Column.RECEIVED: 48.5,
    Column.RECORDS_COMPLETE: 48.5,
    Column.OPINION_DELIVERED: 48.5,
    Column.INTAKE: 35,
    Column.TURNAROUND: 37,
    Column.ON_TIME: 34,
    Column.DIAGNOSIS_CONCORDANCE: 40,
    Column.TREATMENT_CONCORDANCE: 40,
    Column.FINAL_TOTAL: 36,
    Column.PAID: 36,
    Column.BALANCE: 36,
}
_RIGHT = frozenset({Column.FINAL_TOTAL, Column.PAID, Column.BALANCE})
_MONEY: dict[Column, Callable[[ReportRow], int]] = {
    Column.FINAL_TOTAL: attrgetter("final_total_minor"),
    Column.PAID: attrgetter("paid_minor"),
    Column.BALANCE: attrgetter("balance_minor"),
}


def pdf_bytes(report: MonthlyReport, *, locale: str, progress: Progress | None = None) -> bytes:
    """The report as PDF bytes; the same report (and locale) always gives the same bytes.

    `progress(done, total)` is called every few hundred rows, first while the case list is
    written out, then while it is drawn; it may raise to cancel.
    """
    rows = len(report.rows)
    doc = document(report, locale=locale, progress=progress)
    if progress is None:
        return render_report(doc)

    def drawn(done: int, _total: int) -> None:
        progress(rows + done, 2 * rows)

    return render_report(doc, progress=drawn)


def document(
    report: MonthlyReport, *, locale: str, progress: Progress | None = None
) -> ReportDocument:
    """What the PDF says, every text written out in `locale`."""
    locale = normalise_locale(locale)
    figures = report.figures
    month = report.month
    office = report.office_name or DEFAULT_OFFICE_NAME
    stamp = report.generated_at.astimezone(report.zone).strftime("%Y-%m-%d %H:%M")
    notice = "" if figures.received else f"No cases were received in {month.label}."
    sections = figure_sections(report, breakdown_limit=TOP_ENTRIES)
    return ReportDocument(
        title=TITLE,
        office_name=office,
        subtitle=month.label,
        as_of=f"As of {stamp}: cases still open and balances change after this.",
        comparison=(
            month.short_label,
            report.previous.month.short_label,
            report.year_before.month.short_label,
        ),
        summary=(
            *(_table(s, report.currency, locale) for s in sections if not s.breakdown),
            *_charts(report, locale),
            *(_table(s, report.currency, locale) for s in sections if s.breakdown),
        ),
        case_list=_case_list(report, locale, progress),
        notice=notice,
        author=office,
        subject=f"Cases received in {month.label}: figures, charts and the case list",
        created_at=report.generated_at,
    )


def _table(section: FigureSection, currency: str, locale: str) -> FigureTable:
    """A section of the shared figure table, this month beside the two compared with."""
    return FigureTable(
        section.title,
        tuple(
            FigureRow(
                line.label,
                tuple(value_text(v, currency=currency, locale=locale) for v in line.values),
            )
            for line in section.lines
        ),
        note=section.note,
    )


def _charts(report: MonthlyReport, locale: str) -> tuple[ChartRow, ...]:
    weeks = Chart(
        "Cases received per week",
        ChartKind.COLUMNS,
        tuple(week.label for week in report.weeks),
        (Series("Cases", tuple(week.count for week in report.weeks)),),
        axis_label="Cases",
        empty_text="No cases were received.",
    )
    turnaround = Chart(
        "Turnaround (records complete to opinion)",
        ChartKind.HISTOGRAM,
        tuple(bucket_label(low, high) for low, high in TURNAROUND_BUCKETS),
        (Series("Opinions", report.turnaround_histogram),),
        axis_label="Opinions",
        empty_text="No opinions were delivered.",
    )
    figures = report.figures
    diagnosed = sum(figures.diagnosis_concordance.values())
    treated = sum(figures.treatment_concordance.values())
    mix = Chart(
        "Concordance with the first opinion",
        ChartKind.SHARES,
        ("Diagnosis", "Treatment"),
        tuple(
            Series(
                c.label,
                (figures.diagnosis_concordance[c], figures.treatment_concordance[c]),
                (
                    percent_text(figures.diagnosis_concordance[c], diagnosed, locale),
                    percent_text(figures.treatment_concordance[c], treated, locale),
                ),
            )
            for c in Concordance
        ),
        empty_text="No opinions were delivered.",
    )
    return ChartRow((weeks, turnaround)), ChartRow((mix,))


def _case_list(report: MonthlyReport, locale: str, progress: Progress | None) -> CaseList:
    columns = tuple(Column)
    total = len(report.rows)
    money_cache: dict[int, str] = {}
    currency, zone = report.currency, report.zone

    def money(minor: int) -> str:
        # Babel takes about 20 µs an amount, and amounts repeat (fees): format each once.
        formatted = money_cache.get(minor)
        if formatted is None:
            formatted = money_cache[minor] = format_amount(minor, currency, locale)
        return formatted

    def cells(row: ReportRow) -> tuple[str, ...]:
        return tuple(
            money(_MONEY[column](row))
            if column in _MONEY
            else cell_text(row, column, currency, locale, zone)
            for column in columns
        )

    rows: list[tuple[str, ...]] = []
    for index, row in enumerate(report.rows):
        if progress is not None and index % PROGRESS_EVERY == 0:
            progress(index, 2 * total)
        rows.append(cells(row))
    if progress is not None:
        progress(total, 2 * total)
    n = report.figures.received
    return CaseList(
        heading=f"Case list: {count_text(n, locale)} {'case' if n == 1 else 'cases'} received in "
        f"{report.month.label}",
        columns=tuple(ListColumn(c.value, _WIDTHS[c], c in _RIGHT) for c in columns),
        rows=tuple(rows),
    )
