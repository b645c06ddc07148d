"""The administrator's document types and the checklist of required documents per cancer type.

A checklist is read when a case is taken in or changes cancer type; editing one never
touches the documents existing cases already have.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, select

from referral_desk.db.engine import Database
from referral_desk.db.models import CaseDocument, ChecklistItem, DocumentType
from referral_desk.domain import documents as rules
from referral_desk.domain.access import Actor, Permission
from referral_desk.domain.enums import CANCER_TYPES, cancer_type_label
from referral_desk.domain.text import fold
from referral_desk.services.acting import acting
from referral_desk.services.errors import NotFoundError, ValidationError
from referral_desk.services.records import checklist_for

MAX_LABEL_CHARS = 200


@dataclass(frozen=True)
class DocumentTypeInfo:
    code: str
    label: str
    active: bool
    cases_using: int | None  # None: not counted (only the administration screen needs it)


def document_types(
    db: Database, *, active_only: bool = False, with_usage: bool = True
) -> list[DocumentTypeInfo]:
    """The types in their order. Counting their use reads every case document: opt out
    where only the names are wanted."""
    with db.read() as session:
        usage: dict[str, int] = {}
        if with_usage:
            usage = dict(
                session.execute(
                    select(CaseDocument.document_type, func.count()).group_by(
                        CaseDocument.document_type
                    )
                ).all()
            )
        statement = select(DocumentType).order_by(DocumentType.position, DocumentType.label)
        if active_only:
            statement = statement.where(DocumentType.active.is_(True))
        return [
            DocumentTypeInfo(
                t.code, t.label, t.active, usage.get(t.code, 0) if with_usage else None
            )
            for t in session.scalars(statement)
        ]


def type_labels(db: Database) -> dict[str, str]:
    """Every type's label, retired ones included (old cases still show them)."""
    with db.read() as session:
        return dict(session.execute(select(DocumentType.code, DocumentType.label)).all())


def _clean_label(label: str) -> str:
    label = " ".join(label.split())
    if not label:
        raise ValidationError({"label": "Give the document type a name."})
    if len(label) > MAX_LABEL_CHARS:
        raise ValidationError(
            {"label": f"The name is {len(label)} characters; keep it under {MAX_LABEL_CHARS}."}
        )
    return label


def _check_unique(labels: dict[str, str], label: str, except_code: str | None = None) -> None:
    for code, existing in labels.items():
        if code != except_code and fold(existing) == fold(label):
            raise ValidationError({"label": f"There is already a document type '{existing}'."})


def add_document_type(db: Database, label: str, *, actor: Actor) -> str:
    """A new type, offered from now on; returns its code."""
    label = _clean_label(label)
    with acting(db, actor, Permission.OFFICE_SETTINGS, "add a document type") as session:
        labels = dict(session.execute(select(DocumentType.code, DocumentType.label)).all())
        _check_unique(labels, label)
        base = re.sub(r"[^a-z0-9]+", "_", fold(label)).strip("_")[:30] or "type"
        code, n = base, 1
        while code in labels:
            n += 1
            code = f"{base}_{n}"
        position = session.scalar(select(func.coalesce(func.max(DocumentType.position), 0))) or 0
        session.add(DocumentType(code=code, label=label, active=True, position=position + 1))
        session.commit()
    return code


def rename_document_type(db: Database, code: str, label: str, *, actor: Actor) -> None:
    label = _clean_label(label)
    with acting(db, actor, Permission.OFFICE_SETTINGS, "rename a document type") as session:
        record = session.get(DocumentType, code)
        if record is None:
            raise NotFoundError(f"There is no document type '{code}'.")
        labels = dict(session.execute(select(DocumentType.code, DocumentType.label)).all())
        _check_unique(labels, label, except_code=code)
        record.label = label
        session.commit()


def set_document_type_active(db: Database, code: str, active: bool, *, actor: Actor) -> None:
    """Retire or restore a type. Retired types leave every checklist; cases keep theirs."""
    words = "restore a document type" if active else "retire a document type"
    with acting(db, actor, Permission.OFFICE_SETTINGS, words) as session:
        record = session.get(DocumentType, code)
        if record is None:
            raise NotFoundError(f"There is no document type '{code}'.")
        record.active = active
        if not active:
            # One by one, not a bulk DELETE: the audit trail sees only ORM deletes.
            for item in session.scalars(
                select(ChecklistItem).where(ChecklistItem.document_type == code)
            ):
                session.delete(item)
        session.commit()


def checklist(db: Database, cancer_type: str) -> tuple[rules.ChecklistItem, ...]:
    with db.read() as session:
        return checklist_for(session, cancer_type)


def save_checklist(
    db: Database, cancer_type: str, items: Sequence[rules.ChecklistItem], *, actor: Actor
) -> None:
    """Replace the checklist of one cancer type. Existing cases are not changed."""
    if cancer_type not in CANCER_TYPES:
        raise ValidationError({"cancer_type": f"'{cancer_type}' is not a known cancer type."})
    seen: set[str] = set()
    for item in items:
        if item.document_type in seen:
            raise ValidationError(
                {"items": f"A document type is listed twice for {cancer_type_label(cancer_type)}."}
            )
        seen.add(item.document_type)
    with acting(db, actor, Permission.OFFICE_SETTINGS, "change a checklist") as session:
        active = set(
            session.scalars(select(DocumentType.code).where(DocumentType.active.is_(True)))
        )
        unknown = sorted(seen - active)
        if unknown:
            raise ValidationError({"items": f"Not an active document type: {', '.join(unknown)}."})
        # Changed in place, not deleted and re-added: the audit trail then shows only what
        # the administrator actually changed.
        stored = {
            record.document_type: record
            for record in session.scalars(
                select(ChecklistItem).where(ChecklistItem.cancer_type == cancer_type)
            )
        }
        for code in sorted(stored.keys() - seen):
            session.delete(stored[code])
        for index, item in enumerate(items):
            record = stored.get(item.document_type)
            if record is None:
                record = ChecklistItem(cancer_type=cancer_type, document_type=item.document_type)
                session.add(record)
            record.note = " ".join(item.note.split())
            record.position = index
        session.commit()
