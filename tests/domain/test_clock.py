from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from referral_desk.domain.clock import (
    ClockFacts,
    ClockPolicy,
    ClockState,
    Pace,
    describe_remaining,
    due_at,
    pause_seconds,
    read_clock,
    treatment_risk,
)
from referral_desk.domain.enums import CaseStatus as S
from referral_desk.domain.enums import Urgency

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
BERLIN = ZoneInfo("Europe/Berlin")


def facts(**changes: object) -> ClockFacts:
    values: dict[str, object] = {
        "status": S.UNDER_REVIEW,
        "urgency": Urgency.ROUTINE,
        "records_complete_at": T0,
    }
    values.update(changes)
    return ClockFacts(**values)  # type: ignore[arg-type]


def test_routine_is_due_48_hours_and_urgent_24_hours_after_records_complete() -> None:
    assert due_at(facts()) == T0 + timedelta(hours=48)
    assert due_at(facts(urgency=Urgency.URGENT)) == T0 + timedelta(hours=24)


def test_the_promise_is_configurable() -> None:
    policy = ClockPolicy(routine_hours=72, urgent_hours=12)
    assert due_at(facts(), policy) == T0 + timedelta(hours=72)
    assert due_at(facts(urgency=Urgency.URGENT), policy) == T0 + timedelta(hours=12)


def test_changing_urgency_moves_the_due_time_from_the_same_start() -> None:
    before = read_clock(facts(), T0 + timedelta(hours=20))
    after = read_clock(facts(urgency=Urgency.URGENT), T0 + timedelta(hours=20))
    assert before.remaining == timedelta(hours=28) and before.pace is Pace.ON_TRACK
    assert after.remaining == timedelta(hours=4) and after.pace is Pace.DUE_SOON


def test_no_clock_before_the_records_are_complete() -> None:
    reading = read_clock(facts(status=S.AWAITING_RECORDS, records_complete_at=None), T0)
    assert reading.state is ClockState.NOT_STARTED
    assert reading.due_at is None and reading.remaining is None


def test_time_on_hold_freezes_the_clock_and_then_extends_the_due_time() -> None:
    hold_start = T0 + timedelta(hours=10)
    paused = read_clock(
        facts(status=S.ON_HOLD, hold_since=hold_start), hold_start + timedelta(days=3)
    )
    assert paused.state is ClockState.PAUSED
    assert paused.remaining == timedelta(hours=38)  # frozen, however long the hold lasts
    assert paused.due_at is None

    resumed_at = hold_start + timedelta(days=3)
    seconds = pause_seconds(T0, hold_start, resumed_at)
    assert seconds == 3 * 86400
    resumed = read_clock(facts(paused_seconds=seconds), resumed_at)
    assert resumed.due_at == T0 + timedelta(hours=48, days=3)
    assert resumed.remaining == timedelta(hours=38)


def test_a_hold_before_the_clock_started_does_not_count() -> None:
    assert pause_seconds(None, T0, T0 + timedelta(days=1)) == 0
    # Partly before: only the part after the start counts.
    assert pause_seconds(T0, T0 - timedelta(hours=5), T0 + timedelta(hours=2)) == 7200


def test_pace_turns_due_soon_in_the_last_quarter_and_overdue_after_the_due_time() -> None:
    assert read_clock(facts(), T0 + timedelta(hours=35)).pace is Pace.ON_TRACK
    assert read_clock(facts(), T0 + timedelta(hours=37)).pace is Pace.DUE_SOON
    overdue = read_clock(facts(), T0 + timedelta(hours=50))
    assert overdue.pace is Pace.OVERDUE
    assert overdue.remaining == timedelta(hours=-2)


def test_the_clock_stops_when_the_opinion_arrives_but_keeps_its_due_time() -> None:
    delivered = facts(status=S.OPINION_RECEIVED, opinion_at=T0 + timedelta(hours=30))
    reading = read_clock(delivered, T0 + timedelta(days=9))
    assert reading.state is ClockState.STOPPED and reading.pace is Pace.NONE
    assert reading.due_at == T0 + timedelta(hours=48)


def test_48_hours_across_the_spring_daylight_saving_change_are_48_real_hours() -> None:
    # Europe/Berlin moved from UTC+1 to UTC+2 at 02:00 local on 2026-03-29.
    start_local = datetime(2026, 3, 28, 12, 0, tzinfo=BERLIN)
    due = due_at(facts(records_complete_at=start_local.astimezone(UTC)))
    assert due is not None
    # On the wall clock the opinion is due an hour "later" than the same time of day.
    assert due.astimezone(BERLIN).replace(tzinfo=None) == datetime(2026, 3, 30, 13, 0)


def test_48_hours_across_the_autumn_daylight_saving_change() -> None:
    start_local = datetime(2026, 10, 24, 12, 0, tzinfo=BERLIN)
    due = due_at(facts(records_complete_at=start_local.astimezone(UTC)))
    assert due is not None
    assert due.astimezone(BERLIN).replace(tzinfo=None) == datetime(2026, 10, 26, 11, 0)


def test_an_answer_due_after_the_planned_treatment_start_is_flagged() -> None:
    now = T0 + timedelta(hours=1)
    reading = read_clock(facts(), now)  # due 2026-03-04 09:00 UTC
    risk = treatment_risk(Urgency.ROUTINE, reading, date(2026, 3, 4), now, UTC)
    assert risk is not None and "2026-03-04" in risk
    assert treatment_risk(Urgency.ROUTINE, reading, date(2026, 3, 5), now, UTC) is None


def test_urgent_cases_are_flagged_until_the_opinion_arrives() -> None:
    now = T0
    assert treatment_risk(Urgency.URGENT, read_clock(facts(), now), None, now, UTC)
    done = read_clock(facts(status=S.CLOSED, opinion_at=T0), now)
    assert treatment_risk(Urgency.URGENT, done, None, now, UTC) is None


def test_waiting_for_records_is_flagged_when_treatment_starts_within_the_promise() -> None:
    reading = read_clock(facts(status=S.AWAITING_RECORDS, records_complete_at=None), T0)
    assert treatment_risk(Urgency.ROUTINE, reading, date(2026, 3, 3), T0, UTC)
    assert treatment_risk(Urgency.ROUTINE, reading, date(2026, 3, 20), T0, UTC) is None


def test_time_left_reads_like_a_person_would_say_it() -> None:
    assert describe_remaining(timedelta(hours=5, minutes=20)) == "5 h 20 min left"
    assert describe_remaining(timedelta(days=2, hours=3)) == "2 d 3 h left"
    assert describe_remaining(timedelta(minutes=-40)) == "overdue 40 min"


def test_an_answered_case_knows_whether_it_kept_the_promise() -> None:
    on_time = read_clock(facts(status=S.CLOSED, opinion_at=T0 + timedelta(hours=40)), T0)
    late = read_clock(facts(status=S.CLOSED, opinion_at=T0 + timedelta(hours=51)), T0)
    assert on_time.answered_margin == timedelta(hours=8)
    assert late.answered_margin == timedelta(hours=-3)
    cancelled = read_clock(facts(status=S.CANCELLED), T0)
    assert cancelled.answered_margin is None


def test_a_case_cancelled_before_its_records_were_complete_is_stopped() -> None:
    reading = read_clock(facts(status=S.CANCELLED, records_complete_at=None), T0)
    assert reading.state is ClockState.STOPPED
    assert treatment_risk(Urgency.URGENT, reading, date(2026, 3, 3), T0, UTC) is None
