"""Open the office database: create the folder, copy, migrate, refuse what is too new."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.exc import DBAPIError

from referral_desk.db import migrate
from referral_desk.db.engine import BUSY_TIMEOUT_MS, Database, WriterLock
from referral_desk.db.migrate import DatabaseTooNewError
from referral_desk.paths import AppPaths
from referral_desk.services.errors import DatabaseUnavailableError, environment_problem


@dataclass(frozen=True)
class Health:
    problem: str | None  # None: the file opens and passes SQLite's quick check

    @property
    def ok(self) -> bool:
        return self.problem is None


def health(path: Path) -> Health:
    """Can the database be opened and read? Checked before opening it for work, at every start.

    `quick_check` (tenths of a second at a million cases) rather than the full
    `integrity_check`, which every backup runs. A normal open, not a read-only one: after a
    crash SQLite must recover the WAL, which a read-only connection cannot always do.

    The last connection to close a database checkpoints its WAL, and every checkpoint must
    hold the writer lock (db/engine.WriterLock): the check takes it when it is free. When
    another window or job holds it, that one has the file open, so closing the check's
    connection checkpoints nothing; the check runs anyway rather than wait for it.
    """
    path = Path(path)
    if not path.exists():
        return Health(None)  # a new office
    lock = WriterLock(path, wait_s=0)
    try:
        taken = lock.acquire()
    except sqlite3.OperationalError:  # held by another window or job
        taken = False
    try:
        with closing(sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000)) as connection:
            found = [row[0] for row in connection.execute("PRAGMA quick_check(5)")]
    except sqlite3.OperationalError as exc:
        text = str(exc).lower()
        if "locked" in text or "busy" in text:
            return Health(None)  # another program is busy with it: not damage
        return Health(f"The database file cannot be read ({exc}).")
    except sqlite3.DatabaseError as exc:
        return Health(f"The database file is damaged ({exc}).")
    finally:
        if taken:
            lock.release()
    if found != ["ok"]:
        return Health("The database file is damaged: " + "; ".join(found[:3]))
    return Health(None)


def open_database(paths: AppPaths) -> Database:
    """The database at `paths`, upgraded to this version's schema (a copy is taken first)."""
    paths.ensure()
    return open_database_file(paths.database, paths.backup_dir)


def open_database_file(path: Path, backup_dir: Path | None = None) -> Database:
    database = Database(path)
    try:
        migrate.upgrade(database, backup_dir)
    except DatabaseTooNewError as exc:
        database.dispose()
        raise DatabaseUnavailableError(str(exc)) from exc
    except (DBAPIError, sqlite3.Error) as exc:
        database.dispose()
        reason = exc.orig if isinstance(exc, DBAPIError) else exc
        message = environment_problem(exc) or f"The database could not be opened: {reason}"
        raise DatabaseUnavailableError(f"{path}: {message}") from exc
    return database
