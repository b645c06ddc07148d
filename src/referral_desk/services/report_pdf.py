"""The monthly report as a PDF: `MonthlyReport` written out as the renderer's plain document.

Every text is decided here (labels, counts and amounts in the user's locale, "—" for no
value); `pdf.monthly_report` only lays it out. The case list's cells are the screen's
(`reports.cell_text`), so the printout and the Reports screen agree.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import timedelta
from operator import attrgetter
from typing import TypeVar

from babel.numbers import format_decimal, format_percent

from referral_desk.domain.enums import Reason, Urgency, cancer_type_label
from referral_desk.domain.money import format_amount, normalise_locale
from referral_desk.domain.reports import (
    TURNAROUND_BUCKETS,
    Column,
    MonthFigures,
    MonthlyReport,
    OnTimeRate,
    ReportRow,
    bucket_label,
    cell_text,
    comparison_keys,
    describe_duration,
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
K = TypeVar("K")

TITLE = "Monthly report"
NO_VALUE = "—"
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
    text = _Texts(report, locale)
    figures = report.figures
    month = report.month
    office = report.office_name or DEFAULT_OFFICE_NAME
    stamp = report.generated_at.astimezone(report.zone).strftime("%Y-%m-%d %H:%M")
    notice = "" if figures.received else f"No cases were received in {month.label}."
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
            *text.headline_tables(),
            *_charts(report),
            *text.breakdowns(),
        ),
        case_list=_case_list(report, locale, text.count, progress),
        notice=notice,
        author=office,
        subject=f"Cases received in {month.label}: figures, charts and the case list",
        created_at=report.generated_at,
    )


class _Texts:
    """The figure tables: this month, the month before and the same month a year earlier."""

    def __init__(self, report: MonthlyReport, locale: str) -> None:
        self.report, self.locale = report, locale
        self.months = (report.figures, report.previous, report.year_before)

    def count(self, n: int) -> str:
        return str(format_decimal(n, locale=self.locale))

    def percent(self, part: int, whole: int) -> str:
        """Whole percent, never 0 % or 100 % unless it is exactly that."""
        share = round(100 * part / whole)
        if share == 100 and part < whole:
            share = 99
        elif share == 0 and part > 0:
            share = 1
        return str(format_percent(share / 100, locale=self.locale))

    def money(self, minor: int) -> str:
        return format_amount(minor, self.report.currency, self.locale)

    def duration(self, value: timedelta | None) -> str:
        return describe_duration(value) or NO_VALUE

    def rate(self, rate: OnTimeRate) -> str:
        if not rate.judged:
            return NO_VALUE
        share = self.percent(rate.on_time, rate.judged)
        return f"{share} ({self.count(rate.on_time)} of {self.count(rate.judged)})"

    def row(
        self, label: str, value: Callable[[MonthFigures], str], indent: bool = False
    ) -> FigureRow:
        return FigureRow(label, tuple(value(m) for m in self.months), indent)

    def headline_tables(self) -> tuple[FigureTable, ...]:
        cases = FigureTable(
            "Cases",
            (
                self.row("Received", lambda m: self.count(m.received)),
                self.row("Completed (opinion delivered)", lambda m: self.count(m.completed)),
                self.row("Cancelled", lambda m: self.count(m.cancelled)),
                self.row("Still open", lambda m: self.count(m.still_open)),
            ),
            note="The cases received in each month; still open as of the report's date.",
        )
        times = FigureTable(
            "Times",
            (
                self.row("Turnaround, median", lambda m: self.duration(m.turnaround_median)),
                self.row("Turnaround, 90th percentile", lambda m: self.duration(m.turnaround_p90)),
                self.row("Intake time, median", lambda m: self.duration(m.intake_median)),
                self.row("Intake time, 90th percentile", lambda m: self.duration(m.intake_p90)),
            ),
            note="Turnaround: records complete to opinion delivered. Intake: received to records "
            "complete. Time on hold is left out of both.",
        )
        on_time = FigureTable(
            "Opinions on time",
            (
                self.row("All cases", lambda m: self.rate(m.on_time)),
                *(
                    self.row(u.label, lambda m, u=u: self.rate(m.on_time_by_urgency[u]), True)
                    for u in Urgency
                ),
            ),
            note="Against each urgency's promised time; cases not yet due are not counted.",
        )
        concordance = FigureTable(
            "Concordance with the first opinion",
            (
                FigureRow("Diagnosis"),
                *self.mix(lambda m: m.diagnosis_concordance),
                FigureRow("Treatment"),
                *self.mix(lambda m: m.treatment_concordance),
            ),
            note="Opinions delivered for the month's cases.",
        )
        money = FigureTable(
            "Money",
            (
                self.row("Charged (final totals)", lambda m: self.money(m.charges_minor)),
                self.row("Paid so far", lambda m: self.money(m.paid_minor)),
                self.row("Balance outstanding", lambda m: self.money(m.balance_minor)),
                self.row(
                    "Payments received in the month",
                    lambda m: self.money(m.payments_received_minor),
                ),
            ),
            note="Charged, paid and balance: the month's cases, as of the report's date. "
            "Payments received: money in during the month, for any case.",
        )
        return cases, times, on_time, concordance, money

    def mix(self, counts: Callable[[MonthFigures], Mapping[Concordance, int]]) -> list[FigureRow]:
        def share(m: MonthFigures, c: Concordance) -> str:
            values = counts(m)
            whole = sum(values.values())
            if not whole:
                return NO_VALUE
            return f"{self.count(values[c])} ({self.percent(values[c], whole)})"

        return [self.row(c.label, lambda m, c=c: share(m, c), True) for c in Concordance]

    def breakdowns(self) -> tuple[FigureTable, ...]:
        return (
            self.breakdown("By cancer type", lambda m: m.by_cancer_type, cancer_type_label),
            self.breakdown("By referrer", lambda m: m.by_referrer, _referrer),
            self.breakdown("By specialist", lambda m: m.by_specialist, _specialist),
            self.breakdown(
                "By reason for the second opinion",
                lambda m: m.by_reason,
                _reason,
                note="A case may give several reasons.",
            ),
        )

    def breakdown(
        self,
        heading: str,
        counts: Callable[[MonthFigures], Mapping[K, int]],
        label: Callable[[K], str],
        note: str = "",
    ) -> FigureTable:
        mappings = [counts(m) for m in self.months]
        keys = comparison_keys(*mappings)
        if len(keys) > TOP_ENTRIES + 1:  # an "Other" line for one entry would hide its name
            shown, rest = keys[:TOP_ENTRIES], keys[TOP_ENTRIES:]
        else:
            shown, rest = keys, []
        rows = [
            FigureRow(label(key), tuple(self.count(m.get(key, 0)) for m in mappings))
            for key in shown
        ]
        if rest:
            rows.append(
                FigureRow(
                    f"Other ({len(rest)} more)",
                    tuple(self.count(sum(m.get(key, 0) for key in rest)) for m in mappings),
                )
            )
        if not rows:
            rows.append(FigureRow("No cases", tuple(self.count(0) for _ in mappings)))
        return FigureTable(heading, tuple(rows), note)


def _referrer(name: str) -> str:
    return name or "No referrer recorded"


def _specialist(name: str) -> str:
    return name or "Not assigned"


def _reason(reason: Reason) -> str:
    return reason.label


def _charts(report: MonthlyReport) -> tuple[ChartRow, ...]:
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
    mix = Chart(
        "Concordance with the first opinion",
        ChartKind.SHARES,
        ("Diagnosis", "Treatment"),
        tuple(
            Series(
                c.label,
                (figures.diagnosis_concordance[c], figures.treatment_concordance[c]),
            )
            for c in Concordance
        ),
        empty_text="No opinions were delivered.",
    )
    return ChartRow((weeks, turnaround)), ChartRow((mix,))


def _case_list(
    report: MonthlyReport, locale: str, count: Callable[[int], str], progress: Progress | None
) -> CaseList:
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
        heading=f"Case list: {count(n)} {'case' if n == 1 else 'cases'} received in "
        f"{report.month.label}",
        columns=tuple(ListColumn(c.value, _WIDTHS[c], c in _RIGHT) for c in columns),
        rows=tuple(rows),
    )
