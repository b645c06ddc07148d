"""What can go wrong in a use case, in words a user can act on."""

from __future__ import annotations

import errno
import sqlite3

from sqlalchemy.exc import DBAPIError


class ServiceError(Exception):
    """A refusal the user can understand and fix; nothing was saved."""


class ValidationError(ServiceError):
    def __init__(self, errors: dict[str, str]) -> None:
        self.errors = dict(errors)
        super().__init__("; ".join(self.errors.values()))


class NotFoundError(ServiceError):
    pass


class ConflictError(ServiceError):
    """Someone else saved the same case since it was opened."""


class DatabaseUnavailableError(ServiceError):
    """The environment, not the program: locked, full, unreadable or missing database."""


def environment_problem(exc: BaseException) -> str | None:
    """A plain message when `exc` is a database environment problem, else None (it is a bug)."""
    original = exc.orig if isinstance(exc, DBAPIError) else exc
    if isinstance(original, OSError) and original.errno == errno.ENOSPC:
        return "The disk is full. Free some space; nothing was saved."
    if not isinstance(original, sqlite3.OperationalError | sqlite3.DatabaseError):
        return None
    text = str(original).lower()
    if "locked" in text or "busy" in text:
        return (
            "The database is busy in another window or program. Try again in a moment; "
            "nothing was saved."
        )
    if "disk is full" in text or "database or disk is full" in text:
        return "The disk is full. Free some space; nothing was saved."
    if "malformed" in text or "not a database" in text or "corrupt" in text:
        return (
            "The database file is damaged. Close Referral Desk and restore the newest backup; "
            "nothing more will be written to the damaged file."
        )
    if "unable to open" in text or "readonly" in text or "read-only" in text:
        return (
            "The database file cannot be opened for writing. Check that the folder exists and "
            "that you may write to it."
        )
    if "disk i/o" in text:
        return "The disk reported an error while reading or writing the database."
    return None


class NotAllowedError(ServiceError):
    """The user's role or account does not allow the action; the message names who may."""
