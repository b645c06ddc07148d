"""Office-wide settings the administrator can change, with their defaults."""

from __future__ import annotations

from sqlalchemy.orm import Session

from referral_desk.db.engine import Database
from referral_desk.db.models import Setting
from referral_desk.domain.access import Actor, Permission
from referral_desk.domain.file_rules import DEFAULT_MAX_FILE_BYTES
from referral_desk.services.acting import acting
from referral_desk.services.errors import ValidationError

MAX_FILE_BYTES = "max_file_bytes"
MEGABYTE = 1024 * 1024
# SQLite stores a value of up to 1 GB; a limit near that would fail inside the database.
LARGEST_FILE_LIMIT_MB = 900


def max_file_bytes(session: Session) -> int:
    stored = session.get(Setting, MAX_FILE_BYTES)
    return int(stored.value) if stored is not None else DEFAULT_MAX_FILE_BYTES


def get_max_file_mb(db: Database) -> int:
    with db.read() as session:
        return max_file_bytes(session) // MEGABYTE


def set_max_file_mb(db: Database, megabytes: int, *, actor: Actor) -> None:
    if not 1 <= megabytes <= LARGEST_FILE_LIMIT_MB:
        message = f"The file size limit must be between 1 and {LARGEST_FILE_LIMIT_MB} MB."
        raise ValidationError({"max_file_mb": message})
    with acting(db, actor, Permission.OFFICE_SETTINGS, "change the file size limit") as session:
        session.merge(Setting(key=MAX_FILE_BYTES, value=str(megabytes * MEGABYTE)))
        session.commit()
