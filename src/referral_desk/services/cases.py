"""Use cases for one case: intake, edit, status changes, and reading it back."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, tzinfo

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from referral_desk.db.engine import Database
from referral_desk.db.models import Case, CaseReason, Patient, Referrer, StatusChange
from referral_desk.domain import clock, workflow
from referral_desk.domain.access import Actor, Permission
from referral_desk.domain.clock import ClockPolicy, ClockReading
from referral_desk.domain.documents import CHECKLIST_FOLLOWS_CANCER_TYPE
from referral_desk.domain.enums import CaseStatus, Reason, Sex, Urgency
from referral_desk.domain.intake import CaseDraft, PatientDraft, validate_case, validate_patient
from referral_desk.domain.text import fold, full_name
from referral_desk.services import case_state, records, search_index
from referral_desk.services.acting import acting
from referral_desk.services.errors import ConflictError, NotFoundError, ValidationError
from referral_desk.services.references import next_reference


@dataclass(frozen=True)
class PatientMatch:
    """An existing patient who may be the one being typed in."""

    id: int
    name: str
    birth_date: date
    references: tuple[str, ...]


@dataclass(frozen=True)
class StatusEntry:
    at: datetime
    from_status: CaseStatus | None
    to_status: CaseStatus
    actor: str
    reason: str


@dataclass(frozen=True)
class CaseDetail:
    id: int
    reference: str
    version: int
    patient_id: int
    patient_version: int
    patient: PatientDraft
    case: CaseDraft
    status: CaseStatus
    held_from: CaseStatus | None
    received_at: datetime
    records_complete_at: datetime | None
    opinion_at: datetime | None
    clock: ClockReading
    treatment_risk: str | None
    allowed_targets: tuple[CaseStatus, ...]
    missing_documents: int  # required documents not yet received or waived
    specialist_name: str | None  # the current primary reviewer
    major_change: bool  # the opinion changed the diagnosis or treatment a lot
    history: tuple[StatusEntry, ...]
    created_by: str
    updated_at: datetime

    @property
    def patient_name(self) -> str:
        return full_name(self.patient.given_names, self.patient.family_name)


@dataclass(frozen=True)
class CaseCreated:
    id: int
    reference: str


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _local_date(moment: datetime, zone: tzinfo | None) -> date:
    return moment.astimezone(zone).date()


def find_possible_duplicates(
    db: Database, given_names: str, family_name: str, birth_date: date | None
) -> list[PatientMatch]:
    """Patients with the same name (ignoring case and accents) and the same date of birth."""
    if birth_date is None or not family_name.strip():
        return []
    with db.read() as session:
        patients = session.scalars(
            select(Patient)
            .where(
                Patient.name_folded == fold(full_name(given_names, family_name)),
                Patient.birth_date == birth_date,
            )
            .options(selectinload(Patient.cases))
            .order_by(Patient.id)
        ).all()
        return [
            PatientMatch(
                p.id,
                full_name(p.given_names, p.family_name),
                p.birth_date,
                tuple(c.reference for c in sorted(p.cases, key=lambda c: c.id)),
            )
            for p in patients
        ]


def referrer_names(db: Database) -> list[str]:
    with db.read() as session:
        return list(session.scalars(select(Referrer.name).order_by(Referrer.name_folded)))


def get_patient(db: Database, patient_id: int) -> PatientDraft:
    with db.read() as session:
        patient = session.get(Patient, patient_id)
        if patient is None:
            raise NotFoundError(f"There is no patient number {patient_id}.")
        return _patient_draft(patient)


def create_case(
    db: Database,
    case: CaseDraft,
    *,
    patient: PatientDraft | None = None,
    existing_patient_id: int | None = None,
    actor: Actor,
    now: datetime | None = None,
    local_zone: tzinfo | None = None,
) -> CaseCreated:
    """Take in a new case for a new patient or an existing one. Nothing is saved if invalid."""
    now = now or _utcnow()
    if (patient is None) == (existing_patient_id is None):
        raise ValueError("give either a new patient or an existing patient's id")
    errors = validate_case(case, _local_date(now, local_zone))
    if patient is not None:
        errors |= validate_patient(patient, _local_date(now, local_zone))
    if errors:
        raise ValidationError(errors)
    with acting(db, actor, Permission.EDIT_CASES, "take in a case") as session:
        if patient is not None:
            record = Patient(created_at=now)
            _apply_patient(record, patient, now)
            session.add(record)
        else:
            record = session.get(Patient, existing_patient_id)
            if record is None:
                raise NotFoundError(f"There is no patient number {existing_patient_id}.")
        new = Case(
            reference=next_reference(session, _local_date(now, local_zone).year),
            status=CaseStatus.NEW.value,
            received_at=now,
            paused_seconds=0,
            missing_documents=0,
            created_at=now,
            created_by=actor.name,
            updated_by=actor.name,
        )
        session.add(new)
        new.patient = record
        _apply_case(session, new, case, now)
        new.history.append(
            StatusChange(
                from_status=None,
                to_status=CaseStatus.NEW.value,
                at=now,
                actor=actor.name,
                reason="Case taken in",
            )
        )
        case_state.refresh_clock(new)
        # Each required document of the cancer type starts as requested: Awaiting records.
        records.apply_checklist(session, new, actor=actor.name, now=now)
        records.sync_completeness(new, actor=actor.name, now=now)
        session.flush()
        search_index.reindex(session, [new.id])
        result = CaseCreated(new.id, new.reference)
        session.commit()
    return result


def update_case(
    db: Database,
    case_id: int,
    *,
    expected_version: int,
    patient: PatientDraft | None,
    case: CaseDraft,
    actor: Actor,
    expected_patient_version: int | None = None,
    now: datetime | None = None,
    local_zone: tzinfo | None = None,
) -> int:
    """Save edits to a case, and to its patient when `patient` is given (None: untouched).

    Both are checked against the versions the editor started from, so nobody's saved
    change is overwritten silently. Returns the case's new version number.
    """
    now = now or _utcnow()
    with acting(db, actor, Permission.EDIT_CASES, "change a case") as session:
        record = _load(session, case_id)
        if record.version != expected_version:
            raise ConflictError(
                f"{record.reference} was changed by someone else since you opened it "
                f"({record.updated_by}, "
                f"{record.updated_at.astimezone(local_zone):%Y-%m-%d %H:%M}). Reopen the case "
                "to see their changes; your edits were not saved."
            )
        errors = validate_case(case, _local_date(record.received_at, local_zone))
        if patient is not None:
            errors |= validate_patient(patient, _local_date(now, local_zone))
        if errors:
            raise ValidationError(errors)
        if patient is not None:
            if expected_patient_version is not None and (
                record.patient.version != expected_patient_version
            ):
                name = full_name(record.patient.given_names, record.patient.family_name)
                raise ConflictError(
                    f"The details of {name} were changed from another case since you opened "
                    "this one. Reopen the case to see them; your edits were not saved."
                )
            _apply_patient(record.patient, patient, now)
        cancer_type_before = record.cancer_type
        _apply_case(session, record, case, now)
        record.updated_by = actor.name
        case_state.refresh_clock(record)
        if (
            record.cancer_type != cancer_type_before
            and CaseStatus(record.status) in CHECKLIST_FOLLOWS_CANCER_TYPE
        ):
            records.apply_checklist(session, record, actor=actor.name, now=now)
            records.sync_completeness(
                record, actor=actor.name, now=now, cause="the cancer type changed"
            )
        session.flush()
        # A patient's name shows in every one of their cases' search rows.
        search_index.reindex(session, [c.id for c in record.patient.cases])
        version = record.version
        session.commit()
    return version


def change_status(
    db: Database,
    case_id: int,
    target: CaseStatus,
    *,
    reason: str = "",
    actor: Actor,
    now: datetime | None = None,
    expected_version: int | None = None,
) -> int:
    """Move a case along the workflow, keeping its clock and history right.

    Returns the case's new version, so an open case screen can keep saving its edits.
    """
    now = now or _utcnow()
    with acting(db, actor, Permission.EDIT_CASES, "change a case's status") as session:
        record = _load(session, case_id)
        if expected_version is not None and record.version != expected_version:
            raise ConflictError(
                f"{record.reference} was changed by someone else since you opened it. "
                "Reopen the case and try again."
            )
        current = CaseStatus(record.status)
        held_from = CaseStatus(record.held_from) if record.held_from else None
        workflow.check_transition(
            current,
            target,
            reason=reason,
            held_from=held_from,
            records_missing=record.missing_documents,
        )
        case_state.move(record, target, reason=reason.strip(), actor=actor.name, now=now)
        session.flush()
        version = record.version
        session.commit()
    return version


def get_case(
    db: Database,
    case_id: int,
    *,
    now: datetime | None = None,
    policy: ClockPolicy = clock.DEFAULT_POLICY,
    local_zone: tzinfo | None = None,
) -> CaseDetail:
    now = now or _utcnow()
    with db.read() as session:
        record = _load(session, case_id)
        facts = case_state.clock_facts(record)
        reading = clock.read_clock(facts, now, policy)
        draft = _case_draft(record)
        held_from = CaseStatus(record.held_from) if record.held_from else None
        return CaseDetail(
            id=record.id,
            reference=record.reference,
            version=record.version,
            patient_id=record.patient_id,
            patient_version=record.patient.version,
            patient=_patient_draft(record.patient),
            case=draft,
            status=facts.status,
            held_from=held_from,
            received_at=record.received_at,
            records_complete_at=record.records_complete_at,
            opinion_at=record.opinion_at,
            clock=reading,
            treatment_risk=clock.treatment_risk(
                facts.urgency, reading, draft.treatment_start, now, local_zone, policy
            ),
            allowed_targets=tuple(workflow.allowed_targets(facts.status, held_from)),
            missing_documents=record.missing_documents,
            specialist_name=record.specialist.name if record.specialist else None,
            major_change=record.major_change,
            history=tuple(
                StatusEntry(
                    h.at,
                    CaseStatus(h.from_status) if h.from_status else None,
                    CaseStatus(h.to_status),
                    h.actor,
                    h.reason,
                )
                for h in record.history
            ),
            created_by=record.created_by,
            updated_at=record.updated_at,
        )


def _load(session: Session, case_id: int) -> Case:
    record = session.get(Case, case_id)
    if record is None:
        raise NotFoundError(f"There is no case number {case_id}.")
    return record


def _apply_patient(record: Patient, draft: PatientDraft, now: datetime) -> None:
    record.given_names = draft.given_names.strip()
    record.family_name = draft.family_name.strip()
    record.name_folded = fold(full_name(draft.given_names, draft.family_name))
    assert draft.birth_date is not None  # validated
    record.birth_date = draft.birth_date
    record.sex = draft.sex.value
    record.phone = draft.phone.strip()
    record.email = draft.email.strip()
    record.address = draft.address.strip()
    record.preferred_language = draft.preferred_language.strip()
    record.consent_share_with_referrer = draft.consent_share_with_referrer
    record.updated_at = now


def _apply_case(session: Session, record: Case, draft: CaseDraft, now: datetime) -> None:
    record.referrer = _referrer(session, draft.referrer_name, now)
    record.cancer_type = draft.cancer_type
    record.diagnosis = draft.diagnosis.strip()
    record.stage = draft.stage.strip()
    record.patient_questions = draft.patient_questions.strip()
    record.first_diagnosis = draft.first_diagnosis.strip()
    record.proposed_treatment = draft.proposed_treatment.strip()
    record.treatment_start = draft.treatment_start
    record.urgency = draft.urgency.value
    wanted = {r.value for r in draft.reasons}
    record.reasons = [r for r in record.reasons if r.reason in wanted] + [
        CaseReason(reason=r) for r in sorted(wanted - {r.reason for r in record.reasons})
    ]
    record.updated_at = now


def _referrer(session: Session, name: str, now: datetime) -> Referrer | None:
    name = " ".join(name.split())
    if not name:
        return None
    with session.no_autoflush:  # the case being built may not be complete yet
        existing = session.scalar(select(Referrer).where(Referrer.name_folded == fold(name)))
    if existing is not None:
        return existing
    referrer = Referrer(name=name, name_folded=fold(name), created_at=now)
    session.add(referrer)
    return referrer


def _patient_draft(p: Patient) -> PatientDraft:
    return PatientDraft(
        given_names=p.given_names,
        family_name=p.family_name,
        birth_date=p.birth_date,
        sex=Sex(p.sex),
        phone=p.phone,
        email=p.email,
        address=p.address,
        preferred_language=p.preferred_language,
        consent_share_with_referrer=p.consent_share_with_referrer,
    )


def _case_draft(c: Case) -> CaseDraft:
    return CaseDraft(
        cancer_type=c.cancer_type,
        diagnosis=c.diagnosis,
        stage=c.stage,
        referrer_name=c.referrer.name if c.referrer else "",
        reasons=frozenset(Reason(r.reason) for r in c.reasons),
        patient_questions=c.patient_questions,
        first_diagnosis=c.first_diagnosis,
        proposed_treatment=c.proposed_treatment,
        treatment_start=c.treatment_start,
        urgency=Urgency(c.urgency),
    )
