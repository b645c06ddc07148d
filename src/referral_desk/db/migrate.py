"""Bring a database to the current schema: copy it first, migrate in one transaction."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from functools import cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import Connection

from referral_desk.db.engine import Database
from referral_desk.db.models import CASE_SEARCH_TABLE
from referral_desk.domain.backups import BEFORE_UPGRADE_PREFIX

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


class DatabaseTooNewError(RuntimeError):
    """The file was written by a newer Referral Desk; opening it could damage it."""


def include_name(name: str | None, type_: str, _parent: object) -> bool:
    """Autogenerate ignores the FTS5 table and its shadow tables: the migrations manage them."""
    return not (type_ == "table" and name is not None and name.startswith(CASE_SEARCH_TABLE))


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


@cache
def _scripts() -> ScriptDirectory:
    """Reading the migration scripts costs ~1 ms: once per process is enough."""
    return ScriptDirectory.from_config(alembic_config())


@cache
def known_revisions() -> frozenset[str]:
    return frozenset(rev.revision for rev in _scripts().walk_revisions())


def head_revision() -> str:
    head = _scripts().get_current_head()
    assert head is not None
    return head


def current_revision(database: Database) -> str | None:
    """The stored revision with one plain query: start-up runs this on every launch."""
    with _reading(database) as connection:
        has_table = connection.exec_driver_sql(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'alembic_version'"
        ).first()
        if not has_table:
            return None
        return connection.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()


def upgrade(database: Database, backup_dir: Path | None = None) -> Path | None:
    """Upgrade to head. Returns the safety copy taken before changing existing data, if any."""
    current = current_revision(database)
    if current is not None and current not in known_revisions():
        raise DatabaseTooNewError(
            f"{database.path} was written by a newer version of Referral Desk "
            f"(schema {current}). Install the newer version to open it; this version "
            "will not touch it."
        )
    if current == head_revision():
        return None
    safety_copy = None
    if backup_dir is not None and _has_tables(database):
        safety_copy = _copy_before_upgrade(database.path, backup_dir, current)
    config = alembic_config()
    with database.engine.connect() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
    return safety_copy


def _reading(database: Database) -> Connection:
    """A read that takes no write lock: a second window opening the file must not wait for
    another one's save just to learn the schema version."""
    return database.engine.execution_options(sqlite_begin="DEFERRED").connect()


def _has_tables(database: Database) -> bool:
    with _reading(database) as connection:
        return bool(
            connection.exec_driver_sql(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' LIMIT 1"
            ).first()
        )


def _copy_before_upgrade(source: Path, backup_dir: Path, revision: str | None) -> Path:
    backup_dir.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    target = backup_dir / f"{BEFORE_UPGRADE_PREFIX}from-{revision or 'unversioned'}-{stamp}.sqlite"
    # The online backup API copies a consistent snapshot even with WAL; a file copy would not.
    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)
    dst.close()
    src.close()
    return target
