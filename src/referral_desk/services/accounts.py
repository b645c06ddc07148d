"""Accounts: the first administrator, adding and disabling people, passwords, sign-in.

Passwords are kept only as Argon2id hashes (argon2-cffi's defaults follow RFC 9106). Failed
sign-ins slow down and then lock the account (domain/access.LockoutPolicy); every sign-in,
failure, sign-out and lock is in the audit trail.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from referral_desk.db import audit_trail
from referral_desk.db.engine import Database
from referral_desk.db.models import Setting, User
from referral_desk.domain.access import (
    DEFAULT_IDLE_LOCK,
    DEFAULT_LOCKOUT,
    Actor,
    LockoutPolicy,
    Permission,
    UserRole,
    allowed,
    password_problem,
)
from referral_desk.domain.audit import AuditAction
from referral_desk.services import acting as acting_module
from referral_desk.services.acting import acting, any_account, fold_name, record
from referral_desk.services.errors import (
    NotAllowedError,
    NotFoundError,
    ServiceError,
    ValidationError,
)

MAX_NAME_LENGTH = 40
# Letters of any script, digits, and . _ - inside: a name that reads well in the trail and
# cannot be confused with another by spaces or punctuation.
_NAME = re.compile(r"^\w(?:[\w.-]*\w)?$")


@cache
def _hasher() -> PasswordHasher:
    return PasswordHasher()


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def _matches(password_hash: str, password: str) -> bool:
    try:
        return _hasher().verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


@cache
def _decoy_hash() -> str:
    # Checked against when the name is unknown, so a wrong name takes as long as a wrong
    # password and the timing does not tell which names exist.
    return hash_password("not a real password, only for equal timing")


@dataclass(frozen=True)
class UserInfo:
    id: int
    name: str
    full_name: str
    role: UserRole
    active: bool
    must_change_password: bool
    locked_until: datetime | None
    last_sign_in_at: datetime | None
    created_at: datetime
    created_by: str

    def actor(self) -> Actor:
        return Actor(self.name, self.role)


def _info(user: User) -> UserInfo:
    return UserInfo(
        id=user.id,
        name=user.name,
        full_name=user.full_name,
        role=UserRole(user.role),
        active=user.active,
        must_change_password=user.must_change_password,
        locked_until=user.locked_until,
        last_sign_in_at=user.last_sign_in_at,
        created_at=user.created_at,
        created_by=user.created_by,
    )


def name_problem(name: str) -> str | None:
    clean = unicodedata.normalize("NFC", name.strip())
    if not clean:
        return "Type a user name."
    if len(clean) > MAX_NAME_LENGTH:
        return f"Keep the user name to {MAX_NAME_LENGTH} characters."
    if not _NAME.match(clean):
        return (
            f"{clean!r} cannot be a user name: use letters and digits, with . _ or - between "
            "them (no spaces), e.g. maria.garcia."
        )
    return None


def _clean_name(name: str) -> str:
    problem = name_problem(name)
    if problem:
        raise ValidationError({"name": problem})
    return unicodedata.normalize("NFC", name.strip())


def _check_password(password: str, name: str, field: str = "password") -> None:
    problem = password_problem(password, name)
    if problem:
        raise ValidationError({field: problem})


def _role(role: UserRole | str) -> UserRole:
    try:
        return UserRole(role)
    except ValueError:
        names = ", ".join(r.value for r in UserRole)
        raise ValidationError({"role": f"{role!r} is not a role; use one of {names}."}) from None


def has_accounts(db: Database) -> bool:
    with db.read() as session:
        return any_account(session)


def list_users(db: Database) -> list[UserInfo]:
    with db.read() as session:
        users = session.scalars(select(User).order_by(User.name_folded)).all()
        return [_info(u) for u in users]


def find_user(db: Database, name: str) -> UserInfo:
    with db.read() as session:
        return _info(_user(session, name))


def _user(session: Session, name: str) -> User:
    user = session.scalars(select(User).where(User.name_folded == fold_name(name))).first()
    if user is None:
        raise NotFoundError(f"There is no user named {name.strip()!r}.")
    return user


def _new_user(
    name: str,
    full_name: str,
    role: UserRole,
    password: str,
    by: str,
    now: datetime,
    *,
    password_hash: str | None = None,
) -> User:
    return User(
        name=name,
        name_folded=fold_name(name),
        full_name=full_name.strip(),
        role=role.value,
        password_hash=password_hash or hash_password(password),
        active=True,
        must_change_password=False,
        failed_attempts=0,
        created_at=now,
        created_by=by,
        updated_at=now,
    )


def create_first_administrator(
    db: Database, name: str, full_name: str, password: str, *, now: datetime | None = None
) -> Actor:
    """The office's first account, allowed only while there is none."""
    now = now or datetime.now(UTC)
    clean = _clean_name(name)
    _check_password(password, clean)
    with db.write() as session:
        if any_account(session):
            raise NotAllowedError(
                "This office already has accounts; an administrator adds new ones."
            )
        session.info[audit_trail.ACTOR] = clean
        session.add(_new_user(clean, full_name, UserRole.ADMINISTRATOR, password, clean, now))
        session.commit()
    return Actor(clean, UserRole.ADMINISTRATOR)


def add_user(
    db: Database,
    name: str,
    role: UserRole | str,
    password: str,
    *,
    actor: Actor,
    full_name: str = "",
    now: datetime | None = None,
) -> UserInfo:
    acting_module.check(actor, Permission.MANAGE_USERS, "add users")
    now = now or datetime.now(UTC)
    clean, chosen = _clean_name(name), _role(role)
    _check_password(password, clean)
    with acting(db, actor, Permission.MANAGE_USERS, "add users") as session:
        taken = session.scalars(select(User).where(User.name_folded == fold_name(clean))).first()
        if taken is not None:
            raise ValidationError(
                {"name": f"There is already a user named {taken.name!r}; choose another name."}
            )
        user = _new_user(clean, full_name, chosen, password, actor.name, now)
        session.add(user)
        session.commit()
        return _info(user)


def _active_administrators(session: Session) -> int:
    return session.execute(
        select(func.count())
        .select_from(User)
        .where(User.active.is_(True), User.role == UserRole.ADMINISTRATOR.value)
    ).scalar_one()


def _is_last_administrator(session: Session, user: User) -> bool:
    return (
        user.active
        and user.role == UserRole.ADMINISTRATOR.value
        and _active_administrators(session) <= 1
    )


def change_role(
    db: Database, name: str, role: UserRole | str, *, actor: Actor, now: datetime | None = None
) -> UserInfo:
    chosen = _role(role)
    with acting(db, actor, Permission.MANAGE_USERS, "change roles") as session:
        user = _user(session, name)
        if user.role == chosen.value:
            return _info(user)
        # The last administrator is asked first: "ask another administrator" would send
        # them looking for someone who does not exist.
        if _is_last_administrator(session, user):
            raise NotAllowedError(
                f"{user.name} is the only active administrator; make someone else an "
                "administrator first, so the office can still manage its accounts."
            )
        if fold_name(user.name) == fold_name(actor.name) and not allowed(
            chosen, Permission.MANAGE_USERS
        ):
            raise NotAllowedError(
                f"As {chosen.person} you could no longer manage users, so you cannot "
                "give yourself that role; ask another administrator to change it."
            )
        user.role = chosen.value
        user.updated_at = now or datetime.now(UTC)
        session.commit()
        return _info(user)


def disable_user(db: Database, name: str, *, actor: Actor, now: datetime | None = None) -> UserInfo:
    """Disabled accounts cannot sign in and their open windows can change nothing more.
    The account stays: the audit trail names it."""
    with acting(db, actor, Permission.MANAGE_USERS, "disable accounts") as session:
        user = _user(session, name)
        if not user.active:
            return _info(user)
        if _is_last_administrator(session, user):  # first: there is no one else to ask
            raise NotAllowedError(
                f"{user.name} is the only active administrator; the office would have no one "
                "to manage accounts. Make someone else an administrator first."
            )
        if fold_name(user.name) == fold_name(actor.name):
            raise NotAllowedError("You cannot disable your own account; ask another administrator.")
        user.active = False
        user.updated_at = now or datetime.now(UTC)
        session.commit()
        return _info(user)


def enable_user(db: Database, name: str, *, actor: Actor, now: datetime | None = None) -> UserInfo:
    with acting(db, actor, Permission.MANAGE_USERS, "enable accounts") as session:
        user = _user(session, name)
        user.active = True
        user.failed_attempts, user.locked_until = 0, None
        user.updated_at = now or datetime.now(UTC)
        session.commit()
        return _info(user)


def reset_password(
    db: Database, name: str, password: str, *, actor: Actor, now: datetime | None = None
) -> UserInfo:
    """An administrator sets a temporary password: it unlocks the account, and the person
    chooses their own at the next sign-in."""
    with acting(db, actor, Permission.MANAGE_USERS, "reset passwords") as session:
        user = _user(session, name)
        _check_password(password, user.name)
        user.password_hash = hash_password(password)
        user.must_change_password = fold_name(user.name) != fold_name(actor.name)
        user.failed_attempts, user.locked_until = 0, None
        user.updated_at = now or datetime.now(UTC)
        session.commit()
        return _info(user)


def change_own_password(
    db: Database, actor: Actor, current: str, new: str, *, now: datetime | None = None
) -> None:
    """Anyone may change their own password, knowing the current one."""
    now = now or datetime.now(UTC)
    with db.write() as session:
        user = _user(session, actor.name)
        if not _matches(user.password_hash, current):
            raise ValidationError({"current": "The current password is not right."})
        _check_password(new, user.name, "new")
        if _matches(user.password_hash, new):
            raise ValidationError({"new": "Choose a password different from the current one."})
        session.info[audit_trail.ACTOR] = user.name
        user.password_hash = hash_password(new)
        user.must_change_password = False
        user.updated_at = now
        session.commit()


class SignInRefused(ServiceError):
    """Why a sign-in failed, in words for the person at the keyboard."""

    def __init__(self, message: str, *, wait: timedelta | None = None) -> None:
        super().__init__(message)
        self.wait = wait  # how long before the next try is accepted, when slowed down


@dataclass(frozen=True)
class SignedIn:
    actor: Actor
    full_name: str
    must_change_password: bool


_WRONG = "The user name or the password is not right."


def _minutes(moment: datetime) -> str:
    return moment.astimezone().strftime("%H:%M")


def sign_in(
    db: Database,
    name: str,
    password: str,
    *,
    now: datetime | None = None,
    policy: LockoutPolicy = DEFAULT_LOCKOUT,
    unlocking: bool = False,
    detail: str = "",
) -> SignedIn:
    """Check a name and password; SignInRefused says why not. `unlocking`: the same person
    coming back to a locked screen (recorded as such); `detail`: where they signed in from,
    e.g. the command they run."""
    now = now or datetime.now(UTC)
    typed = name.strip()[:MAX_NAME_LENGTH] or "(no name)"
    with db.write() as session:
        user = session.scalars(select(User).where(User.name_folded == fold_name(name))).first()

        def failed(who: str, why: str, entity_id: object = "") -> None:
            """Every refused sign-in is traced, and kept even though the sign-in fails."""
            record(
                session,
                who,
                AuditAction.SIGN_IN_FAILED,
                "user",
                entity_id=entity_id,
                detail=why,
                at=now,
            )
            session.commit()

        if user is None:
            _matches(_decoy_hash(), password)
            failed(typed, "unknown user name")
            raise SignInRefused(_WRONG)
        session.info[audit_trail.ACTOR] = user.name
        if user.locked_until is not None and user.locked_until > now:
            failed(user.name, "account locked", user.id)
            raise SignInRefused(
                f"After {policy.lock_after} failed sign-ins this account is locked until "
                f"{_minutes(user.locked_until)}. An administrator can unlock it by resetting "
                "the password."
            )
        if user.locked_until is not None:
            # The lock has run out: a fresh count, so one typo does not lock again at once.
            user.failed_attempts, user.locked_until = 0, None
        delay = policy.delay(user.failed_attempts)
        if delay and user.last_failed_at is not None and now < user.last_failed_at + delay:
            wait = user.last_failed_at + delay - now
            seconds = max(1, round(wait.total_seconds()))
            raise SignInRefused(
                f"Too many failed sign-ins: wait {seconds} s before trying again.", wait=wait
            )
        if not password or not _matches(user.password_hash, password):
            user.failed_attempts += 1
            user.last_failed_at = now
            detail = f"wrong password ({user.failed_attempts} in a row)"
            if policy.locks(user.failed_attempts):
                user.locked_until = now + policy.lock_for
                detail += f"; locked for {int(policy.lock_for.total_seconds() // 60)} minutes"
            failed(user.name, detail, user.id)
            if user.locked_until is not None and user.locked_until > now:
                raise SignInRefused(
                    f"After {policy.lock_after} failed sign-ins this account is locked until "
                    f"{_minutes(user.locked_until)}."
                )
            raise SignInRefused(_WRONG, wait=policy.delay(user.failed_attempts) or None)
        if not user.active:
            failed(user.name, "account disabled", user.id)
            raise SignInRefused("This account has been disabled; ask an administrator.")
        if _hasher().check_needs_rehash(user.password_hash):
            user.password_hash = hash_password(password)
        user.failed_attempts, user.last_failed_at, user.locked_until = 0, None, None
        user.last_sign_in_at = now
        record(
            session,
            user.name,
            AuditAction.SIGN_IN,
            "user",
            entity_id=user.id,
            detail="unlocked the screen" if unlocking else detail,
            at=now,
        )
        session.commit()
        return SignedIn(
            Actor(user.name, UserRole(user.role)), user.full_name, user.must_change_password
        )


def record_sign_out(db: Database, actor: Actor, *, detail: str = "") -> None:
    with db.write() as session:
        record(session, actor, AuditAction.SIGN_OUT, "user", detail=detail)
        session.commit()


def record_lock(db: Database, actor: Actor, *, detail: str = "idle") -> None:
    """The screen locked (after inactivity, or on request): the trail shows when the
    person was away."""
    with db.write() as session:
        record(session, actor, AuditAction.LOCK, "user", detail=detail)
        session.commit()


IDLE_LOCK_KEY = "idle_lock_minutes"
IDLE_LOCK_RANGE = (1, 120)


def idle_lock_minutes(db: Database) -> int:
    """How long the app waits without input before it covers the screen."""
    with db.read() as session:
        # The value, not the row: a row read here is detached (and unreadable) once the
        # session closes.
        stored = session.scalars(select(Setting.value).where(Setting.key == IDLE_LOCK_KEY)).first()
    if stored is None:
        return int(DEFAULT_IDLE_LOCK.total_seconds() // 60)
    return int(stored)


def set_idle_lock_minutes(db: Database, minutes: int, *, actor: Actor) -> None:
    acting_module.check(actor, Permission.OFFICE_SETTINGS, "change the screen lock time")
    low, high = IDLE_LOCK_RANGE
    if not low <= minutes <= high:
        raise ValidationError(
            {"idle_lock": f"The screen lock must come after {low} to {high} minutes idle."}
        )
    with acting(db, actor, Permission.OFFICE_SETTINGS, "change the screen lock time") as session:
        session.merge(Setting(key=IDLE_LOCK_KEY, value=str(minutes)))
        session.commit()


DEMO_PASSWORD = "demo-password"  # printed on the demo's sign-in screen: demo data only
DEMO_ACCOUNTS: tuple[tuple[str, str, UserRole], ...] = (
    ("admin", "Alex Admin", UserRole.ADMINISTRATOR),
    ("maria.intake", "María Intake", UserRole.STAFF),
    ("tom.office", "Tom Office", UserRole.STAFF),
    ("lena.coord", "Lena Coordinator", UserRole.COORDINATOR),
    ("nadia.manager", "Nadia Manager", UserRole.MANAGER),
)


def create_demo_accounts(db: Database, *, now: datetime | None = None) -> bool:
    """One account per role with DEMO_PASSWORD, for a demo office that has none yet (an office
    with accounts is left alone). True when they were made."""
    now = now or datetime.now(UTC)
    password_hash = hash_password(DEMO_PASSWORD)  # hashed once: five hashes cost ~0.3 s
    with db.write() as session:
        if any_account(session):
            return False
        session.info[audit_trail.ACTOR] = "demo"
        for name, full_name, role in DEMO_ACCOUNTS:
            session.add(
                _new_user(
                    name, full_name, role, DEMO_PASSWORD, "demo", now, password_hash=password_hash
                )
            )
        session.commit()
    return True
