"""The roster of specialists, their absences and load, and assigning them to cases."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, tzinfo
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session, selectinload

from referral_desk.db.engine import Database
from referral_desk.db.models import (
    Assignment,
    Case,
    Specialist,
    SpecialistAbsence,
    SpecialistCancerType,
)
from referral_desk.domain import clock
from referral_desk.domain.access import Actor, Permission
from referral_desk.domain.clock import ClockPolicy, Pace
from referral_desk.domain.enums import CANCER_TYPES, CaseStatus
from referral_desk.domain.money import MAX_MAJOR_UNITS, minor_digits
from referral_desk.domain.specialists import (
    Absence,
    AssignmentStatus,
    Candidate,
    Discipline,
    Role,
    SpecialistRuleError,
    Suggestion,
    check_absence,
    check_capacity,
    check_override,
    suggest,
)
from referral_desk.domain.text import fold
from referral_desk.services import case_state, costs
from referral_desk.services.acting import acting
from referral_desk.services.case_state import CaseChange
from referral_desk.services.errors import ConflictError, NotFoundError, ValidationError
from referral_desk.services.office import office_currency, pin_currency

MAX_NAME_CHARS = 200  # the column's width
# A case is on someone's desk until the opinion is in.
OPEN_FOR_REVIEW = frozenset(
    {
        CaseStatus.NEW,
        CaseStatus.AWAITING_RECORDS,
        CaseStatus.READY_FOR_REVIEW,
        CaseStatus.UNDER_REVIEW,
        CaseStatus.ON_HOLD,
    }
)


@dataclass(frozen=True)
class SpecialistDraft:
    name: str
    discipline: Discipline
    capacity: int
    title: str = ""
    cancer_types: frozenset[str] = frozenset()
    phone: str = ""
    email: str = ""
    fee_minor: int = 0
    active: bool = True


@dataclass(frozen=True)
class AbsenceInfo:
    id: int
    first_day: date
    last_day: date
    note: str


@dataclass(frozen=True)
class SpecialistInfo:
    id: int
    version: int
    draft: SpecialistDraft
    absences: tuple[AbsenceInfo, ...]
    active_cases: int
    due_soon: int
    overdue: int

    @property
    def name(self) -> str:
        return self.draft.name


def _utcnow() -> datetime:
    return datetime.now(UTC)


def validate(draft: SpecialistDraft, minor_per_major: int = 100) -> dict[str, str]:
    errors: dict[str, str] = {}
    name = " ".join(draft.name.split())
    if not name:
        errors["name"] = "Give the specialist's name."
    elif len(name) > MAX_NAME_CHARS:
        errors["name"] = f"Keep the name to {MAX_NAME_CHARS} characters (it has {len(name)})."
    try:
        check_capacity(draft.capacity)
    except SpecialistRuleError as exc:
        errors["capacity"] = str(exc)
    if draft.fee_minor < 0:
        errors["fee"] = "The fee cannot be negative."
    elif draft.fee_minor > MAX_MAJOR_UNITS * minor_per_major:
        errors["fee"] = "The fee is implausibly high; check the amount."
    email = draft.email.strip()
    if email and ("@" not in email or " " in email):
        errors["email"] = f"'{email}' is not an e-mail address."
    unknown = sorted(draft.cancer_types - set(CANCER_TYPES))
    if unknown:
        errors["cancer_types"] = f"Unknown cancer type: {', '.join(unknown)}."
    return errors


def _apply(record: Specialist, draft: SpecialistDraft, now: datetime) -> None:
    held = list(record.cancer_types)  # loaded first: a lazy load mid-edit would autoflush
    record.name = " ".join(draft.name.split())
    record.name_folded = fold(record.name)
    record.title = draft.title.strip()
    record.discipline = draft.discipline.value
    record.phone = draft.phone.strip()
    record.email = draft.email.strip()
    record.fee_minor = draft.fee_minor
    record.capacity = draft.capacity
    record.active = draft.active
    wanted = set(draft.cancer_types)
    record.cancer_types = [c for c in held if c.cancer_type in wanted] + [
        SpecialistCancerType(cancer_type=t) for t in sorted(wanted - {c.cancer_type for c in held})
    ]
    record.updated_at = now


def _check(session: Session, draft: SpecialistDraft) -> None:
    """Validate in the office currency; a fee pins it (amounts mean nothing without it)."""
    errors = validate(draft, 10 ** minor_digits(office_currency(session)))
    if errors:
        raise ValidationError(errors)
    if draft.fee_minor:
        pin_currency(session)


def create_specialist(
    db: Database, draft: SpecialistDraft, *, actor: Actor, now: datetime | None = None
) -> int:
    now = now or _utcnow()
    with acting(db, actor, Permission.EDIT_CASES, "add a specialist") as session:
        _check(session, draft)
        record = Specialist(created_at=now)
        _apply(record, draft, now)
        session.add(record)
        session.flush()
        specialist_id = record.id
        session.commit()
    return specialist_id


def update_specialist(
    db: Database,
    specialist_id: int,
    draft: SpecialistDraft,
    *,
    expected_version: int,
    actor: Actor,
    now: datetime | None = None,
) -> int:
    now = now or _utcnow()
    with acting(db, actor, Permission.EDIT_CASES, "change a specialist's details") as session:
        _check(session, draft)
        record = _load(session, specialist_id)
        if record.version != expected_version:
            raise ConflictError(
                f"{record.name}'s details were changed elsewhere since you opened them. "
                "Reopen them; your edits were not saved."
            )
        _apply(record, draft, now)
        session.flush()
        version = record.version
        session.commit()
    return version


def _load(session: Session, specialist_id: int) -> Specialist:
    record = session.get(Specialist, specialist_id)
    if record is None:
        raise NotFoundError(f"There is no specialist number {specialist_id}.")
    return record


def add_absence(
    db: Database,
    specialist_id: int,
    first_day: date | None,
    last_day: date | None,
    note: str = "",
    *,
    actor: Actor,
) -> int:
    try:
        check_absence(first_day, last_day)
    except SpecialistRuleError as exc:
        raise ValidationError({"absence": str(exc)}) from exc
    assert first_day is not None and last_day is not None
    with acting(db, actor, Permission.EDIT_CASES, "record a specialist's absence") as session:
        record = _load(session, specialist_id)
        absence = SpecialistAbsence(first_day=first_day, last_day=last_day, note=note.strip())
        record.absences.append(absence)
        session.flush()
        absence_id = absence.id
        session.commit()
    return absence_id


def remove_absence(db: Database, absence_id: int, *, actor: Actor) -> None:
    with acting(db, actor, Permission.EDIT_CASES, "remove a specialist's absence") as session:
        absence = session.get(SpecialistAbsence, absence_id)
        if absence is None:
            raise NotFoundError(f"There is no absence number {absence_id}.")
        session.delete(absence)
        session.commit()


def _draft(record: Specialist) -> SpecialistDraft:
    return SpecialistDraft(
        name=record.name,
        discipline=Discipline(record.discipline),
        capacity=record.capacity,
        title=record.title,
        cancer_types=frozenset(c.cancer_type for c in record.cancer_types),
        phone=record.phone,
        email=record.email,
        fee_minor=record.fee_minor,
        active=record.active,
    )


def _awaiting_opinion(statement: Select[Any]) -> Select[Any]:
    """Current assignments on cases still awaiting their opinion: what a specialist carries."""
    return statement.join(Case, Case.id == Assignment.case_id).where(
        Assignment.status.in_([s.value for s in AssignmentStatus if s.current]),
        Case.status.in_([s.value for s in OPEN_FOR_REVIEW]),
        Case.opinion_at.is_(None),  # on hold after the opinion: answered already
    )


def _active_case_rows(session: Session) -> list[tuple[int, Case]]:
    """(specialist id, case) for every case a specialist carries, for their clocks."""
    rows = session.execute(_awaiting_opinion(select(Assignment.specialist_id, Case))).all()
    return [(specialist_id, case) for specialist_id, case in rows]


def _load_counts(session: Session) -> Counter[int]:
    """How many cases each specialist carries, counted in SQL."""
    rows = session.execute(
        _awaiting_opinion(select(Assignment.specialist_id, func.count())).group_by(
            Assignment.specialist_id
        )
    ).all()
    return Counter({specialist_id: count for specialist_id, count in rows})


def list_specialists(
    db: Database,
    *,
    include_inactive: bool = True,
    now: datetime | None = None,
    policy: ClockPolicy = clock.DEFAULT_POLICY,
) -> list[SpecialistInfo]:
    """The roster with each specialist's active, due-soon and overdue cases right now."""
    now = now or _utcnow()
    with db.read() as session:
        statement = (
            select(Specialist)
            .options(selectinload(Specialist.cancer_types), selectinload(Specialist.absences))
            .order_by(Specialist.name_folded, Specialist.id)
        )
        if not include_inactive:
            statement = statement.where(Specialist.active.is_(True))
        specialists = session.scalars(statement).all()
        active: Counter[int] = Counter()
        due_soon: Counter[int] = Counter()
        overdue: Counter[int] = Counter()
        for specialist_id, case in _active_case_rows(session):
            active[specialist_id] += 1
            pace = clock.read_clock(case_state.clock_facts(case), now, policy).pace
            if pace is Pace.DUE_SOON:
                due_soon[specialist_id] += 1
            elif pace is Pace.OVERDUE:
                overdue[specialist_id] += 1
        return [
            SpecialistInfo(
                id=s.id,
                version=s.version,
                draft=_draft(s),
                absences=tuple(
                    AbsenceInfo(a.id, a.first_day, a.last_day, a.note) for a in s.absences
                ),
                active_cases=active[s.id],
                due_soon=due_soon[s.id],
                overdue=overdue[s.id],
            )
            for s in specialists
        ]


def get_specialist(db: Database, specialist_id: int) -> SpecialistInfo:
    for info in list_specialists(db):
        if info.id == specialist_id:
            return info
    raise NotFoundError(f"There is no specialist number {specialist_id}.")


def find_specialist(db: Database, name: str) -> int:
    """By name, ignoring case and accents; a unique start of the name or of a word is enough."""
    wanted = fold(" ".join(name.split()))
    with db.read() as session:
        rows = session.execute(select(Specialist.id, Specialist.name, Specialist.name_folded)).all()
    exact = [r for r in rows if r.name_folded == wanted]
    # The start of the name or of one of its words: "mul" finds "Dr. Zoë Müller", "li" does
    # not pick "Henrik Lindqvist" by the middle of "Carolina".
    matches = exact or [
        r
        for r in rows
        if wanted
        and (
            r.name_folded.startswith(wanted)
            or any(word.startswith(wanted) for word in re.findall(r"\w+", r.name_folded))
        )
    ]
    if len(matches) == 1:
        return int(matches[0].id)
    if not matches:
        raise NotFoundError(f"There is no specialist called '{name}'.")
    names = ", ".join(sorted(r.name for r in matches))
    raise ValidationError({"specialist": f"'{name}' could be several specialists: {names}."})


# --- suggestions and assignment -------------------------------------------------------------
def _review_window(
    record: Case, now: datetime, zone: tzinfo | None, policy: ClockPolicy
) -> tuple[date, date]:
    """The days the review must fit in: from today to the due date (or the promise ahead)."""
    today = now.astimezone(zone).date()
    due_at = record.due_at
    if due_at is None:
        due_at = now + policy.target(case_state.clock_facts(record).urgency)
    return today, max(due_at.astimezone(zone).date(), today)


def _suggestions(
    session: Session,
    record: Case,
    role: Role,
    now: datetime,
    zone: tzinfo | None,
    policy: ClockPolicy,
) -> list[Suggestion]:
    load = _load_counts(session)
    specialists = session.scalars(
        select(Specialist).options(
            selectinload(Specialist.cancer_types), selectinload(Specialist.absences)
        )
    ).all()
    candidates = [
        Candidate(
            id=s.id,
            name=s.name,
            discipline=Discipline(s.discipline),
            cancer_types=frozenset(c.cancer_type for c in s.cancer_types),
            capacity=s.capacity,
            active=s.active,
            absences=tuple(Absence(a.first_day, a.last_day, a.note) for a in s.absences),
            active_cases=load[s.id],
        )
        for s in specialists
    ]
    today, due = _review_window(record, now, zone, policy)
    return suggest(candidates, cancer_type=record.cancer_type, role=role, today=today, due=due)


def suggestions(
    db: Database,
    case_id: int,
    role: Role = Role.PRIMARY,
    *,
    now: datetime | None = None,
    local_zone: tzinfo | None = None,
    policy: ClockPolicy = clock.DEFAULT_POLICY,
) -> list[Suggestion]:
    now = now or _utcnow()
    with db.read() as session:
        record = session.get(Case, case_id)
        if record is None:
            raise NotFoundError(f"There is no case number {case_id}.")
        return _suggestions(session, record, role, now, local_zone, policy)


@dataclass(frozen=True)
class AssignmentInfo:
    id: int
    specialist_id: int
    specialist_name: str
    role: Role
    status: AssignmentStatus
    assigned_at: datetime
    assigned_by: str
    override_reason: str
    answered_at: datetime | None
    answered_by: str | None
    decline_reason: str
    ended_at: datetime | None
    end_reason: str


def case_assignments(db: Database, case_id: int) -> list[AssignmentInfo]:
    """Every assignment the case has had, the oldest first (reassignments included)."""
    with db.read() as session:
        rows = session.scalars(
            select(Assignment)
            .options(selectinload(Assignment.specialist))
            .where(Assignment.case_id == case_id)
            .order_by(Assignment.id)
        ).all()
        return [
            AssignmentInfo(
                id=a.id,
                specialist_id=a.specialist_id,
                specialist_name=a.specialist.name,
                role=Role(a.role),
                status=AssignmentStatus(a.status),
                assigned_at=a.assigned_at,
                assigned_by=a.assigned_by,
                override_reason=a.override_reason,
                answered_at=a.answered_at,
                answered_by=a.answered_by,
                decline_reason=a.decline_reason,
                ended_at=a.ended_at,
                end_reason=a.end_reason,
            )
            for a in rows
        ]


def _current(session: Session, case_id: int, role: Role) -> Assignment | None:
    return session.scalar(
        select(Assignment).where(
            Assignment.case_id == case_id,
            Assignment.role == role.value,
            Assignment.status.in_([s.value for s in AssignmentStatus if s.current]),
        )
    )


def assign(
    db: Database,
    case_id: int,
    specialist_id: int,
    role: Role = Role.PRIMARY,
    *,
    actor: Actor,
    override_reason: str = "",
    reassign_reason: str = "",
    now: datetime | None = None,
    local_zone: tzinfo | None = None,
    policy: ClockPolicy = clock.DEFAULT_POLICY,
) -> CaseChange:
    """Ask a specialist to review the case in a role. A ready case goes under review.

    Someone absent, inactive or full needs a stated override; replacing a current
    reviewer needs a reason, and the replaced assignment stays in the history.
    """
    now = now or _utcnow()
    with acting(db, actor, Permission.EDIT_CASES, "assign a specialist") as session:
        record = session.get(Case, case_id)
        if record is None:
            raise NotFoundError(f"There is no case number {case_id}.")
        status = CaseStatus(record.status)
        if status not in OPEN_FOR_REVIEW or record.opinion_at is not None:
            raise ValidationError(
                {"case": f"{record.reference} is {status.label.lower()}: it is past review."}
            )
        options = _suggestions(session, record, role, now, local_zone, policy)
        chosen = next((s for s in options if s.specialist_id == specialist_id), None)
        specialist = session.get(Specialist, specialist_id)
        if specialist is None:
            raise NotFoundError(f"There is no specialist number {specialist_id}.")
        if chosen is None:
            raise ValidationError(
                {
                    "specialist": f"{specialist.name} ({Discipline(specialist.discipline).label})"
                    f" cannot be the {role.person}."
                }
            )
        current = _current(session, case_id, role)
        # Before the override: this very case may be what fills their last slot.
        if current is not None and current.specialist_id == specialist_id:
            raise ValidationError(
                {"specialist": f"{specialist.name} is already the {role.person}."}
            )
        try:
            check_override(chosen, override_reason)
        except SpecialistRuleError as exc:
            raise ValidationError({"override_reason": str(exc)}) from exc
        before = record.version
        if current is not None:
            if not reassign_reason.strip():
                raise ValidationError(
                    {
                        "reassign_reason": f"{record.reference} already has a "
                        f"{role.person}. Say why it goes to {specialist.name} instead."
                    }
                )
            current.status = AssignmentStatus.REPLACED.value
            current.ended_at = now
            current.end_reason = reassign_reason.strip()
            costs.withdraw_specialist_fee(session, record, current, actor=actor.name, now=now)
        assignment = Assignment(
            case_id=case_id,
            specialist_id=specialist_id,
            role=role.value,
            status=AssignmentStatus.PROPOSED.value,
            assigned_at=now,
            assigned_by=actor.name,
            # Kept only when it overrode something: the history should not mislead.
            override_reason="" if chosen.available else override_reason.strip(),
            decline_reason="",
            end_reason="",
        )
        session.add(assignment)
        session.flush()
        costs.quote_specialist_fee(
            session, record, assignment, specialist, role, actor=actor.name, now=now
        )
        moved_to = None
        if role is Role.PRIMARY:
            record.specialist_id = specialist_id
            if status is CaseStatus.READY_FOR_REVIEW:
                moved_to = CaseStatus.UNDER_REVIEW
                case_state.move(
                    record,
                    moved_to,
                    reason=f"Assigned to {specialist.name}",
                    actor=actor.name,
                    now=now,
                )
            elif status is CaseStatus.ON_HOLD and record.held_from == CaseStatus.READY_FOR_REVIEW:
                record.held_from = CaseStatus.UNDER_REVIEW.value  # resumes with its reviewer
        record.updated_at = now
        record.updated_by = actor.name
        session.flush()
        change = CaseChange(
            record.version,
            moved_to,
            f"{specialist.name} is asked to be the {role.person} of {record.reference}."
            + (" The case is now under review." if moved_to else ""),
            before,
        )
        session.commit()
    return change


def _load_assignment(session: Session, assignment_id: int) -> Assignment:
    assignment = session.get(Assignment, assignment_id)
    if assignment is None:
        raise NotFoundError(f"There is no assignment number {assignment_id}.")
    if AssignmentStatus(assignment.status) is not AssignmentStatus.PROPOSED:
        raise ValidationError(
            {"assignment": f"This assignment is already {assignment.status}; it cannot change."}
        )
    return assignment


def accept(
    db: Database, assignment_id: int, *, actor: Actor, now: datetime | None = None
) -> CaseChange:
    now = now or _utcnow()
    with acting(db, actor, Permission.EDIT_CASES, "record a specialist's answer") as session:
        assignment = _load_assignment(session, assignment_id)
        record = session.get(Case, assignment.case_id)
        assert record is not None
        before = record.version
        assignment.status = AssignmentStatus.ACCEPTED.value
        assignment.answered_at = now
        assignment.answered_by = actor.name
        record.updated_at = now
        record.updated_by = actor.name
        session.flush()
        change = CaseChange(record.version, None, f"{assignment.specialist.name} accepted.", before)
        session.commit()
    return change


def decline(
    db: Database, assignment_id: int, *, reason: str, actor: Actor, now: datetime | None = None
) -> CaseChange:
    """The specialist said no. A case under review without a primary goes back to ready."""
    now = now or _utcnow()
    if not reason.strip():
        raise ValidationError({"reason": "Say why the specialist declined (e.g. away, conflict)."})
    with acting(db, actor, Permission.EDIT_CASES, "record a specialist's answer") as session:
        assignment = _load_assignment(session, assignment_id)
        record = session.get(Case, assignment.case_id)
        assert record is not None
        before = record.version
        assignment.status = AssignmentStatus.DECLINED.value
        assignment.answered_at = now
        assignment.answered_by = actor.name
        assignment.decline_reason = reason.strip()
        costs.withdraw_specialist_fee(session, record, assignment, actor=actor.name, now=now)
        name = assignment.specialist.name
        moved_to = None
        if Role(assignment.role) is Role.PRIMARY:
            record.specialist_id = None
            if CaseStatus(record.status) is CaseStatus.UNDER_REVIEW:
                moved_to = CaseStatus.READY_FOR_REVIEW
                case_state.move(
                    record,
                    moved_to,
                    reason=f"{name} declined: {reason.strip()}",
                    actor=actor.name,
                    now=now,
                )
            elif (
                CaseStatus(record.status) is CaseStatus.ON_HOLD
                and record.held_from == CaseStatus.UNDER_REVIEW
            ):
                record.held_from = CaseStatus.READY_FOR_REVIEW.value  # resumes without a reviewer
        record.updated_at = now
        record.updated_by = actor.name
        session.flush()
        message = f"{name} declined." + (
            " The case is ready for review again: assign someone else." if moved_to else ""
        )
        change = CaseChange(record.version, moved_to, message, before)
        session.commit()
    return change
