"""A case's costs: quoted and charged lines, the patient's approval of extra tests,
payments and refunds, and what the case still owes.

Every change is written to the case's cost history, and the case's totals are kept on the
case row so the list can sort and filter by them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta, tzinfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from referral_desk.db.engine import Database
from referral_desk.db.models import (
    Assignment,
    Case,
    CostEvent,
    CostLineRecord,
    FeeService,
    Payment,
    Specialist,
)
from referral_desk.domain import costs as rules
from referral_desk.domain.access import Actor, Permission
from referral_desk.domain.costs import (
    ROLE_SERVICE_CODES,
    Approval,
    CostLine,
    CostRuleError,
    LineKind,
    PaymentMethod,
    Totals,
)
from referral_desk.domain.enums import CaseStatus
from referral_desk.domain.money import format_iso, minor_digits
from referral_desk.domain.specialists import Role
from referral_desk.services.acting import acting
from referral_desk.services.case_state import CaseChange
from referral_desk.services.errors import ConflictError, NotFoundError, ValidationError
from referral_desk.services.office import office_currency, pin_currency, quotes_specialist_fee

MAX_DESCRIPTION_CHARS = 300
MAX_REFERENCE_CHARS = 200
MAX_REASON_CHARS = 1000
# A payment dated further back than this before the case came in is a typing slip (1925).
EARLIEST_PAYMENT = timedelta(days=366)
# Once the patient has the letter, its figures are what they were told: changing a charge
# then needs a stated reason, kept in the history.
LETTER_SENT_STATUSES = frozenset({CaseStatus.LETTER_SENT, CaseStatus.CLOSED})
# Half of a UTF-16 pair, left by text decoded wrongly (a command line that is not UTF-8):
# no database can hold it, so it is refused like a typing slip.
_BROKEN_CHARACTER = re.compile("[\ud800-\udfff]")
_BROKEN_TEXT = "contains a broken character (from badly converted text); retype it."


@dataclass(frozen=True)
class LineDraft:
    description: str
    quantity: int
    unit_price_minor: int
    kind: LineKind = LineKind.ESTIMATE
    service_id: int | None = None
    needs_approval: bool = False  # an additional test: quoted, done once the patient agrees


@dataclass(frozen=True)
class LineInfo:
    id: int
    draft: LineDraft
    approval: Approval
    approval_on: date | None
    approval_by: str | None
    service_code: str | None
    from_assignment: bool  # a specialist's fee quoted when they were assigned
    created_at: datetime
    created_by: str
    version: int
    removal_needs_reason: bool = False  # a charge on a letter already sent

    @property
    def total_minor(self) -> int:
        return self.draft.quantity * self.draft.unit_price_minor

    @property
    def kind(self) -> LineKind:
        return self.draft.kind


@dataclass(frozen=True)
class PaymentDraft:
    amount_minor: int  # negative: a refund
    paid_on: date
    method: PaymentMethod
    reference: str = ""
    reason: str = ""  # required for a refund


@dataclass(frozen=True)
class PaymentInfo:
    id: int
    draft: PaymentDraft
    recorded_at: datetime
    recorded_by: str

    @property
    def is_refund(self) -> bool:
        return self.draft.amount_minor < 0


@dataclass(frozen=True)
class CostEventInfo:
    at: datetime
    actor: str
    action: str
    reason: str


@dataclass(frozen=True)
class CaseCosts:
    case_id: int
    reference: str
    currency: str
    letter_sent: bool  # changing a charge now needs a reason
    lines: tuple[LineInfo, ...]
    payments: tuple[PaymentInfo, ...]
    totals: Totals
    history: tuple[CostEventInfo, ...]  # newest first


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _local_date(moment: datetime, zone: tzinfo | None) -> date:
    """The day it is (or was) in the office: in Tokyo at 8 a.m. UTC is still yesterday."""
    return moment.astimezone(zone).date()


def _case(session: Session, case_id: int) -> Case:
    record = session.get(Case, case_id)
    if record is None:
        raise NotFoundError(f"There is no case number {case_id}.")
    return record


def _line(session: Session, line_id: int, expected_version: int | None) -> CostLineRecord:
    line = session.get(CostLineRecord, line_id)
    if line is None:
        raise NotFoundError(f"There is no cost line number {line_id}; it may have been removed.")
    if expected_version is not None and line.version != expected_version:
        raise ConflictError(
            f"'{line.description}' was changed by someone else since you looked at it; "
            "nothing was saved. Look at it again."
        )
    return line


def _domain_line(line: CostLineRecord) -> CostLine:
    return CostLine(
        LineKind(line.kind), line.quantity, line.unit_price_minor, Approval(line.approval)
    )


def _costed(session: Session, case_id: int) -> tuple[list[CostLine], list[int]]:
    lines = session.scalars(select(CostLineRecord).where(CostLineRecord.case_id == case_id))
    paid = session.scalars(select(Payment.amount_minor).where(Payment.case_id == case_id))
    return [_domain_line(line) for line in lines], list(paid)


def _totals(session: Session, case_id: int) -> Totals:
    return rules.totals(*_costed(session, case_id))


def _record(
    session: Session,
    record: Case,
    action: str,
    *,
    actor: str,
    now: datetime,
    reason: str = "",
    reason_field: str = "reason",
) -> CaseChange:
    """Write the history line and the case's totals; the change for the screen."""
    before = record.version
    reason = reason.strip()
    if len(reason) > MAX_REASON_CHARS:  # the transaction is not committed: nothing is saved
        raise ValidationError(
            {
                reason_field: f"Keep the {reason_field} to {MAX_REASON_CHARS:,} characters "
                f"(it has {len(reason):,})."
            }
        )
    if _BROKEN_CHARACTER.search(reason):
        raise ValidationError({reason_field: f"The {reason_field} {_BROKEN_TEXT}"})
    session.add(CostEvent(case_id=record.id, at=now, actor=actor, action=action, reason=reason))
    session.flush()
    lines, paid = _costed(session, record.id)  # read once for the totals and the count
    result = rules.totals(lines, paid)
    record.charges_minor = result.final
    record.estimate_minor = result.estimated
    record.balance_minor = result.balance
    record.awaiting_approval = sum(
        1 for line in lines if line.kind is LineKind.ESTIMATE and line.approval is Approval.PENDING
    )
    record.updated_at = now
    record.updated_by = actor
    session.flush()
    return CaseChange(record.version, None, action, before)


def _money(session: Session, minor: int) -> str:
    return format_iso(minor, office_currency(session))


def _describe(session: Session, line: CostLineRecord | LineDraft, *, kind: bool = True) -> str:
    """ "estimate 'Pathology re-review', 2 × EUR 300.00" for the history."""
    price = _money(session, line.unit_price_minor)
    quantity = f"{line.quantity} × " if line.quantity != 1 else ""
    described = f"'{line.description}', {quantity}{price}"
    return f"{LineKind(line.kind).label.lower()} {described}" if kind else described


def _letter_sent(record: Case) -> bool:
    return CaseStatus(record.status) in LETTER_SENT_STATUSES


def _removal_needs_reason(record: Case, kind: LineKind) -> bool:
    return kind is LineKind.FINAL and _letter_sent(record)


def _letter_reason(record: Case, reason: str, what: str) -> None:
    if _letter_sent(record) and not reason.strip():
        raise ValidationError(
            {
                "reason": f"The letter for {record.reference} has been sent with its costs. "
                f"Say why {what} now; the reason is kept in the cost history."
            }
        )


def _check_draft(
    session: Session,
    draft: LineDraft,
    *,
    approval: Approval = Approval.NOT_NEEDED,
    service_before: int | None = None,
) -> LineDraft:
    """A clean draft, or every field's problem at once. `approval` and `service_before` are
    the line's as saved (a new line has neither)."""
    errors: dict[str, str] = {}
    description = " ".join(draft.description.split())
    service = session.get(FeeService, draft.service_id) if draft.service_id else None
    if draft.service_id is not None and service is None:
        errors["service"] = "That service is no longer on the fee schedule."
    elif service is not None and not service.active and service.id != service_before:
        errors["service"] = (
            f"{service.code} {service.name} is deactivated on the fee schedule; "
            "choose another service or describe the line yourself."
        )
    if not description and service is not None:
        description = service.name
    if not description:
        errors["description"] = "Describe the line as the patient will read it."
    elif len(description) > MAX_DESCRIPTION_CHARS:
        errors["description"] = (
            f"Keep the description to {MAX_DESCRIPTION_CHARS} characters "
            f"(it has {len(description):,})."
        )
    elif _BROKEN_CHARACTER.search(description):
        errors["description"] = f"The description {_BROKEN_TEXT}"
    try:
        rules.check_line(
            draft.quantity, draft.unit_price_minor, 10 ** minor_digits(office_currency(session))
        )
    except CostRuleError as exc:
        errors["quantity" if "quantity" in str(exc) else "unit_price"] = str(exc)
    # A charged test the patient approved keeps saying so; any other is quoted first.
    if draft.needs_approval and draft.kind is LineKind.FINAL and approval is not Approval.APPROVED:
        errors["kind"] = {
            Approval.PENDING: "The patient has not approved this test yet; it cannot be charged.",
            Approval.DECLINED: "The patient declined this test; it cannot be charged.",
        }.get(approval, "A test waiting for the patient's approval is an estimate, not a charge.")
    if errors:
        raise ValidationError(errors)
    return replace(draft, description=description)


def _new_line(
    case_id: int, draft: LineDraft, actor: str, now: datetime, assignment_id: int | None = None
) -> CostLineRecord:
    return CostLineRecord(
        case_id=case_id,
        service_id=draft.service_id,
        assignment_id=assignment_id,
        description=draft.description,
        quantity=draft.quantity,
        unit_price_minor=draft.unit_price_minor,
        kind=draft.kind.value,
        approval=(Approval.PENDING if draft.needs_approval else Approval.NOT_NEEDED).value,
        created_at=now,
        created_by=actor,
        updated_at=now,
        updated_by=actor,
    )


def add_line(
    db: Database,
    case_id: int,
    draft: LineDraft,
    *,
    actor: Actor,
    reason: str = "",
    now: datetime | None = None,
) -> CaseChange:
    now = now or _utcnow()
    with acting(db, actor, Permission.EDIT_COSTS, "add a cost line") as session:
        record = _case(session, case_id)
        clean = _check_draft(session, draft)
        if clean.kind is LineKind.FINAL:
            _letter_reason(record, reason, "a charge is added")
        pin_currency(session)
        session.add(_new_line(case_id, clean, actor.name, now))
        change = _record(
            session,
            record,
            f"Added {_describe(session, clean)}.",
            actor=actor.name,
            now=now,
            reason=reason,
        )
        session.commit()
    return change


def update_line(
    db: Database,
    line_id: int,
    draft: LineDraft,
    *,
    expected_version: int,
    actor: Actor,
    reason: str = "",
    now: datetime | None = None,
) -> CaseChange:
    """Change a line. A new amount on an answered test asks the patient again."""
    now = now or _utcnow()
    with acting(db, actor, Permission.EDIT_COSTS, "change a cost line") as session:
        line = _line(session, line_id, expected_version)
        record = _case(session, line.case_id)
        approval = Approval(line.approval)
        was_final = LineKind(line.kind) is LineKind.FINAL
        clean = _check_draft(session, draft, approval=approval, service_before=line.service_id)
        saved = (line.service_id, line.description, line.quantity, line.unit_price_minor)
        if (
            saved == (clean.service_id, clean.description, clean.quantity, clean.unit_price_minor)
            and LineKind(line.kind) is clean.kind
            and (approval is not Approval.NOT_NEEDED) == clean.needs_approval
        ):  # OK pressed on an unchanged line: no history, and no reason asked after the letter
            return CaseChange(record.version, None, "Nothing changed.", record.version)
        if was_final or clean.kind is LineKind.FINAL:
            _letter_reason(record, reason, "a charge is changed")
        amount_changed = (line.quantity, line.unit_price_minor) != (
            clean.quantity,
            clean.unit_price_minor,
        )
        if clean.kind is LineKind.FINAL and not was_final:
            if approval is Approval.PENDING:
                raise ValidationError(
                    {"kind": "The patient has not approved this test yet; it cannot be charged."}
                )
            if approval is Approval.DECLINED:
                raise ValidationError(
                    {"kind": "The patient declined this test; it cannot be charged."}
                )
            if approval is Approval.APPROVED and amount_changed:
                raise ValidationError(
                    {
                        "kind": f"The patient approved {_describe(session, line, kind=False)}. "
                        "Save the new amount as an estimate and ask them again before "
                        "charging it."
                    }
                )
        before = _describe(session, line)
        line.service_id = clean.service_id
        line.description = clean.description
        line.quantity = clean.quantity
        line.unit_price_minor = clean.unit_price_minor
        line.kind = clean.kind.value
        if clean.needs_approval and approval is Approval.NOT_NEEDED:
            line.approval = Approval.PENDING.value
        elif not clean.needs_approval and approval is not Approval.NOT_NEEDED:
            line.approval = Approval.NOT_NEEDED.value
            line.approval_on = line.approval_by = None
        elif (
            amount_changed
            and approval in (Approval.APPROVED, Approval.DECLINED)
            and clean.kind is LineKind.ESTIMATE  # a charged test's approval stands
        ):
            line.approval = Approval.PENDING.value  # they answered about another amount
            line.approval_on = line.approval_by = None
        line.updated_at = now
        line.updated_by = actor.name
        action = f"Changed {before} to {_describe(session, clean)}."
        if Approval(line.approval) is Approval.PENDING and approval is not Approval.PENDING:
            action += " It waits for the patient's approval."
        change = _record(session, record, action, actor=actor.name, now=now, reason=reason)
        session.commit()
    return change


def remove_line(
    db: Database,
    line_id: int,
    *,
    expected_version: int | None = None,
    actor: Actor,
    reason: str = "",
    now: datetime | None = None,
) -> CaseChange:
    now = now or _utcnow()
    with acting(db, actor, Permission.EDIT_COSTS, "remove a cost line") as session:
        line = _line(session, line_id, expected_version)
        record = _case(session, line.case_id)
        if _removal_needs_reason(record, LineKind(line.kind)):
            _letter_reason(record, reason, "a charge is removed")
        action = f"Removed {_describe(session, line)}."
        session.delete(line)
        change = _record(session, record, action, actor=actor.name, now=now, reason=reason)
        session.commit()
    return change


def charge_line(
    db: Database,
    line_id: int,
    *,
    expected_version: int | None = None,
    actor: Actor,
    reason: str = "",
    now: datetime | None = None,
) -> CaseChange:
    """The quoted work was done: the estimate becomes a charge, at the quoted amount."""
    now = now or _utcnow()
    with acting(db, actor, Permission.EDIT_COSTS, "charge a cost line") as session:
        line = _line(session, line_id, expected_version)
        record = _case(session, line.case_id)
        if LineKind(line.kind) is LineKind.FINAL:
            raise ValidationError({"kind": f"'{line.description}' is already charged."})
        approval = Approval(line.approval)
        if approval is Approval.PENDING:
            raise ValidationError(
                {"kind": f"The patient has not approved '{line.description}' yet."}
            )
        if approval is Approval.DECLINED:
            raise ValidationError({"kind": f"The patient declined '{line.description}'."})
        _letter_reason(record, reason, "a charge is added")
        line.kind = LineKind.FINAL.value
        line.updated_at = now
        line.updated_by = actor.name
        change = _record(
            session,
            record,
            f"Charged {_describe(session, line, kind=False)}.",
            actor=actor.name,
            now=now,
            reason=reason,
        )
        session.commit()
    return change


def answer_approval(
    db: Database,
    line_id: int,
    *,
    approved: bool,
    on: date,
    actor: Actor,
    note: str = "",
    expected_version: int | None = None,
    now: datetime | None = None,
    local_zone: tzinfo | None = None,
) -> CaseChange:
    """The patient's yes or no to a quoted test, on the day they gave it (the office's day:
    `local_zone`, None for this computer's). They may change their mind while it is still
    an estimate."""
    now = now or _utcnow()
    with acting(db, actor, Permission.EDIT_COSTS, "record the patient's approval") as session:
        line = _line(session, line_id, expected_version)
        record = _case(session, line.case_id)
        if Approval(line.approval) is Approval.NOT_NEEDED:
            raise ValidationError(
                {"approval": f"'{line.description}' does not need the patient's approval."}
            )
        if LineKind(line.kind) is LineKind.FINAL:
            raise ValidationError(
                {"approval": f"'{line.description}' is already charged; its approval stands."}
            )
        if on > _local_date(now, local_zone):
            raise ValidationError({"approval_on": "The patient cannot answer in the future."})
        received = _local_date(record.received_at, local_zone)
        if on < received:
            raise ValidationError(
                {
                    "approval_on": f"{on.isoformat()} is before {record.reference} was "
                    f"received ({received.isoformat()}); check the date."
                }
            )
        answer = Approval.APPROVED if approved else Approval.DECLINED
        line.approval = answer.value
        line.approval_on = on
        line.approval_by = actor.name
        line.updated_at = now
        line.updated_by = actor.name
        action = f"The patient {answer.value} '{line.description}' on {on.isoformat()}."
        change = _record(
            session, record, action, actor=actor.name, now=now, reason=note, reason_field="note"
        )
        session.commit()
    return change


def _check_payment(
    session: Session, record: Case, draft: PaymentDraft, now: datetime, zone: tzinfo | None
) -> PaymentDraft:
    errors: dict[str, str] = {}
    try:
        rules.check_payment(
            draft.amount_minor, draft.reason, 10 ** minor_digits(office_currency(session))
        )
    except CostRuleError as exc:
        errors["reason" if "refund" in str(exc) else "amount"] = str(exc)
    received = _local_date(record.received_at, zone)
    if draft.paid_on > _local_date(now, zone):
        errors["paid_on"] = "A payment cannot be dated in the future."
    elif draft.paid_on < received - EARLIEST_PAYMENT:  # a deposit before intake is fine
        errors["paid_on"] = (
            f"{draft.paid_on.isoformat()} is more than a year before {record.reference} was "
            f"received ({received.isoformat()}); check the date."
        )
    reason = draft.reason.strip()
    if len(reason) > MAX_REASON_CHARS:
        errors["reason"] = (
            f"Keep the reason to {MAX_REASON_CHARS:,} characters (it has {len(reason):,})."
        )
    elif _BROKEN_CHARACTER.search(reason):
        errors["reason"] = f"The reason {_BROKEN_TEXT}"
    reference = draft.reference.strip()
    if len(reference) > MAX_REFERENCE_CHARS:
        errors["reference"] = (
            f"Keep the reference to {MAX_REFERENCE_CHARS} characters (it has {len(reference):,})."
        )
    elif _BROKEN_CHARACTER.search(reference):
        errors["reference"] = f"The reference {_BROKEN_TEXT}"
    if errors:
        raise ValidationError(errors)
    return replace(draft, reference=reference, reason=reason)


def payment_warning(db: Database, case_id: int, amount_minor: int) -> str | None:
    """What to ask before recording a payment larger than anything asked for (allowed)."""
    with db.read() as session:
        record = _case(session, case_id)
        current = _totals(session, case_id)
        if not rules.overpays(current, amount_minor):
            return None
        asked = rules.asked(current)
        over = current.paid + amount_minor - asked
        return (
            f"This payment is {_money(session, over)} more than {record.reference} is charged "
            f"and quoted ({_money(session, asked)}, of which {_money(session, current.paid)} "
            "is paid). It will be recorded as an overpayment, owed back to the patient."
        )


def add_payment(
    db: Database,
    case_id: int,
    draft: PaymentDraft,
    *,
    actor: Actor,
    now: datetime | None = None,
    local_zone: tzinfo | None = None,
) -> CaseChange:
    """Record money received, or refunded (a negative amount with its reason). A payment
    above what is owed is allowed and shows as overpaid: ask first (`payment_warning`).
    The date is the office's day (`local_zone`, None for this computer's)."""
    now = now or _utcnow()
    with acting(db, actor, Permission.EDIT_COSTS, "record a payment") as session:
        record = _case(session, case_id)
        clean = _check_payment(session, record, draft, now, local_zone)
        if clean.amount_minor < 0:
            paid = sum(
                session.scalars(select(Payment.amount_minor).where(Payment.case_id == case_id))
            )
            if paid + clean.amount_minor < 0:
                raise ValidationError(
                    {
                        "amount": f"Only {_money(session, paid)} has been paid for "
                        f"{record.reference}; a refund cannot be larger."
                    }
                )
        pin_currency(session)
        session.add(
            Payment(
                case_id=case_id,
                amount_minor=clean.amount_minor,
                paid_on=clean.paid_on,
                method=clean.method.value,
                reference=clean.reference,
                reason=clean.reason,
                recorded_at=now,
                recorded_by=actor.name,
            )
        )
        refund = clean.amount_minor < 0
        action = (
            f"{'Refunded' if refund else 'Received'} {_money(session, abs(clean.amount_minor))}"
            f" by {clean.method.label.lower()} on {clean.paid_on.isoformat()}"
            + (f" (ref. {clean.reference})" if clean.reference else "")
            + "."
        )
        change = _record(session, record, action, actor=actor.name, now=now, reason=clean.reason)
        session.commit()
    return change


def remove_payment(
    db: Database, payment_id: int, *, reason: str, actor: Actor, now: datetime | None = None
) -> CaseChange:
    """Take back a payment recorded by mistake; the reason stays in the history."""
    now = now or _utcnow()
    if not reason.strip():
        raise ValidationError({"reason": "Say why the payment is removed (e.g. typed twice)."})
    with acting(db, actor, Permission.EDIT_COSTS, "remove a payment") as session:
        payment = session.get(Payment, payment_id)
        if payment is None:
            raise NotFoundError(f"There is no payment number {payment_id}.")
        record = _case(session, payment.case_id)
        if payment.amount_minor > 0:
            others = session.scalars(
                select(Payment.amount_minor).where(
                    Payment.case_id == record.id, Payment.id != payment.id
                )
            )
            if sum(others) < 0:
                raise ValidationError(
                    {
                        "payment": f"Money was refunded out of this payment to "
                        f"{record.reference}; remove the refund first."
                    }
                )
        action = (
            f"Removed the {'refund' if payment.amount_minor < 0 else 'payment'} of "
            f"{_money(session, abs(payment.amount_minor))} of {payment.paid_on.isoformat()}."
        )
        session.delete(payment)
        change = _record(session, record, action, actor=actor.name, now=now, reason=reason)
        session.commit()
    return change


def case_costs(db: Database, case_id: int) -> CaseCosts:
    with db.read() as session:
        record = _case(session, case_id)
        lines = session.scalars(
            select(CostLineRecord)
            .where(CostLineRecord.case_id == case_id)
            .order_by(CostLineRecord.id)
        ).all()
        payments = session.scalars(
            select(Payment).where(Payment.case_id == case_id).order_by(Payment.paid_on, Payment.id)
        ).all()
        history = session.scalars(
            select(CostEvent).where(CostEvent.case_id == case_id).order_by(CostEvent.id.desc())
        ).all()
        return CaseCosts(
            case_id=case_id,
            reference=record.reference,
            currency=office_currency(session),
            letter_sent=_letter_sent(record),
            lines=tuple(_line_info(line, record) for line in lines),
            payments=tuple(
                PaymentInfo(
                    p.id,
                    PaymentDraft(
                        p.amount_minor, p.paid_on, PaymentMethod(p.method), p.reference, p.reason
                    ),
                    p.recorded_at,
                    p.recorded_by,
                )
                for p in payments
            ),
            totals=rules.totals(
                [_domain_line(line) for line in lines], [p.amount_minor for p in payments]
            ),
            history=tuple(CostEventInfo(e.at, e.actor, e.action, e.reason) for e in history),
        )


def _line_info(line: CostLineRecord, record: Case) -> LineInfo:
    approval = Approval(line.approval)
    return LineInfo(
        id=line.id,
        draft=LineDraft(
            line.description,
            line.quantity,
            line.unit_price_minor,
            LineKind(line.kind),
            line.service_id,
            approval is not Approval.NOT_NEEDED,
        ),
        approval=approval,
        approval_on=line.approval_on,
        approval_by=line.approval_by,
        service_code=line.service.code if line.service else None,
        from_assignment=line.assignment_id is not None,
        created_at=line.created_at,
        created_by=line.created_by,
        version=line.version,
        removal_needs_reason=_removal_needs_reason(record, LineKind(line.kind)),
    )


# --- called by the specialists service inside its own transaction -----------------------


def quote_specialist_fee(
    session: Session,
    record: Case,
    assignment: Assignment,
    specialist: Specialist,
    role: Role,
    *,
    actor: str,
    now: datetime,
) -> None:
    """Add the specialist's fee as an estimate when they are assigned (if the office wants it):
    their own fee, else the fee schedule price of the role's service; nothing when both are 0."""
    if not quotes_specialist_fee(session):
        return
    service = session.scalar(  # a deactivated service is no longer quoted
        select(FeeService).where(
            FeeService.code == ROLE_SERVICE_CODES[role], FeeService.active.is_(True)
        )
    )
    price = specialist.fee_minor or (service.price_minor if service else 0)
    if price <= 0:
        return
    label = service.name if service else role.label
    description = f"{label}: {specialist.name}"
    if len(description) > MAX_DESCRIPTION_CHARS:  # long names: still a line that can be edited
        description = description[: MAX_DESCRIPTION_CHARS - 1].rstrip() + "…"
    draft = LineDraft(description, 1, price, LineKind.ESTIMATE, service.id if service else None)
    pin_currency(session)
    session.add(_new_line(record.id, draft, actor, now, assignment.id))
    _record(
        session,
        record,
        f"Quoted {_describe(session, draft, kind=False)} on assignment.",
        actor=actor,
        now=now,
    )


def withdraw_specialist_fee(
    session: Session, record: Case, assignment: Assignment, *, actor: str, now: datetime
) -> None:
    """The specialist will not do the review: their quoted fee goes (a charged one stays)."""
    lines = session.scalars(
        select(CostLineRecord).where(
            CostLineRecord.assignment_id == assignment.id,
            CostLineRecord.kind == LineKind.ESTIMATE.value,
        )
    ).all()
    for line in lines:
        action = (
            f"Removed {_describe(session, line)}: {assignment.specialist.name} will not review."
        )
        session.delete(line)
        _record(session, record, action, actor=actor, now=now)
