"""The monthly report's arithmetic: which cases a month holds, how long each took, whether the
office kept its promise, and the figures a manager compares month by month.

Pure data and functions; the service reads the cases and hands them here. A month is the
office's calendar month in local time (a case received at 00:30 on 1 November in Vienna
belongs to November, although it is still 31 October in UTC).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from decimal import Decimal
from enum import StrEnum
from typing import TypeVar

from referral_desk.domain.clock import ClockFacts, ClockPolicy, ClockState, read_clock
from referral_desk.domain.enums import CaseStatus, Reason, Urgency, cancer_type_label
from referral_desk.domain.money import format_amount, to_decimal
from referral_desk.domain.specialists import Concordance

K = TypeVar("K")

_MONTH = re.compile(r"\s*(\d{4})-(\d{1,2})\s*")
_MONTH_NAMES = (
    *("January", "February", "March", "April", "May", "June"),
    *("July", "August", "September", "October", "November", "December"),
)


class ReportError(ValueError):
    """A report request the office cannot answer (a malformed month, an unknown format)."""


@dataclass(frozen=True, order=True)
class Month:
    year: int
    month: int

    def __post_init__(self) -> None:
        if not 1 <= self.month <= 12:
            raise ReportError(f"There is no month {self.month}: months run from 01 to 12.")
        if not 1900 <= self.year <= 9998:
            raise ReportError(f"{self.year} is not a year the office can report on.")

    @classmethod
    def parse(cls, text: str) -> Month:
        """'2026-10' -> Month(2026, 10); anything else is refused with the expected form."""
        match = _MONTH.fullmatch(text)
        if not match:
            raise ReportError(f"'{text}' is not a month: write it as YYYY-MM, e.g. 2026-10.")
        return cls(int(match[1]), int(match[2]))

    @classmethod
    def of(cls, day: date) -> Month:
        return cls(day.year, day.month)

    def previous(self) -> Month:
        return Month(self.year - 1, 12) if self.month == 1 else Month(self.year, self.month - 1)

    def next(self) -> Month:
        return Month(self.year + 1, 1) if self.month == 12 else Month(self.year, self.month + 1)

    def year_before(self) -> Month:
        return Month(self.year - 1, self.month)

    @property
    def first_day(self) -> date:
        return date(self.year, self.month, 1)

    @property
    def last_day(self) -> date:
        return self.next().first_day - timedelta(days=1)

    @property
    def iso(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    @property
    def label(self) -> str:
        """'October 2026' (English, as the rest of the screens)."""
        return f"{_MONTH_NAMES[self.month - 1]} {self.year}"

    @property
    def short_label(self) -> str:
        """'Oct 2026', for column headings."""
        return f"{_MONTH_NAMES[self.month - 1][:3]} {self.year}"


def last_complete_month(today: date) -> Month:
    """The report's default: the month before the one we are in."""
    return Month.of(today).previous()


def check_begun(month: Month, today: date) -> None:
    """Refuse a month not yet begun; the month we are in may be reported on, so far."""
    if month > Month.of(today):
        raise ReportError(
            f"{month.label} has not begun yet; the newest month to report on is "
            f"{Month.of(today).label}, so far."
        )


def month_bounds(month: Month, zone: tzinfo | None) -> tuple[datetime, datetime]:
    """[start, end) of the month in UTC, the month's edges taken at local midnight.

    `zone` None means this computer's zone, as everywhere else on screen.
    """
    return _local_midnight(month.first_day, zone), _local_midnight(month.next().first_day, zone)


def _local_midnight(day: date, zone: tzinfo | None) -> datetime:
    naive = datetime.combine(day, time())
    local = naive.replace(tzinfo=zone) if zone is not None else naive.astimezone()
    return local.astimezone(UTC)


def local_day(moment: datetime, zone: tzinfo | None) -> date:
    return moment.astimezone(zone).date()


class Timeliness(StrEnum):
    """Whether the opinion came within the urgency's promised time."""

    ON_TIME = "on_time"
    LATE = "late"
    OVERDUE = "overdue"  # not yet delivered and already past due when the report was made
    PENDING = "pending"  # clock running or paused, not yet due
    NO_CLOCK = "no_clock"  # records never completed, or the case ended before the clock ran

    @property
    def label(self) -> str:
        return {
            "on_time": "On time",
            "late": "Late",
            "overdue": "Overdue",
            "pending": "Not yet due",
            "no_clock": "",
        }[self.value]

    @property
    def judged(self) -> bool:
        """Counts in the on-time rate: the promise was kept or already broken."""
        return self in (Timeliness.ON_TIME, Timeliness.LATE, Timeliness.OVERDUE)


def timeliness(facts: ClockFacts, now: datetime, policy: ClockPolicy) -> Timeliness:
    reading = read_clock(facts, now, policy)
    if reading.answered_margin is not None:
        return Timeliness.ON_TIME if reading.answered_margin >= timedelta(0) else Timeliness.LATE
    if reading.state in (ClockState.RUNNING, ClockState.PAUSED) and reading.remaining is not None:
        # A hold stops the clock, not a promise already broken before it.
        return Timeliness.OVERDUE if reading.remaining <= timedelta(0) else Timeliness.PENDING
    return Timeliness.NO_CLOCK


def turnaround(facts: ClockFacts) -> timedelta | None:
    """Records complete to opinion, time on hold in between taken out; None until both exist."""
    if facts.records_complete_at is None or facts.opinion_at is None:
        return None
    elapsed = facts.opinion_at - facts.records_complete_at - timedelta(seconds=facts.paused_seconds)
    return max(elapsed, timedelta(0))


def hold_overlap(
    holds: Iterable[tuple[datetime, datetime | None]], start: datetime, end: datetime
) -> timedelta:
    """How much of [start, end) the case spent on hold; an open hold runs to `end`."""
    total = timedelta(0)
    for hold_start, hold_end in holds:
        low = max(hold_start, start)
        high = min(hold_end or end, end)
        if high > low:
            total += high - low
    return total


def intake_time(
    received_at: datetime,
    records_complete_at: datetime | None,
    holds: Iterable[tuple[datetime, datetime | None]] = (),
) -> timedelta | None:
    """Received to records complete, time on hold (waiting for the patient) taken out."""
    if records_complete_at is None:
        return None
    elapsed = (
        records_complete_at - received_at - hold_overlap(holds, received_at, records_complete_at)
    )
    return max(elapsed, timedelta(0))


def percentile(values: Sequence[float], fraction: float) -> float | None:
    """Linear interpolation between closest ranks (Excel's PERCENTILE.INC, NumPy's default).

    percentile([1, 2, 3, 4], 0.5) == 2.5; one value is every percentile of itself.
    """
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * fraction
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def duration_percentile(values: Sequence[timedelta], fraction: float) -> timedelta | None:
    seconds = percentile([v.total_seconds() for v in values], fraction)
    return None if seconds is None else timedelta(seconds=round(seconds))


def describe_duration(value: timedelta | None) -> str:
    """'45 min', '5 h 20 min', '2 d 3 h'; '' for no value."""
    if value is None:
        return ""
    minutes = int(value.total_seconds() // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes} min"
    return f"{minutes} min"


def hours(value: timedelta | None) -> float | None:
    """Hours to one decimal, for spreadsheets (a number a manager can average)."""
    return None if value is None else round(value.total_seconds() / 3600, 1)


@dataclass(frozen=True)
class ReportRow:
    """One case received in the month, as the case list shows it."""

    case_id: int
    reference: str
    patient: str
    cancer_type: str  # code; `enums.cancer_type_label` for the name
    referrer: str  # "" when none was recorded
    urgency: Urgency
    specialist: str  # the current primary reviewer; "" when none
    status: CaseStatus
    received_at: datetime  # UTC
    records_complete_at: datetime | None
    opinion_at: datetime | None  # the opinion delivered to the office: the clock stops
    intake: timedelta | None
    turnaround: timedelta | None
    timeliness: Timeliness
    diagnosis_concordance: Concordance | None  # None: no opinion yet
    treatment_concordance: Concordance | None
    final_total_minor: int  # charged (final lines); quotes are not a final total
    paid_minor: int  # payments less refunds
    balance_minor: int  # still owed; negative = in credit
    reasons: tuple[Reason, ...] = ()

    @property
    def completed(self) -> bool:
        return self.opinion_at is not None and self.status is not CaseStatus.CANCELLED

    @property
    def cancelled(self) -> bool:
        return self.status is CaseStatus.CANCELLED


class Column(StrEnum):
    """The case list's columns, in order, shared by the screen and every export."""

    REFERENCE = "Reference"
    PATIENT = "Patient"
    CANCER_TYPE = "Cancer type"
    REFERRER = "Referrer"
    URGENCY = "Urgency"
    SPECIALIST = "Specialist"
    STATUS = "Status"
    RECEIVED = "Received"
    RECORDS_COMPLETE = "Records complete"
    OPINION_DELIVERED = "Opinion delivered"
    INTAKE = "Intake time"
    TURNAROUND = "Turnaround"
    ON_TIME = "On time"
    DIAGNOSIS_CONCORDANCE = "Diagnosis concordance"
    TREATMENT_CONCORDANCE = "Treatment concordance"
    FINAL_TOTAL = "Final total"
    PAID = "Paid"
    BALANCE = "Balance"


@dataclass(frozen=True)
class OnTimeRate:
    on_time: int
    judged: int  # on time + late + overdue

    @property
    def rate(self) -> float | None:
        return self.on_time / self.judged if self.judged else None


@dataclass(frozen=True)
class WeekCount:
    """Cases received in one Monday-to-Sunday week, cut to the month's days."""

    first_day: date
    last_day: date
    count: int

    @property
    def label(self) -> str:
        if self.first_day == self.last_day:
            return f"{self.first_day.day} {_MONTH_NAMES[self.first_day.month - 1][:3]}"
        month = _MONTH_NAMES[self.last_day.month - 1][:3]
        return f"{self.first_day.day}–{self.last_day.day} {month}"


# Turnaround distribution buckets, in hours: [low, high); the last one is open.
TURNAROUND_BUCKETS: tuple[tuple[int, int | None], ...] = (
    (0, 6),
    (6, 12),
    (12, 24),
    (24, 36),
    (36, 48),
    (48, 72),
    (72, None),
)


def bucket_label(low: int, high: int | None) -> str:
    return f"{low}–{high} h" if high is not None else f"{low} h or more"


@dataclass(frozen=True)
class MonthFigures:
    """What one month's cases add up to (the cases received in that month)."""

    month: Month
    received: int
    completed: int  # opinion delivered
    cancelled: int
    still_open: int  # neither: the case is still being worked on
    by_cancer_type: Mapping[str, int]  # code -> cases
    by_referrer: Mapping[str, int]  # name ("" none) -> cases
    by_specialist: Mapping[str, int]  # name ("" not assigned) -> cases
    by_reason: Mapping[Reason, int]  # a case may give several reasons
    turnaround_median: timedelta | None
    turnaround_p90: timedelta | None
    intake_median: timedelta | None
    intake_p90: timedelta | None
    on_time: OnTimeRate  # every urgency
    on_time_by_urgency: Mapping[Urgency, OnTimeRate]
    diagnosis_concordance: Mapping[Concordance, int]
    treatment_concordance: Mapping[Concordance, int]
    charges_minor: int  # final totals of the month's cases
    paid_minor: int  # what those cases have paid so far
    balance_minor: int  # what they still owe (credits netted)
    payments_received_minor: int  # money in during the month, for any case (cash view)


@dataclass(frozen=True)
class MonthlyReport:
    month: Month
    rows: tuple[ReportRow, ...]  # the month's case list, by received time
    figures: MonthFigures
    previous: MonthFigures  # the month before
    year_before: MonthFigures  # the same month a year earlier
    weeks: tuple[WeekCount, ...]  # the chart "cases per week"
    turnaround_histogram: tuple[int, ...]  # counts per TURNAROUND_BUCKETS
    office_name: str
    currency: str
    generated_at: datetime  # UTC; balances are as of this moment
    zone: tzinfo | None = field(default=None, compare=False)  # local time for display


def figures(
    month: Month,
    rows: Sequence[ReportRow],
    payments_received_minor: int,
) -> MonthFigures:
    delivered = [r for r in rows if r.completed]
    turnarounds = [r.turnaround for r in delivered if r.turnaround is not None]
    intakes = [r.intake for r in rows if r.intake is not None]
    reasons: Counter[Reason] = Counter()
    for row in rows:
        reasons.update(row.reasons)
    return MonthFigures(
        month=month,
        received=len(rows),
        completed=len(delivered),
        cancelled=sum(1 for r in rows if r.cancelled),
        still_open=sum(1 for r in rows if not r.completed and not r.cancelled),
        by_cancer_type=_most_first(Counter(r.cancer_type for r in rows)),
        by_referrer=_most_first(Counter(r.referrer for r in rows)),
        by_specialist=_most_first(Counter(r.specialist for r in rows)),
        by_reason=_most_first(reasons),
        turnaround_median=duration_percentile(turnarounds, 0.5),
        turnaround_p90=duration_percentile(turnarounds, 0.9),
        intake_median=duration_percentile(intakes, 0.5),
        intake_p90=duration_percentile(intakes, 0.9),
        on_time=_rate(rows),
        on_time_by_urgency={u: _rate([r for r in rows if r.urgency is u]) for u in Urgency},
        diagnosis_concordance=_concordance(r.diagnosis_concordance for r in delivered),
        treatment_concordance=_concordance(r.treatment_concordance for r in delivered),
        charges_minor=sum(r.final_total_minor for r in rows),
        paid_minor=sum(r.paid_minor for r in rows),
        balance_minor=sum(r.balance_minor for r in rows),
        payments_received_minor=payments_received_minor,
    )


def _most_first(counts: Counter[K]) -> dict[K, int]:
    return dict(sorted(counts.items(), key=lambda item: (-item[1], str(item[0]))))


def _rate(rows: Iterable[ReportRow]) -> OnTimeRate:
    judged = [r for r in rows if r.timeliness.judged]
    return OnTimeRate(sum(1 for r in judged if r.timeliness is Timeliness.ON_TIME), len(judged))


def _concordance(values: Iterable[Concordance | None]) -> dict[Concordance, int]:
    counts = Counter(v for v in values if v is not None)
    return {c: counts.get(c, 0) for c in Concordance}


def weeks(month: Month, received_days: Iterable[date]) -> tuple[WeekCount, ...]:
    """Cases per Monday-to-Sunday week, the first and last weeks cut at the month's edges."""
    counts = Counter(received_days)
    result: list[WeekCount] = []
    day = month.first_day
    while day <= month.last_day:
        end = min(day + timedelta(days=6 - day.weekday()), month.last_day)
        n = sum(counts.get(day + timedelta(days=i), 0) for i in range((end - day).days + 1))
        result.append(WeekCount(day, end, n))
        day = end + timedelta(days=1)
    return tuple(result)


def turnaround_histogram(values: Iterable[timedelta]) -> tuple[int, ...]:
    counts = [0] * len(TURNAROUND_BUCKETS)
    for value in values:
        h = value.total_seconds() / 3600
        for i, (low, high) in enumerate(TURNAROUND_BUCKETS):
            if h >= low and (high is None or h < high):
                counts[i] += 1
                break
    return tuple(counts)


def comparison_keys(*mappings: Mapping[K, int]) -> list[K]:
    """Every category any of the months has, this month's largest first, then the others'."""
    seen: dict[K, None] = {}
    for mapping in mappings:
        for key in mapping:
            seen.setdefault(key, None)
    first = mappings[0] if mappings else {}
    return sorted(seen, key=lambda k: (-first.get(k, 0), -sum(m.get(k, 0) for m in mappings)))


Cell = str | int | Decimal | float | datetime | None


def cell_value(row: ReportRow, column: Column, currency: str, zone: tzinfo | None) -> Cell:
    """The cell as a spreadsheet should type it: local date-times without a zone (Excel has
    none), money as exact Decimal in major units, times in hours, None for an empty cell."""
    match column:
        case Column.REFERENCE:
            return row.reference
        case Column.PATIENT:
            return row.patient
        case Column.CANCER_TYPE:
            return cancer_type_label(row.cancer_type)
        case Column.REFERRER:
            return row.referrer or None
        case Column.URGENCY:
            return row.urgency.label
        case Column.SPECIALIST:
            return row.specialist or None
        case Column.STATUS:
            return row.status.label
        case Column.RECEIVED:
            return _naive_local(row.received_at, zone)
        case Column.RECORDS_COMPLETE:
            return _naive_local(row.records_complete_at, zone)
        case Column.OPINION_DELIVERED:
            return _naive_local(row.opinion_at, zone)
        case Column.INTAKE:
            return hours(row.intake)
        case Column.TURNAROUND:
            return hours(row.turnaround)
        case Column.ON_TIME:
            return row.timeliness.label or None
        case Column.DIAGNOSIS_CONCORDANCE:
            return row.diagnosis_concordance.label if row.diagnosis_concordance else None
        case Column.TREATMENT_CONCORDANCE:
            return row.treatment_concordance.label if row.treatment_concordance else None
        case Column.FINAL_TOTAL:
            return to_decimal(row.final_total_minor, currency)
        case Column.PAID:
            return to_decimal(row.paid_minor, currency)
        case Column.BALANCE:
            return to_decimal(row.balance_minor, currency)


MONEY_COLUMNS = frozenset({Column.FINAL_TOTAL, Column.PAID, Column.BALANCE})
TIME_COLUMNS = frozenset({Column.RECEIVED, Column.RECORDS_COMPLETE, Column.OPINION_DELIVERED})
HOURS_COLUMNS = frozenset({Column.INTAKE, Column.TURNAROUND})


def cell_text(
    row: ReportRow, column: Column, currency: str, locale: str, zone: tzinfo | None
) -> str:
    """The cell as the screen and the PDF show it: '2026-10-03 14:05', '5 h 20 min',
    '1.234,50 €' in de_DE."""
    if column in MONEY_COLUMNS:
        minor = {
            Column.FINAL_TOTAL: row.final_total_minor,
            Column.PAID: row.paid_minor,
            Column.BALANCE: row.balance_minor,
        }[column]
        return format_amount(minor, currency, locale)
    if column is Column.INTAKE:
        return describe_duration(row.intake)
    if column is Column.TURNAROUND:
        return describe_duration(row.turnaround)
    value = cell_value(row, column, currency, zone)
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    return "" if value is None else str(value)


def _naive_local(moment: datetime | None, zone: tzinfo | None) -> datetime | None:
    return moment.astimezone(zone).replace(tzinfo=None, second=0, microsecond=0) if moment else None
