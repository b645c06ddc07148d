"""The second opinion as it comes back: what the patient and the referrer are told, and
whether it confirms or changes the first opinion."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from referral_desk.db.engine import Database
from referral_desk.db.models import Case, Opinion, Specialist
from referral_desk.domain.access import Actor, Permission
from referral_desk.domain.enums import CaseStatus
from referral_desk.domain.specialists import Concordance, is_major_change
from referral_desk.services import case_state
from referral_desk.services.acting import acting
from referral_desk.services.case_state import CaseChange
from referral_desk.services.errors import ConflictError, NotFoundError, ValidationError

MAX_TEXT_CHARS = 20_000


@dataclass(frozen=True)
class OpinionDraft:
    patient_summary: str  # plain language, for the patient's letter
    recommendation: str
    diagnosis_concordance: Concordance
    treatment_concordance: Concordance
    received_at: datetime | None  # when the specialist's opinion arrived (UTC)
    referrer_notes: str = ""  # detailed notes for the referring doctor


@dataclass(frozen=True)
class OpinionInfo:
    draft: OpinionDraft
    specialist_name: str | None
    recorded_at: datetime
    recorded_by: str

    @property
    def major_change(self) -> bool:
        return is_major_change([self.draft.diagnosis_concordance, self.draft.treatment_concordance])


def _utcnow() -> datetime:
    return datetime.now(UTC)


def validate(draft: OpinionDraft, record: Case, now: datetime) -> dict[str, str]:
    errors: dict[str, str] = {}
    if not draft.patient_summary.strip():
        errors["patient_summary"] = "Write the summary the patient will read."
    if not draft.recommendation.strip():
        errors["recommendation"] = "Write the specialist's recommendation."
    for field, text in (
        ("patient_summary", draft.patient_summary),
        ("recommendation", draft.recommendation),
        ("referrer_notes", draft.referrer_notes),
    ):
        if len(text) > MAX_TEXT_CHARS:
            errors[field] = f"This is {len(text):,} characters; keep it under {MAX_TEXT_CHARS:,}."
    received = draft.received_at
    if received is None:
        errors["received_at"] = "Give the date and time the opinion was received."
    elif received > now:
        errors["received_at"] = "The opinion cannot have been received in the future."
    elif record.records_complete_at is not None and received < record.records_complete_at:
        errors["received_at"] = (
            "The opinion cannot have been received before the records were complete "
            f"({record.records_complete_at:%Y-%m-%d %H:%M} UTC)."
        )
    return errors


def record_opinion(
    db: Database,
    case_id: int,
    draft: OpinionDraft,
    *,
    actor: Actor,
    now: datetime | None = None,
    expected_version: int | None = None,
) -> CaseChange:
    """Record the opinion of a case under review (it stops the clock), or amend it later.

    Amending is possible until the letter is sent; the answer time follows the amended date.
    """
    now = now or _utcnow()
    with acting(db, actor, Permission.EDIT_CASES, "record an opinion") as session:
        record = session.get(Case, case_id)
        if record is None:
            raise NotFoundError(f"There is no case number {case_id}.")
        if expected_version is not None and record.version != expected_version:
            raise ConflictError(
                f"{record.reference} was changed by someone else since you opened it. Reopen "
                "the case; the opinion was not saved."
            )
        status = CaseStatus(record.status)
        existing = session.get(Opinion, case_id)
        # A case moved to Opinion received by hand may get its opinion written down later.
        amending = status is CaseStatus.OPINION_RECEIVED
        if status is not CaseStatus.UNDER_REVIEW and not amending:
            raise ValidationError(
                {
                    "case": f"An opinion is recorded for a case under review; {record.reference} "
                    f"is {status.label.lower()}."
                }
            )
        errors = validate(draft, record, now)
        if errors:
            raise ValidationError(errors)
        assert draft.received_at is not None
        before = record.version
        opinion = existing or Opinion(case_id=case_id)
        opinion.specialist_id = record.specialist_id
        opinion.patient_summary = draft.patient_summary.strip()
        opinion.recommendation = draft.recommendation.strip()
        opinion.referrer_notes = draft.referrer_notes.strip()
        opinion.diagnosis_concordance = draft.diagnosis_concordance.value
        opinion.treatment_concordance = draft.treatment_concordance.value
        opinion.received_at = draft.received_at
        opinion.recorded_at = now
        opinion.recorded_by = actor.name
        session.add(opinion)
        record.major_change = is_major_change(
            [draft.diagnosis_concordance, draft.treatment_concordance]
        )
        record.opinion_at = draft.received_at  # the clock stops when the opinion arrived
        moved_to = None
        if amending:
            record.updated_at = now
            record.updated_by = actor.name
            case_state.refresh_clock(record)
        else:
            moved_to = CaseStatus.OPINION_RECEIVED
            case_state.move(record, moved_to, reason="Opinion recorded", actor=actor.name, now=now)
        session.flush()
        message = (
            "The opinion was amended."
            if amending
            else f"Opinion recorded: {record.reference} is ready for its letter."
        )
        if record.major_change:
            message += " It is a major change from the first opinion."
        change = CaseChange(record.version, moved_to, message, before)
        session.commit()
    return change


def get_opinion(db: Database, case_id: int) -> OpinionInfo | None:
    with db.read() as session:
        opinion = session.get(Opinion, case_id)
        if opinion is None:
            return None
        specialist = (
            session.get(Specialist, opinion.specialist_id) if opinion.specialist_id else None
        )
        return OpinionInfo(
            draft=OpinionDraft(
                patient_summary=opinion.patient_summary,
                recommendation=opinion.recommendation,
                diagnosis_concordance=Concordance(opinion.diagnosis_concordance),
                treatment_concordance=Concordance(opinion.treatment_concordance),
                received_at=opinion.received_at,
                referrer_notes=opinion.referrer_notes,
            ),
            specialist_name=specialist.name if specialist else None,
            recorded_at=opinion.recorded_at,
            recorded_by=opinion.recorded_by,
        )
