"""Engine and sessions: SQLite in WAL mode, foreign keys on, durable commits, explicit BEGINs,
and one writer at a time across every process that opens the file."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout
from sqlalchemy import URL, Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

# Installs the audit trail's hooks: no write session can change a record untraced.
from referral_desk.db import audit_trail  # noqa: F401

BUSY_TIMEOUT_MS = 10_000
# How long a save waits for another window or job to finish its own. Transactions take
# milliseconds; only a long import or a restore in another process makes anyone wait.
WRITER_WAIT_S = 30.0
# Checkpoints move the WAL into the database file. SQLite would run them after any commit,
# outside any lock; here the writer runs them while it still holds the writer lock.
CHECKPOINT_AFTER_BYTES = 4 * 1024 * 1024


def writer_lock_path(database: Path) -> Path:
    return database.with_name(database.name + ".writer-lock")


class WriterLock:
    """The office-wide "one writer" lock: a lock file beside the database.

    SQLite 3.7.0 to 3.51.2 can corrupt a WAL database when two connections write or
    checkpoint at the same moment (the WAL-reset race, sqlite.org/wal.html). SQLite's own
    write lock does not cover checkpoints, so every writer of this app takes this lock for
    its whole transaction and its checkpoint: across processes (the lock file) and threads
    (one lock per thread, each with its own descriptor).
    """

    def __init__(self, database: Path, wait_s: float = WRITER_WAIT_S) -> None:
        self.path = writer_lock_path(database)
        self._lock = FileLock(self.path, timeout=wait_s)

    def acquire(self) -> bool:
        """True when taken; False when the lock file cannot exist (a read-only folder,
        where the write fails anyway with SQLite's own clear error)."""
        try:
            self._lock.acquire()
        except Timeout:
            raise sqlite3.OperationalError(
                "database is locked: another Referral Desk window or job has been saving for "
                f"more than {self._lock.timeout:.0f} s"
            ) from None
        except OSError:
            return False
        return True

    def release(self) -> None:
        self._lock.release()

    @contextmanager
    def held(self) -> Iterator[None]:
        taken = self.acquire()
        try:
            yield
        finally:
            if taken:
                self.release()


class _Connection(sqlite3.Connection):
    """A DBAPI connection that gives the writer lock back once its transaction ends."""

    writer_lock: WriterLock | None = None
    wal_path: Path | None = None
    _holding = False

    def take_writer_lock(self) -> None:
        if self.writer_lock is not None and not self._holding:
            self._holding = self.writer_lock.acquire()

    def commit(self) -> None:
        try:
            super().commit()
            if self._holding:
                self._checkpoint_if_large()
        finally:
            self._give_back()

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            self._give_back()

    def close(self) -> None:
        try:
            super().close()
        finally:
            self._give_back()

    def _checkpoint_if_large(self) -> None:
        try:
            large = self.wal_path is not None and self.wal_path.stat().st_size > (
                CHECKPOINT_AFTER_BYTES
            )
        except OSError:
            return
        if large:
            with suppress(sqlite3.Error):  # busy readers: the next writer tries again
                self.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()

    def _give_back(self) -> None:
        if self._holding:
            self._holding = False
            assert self.writer_lock is not None
            self.writer_lock.release()


def _configure_sqlite(engine: Engine, writer_lock: WriterLock, wal_path: Path) -> None:
    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection: _Connection, _record: Any) -> None:
        dbapi_connection.writer_lock = writer_lock
        dbapi_connection.wal_path = wal_path
        # Let SQLAlchemy emit BEGIN itself: the driver would not begin before DDL or SELECT,
        # which would make migrations non-transactional (SQLAlchemy SQLite dialect notes).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode = WAL")
        # FULL: a commit the user saw survives a power cut (~0.6 ms per commit here).
        cursor.execute("PRAGMA synchronous = FULL")
        cursor.execute("PRAGMA foreign_keys = ON")
        # Checkpoints only under the writer lock (see _Connection): never automatically.
        cursor.execute("PRAGMA wal_autocheckpoint = 0")
        cursor.close()

    @event.listens_for(engine, "begin")
    def on_begin(connection: Any) -> None:
        # Writers take the write lock up front: a deferred BEGIN that upgrades later can fail
        # with "database is locked" despite the busy timeout.
        mode = connection.get_execution_options().get("sqlite_begin", "IMMEDIATE")
        dbapi_connection = connection.connection.dbapi_connection
        if mode != "DEFERRED":
            dbapi_connection.take_writer_lock()
        try:
            connection.exec_driver_sql(f"BEGIN {mode}")
        except BaseException:
            dbapi_connection._give_back()
            raise


class Database:
    """One database file and the way to open units of work on it."""

    def __init__(self, path: Path, *, echo: bool = False) -> None:
        self.path = Path(path)
        self.writer_lock = WriterLock(self.path)
        # URL.create, not a string: a folder name may contain '?' or '#'.
        self.engine = create_engine(
            URL.create("sqlite", database=str(self.path)),
            echo=echo,
            connect_args={"factory": _Connection},
        )
        _configure_sqlite(self.engine, self.writer_lock, Path(f"{self.path}-wal"))
        self._writer = sessionmaker(self.engine, expire_on_commit=False)
        self._reader = sessionmaker(
            self.engine.execution_options(sqlite_begin="DEFERRED"), expire_on_commit=False
        )

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A write transaction (BEGIN IMMEDIATE): rolled back unless the caller commits."""
        with self._writer() as session:
            try:
                yield session
            finally:
                session.rollback()

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A read-only snapshot; takes no write lock."""
        with self._reader() as session:
            try:
                yield session
            finally:
                session.rollback()

    def checkpoint(self) -> None:
        """Move the whole WAL into the database file (before a file-level copy or on close)."""
        with self.writer_lock.held():
            raw = self.engine.raw_connection()  # outside any transaction, as SQLite requires
            try:
                raw.driver_connection.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
            finally:
                raw.close()

    def dispose(self) -> None:
        self.engine.dispose()
