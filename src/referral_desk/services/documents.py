"""Use cases for a case's documents: read them, change their status, request more, chase.

Every change recounts what is missing, so a case moves to Ready for review the moment its
records are complete (the clock starts then) and back when a required record is reopened.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from referral_desk.db.engine import Database
from referral_desk.db.models import (
    Case,
    CaseDocument,
    CaseFile,
    DocumentType,
    Patient,
    Referrer,
)
from referral_desk.domain import documents as rules
from referral_desk.domain.access import Actor, Permission
from referral_desk.domain.documents import DocumentRuleError, DocumentStatus
from referral_desk.domain.enums import CaseStatus, Urgency
from referral_desk.domain.file_rules import ACCEPTED_TYPES
from referral_desk.domain.text import fold, full_name
from referral_desk.domain.workflow import CLOSED_STATUSES
from referral_desk.services import records
from referral_desk.services.acting import acting
from referral_desk.services.case_state import CaseChange
from referral_desk.services.errors import NotFoundError, ValidationError

# What each history line says, in the words of the office.
ACTION_LABELS = {
    "requested": "Requested",
    "received": "Received",
    "not_available": "Not available",
    "waived": "Waived",
    "reopened": "Requested again",
    "file_added": "File added",
    "file_removed": "File removed",
    "chased": "Chased",
    "required": "Now required",
    "not_required": "No longer required",
    "comment": "Notes changed",
}
_STATUS_ACTIONS = {
    DocumentStatus.REQUESTED: "reopened",
    DocumentStatus.RECEIVED: "received",
    DocumentStatus.NOT_AVAILABLE: "not_available",
    DocumentStatus.WAIVED: "waived",
}
MAX_COMMENT_CHARS = 4000


@dataclass(frozen=True)
class FileInfo:
    id: int
    name: str
    size: int
    mime: str
    sha256: str
    added_at: datetime
    added_by: str
    removed_at: datetime | None
    removed_by: str | None
    removal_reason: str
    text_state: str
    text_note: str

    @property
    def kind(self) -> str:
        return ACCEPTED_TYPES.get(self.mime, self.mime)

    @property
    def removed(self) -> bool:
        return self.removed_at is not None


@dataclass(frozen=True)
class DocumentEntry:
    at: datetime
    actor: str
    action: str
    detail: str

    @property
    def label(self) -> str:
        return ACTION_LABELS.get(self.action, self.action)


@dataclass(frozen=True)
class CaseDocumentInfo:
    id: int
    document_type: str
    label: str
    required: bool
    status: DocumentStatus
    note: str
    comment: str
    status_reason: str
    requested_at: datetime
    received_at: datetime | None
    status_at: datetime
    status_by: str
    chased_at: datetime | None
    chase_count: int
    files: tuple[FileInfo, ...]  # removed ones included, marked
    history: tuple[DocumentEntry, ...]

    @property
    def missing(self) -> bool:
        return self.required and not self.status.settles_requirement

    @property
    def active_files(self) -> tuple[FileInfo, ...]:
        return tuple(f for f in self.files if not f.removed)


@dataclass(frozen=True)
class CaseRecords:
    case_id: int
    reference: str
    case_version: int
    status: CaseStatus
    records_complete_at: datetime | None
    documents: tuple[CaseDocumentInfo, ...]

    @property
    def missing(self) -> tuple[CaseDocumentInfo, ...]:
        return tuple(d for d in self.documents if d.missing)


def _utcnow() -> datetime:
    return datetime.now(UTC)


def case_records(db: Database, case_id: int) -> CaseRecords:
    with db.read() as session:
        record = session.get(
            Case,
            case_id,
            options=[
                selectinload(Case.documents)
                .selectinload(CaseDocument.files)
                .selectinload(CaseFile.blob),
                selectinload(Case.documents).selectinload(CaseDocument.events),
            ],
        )
        if record is None:
            raise NotFoundError(f"There is no case number {case_id}.")
        labels = _labels(session)
        documents = sorted(
            record.documents,
            key=lambda d: (not d.required, labels.get(d.document_type, d.document_type)),
        )
        return CaseRecords(
            case_id=record.id,
            reference=record.reference,
            case_version=record.version,
            status=CaseStatus(record.status),
            records_complete_at=record.records_complete_at,
            documents=tuple(_info(d, labels) for d in documents),
        )


def _labels(session: Session) -> dict[str, str]:
    return dict(session.execute(select(DocumentType.code, DocumentType.label)).all())


def _info(d: CaseDocument, labels: dict[str, str]) -> CaseDocumentInfo:
    return CaseDocumentInfo(
        id=d.id,
        document_type=d.document_type,
        label=labels.get(d.document_type, d.document_type),
        required=d.required,
        status=DocumentStatus(d.status),
        note=d.note,
        comment=d.comment,
        status_reason=d.status_reason,
        requested_at=d.requested_at,
        received_at=d.received_at,
        status_at=d.status_at,
        status_by=d.status_by,
        chased_at=d.chased_at,
        chase_count=d.chase_count,
        files=tuple(
            FileInfo(
                id=f.id,
                name=f.file_name,
                size=f.blob.size,
                mime=f.blob.mime,
                sha256=f.blob.sha256,
                added_at=f.added_at,
                added_by=f.added_by,
                removed_at=f.removed_at,
                removed_by=f.removed_by,
                removal_reason=f.removal_reason,
                text_state=f.blob.text_state,
                text_note=f.blob.text_note,
            )
            for f in d.files
        ),
        history=tuple(DocumentEntry(e.at, e.actor, e.action, e.detail) for e in d.events),
    )


def _load_document(session: Session, document_id: int) -> CaseDocument:
    document = session.get(CaseDocument, document_id)
    if document is None:
        raise NotFoundError(f"There is no case document number {document_id}.")
    return document


def finish(
    session: Session, record: Case, *, actor: str, now: datetime, cause: str = ""
) -> CaseChange:
    """Recount, move the case if completeness changed, stamp it, commit; say what happened."""
    before = record.version
    moved_from = CaseStatus(record.status)
    moved_to = records.sync_completeness(record, actor=actor, now=now, cause=cause)
    record.updated_at = now
    record.updated_by = actor
    session.flush()
    message = _moved_message(record, moved_from, moved_to)
    change = CaseChange(record.version, moved_to, message, before)
    session.commit()
    return change


def _moved_message(record: Case, moved_from: CaseStatus, moved_to: CaseStatus | None) -> str:
    if moved_to is CaseStatus.READY_FOR_REVIEW:
        return f"All required records are in: {record.reference} is ready for review."
    if moved_to is CaseStatus.AWAITING_RECORDS and moved_from is CaseStatus.NEW:
        return f"{record.reference} is now awaiting records."  # it never had them all
    if moved_to is CaseStatus.UNDER_REVIEW and record.specialist is not None:
        return (
            f"All required records are in: {record.reference} is under review by "
            f"{record.specialist.name}."
        )
    if moved_to is CaseStatus.AWAITING_RECORDS:
        return f"{record.reference} is awaiting records again."
    return ""


def set_document_status(
    db: Database,
    document_id: int,
    status: DocumentStatus,
    *,
    reason: str = "",
    actor: Actor,
    now: datetime | None = None,
) -> CaseChange:
    """Received, not available, waived (with a reason) or requested again."""
    now = now or _utcnow()
    try:
        rules.check_document_change(status, reason)
    except DocumentRuleError as exc:
        raise ValidationError({"reason": str(exc)}) from exc
    with acting(db, actor, Permission.EDIT_CASES, "change a document's status") as session:
        document = _load_document(session, document_id)
        label = _labels(session).get(document.document_type, document.document_type)
        if document.status == status.value:
            raise ValidationError({"status": f"{label} is already {status.label.lower()}."})
        document.status = status.value
        document.status_reason = reason.strip()
        document.status_at = now
        document.status_by = actor.name
        if status is DocumentStatus.RECEIVED:
            document.received_at = now
        elif status is DocumentStatus.REQUESTED:
            document.received_at = None
            document.requested_at = now  # the chase list counts the wait from here
        records.event(
            document, _STATUS_ACTIONS[status], actor=actor.name, now=now, detail=reason.strip()
        )
        cause = f"{label} requested again" if status is DocumentStatus.REQUESTED else ""
        return finish(session, document.case, actor=actor.name, now=now, cause=cause)


def set_comment(
    db: Database, document_id: int, comment: str, *, actor: Actor, now: datetime | None = None
) -> CaseChange:
    now = now or _utcnow()
    comment = comment.strip()
    if len(comment) > MAX_COMMENT_CHARS:
        raise ValidationError(
            {
                "comment": f"The notes are {len(comment)} characters; keep them under "
                f"{MAX_COMMENT_CHARS}."
            }
        )
    with acting(db, actor, Permission.EDIT_CASES, "change a document's notes") as session:
        document = _load_document(session, document_id)
        if document.comment == comment:
            return CaseChange(document.case.version, None)
        document.comment = comment
        records.event(document, "comment", actor=actor.name, now=now, detail=comment)
        return finish(session, document.case, actor=actor.name, now=now)


def request_document(
    db: Database,
    case_id: int,
    document_type: str,
    *,
    required: bool = True,
    note: str = "",
    actor: Actor,
    now: datetime | None = None,
) -> CaseChange:
    """Ask for a document the checklist did not (or make an optional one required)."""
    now = now or _utcnow()
    with acting(db, actor, Permission.EDIT_CASES, "request a document") as session:
        record = session.get(Case, case_id)
        if record is None:
            raise NotFoundError(f"There is no case number {case_id}.")
        kind = session.get(DocumentType, document_type)
        if kind is None or not kind.active:
            raise ValidationError(
                {"document_type": f"'{document_type}' is not a document type in use."}
            )
        existing = next((d for d in record.documents if d.document_type == document_type), None)
        if existing is not None:
            if existing.required or not required:
                raise ValidationError(
                    {"document_type": f"{kind.label} is already on {record.reference}."}
                )
            existing.required = True
            records.event(existing, "required", actor=actor.name, now=now, detail=note.strip())
            return finish(
                session, record, actor=actor.name, now=now, cause=f"{kind.label} now required"
            )
        document = records.new_document(
            document_type, required=required, note=note, actor=actor.name, now=now
        )
        record.documents.append(document)
        records.event(document, "requested", actor=actor.name, now=now, detail=note.strip())
        return finish(session, record, actor=actor.name, now=now, cause=f"{kind.label} requested")


def reapply_checklist(
    db: Database, case_id: int, *, actor: Actor, now: datetime | None = None
) -> CaseChange:
    """Apply the current checklist of the case's cancer type, on request (e.g. older cases)."""
    now = now or _utcnow()
    with acting(db, actor, Permission.EDIT_CASES, "apply the checklist to a case") as session:
        record = session.get(Case, case_id)
        if record is None:
            raise NotFoundError(f"There is no case number {case_id}.")
        changes = records.apply_checklist(session, record, actor=actor.name, now=now)
        if not changes:
            return CaseChange(
                record.version, None, "The case already has every document on its checklist."
            )
        change = finish(session, record, actor=actor.name, now=now, cause="checklist applied")
        message = f"{changes} document{'s' if changes != 1 else ''} updated from the checklist."
        return CaseChange(
            change.case_version,
            change.moved_to,
            f"{message} {change.message}".strip(),
            change.version_before,
        )


@dataclass(frozen=True)
class ChaseRow:
    document_id: int
    case_id: int
    reference: str
    patient_name: str
    urgency: Urgency
    case_status: CaseStatus
    treatment_start: date | None
    document_label: str
    note: str
    status: DocumentStatus
    requested_at: datetime
    chased_at: datetime | None
    chase_count: int
    referrer: str
    referrer_phone: str
    referrer_email: str


def chase_list(db: Database) -> list[ChaseRow]:
    """Every missing required document of open cases: urgent cases first, then the longest wait."""
    statement = (
        select(
            CaseDocument.id,
            Case.id,
            Case.reference,
            Patient.given_names,
            Patient.family_name,
            Case.urgency,
            Case.status,
            Case.treatment_start,
            DocumentType.label,
            CaseDocument.note,
            CaseDocument.status,
            CaseDocument.requested_at,
            CaseDocument.chased_at,
            CaseDocument.chase_count,
            Referrer.name,
            Referrer.phone,
            Referrer.email,
        )
        .join(Case, Case.id == CaseDocument.case_id)
        .join(Patient, Patient.id == Case.patient_id)
        .join(DocumentType, DocumentType.code == CaseDocument.document_type)
        .outerjoin(Referrer, Referrer.id == Case.referrer_id)
        .where(
            CaseDocument.required.is_(True),
            CaseDocument.status.in_(
                [DocumentStatus.REQUESTED.value, DocumentStatus.NOT_AVAILABLE.value]
            ),
            Case.status.not_in([s.value for s in CLOSED_STATUSES]),
        )
        .order_by(
            (Case.urgency != Urgency.URGENT.value),
            CaseDocument.requested_at,
            Case.reference,
            DocumentType.position,
        )
    )
    with db.read() as session:
        rows = session.connection().execute(statement).all()
    return [
        ChaseRow(
            document_id=r[0],
            case_id=r[1],
            reference=r[2],
            patient_name=full_name(r[3], r[4]),
            urgency=Urgency(r[5]),
            case_status=CaseStatus(r[6]),
            treatment_start=r[7],
            document_label=r[8],
            note=r[9],
            status=DocumentStatus(r[10]),
            requested_at=r[11],
            chased_at=r[12],
            chase_count=r[13],
            referrer=r[14] or "",
            referrer_phone=r[15] or "",
            referrer_email=r[16] or "",
        )
        for r in rows
    ]


def mark_chased(
    db: Database,
    document_ids: Iterable[int],
    *,
    actor: Actor,
    note: str = "",
    now: datetime | None = None,
) -> int:
    """Record that these documents were chased (today, once more); returns how many."""
    now = now or _utcnow()
    ids = sorted(set(document_ids))
    if not ids:
        raise ValidationError({"documents": "Choose the documents you chased."})
    with acting(db, actor, Permission.EDIT_CASES, "record a chase") as session:
        documents = session.scalars(select(CaseDocument).where(CaseDocument.id.in_(ids))).all()
        if len(documents) != len(ids):
            raise NotFoundError("Some of those documents no longer exist; refresh the list.")
        # Another seat may have received or waived one since the list was shown.
        documents = [d for d in documents if not DocumentStatus(d.status).settles_requirement]
        if not documents:
            raise ValidationError(
                {"documents": "Those documents are no longer missing; refresh the list."}
            )
        for document in documents:
            document.chased_at = now
            document.chase_count += 1
            records.event(
                document,
                "chased",
                actor=actor.name,
                now=now,
                detail=note.strip() or f"Chase number {document.chase_count}",
            )
        session.commit()
    return len(documents)


@dataclass(frozen=True)
class ReferrerContact:
    name: str
    phone: str
    email: str


def referrer_contact(db: Database, name: str) -> ReferrerContact | None:
    with db.read() as session:
        referrer = session.scalar(select(Referrer).where(Referrer.name_folded == fold(name)))
        if referrer is None:
            return None
        return ReferrerContact(referrer.name, referrer.phone, referrer.email)


def set_referrer_contact(db: Database, name: str, *, phone: str, email: str, actor: Actor) -> None:
    phone, email = phone.strip(), email.strip()
    if email and "@" not in email:
        raise ValidationError({"email": f"'{email}' is not an e-mail address."})
    if len(phone) > 60:
        raise ValidationError({"phone": "The phone number is too long (60 characters at most)."})
    with acting(db, actor, Permission.EDIT_CASES, "change a referrer's contact details") as session:
        referrer = session.scalar(select(Referrer).where(Referrer.name_folded == fold(name)))
        if referrer is None:
            raise NotFoundError(f"There is no referrer called '{name}'.")
        referrer.phone = phone
        referrer.email = email
        session.commit()
