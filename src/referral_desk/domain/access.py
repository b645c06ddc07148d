"""Who may do what: the office's roles, what each may do, and the rules for passwords and
failed sign-ins. Pure rules; the services enforce them and the screens hide what a role
cannot use.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum


class UserRole(StrEnum):
    STAFF = "staff"
    COORDINATOR = "coordinator"
    MANAGER = "manager"
    ADMINISTRATOR = "administrator"

    @property
    def label(self) -> str:
        return self.value.capitalize()

    @property
    def person(self) -> str:
        """The role as a person, with its article: "a staff member", "an administrator"."""
        noun = "staff member" if self is UserRole.STAFF else self.value
        return f"{'an' if noun[0] in 'aeiou' else 'a'} {noun}"


class Permission(StrEnum):
    VIEW_CASES = "view_cases"
    EDIT_CASES = "edit_cases"  # intake, status, documents, assignments, opinions
    EDIT_COSTS = "edit_costs"  # cost lines, approvals, payments
    LETTERS = "letters"  # generate, print, mark sent, the letters' wording
    REPORTS = "reports"  # the monthly report and every export of case lists
    VIEW_AUDIT = "view_audit"
    MANAGE_USERS = "manage_users"
    OFFICE_SETTINGS = "office_settings"  # profile, fee schedule, checklists, lock time
    BACKUPS = "backups"  # back up now, restore


_STAFF = frozenset({Permission.VIEW_CASES, Permission.EDIT_CASES, Permission.EDIT_COSTS})
PERMISSIONS: dict[UserRole, frozenset[Permission]] = {
    UserRole.STAFF: _STAFF,
    UserRole.COORDINATOR: _STAFF | {Permission.LETTERS},
    # Managers read everything and report on it; they change nothing about a case.
    UserRole.MANAGER: frozenset({Permission.VIEW_CASES, Permission.REPORTS, Permission.VIEW_AUDIT}),
    # The administrator runs the office's set-up and can stand in for anyone.
    UserRole.ADMINISTRATOR: frozenset(Permission),
}


# PERMISSIONS in words, for the screens that let an administrator choose a role.
ROLE_DUTIES = {
    UserRole.STAFF: "takes in cases; documents, assignments, opinions, costs and payments",
    UserRole.COORDINATOR: "everything staff do, and makes, prints and sends letters",
    UserRole.MANAGER: "reads everything, runs reports and exports, reads the audit trail; "
    "changes nothing",
    UserRole.ADMINISTRATOR: "everything, and manages accounts, office settings and backups",
}


def allowed(role: UserRole, permission: Permission) -> bool:
    return permission in PERMISSIONS[role]


class AccessError(PermissionError):
    """An action the user's role does not allow, with a message naming both."""


def require(role: UserRole, permission: Permission, action: str) -> None:
    """Raise AccessError unless `role` may do `action` (words for the message)."""
    if not allowed(role, permission):
        holders = [r.person for r in UserRole if allowed(r, permission)]
        who = holders[0] if len(holders) == 1 else ", ".join(holders[:-1]) + " or " + holders[-1]
        raise AccessError(f"{role.person.capitalize()} cannot {action}; ask {who}.")


@dataclass(frozen=True)
class Actor:
    """Who is doing something: a signed-in account's name and role. Services take one for
    every change, check the role, and write the name into the audit trail."""

    name: str
    role: UserRole

    def may(self, permission: Permission) -> bool:
        return allowed(self.role, permission)

    def require(self, permission: Permission, action: str) -> None:
        require(self.role, permission, action)


MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 256  # argon2 takes any length; this only stops a pasted file


def password_problem(password: str, user_name: str = "") -> str | None:
    """Why a new password is refused, or None. Length matters most (NIST SP 800-63B): no
    composition rules, but not the user's own name and not one character repeated."""
    if not password:
        return "Type a password."
    if len(password) < MIN_PASSWORD_LENGTH:
        return (
            f"The password has {len(password)} characters; use at least {MIN_PASSWORD_LENGTH} "
            "(a few words in a row are easy to remember)."
        )
    if len(password) > MAX_PASSWORD_LENGTH:
        return f"Keep the password under {MAX_PASSWORD_LENGTH} characters."
    if len(set(password)) == 1:
        return "The password repeats one character; choose something harder to guess."
    if user_name and password.casefold().strip() == user_name.casefold().strip():
        return "The password must not be the user name."
    return None


@dataclass(frozen=True)
class LockoutPolicy:
    """Repeated failures slow down, then lock the account for a while."""

    free_attempts: int = 3  # failures answered at once
    delay_step: timedelta = timedelta(seconds=2)  # then 2 s, 4 s, 8 s ... before the next try
    max_delay: timedelta = timedelta(seconds=30)
    lock_after: int = 10  # consecutive failures
    lock_for: timedelta = timedelta(minutes=15)

    def delay(self, failures: int) -> timedelta:
        """How long the next attempt must wait after `failures` consecutive failures."""
        if failures < self.free_attempts:
            return timedelta(0)
        doubled = self.delay_step * 2 ** (failures - self.free_attempts)
        return min(doubled, self.max_delay)

    def locks(self, failures: int) -> bool:
        return failures >= self.lock_after


DEFAULT_LOCKOUT = LockoutPolicy()
DEFAULT_IDLE_LOCK = timedelta(minutes=10)
