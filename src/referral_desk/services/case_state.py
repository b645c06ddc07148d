"""A case's status and clock fields, kept consistent however the status changes.

Shared by hand-made status changes (cases) and the ones completeness makes (documents).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from referral_desk.db.models import Case, StatusChange
from referral_desk.domain import clock, workflow
from referral_desk.domain.clock import ClockFacts, ClockPolicy
from referral_desk.domain.enums import CaseStatus, Urgency


@dataclass(frozen=True)
class CaseChange:
    """What a change did to its case (documents, assignment, opinion): for the screen to say
    it, and to keep an open form's version in step."""

    case_version: int
    moved_to: CaseStatus | None
    message: str = ""
    version_before: int | None = None  # the case's version this change started from


def apply_transition(record: Case, current: CaseStatus, target: CaseStatus, now: datetime) -> None:
    if current is CaseStatus.ON_HOLD:
        # Only a hold that interrupted a running clock extends the due time.
        held_from = CaseStatus(record.held_from) if record.held_from else None
        if record.hold_since is not None and held_from in workflow.CLOCK_RUNNING_STATUSES:
            record.paused_seconds += clock.pause_seconds(
                record.records_complete_at, record.hold_since, now
            )
        record.hold_since = None
        record.held_from = None
    if target is CaseStatus.ON_HOLD:
        record.hold_since = now
        record.held_from = current.value
    elif target is CaseStatus.READY_FOR_REVIEW and record.records_complete_at is None:
        record.records_complete_at = now
    elif target is CaseStatus.AWAITING_RECORDS:
        # More records needed: the promise starts again once they are complete.
        record.records_complete_at = None
        record.paused_seconds = 0
    elif target is CaseStatus.OPINION_RECEIVED and record.opinion_at is None:
        record.opinion_at = now  # resuming after a hold keeps the real answer time
    record.status = target.value


def move(record: Case, target: CaseStatus, *, reason: str, actor: str, now: datetime) -> None:
    """Apply an allowed transition and write it to the case's history."""
    current = CaseStatus(record.status)
    apply_transition(record, current, target, now)
    record.history.append(
        StatusChange(
            from_status=current.value, to_status=target.value, at=now, actor=actor, reason=reason
        )
    )
    record.updated_at = now
    record.updated_by = actor
    refresh_clock(record)


def clock_facts(record: Case) -> ClockFacts:
    return ClockFacts(
        status=CaseStatus(record.status),
        urgency=Urgency(record.urgency),
        records_complete_at=record.records_complete_at,
        opinion_at=record.opinion_at,
        paused_seconds=record.paused_seconds,
        hold_since=record.hold_since,
    )


def refresh_clock(record: Case, policy: ClockPolicy = clock.DEFAULT_POLICY) -> None:
    facts = clock_facts(record)
    record.due_at = clock.due_at(facts, policy)
    record.clock_sort = clock.CLOCK_SORT_ORDER[clock.clock_state(facts)]
