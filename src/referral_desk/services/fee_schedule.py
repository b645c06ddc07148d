"""The office's fee schedule: the services it charges for and their prices.

A service used on any case is never deleted (the case's lines point at it): deactivate it,
and it stops being offered for new lines.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from referral_desk.db.engine import Database
from referral_desk.db.models import CostLineRecord, FeeService
from referral_desk.domain.access import Actor, Permission
from referral_desk.domain.costs import ROLE_SERVICE_CODES, CostRuleError, check_line
from referral_desk.domain.money import minor_digits
from referral_desk.services.acting import acting
from referral_desk.services.errors import ConflictError, NotFoundError, ValidationError
from referral_desk.services.office import office_currency, pin_currency

CODE_PATTERN = re.compile(r"[A-Z0-9][A-Z0-9_-]{0,19}")
MAX_NAME_CHARS = 200
# A specialist's fee is quoted under these when they are assigned (their price is the
# fallback): the code must stay, the name and price are the office's.
ROLE_CODES = frozenset(ROLE_SERVICE_CODES.values())


@dataclass(frozen=True)
class ServiceDraft:
    code: str
    name: str
    price_minor: int
    needs_approval: bool = False  # additional tests: the patient agrees to the cost first
    active: bool = True


@dataclass(frozen=True)
class ServiceInfo:
    id: int
    draft: ServiceDraft
    cases_using: int
    version: int

    @property
    def code(self) -> str:
        return self.draft.code

    @property
    def name(self) -> str:
        return self.draft.name


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _validate(
    session: Session, draft: ServiceDraft, service_id: int | None, code_before: str | None = None
) -> ServiceDraft:
    errors: dict[str, str] = {}
    code = draft.code.strip().upper()
    if code_before in ROLE_CODES and code != code_before:
        errors["code"] = (
            f"{code_before} is the service a reviewer's fee is quoted under when they are "
            "assigned; keep its code (the name and price can change)."
        )
    elif not CODE_PATTERN.fullmatch(code):
        errors["code"] = (
            "A code is 1 to 20 letters, digits, '-' or '_', starting with a letter or digit."
        )
    else:
        clash = session.scalar(select(FeeService).where(FeeService.code == code))
        if clash is not None and clash.id != service_id:
            errors["code"] = f"{code} is already the code of {clash.name}."
    name = " ".join(draft.name.split())
    if not name:
        errors["name"] = "Name the service as the patient will read it on the costs."
    elif len(name) > MAX_NAME_CHARS:
        errors["name"] = f"Keep the name to {MAX_NAME_CHARS} characters (it has {len(name):,})."
    if isinstance(draft.price_minor, int) and draft.price_minor < 0:
        errors["price"] = "A price cannot be negative."
    else:
        try:
            check_line(1, draft.price_minor, 10 ** minor_digits(office_currency(session)))
        except CostRuleError as exc:
            errors["price"] = str(exc)
    if errors:
        raise ValidationError(errors)
    if draft.price_minor:  # a price means something only in the currency it was typed in
        pin_currency(session)
    return ServiceDraft(code, name, draft.price_minor, draft.needs_approval, draft.active)


def _usage(session: Session) -> dict[int, int]:
    rows = session.execute(
        select(CostLineRecord.service_id, func.count(func.distinct(CostLineRecord.case_id)))
        .where(CostLineRecord.service_id.is_not(None))
        .group_by(CostLineRecord.service_id)
    ).all()
    return {service_id: count for service_id, count in rows}


def _info(record: FeeService, cases_using: int) -> ServiceInfo:
    return ServiceInfo(
        record.id,
        ServiceDraft(
            record.code, record.name, record.price_minor, record.needs_approval, record.active
        ),
        cases_using,
        record.version,
    )


def list_services(db: Database, *, active_only: bool = False) -> list[ServiceInfo]:
    with db.read() as session:
        usage = _usage(session)
        statement = select(FeeService).order_by(FeeService.code)
        if active_only:
            statement = statement.where(FeeService.active.is_(True))
        return [_info(s, usage.get(s.id, 0)) for s in session.scalars(statement)]


def find_service(db: Database, code: str) -> ServiceInfo:
    with db.read() as session:
        record = session.scalar(select(FeeService).where(FeeService.code == code.strip().upper()))
        if record is None:
            raise NotFoundError(f"There is no service with the code '{code.strip()}'.")
        return _info(record, _usage(session).get(record.id, 0))


def create_service(
    db: Database, draft: ServiceDraft, *, actor: Actor, now: datetime | None = None
) -> int:
    now = now or _utcnow()
    with acting(db, actor, Permission.OFFICE_SETTINGS, "change the fee schedule") as session:
        clean = _validate(session, draft, None)
        record = FeeService(
            code=clean.code,
            name=clean.name,
            price_minor=clean.price_minor,
            needs_approval=clean.needs_approval,
            active=clean.active,
            created_at=now,
            updated_at=now,
        )
        session.add(record)
        session.commit()
        return record.id


def update_service(
    db: Database,
    service_id: int,
    draft: ServiceDraft,
    *,
    expected_version: int,
    actor: Actor,
    now: datetime | None = None,
) -> int:
    """Change a service. Lines already on cases keep the price they were given."""
    now = now or _utcnow()
    with acting(db, actor, Permission.OFFICE_SETTINGS, "change the fee schedule") as session:
        record = session.get(FeeService, service_id)
        if record is None:
            raise NotFoundError(f"There is no service number {service_id}.")
        if record.version != expected_version:
            raise ConflictError(
                f"{record.code} was changed by someone else since you opened it; "
                "your change was not saved. Look at it again."
            )
        clean = _validate(session, draft, service_id, record.code)
        record.code = clean.code
        record.name = clean.name
        record.price_minor = clean.price_minor
        record.needs_approval = clean.needs_approval
        record.active = clean.active
        record.updated_at = now
        session.commit()
        return record.version


def delete_service(db: Database, service_id: int, *, actor: Actor) -> None:
    """Delete a service no case uses; one in use is refused (deactivate it instead)."""
    with acting(db, actor, Permission.OFFICE_SETTINGS, "change the fee schedule") as session:
        record = session.get(FeeService, service_id)
        if record is None:
            raise NotFoundError(f"There is no service number {service_id}.")
        if record.code in ROLE_CODES:
            raise ValidationError(
                {
                    "service": f"{record.code} {record.name} is the service a reviewer's fee is "
                    "quoted under when they are assigned, so it stays. Deactivate it if the "
                    "office does not offer it."
                }
            )
        used = _usage(session).get(service_id, 0)
        if used:
            raise ValidationError(
                {
                    "service": f"{record.code} {record.name} is on the costs of {used:,} "
                    f"case{'s' if used != 1 else ''}, so it cannot be deleted. Deactivate it "
                    "instead: it stays on those cases and is no longer offered."
                }
            )
        session.delete(record)
        session.commit()
