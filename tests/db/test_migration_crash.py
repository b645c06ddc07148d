"""A migration killed at any statement leaves the old schema or, once committed, the new one;
never one in between.

For each migration, from a database at its down revision (holding cases where there can be
data), a forked child runs the upgrade as the app does (one transaction on one connection)
and SIGKILLs itself just before its Nth SQL statement, for every N; then once after the
last statement just before COMMIT, and once just after COMMIT. The file left behind must pass
integrity_check and be, in schema and data, the old file (or the new one after COMMIT).

Every statement is tested (no sampling): the six migrations have ~110, ~5 s in all here.
"""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.script import Script, ScriptDirectory
from sqlalchemy import event

from referral_desk.db import engine as db_engine
from referral_desk.db import migrate
from referral_desk.db.engine import Database
from referral_desk.db.integrity import inspect_file
from referral_desk.services.database import open_database_file
from tests.reliability import CAN_FORK, NO_FORK, Channel, crash_image, fork

pytestmark = pytest.mark.skipif(not CAN_FORK, reason=NO_FORK)

SEEDED_CASES = 40
BEFORE_COMMIT = -1  # kill points beyond the statements
AFTER_COMMIT = -2
_T = "2026-11-20 09:30:00.000000"  # stored UTC text, as 0001 wrote it


def _scripts() -> ScriptDirectory:
    return ScriptDirectory.from_config(migrate.alembic_config())


def _migrations() -> list[Script]:
    """Oldest first."""
    return list(reversed(list(_scripts().walk_revisions())))


def _upgrade(path: Path, revision: str, statements: list[str] | None = None) -> None:
    """Upgrade in one transaction exactly as db/migrate.upgrade does, to `revision`."""
    db = Database(path)
    try:
        if statements is not None:
            event.listen(
                db.engine, "before_cursor_execute", lambda *args: statements.append(args[2])
            )
        config = migrate.alembic_config()
        with db.engine.connect() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, revision)
    finally:
        db.dispose()


def _seed_0001(path: Path) -> None:
    """Cases as the first version stored them (rows and search entries); later migrations
    carry them along, so every migration runs over real rows."""
    with sqlite3.connect(path) as conn:
        conn.execute(
            "INSERT INTO referrers (name, name_folded, created_at) "
            "VALUES ('Dr. Aylin Kaya', 'dr. aylin kaya', ?)",
            (_T,),
        )
        for n in range(1, SEEDED_CASES + 1):
            conn.execute(
                "INSERT INTO patients (given_names, family_name, name_folded, birth_date, sex, "
                "phone, email, address, preferred_language, consent_share_with_referrer, "
                "created_at, updated_at, version) VALUES ('Elif', ?, ?, '1959-02-03', "
                "'female', '', '', '', 'Turkish', 0, ?, ?, 1)",
                (f"Şahin {n}", f"elif sahin {n}", _T, _T),
            )
            conn.execute(
                "INSERT INTO cases (reference, patient_id, referrer_id, cancer_type, diagnosis, "
                "stage, patient_questions, first_diagnosis, proposed_treatment, "
                "treatment_start, urgency, status, held_from, received_at, "
                "records_complete_at, opinion_at, hold_since, paused_seconds, due_at, "
                "clock_sort, created_at, created_by, updated_at, updated_by, version) VALUES "
                "(?, ?, 1, 'breast', 'Triple-negative carcinoma', '', '', '', '', NULL, "
                "'routine', 'new', NULL, ?, NULL, NULL, NULL, 0, NULL, 2, ?, 'maria', ?, "
                "'maria', 1)",
                (f"RD-2026-{n:05d}", n, _T, _T, _T),
            )
            conn.execute(
                "INSERT INTO status_changes (case_id, from_status, to_status, at, actor, "
                "reason) VALUES (?, NULL, 'new', ?, 'maria', 'Case taken in')",
                (n, _T),
            )
            conn.execute(
                "INSERT INTO case_search (rowid, reference, patient, referrer, diagnosis) "
                "VALUES (?, ?, ?, 'dr. aylin kaya', 'breast triple-negative carcinoma')",
                (n, f"rd-2026-{n:05d}", f"elif sahin {n}"),
            )
        conn.execute("INSERT INTO reference_counters (year, last_number) VALUES (2026, ?)", (n,))
    conn.close()


def _seed_0003(path: Path) -> None:
    """A reviewer assigned to the first case, so foreign keys into the new tables exist."""
    with sqlite3.connect(path) as conn:
        conn.execute(
            "INSERT INTO specialists (name, name_folded, title, discipline, phone, email, "
            "fee_minor, capacity, active, created_at, updated_at, version) VALUES "
            "('Dr. Ana Lima', 'dr. ana lima', '', 'medical_oncology', '', '', 45000, 5, 1, ?, ?, "
            "1)",
            (_T, _T),
        )
        conn.execute(
            "INSERT INTO assignments (case_id, specialist_id, role, status, assigned_at, "
            "assigned_by, override_reason, decline_reason, end_reason) "
            "VALUES (1, 1, 'primary', 'accepted', ?, 'ines', '', '', '')",
            (_T,),
        )
        conn.execute("UPDATE cases SET specialist_id = 1, status = 'under_review' WHERE id = 1")
    conn.close()


@pytest.fixture(scope="module")
def starting_points(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Migration revision -> a database at its down revision (an empty file for the first)."""
    folder = tmp_path_factory.mktemp("starting-points")
    points: dict[str, Path] = {}
    previous: Path | None = None
    for script in _migrations():
        path = folder / f"before-{script.revision}.sqlite"
        if previous is None:
            path.touch()  # a first start: SQLite makes an empty file a database
        else:
            shutil.copyfile(previous, path)
            assert script.down_revision is not None
            _upgrade(path, str(script.down_revision))
            if script.down_revision == "0001":
                _seed_0001(path)
            if script.down_revision == "0003":
                _seed_0003(path)
        assert not Path(f"{path}-wal").exists()  # closed cleanly: the file alone is whole
        points[script.revision] = previous = path
    return points


def _schema(conn: sqlite3.Connection) -> list[tuple[Any, ...]]:
    return conn.execute(
        "SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name"
    ).fetchall()


def _cases(conn: sqlite3.Connection) -> list[tuple[Any, ...]]:
    """Each case's stored values by column name (the new schema adds columns)."""
    if not conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'cases'").fetchone():
        return []
    conn.row_factory = sqlite3.Row
    try:
        rows = conn.execute("SELECT * FROM cases ORDER BY id").fetchall()
        return [tuple(sorted(dict(row).items())) for row in rows]
    finally:
        conn.row_factory = None


def _dump(conn: sqlite3.Connection) -> list[str]:
    """Every table's schema and rows (search and audit tables included)."""
    return list(conn.iterdump())


def _die_during_upgrade(path: Path, revision: str, kill_at: int, channel: Channel) -> None:
    """The child: run the upgrade and SIGKILL itself at the chosen point."""
    db = Database(path)
    seen = 0

    def before_statement(*_args: object) -> None:
        nonlocal seen
        if seen == kill_at:
            os.kill(os.getpid(), signal.SIGKILL)
        seen += 1

    event.listen(db.engine, "before_cursor_execute", before_statement)
    if kill_at in (BEFORE_COMMIT, AFTER_COMMIT):
        commit = db_engine._Connection.commit

        def dying_commit(self: db_engine._Connection) -> None:
            if kill_at == BEFORE_COMMIT:
                os.kill(os.getpid(), signal.SIGKILL)
            commit(self)
            os.kill(os.getpid(), signal.SIGKILL)

        # Only in this forked child: the parent's class is untouched.
        db_engine._Connection.commit = dying_commit  # type: ignore[method-assign]
    config = migrate.alembic_config()
    with db.engine.connect() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)
    channel.say("finished", seen)


def _kill_points(statements: int) -> Iterator[int]:
    yield from range(statements)
    yield BEFORE_COMMIT
    yield AFTER_COMMIT


@pytest.mark.parametrize("revision", [s.revision for s in _migrations()])
def test_a_migration_killed_at_any_statement_leaves_the_old_or_the_new_schema(
    revision: str, starting_points: dict[str, Path], tmp_path: Path
) -> None:
    script = _scripts().get_revision(revision)
    assert script is not None
    old_revision = script.down_revision
    start = starting_points[revision]
    finished = tmp_path / "finished.sqlite"  # the reference: an upgrade nobody interrupted
    shutil.copyfile(start, finished)
    statements: list[str] = []
    _upgrade(finished, revision, statements)
    assert statements[0].startswith("BEGIN IMMEDIATE")
    with sqlite3.connect(start) as old, sqlite3.connect(finished) as new:
        old_dump, new_schema, new_cases = _dump(old), _schema(new), _cases(new)
        old_cases = _cases(old)
    old.close()
    new.close()
    if old_revision is not None:
        assert len(old_cases) == SEEDED_CASES
        assert [dict(c)["reference"] for c in new_cases] == [
            dict(c)["reference"] for c in old_cases
        ]

    outcomes: dict[str | None, int] = {}
    left_behind: list[Path] = []
    work = tmp_path / "office.sqlite"
    for kill_at in _kill_points(len(statements)):
        where = {BEFORE_COMMIT: "just before COMMIT", AFTER_COMMIT: "just after COMMIT"}.get(
            kill_at, f"before statement {kill_at}: {statements[kill_at][:80]!r}"
        )
        for suffix in ("", "-wal", "-shm"):
            Path(f"{work}{suffix}").unlink(missing_ok=True)
        shutil.copyfile(start, work)
        child = fork(lambda channel, k=kill_at: _die_during_upgrade(work, revision, k, channel))
        try:
            lines = child.rest()
            status = child.wait()
        finally:
            child.close()
        assert status == -signal.SIGKILL, f"{revision} {where}: not killed: {lines}"
        if kill_at in (BEFORE_COMMIT, AFTER_COMMIT):  # as left on disk, for the app below
            left_behind.append(crash_image(work, tmp_path / f"killed{kill_at}"))

        report = inspect_file(work)
        assert report.ok, f"{revision} killed {where}: {report}"
        outcomes[report.schema_revision] = outcomes.get(report.schema_revision, 0) + 1
        with sqlite3.connect(work) as conn:
            if kill_at == AFTER_COMMIT:
                assert report.schema_revision == revision, where
                assert _schema(conn) == new_schema, f"{revision} killed {where}"
                assert _cases(conn) == new_cases, f"{revision} killed {where}"
            else:  # nothing committed: the old file, every table and row as it was
                assert report.schema_revision == old_revision, f"{revision} killed {where}"
                assert _dump(conn) == old_dump, f"{revision} killed {where}"
        conn.close()

    assert outcomes == {old_revision: len(statements) + 1, revision: 1}
    # Whatever a kill left, the app opens it and brings it to the current schema, cases kept.
    for path in left_behind:
        db = open_database_file(path)
        try:
            assert migrate.current_revision(db) == migrate.head_revision()
        finally:
            db.dispose()
        assert inspect_file(path).ok
        with sqlite3.connect(path) as conn:
            count = conn.execute("SELECT count(*) FROM cases").fetchone()[0]
        conn.close()
        assert count == (SEEDED_CASES if old_revision is not None else 0)
