from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select

from referral_desk.db.engine import Database
from referral_desk.db.models import User
from referral_desk.domain.access import Actor, UserRole
from referral_desk.domain.audit import AuditAction
from referral_desk.services import accounts, audit_log, cases
from referral_desk.services.accounts import SignInRefused
from referral_desk.services.audit_log import AuditFilter
from referral_desk.services.errors import NotAllowedError, ValidationError
from tests.conftest import NOW, case, patient

ADMIN_PASSWORD = "correct horse battery"
PASSWORD = "a long enough password"


@pytest.fixture
def cheap_hashing(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Argon2id still, at the lowest cost: these tests are about the rules around it, and
    the real cost (~0.1 s a hash) would make a lockout test take seconds."""
    hasher = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    monkeypatch.setattr(accounts, "_hasher", lambda: hasher)
    monkeypatch.setattr(accounts, "_decoy_hash", lambda: hasher.hash("decoy"))
    yield


@pytest.fixture
def boss(db: Database) -> Actor:
    return accounts.create_first_administrator(db, "admin", "Alex Admin", ADMIN_PASSWORD)


def _stored_hash(db: Database, name: str) -> str:
    with db.read() as session:
        return session.scalars(select(User.password_hash).where(User.name == name)).one()


def _trail(db: Database, *actions: AuditAction) -> list[audit_log.AuditRow]:
    return audit_log.entries(db, AuditFilter(actions=frozenset(actions)))


def test_passwords_are_kept_as_argon2id_hashes_that_verify(db: Database) -> None:
    boss = accounts.create_first_administrator(db, "Admin", "Alex Admin", ADMIN_PASSWORD)
    assert boss == Actor("Admin", UserRole.ADMINISTRATOR)
    stored = _stored_hash(db, "Admin")
    assert stored.startswith("$argon2id$") and ADMIN_PASSWORD not in stored
    assert PasswordHasher().verify(stored, ADMIN_PASSWORD)

    signed = accounts.sign_in(db, "  admin ", ADMIN_PASSWORD)  # names ignore case and spaces
    assert signed.actor == boss and signed.full_name == "Alex Admin"
    assert not signed.must_change_password
    with pytest.raises(SignInRefused, match="user name or the password is not right"):
        accounts.sign_in(db, "admin", "correct horse battery!")


def test_the_first_administrator_is_made_only_once(
    db: Database, cheap_hashing: None, boss: Actor
) -> None:
    assert accounts.has_accounts(db)
    with pytest.raises(NotAllowedError, match="already has accounts"):
        accounts.create_first_administrator(db, "intruder", "", PASSWORD)
    assert [u.name for u in accounts.list_users(db)] == ["admin"]


def test_an_unknown_name_is_answered_like_a_wrong_password_and_recorded(
    db: Database, cheap_hashing: None, boss: Actor
) -> None:
    with pytest.raises(SignInRefused) as refused:
        accounts.sign_in(db, "nobody", PASSWORD)
    assert str(refused.value) == "The user name or the password is not right."
    [entry] = _trail(db, AuditAction.SIGN_IN_FAILED)
    assert (entry.actor, entry.detail) == ("nobody", "unknown user name")


def test_failures_slow_down_then_lock_the_account_until_a_reset(
    db: Database, cheap_hashing: None, boss: Actor
) -> None:
    accounts.add_user(db, "maria.intake", UserRole.STAFF, PASSWORD, actor=boss)
    moment = NOW

    def attempt(password: str) -> SignInRefused:
        with pytest.raises(SignInRefused) as refused:
            accounts.sign_in(db, "maria.intake", password, now=moment)
        return refused.value

    for _ in range(3):  # the first failures are answered at once
        assert attempt("wrong password").wait in (None, timedelta(seconds=2))
    # After three, the next try must wait: refused without even checking the password.
    early = attempt(PASSWORD)
    assert "wait 2 s" in str(early) and early.wait == timedelta(seconds=2)
    for _ in range(6):
        moment += timedelta(seconds=31)  # longer than the longest delay
        attempt("wrong password")
    moment += timedelta(seconds=31)
    locked = attempt("wrong password")  # the tenth
    assert "After 10 failed sign-ins this account is locked until" in str(locked)
    moment += timedelta(minutes=14)
    still = attempt(PASSWORD)  # even the right password, while locked
    assert "locked until" in str(still) and "resetting the password" in str(still)
    assert accounts.find_user(db, "maria.intake").locked_until == NOW + timedelta(
        seconds=31 * 7, minutes=15
    )

    accounts.reset_password(db, "maria.intake", "temporary password 1", actor=boss)
    assert accounts.find_user(db, "maria.intake").locked_until is None
    signed = accounts.sign_in(db, "maria.intake", "temporary password 1", now=moment)
    assert signed.must_change_password
    failures = _trail(db, AuditAction.SIGN_IN_FAILED)
    assert len(failures) == 11  # ten wrong passwords and the try while locked
    assert failures[0].detail == "account locked"
    assert failures[1].detail == "wrong password (10 in a row); locked for 15 minutes"


def test_once_the_lock_runs_out_the_count_starts_again(
    db: Database, cheap_hashing: None, boss: Actor
) -> None:
    accounts.add_user(db, "maria.intake", UserRole.STAFF, PASSWORD, actor=boss)
    moment = NOW
    for _ in range(10):
        moment += timedelta(seconds=31)
        with pytest.raises(SignInRefused):
            accounts.sign_in(db, "maria.intake", "wrong password", now=moment)
    moment += timedelta(minutes=16)
    with pytest.raises(SignInRefused) as typo:  # one typo after the lock is only a typo
        accounts.sign_in(db, "maria.intake", "wrong password", now=moment)
    assert str(typo.value) == "The user name or the password is not right."
    assert accounts.sign_in(db, "maria.intake", PASSWORD, now=moment).actor.name == "maria.intake"


def test_a_disabled_account_is_refused_even_with_the_right_password(
    db: Database, cheap_hashing: None, boss: Actor
) -> None:
    accounts.add_user(db, "tom.office", UserRole.STAFF, PASSWORD, actor=boss)
    tom = accounts.sign_in(db, "tom.office", PASSWORD).actor
    accounts.disable_user(db, "tom.office", actor=boss)
    with pytest.raises(SignInRefused, match="disabled; ask an administrator"):
        accounts.sign_in(db, "tom.office", PASSWORD)
    # A window Tom left open can change nothing more either.
    with pytest.raises(NotAllowedError, match="has been disabled"):
        cases.create_case(db, case(), patient=patient(), actor=tom)
    assert _trail(db, AuditAction.SIGN_IN_FAILED)[0].detail == "account disabled"

    accounts.enable_user(db, "tom.office", actor=boss)
    assert accounts.sign_in(db, "tom.office", PASSWORD).actor == tom


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("maria.garcia", None),
        ("José_2", None),
        ("", "Type a user name."),
        ("   ", "Type a user name."),
        ("maria garcia", "cannot be a user name"),
        (".maria", "cannot be a user name"),
        ("maria-", "cannot be a user name"),
        ("m" * 41, "Keep the user name to 40 characters."),
    ],
)
def test_user_names_are_letters_and_digits_with_dots_dashes_or_underscores_inside(
    name: str, problem: str | None
) -> None:
    found = accounts.name_problem(name)
    assert found is None if problem is None else problem in (found or "")


def test_names_are_unique_whatever_their_case_and_bad_input_saves_nothing(
    db: Database, cheap_hashing: None, boss: Actor
) -> None:
    accounts.add_user(db, "Maria", UserRole.STAFF, PASSWORD, actor=boss)
    with pytest.raises(ValidationError) as duplicate:
        accounts.add_user(db, "MARIA", UserRole.MANAGER, PASSWORD, actor=boss)
    assert "There is already a user named 'Maria'" in duplicate.value.errors["name"]
    with pytest.raises(ValidationError) as short:
        accounts.add_user(db, "lena", UserRole.COORDINATOR, "short", actor=boss)
    assert "use at least 10" in short.value.errors["password"]
    with pytest.raises(ValidationError) as role:
        accounts.add_user(db, "lena", "boss", PASSWORD, actor=boss)
    assert "'boss' is not a role" in role.value.errors["role"]
    assert [u.name for u in accounts.list_users(db)] == ["admin", "Maria"]


def test_only_an_administrator_manages_accounts(
    db: Database, cheap_hashing: None, boss: Actor
) -> None:
    manager = accounts.add_user(db, "nadia", UserRole.MANAGER, PASSWORD, actor=boss).actor()
    with pytest.raises(NotAllowedError, match="A manager cannot add users; ask an admin"):
        accounts.add_user(db, "lena", UserRole.STAFF, PASSWORD, actor=manager)
    with pytest.raises(NotAllowedError):
        accounts.change_role(db, "nadia", UserRole.ADMINISTRATOR, actor=manager)
    with pytest.raises(NotAllowedError):
        accounts.reset_password(db, "admin", PASSWORD, actor=manager)
    assert accounts.find_user(db, "nadia").role is UserRole.MANAGER


def test_the_last_administrator_can_be_neither_demoted_nor_disabled(
    db: Database, cheap_hashing: None, boss: Actor
) -> None:
    with pytest.raises(NotAllowedError, match="admin is the only active administrator; make"):
        accounts.change_role(db, "admin", UserRole.MANAGER, actor=boss)
    with pytest.raises(NotAllowedError, match="admin is the only active administrator; the"):
        accounts.disable_user(db, "admin", actor=boss)
    assert accounts.find_user(db, "admin").role is UserRole.ADMINISTRATOR
    assert accounts.find_user(db, "admin").active


def test_nobody_takes_away_their_own_right_to_manage_accounts(
    db: Database, cheap_hashing: None, boss: Actor
) -> None:
    lena = accounts.add_user(db, "lena", UserRole.ADMINISTRATOR, PASSWORD, actor=boss).actor()
    with pytest.raises(NotAllowedError, match="As a manager you could no longer manage users"):
        accounts.change_role(db, "admin", UserRole.MANAGER, actor=boss)
    with pytest.raises(NotAllowedError, match="cannot disable your own account"):
        accounts.disable_user(db, "admin", actor=boss)
    # Another administrator may do either; then lena is the last one.
    accounts.change_role(db, "admin", UserRole.MANAGER, actor=lena)
    with pytest.raises(NotAllowedError, match="lena is the only active administrator"):
        accounts.disable_user(db, "lena", actor=lena)
    accounts.disable_user(db, "admin", actor=lena)
    users = {u.name: (u.role, u.active) for u in accounts.list_users(db)}
    assert users == {"admin": (UserRole.MANAGER, False), "lena": (UserRole.ADMINISTRATOR, True)}


def test_an_admin_reset_makes_the_person_choose_their_own_password(
    db: Database, cheap_hashing: None, boss: Actor
) -> None:
    accounts.add_user(db, "maria", UserRole.STAFF, PASSWORD, actor=boss)
    with pytest.raises(ValidationError, match="use at least 10"):
        accounts.reset_password(db, "maria", "short", actor=boss)
    info = accounts.reset_password(db, "maria", "temporary password", actor=boss)
    assert info.must_change_password
    signed = accounts.sign_in(db, "maria", "temporary password")
    assert signed.must_change_password
    maria = signed.actor

    with pytest.raises(ValidationError) as wrong:
        accounts.change_own_password(db, maria, "not it", "her very own password")
    assert wrong.value.errors == {"current": "The current password is not right."}
    with pytest.raises(ValidationError, match="different from the current one"):
        accounts.change_own_password(db, maria, "temporary password", "temporary password")
    accounts.change_own_password(db, maria, "temporary password", "her very own password")
    again = accounts.sign_in(db, "maria", "her very own password")
    assert not again.must_change_password
    # An administrator resetting their own password needs no second change.
    assert not accounts.reset_password(
        db, "admin", "another admin pass", actor=boss
    ).must_change_password


def test_sign_in_failure_sign_out_and_lock_are_in_the_trail(
    db: Database, cheap_hashing: None, boss: Actor
) -> None:
    accounts.add_user(db, "maria", UserRole.STAFF, PASSWORD, actor=boss)
    maria = accounts.sign_in(db, "maria", PASSWORD).actor
    accounts.record_lock(db, maria)
    accounts.sign_in(db, "maria", PASSWORD, unlocking=True)
    with pytest.raises(SignInRefused):
        accounts.sign_in(db, "maria", "wrong password")
    accounts.record_sign_out(db, maria, detail="switch user")

    trail = [
        (e.actor, e.action, e.detail)
        for e in audit_log.entries(db)
        if e.action not in (AuditAction.CREATE, AuditAction.CHANGE)
    ]
    assert trail == [
        ("maria", AuditAction.SIGN_OUT, "switch user"),
        ("maria", AuditAction.SIGN_IN_FAILED, "wrong password (1 in a row)"),
        ("maria", AuditAction.SIGN_IN, "unlocked the screen"),
        ("maria", AuditAction.LOCK, "idle"),
        ("maria", AuditAction.SIGN_IN, ""),
    ]
    # Adding her was recorded too, her password only as "set".
    created = _trail(db, AuditAction.CREATE)[0]
    assert (created.actor, created.entity) == ("admin", "user")
    assert created.changes["password_hash"] == ("", "set")
    assert created.changes["role"] == ("", "staff")


def test_the_screen_lock_time_is_an_office_setting(
    db: Database, cheap_hashing: None, boss: Actor
) -> None:
    assert accounts.idle_lock_minutes(db) == 10
    accounts.set_idle_lock_minutes(db, 5, actor=boss)
    assert accounts.idle_lock_minutes(db) == 5
    with pytest.raises(ValidationError, match="1 to 120 minutes"):
        accounts.set_idle_lock_minutes(db, 0, actor=boss)
    staff = accounts.add_user(db, "tom", UserRole.STAFF, PASSWORD, actor=boss).actor()
    with pytest.raises(NotAllowedError, match="ask an administrator"):
        accounts.set_idle_lock_minutes(db, 30, actor=staff)
    assert accounts.idle_lock_minutes(db) == 5
    [change] = [
        e
        for e in audit_log.entries(db)
        if e.entity == "setting" and e.entity_id == "idle_lock_minutes"
    ]
    assert change.changes == {"value": ("", "5")}
