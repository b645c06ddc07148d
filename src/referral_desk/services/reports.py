"""The monthly report: the cases received in a month, their figures beside the previous month
and the same month a year earlier, and the data behind the charts.

Read with Core column selects (no ORM objects): a busy month holds 10,000 cases and the
report reads three months.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, date, datetime, tzinfo

from sqlalchemy import func, or_, select

from referral_desk.db.engine import Database
from referral_desk.db.models import (
    Case,
    CaseReason,
    Opinion,
    Patient,
    Payment,
    Referrer,
    Specialist,
    StatusChange,
)
from referral_desk.domain import clock, reports
from referral_desk.domain.access import Actor, Permission
from referral_desk.domain.audit import AuditAction
from referral_desk.domain.clock import ClockFacts, ClockPolicy
from referral_desk.domain.enums import CaseStatus, Reason, Urgency
from referral_desk.domain.reports import Month, MonthlyReport, ReportRow
from referral_desk.domain.specialists import Concordance
from referral_desk.domain.text import full_name
from referral_desk.services.acting import acting, check, record
from referral_desk.services.office import get_profile

Progress = Callable[[int, int], None]
REPORT_WORDS = "make the monthly report"  # "A staff cannot ..."

_HOLD = CaseStatus.ON_HOLD.value
# Looked up by value: a busy month reads 30,000 rows and Enum calls cost as much as the query.
_STATUSES = {s.value: s for s in CaseStatus}
_URGENCIES = {u.value: u for u in Urgency}
_CONCORDANCES = {c.value: c for c in Concordance}
_REASONS = {r.value: r for r in Reason}


def monthly_report(
    db: Database,
    month: Month,
    *,
    actor: Actor,
    now: datetime | None = None,
    zone: tzinfo | None = None,
    policy: ClockPolicy = clock.DEFAULT_POLICY,
    progress: Progress | None = None,
) -> MonthlyReport:
    """Everything the Reports screen and the exports show for `month`.

    `zone` None means this computer's zone. `progress(done, total)` is called between the
    steps and may raise to cancel (nothing is written, so nothing needs undoing). A report
    made is in the audit trail: it lists every patient of the month.
    """
    check(actor, Permission.REPORTS, REPORT_WORDS)  # before three months are read
    now = now or datetime.now(UTC)
    steps = 4

    def step(done: int) -> None:
        if progress is not None:
            progress(done, steps)

    step(0)
    rows = case_rows(db, month, now=now, zone=zone, policy=policy)
    step(1)
    this = reports.figures(month, rows, payments_received(db, month))
    step(2)
    earlier = []
    for other in (month.previous(), month.year_before()):
        other_rows = case_rows(db, other, now=now, zone=zone, policy=policy, names=False)
        earlier.append(reports.figures(other, other_rows, payments_received(db, other)))
    step(3)
    profile = get_profile(db)
    turnarounds = [r.turnaround for r in rows if r.completed and r.turnaround is not None]
    report = MonthlyReport(
        month=month,
        rows=tuple(rows),
        figures=this,
        previous=earlier[0],
        year_before=earlier[1],
        weeks=reports.weeks(month, (reports.local_day(r.received_at, zone) for r in rows)),
        turnaround_histogram=reports.turnaround_histogram(turnarounds),
        office_name=profile.details.name,
        currency=profile.currency,
        generated_at=now,
        zone=zone,
    )
    step(4)
    with acting(db, actor, Permission.REPORTS, REPORT_WORDS) as session:
        record(session, actor, AuditAction.GENERATE, "report", detail=f"monthly report {month.iso}")
        session.commit()
    return report


def case_rows(
    db: Database,
    month: Month,
    *,
    now: datetime,
    zone: tzinfo | None = None,
    policy: ClockPolicy = clock.DEFAULT_POLICY,
    names: bool = True,
) -> list[ReportRow]:
    """The cases received in `month` (local time), oldest first.

    `names` False leaves patient names empty: the comparison months need only their figures.
    """
    start, end = reports.month_bounds(month, zone)
    in_month = (Case.received_at >= start, Case.received_at < end)
    cohort = select(Case.id).where(*in_month)
    statement = (
        select(
            Case.id,
            Case.reference,
            Patient.given_names,
            Patient.family_name,
            Case.cancer_type,
            Referrer.name,
            Case.urgency,
            Specialist.name,
            Case.status,
            Case.received_at,
            Case.records_complete_at,
            Case.opinion_at,
            Case.paused_seconds,
            Case.hold_since,
            Case.charges_minor,
            Case.balance_minor,
            Opinion.diagnosis_concordance,
            Opinion.treatment_concordance,
        )
        .join(Patient, Patient.id == Case.patient_id)
        .outerjoin(Referrer, Referrer.id == Case.referrer_id)
        .outerjoin(Specialist, Specialist.id == Case.specialist_id)
        .outerjoin(Opinion, Opinion.case_id == Case.id)
        .where(*in_month)
        .order_by(Case.received_at, Case.id)
    )
    with db.read() as session:
        connection = session.connection()
        result = connection.execute(statement).all()
        reasons: dict[int, list[Reason]] = defaultdict(list)
        for case_id, reason in connection.execute(
            select(CaseReason.case_id, CaseReason.reason)
            .where(CaseReason.case_id.in_(cohort))
            .order_by(CaseReason.case_id, CaseReason.reason)
        ):
            reasons[case_id].append(_REASONS[reason])
        holds = _holds(
            connection.execute(
                select(
                    StatusChange.case_id,
                    StatusChange.from_status,
                    StatusChange.to_status,
                    StatusChange.at,
                )
                .where(
                    StatusChange.case_id.in_(cohort),
                    or_(StatusChange.to_status == _HOLD, StatusChange.from_status == _HOLD),
                )
                .order_by(StatusChange.case_id, StatusChange.id)
            ).all()
        )
    rows = []
    for r in result:
        status, urgency = _STATUSES[r[8]], _URGENCIES[r[6]]
        facts = ClockFacts(status, urgency, r[10], r[11], r[12], r[13])
        rows.append(
            ReportRow(
                case_id=r[0],
                reference=r[1],
                patient=full_name(r[2], r[3]) if names else "",
                cancer_type=r[4],
                referrer=r[5] or "",
                urgency=urgency,
                specialist=r[7] or "",
                status=status,
                received_at=r[9],
                records_complete_at=r[10],
                opinion_at=r[11],
                intake=reports.intake_time(r[9], r[10], holds.get(r[0], ())),
                turnaround=reports.turnaround(facts),
                timeliness=reports.timeliness(facts, now, policy),
                diagnosis_concordance=_CONCORDANCES[r[16]] if r[16] else None,
                treatment_concordance=_CONCORDANCES[r[17]] if r[17] else None,
                final_total_minor=r[14],
                paid_minor=r[14] - r[15],
                balance_minor=r[15],
                reasons=tuple(reasons.get(r[0], ())),
            )
        )
    return rows


def _holds(
    changes: list[tuple[int, str | None, str, datetime]],
) -> dict[int, list[tuple[datetime, datetime | None]]]:
    """Each case's spells on hold, from its status history; a hold not yet ended stays open."""
    spells: dict[int, list[tuple[datetime, datetime | None]]] = defaultdict(list)
    started: dict[int, datetime] = {}
    for case_id, from_status, to_status, at in changes:
        if from_status == _HOLD and case_id in started:
            spells[case_id].append((started.pop(case_id), at))
        if to_status == _HOLD:
            started[case_id] = at
    for case_id, at in started.items():
        spells[case_id].append((at, None))
    return spells


def payments_received(db: Database, month: Month) -> int:
    """Money in (less refunds) on the month's days, for any case: the cash view."""
    with db.read() as session:
        total = session.scalar(
            select(func.coalesce(func.sum(Payment.amount_minor), 0)).where(
                Payment.paid_on >= month.first_day, Payment.paid_on <= month.last_day
            )
        )
    return int(total or 0)


def report_months(db: Database, *, today: date, zone: tzinfo | None = None) -> list[Month]:
    """The months a manager can pick, newest first: from the first case to this month."""
    with db.read() as session:
        first = session.scalar(select(func.min(Case.received_at)))
    newest = Month.of(today)
    # The default (last complete) month is always offered, even to an office new this month.
    oldest = (
        min(Month.of(reports.local_day(first, zone)), newest.previous())
        if first
        else newest.previous()
    )
    months = [newest]
    while months[-1] > oldest:
        months.append(months[-1].previous())
    return months


__all__ = [
    "case_rows",
    "monthly_report",
    "payments_received",
    "report_months",
]
