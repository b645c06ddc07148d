"""A case's records inside one unit of work: its checklist, and what completeness does to it.

Used by intake and edits (cases) and by every document change (documents, files), so the
status moves the same way whoever changes a record.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from referral_desk.db.models import Case, CaseDocument, ChecklistItem, DocumentEvent
from referral_desk.domain import documents as rules
from referral_desk.domain.documents import CaseDocumentState, DocumentStatus
from referral_desk.domain.enums import CaseStatus
from referral_desk.services import case_state


def checklist_for(session: Session, cancer_type: str) -> tuple[rules.ChecklistItem, ...]:
    """The administrator's checklist for a cancer type, read at this moment."""
    rows = session.execute(
        select(ChecklistItem.document_type, ChecklistItem.note)
        .where(ChecklistItem.cancer_type == cancer_type)
        .order_by(ChecklistItem.position, ChecklistItem.document_type)
    ).all()
    return tuple(rules.ChecklistItem(code, note) for code, note in rows)


def states(record: Case) -> list[CaseDocumentState]:
    return [
        CaseDocumentState(d.document_type, d.required, DocumentStatus(d.status))
        for d in record.documents
    ]


def event(
    document: CaseDocument, action: str, *, actor: str, now: datetime, detail: str = ""
) -> None:
    document.events.append(DocumentEvent(at=now, actor=actor, action=action, detail=detail))


def new_document(
    document_type: str,
    *,
    required: bool,
    actor: str,
    now: datetime,
    note: str = "",
    status: DocumentStatus = DocumentStatus.REQUESTED,
) -> CaseDocument:
    return CaseDocument(
        document_type=document_type,
        required=required,
        status=status.value,
        note=note.strip(),
        comment="",
        status_reason="",
        requested_at=now,
        received_at=now if status is DocumentStatus.RECEIVED else None,
        status_at=now,
        status_by=actor,
        chase_count=0,
    )


def apply_checklist(session: Session, record: Case, *, actor: str, now: datetime) -> int:
    """Bring the case's documents in line with its cancer type's checklist; returns changes.

    Documents are only added or re-flagged, never deleted: received files and history stay.
    """
    checklist = checklist_for(session, record.cancer_type)
    plan = rules.plan_checklist(states(record), checklist)
    by_type = {d.document_type: d for d in record.documents}
    for item in plan.to_request:
        document = new_document(
            item.document_type, required=True, note=item.note, actor=actor, now=now
        )
        record.documents.append(document)
        event(document, "requested", actor=actor, now=now, detail="Required for this cancer type")
    for code in plan.now_required:
        by_type[code].required = True
        event(
            by_type[code], "required", actor=actor, now=now, detail="Required for this cancer type"
        )
    for code in plan.no_longer_required:
        by_type[code].required = False
        event(
            by_type[code],
            "not_required",
            actor=actor,
            now=now,
            detail="Not on the checklist of the new cancer type",
        )
    return len(plan.to_request) + len(plan.now_required) + len(plan.no_longer_required)


def sync_completeness(
    record: Case, *, actor: str, now: datetime, cause: str = ""
) -> CaseStatus | None:
    """Recount missing documents; move the case when its records become complete or not.

    Only a change in completeness moves the case, so a stated override (Ready for review
    with documents missing) is not undone by the next document that arrives.
    """
    current = states(record)
    was_complete = record.missing_documents == 0
    record.missing_documents = len(rules.missing(current))
    complete = record.missing_documents == 0
    if complete == was_complete:
        return None
    if CaseStatus(record.status) is CaseStatus.ON_HOLD and record.held_from:
        # The case stays on hold, but resumes where its records now put it (else a case
        # whose records arrived during the hold would sit in Awaiting records for good).
        resume_to = rules.status_after_records_change(CaseStatus(record.held_from), complete)
        if resume_to is not None:
            record.held_from = resume_to.value
        return None
    target = rules.status_after_records_change(CaseStatus(record.status), complete)
    if target is None:
        return None
    if target is CaseStatus.READY_FOR_REVIEW:
        reason = "All required records received or waived"
    elif CaseStatus(record.status) is CaseStatus.NEW:
        reason = "Records requested"
    else:
        reason = f"Records incomplete again{': ' + cause if cause else ''}"
    case_state.move(record, target, reason=reason, actor=actor, now=now)
    if target is CaseStatus.READY_FOR_REVIEW and record.specialist is not None:
        # A reviewer lined up while records came in starts at once.
        target = CaseStatus.UNDER_REVIEW
        case_state.move(
            record,
            target,
            reason=f"Already assigned to {record.specialist.name}",
            actor=actor,
            now=now,
        )
    return target
