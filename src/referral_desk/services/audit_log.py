"""Reading the audit trail: the viewer's filtered pages, a case's history, views of patient
records, the CSV export, and the check that no entry was edited or removed."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, func, or_, select
from sqlalchemy.orm import Session

from referral_desk.db import audit_trail
from referral_desk.db.engine import Database
from referral_desk.db.models import AuditHead, AuditRecord, Case, CaseDocument, Patient
from referral_desk.domain.access import AccessError, Actor, Permission, require
from referral_desk.domain.audit import GENESIS, AuditAction, AuditEntry, verify
from referral_desk.domain.text import fold
from referral_desk.services import acting
from referral_desk.services.atomic import write_whole
from referral_desk.services.case_export import neutralise
from referral_desk.services.errors import NotAllowedError, NotFoundError

PAGE = 500


@dataclass(frozen=True)
class AuditFilter:
    """Empty fields do not filter. `until` is exclusive; both are UTC."""

    actor: str = ""
    case_id: int | None = None
    patient_id: int | None = None
    actions: frozenset[AuditAction] = frozenset()
    since: datetime | None = None
    until: datetime | None = None


@dataclass(frozen=True)
class AuditRow:
    id: int
    at: datetime
    actor: str
    action: AuditAction
    entity: str
    entity_id: str
    case_id: int | None
    case_reference: str
    patient_id: int | None
    patient_name: str
    changes: dict[str, tuple[str, str]] = field(default_factory=dict)
    detail: str = ""


def _filtered(query: Select[Any], f: AuditFilter) -> Select[Any]:
    if f.actor:
        query = query.where(AuditRecord.actor == f.actor)
    if f.case_id is not None:
        query = query.where(AuditRecord.case_id == f.case_id)
    if f.patient_id is not None:
        query = query.where(AuditRecord.patient_id == f.patient_id)
    if f.actions:
        query = query.where(AuditRecord.action.in_(sorted(a.value for a in f.actions)))
    if f.since is not None:
        query = query.where(AuditRecord.at >= f.since)
    if f.until is not None:
        query = query.where(AuditRecord.at < f.until)
    return query


def _rows_query() -> Select[Any]:
    return (
        select(AuditRecord, Case.reference, Patient.given_names, Patient.family_name)
        .outerjoin(Case, Case.id == AuditRecord.case_id)
        .outerjoin(Patient, Patient.id == AuditRecord.patient_id)
    )


def _row(
    record: AuditRecord, reference: str | None, given: str | None, family: str | None
) -> AuditRow:
    name = " ".join(part for part in (given, family) if part)
    return AuditRow(
        id=record.id,
        at=record.at,
        actor=record.actor,
        action=AuditAction(record.action),
        entity=record.entity,
        entity_id=record.entity_id,
        case_id=record.case_id,
        case_reference=reference or "",
        patient_id=record.patient_id,
        patient_name=name,
        changes=audit_trail.changes_from_json(record.changes),
        detail=record.detail,
    )


def entries(
    db: Database, f: AuditFilter = AuditFilter(), *, before_id: int | None = None, limit: int = PAGE
) -> list[AuditRow]:
    """Newest first, a page at a time: pass the last row's id as `before_id` for the next."""
    query = _filtered(_rows_query(), f)
    if before_id is not None:
        query = query.where(AuditRecord.id < before_id)
    query = query.order_by(AuditRecord.id.desc()).limit(limit)
    with db.read() as session:
        return [_row(*row) for row in session.execute(query)]


def count(db: Database, f: AuditFilter = AuditFilter()) -> int:
    query = _filtered(select(func.count()).select_from(AuditRecord), f)
    with db.read() as session:
        return session.execute(query).scalar_one()


def _about_case(session: Session, case_id: int) -> ColumnElement[bool]:
    """Entries about one case, with the changes to its patient's details (the case screen
    edits them; their entries name no case)."""
    patient_id = session.scalars(select(Case.patient_id).where(Case.id == case_id)).first()
    about = AuditRecord.case_id == case_id
    if patient_id is None:
        return about
    return or_(
        about,
        and_(
            AuditRecord.patient_id == patient_id,
            AuditRecord.case_id.is_(None),
            AuditRecord.entity == "patient",
        ),
    )


def case_history(db: Database, case_id: int, *, after_id: int = 0) -> list[AuditRow]:
    """Everything the trail holds about one case (after entry `after_id`), newest first."""
    with db.read() as session:
        about = _about_case(session, case_id)
        query = (
            _rows_query().where(about, AuditRecord.id > after_id).order_by(AuditRecord.id.desc())
        )
        return [_row(*row) for row in session.execute(query)]


def newest_case_entry(db: Database, case_id: int) -> int:
    """The id of the newest entry about a case (0 when none): where "since then" starts."""
    with db.read() as session:
        newest = session.execute(
            select(func.max(AuditRecord.id)).where(_about_case(session, case_id))
        ).scalar()
    return int(newest or 0)


def actors(db: Database) -> list[str]:
    """Everyone the trail names, for the viewer's filter (accounts and failed sign-in names)."""
    with db.read() as session:
        return list(
            session.scalars(select(AuditRecord.actor).distinct().order_by(AuditRecord.actor))
        )


def find_case(db: Database, reference: str) -> int | None:
    with db.read() as session:
        return session.scalars(
            select(Case.id).where(func.upper(Case.reference) == reference.strip().upper())
        ).first()


def opened_case(db: Database, case_id: int, *, actor: Actor) -> None:
    """Someone opened a case: who looked at which patient."""
    with db.write() as session:
        patient_id = session.scalars(select(Case.patient_id).where(Case.id == case_id)).first()
        if patient_id is None:
            raise NotFoundError("The case no longer exists.")
        acting.record(
            session,
            actor,
            AuditAction.VIEW,
            "case",
            entity_id=case_id,
            case_id=case_id,
            patient_id=patient_id,
        )
        session.commit()


def opened_document(db: Database, document_id: int, *, actor: Actor, file_name: str = "") -> None:
    """Someone opened a stored file of a case document."""
    with db.write() as session:
        row = session.execute(
            select(CaseDocument.case_id, Case.patient_id)
            .join(Case, Case.id == CaseDocument.case_id)
            .where(CaseDocument.id == document_id)
        ).first()
        if row is None:
            raise NotFoundError("The document no longer exists.")
        acting.record(
            session,
            actor,
            AuditAction.VIEW,
            "document",
            entity_id=document_id,
            case_id=row.case_id,
            patient_id=row.patient_id,
            detail=file_name,
        )
        session.commit()


@dataclass(frozen=True)
class ChainReport:
    entries: int
    problem: str | None  # None: intact

    @property
    def ok(self) -> bool:
        return self.problem is None


def verify_chain(db: Database, progress: Callable[[int, int], None] | None = None) -> ChainReport:
    """Walk the whole trail: an entry edited, removed or inserted, or the newest entries
    cut off, is reported with where it happened."""
    with db.read() as session:
        head = session.execute(
            select(AuditHead.entries, AuditHead.last_hash).where(AuditHead.id == 1)
        ).first()
        total = session.execute(select(func.count()).select_from(AuditRecord)).scalar_one()
        last_hash = GENESIS

        def stored() -> Iterator[tuple[int | None, AuditEntry, str, str]]:
            nonlocal last_hash
            # Plain rows, not ORM objects: the check reads every entry (2x faster).
            table = AuditRecord.__table__
            query = select(table).order_by(table.c.id).execution_options(yield_per=5000)
            for done, row in enumerate(session.execute(query), start=1):
                if progress is not None and done % 5000 == 0:
                    progress(done, total)
                last_hash = row.hash
                yield row.id, audit_trail.entry_of(row), row.previous_hash, row.hash

        broken = verify(stored())
    if broken is not None:
        return ChainReport(
            total, f"Audit entry {broken.entry_id} (number {broken.position + 1}): {broken.reason}."
        )
    if head is None:
        return ChainReport(total, "The audit trail's head record is missing.")
    if head.entries != total or head.last_hash != last_hash:
        return ChainReport(
            total,
            f"The audit trail should hold {head.entries:,} entries ending in a known one, but "
            f"holds {total:,}: entries were removed or added outside Referral Desk.",
        )
    return ChainReport(total, None)


CSV_COLUMNS = (
    "id",
    "time (UTC)",
    "user",
    "action",
    "record",
    "record id",
    "case",
    "patient",
    "changes",
    "detail",
)


def csv_bytes(rows: list[AuditRow]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for row in rows:
        changes = "; ".join(f"{k}: {old} -> {new}" for k, (old, new) in row.changes.items())
        cells = (
            str(row.id),
            row.at.isoformat(timespec="seconds"),
            row.actor,
            row.action.value,
            row.entity,
            row.entity_id,
            row.case_reference,
            row.patient_name,
            changes,
            row.detail,
        )
        writer.writerow([neutralise(c) for c in cells])  # CSV injection
    # BOM: Excel then reads the names as UTF-8.
    return out.getvalue().encode("utf-8-sig")


def export_csv(
    db: Database,
    f: AuditFilter,
    target: Path,
    *,
    actor: Actor,
    cancelled: Callable[[], bool] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> int:
    """Write every entry the filter selects to `target` (whole or not at all). Returns the
    number of entries written; the export itself is recorded. `progress(done, total)` is
    called after each batch read (it may raise to stop)."""
    words = "export the audit trail"
    acting.check(actor, Permission.VIEW_AUDIT, words)
    with db.read() as session:
        # As stored now: an account disabled or demoted meanwhile writes no file at all.
        try:
            require(acting.current_role(session, actor), Permission.VIEW_AUDIT, words)
        except AccessError as exc:
            raise NotAllowedError(str(exc)) from exc
    total = count(db, f) if progress is not None else 0
    rows: list[AuditRow] = []
    before: int | None = None
    while True:
        page = entries(db, f, before_id=before, limit=5000)
        rows.extend(page)
        if progress is not None:
            progress(len(rows), total)
        if len(page) < 5000 or (cancelled is not None and cancelled()):
            break
        before = page[-1].id
    if cancelled is not None and cancelled():
        return 0
    write_whole(target, csv_bytes(rows))
    with acting.acting(db, actor, Permission.VIEW_AUDIT, words) as session:
        acting.record(
            session,
            actor,
            AuditAction.EXPORT,
            "audit trail",
            detail=f"{len(rows)} entries to {target.name}",
        )
        session.commit()
    return len(rows)


@dataclass(frozen=True)
class PatientMatch:
    id: int
    name: str
    birth_date: date


def find_patients(db: Database, text: str, *, limit: int = 50) -> list[PatientMatch]:
    """Patients whose name contains `text` (accents and case ignored), for the filter."""
    folded = fold(text)
    if not folded:
        return []
    query = (
        select(Patient.id, Patient.given_names, Patient.family_name, Patient.birth_date)
        .where(Patient.name_folded.contains(folded, autoescape=True))
        .order_by(Patient.name_folded, Patient.birth_date)
        .limit(limit)
    )
    with db.read() as session:
        return [
            PatientMatch(r.id, f"{r.given_names} {r.family_name}".strip(), r.birth_date)
            for r in session.execute(query)
        ]
