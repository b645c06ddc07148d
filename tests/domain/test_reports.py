"""The monthly report's arithmetic: months in local time, durations without holds, the
on-time judgement, percentiles and the chart data."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from referral_desk.domain import reports
from referral_desk.domain.clock import DEFAULT_POLICY, ClockFacts
from referral_desk.domain.enums import CaseStatus as S
from referral_desk.domain.enums import Urgency
from referral_desk.domain.reports import Column, Month, ReportError, Timeliness
from referral_desk.domain.specialists import Concordance
from tests.conftest import report_row

VIENNA = ZoneInfo("Europe/Vienna")
H = timedelta(hours=1)
T0 = datetime(2026, 10, 5, 8, 0, tzinfo=UTC)


def test_a_month_is_written_year_dash_month() -> None:
    assert Month.parse("2026-10") == Month(2026, 10)
    assert Month.parse(" 2026-3 ") == Month(2026, 3)
    assert Month(2026, 10).label == "October 2026"
    assert Month(2026, 10).short_label == "Oct 2026"
    assert Month(2026, 10).iso == "2026-10"


@pytest.mark.parametrize(
    ("text", "says"),
    [("2026-13", "no month 13"), ("oct", "YYYY-MM"), ("2026/10", "YYYY-MM"), ("", "YYYY-MM")],
)
def test_a_malformed_month_is_refused_with_the_expected_form(text: str, says: str) -> None:
    with pytest.raises(ReportError, match=says):
        Month.parse(text)


def test_neighbouring_months_cross_the_year() -> None:
    assert Month(2026, 1).previous() == Month(2025, 12)
    assert Month(2025, 12).next() == Month(2026, 1)
    assert Month(2026, 3).year_before() == Month(2025, 3)
    assert Month(2024, 2).last_day == date(2024, 2, 29)
    assert reports.last_complete_month(date(2026, 1, 15)) == Month(2025, 12)


def test_month_edges_are_local_midnight_including_daylight_saving() -> None:
    # October 2026 in Vienna starts in summer time (UTC+2) and ends in winter time (UTC+1).
    start, end = reports.month_bounds(Month(2026, 10), VIENNA)
    assert start == datetime(2026, 9, 30, 22, 0, tzinfo=UTC)
    assert end == datetime(2026, 10, 31, 23, 0, tzinfo=UTC)
    assert reports.month_bounds(Month(2026, 10), UTC) == (
        datetime(2026, 10, 1, tzinfo=UTC),
        datetime(2026, 11, 1, tzinfo=UTC),
    )


def _facts(**changes: object) -> ClockFacts:
    values: dict[str, object] = {
        "status": S.OPINION_RECEIVED,
        "urgency": Urgency.ROUTINE,
        "records_complete_at": T0,
        "opinion_at": T0 + 30 * H,
        "paused_seconds": 0,
        "hold_since": None,
    }
    values.update(changes)
    return ClockFacts(**values)  # type: ignore[arg-type]


def test_turnaround_leaves_out_time_on_hold() -> None:
    assert reports.turnaround(_facts()) == 30 * H
    # 60 hours on the wall clock, 20 of them waiting for the patient.
    held = _facts(opinion_at=T0 + 60 * H, paused_seconds=20 * 3600)
    assert reports.turnaround(held) == 40 * H
    assert reports.turnaround(_facts(opinion_at=None)) is None
    assert reports.turnaround(_facts(records_complete_at=None)) is None


def test_on_time_is_judged_against_the_urgency_with_pauses_extending_the_due_time() -> None:
    now = T0 + 200 * H
    assert reports.timeliness(_facts(), now, DEFAULT_POLICY) is Timeliness.ON_TIME
    urgent = _facts(urgency=Urgency.URGENT)
    assert reports.timeliness(urgent, now, DEFAULT_POLICY) is Timeliness.LATE
    # 60 h wall clock with a 20 h hold: due at 68 h, so on time.
    held = _facts(opinion_at=T0 + 60 * H, paused_seconds=20 * 3600)
    assert reports.timeliness(held, now, DEFAULT_POLICY) is Timeliness.ON_TIME
    assert (
        reports.timeliness(_facts(opinion_at=T0 + 60 * H), now, DEFAULT_POLICY) is Timeliness.LATE
    )


def test_an_open_case_is_overdue_once_past_due_and_pending_before() -> None:
    running = _facts(status=S.UNDER_REVIEW, opinion_at=None)
    assert reports.timeliness(running, T0 + 47 * H, DEFAULT_POLICY) is Timeliness.PENDING
    assert reports.timeliness(running, T0 + 49 * H, DEFAULT_POLICY) is Timeliness.OVERDUE
    paused = _facts(status=S.ON_HOLD, opinion_at=None, hold_since=T0 + 10 * H)
    assert reports.timeliness(paused, T0 + 300 * H, DEFAULT_POLICY) is Timeliness.PENDING
    held_late = _facts(status=S.ON_HOLD, opinion_at=None, hold_since=T0 + 50 * H)
    assert reports.timeliness(held_late, T0 + 300 * H, DEFAULT_POLICY) is Timeliness.OVERDUE
    waiting = _facts(status=S.AWAITING_RECORDS, records_complete_at=None, opinion_at=None)
    assert reports.timeliness(waiting, T0, DEFAULT_POLICY) is Timeliness.NO_CLOCK
    cancelled = _facts(status=S.CANCELLED, opinion_at=None)
    assert reports.timeliness(cancelled, T0 + 300 * H, DEFAULT_POLICY) is Timeliness.NO_CLOCK
    assert [t for t in Timeliness if t.judged] == [
        Timeliness.ON_TIME,
        Timeliness.LATE,
        Timeliness.OVERDUE,
    ]


def test_intake_leaves_out_holds_between_receipt_and_complete_records() -> None:
    received = T0 - 20 * H
    holds = [(T0 - 18 * H, T0 - 8 * H), (T0 + 5 * H, None)]  # the second after completion
    assert reports.intake_time(received, T0, holds) == 10 * H
    assert reports.intake_time(received, T0) == 20 * H
    assert reports.intake_time(received, None) is None
    # A hold still open when the records came counts up to that moment only.
    assert reports.intake_time(received, T0, [(T0 - 2 * H, None)]) == 18 * H


def test_percentiles_interpolate_between_ranks_like_excel() -> None:
    assert reports.percentile([1, 2, 3, 4], 0.5) == 2.5
    assert reports.percentile([4, 1, 3, 2], 0.5) == 2.5  # order does not matter
    assert reports.percentile(list(range(1, 11)), 0.9) == pytest.approx(9.1)
    assert reports.percentile([7], 0.9) == 7
    assert reports.percentile([], 0.5) is None
    durations = [10 * H, 20 * H, 40 * H]
    assert reports.duration_percentile(durations, 0.5) == 20 * H
    assert reports.duration_percentile(durations, 0.9) == 36 * H


def test_durations_read_as_days_hours_and_minutes() -> None:
    assert reports.describe_duration(timedelta(minutes=45)) == "45 min"
    assert reports.describe_duration(5 * H + timedelta(minutes=20)) == "5 h 20 min"
    assert reports.describe_duration(51 * H) == "2 d 3 h"
    assert reports.describe_duration(None) == ""
    assert reports.hours(5 * H + timedelta(minutes=18)) == 5.3


def test_weeks_run_monday_to_sunday_cut_at_the_months_edges() -> None:
    days = [date(2026, 10, 1), date(2026, 10, 4), date(2026, 10, 5), date(2026, 10, 31)]
    weeks = reports.weeks(Month(2026, 10), days)
    assert [(w.first_day.day, w.last_day.day, w.count) for w in weeks] == [
        (1, 4, 2),  # Thursday 1 to Sunday 4
        (5, 11, 1),
        (12, 18, 0),
        (19, 25, 0),
        (26, 31, 1),
    ]
    assert weeks[0].label == "1–4 Oct"


def test_turnaround_histogram_puts_each_answer_in_one_bucket() -> None:
    counts = reports.turnaround_histogram([0 * H, 5 * H, 6 * H, 47 * H, 48 * H, 100 * H])
    assert counts == (2, 1, 0, 0, 1, 1, 1)
    assert sum(counts) == 6
    assert reports.bucket_label(72, None) == "72 h or more"


def test_figures_count_the_months_cases_and_rate_only_judged_ones() -> None:
    rows = [
        report_row(1),
        report_row(2, urgency=Urgency.URGENT, turnaround=40 * H, timeliness=Timeliness.LATE),
        report_row(
            3,
            status=S.UNDER_REVIEW,
            opinion_at=None,
            turnaround=None,
            timeliness=Timeliness.OVERDUE,
            diagnosis_concordance=None,
            treatment_concordance=None,
            referrer="",
        ),
        report_row(
            4,
            status=S.CANCELLED,
            opinion_at=None,
            turnaround=None,
            timeliness=Timeliness.NO_CLOCK,
            diagnosis_concordance=None,
            treatment_concordance=None,
            final_total_minor=0,
            paid_minor=0,
            balance_minor=0,
        ),
    ]
    f = reports.figures(Month(2026, 10), rows, payments_received_minor=12_345)
    assert (f.received, f.completed, f.cancelled, f.still_open) == (4, 2, 1, 1)
    assert f.on_time.on_time == 1 and f.on_time.judged == 3
    assert f.on_time_by_urgency[Urgency.URGENT].rate == 0.0
    assert f.on_time_by_urgency[Urgency.ROUTINE].on_time == 1
    assert f.turnaround_median == 35 * H
    assert f.diagnosis_concordance[Concordance.CONFIRMED] == 2
    assert f.treatment_concordance[Concordance.MAJOR_CHANGE] == 0
    assert f.by_referrer == {"Dr. Navarro": 3, "": 1}
    assert f.charges_minor == 150_000 and f.paid_minor == 60_000 and f.balance_minor == 90_000
    assert f.payments_received_minor == 12_345
    empty = reports.figures(Month(2026, 10), [], 0)
    assert empty.received == 0 and empty.on_time.rate is None and empty.turnaround_median is None


def test_cells_are_typed_for_spreadsheets_and_worded_for_screens() -> None:
    row = report_row(1, balance_minor=-1_250)
    assert reports.cell_value(row, Column.RECEIVED, "EUR", VIENNA) == datetime(2026, 10, 5, 0, 0)
    assert reports.cell_value(row, Column.BALANCE, "EUR", VIENNA) == Decimal("-12.50")
    assert reports.cell_value(row, Column.FINAL_TOTAL, "JPY", VIENNA) == Decimal(50_000)
    assert reports.cell_value(row, Column.TURNAROUND, "EUR", VIENNA) == 30.0
    assert reports.cell_value(row, Column.CANCER_TYPE, "EUR", VIENNA) == "Breast"
    assert reports.cell_text(row, Column.FINAL_TOTAL, "EUR", "de_DE", VIENNA) == "500,00\xa0€"
    assert reports.cell_text(row, Column.TURNAROUND, "EUR", "en_GB", VIENNA) == "1 d 6 h"
    assert reports.cell_text(row, Column.RECEIVED, "EUR", "en_GB", VIENNA) == "2026-10-05 00:00"
    assert reports.cell_text(row, Column.TREATMENT_CONCORDANCE, "EUR", "en", UTC) == (
        "Minor change"
    )


def test_comparison_rows_list_this_months_largest_first_then_the_rest() -> None:
    this = {"lung": 5, "breast": 2}
    before = {"breast": 9, "sarcoma": 1}
    assert reports.comparison_keys(this, before) == ["lung", "breast", "sarcoma"]
