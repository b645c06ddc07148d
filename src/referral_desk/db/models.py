"""SQLAlchemy 2 typed models. Only services/ use them; screens get plain dataclasses."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from referral_desk.db.types import UTCDateTime

# Stable constraint names, so migrations can refer to them on every backend.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Patient(Base):
    __tablename__ = "patients"

    id: Mapped[int] = mapped_column(primary_key=True)
    given_names: Mapped[str] = mapped_column(String(200), default="")
    family_name: Mapped[str] = mapped_column(String(200))
    # Folded full name: accent- and case-insensitive duplicate checks and sorting.
    name_folded: Mapped[str] = mapped_column(String(400))
    birth_date: Mapped[date] = mapped_column(Date)
    sex: Mapped[str] = mapped_column(String(20))
    phone: Mapped[str] = mapped_column(String(60), default="")
    email: Mapped[str] = mapped_column(String(200), default="")
    address: Mapped[str] = mapped_column(Text, default="")
    preferred_language: Mapped[str] = mapped_column(String(60), default="")
    consent_share_with_referrer: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # A patient is shared by their cases: edits from two case screens must not cross.
    version: Mapped[int] = mapped_column(Integer)

    cases: Mapped[list[Case]] = relationship(back_populates="patient")

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (Index("ix_patients_name_birth", "name_folded", "birth_date"),)


class Referrer(Base):
    """The referring doctor or hospital, kept once and offered again at the next intake."""

    __tablename__ = "referrers"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(300))
    name_folded: Mapped[str] = mapped_column(String(300), unique=True)
    # Who to call when records are missing.
    phone: Mapped[str] = mapped_column(String(60), default="", server_default="")
    email: Mapped[str] = mapped_column(String(200), default="", server_default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ReferenceCounter(Base):
    """Last number handed out per year: only ever grows, so a reference is never reused."""

    __tablename__ = "reference_counters"

    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last_number: Mapped[int] = mapped_column(Integer)


class Case(Base):
    __tablename__ = "cases"

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(20), unique=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    referrer_id: Mapped[int | None] = mapped_column(ForeignKey("referrers.id"), index=True)
    cancer_type: Mapped[str] = mapped_column(String(40))
    diagnosis: Mapped[str] = mapped_column(Text, default="")
    stage: Mapped[str] = mapped_column(String(60), default="")
    patient_questions: Mapped[str] = mapped_column(Text, default="")
    first_diagnosis: Mapped[str] = mapped_column(Text, default="")
    proposed_treatment: Mapped[str] = mapped_column(Text, default="")
    treatment_start: Mapped[date | None] = mapped_column(Date)
    urgency: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(30), index=True)
    held_from: Mapped[str | None] = mapped_column(String(30))

    received_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    records_complete_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    opinion_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    hold_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    paused_seconds: Mapped[int] = mapped_column(Integer, default=0)
    # Derived by the domain clock on every change; stored so the list sorts in SQL.
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    clock_sort: Mapped[int] = mapped_column(Integer)
    # Required documents not yet received or waived; kept by the services for the list.
    missing_documents: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # The current primary reviewer and whether the opinion changed the first one a lot:
    # kept by the services so the list filters and highlights in SQL.
    specialist_id: Mapped[int | None] = mapped_column(ForeignKey("specialists.id"), index=True)
    major_change: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    # Cost totals in minor units, kept by the cost services so the list sorts and filters in
    # SQL: charged (final lines), quoted (estimate lines not declined), still owed, and how
    # many additional tests wait for the patient's approval.
    charges_minor: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    estimate_minor: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    balance_minor: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    awaiting_approval: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[str] = mapped_column(String(100))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    updated_by: Mapped[str] = mapped_column(String(100))
    version: Mapped[int] = mapped_column(Integer)

    patient: Mapped[Patient] = relationship(back_populates="cases")
    referrer: Mapped[Referrer | None] = relationship()
    specialist: Mapped[Specialist | None] = relationship()
    reasons: Mapped[list[CaseReason]] = relationship(
        cascade="all, delete-orphan", order_by="CaseReason.reason"
    )
    history: Mapped[list[StatusChange]] = relationship(
        cascade="all, delete-orphan", order_by="StatusChange.id"
    )
    documents: Mapped[list[CaseDocument]] = relationship(
        cascade="all, delete-orphan", order_by="CaseDocument.id", back_populates="case"
    )

    __mapper_args__ = {"version_id_col": version}
    # The list's default order ("overdue first"): NULL-free so keyset paging can use it.
    __table_args__ = (Index("ix_cases_clock", "clock_sort", text("coalesce(due_at, '')"), "id"),)


class CaseReason(Base):
    __tablename__ = "case_reasons"

    case_id: Mapped[int] = mapped_column(
        ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True
    )
    reason: Mapped[str] = mapped_column(String(40), primary_key=True)


class StatusChange(Base):
    """One line of a case's history; turnaround figures are computed from these."""

    __tablename__ = "status_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    from_status: Mapped[str | None] = mapped_column(String(30))
    to_status: Mapped[str] = mapped_column(String(30))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor: Mapped[str] = mapped_column(String(100))
    reason: Mapped[str] = mapped_column(Text, default="")


class Setting(Base):
    """Office-wide settings the administrator changes (e.g. the file size limit)."""

    __tablename__ = "settings"

    key: Mapped[str] = mapped_column(String(60), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class DocumentType(Base):
    __tablename__ = "document_types"

    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    label: Mapped[str] = mapped_column(String(200))
    # Retired types stay for the cases that have them; they are not offered any more.
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    position: Mapped[int] = mapped_column(Integer, default=0)


class ChecklistItem(Base):
    """One required document type for a cancer type; read only at intake or a type change."""

    __tablename__ = "checklist_items"

    cancer_type: Mapped[str] = mapped_column(String(40), primary_key=True)
    document_type: Mapped[str] = mapped_column(ForeignKey("document_types.code"), primary_key=True)
    note: Mapped[str] = mapped_column(Text, default="")
    position: Mapped[int] = mapped_column(Integer, default=0)


class CaseDocument(Base):
    """A document a case needs or has: its status, who changed it and when, and its files."""

    __tablename__ = "case_documents"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    document_type: Mapped[str] = mapped_column(ForeignKey("document_types.code"), index=True)
    required: Mapped[bool] = mapped_column(Boolean)
    status: Mapped[str] = mapped_column(String(20), index=True)
    note: Mapped[str] = mapped_column(Text, default="")  # what exactly is needed
    comment: Mapped[str] = mapped_column(Text, default="")  # staff's own notes
    status_reason: Mapped[str] = mapped_column(Text, default="")  # why waived / not available
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime)
    received_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    status_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status_by: Mapped[str] = mapped_column(String(100))
    chased_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    chase_count: Mapped[int] = mapped_column(Integer, default=0)

    case: Mapped[Case] = relationship(back_populates="documents")
    files: Mapped[list[CaseFile]] = relationship(
        cascade="all, delete-orphan", order_by="CaseFile.id"
    )
    events: Mapped[list[DocumentEvent]] = relationship(
        cascade="all, delete-orphan", order_by="DocumentEvent.id"
    )

    __table_args__ = (
        UniqueConstraint("case_id", "document_type", name="uq_case_documents_case_type"),
    )


class DocumentEvent(Base):
    """One line of a document's history: requested, received, waived, file added or removed..."""

    __tablename__ = "document_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_document_id: Mapped[int] = mapped_column(
        ForeignKey("case_documents.id", ondelete="CASCADE"), index=True
    )
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(30))
    detail: Mapped[str] = mapped_column(Text, default="")


class Blob(Base):
    """File bytes, stored once per content (SHA-256) however many cases hold them."""

    __tablename__ = "blobs"

    id: Mapped[int] = mapped_column(primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    size: Mapped[int] = mapped_column(Integer)
    mime: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # PDF text for the search: pending -> done / skipped (with a note); other types: none.
    text_state: Mapped[str] = mapped_column(String(20), index=True)
    text_note: Mapped[str] = mapped_column(Text, default="")
    # Last, so reading the other columns never walks the content's overflow pages.
    content: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)


class BlobText(Base):
    __tablename__ = "blob_texts"

    blob_id: Mapped[int] = mapped_column(
        ForeignKey("blobs.id", ondelete="CASCADE"), primary_key=True
    )
    text: Mapped[str] = mapped_column(Text)


class CaseFile(Base):
    """A file attached to a case document. Removing it keeps the row (and the bytes)."""

    __tablename__ = "case_files"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_document_id: Mapped[int] = mapped_column(
        ForeignKey("case_documents.id", ondelete="CASCADE"), index=True
    )
    blob_id: Mapped[int] = mapped_column(ForeignKey("blobs.id"), index=True)
    file_name: Mapped[str] = mapped_column(String(255))
    added_at: Mapped[datetime] = mapped_column(UTCDateTime)
    added_by: Mapped[str] = mapped_column(String(100))
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    removed_by: Mapped[str | None] = mapped_column(String(100))
    removal_reason: Mapped[str] = mapped_column(Text, default="")

    blob: Mapped[Blob] = relationship()


class Specialist(Base):
    __tablename__ = "specialists"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    name_folded: Mapped[str] = mapped_column(String(200), index=True)
    title: Mapped[str] = mapped_column(String(200), default="")  # e.g. "Prof. Dr. med., FRCP"
    discipline: Mapped[str] = mapped_column(String(30))
    phone: Mapped[str] = mapped_column(String(60), default="")
    email: Mapped[str] = mapped_column(String(200), default="")
    fee_minor: Mapped[int] = mapped_column(Integer, default=0)  # consultation fee, minor units
    capacity: Mapped[int] = mapped_column(Integer)  # active cases at once
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(Integer)

    cancer_types: Mapped[list[SpecialistCancerType]] = relationship(
        cascade="all, delete-orphan", order_by="SpecialistCancerType.cancer_type"
    )
    absences: Mapped[list[SpecialistAbsence]] = relationship(
        cascade="all, delete-orphan", order_by="SpecialistAbsence.first_day"
    )

    __mapper_args__ = {"version_id_col": version}


class SpecialistCancerType(Base):
    __tablename__ = "specialist_cancer_types"

    specialist_id: Mapped[int] = mapped_column(
        ForeignKey("specialists.id", ondelete="CASCADE"), primary_key=True
    )
    cancer_type: Mapped[str] = mapped_column(String(40), primary_key=True, index=True)


class SpecialistAbsence(Base):
    __tablename__ = "specialist_absences"

    id: Mapped[int] = mapped_column(primary_key=True)
    specialist_id: Mapped[int] = mapped_column(
        ForeignKey("specialists.id", ondelete="CASCADE"), index=True
    )
    first_day: Mapped[date] = mapped_column(Date)
    last_day: Mapped[date] = mapped_column(Date)  # inclusive
    note: Mapped[str] = mapped_column(Text, default="")


class Assignment(Base):
    """A specialist asked to review a case in a role; never deleted, so reassignment shows."""

    __tablename__ = "assignments"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    specialist_id: Mapped[int] = mapped_column(ForeignKey("specialists.id"), index=True)
    role: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20), index=True)
    assigned_at: Mapped[datetime] = mapped_column(UTCDateTime)
    assigned_by: Mapped[str] = mapped_column(String(100))
    override_reason: Mapped[str] = mapped_column(Text, default="")  # absent/inactive/full
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    answered_by: Mapped[str | None] = mapped_column(String(100))
    decline_reason: Mapped[str] = mapped_column(Text, default="")
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    end_reason: Mapped[str] = mapped_column(Text, default="")  # why reassigned

    specialist: Mapped[Specialist] = relationship()


class Opinion(Base):
    """The second opinion as it came back; one per case, amendable until the letter goes."""

    __tablename__ = "opinions"

    case_id: Mapped[int] = mapped_column(
        ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True
    )
    specialist_id: Mapped[int | None] = mapped_column(ForeignKey("specialists.id"))
    patient_summary: Mapped[str] = mapped_column(Text)
    recommendation: Mapped[str] = mapped_column(Text)
    referrer_notes: Mapped[str] = mapped_column(Text, default="")
    diagnosis_concordance: Mapped[str] = mapped_column(String(20))
    treatment_concordance: Mapped[str] = mapped_column(String(20))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)
    recorded_by: Mapped[str] = mapped_column(String(100))


class FeeService(Base):
    """A service on the office's fee schedule; deactivated rather than deleted once used."""

    __tablename__ = "fee_services"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    price_minor: Mapped[int] = mapped_column(Integer)
    # Additional tests: quoted first, done only once the patient agrees to the cost.
    needs_approval: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(Integer)

    __mapper_args__ = {"version_id_col": version}


class CostLineRecord(Base):
    """One line of a case's costs: quoted (estimate) or charged (final)."""

    __tablename__ = "cost_lines"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    service_id: Mapped[int | None] = mapped_column(ForeignKey("fee_services.id"), index=True)
    # The assignment whose specialist fee this estimate quotes; replaced with the reviewer.
    assignment_id: Mapped[int | None] = mapped_column(ForeignKey("assignments.id"), index=True)
    description: Mapped[str] = mapped_column(String(300))
    quantity: Mapped[int] = mapped_column(Integer)
    unit_price_minor: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(10))
    approval: Mapped[str] = mapped_column(String(12))
    approval_on: Mapped[date | None] = mapped_column(Date)  # the day the patient answered
    approval_by: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[str] = mapped_column(String(100))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_by: Mapped[str] = mapped_column(String(100))
    version: Mapped[int] = mapped_column(Integer)

    service: Mapped[FeeService | None] = relationship()

    __mapper_args__ = {"version_id_col": version}


class Payment(Base):
    """Money received for a case; a refund is a negative amount with its reason."""

    __tablename__ = "payments"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    amount_minor: Mapped[int] = mapped_column(Integer)
    paid_on: Mapped[date] = mapped_column(Date)
    method: Mapped[str] = mapped_column(String(20))
    reference: Mapped[str] = mapped_column(String(200), default="")
    reason: Mapped[str] = mapped_column(Text, default="")
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)
    recorded_by: Mapped[str] = mapped_column(String(100))


class CostEvent(Base):
    """One line of a case's cost history: every line and payment added, changed or removed."""

    __tablename__ = "cost_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(Text, default="")


class LetterTemplate(Base):
    """One version of the wording of a kind of letter; saving makes a new version, so every
    archived letter can say which wording it used."""

    __tablename__ = "letter_templates"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    version: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(Text)
    salutation: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    closing: Mapped[str] = mapped_column(Text)
    disclaimer: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[str] = mapped_column(String(100))

    __table_args__ = (UniqueConstraint("kind", "version", name="uq_letter_templates_kind_version"),)


class Letter(Base):
    """A letter as it was generated: the PDF itself, so a reprint is the identical file."""

    __tablename__ = "letters"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    template_version: Mapped[int] = mapped_column(Integer)
    large_print: Mapped[bool] = mapped_column(Boolean, default=False)
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    pages: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[str] = mapped_column(String(100))
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sent_by: Mapped[str | None] = mapped_column(String(100))
    # Last, so listing letters never walks the content's overflow pages.
    content: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)


class OfficeAsset(Base):
    """An image the letters carry: the office logo and the signatory's signature."""

    __tablename__ = "office_assets"

    name: Mapped[str] = mapped_column(String(20), primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    content: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)


# The FTS5 index lives outside the ORM metadata (virtual table made by the migration).
CASE_SEARCH_TABLE = "case_search"


class User(Base):
    """A person who signs in. Never deleted: the audit trail names them for good."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(40))
    # Case-folded: "Maria" and "maria" are one account.
    name_folded: Mapped[str] = mapped_column(String(40), unique=True)
    full_name: Mapped[str] = mapped_column(String(200), default="")
    role: Mapped[str] = mapped_column(String(20))
    password_hash: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Set by an administrator's reset: the person chooses their own at the next sign-in.
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False)
    failed_attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_failed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_sign_in_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[str] = mapped_column(String(100))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(Integer)

    __mapper_args__ = {"version_id_col": version}


class AuditRecord(Base):
    """One entry of the audit trail. Append-only: triggers refuse UPDATE and DELETE, and each
    entry carries the hash of the one before (domain/audit)."""

    __tablename__ = "audit_entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    actor: Mapped[str] = mapped_column(String(100), index=True)
    action: Mapped[str] = mapped_column(String(20))
    entity: Mapped[str] = mapped_column(String(40))
    entity_id: Mapped[str] = mapped_column(String(100), default="")
    # No foreign keys: the trail outlives anything it names and is never rewritten.
    case_id: Mapped[int | None] = mapped_column(Integer, index=True)
    patient_id: Mapped[int | None] = mapped_column(Integer, index=True)
    changes: Mapped[str] = mapped_column(Text, default="")  # JSON: field -> [old, new]
    detail: Mapped[str] = mapped_column(Text, default="")
    previous_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class AuditHead(Base):
    """The trail's last hash and length, kept apart from the entries, so removing the newest
    entries (which leaves a chain that still verifies) is detected too."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    entries: Mapped[int] = mapped_column(Integer)
    last_hash: Mapped[str] = mapped_column(String(64))
