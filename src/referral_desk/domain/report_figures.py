"""The monthly report's figures as one table: which figures, in which order, under which
words, with which raw values for this month, the month before and the same month a year
earlier.

The Reports screen, the PDF and the Excel sheet all read this table, so the three list the
same figures the same way; each only decides how a value looks (text, or a typed cell).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from typing import TypeVar

from babel.numbers import format_decimal, format_percent

from referral_desk.domain.clock import DEFAULT_POLICY, ClockPolicy
from referral_desk.domain.enums import Urgency, cancer_type_label
from referral_desk.domain.money import format_amount, normalise_locale
from referral_desk.domain.reports import (
    MonthFigures,
    MonthlyReport,
    OnTimeRate,
    comparison_keys,
    describe_duration,
    hours,
)
from referral_desk.domain.specialists import Concordance

K = TypeVar("K")

NO_VALUE = "—"
NO_REFERRER = "No referrer recorded"
NOT_ASSIGNED = "Not assigned"


class FigureKind(StrEnum):
    COUNT = "count"  # cases: 206
    SHARE = "share"  # a count of a whole: "151 (79%)" of the opinions delivered
    RATE = "rate"  # on time of the cases judged: "84% (124 of 148)"; none when none judged
    DURATION = "duration"  # a median or percentile; none when nothing was measured
    MONEY = "money"  # minor units of the report's currency


@dataclass(frozen=True)
class FigureValue:
    """One figure in one month, raw: each consumer formats or types it itself."""

    kind: FigureKind
    number: int = 0  # COUNT: the count; SHARE: the part; RATE: on time; MONEY: minor units
    whole: int = 0  # SHARE: what the part is of; RATE: the cases judged
    duration: timedelta | None = None  # DURATION

    @classmethod
    def of_count(cls, n: int) -> FigureValue:
        return cls(FigureKind.COUNT, n)

    @classmethod
    def of_share(cls, part: int, whole: int) -> FigureValue:
        return cls(FigureKind.SHARE, part, whole)

    @classmethod
    def of_rate(cls, rate: OnTimeRate) -> FigureValue:
        return cls(FigureKind.RATE, rate.on_time, rate.judged)

    @classmethod
    def of_duration(cls, value: timedelta | None) -> FigureValue:
        return cls(FigureKind.DURATION, duration=value)

    @classmethod
    def of_money(cls, minor: int) -> FigureValue:
        return cls(FigureKind.MONEY, minor)

    @property
    def missing(self) -> bool:
        """No value at all (a median of nothing, a rate with nothing judged); a count of
        nothing is 0, not missing."""
        if self.kind is FigureKind.DURATION:
            return self.duration is None
        return self.kind is FigureKind.RATE and not self.whole

    @property
    def fraction(self) -> float | None:
        """A share's or rate's part of its whole, 0.0 to 1.0; None when the whole is 0."""
        if self.kind not in (FigureKind.SHARE, FigureKind.RATE) or not self.whole:
            return None
        return self.number / self.whole

    @property
    def hours(self) -> float | None:
        """A duration in hours to one decimal, for spreadsheets."""
        return hours(self.duration) if self.kind is FigureKind.DURATION else None


Values = tuple[FigureValue, FigureValue, FigureValue]


@dataclass(frozen=True)
class FigureLine:
    label: str
    values: Values  # the month reported, the month before, the same month a year earlier
    tip: str = ""  # what the figure counts, for a tooltip


@dataclass(frozen=True)
class FigureSection:
    title: str
    lines: tuple[FigureLine, ...]
    note: str = ""  # what the section's figures count, printed under a table
    breakdown: bool = False  # cases by a category: printed after the charts


def figure_sections(
    report: MonthlyReport,
    *,
    breakdown_limit: int | None = None,
    policy: ClockPolicy = DEFAULT_POLICY,
) -> tuple[FigureSection, ...]:
    """Every figure of the month beside the two months it is compared with, in order.

    `breakdown_limit` keeps the first so many entries of each breakdown and sums the rest
    on an "Other (n more)" line (only when that hides two or more: one hidden entry might
    as well be named). A breakdown no month has entries in is left out.
    """
    months = (report.figures, report.previous, report.year_before)

    def line(label: str, value: Callable[[MonthFigures], FigureValue], tip: str = "") -> FigureLine:
        return FigureLine(label, (value(months[0]), value(months[1]), value(months[2])), tip)

    def count(n: Callable[[MonthFigures], int]) -> Callable[[MonthFigures], FigureValue]:
        return lambda f: FigureValue.of_count(n(f))

    def money(minor: Callable[[MonthFigures], int]) -> Callable[[MonthFigures], FigureValue]:
        return lambda f: FigureValue.of_money(minor(f))

    def duration(
        value: Callable[[MonthFigures], timedelta | None],
    ) -> Callable[[MonthFigures], FigureValue]:
        return lambda f: FigureValue.of_duration(value(f))

    cases = FigureSection(
        "Cases",
        (
            line("Received", count(lambda f: f.received)),
            line("Completed (opinion delivered)", count(lambda f: f.completed)),
            line("Cancelled", count(lambda f: f.cancelled)),
            line(
                "Still open",
                count(lambda f: f.still_open),
                "Neither delivered nor cancelled, as of the report time",
            ),
        ),
        note="The cases received in each month; still open as of the report time.",
    )

    turnaround_tip = "Records complete to opinion, time on hold left out"
    intake_tip = "Received to records complete, time on hold left out"
    times = FigureSection(
        "Times",
        (
            line("Turnaround, median", duration(lambda f: f.turnaround_median), turnaround_tip),
            line(
                "Turnaround, 90th percentile",
                duration(lambda f: f.turnaround_p90),
                turnaround_tip,
            ),
            line("Intake time, median", duration(lambda f: f.intake_median), intake_tip),
            line("Intake time, 90th percentile", duration(lambda f: f.intake_p90), intake_tip),
        ),
        note="Turnaround: records complete to opinion. Intake: received to records complete. "
        "Time on hold is left out of both.",
    )

    def by_urgency(urgency: Urgency) -> FigureLine:
        target = int(policy.target(urgency).total_seconds() // 3600)
        return line(
            f"{urgency.label} ({target} h)",
            lambda f: FigureValue.of_rate(f.on_time_by_urgency.get(urgency, OnTimeRate(0, 0))),
            f"{urgency.label} cases answered within {target} h of complete records (time on "
            "hold left out), of those delivered or already overdue",
        )

    on_time = FigureSection(
        "On time",
        (
            line(
                "All cases",
                lambda f: FigureValue.of_rate(f.on_time),
                "Opinions within the urgency's promised time, of those delivered or already "
                "overdue",
            ),
            *(by_urgency(u) for u in Urgency),
        ),
        note="Against each urgency's promised time; cases not yet due are not counted.",
    )

    concordance_tip = "Opinions delivered for the month's cases, compared with the first opinion"

    def mix(
        title: str, pick: Callable[[MonthFigures], Mapping[Concordance, int]]
    ) -> list[FigureLine]:
        return [
            line(
                f"{title}: {kind.label.lower()}",
                lambda f, k=kind: FigureValue.of_share(pick(f).get(k, 0), sum(pick(f).values())),
                concordance_tip,
            )
            for kind in Concordance
        ]

    concordance = FigureSection(
        "Concordance",
        (
            *mix("Diagnosis", lambda f: f.diagnosis_concordance),
            *mix("Treatment", lambda f: f.treatment_concordance),
        ),
        note="Opinions delivered for the month's cases, compared with the first opinion.",
    )

    payments = FigureSection(
        "Money",
        (
            line(
                "Charges (final totals)",
                money(lambda f: f.charges_minor),
                "Final totals of the cases received in the month",
            ),
            line(
                "Paid by these cases",
                money(lambda f: f.paid_minor),
                "Payments less refunds, as of the report time",
            ),
            line(
                "Balance still owed by these cases",
                money(lambda f: f.balance_minor),
                "What the month's cases still owe (credits netted), as of the report time",
            ),
            line(
                "Payments received in the month",
                money(lambda f: f.payments_received_minor),
                "Money in during the month's days, for any case",
            ),
        ),
        note="Charges, paid and still owed: the month's cases, as of the report time. "
        "Payments received: money in during the month, for any case.",
    )

    def breakdown(
        title: str,
        pick: Callable[[MonthFigures], Mapping[K, int]],
        label: Callable[[K], str],
        note: str = "",
    ) -> FigureSection | None:
        counts = [pick(f) for f in months]
        keys = comparison_keys(*counts)
        if not keys:
            return None  # a heading over nothing reads as a broken table
        shown, hidden = keys, []
        if breakdown_limit is not None and len(keys) >= breakdown_limit + 2:
            shown, hidden = keys[:breakdown_limit], keys[breakdown_limit:]

        def values(chosen: list[K]) -> Values:
            a, b, c = (FigureValue.of_count(sum(m.get(k, 0) for k in chosen)) for m in counts)
            return a, b, c

        lines = [FigureLine(label(k), values([k])) for k in shown]
        if hidden:
            lines.append(FigureLine(f"Other ({len(hidden)} more)", values(hidden)))
        return FigureSection(title, tuple(lines), note=note, breakdown=True)

    breakdowns = (
        breakdown("By cancer type", lambda f: f.by_cancer_type, cancer_type_label),
        breakdown("By referrer", lambda f: f.by_referrer, lambda name: name or NO_REFERRER),
        breakdown("By specialist", lambda f: f.by_specialist, lambda name: name or NOT_ASSIGNED),
        breakdown(
            "By reason",
            lambda f: f.by_reason,
            lambda reason: reason.label,
            note="A case may give several reasons.",
        ),
    )
    return (
        cases,
        times,
        on_time,
        concordance,
        payments,
        *(section for section in breakdowns if section is not None),
    )


# --- words ------------------------------------------------------------------------------------


def count_text(n: int, locale: str) -> str:
    """'1,234' (en_US), '1.234' (de_DE)."""
    return str(format_decimal(n, locale=normalise_locale(locale)))


def percent_text(part: int, whole: int, locale: str) -> str:
    """Whole percent in the locale's way ('79%', '79 %'); never 0% or 100% unless exactly
    that (199 of 200 is not all, 1 of 200 is not none); '—' for a part of nothing."""
    if not whole:
        return NO_VALUE
    share = (200 * part + whole) // (2 * whole)  # half up, in integers
    if share == 100 and part < whole:
        share = 99
    elif share == 0 and part > 0:
        share = 1
    return str(format_percent(share / 100, locale=normalise_locale(locale)))


def value_text(value: FigureValue, *, currency: str, locale: str) -> str:
    """The value as the screen and the PDF show it; '—' only where there is no value."""
    match value.kind:
        case FigureKind.COUNT:
            return count_text(value.number, locale)
        case FigureKind.SHARE:
            if not value.whole:
                return count_text(value.number, locale)
            share = percent_text(value.number, value.whole, locale)
            return f"{count_text(value.number, locale)} ({share})"
        case FigureKind.RATE:
            if not value.whole:
                return NO_VALUE
            share = percent_text(value.number, value.whole, locale)
            of = f"{count_text(value.number, locale)} of {count_text(value.whole, locale)}"
            return f"{share} ({of})"
        case FigureKind.DURATION:
            return describe_duration(value.duration) or NO_VALUE
        case FigureKind.MONEY:
            return format_amount(value.number, currency, locale)
