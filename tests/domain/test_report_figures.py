"""The one figure table the screen, the PDF and Excel share: its order and wording, the raw
values of three months, the "Other" line, and how a value reads."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest

from referral_desk.domain import reports
from referral_desk.domain.clock import ClockPolicy
from referral_desk.domain.enums import CaseStatus as S
from referral_desk.domain.enums import Reason, Urgency
from referral_desk.domain.report_figures import (
    FigureKind,
    FigureSection,
    FigureValue,
    figure_sections,
    percent_text,
    value_text,
)
from referral_desk.domain.reports import (
    Month,
    MonthlyReport,
    OnTimeRate,
    ReportRow,
    Timeliness,
)
from referral_desk.domain.specialists import Concordance
from tests.conftest import report_row

H = timedelta(hours=1)
T0 = datetime(2026, 10, 5, 8, 0, tzinfo=UTC)
OCTOBER = Month(2026, 10)


OPEN = {
    "status": S.UNDER_REVIEW,
    "opinion_at": None,
    "turnaround": None,
    "timeliness": Timeliness.OVERDUE,
    "diagnosis_concordance": None,
    "treatment_concordance": None,
}


def _report(
    rows: Sequence[ReportRow],
    previous: Sequence[ReportRow] = (),
    year_before: Sequence[ReportRow] = (),
    payments_received_minor: int = 0,
) -> MonthlyReport:
    figures = reports.figures(OCTOBER, rows, payments_received_minor)
    return MonthlyReport(
        month=OCTOBER,
        rows=tuple(rows),
        figures=figures,
        previous=reports.figures(OCTOBER.previous(), previous, 0),
        year_before=reports.figures(OCTOBER.year_before(), year_before, 0),
        weeks=reports.weeks(OCTOBER, []),
        turnaround_histogram=reports.turnaround_histogram([]),
        office_name="",
        currency="EUR",
        generated_at=datetime(2026, 11, 23, 10, 0, tzinfo=UTC),
        zone=UTC,
    )


def _section(sections: Sequence[FigureSection], title: str) -> FigureSection:
    return next(s for s in sections if s.title == title)


def _line_values(section: FigureSection, label: str) -> tuple[FigureValue, ...]:
    return next(line.values for line in section.lines if line.label == label)


def _texts(section: FigureSection, label: str, locale: str = "en_US") -> list[str]:
    return [value_text(v, currency="EUR", locale=locale) for v in _line_values(section, label)]


@pytest.fixture
def october() -> MonthlyReport:
    return _report(
        [
            report_row(1),
            report_row(
                2,
                urgency=Urgency.URGENT,
                turnaround=40 * H,
                timeliness=Timeliness.LATE,
                diagnosis_concordance=Concordance.MAJOR_CHANGE,
                cancer_type="lung",
                specialist="",
            ),
            report_row(
                3, referrer="", reasons=(Reason.CONFIRM_DIAGNOSIS, Reason.RARE_CANCER), **OPEN
            ),
            report_row(4, **{**OPEN, "status": S.CANCELLED, "timeliness": Timeliness.NO_CLOCK}),
        ],
        previous=[report_row(10, cancer_type="lung"), report_row(11, cancer_type="sarcoma")],
        payments_received_minor=77_700,
    )


def test_sections_and_lines_come_in_one_order_with_one_wording(october: MonthlyReport) -> None:
    sections = figure_sections(october)
    assert [(s.title, [line.label for line in s.lines]) for s in sections] == [
        ("Cases", ["Received", "Completed (opinion delivered)", "Cancelled", "Still open"]),
        (
            "Times",
            [
                "Turnaround, median",
                "Turnaround, 90th percentile",
                "Intake time, median",
                "Intake time, 90th percentile",
            ],
        ),
        ("On time", ["All cases", "Routine (48 h)", "Urgent (24 h)"]),
        (
            "Concordance",
            [
                "Diagnosis: confirmed",
                "Diagnosis: minor change",
                "Diagnosis: major change",
                "Diagnosis: not assessed",
                "Treatment: confirmed",
                "Treatment: minor change",
                "Treatment: major change",
                "Treatment: not assessed",
            ],
        ),
        (
            "Money",
            [
                "Charges (final totals)",
                "Paid by these cases",
                "Balance still owed by these cases",
                "Payments received in the month",
            ],
        ),
        # This month's largest first, then what only the earlier months had.
        ("By cancer type", ["Breast", "Lung", "Sarcoma"]),
        ("By referrer", ["Dr. Navarro", "No referrer recorded"]),
        ("By specialist", ["Dr. Ana Lima", "Not assigned"]),
        ("By reason", ["Confirm the diagnosis", "Rare cancer type"]),
    ]
    assert [s.breakdown for s in sections] == [False] * 5 + [True] * 4
    times = _section(sections, "Times")
    assert "time on hold left out" in times.lines[0].tip
    assert "records complete to opinion" in times.lines[0].tip.lower()
    assert times.lines[2].tip.startswith("Received to records complete")
    assert "several reasons" in _section(sections, "By reason").note


def test_each_line_holds_the_three_months_raw_values(october: MonthlyReport) -> None:
    sections = figure_sections(october)
    cases = _section(sections, "Cases")
    assert [v.number for v in _line_values(cases, "Received")] == [4, 2, 0]
    assert {v.kind for line in cases.lines for v in line.values} == {FigureKind.COUNT}
    assert _texts(cases, "Still open") == ["1", "0", "0"]  # counts of nothing read 0

    times = _section(sections, "Times")
    median = _line_values(times, "Turnaround, median")
    assert median[0] == FigureValue.of_duration(35 * H) and median[0].hours == 35.0
    assert median[2].missing and median[2].hours is None
    assert _texts(times, "Turnaround, median") == ["1 d 11 h", "1 d 6 h", "—"]

    on_time = _section(sections, "On time")
    assert _line_values(on_time, "All cases")[0] == FigureValue.of_rate(OnTimeRate(1, 3))
    assert _line_values(on_time, "All cases")[0].fraction == pytest.approx(1 / 3)
    assert _texts(on_time, "All cases") == ["33% (1 of 3)", "100% (2 of 2)", "—"]
    assert _texts(on_time, "Urgent (24 h)") == ["0% (0 of 1)", "—", "—"]
    assert _line_values(on_time, "Urgent (24 h)")[1].fraction is None

    concordance = _section(sections, "Concordance")
    assert _texts(concordance, "Diagnosis: confirmed") == ["1 (50%)", "2 (100%)", "0"]
    assert _texts(concordance, "Diagnosis: major change") == ["1 (50%)", "0 (0%)", "0"]
    assert _line_values(concordance, "Treatment: minor change")[0] == FigureValue.of_share(2, 2)

    money = _section(sections, "Money")
    assert [v.number for v in _line_values(money, "Charges (final totals)")] == [
        200_000,
        100_000,
        0,
    ]
    assert _texts(money, "Balance still owed by these cases", "de_DE")[0] == "1.200,00\xa0€"
    assert _texts(money, "Payments received in the month") == ["€777.00", "€0.00", "€0.00"]

    assert _texts(_section(sections, "By cancer type"), "Sarcoma") == ["0", "1", "0"]
    assert _texts(_section(sections, "By reason"), "Confirm the diagnosis") == ["4", "2", "0"]


def test_urgency_targets_come_from_the_clock_policy(october: MonthlyReport) -> None:
    slow = ClockPolicy(routine_hours=72, urgent_hours=12)
    on_time = _section(figure_sections(october, policy=slow), "On time")
    assert [line.label for line in on_time.lines] == [
        "All cases",
        "Routine (72 h)",
        "Urgent (12 h)",
    ]


def test_a_long_breakdown_folds_its_tail_into_other_only_when_two_or_more_hide() -> None:
    # Thirteen referrers: 13 cases from the first, 12 from the second ... 1 from the last.
    rows = [
        report_row(100 * r + i, referrer=f"Dr. {chr(65 + r)}")
        for r in range(13)
        for i in range(13 - r)
    ]
    report = _report(rows, previous=[report_row(9999, referrer="Dr. Z")])
    everything = _section(figure_sections(report), "By referrer")
    assert [line.label for line in everything.lines] == [
        *(f"Dr. {chr(65 + r)}" for r in range(13)),
        "Dr. Z",
    ]
    folded = _section(figure_sections(report, breakdown_limit=10), "By referrer")
    labels = [line.label for line in folded.lines]
    assert labels == [*(f"Dr. {chr(65 + r)}" for r in range(10)), "Other (4 more)"]
    # Dr. K, L and M (3 + 2 + 1 cases) and Dr. Z (one case the month before).
    assert _texts(folded, "Other (4 more)") == ["6", "1", "0"]
    assert sum(line.values[0].number for line in folded.lines) == len(rows)

    eleven = _report([r for r in rows if r.referrer < "Dr. L"])
    shown = _section(figure_sections(eleven, breakdown_limit=10), "By referrer")
    assert len(shown.lines) == 11 and shown.lines[-1].label == "Dr. K"  # not "Other (1 more)"


def test_a_breakdown_without_entries_in_any_month_is_left_out() -> None:
    empty = figure_sections(_report([]))
    assert [s.title for s in empty] == ["Cases", "Times", "On time", "Concordance", "Money"]
    no_reasons = figure_sections(_report([report_row(1, reasons=())]))
    assert "By reason" not in [s.title for s in no_reasons]
    assert "By cancer type" in [s.title for s in no_reasons]
    reasons_last_year = figure_sections(
        _report([report_row(1, reasons=())], year_before=[report_row(2)])
    )
    assert _texts(_section(reasons_last_year, "By reason"), "Confirm the diagnosis") == [
        "0",
        "0",
        "1",
    ]


@pytest.mark.parametrize(
    ("part", "whole", "locale", "text"),
    [
        (199, 200, "en_US", "99%"),  # one was late: not all
        (1, 200, "en_US", "1%"),  # one was: not none
        (0, 0, "en_US", "—"),
        (0, 5, "en_US", "0%"),
        (5, 5, "en_US", "100%"),
        (1, 8, "en_US", "13%"),  # 12.5: half up
        (124, 148, "en_US", "84%"),
        (151, 191, "de_DE", "79\xa0%"),
    ],
)
def test_percentages_are_whole_and_never_round_to_all_or_nothing(
    part: int, whole: int, locale: str, text: str
) -> None:
    assert percent_text(part, whole, locale) == text


def test_values_read_in_the_user_s_locale() -> None:
    def text(value: FigureValue, locale: str = "en_US") -> str:
        return value_text(value, currency="EUR", locale=locale)

    assert text(FigureValue.of_count(12_345)) == "12,345"
    assert text(FigureValue.of_count(12_345), "de_DE") == "12.345"
    assert text(FigureValue.of_count(0)) == "0"
    assert text(FigureValue.of_rate(OnTimeRate(1_240, 1_480))) == "84% (1,240 of 1,480)"
    assert text(FigureValue.of_rate(OnTimeRate(0, 0))) == "—"
    assert text(FigureValue.of_share(151, 191), "de_DE") == "151 (79\xa0%)"
    assert text(FigureValue.of_share(0, 0)) == "0"
    assert text(FigureValue.of_duration(None)) == "—"
    assert text(FigureValue.of_duration(timedelta(hours=5, minutes=20))) == "5 h 20 min"
    assert text(FigureValue.of_money(-4_000), "de_DE") == "-40,00\xa0€"
    assert FigureValue.of_money(0).missing is False
