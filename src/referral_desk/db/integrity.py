"""Health checks of a database file, safe to run on a damaged one."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path


def read_only_uri(path: Path) -> str:
    """A read-only SQLite URI; `as_uri` escapes '#', '?' and '%' that folder names may hold."""
    return f"{path.resolve().as_uri()}?mode=ro"


def wal_reset_affected(version: str) -> bool:
    """SQLite 3.7.0 to 3.51.2 can corrupt a WAL database when two connections write or
    checkpoint at the same moment (the WAL-reset race, fixed after 3.51.2)."""
    parts = tuple(int(p) for p in version.split(".")[:3])
    return (3, 7, 0) <= parts <= (3, 51, 2)


@dataclass(frozen=True)
class IntegrityReport:
    sqlite_version: str
    schema_revision: str | None
    integrity: list[str]  # ["ok"] when sound
    foreign_key_problems: list[str]
    error: str | None = None  # the file could not be read at all

    @property
    def ok(self) -> bool:
        return self.error is None and self.integrity == ["ok"] and not self.foreign_key_problems


def inspect_file(path: Path) -> IntegrityReport:
    version = sqlite3.sqlite_version
    if not path.exists():
        return IntegrityReport(version, None, [], [], error=f"{path} does not exist.")
    try:
        # Read-only URI: checking must never create or change the file.
        with sqlite3.connect(read_only_uri(path), uri=True) as conn:
            integrity = [row[0] for row in conn.execute("PRAGMA integrity_check")]
            fk_rows = conn.execute("PRAGMA foreign_key_check").fetchall()
            revision = None
            if conn.execute(
                "SELECT 1 FROM sqlite_master WHERE name = 'alembic_version'"
            ).fetchone():
                row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
                revision = row[0] if row else None
        conn.close()
    except sqlite3.DatabaseError as exc:
        return IntegrityReport(version, None, [], [], error=f"{path} cannot be read: {exc}.")
    problems = [
        f"{table} row {rowid} refers to a missing {parent}" for table, rowid, parent, _ in fk_rows
    ]
    return IntegrityReport(version, revision, integrity, problems)
