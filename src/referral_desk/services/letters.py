"""Letters for a case: composed from the case and its template, rendered, archived, sent.

Every generated letter is archived with its PDF bytes, so a reprint is the identical file.
The letter's date and the PDF's dates are `now` of the generation: the same case, template,
office profile and `now` give the same bytes.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, tzinfo
from pathlib import Path

from babel.dates import format_date
from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session

from referral_desk.db.engine import Database
from referral_desk.db.models import (
    Case,
    CaseDocument,
    CostLineRecord,
    DocumentType,
    Letter,
    Opinion,
    Patient,
    Specialist,
)
from referral_desk.domain import letters as rules
from referral_desk.domain.access import Actor, Permission
from referral_desk.domain.audit import AuditAction
from referral_desk.domain.costs import Approval, LineKind
from referral_desk.domain.documents import DocumentStatus
from referral_desk.domain.enums import CaseStatus, cancer_type_label
from referral_desk.domain.letters import LetterFacts, LetterKind
from referral_desk.domain.money import format_amount, normalise_locale
from referral_desk.domain.specialists import Concordance
from referral_desk.domain.text import full_name
from referral_desk.pdf.document import LetterDocument, Letterhead, Section, Table
from referral_desk.services import case_state, letter_templates, office
from referral_desk.services.acting import acting, check
from referral_desk.services.acting import record as audit_record
from referral_desk.services.atomic import create_beside, write_whole
from referral_desk.services.case_state import CaseChange
from referral_desk.services.errors import NotFoundError, ServiceError, ValidationError
from referral_desk.services.letter_templates import TemplateDraft
from referral_desk.services.office import OfficeProfile

# The seeded templates are English; dates and amounts follow the reader's locale.
LETTER_LANGUAGE = "en"
SENT_REASON = "Summary letter sent"
# Where a summary letter may be marked sent: it moves Opinion received on to Letter sent; a
# copy sent again later (Letter sent, Closed) is just recorded.
_SENDABLE = frozenset({CaseStatus.OPINION_RECEIVED, CaseStatus.LETTER_SENT, CaseStatus.CLOSED})


@dataclass(frozen=True)
class LetterInfo:
    id: int
    case_id: int
    reference: str
    kind: LetterKind
    template_version: int
    large_print: bool
    sha256: str
    size: int
    pages: int
    created_at: datetime
    created_by: str
    sent_at: datetime | None
    sent_by: str | None

    @property
    def file_name(self) -> str:
        """A name to save or open it under, e.g. 'RD-2026-00042 summary 7.pdf'."""
        return f"{self.reference} {self.kind.value.replace('_', '-')} {self.id}.pdf"


@dataclass(frozen=True)
class BatchResult:
    letter_ids: tuple[int, ...]  # archived (unsent) letters, also those of a cancelled batch
    pages: int
    path: Path | None  # None when cancelled: no combined file is left behind
    cancelled: bool


def _utcnow() -> datetime:
    return datetime.now(UTC)


# --- What a case offers the letters -----------------------------------------------------------


@dataclass(frozen=True)
class _Opinion:
    summary: str
    recommendation: str
    referrer_notes: str
    diagnosis: Concordance
    treatment: Concordance
    specialist_name: str
    specialist_title: str


@dataclass(frozen=True)
class _EstimateLine:
    description: str
    quantity: int
    unit_price_minor: int
    approval: Approval

    @property
    def total_minor(self) -> int:
        return self.quantity * self.unit_price_minor


@dataclass(frozen=True)
class _CaseData:
    reference: str
    given_names: str
    family_name: str
    birth_date: date
    address: str
    referrer_name: str  # "" when the case has none
    consent: bool
    cancer_type: str
    diagnosis: str
    stage: str
    patient_questions: str
    first_diagnosis: str
    proposed_treatment: str
    opinion: _Opinion | None
    missing: tuple[tuple[str, str], ...]  # (label, what exactly is needed)
    estimate: tuple[_EstimateLine, ...]  # not declined
    currency: str

    @property
    def facts(self) -> LetterFacts:
        return LetterFacts(
            has_opinion=self.opinion is not None,
            has_referrer=bool(self.referrer_name),
            referrer_consent=self.consent,
            missing_documents=len(self.missing),
            estimate_lines=len(self.estimate),
        )


def _case_record(session: Session, case_id: int) -> Case:
    record = session.get(Case, case_id)
    if record is None:
        raise NotFoundError(f"There is no case number {case_id}.")
    return record


def _gather(session: Session, case_id: int) -> _CaseData:
    record = _case_record(session, case_id)
    patient = record.patient
    opinion_row = session.get(Opinion, case_id)
    opinion = None
    if opinion_row is not None:
        specialist = (
            session.get(Specialist, opinion_row.specialist_id)
            if opinion_row.specialist_id
            else None
        )
        opinion = _Opinion(
            summary=opinion_row.patient_summary,
            recommendation=opinion_row.recommendation,
            referrer_notes=opinion_row.referrer_notes,
            diagnosis=Concordance(opinion_row.diagnosis_concordance),
            treatment=Concordance(opinion_row.treatment_concordance),
            specialist_name=specialist.name if specialist else "",
            specialist_title=specialist.title if specialist else "",
        )
    missing = session.execute(
        select(DocumentType.label, CaseDocument.note, CaseDocument.status)
        .join(DocumentType, DocumentType.code == CaseDocument.document_type)
        .where(CaseDocument.case_id == case_id, CaseDocument.required.is_(True))
        .order_by(DocumentType.position, DocumentType.label)
    ).all()
    lines = session.scalars(
        select(CostLineRecord)
        .where(
            CostLineRecord.case_id == case_id,
            CostLineRecord.kind == LineKind.ESTIMATE.value,
            CostLineRecord.approval != Approval.DECLINED.value,
        )
        .order_by(CostLineRecord.id)
    )
    return _CaseData(
        reference=record.reference,
        given_names=patient.given_names,
        family_name=patient.family_name,
        birth_date=patient.birth_date,
        address=patient.address,
        referrer_name=record.referrer.name if record.referrer else "",
        consent=patient.consent_share_with_referrer,
        cancer_type=record.cancer_type,
        diagnosis=record.diagnosis,
        stage=record.stage,
        patient_questions=record.patient_questions,
        first_diagnosis=record.first_diagnosis,
        proposed_treatment=record.proposed_treatment,
        opinion=opinion,
        missing=tuple((label, note) for label, note, status in missing if status not in _SETTLED),
        estimate=tuple(
            _EstimateLine(
                line.description, line.quantity, line.unit_price_minor, Approval(line.approval)
            )
            for line in lines
        ),
        currency=office.office_currency(session),
    )


_SETTLED = (DocumentStatus.RECEIVED.value, DocumentStatus.WAIVED.value)


def _facts(session: Session, case_ids: Sequence[int]) -> dict[int, tuple[str, LetterFacts]]:
    """Reference and letter facts of many cases in a few queries (a batch checks hundreds)."""
    found: dict[int, tuple[str, LetterFacts]] = {}
    for start in range(0, len(case_ids), 500):
        chunk = list(case_ids[start : start + 500])
        missing = dict(
            session.execute(
                select(CaseDocument.case_id, func.count())
                .where(
                    CaseDocument.case_id.in_(chunk),
                    CaseDocument.required.is_(True),
                    CaseDocument.status.not_in(_SETTLED),
                )
                .group_by(CaseDocument.case_id)
            ).all()
        )
        quoted = dict(
            session.execute(
                select(CostLineRecord.case_id, func.count())
                .where(
                    CostLineRecord.case_id.in_(chunk),
                    CostLineRecord.kind == LineKind.ESTIMATE.value,
                    CostLineRecord.approval != Approval.DECLINED.value,
                )
                .group_by(CostLineRecord.case_id)
            ).all()
        )
        answered = set(session.scalars(select(Opinion.case_id).where(Opinion.case_id.in_(chunk))))
        rows = session.execute(
            select(Case.id, Case.reference, Case.referrer_id, Patient.consent_share_with_referrer)
            .join(Patient, Patient.id == Case.patient_id)
            .where(Case.id.in_(chunk))
        )
        for case_id, reference, referrer_id, consent in rows:
            found[case_id] = (
                reference,
                LetterFacts(
                    has_opinion=case_id in answered,
                    has_referrer=referrer_id is not None,
                    referrer_consent=consent,
                    missing_documents=missing.get(case_id, 0),
                    estimate_lines=quoted.get(case_id, 0),
                ),
            )
    for case_id in case_ids:
        if case_id not in found:
            raise NotFoundError(f"There is no case number {case_id}.")
    return found


def available_kinds(db: Database, case_id: int) -> dict[LetterKind, str | None]:
    """Every kind of letter: None when it can be made for the case, else why not."""
    with db.read() as session:
        _reference, facts = _facts(session, [case_id])[case_id]
    return {kind: rules.unavailable_reason(kind, facts) for kind in LetterKind}


# --- Composing ----------------------------------------------------------------------------------

SAMPLE = _CaseData(
    reference="RD-2026-00042",
    given_names="Maria",
    family_name="Example",
    birth_date=date(1961, 5, 14),
    address="12 Sample Street\n1000 Sample Town",
    referrer_name="Dr. Sam Referrer, City Hospital",
    consent=True,
    cancer_type="breast",
    diagnosis="Invasive ductal carcinoma, ER+/PR+/HER2-",
    stage="IIA",
    patient_questions="Is chemotherapy really needed before the operation?",
    first_diagnosis="Invasive ductal carcinoma of the left breast",
    proposed_treatment="Chemotherapy for four months, then an operation",
    opinion=_Opinion(
        summary=(
            "The specialist looked at your scans and tissue reports. The cancer is small and "
            "has not spread. It grows slowly and responds to hormone treatment."
        ),
        recommendation=(
            "An operation first, then hormone tablets for five years. Chemotherapy is "
            "probably not needed; a test of the tumour (a genomic test) can confirm this."
        ),
        referrer_notes=(
            "pT1c pN0, grade 2, Ki-67 12 %. Suggest upfront surgery and a 21-gene recurrence "
            "score before deciding on adjuvant chemotherapy."
        ),
        diagnosis=Concordance.CONFIRMED,
        treatment=Concordance.MAJOR_CHANGE,
        specialist_name="Dr. Ana Lima",
        specialist_title="MD PhD, medical oncologist",
    ),
    missing=(
        ("Pathology report", "with ER/PR/HER2 status"),
        ("Imaging report", ""),
    ),
    estimate=(
        _EstimateLine("Second opinion consultation", 1, 45_000, Approval.NOT_NEEDED),
        _EstimateLine("Pathology re-review", 1, 18_000, Approval.NOT_NEEDED),
        _EstimateLine("Genomic test of the tumour", 1, 250_000, Approval.PENDING),
    ),
    currency="EUR",
)


def _local_date(now: datetime, local_zone: tzinfo | None) -> date:
    return now.astimezone(local_zone).date() if local_zone else now.astimezone().date()


def _office_contact(profile: OfficeProfile) -> str:
    ways = []
    if profile.phone:
        ways.append(f"by phone on {profile.phone}")
    if profile.email:
        ways.append(f"by e-mail at {profile.email}")
    if ways:
        return " or ".join(ways)
    if profile.address:
        return "at the address at the top of this letter"
    return "at our office"


def _join(*parts: str, sep: str = ", ") -> str:
    return sep.join(p.strip() for p in parts if p and p.strip())


def _approval_note(data: _CaseData, locale: str) -> str:
    pending = [line for line in data.estimate if line.approval is Approval.PENDING]
    if not pending:
        return ""
    items = ", ".join(
        f"{line.description} ({format_amount(line.total_minor, data.currency, locale)})"
        for line in pending
    )
    if len(pending) == 1:
        return f"One test needs your approval before we arrange it: {items}."
    return f"These {len(pending)} tests need your approval before we arrange them: {items}."


def _estimate_table(data: _CaseData, locale: str) -> Table:
    markers = {Approval.PENDING: " (needs your approval)", Approval.APPROVED: " (approved)"}
    rows = tuple(
        (
            line.description + markers.get(line.approval, ""),
            str(line.quantity),
            format_amount(line.unit_price_minor, data.currency, locale),
            format_amount(line.total_minor, data.currency, locale),
        )
        for line in data.estimate
    )
    total = sum(line.total_minor for line in data.estimate)
    return Table(
        header=("Item", "Quantity", "Price", "Amount"),
        rows=rows,
        footer=("Estimated total", "", "", format_amount(total, data.currency, locale)),
    )


def _values(
    kind: LetterKind, data: _CaseData, profile: OfficeProfile, date_text: str, locale: str
) -> dict[str, str]:
    values = {
        "patient_name": full_name(data.given_names, data.family_name),
        "patient_given_names": data.given_names,
        "patient_family_name": data.family_name,
        "patient_birth_date": format_date(data.birth_date, format="long", locale=locale),
        "reference": data.reference,
        "date": date_text,
        "office_name": profile.letter_name,
        "office_address": _join(*profile.address.splitlines()),
        "office_phone": profile.phone,
        "office_email": profile.email,
        "office_website": profile.website,
        "office_contact": _office_contact(profile),
        "signatory_name": profile.signatory_name,
        "signatory_title": profile.signatory_title,
        "cancer_type": cancer_type_label(data.cancer_type),
        "referrer_name": data.referrer_name,
        "patient_questions": data.patient_questions,
        "diagnosis": data.diagnosis,
        "stage": data.stage,
        "first_diagnosis": data.first_diagnosis,
        "proposed_treatment": data.proposed_treatment,
        "missing_count": str(len(data.missing)),
        "currency": data.currency,
    }
    if data.opinion is not None:
        opinion = data.opinion
        values |= {
            "specialist": _join(opinion.specialist_name, opinion.specialist_title),
            "specialist_name": opinion.specialist_name,
            "specialist_title": opinion.specialist_title,
            "opinion_summary": opinion.summary,
            "recommendation": opinion.recommendation,
            "referrer_notes": opinion.referrer_notes,
            "concordance": rules.concordance_sentence(opinion.diagnosis, opinion.treatment),
            "diagnosis_concordance": opinion.diagnosis.label,
            "treatment_concordance": opinion.treatment.label,
        }
    if kind is LetterKind.ESTIMATE:
        total = sum(line.total_minor for line in data.estimate)
        values["estimate_total"] = format_amount(total, data.currency, locale)
        values["approval_note"] = _approval_note(data, locale)
    return values


def _document(
    kind: LetterKind,
    data: _CaseData,
    draft: TemplateDraft,
    version: int,
    profile: OfficeProfile,
    images: tuple[bytes | None, bytes | None],
    *,
    large_print: bool,
    now: datetime,
    locale: str,
    local_zone: tzinfo | None,
) -> LetterDocument:
    date_text = format_date(_local_date(now, local_zone), format="long", locale=locale)
    values = _values(kind, data, profile, date_text, locale)
    table = _estimate_table(data, locale) if kind is LetterKind.ESTIMATE else None
    try:
        sections = rules.fill_body(
            rules.parse_body(draft.body, kind),
            values,
            {"missing_documents": [_join(label, note, sep=": ") for label, note in data.missing]},
        )
        title = rules.fill_text(draft.title, kind, values)
        salutation = rules.fill_text(draft.salutation, kind, values)
        closing = rules.fill_text(draft.closing, kind, values)
        disclaimer = rules.fill_text(draft.disclaimer, kind, values)
    except rules.TemplateError as exc:  # a template saved before a rule existed
        raise ValidationError({"template": str(exc)}) from None
    patient_name = values["patient_name"]
    if kind in (LetterKind.SUMMARY, LetterKind.ESTIMATE):
        recipient = (patient_name, *(line.strip() for line in data.address.splitlines()))
    else:
        recipient = (data.referrer_name,)
    contacts = (profile.phone, profile.email, profile.website)
    return LetterDocument(
        letterhead=Letterhead(
            office_name=profile.letter_name,
            address_lines=tuple(line for line in profile.address.splitlines() if line.strip()),
            contact_line=_join(*contacts, sep=" · "),
            logo=images[0],
            signature=images[1],
        ),
        date_text=date_text,
        recipient_lines=tuple(line for line in recipient if line),
        reference_line=f"Our reference: {data.reference}",
        salutation=salutation,
        sections=tuple(
            Section(s.heading, s.paragraphs, s.bullets, table if s.table else None)
            for s in sections
        ),
        closing=closing,
        signatory_lines=tuple(
            line for line in (profile.signatory_name, profile.signatory_title) if line
        )
        or (profile.letter_name,),
        disclaimer=disclaimer,
        footer_text=f"{profile.letter_name} · {data.reference}",
        title=title or kind.label,
        author=profile.letter_name,
        subject=f"{kind.label}, {data.reference}",
        language=LETTER_LANGUAGE,
        created_at=now,
        large_print=large_print,
        keywords=(data.reference, kind.value, f"template {version}"),
    )


@dataclass(frozen=True)
class _Stationery:
    """What every letter of a kind shares: its wording and the office's letterhead. Read once
    for a batch, so all its letters use the same template version."""

    template: TemplateDraft
    version: int  # 0: a draft being edited, never archived
    profile: OfficeProfile
    images: tuple[bytes | None, bytes | None]  # logo, signature


def _stationery(
    session: Session, kind: LetterKind, template: TemplateDraft | None = None
) -> _Stationery:
    version = 0
    if template is None:
        row = letter_templates.current_row(session, kind)
        version = row.version
        template = TemplateDraft(row.title, row.salutation, row.body, row.closing, row.disclaimer)
    profile = office.profile(session)
    images = (
        office.image(session, "logo") if profile.has_logo else None,
        office.image(session, "signature") if profile.has_signature else None,
    )
    return _Stationery(template, version, profile, images)


def _compose_in(
    session: Session,
    case_id: int | None,
    kind: LetterKind,
    stationery: _Stationery,
    *,
    large_print: bool,
    now: datetime,
    locale: str,
    local_zone: tzinfo | None,
) -> tuple[LetterDocument, _CaseData]:
    data = SAMPLE if case_id is None else _gather(session, case_id)
    if case_id is not None:
        reason = rules.unavailable_reason(kind, data.facts)
        if reason is not None:
            raise ValidationError({"kind": f"{kind.label} for {data.reference}: {reason}"})
    doc = _document(
        kind,
        data,
        stationery.template,
        stationery.version,
        stationery.profile,
        stationery.images,
        large_print=large_print,
        now=now,
        locale=locale,
        local_zone=local_zone,
    )
    return doc, data


def _locale(locale: str | None) -> str:
    return normalise_locale(locale) if locale else office.system_locale()


def compose(
    db: Database,
    case_id: int,
    kind: LetterKind,
    *,
    large_print: bool = False,
    now: datetime | None = None,
    template: TemplateDraft | None = None,
    locale: str | None = None,
    local_zone: tzinfo | None = None,
) -> LetterDocument:
    """The letter as it would print (nothing archived). template=None uses the current one.

    Refused (ValidationError) when the case cannot have this letter: see available_kinds.
    """
    kind = LetterKind(kind)
    with db.read() as session:
        doc, _data = _compose_in(
            session,
            case_id,
            kind,
            _stationery(session, kind, template),
            large_print=large_print,
            now=now or _utcnow(),
            locale=_locale(locale),
            local_zone=local_zone,
        )
    return doc


def render_preview(
    db: Database,
    kind: LetterKind,
    draft: TemplateDraft,
    *,
    case_id: int | None = None,
    large_print: bool = False,
    now: datetime | None = None,
    locale: str | None = None,
) -> bytes:
    """A draft template printed for a case or (None) the made-up sample case."""
    from referral_desk.pdf import letters as pdf_letters

    kind = LetterKind(kind)
    with db.read() as session:
        doc, _data = _compose_in(
            session,
            case_id,
            kind,
            _stationery(session, kind, draft),
            large_print=large_print,
            now=now or _utcnow(),
            locale=_locale(locale),
            local_zone=None,
        )
    return pdf_letters.render_letter(doc)


# --- Archive ------------------------------------------------------------------------------------


def _archive(
    session: Session,
    case_id: int,
    kind: LetterKind,
    stationery: _Stationery,
    *,
    actor: str,
    large_print: bool,
    now: datetime,
    locale: str,
    local_zone: tzinfo | None,
) -> tuple[Letter, LetterDocument, str]:
    from referral_desk.pdf import letters as pdf_letters

    doc, data = _compose_in(
        session,
        case_id,
        kind,
        stationery,
        large_print=large_print,
        now=now,
        locale=locale,
        local_zone=local_zone,
    )
    pdf = pdf_letters.render_letter(doc)
    letter = _store(
        session,
        case_id,
        kind,
        stationery.version,
        pdf,
        pdf_letters.page_count(pdf),
        actor=actor,
        large_print=large_print,
        now=now,
    )
    return letter, doc, data.reference


def _store(
    session: Session,
    case_id: int,
    kind: LetterKind,
    template_version: int,
    pdf: bytes,
    pages: int,
    *,
    actor: str,
    large_print: bool,
    now: datetime,
) -> Letter:
    letter = Letter(
        case_id=case_id,
        kind=kind.value,
        template_version=template_version,
        large_print=large_print,
        sha256=hashlib.sha256(pdf).hexdigest(),
        size=len(pdf),
        pages=pages,
        created_at=now,
        created_by=actor,
        content=pdf,
    )
    session.add(letter)
    session.flush()
    return letter


def _info(letter: Letter, reference: str) -> LetterInfo:
    return LetterInfo(
        id=letter.id,
        case_id=letter.case_id,
        reference=reference,
        kind=LetterKind(letter.kind),
        template_version=letter.template_version,
        large_print=letter.large_print,
        sha256=letter.sha256,
        size=letter.size,
        pages=letter.pages,
        created_at=letter.created_at,
        created_by=letter.created_by,
        sent_at=letter.sent_at,
        sent_by=letter.sent_by,
    )


def generate(
    db: Database,
    case_id: int,
    kind: LetterKind,
    *,
    actor: Actor,
    large_print: bool = False,
    now: datetime | None = None,
    locale: str | None = None,
    local_zone: tzinfo | None = None,
) -> LetterInfo:
    """Render the letter and archive it with the case (not sent yet)."""
    kind = LetterKind(kind)
    with acting(db, actor, Permission.LETTERS, "make a letter") as session:
        letter, _doc, reference = _archive(
            session,
            case_id,
            kind,
            _stationery(session, kind),
            actor=actor.name,
            large_print=large_print,
            now=now or _utcnow(),
            locale=_locale(locale),
            local_zone=local_zone,
        )
        info = _info(letter, reference)
        session.commit()
    return info


def list_letters(db: Database, case_id: int) -> list[LetterInfo]:
    """The case's archived letters, newest first."""
    with db.read() as session:
        reference = _case_record(session, case_id).reference
        rows = session.scalars(
            select(Letter).where(Letter.case_id == case_id).order_by(Letter.id.desc())
        )
        return [_info(row, reference) for row in rows]


def _letter(session: Session, letter_id: int) -> Letter:
    letter = session.get(Letter, letter_id)
    if letter is None:
        raise NotFoundError(f"There is no letter number {letter_id}.")
    return letter


def letter_info(db: Database, letter_id: int) -> LetterInfo:
    with db.read() as session:
        letter = _letter(session, letter_id)
        return _info(letter, _case_record(session, letter.case_id).reference)


def letter_bytes(db: Database, letter_id: int) -> bytes:
    """The archived PDF, checked against its fingerprint: a reprint is the identical file."""
    with db.read() as session:
        letter = _letter(session, letter_id)
        content = session.scalar(select(Letter.content).where(Letter.id == letter_id)) or b""
        if hashlib.sha256(content).hexdigest() != letter.sha256:
            raise ServiceError(
                f"The stored copy of letter {letter_id} is damaged (its fingerprint does not "
                "match); restore a backup."
            )
        return content


def _record_letters(
    db: Database,
    letter_ids: Sequence[int],
    *,
    actor: Actor,
    permission: Permission,
    action_words: str,
    action: AuditAction,
    detail: str = "",
) -> None:
    """One audit entry per letter whose bytes left the database: printed, saved, viewed."""
    with acting(db, actor, permission, action_words) as session:
        for letter_id in dict.fromkeys(letter_ids):
            letter = _letter(session, letter_id)
            audit_record(
                session,
                actor,
                action,
                "letter",
                entity_id=letter.id,
                case_id=letter.case_id,
                patient_id=_case_record(session, letter.case_id).patient_id,
                detail=detail,
            )
        session.commit()


def _write_copy(db: Database, letter_id: int, path: Path) -> Path:
    content = letter_bytes(db, letter_id)
    target = Path(path)
    write_whole(target, content)
    return target


def save_copy(db: Database, letter_id: int, path: Path, *, actor: Actor) -> Path:
    """Write the archived letter to `path`, whole or not at all; the copy is in the trail."""
    words = "save a copy of a letter"
    check(actor, Permission.LETTERS, words)
    target = _write_copy(db, letter_id, path)
    _record_letters(
        db,
        [letter_id],
        actor=actor,
        permission=Permission.LETTERS,
        action_words=words,
        action=AuditAction.EXPORT,
        detail=f"saved as {target.name}",
    )
    return target


def export_for_viewing(
    db: Database, letter_id: int, folder: Path | None = None, *, actor: Actor
) -> Path:
    """A fresh copy in a new private folder (inside `folder` when given), for the viewer.
    Who opened which patient's letter is in the trail."""
    check(actor, Permission.VIEW_CASES, "open a letter")
    info = letter_info(db, letter_id)
    try:
        if folder is not None:
            folder.mkdir(parents=True, exist_ok=True)
        place = Path(tempfile.mkdtemp(prefix=f"letter-{letter_id}-", dir=folder))
    except OSError as exc:
        raise ServiceError(f"Cannot write to {folder} ({exc.strerror or exc}).") from None
    path = _write_copy(db, letter_id, place / info.file_name)
    _record_letters(
        db,
        [letter_id],
        actor=actor,
        permission=Permission.VIEW_CASES,
        action_words="open a letter",
        action=AuditAction.VIEW,
        detail="opened in the PDF viewer",
    )
    return path


def record_printed(db: Database, letter_ids: Sequence[int], *, actor: Actor) -> None:
    """The letters were handed to the printer (the batch opened in the PDF viewer to print)."""
    if not letter_ids:
        return
    _record_letters(
        db,
        letter_ids,
        actor=actor,
        permission=Permission.LETTERS,
        action_words="print letters",
        action=AuditAction.PRINT,
    )


# --- Sending ------------------------------------------------------------------------------------


def mark_sent(
    db: Database, letter_ids: Sequence[int], *, actor: Actor, now: datetime | None = None
) -> list[CaseChange]:
    """Record the letters as sent, all or none. A summary letter moves its case from Opinion
    received to Letter sent. Returns one change per case, in the order given."""
    now = now or _utcnow()
    with acting(db, actor, Permission.LETTERS, "mark a letter sent") as session:
        letters = [_letter(session, letter_id) for letter_id in dict.fromkeys(letter_ids)]
        problems: list[str] = []
        for letter in letters:
            record = _case_record(session, letter.case_id)
            kind = LetterKind(letter.kind)
            if letter.sent_at is not None:
                problems.append(
                    f"{record.reference}: this {kind.label.lower()} was already marked sent "
                    f"({letter.sent_at:%Y-%m-%d} by {letter.sent_by})."
                )
            elif kind is LetterKind.SUMMARY and CaseStatus(record.status) not in _SENDABLE:
                problems.append(
                    f"{record.reference} is {CaseStatus(record.status).label.lower()}: a "
                    "summary letter is sent once the opinion is received."
                )
        if problems:
            raise ValidationError({"letters": " ".join(problems) + " Nothing was marked sent."})
        changes: dict[int, CaseChange] = {}
        for letter in letters:
            record = _case_record(session, letter.case_id)
            before = changes[record.id].version_before if record.id in changes else record.version
            letter.sent_at = now
            letter.sent_by = actor.name
            moved = None
            if (
                LetterKind(letter.kind) is LetterKind.SUMMARY
                and record.status == CaseStatus.OPINION_RECEIVED.value
            ):
                moved = CaseStatus.LETTER_SENT
                case_state.move(record, moved, reason=SENT_REASON, actor=actor.name, now=now)
                session.flush()
            previous = changes.get(record.id)
            moved_to = moved or (previous.moved_to if previous else None)
            message = (
                f"{record.reference}: letter sent; the case is now letter sent."
                if moved_to
                else f"{record.reference}: letter marked sent."
            )
            changes[record.id] = CaseChange(record.version, moved_to, message, before)
        session.commit()
    return list(changes.values())


def batch_cases(db: Database) -> list[int]:
    """Cases whose opinion is in and whose summary letter has not been sent, by reference."""
    sent_summary = exists().where(
        Letter.case_id == Case.id,
        Letter.kind == LetterKind.SUMMARY.value,
        Letter.sent_at.is_not(None),
    )
    with db.read() as session:
        return list(
            session.scalars(
                select(Case.id)
                .where(Case.status == CaseStatus.OPINION_RECEIVED.value, ~sent_summary)
                .order_by(Case.reference)
            )
        )


def generate_batch(
    db: Database,
    case_ids: Sequence[int],
    kind: LetterKind,
    out_path: Path,
    *,
    actor: Actor,
    large_print: bool = False,
    progress: Callable[[int], None] | None = None,
    cancelled: Callable[[], bool] | None = None,
    now: datetime | None = None,
    locale: str | None = None,
    local_zone: tzinfo | None = None,
) -> BatchResult:
    """Archive each case's letter and write them all into one printable PDF at `out_path`.

    Refused before anything is made when a case cannot have the letter. Each letter is
    committed as it is made, so memory stays flat; nothing is marked sent (the coordinator
    confirms with mark_sent once the pile is printed). On cancel the combined file is not
    written; the letters archived so far stay in their cases as unsent letters.
    """
    from referral_desk.pdf import letters as pdf_letters

    check(actor, Permission.LETTERS, "print letters")  # before hundreds are rendered
    kind = LetterKind(kind)
    now = now or _utcnow()
    locale = _locale(locale)
    ids = list(dict.fromkeys(case_ids))
    if not ids:
        raise ValidationError({"cases": "Choose at least one case."})
    with db.read() as session:
        stationery = _stationery(session, kind)
        facts = _facts(session, ids)
        problems = []
        for case_id in ids:
            reference, case_facts = facts[case_id]
            reason = rules.unavailable_reason(kind, case_facts)
            if reason is not None:
                problems.append(f"{reference}: {reason}")
    if problems:
        shown = problems[:5] + ([f"and {len(problems) - 5} more."] if len(problems) > 5 else [])
        raise ValidationError(
            {
                "cases": f"{len(problems)} of the cases cannot have a {kind.label.lower()}: "
                + " ".join(shown)
                + " Nothing was made."
            }
        )
    made: list[int] = []
    making: list[int] = []  # the case whose letter is being rendered

    def documents() -> Iterator[LetterDocument]:
        for case_id in ids:
            with db.read() as session:
                doc, _data = _compose_in(
                    session,
                    case_id,
                    kind,
                    stationery,
                    large_print=large_print,
                    now=now,
                    locale=locale,
                    local_zone=local_zone,
                )
            making[:] = [case_id]
            yield doc

    def archive(_doc: LetterDocument, pdf: bytes, pages: int) -> None:
        # The printed bytes are archived as they are: rendered once, committed one by one.
        with acting(db, actor, Permission.LETTERS, "make a letter") as session:
            letter = _store(
                session,
                making[0],
                kind,
                stationery.version,
                pdf,
                pages,
                actor=actor.name,
                large_print=large_print,
                now=now,
            )
            session.commit()
            made.append(letter.id)

    target = Path(out_path)
    try:
        handle, temporary = create_beside(target)
    except OSError as exc:
        raise ServiceError(f"Cannot write to {target.parent} ({exc.strerror or exc}).") from None
    try:
        with os.fdopen(handle, "wb") as out:
            info = pdf_letters.render_batch(
                documents(),
                out,
                progress=progress,
                cancelled=cancelled,
                title=f"{kind.label}s: {len(ids)} letters",
                on_letter=archive,
            )
            out.flush()
            os.fsync(out.fileno())
        if info.cancelled:
            return BatchResult(tuple(made), 0, None, True)
        os.replace(temporary, target)
    except OSError as exc:
        raise ServiceError(
            f"Could not write '{target.name}' ({exc.strerror or exc}); the {len(made)} letters "
            "made so far are archived with their cases, unsent."
        ) from None
    finally:
        if temporary.exists():
            temporary.unlink()
    _record_letters(
        db,
        made,
        actor=actor,
        permission=Permission.LETTERS,
        action_words="print letters",
        action=AuditAction.EXPORT,
        detail=f"saved in {target.name}",
    )
    return BatchResult(tuple(made), info.pages, target, False)
