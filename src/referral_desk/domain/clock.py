"""The 24-48 hour promise: due time, time left and on-hold pauses, all derived, never typed in.

The clock starts when the records are complete and stops when the opinion arrives. Time on
hold after the start does not count. All arithmetic is in UTC elapsed time: "48 hours" means
48 real hours, whatever a daylight-saving change does to the wall clock in between.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from enum import StrEnum

from referral_desk.domain.enums import CaseStatus, Urgency
from referral_desk.domain.workflow import CLOCK_RUNNING_STATUSES, CLOSED_STATUSES


@dataclass(frozen=True)
class ClockPolicy:
    routine_hours: int = 48
    urgent_hours: int = 24
    # "Due soon" once less than this share of the promised time is left.
    due_soon_fraction: float = 0.25

    def target(self, urgency: Urgency) -> timedelta:
        hours = self.urgent_hours if urgency is Urgency.URGENT else self.routine_hours
        return timedelta(hours=hours)


DEFAULT_POLICY = ClockPolicy()


class ClockState(StrEnum):
    NOT_STARTED = "not_started"  # records still incomplete
    RUNNING = "running"
    PAUSED = "paused"  # on hold after the records were complete
    STOPPED = "stopped"  # opinion received, or the case ended


class Pace(StrEnum):
    ON_TRACK = "on_track"
    DUE_SOON = "due_soon"
    OVERDUE = "overdue"
    NONE = "none"  # no running clock

    @property
    def label(self) -> str:
        return {"on_track": "On track", "due_soon": "Due soon", "overdue": "Overdue"}.get(
            self.value, ""
        )


# Stored as a small integer so the case list can sort "overdue first" on an index.
CLOCK_SORT_ORDER = {
    ClockState.RUNNING: 0,
    ClockState.PAUSED: 1,
    ClockState.NOT_STARTED: 2,
    ClockState.STOPPED: 3,
}


@dataclass(frozen=True)
class ClockFacts:
    """What the case stores about its clock."""

    status: CaseStatus
    urgency: Urgency
    records_complete_at: datetime | None
    opinion_at: datetime | None = None
    paused_seconds: int = 0
    hold_since: datetime | None = None


@dataclass(frozen=True)
class ClockReading:
    state: ClockState
    due_at: datetime | None  # None while not started or paused
    remaining: timedelta | None  # negative when overdue; frozen while paused
    pace: Pace
    # Once answered: due time minus answer time (negative = late). None if never answered.
    answered_margin: timedelta | None = None


def clock_state(facts: ClockFacts) -> ClockState:
    if facts.status in CLOSED_STATUSES:  # cancelled or closed: nothing is owed any more
        return ClockState.STOPPED
    if facts.records_complete_at is None:
        return ClockState.STOPPED if facts.opinion_at else ClockState.NOT_STARTED
    if facts.opinion_at is not None:
        return ClockState.STOPPED
    if facts.status is CaseStatus.ON_HOLD:
        return ClockState.PAUSED
    if facts.status in CLOCK_RUNNING_STATUSES:
        return ClockState.RUNNING
    return ClockState.STOPPED


def due_at(facts: ClockFacts, policy: ClockPolicy = DEFAULT_POLICY) -> datetime | None:
    """When the opinion is due, counting pauses so far; None before the records are complete.

    A stopped clock keeps the due time it had, so a delivered case can still be judged
    on time or late.
    """
    if facts.records_complete_at is None:
        return None
    if clock_state(facts) is ClockState.PAUSED:
        return None
    return (
        facts.records_complete_at
        + policy.target(facts.urgency)
        + timedelta(seconds=facts.paused_seconds)
    )


def read_clock(
    facts: ClockFacts, now: datetime, policy: ClockPolicy = DEFAULT_POLICY
) -> ClockReading:
    state = clock_state(facts)
    target = policy.target(facts.urgency)
    if state is ClockState.PAUSED:
        assert facts.records_complete_at is not None and facts.hold_since is not None
        used = (
            facts.hold_since - facts.records_complete_at - timedelta(seconds=facts.paused_seconds)
        )
        return ClockReading(state, None, target - used, Pace.NONE)
    due = due_at(facts, policy)
    if state is not ClockState.RUNNING or due is None:
        margin = due - facts.opinion_at if due and facts.opinion_at else None
        return ClockReading(state, due, None, Pace.NONE, margin)
    remaining = due - now
    if remaining <= timedelta(0):
        pace = Pace.OVERDUE
    elif remaining < target * policy.due_soon_fraction:
        pace = Pace.DUE_SOON
    else:
        pace = Pace.ON_TRACK
    return ClockReading(state, due, remaining, pace)


def pause_seconds(
    records_complete_at: datetime | None, hold_start: datetime, hold_end: datetime
) -> int:
    """Seconds of a hold that fall after the clock started (holds before it do not count)."""
    if records_complete_at is None:
        return 0
    start = max(hold_start, records_complete_at)
    return max(0, int((hold_end - start).total_seconds()))


def treatment_risk(
    urgency: Urgency,
    reading: ClockReading,
    treatment_start: date | None,
    now: datetime,
    local_zone: tzinfo | None = None,
    policy: ClockPolicy = DEFAULT_POLICY,
) -> str | None:
    """Why this case must not wait, or None. Shown in the list and on the case screen.

    `local_zone` None means this computer's zone, applied per moment (daylight saving included).
    """
    if reading.state is ClockState.STOPPED:
        return None
    if treatment_start is not None:
        if reading.due_at is not None:
            expected = reading.due_at
        elif reading.remaining is not None:  # paused: at best the rest once resumed
            expected = now + reading.remaining
        else:  # records incomplete: at best the full promise from now
            expected = now + policy.target(urgency)
        if expected.astimezone(local_zone).date() >= treatment_start:
            return (
                "The opinion may not arrive before the planned treatment start "
                f"({treatment_start.isoformat()})."
            )
    if urgency is Urgency.URGENT:
        return "Urgent case."
    return None


def describe_remaining(remaining: timedelta) -> str:
    """'5 h 20 min left', '2 d 3 h left', 'overdue 40 min'."""
    seconds = int(remaining.total_seconds())
    overdue = seconds < 0
    seconds = abs(seconds)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    if days:
        text = f"{days} d {hours} h"
    elif hours:
        text = f"{hours} h {minutes} min"
    else:
        text = f"{minutes} min"
    return f"overdue {text}" if overdue else f"{text} left"
