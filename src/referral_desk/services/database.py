"""Open the office database: create the folder, copy, migrate, refuse what is too new."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.exc import DBAPIError

from referral_desk.db import migrate
from referral_desk.db.engine import Database
from referral_desk.db.migrate import DatabaseTooNewError
from referral_desk.paths import AppPaths
from referral_desk.services.errors import DatabaseUnavailableError, environment_problem


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
    except DBAPIError as exc:
        database.dispose()
        message = environment_problem(exc) or f"The database could not be opened: {exc.orig}"
        raise DatabaseUnavailableError(f"{path}: {message}") from exc
    return database
