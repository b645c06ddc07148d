from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import text

from referral_desk.db.engine import Database
from referral_desk.db.types import UTCDateTime


def test_connections_are_durable_with_wal_and_foreign_keys(db: Database) -> None:
    with db.engine.connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert connection.execute(text("PRAGMA synchronous")).scalar() == 2  # FULL
        assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert connection.execute(text("PRAGMA busy_timeout")).scalar() >= 5000


def test_a_naive_time_is_refused_rather_than_guessed() -> None:
    with pytest.raises(ValueError, match="naive"):
        UTCDateTime().process_bind_param(datetime(2026, 1, 1), None)  # type: ignore[arg-type]


def test_writes_take_the_write_lock_at_begin(db: Database) -> None:
    seen: list[str] = []
    from sqlalchemy import event

    event.listen(db.engine, "before_cursor_execute", lambda *a: seen.append(a[2]))
    with db.write() as session:
        session.execute(text("SELECT 1"))
    with db.read() as session:
        session.execute(text("SELECT 1"))
    assert "BEGIN IMMEDIATE" in seen and "BEGIN DEFERRED" in seen


# --- One writer at a time (SQLite's WAL-reset race) ---------------------------------------------


def _other_thread_takes(db: Database, wait_s: float) -> bool:
    """Could another thread (its own lock descriptor) take the writer lock within `wait_s`?"""
    import threading

    from filelock import FileLock, Timeout

    taken: list[bool] = []

    def attempt() -> None:
        lock = FileLock(db.writer_lock.path, timeout=wait_s)
        try:
            lock.acquire()
        except Timeout:
            taken.append(False)
        else:
            lock.release()
            taken.append(True)

    thread = threading.Thread(target=attempt)
    thread.start()
    thread.join()
    return taken[0]


def test_a_write_holds_the_writer_lock_until_it_ends(db: Database) -> None:
    with db.write() as session:
        session.execute(text("CREATE TABLE scratch (x)"))
        assert not _other_thread_takes(db, 0.2)  # a second writer would wait
        session.commit()
    assert _other_thread_takes(db, 0.2)


def test_a_failed_write_gives_the_writer_lock_back(db: Database) -> None:
    with pytest.raises(RuntimeError), db.write() as session:
        session.execute(text("CREATE TABLE scratch (x)"))
        raise RuntimeError("a bug mid-save")
    assert _other_thread_takes(db, 0.2)
    with db.read() as session:  # and nothing of it was kept
        assert (
            session.execute(text("SELECT 1 FROM sqlite_master WHERE name='scratch'")).first()
            is None
        )


def test_reads_do_not_wait_for_a_writer(db: Database) -> None:
    with db.write() as session:
        session.execute(text("CREATE TABLE scratch (x)"))
        with db.read() as reader:
            assert reader.execute(text("SELECT count(*) FROM sqlite_master")).scalar()
        session.commit()


def test_the_wal_stays_bounded_without_automatic_checkpoints(db: Database) -> None:
    """SQLite's own checkpoints are off (they run outside any lock); the writer's replace them."""
    from referral_desk.db.engine import CHECKPOINT_AFTER_BYTES

    with db.engine.connect() as connection:
        assert connection.execute(text("PRAGMA wal_autocheckpoint")).scalar() == 0
    with db.write() as session:
        session.execute(text("CREATE TABLE scratch (x BLOB)"))
        session.commit()
    chunk = b"x" * 200_000
    for _ in range(120):  # 24 MB written
        with db.write() as session:
            session.execute(text("INSERT INTO scratch VALUES (:x)"), {"x": chunk})
            session.commit()
    wal = db.path.with_name(db.path.name + "-wal")
    assert wal.stat().st_size < 3 * CHECKPOINT_AFTER_BYTES
