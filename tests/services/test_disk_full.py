"""A write that fails for lack of space leaves the database, and any export or backup file,
either complete or absent, never truncated under its real name; and the app keeps running.

Lack of space is made real in two ways:
- in a forked child, `RLIMIT_FSIZE` (with SIGXFSZ ignored) makes every write past a size fail
  with EFBIG, as a full disk or an exhausted quota fails it: SQLite, the exporter and the
  backup meet a failing write() in the middle of their work;
- in this process, `PRAGMA max_page_count` stops the database growing, which SQLite reports
  exactly as a full disk ("database or disk is full").
"""

from __future__ import annotations

import signal
import sqlite3
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, text

from referral_desk.db.engine import Database
from referral_desk.db.integrity import inspect_file
from referral_desk.domain import backups as rules
from referral_desk.paths import AppPaths
from referral_desk.services import backups, cases
from referral_desk.services.atomic import write_whole
from referral_desk.services.backups import BackupError
from referral_desk.services.database import open_database_file
from referral_desk.services.errors import ServiceError, environment_problem
from tests.conftest import NOW, admin
from tests.reliability import (
    ADMIN,
    CAN_FORK,
    NO_FORK,
    Acknowledged,
    Channel,
    case_draft,
    check_after_crash,
    fork,
    one_line,
    patient_draft,
)

try:
    import resource
except ImportError:  # Windows
    resource = None  # type: ignore[assignment]

needs_rlimit = pytest.mark.skipif(
    not CAN_FORK or resource is None or not hasattr(signal, "SIGXFSZ"), reason=NO_FORK
)


def plain(exc: BaseException) -> str:
    """What the user reads: a service's own message, or the words for an environment problem.
    Fails the test when the error would reach the user as a bare exception (a bug)."""
    if isinstance(exc, ServiceError):
        return str(exc)
    message = environment_problem(exc)
    assert message is not None, f"no plain message for {type(exc).__name__}: {exc}"
    return message


def _limit_file_size(limit: int) -> None:
    """From now on this process cannot make a file larger than `limit` bytes."""
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a failing write(), not a killed process
    _, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, hard))


def _space_back() -> None:
    _, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (hard, hard))


def _run(work: Any) -> list[str]:
    child = fork(work)
    try:
        said = child.rest(timeout=60)
        status = child.wait()
    finally:
        child.close()
    assert status == 0, said
    return said


def _words(said: list[str], word: str) -> list[str]:
    return [line.partition(" ")[2] for line in said if line.split(" ")[0] == word]


def _office(path: Path, count: int) -> None:
    """A database with `count` cases, its WAL folded into the file."""
    db = open_database_file(path)
    for n in range(count):
        cases.create_case(db, case_draft(n), patient=patient_draft(n), actor=ADMIN, now=NOW)
    db.checkpoint()
    db.dispose()


def _leftovers(folder: Path) -> list[str]:
    return sorted(
        p.name for p in folder.iterdir() if p.name.endswith((".part", "-journal", "-wal", "-shm"))
    )


# --- The database itself --------------------------------------------------------------------------


@needs_rlimit
def test_saving_cases_on_a_full_disk_is_refused_plainly_and_loses_nothing(tmp_path: Path) -> None:
    path = tmp_path / "office.sqlite"
    _office(path, 3)

    def work(out: Channel) -> None:
        db = open_database_file(path)
        wal = Path(f"{path}-wal")
        wal_size = wal.stat().st_size if wal.exists() else 0
        _limit_file_size(max(path.stat().st_size, wal_size) + 48 * 1024)
        mine: list[int] = []
        for n in range(1000, 1400):  # a few cases fit; then the WAL cannot grow
            try:
                created = cases.create_case(
                    db, case_draft(n), patient=patient_draft(n), actor=ADMIN, now=NOW
                )
                out.say("created", created.reference)
                mine.append(created.id)
                detail = cases.get_case(db, mine[0], now=NOW)
                version = cases.update_case(
                    db,
                    mine[0],
                    expected_version=detail.version,
                    patient=None,
                    case=replace(detail.case, stage=f"edit {n}"),
                    actor=ADMIN,
                    now=NOW,
                )
                out.say("edited", mine[0], version)
            except Exception as exc:  # what the window would show
                out.say("refused", plain(exc))
                break
        # The app keeps running: the same database object still reads...
        with db.read() as session:
            out.say("read", session.execute(text("SELECT count(*) FROM cases")).scalar_one())
        # ...and saves again once there is room.
        _space_back()
        created = cases.create_case(
            db, case_draft(9999), patient=patient_draft(9999), actor=ADMIN, now=NOW
        )
        out.say("created", created.reference)
        db.dispose()

    said = _run(work)
    acknowledged = Acknowledged()
    made = acknowledged.add(said)
    [refused] = _words(said, "refused")
    assert refused in (
        "The disk is full. Free some space; nothing was saved.",
        "The disk reported an error while reading or writing the database.",
    )
    assert made >= 2  # some saved before the disk filled, one after it had room again
    lost, problems = check_after_crash(path, acknowledged)
    assert (lost, problems) == ([], [])
    # Exactly the acknowledged cases: the refused one is not half there.
    assert _words(said, "read") == [str(3 + made - 1)]
    with sqlite3.connect(path) as connection:
        assert connection.execute("SELECT count(*) FROM cases").fetchone() == (3 + made,)
    connection.close()


def test_a_database_that_cannot_grow_refuses_the_save_with_the_full_disk_message(
    db: Database,
) -> None:
    first = cases.create_case(db, case_draft(1), patient=patient_draft(1), actor=admin(), now=NOW)
    with db.read() as session:
        pages = session.execute(text("PRAGMA page_count")).scalar_one()

    def no_room(connection: sqlite3.Connection, _record: object) -> None:
        connection.execute(f"PRAGMA max_page_count = {pages}")

    event.listen(db.engine, "connect", no_room)
    db.dispose()  # new connections: every one of them is held to today's size
    refused: list[str] = []
    saved = [first.reference]
    for n in range(2, 200):
        try:
            saved.append(
                cases.create_case(
                    db, case_draft(n), patient=patient_draft(n), actor=admin(), now=NOW
                ).reference
            )
        except Exception as exc:
            refused.append(plain(exc))
            break
    assert refused == ["The disk is full. Free some space; nothing was saved."]
    detail = cases.get_case(db, first.id, now=NOW)  # still reads
    with pytest.raises(Exception) as edit:
        cases.update_case(
            db,
            first.id,
            expected_version=detail.version,
            patient=None,
            case=replace(detail.case, diagnosis="x" * 20_000),  # needs new pages
            actor=admin(),
            now=NOW,
        )
    assert plain(edit.value) == refused[0]
    assert cases.get_case(db, first.id, now=NOW).version == detail.version  # as it was

    event.remove(db.engine, "connect", no_room)
    db.dispose()
    cases.create_case(db, case_draft(999), patient=patient_draft(999), actor=admin(), now=NOW)
    with db.read() as session:
        stored = set(session.execute(text("SELECT reference FROM cases")).scalars())
    assert set(saved) < stored and len(stored) == len(saved) + 1
    assert inspect_file(db.path).ok


# --- Exports --------------------------------------------------------------------------------------


@needs_rlimit
def test_an_export_that_does_not_fit_leaves_no_file_or_the_previous_one_whole(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "exports"
    folder.mkdir()
    previous = folder / "cases.csv"
    previous.write_bytes(b"reference,patient\nRD-2026-00001,Z\n" * 100)
    kept = previous.read_bytes()
    big = b"RD-2026-00002,a long line of an export that will not fit\n" * 8000  # ~470 KB

    def work(out: Channel) -> None:
        _limit_file_size(64 * 1024)
        for target in (folder / "report.csv", previous):
            try:
                write_whole(target, big)
                out.say("written", target.name)
            except ServiceError as exc:
                out.say("refused", target.name, exc)
        _space_back()
        write_whole(folder / "report.csv", big)
        out.say("written", "report.csv")

    said = _run(work)
    refused = _words(said, "refused")
    assert [line.split(" ")[0] for line in refused] == ["report.csv", "cases.csv"]
    assert all("nothing was written" in line for line in refused)
    assert _words(said, "written") == ["report.csv"]  # only once there was room
    assert (folder / "report.csv").read_bytes() == big
    assert previous.read_bytes() == kept
    assert _leftovers(folder) == []


# --- Backups --------------------------------------------------------------------------------------


@needs_rlimit
def test_a_backup_that_does_not_fit_leaves_no_partial_copy_and_the_office_carries_on(
    tmp_path: Path,
) -> None:
    path = tmp_path / "office.sqlite"
    _office(path, 20)
    usb = tmp_path / "usb"
    usb.mkdir()
    older = usb / "office.sqlite"
    backups.copy_database(path, older)  # last week's copy, under the name chosen again
    older_bytes = older.read_bytes()
    paths = AppPaths(tmp_path / "data", tmp_path / "data" / "logs")
    folder = paths.backup_dir
    folder.mkdir(parents=True)
    previous = folder / rules.automatic_name(NOW - timedelta(days=1))
    previous.write_bytes(b"yesterday's automatic backup")
    size = path.stat().st_size
    assert size > 200 * 1024

    def work(out: Channel) -> None:
        db = open_database_file(path)
        _limit_file_size(size // 2)  # room for a save, not for a whole copy
        attempts = {
            "copy": lambda: backups.copy_database(path, usb / "new.sqlite"),
            "back up now": lambda: backups.back_up_now(db, older, actor=ADMIN),
            "automatic": lambda: backups.automatic_backup(db, paths, now=NOW),
        }
        for name, attempt in attempts.items():
            try:
                attempt()
                out.say("made", name)
            except BackupError as exc:
                out.say("refused", name, one_line(exc))
        # The office carries on: the same database object saves a case...
        created = cases.create_case(
            db, case_draft(77), patient=patient_draft(77), actor=ADMIN, now=NOW
        )
        out.say("created", created.reference)
        # ...and backs up once there is room.
        _space_back()
        out.say("made", backups.back_up_now(db, usb / "today.sqlite", actor=ADMIN))
        db.dispose()

    said = _run(work)
    refused = _words(said, "refused")
    assert [line.split(" nothing")[0].split(" ")[0] for line in refused] == [
        "copy",
        "back",
        "automatic",
    ], said
    assert all("the disk" in line and "nothing was written" in line for line in refused)
    assert _words(said, "made") == [str(usb / "today.sqlite")]
    # Nothing under a real name; last week's copy whole; no rotation ran.
    assert sorted(p.name for p in usb.iterdir()) == ["office.sqlite", "today.sqlite"]
    assert older.read_bytes() == older_bytes and backups.verify(older).ok
    assert sorted(p.name for p in folder.iterdir()) == [previous.name]
    assert previous.read_bytes() == b"yesterday's automatic backup"
    check = backups.verify(usb / "today.sqlite")
    assert check.ok and check.summary.cases == 21
    assert inspect_file(path).ok
