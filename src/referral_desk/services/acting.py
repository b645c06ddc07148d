"""Every change is made by someone allowed to make it, and the audit trail names them.

`acting` replaces a bare `db.write()` in the services: it checks the role, checks the account
is still active (an administrator may have disabled it while its window stayed open), and
tells the audit hooks who is acting.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from referral_desk.db import audit_trail
from referral_desk.db.engine import Database
from referral_desk.db.models import User
from referral_desk.domain.access import AccessError, Actor, Permission, UserRole, require
from referral_desk.domain.audit import AuditAction, AuditEntry
from referral_desk.services.errors import NotAllowedError


def fold_name(name: str) -> str:
    return name.strip().casefold()


def check(actor: Actor, permission: Permission, action: str) -> None:
    """The role check alone, for refusing before any work (a long export, a file dialog)."""
    try:
        require(actor.role, permission, action)
    except AccessError as exc:
        raise NotAllowedError(str(exc)) from exc


def any_account(session: Session) -> bool:
    return bool(session.execute(select(exists().where(User.id.is_not(None)))).scalar())


def current_role(session: Session, actor: Actor) -> UserRole:
    """The role stored for the actor now. A database with no accounts yet (one made before
    accounts existed, before its first start) takes the caller's word."""
    row = session.execute(
        select(User.role, User.active).where(User.name_folded == fold_name(actor.name))
    ).first()
    if row is None:
        if any_account(session):
            raise NotAllowedError(f"There is no account named {actor.name!r}.")
        return actor.role
    if not row.active:
        raise NotAllowedError(
            f"The account {actor.name!r} has been disabled; ask an administrator."
        )
    return UserRole(row.role)


@contextmanager
def acting(db: Database, actor: Actor, permission: Permission, action: str) -> Iterator[Session]:
    """A write session for `actor`, refused with NotAllowedError unless their role (as
    stored now) may do `action` (words for the message: "record a payment")."""
    check(actor, permission, action)
    with db.write() as session:
        try:
            require(current_role(session, actor), permission, action)
        except AccessError as exc:
            raise NotAllowedError(str(exc)) from exc
        session.info[audit_trail.ACTOR] = actor.name
        yield session


def record(
    session: Session,
    actor: Actor | str,
    action: AuditAction,
    entity: str,
    *,
    entity_id: object = "",
    case_id: int | None = None,
    patient_id: int | None = None,
    detail: str = "",
    at: datetime | None = None,
) -> None:
    """Write one entry that no record change produces: a view, a print, an export, a
    sign-in. Part of the caller's transaction."""
    name = actor.name if isinstance(actor, Actor) else actor
    entry = AuditEntry(
        at=at or datetime.now(UTC),
        actor=name,
        action=action,
        entity=entity,
        entity_id="" if entity_id is None else str(entity_id),
        case_id=case_id,
        patient_id=patient_id,
        detail=detail,
    )
    session.flush()  # pending record changes first, so the trail keeps their order
    audit_trail.append(session.connection(), [entry])


def record_all(session: Session, entries: Sequence[AuditEntry]) -> None:
    session.flush()
    audit_trail.append(session.connection(), entries)
