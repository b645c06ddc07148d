"""Roles, passwords and the slow-down after failed sign-ins."""

from __future__ import annotations

from datetime import timedelta

import pytest

from referral_desk.domain.access import (
    DEFAULT_LOCKOUT,
    AccessError,
    Permission,
    UserRole,
    allowed,
    password_problem,
    require,
)


def test_each_role_gets_what_the_office_gives_it() -> None:
    assert allowed(UserRole.STAFF, Permission.EDIT_COSTS)
    assert not allowed(UserRole.STAFF, Permission.LETTERS)
    assert allowed(UserRole.COORDINATOR, Permission.LETTERS)
    assert not allowed(UserRole.COORDINATOR, Permission.REPORTS)
    assert allowed(UserRole.MANAGER, Permission.REPORTS)
    assert allowed(UserRole.MANAGER, Permission.VIEW_AUDIT)
    assert not allowed(UserRole.MANAGER, Permission.EDIT_CASES)  # reads, never changes
    assert not allowed(UserRole.MANAGER, Permission.MANAGE_USERS)
    assert all(allowed(UserRole.ADMINISTRATOR, p) for p in Permission)
    assert all(allowed(r, Permission.VIEW_CASES) for r in UserRole)


def test_a_refusal_names_the_role_and_who_may() -> None:
    with pytest.raises(
        AccessError,
        match=r"^A staff member cannot print letters; ask a coordinator or an administrator\.$",
    ):
        require(UserRole.STAFF, Permission.LETTERS, "print letters")
    with pytest.raises(AccessError, match=r"^A manager cannot add users; ask an administrator\.$"):
        require(UserRole.MANAGER, Permission.MANAGE_USERS, "add users")
    require(UserRole.COORDINATOR, Permission.LETTERS, "print letters")  # no error


@pytest.mark.parametrize(
    ("password", "says"),
    [
        ("", "Type a password"),
        ("short", "has 5 characters; use at least 10"),
        ("aaaaaaaaaaaa", "repeats one character"),
        ("maria.lopez", "must not be the user name"),
        ("x" * 300, "under 256"),
    ],
)
def test_weak_passwords_are_refused_with_the_reason(password: str, says: str) -> None:
    problem = password_problem(password, "Maria.Lopez")
    assert problem is not None and says in problem


def test_a_long_password_of_plain_words_is_accepted() -> None:
    assert password_problem("correct horse battery", "maria") is None


def test_failures_are_free_at_first_then_slow_down_then_lock() -> None:
    assert DEFAULT_LOCKOUT.delay(2) == timedelta(0)
    assert DEFAULT_LOCKOUT.delay(3) == timedelta(seconds=2)
    assert DEFAULT_LOCKOUT.delay(5) == timedelta(seconds=8)
    assert DEFAULT_LOCKOUT.delay(9) == timedelta(seconds=30)  # capped
    assert not DEFAULT_LOCKOUT.locks(9)
    assert DEFAULT_LOCKOUT.locks(10)
